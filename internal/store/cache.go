package store

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// Eviction reasons, as reported to the evict callback and in metrics.
const (
	ReasonMaxTraces      = "max_traces"
	ReasonMaxPerTrace    = "max_completions_per_trace"
	ReasonExpired        = "expired"
	ReasonMaxDedupeIDs   = "max_dedupe_ids"
	ReasonPendingOverrun = "overflow"
)

// traceEntry is one trace's completions, linked into the cache's recency
// list (intrusive, see list.go), so renewing a TTL moves it to the back in O(1).
type traceEntry struct {
	link[traceEntry]
	id          pcommon.TraceID
	lastSeen    int64
	completions []genai.Completion
	// one backs completions while the trace has a single completion, as
	// most do: entry and completion are one allocation instead of two.
	one [1]genai.Completion
}

func (e *traceEntry) links() *link[traceEntry] { return &e.link }

// Cache keeps completion summaries by trace id. A trace's TTL counts from the
// last completion seen in it; the list is ordered by that time, so expiry
// looks only at the entries that expire. Not safe for concurrent use.
type Cache struct {
	ttl         int64
	maxTraces   int
	maxPerTrace int
	traces      map[pcommon.TraceID]*traceEntry
	recency     list[traceEntry, *traceEntry] // front: the least recently seen
	completions int
	// OnEvict is told how many completions a bound or the TTL removed, and why.
	OnEvict func(reason string, n int)
}

// NewCache returns an empty cache. ttl is in nanoseconds.
func NewCache(ttl int64, maxTraces, maxPerTrace int) *Cache {
	return &Cache{
		ttl:         ttl,
		maxTraces:   maxTraces,
		maxPerTrace: maxPerTrace,
		traces:      make(map[pcommon.TraceID]*traceEntry),
		OnEvict:     func(string, int) {},
	}
}

// Len is the number of traces cached.
func (c *Cache) Len() int { return len(c.traces) }

// Completions is the number of completions cached.
func (c *Cache) Completions() int { return c.completions }

// Add caches comp under trace id and renews the trace's TTL. A completion with
// a span id already cached replaces it (a re-sent span is not a second one).
func (c *Cache) Add(id pcommon.TraceID, comp genai.Completion, now int64) {
	e, ok := c.traces[id]
	if !ok {
		if len(c.traces) >= c.maxTraces {
			oldest := c.recency.front()
			c.OnEvict(ReasonMaxTraces, len(oldest.completions))
			c.remove(oldest)
		}
		e = &traceEntry{id: id}
		e.completions = e.one[:0]
		c.traces[id] = e
		c.recency.pushBack(e)
	} else {
		c.recency.remove(e)
		c.recency.pushBack(e)
	}
	e.lastSeen = now
	for i := range e.completions {
		if e.completions[i].SpanID == comp.SpanID {
			e.completions[i] = comp
			return
		}
	}
	if len(e.completions) >= c.maxPerTrace {
		// Keep the latest: drop the one that ended first. Spans arrive out of
		// order, so that may be comp itself.
		oldest := 0
		for i := range e.completions {
			if e.completions[i].EndUnixNano < e.completions[oldest].EndUnixNano {
				oldest = i
			}
		}
		if comp.EndUnixNano < e.completions[oldest].EndUnixNano {
			c.OnEvict(ReasonMaxPerTrace, 1)
			return
		}
		e.completions = append(e.completions[:oldest], e.completions[oldest+1:]...)
		c.completions--
		c.OnEvict(ReasonMaxPerTrace, 1)
	}
	e.completions = append(e.completions, comp)
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
	e, ok := c.traces[id]
	if !ok {
		return genai.Completion{}, false
	}
	return pick(e.completions, sel)
}

func pick(cs []genai.Completion, sel Selector) (genai.Completion, bool) {
	best := -1
	for i := range cs {
		switch {
		case !sel.SpanID.IsEmpty():
			if cs[i].SpanID == sel.SpanID {
				return cs[i], true
			}
		case sel.ResponseID != "":
			if cs[i].ResponseID == sel.ResponseID {
				return cs[i], true
			}
		case best < 0 || cs[i].EndUnixNano >= cs[best].EndUnixNano:
			best = i
		}
	}
	if best < 0 {
		return genai.Completion{}, false
	}
	return cs[best], true
}

// Expire removes the traces whose TTL ran out by now and returns how many
// completions went with them.
func (c *Cache) Expire(now int64) int {
	n := 0
	for e := c.recency.front(); e != nil && now-e.lastSeen >= c.ttl; e = c.recency.front() {
		n += len(e.completions)
		c.remove(e)
	}
	if n > 0 {
		c.OnEvict(ReasonExpired, n)
	}
	return n
}

// Each calls f for every cached trace, oldest first, for snapshots.
func (c *Cache) Each(f func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion)) {
	for e := c.recency.front(); e != nil; e = next[traceEntry](e) {
		f(e.id, e.lastSeen, e.completions)
	}
}

// Restore puts a trace back with the time it was last seen, as saved by Each.
// Entries must be restored oldest first; an expired one is skipped.
func (c *Cache) Restore(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, now int64) {
	if now-lastSeen >= c.ttl || len(cs) == 0 {
		return
	}
	for i := range cs {
		c.Add(id, cs[i], lastSeen)
	}
}

func (c *Cache) remove(e *traceEntry) {
	c.recency.remove(e)
	delete(c.traces, e.id)
	c.completions -= len(e.completions)
}
