package genai_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

var benchSink int

// BenchmarkMarkerPass: looking for completions in a batch of 1,000 spans
// with none among them, with NextMarked on each scope's spans
// ("next_marked", what the traces path does) and with Read called for each
// span ("read_each"), against reading every span's attributes once
// ("floor"). The three run in turn, 5 rounds, each batch read once untimed
// first.
func BenchmarkMarkerPass(b *testing.B) {
	g := benchdata.New(1)
	at := time.Unix(1_700_000_000, 0)
	batches := make([]ptrace.Traces, 8)
	for i := range batches {
		batches[i] = g.Spans(1000, 0, at).Traces
	}
	eachSlice := func(td ptrace.Traces, f func(ptrace.SpanSlice, pcommon.Resource) int) int {
		n := 0
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				n += f(ss.Spans(), rs.Resource())
			}
		}
		return n
	}
	floor := func(spans ptrace.SpanSlice, _ pcommon.Resource) int {
		n := 0
		for k := 0; k < spans.Len(); k++ {
			spans.At(k).Attributes().Range(func(k string, v pcommon.Value) bool {
				n += len(k) + int(v.Type())
				return true
			})
		}
		benchSink += n
		return 0
	}
	nextMarked := func(spans ptrace.SpanSlice, _ pcommon.Resource) int {
		n := 0
		for k := genai.NextMarked(spans, 0); k < spans.Len(); k = genai.NextMarked(spans, k+1) {
			n++
		}
		return n
	}
	var memo genai.Memo
	readEach := func(spans ptrace.SpanSlice, res pcommon.Resource) int {
		n := 0
		var c genai.Completion
		for k := 0; k < spans.Len(); k++ {
			if genai.Read(spans.At(k), res, &memo, &c) {
				n++
			}
		}
		return n
	}
	ways := []struct {
		name string
		f    func(ptrace.SpanSlice, pcommon.Resource) int
	}{{"floor", floor}, {"next_marked", nextMarked}, {"read_each", readEach}}
	for range 5 {
		for _, w := range ways {
			b.Run(w.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					td := batches[i%len(batches)]
					b.StopTimer()
					eachSlice(td, floor)
					b.StartTimer()
					if eachSlice(td, w.f) != 0 {
						b.Fatal("a completion found in a batch without any")
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
			})
		}
	}
}
