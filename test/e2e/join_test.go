// Package e2e starts the collector that `make build` built and talks OTLP to
// it: what a user runs is what is tested.
package e2e

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// baseConfig has llm_feedback in both pipelines and exports everything that
// leaves them to the collector's Sink over OTLP/HTTP, which works with every
// collector release. Extra "storage" puts a file_storage extension behind
// llm_feedback.
const baseConfig = `
{{- if index .Extra "storage"}}
extensions:
  file_storage/llm:
    directory: {{.Dir}}/storage
    create_directory: true
{{- end}}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{{.HTTP}}
      grpc:
        endpoint: 127.0.0.1:{{.GRPC}}
processors:
  llm_feedback:
{{- if index .Extra "storage"}}
    storage: file_storage/llm
    storage_flush_interval: 1h
{{- end}}
    pending:
      ttl: {{or (index .Extra "pending_ttl") "30s"}}
    join:
      keys: [app.message_id]
exporters:
{{template "sink" .}}
service:
{{- if index .Extra "storage"}}
  extensions: [file_storage/llm]
{{- end}}
{{template "telemetry" .}}
  pipelines:
    traces:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [otlp_http/sink]
    logs:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [otlp_http/sink]
`

func start(t *testing.T, extra map[string]any) *tc.Collector {
	c := tc.New(t, tc.Binary(t), t.TempDir(), baseConfig, extra)
	c.Start()
	return c
}

func input(t *testing.T, kase, file string) (ptrace.Traces, plog.Logs) {
	dir := filepath.Join("..", "..", "testdata", "input", kase)
	td, err := golden.ReadTraces(filepath.Join(dir, "traces.yaml"))
	if err != nil {
		td = ptrace.NewTraces() // a case with feedback only
	}
	ld, err := golden.ReadLogs(filepath.Join(dir, file))
	require.NoError(t, err)
	return td, ld
}

// feedbackOut waits until n LlmFeedbackMessage records came out and returns them.
func feedbackOut(t *testing.T, c *tc.Collector, n int) []tc.Record {
	var got []tc.Record
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		got = got[:0]
		for _, r := range tc.Flatten(c.Sink.Logs()) {
			if r.EventName == "LlmFeedbackMessage" {
				got = append(got, r)
			}
		}
		require.Len(ct, got, n)
	}, 20*time.Second, 50*time.Millisecond)
	return got
}

// TestEveryGenerationJoins sends a completion span of each naming generation,
// then feedback for it from another trace, and checks the enriched record.
func TestEveryGenerationJoins(t *testing.T) {
	c := start(t, nil)
	// completion names the case's completion span in its traces.yaml: the
	// output record must carry that span's id, as SpanID and as span_id.
	want := map[string]struct {
		model         string
		input, output int64
		traceID       string
		completion    string
	}{
		"semconv_current": {"gpt-4o", 120, 48, "5b8efff798038103d269b633813fc60c", "chat gpt-4o"},
		"semconv_older":   {"gpt-3.5-turbo", 30, 12, "0af7651916cd43dd8448eb211c80319c", "chat gpt-3.5-turbo"},
		"openllmetry":     {"gpt-4", 200, 64, "4bf92f3577b34da6a3ce929d0e0e4736", "openai.chat"},
		"openinference":   {"claude-3-5-sonnet", 55, 21, "00000000000000003ce929d0e0e47360", "ChatCompletion"},
	}
	inputSpanID := map[string]string{}
	for kase, w := range want {
		td, ld := input(t, kase, "logs.yaml")
		inputSpanID[kase] = spanIDOf(t, td, w.traceID, w.completion)
		require.NoError(t, c.SendTraces(td))
		require.NoError(t, c.SendLogs(ld))
	}
	got := feedbackOut(t, c, len(want))
	byTrace := map[string]tc.Record{}
	for _, r := range got {
		byTrace[r.TraceID] = r
	}
	for kase, w := range want {
		r, ok := byTrace[w.traceID]
		require.True(t, ok, kase)
		assert.Equal(t, "matched", r.Attrs["llm.feedback.correlation"], kase)
		assert.Equal(t, w.model, r.Attrs["gen_ai.request.model"], kase)
		assert.Equal(t, w.input, r.Attrs["gen_ai.usage.input_tokens"], kase)
		assert.Equal(t, w.output, r.Attrs["gen_ai.usage.output_tokens"], kase)
		assert.Equal(t, "LlmFeedbackMessage", r.Attrs["newrelic.event.type"], kase)
		assert.Equal(t, w.traceID, r.Attrs["trace_id"], kase)
		assert.Equal(t, inputSpanID[kase], r.SpanID, kase)
		assert.Equal(t, inputSpanID[kase], r.Attrs["span_id"], kase)
	}
}

// spanIDOf returns the id of the span named name in trace traceID of td.
func spanIDOf(t *testing.T, td ptrace.Traces, traceID, name string) string {
	t.Helper()
	var found []string
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if s := spans.At(k); s.TraceID().String() == traceID && s.Name() == name {
					found = append(found, s.SpanID().String())
				}
			}
		}
	}
	require.Len(t, found, 1, "spans named %q in trace %s", name, traceID)
	return found[0]
}

