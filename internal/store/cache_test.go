package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

func tid(n byte) pcommon.TraceID { return pcommon.TraceID{15: n} }

func sid(n byte) pcommon.SpanID { return pcommon.SpanID{7: n} }

func comp(span byte, end int64, responseID string) genai.Completion {
	return genai.Completion{Summary: genai.Summary{SpanID: sid(span), EndUnixNano: end}, ResponseID: responseID}
}

type eviction struct {
	reason string
	n      int
}

// recordEvictions makes c log every OnEvict call into the returned slice.
func recordEvictions(c *Cache) *[]eviction {
	var got []eviction
	c.OnEvict = func(reason string, n int) { got = append(got, eviction{reason, n}) }
	return &got
}

// checkCache verifies the cache's invariants: the recency list and the map
// hold the same traces, the list is ordered by lastSeen, no trace is empty or
// over its bound, and Len and Completions agree with what is stored.
func checkCache(t *testing.T, c *Cache) {
	t.Helper()
	traces, completions := 0, 0
	prev := none
	for ei := c.head; ei != none; ei = c.entries[ei].next {
		e := &c.entries[ei]
		require.Equal(t, prev, e.prev, "broken back link")
		got, ok := c.entryOf(traceKey(e.id), e.id)
		require.True(t, ok && got == ei, "list entry not in the trace index")
		if prev != none {
			require.LessOrEqual(t, c.entries[prev].lastSeen, e.lastSeen, "list not ordered by lastSeen")
		}
		require.NotEqual(t, none, e.first, "empty trace kept")
		n := 0
		spans := map[pcommon.SpanID]bool{}
		for i := e.first; i != none; i = c.comps[i].next {
			cp := c.comps[i].sum
			require.False(t, spans[cp.SpanID], "span id cached twice in one trace")
			spans[cp.SpanID] = true
			n++
			checkChain(t, c, i)
		}
		require.Equal(t, int(e.n), n, "completion count")
		require.LessOrEqual(t, n, c.maxPerTrace)
		traces++
		completions += n
		prev = ei
	}
	require.Equal(t, prev, c.tail)
	require.Equal(t, traces, c.traces.len())
	require.Equal(t, traces, c.Len())
	require.Equal(t, completions, c.Completions())
	require.LessOrEqual(t, c.Len(), c.maxTraces)
	require.Equal(t, len(c.entries), traces+len(c.freeEntries), "entries leaked")
	require.Equal(t, len(c.comps), completions+len(c.freeComps), "completions leaked")
	free := map[int32]bool{}
	for _, i := range c.freeComps {
		free[i] = true
		require.Equal(t, stored{}, c.comps[i], "a free completion keeps what it held")
		require.NotContains(t, c.long, i, "a free completion keeps its long ids")
		for k, h := range c.idx.appKeysOf(i) {
			require.Zero(t, h, "a free completion keeps app key %d", k)
		}
	}
	long := 0
	for i := range c.comps {
		if s := &c.comps[i]; !free[int32(i)] && (s.resp.n == spilled || s.conv.n == spilled) {
			long++
		}
	}
	require.Len(t, c.long, long, "long ids of completions no longer cached")
	for k := range c.idx.appKey {
		for _, slot := range c.idx.appKey[k].slots {
			if slot != 0 {
				i := slotVal(slot)
				require.False(t, free[i], "app key %d's index points to a free completion", k)
				require.NotZero(t, c.idx.appKeysOf(i)[k], "app key %d's index points to a completion without it", k)
			}
		}
	}
}

// checkChain verifies comps[i]'s links in its conversation's chain: both
// ways, and the head is what the conversation index holds.
func checkChain(t *testing.T, c *Cache, i int32) {
	t.Helper()
	s := &c.comps[i]
	if s.convNext == unchained { // convPrev means nothing then
		return
	}
	require.NotNil(t, c.idx.conv, "chained with no conversation index")
	if s.convNext != none {
		require.Equal(t, i, c.comps[s.convNext].convPrev, "broken conversation back link")
	}
	if s.convPrev != none {
		require.Equal(t, i, c.comps[s.convPrev].convNext, "broken conversation link")
		return
	}
	h := c.conversationHash(i)
	head, ok := c.idx.conv.find(h, func(cur int32) bool { return c.conversationHash(cur) == h })
	require.True(t, ok && head == i, "a chain's head is not what the index holds")
}

