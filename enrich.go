package llmfeedbackprocessor

import (
	"encoding/hex"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/lbkey"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// Output names. The feedback fields keep New Relic's names; the completion's
// fields use the current GenAI semantic conventions whatever generation the
// span was written in.
const (
	eventName             = "LlmFeedbackMessage"
	evaluationEventName   = "gen_ai.evaluation.result"
	attrNewRelicEventType = "newrelic.event.type"
	attrCorrelation       = "llm.feedback.correlation"
	attrError             = "llm.feedback.error"
	attrDelay             = "llm.feedback.delay_ms"
	attrServiceName       = "llm.completion.service.name"
	attrDuration          = "duration"
	attrErrorFlag         = "error"
	attrJoinKey           = feedback.AttrJoinKey
	attrConvCompletions   = "llm.conversation.completions"
	attrConvInputTokens   = "llm.conversation.usage.input_tokens"
	attrConvOutputTokens  = "llm.conversation.usage.output_tokens"

	correlationMatched   = "matched"
	correlationUnmatched = "unmatched"
	correlationInvalid   = "invalid"
)

// baseAttributes is how many attributes base may add.
const baseAttributes = 4

// reserved are New Relic's built-in feedback keys: they win over metadata
// keys of the same name even when the app left them out.
// Metadata never sets a selector or a key this processor writes either.
var reserved = map[string]bool{
	feedback.AttrID: true, feedback.AttrTraceID: true, feedback.AttrRating: true,
	feedback.AttrCategory: true, feedback.AttrMessage: true, feedback.AttrIngestSource: true,
	feedback.AttrSpanID: true, feedback.AttrResponseID: true, feedback.AttrMetadata: true,
	attrNewRelicEventType: true, attrCorrelation: true, attrError: true, attrDelay: true,
	attrServiceName: true, attrDuration: true, attrErrorFlag: true, attrJoinKey: true,
	attrConvCompletions: true, attrConvInputTokens: true, attrConvOutputTokens: true,
	"gen_ai.operation.name": true, "gen_ai.provider.name": true, "gen_ai.request.model": true,
	"gen_ai.response.model": true, "gen_ai.usage.input_tokens": true, "gen_ai.usage.output_tokens": true,
	"gen_ai.response.finish_reasons": true, "gen_ai.conversation.id": true,
}

// idKeys are never cut on a valid record: a cut id would no longer be the
// one the dedupe window, storage and the join know. The parser bounds each
// of them (feedback.MaxIDLength); on an invalid record they are cut like
// any string.
var idKeys = map[string]bool{
	feedback.AttrID: true, feedback.AttrTraceID: true, feedback.AttrSpanID: true, feedback.AttrResponseID: true,
}

// maxFlattenDepth is how many levels of nested metadata are flattened into
// dotted keys; a map deeper than that stays one value.
const maxFlattenDepth = 8

// maxFlatKey bounds a flattened metadata key, as MaxIDLength bounds ids.
const maxFlatKey = feedback.MaxIDLength

// ownWords are the attributes whose values are the processor's own words
// (or a join::keys name), never cut once it wrote them: a backend matches
// on them whole.
var ownWords = map[string]bool{attrCorrelation: true, attrNewRelicEventType: true, attrJoinKey: true}

// enricher rewrites a feedback record in place into an LlmFeedbackMessage.
type enricher struct {
	cfg *Config
	// truncated is told how many values a limit cut, and which limit.
	truncated func(reason string, n int)
}

// base does what every output record gets: the record normalised, the event
// name, the normalised ids, the New Relic event type and the correlation.
// room is how many attributes the caller adds after it.
func (e *enricher) base(lr plog.LogRecord, f *feedback.Feedback, correlation string, room int) {
	blank := e.normalize(lr, f.Valid(), room+baseAttributes)
	lr.SetEventName(eventName)
	if lr.Timestamp() == 0 {
		lr.SetTimestamp(lr.ObservedTimestamp())
	}
	attrs := lr.Attributes()
	if blank {
		for _, k := range []string{feedback.AttrCategory, feedback.AttrMessage, feedback.AttrIngestSource} {
			if v, ok := attrs.Get(k); ok && isBlank(v) {
				attrs.Remove(k) // omitted rather than empty
			}
		}
	}
	if f.Valid() {
		setStr(attrs, feedback.AttrID, f.ID)
		// A routing tier that found the completion by another key says so.
		if v, ok := attrs.GetOrPutEmpty(attrJoinKey); !ok || f.Key.Kind != store.ByTrace || v.Str() == "" {
			setValue(v, f.Key.Name)
		}
	}
	if e.cfg.Output.NewRelicEventType {
		attrs.PutStr(attrNewRelicEventType, eventName)
	}
	attrs.PutStr(attrCorrelation, correlation)
}

// normalize flattens the metadata (a nested map into dotted keys; keys
// already on the record and the built-in keys win; at most
// max_metadata_keys) and cuts long strings and bytes, at any depth, but not
// the ids of a valid record (the parser bounds them). It is idempotent, and
// runs before a record is held back, so a held record costs no more memory
// than the limits allow. The attributes grow once, for the metadata and
// room more; it reports whether an attribute is an empty string.
func (e *enricher) normalize(lr plog.LogRecord, valid bool, room int) (blank bool) {
	attrs := lr.Attributes()
	md, ok := attrs.Get(feedback.AttrMetadata)
	ok = ok && md.Type() == pcommon.ValueTypeMap
	if ok {
		room += md.Map().Len()
	}
	attrs.EnsureCapacity(attrs.Len() + room)
	if ok {
		flat := pcommon.NewMap()
		md.Map().MoveTo(flat)
		attrs.Remove(feedback.AttrMetadata)
		kept := 0
		e.flatten(attrs, flat, "", 1, &kept)
	}
	blank = e.truncate(attrs, valid, false)
	if n := cutValue(lr.Body(), e.cfg.MaxAttributeLength); n > 0 {
		e.truncated(truncatedAttributeLength, n)
	}
	return blank
}

// flatten moves md's entries to attrs under prefix and their key, a
// non-empty map's entries under its key and a dot, to maxFlattenDepth
// levels (a map deeper than that is kept as one value). A flattened key
// longer than maxFlatKey bytes is dropped, counted as a cut value: keys
// are never cut, and a record must stay bounded however deep its metadata.
func (e *enricher) flatten(attrs, md pcommon.Map, prefix string, depth int, kept *int) {
	md.Range(func(k string, v pcommon.Value) bool {
		key := prefix + k
		if len(key) > maxFlatKey {
			e.truncated(truncatedAttributeLength, 1)
			return true
		}
		if v.Type() == pcommon.ValueTypeMap && v.Map().Len() > 0 && depth < maxFlattenDepth {
			e.flatten(attrs, v.Map(), key+".", depth+1, kept)
			return true
		}
		if reserved[key] {
			return true
		}
		if *kept >= e.cfg.Feedback.MaxMetadataKeys {
			if _, exists := attrs.Get(key); !exists {
				e.truncated(truncatedMetadataKeys, 1)
			}
			return true
		}
		// One pass over attrs: a key already there is left as it is.
		if dst, exists := attrs.GetOrPutEmpty(key); !exists {
			v.MoveTo(dst)
			*kept++
		}
		return true
	})
}

// truncate cuts string and bytes values longer than max_attribute_length,
// inside maps and arrays too, strings at a UTF-8 boundary, so one pasted
// essay cannot exceed what backends accept. The ids of a valid record are
// cut only past the parser's bound (a blank selector, which the parser
// ignored, has none), and ownWords only when they came in on the record.
// It reports whether an attribute is an empty string.
func (e *enricher) truncate(attrs pcommon.Map, keepIDs, keepOwn bool) (blank bool) {
	limit, n := e.cfg.MaxAttributeLength, 0
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch {
		case fits(v, limit): // most values: no key looked up
			blank = blank || isBlank(v)
		case keepOwn && ownWords[k]:
		case keepIDs && idKeys[k]:
			n += cutValue(v, max(limit, feedback.MaxIDLength))
		default:
			n += cutValue(v, limit)
		}
		return true
	})
	if n > 0 {
		e.truncated(truncatedAttributeLength, n)
	}
	return blank
}

