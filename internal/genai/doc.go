// Package genai recognises LLM completion spans written by every generation of
// GenAI instrumentation (current and older OpenTelemetry semconv, OpenLLMetry,
// OpenInference) and copies out the few fields a feedback join needs.
package genai
