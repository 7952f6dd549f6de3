package feedback

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Input attribute names, as New Relic's record_llm_feedback_event writes them.
const (
	AttrID           = "id"
	AttrTraceID      = "trace_id"
	AttrRating       = "rating"
	AttrCategory     = "category"
	AttrMessage      = "message"
	AttrMetadata     = "metadata"
	AttrSpanID       = "span_id"
	AttrResponseID   = "gen_ai.response.id"
	AttrIngestSource = "ingest_source"
)

// MaxIDLength bounds the ids an app sends as strings: the feedback id and
// the response id (both are keys of the join, the dedupe window or storage,
// and are never cut).
const MaxIDLength = 256

// Reasons a record is invalid, as the low-cardinality metric attribute.
const (
	ReasonMissingRating = "missing_rating"
	ReasonBadRating     = "bad_rating"
	ReasonBadTraceID    = "bad_trace_id"
	ReasonNoTraceID     = "no_trace_id"
	ReasonBadSpanID     = "bad_span_id"
	ReasonBadType       = "bad_type"
)

// Matcher recognises feedback records by event name.
type Matcher struct {
	names []string
}

// NewMatcher returns a matcher for the configured event names.
func NewMatcher(names []string) Matcher { return Matcher{names: names} }

func (m Matcher) has(s string) bool {
	for _, n := range m.names {
		if n == s {
			return true
		}
	}
	return false
}

// Is reports whether lr is feedback: its EventName, or its attribute
// event.name, otel.event.name or newrelic.event.type, is a configured name.
// (An SDK may set a generic EventName and keep the feedback's type in an
// attribute, as New Relic's newrelic.event.type does.)
func (m Matcher) Is(lr plog.LogRecord) bool {
	if m.has(lr.EventName()) {
		return true
	}
	found := false
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		// The length first: it rules out almost every key without reading it.
		if n := len(k); n != len("event.name") && n != len("otel.event.name") && n != len("newrelic.event.type") {
			return true
		}
		switch k {
		case "event.name", "otel.event.name", "newrelic.event.type":
			if v.Type() == pcommon.ValueTypeStr && m.has(v.Str()) {
				found = true
				return false
			}
		}
		return true
	})
	return found
}

// Feedback is what the join needs from a feedback record. Problem is empty
// for a valid record; otherwise it says what is wrong, in words a user acts
// on, and Reason names the kind of problem for metrics.
type Feedback struct {
	TraceID    pcommon.TraceID
	ID         string
	SpanID     pcommon.SpanID
	ResponseID string
	// Time is the feedback's own time: Timestamp, else ObservedTimestamp.
	Time    int64
	Problem string
	Reason  string
}

// Valid reports whether the record can be joined.
func (f *Feedback) Valid() bool { return f.Problem == "" }

func (f *Feedback) fail(reason, format string, args ...any) {
	if f.Problem == "" {
		f.Problem, f.Reason = fmt.Sprintf(format, args...), reason
	}
}

// Parse reads lr's input fields. It never changes lr.
func Parse(lr plog.LogRecord) Feedback {
	var f Feedback
	f.Time = TimeOf(lr)
	attrs := lr.Attributes()

	f.TraceID = lr.TraceID()
	v, ok := attrs.Get(AttrTraceID)
	if ok && v.Type() == pcommon.ValueTypeStr && strings.TrimSpace(v.Str()) == "" && !f.TraceID.IsEmpty() {
		ok = false // an empty trace_id is absent: the record's own trace id serves
	}
	if ok {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			id, err := ParseTraceID(v.Str())
			if err != nil {
				f.fail(ReasonBadTraceID, "%s", err)
			}
			f.TraceID = id
		case pcommon.ValueTypeBytes:
			if v.Bytes().Len() != 16 {
				f.fail(ReasonBadTraceID, "trace_id is %d bytes; a binary trace id has 16", v.Bytes().Len())
			}
			copy(f.TraceID[:], v.Bytes().AsRaw())
			if f.TraceID.IsEmpty() && f.Problem == "" {
				f.fail(ReasonBadTraceID, "trace_id is all zeros, which is not a valid trace id")
			}
		default:
			f.fail(ReasonBadTraceID, "trace_id is %s; expected a string of 32 hex digits", typeName(v))
		}
	} else if f.TraceID.IsEmpty() {
		f.fail(ReasonNoTraceID, "no trace_id attribute and the record has no trace id; set trace_id to the trace id of the LLM completion")
	}

	if v, ok := attrs.Get(AttrRating); !ok {
		f.fail(ReasonMissingRating, "rating is missing; it is required (a string, integer, double or bool)")
	} else {
		switch v.Type() {
		case pcommon.ValueTypeStr:
			if strings.TrimSpace(v.Str()) == "" {
				f.fail(ReasonMissingRating, "rating is an empty string; it is required")
			}
		case pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		default:
			f.fail(ReasonBadRating, "rating is %s; expected a string, integer, double or bool", typeName(v))
		}
	}

	for _, k := range []string{AttrCategory, AttrMessage} {
		if v, ok := attrs.Get(k); ok && v.Type() != pcommon.ValueTypeStr {
			f.fail(ReasonBadType, "%s is %s; expected a string", k, typeName(v))
		}
	}
	if v, ok := attrs.Get(AttrMetadata); ok && v.Type() != pcommon.ValueTypeMap {
		f.fail(ReasonBadType, "metadata is %s; expected a map of attributes", typeName(v))
	}

	if v, ok := attrs.Get(AttrID); ok {
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt:
			f.ID = strings.Clone(strings.TrimSpace(v.AsString()))
			if len(f.ID) > MaxIDLength {
				f.fail(ReasonBadType, "id is %d bytes long; at most %d", len(f.ID), MaxIDLength)
			}
		default:
			f.fail(ReasonBadType, "id is %s; expected a string", typeName(v))
		}
	}

	if v, ok := attrs.Get(AttrSpanID); ok {
		if v.Type() != pcommon.ValueTypeStr {
			f.fail(ReasonBadSpanID, "span_id is %s; expected a string of 16 hex digits", typeName(v))
		} else if id, err := ParseSpanID(v.Str()); err != nil {
			f.fail(ReasonBadSpanID, "%s", err)
		} else {
			f.SpanID = id
		}
	}
	if v, ok := attrs.Get(AttrResponseID); ok {
		if v.Type() != pcommon.ValueTypeStr {
			f.fail(ReasonBadType, "gen_ai.response.id is %s; expected a string", typeName(v))
		} else if len(v.Str()) > MaxIDLength {
			f.fail(ReasonBadType, "gen_ai.response.id is %d bytes long; at most %d", len(v.Str()), MaxIDLength)
		} else {
			f.ResponseID = strings.Clone(v.Str())
		}
	}
	return f
}

// TimeOf is the feedback's own time: Timestamp, else ObservedTimestamp.
func TimeOf(lr plog.LogRecord) int64 {
	if t := lr.Timestamp(); t != 0 {
		return int64(t)
	}
	return int64(lr.ObservedTimestamp())
}

// typeName names v's type the way a user writing JSON or Python would, with
// its article: "a string", "an integer", "a map", "an array".
func typeName(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return "a string"
	case pcommon.ValueTypeInt:
		return "an integer"
	case pcommon.ValueTypeDouble:
		return "a double"
	case pcommon.ValueTypeBool:
		return "a bool"
	case pcommon.ValueTypeMap:
		return "a map"
	case pcommon.ValueTypeSlice:
		return "an array"
	case pcommon.ValueTypeBytes:
		return "bytes"
	}
	return "an empty value"
}
