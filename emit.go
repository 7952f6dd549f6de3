package llmfeedbackprocessor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// readyRecord is held feedback on its way out: joined to match when
// matched, else unmatched for reason.
type readyRecord struct {
	rec     *store.PendingRecord
	match   store.Match
	matched bool
	reason  string
	// giveUp is when retries stop; set when the record is first queued.
	giveUp int64
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
	// emitLinger is how long records released together wait for others
	// before they go out in one batch: feedback held for its completion is
	// released by the batch of spans that brings it, mostly one record at a
	// time, and each call to the next consumer costs an exporter far more
	// than a record does (the file exporter: one write per call).
	emitLinger = 50 * time.Millisecond
)

// emitter is the background side of the logs pipeline: it runs the TTLs on a
// ticker and hands held feedback, once joined or expired, to the next
// consumer. When that consumer refuses, it retries with backoff until the
// record's deadline plus pending.retry_grace (at once for a permanent
// error), then counts and logs it. Records waiting here count toward
// pending.max_records with those waiting for their completion, so a refusing
// consumer cannot make it grow with the inflow.
//
// Lifecycle: start once (first Start of either side), stop once (the logs
// side's Shutdown); see stop for what happens to what is still held.
type emitter struct {
	c    *correlator
	next consumer.Logs

	mu      sync.Mutex // taken alone, never with correlator.mu or a cache part's lock held
	queue   []readyRecord
	backoff time.Duration
	retryAt time.Time
	size    atomic.Int64 // len(queue), read without the lock

	linger   time.Duration // emitLinger; tests lengthen it
	wake     chan struct{}
	quit     chan struct{} // closed by stop: the loop ends after what it is doing
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
	stopped  atomic.Bool // stop is at its last flush: enqueue hands out at once
}

func newEmitter(c *correlator) *emitter {
	return &emitter{c: c, linger: emitLinger, wake: make(chan struct{}, 1)}
}

// queued is how many records wait to be emitted.
func (e *emitter) queued() int { return int(e.size.Load()) }

// enqueue queues records to emit and wakes the loop.
func (e *emitter) enqueue(rs []readyRecord) {
	if len(rs) == 0 {
		return
	}
	grace := int64(e.c.cfg.Pending.RetryGrace)
	now := e.c.now().UnixNano()
	e.mu.Lock()
	for _, r := range rs {
		r.giveUp = max(r.rec.Deadline, now) + grace
		e.queue = append(e.queue, r)
	}
	e.size.Store(int64(len(e.queue)))
	e.mu.Unlock()
	if e.stopped.Load() {
		// No loop drains the queue any more: hand it out now.
		ctx, cancel := context.WithTimeout(context.Background(), e.c.cfg.Pending.ShutdownTimeout)
		defer cancel()
		e.lastFlush(ctx)
		return
	}
	e.signal()
}

func (e *emitter) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// tickInterval is how often TTLs are checked: a tenth of the shortest TTL,
// between 10ms and 1s, so expiry is at most that late.
func tickInterval(cfg *Config) time.Duration {
	d := min(cfg.Pending.TTL, cfg.Cache.TTL) / 10
	return min(max(d, 10*time.Millisecond), time.Second)
}

func (e *emitter) start() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.quit = cancel, make(chan struct{})
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ticker := time.NewTicker(tickInterval(e.c.cfg))
		defer ticker.Stop()
		linger := time.NewTimer(e.linger)
		linger.Stop()
		defer linger.Stop()
		lingering := false
		for {
			select {
			case <-e.quit:
				return
			case <-ticker.C:
				if lingering { // the linger's end flushes
					e.expire()
				} else {
					e.tick(ctx)
				}
			case <-e.wake:
				if !lingering {
					linger.Reset(e.linger)
					lingering = true
				}
			case <-linger.C:
				lingering = false
				e.flush(ctx)
			}
		}
	}()
}

// tick runs the TTLs and emits what expired.
func (e *emitter) tick(ctx context.Context) {
	e.expire()
	e.flush(ctx)
}

// expire runs the TTLs and queues what expired.
func (e *emitter) expire() {
	expired := e.c.expire(e.c.now().UnixNano())
	e.release(expired, unmatchedExpired)
}

