package llmfeedback_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

// e2eConfig has llm_feedback in a traces and a logs pipeline under one id,
// joining also by the app key app.message_id, and exports what leaves the
// logs pipeline as OTLP/JSON to the test's sink with the core otlp_http
// exporter, which every collector release has.
const e2eConfig = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%[1]d
processors:
  llm_feedback:
    join:
      keys: [app.message_id]
    pending:
      ttl: %[4]s
exporters:
  nop:
  otlp_http/sink:
    endpoint: %[2]s
    encoding: json
    compression: none
    sending_queue:
      enabled: false
service:
  telemetry:
    metrics:
      level: detailed
      readers:
        - pull:
            exporter:
              prometheus:
                host: 127.0.0.1
                port: %[3]d
  pipelines:
    traces:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [nop]
    logs:
      receivers: [otlp]
      processors: [llm_feedback]
      exporters: [otlp_http/sink]
`

// TestEndToEnd records feedback with this package through the real OTel Go
// SDK and OTLP/HTTP into the collector $OTELCOL_BIN, next to a GenAI chat span
// exported the same way, and reads the enriched record the collector wrote.
func TestEndToEnd(t *testing.T) {
	col := startCollector(t, "30s")
	ctx := context.Background()
	tp, lp := otlpProviders(t, col.httpPort)

	tests := []struct {
		name          string
		feedbackFirst bool
	}{
		{name: "feedback after the span is exported"},
		{name: "feedback before the span is exported", feedbackFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spanCtx, span := tp.Tracer("chat-api").Start(ctx, "chat gpt-4o",
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithAttributes(
					attribute.String("gen_ai.operation.name", "chat"),
					attribute.String("gen_ai.provider.name", "openai"),
					attribute.String("gen_ai.request.model", "gpt-4o"),
					attribute.Int("gen_ai.usage.input_tokens", 12),
					attribute.Int("gen_ai.usage.output_tokens", 7),
				))
			traceID := llmfeedback.CurrentTraceID(spanCtx)
			require.Len(t, traceID, 32)

			exportSpan := func() {
				span.End()
				require.NoError(t, tp.ForceFlush(ctx))
			}
			recordFeedback := func() {
				// ctx, not spanCtx: feedback comes from another request.
				require.NoError(t, llmfeedback.Record(ctx, traceID, "Good",
					llmfeedback.WithCategory("informative"),
					llmfeedback.WithMessage(tt.name),
					llmfeedback.WithMetadata(map[string]any{"user.tier": "pro", "conversation.turn": 3}),
					llmfeedback.WithLoggerProvider(lp),
				))
				// ForceFlush returns once the collector has taken the export.
				require.NoError(t, lp.ForceFlush(ctx))
			}

			if tt.feedbackFirst {
				pendingBefore := col.metric(t, "otelcol_processor_llm_feedback_pending_records")
				recordFeedback()
				// The processor holds the feedback until its completion arrives.
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					assert.Equal(c, pendingBefore+1, col.metric(c, "otelcol_processor_llm_feedback_pending_records"))
				}, 10*time.Second, 50*time.Millisecond)
				exportSpan()
			} else {
				exportSpan()
				recordFeedback()
			}

			var rec record
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				var found []record
				for _, r := range col.sink.records(c) {
					if r.EventName == llmfeedback.EventName && r.TraceID == traceID {
						found = append(found, r)
					}
				}
				require.Len(c, found, 1)
				rec = found[0]
			}, 20*time.Second, 50*time.Millisecond)

			a := rec.Attrs
			assert.Equal(t, "matched", a["llm.feedback.correlation"])
			assert.Equal(t, "trace_id", a["llm.feedback.join_key"])
			assert.Equal(t, traceID, a["trace_id"])
			assert.Equal(t, span.SpanContext().SpanID().String(), rec.SpanID, "the record sits on the completion span")
			assert.Equal(t, rec.SpanID, a["span_id"])
			assert.Equal(t, "gpt-4o", a["gen_ai.request.model"])
			assert.Equal(t, "openai", a["gen_ai.provider.name"])
			assert.Equal(t, int64(12), a["gen_ai.usage.input_tokens"])
			assert.Equal(t, int64(7), a["gen_ai.usage.output_tokens"])
			assert.Equal(t, "chat-api", a["llm.completion.service.name"])
			assert.Equal(t, "Good", a["rating"])
			assert.Equal(t, "informative", a["category"])
			assert.Equal(t, tt.name, a["message"])
			assert.Equal(t, "Go", a["ingest_source"])
			assert.NotEmpty(t, a["id"], "the collector generates the id")
			// metadata is flattened into top-level attributes.
			assert.Equal(t, "pro", a["user.tier"])
			assert.Equal(t, int64(3), a["conversation.turn"])
			assert.NotContains(t, a, "metadata")
			assert.Equal(t, "chat-ui", rec.Resource["service.name"])
		})
	}
}

// otlpProviders are what an app sets up: spans and logs over OTLP/HTTP.
func otlpProviders(t *testing.T, port int) (*sdktrace.TracerProvider, *sdklog.LoggerProvider) {
	ctx := context.Background()
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(texp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "chat-api"))))
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)),
		sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "chat-ui"))))
	// Registered after the collector's cleanup, so they run first.
	t.Cleanup(func() {
		_ = tp.Shutdown(ctx)
		_ = lp.Shutdown(ctx)
	})
	return tp, lp
}

type collector struct {
	httpPort, metricsPort int
	sink                  *logsSink
}

// startCollector runs $OTELCOL_BIN (skipping without it), with feedback
// waiting pendingTTL for its completion, and waits until it is ready; it is
// killed when the test ends.
func startCollector(t *testing.T, pendingTTL string) *collector {
	bin := os.Getenv("OTELCOL_BIN")
	if bin == "" {
		t.Skip("OTELCOL_BIN is not set; run `make build` in the repository root and set it to bin/otelcol-llmfeedback")
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "OTELCOL_BIN")

	dir := t.TempDir()
	c := &collector{httpPort: freePort(t), metricsPort: freePort(t), sink: newLogsSink(t)}
	cfg := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(cfg, fmt.Appendf(nil, e2eConfig, c.httpPort, c.sink.url, c.metricsPort, pendingTTL), 0o600))

	out := &syncBuffer{}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, out, out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("collector output:\n%s", out.String())
		}
	})

	require.Eventually(t, func() bool {
		select {
		case <-exited:
			return true
		default:
			return strings.Contains(out.String(), "Everything is ready")
		}
	}, 60*time.Second, 50*time.Millisecond, "collector did not start:\n%s", out)
	select {
	case <-exited:
		t.Fatalf("collector exited during start:\n%s", out.String())
	default:
	}
	return c
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// metric sums the samples of one metric on the collector's Prometheus endpoint.
func (c *collector) metric(t require.TestingT, name string) float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", c.metricsPort))
	require.NoError(t, err)
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, "{") || strings.HasPrefix(rest, " ")) {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			require.NoError(t, err, line)
			sum += v
		}
	}
	require.NoError(t, sc.Err())
	return sum
}

// record is one log record the collector exported, its attribute values as
// plain Go values (ints as int64).
type record struct {
	EventName, TraceID, SpanID string
	Attrs, Resource            map[string]any
}

// The OTLP/JSON shapes the collector exports, decoded with encoding/json.
type (
	otlpLogs struct {
		ResourceLogs []struct {
			Resource struct {
				Attributes []otlpKV `json:"attributes"`
			} `json:"resource"`
			ScopeLogs []struct {
				LogRecords []struct {
					EventName  string   `json:"eventName"`
					TraceID    string   `json:"traceId"`
					SpanID     string   `json:"spanId"`
					Attributes []otlpKV `json:"attributes"`
				} `json:"logRecords"`
			} `json:"scopeLogs"`
		} `json:"resourceLogs"`
	}
	otlpKV struct {
		Key   string    `json:"key"`
		Value otlpValue `json:"value"`
	}
	otlpValue struct {
		StringValue *string  `json:"stringValue"`
		BoolValue   *bool    `json:"boolValue"`
		IntValue    *string  `json:"intValue"` // int64 is a JSON string in OTLP/JSON
		DoubleValue *float64 `json:"doubleValue"`
		ArrayValue  *struct {
			Values []otlpValue `json:"values"`
		} `json:"arrayValue"`
		KvlistValue *struct {
			Values []otlpKV `json:"values"`
		} `json:"kvlistValue"`
	}
)

func (v otlpValue) plain() any {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case v.BoolValue != nil:
		return *v.BoolValue
	case v.IntValue != nil:
		n, err := strconv.ParseInt(*v.IntValue, 10, 64)
		if err != nil {
			return *v.IntValue
		}
		return n
	case v.DoubleValue != nil:
		return *v.DoubleValue
	case v.ArrayValue != nil:
		out := []any{}
		for _, e := range v.ArrayValue.Values {
			out = append(out, e.plain())
		}
		return out
	case v.KvlistValue != nil:
		return kvMap(v.KvlistValue.Values)
	}
	return nil
}

func kvMap(kvs []otlpKV) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.plain()
	}
	return m
}

// logsSink is an OTLP/HTTP logs endpoint on loopback that keeps the body of
// every request; it is closed when the test ends.
type logsSink struct {
	url    string
	mu     sync.Mutex
	bodies [][]byte
}

func newLogsSink(t *testing.T) *logsSink {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &logsSink{url: "http://" + l.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func (s *logsSink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.URL.Path != "/v1/logs" {
		http.Error(w, fmt.Sprintf("%s: %v", r.URL.Path, err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("{}"))
}

// records decodes every request taken so far.
func (s *logsSink) records(t require.TestingT) []record {
	s.mu.Lock()
	bodies := append([][]byte(nil), s.bodies...)
	s.mu.Unlock()
	var out []record
	for _, body := range bodies {
		var ld otlpLogs
		require.NoError(t, json.Unmarshal(body, &ld))
		for _, rl := range ld.ResourceLogs {
			res := kvMap(rl.Resource.Attributes)
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					out = append(out, record{
						EventName: lr.EventName, TraceID: lr.TraceID, SpanID: lr.SpanID,
						Attrs: kvMap(lr.Attributes), Resource: res,
					})
				}
			}
		}
	}
	return out
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
