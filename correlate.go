package llmfeedbackprocessor

import (
	"context"
	"maps"
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
	// unmatchedRetry, in route mode: the retry of a record the router
	// passed on unaddressed, passed on the same way.
	unmatchedRetry = "retry"
)

// correlator is the state the traces side and the logs side share: the
// completion cache, split by trace id into parts each behind its own lock
// (shards.go), and the pending feedback and the ids already accepted, behind
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
	// persist is set at Start when a storage extension is configured;
	// startedAt is when, so records read back late can tell the ids
	// accepted since from those restored.
	persist   *persister
	startedAt int64
	// stopping is set by the first Shutdown of any side: from then on
	// feedback is handled at once, never held, since what drains held
	// records may already be gone.
	stopping atomic.Bool

	// Lock order: mu, then one cache part's lock (cachePart.mu) at a time.
	// The traces path takes a part's lock alone and mu only once it has
	// released it; no part's lock is held while mu is taken. The emitter's
	// and the persister's locks are never taken while any of them is held.
	cache *cacheParts
	mu    sync.Mutex // guards pending and seen
	// pending holds feedback waiting for its completion. waiting is its
	// length plus the records commit is about to park, which it reserves
	// before it looks them up in the cache: the traces path reads it
	// without mu, after caching a batch, to know whether anything might
	// wait for it (see commit).
	pending *store.Pending
	waiting atomic.Int64
	seen    *store.Seen
	// inFlight counts, by id, the batches that accepted it and have not
	// been delivered or refused yet; bounded by the batches in flight.
	inFlight map[store.SeenID]int
	// version counts changes to the cache, the dedupe window and the
	// route window, so an unchanged state is not saved again.
	version atomic.Uint64
	// routed, in route mode, is where each feedback id was addressed, so a
	// retry goes the same way (route.go). routedMu is taken alone.
	routedMu sync.Mutex
	routed   *store.Routed
}

// evictionReasons are the cache bounds whose cuts are counted per batch.
var evictionReasons = [...]string{store.ReasonMaxTraces, store.ReasonMaxPerTrace, store.ReasonMaxConversations}

// evictions counts what the cache bounds cut, by evictionReasons.
type evictions [len(evictionReasons)]int64

func (c *correlator) recordEvictions(e evictions) {
	for i, n := range e {
		c.tel.cacheEvictions(n, evictionReasons[i])
	}
}

func newCorrelator(cfg *Config, logger *zap.Logger, tel *telemetry, now func() time.Time) *correlator {
	c := &correlator{
		cfg:      cfg,
		logger:   logger,
		tel:      tel,
		now:      now,
		matcher:  feedback.NewMatcher(cfg.Feedback.EventNames),
		keys:     feedback.Keys{ByResponse: cfg.Join.ByResponseID, AppKeys: cfg.Join.Keys, ByConversation: cfg.Join.ByConversation},
		cache:    newCacheParts(cfg),
		pending:  store.NewPending(cfg.Pending.MaxRecords),
		seen:     store.NewSeen(int64(cfg.Feedback.DedupeTTL), cfg.Feedback.DedupeMaxIDs),
		inFlight: map[store.SeenID]int{},
	}
	c.enr = &enricher{cfg: cfg, truncated: func(reason string, n int) {
		tel.truncated(int64(n), reason)
	}}
	c.seen.OnEvict = func(n int) {
		tel.cacheEvictions(int64(n), store.ReasonMaxDedupeIDs)
	}
	if cfg.Mode == ModeRoute {
		c.routed = store.NewRouted(int64(cfg.Feedback.DedupeTTL), cfg.Feedback.DedupeMaxIDs)
		c.routed.OnEvict(c.seen.OnEvict)
	}
	c.emitter = newEmitter(c)
	return c
}

