// Command loadgen measures what llm_feedback costs a real collector, next to
// the contrib processors that also keep state per trace. It runs the built
// collector once per mode and round: none (no processor but the
// memory_limiter), llm_feedback (in the traces and logs pipelines),
// tail_sampling (one always_sample policy, bounded to as many traces as
// llm_feedback's cache) and groupbytrace (its default bound), the last two
// holding spans for 30s. Every mode runs under the same memory budget, set as operators set
// it: a memory_limiter first in every pipeline and GOMEMLIMIT at 80% of its
// limit, with GOGC=off so that the budget alone paces the garbage collector.
// The order of the modes is reversed every other round.
//
// Each run sends as many spans as the collector takes over OTLP/gRPC on
// loopback, for a warmup and then a measured time: batches of 1,000 spans of
// which 5% are LLM completions, and feedback for 2% of the completions, half
// of it sent before the batch that holds its span. The warmup lasts until
// the collector's first GC cycle (its heap has filled the budget) and
// -settle past it, in every mode, and, for
// tail_sampling and groupbytrace, at least twice as long as they hold spans
// (past their first release). Per
// mode it reports the collector's CPU-seconds per million spans, spans per
// second, peak RSS and peak live heap, medians over the runs that are used:
// a run in which the collector was not CPU-bound, had not run a GC cycle
// before the measured time, or refused requests in the measured time is
// reported and left out (result.judge), as is a peer's run that failed
// once its collector started. It checks that every
// feedback record sent came out of the collector exactly once, joined to the
// completion that ended last in its trace when llm_feedback is in the
// pipeline, and exits non-zero when one did not.
//
// Everything it starts it stops; it exits by itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// mode is what the collector runs in its traces pipeline, after the
// memory_limiter.
type mode string

const (
	modeNone         mode = "none"
	modeOurs         mode = "llm_feedback"
	modeTailSampling mode = "tail_sampling"
	modeGroupByTrace mode = "groupbytrace"
)

// peers are the modes llm_feedback's added cost is compared with.
var peers = []mode{modeTailSampling, modeGroupByTrace}

// tracesHeld names each mode's gauge of the traces it holds.
var tracesHeld = map[mode]string{
	modeOurs:         "otelcol_processor_llm_feedback_traces_cached",
	modeTailSampling: "otelcol_processor_tail_sampling_sampling_traces_on_memory",
	modeGroupByTrace: "otelcol_processor_groupbytrace_num_traces_in_memory",
}

type options struct {
	collector    string
	duration     time.Duration
	warmup       time.Duration
	warmupExtra  time.Duration
	settle       time.Duration
	senders      int
	spans        int
	completion   float64
	feedbackPct  float64
	beforePct    float64
	pendingTTL   time.Duration
	maxTraces    int
	holdFor      time.Duration
	memLimitMiB  int
	gogc         string
	cpus         string
	gomaxprocs   int
	cpuBound     float64
	modes        []mode
	rounds       int
	keep         bool
	cpuProfile   string
	drainTimeout time.Duration
}

