package store

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// routedTo is what addressing reads of a match: 56 bytes, where a Match
// with its completion is about 130.
type routedTo struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	conv  ConversationStats
}

// Routed remembers where a router addressed each feedback id, within the
// dedupe window's TTL and bound (a Seen keeps the ids and drops them), so
// that a client's retry is addressed where its first try went. Feedback
// by a conversation, or by a response id or app key value that several
// completions share, names the latest of them: between two tries a newer
// one may pass the router, and the retry, addressed to it, would land on
// another trace, likely another backend, where no dedupe window has seen
// the first. It also remembers the ids it passed on unaddressed (PassOn),
// so that a retry which comes after the completion passed goes on
// unaddressed as well, to the backend that took the first try, rather than
// addressed to another. Not safe for concurrent use.
type Routed struct {
	ids *Seen
	to  map[seenKey]routedTo
}

// NewRouted returns an empty window. ttl is in nanoseconds.
func NewRouted(ttl int64, maxIDs int) *Routed {
	r := &Routed{ids: NewSeen(ttl, maxIDs), to: map[seenKey]routedTo{}}
	r.ids.onDrop = func(k seenKey) { delete(r.to, k) }
	return r
}

// Stick returns the match id was addressed to within scope (a dedupe
// scope: JoinKey.DedupeScope), when it was within the window; otherwise
// it remembers m as that and returns m. Of a remembered match, only what
// addressing reads is kept: the trace, the span id and the conversation's
// sums. It returns false, and remembers nothing, when id was passed on
// unaddressed within the window: so must this try be.
func (r *Routed) Stick(scope pcommon.TraceID, id string, m Match, now int64) (Match, bool) {
	k := key(scope, id)
	if prev, ok := r.to[k]; ok {
		if prev.trace.IsEmpty() {
			return Match{}, false
		}
		return Match{Trace: prev.trace, Comp: genai.Completion{Summary: genai.Summary{SpanID: prev.span}}, Conversation: prev.conv}, true
	}
	r.ids.accept(k, now)
	r.to[k] = routedTo{trace: m.Trace, span: m.Comp.SpanID, conv: m.Conversation}
	return m, true
}

// PassOn remembers that id went on unaddressed within scope, unless the
// window knows where it went already.
func (r *Routed) PassOn(scope pcommon.TraceID, id string, now int64) {
	k := key(scope, id)
	if _, ok := r.to[k]; ok {
		return
	}
	r.ids.accept(k, now)
	r.to[k] = routedTo{} // no trace: unaddressed
}

// Unaddressed reports whether id went on unaddressed within scope, within
// the window.
func (r *Routed) Unaddressed(scope pcommon.TraceID, id string) bool {
	prev, ok := r.to[key(scope, id)]
	return ok && prev.trace.IsEmpty()
}

// Expire forgets the ids addressed a TTL or more before now.
func (r *Routed) Expire(now int64) { r.ids.Expire(now) }

// Len is the number of ids remembered.
func (r *Routed) Len() int { return len(r.to) }

// OnEvict is told how many ids the bound pushed out before their TTL.
func (r *Routed) OnEvict(f func(n int)) { r.ids.OnEvict = f }
