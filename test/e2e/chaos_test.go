package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/chaos"
	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// TestChaosShort is a short `make chaos`: the collector with storage, under
// traffic from retrying clients (feedback with and without id, some of it
// before its completion), exporting to a backend that refuses 30% of
// requests, SIGKILLed twice and restarted on the same storage. Nothing may
// be lost, and a record may come out twice only with the same id from two
// collector processes (at least once across a crash). The run without
// faults checks the harness itself: every record once, every one matched.
func TestChaosShort(t *testing.T) {
	bin := tc.Binary(t)
	for _, tt := range []struct {
		name     string
		duration time.Duration
		kills    int
		refuse   float64
	}{
		{"no_faults", 6 * time.Second, 0, 0},
		{"faults", 25 * time.Second, 2, 0.3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			r, err := chaos.Run(chaos.Config{
				Collector: bin, Dir: t.TempDir(), Duration: tt.duration, Kills: tt.kills, Refuse: tt.refuse,
				Workers: 2, PerTick: 2, Tick: 100 * time.Millisecond, PendingTTL: 10 * time.Second,
				Seed: seed, Logf: t.Logf,
			})
			require.NoError(t, err)
			for _, l := range r.Details() {
				t.Log(l)
			}
			t.Log(r.Line())

			// The faults happened, and the traffic had both kinds of record.
			assert.Equal(t, tt.kills, r.Kills)
			assert.Positive(t, r.SentWithID)
			assert.Positive(t, r.SentWithoutID)
			if tt.refuse > 0 {
				assert.Positive(t, r.BackendRefused, "the backend refused nothing")
				assert.Positive(t, r.ClientRetries, "no batch was refused to the client")
			} else {
				assert.Zero(t, r.BackendRefused)
				assert.Zero(t, r.ClientRetries)
			}

			assert.Zero(t, r.Lost, "lost")
			assert.Zero(t, r.Unexplained, "duplicates other than the same id across a SIGKILL")
			assert.Zero(t, r.WrongJoin, "joined to another completion")
			assert.Zero(t, r.IDChanged, "sent with an id, came out with another")
			assert.True(t, r.OK(), "problems: %v", r.Problems)
			if tt.kills == 0 {
				assert.Zero(t, r.DupWithID+r.DupWithoutID, "duplicated without a crash")
				assert.Equal(t, r.Sent, r.Matched, "every completion was sent, none lost with a process")
			}
		})
	}
}
