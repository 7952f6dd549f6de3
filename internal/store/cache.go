package store

import (
	"strings"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// Eviction reasons, as reported to the evict callback and in metrics.
const (
	ReasonMaxTraces    = "max_traces"
	ReasonMaxPerTrace  = "max_completions_per_trace"
	ReasonExpired      = "expired"
	ReasonMaxDedupeIDs = "max_dedupe_ids"
	// ReasonMaxConversations counts completions that stay cached but are no
	// longer found by their conversation, whose index entry the bound cut.
	ReasonMaxConversations = "max_conversations"
)

// The cache is laid out for the garbage collector, which a full cache
// otherwise keeps busy: with a map of pointers to one object per trace,
// each holding a dozen pointers and pointing to two id strings, every GC
// cycle visited three or four scattered objects per trace, and at 100,000
// traces that took a fifth of a busy collector's CPU. Here traces and
// completions live in two slices, linked by index; the hash indexes
// (table.go) hold hashes and indexes, so they have no pointers; and the
// per-call ids (response and conversation) are copied inline. A GC cycle
// scans two arrays from end to end, and the only pointer in them is one per
// completion, a handle to its interned labels (model, provider, service...),
// of which a collector sees a few.

// none marks the end of an index-linked list.
const none int32 = -1

// traceEntry is one trace, linked into the recency list by index.
type traceEntry struct {
	id         pcommon.TraceID
	lastSeen   int64
	prev, next int32 // recency list
	first      int32 // the trace's completions in Cache.comps, linked by next
	n          int32
}

// maxInlineID is how long a response or conversation id may be to be kept
// inline: OpenAI's chatcmpl- ids (38 bytes), Anthropic's msg_ ids and UUIDs
// fit. Longer ones are kept in Cache.long.
const maxInlineID = 39

type inlineID struct {
	n uint8 // length; spilled when the id is longer than maxInlineID
	b [maxInlineID]byte
}

const spilled = 255

// stored is a cached completion: its summary, and its two id strings
// inline.
type stored struct {
	sum        genai.Summary
	resp, conv inlineID
	next       int32 // the trace's next completion
	entry      int32 // the trace, in Cache.entries
	convNext   int32 // the conversation's next completion; unchained when not indexed by it
	convPrev   int32 // the conversation's previous one, so leaving the chain is O(1)
}

// Cache keeps completion summaries by trace id. A trace's TTL counts from the
// last completion seen in it; the list is ordered by that time, so expiry
// looks only at the entries that expire. Not safe for concurrent use.
type Cache struct {
	ttl         int64
	maxTraces   int
	maxPerTrace int
	traces      table // traceKey(id) -> index in entries
	entries     []traceEntry
	comps       []stored
	freeEntries []int32
	freeComps   []int32
	head, tail  int32 // head is the least recently seen
	completions int
	// long holds, by index in comps, ids too long to be inline (rare).
	long map[int32][2]string
	// The indexes by key other than the trace id (index.go).
	idx indexes
	// OnEvict is told how many completions a bound or the TTL removed, and why.
	OnEvict func(reason string, n int)
}

// NewCache returns an empty cache. ttl is in nanoseconds.
func NewCache(ttl int64, maxTraces, maxPerTrace int, opts IndexOptions) *Cache {
	return &Cache{
		ttl:         ttl,
		maxTraces:   maxTraces,
		maxPerTrace: maxPerTrace,
		traces:      newTable(maxTraces),
		head:        none,
		tail:        none,
		long:        map[int32][2]string{},
		idx:         newIndexes(opts, maxTraces),
		OnEvict:     func(string, int) {},
	}
}

// Len is the number of traces cached.
func (c *Cache) Len() int { return c.traces.len() }

// traceKey is the key of a trace id in Cache.traces.
func traceKey(id pcommon.TraceID) uint64 { return xxhash.Sum64(id[:]) }

// entryOf returns the entry of trace id, if it is cached.
func (c *Cache) entryOf(key uint64, id pcommon.TraceID) (int32, bool) {
	return c.traces.find(key, func(ei int32) bool { return c.entries[ei].id == id })
}

// Completions is the number of completions cached.
func (c *Cache) Completions() int { return c.completions }

// Add caches comp under trace id and renews the trace's TTL. A completion with
// a span id already cached replaces it (a re-sent span is not a second one).
// appKeys are the hashes of the configured keys' values on the span (0 where
// it has none), one per configured key, or nil when none are configured.
func (c *Cache) Add(id pcommon.TraceID, comp genai.Completion, appKeys []uint64, now int64) {
	key := traceKey(id)
	ei, ok := c.entryOf(key, id)
	if !ok {
		if c.traces.len() >= c.maxTraces {
			c.OnEvict(ReasonMaxTraces, int(c.entries[c.head].n))
			c.remove(c.head)
		}
		ei = c.newEntry()
		c.entries[ei] = traceEntry{id: id, first: none}
		c.traces.add(key, ei)
		c.pushBack(ei)
	} else {
		c.unlink(ei)
		c.pushBack(ei)
	}
	e := &c.entries[ei]
	e.lastSeen = now
	last, oldest, oldestPrev := none, none, none
	for i, prev := e.first, none; i != none; prev, i = i, c.comps[i].next {
		if c.comps[i].sum.SpanID == comp.SpanID {
			c.unindex(i)
			c.release(i)
			c.pack(i, comp)
			c.index(i, appKeys)
			return
		}
		if oldest == none || c.comps[i].sum.EndUnixNano < c.comps[oldest].sum.EndUnixNano {
			oldest, oldestPrev = i, prev
		}
		last = i
	}
	if int(e.n) >= c.maxPerTrace {
		// Keep the latest: drop the one that ended first. Spans arrive out of
		// order, so that may be comp itself.
		c.OnEvict(ReasonMaxPerTrace, 1)
		if comp.EndUnixNano < c.comps[oldest].sum.EndUnixNano {
			return
		}
		next := c.comps[oldest].next
		if oldestPrev == none {
			e.first = next
		} else {
			c.comps[oldestPrev].next = next
		}
		if last == oldest {
			last = oldestPrev
		}
		c.freeComp(oldest)
		e.n--
		c.completions--
	}
	ci := c.newComp()
	c.pack(ci, comp)
	c.comps[ci].next = none
	c.comps[ci].entry = ei
	c.index(ci, appKeys)
	if last == none {
		e.first = ci
	} else {
		c.comps[last].next = ci
	}
	e.n++
	c.completions++
}

// Selector picks one completion of a trace. The zero Selector picks the one
// that ended last.
type Selector struct {
	SpanID     pcommon.SpanID
	ResponseID string
}

// Lookup returns the completion of trace id that sel picks.
func (c *Cache) Lookup(id pcommon.TraceID, sel Selector) (genai.Completion, bool) {
	ei, ok := c.entryOf(traceKey(id), id)
	if !ok {
		return genai.Completion{}, false
	}
	best := none
	for i := c.entries[ei].first; i != none; i = c.comps[i].next {
		s := &c.comps[i]
		switch {
		case !sel.SpanID.IsEmpty():
			if s.sum.SpanID == sel.SpanID {
				return c.unpack(i), true
			}
		case sel.ResponseID != "":
			if c.responseID(i) == sel.ResponseID {
				return c.unpack(i), true
			}
		case best == none || s.sum.EndUnixNano >= c.comps[best].sum.EndUnixNano:
			best = i
		}
	}
	if best == none {
		return genai.Completion{}, false
	}
	return c.unpack(best), true
}

// Expire removes the traces whose TTL ran out by now and returns how many
// completions went with them.
func (c *Cache) Expire(now int64) int {
	n := 0
	for c.head != none && now-c.entries[c.head].lastSeen >= c.ttl {
		n += int(c.entries[c.head].n)
		c.remove(c.head)
	}
	if n > 0 {
		c.OnEvict(ReasonExpired, n)
	}
	return n
}

// Each calls f for every cached trace, oldest first, for snapshots, with
// the app key hashes of each completion in turn (AppKeys of them each).
func (c *Cache) Each(f func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, appKeys []uint64)) {
	var cs []genai.Completion
	var keys []uint64
	for ei := c.head; ei != none; ei = c.entries[ei].next {
		e := &c.entries[ei]
		cs, keys = cs[:0], keys[:0]
		for i := e.first; i != none; i = c.comps[i].next {
			cs = append(cs, c.unpack(i))
			keys = append(keys, c.idx.appKeysOf(i)...)
		}
		f(e.id, e.lastSeen, cs, keys)
	}
}

