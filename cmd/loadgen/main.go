// Command loadgen measures what llm_feedback costs a real collector. It runs
// the built collector twice, once with llm_feedback in the traces and logs
// pipelines and once without it, with the same receiver and exporters, and
// for a set time sends each as many spans as it takes over OTLP/gRPC on
// loopback: batches of 1,000 spans of which 5% are LLM completions, and
// feedback for 2% of the completions, half of it sent before the batch that
// holds its span. It reports spans per second for each run and their ratio,
// the collector's peak RSS, and checks that every feedback record sent came
// out of the collector exactly once, joined to its completion.
//
// Everything it starts it stops; it exits by itself.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

type options struct {
	collector    string
	duration     time.Duration
	warmup       time.Duration
	senders      int
	spans        int
	completion   float64
	feedbackPct  float64
	beforePct    float64
	pendingTTL   time.Duration
	cpus         string
	gomaxprocs   int
	modes        []string
	rounds       int
	keep         bool
	drainTimeout time.Duration
}

func main() {
	var o options
	var modes string
	flag.StringVar(&o.collector, "collector", envOr("OTELCOL_BIN", "bin/otelcol-llmfeedback"), "collector binary (make build)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "measured sending time per run")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "sending time per run before measuring (feedback sent then is checked too)")
	flag.IntVar(&o.senders, "senders", 8, "concurrent senders, each with its own connection (requests in flight)")
	flag.IntVar(&o.spans, "spans", 1000, "spans per batch")
	flag.Float64Var(&o.completion, "completion-pct", 5, "percent of spans that are LLM completions")
	flag.Float64Var(&o.feedbackPct, "feedback-pct", 2, "percent of completions that get feedback")
	flag.Float64Var(&o.beforePct, "before-pct", 50, "percent of feedback sent before the batch holding its span")
	flag.DurationVar(&o.pendingTTL, "pending-ttl", 30*time.Second, "llm_feedback pending::ttl")
	flag.StringVar(&o.cpus, "collector-cpus", "", "CPU list to pin the collector to with taskset (\"\" = no pinning)")
	flag.IntVar(&o.gomaxprocs, "collector-gomaxprocs", 2, "GOMAXPROCS of the collector (0 = Go's default, the CPUs it may use). "+
		"Two on one pinned CPU keep it busy: with one, it idles ~10% between requests (network reads wait for the busy P), "+
		"which hides part of what a slower pipeline costs")
	flag.StringVar(&modes, "modes", "without,with", "runs, in order: with (llm_feedback in both pipelines), without")
	flag.IntVar(&o.rounds, "rounds", 1, "times to repeat the runs; figures are medians")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, collector output, exported feedback)")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 0, "how long to wait for feedback to come out after sending (default pending-ttl + 15s)")
	flag.Parse()
	o.modes = strings.Split(modes, ",")
	if o.drainTimeout == 0 {
		o.drainTimeout = o.pendingTTL + 15*time.Second
	}
	log.SetFlags(log.Ltime)
	log.SetPrefix("loadgen: ")
	if err := run(o); err != nil {
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

func run(o options) error {
	bin, err := filepath.Abs(o.collector)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("collector binary: %w (run make build)", err)
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

	results := map[string][]result{}
	for r := 0; r < o.rounds; r++ {
		for _, mode := range o.modes {
			if mode != "with" && mode != "without" {
				return fmt.Errorf("-modes: unknown run %q; expected with or without", mode)
			}
			res, err := runOnce(context.Background(), o, bin, filepath.Join(dir, fmt.Sprintf("%s-%d", mode, r)), mode == "with", uint64(r*2+len(mode)))
			if err != nil {
				return fmt.Errorf("run %s: %w", mode, err)
			}
			res.print(mode)
			results[mode] = append(results[mode], res)
		}
	}

	failed := false
	summary := map[string]result{}
	for mode, rs := range results {
		summary[mode] = median(rs)
		for _, r := range rs {
			if !r.ok() {
				failed = true
			}
		}
	}
	// Machine-readable lines, last; scripts/bench.sh reads them.
	for _, mode := range o.modes {
		s, ok := summary[mode]
		if !ok {
			continue
		}
		fmt.Printf("LOADGEN %s spans_per_sec %.0f\n", mode, s.spansPerSec)
		fmt.Printf("LOADGEN %s collector_cpu_busy %.2f\n", mode, s.cpuBusy)
		fmt.Printf("LOADGEN %s peak_rss_bytes %d\n", mode, s.peakRSS)
		fmt.Printf("LOADGEN %s feedback_out_once %d/%d\n", mode, s.fb.once, s.fb.sent)
	}
	// The ratio of each round's pair of runs, taken moments apart, then the
	// median: steadier than a ratio of medians on a machine that is also
	// doing other work.
	var ratios, cpuRatios []float64
	for r := range min(len(results["with"]), len(results["without"])) {
		w, wo := results["with"][r], results["without"][r]
		if wo.spansPerSec > 0 && w.cpuBusy > 0 && wo.cpuBusy > 0 {
			ratios = append(ratios, w.spansPerSec/wo.spansPerSec)
			cpuRatios = append(cpuRatios, (w.spansPerSec/w.cpuBusy)/(wo.spansPerSec/wo.cpuBusy))
		}
	}
	if len(ratios) > 0 {
		fmt.Printf("LOADGEN throughput_ratio_per_round %s\n", floats(ratios))
		fmt.Printf("LOADGEN spans_per_cpu_second_ratio %.3f\n", medianOf(cpuRatios))
		fmt.Printf("LOADGEN throughput_ratio %.3f\n", medianOf(ratios))
	}
	_, okW := summary["with"]
	if okW {
		// Summed over rounds: every feedback of every run must be joined.
		joined, sent := 0, 0
		for _, r := range results["with"] {
			joined += r.fb.joined
			sent += r.fb.sent
		}
		fmt.Printf("LOADGEN feedback_joined %d/%d\n", joined, sent)
	}
	if failed {
		return fmt.Errorf("some feedback did not come out exactly once (and joined to the completion that ended last in its trace, with llm_feedback); see above")
	}
	return nil
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}
