package store

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestDedupeScope: feedback ids are unique per trace, or per value of the
// key that named the completion, whichever attribute or place in join::keys
// an app key had.
func TestDedupeScope(t *testing.T) {
	trace := pcommon.TraceID{1, 2, 3}
	h := HashValue("m-42")
	assert.Equal(t, trace, TraceKey(trace).DedupeScope("trace_id"))
	app := func(at uint8, name string) pcommon.TraceID {
		return JoinKey{Kind: ByAppKey, App: at, Hash: h}.DedupeScope(name)
	}
	assert.Equal(t, app(0, "app.message_id"), app(2, "app.message_id"), "join::keys reordered")
	assert.NotEqual(t, app(0, "app.message_id"), app(0, "app.turn_id"))
	resp := JoinKey{Kind: ByResponse, Hash: h}.DedupeScope("gen_ai.response.id")
	conv := JoinKey{Kind: ByConversation, Hash: h}.DedupeScope("gen_ai.conversation.id")
	assert.Equal(t, conv, JoinKey{Kind: ByConversation, Hash: h}.DedupeScope("session.id"), "one conversation, either attribute")
	assert.NotEqual(t, resp, conv)
	assert.NotEqual(t, resp, app(0, "gen_ai.response.id"))
	assert.NotEqual(t, resp, JoinKey{Kind: ByResponse, Hash: HashValue("m-43")}.DedupeScope("gen_ai.response.id"))
}

// TestConversationStatsSaturate: sums of absurd token counts stop at the
// largest int64 rather than turning negative.
func TestConversationStatsSaturate(t *testing.T) {
	s := ConversationStats{Completions: 1, InputTokens: math.MaxInt64 - 1, OutputTokens: 5}
	s.Add(ConversationStats{Completions: 1, InputTokens: 5e18, OutputTokens: 7})
	assert.Equal(t, ConversationStats{Completions: 2, InputTokens: math.MaxInt64, OutputTokens: 12}, s)
}
