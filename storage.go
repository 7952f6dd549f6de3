package llmfeedbackprocessor

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// Storage keys. The client is asked for by the processor's own id, which
// both pipelines share, so keys do not depend on the order of pipelines.
const (
	keyCache         = "cache"
	keySeen          = "seen"
	keyRouted        = "routed" // route mode: where each feedback id went
	keyPendingRange  = "pending/range"
	keyPendingPrefix = "pending/"
	restoreBatch     = 512
	// maxStoredSpan bounds the keys a restore reads: held records are
	// written with consecutive numbers, and a range spans them from the
	// oldest still held; wider than this, only its last restoreTail keys
	// are read (one record pinned by a key that never reads, at about 200
	// records a second, takes a day to get there).
	maxStoredSpan = 1 << 24
	// restoreTail is how many keys at the end of a wider range are read.
	restoreTail = 1 << 16
	// maxSeq is past any key a run numbers: a range that reaches it is
	// garbled (and one at the largest uint64 would wrap around).
	maxSeq = 1 << 62
)

// Storage error reasons, as the metric attribute.
const (
	storageGet       = "get"
	storageSet       = "set"
	storageBatch     = "batch"
	storageClient    = "client"
	storageCorrupt   = "corrupt"
	storageQueueFull = "queue_full"
	storageWriteWait = "write_wait"
)

// persister keeps held-back feedback and the completion cache in a storage
// extension, on a goroutine of its own: the logs path only queues writes,
// so a slow or hung disk never holds up a pipeline. Writes are bounded
// twice: each storage call by storage_timeout, the records waiting to be
// written by storage_queue_size (a record that finds the queue full is held
// in memory only, and counted). Deletes are never refused: there is at most
// one for each stored record.
//
// Records get increasing sequence numbers; the stored range [lo, hi] lets
// any storage (none needs to support listing keys) be read back. lo follows
// the oldest record still stored, or not yet read back, so reading back
// costs what is stored, not everything ever held.
//
// Lock order: persister.mu is taken alone; it is never held during storage
// I/O or while taking another lock.
type persister struct {
	client     storage.Client
	logger     *zap.Logger
	tel        *telemetry
	timeout    time.Duration
	maxQueued  int
	flushEvery time.Duration
	// snapshot returns the state to save encoded, with a nil cache when
	// nothing changed since version since (see correlator.snapshot).
	snapshot func(since uint64) (version uint64, state savedState)
	// recovered takes records read back late, after a failed first read.
	recovered func([]*store.PendingRecord)

	mu         sync.Mutex
	lo, hi     uint64                          // lo > hi: nothing stored
	live       map[uint64]*store.PendingRecord // stored or being stored; nil: not read back yet
	queue      []write
	queuedSets int
	inflight   bool
	progress   chan struct{} // closed after each write, for sync and waitTried
	writes     uint64        // writes tried so far, for sync
	tried      uint64        // the highest sequence number whose write was tried
	slow       bool          // a wait ran out: not waited for again until a write ends
	saved      uint64        // snapshot version last saved
	// rangeUnknown is set when the stored range could not be read at start:
	// nothing is written until it is (new keys would overwrite stored ones),
	// and it is read again every flush interval.
	rangeUnknown bool

	wake    chan struct{}
	quit    chan struct{}
	stopped chan struct{}
}

// write is one queued storage change: a record to store, or a stored
// record's key to delete.
type write struct {
	rec  *store.PendingRecord
	seq  uint64
	data []byte // nil for a delete
}

func newPersister(client storage.Client, logger *zap.Logger, tel *telemetry, cfg *Config) *persister {
	return &persister{
		client: client, logger: logger, tel: tel,
		timeout: cfg.StorageTimeout, maxQueued: cfg.StorageQueueSize, flushEvery: cfg.StorageFlushInterval,
		snapshot:  func(uint64) (uint64, savedState) { return 0, savedState{} },
		recovered: func([]*store.PendingRecord) {},
		lo:        1, live: map[uint64]*store.PendingRecord{},
		progress: make(chan struct{}), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), stopped: make(chan struct{}),
	}
}

func openStorage(ctx context.Context, host component.Host, id component.ID, self component.ID) (storage.Client, error) {
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not configured; add it under extensions and service::extensions", id)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("storage: extension %q is not a storage extension", id)
	}
	return se.GetClient(ctx, component.KindProcessor, self, "")
}

func (p *persister) failed(reason string, err error, fields ...zap.Field) {
	p.tel.storageError(reason)
	p.logger.Warn("storage "+reason+" failed; going on without it", append(fields, zap.Error(err))...)
}

func pendingKey(seq uint64) string { return keyPendingPrefix + strconv.FormatUint(seq, 10) }

