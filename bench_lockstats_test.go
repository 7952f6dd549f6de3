//go:build lockstats

package llmfeedbackprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
)

// BenchmarkTracesPathSerial: the traces path of BenchmarkTracesPath (cache
// full and evicting), timing how long it holds shared locks (build with
// -tags lockstats; holdtime_lockstats.go). What limits it on many cores is
// the share of its time that no other ConsumeTraces call can run alongside:
//
//	serial_fraction = (held_part / parts + held_shared) / in_ConsumeTraces
//
// held_part is the time spent holding any cache part's lock. Trace ids
// spread batches evenly over the parts, so of that time only the share of
// one part excludes a given other call: it counts divided by the number of
// parts. held_shared is the time holding a lock that is not split (the
// pending store's, taken when feedback is waiting), counted whole.
// speedup_16 is Amdahl's bound at 16 cores: 1/(s + (1-s)/16).
//
// "waiting" has 100 feedback records held for completions that never come,
// as a collector usually has, so every batch also looks for what waits;
// "idle" has none.
func BenchmarkTracesPathSerial(b *testing.B) {
	for _, name := range []string{"idle", "waiting"} {
		b.Run(name, func(b *testing.B) {
			g := benchdata.New(1)
			p := newBenchProc(b, createDefaultConfig().(*Config))
			batches := make([]*benchdata.Batch, batchPool)
			for i := range batches {
				batches[i] = g.Spans(spansPerBatch, completionPct, startTime)
			}
			benchFill(b, p, g, cacheFull, batches...)
			ctx := context.Background()
			if name == "waiting" {
				benchHoldFeedback(b, p, g, feedbackPerBatch)
				require.Equal(b, int64(feedbackPerBatch), p.s.c.waiting.Load())
			}
			holdStats.part.Store(0)
			holdStats.shared.Store(0)
			var in time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bt := batches[i%len(batches)]
				b.StopTimer()
				g.Refresh(bt, startTime)
				floorTraces(bt.Traces)
				b.StartTimer()
				t0 := time.Now()
				if err := p.traces.ConsumeTraces(ctx, bt.Traces); err != nil {
					b.Fatal(err)
				}
				in += time.Since(t0)
			}
			parts := float64(len(p.s.c.cache.parts))
			s := (float64(holdStats.part.Load())/parts + float64(holdStats.shared.Load())) / float64(in)
			b.ReportMetric(s, "serial_fraction")
			b.ReportMetric(1/(s+(1-s)/16), "speedup_16")
			b.ReportMetric(float64(holdStats.part.Load())/float64(in), "part_held_fraction")
		})
	}
}
