// Package llmfeedbackprocessor joins end-user feedback log records to the LLM
// completion spans they rate, by trace id, inside the collector, and emits an
// enriched LlmFeedbackMessage log record carrying the completion's model, tokens and latency.
//
//go:generate go tool -modfile=internal/tools/go.mod mdatagen metadata.yaml
package llmfeedbackprocessor
