package llmfeedbackprocessor

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

// telemetry records the processor's internal metrics. Attribute sets are
// built once per value so that counting allocates nothing.
type telemetry struct {
	tb   *metadata.TelemetryBuilder
	sets sync.Map // attrKey -> metric.MeasurementOption
}

func newTelemetry(tb *metadata.TelemetryBuilder) *telemetry {
	return &telemetry{tb: tb}
}

// attr returns the measurement option for key=value, built on first use.
// Values come from small fixed sets of reasons, so the map stays small.
func (t *telemetry) attr(key, value string) metric.MeasurementOption {
	k := attrKey{key, value} // a struct key: looking up allocates nothing
	if o, ok := t.sets.Load(k); ok {
		return o.(metric.MeasurementOption)
	}
	o, _ := t.sets.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(attribute.String(key, value))))
	return o.(metric.MeasurementOption)
}

type attrKey struct{ key, value string }

func (t *telemetry) add(c metric.Int64Counter, n int64, opts ...metric.AddOption) {
	if n != 0 {
		c.Add(context.Background(), n, opts...)
	}
}
