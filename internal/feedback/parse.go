package feedback

import (
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
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
	// AttrConversationID is read on feedback also under AttrSessionID.
	AttrConversationID = "gen_ai.conversation.id"
	AttrSessionID      = "session.id"
	// AttrJoinKey names the key that found the completion: written on the
	// output, and by a routing tier on what it addressed (see RoutedBy).
	AttrJoinKey = "llm.feedback.join_key"
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
	ReasonNoJoinKey     = "no_join_key"
	ReasonBadSpanID     = "bad_span_id"
	ReasonBadType       = "bad_type"
)

// Matcher recognises feedback records by event name.
type Matcher struct {
	names []string
}

// NewMatcher returns a matcher for the configured event names.
func NewMatcher(names []string) Matcher { return Matcher{names: names} }

func (m *Matcher) has(s string) bool {
	if s == "" {
		return false
	}
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
func (m *Matcher) Is(lr plog.LogRecord) bool {
	return m.has(lr.EventName()) || m.namedIn(lr.Attributes())
}

// AnyIn reports whether any record of lrs is feedback, as Is would. It is
// on the path of every log batch, so the check is written out in its loop:
// calling Is for each record took a quarter longer than the whole loop
// (BenchmarkMatcher).
func (m *Matcher) AnyIn(lrs plog.LogRecordSlice) bool {
	found := false
	for i := 0; i < lrs.Len() && !found; i++ {
		lr := lrs.At(i)
		if m.has(lr.EventName()) {
			return true
		}
		// Range with a literal rather than range over All: its early return
		// costs a check on every attribute.
		lr.Attributes().Range(func(k string, v pcommon.Value) bool {
			found = m.mayName(k, v)
			return !found
		})
	}
	return found
}

// namedIn reports whether attrs name a configured event. AnyIn writes the
// same loop out in its own.
func (m *Matcher) namedIn(attrs pcommon.Map) bool {
	found := false
	attrs.Range(func(k string, v pcommon.Value) bool {
		found = m.mayName(k, v)
		return !found
	})
	return found
}

// mayName rules out almost every attribute by its key's length alone,
// without reading the key; it is small enough to be inlined into the loops.
func (m *Matcher) mayName(k string, v pcommon.Value) bool {
	switch len(k) {
	case len("event.name"), len("otel.event.name"), len("newrelic.event.type"):
		return m.namesEvent(k, v)
	}
	return false
}

// namesEvent reports whether the attribute k names a configured event.
func (m *Matcher) namesEvent(k string, v pcommon.Value) bool {
	return (k == "event.name" || k == "otel.event.name" || k == "newrelic.event.type") &&
		v.Type() == pcommon.ValueTypeStr && m.has(v.Str())
}

// Feedback is what the join needs from a feedback record. Problem is empty
// for a valid record; otherwise it says what is wrong, in words a user acts
// on, and Reason names the kind of problem for metrics.
type Feedback struct {
	// Key is how the record names its completion; TraceID the trace, when
	// it names one (Key.Kind is ByTrace).
	Key     JoinKey
	TraceID pcommon.TraceID
	// RoutedBy, for a record by trace_id that a routing tier addressed,
	// is the key the router found its completion by (AttrJoinKey), read
	// from the record as the router read it; Kind is ByTrace otherwise.
	RoutedBy   JoinKey
	ID         string
	SpanID     pcommon.SpanID
	ResponseID string
	// Time is the feedback's own time: Timestamp, else ObservedTimestamp.
	Time    int64
	Problem string
	Reason  string
}

// JoinKey is the key a record names its completion by: its kind, the
// attribute it was read from (for a conversation, always
// gen_ai.conversation.id), and, for keys other than the trace id, the value.
type JoinKey struct {
	Kind  store.KeyKind
	App   int // which configured key, for ByAppKey
	Name  string
	Value string
}

// Valid reports whether the record can be joined.
func (f *Feedback) Valid() bool { return f.Problem == "" }

func (f *Feedback) fail(reason, format string, args ...any) {
	if f.Problem == "" {
		f.Problem, f.Reason = fmt.Sprintf(format, args...), reason
	}
}

// Keys says which keys besides trace_id a record may name its completion by.
type Keys struct {
	ByResponse     bool
	AppKeys        []string // join::keys, in order
	ByConversation bool
}

// Parse reads lr's input fields. It never changes lr.
func (k *Keys) Parse(lr plog.LogRecord) Feedback {
	var f Feedback
	f.Time = TimeOf(lr)
	attrs := lr.Attributes()
	k.readJoinKey(&f, lr)
	checkRating(&f, attrs)
	checkTypes(&f, attrs)
	readID(&f, attrs)
	readSelectors(&f, attrs)
	return f
}

// Parse reads lr with the default join keys: trace_id, the response id and
// the conversation, no app keys (the processor's defaults; tests and fuzzing
// use it).
func Parse(lr plog.LogRecord) Feedback {
	k := Keys{ByResponse: true, ByConversation: true}
	return k.Parse(lr)
}

// get returns attribute k unless it is absent or has no value at all (an
// OTLP AnyValue with none of its fields set), which counts as absent.
func get(attrs pcommon.Map, k string) (pcommon.Value, bool) {
	v, ok := attrs.Get(k)
	return v, ok && v.Type() != pcommon.ValueTypeEmpty
}

// present returns attribute k unless it is absent, has no value or is a
// blank string: an empty value counts as absent.
func present(attrs pcommon.Map, k string) (pcommon.Value, bool) {
	v, ok := get(attrs, k)
	if ok && v.Type() == pcommon.ValueTypeStr && strings.TrimSpace(v.Str()) == "" {
		return v, false
	}
	return v, ok
}

// readJoinKey finds the first key lr carries: trace_id, gen_ai.response.id,
// each configured key, the conversation, then the record's own trace id.
func (k *Keys) readJoinKey(f *Feedback, lr plog.LogRecord) {
	attrs := lr.Attributes()
	if v, ok := present(attrs, AttrTraceID); ok {
		f.Key = JoinKey{Kind: store.ByTrace, Name: AttrTraceID}
		f.TraceID = readTraceID(f, v)
		f.RoutedBy = k.routedBy(attrs)
		return
	}
	if k.readOtherKey(f, attrs) {
		return
	}
	if f.TraceID = lr.TraceID(); !f.TraceID.IsEmpty() {
		f.Key = JoinKey{Kind: store.ByTrace, Name: AttrTraceID}
		return
	}
	f.fail(ReasonNoJoinKey, "no join key: the record carries none of %s, and has no trace id of its own; set one to say which completion this feedback is about", strings.Join(k.names(), ", "))
}

// readOtherKey finds the first key other than a trace id that attrs
// carry, and reports whether it found one.
func (k *Keys) readOtherKey(f *Feedback, attrs pcommon.Map) bool {
	if v, ok := present(attrs, AttrResponseID); ok && k.ByResponse {
		f.Key = JoinKey{Kind: store.ByResponse, Name: AttrResponseID}
		f.Key.Value = readKeyValue(f, AttrResponseID, v)
		return true
	}
	for i, name := range k.AppKeys {
		if v, ok := present(attrs, name); ok {
			f.Key = JoinKey{Kind: store.ByAppKey, App: i, Name: name}
			f.Key.Value = readKeyValue(f, name, v)
			return true
		}
	}
	if k.ByConversation {
		for _, name := range []string{AttrConversationID, AttrSessionID} {
			if v, ok := present(attrs, name); ok {
				f.Key = JoinKey{Kind: store.ByConversation, Name: AttrConversationID}
				f.Key.Value = readKeyValue(f, name, v)
				return true
			}
		}
	}
	return false
}

// routedBy reads, as readOtherKey reads a record's own key, the key that
// AttrJoinKey names, when it is one of k's other than the trace id; a
// routing tier writes it next to trace_id on a record it addressed. The
// zero JoinKey (ByTrace) when there is none, or its value is not valid.
func (k *Keys) routedBy(attrs pcommon.Map) JoinKey {
	v, ok := attrs.Get(AttrJoinKey)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return JoinKey{}
	}
	name := v.Str()
	only := Keys{ByResponse: k.ByResponse && name == AttrResponseID, ByConversation: k.ByConversation && name == AttrConversationID}
	if slices.Contains(k.AppKeys, name) {
		only.AppKeys = []string{name}
	}
	var g Feedback
	if !only.readOtherKey(&g, attrs) || !g.Valid() {
		return JoinKey{}
	}
	return g.Key
}

