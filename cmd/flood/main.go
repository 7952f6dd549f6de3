// Command flood pushes hostile volumes through the llm_feedback processor in
// process and reports heap and RSS, to show that memory stays bounded by the
// configuration: a flood of unique trace ids, a million completions in one
// trace, feedback for traces that never come, and huge attribute values.
//
//	go run ./cmd/flood            # all scenarios
//	go run ./cmd/flood -traces 200000 -scenario unique_traces
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

const batch = 1000

var (
	traces   = flag.Int("traces", 1_000_000, "unique traces (one completion each) in unique_traces")
	maxCache = flag.Int("max-traces", 10_000, "cache::max_traces")
	only     = flag.String("scenario", "", "run only this scenario")
)

type pipeline struct {
	t processor.Traces
	l processor.Logs
}

func newPipeline(maxTraces int) pipeline {
	f := llmfeedback.NewFactory()
	cfg := f.CreateDefaultConfig().(*llmfeedback.Config)
	cfg.Cache.MaxTraces = maxTraces
	cfg.Pending.MaxRecords = 10_000
	set := processortest.NewNopSettings(metadata.Type)
	ctx := context.Background()
	t, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	must(err)
	l, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	must(err)
	must(t.Start(ctx, componenttest.NewNopHost()))
	must(l.Start(ctx, componenttest.NewNopHost()))
	return pipeline{t, l}
}

func (p pipeline) stop() {
	must(p.t.Shutdown(context.Background()))
	must(p.l.Shutdown(context.Background()))
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// heapMiB is the live heap after a full collection.
func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// status reads a field of /proc/self/status in MiB (VmRSS, VmHWM).
func status(field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, field+":"), "kB")), &kb)
			return kb / 1024
		}
	}
	return 0
}

func completions(n int, trace func(i int) pcommon.TraceID, model string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flood")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	now := time.Now()
	for i := range n {
		s := spans.AppendEmpty()
		s.SetTraceID(trace(i))
		s.SetSpanID(pcommon.SpanID{0: 1, 4: byte(i >> 16), 5: byte(i >> 8), 6: byte(i), 7: byte(i >> 24)})
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Second)))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "chat")
		a.PutStr("gen_ai.provider.name", "openai")
		a.PutStr("gen_ai.request.model", model)
		a.PutStr("gen_ai.response.model", model)
		a.PutStr("gen_ai.response.id", fmt.Sprintf("chatcmpl-%024d", i))
		a.PutInt("gen_ai.usage.input_tokens", 512)
		a.PutInt("gen_ai.usage.output_tokens", 128)
	}
	return td
}

func traceN(base uint64) func(i int) pcommon.TraceID {
	return func(i int) pcommon.TraceID {
		var id pcommon.TraceID
		v := base + uint64(i)
		for b := range 8 {
			id[15-b] = byte(v >> (8 * b))
		}
		id[0] = 0xf1
		return id
	}
}

// run feeds batches and samples the heap after the bound is reached and at
// the end: flat memory means end ≈ after-fill.
func run(name string, batches, fillAfter int, feed func(p pipeline, i int)) {
	if *only != "" && *only != name {
		return
	}
	p := newPipeline(*maxCache)
	start := heapMiB()
	var fill, mid float64
	peak := 0.0
	began := time.Now()
	for i := range batches {
		feed(p, i)
		if i == fillAfter {
			fill = heapMiB()
		}
		if i == batches/2 {
			mid = heapMiB()
		}
		if i%50 == 0 || i == batches-1 {
			peak = max(peak, heapMiB())
		}
	}
	end := heapMiB()
	p.stop()
	// A Go map under churn grows once for its tombstones, then stays: the
	// second half of the run is the flatness check.
	fmt.Printf("FLOOD %-24s batches=%d heap_start=%.1fMiB heap_after_fill=%.1fMiB heap_mid=%.1fMiB heap_end=%.1fMiB heap_peak=%.1fMiB second_half_growth=%.2fx rss=%.0fMiB rss_peak=%.0fMiB took=%s\n",
		name, batches, start, fill, mid, end, peak, end/mid, status("VmRSS"), status("VmHWM"), time.Since(began).Round(time.Millisecond))
}

func main() {
	flag.Parse()
	ctx := context.Background()
	fmt.Printf("# cache::max_traces=%d pending::max_records=10000, %d spans a batch, GOMAXPROCS=%d\n", *maxCache, batch, runtime.GOMAXPROCS(0))

	run("unique_traces", *traces/batch, *maxCache/batch+1, func(p pipeline, i int) {
		must(p.t.ConsumeTraces(ctx, completions(batch, traceN(uint64(i*batch)), "gpt-4o-2024-08-06")))
	})
	one := pcommon.TraceID{0: 0xee, 15: 1}
	run("one_trace_1M_completions", 1000, 1, func(p pipeline, i int) {
		td := completions(batch, func(int) pcommon.TraceID { return one }, "gpt-4o")
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for j := range batch {
			spans.At(j).SetSpanID(pcommon.SpanID{0: 2, 4: byte(i >> 8), 5: byte(i), 6: byte(j >> 8), 7: byte(j)})
		}
		must(p.t.ConsumeTraces(ctx, td))
	})
	run("feedback_never_joined", 200, 11, func(p pipeline, i int) {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for j := range batch {
			lr := lrs.AppendEmpty()
			lr.SetEventName("LlmFeedbackMessage")
			lr.Attributes().PutStr("trace_id", traceN(uint64(1<<40+i*batch))(j).String())
			lr.Attributes().PutStr("rating", "Bad")
			lr.Attributes().PutStr("message", "the answer cited a paper that does not exist")
		}
		must(p.l.ConsumeLogs(ctx, ld))
	})
	huge := strings.Repeat("m", 1<<20) // one megabyte model name, shared by every span
	run("huge_attribute_values", 100, 11, func(p pipeline, i int) {
		must(p.t.ConsumeTraces(ctx, completions(batch, traceN(uint64(1<<41+i*batch)), huge)))
	})
}
