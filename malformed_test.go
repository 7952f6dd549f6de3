package llmfeedbackprocessor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
)

// TestMalformedFeedback puts each malformed record in a batch between an app
// log and a valid feedback record: the malformed one must come out marked
// invalid with a reason, the others as they would without it.
func TestMalformedFeedback(t *testing.T) {
	good := traceID(7)
	cases := []struct {
		name   string
		set    func(m pcommon.Map)
		reason string
		error  string // a fragment of llm.feedback.error
	}{
		{"no rating", func(m pcommon.Map) { m.Remove("rating") }, "missing_rating", "rating is missing"},
		{"empty rating", func(m pcommon.Map) { m.PutStr("rating", "") }, "missing_rating", "rating is an empty string"},
		{"blank rating", func(m pcommon.Map) { m.PutStr("rating", "   ") }, "missing_rating", "rating is an empty string"},
		{"map rating", func(m pcommon.Map) { m.PutEmptyMap("rating").PutInt("stars", 4) }, "bad_rating", "rating is a map"},
		{"array rating", func(m pcommon.Map) { m.PutEmptySlice("rating").AppendEmpty().SetInt(1) }, "bad_rating", "rating is an array"},
		{"bytes rating", func(m pcommon.Map) { m.PutEmptyBytes("rating").FromRaw([]byte{1}) }, "bad_rating", "rating is bytes"},
		{"no-value rating", func(m pcommon.Map) { m.PutEmpty("rating") }, "missing_rating", "rating is missing"},
		{"no join key anywhere", func(m pcommon.Map) { m.Remove("trace_id") }, "no_join_key", "carries none of trace_id, gen_ai.response.id, gen_ai.conversation.id, session.id"},
		{"trace id int", func(m pcommon.Map) { m.PutInt("trace_id", 42) }, "bad_trace_id", "trace_id is an integer"},
		{"trace id double", func(m pcommon.Map) { m.PutDouble("trace_id", 4.2) }, "bad_trace_id", "trace_id is a double"},
		{"trace id bool", func(m pcommon.Map) { m.PutBool("trace_id", true) }, "bad_trace_id", "trace_id is a bool"},
		{"trace id map", func(m pcommon.Map) { m.PutEmptyMap("trace_id") }, "bad_trace_id", "trace_id is a map"},
		{"trace id array", func(m pcommon.Map) { m.PutEmptySlice("trace_id") }, "bad_trace_id", "trace_id is an array"},
		{"trace id empty", func(m pcommon.Map) { m.PutStr("trace_id", "") }, "no_join_key", "no join key"},
		{"trace id too long", func(m pcommon.Map) { m.PutStr("trace_id", strings.Repeat("a", 33)) }, "bad_trace_id", "too long"},
		{"trace id megabytes", func(m pcommon.Map) { m.PutStr("trace_id", strings.Repeat("f", 1<<20)) }, "bad_trace_id", "too long"},
		{"trace id non-hex", func(m pcommon.Map) { m.PutStr("trace_id", "5b8efff798038103d269b633813fc6zz") }, "bad_trace_id", "not hex"},
		{"trace id zeros", func(m pcommon.Map) { m.PutStr("trace_id", "0000") }, "bad_trace_id", "all zeros"},
		{"trace id zero uuid", func(m pcommon.Map) { m.PutStr("trace_id", "00000000-0000-0000-0000-000000000000") }, "bad_trace_id", "all zeros"},
		{"trace id bad dashes", func(m pcommon.Map) { m.PutStr("trace_id", "5b8e-fff7") }, "bad_trace_id", "neither a UUID"},
		{"trace id bad traceparent", func(m pcommon.Map) { m.PutStr("trace_id", "ff-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01") }, "bad_trace_id", "neither a UUID"},
		{"trace id short bytes", func(m pcommon.Map) { m.PutEmptyBytes("trace_id").FromRaw([]byte{1, 2, 3}) }, "bad_trace_id", "trace_id is 3 bytes"},
		{"span id int", func(m pcommon.Map) { m.PutInt("span_id", 7) }, "bad_span_id", "span_id is an integer"},
		{"span id non-hex", func(m pcommon.Map) { m.PutStr("span_id", "nothex!!") }, "bad_span_id", "not hex"},
		{"span id too long", func(m pcommon.Map) { m.PutStr("span_id", strings.Repeat("1", 17)) }, "bad_span_id", "too long"},
		{"span id zeros", func(m pcommon.Map) { m.PutStr("span_id", "0000000000000000") }, "bad_span_id", "all zeros"},
		{"response id double", func(m pcommon.Map) { m.PutDouble("gen_ai.response.id", 1.5) }, "bad_type", "gen_ai.response.id is a double; expected a string or an integer"},
		{"metadata string", func(m pcommon.Map) { m.PutStr("metadata", `{"a":1}`) }, "bad_type", "metadata is a string"},
		{"metadata array", func(m pcommon.Map) { m.PutEmptySlice("metadata") }, "bad_type", "metadata is an array"},
		{"metadata int", func(m pcommon.Map) { m.PutInt("metadata", 1) }, "bad_type", "metadata is an integer"},
		{"category int", func(m pcommon.Map) { m.PutInt("category", 3) }, "bad_type", "category is an integer"},
		{"message map", func(m pcommon.Map) { m.PutEmptyMap("message") }, "bad_type", "message is a map"},
		{"id map", func(m pcommon.Map) { m.PutEmptyMap("id") }, "bad_type", "id is a map"},
		{"id too long", func(m pcommon.Map) { m.PutStr("id", strings.Repeat("i", 300)) }, "bad_type", "id is 300 bytes long"},
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tt := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
			h := newHarnessWith(t, createDefaultConfig().(*Config), metadatatest.NewSettings(tt))
			require.NoError(t, h.traces.ConsumeTraces(ctx, completion(good, 1, "gpt-4o")))

			ld := feedbackFor(good, "valid") // [app log, valid feedback]
			bad := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty()
			bad.SetEventName("LlmFeedbackMessage")
			bad.Attributes().PutStr("trace_id", good.String())
			bad.Attributes().PutStr("rating", "Bad")
			bad.Attributes().PutStr("id", "malformed")
			tc.set(bad.Attributes())

			require.NotPanics(t, func() { require.NoError(t, h.logs.ConsumeLogs(ctx, ld)) })
			out := h.lsink.AllLogs()
			require.Len(t, out, 1)
			lrs := out[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			require.Equal(t, 3, lrs.Len(), "nothing taken out of the batch")
			assert.Equal(t, "app log", lrs.At(0).Body().Str())
			assert.Equal(t, "matched", attr(lrs.At(1), attrCorrelation))
			got := lrs.At(2)
			assert.Equal(t, "invalid", attr(got, attrCorrelation))
			assert.Contains(t, attr(got, attrError), tc.error)
			assert.LessOrEqual(t, len(attr(got, attrError)), 300, "the error stays short")
			for _, k := range []string{"trace_id", "rating", "metadata"} {
				if v, ok := got.Attributes().Get(k); ok && v.Type() == pcommon.ValueTypeStr {
					assert.LessOrEqual(t, len(v.Str()), 4095, "%s is cut to max_attribute_length", k)
				}
			}
			metadatatest.AssertEqualProcessorLlmFeedbackFeedbackInvalid(t, tt, []metricdata.DataPoint[int64]{
				{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", tc.reason))},
			}, metricdatatest.IgnoreTimestamp())
			require.NoError(t, h.s.Shutdown(ctx))
		})
	}
}
