package llmfeedbackprocessor

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadata"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/metadatatest"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// One test per way feedback could be lost or doubled on a fault path. Faults
// come from real pieces of our own: faultDisk (a storage extension that
// fails, hangs or corrupts on demand), consumers that refuse, a fake clock.

var storageID = component.MustNewIDWithName("file_storage", "llm")

// withDisk starts h with disk as its storage extension.
func withDisk(t *testing.T, h *harness, disk *faultDisk) {
	t.Helper()
	require.NoError(t, h.s.Start(context.Background(), host{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{storageID: disk}}))
}

func storageConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &storageID
	return cfg
}

// retryNow makes the emitter's next flush try at once, without the backoff.
func retryNow(e *emitter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.retryAt = time.Time{}
}

// assertNoCount checks that a counter was never incremented.
func assertNoCount(t *testing.T, tt *componenttest.Telemetry, name string) {
	t.Helper()
	_, err := tt.GetMetric("otelcol_processor_llm_feedback_" + name)
	assert.Error(t, err, "%s was counted", name)
}

// consumerFunc is a next consumer that does what the test says.
type consumerFunc func(context.Context, plog.Logs) error

func (f consumerFunc) ConsumeLogs(ctx context.Context, ld plog.Logs) error { return f(ctx, ld) }

func (consumerFunc) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func clone(ld plog.Logs) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	return out
}

// countIDs counts the feedback records the sink received, by id.
func countIDs(sink *consumertest.LogsSink) map[string]int {
	ids := map[string]int{}
	for _, lr := range feedbackRecords(sink.AllLogs()) {
		ids[attr(lr, "id")]++
	}
	return ids
}

// Defect 1: a batch the next consumer refuses leaves nothing held, stored
// or remembered, whether its feedback has an id or not; the SDK's retry is
// then the one that counts, and a late second retry is a duplicate.
func TestRefusedBatchLeavesNoTrace(t *testing.T) {
	for _, fbID := range []string{"", "click-1"} {
		t.Run("id="+fbID, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, storageConfig())
			disk := newFaultDisk()
			withDisk(t, h, disk)
			refuse := errors.New("sending queue is full")
			h.logs.next = consumertest.NewErr(refuse)
			batch := feedbackFor(traceID(9), fbID) // an app log and feedback that must wait
			for range 3 {
				require.ErrorIs(t, h.logs.ConsumeLogs(ctx, clone(batch)), refuse)
			}
			require.True(t, h.s.c.persist.sync(ctx))
			_, _, pending := h.s.c.sizes()
			assert.Zero(t, pending, "nothing held")
			assert.False(t, disk.has(pendingKey(1)), "nothing stored")
			h.s.c.mu.Lock()
			assert.Zero(t, h.s.c.seen.Len(), "nothing remembered")
			h.s.c.mu.Unlock()

			h.logs.next = h.lsink
			require.NoError(t, h.logs.ConsumeLogs(ctx, clone(batch)))
			require.NoError(t, h.logs.ConsumeLogs(ctx, clone(batch)), "a late retry of a batch that got through")
			require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(9), 1, "gpt-4o")))
			require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == 1 }, 5*time.Second, time.Millisecond)
			require.NoError(t, h.s.Shutdown(ctx))
			ids := countIDs(h.lsink)
			require.Len(t, ids, 1)
			for id, n := range ids {
				assert.Equal(t, 1, n, id)
			}
			assert.Equal(t, 2, h.lsink.LogRecordCount()-1, "the app log passed twice: the accepted try and the late retry")
		})
	}
}

// Defect 2: once the traces side has shut down, feedback reaching the logs
// side still comes out, at once: joined when its completion is cached,
// unmatched otherwise. Nothing is held where no one would drain it.
func TestFeedbackAfterTheTracesSideStopped(t *testing.T) {
	ctx := context.Background()
	f := newFactory(&factoryState{shared: map[*Config]*shared{}})
	cfg := f.CreateDefaultConfig()
	set := processortest.NewNopSettings(metadata.Type)
	sink := new(consumertest.LogsSink)
	tp, err := f.CreateTraces(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, tp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, lp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, tp.ConsumeTraces(ctx, completion(traceID(1), 1, "gpt-4o")))
	require.NoError(t, tp.Shutdown(ctx))

	require.NoError(t, lp.ConsumeLogs(ctx, feedbackFor(traceID(1), "a")))
	require.NoError(t, lp.ConsumeLogs(ctx, feedbackFor(traceID(2), "b")))
	got := feedbackRecords(sink.AllLogs())
	require.Len(t, got, 2, "both came out synchronously")
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation))
	assert.Equal(t, correlationUnmatched, attr(got[1], attrCorrelation))
	require.NoError(t, lp.Shutdown(ctx))
	assert.Len(t, feedbackRecords(sink.AllLogs()), 2)
}

