package llmfeedbackprocessor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/lbkey"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
)

func traceID(b byte) pcommon.TraceID { return pcommon.TraceID{15: b, 0: 0xab} }

// completion is a batch with one current-semconv chat span in trace id.
func completion(id pcommon.TraceID, span byte, model string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chat-api")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(id)
	s.SetSpanID(pcommon.SpanID{7: span})
	s.SetName("chat " + model)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(startTime.Add(-2 * time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(startTime.Add(-time.Second)))
	s.Attributes().PutStr("gen_ai.operation.name", "chat")
	s.Attributes().PutStr("gen_ai.request.model", model)
	s.Attributes().PutInt("gen_ai.usage.input_tokens", 10)
	return td
}

// feedbackFor is a batch with one app log and one feedback record about id.
func feedbackFor(id pcommon.TraceID, fbID string) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.LogRecords().AppendEmpty().Body().SetStr("app log")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(startTime))
	lr.Attributes().PutStr("trace_id", id.String())
	lr.Attributes().PutStr("rating", "Good")
	if fbID != "" {
		lr.Attributes().PutStr("id", fbID)
	}
	return ld
}

func feedbackRecords(lds []plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range lds {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					if lrs.At(k).EventName() == eventName {
						out = append(out, lrs.At(k))
					}
				}
			}
		}
	}
	return out
}

func attr(lr plog.LogRecord, k string) string {
	v, _ := lr.Attributes().Get(k)
	return v.AsString()
}

func TestSharedStateLifecycle(t *testing.T) {
	ctx := context.Background()
	state := &factoryState{shared: map[*Config]*shared{}}
	f := newFactory(state)
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(metadata.Type)
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	first := lp.(*logsProcessor).shared
	require.Same(t, state.shared[cfg.(*Config)], first, "one state per config, for both sides")
	require.Len(t, state.shared, 1)

	other := f.CreateDefaultConfig()
	op, err := f.CreateLogs(ctx, set, other, consumertest.NewNop())
	require.NoError(t, err)
	require.NotSame(t, first, op.(*logsProcessor).shared, "another config gets its own")
	require.NoError(t, op.Shutdown(ctx), "shutdown before start is safe")

	host := componenttest.NewNopHost()
	require.NoError(t, tp.Start(ctx, host))
	require.NoError(t, lp.Start(ctx, host))
	require.NoError(t, tp.Shutdown(ctx))
	require.NoError(t, lp.Shutdown(ctx))
	state.mu.Lock()
	_, still := state.shared[cfg.(*Config)]
	state.mu.Unlock()
	require.False(t, still, "shutdown removes the shared state, so a reload starts fresh")

	again, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	state.mu.Lock()
	fresh := state.shared[cfg.(*Config)]
	state.mu.Unlock()
	require.NotSame(t, first, fresh)
	require.NoError(t, again.Shutdown(ctx))
}

// TestBackgroundEmitter runs the real goroutine: feedback that waited is
// emitted as soon as its span arrives, without a tick.
func TestBackgroundEmitter(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.s.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, h.s.Shutdown(ctx)) }()

	id := traceID(1)
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, "a")))
	require.Len(t, feedbackRecords(h.lsink.AllLogs()), 0, "held back")
	require.Equal(t, 1, h.lsink.LogRecordCount(), "the app log of the batch went on at once")

	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(id, 1, "gpt-4o")))
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == 1 }, 5*time.Second, time.Millisecond)
	got := feedbackRecords(h.lsink.AllLogs())[0]
	assert.Equal(t, "matched", attr(got, attrCorrelation))
	assert.Equal(t, "gpt-4o", attr(got, "gen_ai.request.model"))
	assert.Equal(t, id, got.TraceID())
}

