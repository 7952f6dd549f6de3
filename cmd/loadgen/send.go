package main

import (
	"context"
	"fmt"
	"log"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
)

// sentFeedback is what a feedback record must come out joined to.
type sentFeedback struct {
	trace pcommon.TraceID
	// span is the completion that ended last in the trace: the one the
	// processor picks for feedback that names only the trace. others are
	// the trace's other completions.
	span   pcommon.SpanID
	others []pcommon.SpanID
	before bool // sent before the batch holding the span
	// The export failed, so the collector may or may not have taken it
	// (a timeout): it must come out at most once.
	uncertain bool
	// Sent before its span, whose export then failed: it must come out
	// once, joined or not.
	spanFailed bool
}

// ledger is every feedback record sent, by id.
type ledger struct {
	mu   sync.Mutex
	sent map[string]sentFeedback
}

func (l *ledger) add(ids []string, about []benchdata.Completion, all []benchdata.Completion, before, uncertain bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, id := range ids {
		sf := sentFeedback{trace: about[i].TraceID, span: about[i].SpanID, before: before, uncertain: uncertain}
		for _, c := range all {
			if c.TraceID == sf.trace && c.SpanID != sf.span {
				sf.others = append(sf.others, c.SpanID)
			}
		}
		l.sent[id] = sf
	}
}

// spanFailed marks feedback sent before a span batch whose export failed.
func (l *ledger) spanFailed(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		sf := l.sent[id]
		sf.spanFailed = true
		l.sent[id] = sf
	}
}

// startError is a collector that did not start: its config or its build
// is wrong, which fails the load test whatever the mode.
type startError struct{ error }

func (e startError) Unwrap() error { return e.error }

// profilePath is where the CPU profile of mode m's run in round r goes.
func profilePath(o options, m mode, r int) string {
	return filepath.Join(o.cpuProfile, fmt.Sprintf("%s-%d.prof", m, r))
}

