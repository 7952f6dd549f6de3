package llmfeedback_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

// recordFunc is one of the ways to name a completion, with the rating and
// options still to give.
type recordFunc func(ctx context.Context, rating any, opts ...llmfeedback.Option) error

func byResponse(id string) recordFunc {
	return func(ctx context.Context, rating any, opts ...llmfeedback.Option) error {
		return llmfeedback.RecordResponse(ctx, id, rating, opts...)
	}
}

func byKey(key, value string) recordFunc {
	return func(ctx context.Context, rating any, opts ...llmfeedback.Option) error {
		return llmfeedback.RecordKey(ctx, key, value, rating, opts...)
	}
}

func byConversation(id string) recordFunc {
	return func(ctx context.Context, rating any, opts ...llmfeedback.Option) error {
		return llmfeedback.RecordConversation(ctx, id, rating, opts...)
	}
}

func TestRecordByKeyRefusesBadArguments(t *testing.T) {
	long := strings.Repeat("x", 257)
	spanOpt := []llmfeedback.Option{llmfeedback.WithSpanID(spanHex)}
	respOpt := []llmfeedback.Option{llmfeedback.WithResponseID("chatcmpl-1")}
	tests := []struct {
		name    string
		record  recordFunc
		rating  any
		opts    []llmfeedback.Option
		wantErr string
	}{
		{"empty response id", byResponse(""), "Good", nil, "response id is empty; expected the id the provider returned"},
		{"blank response id", byResponse(" \t"), "Good", nil, "response id is empty"},
		{"long response id", byResponse(long), "Good", nil, "response id is 257 bytes long; at most 256"},
		{"response with span id", byResponse("chatcmpl-1"), "Good", spanOpt, "WithSpanID selects a completion inside a trace, and RecordResponse names none"},
		{"response with response id", byResponse("chatcmpl-1"), "Good", respOpt, "WithResponseID selects a completion inside a trace, and RecordResponse names none"},
		{"response nil rating", byResponse("chatcmpl-1"), nil, nil, "rating is nil"},
		{"response map rating", byResponse("chatcmpl-1"), map[string]int{}, nil, "rating is a map[string]int; expected"},

		{"empty key name", byKey("", "m-1"), "Good", nil, "key name is empty; expected an attribute name listed in the processor's join::keys"},
		{"blank key name", byKey("  ", "m-1"), "Good", nil, "key name is empty"},
		{"key name with spaces", byKey(" app.message_id", "m-1"), "Good", nil, `key name " app.message_id" has leading or trailing spaces`},
		{"key trace_id", byKey("trace_id", traceHex), "Good", nil, `key name "trace_id" is a built-in feedback attribute (use Record)`},
		{"key span_id", byKey("span_id", spanHex), "Good", nil, `key name "span_id" is a built-in feedback attribute (use Record with WithSpanID)`},
		{"key response id", byKey("gen_ai.response.id", "chatcmpl-1"), "Good", nil, `key name "gen_ai.response.id" is a built-in feedback attribute (use RecordResponse)`},
		{"key conversation id", byKey("gen_ai.conversation.id", "c-1"), "Good", nil, `(use RecordConversation)`},
		{"key session id", byKey("session.id", "c-1"), "Good", nil, `key name "session.id" is a built-in feedback attribute (use RecordConversation)`},
		{"key rating", byKey("rating", "5"), "Good", nil, `key name "rating" is a built-in feedback attribute (it is the rating)`},
		{"key id", byKey("id", "fb-1"), "Good", nil, `(use WithFeedbackID)`},
		{"key metadata", byKey("metadata", "x"), "Good", nil, `(use WithMetadata)`},
		{"key ingest_source", byKey("ingest_source", "Go"), "Good", nil, `key name "ingest_source" is a built-in`},
		{"key event name", byKey("newrelic.event.type", "LlmFeedbackMessage"), "Good", nil, "it marks the record as feedback"},
		{"key written by the processor", byKey("llm.feedback.join_key", "x"), "Good", nil, `key name "llm.feedback.join_key" is written by the processor (llm.feedback.*)`},
		{"key of the conversation's sums", byKey("llm.conversation.completions", "x"), "Good", nil, `key name "llm.conversation.completions" is written by the processor (llm.conversation.*)`},
		{"key of the completion's service", byKey("llm.completion.service.name", "x"), "Good", nil, `(llm.completion.*)`},
		{"key completion field", byKey("gen_ai.request.model", "gpt-4o"), "Good", nil, `key name "gen_ai.request.model" is a built-in feedback attribute (the processor writes it on its output)`},
		{"key duration", byKey("duration", "12"), "Good", nil, `(the processor writes it on its output)`},
		{"empty key value", byKey("app.message_id", ""), "Good", nil, `value of key "app.message_id" is empty; expected the value the app set on the completion span`},
		{"blank key value", byKey("app.message_id", "   "), "Good", nil, `value of key "app.message_id" is empty`},
		{"long key value", byKey("app.message_id", long), "Good", nil, `value of key "app.message_id" is 257 bytes long; at most 256`},
		{"key with span id", byKey("app.message_id", "m-1"), "Good", spanOpt, "and RecordKey names none"},
		{"key with response id", byKey("app.message_id", "m-1"), "Good", respOpt, "WithResponseID selects a completion inside a trace, and RecordKey names none"},
		{"key empty rating", byKey("app.message_id", "m-1"), "", nil, "rating is an empty string"},

		{"empty conversation id", byConversation(""), "Good", nil, "conversation id is empty; expected the gen_ai.conversation.id the app sets"},
		{"long conversation id", byConversation(long), "Good", nil, "conversation id is 257 bytes long; at most 256"},
		{"conversation with span id", byConversation("c-1"), "Good", spanOpt, "and RecordConversation names none"},
		{"conversation with response id", byConversation("c-1"), "Good", respOpt, "and RecordConversation names none"},
		{"conversation nil rating", byConversation("c-1"), nil, nil, "rating is nil"},
		{"conversation long feedback id", byConversation("c-1"), "Good",
			[]llmfeedback.Option{llmfeedback.WithFeedbackID(long)}, "feedback id is 257 bytes long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := newProvider(t)
			opts := append([]llmfeedback.Option{llmfeedback.WithLoggerProvider(lp)}, tt.opts...)
			err := tt.record(context.Background(), tt.rating, opts...)
			require.Error(t, err)
			assert.ErrorContains(t, err, tt.wantErr)
			assert.ErrorContains(t, err, "llmfeedback: invalid argument: ")
			assert.True(t, errors.Is(err, llmfeedback.ErrInvalidArgument))
			assert.Empty(t, exp.Records(), "nothing is emitted for a refused call")
		})
	}
}