func encodeRange(lo, hi uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, lo), hi)
}

// advance moves lo past the records no longer stored; call with p.mu held.
func (p *persister) advance() {
	for p.lo <= p.hi {
		if _, ok := p.live[p.lo]; ok {
			break
		}
		p.lo++
	}
}

func (p *persister) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// store queues r to be written and returns its sequence number, or 0 when
// it will not be written (see waitTried). Like drop and stored it is a no-op
// on a nil persister (no storage configured), so callers need no check.
func (p *persister) store(r *store.PendingRecord) uint64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	if r.Gone || r.Seq != 0 || p.rangeUnknown {
		p.mu.Unlock()
		return 0
	}
	if p.queuedSets >= p.maxQueued {
		p.mu.Unlock()
		p.failed(storageQueueFull, fmt.Errorf("%d records are waiting to be written (storage_queue_size)", p.maxQueued), zap.String("id", r.FeedbackID))
		return 0
	}
	p.hi++ // when nothing is stored lo was hi+1: it is now this record
	r.Seq = p.hi
	p.live[r.Seq] = r
	p.queue = append(p.queue, write{rec: r, seq: r.Seq, data: store.MarshalPending(r)})
	p.queuedSets++
	seq := r.Seq
	p.mu.Unlock()
	p.signal()
	return seq
}

// waitTried waits, at most wait, until the write of every record stored up
// to seq was tried. The logs side calls it before it acknowledges a batch
// whose records it held, so that what a client was told was taken is on
// disk, not in a queue a SIGKILL empties; concurrent batches share one
// write. A write that fails leaves the records held in memory, counted in
// storage_errors. Once a wait runs out, no batch waits again until a write
// ends, so a hung disk holds up one batch for wait and then none: those
// acknowledged before their write ended are counted in
// storage_errors{reason=write_wait}.
func (p *persister) waitTried(seq uint64, wait time.Duration) {
	if p == nil || seq == 0 || wait <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var written bool
	if p.waitFor(ctx, func() bool {
		written = p.tried >= seq
		return written || p.slow
	}) {
		if !written {
			p.tel.storageError(storageWriteWait) // logged when a wait first ran out
		}
		return
	}
	if ctx.Err() == nil {
		return // stopped
	}
	p.mu.Lock()
	written = p.tried >= seq // just as the wait ran out
	p.slow = !written
	p.mu.Unlock()
	if !written {
		p.failed(storageWriteWait, fmt.Errorf("the feedback a batch held was not written within storage_write_wait (%s): batches are acknowledged before their held feedback is written until a write ends", wait))
	}
}

// waitFor waits until done, called with p.mu held, reports true after a
// write, and reports whether it did before ctx ended or the writer stopped.
func (p *persister) waitFor(ctx context.Context, done func() bool) bool {
	for {
		p.mu.Lock()
		if done() {
			p.mu.Unlock()
			return true
		}
		progress := p.progress
		p.mu.Unlock()
		p.signal()
		select {
		case <-progress:
		case <-p.stopped:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// drop queues the deletion of r: it was delivered or deliberately dropped.
func (p *persister) drop(r *store.PendingRecord) {
	if p == nil {
		return
	}
	p.mu.Lock()
	r.Gone = true
	if r.Seq != 0 {
		delete(p.live, r.Seq)
		p.advance()
		p.queue = append(p.queue, write{seq: r.Seq})
	}
	p.mu.Unlock()
	p.signal()
}

// stored reports whether r is known to be on disk.
func (p *persister) stored(r *store.PendingRecord) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.Stored && !r.Gone
}

// start runs the writer until stop.
func (p *persister) start() {
	go func() {
		defer close(p.stopped)
		ticker := time.NewTicker(p.flushEvery)
		defer ticker.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-p.wake:
				p.writeQueued()
			case <-ticker.C:
				p.writeQueued()
				p.saveSnapshot()
				p.readUnread()
				p.readRangeAgain()
			}
		}
	}()
}

