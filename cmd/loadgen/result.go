package main

import (
	"fmt"
	"log"
	"strings"
	"time"
)

// result is one run of the collector in one mode.
type result struct {
	mode  mode
	round int
	// Over the measured time: spans the pipeline took in, the collector's
	// CPU time, and that time per second of it (cores).
	measured   time.Duration
	spans      float64
	cpu        time.Duration
	cpuBusy    float64
	systemCPU  time.Duration // of cpu, in the kernel
	faults     int64         // minor page faults
	selfBusy   float64       // the load generator's CPU time per second
	spanMetric string
	spansAcked int64 // all spans the collector acknowledged, warmup included
	spansOut   float64
	sendErrors int64 // requests that failed in the measured time
	// Requests that failed in the warmup: reported, but they do not make
	// the run's measured figures wrong (a peer's first release of what it
	// held blocks its receiver for a while).
	warmupErrors int64
	// The start of the measured time, since the collector started.
	warmupEnd time.Duration
	// At the end of the measured time: the traces the mode's processor
	// held, and the heap a GC cycle run then left live.
	tracesHeld float64
	endLive    int64
	// Over the whole run: VmHWM, and the largest heap a GC cycle left live.
	peakRSS int64
	gc      gcTrace
	fb      feedbackCheck
	// Why the run's figures are left out; none when they are used.
	notUsed []string
	// Why a peer's run ended early (it stalled, or did not stop when told).
	failed string
}

// judge leaves the run out of the figures when the collector was not
// CPU-bound (it waited for spans, or for a CPU another process held), when
// no GC cycle ran before the measured time (under GOGC=off, its heap was
// still growing into memory it had never touched, which costs page faults a
// collector that has run a while does not pay), or when requests failed in
// the measured time (the memory_limiter refused them: the budget is too
// small for the mode at this rate, and the figures measure the refusals). A peer's failed run is
// left out already.
func (r *result) judge(capacity int, cpuBound float64) {
	if r.failed != "" {
		return
	}
	if share := r.cpuBusy / float64(capacity); share < cpuBound {
		r.notUsed = append(r.notUsed, fmt.Sprintf("not CPU-bound: %.2f of its CPU, under %.2f", share, cpuBound))
	}
	if r.gc.cycles == 0 || r.gc.first >= r.warmupEnd {
		r.notUsed = append(r.notUsed, "no GC cycle before the measured time: its heap had not filled the budget yet (a longer -warmup-extra, or a smaller budget)")
	}
	if r.sendErrors > 0 {
		r.notUsed = append(r.notUsed, fmt.Sprintf("%d requests failed (the first error is above)", r.sendErrors))
	}
}

func (r result) used() bool { return len(r.notUsed) == 0 }

func (r result) spansPerSec() float64 { return r.spans / r.measured.Seconds() }

// cpuPerMillionSpans is the collector's CPU-seconds per million spans taken in.
func (r result) cpuPerMillionSpans() float64 { return r.cpu.Seconds() / r.spans * 1e6 }

// ok reports whether the run's feedback came out as it should: once each,
// and joined with llm_feedback. A peer's failed run is reported as not used
// and not checked.
func (r result) ok() bool {
	if r.failed != "" {
		return true
	}
	if r.fb.sent == 0 || r.fb.once != r.fb.sent || r.fb.dup != 0 || r.fb.stray != 0 {
		return false
	}
	return !r.fb.with || r.fb.joined+r.fb.spanFailed == r.fb.sent
}

func (r result) print(capacity int) {
	p := fmt.Sprintf("round %d %-13s", r.round, r.mode)
	if r.failed != "" && r.measured == 0 {
		log.Printf("%s NOT USED: %s", p, strings.Join(r.notUsed, "; "))
		return
	}
	log.Printf("%s %.0f spans/s over %s (%s: %.0f; client acked %d incl. warmup), send errors %d (and %d in the warmup)",
		p, r.spansPerSec(), r.measured.Round(time.Millisecond), r.spanMetric, r.spansOut, r.spansAcked, r.sendErrors, r.warmupErrors)
	log.Printf("%s collector CPU %.2f of its %d; %.2f CPU-s per million spans (%.0f%% in the kernel, %.0f page faults per thousand spans); load generator CPU %.2f",
		p, r.cpuBusy/float64(capacity), capacity, r.cpuPerMillionSpans(), 100*r.systemCPU.Seconds()/r.cpu.Seconds(), float64(r.faults)/r.spans*1000, r.selfBusy)
	log.Printf("%s peak RSS %.1f MiB, peak live heap %d MiB over %d GC cycles, %.0f%% of its time in GC; at the end %d MiB live, %.0f traces held",
		p, float64(r.peakRSS)/(1<<20), r.gc.peakLive>>20, r.gc.cycles, r.gc.share*100, r.endLive>>20, r.tracesHeld)
	if r.failed != "" {
		log.Printf("%s NOT USED: %s", p, strings.Join(r.notUsed, "; "))
		return
	}
	log.Printf("%s feedback sent %d, out exactly once %d, joined %d, duplicated %d, missing %d, not joined %d, not sent by us %d, "+
		"export failed and not taken %d, its span's export failed %d",
		p, r.fb.sent, r.fb.once, r.fb.joined, r.fb.dup, r.fb.missing, r.fb.notJoined, r.fb.stray, r.fb.notTaken, r.fb.spanFailed)
	if r.fb.with {
		log.Printf("%s joined to a completion of its trace other than the one that ended last: %d of %d sent before their span, %d of %d sent after",
			p, r.fb.notLatest[1], r.fb.sentWhen[1], r.fb.notLatest[0], r.fb.sentWhen[0])
	}
	if r.used() {
		log.Printf("%s used", p)
	} else {
		log.Printf("%s NOT USED: %s", p, strings.Join(r.notUsed, "; "))
	}
}