func lookupSpans(c *Cache, id pcommon.TraceID) []byte {
	ei, ok := c.entryOf(traceKey(id), id)
	if !ok {
		return nil
	}
	var out []byte
	for i := c.entries[ei].first; i != none; i = c.comps[i].next {
		out = append(out, c.comps[i].sum.SpanID[7])
	}
	slices.Sort(out)
	return out
}

type cacheAdd struct {
	trace byte
	comp  genai.Completion
	now   int64
}

func TestCacheExpire(t *testing.T) {
	const ttl = 100
	tests := []struct {
		name        string
		adds        []cacheAdd
		expireAt    int64
		wantRemoved int
		wantLeft    []byte // traces left, oldest first
		wantEvicts  []eviction
	}{
		{
			name:     "nothing expired yet",
			adds:     []cacheAdd{{1, comp(1, 0, ""), 0}},
			expireAt: 99, wantLeft: []byte{1},
		},
		{
			name:        "expired exactly at the ttl",
			adds:        []cacheAdd{{1, comp(1, 0, ""), 0}},
			expireAt:    100,
			wantRemoved: 1, wantEvicts: []eviction{{ReasonExpired, 1}},
		},
		{
			name: "ttl counts from the last completion of the trace",
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{1, comp(2, 80, ""), 80},
			},
			expireAt: 150, wantLeft: []byte{1},
		},
		{
			name: "renewed trace expires a ttl after its last completion, with all its completions",
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{1, comp(2, 80, ""), 80},
			},
			expireAt:    180,
			wantRemoved: 2, wantEvicts: []eviction{{ReasonExpired, 2}},
		},
		{
			name: "only expired traces are removed",
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{2, comp(1, 0, ""), 10},
				{2, comp(2, 0, ""), 20},
				{3, comp(1, 0, ""), 50},
				{4, comp(1, 0, ""), 60},
			},
			expireAt:    150,
			wantRemoved: 4, wantLeft: []byte{4},
			wantEvicts: []eviction{{ReasonExpired, 4}},
		},
		{
			name: "a renewed old trace outlives newer ones",
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{2, comp(1, 0, ""), 10},
				{1, comp(2, 0, ""), 90},
			},
			expireAt:    120,
			wantRemoved: 1, wantLeft: []byte{1},
			wantEvicts: []eviction{{ReasonExpired, 1}},
		},
		{
			name: "re-sent span renews the ttl without adding",
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{1, comp(1, 0, ""), 70},
			},
			expireAt: 120, wantLeft: []byte{1},
		},
		{
			name:     "empty cache",
			expireAt: 1_000,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(ttl, 10, 10, IndexOptions{})
			evicts := recordEvictions(c)
			for _, a := range tc.adds {
				c.Add(tid(a.trace), a.comp, nil, a.now)
				checkCache(t, c)
			}
			require.Empty(t, *evicts)
			require.Equal(t, tc.wantRemoved, c.Expire(tc.expireAt))
			checkCache(t, c)
			require.Equal(t, tc.wantEvicts, nilIfEmpty(*evicts))
			var left []byte
			c.Each(func(id pcommon.TraceID, _ int64, _ []genai.Completion, _ []uint64) { left = append(left, id[15]) })
			require.Equal(t, tc.wantLeft, left)
			for _, id := range left {
				_, ok := c.Lookup(tid(id), Selector{})
				require.True(t, ok)
			}
		})
	}
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestCacheMaxTraces(t *testing.T) {
	tests := []struct {
		name       string
		maxTraces  int
		adds       []cacheAdd
		wantLeft   []byte // oldest first
		wantEvicts []eviction
	}{
		{
			name:      "under the bound",
			maxTraces: 2,
			adds:      []cacheAdd{{1, comp(1, 0, ""), 0}, {2, comp(1, 0, ""), 1}},
			wantLeft:  []byte{1, 2},
		},
		{
			name:       "third trace evicts the first",
			maxTraces:  2,
			adds:       []cacheAdd{{1, comp(1, 0, ""), 0}, {2, comp(1, 0, ""), 1}, {3, comp(1, 0, ""), 2}},
			wantLeft:   []byte{2, 3},
			wantEvicts: []eviction{{ReasonMaxTraces, 1}},
		},
		{
			name:      "least recently seen is evicted, not the first added",
			maxTraces: 2,
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{2, comp(1, 0, ""), 1},
				{2, comp(2, 0, ""), 2},
				{1, comp(2, 0, ""), 3},
				{3, comp(1, 0, ""), 4},
			},
			wantLeft:   []byte{1, 3},
			wantEvicts: []eviction{{ReasonMaxTraces, 2}},
		},
		{
			name:      "a completion for a cached trace evicts nothing",
			maxTraces: 2,
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{2, comp(1, 0, ""), 1},
				{1, comp(2, 0, ""), 2},
				{2, comp(2, 0, ""), 3},
			},
			wantLeft: []byte{1, 2},
		},
		{
			name:      "bound of one",
			maxTraces: 1,
			adds: []cacheAdd{
				{1, comp(1, 0, ""), 0},
				{1, comp(2, 0, ""), 1},
				{2, comp(1, 0, ""), 2},
				{3, comp(1, 0, ""), 3},
			},
			wantLeft:   []byte{3},
			wantEvicts: []eviction{{ReasonMaxTraces, 2}, {ReasonMaxTraces, 1}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(1_000, tc.maxTraces, 10, IndexOptions{})
			evicts := recordEvictions(c)
			for _, a := range tc.adds {
				c.Add(tid(a.trace), a.comp, nil, a.now)
				checkCache(t, c)
			}
			require.Equal(t, tc.wantEvicts, nilIfEmpty(*evicts))
			var left []byte
			c.Each(func(id pcommon.TraceID, _ int64, _ []genai.Completion, _ []uint64) { left = append(left, id[15]) })
			require.Equal(t, tc.wantLeft, left)
		})
	}
}