// TestRecordByKeyEmits: a record that names its completion by anything but
// the trace id carries that key, no trace_id, and no trace of its own, even
// when ctx carries the feedback request's span.
func TestRecordByKeyEmits(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	requestCtx, span := tp.Tracer("test").Start(context.Background(), "POST /feedback")
	defer span.End()
	require.True(t, span.SpanContext().IsValid())

	tests := []struct {
		name   string
		record recordFunc
		rating any
		opts   []llmfeedback.Option
		want   map[string]any
	}{
		{
			name: "response id", record: byResponse("chatcmpl-AbC123"), rating: "Good",
			want: map[string]any{"gen_ai.response.id": "chatcmpl-AbC123", "rating": "Good", "ingest_source": "Go"},
		},
		{
			name: "response id kept as given", record: byResponse(" msg_01XyZ "), rating: 1,
			want: map[string]any{"gen_ai.response.id": " msg_01XyZ ", "rating": int64(1), "ingest_source": "Go"},
		},
		{
			name: "app key", record: byKey("app.message_id", "m-42"), rating: "Bad",
			opts: []llmfeedback.Option{
				llmfeedback.WithCategory("inaccurate"), llmfeedback.WithMessage("Wrong year"),
				llmfeedback.WithFeedbackID("fb-1"), llmfeedback.WithMetadata(map[string]any{"user.tier": "pro"}),
			},
			want: map[string]any{
				"app.message_id": "m-42", "rating": "Bad", "category": "inaccurate", "message": "Wrong year",
				"id": "fb-1", "metadata": map[string]any{"user.tier": "pro"}, "ingest_source": "Go",
			},
		},
		{
			name: "app key with an integer value", record: byKey("message_seq", "1234"), rating: 0.5,
			want: map[string]any{"message_seq": "1234", "rating": 0.5, "ingest_source": "Go"},
		},
		{
			name: "conversation", record: byConversation("conv-7"), rating: true,
			opts: []llmfeedback.Option{llmfeedback.WithSpanID(""), llmfeedback.WithResponseID("")},
			want: map[string]any{"gen_ai.conversation.id": "conv-7", "rating": true, "ingest_source": "Go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp, exp := newProvider(t)
			opts := append([]llmfeedback.Option{llmfeedback.WithLoggerProvider(lp)}, tt.opts...)
			require.NoError(t, tt.record(requestCtx, tt.rating, opts...))

			recs := exp.Records()
			require.Len(t, recs, 1)
			r := recs[0]
			assert.Equal(t, "LlmFeedbackMessage", r.EventName())
			assert.Equal(t, tt.want, attrs(r))
			assert.Equal(t, trace.TraceID{}, r.TraceID(), "not placed in the feedback request's trace, nor any other")
			assert.Equal(t, trace.SpanID{}, r.SpanID())
			assert.False(t, r.Timestamp().IsZero(), "the processor picks a conversation's turn by it")
		})
	}
}

// TestRecordByKeyNilContext: like Record, the key forms accept a nil ctx.
func TestRecordByKeyNilContext(t *testing.T) {
	lp, exp := newProvider(t)
	//lint:ignore SA1012 the key forms accept a nil ctx, as Record does: this is what is tested
	require.NoError(t, llmfeedback.RecordResponse(nil, "chatcmpl-1", "Good", llmfeedback.WithLoggerProvider(lp)))
	require.Len(t, exp.Records(), 1)
}
