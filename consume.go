package llmfeedbackprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

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
// (A router's route window keeps what it learned of a refused batch: see
// route.go.)
type logsBatch struct {
	accepted []store.SeenID         // ids taken into the dedupe window
	hold     []*store.PendingRecord // records to hold back once committed
	evals    []evalRequest          // evaluation events to append
	delays   []int64                // feedback delays of the records joined at once
	invalid  []string               // reasons of the records marked invalid
	counts   struct{ duplicates, overflow, stopping, addressed, retries int64 }
	// inFlight names an id another batch accepted and has not delivered
	// yet; this batch is refused, to be retried once that one's fate is
	// known (see consumeFeedback).
	inFlight string
}

// has reports whether the batch itself accepted id a.
func (b *logsBatch) has(a store.SeenID) bool {
	for _, x := range b.accepted {
		if x == a {
			return true
		}
	}
	return false
}

// consumeFeedback handles one feedback record of a batch in place, noting
// in b what must happen once the batch is delivered.
func (c *correlator) consumeFeedback(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, b *logsBatch) outcome {
	c.tel.feedbackReceived(1)
	if c.cfg.Mode == ModeRoute {
		return c.routeFeedback(rl, sl, lr, b)
	}
	f := c.keys.Parse(lr)
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
	q := queryOf(&f, now)

	// An id accepted by a batch that is still being delivered is not yet a
	// duplicate: that batch may be refused and rolled back, and the client
	// that sent it may have given up on it (this batch can be its retry).
	// So this batch is refused instead, and its retry decides.
	id := store.SeenID{Trace: dedupeScope(&f, &q), ID: f.ID}
	// In flight is asked first: the dedupe window may have let the id go
	// (feedback::dedupe_max_ids) while its batch is still out.
	c.mu.Lock()
	inFlight := c.inFlight[id] > 0 && !b.has(id)
	accepted := !inFlight && c.seen.Accept(id.Trace, f.ID, now)
	if accepted {
		c.inFlight[id]++
	}
	c.mu.Unlock()
	if inFlight {
		b.inFlight = f.ID
		return takeOut
	}
	if !accepted {
		b.counts.duplicates++
		return takeOut
	}
	b.accepted = append(b.accepted, id)
	c.version.Add(1)
	// A record not found here is looked up again in commit, where a
	// completion cached meanwhile cannot be missed.
	m, found := c.cache.find(q)
	held := int(c.waiting.Load())

	switch {
	case found:
		b.delays = append(b.delays, c.enr.markMatched(lr, &f, &m, now))
		if c.cfg.Output.EvaluationEvent {
			b.evals = append(b.evals, evalRequest{dst: sl.LogRecords(), rec: lr, comp: m.Comp})
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
	c.enr.normalize(lr, true, 0)
	data, err := encodeRecord(rl, sl, lr)
	if err != nil {
		// Cannot happen for a record that came in as pdata; emit it rather than lose it.
		c.logger.Error("cannot encode feedback to hold it; emitting it unmatched", zap.String("id", f.ID), zap.Error(err))
		c.enr.markUnmatched(lr, &f)
		b.counts.overflow++
		return passOn
	}
	b.hold = append(b.hold, c.pendingRecord(&f, &q, id.Trace, now, data))
	return takeOut
}

// pendingRecord is f held back until q finds its completion or the wait
// runs out; data is the record as encodeRecord wrote it.
func (c *correlator) pendingRecord(f *feedback.Feedback, q *store.Query, scope pcommon.TraceID, now int64, data []byte) *store.PendingRecord {
	return &store.PendingRecord{
		Key:        q.Key,
		Scope:      scope,
		KeyName:    f.Key.Name,
		KeyValue:   q.Value,
		At:         q.At,
		TraceID:    f.TraceID,
		FeedbackID: f.ID,
		Selector:   q.Selector,
		Arrived:    now,
		Deadline:   now + int64(c.cfg.Pending.TTL),
		Data:       data,
	}
}

// dedupeScope is what f's id is unique within (store.JoinKey.DedupeScope).
// A record that a routing tier addressed to its completion's trace, having
// found the completion by another key (f.RoutedBy), keeps that key's
// scope: one id about two response ids (or app key values) of one trace is
// two records behind a router, as it is without one.
func dedupeScope(f *feedback.Feedback, q *store.Query) pcommon.TraceID {
	if f.RoutedBy.Kind != store.ByTrace {
		return keyOf(f.RoutedBy).DedupeScope(f.RoutedBy.Name)
	}
	return q.Key.DedupeScope(f.Key.Name)
}

// queryOf is what f looks for in the cache. A record with no time of its
// own picks the conversation's turn by the time it arrived.
func queryOf(f *feedback.Feedback, now int64) store.Query {
	q := store.Query{Value: f.Key.Value, At: f.Time}
	if q.At == 0 {
		q.At = now
	}
	if f.Key.Kind == store.ByTrace {
		q.Key = store.TraceKey(f.TraceID)
		q.Selector = store.Selector{SpanID: f.SpanID, ResponseID: f.ResponseID}
	} else {
		q.Key = keyOf(f.Key)
	}
	return q
}

// keyOf is the store's key of a key other than a trace id.
func keyOf(k feedback.JoinKey) store.JoinKey {
	return store.JoinKey{Kind: k.Kind, App: uint8(k.App), Hash: store.HashValue(k.Value)}
}

// feedbackOf is the Feedback of a held record, as parsed when it arrived.
func feedbackOf(r *store.PendingRecord, lr plog.LogRecord) feedback.Feedback {
	return feedback.Feedback{
		Key:        feedback.JoinKey{Kind: r.Key.Kind, App: int(r.Key.App), Name: r.KeyName, Value: r.KeyValue},
		TraceID:    r.TraceID,
		SpanID:     r.Selector.SpanID,
		ResponseID: r.Selector.ResponseID,
		ID:         r.FeedbackID,
		Time:       feedback.TimeOf(lr),
	}
}

// commit makes a delivered batch's changes stick: its held records wait
// for their completion (or are joined now, if it came meanwhile) and are
// written to storage; its outcomes are counted.
//
// It returns the storage sequence number of the last record it held, 0 when
// it held none in storage: see persister.waitTried.
//
// The batch's ids stay in flight (see settle) until the caller settles
// them, once what commit stored is written.
func (c *correlator) commit(b *logsBatch) (lastStored uint64) {
	tel := c.tel
	for _, d := range b.delays {
		c.tel.feedbackMatched(false, d)
	}
	for _, reason := range b.invalid {
		tel.feedbackInvalid(reason)
	}
	tel.feedbackAddressed(false, b.counts.addressed)
	tel.feedbackDuplicates(b.counts.duplicates)
	tel.pendingOverflow(b.counts.overflow)
	tel.feedbackUnmatched(b.counts.overflow, unmatchedOverflow)
	tel.feedbackUnmatched(b.counts.stopping, unmatchedShutdown)
	tel.feedbackUnmatched(b.counts.retries, unmatchedRetry)
	if len(b.hold) == 0 {
		return 0
	}
	var ready []readyRecord
	// toStore are kept on disk until delivered: the held, and those found
	// as the batch is committed (the completion came while the batch was
	// with the next consumer), which the batch is acknowledged before the
	// emitter sends.
	var overflow, toStore, late []*store.PendingRecord
	// The records are counted in waiting before they are looked up. A
	// completion for one of them is either cached in its part before the
	// lookup takes that part's lock, and found, or after, and then the
	// traces path, which reads waiting once its batch is cached, sees the
	// reservation and comes for the record under mu, which it gets once the
	// record is parked. So no record is parked unnoticed after its
	// completion came.
	c.mu.Lock()
	c.waiting.Add(int64(len(b.hold)))
	for _, r := range b.hold {
		switch m, ok := c.cache.find(r.Query()); {
		case ok:
			ready = append(ready, readyRecord{rec: r, match: m, matched: true})
			toStore = append(toStore, r)
		case c.stopping.Load():
			// Stop began while the batch was delivered: the emitter may
			// have drained what waits already, so this one goes out now.
			late = append(late, r)
		case c.pending.Add(r):
			toStore = append(toStore, r)
		default:
			overflow = append(overflow, r)
		}
	}
	c.waiting.Store(int64(c.pending.Len()))
	c.mu.Unlock()
	for _, r := range toStore {
		lastStored = max(lastStored, c.persist.store(r))
	}
	c.emitter.enqueue(ready)
	c.tel.pendingOverflow(int64(len(overflow)))
	c.emitter.release(overflow, unmatchedOverflow)
	c.emitter.release(late, unmatchedShutdown)
	return lastStored
}

// rollback undoes what a refused batch did: its ids are forgotten, so the
// caller's retry is not taken for a duplicate; its records are not held.
func (c *correlator) rollback(b *logsBatch) {
	c.settle(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range b.accepted {
		c.seen.Forget(a.Trace, a.ID)
	}
}

// settle marks the batch's ids as no longer in flight.
func (c *correlator) settle(b *logsBatch) {
	if len(b.accepted) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range b.accepted {
		if c.inFlight[a]--; c.inFlight[a] <= 0 {
			delete(c.inFlight, a)
		}
	}
	// A snapshot saved while they were in flight left them out: the next
	// one must be saved even if nothing else changes.
	c.version.Add(1)
}

type evalRequest struct {
	dst  plog.LogRecordSlice
	rec  plog.LogRecord
	comp genai.Completion
}
