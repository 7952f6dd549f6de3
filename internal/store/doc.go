// Package store holds the state of the join: completions by trace id, feedback
// waiting for its completion, and the feedback ids already emitted. It knows no
// pipelines; callers pass the time in, so tests drive TTLs without sleeping.
package store
