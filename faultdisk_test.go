package llmfeedbackprocessor

import (
	"context"
	"errors"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// faultDisk is a storage extension of our own, over a map, that fails,
// hangs or corrupts on demand: the disk faults a test cannot get from the
// real file_storage (which test/e2e runs end to end). Faults are set per
// operation kind and apply to calls made after they are set.
type faultDisk struct {
	component.StartFunc
	component.ShutdownFunc

	mu      sync.Mutex
	m       map[string][]byte
	fail    map[storage.OpType]bool // the call returns errDisk
	hang    chan struct{}           // non-nil: every call blocks until it is closed or ctx ends
	corrupt bool                    // Get returns mangled bytes
	// failMulti fails every batch of more than one operation; failKeys
	// fails every call that touches one of these keys.
	failMulti bool
	failKeys  map[string]bool
	// failAfter applies a batch and then reports it failed, as a write
	// that timed out after it reached the disk.
	failAfter bool
	reads     int // keys read
	calls     int
	closed    bool
}

var errDisk = errors.New("input/output error")

// killed is a disk holding what d holds now: what a SIGKILL at this moment
// would leave for the next start, whatever d is written later.
func (d *faultDisk) killed() *faultDisk {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := newFaultDisk()
	for k, v := range d.m {
		c.m[k] = append([]byte(nil), v...)
	}
	return c
}

func newFaultDisk() *faultDisk {
	return &faultDisk{m: map[string][]byte{}, fail: map[storage.OpType]bool{}, failKeys: map[string]bool{}}
}

// failAll makes every operation fail (a full or read-only disk), or heals it.
func (d *faultDisk) failAll(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range []storage.OpType{storage.Get, storage.Set, storage.Delete} {
		d.fail[op] = on
	}
}

func (d *faultDisk) failOn(op storage.OpType, on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail[op] = on
}

func (d *faultDisk) keys() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// has reports whether key is stored.
func (d *faultDisk) has(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[key]
	return ok
}

func (d *faultDisk) set(f func(d *faultDisk)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func (d *faultDisk) callCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

func (d *faultDisk) GetClient(context.Context, component.Kind, component.ID, string) (storage.Client, error) {
	return d, nil
}

func (d *faultDisk) Get(ctx context.Context, k string) ([]byte, error) {
	op := storage.GetOperation(k)
	err := d.Batch(ctx, op)
	return op.Value, err
}

func (d *faultDisk) Set(ctx context.Context, k string, v []byte) error {
	return d.Batch(ctx, storage.SetOperation(k, v))
}

func (d *faultDisk) Delete(ctx context.Context, k string) error {
	return d.Batch(ctx, storage.DeleteOperation(k))
}

// Batch is all or nothing, as file_storage's transaction is.
func (d *faultDisk) Batch(ctx context.Context, ops ...*storage.Operation) error {
	d.mu.Lock()
	hang := d.hang
	d.calls++
	d.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failMulti && len(ops) > 1 {
		return errDisk
	}
	for _, op := range ops {
		if d.fail[op.Type] || d.failKeys[op.Key] {
			return errDisk
		}
	}
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			d.reads++
			op.Value = d.m[op.Key]
			if d.corrupt && op.Value != nil {
				op.Value = append([]byte{0xff}, op.Value[1:]...)
			}
		case storage.Set:
			d.m[op.Key] = append([]byte(nil), op.Value...)
		case storage.Delete:
			delete(d.m, op.Key)
		}
	}
	if d.failAfter {
		return errDisk
	}
	return nil
}

func (d *faultDisk) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}
