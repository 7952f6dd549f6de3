package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

func oneRecord(t *testing.T) []byte {
	t.Helper()
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Attributes().PutStr("rating", "Good")
	data, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	return data
}

// TestPendingKeepsItsDedupeScope: a held record's dedupe scope, when it is
// not its key's own, is stored with it (version 3); a record whose scope is
// its key's own is stored as version 2, which earlier releases read, and
// reads back with that scope.
func TestPendingKeepsItsDedupeScope(t *testing.T) {
	trace := pcommon.TraceID{1, 2, 3}
	r := &PendingRecord{
		Key: TraceKey(trace), KeyName: "trace_id", TraceID: trace,
		Scope:      JoinKey{Kind: ByResponse, Hash: HashValue("resp-a")}.DedupeScope("gen_ai.response.id"),
		FeedbackID: "click", Arrived: 5, Deadline: 9, At: 4, Data: oneRecord(t),
	}
	b := MarshalPending(r)
	got, err := UnmarshalPending(b)
	require.NoError(t, err)
	assert.Equal(t, r.Scope, got.DedupeScope())
	assert.NotEqual(t, trace, got.DedupeScope())
	assert.Equal(t, r.Data, got.Data)

	// The same record as version 2 wrote it: no scope before the data.
	data := len(b) - len(r.Data)
	v2 := append(append([]byte{pendingV2}, b[1:data-16]...), r.Data...)
	old, err := UnmarshalPending(v2)
	require.NoError(t, err)
	assert.Equal(t, trace, old.DedupeScope(), "the trace's scope, as version 2 meant it")
	assert.Equal(t, "click", old.FeedbackID)

	// A record whose scope is its key's own is stored as version 2 wrote it.
	own := *r
	own.Scope = own.Key.DedupeScope(own.KeyName)
	assert.Equal(t, v2, MarshalPending(&own))

	_, err = UnmarshalPending(b[:data-8])
	assert.Error(t, err, "cut inside the scope")
	b[0] = pendingV3 + 1
	_, err = UnmarshalPending(b)
	assert.Error(t, err, "a version this release does not know")
}