// AppKeys is how many app keys the cache indexes.
func (c *Cache) AppKeys() int { return c.idx.nKeys }

// Restore puts a trace back with the time it was last seen, as saved by Each.
// Entries must be restored oldest first; an expired one is skipped, and
// Restore reports whether it kept the trace. appKeys returns the app key
// hashes of cs[i].
func (c *Cache) Restore(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, appKeys func(i int) []uint64, now int64) bool {
	if now-lastSeen >= c.ttl || len(cs) == 0 {
		return false
	}
	for i := range cs {
		var keys []uint64
		if appKeys != nil {
			keys = appKeys(i)
		}
		c.Add(id, cs[i], keys, lastSeen)
	}
	return true
}

// pack stores comp at comps[i], its ids inline when they fit; the link is
// left as it was.
func (c *Cache) pack(i int32, comp genai.Completion) {
	s := &c.comps[i]
	resp, conv := comp.ResponseID, comp.ConversationID
	s.sum = comp.Summary
	okResp, okConv := s.resp.set(resp), s.conv.set(conv)
	if !okResp || !okConv {
		// comp's strings may be the span's own (genai.Read): keep copies.
		c.long[i] = [2]string{strings.Clone(resp), strings.Clone(conv)}
	}
}

func (id *inlineID) set(s string) bool {
	if len(s) > maxInlineID {
		id.n = spilled
		return false
	}
	id.n = uint8(copy(id.b[:], s))
	return true
}