// TestReleasedFeedbackGoesOutTogether: held feedback released by separate
// span batches within the emitter's linger reaches the next consumer in one
// call, and none of it before the linger ends.
func TestReleasedFeedbackGoesOutTogether(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Cache.TTL = 2 * time.Second // TTL ticks every 200ms, during the linger too
	h := newHarness(t, cfg)
	h.s.c.emitter.linger = 3 * time.Second // long enough that the test's own pauses do not matter
	require.NoError(t, h.s.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, h.s.Shutdown(ctx)) }()

	ids := []pcommon.TraceID{traceID(11), traceID(12), traceID(13)}
	for i, id := range ids {
		require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, fmt.Sprint("together-", i))))
	}
	calls := len(h.lsink.AllLogs()) // the batches' app logs, passed on at once
	released := time.Now()
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(ids[0], 1, "gpt-4o")))
	require.Never(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) > 0 }, 200*time.Millisecond, time.Millisecond,
		"released alone, it waits for others")
	for i, id := range ids[1:] {
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(id, byte(i+2), "gpt-4o")))
	}
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == len(ids) }, 10*time.Second, time.Millisecond)
	require.GreaterOrEqual(t, time.Since(released), 3*time.Second)
	require.Len(t, h.lsink.AllLogs(), calls+1, "the three records in one call")
}

// TestRefusedBatchIsNotADuplicateOnRetry: when the next consumer refuses a
// batch, the error goes back to the caller, and the caller's retry of the
// same batch is joined again rather than dropped as a duplicate.
func TestRefusedBatchIsNotADuplicateOnRetry(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	id := traceID(2)
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(id, 1, "gpt-4o")))

	refuse := errors.New("queue is full")
	h.logs.next = consumertest.NewErr(refuse)
	require.ErrorIs(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, "same")), refuse)

	h.logs.next = h.lsink
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, "same")))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, "matched", attr(got[0], attrCorrelation))

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, "same")))
	require.Len(t, feedbackRecords(h.lsink.AllLogs()), 1, "a real double click is still dropped")
}

// flaky refuses the first n batches, then delivers to sink.
type flaky struct {
	consumer.Logs
	n    atomic.Int32
	sink *consumertest.LogsSink
}

func (f *flaky) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.n.Add(-1) >= 0 {
		return errors.New("exporter down")
	}
	return f.sink.ConsumeLogs(ctx, ld)
}

// TestEmitterRetriesUntilDelivered: the logs exporter fails for a while and
// recovers; every held-back feedback arrives exactly once.
func TestEmitterRetriesUntilDelivered(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	f := &flaky{sink: h.lsink}
	f.n.Store(3)
	h.s.c.setNext(f)
	require.NoError(t, h.s.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, h.s.Shutdown(ctx)) }()

	for i := byte(1); i <= 20; i++ {
		require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(i), "")))
	}
	for i := byte(1); i <= 20; i++ {
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(i), 1, "gpt-4o")))
	}
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) >= 20 }, 10*time.Second, 5*time.Millisecond)
	ids := map[string]int{}
	for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
		ids[attr(lr, "id")]++
		assert.Equal(t, "matched", attr(lr, attrCorrelation))
	}
	require.Len(t, ids, 20)
	for id, n := range ids {
		require.Equal(t, 1, n, id)
	}
}

