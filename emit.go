package llmfeedbackprocessor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// readyRecord is parked feedback on its way out: joined to comp when matched,
// else unmatched for reason.
type readyRecord struct {
	rec     *store.PendingRecord
	comp    genai.Completion
	matched bool
	reason  string
	// giveUp is when retries stop; set when the record is first queued.
	giveUp int64
}

const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// emitter is the background side of the logs pipeline: it runs the TTLs on a
// ticker and hands parked feedback, once joined or expired, to the next
// consumer. When that consumer refuses, it retries with backoff until the
// record's deadline plus pending.retry_grace, then counts and logs it.
//
// Lifecycle: start once (first Start of either side), stop once (first
// Shutdown); see stop for what happens to what is still parked.
type emitter struct {
	c    *correlator
	next consumer.Logs

	mu      sync.Mutex
	queue   []readyRecord
	backoff time.Duration
	retryAt time.Time

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newEmitter(c *correlator) *emitter {
	return &emitter{c: c, wake: make(chan struct{}, 1)}
}

// enqueue queues records to emit and wakes the loop.
func (e *emitter) enqueue(rs []readyRecord) {
	grace := int64(e.c.cfg.Pending.RetryGrace)
	now := e.c.now().UnixNano()
	e.mu.Lock()
	for _, r := range rs {
		r.giveUp = max(r.rec.Deadline, now) + grace
		e.queue = append(e.queue, r)
	}
	e.mu.Unlock()
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
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ticker := time.NewTicker(tickInterval(e.c.cfg))
		defer ticker.Stop()
		var save <-chan time.Time // nil, so never ready, without storage
		if e.c.persist != nil {
			saver := time.NewTicker(e.c.cfg.StorageFlushInterval)
			defer saver.Stop()
			save = saver.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-save:
				e.c.persist.saveCache(ctx, e.c)
			case <-ticker.C:
				e.tick(ctx)
			case <-e.wake:
				e.flush(ctx)
			}
		}
	}()
}

// tick runs the TTLs and emits what expired.
func (e *emitter) tick(ctx context.Context) {
	expired := e.c.expire(e.c.now().UnixNano())
	e.release(expired, unmatchedExpired)
	e.flush(ctx)
}

// release queues parked records that will not be joined: as unmatched, or
// dropped when they expired and pending.on_expiry is drop.
func (e *emitter) release(rs []*store.PendingRecord, reason string) {
	if len(rs) == 0 {
		return
	}
	if reason == unmatchedExpired && e.c.cfg.Pending.OnExpiry == OnExpiryDrop {
		e.c.tel.add(e.c.tel.tb.ProcessorLlmFeedbackFeedbackDropped, int64(len(rs)))
		for _, r := range rs {
			e.c.logger.Debug("dropping feedback whose completion never came", zap.String("id", r.FeedbackID), zap.String("trace_id", r.TraceID.String()))
			e.c.persist.done(r)
		}
		return
	}
	out := make([]readyRecord, len(rs))
	for i, r := range rs {
		out[i] = readyRecord{rec: r, reason: reason}
	}
	e.enqueue(out)
}

// flush sends everything queued in one batch, unless a retry is not due yet.
func (e *emitter) flush(ctx context.Context) {
	e.mu.Lock()
	// Backoff runs on the wall clock: it paces calls to a real consumer,
	// whereas deadlines follow the correlator's clock.
	if len(e.queue) == 0 || time.Now().Before(e.retryAt) {
		e.mu.Unlock()
		return
	}
	batch := e.queue
	e.queue = nil
	e.mu.Unlock()

	if e.next == nil {
		e.c.logger.Warn("llm_feedback is not in a logs pipeline; feedback held back cannot be emitted")
		e.fail(batch)
		return
	}
	ld, delays := e.build(batch)
	if err := e.next.ConsumeLogs(ctx, ld); err != nil {
		e.retry(batch, err)
		return
	}
	e.mu.Lock()
	e.backoff, e.retryAt = 0, time.Time{}
	e.mu.Unlock()
	for i, r := range batch {
		if r.matched {
			e.c.recordMatch("delayed", delays[i])
		} else {
			e.c.tel.add(e.c.tel.tb.ProcessorLlmFeedbackFeedbackUnmatched, 1, e.c.tel.attr("reason", r.reason))
		}
		e.c.persist.done(r.rec)
	}
}

