package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

func TestRoutedKeepsTheFirstAddressWithinItsBounds(t *testing.T) {
	to := func(b byte) Match {
		return Match{Trace: pcommon.TraceID{b}, Comp: genai.Completion{Summary: genai.Summary{SpanID: pcommon.SpanID{b}}},
			Conversation: ConversationStats{Completions: int64(b)}}
	}
	scope := pcommon.TraceID{9}
	r := NewRouted(100, 2)
	evicted := 0
	r.OnEvict(func(n int) { evicted += n })
	first := to(1)
	first.Comp.ResponseID = "resp-1" // not kept: addressing does not read it
	stick := func(scope pcommon.TraceID, id string, m Match, now int64) Match {
		t.Helper()
		got, addressed := r.Stick(scope, id, m, now)
		assert.True(t, addressed, id)
		return got
	}
	assert.Equal(t, first, stick(scope, "a", first, 0))
	assert.Equal(t, to(1), stick(scope, "a", to(2), 10), "a retry goes where the first try went")
	assert.Equal(t, to(3), stick(pcommon.TraceID{8}, "a", to(3), 10), "the same id in another scope is another record")
	assert.Equal(t, to(4), stick(scope, "b", to(4), 20))
	assert.Equal(t, 2, r.Len())
	assert.Equal(t, 1, evicted, "the bound pushed the oldest out")
	assert.Equal(t, to(5), stick(scope, "a", to(5), 30), "pushed out, a is addressed anew")
	r.Expire(130)
	assert.Equal(t, 0, r.Len(), "past the TTL nothing is kept")
}

// unaddressed reports whether r knows id went on unaddressed within scope.
func unaddressed(r *Routed, scope pcommon.TraceID, id string) bool {
	if !r.Knows(scope, id) {
		return false
	}
	_, addressed := r.Stick(scope, id, Match{}, 0) // known: remembers nothing
	return !addressed
}

func TestRoutedKeepsWhatWentOnUnaddressed(t *testing.T) {
	to := Match{Trace: pcommon.TraceID{1}, Comp: genai.Completion{Summary: genai.Summary{SpanID: pcommon.SpanID{1}}}}
	scope := pcommon.TraceID{9}
	r := NewRouted(100, 10)
	_, addressed := r.Stick(scope, "a", Match{}, 0)
	assert.False(t, addressed)
	assert.True(t, unaddressed(r, scope, "a"))
	assert.False(t, unaddressed(r, pcommon.TraceID{8}, "a"), "another scope")
	_, addressed = r.Stick(scope, "a", to, 10)
	assert.False(t, addressed, "a retry of what went on unaddressed goes on unaddressed")
	assert.True(t, unaddressed(r, scope, "a"), "and stays so")

	got, addressed := r.Stick(scope, "b", to, 10)
	assert.True(t, addressed)
	prior, addressed := r.Stick(scope, "b", Match{}, 20)
	assert.True(t, addressed, "an id addressed before keeps its address")
	assert.Equal(t, got, prior)
	assert.False(t, unaddressed(r, scope, "b"))
	again, _ := r.Stick(scope, "b", Match{}, 30)
	assert.Equal(t, got.Trace, again.Trace)

	r.Expire(100)
	assert.False(t, unaddressed(r, scope, "a"), "past the TTL it is forgotten")
	_, addressed = r.Stick(scope, "a", to, 110)
	assert.True(t, addressed)
}

func TestRoutedSnapshotRoundTrip(t *testing.T) {
	to := Match{Trace: pcommon.TraceID{1}, Comp: genai.Completion{Summary: genai.Summary{SpanID: pcommon.SpanID{2}}},
		Conversation: ConversationStats{Completions: 3, InputTokens: 1 << 40, OutputTokens: 7}}
	scope := pcommon.TraceID{9}
	r := NewRouted(100, 10)
	r.Stick(scope, "old", to, 0)
	r.Stick(scope, "a", to, 50)
	r.Stick(scope, "b", Match{}, 60)
	snap := r.MarshalSnapshot()

	back := NewRouted(100, 10)
	n, err := back.RestoreSnapshot(snap, 120)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "what expired by now is not restored")
	got, addressed := back.Stick(scope, "a", Match{}, 130)
	assert.True(t, addressed)
	assert.Equal(t, to.Trace, got.Trace)
	assert.Equal(t, to.Comp.SpanID, got.Comp.SpanID)
	assert.Equal(t, to.Conversation, got.Conversation)
	assert.True(t, unaddressed(back, scope, "b"))
	back.Expire(150)
	assert.Equal(t, 1, back.Len(), "restored ids expire when they would have")

	small := NewRouted(100, 1)
	n, err = small.RestoreSnapshot(snap, 70)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "all three restored, each pushing the one before out")
	assert.Equal(t, 1, small.Len(), "the bound holds on restore")
	assert.True(t, unaddressed(small, scope, "b"), "the newest is kept")

	for cut := 1; cut < len(snap); cut++ {
		_, err := NewRouted(100, 10).RestoreSnapshot(snap[:cut], 70)
		require.Error(t, err, "cut at %d of %d", cut, len(snap))
	}
	_, err = NewRouted(100, 10).RestoreSnapshot(append([]byte{routedVersion + 1}, snap[1:]...), 70)
	require.Error(t, err)
	n, err = NewRouted(100, 10).RestoreSnapshot(nil, 70)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestRoutedSnapshotSkipsTheFuture(t *testing.T) {
	r := NewRouted(100, 10)
	r.Stick(pcommon.TraceID{9}, "future", Match{}, 1_000)
	back := NewRouted(100, 10)
	n, err := back.RestoreSnapshot(r.MarshalSnapshot(), 500)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Zero(t, back.Len())
}
