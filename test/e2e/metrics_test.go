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

// TestFeedbackMetrics runs examples/metrics as written against a known input.
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
	require.NoError(t, c.SendTraces(td))

	ld := feedbackBatch([]string{"a", "b", "c", "d"}, []pcommon.TraceID{gpt[0], gpt[1], claude, {0: 9, 15: 9}})
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.At(1).Attributes().PutStr("rating", "Bad")
	require.NoError(t, c.SendLogs(ld))

	want := map[string]float64{
		"llm.completions{gen_ai.request.model=gpt-4o}":                                                            3,
		"llm.completions{gen_ai.request.model=claude-3-5-sonnet}":                                                 1,
		"llm.feedback.count{gen_ai.request.model=gpt-4o,llm.feedback.correlation=matched,rating=Good}":            1,
		"llm.feedback.count{gen_ai.request.model=gpt-4o,llm.feedback.correlation=matched,rating=Bad}":             1,
		"llm.feedback.count{gen_ai.request.model=claude-3-5-sonnet,llm.feedback.correlation=matched,rating=Good}": 1,
		"llm.feedback.count{gen_ai.request.model=unknown,llm.feedback.correlation=unmatched,rating=Good}":         1,
		"llm.feedback.delay{gen_ai.request.model=gpt-4o}":                                                         2,
		"llm.feedback.delay{gen_ai.request.model=claude-3-5-sonnet}":                                              1,
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		require.Equal(ct, want, sums(ct, filepath.Join(c.Dir, "metrics.jsonl")))
	}, 30*time.Second, 100*time.Millisecond)
}