func main() {
	var o options
	var modes string
	flag.StringVar(&o.collector, "collector", envOr("OTELCOL_BIN", "bin/otelcol-bench"),
		"collector binary, with llm_feedback, tail_sampling, groupbytrace and pprof (make bench builds bin/otelcol-bench from scripts/builder-bench.yaml)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured sending time per run")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "sending time per run before measuring (feedback sent then is checked too); "+
		"tail_sampling and groupbytrace warm up for at least twice -hold-for, past their first release, so that they pass spans on as fast as they take them in")
	flag.DurationVar(&o.warmupExtra, "warmup-extra", 60*time.Second, "how much longer than -warmup to wait for the collector's first GC cycle "+
		"(under GOGC=off, its heap has filled the budget then; a run measured before it is not used) and, with llm_feedback, "+
		"for its cache to hold a steady number of completions (until then its arrays grow)")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "sending time past the collector's first GC cycle before measuring, the same in every mode "+
		"(llm_feedback also waits for its cache to be steady, which it mostly is by then): measured at once, a mode pays more page faults "+
		"than one measured later")
	flag.IntVar(&o.senders, "senders", 16, "concurrent senders, each with its own connection (requests in flight; with 8, a collector on one CPU sat partly idle in some runs)")
	flag.IntVar(&o.spans, "spans", 1000, "spans per batch")
	flag.Float64Var(&o.completion, "completion-pct", 5, "percent of spans that are LLM completions")
	flag.Float64Var(&o.feedbackPct, "feedback-pct", 2, "percent of completions that get feedback")
	flag.Float64Var(&o.beforePct, "before-pct", 50, "percent of feedback sent before the batch holding its span")
	flag.DurationVar(&o.pendingTTL, "pending-ttl", 30*time.Second, "llm_feedback pending::ttl")
	flag.IntVar(&o.maxTraces, "max-traces", 100_000, "llm_feedback cache::max_traces, and num_traces of tail_sampling (groupbytrace keeps its default, 1,000,000: full, it stalls)")
	flag.DurationVar(&o.holdFor, "hold-for", 30*time.Second, "tail_sampling decision_wait and groupbytrace wait_duration")
	flag.IntVar(&o.memLimitMiB, "memory-limit-mib", 16384, "the memory budget of every mode: memory_limiter limit_mib; GOMEMLIMIT is 80% of it")
	flag.StringVar(&o.gogc, "collector-gogc", "off", "GOGC of the collector: off leaves the pacing of its GC to the budget alone, the same for every mode")
	flag.StringVar(&o.cpus, "collector-cpus", "", "CPU list to pin the collector to with taskset (\"\" = no pinning)")
	flag.IntVar(&o.gomaxprocs, "collector-gomaxprocs", 2, "GOMAXPROCS of the collector (0 = Go's default, the CPUs it may use). "+
		"Two on one pinned CPU keep it busy: with one, it idles ~10% between requests (network reads wait for the busy P), "+
		"which hides part of what a slower pipeline costs")
	flag.Float64Var(&o.cpuBound, "cpu-bound", 0.9, "share of its CPUs the collector must use over the measured time for the run to count: "+
		"below it, the collector waited for spans or for a CPU another process held, and its figures measure that")
	flag.StringVar(&modes, "modes", "none,llm_feedback", "modes, in the order of even rounds (odd rounds reverse it): "+
		"none, llm_feedback, tail_sampling, groupbytrace")
	flag.IntVar(&o.rounds, "rounds", 1, "times to run every mode; figures are medians")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, collector output, exported feedback)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "directory to write a CPU profile of the collector over each measured time to (MODE-ROUND.prof, through its pprof extension; profiling costs the collector about 1% CPU)")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 0, "how long to wait for feedback to come out after sending (default pending-ttl + 15s)")
	flag.Parse()
	for _, m := range strings.Split(modes, ",") {
		o.modes = append(o.modes, mode(strings.TrimSpace(m)))
	}
	if o.drainTimeout == 0 {
		o.drainTimeout = o.pendingTTL + 15*time.Second
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("loadgen: ")
	if o.cpuProfile != "" {
		if err := os.MkdirAll(o.cpuProfile, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	// Interrupted, it stops the collector it runs before it exits.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, o options) error {
	for _, m := range o.modes {
		if !slices.Contains([]mode{modeNone, modeOurs, modeTailSampling, modeGroupByTrace}, m) {
			return fmt.Errorf("-modes: unknown mode %q; expected none, llm_feedback, tail_sampling or groupbytrace", m)
		}
	}
	capacity, err := cpuCount(o.cpus)
	if err != nil {
		return fmt.Errorf("-collector-cpus: %w", err)
	}
	bin, err := filepath.Abs(o.collector)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("collector binary: %w (make bench builds it)", err)
	}
	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	if o.keep {
		log.Printf("keeping %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	log.Printf("every mode: memory_limiter limit_mib %d, GOMEMLIMIT %s, GOGC %s; collector on %d CPU(s), CPU-bound at %.2f of them",
		o.memLimitMiB, goMemLimit(o.memLimitMiB), o.gogc, capacity, o.cpuBound)

	var runs []result
	for r := range o.rounds {
		order := slices.Clone(o.modes)
		if r%2 == 1 {
			// Reversed every other round, so a machine that drifts (a
			// neighbour's job, thermal limits) weighs on every mode alike.
			slices.Reverse(order)
		}
		for _, m := range order {
			// One seed per round: every mode of a round gets the same spans.
			res, err := runOnce(ctx, o, bin, filepath.Join(dir, fmt.Sprintf("%s-%d", m, r)), m, uint64(r+1))
			if err != nil && (endsTheLoadTest(m, err) || ctx.Err() != nil) {
				return fmt.Errorf("round %d, %s: %w", r, m, err)
			}
			res.mode, res.round = m, r
			if err != nil {
				// A peer that started but stalls or will not stop
				// (groupbytrace takes spans without back-pressure, and
				// what it holds can outgrow the budget) costs its run,
				// not the load test: the run is reported and left out,
				// and its pass-through of feedback is not checked.
				res.failed = err.Error()
				res.notUsed = append(res.notUsed, "the run failed: "+res.failed)
			}
			res.judge(capacity, o.cpuBound)
			res.print(capacity)
			if !res.used() && o.cpuProfile != "" {
				// Only the profiles of runs used count (scripts/bench.sh
				// reads MODE-ROUND.prof); the others stay, renamed.
				path := profilePath(o, m, r)
				if _, err := os.Stat(path); err == nil {
					_ = os.Rename(path, path+".not-used")
				}
			}
			runs = append(runs, res)
		}
	}

	f := summarize(runs, o.modes)
	f.print(os.Stdout)
	for _, m := range o.modes {
		if failed, all := failedRuns(runs, m); failed > 0 && failed == all {
			log.Printf("every run of %s failed (see above): its figures are NaN", m)
		}
	}
	for _, r := range runs {
		if !r.ok() {
			return fmt.Errorf("some feedback did not come out exactly once (and joined to the completion that ended last in its trace, with llm_feedback); see above")
		}
	}
	return nil
}

// endsTheLoadTest reports whether a run's error ends the load test: any
// error of none or llm_feedback, and a collector that did not start.
func endsTheLoadTest(m mode, err error) bool {
	return !slices.Contains(peers, m) || errors.As(err, new(startError))
}

// failedRuns counts mode m's runs that failed, and all its runs.
func failedRuns(runs []result, m mode) (failed, all int) {
	for _, r := range runs {
		if r.mode == m {
			all++
			if r.failed != "" {
				failed++
			}
		}
	}
	return failed, all
}

// goMemLimit is the GOMEMLIMIT of a budget of limitMiB: 80% of it, as the
// memory_limiter's README recommends.
func goMemLimit(limitMiB int) string {
	return strconv.Itoa(limitMiB*8/10) + "MiB"
}

// cpuCount is how many CPUs a taskset list such as "0", "0,2" or "0-3"
// names; for "", how many this machine has.
func cpuCount(list string) (int, error) {
	if list == "" {
		return runtime.NumCPU(), nil
	}
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", list, err)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				return 0, fmt.Errorf("%q: %w", list, err)
			}
		}
		if b < a {
			return 0, fmt.Errorf("%q: range %s ends before it starts", list, part)
		}
		n += b - a + 1
	}
	return n, nil
}
