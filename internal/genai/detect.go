package genai

import (
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The naming generations, newest first. Within each field, a lower rank wins:
// "first present wins" in the order of the reference table, whatever the order
// of the attributes on the span.
const (
	fOperation   = iota // gen_ai.operation.name
	fSystem             // gen_ai.system (older semconv marker)
	fRequestType        // llm.request.type (OpenLLMetry)
	fSpanKind           // openinference.span.kind
	fProvider
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

// scan holds the best candidate per field while one pass reads the attributes.
// It lives on the stack: the non-completion path allocates nothing.
type scan [numFields]slot

func (s *scan) offer(f int, rank uint8, v pcommon.Value) {
	if !s[f].set || rank < s[f].rank {
		s[f] = slot{v: v, rank: rank, set: true}
	}
}

// visit sorts one attribute into its field. A string switch compiles to a
// length-then-compare search, so each attribute costs a few comparisons.
func (s *scan) visit(k string, v pcommon.Value) bool {
	switch k {
	case "gen_ai.operation.name":
		s.offer(fOperation, 0, v)
	case "gen_ai.system":
		s.offer(fSystem, 0, v)
		s.offer(fProvider, 1, v)
	case "llm.request.type":
		s.offer(fRequestType, 0, v)
	case "openinference.span.kind":
		s.offer(fSpanKind, 0, v)
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

// kind decides whether the span is a completion, by the first marker present:
// gen_ai.operation.name, then gen_ai.system, then llm.request.type, then
// openinference.span.kind. It returns the operation name to report ("" when
// the generation does not name one).
func (s *scan) kind() (op string, ok bool) {
	switch {
	case s[fOperation].set:
		op = s[fOperation].v.AsString()
		return op, isCompletionOp(op)
	case s[fSystem].set:
		return "", true
	case s[fRequestType].set:
		switch strings.ToLower(s[fRequestType].v.AsString()) {
		case "chat":
			return "chat", true
		case "completion":
			return "text_completion", true
		}
		return "", false
	case s[fSpanKind].set:
		return "", strings.EqualFold(s[fSpanKind].v.AsString(), "LLM")
	}
	return "", false
}

// IsCompletion reports whether the span is an LLM completion, in one pass over
// its attributes and without allocating.
func IsCompletion(span ptrace.Span) bool {
	var s scan
	span.Attributes().Range(s.visit)
	_, ok := s.kind()
	return ok
}

// FromSpan returns the completion summary of span, or false when the span is
// not an LLM completion. res is the span's resource, read for service.name.
func FromSpan(span ptrace.Span, res pcommon.Resource) (Completion, bool) {
	var s scan
	span.Attributes().Range(s.visit)
	op, ok := s.kind()
	if !ok {
		return Completion{}, false
	}
	c := Completion{SpanID: span.SpanID()}
	start, end := int64(span.StartTimestamp()), int64(span.EndTimestamp())
	c.EndUnixNano = end
	if end > start && start > 0 {
		c.DurationNano = end - start
	}
	var cut bool
	str := func(f int) string {
		if !s[f].set {
			return ""
		}
		v, t := clamp(s[f].v.AsString())
		cut = cut || t
		return v
	}
	c.operation = intern(clampedOrEmpty(op, &cut))
	c.provider = intern(str(fProvider))
	c.requestModel = intern(str(fRequestModel))
	c.responseModel = intern(str(fResponseModel))
	if v, ok := res.Attributes().Get("service.name"); ok {
		c.serviceName = intern(clampedOrEmpty(v.AsString(), &cut))
	}
	c.ResponseID = strings.Clone(str(fResponseID))
	c.ConversationID = strings.Clone(str(fConversation))
	c.finishReasons = intern(finishReasons(s[fFinish], &cut))
	if n, ok := s.count(fInput); ok {
		c.InputTokens, c.flags = n, c.flags|flagInputTokens
	}
	if n, ok := s.count(fOutput); ok {
		c.OutputTokens, c.flags = n, c.flags|flagOutputTokens
	}
	if span.Status().Code() == ptrace.StatusCodeError || s[fErrorType].set {
		c.flags |= flagError
	}
	if cut {
		c.flags |= flagTruncated
	}
	return c, true
}

func clampedOrEmpty(v string, cut *bool) string {
	v, t := clamp(v)
	*cut = *cut || t
	return v
}

// clamp cuts s to MaxStringBytes without splitting a UTF-8 sequence.
func clamp(s string) (string, bool) {
	if len(s) <= MaxStringBytes {
		return s, false
	}
	i := MaxStringBytes
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i], true
}

// count reads a token count written as int, double or decimal string.
func (s *scan) count(f int) (int64, bool) {
	if !s[f].set {
		return 0, false
	}
	v := s[f].v
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		return int64(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	}
	return 0, false
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