func TestCacheMaxPerTrace(t *testing.T) {
	type add struct {
		span byte
		end  int64
	}
	tests := []struct {
		name        string
		maxPerTrace int
		adds        []add
		wantSpans   []byte // sorted
		wantEvicts  int
	}{
		{name: "under the bound", maxPerTrace: 3, adds: []add{{1, 10}, {2, 20}}, wantSpans: []byte{1, 2}},
		{name: "at the bound", maxPerTrace: 2, adds: []add{{1, 10}, {2, 20}}, wantSpans: []byte{1, 2}},
		{name: "drops the one that ended first", maxPerTrace: 2, adds: []add{{1, 10}, {2, 30}, {3, 20}}, wantSpans: []byte{2, 3}, wantEvicts: 1},
		{name: "end time, not arrival, decides", maxPerTrace: 2, adds: []add{{1, 30}, {2, 10}, {3, 20}}, wantSpans: []byte{1, 3}, wantEvicts: 1},
		{name: "a late span that ended before all cached ones is the one dropped", maxPerTrace: 2, adds: []add{{1, 20}, {2, 30}, {3, 10}}, wantSpans: []byte{1, 2}, wantEvicts: 1},
		{name: "bound of one keeps the latest", maxPerTrace: 1, adds: []add{{1, 20}, {2, 30}, {3, 10}, {4, 25}}, wantSpans: []byte{2}, wantEvicts: 3},
		{name: "keeps the latest n of many", maxPerTrace: 3, adds: []add{{1, 50}, {2, 10}, {3, 40}, {4, 20}, {5, 60}, {6, 30}}, wantSpans: []byte{1, 3, 5}, wantEvicts: 3},
		{name: "same span id at the bound replaces without evicting", maxPerTrace: 2, adds: []add{{1, 10}, {2, 20}, {1, 5}}, wantSpans: []byte{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(1_000, 10, tc.maxPerTrace, IndexOptions{})
			evicts := recordEvictions(c)
			for i, a := range tc.adds {
				c.Add(tid(1), comp(a.span, a.end, ""), nil, int64(i))
				checkCache(t, c)
			}
			require.Equal(t, tc.wantSpans, lookupSpans(c, tid(1)))
			n := 0
			for _, e := range *evicts {
				require.Equal(t, ReasonMaxPerTrace, e.reason)
				require.Equal(t, 1, e.n)
				n += e.n
			}
			require.Equal(t, tc.wantEvicts, n)
			// Every completion is either cached or reported evicted.
			require.Equal(t, distinctSpans(tc.adds, func(a add) byte { return a.span }), c.Completions()+n)
		})
	}
}

