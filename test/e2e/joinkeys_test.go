package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// byID indexes output records by feedback id.
func byID(rs []tc.Record) map[string]tc.Record {
	m := map[string]tc.Record{}
	for _, r := range rs {
		id, _ := r.Attrs["id"].(string)
		m[id] = r
	}
	return m
}

// TestJoinByEveryKey runs the golden inputs of each join key through the
// built collector (join::keys [app.message_id], as baseConfig sets): the
// response id, the app key on a span, on a resource and as an integer, the
// conversation's turn by time, and feedback that waits for its completion.
func TestJoinByEveryKey(t *testing.T) {
	c := start(t, map[string]any{"pending_ttl": "2s"})
	for _, kase := range []string{"key_response_id", "key_app", "key_conversation"} {
		td, ld := input(t, kase, "logs.yaml")
		require.NoError(t, c.SendTraces(td))
		require.NoError(t, c.SendLogs(ld))
	}
	more, err := golden.ReadTraces("../../testdata/input/key_app/traces2.yaml")
	require.NoError(t, err)
	require.NoError(t, c.SendTraces(more))
	got := byID(feedbackOut(t, c, 10))

	for id, want := range map[string]struct{ correlation, key, trace, span string }{
		"by-response":     {"matched", "gen_ai.response.id", "aaaa0000000000000000000000000001", "a000000000000001"},
		"not-found":       {"unmatched", "gen_ai.response.id", "dddd0000000000000000000000000004", ""},
		"trace-id-first":  {"unmatched", "trace_id", "bbbb0000000000000000000000000002", ""},
		"on-span":         {"matched", "app.message_id", "aaaa0000000000000000000000000001", "a000000000000001"},
		"on-resource":     {"matched", "app.message_id", "bbbb0000000000000000000000000002", "b000000000000001"},
		"integer-as-text": {"matched", "app.message_id", "cccc0000000000000000000000000003", "c000000000000001"},
		"waits":           {"matched", "app.message_id", "eeee0000000000000000000000000005", "e000000000000001"},
		"second-turn":     {"matched", "gen_ai.conversation.id", "bbbb0000000000000000000000000002", "b000000000000001"},
		"third-turn":      {"matched", "gen_ai.conversation.id", "cccc0000000000000000000000000003", "c000000000000001"},
		"before-any-turn": {"unmatched", "gen_ai.conversation.id", "", ""},
	} {
		r, ok := got[id]
		require.True(t, ok, id)
		assert.Equal(t, want.correlation, r.Attrs["llm.feedback.correlation"], id)
		assert.Equal(t, want.key, r.Attrs["llm.feedback.join_key"], id)
		if want.trace != "" {
			assert.Equal(t, want.trace, r.TraceID, id)
		}
		if want.span != "" {
			assert.Equal(t, want.span, r.SpanID, id)
			assert.Equal(t, want.trace, r.Attrs["trace_id"], id)
		}
		if want.correlation == "unmatched" && want.key != "trace_id" {
			assert.NotContains(t, r.Attrs, "trace_id", id)
		}
	}
	assert.Equal(t, int64(2), got["second-turn"].Attrs["llm.conversation.completions"])
	assert.Equal(t, int64(250), got["second-turn"].Attrs["llm.conversation.usage.input_tokens"])
	assert.Equal(t, int64(50), got["second-turn"].Attrs["llm.conversation.usage.output_tokens"])
	assert.Equal(t, int64(3), got["third-turn"].Attrs["llm.conversation.completions"])
}

// instrumentedSpans are completion spans as real instrumentations write
// them with the provider's response id: the OpenTelemetry JS OpenAI
// instrumentation (current semconv with gen_ai.system) and OpenLLMetry
// (legacy names, gen_ai.response.id in current releases).
func instrumentedSpans(end time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chat-api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	js := spans.AppendEmpty()
	js.SetName("chat gpt-4o-mini")
	js.SetTraceID(pcommon.TraceID{0: 0x0a, 15: 1})
	js.SetSpanID(pcommon.SpanID{0: 0x0a, 7: 1})
	js.SetKind(ptrace.SpanKindClient)
	js.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-800 * time.Millisecond)))
	js.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	for k, v := range map[string]string{
		"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
		"gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-AxB3mRc5c8rVq2Z1aL9nS0JdEF1",
	} {
		js.Attributes().PutStr(k, v)
	}
	js.Attributes().PutInt("gen_ai.usage.input_tokens", 22)
	js.Attributes().PutInt("gen_ai.usage.output_tokens", 9)
	js.Attributes().PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	ol := spans.AppendEmpty()
	ol.SetName("openai.chat")
	ol.SetTraceID(pcommon.TraceID{0: 0x0b, 15: 2})
	ol.SetSpanID(pcommon.SpanID{0: 0x0b, 7: 2})
	ol.SetKind(ptrace.SpanKindClient)
	ol.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Second)))
	ol.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	for k, v := range map[string]string{
		"llm.request.type": "chat", "gen_ai.system": "OpenAI", "gen_ai.request.model": "gpt-4",
		"gen_ai.response.model": "gpt-4-0613", "gen_ai.response.id": "chatcmpl-9fQ2Lx7uV0cWm4Y8kTz1pRb3sHnA",
		"llm.completions.0.finish_reason": "stop",
	} {
		ol.Attributes().PutStr(k, v)
	}
	ol.Attributes().PutInt("gen_ai.usage.prompt_tokens", 31)
	ol.Attributes().PutInt("gen_ai.usage.completion_tokens", 12)
	return td
}

