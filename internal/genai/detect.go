package genai

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The fields of a completion. Within each field, a lower rank wins:
// "first present wins" in the order of the reference table, whatever the order
// of the attributes on the span.
const (
	fProvider = iota
	fRequestModel
	fResponseModel
	fResponseID
	fInput
	fOutput
	fFinish
	fConversation
	fErrorType
	numFields
)

type slot struct {
	v    pcommon.Value
	rank uint8
	set  bool
}

// scan holds the markers and the best candidate per field while one pass
// reads the attributes. It lives on the stack: reading allocates nothing.
type scan struct {
	f [numFields]slot
	m markers
}

func (s *scan) offer(f int, rank uint8, v pcommon.Value) {
	if !s.f[f].set || rank < s.f[f].rank {
		s.f[f] = slot{v: v, rank: rank, set: true}
	}
}

// visit sorts one attribute into its field. A string switch compiles to a
// length-then-compare search, so each attribute costs a few comparisons.
func (s *scan) visit(k string, v pcommon.Value) bool {
	switch k {
	case "gen_ai.operation.name":
		s.m.setOp(v)
		// The operation decides before any other marker: one that is not a
		// completion (a tool call, an agent, embeddings) ends the pass.
		return s.m.opIsCompletion
	case "gen_ai.system":
		s.m.set(hasSystem, &s.m.system, v)
		s.offer(fProvider, 1, v)
	case "llm.request.type":
		s.m.set(hasReqType, &s.m.reqType, v)
	case "openinference.span.kind":
		s.m.set(hasSpanKind, &s.m.spanKind, v)
	case "gen_ai.provider.name":
		s.offer(fProvider, 0, v)
	case "llm.vendor":
		s.offer(fProvider, 2, v)
	case "llm.provider":
		s.offer(fProvider, 3, v)
	case "llm.system":
		s.offer(fProvider, 4, v)
	case "gen_ai.request.model":
		s.offer(fRequestModel, 0, v)
	case "llm.request.model":
		s.offer(fRequestModel, 1, v)
	case "llm.model_name":
		s.offer(fRequestModel, 2, v)
		s.offer(fResponseModel, 2, v)
	case "gen_ai.response.model":
		s.offer(fResponseModel, 0, v)
	case "llm.response.model":
		s.offer(fResponseModel, 1, v)
	case "gen_ai.response.id":
		s.offer(fResponseID, 0, v)
	case "gen_ai.usage.input_tokens":
		s.offer(fInput, 0, v)
	case "gen_ai.usage.prompt_tokens":
		s.offer(fInput, 1, v)
	case "llm.usage.prompt_tokens":
		s.offer(fInput, 2, v)
	case "llm.token_count.prompt":
		s.offer(fInput, 3, v)
	case "gen_ai.usage.output_tokens":
		s.offer(fOutput, 0, v)
	case "gen_ai.usage.completion_tokens":
		s.offer(fOutput, 1, v)
	case "llm.usage.completion_tokens":
		s.offer(fOutput, 2, v)
	case "llm.token_count.completion":
		s.offer(fOutput, 3, v)
	case "gen_ai.response.finish_reasons":
		s.offer(fFinish, 0, v)
	case "llm.completions.0.finish_reason":
		s.offer(fFinish, 1, v)
	case "gen_ai.conversation.id":
		s.offer(fConversation, 0, v)
	case "session.id":
		s.offer(fConversation, 1, v)
	case "traceloop.association.properties.conversation_id":
		s.offer(fConversation, 2, v)
	case "traceloop.association.properties.session_id":
		s.offer(fConversation, 3, v)
	case "llm.conversation_id":
		s.offer(fConversation, 4, v)
	case "error.type":
		s.offer(fErrorType, 0, v)
	}
	return true
}

// completionOps are the gen_ai.operation.name values a person rates.
// Embeddings, tool calls and agent invocations are not completions.
func isCompletionOp(op string) bool {
	switch strings.ToLower(op) {
	case "chat", "text_completion", "generate_content":
		return true
	}
	return false
}

// markers are the four attributes that say whether a span is an LLM call
// (isMarker lists their keys), each the first of its key on the span. The
// operation, which decides before the others, is read when it is seen.
type markers struct {
	op                        string
	opIsCompletion            bool
	system, reqType, spanKind pcommon.Value
	has                       uint8
}

const (
	hasOp uint8 = 1 << iota
	hasSystem
	hasReqType
	hasSpanKind
)