func distinctSpans[T any](adds []T, span func(T) byte) int {
	seen := map[byte]bool{}
	for _, a := range adds {
		seen[span(a)] = true
	}
	return len(seen)
}

func TestCacheSameSpanReplaces(t *testing.T) {
	c := NewCache(1_000, 10, 10, IndexOptions{})
	evicts := recordEvictions(c)
	c.Add(tid(1), comp(1, 10, "first"), nil, 0)
	c.Add(tid(1), comp(2, 20, "other"), nil, 1)
	c.Add(tid(1), comp(1, 30, "second"), nil, 2)
	checkCache(t, c)
	require.Equal(t, 1, c.Len())
	require.Equal(t, 2, c.Completions())
	require.Empty(t, *evicts)

	got, ok := c.Lookup(tid(1), Selector{SpanID: sid(1)})
	require.True(t, ok)
	require.Equal(t, "second", got.ResponseID)
	require.Equal(t, int64(30), got.EndUnixNano)
	_, ok = c.Lookup(tid(1), Selector{ResponseID: "first"})
	require.False(t, ok, "the replaced completion is gone")

	// The same span id in another trace is another completion.
	c.Add(tid(2), comp(1, 10, "first"), nil, 3)
	checkCache(t, c)
	require.Equal(t, 2, c.Len())
	require.Equal(t, 3, c.Completions())
}

