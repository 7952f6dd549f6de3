package llmfeedbackprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/lbkey"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

func routeConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Mode = ModeRoute
	cfg.Route.RecordTraceID = RouteCompletion
	return cfg
}

// TestRouteModeMetrics: a router counts what it received, what it addressed
// to a completion's trace at once or after waiting (feedback_matched, with
// no delay: only the joining tier sees both sides), and what it passed on
// unaddressed because its pending store was full; records it cannot read
// are left for the joining tier to mark and count.
func TestRouteModeMetrics(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := routeConfig()
	cfg.Pending.MaxRecords = 1
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", time.Second, 5)))

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(7), "by-trace")))                 // addressed at once
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-1", "known"))) // addressed at once
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-2", "waits"))) // held
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-3", "full")))  // store full: on unaddressed
	bad := feedbackBy("gen_ai.response.id", "resp-1", "no-rating")
	bad.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Remove("rating")
	require.NoError(t, h.logs.ConsumeLogs(ctx, bad)) // on as it came, for the joining tier
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(2), "resp-2", "conv-2", time.Second, 5)))
	h.s.c.emitter.flush(ctx) // "waits" addressed after waiting

	got := map[string]string{}
	for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
		got[attr(lr, "id")] = ""
		if v, ok := lr.Attributes().Get("trace_id"); ok {
			got[attr(lr, "id")] = v.Str()
		}
	}
	assert.Equal(t, map[string]string{
		"by-trace": traceID(7).String(), "known": traceID(1).String(), "waits": traceID(2).String(),
		"full": "", "no-rating": "",
	}, got)
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackReceived(t, tt, []metricdata.DataPoint[int64]{{Value: 5}}, ignore())
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackMatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("join", "immediate"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("join", "delayed"))},
	}, ignore())
	metadatatest.AssertEqualProcessorLlmFeedbackPendingOverflow(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore())
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackUnmatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "overflow"))},
	}, ignore())
	assertNoCount(t, tt, "feedback_invalid")
	assertNoCount(t, tt, "feedback_delay")
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestRouterKeepsWhatItHoldsAcrossRestarts: with storage, a router keeps the
// feedback that waits for its completion, and the cache of where each key's
// completion went, through a restart: held feedback is addressed once its
// completion passes after the restart, and feedback by a key whose
// completion passed before it is addressed at once.
func TestRouterKeepsWhatItHoldsAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	cfg := routeConfig()
	cfg.Storage = &storageID

	first := newHarness(t, cfg)
	withDisk(t, first, disk)
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-late", "held")))
	require.NoError(t, first.s.Shutdown(ctx))
	assert.Empty(t, feedbackRecords(first.lsink.AllLogs()), "held on disk, not passed on unaddressed")

	second := newHarness(t, cfg)
	withDisk(t, second, disk)
	_, _, pending := second.s.c.sizes()
	require.Equal(t, 1, pending, "held again after the restart")
	require.NoError(t, second.traces.ConsumeTraces(ctx, keyedCompletion(traceID(4), "resp-late", "conv-4", time.Second, 5)))
	require.NoError(t, second.traces.ConsumeTraces(ctx, keyedCompletion(traceID(5), "resp-early", "conv-5", time.Second, 5)))
	second.s.c.emitter.flush(ctx)
	require.NoError(t, second.s.Shutdown(ctx))
	out := feedbackRecords(second.lsink.AllLogs())
	require.Len(t, out, 1)
	assert.Equal(t, traceID(4), out[0].TraceID())
	assert.Equal(t, traceID(4).String(), attr(out[0], "trace_id"))
	assert.Equal(t, "gen_ai.response.id", attr(out[0], attrJoinKey))

	third := newHarness(t, cfg)
	withDisk(t, third, disk)
	require.NoError(t, third.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-early", "after")))
	out = feedbackRecords(third.lsink.AllLogs())
	require.Len(t, out, 1, "addressed at once: the restored cache knows where resp-early went")
	assert.Equal(t, traceID(5).String(), attr(out[0], "trace_id"))
	require.NoError(t, third.s.Shutdown(ctx))
	assert.Equal(t, 4, disk.keys(), "nothing held is left: the range, the cache, the dedupe window and the route window")
}

