package genai

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
)

var benchSink int // keeps the floor's reads

// BenchmarkMarkerPass: looking for completions in a batch of 1,000 spans
// with none among them, with NextMarked on each scope's spans
// ("next_marked", what the traces path does) and with the same check as a
// function called for each span ("call_each"), against reading every
// span's attributes once ("floor"). The three run in turn, 5 rounds, each
// batch read once untimed first; under "decoded", each batch is instead
// decoded from OTLP untimed first, as a receiver hands it on: each key is
// then its own small string, just written.
func BenchmarkMarkerPass(b *testing.B) {
	g := benchdata.New(1)
	at := time.Unix(1_700_000_000, 0)
	batches := make([]ptrace.Traces, 8)
	encoded := make([][]byte, len(batches))
	for i := range batches {
		batches[i] = g.Spans(1000, 0, at).Traces
		var err error
		encoded[i], err = (&ptrace.ProtoMarshaler{}).MarshalTraces(batches[i])
		if err != nil {
			b.Fatal(err)
		}
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
		for k := NextMarked(spans, 0); k < spans.Len(); k = NextMarked(spans, k+1) {
			n++
		}
		return n
	}
	callEach := func(spans ptrace.SpanSlice, _ pcommon.Resource) int {
		n := 0
		for k := 0; k < spans.Len(); k++ {
			if marked(spans.At(k)) {
				n++
			}
		}
		return n
	}
	ways := []struct {
		name string
		f    func(ptrace.SpanSlice, pcommon.Resource) int
	}{{"floor", floor}, {"next_marked", nextMarked}, {"call_each", callEach}}
	batch := map[string]func(i int) ptrace.Traces{
		"": func(i int) ptrace.Traces {
			td := batches[i%len(batches)]
			eachSlice(td, floor)
			return td
		},
		"decoded/": func(i int) ptrace.Traces {
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(encoded[i%len(encoded)])
			if err != nil {
				b.Fatal(err)
			}
			return td
		},
	}
	for range 5 {
		for _, data := range []string{"", "decoded/"} {
			for _, w := range ways {
				b.Run(data+w.name, func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						b.StopTimer()
						td := batch[data](i)
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
}

// marked is NextMarked's check of one span, as a call.
//
//go:noinline
func marked(span ptrace.Span) bool {
	found := false
	span.Attributes().Range(func(key string, _ pcommon.Value) bool {
		found = mayMark(key)
		return !found
	})
	return found
}