// Defect 3a: a record the disk refused to store is not left behind at a
// shutdown with storage: it is emitted (unmatched), while a stored one stays
// on disk for the restart.
func TestShutdownEmitsWhatStorageDoesNotHave(t *testing.T) {
	for _, tc := range []struct {
		name        string
		failSet     bool
		wantEmitted int
	}{
		{name: "stored record stays on disk", failSet: false, wantEmitted: 0},
		{name: "unstored record is emitted", failSet: true, wantEmitted: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t, storageConfig())
			disk := newFaultDisk()
			withDisk(t, h, disk)
			disk.failOn(storage.Set, tc.failSet)
			require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(3), "x")))
			require.NoError(t, h.s.Shutdown(ctx))
			got := feedbackRecords(h.lsink.AllLogs())
			require.Len(t, got, tc.wantEmitted)
			if tc.wantEmitted > 0 {
				assert.Equal(t, correlationUnmatched, attr(got[0], attrCorrelation))
			}
			assert.Equal(t, !tc.failSet, disk.has(pendingKey(1)))
		})
	}
}

// A disk that fails, or hangs, once a record was delivered (its delete is
// then tried again with every write) does not use up the shutdown: the
// queued writes are tried once, and a record held meanwhile, which the disk
// never took, is still sent by the last flush to a next consumer that
// honours its context. Before, shutdown waited for an empty write queue,
// which a failing disk never gives, and the last flush ran out of time. A
// hung disk whose calls outlast the shutdown (storage_timeout 1.2 s against 1 s) gets
// half of pending::shutdown_timeout.
func TestShutdownWithFailingDiskStillSendsWhatItHolds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // storage_timeout
		fault   func(d *faultDisk, release chan struct{})
	}{
		{"failing", 100 * time.Millisecond, func(d *faultDisk, _ chan struct{}) { d.failAll(true) }},
		{"hung", 1200 * time.Millisecond, func(d *faultDisk, release chan struct{}) { d.set(func(d *faultDisk) { d.hang = release }) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := storageConfig()
			cfg.StorageTimeout = tc.timeout
			cfg.StorageWriteWait = 0
			cfg.Pending.ShutdownTimeout = time.Second
			h := newHarness(t, cfg)
			var got []plog.Logs
			h.s.c.setNext(consumerFunc(func(ctx context.Context, ld plog.Logs) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				got = append(got, ld)
				return nil
			}))
			disk := newFaultDisk()
			withDisk(t, h, disk)
			require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(1), "a")))
			require.True(t, h.s.c.persist.sync(ctx), "a is written")
			release := make(chan struct{})
			defer close(release)
			tc.fault(disk, release)
			require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(1), 1, "m")))
			h.s.c.emitter.flush(ctx) // a delivered; its delete fails or hangs
			require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(2), "b")))
			require.NoError(t, h.s.Shutdown(ctx))
			var ids []string
			for _, lr := range feedbackRecords(got) {
				ids = append(ids, attr(lr, "id")+":"+attr(lr, attrCorrelation))
			}
			assert.Equal(t, []string{"a:" + correlationMatched, "b:" + correlationUnmatched}, ids)
		})
	}
}

// restartOn starts a processor on disk, as after a restart, with its own
// telemetry.
func restartOn(t *testing.T, disk *faultDisk) (*harness, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	h := newHarnessWith(t, storageConfig(), metadatatest.NewSettings(tt))
	withDisk(t, h, disk)
	return h, tt
}

// storeRecords writes n held records to disk as an earlier run would have.
func storeRecords(t *testing.T, disk *faultDisk, n int) {
	t.Helper()
	h := newHarness(t, storageConfig())
	withDisk(t, h, disk)
	for i := range n {
		require.NoError(t, h.logs.ConsumeLogs(context.Background(), feedbackFor(traceID(byte(100+i)), "")))
	}
	require.NoError(t, h.s.Shutdown(context.Background()))
	require.Equal(t, n+3, disk.keys(), "n records, the range, the cache and the dedupe window")
}

