package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"slices"

	"go.opentelemetry.io/collector/pdata/plog"
)

// feedbackCheck counts what came out of the collector against what was sent.
type feedbackCheck struct {
	with      bool
	sent      int
	once      int // sent ids that came out exactly once
	joined    int // of those, joined to the completion of its trace that ended last (with llm_feedback)
	dup       int // sent ids that came out more than once
	missing   int // sent ids that never came out
	notJoined int // came out once, but not joined to the completion it names
	stray     int // records out that we did not send
	// Sent with an export that failed, and did not come out: not counted in
	// sent. One whose export failed and came out counts as sent.
	notTaken int
	// Came out once, sent before a span batch whose export failed: it
	// could not be joined, and is not required to be.
	spanFailed int
	// Joined to a completion of its trace, but not to the one that ended
	// last, which feedback naming only the trace must get: a wrong join, so
	// also counted in notJoined; by [after, before].
	notLatest [2]int
	sentWhen  [2]int
}

// checkFeedback reads the file exporter's JSON lines. With llm_feedback every
// record must be an LlmFeedbackMessage with llm.feedback.correlation=matched
// and the trace and span ids of the completion it was sent about; without
// it, the record as sent.
func checkFeedback(path string, sent map[string]sentFeedback, with bool) (feedbackCheck, error) {
	chk := feedbackCheck{with: with, sent: len(sent)}
	seen := map[string]int{}
	good := map[string]bool{}
	latest := map[string]bool{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		chk.missing = len(sent)
		return chk, nil
	}
	if err != nil {
		return chk, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var u plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := u.UnmarshalLogs(sc.Bytes())
		if err != nil {
			break // the exporter is mid-write; the caller reads again
		}
		feedbackRecords(ld, func(lr plog.LogRecord) {
			idv, ok := lr.Attributes().Get("id")
			want, known := sent[idv.AsString()]
			if !ok || !known {
				chk.stray++
				return
			}
			id := idv.AsString()
			seen[id]++
			if !with {
				good[id] = true
				return
			}
			corr, _ := lr.Attributes().Get("llm.feedback.correlation")
			span, _ := lr.Attributes().Get("span_id")
			sid := lr.SpanID()
			good[id] = lr.EventName() == "LlmFeedbackMessage" && corr.Str() == "matched" &&
				lr.TraceID() == want.trace && span.Str() == hex.EncodeToString(sid[:]) &&
				(sid == want.span || slices.Contains(want.others, sid))
			latest[id] = sid == want.span
		})
	}
	for id, sf := range sent {
		if sf.uncertain && seen[id] == 0 {
			chk.sent--
			chk.notTaken++
			continue
		}
		switch n := seen[id]; {
		case n == 0:
			chk.missing++
		case n > 1:
			chk.dup++
		default:
			chk.once++
			if !with {
				break
			}
			when := 0
			if sf.before {
				when = 1
			}
			chk.sentWhen[when]++
			switch {
			case sf.spanFailed:
				chk.spanFailed++
			case good[id] && latest[id]:
				chk.joined++
			case good[id]:
				chk.notLatest[when]++
				chk.notJoined++
			default:
				chk.notJoined++
			}
		}
	}
	return chk, sc.Err()
}