func (m *markers) visit(k string, v pcommon.Value) bool {
	switch k {
	case "gen_ai.operation.name":
		m.setOp(v)
	case "gen_ai.system":
		m.set(hasSystem, &m.system, v)
	case "llm.request.type":
		m.set(hasReqType, &m.reqType, v)
	case "openinference.span.kind":
		m.set(hasSpanKind, &m.spanKind, v)
	}
	return true
}

// setOp takes the operation, if it is the first on the span.
func (m *markers) setOp(v pcommon.Value) {
	if m.has&hasOp == 0 {
		m.op = v.AsString()
		m.opIsCompletion = isCompletionOp(m.op)
		m.has |= hasOp
	}
}

// set takes the marker bit names, if it is the first of its key.
func (m *markers) set(bit uint8, dst *pcommon.Value, v pcommon.Value) {
	if m.has&bit == 0 {
		*dst, m.has = v, m.has|bit
	}
}

// kind decides whether the span is a completion, by the first marker present:
// gen_ai.operation.name, then gen_ai.system, then llm.request.type, then
// openinference.span.kind. It returns the operation name to report ("" when
// the generation does not name one).
func (m *markers) kind() (op string, ok bool) {
	switch {
	case m.has&hasOp != 0:
		return m.op, m.opIsCompletion
	case m.has&hasSystem != 0:
		return "", true
	case m.has&hasReqType != 0:
		switch strings.ToLower(m.reqType.AsString()) {
		case "chat":
			return "chat", true
		case "completion":
			return "text_completion", true
		}
		return "", false
	case m.has&hasSpanKind != 0:
		return "", strings.EqualFold(m.spanKind.AsString(), "LLM")
	}
	return "", false
}

// NextMarked returns the index of the first span of spans, from from on,
// that carries one of the markers, or spans.Len() when none does: only
// those can be completions (Read tells). It is on the path of every span,
// so the pass over each span's attributes is written out in its loop, as
// plain as reading them, rather than called for each span
// (BenchmarkMarkerPass).
func NextMarked(spans ptrace.SpanSlice, from int) int {
	for k := from; k < spans.Len(); k++ {
		marked := false
		// Range with a literal rather than range over All: its early return
		// costs a check on every attribute.
		spans.At(k).Attributes().Range(func(key string, _ pcommon.Value) bool {
			marked = mayMark(key)
			return !marked
		})
		if marked {
			return k
		}
	}
	return spans.Len()
}

// mayMark rules out almost every key by its length alone, without reading
// it, in one test of a bit rather than a switch's compares; it is small
// enough to be inlined into NextMarked's loop.
func mayMark(k string) bool { return markerLengths>>len(k)&1 != 0 && isMarker(k) }

const markerLengths = 1<<len("gen_ai.operation.name") | 1<<len("gen_ai.system") |
	1<<len("llm.request.type") | 1<<len("openinference.span.kind")

// isMarker reports whether k is one of the markers' keys (markers.visit
// takes the same four; TestMarkerKeys checks they agree). Common keys have
// their lengths (http.response.body.size, db.query.text): a compare with a
// constant over 16 bytes is a call to memequal, so the two long keys are
// told from them by their first 8 bytes first, a compare made inline. On
// freshly decoded spans, where each key is its own small string, the pass
// took 77-82 µs per 1,000 spans, against 80-95 µs with a switch on the
// length and the whole compares (4 interleaved rounds, as in
// BenchmarkMarkerPass/decoded).
func isMarker(k string) bool {
	switch len(k) {
	case len("gen_ai.operation.name"):
		return k[:8] == "gen_ai.o" && k == "gen_ai.operation.name"
	case len("gen_ai.system"):
		return k == "gen_ai.system"
	case len("llm.request.type"):
		return k == "llm.request.type"
	case len("openinference.span.kind"):
		return k[:8] == "openinfe" && k == "openinference.span.kind"
	}
	return false
}

// IsCompletion reports whether the span is an LLM completion, in one pass over
// its attributes and without allocating.
func IsCompletion(span ptrace.Span) bool {
	var m markers
	span.Attributes().Range(m.visit)
	_, ok := m.kind()
	return ok
}

// FromSpan returns the completion summary of span, or false when the span is
// not an LLM completion. res is the span's resource, read for service.name.
// memo, which may be nil, remembers interned labels from span to span and
// batch to batch.
func FromSpan(span ptrace.Span, res pcommon.Resource, memo *Memo) (Completion, bool) {
	var c Completion
	ok := Read(span, res, memo, &c)
	c.ResponseID, c.ConversationID = strings.Clone(c.ResponseID), strings.Clone(c.ConversationID)
	return c, ok
}

