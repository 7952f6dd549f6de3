package llmfeedbackprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
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
	disk := newFaultDisk()
	disk.failAll(true)
	require.NoError(t, h.s.Start(ctx, host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{id: disk}}))

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(5), "kept")))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(5), 1, "gpt-4o")))
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == 1 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "matched", attr(feedbackRecords(h.lsink.AllLogs())[0], attrCorrelation))
	require.NoError(t, h.s.Shutdown(ctx))
	assert.True(t, disk.closed, "the client is closed on shutdown")

	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		// At start: the saved state and the pending range. With the range
		// unread, nothing is written through (it could overwrite what is
		// stored); the held record stays in memory.
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "get"))},
		// The snapshot at shutdown.
		{Value: 1, Attributes: attribute.NewSet(attribute.String("reason", "set"))},
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

// TestStoredRangeFollowsTheOldestRecord: reading back after a restart costs
// the records still stored, not every record ever held.
func TestStoredRangeFollowsTheOldestRecord(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	cfg := createDefaultConfig().(*Config)
	tel := newTelemetry(nil)
	p := newPersister(disk, zap.NewNop(), tel, cfg)
	var recs []*store.PendingRecord
	for i := range 1000 {
		r := &store.PendingRecord{TraceID: traceID(byte(i)), FeedbackID: fmt.Sprint(i), Deadline: int64(i), Data: oneRecord(t)}
		p.store(r)
		recs = append(recs, r)
	}
	p.writeQueued()
	for _, r := range recs[:998] {
		p.drop(r)
	}
	p.writeQueued()
	assert.Equal(t, 3, disk.keys(), "two records and the range")

	disk.reads = 0
	again := newPersister(disk, zap.NewNop(), tel, cfg)
	back := again.restorePending(ctx)
	require.Len(t, back, 2)
	assert.Equal(t, []string{"998", "999"}, []string{back[0].FeedbackID, back[1].FeedbackID})
	assert.Equal(t, 3, disk.reads, "the range and two records")

	again.drop(back[0])
	again.drop(back[1])
	again.writeQueued()
	assert.Equal(t, 1, disk.keys(), "only the (empty) range is left")
	assert.Empty(t, newPersister(disk, zap.NewNop(), tel, cfg).restorePending(ctx))
}

// oneRecord is a held record's body: one log record, as encodeRecord writes it.
func oneRecord(t *testing.T) []byte {
	t.Helper()
	ld := feedbackFor(traceID(1), "x")
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	data, err := encodeRecord(rl, sl, sl.LogRecords().At(sl.LogRecords().Len()-1))
	require.NoError(t, err)
	return data
}
