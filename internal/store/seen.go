package store

import (
	"hash/maphash"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

var seed = maphash.MakeSeed()

type seenKey struct {
	trace pcommon.TraceID
	id    uint64
}

type seenItem struct {
	key seenKey
	at  int64
}

// Seen remembers which feedback ids were already accepted for a trace, for a
// TTL and up to a bound, so a double-clicked rating is emitted once. Ids are
// kept as 64-bit hashes: 24 bytes a key whatever the id's length.
// Not safe for concurrent use.
type Seen struct {
	ttl   int64
	max   int
	set   map[seenKey]int64 // the time of the key's live slot in queue
	queue []seenItem        // insertion order, which is also expiry order
	first int
	// OnEvict is told how many ids the bound pushed out before their TTL.
	OnEvict func(n int)
}

// NewSeen returns an empty set. ttl is in nanoseconds.
func NewSeen(ttl int64, maxIDs int) *Seen {
	return &Seen{ttl: ttl, max: maxIDs, set: make(map[seenKey]int64), OnEvict: func(int) {}}
}

// Len is the number of ids remembered.
func (s *Seen) Len() int { return len(s.set) }

func key(trace pcommon.TraceID, id string) seenKey {
	return seenKey{trace: trace, id: maphash.String(seed, id)}
}

// Accept records id for trace and reports true, or reports false when it was
// already accepted within the TTL.
func (s *Seen) Accept(trace pcommon.TraceID, id string, now int64) bool {
	k := key(trace, id)
	if _, dup := s.set[k]; dup {
		return false
	}
	evicted := 0
	for len(s.set) >= s.max && s.first < len(s.queue) {
		if s.pop() {
			evicted++
		}
	}
	if evicted > 0 {
		s.OnEvict(evicted)
	}
	s.set[k] = now
	s.queue = append(s.queue, seenItem{key: k, at: now})
	return true
}

// Expire forgets the ids accepted a TTL or more before now.
func (s *Seen) Expire(now int64) {
	for s.first < len(s.queue) && now-s.queue[s.first].at >= s.ttl {
		s.pop()
	}
}

// pop drops the front queue slot and reports whether it held a remembered id.
// After Forget and a new Accept the key's old slot is still queued: it must
// neither count as an eviction nor remove the key, hence the time check.
func (s *Seen) pop() bool {
	it := s.queue[s.first]
	live := false
	if at, ok := s.set[it.key]; ok && at == it.at {
		delete(s.set, it.key)
		live = true
	}
	s.queue[s.first] = seenItem{}
	s.first++
	// Compact once the consumed prefix is the larger half, so the queue's
	// memory follows the live count rather than everything ever accepted.
	if s.first > len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.first:])
		s.queue = s.queue[:n]
		s.first = 0
	}
	return live
}

// Forget removes id for trace, so the same record can be accepted again. Its
// queue slot stays until it expires; pop then finds the key absent, or
// re-accepted at another time, and leaves it alone.
func (s *Seen) Forget(trace pcommon.TraceID, id string) {
	delete(s.set, key(trace, id))
}
