// Command demo shows llm_feedback end to end on one screen: it starts the
// collector, runs a small chat app whose "LLM" is simulated in process,
// sends feedback through the sdk/go helper naming each completion in a
// different way (trace id, response id, the app's message id, conversation;
// one before its span is exported, one for a trace the collector never saw,
// one invalid), stops the collector, and prints the enriched feedback the
// collector wrote. The collector config must list app.message_id in
// llm_feedback's join::keys, as the repository's config.yaml does.
//
//	make demo
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

var (
	collectorBin = flag.String("collector", "bin/otelcol-llmfeedback", "the collector binary")
	configPath   = flag.String("config", "config.yaml", "the collector config (OTLP/HTTP on :4318, a file exporter writing llm_feedback.jsonl)")
	endpoint     = flag.String("endpoint", "localhost:4318", "the collector's OTLP/HTTP endpoint")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	work, err := os.MkdirTemp("", "llm-feedback-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	col, err := startCollector(work)
	if err != nil {
		return err
	}
	defer col.Process.Kill() //nolint:errcheck // already stopped on the happy path

	ctx := context.Background()
	app, err := newChatApp(ctx)
	if err != nil {
		return err
	}
	notes, err := app.converse(ctx)
	if err != nil {
		return err
	}
	// The four joined ones come out at once; then a clean stop emits the one
	// still waiting for a trace the collector never saw.
	out := filepath.Join(work, "llm_feedback.jsonl")
	if err := waitFor(out, 5, 20*time.Second); err != nil {
		return err
	}
	_ = col.Process.Signal(syscall.SIGTERM)
	_, _ = col.Process.Wait()
	recs, err := readFeedback(out)
	if err != nil {
		return err
	}
	printTable(recs, notes)
	return nil
}

func startCollector(work string) (*exec.Cmd, error) {
	bin, err := filepath.Abs(*collectorBin)
	if err != nil {
		return nil, err
	}
	cfg, err := filepath.Abs(*configPath)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, "collector.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", cfg)
	cmd.Dir, cmd.Stdout, cmd.Stderr = work, logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Printf("collector started (pid %d), its console output goes to %s\n", cmd.Process.Pid, logf.Name())
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(logf.Name()); strings.Contains(string(b), "Everything is ready") {
			return cmd, nil
		} else if strings.Contains(string(b), "Error:") {
			return nil, fmt.Errorf("collector failed to start:\n%s", b)
		}
	}
	return nil, fmt.Errorf("collector did not start within 60s; see %s", logf.Name())
}

// chatApp is an instrumented app: spans through a TracerProvider, feedback
// through a LoggerProvider, both exporting OTLP/HTTP to the collector.
type chatApp struct {
	tp     *sdktrace.TracerProvider
	lp     *sdklog.LoggerProvider
	tracer trace.Tracer
}

func newChatApp(ctx context.Context) (*chatApp, error) {
	res := resource.NewSchemaless(attribute.String("service.name", "demo-chat"))
	te, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(*endpoint), otlptracehttp.WithInsecure())
	if err != nil {
		return nil, err
	}
	le, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(*endpoint), otlploghttp.WithInsecure())
	if err != nil {
		return nil, err
	}
	// Spans are batched, so the demo decides when they leave; feedback is
	// sent as soon as it is recorded.
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(te, sdktrace.WithBatchTimeout(time.Hour)))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(le)))
	return &chatApp{tp: tp, lp: lp, tracer: tp.Tracer("demo-chat")}, nil
}

// model is the simulated LLM: deterministic answers, token counts, latency
// and response ids, no network.
type model struct{ name, provider, idPrefix string }

func (m model) complete(prompt string) (answer, responseID string, in, out int, latency time.Duration) {
	answer = fmt.Sprintf("(%s) Here is what I know about %q.", m.name, prompt)
	in = len(strings.Fields(prompt))*4/3 + 12
	out = len(strings.Fields(answer))*4/3 + 40
	sum := sha256.Sum256([]byte(m.name + prompt))
	responseID = m.idPrefix + hex.EncodeToString(sum[:12])
	return answer, responseID, in, out, time.Duration(350+15*out) * time.Millisecond
}

// reply is what the app hands its UI with an answer: whatever the UI may send
// back with a rating.
type reply struct{ traceID, responseID string }

