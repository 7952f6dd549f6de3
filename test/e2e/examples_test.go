package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// TestExampleConfigsValidate runs `otelcol-llmfeedback validate` on every
// example config and on config.yaml, so no example rots. A build at a release
// without a component a config uses skips that config and says so.
func TestExampleConfigsValidate(t *testing.T) {
	bin := tc.Binary(t)
	configs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "*.yaml"))
	require.NoError(t, err)
	configs = append(configs, filepath.Join("..", "..", "config.yaml"))
	require.GreaterOrEqual(t, len(configs), 7)
	for _, cfg := range configs {
		t.Run(strings.TrimPrefix(cfg, "../../"), func(t *testing.T) {
			tc.RequireComponents(t, bin, cfg)
			cmd := exec.Command(bin, "validate", "--config", cfg)
			cmd.Env = append(cmd.Environ(), "NEW_RELIC_LICENSE_KEY=test-key")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, string(out))
		})
	}
}
