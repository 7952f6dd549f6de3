package benchdata

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/llm-feedback/llmfeedbackprocessor/internal/feedback"
	"github.com/llm-feedback/llmfeedbackprocessor/internal/genai"
)

var at = time.Unix(1_700_000_000, 0)

func eachSpan(td ptrace.Traces, f func(ptrace.Span, pcommon.Resource)) {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				f(spans.At(k), rs.Resource())
			}
		}
	}
}

// The batches must be what the benchmarks claim: exactly the share of
// completions, each recognised by the processor's own detector, and every
// other span with 8 to 15 attributes.
func TestSpansShape(t *testing.T) {
	g := New(1)
	b := g.Spans(1000, 5, at)
	check := func() {
		if n := b.Traces.SpanCount(); n != 1000 {
			t.Fatalf("spans = %d, want 1000", n)
		}
		comps := map[pcommon.SpanID]pcommon.TraceID{}
		eachSpan(b.Traces, func(s ptrace.Span, res pcommon.Resource) {
			if c, ok := genai.FromSpan(s, res, nil); ok {
				comps[s.SpanID()] = s.TraceID()
				if c.RequestModel() == "" || c.Provider() == "" && c.ResponseModel() == "" {
					t.Errorf("completion %s lacks a model: %+v", s.Name(), c)
				}
				if n := s.Attributes().Len(); n < 11 || n > 13 {
					t.Errorf("completion %s has %d attributes", s.Name(), n)
				}
				return
			}
			if n := s.Attributes().Len(); n < 8 || n > 15 {
				t.Errorf("span %s has %d attributes", s.Name(), n)
			}
		})
		if len(comps) != 50 || len(b.Completions) != 50 {
			t.Fatalf("completions = %d detected, %d listed; want 50", len(comps), len(b.Completions))
		}
		for _, c := range b.Completions {
			if comps[c.SpanID] != c.TraceID {
				t.Fatalf("listed completion %v not in the batch", c)
			}
		}
	}
	check()
	before := b.Completions[0].TraceID
	g.Refresh(b, at.Add(time.Minute))
	if b.Completions[0].TraceID == before {
		t.Fatal("Refresh kept the trace id")
	}
	check()
}

func TestFeedbackShape(t *testing.T) {
	g := New(2)
	b := g.Spans(1000, 5, at)
	ld, ids := g.Feedback(b.Completions, at)
	if ld.LogRecordCount() != 50 || len(ids) != 50 {
		t.Fatalf("records = %d, ids = %d", ld.LogRecordCount(), len(ids))
	}
	m := feedback.NewMatcher([]string{FeedbackEvent})
	want := map[string]pcommon.TraceID{}
	for i, id := range ids {
		want[id] = b.Completions[i].TraceID
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if !m.Is(lr) {
					t.Fatalf("record %d not recognised as feedback", k)
				}
				f := feedback.Parse(lr)
				if !f.Valid() || want[f.ID] != f.TraceID {
					t.Fatalf("record %+v: problem %q", f, f.Problem)
				}
			}
		}
	}
	logs := g.Logs(1000, at)
	if logs.LogRecordCount() != 1000 {
		t.Fatalf("logs = %d", logs.LogRecordCount())
	}
	logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
		if m.Is(lr) {
			t.Fatal("ordinary log taken for feedback")
		}
		return false
	})
}