// expire runs the TTLs: completions and dedupe ids are forgotten, feedback
// whose wait is over is returned to be emitted unmatched (or dropped).
func (c *correlator) expire(now int64) []*store.PendingRecord {
	c.cache.expire(now)
	if c.routed != nil {
		c.routedMu.Lock()
		c.routed.Expire(now)
		c.routedMu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen.Expire(now)
	rs := c.pending.Expire(now)
	c.waiting.Store(int64(c.pending.Len()))
	return rs
}

// attachStorage restores the saved state and the held records and keeps
// p as the place to write them from now on.
func (c *correlator) attachStorage(ctx context.Context, p *persister) {
	state := p.restoreState(ctx)
	now := c.now().UnixNano()
	completions, errCache := c.cache.restore(state.cache, now, c.cfg.Join.Keys)
	c.mu.Lock()
	ids, errSeen := c.seen.RestoreSnapshot(state.seen, now)
	c.mu.Unlock()
	var errRouted error
	if c.routed != nil {
		c.routedMu.Lock()
		_, errRouted = c.routed.RestoreSnapshot(state.routed, now)
		c.routedMu.Unlock()
	}
	for key, err := range map[string]error{keyCache: errCache, keySeen: errSeen, keyRouted: errRouted} {
		if err != nil {
			p.failed(storageCorrupt, err, zap.String("key", key))
		}
	}
	c.logger.Info("restored state from storage", zap.Int("completions", completions), zap.Int("feedback_ids", ids))
	p.snapshot = c.snapshot
	p.recovered = func(rs []*store.PendingRecord) { c.restorePending(rs, true) }
	c.persist = p
	c.startedAt = c.now().UnixNano()
	c.restorePending(p.restorePending(ctx), false)
	p.start()
}

// snapshot encodes the cache, the dedupe window and, in route mode, the
// route window, unless nothing changed since version since.
// A change made while the parts are encoded one by one bumps the version
// past the one returned, so it is saved next time.
func (c *correlator) snapshot(since uint64) (version uint64, state savedState) {
	version = c.version.Load()
	if version == since {
		return since, savedState{}
	}
	state.cache = c.cache.snapshot(c.cfg.Join.Keys)
	if c.routed != nil {
		c.routedMu.Lock()
		state.routed = c.routed.MarshalSnapshot()
		c.routedMu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Ids of batches still in flight are left out: a crash before their
	// batch is acknowledged makes the client send it again, and that retry
	// must not be dropped as a duplicate of a try that never got through.
	state.seen = c.seen.MarshalSnapshot(maps.Keys(c.inFlight))
	return version, state
}

// restorePending takes back records read from storage: each is emitted
// once when the restored cache has their completion, else waiting again
// with the deadline they had. Their ids count as seen: a retry of the same
// feedback after the restart is a duplicate.
//
// late records were read back after the start, their keys unreadable
// then. If the same feedback was accepted meanwhile, since the start, the
// late copy is the duplicate: it is counted and deleted, not emitted. If
// the batch that accepted it is still with the next consumer, it may yet
// be refused and forgotten, so the late copy is left to be read again at
// the next try.
func (c *correlator) restorePending(rs []*store.PendingRecord, late bool) {
	var ready []readyRecord
	var overflow, doubles, again []*store.PendingRecord
	c.mu.Lock()
	for _, r := range rs {
		if r.Key.Kind == store.ByAppKey {
			r.Key.App = c.appKeyIndex(r.KeyName) // the configured keys may have changed
		}
		id := store.SeenID{Trace: r.DedupeScope(), ID: r.FeedbackID}
		if late && c.acceptedSinceStart(id) {
			if c.inFlight[id] > 0 {
				again = append(again, r)
			} else {
				doubles = append(doubles, r)
			}
			continue
		}
		c.waiting.Add(1) // reserved, as in commit
		switch m, ok := c.cache.find(r.Query()); {
		case ok:
			ready = append(ready, readyRecord{rec: r, match: m, matched: true})
		case !c.pending.Add(r):
			overflow = append(overflow, r)
		}
		c.seen.Accept(id.Trace, id.ID, r.Arrived)
	}
	c.waiting.Store(int64(c.pending.Len()))
	c.version.Add(1)
	c.mu.Unlock()
	for _, r := range doubles {
		c.persist.drop(r)
	}
	c.tel.feedbackDuplicates(int64(len(doubles)))
	c.persist.readAgain(again)
	c.emitter.enqueue(ready)
	c.tel.pendingOverflow(int64(len(overflow)))
	c.emitter.release(overflow, unmatchedOverflow)
}

// acceptedSinceStart reports whether id was accepted since the start, not
// restored with the saved window or a stored record; call with mu held.
func (c *correlator) acceptedSinceStart(id store.SeenID) bool {
	at, ok := c.seen.At(id.Trace, id.ID)
	return ok && at > c.startedAt
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
	rs := c.pending.Drain()
	c.waiting.Store(0)
	return rs
}

func (c *correlator) sizes() (traces, completions, pending int) {
	traces, completions = c.cache.sizes()
	c.mu.Lock()
	defer c.mu.Unlock()
	return traces, completions, c.pending.Len()
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
