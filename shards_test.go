package llmfeedbackprocessor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// keyedCompletion is completion with a response id and a conversation id,
// ending end before startTime, with tokens input tokens.
func keyedCompletion(id pcommon.TraceID, resp, conv string, end time.Duration, tokens int64) ptrace.Traces {
	td := completion(id, 1, "gpt-4o")
	s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(startTime.Add(-end - time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(startTime.Add(-end)))
	s.Attributes().PutStr("gen_ai.response.id", resp)
	s.Attributes().PutStr("gen_ai.conversation.id", conv)
	s.Attributes().PutInt("gen_ai.usage.input_tokens", tokens)
	return td
}

// feedbackBy is a batch with one feedback record (id fbID) naming its
// completion by attribute key only.
func feedbackBy(key, value, fbID string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(startTime))
	lr.Attributes().PutStr(key, value)
	lr.Attributes().PutStr("rating", "Good")
	lr.Attributes().PutStr("id", fbID)
	return ld
}

// spreadTraceID is a trace id whose part depends on i.
func spreadTraceID(i int) pcommon.TraceID {
	return pcommon.TraceID{0: 0xcd, 8: byte(i), 9: byte(i >> 8), 15: 1}
}

func TestCachePartsBySize(t *testing.T) {
	for _, tc := range []struct{ maxTraces, parts int }{{1, 1}, {2047, 1}, {2048, 2}, {16_383, 8}, {16_384, 16}, {32_768, 32}, {100_000, 32}} {
		cfg := createDefaultConfig().(*Config)
		cfg.Cache.MaxTraces = tc.maxTraces
		cp := newCacheParts(cfg)
		require.Len(t, cp.parts, tc.parts, "max_traces %d", tc.maxTraces)
		total := 0
		for i := range 256 {
			assert.Less(t, cp.partOf(spreadTraceID(i)), tc.parts)
		}
		for i := range cp.parts {
			total += share(tc.maxTraces, tc.parts, i)
		}
		assert.Equal(t, tc.maxTraces, total, "the parts' bounds add up to max_traces")
	}
}

// A conversation's turns land in several parts: the feedback gets the turn
// that ended last at or before its time, with every earlier turn counted.
func TestConversationAcrossParts(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	require.Len(t, h.s.c.cache.parts, maxCacheParts)
	ctx := context.Background()
	parts := map[int]bool{}
	for i := range 8 {
		id := spreadTraceID(i)
		parts[h.s.c.cache.partOf(id)] = true
		require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(id, fmt.Sprintf("resp-%d", i), "conv", time.Duration(8-i)*time.Second, 10)))
	}
	// A later turn, after the feedback's time, is never picked.
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(spreadTraceID(8), "resp-8", "conv", -time.Second, 10)))
	require.Greater(t, len(parts), 1, "the turns are in several parts")

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy(feedback.AttrConversationID, "conv", "fb-conv")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy(feedback.AttrResponseID, "resp-3", "fb-resp")))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 2)
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation))
	assert.Equal(t, "resp-7", attr(got[0], feedback.AttrResponseID), "the last turn before the feedback")
	assert.Equal(t, "8", attr(got[0], attrConvCompletions))
	assert.Equal(t, "80", attr(got[0], attrConvInputTokens))
	assert.Equal(t, spreadTraceID(3).String(), attr(got[1], feedback.AttrTraceID))
}

// A snapshot of a cache in parts restores into a cache with another number
// of parts, every completion found by trace id and by response id.
func TestSnapshotAcrossPartCounts(t *testing.T) {
	from := newHarness(t, createDefaultConfig().(*Config))
	ctx := context.Background()
	for i := range 300 {
		require.NoError(t, from.traces.ConsumeTraces(ctx, keyedCompletion(spreadTraceID(i), fmt.Sprintf("resp-%d", i), fmt.Sprintf("conv-%d", i), time.Second, 10)))
	}
	snap := from.s.c.cache.snapshot(nil)

	cfg := createDefaultConfig().(*Config)
	cfg.Cache.MaxTraces = 4096
	to := newHarness(t, cfg)
	require.Len(t, to.s.c.cache.parts, 4)
	n, err := to.s.c.cache.restore(snap, startTime.UnixNano(), nil)
	require.NoError(t, err)
	assert.Equal(t, 300, n)
	traces, completions := to.s.c.cache.sizes()
	assert.Equal(t, 300, traces)
	assert.Equal(t, 300, completions)
	for i := range 300 {
		m, ok := to.s.c.cache.find(store.Query{Key: store.JoinKey{Kind: store.ByResponse, Hash: store.HashValue(fmt.Sprintf("resp-%d", i))}, Value: fmt.Sprintf("resp-%d", i)})
		require.True(t, ok, i)
		assert.Equal(t, spreadTraceID(i), m.Trace)
		_, ok = to.s.c.cache.find(store.Query{Key: store.TraceKey(spreadTraceID(i))})
		assert.True(t, ok, i)
	}
}

