package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// TestQuickStartPrintsWhatTheREADMEShows runs the README's quick start as a
// user would: config.yaml (on free ports), the README's two curl commands
// as written, and compares the record the debug exporter prints with the
// README's excerpt, line by line, but for the values that differ on every
// run (id, timestamps, delay). A new output attribute, or one renamed,
// fails it until the README shows it.
func TestQuickStartPrintsWhatTheREADMEShows(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```(sh)?\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var curls, excerpt string
	for _, b := range blocks {
		switch {
		case curls == "" && strings.Contains(b[2], "curl -s localhost:4318/v1/traces"):
			curls = b[2]
		case excerpt == "" && strings.HasPrefix(b[2], "ResourceLog #0"):
			excerpt = b[2]
		}
	}
	require.NotEmpty(t, curls, "the README's curl commands")
	require.NotEmpty(t, excerpt, "the README's excerpt of the debug exporter's output")

	dir := t.TempDir()
	config, err := os.ReadFile(filepath.Join("..", "..", "config.yaml"))
	require.NoError(t, err)
	grpc, http := tc.FreePort(t), tc.FreePort(t)
	cfg := strings.NewReplacer("localhost:4317", fmt.Sprintf("127.0.0.1:%d", grpc), "localhost:4318", fmt.Sprintf("127.0.0.1:%d", http)).Replace(string(config))
	require.NotEqual(t, string(config), cfg, "config.yaml listens on 4317 and 4318")
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	c := tc.NewFromFile(t, tc.Binary(t), dir, path, nil)
	c.Start()

	script := strings.ReplaceAll(curls, "localhost:4318", fmt.Sprintf("127.0.0.1:%d", http))
	out, err := exec.Command("bash", "-euc", script).CombinedOutput()
	require.NoError(t, err, string(out))
	require.Equal(t, `{"partialSuccess":{}}{"partialSuccess":{}}`, string(out), "each curl answers {\"partialSuccess\":{}}")

	var printed string
	require.Eventually(t, func() bool {
		o := c.Output()
		at := strings.Index(o, "EventName: LlmFeedbackMessage")
		if at < 0 {
			return false
		}
		// The record: from its ResourceLog line to its Flags line,
		// without the collector's log fields on the first line.
		start := strings.LastIndex(o[:at], "ResourceLog #0")
		flags := strings.Index(o[at:], "Flags: ")
		if start < 0 || flags < 0 {
			return false
		}
		end := strings.IndexByte(o[at+flags:], '\n')
		if end < 0 {
			return false
		}
		printed = o[start : at+flags+end+1]
		return true
	}, 10*time.Second, 50*time.Millisecond, "the debug exporter prints the enriched record")
	require.Equal(t, varying(excerpt), varying(printed))
}

// varying blanks the values that differ on every run.
func varying(s string) string {
	for _, re := range []string{`Timestamp: .*`, `-> id: Str\(.*\)`, `-> llm\.feedback\.delay_ms: Int\(.*\)`} {
		s = regexp.MustCompile(re).ReplaceAllStringFunc(s, func(m string) string {
			return m[:strings.IndexAny(m, ":(")+1] + "…"
		})
	}
	return s
}