func TestCacheLookup(t *testing.T) {
	c := NewCache(1_000, 10, 10, IndexOptions{})
	c.Add(tid(1), comp(1, 10, "r1"), nil, 0)
	c.Add(tid(1), comp(2, 30, "r2"), nil, 1)
	c.Add(tid(1), comp(3, 20, "r3"), nil, 2)
	c.Add(tid(2), comp(4, 5, "r4"), nil, 3)
	c.Add(tid(3), comp(5, 7, "same-end-a"), nil, 4)
	c.Add(tid(3), comp(6, 7, "same-end-b"), nil, 5)
	c.Add(tid(4), comp(7, 0, ""), nil, 6)
	checkCache(t, c)

	tests := []struct {
		name     string
		trace    byte
		sel      Selector
		wantSpan byte
		wantOK   bool
	}{
		{name: "zero selector picks the one that ended last", trace: 1, wantSpan: 2, wantOK: true},
		{name: "zero selector, single completion", trace: 2, wantSpan: 4, wantOK: true},
		{name: "zero selector, equal end times pick the later added", trace: 3, wantSpan: 6, wantOK: true},
		{name: "zero selector, zero end time", trace: 4, wantSpan: 7, wantOK: true},
		{name: "by span id", trace: 1, sel: Selector{SpanID: sid(3)}, wantSpan: 3, wantOK: true},
		{name: "by span id, the earliest", trace: 1, sel: Selector{SpanID: sid(1)}, wantSpan: 1, wantOK: true},
		{name: "by response id", trace: 1, sel: Selector{ResponseID: "r1"}, wantSpan: 1, wantOK: true},
		{name: "by response id, the middle", trace: 1, sel: Selector{ResponseID: "r3"}, wantSpan: 3, wantOK: true},
		{name: "span id wins over response id", trace: 1, sel: Selector{SpanID: sid(1), ResponseID: "r2"}, wantSpan: 1, wantOK: true},
		{name: "unknown span id misses, not the latest", trace: 1, sel: Selector{SpanID: sid(99)}},
		{name: "unknown response id misses", trace: 1, sel: Selector{ResponseID: "nope"}},
		{name: "span id of another trace misses", trace: 1, sel: Selector{SpanID: sid(4)}},
		{name: "response id of another trace misses", trace: 2, sel: Selector{ResponseID: "r1"}},
		{name: "unknown span id with a known response id misses", trace: 1, sel: Selector{SpanID: sid(99), ResponseID: "r1"}},
		{name: "unknown trace", trace: 9},
		{name: "unknown trace by span id", trace: 9, sel: Selector{SpanID: sid(1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.Lookup(tid(tc.trace), tc.sel)
			require.Equal(t, tc.wantOK, ok)
			if !ok {
				require.Equal(t, genai.Completion{}, got)
				return
			}
			require.Equal(t, sid(tc.wantSpan), got.SpanID)
		})
	}
	checkCache(t, c)
}

func TestCacheRestore(t *testing.T) {
	const ttl = 100
	src := NewCache(ttl, 10, 10, IndexOptions{})
	src.Add(tid(1), comp(1, 10, "a"), nil, 0)
	src.Add(tid(2), comp(1, 20, "b"), nil, 40)
	src.Add(tid(2), comp(2, 25, "c"), nil, 50)
	src.Add(tid(3), comp(1, 30, "d"), nil, 90)

	type saved struct {
		id       pcommon.TraceID
		lastSeen int64
		cs       []genai.Completion
	}
	var snap []saved
	src.Each(func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, _ []uint64) {
		snap = append(snap, saved{id, lastSeen, slices.Clone(cs)})
	})
	require.Len(t, snap, 3)
	require.Equal(t, []int64{0, 50, 90}, []int64{snap[0].lastSeen, snap[1].lastSeen, snap[2].lastSeen}, "Each goes oldest first")

	tests := []struct {
		name      string
		now       int64
		wantLeft  []byte
		wantComps int
	}{
		{name: "nothing expired", now: 99, wantLeft: []byte{1, 2, 3}, wantComps: 4},
		{name: "oldest expired at the ttl", now: 100, wantLeft: []byte{2, 3}, wantComps: 3},
		{name: "two expired", now: 150, wantLeft: []byte{3}, wantComps: 1},
		{name: "all expired", now: 190},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := NewCache(ttl, 10, 10, IndexOptions{})
			for _, s := range snap {
				dst.Restore(s.id, s.lastSeen, s.cs, nil, tc.now)
				checkCache(t, dst)
			}
			var left []byte
			dst.Each(func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, _ []uint64) {
				left = append(left, id[15])
				orig := snap[slices.IndexFunc(snap, func(s saved) bool { return s.id == id })]
				require.Equal(t, orig.lastSeen, lastSeen, "restored with its own lastSeen")
				require.Equal(t, orig.cs, cs)
			})
			require.Equal(t, tc.wantLeft, left)
			require.Equal(t, tc.wantComps, dst.Completions())
			// The restored TTL runs from the saved lastSeen, not from now.
			dst.Expire(tc.now)
			checkCache(t, dst)
			require.Equal(t, tc.wantComps, dst.Completions())
		})
	}

	t.Run("empty completions skipped", func(t *testing.T) {
		dst := NewCache(ttl, 10, 10, IndexOptions{})
		dst.Restore(tid(1), 0, nil, nil, 0)
		checkCache(t, dst)
		require.Zero(t, dst.Len())
	})
	t.Run("restored completions respect the bounds", func(t *testing.T) {
		dst := NewCache(ttl, 10, 2, IndexOptions{})
		evicts := recordEvictions(dst)
		dst.Restore(tid(1), 0, []genai.Completion{comp(1, 10, ""), comp(2, 30, ""), comp(3, 20, "")}, nil, 0)
		checkCache(t, dst)
		require.Equal(t, []byte{2, 3}, lookupSpans(dst, tid(1)))
		require.Equal(t, []eviction{{ReasonMaxPerTrace, 1}}, *evicts)
	})
}

