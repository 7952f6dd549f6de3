package store

import (
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

// Encodings for a storage extension. Each starts with a version byte so a
// later release can read what an earlier one saved.
const (
	pendingVersion  byte = 1
	snapshotVersion byte = 1
)

var errCorrupt = errors.New("stored entry is corrupt")

// MarshalPending encodes r (without its list links) for storage.
func MarshalPending(r *PendingRecord) []byte {
	b := make([]byte, 0, 64+len(r.FeedbackID)+len(r.Selector.ResponseID)+len(r.Data))
	b = append(b, pendingVersion)
	b = append(b, r.TraceID[:]...)
	b = append(b, r.Selector.SpanID[:]...)
	b = binary.AppendVarint(b, r.Arrived)
	b = binary.AppendVarint(b, r.Deadline)
	b = genai.AppendString(b, r.FeedbackID)
	b = genai.AppendString(b, r.Selector.ResponseID)
	return append(b, r.Data...)
}

// UnmarshalPending decodes what MarshalPending wrote.
func UnmarshalPending(b []byte) (*PendingRecord, error) {
	r := &PendingRecord{}
	if len(b) < 1+16+8 || b[0] != pendingVersion {
		return nil, errCorrupt
	}
	b = b[1:]
	copy(r.TraceID[:], b)
	copy(r.Selector.SpanID[:], b[16:])
	b = b[24:]
	for _, dst := range []*int64{&r.Arrived, &r.Deadline} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, errCorrupt
		}
		*dst, b = v, b[n:]
	}
	var err error
	if r.FeedbackID, b, err = genai.ReadString(b); err != nil {
		return nil, errCorrupt
	}
	if r.Selector.ResponseID, b, err = genai.ReadString(b); err != nil {
		return nil, errCorrupt
	}
	r.Data = append([]byte(nil), b...)
	return r, nil
}

// MarshalSnapshot encodes every cached trace, oldest first.
func (c *Cache) MarshalSnapshot() []byte {
	b := []byte{snapshotVersion}
	b = binary.AppendUvarint(b, uint64(len(c.traces)))
	c.Each(func(id pcommon.TraceID, lastSeen int64, cs []genai.Completion) {
		b = append(b, id[:]...)
		b = binary.AppendVarint(b, lastSeen)
		b = binary.AppendUvarint(b, uint64(len(cs)))
		for i := range cs {
			b = cs[i].AppendBinary(b)
		}
	})
	return b
}

// RestoreSnapshot adds the traces of a snapshot that have not expired by now.
// It returns how many completions it restored.
func (c *Cache) RestoreSnapshot(b []byte, now int64) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if b[0] != snapshotVersion {
		return 0, fmt.Errorf("cache snapshot version %d is not supported", b[0])
	}
	b = b[1:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, errCorrupt
	}
	b = b[k:]
	restored := 0
	for range n {
		if len(b) < 16 {
			return restored, errCorrupt
		}
		var id pcommon.TraceID
		copy(id[:], b)
		b = b[16:]
		lastSeen, k := binary.Varint(b)
		if k <= 0 {
			return restored, errCorrupt
		}
		b = b[k:]
		m, k := binary.Uvarint(b)
		if k <= 0 || m > uint64(len(b)) {
			return restored, errCorrupt
		}
		b = b[k:]
		cs := make([]genai.Completion, 0, m)
		for range m {
			var comp genai.Completion
			var err error
			if comp, b, err = genai.DecodeCompletion(b); err != nil {
				return restored, err
			}
			cs = append(cs, comp)
		}
		if now-lastSeen < c.ttl {
			c.Restore(id, lastSeen, cs, now)
			restored += len(cs)
		}
	}
	return restored, nil
}
