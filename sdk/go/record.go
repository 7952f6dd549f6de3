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
	// The conversation, as the processor reads it on feedback: under
	// gen_ai.conversation.id, else session.id.
	attrConversationID = "gen_ai.conversation.id"
	attrSessionID      = "session.id"
)

// ErrInvalidArgument is wrapped by every error the Record functions return
// for an argument they refuse; nothing is emitted then.
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
// It is a selector inside a trace: Record only.
func WithSpanID(spanID string) Option { return func(o *options) { o.spanID = spanID } }

// WithResponseID names the completion inside the trace by its
// gen_ai.response.id, when the span id is not at hand: Record only. Without a
// trace id at hand, RecordResponse finds the completion by its response id
// alone.
func WithResponseID(responseID string) Option { return func(o *options) { o.response = responseID } }

// WithFeedbackID sets id, the feedback's own id (at most 256 bytes). The
// processor generates one when it is absent, and drops a second record with
// the same id as a double click (for Record, a second one on the same trace).
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
	return emit(ctx, rating, opts, func(o *options) (subject, error) {
		return traceSubject(traceID, o)
	})
}

// RecordResponse emits one LlmFeedbackMessage log record about the LLM
// completion whose span has gen_ai.response.id responseID, in whatever trace
// it is: the id the provider returned with the answer ("chatcmpl-…" from
// OpenAI, "msg_…" from Anthropic), which the app keeps with the answer
// anyway. The app's GenAI instrumentation must write that id on the
// completion span (the OpenTelemetry JS OpenAI instrumentation and OpenLLMetry
// do; OpenInference does not).
//
// The record carries gen_ai.response.id and no trace_id, and is emitted
// outside any trace: the app does not know the completion's trace here, and
// the span ctx may carry is the feedback request's, so placing the record in
// it would show the feedback on the wrong trace. The processor writes the
// completion's TraceID, SpanID and trace_id on the record it joins. Without a
// TraceID, a trace-id load balancer in front of several collectors cannot
// place the record by itself; see the processor's scale-out section.
//
// The rating, options and errors are Record's, except that WithSpanID and
// WithResponseID (selectors inside a trace) are refused.
func RecordResponse(ctx context.Context, responseID string, rating any, opts ...Option) error {
	return emit(ctx, rating, opts, func(o *options) (subject, error) {
		return keySubject("RecordResponse", attrResponseID, "response id",
			`the id the provider returned with the answer, such as "chatcmpl-..."`, responseID, o)
	})
}

// RecordKey emits one LlmFeedbackMessage log record about the LLM completion
// whose span (or its resource) carries attribute key with value value: the
// app's own id of the answer, such as its message id. The processor joins by
// key only when key is listed in its join::keys; value is compared as text,
// so an integer attribute on the span matches its decimal string.
//
// key must not be one of the attributes that already mean something on a
// feedback record (trace_id, span_id, gen_ai.response.id,
// gen_ai.conversation.id, session.id, id, rating, category, message,
// metadata, ingest_source, the event name keys, or an llm.feedback.*
// attribute the processor writes).
//
// The record is placed as RecordResponse's is; rating, options and errors as
// there.
func RecordKey(ctx context.Context, key, value string, rating any, opts ...Option) error {
	return emit(ctx, rating, opts, func(o *options) (subject, error) {
		if err := checkKeyName(key); err != nil {
			return subject{}, err
		}
		return keySubject("RecordKey", key, "value of key "+quote(key),
			"the value the app set on the completion span", value, o)
	})
}

// RecordConversation emits one LlmFeedbackMessage log record about the
// conversation conversationID (the gen_ai.conversation.id, or session.id, the
// app sets on every turn's completion span). The processor joins it to the
// completion of that conversation that ended last at or before the record's
// timestamp (now): the answer the user was looking at. Turns that end later
// are never picked.
//
// The record is placed as RecordResponse's is; rating, options and errors as
// there.
func RecordConversation(ctx context.Context, conversationID string, rating any, opts ...Option) error {
	return emit(ctx, rating, opts, func(o *options) (subject, error) {
		return keySubject("RecordConversation", attrConversationID, "conversation id",
			"the gen_ai.conversation.id the app sets on its completion spans", conversationID, o)
	})
}

// subject is what a record is about: the attributes that name the completion,
// and the span context the record is emitted in (zero: outside any trace).
type subject struct {
	attrs []attribute.KeyValue
	sc    trace.SpanContext
}

// emit checks the arguments, builds the record and emits it.
func emit(ctx context.Context, rating any, opts []Option, about func(*options) (subject, error)) error {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	rec, sc, err := build(about, rating, &o)
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
	// ctx. Replacing it puts the record in the completion's trace (so backends
	// show it there and a trace-id load balancer routes it to the collector
	// that holds the completion), or, for a zero one, in no trace at all
	// rather than in the feedback request's.
	provider.Logger(ScopeName).Emit(trace.ContextWithSpanContext(ctx, sc), rec)
	return nil
}