// isBlank reports whether v is the empty string.
func isBlank(v pcommon.Value) bool { return v.Type() == pcommon.ValueTypeStr && v.Str() == "" }

// fits reports, without looking inside maps and arrays, that v needs no
// cut at limit (nor at any larger one).
func fits(v pcommon.Value, limit int) bool {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return len(v.Str()) <= limit
	case pcommon.ValueTypeBytes:
		return v.Bytes().Len() <= limit
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		return false
	}
	return true
}

// cutValue cuts v, or the values inside it, to limit bytes, and returns how
// many it cut.
func cutValue(v pcommon.Value, limit int) int {
	n := 0
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if len(v.Str()) > limit {
			v.SetStr(cut(v.Str(), limit))
			n++
		}
	case pcommon.ValueTypeBytes:
		if v.Bytes().Len() > limit {
			kept := v.Bytes().AsRaw()[:limit] // a copy
			v.SetEmptyBytes().FromRaw(kept)
			n++
		}
	case pcommon.ValueTypeMap:
		v.Map().Range(func(_ string, inner pcommon.Value) bool {
			n += cutValue(inner, limit)
			return true
		})
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			n += cutValue(v.Slice().At(i), limit)
		}
	}
	return n
}

// cut shortens s to at most limit bytes without splitting a UTF-8 sequence.
func cut(s string, limit int) string {
	s, _ = genai.Cut(s, limit)
	return s
}