// release queues held records that will not be joined: as unmatched, or
// dropped when they expired and pending.on_expiry is drop.
func (e *emitter) release(rs []*store.PendingRecord, reason string) {
	if len(rs) == 0 {
		return
	}
	// In route mode an expired record goes on unaddressed (route.go), for
	// the joining tier to judge; dropping is the joining tier's choice.
	if reason == unmatchedExpired && e.c.cfg.Pending.OnExpiry == OnExpiryDrop && e.c.cfg.Mode == ModeJoin {
		e.c.tel.feedbackDropped(int64(len(rs)))
		for _, r := range rs {
			e.c.logger.Debug("dropping feedback whose completion never came", zap.String("id", r.FeedbackID), zap.String("trace_id", r.TraceID.String()))
			e.c.persist.drop(r)
		}
		return
	}
	out := make([]readyRecord, len(rs))
	for i, r := range rs {
		out[i] = readyRecord{rec: r, reason: reason}
	}
	e.enqueue(out)
}

// take empties the queue, unless a retry is not due yet (and force is off).
func (e *emitter) take(force bool) []readyRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	// Backoff runs on the wall clock: it paces calls to a real consumer,
	// whereas deadlines follow the correlator's clock.
	if len(e.queue) == 0 || (!force && time.Now().Before(e.retryAt)) {
		return nil
	}
	batch := e.queue
	e.queue = nil
	e.size.Store(0)
	return batch
}

// flush sends everything queued in one batch, unless a retry is not due yet.
func (e *emitter) flush(ctx context.Context) {
	if batch := e.take(false); len(batch) > 0 {
		if refused, err := e.send(ctx, batch); err != nil {
			e.retry(refused, err)
		}
	}
}

// send hands batch to the next consumer. It returns the records to try
// again, with the consumer's error, when it refused them; delivered records
// are counted and deleted from storage.
func (e *emitter) send(ctx context.Context, batch []readyRecord) ([]readyRecord, error) {
	if e.next == nil {
		e.c.logger.Warn("llm_feedback is not in a logs pipeline; feedback held back cannot be emitted")
		e.fail(batch, "no logs pipeline")
		return nil, nil
	}
	ld, built, delays := e.build(batch)
	if len(built) == 0 {
		return nil, nil
	}
	if err := e.next.ConsumeLogs(ctx, ld); err != nil {
		return built, err
	}
	e.mu.Lock()
	e.backoff, e.retryAt = 0, time.Time{}
	e.mu.Unlock()
	for i, r := range built {
		switch {
		case r.matched && e.c.cfg.Mode == ModeRoute:
			e.c.tel.feedbackAddressed(true, 1)
		case r.matched:
			e.c.tel.feedbackMatched(true, delays[i])
		default:
			e.c.tel.feedbackUnmatched(1, r.reason)
		}
		e.c.persist.drop(r.rec)
	}
	return nil, nil
}

// retry puts a refused batch back, minus what is past its grace or was
// refused for good.
func (e *emitter) retry(batch []readyRecord, err error) {
	now := e.c.now().UnixNano()
	permanent := consumererror.IsPermanent(err)
	var again, lost []readyRecord
	for _, r := range batch {
		if permanent || now >= r.giveUp {
			lost = append(lost, r)
		} else {
			again = append(again, r)
		}
	}
	e.mu.Lock()
	e.queue = append(again, e.queue...)
	e.size.Store(int64(len(e.queue)))
	e.backoff = min(max(2*e.backoff, minBackoff), maxBackoff)
	e.retryAt = time.Now().Add(e.backoff)
	backoff := e.backoff
	e.mu.Unlock()
	e.c.logger.Info("next consumer refused held-back feedback; retrying", zap.Int("records", len(again)), zap.Duration("backoff", backoff), zap.Error(err))
	// Given up while running, a record leaves storage too: kept there it
	// would pin the stored range, and every restart would read it again.
	for _, r := range lost {
		e.c.persist.drop(r.rec)
	}
	e.fail(lost, err.Error())
	if len(again) > 0 {
		time.AfterFunc(backoff, e.signal)
	}
}

// fail counts and logs, with each id, records that could not be delivered.
func (e *emitter) fail(rs []readyRecord, why string) {
	if len(rs) == 0 {
		return
	}
	e.c.tel.emitFailures(int64(len(rs)))
	for _, r := range rs {
		e.c.logger.Error("feedback could not be delivered to the next consumer", zap.String("id", r.rec.FeedbackID), zap.String("trace_id", r.rec.TraceID.String()), zap.String("error", why))
	}
}