// build validates the arguments and returns the record and the span context
// to emit it in.
func build(about func(*options) (subject, error), rating any, o *options) (log.Record, trace.SpanContext, error) {
	var rec log.Record
	subj, err := about(o)
	if err != nil {
		return rec, trace.SpanContext{}, err
	}
	rv, err := ratingValue(rating)
	if err != nil {
		return rec, trace.SpanContext{}, err
	}
	attrs := append(subj.attrs, attribute.KeyValue{Key: attrRating, Value: rv})
	if id := strings.TrimSpace(o.feedbackID); id != "" {
		if len(id) > maxIDLength {
			return rec, trace.SpanContext{}, fmt.Errorf("feedback id is %d bytes long; at most %d", len(id), maxIDLength)
		}
		attrs = append(attrs, attribute.String(attrID, id))
	}
	for _, kv := range []struct{ key, value string }{
		{attrCategory, o.category},
		{attrMessage, o.message},
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
	return rec, subj.sc, nil
}

// traceSubject names the completion by its trace id, and by WithSpanID or
// WithResponseID inside that trace.
func traceSubject(traceID string, o *options) (subject, error) {
	tid, err := parseTraceID(traceID)
	if err != nil {
		return subject{}, err
	}
	attrs := []attribute.KeyValue{attribute.String(attrTraceID, tid.String())}
	sid := derivedSpanID(tid)
	if o.spanID != "" {
		if sid, err = parseSpanID(o.spanID); err != nil {
			return subject{}, err
		}
		attrs = append(attrs, attribute.String(attrSpanID, sid.String()))
	}
	if o.response != "" {
		if len(o.response) > maxIDLength {
			// As for RecordResponse: the processor marks such a record invalid.
			return subject{}, fmt.Errorf("response id is %d bytes long; at most %d", len(o.response), maxIDLength)
		}
		attrs = append(attrs, attribute.String(attrResponseID, o.response))
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid,
		SpanID:  sid,
		// The user asked for this record: a trace-based sampling filter must
		// not drop it because the feedback request itself was not sampled.
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
	return subject{attrs: attrs, sc: sc}, nil
}

// keySubject names the completion by one attribute of its span, in any trace.
// what names the value in errors; expected says what it should be.
func keySubject(fn, key, what, expected, value string, o *options) (subject, error) {
	switch {
	case strings.TrimSpace(value) == "":
		return subject{}, fmt.Errorf("%s is empty; expected %s", what, expected)
	case len(value) > maxIDLength:
		// The processor cuts span strings at this length, so a longer value
		// could never match.
		return subject{}, fmt.Errorf("%s is %d bytes long; at most %d", what, len(value), maxIDLength)
	case o.spanID != "":
		return subject{}, fmt.Errorf("WithSpanID selects a completion inside a trace, and %s names none; use Record with the trace id, or leave WithSpanID out", fn)
	case o.response != "":
		return subject{}, fmt.Errorf("WithResponseID selects a completion inside a trace, and %s names none; use RecordResponse with the response id alone", fn)
	}
	return subject{attrs: []attribute.KeyValue{attribute.String(key, value)}}, nil
}

// builtinKeys are the feedback record's attributes that mean something of
// their own to the processor, with what to do instead of using them as an app
// key.
var builtinKeys = map[string]string{
	attrTraceID:           "use Record",
	attrSpanID:            "use Record with WithSpanID",
	attrResponseID:        "use RecordResponse",
	attrConversationID:    "use RecordConversation",
	attrSessionID:         "use RecordConversation",
	attrID:                "use WithFeedbackID",
	attrRating:            "it is the rating",
	attrCategory:          "use WithCategory",
	attrMessage:           "use WithMessage",
	attrMetadata:          "use WithMetadata",
	attrIngestSource:      "it names the sending language",
	"event.name":          "it marks the record as feedback",
	"otel.event.name":     "it marks the record as feedback",
	"newrelic.event.type": "it marks the record as feedback",
	// The completion's fields, which the processor writes on its output.
	"duration":                       "the processor writes it on its output",
	"error":                          "the processor writes it on its output",
	"gen_ai.operation.name":          "the processor writes it on its output",
	"gen_ai.provider.name":           "the processor writes it on its output",
	"gen_ai.request.model":           "the processor writes it on its output",
	"gen_ai.response.model":          "the processor writes it on its output",
	"gen_ai.usage.input_tokens":      "the processor writes it on its output",
	"gen_ai.usage.output_tokens":     "the processor writes it on its output",
	"gen_ai.response.finish_reasons": "the processor writes it on its output",
}

// outputPrefixes start the attributes the processor writes on its output;
// its join::keys refuses them, as it refuses builtinKeys (the repository's
// testdata/refused_join_keys.txt lists both; each side's tests check it).
var outputPrefixes = []string{"llm.feedback.", "llm.conversation.", "llm.completion."}

func checkKeyName(key string) error {
	switch {
	case strings.TrimSpace(key) == "":
		return fmt.Errorf("key name is empty; expected an attribute name listed in the processor's join::keys, such as \"app.message_id\"")
	case strings.TrimSpace(key) != key:
		return fmt.Errorf("key name %s has leading or trailing spaces; the processor compares names exactly", quote(key))
	}
	for _, prefix := range outputPrefixes {
		if strings.HasPrefix(key, prefix) {
			return fmt.Errorf("key name %s is written by the processor (%s*); expected the app's own attribute", quote(key), prefix)
		}
	}
	if instead, ok := builtinKeys[key]; ok {
		return fmt.Errorf("key name %s is a built-in feedback attribute (%s); expected the app's own attribute, such as \"app.message_id\"", quote(key), instead)
	}
	return nil
}