// TestFeedbackBeforeSpan sends the feedback first; it must come out matched
// once the span arrives, and the app log of its batch must not wait for it.
func TestFeedbackBeforeSpan(t *testing.T) {
	c := start(t, nil)
	td, ld := input(t, "before_span", "logs.yaml")
	require.NoError(t, c.SendLogs(ld))
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		recs := tc.Flatten(c.Sink.Logs())
		require.Len(ct, recs, 1)
		require.Equal(ct, "ui", recs[0].Attrs["log.source"])
	}, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, c.SendTraces(td))
	got := feedbackOut(t, c, 1)
	assert.Equal(t, "matched", got[0].Attrs["llm.feedback.correlation"])
	assert.Equal(t, "gpt-4o", got[0].Attrs["gen_ai.request.model"])
	assert.Equal(t, int64(10), got[0].Attrs["gen_ai.usage.input_tokens"])
	assert.Equal(t, "fb-early", got[0].Attrs["id"])

	// The emitter counts a record once the exporter took it, which may be
	// just after the sink saw it.
	var lines []string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var err error
		lines, err = c.Scrape("otelcol_processor_llm_feedback_feedback_matched")
		require.NoError(ct, err)
		require.NotEmpty(ct, lines)
		assert.Contains(ct, lines[len(lines)-1], `join="delayed"`)
	}, 10*time.Second, 50*time.Millisecond)
	t.Logf("metrics:\n%v", lines)
}

// TestPassThroughUnchanged sends ordinary spans and logs (and spans of every
// kind of GenAI operation): what comes out must equal what went in.
func TestPassThroughUnchanged(t *testing.T) {
	c := start(t, nil)
	var sentTraces []ptrace.Traces
	for _, kase := range []string{"semconv_current", "openllmetry", "openinference"} {
		td, _ := input(t, kase, "logs.yaml")
		keep := ptrace.NewTraces()
		td.CopyTo(keep)
		sentTraces = append(sentTraces, keep)
		require.NoError(t, c.SendTraces(td))
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "web")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("web.access")
	for i, ev := range []string{"", "user.click", "LlmFeedback"} {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetEventName(ev)
		lr.Body().SetStr("GET /index.html 200")
		lr.Attributes().PutInt("n", int64(i))
		lr.Attributes().PutStr("rating", "not feedback: no event name")
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	sent := plog.NewLogs()
	ld.CopyTo(sent)
	require.NoError(t, c.SendLogs(ld))

	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		require.Len(ct, c.Sink.Traces(), len(sentTraces))
		require.Len(ct, c.Sink.Logs(), 1)
	}, 20*time.Second, 50*time.Millisecond)
	tds := c.Sink.Traces()
	for i := range sentTraces {
		require.NoError(t, ptracetest.CompareTraces(sentTraces[i], tds[i]))
		wantBytes, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(sentTraces[i])
		gotBytes, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(tds[i])
		require.Equal(t, wantBytes, gotBytes, "spans must pass byte for byte")
	}
	lds := c.Sink.Logs()
	require.NoError(t, plogtest.CompareLogs(sent, lds[0]))
	wantBytes, _ := (&plog.ProtoMarshaler{}).MarshalLogs(sent)
	gotBytes, _ := (&plog.ProtoMarshaler{}).MarshalLogs(lds[0])
	require.Equal(t, wantBytes, gotBytes, "logs must pass byte for byte")
}

// TestShutdownEmitsPending stops the collector with SIGTERM while feedback
// waits for a span that never comes: it must come out unmatched, not vanish.
func TestShutdownEmitsPending(t *testing.T) {
	c := start(t, map[string]any{"pending_ttl": "10m"})
	_, ld := input(t, "shutdown", "logs.yaml")
	require.NoError(t, c.SendLogs(ld))
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		lines, err := c.Scrape("otelcol_processor_llm_feedback_pending_records")
		require.NoError(ct, err)
		require.Contains(ct, lines, "otelcol_processor_llm_feedback_pending_records 1")
	}, 20*time.Second, 50*time.Millisecond)
	c.Stop(syscall.SIGTERM)
	got := feedbackOut(t, c, 1)
	assert.Equal(t, "unmatched", got[0].Attrs["llm.feedback.correlation"])
	assert.Equal(t, "fb-waiting", got[0].Attrs["id"])
	assert.Equal(t, "cafecafecafecafecafecafecafecafe", got[0].TraceID)
}

// TestExpiredFeedbackComesOutUnmatched waits out a short pending TTL.
func TestExpiredFeedbackComesOutUnmatched(t *testing.T) {
	c := start(t, map[string]any{"pending_ttl": "300ms"})
	_, ld := input(t, "expired", "logs.yaml")
	require.NoError(t, c.SendLogs(ld))
	got := feedbackOut(t, c, 1)
	assert.Equal(t, "unmatched", got[0].Attrs["llm.feedback.correlation"])
	assert.Equal(t, "00f067aa0ba902b7", got[0].SpanID)
}
