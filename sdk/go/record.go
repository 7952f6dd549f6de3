package llmfeedback

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

const (
	// EventName is the event name of every record Record emits, and what the
	// processor's feedback::event_names recognises by default.
	EventName = "LlmFeedbackMessage"
	// ScopeName is the instrumentation scope of the records.
	ScopeName = "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
	// IngestSource is the ingest_source attribute, as New Relic's agents
	// write their language there.
	IngestSource = "Go"

	// maxIDLength is the processor's bound on a feedback id; a longer one
	// would be marked invalid there.
	maxIDLength = 256
)

// Attribute keys of the emitted record: New Relic's names, which the
// processor reads.
const (
	attrTraceID      = "trace_id"
	attrRating       = "rating"
	attrCategory     = "category"
	attrMessage      = "message"
	attrMetadata     = "metadata"
	attrSpanID       = "span_id"
	attrResponseID   = "gen_ai.response.id"
	attrID           = "id"
	attrIngestSource = "ingest_source"
)

// ErrInvalidArgument is wrapped by every error Record returns for an argument
// it refuses; nothing is emitted then.
var ErrInvalidArgument = errors.New("invalid argument")

// Option sets an optional field of the feedback. An option given an empty
// string leaves its field out, so optional values can be passed through.
type Option func(*options)

type options struct {
	category, message string
	spanID, response  string
	feedbackID        string
	metadata          map[string]any
	provider          log.LoggerProvider
}

// WithCategory sets category, a short label such as "informative" or
// "inaccurate".
func WithCategory(category string) Option { return func(o *options) { o.category = category } }

// WithMessage sets message, the user's free text.
func WithMessage(message string) Option { return func(o *options) { o.message = message } }

// WithMetadata sets metadata, which the processor flattens into top-level
// attributes of the output record (the built-in keys win). A later
// WithMetadata replaces an earlier one.
func WithMetadata(metadata map[string]any) Option {
	return func(o *options) { o.metadata = metadata }
}

// WithSpanID names the completion span (16 hex digits) when the trace has
// several completions; without it the processor picks the one that ended last.
func WithSpanID(spanID string) Option { return func(o *options) { o.spanID = spanID } }

// WithResponseID names the completion by its gen_ai.response.id, when the
// span id is not at hand.
func WithResponseID(responseID string) Option { return func(o *options) { o.response = responseID } }

// WithFeedbackID sets id, the feedback's own id (at most 256 bytes). The
// processor generates one when it is absent, and drops a second record with
// the same id on the same trace as a double click.
func WithFeedbackID(id string) Option { return func(o *options) { o.feedbackID = id } }

// WithLoggerProvider emits through provider instead of the global one
// (otel.GetLoggerProvider, the same as go.opentelemetry.io/otel/log/global).
func WithLoggerProvider(provider log.LoggerProvider) Option {
	return func(o *options) { o.provider = provider }
}

// Record emits one LlmFeedbackMessage log record about the LLM completion in
// trace traceID, with the user's rating: New Relic's
// record_llm_feedback_event over OpenTelemetry.
//
// traceID is what CurrentTraceID returned where the completion was made: 32
// hex digits in any case, fewer (left-padded), a UUID with dashes, or a whole
// W3C traceparent. rating is a string, integer, float or bool and keeps its
// type. ctx is used for its values and cancellation only: the record is placed
// in the completion's trace, not in the trace of the span ctx may carry.
//
// Record returns an error wrapping ErrInvalidArgument, and emits nothing, when
// an argument is refused. Delivery errors are the LoggerProvider's to report.
func Record(ctx context.Context, traceID string, rating any, opts ...Option) error {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	rec, sc, err := build(traceID, rating, &o)
	if err != nil {
		return fmt.Errorf("llmfeedback: %w: %w", ErrInvalidArgument, err)
	}
	provider := o.provider
	if provider == nil {
		provider = otel.GetLoggerProvider()
	}
	if ctx == nil {
		ctx = context.Background()
	}
	// The SDK takes a record's trace and span ids from the span context in
	// ctx; this one puts the record in the completion's trace, so backends
	// show it there and a trace-id load balancer routes it to the collector
	// that holds the completion.
	provider.Logger(ScopeName).Emit(trace.ContextWithSpanContext(ctx, sc), rec)
	return nil
}

// build validates the arguments and returns the record and the span context
// to emit it in.
func build(traceID string, rating any, o *options) (log.Record, trace.SpanContext, error) {
	var rec log.Record
	tid, err := parseTraceID(traceID)
	if err != nil {
		return rec, trace.SpanContext{}, err
	}
	rv, err := ratingValue(rating)
	if err != nil {
		return rec, trace.SpanContext{}, err
	}
	attrs := []attribute.KeyValue{
		attribute.String(attrTraceID, tid.String()),
		{Key: attrRating, Value: rv},
	}

	sid := derivedSpanID(tid)
	if o.spanID != "" {
		if sid, err = parseSpanID(o.spanID); err != nil {
			return rec, trace.SpanContext{}, err
		}
		attrs = append(attrs, attribute.String(attrSpanID, sid.String()))
	}
	if id := strings.TrimSpace(o.feedbackID); id != "" {
		if len(id) > maxIDLength {
			return rec, trace.SpanContext{}, fmt.Errorf("feedback id is %d bytes long; at most %d", len(id), maxIDLength)
		}
		attrs = append(attrs, attribute.String(attrID, id))
	}
	for _, kv := range []struct{ key, value string }{
		{attrCategory, o.category},
		{attrMessage, o.message},
		{attrResponseID, o.response},
	} {
		if kv.value != "" {
			attrs = append(attrs, attribute.String(kv.key, kv.value))
		}
	}
	if len(o.metadata) > 0 {
		attrs = append(attrs, attribute.KeyValue{Key: attrMetadata, Value: metadataValue(o.metadata)})
	}
	attrs = append(attrs, attribute.String(attrIngestSource, IngestSource))

	now := time.Now()
	rec.SetEventName(EventName)
	rec.SetTimestamp(now)
	rec.SetObservedTimestamp(now)
	// Info, so a minimum-severity filter in the app does not drop feedback.
	rec.SetSeverity(log.SeverityInfo)
	rec.AddAttributes(attrs...)

	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid,
		SpanID:  sid,
		// The user asked for this record: a trace-based sampling filter must
		// not drop it because the feedback request itself was not sampled.
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return rec, sc, nil
}
