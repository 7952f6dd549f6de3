package llmfeedbackprocessor

import (
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// maxJoinKeys bounds join::keys: each key costs 8 bytes per cached
// completion and a map entry per completion that carries it.
const maxJoinKeys = 8

// completionsPool recycles the slice a batch's completions are gathered in.
var completionsPool = sync.Pool{New: func() any { return new([]found) }}

// found is a completion read from a span, with what indexes it.
type found struct {
	trace   pcommon.TraceID
	comp    genai.Completion
	appKeys [maxJoinKeys]uint64 // hashes of the join::keys values; 0: absent
}

// observeTraces caches every completion in td and releases the feedback that
// was waiting for them. It never changes td and keeps none of it.
func (c *correlator) observeTraces(td ptrace.Traces) {
	var (
		completions []found // from the pool only when a batch has a completion
		pooled      *[]found
		memo        genai.Memo
		comp        genai.Completion
	)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				if !genai.Read(span, rs.Resource(), &memo, &comp) {
					continue
				}
				if completions == nil {
					pooled = completionsPool.Get().(*[]found)
					completions = (*pooled)[:0]
				}
				completions = append(completions, found{trace: span.TraceID(), comp: comp})
				c.readAppKeys(&completions[len(completions)-1], span, rs.Resource())
			}
		}
	}
	if len(completions) == 0 {
		return
	}
	ready, truncated, evicted := c.cacheBatch(completions)
	c.recordEvictions(evicted)
	c.tel.add(c.tel.tb.ProcessorLlmFeedbackCompletionsSeen, int64(len(completions)))
	c.tel.add(c.tel.tb.ProcessorLlmFeedbackTruncated, int64(truncated), c.tel.attr("reason", "completion_field"))
	clear(completions) // drop the strings, so the pool keeps no cached data alive
	*pooled = completions
	completionsPool.Put(pooled)
	c.emitter.enqueue(ready)
}

// readAppKeys hashes the values of join::keys on the span, else on its
// resource; a string or an integer, compared as text.
func (c *correlator) readAppKeys(f *found, span ptrace.Span, res pcommon.Resource) {
	for i, name := range c.cfg.Join.Keys {
		v, ok := span.Attributes().Get(name)
		if !ok {
			v, ok = res.Attributes().Get(name)
		}
		if !ok || (v.Type() != pcommon.ValueTypeStr && v.Type() != pcommon.ValueTypeInt) {
			continue
		}
		if s := v.AsString(); s != "" {
			f.appKeys[i] = store.HashValue(s)
		}
	}
}

// cacheBatch caches a batch's completions and takes out the held feedback
// they complete, under the lock.
func (c *correlator) cacheBatch(completions []found) (ready []readyRecord, truncated int, evicted evictions) {
	nKeys := len(c.cfg.Join.Keys)
	now := c.now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	for i := range completions {
		f := &completions[i]
		if f.comp.Truncated() {
			truncated++
		}
		c.cache.Add(f.trace, f.comp, f.appKeys[:nKeys], now)
	}
	// Held feedback is joined only once the whole batch is cached, so that
	// feedback naming just the trace gets the completion that ended last, as
	// it would have had it come after the spans.
	if c.pending.Len() > 0 {
		ready = c.releaseWaiting(completions)
	}
	return ready, truncated, c.takeEvictions()
}

// releaseWaiting finds the held records that a batch's completions
// complete, by every key a completion can be found by; call with c.mu held.
func (c *correlator) releaseWaiting(completions []found) []readyRecord {
	var ready []readyRecord
	var keys []store.JoinKey
	for i := range completions {
		f := &completions[i]
		keys = keys[:0]
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
		for _, key := range keys {
			waiting := c.pending.For(key)
			var hit []*store.PendingRecord
			for _, r := range waiting {
				if m, ok := c.cache.Find(r.Query()); ok {
					ready = append(ready, readyRecord{rec: r, match: m, matched: true})
					hit = append(hit, r)
				}
			}
			for _, r := range hit {
				c.pending.Remove(r)
			}
		}
	}
	return ready
}
