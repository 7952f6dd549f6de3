package feedback

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func record(attrs map[string]any, ts uint64) plog.LogRecord {
	lr := plog.NewLogRecord()
	lr.SetTimestamp(pcommon.Timestamp(ts))
	lr.SetObservedTimestamp(pcommon.Timestamp(ts + 1))
	_ = lr.Attributes().FromRaw(attrs)
	return lr
}

// TestDeriveID: the same record always gets the same id, in any attribute
// order; any change to what it says or when gives another.
func TestDeriveID(t *testing.T) {
	base := map[string]any{"trace_id": "5b8efff798038103d269b633813fc60c", "rating": "Good", "message": "ok"}
	id := DeriveID(record(base, 100))
	assert.Len(t, id, 36)
	assert.Equal(t, id, DeriveID(record(base, 100)), "same record, same id")

	reordered := plog.NewLogRecord()
	record(base, 100).CopyTo(reordered)
	reordered.Attributes().Clear()
	for _, k := range []string{"message", "rating", "trace_id"} {
		reordered.Attributes().PutStr(k, base[k].(string))
	}
	assert.Equal(t, id, DeriveID(reordered), "attribute order does not matter")

	for name, other := range map[string]plog.LogRecord{
		"rating":    record(map[string]any{"trace_id": base["trace_id"], "rating": "Bad", "message": "ok"}, 100),
		"time":      record(base, 101),
		"int value": record(map[string]any{"trace_id": base["trace_id"], "rating": int64(1), "message": "ok"}, 100),
		"str value": record(map[string]any{"trace_id": base["trace_id"], "rating": "1", "message": "ok"}, 100),
	} {
		assert.NotEqual(t, id, DeriveID(other), name)
	}
	assert.NotEqual(t,
		DeriveID(record(map[string]any{"rating": "1"}, 100)),
		DeriveID(record(map[string]any{"rating": "Good"}, 100)))
}
