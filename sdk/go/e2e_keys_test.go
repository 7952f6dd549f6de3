package llmfeedback_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	llmfeedback "github.com/llm-feedback/llmfeedbackprocessor/sdk/go"
)

// completionSpec is one completion span the test makes.
type completionSpec struct {
	model   string
	in, out int
}

var (
	earlierTurn = completionSpec{"gpt-4o-mini", 5, 3}
	rated       = completionSpec{"gpt-4o", 12, 7}
	laterTurn   = completionSpec{"o3-mini", 30, 40}
)

// start starts the completion span at at, carrying the app's attributes.
func (c completionSpec) start(tp *sdktrace.TracerProvider, at time.Time, attrs ...attribute.KeyValue) trace.Span {
	_, span := tp.Tracer("chat-api").Start(context.Background(), "chat "+c.model,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(at),
		trace.WithAttributes(append(attrs,
			attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", c.model),
			attribute.Int("gen_ai.usage.input_tokens", c.in),
			attribute.Int("gen_ai.usage.output_tokens", c.out),
		)...))
	return span
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// TestEndToEndByKey records feedback that names its completion by response
// id, app key or conversation, never by trace id, through the real OTel Go
// SDK into the collector $OTELCOL_BIN, and checks that the collector joined it
// to the right completion and wrote that completion's trace onto the record.
//
// Spans first: another completion is exported with the rated one: for the
// response id and the app key one with another value, for the conversation an
// earlier turn of the same conversation. Feedback first: the record is held,
// then the rated completion arrives together with, for the conversation, a
// turn that ended after the feedback, which must not be picked.
func TestEndToEndByKey(t *testing.T) {
	col := startCollector(t, "30s")
	ctx := context.Background()
	tp, lp := otlpProviders(t, col.httpPort)

	type recordBy func(value string, opts ...llmfeedback.Option) error
	byKey := []struct {
		name, joinKey string
		newValue      func() string
		spanAttr      func(value string) attribute.KeyValue
		record        recordBy
		conversation  bool
	}{
		{
			name: "response id", joinKey: "gen_ai.response.id",
			newValue: func() string { return "chatcmpl-" + randomHex(t, 12) },
			spanAttr: func(v string) attribute.KeyValue { return attribute.String("gen_ai.response.id", v) },
			record: func(v string, opts ...llmfeedback.Option) error {
				return llmfeedback.RecordResponse(ctx, v, "Good", opts...)
			},
		},
		{
			name: "app key", joinKey: "app.message_id",
			newValue: func() string { return "msg-" + randomHex(t, 8) },
			spanAttr: func(v string) attribute.KeyValue { return attribute.String("app.message_id", v) },
			record: func(v string, opts ...llmfeedback.Option) error {
				return llmfeedback.RecordKey(ctx, "app.message_id", v, "Good", opts...)
			},
		},
		{
			name: "conversation", joinKey: "gen_ai.conversation.id", conversation: true,
			newValue: func() string { return "conv-" + randomHex(t, 8) },
			spanAttr: func(v string) attribute.KeyValue { return attribute.String("gen_ai.conversation.id", v) },
			record: func(v string, opts ...llmfeedback.Option) error {
				return llmfeedback.RecordConversation(ctx, v, "Good", opts...)
			},
		},
	}
	for _, key := range byKey {
		for _, feedbackFirst := range []bool{false, true} {
			name := key.name + "/spans first"
			if feedbackFirst {
				name = key.name + "/feedback first"
			}
			t.Run(name, func(t *testing.T) {
				value, feedbackID := key.newValue(), "fb-"+randomHex(t, 8)
				base := time.Now().Add(-10 * time.Second)
				otherValue := key.newValue()
				if key.conversation {
					otherValue = value // another turn of the same conversation
				}
				recordFeedback := func() {
					// ctx carries no span here; TestRecordByKeyEmits covers one
					// that does.
					require.NoError(t, key.record(value, llmfeedback.WithFeedbackID(feedbackID),
						llmfeedback.WithMessage(name), llmfeedback.WithLoggerProvider(lp)))
					require.NoError(t, lp.ForceFlush(ctx))
				}

				target := rated.start(tp, base.Add(2*time.Second), key.spanAttr(value))
				var other trace.Span
				wantCompletions := int64(1)
				if !feedbackFirst {
					other = earlierTurn.start(tp, base, key.spanAttr(otherValue))
					other.End(trace.WithTimestamp(base.Add(time.Second)))
					target.End(trace.WithTimestamp(base.Add(3 * time.Second)))
					require.NoError(t, tp.ForceFlush(ctx))
					recordFeedback()
					if key.conversation {
						wantCompletions = 2
					}
				} else {
					pendingBefore := col.metric(t, "otelcol_processor_llm_feedback_pending_records")
					recordFeedback()
					require.EventuallyWithT(t, func(c *assert.CollectT) {
						assert.Equal(c, pendingBefore+1, col.metric(c, "otelcol_processor_llm_feedback_pending_records"))
					}, 10*time.Second, 50*time.Millisecond, "the feedback waits for its completion")
					if key.conversation {
						// The next turn, ended after the feedback: not the answer rated.
						other = laterTurn.start(tp, base.Add(4*time.Second), key.spanAttr(value))
					} else {
						other = earlierTurn.start(tp, base, key.spanAttr(otherValue))
					}
					target.End(trace.WithTimestamp(base.Add(3 * time.Second)))
					other.End()
					require.NoError(t, tp.ForceFlush(ctx))
				}

				rec := feedbackByID(t, col, feedbackID)
				a := rec.Attrs
				want := target.SpanContext()
				assert.NotEqual(t, want.TraceID(), other.SpanContext().TraceID(), "the completions are in different traces")
				assert.Equal(t, "matched", a["llm.feedback.correlation"], "attrs: %v", a)
				assert.Equal(t, key.joinKey, a["llm.feedback.join_key"])
				assert.Equal(t, want.TraceID().String(), a["trace_id"], "the completion's trace id, which the app never sent")
				assert.Equal(t, want.TraceID().String(), rec.TraceID)
				assert.Equal(t, want.SpanID().String(), rec.SpanID)
				assert.Equal(t, want.SpanID().String(), a["span_id"])
				assert.Equal(t, rated.model, a["gen_ai.request.model"])
				assert.Equal(t, int64(rated.in), a["gen_ai.usage.input_tokens"])
				assert.Equal(t, int64(rated.out), a["gen_ai.usage.output_tokens"])
				assert.Equal(t, "Good", a["rating"])
				assert.Equal(t, name, a["message"])
				assert.Equal(t, "Go", a["ingest_source"])
				assert.Equal(t, value, a[string(key.spanAttr(value).Key)], "the key as sent")
				if key.conversation {
					assert.Equal(t, wantCompletions, a["llm.conversation.completions"], "turns up to the rated one")
					in, out := int64(rated.in), int64(rated.out)
					if wantCompletions == 2 {
						in, out = in+int64(earlierTurn.in), out+int64(earlierTurn.out)
					}
					assert.Equal(t, in, a["llm.conversation.usage.input_tokens"])
					assert.Equal(t, out, a["llm.conversation.usage.output_tokens"])
				} else {
					assert.NotContains(t, a, "llm.conversation.completions")
				}
			})
		}
	}
}

// TestEndToEndByKeyNotFound: a response id no completion has comes out
// unmatched after pending::ttl, still without a trace; a key the collector
// does not list in join::keys leaves the record nothing to join by.
func TestEndToEndByKeyNotFound(t *testing.T) {
	col := startCollector(t, "1s")
	ctx := context.Background()
	_, lp := otlpProviders(t, col.httpPort)

	require.NoError(t, llmfeedback.RecordResponse(ctx, "chatcmpl-never-seen", "Bad",
		llmfeedback.WithFeedbackID("fb-unseen"), llmfeedback.WithLoggerProvider(lp)))
	require.NoError(t, llmfeedback.RecordKey(ctx, "app.ticket_id", "T-1", "Bad",
		llmfeedback.WithFeedbackID("fb-unlisted"), llmfeedback.WithLoggerProvider(lp)))
	require.NoError(t, lp.ForceFlush(ctx))

	unseen := feedbackByID(t, col, "fb-unseen")
	assert.Equal(t, "unmatched", unseen.Attrs["llm.feedback.correlation"], "attrs: %v", unseen.Attrs)
	assert.Equal(t, "gen_ai.response.id", unseen.Attrs["llm.feedback.join_key"], "what was looked for")
	assert.NotContains(t, unseen.Attrs, "trace_id")
	assert.Empty(t, unseen.TraceID, "no trace of its own, and none found")

	unlisted := feedbackByID(t, col, "fb-unlisted")
	assert.Equal(t, "invalid", unlisted.Attrs["llm.feedback.correlation"], "attrs: %v", unlisted.Attrs)
	assert.Contains(t, unlisted.Attrs["llm.feedback.error"], "app.message_id", "the error names the keys it could have carried")
	assert.Equal(t, "T-1", unlisted.Attrs["app.ticket_id"])
}

// feedbackByID waits until the collector exported exactly one feedback
// record with id, and returns it.
func feedbackByID(t *testing.T, col *collector, id string) record {
	t.Helper()
	var rec record
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var found []record
		for _, r := range col.sink.records(c) {
			if r.EventName == llmfeedback.EventName && r.Attrs["id"] == id {
				found = append(found, r)
			}
		}
		require.Len(c, found, 1)
		rec = found[0]
	}, 20*time.Second, 50*time.Millisecond)
	return rec
}
