package genai

import (
	"strings"
	"unique"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxStringBytes caps every string copied out of a span, so that a span with a
// megabyte model name cannot make one cache entry large.
const MaxStringBytes = 256

// finishSep joins finish reasons into one interned string; it cannot occur in
// the short reason tokens instrumentations write.
const finishSep = "\x1f"

// Completion is what the cache keeps of one LLM completion span. It holds no
// pdata: low-cardinality strings are interned (unique.Handle is one pointer,
// shared by every completion of the same model), the rest are copies.
type Completion struct {
	SpanID         pcommon.SpanID
	EndUnixNano    int64
	DurationNano   int64
	InputTokens    int64
	OutputTokens   int64
	operation      unique.Handle[string]
	provider       unique.Handle[string]
	requestModel   unique.Handle[string]
	responseModel  unique.Handle[string]
	serviceName    unique.Handle[string]
	finishReasons  unique.Handle[string]
	ResponseID     string
	ConversationID string
	flags          uint8
}

const (
	flagError uint8 = 1 << iota
	flagInputTokens
	flagOutputTokens
	flagTruncated
)

func handleValue(h unique.Handle[string]) string {
	if h == (unique.Handle[string]{}) {
		return ""
	}
	return h.Value()
}

func intern(s string) unique.Handle[string] {
	if s == "" {
		return unique.Handle[string]{}
	}
	return unique.Make(s)
}

// Operation is gen_ai.operation.name, or the legacy request type mapped to it.
func (c *Completion) Operation() string { return handleValue(c.operation) }

// Provider is gen_ai.provider.name or its older equivalents.
func (c *Completion) Provider() string { return handleValue(c.provider) }

// RequestModel is the model the app asked for.
func (c *Completion) RequestModel() string { return handleValue(c.requestModel) }

// ResponseModel is the model that answered.
func (c *Completion) ResponseModel() string { return handleValue(c.responseModel) }

// ServiceName is the service.name of the resource the span came from.
func (c *Completion) ServiceName() string { return handleValue(c.serviceName) }

// FinishReasons lists gen_ai.response.finish_reasons, nil when none were recorded.
func (c *Completion) FinishReasons() []string {
	s := handleValue(c.finishReasons)
	if s == "" {
		return nil
	}
	return strings.Split(s, finishSep)
}

// Error reports whether the span ended with status Error or carried error.type.
func (c *Completion) Error() bool { return c.flags&flagError != 0 }

// Truncated reports whether a string copied from the span was cut at MaxStringBytes.
func (c *Completion) Truncated() bool { return c.flags&flagTruncated != 0 }

// Input returns the input (prompt) token count and whether the span had one.
func (c *Completion) Input() (int64, bool) { return c.InputTokens, c.flags&flagInputTokens != 0 }

// Output returns the output (completion) token count and whether the span had one.
func (c *Completion) Output() (int64, bool) { return c.OutputTokens, c.flags&flagOutputTokens != 0 }

// Memo remembers the last few interned values of each low-cardinality
// field. The spans of one batch share a handful of models, providers and
// services, so comparing with a few strings replaces most of unique.Make's
// hash-trie lookups. A Memo belongs to one call (it may point into that
// call's pdata) and is not safe for concurrent use.
type Memo struct {
	last [numMemo][memoSize]struct {
		s string
		h unique.Handle[string]
	}
	next [numMemo]uint8
}

const (
	mOperation = iota
	mProvider
	mRequestModel
	mResponseModel
	mServiceName
	mFinishReasons
	numMemo
	memoSize = 8
)

func (m *Memo) intern(field int, s string) unique.Handle[string] {
	if s == "" {
		return unique.Handle[string]{}
	}
	slots := &m.last[field]
	for i := range slots {
		if len(slots[i].s) == len(s) && slots[i].s == s && slots[i].h != (unique.Handle[string]{}) {
			return slots[i].h
		}
	}
	h := unique.Make(s)
	i := m.next[field] % memoSize
	slots[i].s, slots[i].h = s, h
	m.next[field]++
	return h
}
