package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// Encodings for a storage extension. Each starts with a version byte so a
// later release can read what an earlier one saved: version 1 had trace-id
// keys only; version 2 adds the join key (pending) and app key hashes
// (snapshot); version 3 of pending adds the dedupe scope.
const (
	pendingV1  byte = 1
	pendingV2  byte = 2
	pendingV3  byte = 3
	snapshotV1 byte = 1
	snapshotV2 byte = 2
)

var errCorrupt = errors.New("stored entry is corrupt")

// MarshalPending encodes r (without its list links) for storage: in
// version 2 when its dedupe scope is its key's own, so that a release
// before version 3 still reads it, and in version 3 otherwise.
func MarshalPending(r *PendingRecord) []byte {
	version := pendingV2
	if r.DedupeScope() != r.Key.DedupeScope(r.KeyName) {
		version = pendingV3
	}
	b := make([]byte, 0, 112+len(r.FeedbackID)+len(r.Selector.ResponseID)+len(r.KeyName)+len(r.KeyValue)+len(r.Data))
	b = append(b, version)
	b = append(b, r.TraceID[:]...)
	b = append(b, r.Selector.SpanID[:]...)
	b = binary.AppendVarint(b, r.Arrived)
	b = binary.AppendVarint(b, r.Deadline)
	b = genai.AppendString(b, r.FeedbackID)
	b = genai.AppendString(b, r.Selector.ResponseID)
	b = append(b, byte(r.Key.Kind), r.Key.App)
	b = append(b, r.Key.Trace[:]...)
	b = binary.LittleEndian.AppendUint64(b, r.Key.Hash)
	b = genai.AppendString(b, r.KeyName)
	b = genai.AppendString(b, r.KeyValue)
	b = binary.AppendVarint(b, r.At)
	if version == pendingV3 {
		b = append(b, r.Scope[:]...)
	}
	return append(b, r.Data...)
}

// UnmarshalPending decodes what MarshalPending wrote, in either version.
func UnmarshalPending(b []byte) (*PendingRecord, error) {
	r := &PendingRecord{}
	if len(b) < 1+16+8 || b[0] < pendingV1 || b[0] > pendingV3 {
		return nil, errCorrupt
	}
	version := b[0]
	b = b[1:]
	copy(r.TraceID[:], b)
	copy(r.Selector.SpanID[:], b[16:])
	b = b[24:]
	var err error
	if b, err = readVarints(b, &r.Arrived, &r.Deadline); err != nil {
		return nil, err
	}
	if r.FeedbackID, b, err = genai.ReadString(b); err != nil {
		return nil, errCorrupt
	}
	if r.Selector.ResponseID, b, err = genai.ReadString(b); err != nil {
		return nil, errCorrupt
	}
	r.Key, r.KeyName = TraceKey(r.TraceID), "trace_id"
	if version >= pendingV2 {
		if len(b) < 2+16+8 {
			return nil, errCorrupt
		}
		r.Key.Kind, r.Key.App = KeyKind(b[0]), b[1]
		if r.Key.Kind > ByConversation {
			return nil, errCorrupt
		}
		copy(r.Key.Trace[:], b[2:])
		r.Key.Hash = binary.LittleEndian.Uint64(b[18:])
		b = b[26:]
		if r.KeyName, b, err = genai.ReadString(b); err != nil {
			return nil, errCorrupt
		}
		if r.KeyValue, b, err = genai.ReadString(b); err != nil {
			return nil, errCorrupt
		}
		if b, err = readVarints(b, &r.At); err != nil {
			return nil, err
		}
	}
	if version >= pendingV3 {
		if len(b) < 16 {
			return nil, errCorrupt
		}
		copy(r.Scope[:], b)
		b = b[16:]
	}
	// The record itself must decode: one that cannot would be held, fail
	// at every delivery and pin the stored range for good.
	var u plog.ProtoUnmarshaler
	if ld, err := u.UnmarshalLogs(b); err != nil || ld.LogRecordCount() != 1 {
		return nil, errCorrupt
	}
	r.Data = append([]byte(nil), b...)
	return r, nil
}

func readVarints(b []byte, dst ...*int64) ([]byte, error) {
	for _, d := range dst {
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, errCorrupt
		}
		*d, b = v, b[n:]
	}
	return b, nil
}

// MarshalSnapshot encodes every cached trace, oldest first, with the app
// key hashes of each completion under the configured key names.
func (c *Cache) MarshalSnapshot(keyNames []string) []byte {
	traces, n := c.AppendTraces(nil)
	return JoinSnapshot(keyNames, n, traces)
}

