package llmfeedbackprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// Unmatched reasons, as the metric attribute.
const (
	unmatchedExpired  = "expired"
	unmatchedOverflow = "overflow"
	unmatchedShutdown = "shutdown"
)

// correlator is the state the traces side and the logs side share: the
// completion cache, the pending feedback and the ids already accepted, behind
// one lock. One exists per *Config (see shared.go): created by the first
// create call, started by the first Start, stopped by the first Shutdown.
type correlator struct {
	cfg     *Config
	logger  *zap.Logger
	tel     *telemetry
	now     func() time.Time
	matcher feedback.Matcher
	keys    feedback.Keys
	enr     *enricher
	emitter *emitter
	// persist is set at Start when a storage extension is configured.
	persist *persister
	// stopping is set by the first Shutdown of any side: from then on
	// feedback is handled at once, never held, since what drains held
	// records may already be gone.
	stopping atomic.Bool

	// Lock order: mu is taken before nothing else; the emitter's and the
	// persister's locks are never taken while it is held.
	mu      sync.Mutex
	cache   *store.Cache
	pending *store.Pending
	seen    *store.Seen
	// version counts changes to the cache and the dedupe window, so an
	// unchanged state is not saved again.
	version uint64
	// evicted counts what the bounds cut since the last recordEvictions.
	evicted evictions
}

// evictionReasons are the cache bounds whose cuts are counted per batch.
var evictionReasons = [...]string{store.ReasonMaxTraces, store.ReasonMaxPerTrace, store.ReasonMaxConversations}

// evictions counts what the cache bounds cut, by evictionReasons.
type evictions [len(evictionReasons)]int64

// takeEvictions returns and resets the eviction counts; call with c.mu held.
func (c *correlator) takeEvictions() evictions {
	e := c.evicted
	c.evicted = evictions{}
	return e
}

func (c *correlator) recordEvictions(e evictions) {
	for i, n := range e {
		c.tel.add(c.tel.tb.ProcessorLlmFeedbackCacheEvictions, n, c.tel.attr("reason", evictionReasons[i]))
	}
}

func newCorrelator(cfg *Config, logger *zap.Logger, tel *telemetry, now func() time.Time) *correlator {
	c := &correlator{
		cfg:     cfg,
		logger:  logger,
		tel:     tel,
		now:     now,
		matcher: feedback.NewMatcher(cfg.Feedback.EventNames),
		keys:    feedback.Keys{ByResponse: cfg.Join.ByResponseID, AppKeys: cfg.Join.Keys, ByConversation: cfg.Join.ByConversation},
		cache: store.NewCache(int64(cfg.Cache.TTL), cfg.Cache.MaxTraces, cfg.Cache.MaxCompletionsPerTrace, store.IndexOptions{
			ByResponse:       cfg.Join.ByResponseID,
			ByConversation:   cfg.Join.ByConversation,
			AppKeys:          len(cfg.Join.Keys),
			MaxConversations: cfg.Join.MaxConversations,
		}),
		pending: store.NewPending(cfg.Pending.MaxRecords),
		seen:    store.NewSeen(int64(cfg.Feedback.DedupeTTL), cfg.Feedback.DedupeMaxIDs),
	}
	c.enr = &enricher{cfg: cfg, truncated: func(reason string, n int) {
		tel.add(tel.tb.ProcessorLlmFeedbackTruncated, int64(n), tel.attr("reason", reason))
	}}
	// Evictions happen under the lock, one completion at a time when the
	// cache is full; they are counted here and recorded once per batch.
	c.cache.OnEvict = func(reason string, n int) {
		for i, r := range evictionReasons {
			if r == reason {
				c.evicted[i] += int64(n)
			}
		}
	}
	c.seen.OnEvict = func(n int) {
		tel.add(tel.tb.ProcessorLlmFeedbackCacheEvictions, int64(n), tel.attr("reason", store.ReasonMaxDedupeIDs))
	}
	c.emitter = newEmitter(c)
	return c
}

