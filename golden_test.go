package llmfeedbackprocessor

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

var update = flag.Bool("update", false, "rewrite testdata/expected from the current output")

// fakeClock is the time the correlator reads; tests move it by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// harness wires both sides of one processor to sinks, with a fake clock and
// no background goroutine: steps tick and flush by hand.
type harness struct {
	t      *testing.T
	clock  *fakeClock
	s      *shared
	traces *tracesProcessor
	logs   *logsProcessor
	tsink  *consumertest.TracesSink
	lsink  *consumertest.LogsSink
}

// startTime is shortly after the feedback in testdata/input was written.
var startTime = time.Unix(0, 1_700_000_050_000_000_000)

func newHarness(t *testing.T, cfg *Config) *harness {
	return newHarnessWith(t, cfg, processortest.NewNopSettings(metadata.Type))
}

func newHarnessWith(t *testing.T, cfg *Config, set processor.Settings) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{t: t, clock: &fakeClock{t: startTime}, tsink: new(consumertest.TracesSink), lsink: new(consumertest.LogsSink)}
	s, err := newShared(set, cfg, h.clock.Now)
	require.NoError(t, err)
	s.c.setNext(h.lsink)
	h.s = s
	h.traces = &tracesProcessor{shared: s, next: h.tsink}
	h.logs = &logsProcessor{shared: s, next: h.lsink}
	return h
}

// output merges everything the logs side emitted, in order.
func (h *harness) output() plog.Logs {
	out := plog.NewLogs()
	for _, ld := range h.lsink.AllLogs() {
		ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
	}
	return out
}

type goldenSteps struct {
	Config map[string]any `mapstructure:"config"`
	Steps  []struct {
		Traces  string        `mapstructure:"traces"`
		Logs    string        `mapstructure:"logs"`
		Advance time.Duration `mapstructure:"advance"`
		Tick    bool          `mapstructure:"tick"`
		Flush   bool          `mapstructure:"flush"`
	} `mapstructure:"steps"`
}

// TestGolden runs each testdata/input/<case>/steps.yaml against a fresh
// processor, shuts it down, and compares every log record it emitted with
// testdata/expected/<case>.yaml. Spans must come out exactly as they went in.
func TestGolden(t *testing.T) {
	cases, err := os.ReadDir(filepath.Join("testdata", "input"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "input", c.Name())
			cm, err := confmaptest.LoadConf(filepath.Join(dir, "steps.yaml"))
			require.NoError(t, err)
			var st goldenSteps
			require.NoError(t, cm.Unmarshal(&st))
			cfg := createDefaultConfig().(*Config)
			if st.Config != nil {
				require.NoError(t, confmap.NewFromStringMap(st.Config).Unmarshal(cfg))
			}
			h := newHarness(t, cfg)
			ctx := context.Background()
			for _, step := range st.Steps {
				switch {
				case step.Traces != "":
					td, err := golden.ReadTraces(filepath.Join(dir, step.Traces))
					require.NoError(t, err)
					want, _ := golden.ReadTraces(filepath.Join(dir, step.Traces))
					require.NoError(t, h.traces.ConsumeTraces(ctx, td))
					got := h.tsink.AllTraces()
					require.NoError(t, ptracetest.CompareTraces(want, got[len(got)-1]))
				case step.Logs != "":
					ld, err := golden.ReadLogs(filepath.Join(dir, step.Logs))
					require.NoError(t, err)
					require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
				case step.Advance > 0:
					h.clock.Advance(step.Advance)
				case step.Tick:
					h.s.c.emitter.tick(ctx)
				case step.Flush:
					h.s.c.emitter.flush(ctx)
				}
			}
			require.NoError(t, h.s.Shutdown(ctx))
			got := h.output()
			path := filepath.Join("testdata", "expected", c.Name()+".yaml")
			if *update {
				require.NoError(t, golden.WriteLogs(t, path, got))
				return
			}
			want, err := golden.ReadLogs(path)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, got))
		})
	}
}
