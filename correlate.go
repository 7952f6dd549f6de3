package llmfeedbackprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
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
	evicted struct{ maxTraces, maxPerTrace int64 }
}

// completionsPool recycles the slice a batch's completions are gathered in.
var completionsPool = sync.Pool{New: func() any { return new([]found) }}

type found struct {
	trace pcommon.TraceID
	comp  genai.Completion
}

// takeEvictions returns and resets the eviction counts; call with c.mu held.
func (c *correlator) takeEvictions() (maxTraces, maxPerTrace int64) {
	maxTraces, maxPerTrace = c.evicted.maxTraces, c.evicted.maxPerTrace
	c.evicted.maxTraces, c.evicted.maxPerTrace = 0, 0
	return maxTraces, maxPerTrace
}

func (c *correlator) recordEvictions(maxTraces, maxPerTrace int64) {
	if maxTraces > 0 {
		c.tel.add(c.tel.tb.ProcessorLlmFeedbackCacheEvictions, maxTraces, c.tel.attr("reason", store.ReasonMaxTraces))
	}
	if maxPerTrace > 0 {
		c.tel.add(c.tel.tb.ProcessorLlmFeedbackCacheEvictions, maxPerTrace, c.tel.attr("reason", store.ReasonMaxPerTrace))
	}
}

func newCorrelator(cfg *Config, logger *zap.Logger, tel *telemetry, now func() time.Time) *correlator {
	c := &correlator{
		cfg:     cfg,
		logger:  logger,
		tel:     tel,
		now:     now,
		matcher: feedback.NewMatcher(cfg.Feedback.EventNames),
		cache:   store.NewCache(int64(cfg.Cache.TTL), cfg.Cache.MaxTraces, cfg.Cache.MaxCompletionsPerTrace),
		pending: store.NewPending(cfg.Pending.MaxRecords),
		seen:    store.NewSeen(int64(cfg.Feedback.DedupeTTL), cfg.Feedback.DedupeMaxIDs),
	}
	c.enr = &enricher{cfg: cfg, truncated: func(reason string, n int) {
		tel.add(tel.tb.ProcessorLlmFeedbackTruncated, int64(n), tel.attr("reason", reason))
	}}
	// Evictions happen under the lock, one completion at a time when the
	// cache is full; they are counted here and recorded once per batch.
	c.cache.OnEvict = func(reason string, n int) {
		switch reason {
		case store.ReasonMaxTraces:
			c.evicted.maxTraces += int64(n)
		case store.ReasonMaxPerTrace:
			c.evicted.maxPerTrace += int64(n)
		}
	}
	c.seen.OnEvict = func(n int) {
		tel.add(tel.tb.ProcessorLlmFeedbackCacheEvictions, int64(n), tel.attr("reason", store.ReasonMaxDedupeIDs))
	}
	c.emitter = newEmitter(c)
	return c
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
				if genai.Read(span, rs.Resource(), &memo, &comp) {
					if completions == nil {
						pooled = completionsPool.Get().(*[]found)
						completions = (*pooled)[:0]
					}
					completions = append(completions, found{span.TraceID(), comp})
				}
			}
		}
	}
	if len(completions) == 0 {
		return
	}
	now := c.now().UnixNano()
	var ready []readyRecord
	truncated := 0
	c.mu.Lock()
	c.version++
	for _, f := range completions {
		if f.comp.Truncated() {
			truncated++
		}
		c.cache.Add(f.trace, f.comp, now)
	}
	// Held feedback is joined only once the whole batch is cached, so that
	// feedback naming just the trace gets the completion that ended last, as
	// it would have had it come after the spans.
	for i, f := range completions {
		if c.pending.Len() == 0 {
			break // the usual case: nothing is waiting
		}
		if i > 0 && completions[i-1].trace == f.trace {
			continue // a trace's spans are mostly adjacent: resolved already
		}
		waiting := c.pending.ForTrace(f.trace)
		if len(waiting) == 0 {
			continue
		}
		var hit []*store.PendingRecord
		for _, r := range waiting {
			if comp, ok := c.cache.Lookup(f.trace, r.Selector); ok {
				ready = append(ready, readyRecord{rec: r, comp: comp, matched: true})
				hit = append(hit, r)
			}
		}
		for _, r := range hit {
			c.pending.Remove(r)
		}
	}
	maxTraces, maxPerTrace := c.takeEvictions()
	c.mu.Unlock()
	c.recordEvictions(maxTraces, maxPerTrace)
	c.tel.add(c.tel.tb.ProcessorLlmFeedbackCompletionsSeen, int64(len(completions)))
	if truncated > 0 {
		c.tel.add(c.tel.tb.ProcessorLlmFeedbackTruncated, int64(truncated), c.tel.attr("reason", "completion_field"))
	}
	clear(completions) // drop the strings, so the pool keeps no cached data alive
	*pooled = completions
	completionsPool.Put(pooled)
	if len(ready) > 0 {
		c.emitter.enqueue(ready)
	}
}

// outcome of one feedback record on the synchronous logs path.
type outcome uint8

const (
	passOn  outcome = iota // rewritten in place, goes on with its batch
	takeOut                // held back or dropped as a duplicate
)

