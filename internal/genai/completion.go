package genai

import (
	"hash/maphash"
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
// pdata: low-cardinality strings are interned, the rest are copies.
type Completion struct {
	Summary
	ResponseID     string
	ConversationID string
}

// Summary is a completion without its two per-call ids, which the cache
// keeps inline beside it: 56 bytes and one pointer.
type Summary struct {
	SpanID       pcommon.SpanID
	EndUnixNano  int64
	DurationNano int64
	InputTokens  int64
	OutputTokens int64
	labels       unique.Handle[labels]
	flags        uint8
}

// labels are a completion's low-cardinality strings, interned together: the
// completions of a collector come in a few combinations of operation,
// provider, models, service and finish reasons, so a cached completion
// holds one handle (a pointer) to its combination rather than six.
type labels struct {
	operation, provider, requestModel, responseModel, serviceName, finishReasons unique.Handle[string]
}

func (s *Summary) label() labels {
	if s.labels == (unique.Handle[labels]{}) {
		return labels{}
	}
	return s.labels.Value()
}

func internLabels(l labels) unique.Handle[labels] {
	if l == (labels{}) {
		return unique.Handle[labels]{}
	}
	return unique.Make(l)
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
func (c *Summary) Operation() string { return handleValue(c.label().operation) }

// Provider is gen_ai.provider.name or its older equivalents.
func (c *Summary) Provider() string { return handleValue(c.label().provider) }

// RequestModel is the model the app asked for.
func (c *Summary) RequestModel() string { return handleValue(c.label().requestModel) }

// ResponseModel is the model that answered.
func (c *Summary) ResponseModel() string { return handleValue(c.label().responseModel) }

// ServiceName is the service.name of the resource the span came from.
func (c *Summary) ServiceName() string { return handleValue(c.label().serviceName) }

// FinishReasons lists gen_ai.response.finish_reasons, nil when none were recorded.
func (c *Summary) FinishReasons() []string {
	s := handleValue(c.label().finishReasons)
	if s == "" {
		return nil
	}
	return strings.Split(s, finishSep)
}

// Error reports whether the span ended with status Error or carried error.type.
func (c *Summary) Error() bool { return c.flags&flagError != 0 }

// Truncated reports whether a string copied from the span was cut at MaxStringBytes.
func (c *Summary) Truncated() bool { return c.flags&flagTruncated != 0 }

// Input returns the input (prompt) token count and whether the span had one.
func (c *Summary) Input() (int64, bool) { return c.InputTokens, c.flags&flagInputTokens != 0 }

// Output returns the output (completion) token count and whether the span had one.
func (c *Summary) Output() (int64, bool) { return c.OutputTokens, c.flags&flagOutputTokens != 0 }

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
	// Labels, when set, interns combinations of labels; it outlives the
	// Memo (see LabelCache).
	Labels *LabelCache
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

// labels interns a combination of labels.
func (m *Memo) labels(l labels) unique.Handle[labels] {
	if m.Labels == nil || l == (labels{}) {
		return internLabels(l)
	}
	return m.Labels.intern(l)
}

// LabelCache remembers the interned combinations of labels it has seen, from
// one batch to the next: a busy collector sees more combinations in a batch
// than a Memo could compare one by one (models, providers, services and
// finish reasons multiply), and unique.Make of a combination, a hash-trie
// lookup through a weak pointer on memory the batch has pushed out of the
// CPU caches, costs far more than a hash and a compare (a profile of the
// load test had it at a third of reading the completions). Direct-mapped,
// labelSlots entries; it holds handles only, nothing of any batch. Not safe
// for concurrent use; the zero value is ready.
type LabelCache struct {
	seed  maphash.Seed
	slots [labelSlots]struct {
		l labels
		h unique.Handle[labels]
	}
}

const labelSlots = 256

// intern is internLabels for l, which is not empty: an empty slot's zero
// labels never match it.
func (lc *LabelCache) intern(l labels) unique.Handle[labels] {
	if lc.seed == (maphash.Seed{}) {
		lc.seed = maphash.MakeSeed()
	}
	s := &lc.slots[maphash.Comparable(lc.seed, l)%labelSlots]
	if s.l != l {
		s.l, s.h = l, unique.Make(l)
	}
	return s.h
}