// TestCacheConsistency runs a long random mix of operations and checks the
// invariants, and the counts against a simple model, after every one.
func TestCacheConsistency(t *testing.T) {
	// Each kind of cache: one that keeps nothing outside its arrays (whose
	// evictions free a lone completion without reading it), one with an app
	// key indexed, one with ids too long to be inline.
	variants := []struct {
		name    string
		appKeys int
		respLen int
	}{{"plain", 0, 0}, {"app_key", 1, 0}, {"long_ids", 0, maxInlineID + 1}}
	for _, v := range variants {
		for seed := uint64(1); seed <= 5; seed++ {
			t.Run(fmt.Sprint(v.name, "/", seed), func(t *testing.T) {
				testCacheConsistency(t, seed, v.appKeys, v.respLen)
			})
		}
	}
}

func testCacheConsistency(t *testing.T, seed uint64, appKeys, respLen int) {
	r := rand.New(rand.NewPCG(seed, 0))
	const ttl = 50
	c := NewCache(ttl, 8, 3, IndexOptions{AppKeys: appKeys})
	evicted := 0
	c.OnEvict = func(reason string, n int) {
		require.Contains(t, []string{ReasonExpired, ReasonMaxTraces, ReasonMaxPerTrace}, reason)
		require.Positive(t, n)
		evicted += n
	}
	now := int64(0)
	added := map[pcommon.TraceID]map[pcommon.SpanID]bool{}
	for i := 0; i < 3_000; i++ {
		now += int64(r.IntN(5))
		switch op := r.IntN(10); {
		case op < 7:
			id := tid(byte(r.IntN(16)))
			cp := comp(byte(r.IntN(6)), int64(r.IntN(100)), "")
			if respLen > 0 && r.IntN(2) == 0 {
				cp.ResponseID = strings.Repeat(string(rune('a'+r.IntN(4))), respLen)
			}
			var keys []uint64
			for range appKeys {
				keys = append(keys, uint64(r.IntN(3))) // 0: none
			}
			c.Add(id, cp, keys, now)
			if added[id] == nil {
				added[id] = map[pcommon.SpanID]bool{}
			}
			added[id][cp.SpanID] = true
		case op < 9:
			n := c.Expire(now)
			require.GreaterOrEqual(t, n, 0)
		default:
			_, _ = c.Lookup(tid(byte(r.IntN(16))), Selector{SpanID: sid(byte(r.IntN(6)))})
		}
		checkCache(t, c)
		for ei := c.head; ei != none; ei = c.entries[ei].next {
			e := &c.entries[ei]
			for j := e.first; j != none; j = c.comps[j].next {
				require.True(t, added[e.id][c.comps[j].sum.SpanID])
			}
		}
	}
	c.Expire(now + ttl)
	checkCache(t, c)
	require.Zero(t, c.Len())
	require.Zero(t, c.Completions())
	require.Positive(t, evicted)
}