// unpack returns the completion at comps[i] with its ids as strings.
func (c *Cache) unpack(i int32) genai.Completion {
	s := &c.comps[i]
	comp := genai.Completion{Summary: s.sum}
	if s.resp.n == spilled || s.conv.n == spilled {
		long := c.long[i]
		comp.ResponseID, comp.ConversationID = long[0], long[1]
	}
	if s.resp.n != spilled {
		comp.ResponseID = string(s.resp.b[:s.resp.n])
	}
	if s.conv.n != spilled {
		comp.ConversationID = string(s.conv.b[:s.conv.n])
	}
	return comp
}

// responseID compares without building the string (the compiler sees the
// conversion is only compared).
func (c *Cache) responseID(i int32) string {
	s := &c.comps[i]
	if s.resp.n == spilled {
		return c.long[i][0]
	}
	return string(s.resp.b[:s.resp.n])
}

// release forgets what comps[i] kept outside itself.
func (c *Cache) release(i int32) {
	if s := &c.comps[i]; s.resp.n == spilled || s.conv.n == spilled {
		delete(c.long, i)
	}
}

func (c *Cache) newEntry() int32 {
	if n := len(c.freeEntries); n > 0 {
		i := c.freeEntries[n-1]
		c.freeEntries = c.freeEntries[:n-1]
		return i
	}
	c.entries = append(grow(c.entries, c.maxTraces), traceEntry{})
	return int32(len(c.entries) - 1)
}

func (c *Cache) newComp() int32 {
	if n := len(c.freeComps); n > 0 {
		i := c.freeComps[n-1]
		c.freeComps = c.freeComps[:n-1]
		return i
	}
	c.comps = append(grow(c.comps, c.maxTraces*c.maxPerTrace), stored{})
	c.idx.grow()
	return int32(len(c.comps) - 1)
}

// nothingOutside reports whether no completion is known outside comps: no
// index but the trace id's is built and no id is long, so freeing one
// needs nothing from it.
func (c *Cache) nothingOutside() bool {
	return c.idx.response == nil && c.idx.conv == nil && c.idx.nKeys == 0 && len(c.long) == 0
}

// freeComp clears comps[i], dropping its handle, and makes it reusable.
// When nothing is kept outside comps, it does not read comps[i]: a
// completion freed by eviction is far out of the CPU caches, and reading it
// was a sixth of what caching one into a full cache cost
// (BenchmarkTracesPath's profile); a write does not wait for the memory.
func (c *Cache) freeComp(i int32) {
	if !c.nothingOutside() {
		c.unindex(i)
		c.release(i)
	}
	c.comps[i] = stored{}
	c.freeComps = append(c.freeComps, i)
}

func (c *Cache) remove(ei int32) {
	e := &c.entries[ei]
	// The trace's last completion ends its list: its link is not read.
	for i, left := e.first, e.n; left > 0; left-- {
		next := none
		if left > 1 {
			next = c.comps[i].next
		}
		c.freeComp(i)
		i = next
	}
	c.completions -= int(e.n)
	c.unlink(ei)
	c.traces.remove(traceKey(e.id), ei)
	c.entries[ei] = traceEntry{}
	c.freeEntries = append(c.freeEntries, ei)
}

func (c *Cache) pushBack(ei int32) {
	e := &c.entries[ei]
	e.prev, e.next = c.tail, none
	if c.tail != none {
		c.entries[c.tail].next = ei
	} else {
		c.head = ei
	}
	c.tail = ei
}

func (c *Cache) unlink(ei int32) {
	e := &c.entries[ei]
	if e.prev != none {
		c.entries[e.prev].next = e.next
	} else {
		c.head = e.next
	}
	if e.next != none {
		c.entries[e.next].prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = none, none
}

// grow makes room for one more element by at most an eighth of the length
// (at least 64), and never past limit, the most the slice can hold:
// append's own growth (a quarter for large slices) would leave up to a
// quarter of a full cache's two arrays allocated and unused, and a cache
// split in parts has an array pair per part.
func grow[T any](s []T, limit int) []T {
	if len(s) < cap(s) {
		return s
	}
	n := len(s) + max(len(s)/8, 64)
	if limit > len(s) {
		n = min(n, limit)
	}
	bigger := make([]T, len(s), n)
	copy(bigger, s)
	return bigger
}