func runOnce(ctx context.Context, o options, bin, dir string, m mode, seed uint64) (result, error) {
	log.Printf("%-13s starting collector", m)
	c, err := startCollector(bin, dir, m, o)
	if err != nil {
		return result{}, startError{err}
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.stop(syscall.SIGKILL)
		}
	}()

	conns := make([]*grpc.ClientConn, o.senders)
	for i := range conns {
		conns[i], err = grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", c.GRPC),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			return result{}, err
		}
		defer conns[i].Close()
	}

	led := &ledger{sent: map[string]sentFeedback{}}
	var acked, sendErrors atomic.Int64
	// Senders stop once past it (Unix ns), set when the measured time starts.
	var stopAt atomic.Int64
	stopAt.Store(math.MaxInt64)
	start := time.Now()
	var wg sync.WaitGroup
	warmup := o.warmup
	if slices.Contains(peers, m) {
		// Past their first release: until then they only take spans in,
		// and the release of what the first hold time took in is a burst
		// (groupbytrace's receiver blocks through it); from then on they
		// pass on as many as they take in.
		warmup = max(warmup, 2*o.holdFor)
	}
	log.Printf("%-13s sending for %s (+%s warmup) from %d senders", m, o.duration, warmup, o.senders)
	// However the run ends, its senders stop with it: left running, they
	// would take the load generator's CPU from every later run.
	defer func() {
		stopAt.Store(0)
		wg.Wait()
	}()
	for w := 0; w < o.senders; w++ {
		// Templates are made before the clock matters, then refreshed.
		gen := benchdata.New(seed*1000 + uint64(w))
		tmpls := make([]*benchdata.Batch, 4)
		for i := range tmpls {
			tmpls[i] = gen.Spans(o.spans, o.completion, time.Now())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			send(ctx, o, conns[w], gen, tmpls, &stopAt, led, &acked, &sendErrors)
		}()
	}

	// Warmup: -warmup, then until the collector's first GC cycle, which
	// under GOGC=off means its heap has filled the budget, as in a collector
	// that has run a while, and -settle past it; at most -warmup-extra
	// longer.
	sleep(ctx, warmup)
	warmDeadline := time.Now().Add(o.warmupExtra)
	for readGCTrace(c.output()).cycles == 0 && time.Now().Before(warmDeadline) && ctx.Err() == nil {
		time.Sleep(200 * time.Millisecond)
	}
	// The same time past the first GC cycle in every mode: without it, none
	// was measured right after that cycle and llm_feedback about 25 s
	// later, once its cache was steady, and in every pair of two load tests
	// none took 8 to 10 page faults per thousand spans and llm_feedback 3,
	// kernel time that none alone paid; 20 s past the cycle, both took 9
	// to 11.
	sleep(ctx, o.settle)
	if m == modeOurs {
		waitCacheSteady(ctx, c, warmDeadline)
	}
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	if extra := time.Since(start) - warmup; extra > time.Second {
		log.Printf("%-13s warmup %s longer, until the first GC cycle and %s past it (and the cache's completions steady)", m, extra.Round(time.Second), o.settle)
	}
	spans0, _, err := c.exportedSpans()
	if err != nil {
		return result{}, err
	}
	p0, self0, t0 := c.procTimes(), selfCPU(), time.Now()
	warmupErrors := sendErrors.Load()
	stopAt.Store(t0.Add(o.duration).UnixNano())
	var profiled chan error // nil: not profiled
	if o.cpuProfile != "" {
		profiled = make(chan error, 1)
		go func() {
			profiled <- c.cpuProfile(o.duration-time.Second, profilePath(o, m, int(seed-1)))
		}()
	}
	wg.Wait()
	if profiled != nil {
		if err := <-profiled; err != nil {
			log.Printf("%-13s CPU profile: %v", m, err)
		}
	}
	if ctx.Err() != nil {
		return result{}, ctx.Err()
	}
	spans1, metricName, err := c.exportedSpans()
	if err != nil {
		return result{}, err
	}
	p1, self1, t1 := c.procTimes(), selfCPU(), time.Now()
	c.saveMetrics()
	var held float64
	if name, ok := tracesHeld[m]; ok {
		if held, _, err = c.metric(name); err != nil {
			return result{}, err
		}
	}
	if err := c.collectGarbage(); err != nil {
		return result{}, fmt.Errorf("GC through pprof: %w", err)
	}
	endLive := readGCTrace(c.output()).lastLive
	res := result{
		mode:         m,
		measured:     t1.Sub(t0),
		spans:        spans1 - spans0,
		cpu:          p1.user + p1.system - p0.user - p0.system,
		systemCPU:    p1.system - p0.system,
		faults:       p1.minorFaults - p0.minorFaults,
		spanMetric:   metricName,
		spansAcked:   acked.Load(),
		spansOut:     spans1,
		sendErrors:   sendErrors.Load() - warmupErrors,
		warmupErrors: warmupErrors,
		tracesHeld:   held,
		endLive:      endLive,
	}
	res.cpuBusy = res.cpu.Seconds() / res.measured.Seconds()
	// Time since the collector started, as its GC trace counts it.
	res.warmupEnd = t0.Sub(c.started)
	res.selfBusy = (self1 - self0).Seconds() / res.measured.Seconds()
	if math.Abs(spans1-float64(res.spansAcked)) > 0.5 {
		log.Printf("%-13s warning: collector counted %.0f spans, client had %d acknowledged", m, spans1, res.spansAcked)
	}

	// Feedback sent before its span may still be on its way out.
	with := m == modeOurs
	path := c.Dir + "/feedback.jsonl"
	deadline := time.Now().Add(o.drainTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		chk, _ := checkFeedback(path, led.sent, with)
		if chk.once+chk.dup >= chk.sent {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.peakRSS = c.procStatus("VmHWM")
	stopped = true
	stopErr := c.stop(syscall.SIGTERM)
	res.gc = readGCTrace(c.output())
	if stopErr != nil {
		return res, stopErr
	}
	// Read again after shutdown: anything emitted twice, or at shutdown
	// as unmatched, is in the file now.
	res.fb, err = checkFeedback(path, led.sent, with)
	return res, err
}

// requestTimeout bounds one export, so that a collector that stalls (its
// memory_limiter refusing, its GC taking every cycle) cannot stretch a run.
const requestTimeout = 10 * time.Second

// send exports span batches until stopAt, each with feedback for a share of its
// completions, half of it before the batch and half after.
func send(ctx context.Context, o options, cc *grpc.ClientConn, gen *benchdata.Gen, tmpls []*benchdata.Batch,
	stopAt *atomic.Int64, led *ledger, acked, sendErrors *atomic.Int64,
) {
	traces := ptraceotlp.NewGRPCClient(cc)
	logs := plogotlp.NewGRPCClient(cc)
	owed := 0.0
	var before, after []benchdata.Completion
	exportFeedback := func(about, all []benchdata.Completion, before bool) []string {
		if len(about) == 0 {
			return nil
		}
		ld, ids := gen.Feedback(about, time.Now())
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := logs.Export(rctx, plogotlp.NewExportRequestFromLogs(ld))
		cancel()
		if err != nil && sendErrors.Add(1) == 1 {
			log.Printf("feedback export: %v (only the first send error of a run is shown)", err)
		}
		led.add(ids, about, all, before, err != nil)
		return ids
	}
	for i := 0; time.Now().UnixNano() < stopAt.Load() && ctx.Err() == nil; i++ {
		b := tmpls[i%len(tmpls)]
		gen.Refresh(b, time.Now())
		before, after = before[:0], after[:0]
		owed += float64(len(b.Completions)) * o.feedbackPct / 100
		for n := int(owed); n > 0; n-- {
			// Feedback names only the trace: it joins the completion that ended last.
			c := benchdata.Latest(b.Completions, b.Completions[gen.IntN(len(b.Completions))])
			if float64(gen.IntN(100)) < o.beforePct {
				before = append(before, c)
			} else {
				after = append(after, c)
			}
			owed--
		}
		sentBefore := exportFeedback(before, b.Completions, true)
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := traces.Export(rctx, ptraceotlp.NewExportRequestFromTraces(b.Traces))
		cancel()
		if err != nil {
			if sendErrors.Add(1) == 1 {
				log.Printf("span export: %v (only the first send error of a run is shown)", err)
			}
			// Its feedback would rightly stay unmatched: what was sent
			// before may come out unmatched, the rest is not sent.
			led.spanFailed(sentBefore)
			continue
		}
		acked.Add(int64(b.Traces.SpanCount()))
		exportFeedback(after, b.Completions, false)
	}
}

// feedbackRecords calls f for every log record in ld.
func feedbackRecords(ld plog.Logs, f func(plog.LogRecord)) {
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				f(lrs.At(k))
			}
		}
	}
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitCacheSteady waits, until deadline at most, for llm_feedback's cache to
// hold its steady number of completions: it is full of traces well before
// (traces hold one completion or several, and the mix takes a while to
// settle), and until then its arrays grow, which is start-up work, not what
// a collector that has run a while does per span.
func waitCacheSteady(ctx context.Context, c *collector, deadline time.Time) {
	const name = "otelcol_processor_llm_feedback_completions_cached"
	last, found, err := c.metric(name)
	if err != nil || !found {
		log.Printf("%-13s cannot read %s (%v): not waiting for the cache to be steady", modeOurs, name, err)
		return
	}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(2 * time.Second)
		now, _, err := c.metric(name)
		if err != nil {
			log.Printf("%-13s cannot read %s: %v", modeOurs, name, err)
			return
		}
		if now < last*1.01 {
			return
		}
		last = now
	}
	if ctx.Err() == nil {
		log.Printf("%-13s the cache's completions still grew at the end of -warmup-extra (%.0f)", modeOurs, last)
	}
}