// Defect 3b: a chunk of the stored range that fails to read as one batch is
// read key by key; a key that still fails stays in the range and is read
// once the disk answers again, rather than being stranded.
func TestRestoreNeverSkipsWhatItCouldNotRead(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 3)
	disk.set(func(d *faultDisk) { d.failMulti = true; d.failKeys[pendingKey(1)] = true })

	cfg := storageConfig()
	h := newHarness(t, cfg)
	withDisk(t, h, disk)
	_, _, pending := h.s.c.sizes()
	assert.Equal(t, 2, pending, "two read key by key; the third could not be read")
	h.s.c.persist.mu.Lock()
	lo := h.s.c.persist.lo
	h.s.c.persist.mu.Unlock()
	assert.Equal(t, uint64(1), lo, "the unread key stays in the range")

	disk.set(func(d *faultDisk) { d.failMulti = false; delete(d.failKeys, pendingKey(1)) })
	h.s.c.persist.readUnread()
	_, _, pending = h.s.c.sizes()
	assert.Equal(t, 3, pending, "read once the disk answered")
	require.NoError(t, h.s.Shutdown(ctx))
}

// Defect 3d: a stored record that decodes to nonsense (a key kind no
// release writes, a body that is not one log record) is counted, logged and
// deleted at the restart, like any corrupt entry: it neither stops the
// start nor stays held, failing every delivery and pinning the range.
func TestCorruptStoredRecordsAreDeleted(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 3)
	mangle := func(seq uint64, f func(r *store.PendingRecord)) {
		disk.set(func(d *faultDisk) {
			r, err := store.UnmarshalPending(d.m[pendingKey(seq)])
			require.NoError(t, err)
			f(r)
			d.m[pendingKey(seq)] = store.MarshalPending(r)
		})
	}
	mangle(1, func(r *store.PendingRecord) { r.Key.Kind = store.ByConversation + 1 })
	mangle(2, func(r *store.PendingRecord) { r.Data = []byte{0x0a, 0xff} })

	h, tt := restartOn(t, disk)
	_, _, pending := h.s.c.sizes()
	assert.Equal(t, 1, pending, "the sound record is held again")
	require.True(t, h.s.c.persist.sync(ctx))
	assert.False(t, disk.has(pendingKey(1)), "deleted")
	assert.False(t, disk.has(pendingKey(2)), "deleted")
	h.s.c.persist.mu.Lock()
	lo := h.s.c.persist.lo
	h.s.c.persist.mu.Unlock()
	assert.Equal(t, uint64(3), lo, "the range starts at the sound record")
	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "corrupt"))},
	}, ignore())
	for i := range 3 {
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(byte(100+i)), 1, "gpt-4o")))
	}
	h.s.c.emitter.flush(ctx)
	require.Eventually(t, func() bool { return len(feedbackRecords(h.lsink.AllLogs())) == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1, "only the sound record comes out")
	assert.Equal(t, traceID(102), got[0].TraceID())
	assertNoCount(t, tt, "emit_failures")
}

// Defect 3e: a stored record read back late, after the same feedback was
// sent again and came out (the crash came before the dedupe window was
// saved, so nothing remembered its id), is a duplicate: counted, deleted,
// not emitted a second time.
func TestLateReadRecordSentAgainMeanwhileIsADuplicate(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 1)
	disk.set(func(d *faultDisk) {
		delete(d.m, keySeen) // the crash came first
		d.failKeys[pendingKey(1)] = true
	})
	h, tt := restartOn(t, disk)
	_, _, pending := h.s.c.sizes()
	require.Zero(t, pending, "the record could not be read")

	h.clock.Advance(time.Minute)
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(100), 1, "gpt-4o")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(100), ""))) // the same feedback, again
	require.Len(t, feedbackRecords(h.lsink.AllLogs()), 1, "taken and joined")

	disk.set(func(d *faultDisk) { delete(d.failKeys, pendingKey(1)) })
	h.s.c.persist.readUnread()
	h.s.c.emitter.flush(ctx)
	require.True(t, h.s.c.persist.sync(ctx))
	assert.False(t, disk.has(pendingKey(1)), "deleted")
	require.NoError(t, h.s.Shutdown(ctx))
	assert.Len(t, feedbackRecords(h.lsink.AllLogs()), 1, "out once")
	metadatatest.AssertEqualProcessorLlmFeedbackFeedbackDuplicates(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore())
}

