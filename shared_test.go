package llmfeedbackprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
)

func newFactoryForTest() processor.Factory {
	return newFactory(&factoryState{shared: map[*Config]*shared{}})
}

// A failed first Start is every pipeline's failure, as with core's
// sharedcomponent: the second Start does not report success.
func TestStartErrorReachesEveryPipeline(t *testing.T) {
	ctx := context.Background()
	f := newFactoryForTest()
	cfg := f.CreateDefaultConfig().(*Config)
	missing := component.MustNewIDWithName("file_storage", "missing")
	cfg.Storage = &missing
	set := processortest.NewNopSettings(metadata.Type)
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	first := tp.Start(ctx, componenttest.NewNopHost())
	require.ErrorContains(t, first, `extension "file_storage/missing" is not configured`)
	assert.Equal(t, first, lp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, tp.Shutdown(ctx))
	require.NoError(t, lp.Shutdown(ctx))
}

// A second logs pipeline would silently take all delayed output: refused.
func TestSecondLogsPipelineIsRefused(t *testing.T) {
	ctx := context.Background()
	f := newFactoryForTest()
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(metadata.Type)
	_, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	_, err = f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
	require.ErrorContains(t, err, "llm_feedback is listed in more than one logs pipeline")
	_, err = f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err, "several traces pipelines may feed one cache")
}

// A join-mode processor missing from one side starts with a warning that
// says what to add.
func TestLayoutWarnings(t *testing.T) {
	for _, tc := range []struct {
		name   string
		traces bool
		logs   bool
		want   string
	}{
		{name: "logs only", logs: true, want: "is in no traces pipeline"},
		{name: "traces only", traces: true, want: "is in no logs pipeline"},
		{name: "both", traces: true, logs: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			core, logs := observer.New(zap.WarnLevel)
			set := processortest.NewNopSettings(metadata.Type)
			set.Logger = zap.New(core)
			f := newFactoryForTest()
			cfg := f.CreateDefaultConfig()
			var comps []component.Component
			if tc.traces {
				p, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
				require.NoError(t, err)
				comps = append(comps, p)
			}
			if tc.logs {
				p, err := f.CreateLogs(ctx, set, cfg, consumertest.NewNop())
				require.NoError(t, err)
				comps = append(comps, p)
			}
			for _, c := range comps {
				require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
			}
			for _, c := range comps {
				require.NoError(t, c.Shutdown(ctx))
			}
			if tc.want == "" {
				assert.Zero(t, logs.Len(), "no warning")
				return
			}
			require.Equal(t, 1, logs.Len())
			assert.Contains(t, logs.All()[0].Message, tc.want)
		})
	}
}

// The traces side reports the standard processor item metrics of its
// pipeline, through processorhelper.
func TestTracesSideItemMetrics(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()
	f := newFactoryForTest()
	cfg := f.CreateDefaultConfig()
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, tp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, tp.ConsumeTraces(ctx, completion(traceID(1), 1, "gpt-4o")))
	require.NoError(t, tp.Shutdown(ctx))
	for _, name := range []string{"otelcol_processor_incoming_items", "otelcol_processor_outgoing_items"} {
		m, err := tt.GetMetric(name)
		require.NoError(t, err, name)
		sum, ok := m.Data.(metricdata.Sum[int64])
		require.True(t, ok, name)
		require.Len(t, sum.DataPoints, 1)
		assert.Equal(t, int64(1), sum.DataPoints[0].Value, name)
	}
}
