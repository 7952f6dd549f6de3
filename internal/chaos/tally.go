package chaos

import (
	"fmt"
	"sort"
	"strings"
)

// Result is what one run found.
type Result struct {
	// Sent counts the feedback records in batches the collector accepted.
	Sent, SentWithID, SentWithoutID int
	// Lost counts accepted feedback that never reached the backend.
	Lost int
	// DupWithID and DupWithoutID count extra copies the backend accepted,
	// of records sent with an id and without one.
	DupWithID, DupWithoutID int
	// AcrossKill counts the extra copies that are allowed: every copy of the
	// record carries the same id, and each was delivered by a different
	// collector process, so a SIGKILL lies between any two of them (at least
	// once across a crash). Every other extra copy is in Unexplained.
	AcrossKill, Unexplained int
	// WrongJoin counts matched copies whose TraceID or SpanID is not their
	// completion's; IDChanged copies of records sent with an id that came
	// out with another; Unknown feedback records that no client sent.
	WrongJoin, IDChanged, Unknown int
	// Matched and Unmatched count records by correlation (first copy).
	Matched, Unmatched int
	// Unacked counts feedback in batches the collector answered with a
	// status an SDK drops the batch on.
	Unacked int
	// Unclean is true when a record was still missing when the run gave up
	// waiting, or the last collector did not stop cleanly on SIGTERM.
	Unclean bool

	Kills, BackendRequests, BackendRefused int
	ClientRetries                          int64
	// Problems describes the first of every kind of failure, for a reader.
	Problems []string
}

// Line is the figure `make chaos` prints.
func (r Result) Line() string {
	return fmt.Sprintf("CHAOS sent %d, lost %d, duplicated %d (with id) + %d (without id)",
		r.Sent, r.Lost, r.DupWithID, r.DupWithoutID)
}

// Details are the lines printed after Line.
func (r Result) Details() []string {
	out := []string{
		fmt.Sprintf("CHAOS duplicates: %d across a SIGKILL with the same id (allowed), %d otherwise",
			r.AcrossKill, r.Unexplained),
		fmt.Sprintf("CHAOS sent %d with id and %d without; %d matched, %d unmatched, %d joined to the wrong span, %d with a changed id, %d unknown, %d refused for good",
			r.SentWithID, r.SentWithoutID, r.Matched, r.Unmatched, r.WrongJoin, r.IDChanged, r.Unknown, r.Unacked),
		fmt.Sprintf("CHAOS faults: %d SIGKILLs, backend refused %d of %d requests, client re-sent %d batches",
			r.Kills, r.BackendRefused, r.BackendRequests, r.ClientRetries),
	}
	for _, p := range r.Problems {
		out = append(out, "CHAOS problem: "+p)
	}
	return out
}

// OK is true when nothing was lost, no duplicate is unexplained, and every
// record came out as it should.
func (r Result) OK() bool {
	return r.Lost == 0 && r.Unexplained == 0 && r.WrongJoin == 0 && r.IDChanged == 0 && r.Unknown == 0 && r.Unacked == 0 && !r.Unclean
}

// maxExamples bounds the problems listed per kind.
const maxExamples = 5

// tally compares what the clients had accepted with what the backend
// accepted, by token.
func tally(sent map[string]sentRecord, got map[string][]copyOut) Result {
	var r Result
	examples := map[string]int{}
	problem := func(kind, format string, args ...any) {
		if examples[kind] < maxExamples {
			r.Problems = append(r.Problems, kind+": "+fmt.Sprintf(format, args...))
		}
		examples[kind]++
	}
	tokens := make([]string, 0, len(sent))
	for t := range sent {
		tokens = append(tokens, t)
	}
	sort.Strings(tokens)
	for _, token := range tokens {
		s := sent[token]
		r.Sent++
		if s.ID != "" {
			r.SentWithID++
		} else {
			r.SentWithoutID++
		}
		copies := got[token]
		if len(copies) == 0 {
			r.Lost++
			problem("lost", "%s (id %q, trace %s)", token, s.ID, s.TraceID)
			continue
		}
		switch first := copies[0]; first.Correlation {
		case "matched":
			r.Matched++
		case "unmatched":
			r.Unmatched++
		}
		for _, c := range copies {
			if c.Correlation == "matched" && (c.TraceID != s.TraceID || c.SpanID != s.SpanID) {
				r.WrongJoin++
				problem("wrong join", "%s came out with trace %s span %s, its completion is trace %s span %s",
					token, c.TraceID, c.SpanID, s.TraceID, s.SpanID)
			}
			if s.ID != "" && c.ID != s.ID {
				r.IDChanged++
				problem("id changed", "%s was sent with id %q and came out with %q", token, s.ID, c.ID)
			}
		}
		extra := len(copies) - 1
		if extra == 0 {
			continue
		}
		if s.ID != "" {
			r.DupWithID += extra
		} else {
			r.DupWithoutID += extra
		}
		if acrossKills(copies) {
			r.AcrossKill += extra
		} else {
			r.Unexplained += extra
			problem("duplicated", "%s (sent with id %q) came out %d times: %s", token, s.ID, len(copies), describe(copies))
		}
	}
	for token, copies := range got {
		if _, ok := sent[token]; !ok {
			r.Unknown += len(copies)
			problem("unknown", "%s came out %d times: %s", token, len(copies), describe(copies))
		}
	}
	return r
}

// acrossKills reports whether the copies all carry one id and came from
// different collector processes.
func acrossKills(copies []copyOut) bool {
	seen := map[int]bool{}
	for _, c := range copies {
		if c.ID != copies[0].ID || seen[c.Incarnation] {
			return false
		}
		seen[c.Incarnation] = true
	}
	return true
}

func describe(copies []copyOut) string {
	parts := make([]string, len(copies))
	for i, c := range copies {
		parts[i] = fmt.Sprintf("id %s from collector %d (%s)", c.ID, c.Incarnation, c.Correlation)
	}
	return strings.Join(parts, "; ")
}
