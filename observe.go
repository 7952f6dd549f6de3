package llmfeedbackprocessor

import (
	"slices"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// maxJoinKeys bounds join::keys: each key costs 8 bytes per cached
// completion and a map entry per completion that carries it.
const maxJoinKeys = 8

// scratchPool recycles what one batch is read with: the slice its
// completions are gathered in, the keys they are found by and the memo of
// interned labels. Off the
// stack, they do not make every receiver goroutine's stack grow (a memo is
// over 20 kilobytes).
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

type scratch struct {
	completions []found
	byPart      []int32         // completions' indexes, ordered by cache part
	keys        []store.JoinKey // every key the completions are found by, while feedback waits
	memo        genai.Memo      // kept from batch to batch: it holds nothing of any batch
}

// found is a completion read from a span, with what indexes it.
type found struct {
	trace   pcommon.TraceID
	comp    genai.Completion
	appKeys [maxJoinKeys]uint64 // hashes of the join::keys values; 0: absent
	part    int                 // the cache part of trace
}

// observeTraces caches every completion in td and releases the feedback that
// was waiting for them. It never changes td and keeps none of it.
func (c *correlator) observeTraces(td ptrace.Traces) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	completions := sc.completions[:0]
	var comp genai.Completion
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := genai.NextMarked(spans, 0); k < spans.Len(); k = genai.NextMarked(spans, k+1) {
				span := spans.At(k)
				if !genai.Read(span, rs.Resource(), &sc.memo, &comp) {
					continue
				}
				completions = append(completions, found{trace: span.TraceID(), comp: comp})
				c.readAppKeys(&completions[len(completions)-1], span, rs.Resource())
			}
		}
	}
	if len(completions) == 0 {
		return
	}
	ready, truncated, evicted := c.cacheBatch(completions, sc)
	c.recordEvictions(evicted)
	c.tel.completionsSeen(int64(len(completions)))
	c.tel.truncated(int64(truncated), truncatedCompletionField)
	// Drop the strings, which are the batch's own, so that the pool keeps
	// none of it alive.
	clear(completions)
	sc.completions = completions
	c.emitter.enqueue(ready)
}

// readAppKeys hashes the values of join::keys on the span, else on its
// resource; a string or an integer, compared as text. A value that is
// empty, or of another type, counts as absent: the resource's is read.
func (c *correlator) readAppKeys(f *found, span ptrace.Span, res pcommon.Resource) {
	for i, name := range c.cfg.Join.Keys {
		s, ok := appKeyValue(span.Attributes(), name)
		if !ok {
			s, ok = appKeyValue(res.Attributes(), name)
		}
		if ok {
			f.appKeys[i] = store.HashValue(s)
		}
	}
}

// appKeyValue is attrs' value of an app key as text, when it is a string
// or an integer and not empty.
func appKeyValue(attrs pcommon.Map, name string) (string, bool) {
	v, ok := attrs.Get(name)
	if !ok || (v.Type() != pcommon.ValueTypeStr && v.Type() != pcommon.ValueTypeInt) {
		return "", false
	}
	s := v.AsString()
	return s, s != ""
}

// cacheBatch caches a batch's completions, taking the lock of each cache
// part the batch touches once, and then takes out the held feedback they
// complete, using sc's byPart and keys as scratch space.
func (c *correlator) cacheBatch(completions []found, sc *scratch) (ready []readyRecord, truncated int, evicted evictions) {
	sc.byPart = slices.Grow(sc.byPart[:0], len(completions))[:len(completions)]
	byPart := sc.byPart
	nKeys := len(c.cfg.Join.Keys)
	now := c.now().UnixNano()
	c.version.Add(1)
	// Order the completions by part (a counting sort, stable), so that
	// under each part's lock only that part's completions are visited.
	var start [maxCacheParts + 1]int32
	for i := range completions {
		f := &completions[i]
		if f.comp.Truncated() {
			truncated++
		}
		f.part = c.cache.partOf(f.trace)
		start[f.part+1]++
	}
	for p := 1; p < len(start); p++ {
		start[p] += start[p-1]
	}
	next := start
	for i := range completions {
		p := completions[i].part
		byPart[next[p]] = int32(i)
		next[p]++
	}
	for at := range c.cache.parts {
		mine := byPart[start[at]:start[at+1]]
		if len(mine) == 0 {
			continue
		}
		p := &c.cache.parts[at]
		p.mu.Lock()
		hold := startHold()
		for _, i := range mine {
			f := &completions[i]
			p.cache.Add(f.trace, f.comp, f.appKeys[:nKeys], now)
		}
		e := p.takeEvictions()
		hold.part()
		p.mu.Unlock()
		for i, n := range e {
			evicted[i] += n
		}
	}
	// Held feedback is joined only once the whole batch is cached, so that
	// feedback naming just the trace gets the completion that ended last, as
	// it would have had it come after the spans. waiting is read after the
	// parts' locks are released: see commit for why nothing is missed.
	if c.waiting.Load() > 0 {
		sc.keys = c.joinKeys(sc.keys[:0], completions) // hashed before mu is taken
		c.mu.Lock()
		hold := startHold()
		ready = c.releaseWaiting(sc.keys)
		c.waiting.Store(int64(c.pending.Len()))
		hold.shared()
		c.mu.Unlock()
	}
	return ready, truncated, evicted
}

// joinKeys appends to keys every key a batch's completions can be found
// by.
func (c *correlator) joinKeys(keys []store.JoinKey, completions []found) []store.JoinKey {
	for i := range completions {
		f := &completions[i]
		if i == 0 || completions[i-1].trace != f.trace { // a trace's spans are mostly adjacent
			keys = append(keys, store.TraceKey(f.trace))
		}
		if f.comp.ResponseID != "" && c.cfg.Join.ByResponseID {
			keys = append(keys, store.JoinKey{Kind: store.ByResponse, Hash: store.HashValue(f.comp.ResponseID)})
		}
		for k, h := range f.appKeys[:len(c.cfg.Join.Keys)] {
			if h != 0 {
				keys = append(keys, store.JoinKey{Kind: store.ByAppKey, App: uint8(k), Hash: h})
			}
		}
		if f.comp.ConversationID != "" && c.cfg.Join.ByConversation {
			keys = append(keys, store.JoinKey{Kind: store.ByConversation, Hash: store.HashValue(f.comp.ConversationID)})
		}
	}
	return keys
}

// releaseWaiting finds the held records that completions found by keys
// complete; call with c.mu held.
func (c *correlator) releaseWaiting(keys []store.JoinKey) []readyRecord {
	var ready []readyRecord
	for _, key := range keys {
		if !c.pending.Waits(key.Kind) {
			continue
		}
		waiting := c.pending.For(key)
		var hit []*store.PendingRecord
		for _, r := range waiting {
			if m, ok := c.cache.find(r.Query()); ok {
				ready = append(ready, readyRecord{rec: r, match: m, matched: true})
				hit = append(hit, r)
			}
		}
		for _, r := range hit {
			c.pending.Remove(r)
		}
	}
	return ready
}
