package llmfeedbackprocessor

// Benchmarks of the data path on realistic data (internal/benchdata), each
// against the floor of merely reading the same data, in the same binary, so
// that scripts/bench.sh can compute ratios from one `go test -bench` run.
// Nothing here asserts a timing: the targets are checked by make bench.

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

const (
	spansPerBatch    = 1000
	completionPct    = 5
	feedbackPerBatch = 100
	logsPerBatch     = 1000
	// batchPool distinct batches are cycled, so one batch is not always hot
	// in the CPU cache.
	batchPool = 8
)

// benchSink keeps the floors' reads from being optimised away.
var benchSink int

// benchRounds repeats each floor and ours pair in turn, within one run, so that a
// ratio compares measurements taken moments apart (sub-benchmarks are named
// floor, floor#01, floor#02, ...). -count would run all floors, then all ours.
var benchRounds = flag.Int("rounds", 1, "times each floor/ours pair of sub-benchmarks runs, interleaved")

// benchInterleave runs the named sub-benchmarks in order, *benchRounds times.
func benchInterleave(b *testing.B, names []string, fs ...func(*testing.B)) {
	for range *benchRounds {
		for i, name := range names {
			b.Run(name, fs[i])
		}
	}
}

// benchProc is both sides of one processor with a fake clock and nop next
// consumers, without the background goroutine. (newHarness needs a
// *testing.T; benchmarks have a *testing.B.)
type benchProc struct {
	s      *shared
	traces *tracesProcessor
	logs   *logsProcessor
	clock  *fakeClock
}

func newBenchProc(tb testing.TB, cfg *Config) *benchProc {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	clock := &fakeClock{t: startTime}
	s, err := newShared(processortest.NewNopSettings(metadata.Type), cfg, clock.Now)
	require.NoError(tb, err)
	nop := consumertest.NewNop()
	s.c.setNext(nop)
	return &benchProc{s: s, clock: clock,
		traces: &tracesProcessor{shared: s, next: nop},
		logs:   &logsProcessor{shared: s, next: nop}}
}

// logsTo returns the logs side writing to next instead.
func (p *benchProc) logsTo(next consumer.Logs) *logsProcessor {
	return &logsProcessor{shared: p.s, next: next}
}

// floorTraces reads every span's attributes once and does nothing else.
func floorTraces(td ptrace.Traces) {
	n := 0
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				spans.At(k).Attributes().Range(func(k string, v pcommon.Value) bool {
					n += len(k) + int(v.Type())
					return true
				})
			}
		}
	}
	benchSink += n
}

// floorLogs visits every record, reading its event name and its attributes
// once: the least any per-record decision on the attributes costs.
func floorLogs(ld plog.Logs) {
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				n += len(lr.EventName())
				lr.Attributes().Range(func(k string, v pcommon.Value) bool {
					n += len(k) + int(v.Type())
					return true
				})
			}
		}
	}
	benchSink += n
}

// floorLogsVisit only visits every record and reads its event name.
func floorLogsVisit(ld plog.Logs) {
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				n += len(lrs.At(k).EventName())
			}
		}
	}
	benchSink += n
}

// cacheFull, as benchFill's want, fills the cache to cache::max_traces and
// on until every trace in it has come after it was full. With traces of 1.5
// completions on average, a fill to max_traces completions would leave a
// third of the traces to come; and the cache is full of traces well before
// the mix of traces in it settles, while its arrays still grow: a benchmark
// timed then measures that start-up work rather than a full cache evicting.
// (A fill that stopped once the completions grew by under 1% in 500 batches
// left the arrays a fifth short of their steady size.)
const cacheFull = math.MaxInt