// writeQueued writes every queued change in one batch, with the range.
func (p *persister) writeQueued() {
	p.mu.Lock()
	ws := p.queue
	if len(ws) == 0 {
		p.mu.Unlock()
		return
	}
	p.queue, p.queuedSets, p.inflight = nil, 0, true
	rangeNow := encodeRange(p.lo, p.hi)
	p.mu.Unlock()

	// A record stored and delivered between two writes never reaches the disk.
	deleted := map[uint64]bool{}
	for _, w := range ws {
		if w.data == nil {
			deleted[w.seq] = true
		}
	}
	ops := make([]*storage.Operation, 0, len(ws)+1)
	var sets, dels []write
	for _, w := range ws {
		switch {
		case w.data != nil && deleted[w.seq]:
			delete(deleted, w.seq) // its delete is dropped too
		case w.data != nil:
			sets = append(sets, w)
			ops = append(ops, storage.SetOperation(pendingKey(w.seq), w.data))
		}
	}
	for _, w := range ws {
		if w.data == nil && deleted[w.seq] {
			dels = append(dels, w)
			ops = append(ops, storage.DeleteOperation(pendingKey(w.seq)))
		}
	}
	ops = append(ops, storage.SetOperation(keyPendingRange, rangeNow))
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	err := p.client.Batch(ctx, ops...)
	cancel()

	p.mu.Lock()
	p.inflight, p.slow = false, false
	for _, w := range ws {
		if w.data != nil {
			p.tried = max(p.tried, w.seq)
		}
	}
	if err != nil {
		// The records are held in memory only (Stored stays false, so a
		// shutdown emits them). They keep their keys in the range: a write
		// reported failed may still have reached the disk, and the key is
		// deleted when the record leaves, so a restart cannot read it back
		// after it was delivered. The deletes are tried again with the next
		// write (at most one per record with a key).
		p.queue = append(dels, p.queue...)
	} else {
		for _, w := range sets {
			if w.rec.Seq == w.seq {
				w.rec.Stored = true
			}
		}
	}
	p.writes++
	close(p.progress)
	p.progress = make(chan struct{})
	p.mu.Unlock()
	if err != nil {
		p.failed(storageBatch, err, zap.Int("records", len(sets)), zap.Int("deletes", len(dels)))
	}
}

// sync waits until every write queued so far was tried once, or ctx is
// done: the write in flight, if any, and the one that takes the queue. A
// write that fails puts its deletes back in the queue, so waiting for an
// empty queue would wait for as long as the disk fails.
func (p *persister) sync(ctx context.Context) bool {
	if p == nil {
		return true
	}
	p.mu.Lock()
	want := p.writes
	if p.inflight {
		want++
	}
	if len(p.queue) > 0 {
		want++
	}
	p.mu.Unlock()
	return p.waitFor(ctx, func() bool { return p.writes >= want })
}

// savedState is what a snapshot saves, each under its key: the cache, the
// dedupe window and, in route mode, where each feedback id went (nil in
// join mode: not saved).
type savedState struct{ cache, seen, routed []byte }

// restoreState reads the saved cache, dedupe window and route window.
func (p *persister) restoreState(ctx context.Context) savedState {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	ops := []*storage.Operation{storage.GetOperation(keyCache), storage.GetOperation(keySeen), storage.GetOperation(keyRouted)}
	if err := p.client.Batch(ctx, ops...); err != nil {
		p.failed(storageGet, err)
		return savedState{}
	}
	return savedState{cache: ops[0].Value, seen: ops[1].Value, routed: ops[2].Value}
}

// restorePending reads back every stored record, oldest first. A chunk the
// storage fails to read is read key by key; a key that still fails stays in
// the range, to be read later (readUnread) or after the next restart.
func (p *persister) restorePending(ctx context.Context) []*store.PendingRecord {
	get, cancel := context.WithTimeout(ctx, p.timeout)
	raw, err := p.client.Get(get, keyPendingRange)
	cancel()
	p.mu.Lock()
	p.rangeUnknown = err != nil
	p.mu.Unlock()
	if err != nil {
		p.failed(storageGet, err)
		return nil
	}
	lo, n := binary.Uvarint(raw)
	hi, m := binary.Uvarint(raw[max(n, 0):])
	switch {
	case len(raw) == 0:
		return nil // nothing was ever stored
	case n <= 0 || m <= 0 || hi >= maxSeq || lo > hi+1:
		// The keys it spans, if any, are left; new ones are written from 1.
		p.failed(storageCorrupt, fmt.Errorf("the stored range of held feedback (%x) is not one any run writes", raw))
		return nil
	case lo == hi+1:
		return nil // nothing is left
	case hi-lo >= maxStoredSpan:
		// Read whole, a garbled range could send the restore through
		// billions of keys; one this wide from a real run has a record
		// pinned at its start, and what is still held is at its end.
		p.failed(storageCorrupt, fmt.Errorf("the stored range of held feedback spans %d keys, from %d to %d; reading back only the last %d", hi-lo+1, lo, hi, restoreTail))
		lo = hi - restoreTail + 1
	}
	var out []*store.PendingRecord
	p.mu.Lock()
	p.lo, p.hi = lo, hi
	p.mu.Unlock()
	for start := lo; start <= hi; start += restoreBatch {
		ops := make([]*storage.Operation, 0, restoreBatch)
		for seq := start; seq <= hi && seq < start+restoreBatch; seq++ {
			ops = append(ops, storage.GetOperation(pendingKey(seq)))
		}
		if err := p.bounded(ctx, func(ctx context.Context) error { return p.client.Batch(ctx, ops...) }); err != nil {
			p.failed(storageBatch, err, zap.Uint64("from", start), zap.Int("keys", len(ops)))
			for i, op := range ops {
				err = p.bounded(ctx, func(ctx context.Context) (err error) {
					op.Value, err = p.client.Get(ctx, op.Key)
					return err
				})
				if err != nil {
					op.Value = nil
					p.markUnread(start+uint64(i), op.Key)
				}
			}
		}
		out = append(out, p.decode(start, ops)...)
	}
	p.mu.Lock()
	p.advance()
	p.mu.Unlock()
	return out
}