// Feedback and its completion arrive at the same moment from different
// goroutines, by every key: each record comes out exactly once, matched,
// whichever side wins, and nothing stays parked. Run it with -race.
func TestFeedbackRacingItsCompletion(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config))
	ctx := context.Background()
	const n = 1500
	for i := range n {
		id := spreadTraceID(i)
		resp, conv := fmt.Sprintf("resp-%d", i), fmt.Sprintf("conv-%d", i)
		var fb plog.Logs
		switch i % 3 {
		case 0:
			fb = feedbackFor(id, fmt.Sprintf("fb-%d", i))
		case 1:
			fb = feedbackBy(feedback.AttrResponseID, resp, fmt.Sprintf("fb-%d", i))
		default:
			fb = feedbackBy(feedback.AttrConversationID, conv, fmt.Sprintf("fb-%d", i))
		}
		td := keyedCompletion(id, resp, conv, time.Second, 10)
		// Both sides start together, the spans after a varying head start
		// of the feedback, so that over the loop every interleaving of the
		// two paths comes up.
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			spin(i * 7 % 200)
			assert.NoError(t, h.traces.ConsumeTraces(ctx, td))
		})
		wg.Go(func() {
			<-start
			assert.NoError(t, h.logs.ConsumeLogs(ctx, fb))
		})
		close(start)
		wg.Wait()
	}
	_, _, pending := h.s.c.sizes()
	require.Zero(t, pending, "no feedback parked after its completion came")
	h.s.c.emitter.flush(ctx)

	seen := map[string]int{}
	for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
		id := attr(lr, feedback.AttrID)
		seen[id]++
		assert.Equal(t, correlationMatched, attr(lr, attrCorrelation), id)
		var i int
		_, err := fmt.Sscanf(id, "fb-%d", &i)
		require.NoError(t, err)
		assert.Equal(t, spreadTraceID(i).String(), attr(lr, feedback.AttrTraceID), id)
	}
	require.Len(t, seen, n)
	for id, k := range seen {
		assert.Equal(t, 1, k, id)
	}
}

// spin busy-waits for about n hundred nanoseconds.
func spin(n int) {
	x := 0
	for i := range n * 30 {
		x += i
	}
	spinSink += x
}

var spinSink int

// An app key read from the span, else from its resource: a value on the
// span that is empty or neither a string nor an integer counts as absent,
// so the resource's is read, as it is when the span has none.
func TestAppKeyFallsBackToTheResource(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Join.Keys = []string{"app.session"}
	h := newHarness(t, cfg)
	for i, onSpan := range []func(pcommon.Map){
		func(pcommon.Map) {},
		func(m pcommon.Map) { m.PutStr("app.session", "") },
		func(m pcommon.Map) { m.PutBool("app.session", true) },
	} {
		td := keyedCompletion(traceID(byte(i+1)), fmt.Sprintf("resp-%d", i), "conv", time.Second, 5)
		rs := td.ResourceSpans().At(0)
		rs.Resource().Attributes().PutStr("app.session", fmt.Sprintf("s-%d", i))
		onSpan(rs.ScopeSpans().At(0).Spans().At(0).Attributes())
		require.NoError(t, h.traces.ConsumeTraces(ctx, td))
		require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("app.session", fmt.Sprintf("s-%d", i), fmt.Sprintf("fb-%d", i))))
	}
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 3)
	for i, lr := range got {
		assert.Equal(t, correlationMatched, attr(lr, attrCorrelation), "record %d", i)
		assert.Equal(t, traceID(byte(i+1)).String(), attr(lr, "trace_id"), "record %d", i)
	}
	require.NoError(t, h.s.Shutdown(ctx))
}