// AppendTraces appends every cached trace, oldest first, to b in snapshot
// form, and returns how many it appended: the body JoinSnapshot wraps, so
// that a cache split in parts is saved one part at a time.
func (c *Cache) AppendTraces(b []byte) ([]byte, int) {
	c.Each(func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion, appKeys []uint64) {
		b = append(b, id[:]...)
		b = binary.AppendVarint(b, lastSeen)
		b = binary.AppendUvarint(b, uint64(len(cs)))
		for i := range cs {
			b = cs[i].AppendBinary(b)
			for _, h := range appKeys[i*c.idx.nKeys : (i+1)*c.idx.nKeys] {
				b = binary.LittleEndian.AppendUint64(b, h)
			}
		}
	})
	return b, c.traces.len()
}

// JoinSnapshot is a snapshot of n traces encoded by AppendTraces, saved
// under keyNames (each part's cache indexing exactly those keys).
func JoinSnapshot(keyNames []string, n int, traces []byte) []byte {
	b := make([]byte, 0, 16+len(traces))
	b = append(b, snapshotV2)
	b = binary.AppendUvarint(b, uint64(len(keyNames)))
	for _, name := range keyNames {
		b = genai.AppendString(b, name)
	}
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, traces...)
}

// RestoreSnapshot adds the traces of a snapshot that have not expired by now.
// App key hashes saved under a name still in keyNames are indexed again.
// It returns how many completions it restored.
func (c *Cache) RestoreSnapshot(b []byte, now int64, keyNames []string) (int, error) {
	traces, err := DecodeSnapshot(b, keyNames)
	restored := 0
	for i := range traces {
		if c.Restore(traces[i].ID, traces[i].LastSeen, traces[i].Completions, traces[i].AppKeysOf, now) {
			restored += len(traces[i].Completions)
		}
	}
	return restored, err
}

// SavedTrace is a trace read back from a snapshot.
type SavedTrace struct {
	ID          pcommon.TraceID
	LastSeen    int64
	Completions []genai.Completion
	// AppKeys holds, for each completion in turn, the hashes of the
	// configured keys' values (nKeys of them).
	AppKeys []uint64
	nKeys   int
}

// AppKeysOf is the app key hashes of Completions[i].
func (t *SavedTrace) AppKeysOf(i int) []uint64 { return t.AppKeys[i*t.nKeys : (i+1)*t.nKeys] }

// DecodeSnapshot reads a snapshot's traces, oldest first (a snapshot
// joined from several parts is in order within each part only), with app
// key hashes saved under a name still in keyNames placed at that name's
// index. On error it returns what it read before.
func DecodeSnapshot(b []byte, keyNames []string) ([]SavedTrace, error) {
	if len(b) == 0 {
		return nil, nil
	}
	version := b[0]
	if version != snapshotV1 && version != snapshotV2 {
		return nil, fmt.Errorf("cache snapshot version %d is not supported", version)
	}
	b = b[1:]
	var saved []int // saved key j -> configured index, or -1
	if version == snapshotV2 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return nil, errCorrupt
		}
		b = b[k:]
		for range n {
			var name string
			var err error
			if name, b, err = genai.ReadString(b); err != nil {
				return nil, errCorrupt
			}
			at := -1
			for i, cur := range keyNames {
				if cur == name {
					at = i
				}
			}
			saved = append(saved, at)
		}
	}
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errCorrupt
	}
	b = b[k:]
	nk := len(keyNames)
	var out []SavedTrace
	done := func(err error) ([]SavedTrace, error) {
		// Parts are each oldest first; restoring oldest first overall keeps
		// every cache's recency list in order whatever part a trace lands in.
		sort.SliceStable(out, func(i, j int) bool { return out[i].LastSeen < out[j].LastSeen })
		return out, err
	}
	for range n {
		if len(b) < 16 {
			return done(errCorrupt)
		}
		t := SavedTrace{nKeys: nk}
		copy(t.ID[:], b)
		b = b[16:]
		if t.LastSeen, k = binary.Varint(b); k <= 0 {
			return done(errCorrupt)
		}
		b = b[k:]
		m, k := binary.Uvarint(b)
		if k <= 0 || m > uint64(len(b)) {
			return done(errCorrupt)
		}
		b = b[k:]
		t.Completions = make([]genai.Completion, 0, m)
		t.AppKeys = make([]uint64, int(m)*nk)
		for i := range int(m) {
			var comp genai.Completion
			var err error
			if comp, b, err = genai.DecodeCompletion(b); err != nil {
				return done(err)
			}
			if len(b) < 8*len(saved) {
				return done(errCorrupt)
			}
			for j, at := range saved {
				if at >= 0 {
					t.AppKeys[i*nk+at] = binary.LittleEndian.Uint64(b[8*j:])
				}
			}
			b = b[8*len(saved):]
			t.Completions = append(t.Completions, comp)
		}
		out = append(out, t)
	}
	return done(nil)
}
