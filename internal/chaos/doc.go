// Package chaos runs the built collector with storage under traffic from a
// retrying OTLP client, against a backend that refuses a share of requests,
// SIGKILLs and restarts it at random moments, and counts what came out.
// `make chaos` (cmd/chaos) and the end-to-end TestChaos share it.
package chaos
