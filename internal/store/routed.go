package store

import (
	"encoding/binary"

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
// the first. It also remembers the ids it passed on unaddressed (Stick with
// no match), so that a retry which comes after the completion passed goes on
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

// Stick returns where id went within scope (a dedupe scope:
// JoinKey.DedupeScope) when the window knows it; otherwise it remembers m
// as that and returns m. The zero m, or a remembered route without a trace,
// is unaddressed: Stick reports whether what it returns is an address. Of
// a remembered match, only what addressing reads is kept: the trace, the
// span id and the conversation's sums.
func (r *Routed) Stick(scope pcommon.TraceID, id string, m Match, now int64) (Match, bool) {
	k := key(scope, id)
	if prev, ok := r.to[k]; ok {
		m = Match{Trace: prev.trace, Comp: genai.Completion{Summary: genai.Summary{SpanID: prev.span}}, Conversation: prev.conv}
	} else {
		r.ids.accept(k, now)
		r.to[k] = routedTo{trace: m.Trace, span: m.Comp.SpanID, conv: m.Conversation}
	}
	return m, !m.Trace.IsEmpty()
}

// Knows reports whether the window knows where id went within scope.
func (r *Routed) Knows(scope pcommon.TraceID, id string) bool {
	_, ok := r.to[key(scope, id)]
	return ok
}

// Expire forgets the ids addressed a TTL or more before now.
func (r *Routed) Expire(now int64) { r.ids.Expire(now) }

// Len is the number of ids remembered.
func (r *Routed) Len() int { return len(r.to) }

// OnEvict is told how many ids the bound pushed out before their TTL.
func (r *Routed) OnEvict(f func(n int)) { r.ids.OnEvict = f }

// routedVersion heads a Routed snapshot.
const routedVersion byte = 1

// MarshalSnapshot encodes the window, oldest first: each id's key, when it
// was remembered, and where it went (no trace: unaddressed).
func (r *Routed) MarshalSnapshot() []byte {
	s := r.ids
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(s.set)*64)
	b = append(b, routedVersion)
	b = binary.AppendUvarint(b, uint64(len(s.set)))
	for _, it := range s.queue[s.first:] {
		if !s.live(it) {
			continue
		}
		to := r.to[it.key]
		b = appendSeenItem(b, it)
		b = append(b, to.trace[:]...)
		b = append(b, to.span[:]...)
		b = binary.AppendVarint(b, to.conv.Completions)
		b = binary.AppendVarint(b, to.conv.InputTokens)
		b = binary.AppendVarint(b, to.conv.OutputTokens)
	}
	return b
}

// RestoreSnapshot remembers again the ids of a snapshot that have not
// expired by now, within the window's bound. It returns how many it
// restored.
func (r *Routed) RestoreSnapshot(b []byte, now int64) (int, error) {
	return restoreSnapshot(r.ids, b, routedVersion, now, readRoutedTo, func(k seenKey, to routedTo) { r.to[k] = to })
}

// readRoutedTo reads where an id went, as MarshalSnapshot wrote it.
func readRoutedTo(b []byte) (routedTo, []byte, error) {
	var to routedTo
	if len(b) < 24 {
		return to, nil, errCorrupt
	}
	copy(to.trace[:], b)
	copy(to.span[:], b[16:])
	b = b[24:]
	for _, dst := range []*int64{&to.conv.Completions, &to.conv.InputTokens, &to.conv.OutputTokens} {
		v, k := binary.Varint(b)
		if k <= 0 {
			return to, nil, errCorrupt
		}
		*dst, b = v, b[k:]
	}
	return to, b, nil
}