// TestEmitterGivesUpAfterGrace: a consumer that never recovers costs the
// record after its deadline plus retry_grace, counted, never a hang.
func TestEmitterGivesUpAfterGrace(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	h := newHarnessWith(t, createDefaultConfig().(*Config), metadatatest.NewSettings(tt))
	h.s.c.setNext(consumertest.NewErr(errors.New("down for good")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(3), "x")))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(3), 1, "m")))
	h.s.c.emitter.flush(ctx) // refused: queued again
	h.clock.Advance(time.Minute + time.Second)
	retryNow(h.s.c.emitter)
	h.s.c.emitter.flush(ctx) // refused and past the grace: given up
	metadatatest.AssertEqualProcessorLlmFeedbackEmitFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp())
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestMetrics checks the counters against a known sequence of input.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := createDefaultConfig().(*Config)
	cfg.Cache.MaxTraces = 2
	cfg.Pending.MaxRecords = 1
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))

	for i := byte(1); i <= 3; i++ { // the third evicts trace 1
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(i), 1, "gpt-4o")))
	}
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(2), "a"))) // matched at once
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(2), "a"))) // duplicate
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(1), "b"))) // evicted: parked
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(9), "c"))) // pending full: overflow
	bad := feedbackFor(traceID(2), "d")
	bad.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().Remove("rating")
	require.NoError(t, h.logs.ConsumeLogs(ctx, bad)) // invalid
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(1), 1, "gpt-4o")))
	h.s.c.emitter.flush(ctx) // b matched after waiting

	ignore := metricdatatest.IgnoreTimestamp()
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackReceived(t, tt, []metricdata.DataPoint[int64]{{Value: 5}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackCompletionsSeen(t, tt, []metricdata.DataPoint[int64]{{Value: 4}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackDuplicates(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackPendingOverflow(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackMatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("join", "immediate"))},
		{Value: 1, Attributes: attribute.NewSet(attribute.String("join", "delayed"))},
	}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackUnmatched(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "overflow"))},
	}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackInvalid(t, tt, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "missing_rating"))},
	}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackCacheEvictions(t, tt, []metricdata.DataPoint[int64]{
		// trace 1 was evicted by trace 3, then trace 2 by trace 1's return.
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "max_traces"))},
	}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackTracesCached(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackCompletionsCached(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignore)
	metadatatest.AssertEqualProcessorLlmFeedbackPendingRecords(t, tt, []metricdata.DataPoint[int64]{{Value: 0}}, ignore)
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestLimitsCut: max_attribute_length and max_metadata_keys cut, and count.
func TestLimitsCut(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxAttributeLength = 41
	cfg.Feedback.MaxMetadataKeys = 3
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	ld := feedbackFor(traceID(4), "")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	lr.Attributes().PutStr("message", strings.Repeat("é", 30))
	md := lr.Attributes().PutEmptyMap("metadata")
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		md.PutStr(k, "v")
	}
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, strings.Repeat("é", 20), attr(got[0], "message"), "cut at 41 bytes, back to a rune boundary")
	n := 0
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		if _, ok := got[0].Attributes().Get(k); ok {
			n++
		}
	}
	assert.Equal(t, 3, n)
	_, hasMD := got[0].Attributes().Get("metadata")
	assert.False(t, hasMD, "metadata is flattened")
	metadatatest.AssertEqualProcessorLlmFeedbackTruncated(t, tt, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "max_metadata_keys"))},
		// The message only: ids are never cut.
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "max_attribute_length"))},
	}, ignore())
	assert.Equal(t, traceID(4).String(), attr(got[0], "trace_id"))
	assert.Len(t, attr(got[0], "id"), 36, "a derived id, never cut")
}

// TestLimitsCutAtAnyDepth: metadata nested in maps is flattened into dotted
// keys; strings and bytes inside maps and arrays, and a map body, are cut
// too, so a held record is bounded whatever its shape; the processor's own
// words are never cut, however small the limit.
func TestLimitsCutAtAnyDepth(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxAttributeLength = 4
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(4), 1, "gpt-4o")))
	ld := feedbackFor(traceID(4), "fb")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	md := lr.Attributes().PutEmptyMap("metadata")
	user := md.PutEmptyMap("user")
	user.PutStr("note", "a long note")
	user.PutEmptyMap("plan").PutStr("tier", "enterprise")
	user.PutEmptyMap("gen_ai").PutEmptyMap("response").PutStr("id", "metadata never sets a selector")
	md.PutEmptySlice("tags").FromRaw([]any{"first-tag", "ok"})
	md.PutEmptyBytes("blob").FromRaw([]byte("0123456789"))
	deep := md.PutEmptyMap("d")
	for range 10_000 { // flattened 8 levels down, the rest one value
		deep = deep.PutEmptyMap("d")
	}
	deep.PutStr("leaf", "a long leaf")
	md.PutStr(strings.Repeat("k", 300), "a key over 256 bytes is dropped")
	lr.Attributes().PutStr(attrJoinKey, "came in on the record")
	lr.Attributes().PutStr("span_id", strings.Repeat(" ", 1000)) // blank: no span named
	lr.Body().SetEmptyMap().PutStr("text", "a long body")
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	require.NoError(t, h.s.Shutdown(ctx))

	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	a := got[0].Attributes()
	assert.Equal(t, map[string]any{
		"user.note": "a lo", "user.plan.tier": "ente", "tags": []any{"firs", "ok"}, "blob": []byte("0123"),
	}, map[string]any{
		"user.note": attr(got[0], "user.note"), "user.plan.tier": attr(got[0], "user.plan.tier"),
		"tags": a.AsRaw()["tags"], "blob": a.AsRaw()["blob"],
	})
	_, ok := a.Get("user.gen_ai.response.id")
	assert.True(t, ok, "under its own dotted key")
	d, ok := a.Get("d.d.d.d.d.d.d.d")
	require.True(t, ok, "eight levels flattened")
	assert.Equal(t, pcommon.ValueTypeMap, d.Type(), "the rest one value")
	_, ok = a.Get(strings.Repeat("k", 300))
	assert.False(t, ok)
	assert.Equal(t, "came", attr(got[0], attrJoinKey), "cut as it came in, then kept")
	_, ok = a.Get("span_id")
	assert.True(t, ok, "the matched completion's span id")
	assert.Len(t, attr(got[0], "span_id"), 16)
	assert.Equal(t, map[string]any{"text": "a lo"}, got[0].Body().AsRaw())
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation), "the processor's own words whole")
	assert.Equal(t, eventName, attr(got[0], attrNewRelicEventType))
	metadatatest.AssertEqualProcessorLlmFeedbackTruncated(t, tt, []metricdata.DataPoint[int64]{
		// the six above, the deep leaf, the long key, the join key that came
		// in, the blank span_id (cut at the ids' 256 bytes before the matched
		// completion's replaced it), and the completion's model and service,
		// below the limit of its own strings
		{Value: 12, Attributes: attribute.NewSet(attribute.String("reason", "max_attribute_length"))},
	}, ignore())
}

