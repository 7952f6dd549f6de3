package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// nodeExample is the Node.js app under examples/node and its entry point.
const (
	nodeExampleDir = "../../examples/node"
	nodeExampleApp = "app.mjs"
)

var (
	npmCIOnce sync.Once
	npmCIOut  []byte
	npmCIErr  error
)

// nodeExample installs the example's locked dependencies once per test
// binary (`npm ci`) and returns its directory. Without node or npm it skips
// on a developer's machine and fails in CI (CI=true), where a skip would
// pass a run that never tried the example.
func nodeExample(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not on PATH (%v); CI=true, so the Node.js example must run: install Node.js and npm", tool, err)
			}
			t.Skipf("%s is not on PATH (%v); the Node.js example test needs Node.js and npm", tool, err)
		}
	}
	dir, err := filepath.Abs(nodeExampleDir)
	require.NoError(t, err)
	npmCIOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		began := time.Now()
		npmCIOut, npmCIErr = cmd.CombinedOutput()
		t.Logf("npm ci in %s took %v", dir, time.Since(began).Round(time.Millisecond))
	})
	require.NoError(t, npmCIErr, "npm ci in %s:\n%s", dir, npmCIOut)
	return dir
}

var (
	printedTraceID    = regexp.MustCompile(`(?m)^trace_id=([0-9a-f]{32})\s*$`)
	printedResponseID = regexp.MustCompile(`(?m)^response_id=(chatcmpl-[A-Za-z0-9]{29})\s*$`)
)

// nodeAnswer is what the example printed about the completion it made.
type nodeAnswer struct{ traceID, responseID string }

// runNodeApp runs the example against c, its feedback naming the completion
// by joinBy (JOIN_BY: response_id or trace_id), and returns the ids it printed.
func runNodeApp(t *testing.T, dir string, c *tc.Collector, feedbackFirst bool, joinBy string) nodeAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", nodeExampleApp)
	cmd.Dir = dir
	// Drop any OTEL_*, FEEDBACK_FIRST and JOIN_BY the developer's shell may carry.
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") && !strings.HasPrefix(kv, "FEEDBACK_FIRST=") && !strings.HasPrefix(kv, "JOIN_BY=") {
			env = append(env, kv)
		}
	}
	first := "0"
	if feedbackFirst {
		first = "1"
	}
	cmd.Env = append(env,
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:"+strconv.Itoa(c.HTTP),
		"OTEL_SERVICE_NAME=node-chat-example",
		"FEEDBACK_FIRST="+first,
		"JOIN_BY="+joinBy,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "node %s\nstdout:\n%s\nstderr:\n%s\ncollector:\n%s",
		nodeExampleApp, stdout.String(), stderr.String(), c.Output())
	tid := printedTraceID.FindStringSubmatch(stdout.String())
	require.NotNil(t, tid, "no trace_id=<32 hex> line on stdout:\n%s", stdout.String())
	rid := printedResponseID.FindStringSubmatch(stdout.String())
	require.NotNil(t, rid, "no response_id=chatcmpl-<29 alphanumerics> line on stdout:\n%s", stdout.String())
	if stderr.Len() > 0 {
		t.Logf("node stderr:\n%s", stderr.String())
	}
	return nodeAnswer{traceID: tid[1], responseID: rid[1]}
}

// TestNodeExample runs examples/node (the official OpenTelemetry JS SDK: one
// GenAI completion span carrying the OpenAI response id, then one
// LlmFeedbackMessage event through the logs API) against the built collector,
// in both arrival orders. The feedback names the completion by the response
// id alone, as a chat UI holds it, and once by trace id, New Relic's shape.
func TestNodeExample(t *testing.T) {
	for _, tt := range []struct {
		name          string
		feedbackFirst bool
		joinBy        string // JOIN_BY
		joinKey       string // llm.feedback.join_key expected
		join          string // feedback_matched{join=...} expected to count it
	}{
		{"response_id/span_first", false, "response_id", "gen_ai.response.id", "immediate"},
		{"response_id/feedback_first", true, "response_id", "gen_ai.response.id", "delayed"},
		{"trace_id/span_first", false, "trace_id", "trace_id", "immediate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := nodeExample(t)
			c := start(t, nil)
			answer := runNodeApp(t, dir, c, tt.feedbackFirst, tt.joinBy)

			got := feedbackOut(t, c, 1)
			r := got[0]
			a := r.Attrs
			t.Logf("printed %+v; enriched record: trace %s span %s attrs %v", answer, r.TraceID, r.SpanID, a)
			assert.Equal(t, "LlmFeedbackMessage", r.EventName)
			assert.Equal(t, "matched", a["llm.feedback.correlation"], "attrs: %v", a)
			assert.Equal(t, tt.joinKey, a["llm.feedback.join_key"])
			// The completion's trace, though with the response id the app sent none.
			assert.Equal(t, answer.traceID, r.TraceID)
			assert.Equal(t, answer.traceID, a["trace_id"])
			assert.Equal(t, r.SpanID, a["span_id"])
			assert.NotEqual(t, "0000000000000000", r.SpanID)

			// The completion's fields, from the JS span.
			assert.Equal(t, "chat", a["gen_ai.operation.name"])
			assert.Equal(t, "openai", a["gen_ai.provider.name"])
			assert.Equal(t, "gpt-4o", a["gen_ai.request.model"])
			assert.Equal(t, "gpt-4o-2024-08-06", a["gen_ai.response.model"])
			assert.Equal(t, answer.responseID, a["gen_ai.response.id"])
			assert.Equal(t, int64(120), a["gen_ai.usage.input_tokens"])
			assert.Equal(t, int64(48), a["gen_ai.usage.output_tokens"])
			assert.Equal(t, []any{"stop"}, a["gen_ai.response.finish_reasons"])
			assert.Equal(t, false, a["error"])
			assert.Equal(t, "node-chat-example", a["llm.completion.service.name"])
			if d, ok := a["duration"].(float64); assert.True(t, ok, "duration: %v", a["duration"]) {
				assert.GreaterOrEqual(t, d, 100.0, "the app's fake call sleeps 120ms")
			}

			// The feedback as the app sent it, metadata flattened.
			assert.Equal(t, "Good", a["rating"])
			assert.Equal(t, "informative", a["category"])
			assert.Equal(t, "Clear and correct answer", a["message"])
			assert.Equal(t, "Node", a["ingest_source"])
			assert.Equal(t, "pro", a["user_tier"])
			assert.Equal(t, "chat-widget", a["ui_surface"])
			assert.Equal(t, int64(3), a["conversation_turn"])
			assert.NotContains(t, a, "metadata")
			assert.NotEmpty(t, a["id"], "the processor generates an id")
			assert.Equal(t, "LlmFeedbackMessage", a["newrelic.event.type"])

			// The arrival order really was the one asked for.
			lines, err := c.Scrape("otelcol_processor_llm_feedback_feedback_matched")
			require.NoError(t, err)
			t.Logf("metrics:\n%s", strings.Join(lines, "\n"))
			assert.True(t, nodeMetricCounted(lines, `join="`+tt.join+`"`), "want join=%s counted in:\n%s",
				tt.join, strings.Join(lines, "\n"))
		})
	}
}

// nodeMetricCounted reports whether a metric line carrying label has a value above 0.
func nodeMetricCounted(lines []string, label string) bool {
	for _, l := range lines {
		if !strings.Contains(l, label) {
			continue
		}
		f := strings.Fields(l)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil && v > 0 {
			return true
		}
	}
	return false
}