// markInvalid marks a record that cannot be joined, with what is wrong.
func (e *enricher) markInvalid(lr plog.LogRecord, f *feedback.Feedback) {
	dropRoutingKey(lr)
	lr.Attributes().PutStr(attrError, f.Problem)
	e.base(lr, f, correlationInvalid, 1)
}

// markUnmatched marks valid feedback whose completion was not found. A record
// that names a trace is placed in it, so trace-id routing and backends find
// it next to that trace's spans; one that named its completion by another
// key keeps its own TraceID (unless it is a router's routing key, which no
// trace has) and gets no trace_id.
func (e *enricher) markUnmatched(lr plog.LogRecord, f *feedback.Feedback) {
	if f.Key.Kind != store.ByTrace {
		dropRoutingKey(lr)
	} else {
		lr.SetTraceID(f.TraceID)
		lr.SetSpanID(f.SpanID)
		if !f.SpanID.IsEmpty() {
			lr.Attributes().PutStr(feedback.AttrSpanID, f.SpanID.String())
		} else if f.Valid() {
			lr.Attributes().Remove(feedback.AttrSpanID) // blank: no span named
		}
	}
	e.base(lr, f, correlationUnmatched, 2)
	if f.Key.Kind == store.ByTrace {
		lr.Attributes().PutStr(feedback.AttrTraceID, f.TraceID.String())
	} else {
		lr.Attributes().Remove(feedback.AttrTraceID)
	}
}

// dropRoutingKey clears the record's TraceID when it is the routing key a
// router gave a record it passed on unaddressed (see route.go): no trace
// has that id.
func dropRoutingKey(lr plog.LogRecord) {
	if lbkey.IsRoutingKey(lr.TraceID()) {
		lr.SetTraceID(pcommon.TraceID{})
	}
}

