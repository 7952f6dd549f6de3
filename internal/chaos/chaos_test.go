package chaos

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSchedule(t *testing.T) {
	const d = 100 * time.Second
	for _, n := range []int{0, 1, 2, 8} {
		at := schedule(rand.New(rand.NewPCG(uint64(n), 7)), d, n)
		assert.Len(t, at, n)
		slot := d * 8 / 10 / time.Duration(max(n, 1))
		for i, k := range at {
			assert.GreaterOrEqual(t, k, d/10, "kill %d of %d", i, n)
			assert.LessOrEqual(t, k, d*9/10, "kill %d of %d", i, n)
			if i > 0 {
				assert.GreaterOrEqual(t, k-at[i-1], slot/5, "kills %d and %d of %d too close", i-1, i, n)
			}
		}
	}
}