// logsBatch is what one ConsumeLogs call did to the shared state, kept until
// the next consumer answers: committed when it took the batch, rolled back
// when it refused it, so that a refused batch leaves no trace (nothing held,
// stored or remembered as seen) and the caller's retry is handled afresh.
type logsBatch struct {
	accepted []acceptedID           // ids taken into the dedupe window
	hold     []*store.PendingRecord // records to hold back once committed
	evals    []evalRequest          // evaluation events to append
	delays   []int64                // feedback delays of the records joined at once
	invalid  []string               // reasons of the records marked invalid
	counts   struct{ duplicates, overflow, stopping int64 }
}

// consumeFeedback handles one feedback record of a batch in place, noting
// in b what must happen once the batch is delivered.
func (c *correlator) consumeFeedback(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, b *logsBatch) outcome {
	tel := c.tel
	tel.add(tel.tb.ProcessorLlmFeedbackFeedbackReceived, 1)
	f := feedback.Parse(lr)
	if !f.Valid() {
		c.enr.markInvalid(lr, &f)
		b.invalid = append(b.invalid, f.Reason)
		return passOn
	}
	if f.ID == "" {
		f.ID = feedback.DeriveID(lr)
		lr.Attributes().PutStr(feedback.AttrID, f.ID)
	}
	now := c.now().UnixNano()
	sel := store.Selector{SpanID: f.SpanID, ResponseID: f.ResponseID}

	c.mu.Lock()
	if !c.seen.Accept(f.TraceID, f.ID, now) {
		c.mu.Unlock()
		b.counts.duplicates++
		return takeOut
	}
	b.accepted = append(b.accepted, acceptedID{trace: f.TraceID, id: f.ID})
	c.version++
	comp, found := c.cache.Lookup(f.TraceID, sel)
	held := c.pending.Len()
	c.mu.Unlock()

	switch {
	case found:
		b.delays = append(b.delays, c.enr.markMatched(lr, &f, &comp, now))
		if c.cfg.Output.EvaluationEvent {
			b.evals = append(b.evals, evalRequest{dst: sl.LogRecords(), rec: lr, comp: comp})
		}
		return passOn
	case c.stopping.Load():
		// Nothing would drain it any more: out it goes now.
		c.enr.markUnmatched(lr, &f)
		b.counts.stopping++
		return passOn
	case held+c.emitter.queued()+len(b.hold) >= c.cfg.Pending.MaxRecords:
		c.enr.markUnmatched(lr, &f)
		b.counts.overflow++
		return passOn
	}
	c.enr.normalize(lr, true)
	data, err := encodeRecord(rl, sl, lr)
	if err != nil {
		// Cannot happen for a record that came in as pdata; emit it rather than lose it.
		c.logger.Error("cannot encode feedback to hold it; emitting it unmatched", zap.String("id", f.ID), zap.Error(err))
		c.enr.markUnmatched(lr, &f)
		b.counts.overflow++
		return passOn
	}
	b.hold = append(b.hold, &store.PendingRecord{
		TraceID:    f.TraceID,
		FeedbackID: f.ID,
		Selector:   sel,
		Arrived:    now,
		Deadline:   now + int64(c.cfg.Pending.TTL),
		Data:       data,
	})
	return takeOut
}

// commit makes a delivered batch's changes stick: its held records wait
// for their completion (or are joined now, if it came meanwhile) and are
// written to storage; its outcomes are counted.
func (c *correlator) commit(b *logsBatch) {
	tel := c.tel
	for _, d := range b.delays {
		c.recordMatch("immediate", d)
	}
	for _, reason := range b.invalid {
		tel.add(tel.tb.ProcessorLlmFeedbackFeedbackInvalid, 1, tel.attr("reason", reason))
	}
	tel.add(tel.tb.ProcessorLlmFeedbackFeedbackDuplicates, b.counts.duplicates)
	tel.add(tel.tb.ProcessorLlmFeedbackPendingOverflow, b.counts.overflow)
	tel.add(tel.tb.ProcessorLlmFeedbackFeedbackUnmatched, b.counts.overflow, tel.attr("reason", unmatchedOverflow))
	tel.add(tel.tb.ProcessorLlmFeedbackFeedbackUnmatched, b.counts.stopping, tel.attr("reason", unmatchedShutdown))
	if len(b.hold) == 0 {
		return
	}
	var ready []readyRecord
	var overflow, held []*store.PendingRecord
	c.mu.Lock()
	for _, r := range b.hold {
		switch comp, ok := c.cache.Lookup(r.TraceID, r.Selector); {
		case ok:
			ready = append(ready, readyRecord{rec: r, comp: comp, matched: true})
		case c.pending.Add(r):
			held = append(held, r)
		default:
			overflow = append(overflow, r)
		}
	}
	c.mu.Unlock()
	for _, r := range held {
		c.persist.store(r)
	}
	c.emitter.enqueue(ready)
	c.emitter.release(overflow, unmatchedOverflow)
}

// rollback undoes what a refused batch did: its ids are forgotten, so the
// caller's retry is not taken for a duplicate; its records are not held.
func (c *correlator) rollback(b *logsBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range b.accepted {
		c.seen.Forget(a.trace, a.id)
	}
}

type acceptedID struct {
	trace pcommon.TraceID
	id    string
}

type evalRequest struct {
	dst  plog.LogRecordSlice
	rec  plog.LogRecord
	comp genai.Completion
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
	completions, errCache := c.cache.RestoreSnapshot(cache, now)
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
	return c.version, c.cache.MarshalSnapshot(), c.seen.MarshalSnapshot()
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
		switch comp, ok := c.cache.Lookup(r.TraceID, r.Selector); {
		case ok:
			ready = append(ready, readyRecord{rec: r, comp: comp, matched: true})
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
