// Package llmfeedback records what end users say about an LLM's answer as an
// OpenTelemetry LlmFeedbackMessage log record, naming the completion it judges
// by trace id (Record), response id (RecordResponse), the app's own key
// (RecordKey) or conversation (RecordConversation), for the llm_feedback
// collector processor to join.
package llmfeedback
