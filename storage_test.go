package llmfeedbackprocessor

import (
	"context"
	"errors"
	"fmt"
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
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
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

// memDisk is a storage client over a map, counting the keys read: it
// stands in for file_storage (exercised end to end in test/e2e) to look at
// which keys are written.
type memDisk struct {
	m     map[string][]byte
	reads int
}

func (d *memDisk) Get(_ context.Context, k string) ([]byte, error) { d.reads++; return d.m[k], nil }
func (d *memDisk) Set(_ context.Context, k string, v []byte) error { d.m[k] = v; return nil }
func (d *memDisk) Delete(_ context.Context, k string) error        { delete(d.m, k); return nil }
func (d *memDisk) Close(context.Context) error                     { return nil }
func (d *memDisk) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value, _ = d.Get(ctx, op.Key)
		case storage.Set:
			_ = d.Set(ctx, op.Key, op.Value)
		case storage.Delete:
			_ = d.Delete(ctx, op.Key)
		}
	}
	return nil
}

// TestStoredRangeFollowsTheOldestRecord: reading back after a restart costs
// the records still stored, not every record ever held.
func TestStoredRangeFollowsTheOldestRecord(t *testing.T) {
	ctx := context.Background()
	disk := &memDisk{m: map[string][]byte{}}
	tel := newTelemetry(nil)
	p := newPersister(disk, zap.NewNop(), tel)
	var recs []*store.PendingRecord
	for i := range 1000 {
		r := &store.PendingRecord{TraceID: traceID(byte(i)), FeedbackID: fmt.Sprint(i), Deadline: int64(i)}
		p.parked(r)
		recs = append(recs, r)
	}
	for _, r := range recs[:998] {
		p.done(r)
	}
	assert.Len(t, disk.m, 3, "two records and the range")

	disk.reads = 0
	again := newPersister(disk, zap.NewNop(), tel)
	back := again.restorePending(ctx)
	require.Len(t, back, 2)
	assert.Equal(t, []string{"998", "999"}, []string{back[0].FeedbackID, back[1].FeedbackID})
	assert.Equal(t, 3, disk.reads, "the range and two records")

	again.done(back[0])
	again.done(back[1])
	assert.Len(t, disk.m, 1, "only the (empty) range is left")
	assert.Empty(t, newPersister(disk, zap.NewNop(), tel).restorePending(ctx))
}
