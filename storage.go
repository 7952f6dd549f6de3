package llmfeedbackprocessor

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// Storage keys. The client is asked for by the processor's own id, which
// both pipelines share, so keys do not depend on the order of pipelines.
const (
	keyCache         = "cache"
	keyPendingRange  = "pending/range"
	keyPendingPrefix = "pending/"
	restoreBatch     = 512
)

// persister keeps held-back feedback and the completion cache in a storage
// extension. Pending records are written through when parked and deleted
// when they leave, so a crash loses none; the cache is saved on an interval
// and at shutdown. Records get increasing sequence numbers; the stored range
// [lo, hi] lets any storage (none needs to support listing keys) be read
// back. lo follows the oldest record still stored, so reading back costs
// what is stored, not everything ever parked. A storage error is logged and
// counted; the data path goes on.
type persister struct {
	client storage.Client
	logger *zap.Logger
	tel    *telemetry

	mu     sync.Mutex // serialises writes and guards Seq/Gone of records
	lo, hi uint64     // lo > hi: nothing stored
	live   map[uint64]struct{}
	saved  uint64 // cache version last saved
}

func newPersister(client storage.Client, logger *zap.Logger, tel *telemetry) *persister {
	return &persister{client: client, logger: logger, tel: tel, lo: 1, live: map[uint64]struct{}{}}
}

// advance moves lo past the records no longer stored and reports whether it moved.
func (p *persister) advance() bool {
	from := p.lo
	for p.lo <= p.hi {
		if _, ok := p.live[p.lo]; ok {
			break
		}
		p.lo++
	}
	return p.lo != from
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

func (p *persister) failed(op string, err error, fields ...zap.Field) {
	p.tel.add(p.tel.tb.ProcessorLlmFeedbackStorageErrors, 1, p.tel.attr("reason", op))
	p.logger.Warn("storage "+op+" failed; going on without it", append(fields, zap.Error(err))...)
}

func pendingKey(seq uint64) string { return keyPendingPrefix + strconv.FormatUint(seq, 10) }

func encodeRange(lo, hi uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(nil, lo), hi)
}

// parked writes r through to storage. Like done, it is a no-op on a nil
// persister (no storage configured), so callers need no check.
func (p *persister) parked(r *store.PendingRecord) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Gone {
		return
	}
	p.hi++ // when nothing is stored lo was hi+1: it is now this record
	err := p.client.Batch(context.Background(),
		storage.SetOperation(pendingKey(p.hi), store.MarshalPending(r)),
		storage.SetOperation(keyPendingRange, encodeRange(p.lo, p.hi)))
	if err != nil {
		p.failed("set", err, zap.String("id", r.FeedbackID))
		return
	}
	r.Seq = p.hi
	p.live[r.Seq] = struct{}{}
}

// done deletes r from storage: it was delivered or deliberately dropped.
func (p *persister) done(r *store.PendingRecord) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r.Gone = true
	if r.Seq == 0 {
		return
	}
	delete(p.live, r.Seq)
	ops := []*storage.Operation{storage.DeleteOperation(pendingKey(r.Seq))}
	if p.advance() {
		ops = append(ops, storage.SetOperation(keyPendingRange, encodeRange(p.lo, p.hi)))
	}
	if err := p.client.Batch(context.Background(), ops...); err != nil {
		p.failed("delete", err, zap.String("id", r.FeedbackID))
	}
}

// restorePending reads back every stored record, oldest first.
func (p *persister) restorePending(ctx context.Context) []*store.PendingRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	raw, err := p.client.Get(ctx, keyPendingRange)
	if err != nil {
		p.failed("get", err)
		return nil
	}
	lo, n := binary.Uvarint(raw)
	hi, m := binary.Uvarint(raw[max(n, 0):])
	if len(raw) == 0 || n <= 0 || m <= 0 || hi < lo {
		return nil
	}
	var out []*store.PendingRecord
	for start := lo; start <= hi; start += restoreBatch {
		ops := make([]*storage.Operation, 0, restoreBatch)
		for seq := start; seq <= hi && seq < start+restoreBatch; seq++ {
			ops = append(ops, storage.GetOperation(pendingKey(seq)))
		}
		if err := p.client.Batch(ctx, ops...); err != nil {
			p.failed("batch", err)
			continue
		}
		for i, op := range ops {
			if op.Value == nil {
				continue
			}
			r, err := store.UnmarshalPending(op.Value)
			if err != nil {
				p.failed("get", err, zap.String("key", op.Key))
				continue
			}
			r.Seq = start + uint64(i)
			out = append(out, r)
		}
	}
	p.lo, p.hi = lo, hi
	for _, r := range out {
		p.live[r.Seq] = struct{}{}
	}
	p.advance()
	return out
}

// saveCache stores a snapshot of the cache when it changed since the last.
func (p *persister) saveCache(ctx context.Context, c *correlator) {
	c.mu.Lock()
	version := c.cacheVersion
	if version == p.saved {
		c.mu.Unlock()
		return
	}
	snap := c.cache.MarshalSnapshot()
	c.mu.Unlock()
	if err := p.client.Set(ctx, keyCache, snap); err != nil {
		p.failed("set", err)
		return
	}
	p.saved = version
}

// restoreCache loads the saved cache; expired traces are skipped.
func (p *persister) restoreCache(ctx context.Context, c *correlator) {
	snap, err := p.client.Get(ctx, keyCache)
	if err != nil {
		p.failed("get", err)
		return
	}
	c.mu.Lock()
	n, err := c.cache.RestoreSnapshot(snap, c.now().UnixNano())
	c.mu.Unlock()
	if err != nil {
		p.failed("get", err, zap.String("key", keyCache))
	}
	c.logger.Info("restored completion cache from storage", zap.Int("completions", n))
}

func (p *persister) close(ctx context.Context) {
	if err := p.client.Close(ctx); err != nil {
		p.failed("client", err)
	}
}
