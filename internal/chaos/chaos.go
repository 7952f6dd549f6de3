package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"
)

// Config is one run.
type Config struct {
	// Collector is the binary `make build` built.
	Collector string
	// Dir holds the generated configs, the storage directory and each
	// collector process's log; it is left for a reader.
	Dir string
	// Duration is how long the clients start new conversations.
	Duration time.Duration
	// Kills is how many times the collector is SIGKILLed, at random moments
	// spread over Duration, and started again on the same storage.
	Kills int
	// Refuse is the share of time (so of requests) the backend refuses.
	Refuse float64
	// Workers send in parallel; each starts PerTick conversations every Tick.
	Workers, PerTick int
	Tick             time.Duration
	// PendingTTL is llm_feedback's pending::ttl.
	PendingTTL time.Duration
	Seed       uint64
	// Logf prints progress.
	Logf func(format string, args ...any)
}

// retryGrace is llm_feedback's pending::retry_grace in every run.
const retryGrace = 10 * time.Second

// Run starts the collector, runs the traffic and the faults, stops the
// collector cleanly and counts what the backend accepted. An error means the
// run itself could not be carried out (the collector did not start, a
// client was never answered); what the collector lost or duplicated is in
// the Result.
func Run(cfg Config) (Result, error) {
	if cfg.Refuse < 0 || cfg.Refuse >= 1 {
		return Result{}, fmt.Errorf("refuse must be in [0, 1), got %v", cfg.Refuse)
	}
	if cfg.Workers < 1 || cfg.PerTick < 1 || cfg.Tick <= 0 || cfg.Duration <= 0 || cfg.PendingTTL <= 0 {
		return Result{}, fmt.Errorf("workers, per-tick, tick, duration and pending TTL must be positive: %+v", cfg)
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := filepath.Abs(cfg.Collector) // the collector runs in Dir
	if err != nil {
		return Result{}, err
	}
	b, err := newBackend(cfg.Refuse, cfg.Seed)
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	c := &collector{bin: bin, dir: cfg.Dir, backend: b.addr, pendingTTL: cfg.PendingTTL, retryGrace: retryGrace}
	if c.http, err = freePort(); err != nil {
		return Result{}, err
	}
	if c.metrics, err = freePort(); err != nil {
		return Result{}, err
	}
	if err := c.start(); err != nil {
		return Result{}, err
	}
	defer c.kill()
	logf("CHAOS collector 1 started (pid %d); storage and logs in %s", c.cmd.Process.Pid, cfg.Dir)

	began := time.Now()
	traffic, stopTraffic := context.WithTimeout(context.Background(), cfg.Duration)
	defer stopTraffic()
	// A batch not accepted within this is a failed run, not a lost record.
	sending, stopSending := context.WithTimeout(context.Background(), cfg.Duration+3*time.Minute)
	defer stopSending()

	rng := rand.New(rand.NewPCG(cfg.Seed, 0xc4a05))
	cl := newClient(c.http)
	led := &ledger{sent: map[string]sentRecord{}}
	kills := 0
	killerDone := make(chan error, 1)
	go func() {
		killerDone <- killAtRandom(traffic, c, schedule(rng, cfg.Duration, cfg.Kills), began, rng, &kills, logf)
	}()
	var wg sync.WaitGroup
	workerErrs := make([]error, cfg.Workers)
	for i := range cfg.Workers {
		w := &worker{
			n: i + 1, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i+1))), client: cl, ledger: led,
			perTick: cfg.PerTick, tick: cfg.Tick,
		}
		wg.Go(func() { workerErrs[i] = w.run(traffic, sending) })
	}
	wg.Wait()
	killErr := <-killerDone
	if err := errors.Join(append(workerErrs, killErr)...); err != nil {
		return Result{}, err
	}
	tokens := led.tokens()
	logf("CHAOS traffic done after %.1fs: %d feedback records accepted; waiting for the backend to have each",
		time.Since(began).Seconds(), len(tokens))

	// Held feedback whose completion was lost with a killed process comes
	// out unmatched after pending::ttl; a refused one is retried for
	// retry_grace more.
	deadline := time.Now().Add(cfg.PendingTTL + retryGrace + 30*time.Second)
	for b.missing(tokens) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	var problems []string
	if missing := b.missing(tokens); missing > 0 {
		held, err := c.gauge("otelcol_processor_llm_feedback_pending_records")
		problems = append(problems, fmt.Sprintf("%d records missing %v after the traffic; llm_feedback held %v (%v)",
			missing, time.Since(began.Add(cfg.Duration)).Round(time.Second), held, err))
	}
	if err := c.stop(30 * time.Second); err != nil {
		problems = append(problems, "stop: "+err.Error())
	}

	copies, requests, refused := b.snapshot()
	r := tally(led.sent, copies)
	r.Unacked = led.unacked
	for _, e := range led.notRetryable {
		problems = append(problems, "refused for good: "+e)
	}
	r.Problems = append(r.Problems, problems...)
	r.Unclean = len(problems) > 0
	r.Kills, r.BackendRequests, r.BackendRefused = kills, requests, refused
	r.ClientRetries = cl.retries.Load()
	return r, nil
}

// schedule spreads n kill times over the middle 80% of d, one in each of n
// equal slots, so restarts have time to finish between them.
func schedule(rng *rand.Rand, d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	if n == 0 {
		return out
	}
	slot := d * 8 / 10 / time.Duration(n)
	for i := range out {
		out[i] = d/10 + time.Duration(i)*slot + time.Duration((0.1+0.8*rng.Float64())*float64(slot))
	}
	return out
}

// killAtRandom SIGKILLs the collector at each of the times after began and
// starts it again on the same storage after a pause of up to half a second.
func killAtRandom(ctx context.Context, c *collector, at []time.Duration, began time.Time, rng *rand.Rand,
	kills *int, logf func(string, ...any)) error {
	for _, t := range at {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(began.Add(t))):
		}
		pid, incarnation := c.cmd.Process.Pid, c.incarnation
		c.kill()
		*kills++
		down := time.Duration(rng.Int64N(int64(500 * time.Millisecond)))
		logf("CHAOS SIGKILL %d at %.1fs: collector %d (pid %d); down for %v",
			*kills, time.Since(began).Seconds(), incarnation, pid, down.Round(time.Millisecond))
		time.Sleep(down) // the outage itself
		restart := time.Now()
		if err := c.start(); err != nil {
			return err
		}
		logf("CHAOS collector %d started on the same storage in %v", c.incarnation, time.Since(restart).Round(time.Millisecond))
	}
	return nil
}
