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
	sets sync.Map // attrKey -> attrOpt
}

// attrOpt is the options for one attribute set, built once. Passed on to
// Add as it is, it allocates nothing; a fresh variadic slice would escape
// (Add is an interface method) and cost an allocation per count.
type attrOpt []metric.AddOption

func newTelemetry(tb *metadata.TelemetryBuilder) *telemetry {
	return &telemetry{tb: tb}
}

// attr returns the measurement option for key=value, built on first use.
// Values come from small fixed sets of reasons, so the map stays small.
func (t *telemetry) attr(key, value string) attrOpt {
	k := attrKey{key, value} // a struct key: looking up allocates nothing
	if o, ok := t.sets.Load(k); ok {
		return o.(attrOpt)
	}
	o, _ := t.sets.LoadOrStore(k, attrOpt{metric.WithAttributeSet(attribute.NewSet(attribute.String(key, value)))})
	return o.(attrOpt)
}

type attrKey struct{ key, value string }

// add counts n, with at most one attribute set.
func (t *telemetry) add(c metric.Int64Counter, n int64, opts ...attrOpt) {
	switch {
	case n == 0:
	case len(opts) == 0:
		c.Add(context.Background(), n)
	default:
		c.Add(context.Background(), n, opts[0]...)
	}
}