// A route-mode processor opens its storage extension: one that is not
// configured stops the collector at start, as in join mode.
func TestRouterStorageMisconfigured(t *testing.T) {
	cfg := routeConfig()
	cfg.Storage = &storageID
	s, err := newShared(processortest.NewNopSettings(metadata.Type), cfg, time.Now)
	require.NoError(t, err)
	require.ErrorContains(t, s.Start(context.Background(), componenttest.NewNopHost()), `extension "file_storage/llm" is not configured`)
}

// TestRouterRetryGoesWhereTheFirstTryWent: feedback by conversation names
// its latest turn. A client's retry, sent after a later turn passed the
// router, is addressed where the first try went, so the backend that took
// the first try drops it as a double click; addressed to the later turn, it
// would land on another trace (another backend) and come out twice. Past
// feedback::dedupe_ttl, the same id is addressed anew. The same holds for
// feedback held until its completion passed.
func TestRouterRetryGoesWhereTheFirstTryWent(t *testing.T) {
	ctx := context.Background()
	cfg := routeConfig()
	cfg.Feedback.DedupeTTL = time.Hour
	h := newHarness(t, cfg)
	addressedTo := func() map[string][]string {
		got := map[string][]string{}
		for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
			got[attr(lr, "id")] = append(got[attr(lr, "id")], attr(lr, "trace_id"))
		}
		return got
	}
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", 2*time.Second, 5)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click-1")))
	// Held until conv-3's first turn passes, then addressed by the emitter.
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-3", "held")))
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(3), "resp-3", "conv-3", 2*time.Second, 5)))
	h.s.c.emitter.flush(ctx)
	// Both conversations' second turns, later.
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(2), "resp-2", "conv-1", time.Second, 5)))
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(4), "resp-4", "conv-3", time.Second, 5)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click-1"))) // the retry
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click-2"))) // a new click
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-3", "held")))    // the held one's retry
	assert.Equal(t, map[string][]string{
		"click-1": {traceID(1).String(), traceID(1).String()},
		"click-2": {traceID(2).String()},
		"held":    {traceID(3).String(), traceID(3).String()},
	}, addressedTo())

	h.clock.Advance(time.Hour)
	h.s.c.expire(h.clock.Now().UnixNano())
	assert.Equal(t, 0, h.s.c.routed.Len(), "past the TTL the window is empty")
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(2), "resp-2", "conv-1", time.Second, 5))) // cached again
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click-1")))
	require.Len(t, addressedTo()["click-1"], 3)
	assert.Equal(t, traceID(2).String(), addressedTo()["click-1"][2], "past the TTL, addressed to the latest turn")
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestRouterRetryOfWhatWentOnUnaddressed: a record the router passed on
// unaddressed (past pending::ttl, or with its pending store full) carries a
// routing key made of its id as TraceID, whatever TraceID of its own each
// try had, so every try lands on one backend; a retry that comes after its
// completion passed goes on unaddressed too, with the same key, rather than
// addressed to another backend: there the first try's backend drops it,
// and it does not come out a second time, joined. A new id for the same
// completion is addressed. A backend drops the routing key from what it
// emits unmatched.
func TestRouterRetryOfWhatWentOnUnaddressed(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := routeConfig()
	cfg.Feedback.DedupeTTL = time.Hour
	cfg.Pending.TTL = time.Minute
	cfg.Pending.MaxRecords = 1
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	try := func(value, id string, own byte) plog.Logs {
		ld := feedbackBy("gen_ai.response.id", value, id)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTraceID(pcommon.TraceID{0: 0xab, 15: own})
		return ld
	}
	out := func(id string) []plog.LogRecord {
		var got []plog.LogRecord
		for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
			if attr(lr, "id") == id {
				got = append(got, lr)
			}
		}
		return got
	}
	require.NoError(t, h.logs.ConsumeLogs(ctx, try("resp-1", "expires", 1))) // held
	require.NoError(t, h.logs.ConsumeLogs(ctx, try("resp-2", "full", 2)))    // store full: on at once
	h.clock.Advance(2 * time.Minute)
	h.s.c.emitter.expire()
	h.s.c.emitter.flush(ctx)
	for _, id := range []string{"expires", "full"} {
		require.Len(t, out(id), 1, id)
		lr := out(id)[0]
		assert.True(t, lbkey.IsRoutingKey(lr.TraceID()), "%s: TraceID %s is no routing key", id, lr.TraceID())
		_, addressed := lr.Attributes().Get("trace_id")
		assert.False(t, addressed, id)
	}
	assert.NotEqual(t, out("expires")[0].TraceID(), out("full")[0].TraceID(), "another id, another key")

	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", time.Second, 5)))
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(2), "resp-2", "conv-2", time.Second, 5)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, try("resp-1", "expires", 3))) // the retries, from another request
	require.NoError(t, h.logs.ConsumeLogs(ctx, try("resp-2", "full", 4)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, try("resp-1", "new", 5))) // a new click
	for _, id := range []string{"expires", "full"} {
		require.Len(t, out(id), 2, id)
		first, retry := out(id)[0], out(id)[1]
		assert.Equal(t, first.TraceID(), retry.TraceID(), "%s: the retry goes where the first try went", id)
		_, addressed := retry.Attributes().Get("trace_id")
		assert.False(t, addressed, "%s: the retry is not addressed", id)
	}
	require.Len(t, out("new"), 1)
	assert.Equal(t, traceID(1).String(), attr(out("new")[0], "trace_id"))
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackUnmatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "expired"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "overflow"))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "retry"))},
	}, ignore())
	require.NoError(t, h.s.Shutdown(ctx))

	// The backend those tries land on marks them unmatched without the key.
	backend := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, backend.logs.ConsumeLogs(ctx, feedbackRecordsAsLogs(out("full")[:1])))
	require.NoError(t, backend.s.Shutdown(ctx))
	got := feedbackRecords(backend.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, "unmatched", attr(got[0], "llm.feedback.correlation"))
	assert.True(t, got[0].TraceID().IsEmpty(), "the routing key is no trace: %s", got[0].TraceID())
}

