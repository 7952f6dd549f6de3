package genai

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
)

// BenchmarkRead: Read on every completion of 8 batches of 1,000 spans (5%
// completions, in the benchmark data's mix of instrumentations), the spans
// in the CPU cache: the work of reading a completion, without the misses of
// a batch just handed on.
func BenchmarkRead(b *testing.B) {
	g := benchdata.New(1)
	at := time.Unix(1_700_000_000, 0)
	var spans []ptrace.Span
	var resources []pcommon.Resource
	for range 8 {
		td := g.Spans(1000, 5, at).Traces
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for k := NextMarked(ss.Spans(), 0); k < ss.Spans().Len(); k = NextMarked(ss.Spans(), k+1) {
					spans = append(spans, ss.Spans().At(k))
					resources = append(resources, rs.Resource())
				}
			}
		}
	}
	var memo Memo
	var c Completion
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, span := range spans {
			if !Read(span, resources[j], &memo, &c) {
				b.Fatal("a marked span of the benchmark data is not a completion")
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/completion")
}