// Defect 3f: while the batch that took the same feedback again is still
// with the next consumer, a late-read copy is not yet a duplicate: that
// batch may be refused (and its client give up). The copy is read again at
// the next try and, the batch refused, comes out.
func TestLateReadRecordWaitsForTheOtherCopysFate(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 1)
	disk.set(func(d *faultDisk) {
		delete(d.m, keySeen)
		d.failKeys[pendingKey(1)] = true
	})
	h, tt := restartOn(t, disk)
	h.clock.Advance(time.Minute)
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(100), 1, "gpt-4o")))

	entered, release := make(chan struct{}), make(chan struct{})
	refuse := errors.New("exporter queue is full")
	h.logs.next = consumerFunc(func(context.Context, plog.Logs) error {
		close(entered)
		<-release
		return refuse
	})
	done := make(chan error)
	go func() { done <- h.logs.ConsumeLogs(ctx, feedbackFor(traceID(100), "")) }()
	<-entered // the same feedback again, with the next consumer

	disk.set(func(d *faultDisk) { delete(d.failKeys, pendingKey(1)) })
	h.s.c.persist.readUnread()
	require.True(t, h.s.c.persist.sync(ctx)) // a delete would be written by now
	assert.True(t, disk.has(pendingKey(1)), "not deleted while the other copy's fate is open")
	close(release)
	require.ErrorIs(t, <-done, refuse)

	h.s.c.persist.readUnread()
	h.s.c.emitter.flush(ctx)
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1, "the stored copy came out")
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation))
	assertNoCount(t, tt, "feedback_duplicates")
}

// Defect 3g: a stored range that no run writes (cut short, backwards) is
// counted as corrupt and not followed, and one wider than any restore
// should read (2^24 keys) is counted and read only at its end: the start
// does not read through billions of keys, and what is held from then on is
// stored and read back after the next restart. An empty range is nothing
// left, not corrupt.
func TestCorruptStoredRangeIsBounded(t *testing.T) {
	for name, tc := range map[string]struct {
		raw     []byte
		corrupt int64
	}{
		"cut short":  {raw: []byte{0xff}, corrupt: 1},
		"too wide":   {raw: encodeRange(1, 1<<40), corrupt: 1},
		"backwards":  {raw: encodeRange(9, 3), corrupt: 1}, // an empty range is (hi+1, hi)
		"empty":      {raw: encodeRange(5, 4)},
		"wraps past": {raw: encodeRange(0, math.MaxUint64), corrupt: 1},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			disk := newFaultDisk()
			storeRecords(t, disk, 1)
			disk.set(func(d *faultDisk) { d.m[keyPendingRange] = tc.raw })
			h, tt := restartOn(t, disk)
			if tc.corrupt > 0 {
				metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
					{Value: tc.corrupt, Attributes: attribute.NewSet(attribute.String("reason", "corrupt"))},
				}, ignore())
			} else {
				assertNoCount(t, tt, "storage_errors")
			}
			require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(7), "after")))
			require.NoError(t, h.s.Shutdown(ctx))

			again := newHarness(t, storageConfig())
			withDisk(t, again, disk)
			_, _, pending := again.s.c.sizes()
			assert.Equal(t, 1, pending, "what was held after the bad range is read back")
			require.NoError(t, again.s.Shutdown(ctx))
		})
	}
}

// Defect 3h: a disk that garbles every value it returns (the snapshot, the
// dedupe window, the range) stops nothing: each is counted as corrupt, and
// feedback is joined and emitted as without storage.
func TestGarbledStorageStopsNothing(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 3)
	disk.set(func(d *faultDisk) { d.corrupt = true })
	h, tt := restartOn(t, disk)
	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		{Value: 3, Attributes: attribute.NewSet(attribute.String("reason", "corrupt"))},
	}, ignore())
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(8), 1, "gpt-4o")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(8), "after")))
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation))
}

// Defect 3c: a record the consumer refused past its grace is counted, logged
// and deleted from storage, so it does not pin the stored range.
func TestGivenUpRecordLeavesStorage(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	h := newHarnessWith(t, storageConfig(), metadatatest.NewSettings(tt))
	disk := newFaultDisk()
	withDisk(t, h, disk)
	h.s.c.setNext(consumertest.NewErr(errors.New("down for good")))
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(3), "x")))
	require.True(t, h.s.c.persist.sync(ctx))
	require.True(t, disk.has(pendingKey(1)))
	h.clock.Advance(time.Hour) // past the deadline
	h.s.c.emitter.tick(ctx)    // expired, refused, queued again
	require.True(t, disk.has(pendingKey(1)), "still retried")
	h.clock.Advance(time.Hour) // past the grace
	retryNow(h.s.c.emitter)
	h.s.c.emitter.flush(ctx) // refused past the grace: given up (here or in the emitter's own loop)
	require.Eventually(t, func() bool { h.s.c.persist.sync(ctx); return !disk.has(pendingKey(1)) }, 5*time.Second, time.Millisecond)
	metadatatest.AssertEqualProcessorLlmFeedbackEmitFailures(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore())
	require.NoError(t, h.s.Shutdown(ctx))
}

