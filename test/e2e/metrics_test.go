package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// sums adds up every data point of the metrics file per "name{attrs}"; for
// histograms it adds up the counts.
func sums(t require.TestingT, path string) map[string]float64 {
	out := map[string]float64{}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return out
	}
	require.NoError(t, err)
	var u pmetric.JSONUnmarshaler
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		md, err := u.UnmarshalMetrics([]byte(line))
		require.NoError(t, err)
		rms := md.ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			sms := rms.At(i).ScopeMetrics()
			for j := 0; j < sms.Len(); j++ {
				ms := sms.At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					m := ms.At(k)
					switch m.Type() {
					case pmetric.MetricTypeSum:
						dps := m.Sum().DataPoints()
						for d := 0; d < dps.Len(); d++ {
							out[key(m.Name(), dps.At(d).Attributes())] += float64(dps.At(d).IntValue()) + dps.At(d).DoubleValue()
						}
					case pmetric.MetricTypeHistogram:
						dps := m.Histogram().DataPoints()
						for d := 0; d < dps.Len(); d++ {
							out[key(m.Name(), dps.At(d).Attributes())] += float64(dps.At(d).Count())
						}
					}
				}
			}
		}
	}
	return out
}

func key(name string, attrs pcommon.Map) string {
	var parts []string
	for k, v := range attrs.All() {
		parts = append(parts, fmt.Sprintf("%s=%s", k, v.AsString()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// spanOf appends one span with attrs to td, ended a second ago.
func spanOf(td ptrace.Traces, id pcommon.TraceID, attrs map[string]string) {
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(id)
	s.SetSpanID(pcommon.SpanID{0: 2, 7: id[15]})
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-2 * time.Second)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Second)))
	for k, v := range attrs {
		s.Attributes().PutStr(k, v)
	}
}

// TestFeedbackMetrics runs examples/metrics as written against a known input:
// completions of every naming generation llm_feedback recognises, spans of
// those generations that are not completions, and feedback.
func TestFeedbackMetrics(t *testing.T) {
	c := tc.NewFromFile(t, tc.Binary(t), t.TempDir(), filepath.Join("..", "..", "examples", "metrics", "config.yaml"),
		map[string]string{"PENDING_TTL": "500ms"})
	c.Start()
	gpt := []pcommon.TraceID{{0: 1, 15: 1}, {0: 1, 15: 2}, {0: 1, 15: 3}}
	claude := pcommon.TraceID{0: 2, 15: 1}
	td := completionBatch(gpt) // gen_ai.request.model=gpt-4o
	more := completionBatch([]pcommon.TraceID{claude})
	more.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().PutStr("gen_ai.request.model", "claude-3-5-sonnet")
	more.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())

	// Older semconv, OpenLLMetry and OpenInference name the model otherwise;
	// llm.completions counts them under gen_ai.request.model all the same.
	openllmetry, openinference := pcommon.TraceID{0: 4, 15: 1}, pcommon.TraceID{0: 5, 15: 1}
	spanOf(td, pcommon.TraceID{0: 3, 15: 1}, map[string]string{"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o"})
	spanOf(td, openllmetry, map[string]string{"llm.request.type": "chat", "llm.vendor": "OpenAI", "llm.request.model": "gpt-4o"})
	spanOf(td, pcommon.TraceID{0: 4, 15: 2}, map[string]string{"llm.request.type": "completion", "llm.request.model": "gpt-3.5-turbo-instruct"})
	spanOf(td, openinference, map[string]string{"openinference.span.kind": "LLM", "llm.model_name": "claude-3-5-sonnet"})
	// Not completions: the first marker present decides, as in llm_feedback.
	spanOf(td, pcommon.TraceID{0: 6, 15: 1}, map[string]string{"gen_ai.operation.name": "embeddings", "gen_ai.system": "openai", "gen_ai.request.model": "text-embedding-3-small"})
	spanOf(td, pcommon.TraceID{0: 6, 15: 2}, map[string]string{"llm.request.type": "embedding", "llm.request.model": "text-embedding-ada-002"})
	spanOf(td, pcommon.TraceID{0: 6, 15: 3}, map[string]string{"openinference.span.kind": "CHAIN", "llm.model_name": "gpt-4o"})
	spanOf(td, pcommon.TraceID{0: 6, 15: 4}, map[string]string{"llm.request.type": "rerank", "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o"})
	spanOf(td, pcommon.TraceID{0: 6, 15: 5}, map[string]string{"http.request.method": "POST"})
	require.NoError(t, c.SendTraces(td))

	ld := feedbackBatch([]string{"a", "b", "c", "d", "e", "f"},
		[]pcommon.TraceID{gpt[0], gpt[1], claude, {0: 9, 15: 9}, openllmetry, openinference})
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.At(1).Attributes().PutStr("rating", "Bad")
	require.NoError(t, c.SendLogs(ld))

	want := map[string]float64{
		"llm.completions{gen_ai.request.model=gpt-4o}":                                                            5,
		"llm.completions{gen_ai.request.model=claude-3-5-sonnet}":                                                 2,
		"llm.completions{gen_ai.request.model=gpt-3.5-turbo-instruct}":                                            1,
		"llm.feedback.count{gen_ai.request.model=gpt-4o,llm.feedback.correlation=matched,rating=Good}":            2,
		"llm.feedback.count{gen_ai.request.model=gpt-4o,llm.feedback.correlation=matched,rating=Bad}":             1,
		"llm.feedback.count{gen_ai.request.model=claude-3-5-sonnet,llm.feedback.correlation=matched,rating=Good}": 2,
		"llm.feedback.count{gen_ai.request.model=unknown,llm.feedback.correlation=unmatched,rating=Good}":         1,
		"llm.feedback.delay{gen_ai.request.model=gpt-4o}":                                                         3,
		"llm.feedback.delay{gen_ai.request.model=claude-3-5-sonnet}":                                              2,
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		require.Equal(ct, want, sums(ct, filepath.Join(c.Dir, "metrics.jsonl")))
	}, 30*time.Second, 100*time.Millisecond)
	// The connector and the processor agree on what a completion is.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		require.Equal(ct, 8.0, c.Sum("otelcol_processor_llm_feedback_completions_seen"))
	}, 10*time.Second, 100*time.Millisecond)
}