// build decodes each held record and rewrites it with the ids parsed when
// it arrived. It returns the records it built, in the order of the output,
// and the delays of the matched ones, for the histogram once delivered. A
// record that cannot be decoded is counted as a failure and left in
// storage; none can get here (encodeRecord wrote every held record, and
// UnmarshalPending turns away a stored one that does not decode).
func (e *emitter) build(batch []readyRecord) (plog.Logs, []readyRecord, []int64) {
	out := plog.NewLogs()
	built := make([]readyRecord, 0, len(batch))
	delays := make([]int64, 0, len(batch))
	now := e.c.now().UnixNano()
	var u plog.ProtoUnmarshaler
	for _, r := range batch {
		ld, err := u.UnmarshalLogs(r.rec.Data)
		if err != nil || ld.LogRecordCount() != 1 {
			e.c.logger.Error("cannot decode held-back feedback; it stays in storage", zap.String("id", r.rec.FeedbackID), zap.Error(err))
			e.fail([]readyRecord{r}, "cannot decode the held record")
			continue
		}
		sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
		lr := sl.LogRecords().At(0)
		f := feedbackOf(r.rec, lr)
		var delay int64
		if e.c.cfg.Mode == ModeRoute {
			// Unaddressed (r.match is zero) for the joining tier to judge,
			// unless a try of it went another way meanwhile: so does this one.
			addressed := e.c.route(lr, &f, r.rec.DedupeScope(), &r.match)
			if r.matched && !addressed {
				r.reason = unmatchedRetry
			}
			r.matched = addressed
		} else if r.matched {
			delay = e.c.enr.markMatched(lr, &f, &r.match, now)
			if e.c.cfg.Output.EvaluationEvent {
				evaluation(sl.LogRecords(), lr, &r.match.Comp)
			}
		} else {
			e.c.enr.markUnmatched(lr, &f)
		}
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		built = append(built, r)
		delays = append(delays, delay)
	}
	return out, built, delays
}

// stop ends the loop and hands out what is still held. Without storage,
// records still waiting for their completion are emitted unmatched; with
// storage, those on disk stay there, their TTL going on, to be joined after
// the restart, and only those the disk does not have are emitted. The last
// flush is retried while the consumer refuses, until pending.shutdown_timeout
// or ctx ends; what is left then is counted and logged with each id.
func (e *emitter) stop(ctx context.Context) {
	e.stopOnce.Do(func() {
		// The queued writes are tried until half the budget is gone at
		// most, counted from here: a disk that hangs must leave the last
		// flush time to send what it did not take.
		syncBy := time.Now().Add(e.c.cfg.Pending.ShutdownTimeout / 2)
		ctx, cancel := context.WithTimeout(ctx, e.c.cfg.Pending.ShutdownTimeout)
		defer cancel()
		if e.cancel != nil {
			// A send in flight is let finish: cancelled, the consumer may
			// report a failure for records it delivered (an exporter's
			// queue sends what it took even when the caller stops
			// waiting), and the last flush would send them again. It is
			// cancelled only when ctx ends first.
			close(e.quit)
			unhook := context.AfterFunc(ctx, e.cancel)
			e.wg.Wait()
			unhook()
			e.cancel()
		}
		held := e.c.drainPending()
		if e.c.persist != nil {
			syncCtx, cancelSync := context.WithDeadline(ctx, syncBy)
			e.c.persist.sync(syncCtx)
			cancelSync()
			kept := held[:0]
			for _, r := range held {
				if !e.c.persist.stored(r) {
					kept = append(kept, r)
				}
			}
			held = kept
		}
		e.release(held, unmatchedShutdown)
		// Stopped before the last flush: a record queued after it took the
		// queue's last records would otherwise signal a loop that has
		// ended and stay queued; from here enqueue flushes what it queues.
		e.stopped.Store(true)
		e.lastFlush(ctx)
	})
}

// lastFlush sends what is queued, retrying with backoff until ctx ends.
// Records on disk are tried once: they are safe where they are.
func (e *emitter) lastFlush(ctx context.Context) {
	backoff := minBackoff
	for {
		batch := e.take(true)
		if len(batch) == 0 {
			return
		}
		refused, err := e.send(ctx, batch)
		if err == nil {
			continue
		}
		var again []readyRecord
		for _, r := range refused {
			if !e.c.persist.stored(r.rec) {
				again = append(again, r)
			}
		}
		if consumererror.IsPermanent(err) {
			e.fail(again, err.Error())
			return
		}
		select {
		case <-ctx.Done():
			e.fail(again, "refused until pending.shutdown_timeout: "+err.Error())
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
		e.mu.Lock()
		e.queue = append(again, e.queue...)
		e.size.Store(int64(len(e.queue)))
		e.mu.Unlock()
	}
}