// markMatched writes the completion's fields and parents the record to its span.
// It returns the feedback delay in milliseconds.
func (e *enricher) markMatched(lr plog.LogRecord, f *feedback.Feedback, m *store.Match, now int64) int64 {
	c := &m.Comp
	lr.SetTraceID(m.Trace)
	lr.SetSpanID(c.SpanID)
	attrs := lr.Attributes()
	// The metadata must not shadow the completion's fields: flatten first.
	// Room for the ~16 attributes written below, so the slice grows once.
	e.base(lr, f, correlationMatched, 16)
	var hexID [32]byte
	hex.Encode(hexID[:], m.Trace[:])
	setStr(attrs, feedback.AttrTraceID, hexID[:])
	hex.Encode(hexID[:16], c.SpanID[:])
	setStr(attrs, feedback.AttrSpanID, hexID[:16])
	putStr(attrs, "gen_ai.operation.name", c.Operation())
	putStr(attrs, "gen_ai.provider.name", c.Provider())
	putStr(attrs, "gen_ai.request.model", c.RequestModel())
	putStr(attrs, "gen_ai.response.model", c.ResponseModel())
	putStr(attrs, feedback.AttrResponseID, c.ResponseID)
	if n, ok := c.Input(); ok {
		attrs.PutInt("gen_ai.usage.input_tokens", n)
	}
	if n, ok := c.Output(); ok {
		attrs.PutInt("gen_ai.usage.output_tokens", n)
	}
	if c.HasFinishReasons() {
		c.AppendFinishReasons(attrs.PutEmptySlice("gen_ai.response.finish_reasons"))
	}
	putStr(attrs, "gen_ai.conversation.id", c.ConversationID)
	if f.Key.Kind == store.ByConversation {
		attrs.PutStr("gen_ai.conversation.id", f.Key.Value)
		attrs.PutInt(attrConvCompletions, m.Conversation.Completions)
		attrs.PutInt(attrConvInputTokens, m.Conversation.InputTokens)
		attrs.PutInt(attrConvOutputTokens, m.Conversation.OutputTokens)
	}
	if c.DurationNano > 0 {
		attrs.PutDouble(attrDuration, float64(c.DurationNano)/1e6)
	}
	attrs.PutBool(attrErrorFlag, c.Error())
	putStr(attrs, attrServiceName, c.ServiceName())
	at := f.Time
	if at == 0 {
		at = now
	}
	var delay int64
	if c.EndUnixNano > 0 {
		delay = (at - c.EndUnixNano) / 1e6
		attrs.PutInt(attrDelay, delay)
	}
	if e.cfg.MaxAttributeLength < genai.MaxStringBytes {
		e.truncate(attrs, true, true) // the completion's strings too, when the limit is below theirs
	}
	return delay
}

// setStr writes s to attribute k unless k already holds that string: an
// app that wrote the id it is about as the processor writes it (the usual
// case for trace_id and id) costs no new value.
func setStr[S string | []byte](m pcommon.Map, k string, s S) {
	v, _ := m.GetOrPutEmpty(k)
	setValue(v, s)
}

// setValue makes v the string s, unless it is that already.
func setValue[S string | []byte](v pcommon.Value, s S) {
	if v.Type() != pcommon.ValueTypeStr || v.Str() != string(s) {
		v.SetStr(string(s))
	}
}

func putStr(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

// evaluation appends the OpenTelemetry gen_ai.evaluation.result event for a
// matched feedback record to the same scope, parented to the same span.
func evaluation(dst plog.LogRecordSlice, fb plog.LogRecord, c *genai.Completion) {
	ev := dst.AppendEmpty()
	ev.SetEventName(evaluationEventName)
	ev.SetTimestamp(fb.Timestamp())
	ev.SetObservedTimestamp(fb.ObservedTimestamp())
	ev.SetTraceID(fb.TraceID())
	ev.SetSpanID(fb.SpanID())
	attrs := ev.Attributes()
	attrs.PutStr("gen_ai.evaluation.name", "user_feedback")
	src := fb.Attributes()
	if r, ok := src.Get(feedback.AttrRating); ok {
		switch r.Type() {
		case pcommon.ValueTypeInt:
			attrs.PutDouble("gen_ai.evaluation.score.value", float64(r.Int()))
		case pcommon.ValueTypeDouble:
			attrs.PutDouble("gen_ai.evaluation.score.value", r.Double())
		case pcommon.ValueTypeBool:
			v := 0.0
			if r.Bool() {
				v = 1
			}
			attrs.PutDouble("gen_ai.evaluation.score.value", v)
			attrs.PutStr("gen_ai.evaluation.score.label", r.AsString())
		default:
			attrs.PutStr("gen_ai.evaluation.score.label", r.AsString())
		}
	}
	if m, ok := src.Get(feedback.AttrMessage); ok && m.Str() != "" {
		attrs.PutStr("gen_ai.evaluation.explanation", m.Str())
	}
	putStr(attrs, feedback.AttrResponseID, c.ResponseID)
	if id, ok := src.Get(feedback.AttrID); ok {
		attrs.PutStr("llm.feedback.id", id.AsString())
	}
}