// benchFill caches completions until the cache holds want of them or is
// full (for cacheFull, full and turned over once). It sends the batches of
// pool in turn, each with new ids, or one batch of its own if pool is empty:
// a benchmark that then times pool's batches finds the cache's arrays at the
// size its own mix of traces keeps them.
func benchFill(tb testing.TB, p *benchProc, g *benchdata.Gen, want int, pool ...*benchdata.Batch) {
	if len(pool) == 0 {
		pool = []*benchdata.Batch{g.Spans(spansPerBatch, completionPct, startTime)}
	}
	ctx := context.Background()
	next := 0
	consume := func() int {
		bt := pool[next%len(pool)]
		next++
		g.Refresh(bt, startTime)
		require.NoError(tb, p.traces.ConsumeTraces(ctx, bt.Traces))
		return completionTraces(bt.Traces)
	}
	maxTraces := p.s.c.cfg.Cache.MaxTraces
	for traces, comps := p.s.c.cache.sizes(); comps < want && traces < maxTraces; traces, comps = p.s.c.cache.sizes() {
		consume()
	}
	if want != cacheFull {
		return
	}
	for n, empty := 0, 0; n < maxTraces; {
		got := consume()
		n += got
		if empty = empty + 1; got > 0 {
			empty = 0
		}
		require.Less(tb, empty, len(pool), "benchFill's batches hold no completion")
	}
}

// completionTraces counts the traces of td that hold a completion: what a
// batch adds to the cache.
func completionTraces(td ptrace.Traces) int {
	ids := map[pcommon.TraceID]bool{}
	var comp genai.Completion
	var memo genai.Memo
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				if genai.Read(span, rs.Resource(), &memo, &comp) {
					ids[span.TraceID()] = true
				}
			}
		}
	}
	return len(ids)
}

// benchBuildIndexes builds the cache's response id and conversation
// indexes, as the first feedback that names a completion by either does.
func benchBuildIndexes(p *benchProc) {
	for _, kind := range []store.KeyKind{store.ByResponse, store.ByConversation} {
		p.s.c.cache.find(store.Query{Key: store.JoinKey{Kind: kind, Hash: store.HashValue("absent")}, Value: "absent", At: math.MaxInt64})
	}
}

// BenchmarkTracesPath: a batch of 1,000 spans, 5% of them completions, through
// ConsumeTraces ("ours", cache full and evicting, as in a busy collector),
// each against reading every span's attributes once (its floor). Each
// iteration gets new trace and response ids (untimed), so every completion
// is a new cache entry, and has its batch read once, untimed, so that it is
// in the CPU cache as a batch the receiver just decoded is (under
// decoded/, the batch is instead encoded and decoded from OTLP, untimed, as
// a receiver hands it on, once for the floor and once for ours: every key
// and value is then its own small object, just written, and the garbage
// collector runs as in a collector). Then the floor
// reads the batch, timed apart, and ours consumes it, timed: each
// sub-benchmark reports its floor (floor-ns/span) and ours over it
// (x-floor), both measured on the same batches moments apart, so a machine
// that slows down for a while slows both. (Timed in sub-benchmarks of their
// own, a floor and an ours a second apart gave ratios from 1.0 to 2.4 on
// one machine within a minute.) ours is the default configuration while
// feedback names completions by trace id (the response id and conversation
// indexes not built); ours_indexed has them built, as once feedback has
// named a completion by either. ours_0pct is ours without completions: the
// non-completion path alone.
func BenchmarkTracesPath(b *testing.B) {
	g := benchdata.New(1)
	batches := make([]*benchdata.Batch, batchPool)
	plain := make([]*benchdata.Batch, batchPool)
	for i := range batches {
		batches[i] = g.Spans(spansPerBatch, completionPct, startTime)
		plain[i] = g.Spans(spansPerBatch, 0, startTime)
	}
	p := newBenchProc(b, createDefaultConfig().(*Config))
	benchFill(b, p, g, cacheFull, batches...)
	indexed := newBenchProc(b, createDefaultConfig().(*Config))
	benchBuildIndexes(indexed)
	benchFill(b, indexed, g, cacheFull, batches...)
	ctx := context.Background()
	// handOn gives a batch to the floor, and then the same batch to ours.
	// warm hands on the batch read once, untimed, so that it is in the CPU
	// cache, as a batch the receiver just decoded is in a collector.
	// decoded hands on the batch as a receiver does, decoded from OTLP
	// just before: a copy for the floor, and another, decoded after the
	// floor's pass, for ours, so that neither warms the other's.
	warm := func(_ *testing.B, td ptrace.Traces, floor func(ptrace.Traces)) ptrace.Traces {
		floorTraces(td)
		floor(td)
		return td
	}
	decode := func(b *testing.B, raw []byte) ptrace.Traces {
		td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(raw)
		if err != nil {
			b.Fatal(err)
		}
		return td
	}
	decoded := func(b *testing.B, td ptrace.Traces, floor func(ptrace.Traces)) ptrace.Traces {
		raw, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
		if err != nil {
			b.Fatal(err)
		}
		floor(decode(b, raw))
		return decode(b, raw)
	}
	type handOn func(b *testing.B, td ptrace.Traces, floor func(ptrace.Traces)) ptrace.Traces
	run := func(b *testing.B, pool []*benchdata.Batch, p *benchProc, handOn handOn) {
		b.ReportAllocs()
		var floor time.Duration
		for i := 0; i < b.N; i++ {
			bt := pool[i%len(pool)]
			b.StopTimer()
			g.Refresh(bt, startTime)
			td := handOn(b, bt.Traces, func(td ptrace.Traces) {
				start := time.Now()
				floorTraces(td)
				floor += time.Since(start)
			})
			b.StartTimer()
			if err := p.traces.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		spans := float64(b.N * spansPerBatch)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/spans, "ns/span")
		b.ReportMetric(float64(floor.Nanoseconds())/spans, "floor-ns/span")
		b.ReportMetric(float64(b.Elapsed())/float64(floor), "x-floor")
	}
	benchInterleave(b, []string{"ours", "ours_indexed", "ours_0pct", "decoded/ours"},
		func(b *testing.B) { run(b, batches, p, warm) },
		func(b *testing.B) { run(b, batches, indexed, warm) },
		func(b *testing.B) { run(b, plain, p, warm) },
		func(b *testing.B) { run(b, batches, p, decoded) })
}

