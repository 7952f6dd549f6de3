package llmfeedbackprocessor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
)

type host struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.ext }

// brokenDisk is a storage extension whose every operation fails: a full or
// read-only disk. (The real file_storage is exercised end to end in
// test/e2e; a disk that fails on cue is not something a test can run.)
type brokenDisk struct {
	component.StartFunc
	component.ShutdownFunc
	closed bool
}

var errDisk = errors.New("input/output error")

func (d *brokenDisk) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return d, nil
}
func (d *brokenDisk) Get(context.Context, string) ([]byte, error)        { return nil, errDisk }
func (d *brokenDisk) Set(context.Context, string, []byte) error          { return errDisk }
func (d *brokenDisk) Delete(context.Context, string) error               { return errDisk }
func (d *brokenDisk) Batch(context.Context, ...*storage.Operation) error { return errDisk }
func (d *brokenDisk) Close(context.Context) error                        { d.closed = true; return nil }

// TestStorageErrorsNeverBlockTheDataPath: with a storage that fails every
// call, feedback is still held, joined and emitted; each failure is counted.
func TestStorageErrorsNeverBlockTheDataPath(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	id := component.MustNewIDWithName("file_storage", "llm")
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &id
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	disk := &brokenDisk{}
	require.NoError(t, h.s.Start(ctx, host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{id: disk}}))

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(5), "kept")))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(5), 1, "gpt-4o")))
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "matched", attr(feedbackRecords(h.lsink.AllLogs())[0], attrCorrelation))
	require.NoError(t, h.s.Shutdown(ctx))
	assert.True(t, disk.closed, "the client is closed on shutdown")

	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		// At start: the cache snapshot and the pending range.
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "get"))},
		// The record written through when held, and the cache at shutdown.
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "set"))},
	}, metricdatatest.IgnoreTimestamp())
}

func TestStorageMisconfigured(t *testing.T) {
	ctx := context.Background()
	id := component.MustNewIDWithName("file_storage", "missing")
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &id
	h := newHarness(t, cfg)
	err := h.s.Start(ctx, host{Host: componenttest.NewNopHost()})
	require.ErrorContains(t, err, `extension "file_storage/missing" is not configured`)

	notStorage := component.MustNewID("health_check")
	cfg2 := createDefaultConfig().(*Config)
	cfg2.Storage = &notStorage
	h2 := newHarness(t, cfg2)
	err = h2.s.Start(ctx, host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{notStorage: struct {
		component.StartFunc
		component.ShutdownFunc
	}{}}})
	require.ErrorContains(t, err, `extension "health_check" is not a storage extension`)
}
