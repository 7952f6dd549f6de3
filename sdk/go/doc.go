// Package llmfeedback records what end users say about an LLM's answer as an
// OpenTelemetry LlmFeedbackMessage log record, placed in the trace of the
// completion it judges, for the llm_feedback collector processor to join.
package llmfeedback