// names lists the keys a record may carry, in the order they are tried.
func (k *Keys) names() []string {
	names := []string{AttrTraceID}
	if k.ByResponse {
		names = append(names, AttrResponseID)
	}
	names = append(names, k.AppKeys...)
	if k.ByConversation {
		names = append(names, AttrConversationID, AttrSessionID)
	}
	return names
}

func readTraceID(f *Feedback, v pcommon.Value) pcommon.TraceID {
	var id pcommon.TraceID
	switch v.Type() {
	case pcommon.ValueTypeStr:
		parsed, err := ParseTraceID(v.Str())
		if err != nil {
			f.fail(ReasonBadTraceID, "%s", err)
		}
		id = parsed
	case pcommon.ValueTypeBytes:
		if v.Bytes().Len() != 16 {
			f.fail(ReasonBadTraceID, "trace_id is %d bytes; a binary trace id has 16", v.Bytes().Len())
		}
		copy(id[:], v.Bytes().AsRaw())
		if id.IsEmpty() && f.Problem == "" {
			f.fail(ReasonBadTraceID, "trace_id is all zeros, which is not a valid trace id")
		}
	default:
		f.fail(ReasonBadTraceID, "trace_id is %s; expected a string of 32 hex digits", typeName(v))
	}
	return id
}