// retry puts a refused batch back, minus what is past its grace.
func (e *emitter) retry(batch []readyRecord, err error) {
	now := e.c.now()
	var keep, lost []readyRecord
	for _, r := range batch {
		if now.UnixNano() >= r.giveUp {
			lost = append(lost, r)
		} else {
			keep = append(keep, r)
		}
	}
	e.mu.Lock()
	e.queue = append(keep, e.queue...)
	e.backoff = min(max(2*e.backoff, minBackoff), maxBackoff)
	e.retryAt = time.Now().Add(e.backoff)
	backoff := e.backoff
	e.mu.Unlock()
	e.c.logger.Info("next consumer refused held-back feedback; retrying", zap.Int("records", len(keep)), zap.Duration("backoff", backoff), zap.Error(err))
	e.fail(lost)
	if len(keep) > 0 {
		time.AfterFunc(backoff, func() {
			select {
			case e.wake <- struct{}{}:
			default:
			}
		})
	}
}

// fail counts and logs records that could not be delivered.
func (e *emitter) fail(rs []readyRecord) {
	if len(rs) == 0 {
		return
	}
	e.c.tel.add(e.c.tel.tb.ProcessorLlmFeedbackEmitFailures, int64(len(rs)))
	for _, r := range rs {
		// With storage the record stays there, to be emitted after a restart.
		e.c.logger.Warn("feedback could not be delivered to the next consumer", zap.String("id", r.rec.FeedbackID), zap.String("trace_id", r.rec.TraceID.String()))
	}
}

// build decodes each parked record and rewrites it; it returns the delays of
// the matched ones, for the histogram once the batch is delivered.
func (e *emitter) build(batch []readyRecord) (plog.Logs, []int64) {
	out := plog.NewLogs()
	delays := make([]int64, len(batch))
	now := e.c.now().UnixNano()
	var u plog.ProtoUnmarshaler
	for i := range batch {
		r := &batch[i]
		ld, err := u.UnmarshalLogs(r.rec.Data)
		if err != nil || ld.LogRecordCount() != 1 {
			// Our own encoding; only a corrupted storage entry gets here.
			e.c.logger.Error("cannot decode held-back feedback; dropping it", zap.String("id", r.rec.FeedbackID), zap.Error(err))
			continue
		}
		sl := ld.ResourceLogs().At(0).ScopeLogs().At(0)
		lr := sl.LogRecords().At(0)
		f := feedback.Parse(lr)
		f.ID = r.rec.FeedbackID
		if r.matched {
			delays[i] = e.c.enr.matched(lr, &f, &r.comp, now)
			if e.c.cfg.Output.EvaluationEvent {
				evaluation(sl.LogRecords(), lr, &r.comp)
			}
		} else {
			e.c.enr.unmatched(lr, &f)
		}
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out, delays
}

// stop ends the loop. Without storage, whatever is still parked is emitted
// as unmatched, so nothing is lost; with storage it stays there, its TTL
// going on, to be joined after the restart.
func (e *emitter) stop(ctx context.Context) {
	if e.cancel != nil {
		e.cancel()
		e.wg.Wait()
	}
	if e.c.persist == nil {
		e.release(e.c.drainPending(), unmatchedShutdown)
	}
	e.mu.Lock()
	e.retryAt = time.Time{}
	e.mu.Unlock()
	e.flush(ctx)
	e.mu.Lock()
	left := e.queue
	e.queue = nil
	e.mu.Unlock()
	e.fail(left)
}