// BenchmarkTracesPathParallel: BenchmarkTracesPath's batches through
// ConsumeTraces from every P at once, as several receivers call it on a
// gateway; run with -cpu 1,2, the ratio of ns/op at 1 and 2 Ps is the
// speedup. Each goroutine has its own batches, which get new ids every
// iteration (here timed, in floor as in ours: with many goroutines the timer
// cannot stop for one). floor gives new ids and reads every span's
// attributes once; ours does that and calls ConsumeTraces.
func BenchmarkTracesPathParallel(b *testing.B) {
	ctx := context.Background()
	// RunParallel starts GOMAXPROCS goroutines; each takes its generator
	// and batches, made before the timer starts.
	type own struct {
		g    *benchdata.Gen
		pool []*benchdata.Batch
	}
	owns := make([]own, runtime.GOMAXPROCS(0))
	var all []*benchdata.Batch
	for k := range owns {
		owns[k].g = benchdata.New(uint64(100 + k))
		for range batchPool {
			owns[k].pool = append(owns[k].pool, owns[k].g.Spans(spansPerBatch, completionPct, startTime))
		}
		all = append(all, owns[k].pool...)
	}
	p := newBenchProc(b, createDefaultConfig().(*Config))
	benchFill(b, p, benchdata.New(1), cacheFull, all...)
	run := func(b *testing.B, consume bool) {
		b.ReportAllocs()
		var next atomic.Int32
		b.RunParallel(func(pb *testing.PB) {
			o := owns[int(next.Add(1)-1)%len(owns)]
			g, pool := o.g, o.pool
			for i := 0; pb.Next(); i++ {
				bt := pool[i%len(pool)]
				g.Refresh(bt, startTime)
				floorTraces(bt.Traces)
				if consume {
					if err := p.traces.ConsumeTraces(ctx, bt.Traces); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spansPerBatch), "ns/span")
	}
	benchInterleave(b, []string{"floor", "ours"},
		func(b *testing.B) { run(b, false) },
		func(b *testing.B) { run(b, true) })
}

// BenchmarkDecodeAndConsume: what a collector's traces pipeline does with a
// batch, in process: decode it from OTLP protobuf, as the receiver does, and
// hand it on. "without" hands it to a nop exporter; "with" through
// llm_feedback (its cache full, as after a while in a busy collector) to the
// nop. The pair is the end-to-end throughput ratio without the network; the
// garbage collector works on the heap each has, cache included. Each batch
// gets new trace ids in its encoded bytes before every decode (16-byte
// copies, in both).
func BenchmarkDecodeAndConsume(b *testing.B) {
	const decodeSeed = 7
	g := benchdata.New(decodeSeed)
	type wire struct {
		buf    []byte
		traces [][]int // offsets of each trace's id in buf
	}
	pool := make([]wire, batchPool)
	for i := range pool {
		bt := g.Spans(spansPerBatch, completionPct, startTime)
		var m ptrace.ProtoMarshaler
		buf, err := m.MarshalTraces(bt.Traces)
		require.NoError(b, err)
		ids := map[pcommon.TraceID]bool{}
		benchEachSpan(bt.Traces, func(s ptrace.Span) { ids[s.TraceID()] = true })
		w := wire{buf: buf}
		for id := range ids {
			var offs []int
			for at := 0; ; {
				j := bytes.Index(buf[at:], id[:])
				if j < 0 {
					break
				}
				offs = append(offs, at+j)
				at += j + len(id)
			}
			w.traces = append(w.traces, offs)
		}
		pool[i] = w
	}
	ctx := context.Background()
	run := func(b *testing.B, next consumer.Traces) {
		b.ReportAllocs()
		var u ptrace.ProtoUnmarshaler
		for i := 0; i < b.N; i++ {
			w := &pool[i%len(pool)]
			for _, offs := range w.traces {
				id := g.TraceID()
				for _, o := range offs {
					copy(w.buf[o:], id[:])
				}
			}
			td, err := u.UnmarshalTraces(w.buf)
			if err != nil {
				b.Fatal(err)
			}
			if err := next.ConsumeTraces(ctx, td); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spansPerBatch), "ns/span")
	}
	for range *benchRounds {
		runtime.GC()
		b.Run("without", func(b *testing.B) { run(b, consumertest.NewNop()) })
		p := newBenchProc(b, createDefaultConfig().(*Config))
		// The batches pool was encoded from, made again from the same seed,
		// fill the cache (their ids renewed by another generator); they are
		// garbage once it is full, so that neither run's heap holds them.
		again := benchdata.New(decodeSeed)
		fill := make([]*benchdata.Batch, len(pool))
		for i := range fill {
			fill[i] = again.Spans(spansPerBatch, completionPct, startTime)
		}
		benchFill(b, p, benchdata.New(decodeSeed+1), cacheFull, fill...)
		b.Run("with", func(b *testing.B) { run(b, p.traces) })
	}
}

func benchEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k))
			}
		}
	}
}

