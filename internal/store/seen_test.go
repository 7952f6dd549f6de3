package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// seenOp is one step of a Seen scenario: Accept (want is its result), Forget,
// or Expire.
type seenOp struct {
	op    string // "accept", "forget", "expire"
	trace byte
	id    string
	now   int64
	want  bool
}

func accept(trace byte, id string, now int64, want bool) seenOp {
	return seenOp{op: "accept", trace: trace, id: id, now: now, want: want}
}

func forget(trace byte, id string) seenOp { return seenOp{op: "forget", trace: trace, id: id} }

func expire(now int64) seenOp { return seenOp{op: "expire", now: now} }

// checkSeen verifies the bound holds and every remembered id is still in the
// queue, so that it will be expired some day.
func checkSeen(t *testing.T, s *Seen) {
	t.Helper()
	require.LessOrEqual(t, s.Len(), s.max, "bound exceeded")
	queued := map[uint64]bool{}
	for _, it := range s.queue[s.first:] {
		queued[it.key.slot()] = true
	}
	for k := range s.set {
		require.True(t, queued[k], "remembered id not in the expiry queue")
	}
	require.GreaterOrEqual(t, len(s.queue)-s.first, s.Len())
}

func TestSeen(t *testing.T) {
	const ttl = 100
	tests := []struct {
		name       string
		max        int
		ops        []seenOp
		wantLen    int
		wantEvicts int
	}{
		{
			name:    "first accept, then duplicate",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), accept(1, "a", 1, false), accept(1, "a", 2, false)},
			wantLen: 1,
		},
		{
			name:    "same id in another trace is not a duplicate",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), accept(2, "a", 0, true), accept(2, "a", 1, false)},
			wantLen: 2,
		},
		{
			name:    "another id in the same trace is not a duplicate",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), accept(1, "b", 0, true), accept(1, "", 0, true), accept(1, "", 0, false)},
			wantLen: 3,
		},
		{
			name:    "still a duplicate just before the ttl",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), expire(99), accept(1, "a", 99, false)},
			wantLen: 1,
		},
		{
			name:    "forgotten at the ttl",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), expire(100), accept(1, "a", 100, true)},
			wantLen: 1,
		},
		{
			name: "expiry removes only the expired",
			max:  10,
			ops: []seenOp{
				accept(1, "a", 0, true), accept(1, "b", 50, true), accept(1, "c", 60, true),
				expire(155),
				accept(1, "a", 155, true), accept(1, "b", 155, true), accept(1, "c", 155, false),
			},
			wantLen: 3,
		},
		{
			name:    "a duplicate does not renew the ttl",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), accept(1, "a", 90, false), expire(100), accept(1, "a", 100, true)},
			wantLen: 1,
		},
		{
			name: "bound evicts the oldest",
			max:  2,
			ops: []seenOp{
				accept(1, "a", 0, true), accept(1, "b", 1, true), accept(1, "c", 2, true),
				accept(1, "b", 3, false), accept(1, "c", 3, false),
			},
			wantLen: 2, wantEvicts: 1,
		},
		{
			name: "evicted id is accepted again, evicting the next oldest",
			max:  2,
			ops: []seenOp{
				accept(1, "a", 0, true), accept(1, "b", 1, true), accept(1, "c", 2, true),
				accept(1, "a", 3, true), accept(1, "b", 4, true),
			},
			wantLen: 2, wantEvicts: 3,
		},
		{
			name:    "bound of one",
			max:     1,
			ops:     []seenOp{accept(1, "a", 0, true), accept(2, "a", 0, true), accept(2, "a", 0, false), accept(1, "a", 0, true)},
			wantLen: 1, wantEvicts: 2,
		},
		{
			name:    "forget allows re-accept",
			max:     10,
			ops:     []seenOp{accept(1, "a", 0, true), forget(1, "a"), accept(1, "a", 1, true), accept(1, "a", 2, false)},
			wantLen: 1,
		},
		{
			name:    "forget of an unknown id is harmless",
			max:     10,
			ops:     []seenOp{forget(1, "x"), accept(1, "a", 0, true), forget(2, "a"), accept(1, "a", 1, false)},
			wantLen: 1,
		},
		{
			name: "forgotten then expired slot is harmless",
			max:  10,
			ops: []seenOp{
				accept(1, "a", 0, true), forget(1, "a"), expire(100),
				accept(1, "a", 100, true), accept(1, "a", 101, false),
			},
			wantLen: 1,
		},
		{
			name: "re-accepted id keeps its full ttl from the re-accept",
			max:  10,
			ops: []seenOp{
				accept(1, "a", 0, true), forget(1, "a"), accept(1, "a", 50, true),
				expire(100), accept(1, "a", 100, false),
				expire(149), accept(1, "a", 149, false),
				expire(150), accept(1, "a", 150, true),
			},
			wantLen: 1,
		},
		{
			name: "forgotten slots do not let the set exceed its bound",
			max:  2,
			ops: []seenOp{
				accept(1, "a", 0, true), accept(1, "b", 1, true), forget(1, "a"),
				accept(1, "c", 2, true), accept(1, "d", 3, true),
				accept(1, "c", 4, false), accept(1, "d", 4, false),
			},
			// b is the one live id pushed out; the forgotten a is not an eviction.
			wantLen: 2, wantEvicts: 1,
		},
		{
			name: "bound eviction skips the stale slot of a re-accepted id",
			max:  2,
			ops: []seenOp{
				accept(1, "a", 0, true), accept(1, "b", 1, true), forget(1, "a"),
				accept(1, "a", 2, true), accept(1, "c", 3, true),
				// b was the oldest live id, so it went; a stays.
				accept(1, "a", 4, false), accept(1, "c", 4, false),
			},
			wantLen: 2, wantEvicts: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSeen(ttl, tc.max)
			evicts := 0
			s.OnEvict = func(n int) {
				require.Positive(t, n)
				evicts += n
			}
			for i, op := range tc.ops {
				switch op.op {
				case "accept":
					require.Equal(t, op.want, s.Accept(tid(op.trace), op.id, op.now), "step %d: accept %d/%q at %d", i, op.trace, op.id, op.now)
				case "forget":
					s.Forget(tid(op.trace), op.id)
				case "expire":
					s.Expire(op.now)
				}
				checkSeen(t, s)
			}
			require.Equal(t, tc.wantLen, s.Len())
			require.Equal(t, tc.wantEvicts, evicts)
		})
	}
}