// chat makes one completion span (inside the app's server span), carrying the
// provider's response id and the app's own attributes (its message id, the
// conversation), as the app's GenAI instrumentation and the app would.
func (a *chatApp) chat(ctx context.Context, m model, prompt string, at time.Time, appAttrs ...attribute.KeyValue) reply {
	ctx, server := a.tracer.Start(ctx, "POST /chat", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(at))
	_, responseID, in, out, latency := m.complete(prompt)
	_, span := a.tracer.Start(ctx, "chat "+m.name, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at.Add(5*time.Millisecond)))
	span.SetAttributes(appAttrs...)
	span.SetAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.provider.name", m.provider),
		attribute.String("gen_ai.request.model", m.name),
		attribute.String("gen_ai.response.model", m.name),
		attribute.String("gen_ai.response.id", responseID),
		attribute.Int("gen_ai.usage.input_tokens", in),
		attribute.Int("gen_ai.usage.output_tokens", out),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}),
	)
	span.End(trace.WithTimestamp(at.Add(5*time.Millisecond + latency)))
	server.End(trace.WithTimestamp(at.Add(10*time.Millisecond + latency)))
	return reply{traceID: llmfeedback.CurrentTraceID(trace.ContextWithSpan(ctx, span)), responseID: responseID}
}

type note struct {
	id, what string
}

const (
	appKey         = "app.message_id" // listed in config.yaml's join::keys
	conversationID = "conv-7f3a"
)

func (a *chatApp) converse(ctx context.Context) ([]note, error) {
	withLogs := llmfeedback.WithLoggerProvider(a.lp)
	start := time.Now().Add(-90 * time.Second)
	gpt := model{"gpt-4o", "openai", "chatcmpl-"}
	claude := model{"claude-3-5-sonnet", "anthropic", "msg_"}
	gemini := model{"gemini-1.5-pro", "gcp.gemini", "resp-"}
	mini := model{"gpt-4o-mini", "openai", "chatcmpl-"}

	var notes []note
	// feedback notes what the feedback with this id is for, and returns the
	// options that send it with that id through the app's LoggerProvider.
	feedback := func(id, what string, opts ...llmfeedback.Option) []llmfeedback.Option {
		notes = append(notes, note{id, what})
		return append(opts, withLogs, llmfeedback.WithFeedbackID(id))
	}
	var errs []error

	// 1-2: the spans reach the collector first, as usual. The UI kept the
	// trace id of the first answer and the provider's response id of the second.
	r1 := a.chat(ctx, gpt, "Summarise this contract", start)
	r2 := a.chat(ctx, claude, "Write a haiku about Go", start.Add(20*time.Second))
	if err := a.tp.ForceFlush(ctx); err != nil {
		return nil, err
	}
	errs = append(errs,
		llmfeedback.Record(ctx, r1.traceID, "Good",
			feedback("fb-1", "spans first", llmfeedback.WithCategory("helpful"))...),
		llmfeedback.RecordResponse(ctx, r2.responseID, 9,
			feedback("fb-2", "spans first", llmfeedback.WithMessage("lovely"),
				llmfeedback.WithMetadata(map[string]any{"user_tier": "pro"}))...),
	)

	// 3: the app's own message id, and the user clicks before the span is
	// exported. 4: two turns of one conversation; the rating is for the answer
	// on screen, the later turn.
	a.chat(ctx, gemini, "What is the capital of Australia?", start.Add(40*time.Second), attribute.String(appKey, "m-1003"))
	a.chat(ctx, mini, "Translate 'good morning' to French", start.Add(50*time.Second),
		attribute.String("gen_ai.conversation.id", conversationID))
	a.chat(ctx, gpt, "And in German, please?", start.Add(60*time.Second),
		attribute.String("gen_ai.conversation.id", conversationID))
	errs = append(errs, llmfeedback.RecordKey(ctx, appKey, "m-1003", "Bad",
		feedback("fb-3", "before its span", llmfeedback.WithCategory("inaccurate"),
			llmfeedback.WithMessage("It said Sydney"))...))
	time.Sleep(200 * time.Millisecond) // a human takes longer than that to click
	if err := a.tp.ForceFlush(ctx); err != nil {
		return nil, err
	}
	errs = append(errs,
		llmfeedback.RecordConversation(ctx, conversationID, true, feedback("fb-4", "rates the later turn")...),
		// 5: a trace this collector never saw: held, then emitted unmatched at stop.
		llmfeedback.Record(ctx, "4bf92f3577b34da6a3ce929d0e0e4736", "Bad", feedback("fb-5", "trace never seen")...),
	)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The helper refuses what it can check...
	if err := llmfeedback.Record(ctx, r1.traceID, nil, withLogs); err != nil {
		fmt.Printf("helper refused a nil rating: %v\n", err)
	}
	// 6: ...so the invalid one is written with the raw logs API, as a buggy app would.
	var bad otellog.Record
	bad.SetEventName("LlmFeedbackMessage")
	bad.SetTimestamp(time.Now())
	bad.AddAttributes(attribute.String("trace_id", r2.traceID), attribute.String("id", "fb-6"), attribute.String("category", "no rating"))
	a.lp.Logger("demo-chat").Emit(ctx, bad)
	notes = append(notes, note{"fb-6", "no rating (raw API)"})
	if err := a.lp.Shutdown(ctx); err != nil {
		return nil, err
	}
	return notes, a.tp.Shutdown(ctx)
}