// BenchmarkLogsPassthrough: a batch of 1,000 ordinary log records, none of
// them feedback, through ConsumeLogs against visiting each record and reading
// its attributes once ("floor"), and against visiting each record only
// ("floor_visit"). As for spans, each batch is read once, untimed, first.
func BenchmarkLogsPassthrough(b *testing.B) {
	g := benchdata.New(2)
	p := newBenchProc(b, createDefaultConfig().(*Config))
	batches := make([]plog.Logs, batchPool)
	for i := range batches {
		batches[i] = g.Logs(logsPerBatch, startTime)
	}
	ctx := context.Background()
	run := func(b *testing.B, f func(plog.Logs)) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ld := batches[i%batchPool]
			b.StopTimer()
			floorLogs(ld) // just decoded: in the CPU cache, as in a collector
			b.StartTimer()
			f(ld)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*logsPerBatch), "ns/record")
	}
	benchInterleave(b, []string{"floor", "ours", "floor_visit"},
		func(b *testing.B) { run(b, floorLogs) },
		func(b *testing.B) {
			run(b, func(ld plog.Logs) {
				if err := p.logs.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			})
		},
		func(b *testing.B) { run(b, floorLogsVisit) })
}

// feedbackTemplates returns batches of feedback about completions already in
// p's cache; benchRestamp gives a copy of one new ids, so none is a duplicate.
func feedbackTemplates(tb testing.TB, p *benchProc, g *benchdata.Gen, n int) []plog.Logs {
	var known []benchdata.Completion
	ctx := context.Background()
	for len(known) < n*feedbackPerBatch {
		bt := g.Spans(spansPerBatch, completionPct, startTime)
		require.NoError(tb, p.traces.ConsumeTraces(ctx, bt.Traces))
		known = append(known, bt.Completions...)
	}
	out := make([]plog.Logs, n)
	for i := range out {
		out[i], _ = g.Feedback(known[i*feedbackPerBatch:(i+1)*feedbackPerBatch], startTime.Add(-time.Second))
	}
	return out
}