// TestIndexBuiltOnFirstLookup: a cache whose response id and conversation
// indexes are built by the first lookup that needs them, at a random point
// of a random mix of operations, answers every lookup as a cache that kept
// them from the start, then and after every later operation.
func TestIndexBuiltOnFirstLookup(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 1))
			const ttl = 60
			opts := IndexOptions{ByResponse: true, ByConversation: true, MaxConversations: 100}
			early, late := NewCache(ttl, 8, 3, opts), NewCache(ttl, 8, 3, opts)
			require.True(t, early.activate(ByResponse))
			require.True(t, early.activate(ByConversation))
			var responses []string // one per completion, as providers give them
			queries := func(now int64) []Query {
				var qs []Query
				for k := range 12 {
					if k < len(responses) {
						v := responses[len(responses)-1-k]
						qs = append(qs, Query{Key: JoinKey{Kind: ByResponse, Hash: HashValue(v)}, Value: v})
						v = responses[r.IntN(len(responses))]
						qs = append(qs, Query{Key: JoinKey{Kind: ByResponse, Hash: HashValue(v)}, Value: v})
					}
				}
				for k := range 4 {
					v := fmt.Sprintf("conv-%d", k)
					for _, at := range []int64{now, now - 10, now - 40} {
						qs = append(qs, Query{Key: JoinKey{Kind: ByConversation, Hash: HashValue(v)}, Value: v, At: at})
					}
				}
				return qs
			}
			// Each index is built at its own step: the first lookup of
			// its kind.
			built := map[KeyKind]int{ByResponse: r.IntN(1_500), ByConversation: r.IntN(1_500)}
			now := int64(0)
			for i := range 2_000 {
				now++ // ends are unique: "ended last" has one answer
				if r.IntN(10) < 8 {
					id := tid(byte(r.IntN(16)))
					cp := comp(byte(r.IntN(4)), now, "")
					if r.IntN(4) > 0 {
						cp.ResponseID = fmt.Sprintf("resp-%d", now)
						responses = append(responses, cp.ResponseID)
					}
					if r.IntN(3) > 0 {
						cp.ConversationID = fmt.Sprintf("conv-%d", r.IntN(4))
					}
					early.Add(id, cp, nil, now)
					late.Add(id, cp, nil, now)
				} else {
					require.Equal(t, early.Expire(now), late.Expire(now))
				}
				if i < built[ByResponse] {
					require.Nil(t, late.idx.response, "built before a lookup needed it")
				}
				if i < built[ByConversation] {
					require.Nil(t, late.idx.conv, "built before a lookup needed it")
				}
				for _, q := range queries(now) {
					if i < built[q.Key.Kind] {
						continue
					}
					want, wantOK := early.Find(q)
					got, ok := late.Find(q)
					require.Equal(t, wantOK, ok, "step %d, kind %d %q at %d", i, q.Key.Kind, q.Value, q.At)
					require.Equal(t, want, got, "step %d, kind %d %q at %d", i, q.Key.Kind, q.Value, q.At)
				}
				checkCache(t, late)
			}
			require.Equal(t, early.idx.response.len(), late.idx.response.len())
			require.Equal(t, early.idx.conv.len(), late.idx.conv.len())
		})
	}
}

// Ids too long to be kept inline come back whole, and select.
func TestCacheLongIDs(t *testing.T) {
	c := NewCache(100, 10, 4, IndexOptions{})
	long := strings.Repeat("r", 200)
	short := "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"
	a := comp(1, 10, long)
	a.ConversationID = "d60ac8ae-aa1f-4911-9ad7-f14a2e4f4078"
	b := comp(2, 5, short)
	b.ConversationID = strings.Repeat("c", 100)
	c.Add(tid(1), a, nil, 0)
	c.Add(tid(1), b, nil, 0)
	got, ok := c.Lookup(tid(1), Selector{ResponseID: long})
	require.True(t, ok)
	require.Equal(t, a, got)
	require.NotSame(t, unsafe.StringData(long), unsafe.StringData(got.ResponseID), "a spilled id shares the caller's bytes (a span's, in the traces path)")
	got, ok = c.Lookup(tid(1), Selector{ResponseID: short})
	require.True(t, ok)
	require.Equal(t, b, got)
	require.Len(t, c.long, 2)
	c.Add(tid(1), comp(2, 6, "short"), nil, 0) // replaces b: its long id goes
	require.Len(t, c.long, 1)
	c.Expire(100)
	require.Empty(t, c.long)
	checkCache(t, c)
}

// TestConversationChainLeavesInAnyOrder: completions leave a long
// conversation from the middle, the head and the tail; what is left is still
// found, with the right counts.
func TestConversationChainLeavesInAnyOrder(t *testing.T) {
	c := NewCache(1_000, 100, 1, IndexOptions{ByConversation: true, MaxConversations: 10})
	for i := byte(1); i <= 6; i++ {
		cp := comp(1, int64(i)*10, "")
		cp.ConversationID = "conv"
		c.Add(tid(i), cp, nil, int64(i))
	}
	q := Query{Key: JoinKey{Kind: ByConversation, Hash: HashValue("conv")}, Value: "conv", At: 1_000}
	for _, gone := range []byte{3, 6, 1} { // middle, newest (head), oldest (tail)
		c.remove(c.mustEntry(t, tid(gone)))
	}
	m, ok := c.Find(q)
	require.True(t, ok)
	require.Equal(t, tid(5), m.Trace, "the latest turn left")
	require.Equal(t, int64(3), m.Conversation.Completions)
	for _, gone := range []byte{2, 4, 5} {
		c.remove(c.mustEntry(t, tid(gone)))
	}
	_, ok = c.Find(q)
	require.False(t, ok)
	require.Zero(t, c.idx.conv.len(), "the conversation left with its last turn")
}

