package store

import (
	"encoding/binary"
	"iter"
	"math/bits"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

type seenKey struct {
	trace pcommon.TraceID
	id    uint64
}

// slot is what the set keeps k under: the id's hash mixed with the trace
// id. The id's hash is as good as random, so two keys share a slot with a
// chance of 2^-64, as two ids of one trace share a hash; keyed by eight
// bytes rather than 24, the set's slots are half as large and its lookups
// take the map's fast path for integers (BenchmarkFeedbackJoin spends most
// of the dedupe window's time in two lookups on cold memory).
func (k seenKey) slot() uint64 {
	return k.id ^ binary.LittleEndian.Uint64(k.trace[:8]) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(k.trace[8:]), 32)
}

type seenItem struct {
	key seenKey
	at  int64
}

// Seen remembers which feedback ids were already accepted for a trace, for a
// TTL and up to a bound, so a double-clicked rating is emitted once. Ids are
// kept as 64-bit hashes: 24 bytes a key whatever the id's length. The hash
// has no per-process seed, so a snapshot read back after a restart still
// matches the ids it was taken from. Not safe for concurrent use.
type Seen struct {
	ttl   int64
	max   int
	set   map[uint64]int64 // by seenKey.slot, the time of the key's live slot in queue
	queue []seenItem       // insertion order, which is also expiry order
	first int
	// OnEvict is told how many ids the bound pushed out before their TTL.
	OnEvict func(n int)
	// onDrop, when set, is told of every id the TTL or the bound drops.
	onDrop func(seenKey)
}

// NewSeen returns an empty set. ttl is in nanoseconds.
func NewSeen(ttl int64, maxIDs int) *Seen {
	return &Seen{ttl: ttl, max: maxIDs, set: make(map[uint64]int64), OnEvict: func(int) {}}
}

// Len is the number of ids remembered.
func (s *Seen) Len() int { return len(s.set) }

func key(trace pcommon.TraceID, id string) seenKey {
	return seenKey{trace: trace, id: xxhash.Sum64String(id)}
}

// Accept records id for trace and reports true, or reports false when it was
// already accepted within the TTL.
func (s *Seen) Accept(trace pcommon.TraceID, id string, now int64) bool {
	return s.accept(key(trace, id), now)
}

// At reports when id was accepted for trace, if it is remembered.
func (s *Seen) At(trace pcommon.TraceID, id string) (int64, bool) {
	at, ok := s.set[key(trace, id).slot()]
	return at, ok
}