// benchRestamp copies src into dst with every feedback id made unique by seq.
func benchRestamp(src, dst plog.Logs, seq *uint64) {
	const digits = "0123456789abcdef"
	dst.ResourceLogs().RemoveIf(func(plog.ResourceLogs) bool { return true })
	src.CopyTo(dst)
	rls := dst.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				*seq++
				id, _ := lrs.At(k).Attributes().Get(feedback.AttrID)
				// Keep the uuid's shape; its last group becomes seq.
				var tail [12]byte
				for d, v := 11, *seq; d >= 0; d, v = d-1, v>>4 {
					tail[d] = digits[v&15]
				}
				id.SetStr(id.Str()[:24] + string(tail[:]))
			}
		}
	}
}

// BenchmarkFeedbackJoin: a batch of 100 feedback records whose completions are
// all cached, through ConsumeLogs: parse, dedupe, join, rewrite ("ours"). The
// cache holds 90,000 traces; every record has a new id. ns/join is ns/op /
// 100. "floor_write" only writes onto each record the attributes a matched
// record gets, with values ready: what pdata alone costs for the output.
func BenchmarkFeedbackJoin(b *testing.B) {
	g := benchdata.New(3)
	p := newBenchProc(b, createDefaultConfig().(*Config))
	benchFill(b, p, g, 90_000)
	templates := feedbackTemplates(b, p, g, batchPool)
	ctx := context.Background()
	var seq uint64

	// Every record must come out joined, else this measures something else.
	out := new(consumertest.LogsSink)
	check := plog.NewLogs()
	benchRestamp(templates[0], check, &seq)
	require.NoError(b, p.logsTo(out).ConsumeLogs(ctx, check))
	require.Equal(b, feedbackPerBatch, benchCountCorrelation(out.AllLogs(), correlationMatched))

	work := make([]plog.Logs, batchPool)
	for i := range work {
		work[i] = plog.NewLogs()
	}
	run := func(b *testing.B, f func(plog.Logs)) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			benchRestamp(templates[i%batchPool], work[i%batchPool], &seq)
			b.StartTimer()
			f(work[i%batchPool])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*feedbackPerBatch), "ns/join")
	}
	benchInterleave(b, []string{"ours", "floor_write"},
		func(b *testing.B) {
			run(b, func(ld plog.Logs) {
				if err := p.logs.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			})
		},
		func(b *testing.B) { run(b, floorWrite) })
}

// benchHoldFeedback sends n feedback records about completions that never
// come, which p holds until pending::ttl.
func benchHoldFeedback(tb testing.TB, p *benchProc, g *benchdata.Gen, n int) {
	tb.Helper()
	about := make([]benchdata.Completion, n)
	for i := range about {
		about[i] = benchdata.Completion{TraceID: g.TraceID(), SpanID: g.SpanID()}
	}
	ld, _ := g.Feedback(about, startTime.Add(-time.Second))
	require.NoError(tb, p.logs.ConsumeLogs(context.Background(), ld))
}