// Defect 4: with a tiny max_attribute_length, held feedback still comes out
// in the right trace, on the right span: ids are never cut.
func TestIDsAreNeverCut(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.MaxAttributeLength = 8
	h := newHarness(t, cfg)
	ld := feedbackFor(traceID(4), "a-long-feedback-id")
	lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1)
	lr.Attributes().PutStr("span_id", "0000000000000001")
	require.NoError(t, h.logs.ConsumeLogs(ctx, ld))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(4), 1, "gpt-4o")))
	h.s.c.emitter.flush(ctx)
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1)
	assert.Equal(t, correlationMatched, attr(got[0], attrCorrelation))
	assert.Equal(t, traceID(4), got[0].TraceID())
	assert.Equal(t, "0000000000000001", got[0].SpanID().String())
	assert.Equal(t, "a-long-feedback-id", attr(got[0], "id"))
	require.NoError(t, h.s.Shutdown(ctx))
}

// Defect 6: a hung disk never holds up the logs path; what the bounded
// write queue cannot take is counted, and held in memory.
func TestHungDiskNeverStallsTheLogsPath(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := storageConfig()
	cfg.StorageQueueSize = 2
	cfg.StorageTimeout = time.Hour
	cfg.StorageWriteWait = 50 * time.Millisecond
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	disk := newFaultDisk()
	withDisk(t, h, disk)
	release := make(chan struct{})
	disk.set(func(d *faultDisk) { d.hang = release })
	before := disk.callCount()
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(1), "")))
	require.Eventually(t, func() bool { return disk.callCount() > before }, 5*time.Second, time.Millisecond, "the writer is stuck in the disk")
	for i := byte(2); i <= 5; i++ {
		require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(i), "")), "returns while the disk hangs")
	}
	_, _, pending := h.s.c.sizes()
	assert.Equal(t, 5, pending, "all held")
	// The first batch waited storage_write_wait for the hung write, the
	// next two (queued) not at all, the last two found the queue full.
	metadatatest.AssertEqualProcessorLlmFeedbackStorageErrors(t, tt, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("reason", "queue_full"))},
		{Value: 3, Attributes: attribute.NewSet(attribute.String("reason", "write_wait"))},
	}, ignore())
	close(release)
	require.NoError(t, h.s.Shutdown(ctx))
	assert.Len(t, feedbackRecords(h.lsink.AllLogs()), 2, "the two the disk never got are emitted at shutdown; three are stored")
}

// A batch whose feedback was held is acknowledged only once that feedback
// is written: a SIGKILL after the client was told the batch was taken
// cannot lose it from the writer's queue. Batches held at the same time
// share the write.
func TestBatchAcknowledgedOnceItsHeldFeedbackIsWritten(t *testing.T) {
	ctx := context.Background()
	cfg := storageConfig()
	cfg.StorageTimeout = time.Hour
	cfg.StorageWriteWait = time.Hour
	h := newHarness(t, cfg)
	disk := newFaultDisk()
	withDisk(t, h, disk)
	release := make(chan struct{})
	disk.set(func(d *faultDisk) { d.hang = release })
	acked := make(chan error, 2)
	for i := byte(1); i <= 2; i++ {
		go func() { acked <- h.logs.ConsumeLogs(ctx, feedbackFor(traceID(i), "")) }()
	}
	require.Never(t, func() bool { return len(acked) > 0 }, 300*time.Millisecond, 5*time.Millisecond,
		"acknowledged while its held feedback was still waiting to be written")
	onDisk := func() (n int) {
		for _, k := range []string{pendingKey(1), pendingKey(2)} {
			if disk.has(k) {
				n++
			}
		}
		return n
	}
	// The write under way goes through; the next one, if the two records
	// are not in the same write, hangs until release2.
	release2 := make(chan struct{})
	disk.set(func(d *faultDisk) { d.hang = release2 })
	close(release)
	for k := range 2 {
		var err error
		select {
		case err = <-acked:
		case <-time.After(300 * time.Millisecond):
			close(release2) // the second write: only now may its batch be acknowledged
			release2 = nil
			select {
			case err = <-acked:
			case <-time.After(5 * time.Second):
				t.Fatal("not acknowledged after the write")
			}
		}
		require.NoError(t, err)
		// Each batch's own record, not only an earlier one: the k-th
		// acknowledgement comes after at least k records are written.
		require.GreaterOrEqual(t, onDisk(), k+1, "acknowledged before its own record was written")
	}
	if release2 != nil {
		close(release2)
	}
	require.Eventually(t, func() bool { return disk.has(pendingKey(1)) && disk.has(pendingKey(2)) }, 5*time.Second, time.Millisecond)
	require.NoError(t, h.s.Shutdown(ctx))
}

