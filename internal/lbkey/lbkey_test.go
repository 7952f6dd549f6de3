package lbkey

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestStandInHashesLikeTheSpans(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		var id pcommon.TraceID
		for i := range id {
			id[i] = byte(r.UintN(256))
		}
		s := StandIn(id)
		require.Equal(t, crc32.ChecksumIEEE(id[:]), crc32.ChecksumIEEE(Key(s)), "id %s stand-in %s", id, s)
		require.Equal(t, s.String(), string(Key(s)), "Key is the exporter's hex form")
	}
}

func TestRoutingKeyIsToldFromRealTraceIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[pcommon.TraceID]uint32{}
	for range 100_000 {
		var id pcommon.TraceID
		for i := range id {
			id[i] = byte(r.UintN(256))
		}
		require.False(t, IsRoutingKey(id), "random id %s", id)
		require.True(t, IsRoutingKey(StandIn(id)) || StandIn(id).IsEmpty(), "stand-in of %s", id)
		h := r.Uint32()
		k := RoutingKey(h)
		require.True(t, IsRoutingKey(k), "routing key of %d: %s", h, k)
		if prev, ok := seen[k]; ok {
			require.Equal(t, prev, h, "two values share routing key %s", k)
		}
		seen[k] = h
	}
	require.False(t, IsRoutingKey(pcommon.TraceID{}))
	require.True(t, IsRoutingKey(RoutingKey(0)), "0 gives a key too, not the empty id")
	require.False(t, IsRoutingKey(pcommon.TraceID{0x10, 0x01, 0x12}), "a 2 is not a routing key's")
}
