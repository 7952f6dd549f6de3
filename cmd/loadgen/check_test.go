package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The join check passes only feedback joined to the completion that ended
// last in its trace; a join to another completion of the trace fails the run.
func TestCheckFeedbackJoin(t *testing.T) {
	trace := pcommon.TraceID{1}
	latest, other := pcommon.SpanID{2}, pcommon.SpanID{3}
	sent := map[string]sentFeedback{"fb-1": {trace: trace, span: latest, others: []pcommon.SpanID{other}, before: true}}
	for _, tc := range []struct {
		name       string
		trace      pcommon.TraceID
		span       pcommon.SpanID
		copies     int
		corr       string
		wantOK     bool
		wantJoined int
		notLatest  [2]int
	}{
		{name: "latest", trace: trace, span: latest, copies: 1, corr: "matched", wantOK: true, wantJoined: 1},
		{name: "not_latest", trace: trace, span: other, copies: 1, corr: "matched", notLatest: [2]int{0, 1}},
		{name: "unmatched", trace: trace, span: latest, copies: 1, corr: "unmatched"},
		{name: "other_trace", trace: pcommon.TraceID{9}, span: latest, copies: 1, corr: "matched"},
		{name: "twice", trace: trace, span: latest, copies: 2, corr: "matched"},
		{name: "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chk := checkOutput(t, sent, tc.copies, joinedRecord("fb-1", tc.trace, tc.span, tc.corr))
			if got := (result{fb: chk}).ok(); got != tc.wantOK {
				t.Errorf("ok = %v, want %v (%+v)", got, tc.wantOK, chk)
			}
			if chk.joined != tc.wantJoined || chk.notLatest != tc.notLatest {
				t.Errorf("joined %d, notLatest %v; want %d, %v", chk.joined, chk.notLatest, tc.wantJoined, tc.notLatest)
			}
		})
	}
}

// checkOutput checks sent against copies of out, written as the file
// exporter writes them, with llm_feedback in the pipeline.
func checkOutput(t *testing.T, sent map[string]sentFeedback, copies int, out plog.Logs) feedbackCheck {
	t.Helper()
	line, err := (&plog.JSONMarshaler{}).MarshalLogs(out)
	if err != nil {
		t.Fatal(err)
	}
	var lines []byte
	for range copies {
		lines = append(append(lines, line...), '\n')
	}
	path := filepath.Join(t.TempDir(), "feedback.jsonl")
	if err := os.WriteFile(path, lines, 0o600); err != nil {
		t.Fatal(err)
	}
	chk, err := checkFeedback(path, sent, true)
	if err != nil {
		t.Fatal(err)
	}
	return chk
}

// joinedRecord is feedback as llm_feedback writes it out.
func joinedRecord(id string, trace pcommon.TraceID, span pcommon.SpanID, corr string) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("LlmFeedbackMessage")
	lr.SetTraceID(trace)
	lr.SetSpanID(span)
	lr.Attributes().PutStr("id", id)
	lr.Attributes().PutStr("llm.feedback.correlation", corr)
	lr.Attributes().PutStr("span_id", hex.EncodeToString(span[:]))
	return ld
}

// A record whose export failed may or may not have been taken: it may come
// out once or not at all, never twice.
func TestCheckFeedbackUncertain(t *testing.T) {
	trace, span := pcommon.TraceID{1}, pcommon.SpanID{2}
	sent := map[string]sentFeedback{"fb-1": {trace: trace, span: span, uncertain: true}, "fb-2": {trace: trace, span: span}}
	chk := checkOutput(t, sent, 1, joinedRecord("fb-2", trace, span, "matched"))
	if !(result{fb: chk}).ok() || chk.sent != 1 || chk.notTaken != 1 {
		t.Errorf("not taken must not count as missing: %+v", chk)
	}
}

// Feedback sent before a span batch whose export failed comes out once,
// unmatched, and passes; once is still required.
func TestCheckFeedbackSpanFailed(t *testing.T) {
	trace, span := pcommon.TraceID{1}, pcommon.SpanID{2}
	sent := map[string]sentFeedback{"fb-1": {trace: trace, span: span, before: true, spanFailed: true}}
	for copies, wantOK := range map[int]bool{0: false, 1: true, 2: false} {
		chk := checkOutput(t, sent, copies, joinedRecord("fb-1", trace, pcommon.SpanID{}, "unmatched"))
		if got := (result{fb: chk}).ok(); got != wantOK {
			t.Errorf("%d copies: ok = %v, want %v (%+v)", copies, got, wantOK, chk)
		}
	}
}