// floorWrite writes, onto every record, the attributes and ids a matched
// feedback record gets, with values ready-made.
func floorWrite(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				lr.SetEventName(eventName)
				lr.SetTraceID(pcommon.TraceID{1})
				lr.SetSpanID(pcommon.SpanID{1})
				m := lr.Attributes()
				m.PutStr(feedback.AttrTraceID, "5b8efff798038103d269b633813fc60c")
				m.PutStr(attrNewRelicEventType, eventName)
				m.PutStr(attrCorrelation, correlationMatched)
				m.PutStr(feedback.AttrSpanID, "eee19b7ec3c1b174")
				m.PutStr("gen_ai.operation.name", "chat")
				m.PutStr("gen_ai.provider.name", "openai")
				m.PutStr("gen_ai.request.model", "gpt-4o")
				m.PutStr("gen_ai.response.model", "gpt-4o-2024-08-06")
				m.PutStr(feedback.AttrResponseID, "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")
				m.PutInt("gen_ai.usage.input_tokens", 1200)
				m.PutInt("gen_ai.usage.output_tokens", 480)
				m.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
				m.PutStr("gen_ai.conversation.id", "d60ac8ae-aa1f-4911-9ad7-f14a2e4f4078")
				m.PutDouble(attrDuration, 1200)
				m.PutBool(attrErrorFlag, false)
				m.PutStr(attrServiceName, "chat-api")
				m.PutInt(attrDelay, 62)
			}
		}
	}
}

// BenchmarkFeedbackDelayedJoin: 100 feedback records that arrive before their
// completions are held (ConsumeLogs), then the spans come (ConsumeTraces of
// 2,000 spans, 100 completions) and the emitter sends them joined (flush).
// Informational: it includes the traces path of those 2,000 spans.
func BenchmarkFeedbackDelayedJoin(b *testing.B) {
	g := benchdata.New(4)
	cfg := createDefaultConfig().(*Config)
	p := newBenchProc(b, cfg)
	benchFill(b, p, g, 90_000)
	ctx := context.Background()
	type round struct {
		spans *benchdata.Batch
		fb    plog.Logs
	}
	rounds := make([]round, batchPool)
	for i := range rounds {
		bt := g.Spans(2*spansPerBatch, completionPct, startTime)
		fb, _ := g.Feedback(bt.Completions, startTime.Add(-time.Second))
		rounds[i] = round{spans: bt, fb: fb}
	}
	var seq uint64
	work := plog.NewLogs()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &rounds[i%batchPool]
		b.StopTimer()
		g.Refresh(r.spans, startTime)
		benchSetTraceIDs(r.fb, r.spans.Completions)
		benchRestamp(r.fb, work, &seq)
		b.StartTimer()
		if err := p.logs.ConsumeLogs(ctx, work); err != nil {
			b.Fatal(err)
		}
		if err := p.traces.ConsumeTraces(ctx, r.spans.Traces); err != nil {
			b.Fatal(err)
		}
		p.s.c.emitter.flush(ctx)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rounds[0].spans.Completions)), "ns/feedback")
	if n := p.s.c.pending.Len(); n != 0 {
		b.Fatalf("%d feedback records still pending", n)
	}
}

// benchSetTraceIDs points feedback record i at completion i.
func benchSetTraceIDs(ld plog.Logs, cs []benchdata.Completion) {
	i := 0
	rls := ld.ResourceLogs()
	for r := 0; r < rls.Len(); r++ {
		sls := rls.At(r).ScopeLogs()
		for s := 0; s < sls.Len(); s++ {
			lrs := sls.At(s).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				// Records are grouped by service, so not in the order of
				// cs; any distinct completion per record will do.
				lrs.At(k).Attributes().PutStr(feedback.AttrTraceID, hex.EncodeToString(cs[i].TraceID[:]))
				i++
			}
		}
	}
}

