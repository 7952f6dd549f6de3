package e2e

import (
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// backend is an OTLP/HTTP logs endpoint that refuses everything while down
// and counts the feedback ids it accepted.
type backend struct {
	down atomic.Bool
	mu   sync.Mutex
	ids  map[string]int
	srv  *http.Server
	addr string
}

func newBackend(t *testing.T) *backend {
	b := &backend{ids: map[string]int{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b.addr = l.Addr().String()
	b.srv = &http.Server{Handler: http.HandlerFunc(b.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.srv.Serve(l) }()
	t.Cleanup(func() { _ = b.srv.Close() })
	return b
}

func (b *backend) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if b.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, r := range tc.Flatten([]plog.Logs{req.Logs()}) {
		if r.EventName == "LlmFeedbackMessage" && r.Attrs["llm.feedback.correlation"] == "matched" {
			b.mu.Lock()
			b.ids[r.Attrs["id"].(string)]++
			b.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	resp, _ := plogotlp.NewExportResponse().MarshalProto()
	_, _ = w.Write(resp)
}

// settle is how long an exactly-once check keeps watching after the last
// expected record arrived: a duplicate, from a retry of something already
// delivered, comes after the original.
const settle = 3 * time.Second

// copies adds up how many times each id came.
func copies(received map[string]int) int {
	total := 0
	for _, times := range received {
		total += times
	}
	return total
}

func (b *backend) received() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.ids))
	for k, v := range b.ids {
		out[k] = v
	}
	return out
}

// failingConfig exports logs to the backend with the exporter's own queue and
// retries off, so a refusal reaches llm_feedback.
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
    logs_endpoint: http://{{index .Extra "backend"}}/v1/logs
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
	b := newBackend(t)
	b.down.Store(true)
	c := tc.New(t, tc.Binary(t), t.TempDir(), failingConfig, map[string]any{"backend": b.addr})
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
	b.down.Store(false)

	// The client retries its refused batch, as OTLP clients do.
	require.Eventually(t, func() bool { return c.SendLogs(feedbackBatch(directIDs, direct)) == nil }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return len(b.received()) == 2*n }, 30*time.Second, 20*time.Millisecond)
	require.Never(t, func() bool { return copies(b.received()) > 2*n }, settle, 50*time.Millisecond,
		"a copy arrived after every id had: %v", b.received())
	for id, times := range b.received() {
		assert.Equal(t, 1, times, id)
	}
	for _, id := range append(parkedIDs, directIDs...) {
		assert.Contains(t, b.received(), id)
	}
	assert.Contains(t, c.Output(), "next consumer refused held-back feedback; retrying",
		"the held-back feedback went through llm_feedback's own retries")
	assert.Zero(t, c.Sum("otelcol_processor_llm_feedback_emit_failures"), "none given up")
}