// Defect 7: records waiting to be re-sent to a refusing consumer count
// toward pending.max_records, so inflow cannot grow the retry queue.
func TestRetryQueueCountsTowardMaxRecords(t *testing.T) {
	ctx := context.Background()
	tt := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
	cfg := createDefaultConfig().(*Config)
	cfg.Pending.MaxRecords = 2
	h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
	h.s.c.setNext(consumertest.NewErr(errors.New("exporter down")))
	for i := byte(1); i <= 2; i++ {
		require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(i), "")))
		require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(i), 1, "m")))
	}
	h.s.c.emitter.flush(ctx) // refused: both wait to be re-sent
	_, _, pending := h.s.c.sizes()
	require.Zero(t, pending)
	require.Equal(t, 2, h.s.c.emitter.queued())

	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(3), "")))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1, "over the bound: out at once rather than held")
	assert.Equal(t, correlationUnmatched, attr(got[0], attrCorrelation))
	metadatatest.AssertEqualProcessorLlmFeedbackPendingOverflow(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore())
	h.s.c.setNext(h.lsink)
	require.NoError(t, h.s.Shutdown(ctx))
	assert.Len(t, feedbackRecords(h.lsink.AllLogs()), 3)
}

// Defect 8: without storage, the last flush at shutdown retries a refusing
// consumer until pending.shutdown_timeout; what is left is counted.
func TestLastFlushRetries(t *testing.T) {
	for _, tc := range []struct {
		name         string
		refusals     int32
		wantFailures int64
	}{
		{name: "consumer recovers", refusals: 2, wantFailures: 0},
		{name: "consumer never recovers", refusals: 1 << 30, wantFailures: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			tt := componenttest.NewTelemetry()
			defer func() { require.NoError(t, tt.Shutdown(ctx)) }()
			cfg := createDefaultConfig().(*Config)
			cfg.Pending.ShutdownTimeout = 500 * time.Millisecond
			h := newHarnessWith(t, cfg, metadatatest.NewSettings(tt))
			f := &flaky{sink: h.lsink}
			f.n.Store(tc.refusals)
			h.s.c.setNext(f)
			require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(8), "x")))
			require.NoError(t, h.s.Shutdown(ctx))
			assert.Len(t, feedbackRecords(h.lsink.AllLogs()), 1-int(tc.wantFailures))
			if tc.wantFailures == 0 {
				assertNoCount(t, tt, "emit_failures")
				return
			}
			metadatatest.AssertEqualProcessorLlmFeedbackEmitFailures(t, tt, []metricdata.DataPoint[int64]{{Value: tc.wantFailures}}, ignore())
		})
	}
}

// Defect 9: with storage, the dedupe window survives a restart: a double
// click on either side of it comes out once, with or without an id.
func TestDedupeWindowSurvivesRestart(t *testing.T) {
	for _, fbID := range []string{"", "click-2"} {
		t.Run("id="+fbID, func(t *testing.T) {
			ctx := context.Background()
			disk := newFaultDisk()
			first := newHarness(t, storageConfig())
			withDisk(t, first, disk)
			require.NoError(t, first.traces.ConsumeTraces(ctx, completion(traceID(6), 1, "gpt-4o")))
			require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackFor(traceID(6), fbID)))
			require.NoError(t, first.s.Shutdown(ctx))
			require.Len(t, feedbackRecords(first.lsink.AllLogs()), 1)

			second := newHarness(t, storageConfig())
			withDisk(t, second, disk)
			require.NoError(t, second.logs.ConsumeLogs(ctx, feedbackFor(traceID(6), fbID)))
			require.NoError(t, second.s.Shutdown(ctx))
			assert.Empty(t, feedbackRecords(second.lsink.AllLogs()), "the second click is a duplicate")
		})
	}
}

// Defect 3d: a stored range that cannot be read at start is not written
// over: new records are held in memory only until it can be read, and then
// what was stored is read back with them.
func TestUnreadableRangeIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	storeRecords(t, disk, 3)
	disk.set(func(d *faultDisk) { d.failKeys[keyPendingRange] = true })

	h := newHarness(t, storageConfig())
	withDisk(t, h, disk)
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(7), "new")))
	require.True(t, h.s.c.persist.sync(ctx))
	_, _, pending := h.s.c.sizes()
	require.Equal(t, 1, pending, "only the new record: the stored ones cannot be read yet")
	for seq := uint64(1); seq <= 3; seq++ {
		assert.True(t, disk.has(pendingKey(seq)), "stored record %d left as it was", seq)
	}

	disk.set(func(d *faultDisk) { delete(d.failKeys, keyPendingRange) })
	h.s.c.persist.readRangeAgain()
	_, _, pending = h.s.c.sizes()
	assert.Equal(t, 4, pending, "the three stored records are back")
	require.NoError(t, h.s.Shutdown(ctx))
	got := feedbackRecords(h.lsink.AllLogs())
	require.Len(t, got, 1, "the record the disk never got is emitted at shutdown; the others stay stored")
	assert.Equal(t, "new", attr(got[0], "id"))
}