// feedbackRecordsAsLogs puts copies of records into one batch.
func feedbackRecordsAsLogs(rs []plog.LogRecord) plog.Logs {
	ld := plog.NewLogs()
	dst := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, lr := range rs {
		lr.CopyTo(dst.AppendEmpty())
	}
	return ld
}

// TestRouterKeepsItsRouteWindowAcrossRestarts: with storage, where a router
// addressed each feedback id, and which ids it passed on unaddressed, are
// saved with its cache: after a restart (clean, or a SIGKILL after the
// snapshot), a retry still goes where the first try went, though a later
// turn of the conversation passed, or the completion came, meanwhile.
func TestRouterKeepsItsRouteWindowAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	cfg := routeConfig()
	cfg.Storage = &storageID
	cfg.Feedback.DedupeTTL = time.Hour
	cfg.Pending.MaxRecords = 1

	first := newHarness(t, cfg)
	withDisk(t, first, disk)
	require.NoError(t, first.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", 2*time.Second, 5)))
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click"))) // to turn 1
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-9", "held")))      // held
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-8", "full")))      // unaddressed
	require.NoError(t, first.s.Shutdown(ctx))
	firstOut := map[string]plog.LogRecord{}
	for _, lr := range feedbackRecords(first.lsink.AllLogs()) {
		firstOut[attr(lr, "id")] = lr
	}
	require.Len(t, firstOut, 2)
	require.True(t, lbkey.IsRoutingKey(firstOut["full"].TraceID()))

	second := newHarness(t, cfg)
	withDisk(t, second, disk)
	require.Equal(t, 2, second.s.c.routed.Len(), "the window is back")
	require.NoError(t, second.traces.ConsumeTraces(ctx, keyedCompletion(traceID(2), "resp-2", "conv-1", time.Second, 5)))
	require.NoError(t, second.traces.ConsumeTraces(ctx, keyedCompletion(traceID(8), "resp-8", "conv-8", time.Second, 5)))
	require.NoError(t, second.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "click")))
	require.NoError(t, second.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-8", "full")))
	require.NoError(t, second.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.conversation.id", "conv-1", "new"))) // a new click
	out := map[string]plog.LogRecord{}
	for _, lr := range feedbackRecords(second.lsink.AllLogs()) {
		out[attr(lr, "id")] = lr
	}
	assert.Equal(t, traceID(1).String(), attr(out["click"], "trace_id"), "the retry goes to turn 1, where the first try went")
	assert.Equal(t, firstOut["full"].TraceID(), out["full"].TraceID(), "the retry goes on unaddressed, with the same routing key")
	_, addressed := out["full"].Attributes().Get("trace_id")
	assert.False(t, addressed)
	assert.Equal(t, traceID(2).String(), attr(out["new"], "trace_id"), "a new id is addressed to the latest turn")
	require.NoError(t, second.s.Shutdown(ctx))
}

// A route window that does not decode is counted as corrupt and stops
// nothing: the router routes as with an empty window.
func TestRouterGarbledRouteWindowStopsNothing(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	disk.set(func(d *faultDisk) { d.m[keyRouted] = []byte{0xff, 1, 2} }) // no version of the window
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := routeConfig()
	cfg.Storage = &storageID
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	withDisk(t, h, disk)
	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "corrupt"))},
	}, ignore())
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", time.Second, 5)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-1", "after")))
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, traceID(1).String(), attr(got[0], "trace_id"))
}

