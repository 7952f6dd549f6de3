package feedback_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
)

var benchSink int

// BenchmarkMatcher: finding that a batch of 1,000 ordinary log records holds
// no feedback, with AnyIn on each scope's records ("any_in", what the logs
// path does) and with Is called for each record ("is_each"), against
// reading every record's event name and attributes once ("floor"). The
// three run in turn, 5 rounds, each batch read once untimed first.
func BenchmarkMatcher(b *testing.B) {
	g := benchdata.New(2)
	batches := make([]plog.Logs, 8)
	for i := range batches {
		batches[i] = g.Logs(1000, time.Unix(1_700_000_000, 0))
	}
	m := feedback.NewMatcher([]string{benchdata.FeedbackEvent})
	eachSlice := func(ld plog.Logs, f func(plog.LogRecordSlice) bool) bool {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				if f(sl.LogRecords()) {
					return true
				}
			}
		}
		return false
	}
	floor := func(lrs plog.LogRecordSlice) bool {
		n := 0
		for i := 0; i < lrs.Len(); i++ {
			lr := lrs.At(i)
			n += len(lr.EventName())
			lr.Attributes().Range(func(k string, v pcommon.Value) bool {
				n += len(k) + int(v.Type())
				return true
			})
		}
		benchSink += n
		return false
	}
	isEach := func(lrs plog.LogRecordSlice) bool {
		for i := 0; i < lrs.Len(); i++ {
			if m.Is(lrs.At(i)) {
				return true
			}
		}
		return false
	}
	ways := []struct {
		name string
		f    func(plog.LogRecordSlice) bool
	}{{"floor", floor}, {"any_in", m.AnyIn}, {"is_each", isEach}}
	for range 5 {
		for _, w := range ways {
			b.Run(w.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					ld := batches[i%len(batches)]
					b.StopTimer()
					eachSlice(ld, floor)
					b.StartTimer()
					if eachSlice(ld, w.f) {
						b.Fatal("feedback found in a batch without any")
					}
				}
			})
		}
	}
}