// Defect 3e: a write reported failed that did reach the disk is deleted when
// its record leaves, so a restart does not emit it a second time.
func TestFailedWriteThatLandedIsDeleted(t *testing.T) {
	ctx := context.Background()
	disk := newFaultDisk()
	first := newHarness(t, storageConfig())
	withDisk(t, first, disk)
	disk.set(func(d *faultDisk) { d.failAfter = true })
	require.NoError(t, first.logs.ConsumeLogs(ctx, feedbackFor(traceID(8), "landed")))
	require.True(t, first.s.c.persist.sync(ctx))
	require.True(t, disk.has(pendingKey(1)), "on disk although the write was reported failed")
	disk.set(func(d *faultDisk) { d.failAfter = false })
	require.NoError(t, first.traces.ConsumeTraces(ctx, completion(traceID(8), 1, "gpt-4o")))
	first.s.c.emitter.flush(ctx)
	require.NoError(t, first.s.Shutdown(ctx))
	require.Len(t, feedbackRecords(first.lsink.AllLogs()), 1)
	assert.False(t, disk.has(pendingKey(1)), "deleted when delivered")

	second := newHarness(t, storageConfig())
	withDisk(t, second, disk)
	require.NoError(t, second.s.Shutdown(ctx))
	assert.Empty(t, feedbackRecords(second.lsink.AllLogs()), "nothing comes back after the restart")
}

// blocking holds each ConsumeLogs until released, then answers err.
type blocking struct {
	entered chan struct{}
	release chan error
	sink    *consumertest.LogsSink
}

// blockNext makes a blocking consumer h's logs side's next.
func blockNext(h *harness) *blocking {
	b := &blocking{entered: make(chan struct{}), release: make(chan error), sink: h.lsink}
	h.logs.next = b
	return b
}

func (b *blocking) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (b *blocking) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	b.entered <- struct{}{}
	if err := <-b.release; err != nil {
		return err
	}
	return b.sink.ConsumeLogs(ctx, ld)
}

// Defect 1b: a retry that arrives while the first try is still being
// delivered is not dropped as a duplicate: if the first try is then
// refused, the feedback would be lost. The retry is refused instead, and
// its own retry comes out once.
func TestRetryWhileFirstTryInFlight(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(4), 1, "gpt-4o")))
	next := blockNext(h)
	batch := feedbackFor(traceID(4), "")
	first := make(chan error)
	go func() { first <- h.logs.ConsumeLogs(ctx, clone(batch)) }()
	<-next.entered // the first try is with the exporter

	err := h.logs.ConsumeLogs(ctx, clone(batch))
	require.ErrorContains(t, err, "is being delivered by another request", "the concurrent retry is refused, not dropped")
	next.release <- errors.New("exporter timed out")
	require.Error(t, <-first, "the first try is refused too")

	h.logs.next = h.lsink
	require.NoError(t, h.logs.ConsumeLogs(ctx, clone(batch)))
	require.NoError(t, h.logs.ConsumeLogs(ctx, clone(batch)), "a later copy is a duplicate")
	require.Len(t, feedbackRecords(h.lsink.AllLogs()), 1)
	require.NoError(t, h.s.Shutdown(ctx))
}

// The retry is refused while the first try is out even when the dedupe
// window has let the id go meanwhile (here a window of one id, which the
// next feedback takes): before, the retry was accepted as new, and both
// tries were delivered.
func TestRetryWhileFirstTryInFlightAfterTheWindowLetItGo(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig().(*Config)
	cfg.Feedback.DedupeMaxIDs = 1
	h := newHarness(t, cfg)
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(4), 1, "gpt-4o")))
	next := blockNext(h)
	batch := feedbackFor(traceID(4), "X")
	first := make(chan error)
	go func() { first <- h.logs.ConsumeLogs(ctx, clone(batch)) }()
	<-next.entered
	// Held, not sent on: it takes the window's one place.
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackBy("gen_ai.response.id", "later", "Y")))

	retry := make(chan error, 1)
	go func() { retry <- h.logs.ConsumeLogs(ctx, clone(batch)) }()
	select {
	case err := <-retry:
		require.ErrorContains(t, err, "is being delivered by another request")
	case <-next.entered:
		next.release <- nil // the retry, taken as new
		next.release <- nil // the first try
		<-first
		<-retry
		t.Fatal("the retry was accepted while the first try was out")
	}
	next.release <- nil
	require.NoError(t, <-first)
	h.logs.next = h.lsink
	n := 0
	for _, lr := range feedbackRecords(h.lsink.AllLogs()) {
		if attr(lr, "id") == "X" {
			n++
		}
	}
	assert.Equal(t, 1, n, "X delivered once")
	require.NoError(t, h.s.Shutdown(ctx))
}

