//go:build !race

// The race detector's sync.Pool drops items at random, by design, so under
// -race a batch's scratch space is often new: this file is left out of
// -race builds, and make test runs its test by name without -race.

package llmfeedbackprocessor

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/benchdata"
)

// TestTracesPathWithWaitingFeedbackAllocatesNothing: while feedback waits
// for completions (as it mostly does on a collector: some records wait out
// pending::ttl for completions that never come), every traces batch lists
// the keys its completions are found by and looks them up in the pending
// store. The list is the batch's scratch space, kept in a pool, so a full
// cache takes batch after batch without allocating.
func TestTracesPathWithWaitingFeedbackAllocatesNothing(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Cache.MaxTraces = 4096
	p := newBenchProc(t, cfg)
	g := benchdata.New(7)
	batches := make([]*benchdata.Batch, 4)
	for i := range batches {
		batches[i] = g.Spans(spansPerBatch, completionPct, startTime)
	}
	benchFill(t, p, g, cacheFull, batches...)
	const held = 20
	benchHoldFeedback(t, p, g, held)
	require.Equal(t, int64(held), p.s.c.waiting.Load())

	// One P: sync.Pool keeps an item per P, and a goroutine moved to
	// another would find none there.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const rounds = 40
	var mallocs uint64
	var ms runtime.MemStats
	for i := range rounds {
		bt := batches[i%len(batches)]
		g.Refresh(bt, startTime)
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		require.NoError(t, p.traces.ConsumeTraces(context.Background(), bt.Traces))
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - before
	}
	require.Equal(t, int64(held), p.s.c.waiting.Load(), "the records still wait: nothing completed them")
	// Not zero: another goroutine may allocate meanwhile, and the cache's
	// arrays may still grow now and then. A list made per batch is one
	// allocation or more in every one.
	require.Less(t, mallocs, uint64(rounds/2), "allocations in %d batches", rounds)
}