// record is one output record as the file exporter wrote it.
type record struct {
	TraceID string
	SpanID  string
	Attrs   map[string]any
}

func readFeedback(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var doc struct {
			ResourceLogs []struct {
				ScopeLogs []struct {
					LogRecords []struct {
						EventName  string `json:"eventName"`
						TraceID    string `json:"traceId"`
						SpanID     string `json:"spanId"`
						Attributes []struct {
							Key   string         `json:"key"`
							Value map[string]any `json:"value"`
						} `json:"attributes"`
					} `json:"logRecords"`
				} `json:"scopeLogs"`
			} `json:"resourceLogs"`
		}
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			return nil, err
		}
		for _, rl := range doc.ResourceLogs {
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					if lr.EventName != "LlmFeedbackMessage" {
						continue
					}
					r := record{TraceID: lr.TraceID, SpanID: lr.SpanID, Attrs: map[string]any{}}
					for _, a := range lr.Attributes {
						for _, v := range a.Value {
							r.Attrs[a.Key] = v
						}
					}
					out = append(out, r)
				}
			}
		}
	}
	return out, sc.Err()
}

func waitFor(path string, n int, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if recs, err := readFeedback(path); err == nil && len(recs) >= n {
			return nil
		}
	}
	return fmt.Errorf("the collector wrote fewer than %d feedback records to %s in %s", n, path, timeout)
}

func str(r record, k string) string {
	switch v := r.Attrs[k].(type) {
	case nil:
		return "-"
	case float64:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprint(v)
	}
}

func printTable(recs []record, notes []note) {
	byID := map[string]record{}
	for _, r := range recs {
		byID[str(r, "id")] = r
	}
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FEEDBACK\tRATING\tMODEL\tPROVIDER\tTOKENS IN/OUT\tLATENCY\tDELAY\tCORRELATION\tJOINED BY\tSENT\tDETAIL")
	for _, n := range notes {
		r, ok := byID[n.id]
		if !ok {
			fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\tnot written\t-\t%s\t-\n", n.id, n.what)
			continue
		}
		latency, delay := "-", "-"
		if d, ok := r.Attrs["duration"].(float64); ok {
			latency = fmt.Sprintf("%.0f ms", d)
		}
		if d := str(r, "llm.feedback.delay_ms"); d != "-" {
			delay = d + " ms"
		}
		detail := str(r, "category")
		if c := str(r, "llm.conversation.completions"); c != "-" {
			detail = fmt.Sprintf("conversation: %s turns, %s/%s tokens", c,
				str(r, "llm.conversation.usage.input_tokens"), str(r, "llm.conversation.usage.output_tokens"))
		}
		if e := str(r, "llm.feedback.error"); e != "-" {
			detail = e
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.id, str(r, "rating"),
			str(r, "gen_ai.request.model"), str(r, "gen_ai.provider.name"),
			str(r, "gen_ai.usage.input_tokens"), str(r, "gen_ai.usage.output_tokens"),
			latency, delay, str(r, "llm.feedback.correlation"), str(r, "llm.feedback.join_key"), n.what, detail)
	}
	_ = w.Flush()
}