// TestNoSpanNamed: a blank span_id names no span: the feedback joins the
// trace's latest completion, and unmatched it carries no span_id.
func TestNoSpanNamed(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(1), 1, "gpt-4o")))
	for i, span := range []string{"", "  "} {
		for _, trace := range []pcommon.TraceID{traceID(1), traceID(2)} {
			ld := feedbackFor(trace, fmt.Sprintf("fb-%d-%s", i, trace))
			ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().PutStr("span_id", span)
			require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
		}
	}
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 4)
	for _, lr := range got {
		if lr.TraceID() == traceID(1) {
			assert.Equal(t, correlationMatched, attr(lr, attrCorrelation))
			assert.Equal(t, pcommon.SpanID{7: 1}.String(), attr(lr, "span_id"))
			continue
		}
		assert.Equal(t, correlationUnmatched, attr(lr, attrCorrelation))
		_, has := lr.Attributes().Get("span_id")
		assert.False(t, has, "unmatched, no span named")
	}
}

func ignore() metricdatatest.Option { return metricdatatest.IgnoreTimestamp() }

// TestRouteMode: the routing tier only places feedback in the completion's
// trace, in every trace id form, and changes nothing else.
func TestRouteMode(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Mode = ModeRoute
	cfg.Route.RecordTraceID = RouteCompletion
	h := newHarness(t, cfg)
	require.NoError(t, h.s.Start(ctx, componenttest.NewNopHost()))
	want := pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	forms := []string{
		"5b8efff798038103d269b633813fc60c",
		"5B8EFFF798038103D269B633813FC60C",
		"5b8efff7-9803-8103-d269-b633813fc60c",
		"00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01",
	}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("app log")
	for _, f := range forms {
		lr := lrs.AppendEmpty()
		lr.SetEventName("LlmFeedbackMessage")
		lr.SetTraceID(traceID(9)) // the request that sent the feedback
		lr.Attributes().PutStr("trace_id", f)
		lr.Attributes().PutStr("rating", "Good")
	}
	bad := lrs.AppendEmpty()
	bad.SetEventName("LlmFeedbackMessage")
	bad.SetTraceID(traceID(9))
	bad.Attributes().PutStr("trace_id", "nonsense")
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(want, 1, "gpt-4o")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	out := h.lsink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, len(forms)+2, out.Len())
	assert.True(t, out.At(0).TraceID().IsEmpty())
	for i := range forms {
		lr := out.At(i + 1)
		assert.Equal(t, want, lr.TraceID(), forms[i])
		assert.Equal(t, "LlmFeedbackMessage", lr.EventName())
		_, enriched := lr.Attributes().Get(attrCorrelation)
		assert.False(t, enriched, "the routing tier does not join")
	}
	assert.Equal(t, traceID(9), out.At(len(forms)+1).TraceID(), "unreadable ids are left for the joining tier")
	tr, comps, pend := h.s.c.sizes()
	assert.Equal(t, []int{1, 1, 0}, []int{tr, comps, pend}, "the router remembers completions, for feedback by other keys, and holds nothing named by trace")
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestRouteModeStandIn: by default the record's TraceID is the stand-in the
// v0.161 load balancer routes with the completion's spans, and trace_id holds
// the completion's own id for the joining tier.
func TestRouteModeStandIn(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Mode = ModeRoute
	h := newHarness(t, cfg)
	want := traceID(3)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTraceID(want) // no trace_id attribute: the record's own id is the completion's
	lr.Attributes().PutStr("rating", "Good")
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	got := h.lsink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, lbkey.StandIn(want), got.TraceID())
	assert.NotEqual(t, want, got.TraceID())
	assert.Equal(t, want.String(), attr(got, "trace_id"))
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestWaitingFeedbackJoinsTheLatestOfItsBatch: feedback held for trace T is
// joined, when T's completions arrive in one batch, to the one that ended
// last, whatever their order in the batch.
func TestWaitingFeedbackJoinsTheLatestOfItsBatch(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	id := traceID(6)
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(id, "w")))
	td := completion(id, 1, "first-ends-later")
	later := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	later.SetEndTimestamp(later.EndTimestamp() + 5e9)
	earlier := completion(id, 2, "second-ends-earlier")
	earlier.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty())
	require.NoError(t, h.traces.ConsumeTraces(ctx, td))
	h.s.c.emitter.flush(ctx)
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, "first-ends-later", attr(got[0], "gen_ai.request.model"))

	// And the other order.
	h2 := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h2.logs.ConsumeLogs(ctx, feedbackFor(id, "w")))
	td2 := completion(id, 2, "ends-earlier")
	l2 := completion(id, 1, "ends-later")
	s := l2.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	s.SetEndTimestamp(s.EndTimestamp() + 5e9)
	s.CopyTo(td2.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty())
	require.NoError(t, h2.traces.ConsumeTraces(ctx, td2))
	h2.s.c.emitter.flush(ctx)
	got = feedbackRecords(h2.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, "ends-later", attr(got[0], "gen_ai.request.model"))
}

