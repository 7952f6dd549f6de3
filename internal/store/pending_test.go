package store

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func prec(trace byte, id string, deadline int64) *PendingRecord {
	return &PendingRecord{Key: TraceKey(tid(trace)), TraceID: tid(trace), FeedbackID: id, Arrived: deadline - 100, Deadline: deadline, Data: []byte(id)}
}

func ids(rs []*PendingRecord) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.FeedbackID)
	}
	return out
}

// checkPending verifies the list is deadline-ordered with sound links and
// that the list, the per-trace index and Len agree.
func checkPending(t *testing.T, p *Pending) {
	t.Helper()
	n := 0
	var prev *PendingRecord
	inList := map[*PendingRecord]bool{}
	for r := p.order.front(); r != nil; r = r.next {
		require.Same(t, prev, r.prev, "broken back link")
		if prev != nil {
			require.LessOrEqual(t, prev.Deadline, r.Deadline, "list not in deadline order")
		}
		inList[r] = true
		prev = r
		n++
	}
	require.Same(t, prev, p.order.back())
	require.Equal(t, n, p.Len())
	indexed := 0
	for id, rs := range p.byKey {
		require.NotEmpty(t, rs, "empty per-trace slice kept")
		for _, r := range rs {
			require.Equal(t, id, r.Key)
			require.True(t, inList[r], "indexed record not in the list")
			indexed++
		}
	}
	require.Equal(t, n, indexed)
	require.LessOrEqual(t, p.Len(), p.max)
	require.Equal(t, p.Len() >= p.max, p.Full())
}

func TestPendingBound(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		adds     int
		wantKept int
	}{
		{name: "under the bound", max: 3, adds: 2, wantKept: 2},
		{name: "at the bound", max: 3, adds: 3, wantKept: 3},
		{name: "over the bound", max: 3, adds: 5, wantKept: 3},
		{name: "bound of one", max: 1, adds: 4, wantKept: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPending(tc.max)
			require.False(t, p.Full())
			for i := 0; i < tc.adds; i++ {
				r := prec(byte(i%2), string(rune('a'+i)), int64(100+i))
				ok := p.Add(r)
				require.Equal(t, i < tc.max, ok)
				if !ok {
					require.NotContains(t, p.For(TraceKey(r.TraceID)), r, "a refused record is not kept")
				}
				checkPending(t, p)
			}
			require.Equal(t, tc.wantKept, p.Len())
			require.Equal(t, tc.adds >= tc.max, p.Full())
		})
	}
}

func TestPendingFor(t *testing.T) {
	p := NewPending(10)
	a1, b1, a2, a3 := prec(1, "a1", 10), prec(2, "b1", 11), prec(1, "a2", 12), prec(1, "a3", 13)
	for _, r := range []*PendingRecord{a1, b1, a2, a3} {
		require.True(t, p.Add(r))
	}
	checkPending(t, p)
	require.Equal(t, []*PendingRecord{a1, a2, a3}, p.For(TraceKey(tid(1))), "oldest first")
	require.Equal(t, []*PendingRecord{b1}, p.For(TraceKey(tid(2))))
	require.Empty(t, p.For(TraceKey(tid(3))))
	require.Empty(t, p.For(TraceKey(pcommon.TraceID{})))
}

func TestPendingRemove(t *testing.T) {
	tests := []struct {
		name      string
		remove    []string
		wantOrder []string // whole list, deadline order
		wantT1    []string
		wantT2    []string
	}{
		{name: "middle of a trace", remove: []string{"a2"}, wantOrder: []string{"a1", "b1", "a3"}, wantT1: []string{"a1", "a3"}, wantT2: []string{"b1"}},
		{name: "head of the list", remove: []string{"a1"}, wantOrder: []string{"b1", "a2", "a3"}, wantT1: []string{"a2", "a3"}, wantT2: []string{"b1"}},
		{name: "tail of the list", remove: []string{"a3"}, wantOrder: []string{"a1", "b1", "a2"}, wantT1: []string{"a1", "a2"}, wantT2: []string{"b1"}},
		{name: "last of a trace drops the trace", remove: []string{"b1"}, wantOrder: []string{"a1", "a2", "a3"}, wantT1: []string{"a1", "a2", "a3"}},
		{name: "everything", remove: []string{"a3", "a1", "b1", "a2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPending(4)
			byID := map[string]*PendingRecord{}
			for _, r := range []*PendingRecord{prec(1, "a1", 10), prec(2, "b1", 11), prec(1, "a2", 12), prec(1, "a3", 13)} {
				byID[r.FeedbackID] = r
				require.True(t, p.Add(r))
			}
			require.True(t, p.Full())
			for _, id := range tc.remove {
				p.Remove(byID[id])
				checkPending(t, p)
				require.Nil(t, byID[id].prev)
				require.Nil(t, byID[id].next)
			}
			require.False(t, p.Full())
			require.Equal(t, len(tc.wantOrder), p.Len())
			require.Equal(t, tc.wantT1, nilIfEmpty(ids(p.For(TraceKey(tid(1))))))
			require.Equal(t, tc.wantT2, nilIfEmpty(ids(p.For(TraceKey(tid(2))))))
			if tc.wantT2 == nil {
				_, ok := p.byKey[TraceKey(tid(2))]
				require.False(t, ok, "trace with no records left in the index")
			}
			require.Equal(t, tc.wantOrder, nilIfEmpty(ids(p.Drain())))
		})
	}
}

