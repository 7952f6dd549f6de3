package store

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
	assert.Equal(t, first, r.Stick(scope, "a", first, 0))
	assert.Equal(t, to(1), r.Stick(scope, "a", to(2), 10), "a retry goes where the first try went")
	assert.Equal(t, to(3), r.Stick(pcommon.TraceID{8}, "a", to(3), 10), "the same id in another scope is another record")
	assert.Equal(t, to(4), r.Stick(scope, "b", to(4), 20))
	assert.Equal(t, 2, r.Len())
	assert.Equal(t, 1, evicted, "the bound pushed the oldest out")
	assert.Equal(t, to(5), r.Stick(scope, "a", to(5), 30), "pushed out, a is addressed anew")
	r.Expire(130)
	assert.Equal(t, 0, r.Len(), "past the TTL nothing is kept")
}