// TestOutputEdges: metadata cannot set selectors or output keys; an empty
// trace_id falls back to the record's own; empty optional strings are
// omitted; the feedback's time fills an empty Timestamp; ids are trimmed.
func TestOutputEdges(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	id := traceID(8)
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(id, 1, "gpt-4o")))
	ld := feedbackFor(id, "  spaced  ")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	lr.SetTraceID(id)
	lr.Attributes().PutStr("trace_id", " ")
	lr.Attributes().PutStr("category", "")
	lr.SetObservedTimestamp(lr.Timestamp())
	lr.SetTimestamp(0)
	md := lr.Attributes().PutEmptyMap("metadata")
	md.PutStr("span_id", "zz")
	md.PutStr("llm.feedback.error", "boom")
	md.PutStr("user_tier", "pro")
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	out := got[0]
	assert.Equal(t, "matched", attr(out, attrCorrelation))
	assert.Equal(t, id.String(), attr(out, "trace_id"))
	assert.Equal(t, "spaced", attr(out, "id"))
	assert.Equal(t, "pro", attr(out, "user_tier"))
	_, hasErr := out.Attributes().Get(attrError)
	assert.False(t, hasErr)
	_, hasCat := out.Attributes().Get("category")
	assert.False(t, hasCat)
	assert.Equal(t, pcommon.SpanID{7: 1}.String(), attr(out, "span_id"))
	assert.Equal(t, out.ObservedTimestamp(), out.Timestamp())
	require.NoError(t, h.s.Shutdown(ctx))
}

// TestEmptyScopesPassThrough: an empty scope the app sent stays, even in a
// batch from which feedback was taken out.
func TestEmptyScopesPassThrough(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	ld := feedbackFor(traceID(10), "held") // held: no completion yet
	ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty().Scope().SetName("empty")
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	out := h.lsink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs()
	require.Equal(t, 2, out.Len())
	assert.Equal(t, 1, out.At(0).LogRecords().Len(), "the app log stays, the feedback is held")
	assert.Equal(t, "empty", out.At(1).Scope().Name())
	require.NoError(t, h.s.Shutdown(ctx))
}