func (s *Seen) accept(k seenKey, now int64) bool {
	slot := k.slot()
	if _, dup := s.set[slot]; dup {
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
	s.set[slot] = now
	s.queue = append(s.queue, seenItem{key: k, at: now})
	// Slots left by Forget stay queued until they expire; a client retrying
	// refused batches in a loop would make the queue grow with its retries.
	// Past twice the bound, the dead slots are squeezed out.
	if len(s.queue)-s.first > 2*s.max {
		s.compact()
	}
	return true
}

// Expire forgets the ids accepted a TTL or more before now.
func (s *Seen) Expire(now int64) {
	for s.first < len(s.queue) && now-s.queue[s.first].at >= s.ttl {
		s.pop()
	}
}

// live reports whether the queue slot it is the one its key is remembered by.
func (s *Seen) live(it seenItem) bool {
	at, ok := s.set[it.key.slot()]
	return ok && at == it.at
}

// pop drops the front queue slot and reports whether it held a remembered id.
// After Forget and a new Accept the key's old slot is still queued: it must
// neither count as an eviction nor remove the key, hence the time check.
func (s *Seen) pop() bool {
	it := s.queue[s.first]
	live := s.live(it)
	if live {
		delete(s.set, it.key.slot())
		if s.onDrop != nil {
			s.onDrop(it.key)
		}
	}
	s.queue[s.first] = seenItem{}
	s.first++
	// Compact once the consumed prefix is the larger half, so the queue's
	// memory follows the live count rather than everything ever accepted.
	if s.first > len(s.queue)/2 {
		n := copy(s.queue, s.queue[s.first:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.first = 0
	}
	return live
}

// compact keeps only the live slots, in order.
func (s *Seen) compact() {
	n := 0
	for _, it := range s.queue[s.first:] {
		if s.live(it) {
			s.queue[n] = it
			n++
		}
	}
	clear(s.queue[n:])
	s.queue = s.queue[:n]
	s.first = 0
}

// Forget removes id for trace, so the same record can be accepted again. Its
// queue slot stays until it expires or the queue is compacted; pop then
// finds the key absent, or re-accepted at another time, and leaves it alone.
func (s *Seen) Forget(trace pcommon.TraceID, id string) {
	delete(s.set, key(trace, id).slot())
}

// seenVersion heads a Seen snapshot.
const seenVersion byte = 1

// MarshalSnapshot encodes the remembered ids, oldest first.
//
// leaveOut, which may be nil, are ids left out: those of batches not yet
// acknowledged, whose retry after a crash must not be taken for a duplicate
// of a try that never got through.
func (s *Seen) MarshalSnapshot(leaveOut iter.Seq[SeenID]) []byte {
	leave := map[seenKey]bool{}
	n := len(s.set) // the live entries of the queue
	if leaveOut != nil {
		for l := range leaveOut {
			if k := key(l.Trace, l.ID); !leave[k] {
				if _, live := s.set[k.slot()]; live {
					n--
				}
				leave[k] = true
			}
		}
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+n*34)
	b = append(b, seenVersion)
	b = binary.AppendUvarint(b, uint64(n))
	for _, it := range s.queue[s.first:] {
		if s.live(it) && !leave[it.key] {
			b = appendSeenItem(b, it)
		}
	}
	return b
}

// appendSeenItem appends an id and when it was accepted, as readSeenItem
// reads them.
func appendSeenItem(b []byte, it seenItem) []byte {
	b = append(b, it.key.trace[:]...)
	b = binary.LittleEndian.AppendUint64(b, it.key.id)
	return binary.AppendVarint(b, it.at)
}

// SeenID is an id as given to Accept, with its trace.
type SeenID struct {
	Trace pcommon.TraceID
	ID    string
}

// RestoreSnapshot accepts again the ids of a snapshot that have not expired
// by now. It returns how many it restored; on a snapshot cut short or
// garbled, what it read before the damage, and the error.
func (s *Seen) RestoreSnapshot(b []byte, now int64) (int, error) {
	nothing := func(b []byte) (struct{}, []byte, error) { return struct{}{}, b, nil }
	return restoreSnapshot(s, b, seenVersion, now, nothing, func(seenKey, struct{}) {})
}

// restoreSnapshot accepts again into s the ids of a snapshot of version (a
// Seen's or a Routed's) that have not expired by now: each item is a
// seenItem followed by what read reads of it (a Routed's: where the id
// went), and kept is told each one accepted again. An id accepted after
// now is skipped too: one from the future (a corrupt entry, or a clock
// stepped back) would stand at the front of the queue and hold up the
// expiry of every id behind it. It returns how many it restored; on a
// snapshot cut short or garbled, what it read before the damage, and the
// error.
func restoreSnapshot[T any](s *Seen, b []byte, version byte, now int64, read func([]byte) (T, []byte, error), kept func(seenKey, T)) (int, error) {
	n, b, err := snapshotHeader(b, version)
	restored := 0
	for range n {
		var it seenItem
		if it, b, err = readSeenItem(b); err != nil {
			break
		}
		var x T
		if x, b, err = read(b); err != nil {
			break
		}
		if it.at <= now && now-it.at < s.ttl && s.accept(it.key, it.at) {
			kept(it.key, x)
			restored++
		}
	}
	return restored, err
}

// snapshotHeader reads a snapshot's version, which must be version, and
// its count of items. An empty snapshot is none: no items.
func snapshotHeader(b []byte, version byte) (n uint64, rest []byte, err error) {
	if len(b) == 0 {
		return 0, nil, nil
	}
	if b[0] != version {
		return 0, nil, errCorrupt
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return 0, nil, errCorrupt
	}
	return n, b[1+k:], nil
}

// readSeenItem reads one id and when it was accepted, as appendSeenItem
// wrote them.
func readSeenItem(b []byte) (seenItem, []byte, error) {
	var it seenItem
	if len(b) < 24 {
		return it, nil, errCorrupt
	}
	copy(it.key.trace[:], b)
	it.key.id = binary.LittleEndian.Uint64(b[16:])
	at, k := binary.Varint(b[24:])
	if k <= 0 {
		return it, nil, errCorrupt
	}
	it.at = at
	return it, b[24+k:], nil
}
