package llmfeedbackprocessor

import (
	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/lbkey"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/store"
)

// Route mode, for a routing tier in front of several joining collectors:
// each feedback record is addressed to the trace of its completion, so that
// a trace-id load balancer sends it where that completion's spans went.
//
// A record that names its trace is addressed at once. One that names its
// completion by another key (response id, app key, conversation) is looked
// up in the router's own cache of the completions that passed through it;
// the record then carries the completion's trace_id and span_id, so the
// backend joins exactly that completion, and llm.feedback.join_key (with,
// for a conversation, the llm.conversation.* sums the router computed). A
// record whose completion has not passed yet waits in the pending store, as
// in join mode, and is addressed when it does; past pending::ttl it goes on
// unaddressed, for the backend to mark unmatched. A record whose id was
// addressed before, within feedback::dedupe_ttl, goes where it went then
// (store.Routed): the backend that took the first try drops the retry.
//
// A record passed on unaddressed (past pending::ttl, with the pending
// store full, at shutdown, or that could not be encoded to be held)
// carries a routing key made of its id as its TraceID (lbkey.RoutingKey),
// so that every try of it lands on the same backend, whatever TraceID of
// its own each try had; the window remembers it, and a retry that comes
// after its completion passed goes on unaddressed too, to that backend,
// rather than addressed to another. The backend drops the routing key from
// what it emits. The window is asked before the cache: a retry of an id
// addressed before goes there even when the cache has since lost the
// completion.
//
// What the window learns of a batch stays when the next consumer refuses
// the batch: the load balancer may have delivered part of it before it
// failed, and the retry must go where those records went.

// routeFeedback addresses one feedback record, or holds it back.
func (c *correlator) routeFeedback(rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord, b *logsBatch) outcome {
	f := c.keys.Parse(lr)
	if !f.Valid() {
		return passOn // the joining tier marks it invalid
	}
	if f.Key.Kind == store.ByTrace {
		c.address(lr, f.TraceID, f.SpanID)
		b.counts.addressed++
		return passOn
	}
	if f.ID == "" {
		// From the record as it came: addressing rewrites it, and a
		// retry of it, which the route window knows by its id, comes as
		// it came too.
		f.ID = feedback.DeriveID(lr)
	}
	now := c.now().UnixNano()
	q := queryOf(&f, now)
	scope := q.Key.DedupeScope(f.Key.Name)
	// The route window first: a retry goes where its first try went, also
	// once the cache has let the completion go.
	var m store.Match
	found := c.routeKnown(scope, f.ID)
	if !found {
		m, found = c.cache.find(q)
	}
	held := int(c.waiting.Load())
	switch {
	case found:
		b.countRouted(c.route(lr, &f, scope, &m), &b.counts.retries)
		return passOn
	case c.stopping.Load():
		b.countRouted(c.route(lr, &f, scope, &m), &b.counts.stopping)
		return passOn
	case held+c.emitter.queued()+len(b.hold) >= c.cfg.Pending.MaxRecords:
		b.countRouted(c.route(lr, &f, scope, &m), &b.counts.overflow)
		return passOn
	}
	data, err := encodeRecord(rl, sl, lr)
	if err != nil {
		// Cannot happen for a record that came in as pdata; on it goes
		// rather than lost.
		c.logger.Error("cannot encode feedback to hold it; passing it on unaddressed", zap.Error(err))
		b.countRouted(c.route(lr, &f, scope, &m), &b.counts.overflow)
		return passOn
	}
	b.hold = append(b.hold, c.pendingRecord(&f, &q, scope, now, data))
	return takeOut
}

// countRouted counts a record the router passed on: as addressed, or under
// unaddressed (the reason it went on without an address).
func (b *logsBatch) countRouted(addressed bool, unaddressed *int64) {
	if addressed {
		b.counts.addressed++
	} else {
		(*unaddressed)++
	}
}

// route addresses lr to the completion m, or, when the route window knows
// lr's id, where its first try went. With neither (m is the zero Match: no
// completion found), lr goes on unaddressed, with the routing key of its
// id as its TraceID, and the window remembers that it went so. It reports
// whether lr was addressed.
func (c *correlator) route(lr plog.LogRecord, f *feedback.Feedback, scope pcommon.TraceID, m *store.Match) bool {
	c.routedMu.Lock()
	to, addressed := c.routed.Stick(scope, f.ID, *m, c.now().UnixNano())
	c.routedMu.Unlock()
	c.version.Add(1) // the route window is saved with the cache
	if !addressed {
		setRoutingKey(lr, scope, f.ID)
		return false
	}
	c.address(lr, to.Trace, to.Comp.SpanID)
	attrs := lr.Attributes()
	attrs.PutStr(feedback.AttrSpanID, to.Comp.SpanID.String())
	attrs.PutStr(attrJoinKey, f.Key.Name)
	if f.Key.Kind == store.ByConversation {
		attrs.PutInt(attrConvCompletions, to.Conversation.Completions)
		attrs.PutInt(attrConvInputTokens, to.Conversation.InputTokens)
		attrs.PutInt(attrConvOutputTokens, to.Conversation.OutputTokens)
	}
	return true
}

// routeKnown reports whether the route window knows where a record with id
// went within scope.
func (c *correlator) routeKnown(scope pcommon.TraceID, id string) bool {
	c.routedMu.Lock()
	defer c.routedMu.Unlock()
	return c.routed.Knows(scope, id)
}

// setRoutingKey makes lr's TraceID the routing key of its id within scope.
func setRoutingKey(lr plog.LogRecord, scope pcommon.TraceID, id string) {
	h := xxhash.New()
	_, _ = h.Write(scope[:])
	_, _ = h.WriteString(id)
	lr.SetTraceID(lbkey.RoutingKey(uint32(h.Sum64())))
}

// address writes the completion's trace id in normal form to trace_id, for
// the joining tier, and places the record where a trace-id load balancer
// sends the completion's spans (see RouteConfig).
func (c *correlator) address(lr plog.LogRecord, trace pcommon.TraceID, span pcommon.SpanID) {
	lr.Attributes().PutStr(feedback.AttrTraceID, trace.String())
	id := trace
	if s := lbkey.StandIn(trace); c.cfg.Route.RecordTraceID == RouteStandIn && !s.IsEmpty() {
		id = s
	}
	lr.SetTraceID(id)
	lr.SetSpanID(span)
}