// deliverThenWait delivers every batch to sink at once and then answers
// only when released or when its caller stops waiting, as an exporter's
// queue with wait_for_result does: a caller that gives up sees a failure
// for records that were delivered.
type deliverThenWait struct {
	entered chan struct{}
	release chan struct{}
	sink    *consumertest.LogsSink
}

func (d *deliverThenWait) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (d *deliverThenWait) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	_ = d.sink.ConsumeLogs(ctx, ld)
	select {
	case d.entered <- struct{}{}:
	default:
	}
	select {
	case <-d.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A send the emitter has in flight when the logs side stops is let finish:
// cancelled, the consumer reports a failure for records it delivered, and
// the last flush sends them again.
func TestStopLetsTheSendInFlightFinish(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.s.Start(ctx, componenttest.NewNopHost()))
	next := &deliverThenWait{entered: make(chan struct{}, 1), release: make(chan struct{}), sink: h.lsink}
	h.s.c.setNext(next)
	require.NoError(t, h.logs.ConsumeLogs(ctx, feedbackFor(traceID(7), "")), "held: no completion yet")
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(7), 1, "gpt-4o")), "joins it; the emitter sends it")
	<-next.entered
	stopped := make(chan error, 1)
	go func() { stopped <- h.s.Shutdown(ctx) }()
	require.Never(t, func() bool { return len(stopped) > 0 }, 200*time.Millisecond, 5*time.Millisecond, "stopped before the send in flight answered")
	close(next.release)
	require.NoError(t, <-stopped)
	require.Len(t, feedbackRecords(h.lsink.AllLogs()), 1, "delivered once")
}

// Feedback whose completion is cached while its batch is with the next
// consumer is found when the batch is committed and handed to the emitter;
// the batch is acknowledged before the emitter delivers it, so, with
// storage, it is on disk by then, as held feedback is.
func TestFeedbackJoinedAtCommitIsStoredBeforeTheAck(t *testing.T) {
	ctx := context.Background()
	cfg := storageConfig()
	cfg.Pending.ShutdownTimeout = 100 * time.Millisecond
	h := newHarness(t, cfg)
	disk := newFaultDisk()
	withDisk(t, h, disk)
	h.s.c.setNext(consumertest.NewErr(errors.New("backend down"))) // the emitter cannot deliver
	next := blockNext(h)
	batch := feedbackFor(traceID(9), "")
	batch.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Body().SetStr("not feedback")
	acked := make(chan error)
	go func() { acked <- h.logs.ConsumeLogs(ctx, batch) }()
	<-next.entered // the feedback found nothing and is taken out; the rest is with the exporter
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(9), 1, "gpt-4o")))
	next.release <- nil
	require.NoError(t, <-acked)
	assert.True(t, disk.has(pendingKey(1)), "acknowledged while the joined feedback was in memory only")
	require.NoError(t, h.s.Shutdown(ctx))
}

// The dedupe window saved while a batch is with the next consumer leaves
// its ids out: a crash before the batch is acknowledged makes the client
// send it again, and the restarted collector must take that retry rather
// than drop it as a duplicate of a try that never got through.
func TestSnapshotLeavesOutIDsInFlight(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, createDefaultConfig().(*Config))
	require.NoError(t, h.traces.ConsumeTraces(ctx, completion(traceID(5), 1, "gpt-4o")))
	next := blockNext(h)
	done := make(chan error)
	go func() { done <- h.logs.ConsumeLogs(ctx, feedbackFor(traceID(5), "fb-5")) }()
	<-next.entered
	var version uint64 // of the last snapshot, which is saved only when a change came since
	saved := func() int {
		v, state := h.s.c.snapshot(version)
		require.NotEqual(t, version, v, "a change since the last snapshot, which would not be saved")
		version = v
		n, err := store.NewSeen(time.Hour.Nanoseconds(), 100).RestoreSnapshot(state.seen, startTime.UnixNano())
		require.NoError(t, err)
		return n
	}
	assert.Zero(t, saved(), "the id of a batch not yet acknowledged was saved")
	next.release <- nil
	require.NoError(t, <-done)
	assert.Equal(t, 1, saved(), "saved once the batch was acknowledged")
}