func benchCountCorrelation(lds []plog.Logs, want string) int {
	n := 0
	for _, ld := range lds {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if v, ok := lrs.At(k).Attributes().Get(attrCorrelation); ok && v.Str() == want {
						n++
					}
				}
			}
		}
	}
	return n
}

// benchHeapAfterGC is the live heap once garbage is collected.
func benchHeapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memoryCount is how many entries the memory benchmarks cache or hold.
const memoryCount = 100_000

// BenchmarkMemoryCachedCompletion: live heap per cached completion after
// caching 100,000 of them from realistic batches (1,000 spans, 5%
// completions, new trace, response and conversation ids each batch).
// "realistic" keeps the generator's traces, some of which hold several
// completions; "one_per_trace" gives every completion its own trace, the
// most a completion can cost; both with the join indexes off. "indexed"
// is one_per_trace with every completion carrying a response id, an app key
// (join::keys: [app.message_id]) and a conversation id, all indexed. Run it
// with -benchtime=1x: the figure does not depend on b.N.
func BenchmarkMemoryCachedCompletion(b *testing.B) {
	for _, name := range []string{"realistic", "one_per_trace", "indexed"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				g := benchdata.New(5)
				cfg := createDefaultConfig().(*Config)
				cfg.Cache.MaxTraces = memoryCount
				cfg.Join.ByResponseID, cfg.Join.ByConversation = false, false
				if name == "indexed" {
					cfg.Join = JoinConfig{Keys: []string{"app.message_id"}, ByResponseID: true, ByConversation: true, MaxConversations: memoryCount}
				}
				bt := g.Spans(spansPerBatch, completionPct, startTime)
				p := newBenchProc(b, cfg)
				ctx := context.Background()
				before := benchHeapAfterGC()
				if name == "indexed" {
					benchBuildIndexes(p)
				}
				for traces, comps := p.s.c.cache.sizes(); comps < memoryCount && traces < memoryCount; traces, comps = p.s.c.cache.sizes() {
					g.Refresh(bt, startTime)
					if name != "realistic" {
						g.OwnTraces(bt)
					}
					if name == "indexed" {
						benchEachSpan(bt.Traces, func(s ptrace.Span) {
							if genai.IsCompletion(s) {
								s.Attributes().PutStr("gen_ai.response.id", "chatcmpl-"+g.UUID()[:29])
								s.Attributes().PutStr("app.message_id", g.UUID())
								s.Attributes().PutStr("gen_ai.conversation.id", g.UUID())
							}
						})
					}
					require.NoError(b, p.traces.ConsumeTraces(ctx, bt.Traces))
				}
				after := benchHeapAfterGC()
				traces, comps := p.s.c.cache.sizes()
				b.ReportMetric(float64(after-before)/float64(comps), "B/completion")
				b.ReportMetric(float64(comps)/float64(traces), "completions/trace")
				runtime.KeepAlive(p)
				runtime.KeepAlive(bt)
			}
		})
	}
}

// BenchmarkMemoryPendingFeedback: live heap per feedback record held back
// after 100,000 realistic records arrived before their completions (and
// were remembered for dedupe). Run it with -benchtime=1x.
func BenchmarkMemoryPendingFeedback(b *testing.B) {
	for range b.N {
		g := benchdata.New(6)
		cfg := createDefaultConfig().(*Config)
		cfg.Pending.MaxRecords = memoryCount
		cfg.Feedback.DedupeMaxIDs = memoryCount
		p := newBenchProc(b, cfg)
		before := benchHeapAfterGC()
		for p.s.c.pending.Len() < memoryCount {
			benchHoldFeedback(b, p, g, feedbackPerBatch)
		}
		after := benchHeapAfterGC()
		n := p.s.c.pending.Len()
		data := 0
		for _, r := range p.s.c.pending.Drain() {
			data += len(r.Data)
			p.s.c.pending.Add(r)
		}
		b.ReportMetric(float64(after-before)/float64(n), "B/pending")
		b.ReportMetric(float64(data)/float64(n), "B_data/pending")
		runtime.KeepAlive(p)
	}
}
