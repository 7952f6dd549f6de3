package e2e

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// withStorage is baseConfig with a file_storage extension behind
// llm_feedback, and a wait long enough that nothing expires in a test.
var withStorage = map[string]any{"storage": true, "pending_ttl": "10m"}

func waitMetric(t *testing.T, c *tc.Collector, line string) {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		lines, err := c.Scrape(line[:len(line)-2])
		require.NoError(ct, err)
		require.Contains(ct, lines, line)
	}, 20*time.Second, 50*time.Millisecond)
}

// TestParkedFeedbackSurvivesSIGKILL: feedback waits for its span, the
// collector is killed without a chance to save anything, a new one starts
// on the same storage, the span arrives: the feedback comes out matched.
func TestParkedFeedbackSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	first := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	first.Start()
	td, ld := input(t, "before_span", "logs.yaml")
	require.NoError(t, first.SendLogs(ld))
	waitMetric(t, first, "otelcol_processor_llm_feedback_pending_records 1")
	first.Stop(syscall.SIGKILL)

	second := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	second.Start()
	waitMetric(t, second, "otelcol_processor_llm_feedback_pending_records 1")
	require.NoError(t, second.SendTraces(td))
	got := feedbackOut(t, second, 1)
	assert.Equal(t, "matched", got[0].Attrs["llm.feedback.correlation"])
	assert.Equal(t, "fb-early", got[0].Attrs["id"])
	assert.Equal(t, "gpt-4o", got[0].Attrs["gen_ai.request.model"])
	assert.Equal(t, "5b8efff798038103d269b633813fc60c", got[0].TraceID)
}

// TestCacheSurvivesSIGTERM: a completion is cached, the collector stops
// cleanly and saves its cache, a new one starts, feedback for the
// completion arrives: it comes out matched with the completion's fields.
func TestCacheSurvivesSIGTERM(t *testing.T) {
	dir := t.TempDir()
	first := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	first.Start()
	td, ld := input(t, "semconv_current", "logs.yaml")
	require.NoError(t, first.SendTraces(td))
	waitMetric(t, first, "otelcol_processor_llm_feedback_completions_cached 1")
	first.Stop(syscall.SIGTERM)

	second := tc.New(t, tc.Binary(t), dir, baseConfig, withStorage)
	second.Start()
	waitMetric(t, second, "otelcol_processor_llm_feedback_completions_cached 1")
	require.NoError(t, second.SendLogs(ld))
	got := feedbackOut(t, second, 1)
	assert.Equal(t, "matched", got[0].Attrs["llm.feedback.correlation"])
	assert.Equal(t, "gpt-4o-2024-08-06", got[0].Attrs["gen_ai.response.model"])
	assert.Equal(t, int64(120), got[0].Attrs["gen_ai.usage.input_tokens"])
	assert.Equal(t, []any{"stop"}, got[0].Attrs["gen_ai.response.finish_reasons"])
	assert.Equal(t, "chat-api", got[0].Attrs["llm.completion.service.name"])
}
