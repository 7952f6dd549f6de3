// Package benchdata generates realistic telemetry for the benchmarks and the
// load generator: span batches in which a set share are LLM completions as
// real instrumentations write them, feedback records as apps send them, and
// ordinary logs. Output is deterministic for a seed.
package benchdata
