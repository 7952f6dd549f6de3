package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// TestScaleOut runs examples/scale-out as written: one routing collector and
// three backends on loopback. 2,000 completions and their feedback (a third
// of it sent before its span, all of it from other requests' traces) go
// through the router; every feedback must come out matched exactly once,
// spread over all three backends.
func TestScaleOut(t *testing.T) {
	bin := tc.Binary(t)
	dir := filepath.Join("..", "..", "examples", "scale-out")
	var backends []*tc.Collector
	env := map[string]string{}
	for i := range 3 {
		b := tc.NewFromFile(t, bin, t.TempDir(), filepath.Join(dir, "backend.yaml"), nil)
		b.Start()
		backends = append(backends, b)
		env[fmt.Sprintf("BACKEND_%d", i+1)] = fmt.Sprintf("127.0.0.1:%d", b.GRPC)
	}
	router := tc.NewFromFile(t, bin, t.TempDir(), filepath.Join(dir, "router.yaml"), env)
	router.Start()

	const n, batch = 2000, 100
	ids := make([]pcommon.TraceID, n)
	fbIDs := make([]string, n)
	for i := range ids {
		ids[i] = pcommon.TraceID{0: 0xc0, 1: byte(i * 7), 2: byte(i * 13), 14: byte(i >> 8), 15: byte(i)}
		fbIDs[i] = fmt.Sprintf("fb-%04d", i)
	}
	sendFeedback := func(from, to int) {
		for s := from; s < to; s += batch {
			e := min(s+batch, to)
			ld := feedbackBatch(fbIDs[s:e], ids[s:e])
			// As a plain SDK would send it: in the trace of the request that
			// carried the click, not the completion's.
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lrs.At(k).SetTraceID(pcommon.TraceID{0: 0xee, 15: byte(k)})
				lrs.At(k).SetSpanID(pcommon.SpanID{0: 0xee, 7: 1})
			}
			require.NoError(t, router.SendLogs(ld))
		}
	}
	sendFeedback(0, n/3)
	for s := 0; s < n; s += batch {
		require.NoError(t, router.SendTraces(completionBatch(ids[s:min(s+batch, n)])))
	}
	sendFeedback(n/3, n)

	seen := map[string]int{}
	per := make([]int, len(backends))
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		clear(seen)
		for i, b := range backends {
			lds, err := tc.ReadLogsFile(filepath.Join(b.Dir, "feedback.jsonl"))
			require.NoError(ct, err)
			per[i] = 0
			for _, r := range tc.Flatten(lds) {
				if r.EventName != "LlmFeedbackMessage" {
					continue
				}
				require.Equal(ct, "matched", r.Attrs["llm.feedback.correlation"], r.Attrs["id"])
				seen[r.Attrs["id"].(string)]++
				per[i]++
			}
		}
		require.Len(ct, seen, n)
	}, 60*time.Second, 200*time.Millisecond)
	for id, times := range seen {
		require.Equal(t, 1, times, id)
	}
	for i, k := range per {
		assert.Positive(t, k, "backend %d got none", i+1)
	}
	t.Logf("feedback per backend: %v", per)
}