// bounded runs one storage call under storage_timeout.
func (p *persister) bounded(ctx context.Context, call func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	return call(ctx)
}

// markUnread keeps key seq in the range though it could not be read.
func (p *persister) markUnread(seq uint64, key string) {
	p.mu.Lock()
	p.live[seq] = nil
	p.mu.Unlock()
	p.failed(storageGet, fmt.Errorf("key %s could not be read; it will be tried again", key))
}

// decode turns read values into records; corrupt ones are deleted, counted
// and logged, since nothing can ever read them.
func (p *persister) decode(start uint64, ops []*storage.Operation) []*store.PendingRecord {
	// Decoded before the lock is taken: a record's body is decoded whole
	// to be checked, and the logs path waits on the lock.
	var out []*store.PendingRecord
	var corrupt []uint64
	for i, op := range ops {
		if op.Value == nil {
			continue
		}
		seq := start + uint64(i)
		r, err := store.UnmarshalPending(op.Value)
		if err != nil {
			p.tel.storageError(storageCorrupt)
			p.logger.Error("a stored feedback record is corrupt; deleting it", zap.String("key", op.Key), zap.Error(err))
			corrupt = append(corrupt, seq)
			continue
		}
		r.Seq, r.Stored = seq, true
		out = append(out, r)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, seq := range corrupt {
		p.queue = append(p.queue, write{seq: seq})
	}
	for _, r := range out {
		p.live[r.Seq] = r
	}
	return out
}

// readAgain leaves records read back late to be read again by the next
// readUnread, as if their keys had failed.
func (p *persister) readAgain(rs []*store.PendingRecord) {
	if p == nil || len(rs) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rs {
		p.live[r.Seq] = nil
	}
}

// readUnread tries again the keys a restore could not read.
func (p *persister) readUnread() {
	p.mu.Lock()
	var ops []*storage.Operation
	var seqs []uint64
	for seq, r := range p.live {
		if r == nil {
			seqs = append(seqs, seq)
			ops = append(ops, storage.GetOperation(pendingKey(seq)))
		}
	}
	p.mu.Unlock()
	var got []*store.PendingRecord
	for i, op := range ops {
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		v, err := p.client.Get(ctx, op.Key)
		cancel()
		if err != nil {
			continue
		}
		op.Value = v
		p.mu.Lock()
		if v == nil {
			delete(p.live, seqs[i])
			p.advance()
		}
		p.mu.Unlock()
		got = append(got, p.decode(seqs[i], []*storage.Operation{op})...)
	}
	if len(got) > 0 {
		p.recovered(got)
	}
}

// readRangeAgain reads back what is stored once the range, unreadable at
// start, can be read.
func (p *persister) readRangeAgain() {
	p.mu.Lock()
	unknown := p.rangeUnknown
	p.mu.Unlock()
	if !unknown {
		return
	}
	if got := p.restorePending(context.Background()); len(got) > 0 {
		p.recovered(got)
	}
}

// saveSnapshot stores the cache, the dedupe window and the route window
// when they changed.
func (p *persister) saveSnapshot() {
	version, state := p.snapshot(p.saved)
	if state.cache == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	ops := []*storage.Operation{storage.SetOperation(keyCache, state.cache), storage.SetOperation(keySeen, state.seen)}
	if state.routed != nil {
		ops = append(ops, storage.SetOperation(keyRouted, state.routed))
	}
	if err := p.client.Batch(ctx, ops...); err != nil {
		p.failed(storageSet, err)
		return
	}
	p.saved = version
}

// stop ends the writer, writes what is queued and the snapshot, and closes
// the client. A writer stuck in a storage call is left behind when ctx ends.
func (p *persister) stop(ctx context.Context) {
	if p == nil {
		return
	}
	close(p.quit)
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	select {
	case <-p.stopped:
	case <-ctx.Done():
		p.logger.Error("storage did not answer before shutdown ended; what was queued is not written")
		return
	}
	p.writeQueued()
	p.saveSnapshot()
	if err := p.client.Close(ctx); err != nil {
		p.failed(storageClient, err)
	}
}