// Read is FromSpan without the copies: it fills *out only when span is a
// completion, and out's ResponseID and ConversationID are the span's own
// strings, valid only as long as the span is (the cache copies them into
// its own arrays; copying them here too would be two allocations per
// completion). It reads every attribute the completion may need in the
// same pass as the markers, and stops at an operation that is not a
// completion: the traces path calls it only for spans NextMarked stopped
// at, LLM calls, tool calls and agents, which instrumentations mark with the
// operation first.
func Read(span ptrace.Span, res pcommon.Resource, memo *Memo, out *Completion) bool {
	var s scan
	span.Attributes().Range(s.visit)
	if s.m.has == 0 {
		return false
	}
	op, ok := s.m.kind()
	if !ok {
		return false
	}
	*out = s.completion(span, res, memo, op)
	return true
}

// completion builds the completion the scan found on span.
func (s *scan) completion(span ptrace.Span, res pcommon.Resource, memo *Memo, op string) Completion {
	var c Completion
	c.SpanID = span.SpanID()
	start, end := int64(span.StartTimestamp()), int64(span.EndTimestamp())
	c.EndUnixNano = end
	if end > start && start > 0 {
		c.DurationNano = end - start
	}
	var cut bool
	str := func(f int) string {
		if !s.f[f].set {
			return ""
		}
		v, t := clamp(s.f[f].v.AsString())
		cut = cut || t
		return v
	}
	l := labels{
		operation:     clampedOrEmpty(op, &cut),
		provider:      str(fProvider),
		requestModel:  str(fRequestModel),
		responseModel: str(fResponseModel),
		finishReasons: finishReasons(s.f[fFinish], &cut),
	}
	if v, ok := res.Attributes().Get("service.name"); ok {
		l.serviceName = clampedOrEmpty(v.AsString(), &cut)
	}
	c.labels = memo.intern(l)
	c.ResponseID = str(fResponseID)
	c.ConversationID = str(fConversation)
	if n, ok := s.count(fInput); ok {
		c.InputTokens, c.flags = n, c.flags|flagInputTokens
	}
	if n, ok := s.count(fOutput); ok {
		c.OutputTokens, c.flags = n, c.flags|flagOutputTokens
	}
	if span.Status().Code() == ptrace.StatusCodeError || s.f[fErrorType].set {
		c.flags |= flagError
	}
	if cut {
		c.flags |= flagTruncated
	}
	return c
}

func clampedOrEmpty(v string, cut *bool) string {
	v, t := clamp(v)
	*cut = *cut || t
	return v
}

// clamp cuts s to MaxStringBytes without splitting a UTF-8 sequence.
func clamp(s string) (string, bool) { return Cut(s, MaxStringBytes) }

// Cut shortens s to at most limit bytes without splitting a UTF-8 sequence,
// and reports whether it cut.
func Cut(s string, limit int) (string, bool) {
	if len(s) <= limit {
		return s, false
	}
	i := limit
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i], true
}

// count reads a token count written as int, double or decimal string.
func (s *scan) count(f int) (int64, bool) {
	if !s.f[f].set {
		return 0, false
	}
	v := s.f[f].v
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), v.Int() >= 0
	case pcommon.ValueTypeDouble:
		return wholeCount(v.Double())
	case pcommon.ValueTypeStr:
		t := strings.TrimSpace(v.Str())
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n, n >= 0
		}
		if d, err := strconv.ParseFloat(t, 64); err == nil {
			return wholeCount(d)
		}
	}
	return 0, false
}

// wholeCount is a token count given as a double, truncated toward zero. A
// count that is negative, not finite or past int64 is no count: kept, it
// would come out as nonsense and spoil a conversation's sums.
func wholeCount(d float64) (int64, bool) {
	if !(d >= 0 && d < 1<<63) { // false for NaN too
		return 0, false
	}
	return int64(d), true
}

func finishReasons(sl slot, cut *bool) string {
	if !sl.set {
		return ""
	}
	if sl.v.Type() != pcommon.ValueTypeSlice {
		return clampedOrEmpty(sl.v.AsString(), cut)
	}
	items := sl.v.Slice()
	parts := make([]string, 0, items.Len())
	for i := 0; i < items.Len(); i++ {
		if r := items.At(i).AsString(); r != "" {
			parts = append(parts, r)
		}
	}
	return clampedOrEmpty(strings.Join(parts, finishSep), cut)
}
