package llmfeedbackprocessor

import (
	"encoding/binary"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// cacheParts is the completion cache split by trace id into parts, each a
// store.Cache with its own indexes behind its own lock, so that traces
// batches, which every receiver goroutine hands in at once on a big
// gateway, wait for each other only when they touch the same part. A trace
// lives in one part: finding a completion by its trace id asks one part;
// by response id, app key or conversation, which feedback alone does (a
// tiny share of traffic), it asks every part in turn.
//
// Each part bounds its own share of cache::max_traces and
// join::max_conversations and evicts its own least recently seen trace.
// Trace ids are random, so the parts fill evenly and the trace evicted is
// among the least recently seen overall; a cache too small for every part
// to hold 1,024 traces has fewer parts (one, below 2,048), so small bounds
// stay exact. Every part costs a few hundred bytes and a lock.
type cacheParts struct {
	parts []cachePart
	shift uint8 // 64 - log2(len(parts))
}

// cachePart is one part; its lock guards its cache and its eviction counts.
type cachePart struct {
	mu    sync.Mutex
	cache *store.Cache
	// evicted counts what the bounds cut since takeEvictions.
	evicted evictions
	_       [64]byte // keeps neighbouring parts' locks off one cache line
}

const (
	maxCacheParts   = 32
	minTracesByPart = 1024
)

func newCacheParts(cfg *Config) *cacheParts {
	n, shift := maxCacheParts, uint8(59)
	for n > 1 && cfg.Cache.MaxTraces/n < minTracesByPart {
		n, shift = n/2, shift+1
	}
	cp := &cacheParts{parts: make([]cachePart, n), shift: shift}
	for i := range cp.parts {
		p := &cp.parts[i]
		p.cache = store.NewCache(int64(cfg.Cache.TTL), share(cfg.Cache.MaxTraces, n, i), cfg.Cache.MaxCompletionsPerTrace, store.IndexOptions{
			ByResponse:       cfg.Join.ByResponseID,
			ByConversation:   cfg.Join.ByConversation,
			AppKeys:          len(cfg.Join.Keys),
			MaxConversations: max(share(cfg.Join.MaxConversations, n, i), 1),
		})
		// Called with p.mu held; counted here and recorded once per batch.
		p.cache.OnEvict = func(reason string, n int) {
			for j, r := range evictionReasons {
				if r == reason {
					p.evicted[j] += int64(n)
				}
			}
		}
	}
	return cp
}

// share is part i's share of a bound split among n parts; the shares add
// up to the bound.
func share(bound, n, i int) int {
	s := bound / n
	if i < bound%n {
		s++
	}
	return s
}

// partOf is the part trace id belongs to. Trace ids are random, but some
// generators put a timestamp in the first bytes: the last eight are mixed.
func (cp *cacheParts) partOf(id pcommon.TraceID) int {
	return int(binary.LittleEndian.Uint64(id[8:]) * 0x9e3779b97f4a7c15 >> cp.shift)
}

// takeEvictions returns and resets the part's eviction counts; call with
// p.mu held.
func (p *cachePart) takeEvictions() evictions {
	e := p.evicted
	p.evicted = evictions{}
	return e
}

// find returns the completion q names, if it is cached. By a key other than
// the trace id every part is asked, one at a time: a response id or app key
// value finds the completion that ended last among the parts' answers, a
// conversation the turn that ended last at or before q.At, with the counts
// and token sums of every part added up.
func (cp *cacheParts) find(q store.Query) (store.Match, bool) {
	if q.Key.Kind == store.ByTrace {
		p := &cp.parts[cp.partOf(q.Key.Trace)]
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.cache.Find(q)
	}
	var best store.Match
	var stats store.ConversationStats
	found := false
	for i := range cp.parts {
		p := &cp.parts[i]
		p.mu.Lock()
		m, ok := p.cache.Find(q)
		p.mu.Unlock()
		if !ok {
			continue
		}
		stats.Add(m.Conversation)
		if !found || m.Comp.EndUnixNano > best.Comp.EndUnixNano {
			best, found = m, true
		}
	}
	best.Conversation = stats
	return best, found
}

// expire runs the cache TTL in every part.
func (cp *cacheParts) expire(now int64) {
	for i := range cp.parts {
		p := &cp.parts[i]
		p.mu.Lock()
		p.cache.Expire(now)
		p.mu.Unlock()
	}
}

// sizes are the traces and completions cached in all parts.
func (cp *cacheParts) sizes() (traces, completions int) {
	for i := range cp.parts {
		p := &cp.parts[i]
		p.mu.Lock()
		traces += p.cache.Len()
		completions += p.cache.Completions()
		p.mu.Unlock()
	}
	return traces, completions
}

// snapshot encodes every part, one at a time, as one snapshot.
func (cp *cacheParts) snapshot(keyNames []string) []byte {
	var body []byte
	total := 0
	for i := range cp.parts {
		p := &cp.parts[i]
		var n int
		p.mu.Lock()
		body, n = p.cache.AppendTraces(body)
		p.mu.Unlock()
		total += n
	}
	return store.JoinSnapshot(keyNames, total, body)
}

// restore puts the traces of a snapshot back, each in its part (the number
// of parts may have changed since it was saved), and returns how many
// completions it restored.
func (cp *cacheParts) restore(b []byte, now int64, keyNames []string) (int, error) {
	traces, err := store.DecodeSnapshot(b, keyNames)
	restored := 0
	for i := range traces {
		t := &traces[i]
		p := &cp.parts[cp.partOf(t.ID)]
		p.mu.Lock()
		if p.cache.Restore(t.ID, t.LastSeen, t.Completions, t.AppKeysOf, now) {
			restored += len(t.Completions)
		}
		p.mu.Unlock()
	}
	return restored, err
}
