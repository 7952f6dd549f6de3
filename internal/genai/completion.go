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
// unique.Make clones the strings of a struct it interns, so a combination
// keeps nothing of the span it was read from.
type labels struct {
	operation, provider, requestModel, responseModel, serviceName, finishReasons string
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

// Operation is gen_ai.operation.name, or the legacy request type mapped to it.
func (c *Summary) Operation() string { return c.label().operation }

// Provider is gen_ai.provider.name or its older equivalents.
func (c *Summary) Provider() string { return c.label().provider }

// RequestModel is the model the app asked for.
func (c *Summary) RequestModel() string { return c.label().requestModel }

// ResponseModel is the model that answered.
func (c *Summary) ResponseModel() string { return c.label().responseModel }

// ServiceName is the service.name of the resource the span came from.
func (c *Summary) ServiceName() string { return c.label().serviceName }

// HasFinishReasons reports whether the completion has a finish reason.
func (c *Summary) HasFinishReasons() bool { return c.label().finishReasons != "" }

// AppendFinishReasons appends the completion's finish reasons to sl, in
// order.
func (c *Summary) AppendFinishReasons(sl pcommon.Slice) {
	s := c.label().finishReasons
	if s == "" {
		return
	}
	sl.EnsureCapacity(sl.Len() + strings.Count(s, finishSep) + 1)
	for {
		r, rest, more := strings.Cut(s, finishSep)
		sl.AppendEmpty().SetStr(r)
		if !more {
			return
		}
		s = rest
	}
}

// Error reports whether the span ended with status Error or carried error.type.
func (c *Summary) Error() bool { return c.flags&flagError != 0 }

// Truncated reports whether a string copied from the span was cut at MaxStringBytes.
func (c *Summary) Truncated() bool { return c.flags&flagTruncated != 0 }

// Input returns the input (prompt) token count and whether the span had one.
func (c *Summary) Input() (int64, bool) { return c.InputTokens, c.flags&flagInputTokens != 0 }

// Output returns the output (completion) token count and whether the span had one.
func (c *Summary) Output() (int64, bool) { return c.OutputTokens, c.flags&flagOutputTokens != 0 }

// Memo remembers the combinations of labels it has interned, from one batch
// to the next, so that a completion whose combination was seen before costs
// a hash and a compare of its strings rather than unique.Make, a hash-trie
// lookup through a weak pointer on memory the batch has pushed out of the
// CPU caches (a profile of the traces path had interning at a third of
// reading a completion). It is set-associative, memoWays combinations per
// set, so that the hundred or so combinations of a busy collector seldom
// push each other out; each slot keeps its combination's handle and the
// handle's own strings, so a Memo holds nothing of any batch and may be
// kept as long as its owner likes. Not safe for concurrent use; the zero
// value is ready, and a nil *Memo interns every combination anew.
type Memo struct {
	sets [memoSets]struct {
		ways [memoWays]memoSlot
		next uint8 // the way the next combination new to the set replaces
	}
}

type memoSlot struct {
	l labels
	h unique.Handle[labels]
}

const (
	memoSetBits = 6
	memoSets    = 1 << memoSetBits
	memoWays    = 4
)

// setOf picks the memo set of a combination from the lengths of its strings
// and two bytes of each, rather than a hash of every byte (maphash over the
// six strings was two fifths of interning a combination seen before): the
// set only narrows the search, the ways are compared whole, so combinations
// that share a set cost a miss at worst, as combinations new to the memo
// always do. (The last eight bytes of each as a word spread names such as
// worker-12 better, but read 8 to 14% slower in BenchmarkRead.)
func (l *labels) setOf() uint64 {
	h := uint64(0)
	for _, s := range [...]string{l.operation, l.provider, l.requestModel, l.responseModel, l.serviceName, l.finishReasons} {
		h = h*31 + uint64(len(s))
		if len(s) > 0 {
			h = h*31 + (uint64(s[len(s)-1])<<8 ^ uint64(s[len(s)/2]))
		}
	}
	return h * 0x9e3779b97f4a7c15 >> (64 - memoSetBits)
}

// intern is internLabels, remembered.
func (m *Memo) intern(l labels) unique.Handle[labels] {
	if m == nil || l == (labels{}) {
		return internLabels(l)
	}
	set := &m.sets[l.setOf()]
	for i := range set.ways {
		if w := &set.ways[i]; w.l == l { // an empty way's zero labels are not l
			return w.h
		}
	}
	w := &set.ways[set.next%memoWays]
	set.next++
	w.h = unique.Make(l)
	w.l = w.h.Value() // the handle's copies, not l's: they may be the span's
	return w.h
}