// TestPendingRemoveAfterForTrace is the pattern the join uses: read the
// records waiting for a trace, then remove the ones it matched.
func TestPendingRemoveAfterFor(t *testing.T) {
	p := NewPending(10)
	for _, r := range []*PendingRecord{prec(1, "a", 1), prec(1, "b", 2), prec(1, "c", 3), prec(1, "d", 4)} {
		p.Add(r)
	}
	var hit []*PendingRecord
	for _, r := range p.For(TraceKey(tid(1))) {
		if r.FeedbackID != "c" {
			hit = append(hit, r)
		}
	}
	for _, r := range hit {
		p.Remove(r)
		checkPending(t, p)
	}
	require.Equal(t, []string{"c"}, ids(p.For(TraceKey(tid(1)))))
	require.Equal(t, 1, p.Len())
}

func TestPendingExpire(t *testing.T) {
	tests := []struct {
		name      string
		deadlines []int64 // in the order added; ids are "r<i>"
		now       int64
		want      []string
		wantLeft  []string
	}{
		{name: "none expired", deadlines: []int64{10, 20}, now: 9, wantLeft: []string{"r0", "r1"}},
		{name: "expired at the deadline", deadlines: []int64{10, 20}, now: 10, want: []string{"r0"}, wantLeft: []string{"r1"}},
		{name: "expired past the deadline", deadlines: []int64{10, 20, 30}, now: 25, want: []string{"r0", "r1"}, wantLeft: []string{"r2"}},
		{name: "equal deadlines keep arrival order", deadlines: []int64{10, 20, 20, 30}, now: 20, want: []string{"r0", "r1", "r2"}, wantLeft: []string{"r3"}},
		{name: "all expired", deadlines: []int64{10, 20}, now: 1_000, want: []string{"r0", "r1"}},
		{name: "restored earlier deadline expires first", deadlines: []int64{100, 200, 50}, now: 100, want: []string{"r2", "r0"}, wantLeft: []string{"r1"}},
		{name: "restored deadline in the middle", deadlines: []int64{100, 200, 150}, now: 160, want: []string{"r0", "r2"}, wantLeft: []string{"r1"}},
		{name: "restored deadline equal to a held one goes after it", deadlines: []int64{100, 200, 100}, now: 100, want: []string{"r0", "r2"}, wantLeft: []string{"r1"}},
		{name: "restored batch in reverse order", deadlines: []int64{40, 30, 20, 10}, now: 25, want: []string{"r3", "r2"}, wantLeft: []string{"r1", "r0"}},
		{name: "empty", now: 1_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPending(10)
			for i, d := range tc.deadlines {
				require.True(t, p.Add(prec(byte(i%3), "r"+string(rune('0'+i)), d)))
				checkPending(t, p)
			}
			got := p.Expire(tc.now)
			checkPending(t, p)
			require.Equal(t, tc.want, nilIfEmpty(ids(got)))
			for _, r := range got {
				require.LessOrEqual(t, r.Deadline, tc.now)
				require.NotContains(t, p.For(TraceKey(r.TraceID)), r)
			}
			require.Equal(t, len(tc.wantLeft), p.Len())
			require.Empty(t, p.Expire(tc.now), "a second expiry at the same time finds nothing")
			require.Equal(t, tc.wantLeft, nilIfEmpty(ids(p.Drain())))
		})
	}
}

func TestPendingDrain(t *testing.T) {
	p := NewPending(5)
	require.Empty(t, p.Drain())
	for _, r := range []*PendingRecord{prec(1, "x", 30), prec(2, "y", 10), prec(1, "z", 20)} {
		require.True(t, p.Add(r))
	}
	got := p.Drain()
	require.Equal(t, []string{"y", "z", "x"}, ids(got), "deadline order")
	checkPending(t, p)
	require.Zero(t, p.Len())
	require.Empty(t, p.byKey)
	require.Nil(t, p.order.front())
	require.Nil(t, p.order.back())
	require.False(t, p.Full())
	for _, r := range got {
		require.Nil(t, r.prev)
		require.Nil(t, r.next)
	}
	// The store is usable after a drain.
	require.True(t, p.Add(prec(3, "w", 5)))
	checkPending(t, p)
	require.Equal(t, []string{"w"}, ids(p.For(TraceKey(tid(3)))))
}