// TestRouterRetryAfterTheCacheLostItsCompletion: the route window is asked
// before the cache, so a retry of an id the router addressed goes there at
// once even when the cache has since let the completion go (cache::ttl
// shorter than feedback::dedupe_ttl, or evicted); held until pending::ttl
// and passed on unaddressed, it would land on another backend than the
// first try and come out twice.
func TestRouterRetryAfterTheCacheLostItsCompletion(t *testing.T) {
	ctx := context.Background()
	cfg := routeConfig()
	cfg.Cache.TTL = time.Minute
	cfg.Feedback.DedupeTTL = time.Hour
	h := newHarness(t, cfg)
	require.NoError(t, h.traces.ConsumeTraces(ctx, keyedCompletion(traceID(1), "resp-1", "conv-1", time.Second, 5)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-1", "click")))
	h.clock.Advance(2 * time.Minute)
	h.s.c.expire(h.clock.Now().UnixNano())
	_, found := h.s.c.cache.find(store.Query{Key: store.JoinKey{Kind: store.ByResponse, Hash: store.HashValue("resp-1")}, Value: "resp-1", At: h.clock.Now().UnixNano()})
	require.False(t, found, "the cache let the completion go")
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "resp-1", "click"))) // the retry
	out := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, out, 2, "the retry is not held")
	for _, lr := range out {
		assert.Equal(t, traceID(1).String(), attr(lr, "trace_id"))
		assert.Equal(t, traceID(1), lr.TraceID())
	}
	require.NoError(t, h.s.Shutdown(ctx))
}

// twoTurnsOfOneTrace is one trace with two completions, span 1 answering
// with resp-a and span 2 with resp-b.
func twoTurnsOfOneTrace() ptrace.Traces {
	td := keyedCompletion(traceID(1), "resp-a", "conv-1", 2*time.Second, 5)
	second := keyedCompletion(traceID(1), "resp-b", "conv-1", time.Second, 7)
	second.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetSpanID(pcommon.SpanID{7: 2})
	second.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	return td
}

