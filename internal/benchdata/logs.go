package benchdata

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FeedbackEvent is the event name apps give feedback records.
const FeedbackEvent = "LlmFeedbackMessage"

// Feedback returns one feedback record about each completion, in the shape
// of New Relic's record_llm_feedback_event sent as an OpenTelemetry event:
// a uuid id, trace_id as 32 lowercase hex digits, a rating ("Good"/"Bad" or
// 1 to 10), often a category and a message, ingest_source, and a metadata
// map of 2 to 5 keys. Most records name the event in EventName, one in five
// only in the event.name attribute, as older SDKs do. Each record carries
// the trace context of the request that sent it, not of the completion.
// Records are split over the two feedback services. It returns the ids, in
// the order of about.
func (g *Gen) Feedback(about []Completion, at time.Time) (plog.Logs, []string) {
	ld := plog.NewLogs()
	ids := make([]string, len(about))
	var lrs [2]plog.LogRecordSlice
	for i, c := range about {
		svc := g.r.IntN(len(feedbackServices))
		if lrs[svc] == (plog.LogRecordSlice{}) {
			rl := ld.ResourceLogs().AppendEmpty()
			s := feedbackServices[svc]
			m := rl.Resource().Attributes()
			m.EnsureCapacity(9)
			m.PutStr("service.name", s.name)
			m.PutStr("service.version", s.version)
			m.PutStr("deployment.environment.name", "production")
			m.PutStr("telemetry.sdk.name", "opentelemetry")
			m.PutStr("telemetry.sdk.language", s.lang)
			m.PutStr("telemetry.sdk.version", s.sdk)
			m.PutStr("host.name", s.host)
			m.PutStr("k8s.namespace.name", "shop-prod")
			m.PutInt("process.pid", int64(1+g.r.IntN(60000)))
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(strings.ReplaceAll(s.name, "-", "_") + ".feedback")
			sl.Scope().SetVersion(s.version)
			lrs[svc] = sl.LogRecords()
		}
		ids[i] = g.UUID()
		g.feedbackRecord(lrs[svc].AppendEmpty(), c.TraceID, ids[i], at, feedbackServices[svc].lang)
	}
	return ld, ids
}

func (g *Gen) feedbackRecord(lr plog.LogRecord, trace pcommon.TraceID, id string, at time.Time, lang string) {
	lr.SetTimestamp(pcommon.NewTimestampFromTime(at))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(at.Add(time.Duration(g.r.IntN(50)) * time.Millisecond)))
	lr.SetSeverityNumber(plog.SeverityNumberInfo)
	lr.SetSeverityText("INFO")
	lr.SetTraceID(g.traceID())
	lr.SetSpanID(g.spanID())
	m := lr.Attributes()
	m.EnsureCapacity(8)
	if g.r.IntN(5) == 0 {
		m.PutStr("event.name", FeedbackEvent)
	} else {
		lr.SetEventName(FeedbackEvent)
	}
	m.PutStr("id", id)
	m.PutStr("trace_id", hex.EncodeToString(trace[:]))
	switch x := g.r.IntN(10); {
	case x < 4:
		m.PutStr("rating", "Good")
	case x < 6:
		m.PutStr("rating", "Bad")
	default:
		m.PutInt("rating", int64(1+g.r.IntN(10)))
	}
	if g.r.IntN(10) < 6 {
		m.PutStr("category", categories[g.r.IntN(len(categories))])
	}
	if g.r.IntN(10) < 6 {
		m.PutStr("message", feedbackMessages[g.r.IntN(len(feedbackMessages))])
	}
	if lang == "nodejs" {
		m.PutStr("ingest_source", "Node")
	} else {
		m.PutStr("ingest_source", "Python")
	}
	md := m.PutEmptyMap("metadata")
	n := 2 + g.r.IntN(4)
	md.EnsureCapacity(n)
	md.PutStr("user.id", g.base62("u_", 12))
	md.PutStr("page", pages[g.r.IntN(len(pages))])
	more := []func(){
		func() { md.PutStr("plan", plans[g.r.IntN(len(plans))]) },
		func() { md.PutStr("app.version", "3.8."+strconv.Itoa(g.r.IntN(20))) },
		func() { md.PutStr("locale", "en-US") },
	}
	for _, f := range more[:n-2] {
		f()
	}
}

// Logs returns a batch of n ordinary log records with no feedback among
// them: application logs with a message body, 3 to 10 attributes and, for
// most, the trace context; one in twenty is another named event, and one
// in thirty names another event in the event.name attribute.
func (g *Gen) Logs(n int, at time.Time) plog.Logs {
	ld := plog.NewLogs()
	var lrs []plog.LogRecordSlice
	for i := range traceServices {
		rl := ld.ResourceLogs().AppendEmpty()
		g.resource(rl.Resource().Attributes(), traceServices[i])
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(traceServices[i].name + ".app")
		lrs = append(lrs, sl.LogRecords())
	}
	for i := 0; i < n; i++ {
		lr := lrs[g.r.IntN(len(lrs))].AppendEmpty()
		ts := at.Add(-time.Duration(g.r.Int64N(int64(5 * time.Second))))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Millisecond)))
		switch x := g.r.IntN(100); {
		case x < 70:
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
		case x < 85:
			lr.SetSeverityNumber(plog.SeverityNumberDebug)
			lr.SetSeverityText("DEBUG")
		case x < 95:
			lr.SetSeverityNumber(plog.SeverityNumberWarn)
			lr.SetSeverityText("WARN")
		default:
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
		}
		if g.r.IntN(10) < 6 {
			lr.SetTraceID(g.traceID())
			lr.SetSpanID(g.spanID())
		}
		lr.Body().SetStr(logMessages[g.r.IntN(len(logMessages))])
		m := lr.Attributes()
		na := 3 + g.r.IntN(8)
		m.EnsureCapacity(na + 1)
		switch x := g.r.IntN(60); {
		case x < 3:
			lr.SetEventName(otherEvents[g.r.IntN(len(otherEvents))])
		case x < 5:
			m.PutStr("event.name", otherEvents[g.r.IntN(len(otherEvents))])
		}
		all := []func(){
			func() { m.PutStr("code.function.name", codeFunctions[g.r.IntN(len(codeFunctions))]) },
			func() { m.PutStr("code.file.path", "/app/src/handlers/orders.py") },
			func() { m.PutInt("code.line.number", int64(1+g.r.IntN(800))) },
			func() { m.PutStr("thread.name", "worker-"+strconv.Itoa(g.r.IntN(16))) },
			func() { m.PutInt("thread.id", int64(1+g.r.IntN(64))) },
			func() { m.PutStr("http.route", httpRoutes[g.r.IntN(len(httpRoutes))]) },
			func() { m.PutStr("user.id", g.base62("u_", 12)) },
			func() { m.PutStr("order.id", strconv.Itoa(g.r.IntN(10_000_000))) },
			func() { m.PutStr("tenant.id", "acme-eu") },
			func() { m.PutStr("log.iostream", "stdout") },
		}
		for _, f := range all[:na] {
			f()
		}
	}
	return ld
}
