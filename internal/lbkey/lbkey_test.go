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
