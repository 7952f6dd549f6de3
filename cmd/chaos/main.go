// Command chaos is `make chaos`: the built collector, with storage, under
// traffic from retrying OTLP clients, exporting to a backend that refuses a
// share of requests, SIGKILLed and restarted at random moments. It prints
//
//	CHAOS sent S, lost L, duplicated D (with id) + D2 (without id)
//
// and exits 1 when a record was lost, or a duplicate is not explained by a
// SIGKILL (every copy with the same id, each from a different collector
// process), or a record came out wrong.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/chaos"
)

func main() {
	cfg := chaos.Config{Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }}
	flag.StringVar(&cfg.Collector, "collector", "bin/otelcol-llmfeedback", "collector binary")
	flag.DurationVar(&cfg.Duration, "duration", 3*time.Minute, "how long the clients send")
	flag.IntVar(&cfg.Kills, "kills", 8, "SIGKILLs, at random moments")
	flag.Float64Var(&cfg.Refuse, "refuse", 0.3, "share of requests the backend refuses")
	flag.IntVar(&cfg.Workers, "workers", 3, "clients sending in parallel")
	flag.IntVar(&cfg.PerTick, "per-tick", 2, "conversations each client starts every tick")
	flag.DurationVar(&cfg.Tick, "tick", 100*time.Millisecond, "client tick")
	flag.DurationVar(&cfg.PendingTTL, "pending-ttl", 10*time.Second, "llm_feedback pending::ttl")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the traffic, the refusals and the kill times")
	keep := flag.Bool("keep", false, "keep the directory with configs, storage and collector logs")
	flag.Parse()
	cfg.Seed = *seed

	dir, err := os.MkdirTemp("", "llm-feedback-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	cfg.Dir = dir
	fmt.Fprintf(os.Stderr, "CHAOS seed %d, %v of traffic, %d kills, backend refuses %.0f%%\n",
		cfg.Seed, cfg.Duration, cfg.Kills, 100*cfg.Refuse)
	r, err := chaos.Run(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n(configs, storage and logs kept in %s)\n", err, dir)
		os.Exit(2)
	}
	for _, l := range r.Details() {
		fmt.Println(l)
	}
	fmt.Println(r.Line())
	if !r.OK() || *keep {
		fmt.Fprintf(os.Stderr, "configs, storage and collector logs kept in %s\n", dir)
	} else {
		_ = os.RemoveAll(dir)
	}
	if !r.OK() {
		os.Exit(1)
	}
}