// keyedFeedback is feedback naming its completion by key=value only, sent
// from another request's trace.
func keyedFeedback(id, key, value string, at time.Time) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	lr.SetTraceID(pcommon.TraceID{0: 0xfe, 15: 9})
	lr.Attributes().PutStr(key, value)
	lr.Attributes().PutStr("rating", "Good")
	lr.Attributes().PutStr("id", id)
	return ld
}

// TestJoinByResponseIDOfRealInstrumentations: feedback carrying only the id
// the provider returned finds spans written by real instrumentations.
func TestJoinByResponseIDOfRealInstrumentations(t *testing.T) {
	c := start(t, nil)
	end := time.Now().Add(-2 * time.Second)
	require.NoError(t, c.SendTraces(instrumentedSpans(end)))
	require.NoError(t, c.SendLogs(keyedFeedback("js", "gen_ai.response.id", "chatcmpl-AxB3mRc5c8rVq2Z1aL9nS0JdEF1", time.Now())))
	require.NoError(t, c.SendLogs(keyedFeedback("openllmetry", "gen_ai.response.id", "chatcmpl-9fQ2Lx7uV0cWm4Y8kTz1pRb3sHnA", time.Now())))
	got := byID(feedbackOut(t, c, 2))
	assert.Equal(t, "0a000000000000000000000000000001", got["js"].TraceID)
	assert.Equal(t, "gpt-4o-mini-2024-07-18", got["js"].Attrs["gen_ai.response.model"])
	assert.Equal(t, int64(22), got["js"].Attrs["gen_ai.usage.input_tokens"])
	assert.Equal(t, "0b000000000000000000000000000002", got["openllmetry"].TraceID)
	assert.Equal(t, "gpt-4-0613", got["openllmetry"].Attrs["gen_ai.response.model"])
	assert.Equal(t, int64(12), got["openllmetry"].Attrs["gen_ai.usage.output_tokens"])
	for _, r := range got {
		assert.Equal(t, "matched", r.Attrs["llm.feedback.correlation"])
		assert.Equal(t, "gen_ai.response.id", r.Attrs["llm.feedback.join_key"])
	}
}

// TestEveryKeyFindsRestoredCompletions: completions cached before a clean
// restart with storage are found after it by every key.
func TestEveryKeyFindsRestoredCompletions(t *testing.T) {
	dir := t.TempDir()
	first := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	first.Start()
	end := time.Now().Add(-5 * time.Second)
	td := instrumentedSpans(end)
	js := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	js.Attributes().PutStr("app.message_id", "msg-77")
	js.Attributes().PutStr("gen_ai.conversation.id", "conv-77")
	require.NoError(t, first.SendTraces(td))
	waitMetric(t, first, "otelcol_processor_llm_feedback_completions_cached 2")
	first.Stop(syscall.SIGTERM)

	second := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	second.Start()
	waitMetric(t, second, "otelcol_processor_llm_feedback_completions_cached 2")
	keys := map[string]string{
		"gen_ai.response.id":     "chatcmpl-9fQ2Lx7uV0cWm4Y8kTz1pRb3sHnA",
		"app.message_id":         "msg-77",
		"gen_ai.conversation.id": "conv-77",
	}
	for key, value := range keys {
		require.NoError(t, second.SendLogs(keyedFeedback(fmt.Sprint("after-restart-", key), key, value, time.Now())))
	}
	got := byID(feedbackOut(t, second, len(keys)))
	for key := range keys {
		r := got["after-restart-"+key]
		assert.Equal(t, "matched", r.Attrs["llm.feedback.correlation"], key)
		assert.Equal(t, key, r.Attrs["llm.feedback.join_key"], key)
	}
	assert.Equal(t, "0b000000000000000000000000000002", got["after-restart-gen_ai.response.id"].TraceID)
	assert.Equal(t, "0a000000000000000000000000000001", got["after-restart-app.message_id"].TraceID)
	assert.Equal(t, "0a000000000000000000000000000001", got["after-restart-gen_ai.conversation.id"].TraceID)
}