func (c *Cache) mustEntry(t *testing.T, id pcommon.TraceID) int32 {
	t.Helper()
	ei, ok := c.entryOf(traceKey(id), id)
	require.True(t, ok, "trace not cached")
	return ei
}

// BenchmarkCacheAddFull: a completion for a new trace into full caches, as
// the traces path does in a busy collector: 32 parts of 3,125 traces (a
// 100,000-trace cache), the part picked at random, each completion with a
// response id and a conversation id, so every Add evicts the part's least
// recently seen trace and its index entries. The caches take about 20 MiB,
// more than the CPU caches hold, and the part is random, so most of what an
// Add touches is cold, as in a collector. indexed: the response id and
// conversation indexes built, as once feedback has named a completion by
// them; idle: not yet (only the trace id is indexed).
func BenchmarkCacheAddFull(b *testing.B) {
	for _, indexed := range []bool{true, false} {
		b.Run(map[bool]string{true: "indexed", false: "idle"}[indexed], func(b *testing.B) {
			benchCacheAddFull(b, indexed)
		})
	}
}

func benchCacheAddFull(b *testing.B, indexed bool) {
	const parts, perPart = 32, 3125
	r := rand.New(rand.NewPCG(3, 4))
	opts := IndexOptions{ByResponse: true, ByConversation: true, MaxConversations: perPart}
	caches := make([]*Cache, parts)
	newComp := func(i int) (pcommon.TraceID, genai.Completion) {
		var id pcommon.TraceID
		binary.LittleEndian.PutUint64(id[:8], r.Uint64())
		binary.LittleEndian.PutUint64(id[8:], r.Uint64())
		c := genai.Completion{Summary: genai.Summary{SpanID: pcommon.SpanID{1, 2, 3}, EndUnixNano: int64(i)}}
		c.ResponseID = fmt.Sprintf("chatcmpl-%029d", r.Uint64()%1e18)
		c.ConversationID = fmt.Sprintf("conv-%d", r.Uint64())
		return id, c
	}
	for p := range caches {
		caches[p] = NewCache(math.MaxInt64, perPart, 16, opts)
		if indexed {
			caches[p].activate(ByResponse)
			caches[p].activate(ByConversation)
		}
		for i := range perPart {
			id, c := newComp(i)
			caches[p].Add(id, c, nil, int64(i))
		}
	}
	const pending = 1024
	ids := make([]pcommon.TraceID, pending)
	comps := make([]genai.Completion, pending)
	b.ResetTimer()
	for i := range b.N {
		at := i % pending
		if at == 0 {
			b.StopTimer()
			for j := range pending {
				ids[j], comps[j] = newComp(perPart + i + j)
			}
			b.StartTimer()
		}
		caches[r.IntN(parts)].Add(ids[at], comps[at], nil, int64(perPart+i))
	}
}

// BenchmarkBuildIndexes: the response id and conversation indexes of a full
// part (3,125 completions, each with both ids) built from scratch, as the
// first lookup of each kind builds them in each part of a cache (32 parts
// hold 100,000 traces).
func BenchmarkBuildIndexes(b *testing.B) {
	const perPart = 3125
	c := NewCache(math.MaxInt64, perPart, 16, IndexOptions{ByResponse: true, ByConversation: true, MaxConversations: perPart})
	for i := range perPart {
		var id pcommon.TraceID
		binary.LittleEndian.PutUint64(id[:8], uint64(i)+1)
		cp := comp(1, int64(i), fmt.Sprintf("chatcmpl-%029d", i))
		cp.ConversationID = fmt.Sprintf("conv-%d", i)
		c.Add(id, cp, nil, int64(i))
	}
	for b.Loop() {
		c.idx.response, c.idx.conv = nil, nil
		c.activate(ByResponse)
		c.activate(ByConversation)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perPart), "ns/completion")
}
