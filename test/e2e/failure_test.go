package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// matchedIDs counts the matched feedback ids the sink accepted.
func matchedIDs(s *tc.Sink) map[string]int {
	ids := map[string]int{}
	for _, r := range tc.Flatten(s.Logs()) {
		if r.EventName == "LlmFeedbackMessage" && r.Attrs["llm.feedback.correlation"] == "matched" {
			ids[r.Attrs["id"].(string)]++
		}
	}
	return ids
}

// failingConfig exports logs to the collector's Sink with the exporter's own
// queue and retries off, so a refusal reaches llm_feedback.
const failingConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{{.HTTP}}
processors:
  llm_feedback:
    pending:
      ttl: 1m
exporters:
  nop:
  otlp_http/backend:
    logs_endpoint: {{.SinkURL}}/v1/logs
    compression: none
    retry_on_failure:
      enabled: false
    sending_queue:
      enabled: false
service:
{{template "telemetry" .}}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [nop]
    logs:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [otlp_http/backend]
`

func feedbackBatch(ids []string, traces []pcommon.TraceID) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i, id := range ids {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName("LlmFeedbackMessage")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Attributes().PutStr("trace_id", traces[i].String())
		lr.Attributes().PutStr("rating", "Good")
		lr.Attributes().PutStr("id", id)
	}
	return ld
}

func completionBatch(traces []pcommon.TraceID) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, id := range traces {
		s := spans.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{0: 1, 7: byte(i)})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
	}
	return td
}

// TestExporterFailureThenRecovery: the logs exporter fails for a while, then
// recovers. Feedback held back is retried by llm_feedback; feedback refused
// on the synchronous path is retried by the client. Every feedback arrives
// exactly once.
func TestExporterFailureThenRecovery(t *testing.T) {
	c := tc.New(t, tc.Binary(t), t.TempDir(), failingConfig, nil)
	c.Sink.Refuse(true)
	c.Start()

	const n = 30
	var parked, direct []pcommon.TraceID
	var parkedIDs, directIDs []string
	for i := range n {
		parked = append(parked, pcommon.TraceID{0: 0xa1, 15: byte(i + 1)})
		parkedIDs = append(parkedIDs, "parked-"+parked[i].String())
		direct = append(direct, pcommon.TraceID{0: 0xb2, 15: byte(i + 1)})
		directIDs = append(directIDs, "direct-"+direct[i].String())
	}
	// Held back: nothing of this batch goes downstream yet, so it is accepted.
	require.NoError(t, c.SendLogs(feedbackBatch(parkedIDs, parked)))
	require.NoError(t, c.SendTraces(completionBatch(append(append([]pcommon.TraceID{}, parked...), direct...))))
	// Joined at once and refused downstream: the client sees the error.
	require.Error(t, c.SendLogs(feedbackBatch(directIDs, direct)))

	// The exporter stays down until the held-back feedback was refused too.
	require.Eventually(t, func() bool {
		return c.Sum("otelcol_exporter_send_failed_log_records") >= 2*n
	}, 20*time.Second, 20*time.Millisecond)
	c.Sink.Refuse(false)

	// The client retries its refused batch, as OTLP clients do.
	require.Eventually(t, func() bool { return c.SendLogs(feedbackBatch(directIDs, direct)) == nil }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return len(matchedIDs(c.Sink)) == 2*n }, 30*time.Second, 20*time.Millisecond)
	received := matchedIDs(c.Sink)
	for id, times := range received {
		assert.Equal(t, 1, times, id)
	}
	for _, id := range append(parkedIDs, directIDs...) {
		assert.Contains(t, received, id)
	}
	assert.Contains(t, c.Output(), "next consumer refused held-back feedback; retrying",
		"the held-back feedback went through llm_feedback's own retries")
	assert.Zero(t, c.Sum("otelcol_processor_llm_feedback_emit_failures"), "none given up")
}