func (c *correlator) recordMatch(join string, delayMs int64) {
	c.tel.add(c.tel.tb.ProcessorLlmFeedbackFeedbackMatched, 1, c.tel.attr("join", join))
	if delayMs < 0 {
		delayMs = 0
	}
	c.tel.tb.ProcessorLlmFeedbackFeedbackDelay.Record(context.Background(), float64(delayMs))
}

// expire runs the TTLs: completions and dedupe ids are forgotten, feedback
// whose wait is over is returned to be emitted unmatched (or dropped).
func (c *correlator) expire(now int64) []*store.PendingRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cache.Expire(now)
	c.seen.Expire(now)
	return c.pending.Expire(now)
}

// attachStorage restores the saved state and the held records and keeps
// p as the place to write them from now on.
func (c *correlator) attachStorage(ctx context.Context, p *persister) {
	cache, seen := p.restoreState(ctx)
	now := c.now().UnixNano()
	c.mu.Lock()
	completions, errCache := c.cache.RestoreSnapshot(cache, now, c.cfg.Join.Keys)
	ids, errSeen := c.seen.RestoreSnapshot(seen, now)
	c.mu.Unlock()
	for key, err := range map[string]error{keyCache: errCache, keySeen: errSeen} {
		if err != nil {
			p.failed(storageCorrupt, err, zap.String("key", key))
		}
	}
	c.logger.Info("restored state from storage", zap.Int("completions", completions), zap.Int("feedback_ids", ids))
	p.snapshot = c.snapshot
	p.recovered = c.restorePending
	c.persist = p
	c.restorePending(p.restorePending(ctx))
	p.start()
}

// snapshot encodes the cache and the dedupe window, unless nothing changed
// since version since.
func (c *correlator) snapshot(since uint64) (version uint64, cache, seen []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.version == since {
		return since, nil, nil
	}
	return c.version, c.cache.MarshalSnapshot(c.cfg.Join.Keys), c.seen.MarshalSnapshot()
}

// restorePending puts records read back from storage in place: joined at
// once when the restored cache has their completion, else waiting again
// with the deadline they had. Their ids count as seen: a retry of the same
// feedback after the restart is a duplicate.
func (c *correlator) restorePending(rs []*store.PendingRecord) {
	var ready []readyRecord
	var overflow []*store.PendingRecord
	c.mu.Lock()
	for _, r := range rs {
		if r.Key.Kind == store.ByAppKey {
			r.Key.App = c.appKeyIndex(r.KeyName) // the configured keys may have changed
		}
		switch m, ok := c.cache.Find(r.Query()); {
		case ok:
			ready = append(ready, readyRecord{rec: r, match: m, matched: true})
		case !c.pending.Add(r):
			overflow = append(overflow, r)
		}
		c.seen.Accept(r.TraceID, r.FeedbackID, r.Arrived)
	}
	c.version++
	c.mu.Unlock()
	c.emitter.enqueue(ready)
	c.emitter.release(overflow, unmatchedOverflow)
}

// appKeyIndex is where name is in join::keys; past the end when it is no
// longer there, which no completion is indexed under.
func (c *correlator) appKeyIndex(name string) uint8 {
	for i, k := range c.cfg.Join.Keys {
		if k == name {
			return uint8(i)
		}
	}
	return maxJoinKeys
}

// drainPending takes every waiting record, for shutdown.
func (c *correlator) drainPending() []*store.PendingRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending.Drain()
}

func (c *correlator) sizes() (traces, completions, pending int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cache.Len(), c.cache.Completions(), c.pending.Len()
}

// setNext gives the correlator the logs pipeline's next consumer, which the
// background emitter hands delayed feedback to.
func (c *correlator) setNext(next consumer.Logs) { c.emitter.next = next }

// encodeRecord keeps a held record with its resource and scope as OTLP bytes.
func encodeRecord(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) ([]byte, error) {
	ld := plog.NewLogs()
	orl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().CopyTo(orl.Resource())
	orl.SetSchemaUrl(rl.SchemaUrl())
	osl := orl.ScopeLogs().AppendEmpty()
	sl.Scope().CopyTo(osl.Scope())
	osl.SetSchemaUrl(sl.SchemaUrl())
	lr.CopyTo(osl.LogRecords().AppendEmpty())
	var m plog.ProtoMarshaler
	return m.MarshalLogs(ld)
}
