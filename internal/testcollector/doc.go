// Package testcollector starts the collector binary that `make build` built,
// with a config written for the test, on free loopback ports, and talks OTLP
// to it. End-to-end tests and the load harness share it.
package testcollector
