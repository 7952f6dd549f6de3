package feedback

import (
	"encoding/binary"
	"slices"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// idNamespace scopes the ids derived for feedback sent without one.
var idNamespace = uuid.MustParse("5f0c2a61-8d43-4c7e-9b8e-6a1f3b0d9e27")

// DeriveID returns the id of a feedback record sent without one: a
// name-based UUID over its trace and span ids, its timestamps, severity,
// body and attributes (in key order). The same record always gets the same
// id, so an SDK's retry of a refused batch, or a record read back after a
// restart, is known to be the same feedback rather than a second one.
func DeriveID(lr plog.LogRecord) string {
	b := make([]byte, 0, 256)
	writeInt := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	writeStr := func(s string) {
		writeInt(uint64(len(s)))
		b = append(b, s...)
	}
	tid, sid := lr.TraceID(), lr.SpanID()
	b = append(b, tid[:]...)
	b = append(b, sid[:]...)
	writeInt(uint64(lr.Timestamp()))
	writeInt(uint64(lr.ObservedTimestamp()))
	writeInt(uint64(lr.SeverityNumber()))
	writeStr(lr.EventName())
	writeStr(lr.Body().AsString())
	attrs := lr.Attributes()
	keys := make([]string, 0, attrs.Len())
	attrs.Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := attrs.Get(k)
		writeStr(k)
		writeInt(uint64(v.Type()))
		writeStr(v.AsString())
	}
	return uuid.NewSHA1(idNamespace, b).String()
}