// readKeyValue reads a key compared as text: a string or an integer, at most
// MaxIDLength bytes.
func readKeyValue(f *Feedback, name string, v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr, pcommon.ValueTypeInt:
		s := v.AsString()
		if len(s) > MaxIDLength {
			f.fail(ReasonBadType, "%s is %d bytes long; at most %d", name, len(s), MaxIDLength)
			return ""
		}
		return strings.Clone(s)
	}
	f.fail(ReasonBadType, "%s is %s; expected a string or an integer", name, typeName(v))
	return ""
}

func checkRating(f *Feedback, attrs pcommon.Map) {
	v, ok := get(attrs, AttrRating)
	if !ok {
		f.fail(ReasonMissingRating, "rating is missing; it is required (a string, integer, double or bool)")
		return
	}
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

func checkTypes(f *Feedback, attrs pcommon.Map) {
	for _, k := range []string{AttrCategory, AttrMessage} {
		if v, ok := get(attrs, k); ok && v.Type() != pcommon.ValueTypeStr {
			f.fail(ReasonBadType, "%s is %s; expected a string", k, typeName(v))
		}
	}
	if v, ok := get(attrs, AttrMetadata); ok && v.Type() != pcommon.ValueTypeMap {
		f.fail(ReasonBadType, "metadata is %s; expected a map of attributes", typeName(v))
	}
}

func readID(f *Feedback, attrs pcommon.Map) {
	v, ok := get(attrs, AttrID)
	if !ok {
		return
	}
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

// readSelectors reads span_id and gen_ai.response.id, which pick one
// completion inside a trace when the record names a trace. An empty value
// counts as absent; an all-zero span id is malformed, as an all-zero trace
// id is.
func readSelectors(f *Feedback, attrs pcommon.Map) {
	if v, ok := present(attrs, AttrSpanID); ok {
		if v.Type() != pcommon.ValueTypeStr {
			f.fail(ReasonBadSpanID, "span_id is %s; expected a string of 16 hex digits", typeName(v))
		} else if id, err := ParseSpanID(v.Str()); err != nil {
			f.fail(ReasonBadSpanID, "%s", err)
		} else {
			f.SpanID = id
		}
	}
	if f.Key.Kind != store.ByTrace {
		return
	}
	if v, ok := present(attrs, AttrResponseID); ok {
		// Read as when it is the join key: a string or an integer.
		f.ResponseID = readKeyValue(f, AttrResponseID, v)
	}
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