// TestBackendDedupesRoutedFeedbackByTheRoutersKey: one feedback id sent
// about two response ids of one trace is two records in a joining
// collector. Behind a router both come addressed to that trace, and the
// backend dedupes each by the key the router found it by (named in
// llm.feedback.join_key, its value still on the record), not by the trace:
// both come out, each joined to its own completion, and a retry of either
// is a duplicate. Held at the backend (its completions not there yet) and
// through a SIGKILL of the backend, the same.
func TestBackendDedupesRoutedFeedbackByTheRoutersKey(t *testing.T) {
	ctx := context.Background()
	router := newHarness(t, routeConfig())
	require.NoError(t, router.traces.ConsumeTraces(ctx, twoTurnsOfOneTrace()))
	for _, resp := range []string{"resp-a", "resp-b", "resp-a"} { // the last, a retry
		require.NoError(t, router.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", resp, "click")))
	}
	require.NoError(t, router.s.Shutdown(ctx))
	routed := feedbackRecords(router.lsink.AllLogs())
	require.Len(t, routed, 3, "the router passes the retry on: the backend that took the first try drops it")
	for _, lr := range routed {
		require.Equal(t, traceID(1).String(), attr(lr, "trace_id"))
	}
	spanOf := func(out []plog.LogRecord) map[string]string {
		got := map[string]string{}
		for _, lr := range out {
			assert.Equal(t, "matched", attr(lr, "llm.feedback.correlation"))
			got[attr(lr, "gen_ai.response.id")] = attr(lr, "span_id")
		}
		return got
	}
	want := map[string]string{"resp-a": pcommon.SpanID{7: 1}.String(), "resp-b": pcommon.SpanID{7: 2}.String()}

	backend := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, backend.traces.ConsumeTraces(ctx, twoTurnsOfOneTrace()))
	require.NoError(t, backend.logs.ConsumeLogs(ctx, feedbackRecordsAsLogs(routed)))
	require.NoError(t, backend.s.Shutdown(ctx))
	out := feedbackRecords(backend.lsink.AllLogs())
	require.Len(t, out, 2, "one record per response id; the retry dropped")
	assert.Equal(t, want, spanOf(out))

	// The feedback before its spans, held at the backend, which is killed
	// before it saves its dedupe window: the held records alone say what
	// their ids are unique within.
	disk := newFaultDisk()
	first := newHarness(t, storageConfig())
	withDisk(t, first, disk)
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackRecordsAsLogs(routed[:2])))
	require.True(t, first.s.c.persist.sync(ctx))
	afterKill := disk.killed()
	require.NoError(t, first.s.Shutdown(ctx))
	require.Empty(t, feedbackRecords(first.lsink.AllLogs()), "both held")
	second := newHarness(t, storageConfig())
	withDisk(t, second, afterKill)
	require.NoError(t, second.logs.ConsumeLogs(ctx, feedbackRecordsAsLogs(routed[2:]))) // the retry, after the restart
	require.NoError(t, second.traces.ConsumeTraces(ctx, twoTurnsOfOneTrace()))
	second.s.c.emitter.flush(ctx)
	require.NoError(t, second.s.Shutdown(ctx))
	out = feedbackRecords(second.lsink.AllLogs())
	require.Len(t, out, 2, "both held records joined, the retry a duplicate of the restored one")
	assert.Equal(t, want, spanOf(out))
}

// TestJoinKeyNotReadHereLeavesDedupeByTrace: a record that names in
// llm.feedback.join_key a key this collector does not read (not in
// join::keys) is deduplicated by its trace, as any record by trace id: one
// id about two traces that share that attribute's value is two records.
func TestJoinKeyNotReadHereLeavesDedupeByTrace(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	for _, id := range []byte{1, 2} {
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(id), 1, "gpt-4o")))
		ld := feedbackBy("trace_id", traceID(id).String(), "click")
		attrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes()
		attrs.PutStr(attrJoinKey, "user_id")
		attrs.PutStr("user_id", "u-1")
		require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	}
	require.NoError(t, h.s.Shutdown(ctx))
	out := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, out, 2)
	assert.Equal(t, traceID(1).String(), attr(out[0], "trace_id"))
	assert.Equal(t, traceID(2).String(), attr(out[1], "trace_id"))
}