// TestSeenQueueStaysSmall checks that the expiry queue's memory follows the
// live count, not the number of ids ever accepted.
func TestSeenQueueStaysSmall(t *testing.T) {
	const cycles = 100_000
	tests := []struct {
		name string
		ttl  int64
		// live is how many ids are remembered at once in the steady state.
		live int
	}{
		{name: "accept then expire each", ttl: 1, live: 1},
		{name: "ten live at a time", ttl: 10, live: 10},
		{name: "a thousand live at a time", ttl: 1_000, live: 1_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSeen(tc.ttl, 1_000_000)
			maxQueue, maxCap := 0, 0
			for i := 0; i < cycles; i++ {
				now := int64(i)
				require.True(t, s.Accept(tid(byte(i)), strconv.Itoa(i), now))
				s.Expire(now + 1)
				maxQueue = max(maxQueue, len(s.queue))
				maxCap = max(maxCap, cap(s.queue))
			}
			require.LessOrEqual(t, s.Len(), tc.live)
			require.LessOrEqual(t, maxQueue, 2*tc.live+2, "queue grew past twice the live count")
			require.LessOrEqual(t, maxCap, 4*tc.live+8, "queue capacity grew past the live count")
			s.Expire(int64(cycles) + tc.ttl)
			require.Zero(t, s.Len())
			require.LessOrEqual(t, len(s.queue), 1)
		})
	}

	t.Run("bound evictions", func(t *testing.T) {
		s := NewSeen(1<<62, 100)
		evicts := 0
		s.OnEvict = func(n int) { evicts += n }
		for i := 0; i < cycles; i++ {
			s.Accept(tid(1), strconv.Itoa(i), int64(i))
			require.LessOrEqual(t, len(s.queue), 2*100+2)
		}
		require.Equal(t, 100, s.Len())
		require.Equal(t, cycles-100, evicts)
	})

	t.Run("forget and re-accept", func(t *testing.T) {
		s := NewSeen(10, 100)
		for i := 0; i < cycles; i++ {
			id := fmt.Sprint(i % 50)
			s.Accept(tid(1), id, int64(i))
			s.Forget(tid(1), id)
			s.Expire(int64(i))
			require.LessOrEqual(t, len(s.queue), 2*10+2)
			require.LessOrEqual(t, s.Len(), 100)
		}
	})
}

