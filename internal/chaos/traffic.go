package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

const (
	feedbackEvent = "LlmFeedbackMessage"
	// tokenPrefix starts the message of every feedback record sent; the rest
	// of the message is the token that names the record, with or without id.
	tokenPrefix = "chaos "
)

// conversation is one completion and the feedback on it.
type conversation struct {
	token         string
	id            string // the feedback's id attribute; "" when sent without
	trace         pcommon.TraceID
	span          pcommon.SpanID
	feedbackFirst bool // sent before its completion: held back by llm_feedback
}

// sentRecord is what the client knows of a feedback record the collector
// accepted.
type sentRecord struct {
	ID      string // "" when sent without id
	TraceID string
	SpanID  string
}

// ledger is what the clients had accepted.
type ledger struct {
	mu           sync.Mutex
	sent         map[string]sentRecord
	unacked      int // feedback in batches never accepted
	notRetryable []string
}

func (l *ledger) accepted(convs []conversation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range convs {
		l.sent[c.token] = sentRecord{ID: c.id, TraceID: c.trace.String(), SpanID: c.span.String()}
	}
}

func (l *ledger) failed(convs []conversation, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unacked += len(convs)
	if len(l.notRetryable) < 10 {
		l.notRetryable = append(l.notRetryable, err.Error())
	}
}

func (l *ledger) tokens() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.sent))
	for t := range l.sent {
		out = append(out, t)
	}
	return out
}

// worker is one app instance: every tick it starts a few conversations and
// sends, in order, a traces batch and then a logs batch:
//
//	traces: completions of this tick's span-first conversations,
//	        completions of last tick's feedback-first conversations, other spans
//	logs:   feedback of last tick's span-first conversations,
//	        feedback of this tick's feedback-first conversations, an app log
//
// so a logs batch mixes feedback joined at once, feedback held back, and
// records that go straight on: a refusal of the batch after some of it was
// held is the case a retry must not duplicate.
type worker struct {
	n        int
	rng      *rand.Rand
	client   *client
	ledger   *ledger
	perTick  int
	tick     time.Duration
	seq      int
	dueSpans []conversation // feedback sent, completion due next tick
	dueFeed  []conversation // completion sent, feedback due next tick
}

func (w *worker) run(ctx, sendCtx context.Context) error {
	next := time.Now()
	for ctx.Err() == nil {
		if err := w.step(sendCtx, w.perTick); err != nil {
			return err
		}
		next = next.Add(w.tick)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)):
		}
	}
	// Send what is due, start nothing new.
	return w.step(sendCtx, 0)
}

func (w *worker) step(ctx context.Context, fresh int) error {
	var spanFirst, feedbackFirst []conversation
	for range fresh {
		c := w.conversation()
		if c.feedbackFirst {
			feedbackFirst = append(feedbackFirst, c)
		} else {
			spanFirst = append(spanFirst, c)
		}
	}
	spans := append(append([]conversation{}, spanFirst...), w.dueSpans...)
	feed := append(append([]conversation{}, w.dueFeed...), feedbackFirst...)
	if len(spans) > 0 {
		body, err := ptraceotlp.NewExportRequestFromTraces(w.traces(spans)).MarshalProto()
		if err != nil {
			return err
		}
		if err := w.client.send(ctx, "/v1/traces", body); err != nil {
			return err
		}
	}
	if len(feed) > 0 {
		body, err := plogotlp.NewExportRequestFromLogs(w.logs(feed)).MarshalProto()
		if err != nil {
			return err
		}
		switch err := w.client.send(ctx, "/v1/logs", body); {
		case err == nil:
			w.ledger.accepted(feed)
		case ctx.Err() == nil:
			w.ledger.failed(feed, err) // an answer an SDK drops the batch on
		default:
			return err
		}
	}
	w.dueSpans, w.dueFeed = feedbackFirst, spanFirst
	return nil
}

func (w *worker) conversation() conversation {
	w.seq++
	c := conversation{token: fmt.Sprintf("w%d-%06d", w.n, w.seq), feedbackFirst: w.rng.IntN(10) < 3}
	if w.rng.IntN(2) == 0 {
		c.id = "fb-" + c.token
	}
	w.fill(c.trace[:])
	w.fill(c.span[:])
	return c
}

// fill writes random bytes into b (ids from the seeded generator, so a run
// can be repeated).
func (w *worker) fill(b []byte) {
	for i := range b {
		b[i] = byte(w.rng.Uint32())
	}
}

func (w *worker) traces(convs []conversation) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "chaos-chat-api")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	end := time.Now()
	for _, c := range convs {
		var server pcommon.SpanID
		w.fill(server[:])
		s := spans.AppendEmpty()
		s.SetTraceID(c.trace)
		s.SetSpanID(server)
		s.SetName("POST /chat")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-time.Second)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		s.Attributes().PutStr("http.request.method", "POST")
		s.Attributes().PutInt("http.response.status_code", 200)

		s = spans.AppendEmpty()
		s.SetTraceID(c.trace)
		s.SetSpanID(c.span)
		s.SetParentSpanID(server)
		s.SetName("chat gpt-4o")
		s.SetKind(ptrace.SpanKindClient)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-800 * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end.Add(-10 * time.Millisecond)))
		s.Attributes().PutStr("gen_ai.operation.name", "chat")
		s.Attributes().PutStr("gen_ai.provider.name", "openai")
		s.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		s.Attributes().PutInt("gen_ai.usage.input_tokens", int64(10+w.rng.IntN(500)))
		s.Attributes().PutInt("gen_ai.usage.output_tokens", int64(10+w.rng.IntN(500)))
	}
	return td
}

func (w *worker) logs(convs []conversation) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "chaos-chat-ui")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, c := range convs {
		lr := lrs.AppendEmpty()
		lr.SetEventName(feedbackEvent)
		lr.SetTimestamp(now)
		lr.SetObservedTimestamp(now)
		// The click's own request, not the completion's.
		var click pcommon.TraceID
		w.fill(click[:])
		lr.SetTraceID(click)
		a := lr.Attributes()
		a.PutStr("trace_id", c.trace.String())
		a.PutStr("rating", []string{"Good", "Bad"}[w.rng.IntN(2)])
		a.PutStr("message", tokenPrefix+c.token)
		if c.id != "" {
			a.PutStr("id", c.id)
		}
	}
	app := lrs.AppendEmpty()
	app.SetTimestamp(now)
	app.Body().SetStr("GET /feedback 204")
	return ld
}
