package chaos

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRefusalSpells drives the backend's refusals with a fake clock: the
// share of time refused is the one asked for, in spells of a few hundred
// milliseconds.
func TestRefusalSpells(t *testing.T) {
	for _, share := range []float64{0, 0.1, 0.3, 0.6} {
		b := &backend{share: share, rng: rand.New(rand.NewPCG(1, 2))}
		start := time.Unix(1_700_000_000, 0)
		const step = 5 * time.Millisecond
		refused, total := 0, 0
		var spell, longest time.Duration
		for now := start; now.Before(start.Add(20 * time.Minute)); now = now.Add(step) {
			total++
			if b.refuseNow(now) {
				refused++
				spell += step
				longest = max(longest, spell)
			} else {
				spell = 0
			}
		}
		got := float64(refused) / float64(total)
		assert.InDelta(t, share, got, 0.03, "share %v", share)
		if share > 0 {
			assert.LessOrEqual(t, longest, 3*refusalWindow/2+step, "share %v", share)
			assert.GreaterOrEqual(t, longest, refusalWindow, "share %v", share)
		}
	}
}