// TestSeenForgetLoopStaysBounded: a client retrying refused batches makes
// Accept and Forget alternate; the queue stays within twice the bound.
func TestSeenForgetLoopStaysBounded(t *testing.T) {
	s := NewSeen(1<<62, 10)
	for i := range 10_000 {
		id := strconv.Itoa(i % 37)
		s.Accept(tid(1), id, int64(i))
		s.Forget(tid(1), id)
		require.LessOrEqual(t, len(s.queue)-s.first, 2*s.max+1)
	}
	require.Zero(t, s.Len())
}

// TestSeenSnapshot: ids come back after a restart, without the expired ones.
func TestSeenSnapshot(t *testing.T) {
	s := NewSeen(100, 10)
	s.Accept(tid(1), "old", 0)
	s.Accept(tid(1), "a", 50)
	s.Accept(tid(2), "b", 60)
	s.Accept(tid(2), "gone", 70)
	s.Forget(tid(2), "gone")

	back := NewSeen(100, 10)
	n, err := back.RestoreSnapshot(s.MarshalSnapshot(nil), 120)
	require.NoError(t, err)
	require.Equal(t, 2, n, "old expired, gone forgotten")
	require.False(t, back.Accept(tid(1), "a", 121))
	require.False(t, back.Accept(tid(2), "b", 121))
	require.True(t, back.Accept(tid(1), "old", 121))
	require.True(t, back.Accept(tid(2), "gone", 121))

	_, err = NewSeen(100, 10).RestoreSnapshot([]byte{seenVersion, 3, 1, 2}, 0)
	require.Error(t, err, "truncated")
}

// TestSeenSnapshotSkipsTheFuture: an id stamped later than the restore (a
// clock stepped back, or a garbled entry) is not restored: at the front of
// the queue it would hold up the expiry of every id behind it.
func TestSeenSnapshotSkipsTheFuture(t *testing.T) {
	s := NewSeen(100, 10)
	s.Accept(tid(1), "future", 1_000)
	s.Accept(tid(1), "now", 1_010)
	back := NewSeen(100, 10)
	n, err := back.RestoreSnapshot(s.MarshalSnapshot(nil), 500)
	require.NoError(t, err)
	require.Zero(t, n)
	back.Accept(tid(2), "later", 550)
	back.Expire(650)
	require.Zero(t, back.Len(), "expiry is not held up")
}

// BenchmarkSeenAcceptFull: a new id into a full dedupe window of the
// default bound, which lets its oldest id go, as a busy collector does
// once the window has filled.
func BenchmarkSeenAcceptFull(b *testing.B) {
	const bound = 100_000
	s := NewSeen(int64(time.Hour), bound)
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", r.Uint32(), i)
	}
	var trace pcommon.TraceID
	next := func(i int) {
		binary.LittleEndian.PutUint64(trace[:], r.Uint64())
		binary.LittleEndian.PutUint64(trace[8:], uint64(i))
		s.Accept(trace, ids[i%len(ids)], int64(i))
	}
	for i := range bound {
		next(i)
	}
	b.ResetTimer()
	for i := range b.N {
		next(bound + i)
	}
}
