package testcollector

import (
	"go.opentelemetry.io/collector/pdata/plog"
)

// Record is one output log record, flattened for assertions.
type Record struct {
	EventName string
	TraceID   string
	SpanID    string
	Attrs     map[string]any
	Resource  map[string]any
}

// Flatten lists every log record in lds, in order.
func Flatten(lds []plog.Logs) []Record {
	var out []Record
	for _, ld := range lds {
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					out = append(out, Record{
						EventName: lr.EventName(),
						TraceID:   lr.TraceID().String(),
						SpanID:    lr.SpanID().String(),
						Attrs:     lr.Attributes().AsRaw(),
						Resource:  rl.Resource().Attributes().AsRaw(),
					})
				}
			}
		}
	}
	return out
}
