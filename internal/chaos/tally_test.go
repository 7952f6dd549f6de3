package chaos

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTally(t *testing.T) {
	const trace, span = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
	withID := map[string]sentRecord{"a": {ID: "fb-a", TraceID: trace, SpanID: span}}
	withoutID := map[string]sentRecord{"b": {TraceID: trace, SpanID: span}}
	matched := func(id string, incarnation int) copyOut {
		return copyOut{ID: id, Incarnation: incarnation, Correlation: "matched", TraceID: trace, SpanID: span}
	}
	for _, tt := range []struct {
		name string
		sent map[string]sentRecord
		got  map[string][]copyOut
		want Result
		ok   bool
	}{
		{"once", withID, map[string][]copyOut{"a": {matched("fb-a", 1)}},
			Result{Sent: 1, SentWithID: 1, Matched: 1}, true},
		{"lost", withID, nil,
			Result{Sent: 1, SentWithID: 1, Lost: 1}, false},
		{"same id across a kill", withID, map[string][]copyOut{"a": {matched("fb-a", 1), matched("fb-a", 2)}},
			Result{Sent: 1, SentWithID: 1, Matched: 1, DupWithID: 1, AcrossKill: 1}, true},
		{"same id from one process", withID, map[string][]copyOut{"a": {matched("fb-a", 2), matched("fb-a", 2)}},
			Result{Sent: 1, SentWithID: 1, Matched: 1, DupWithID: 1, Unexplained: 1}, false},
		{"without id, two ids across a kill", withoutID, map[string][]copyOut{"b": {matched("u1", 1), matched("u2", 2)}},
			Result{Sent: 1, SentWithoutID: 1, Matched: 1, DupWithoutID: 1, Unexplained: 1}, false},
		{"without id, one derived id across a kill", withoutID, map[string][]copyOut{"b": {matched("u1", 1), matched("u1", 3)}},
			Result{Sent: 1, SentWithoutID: 1, Matched: 1, DupWithoutID: 1, AcrossKill: 1}, true},
		{"three copies, two from one process", withoutID,
			map[string][]copyOut{"b": {matched("u1", 1), matched("u1", 2), matched("u1", 2)}},
			Result{Sent: 1, SentWithoutID: 1, Matched: 1, DupWithoutID: 2, Unexplained: 2}, false},
		{"unmatched", withID, map[string][]copyOut{"a": {{ID: "fb-a", Incarnation: 1, Correlation: "unmatched"}}},
			Result{Sent: 1, SentWithID: 1, Unmatched: 1}, true},
		{"wrong span", withID, map[string][]copyOut{"a": {{ID: "fb-a", Incarnation: 1, Correlation: "matched", TraceID: trace, SpanID: "0000000000000001"}}},
			Result{Sent: 1, SentWithID: 1, Matched: 1, WrongJoin: 1}, false},
		{"id changed", withID, map[string][]copyOut{"a": {matched("other", 1)}},
			Result{Sent: 1, SentWithID: 1, Matched: 1, IDChanged: 1}, false},
		{"unknown", withID, map[string][]copyOut{"a": {matched("fb-a", 1)}, "z": {matched("fb-z", 1)}},
			Result{Sent: 1, SentWithID: 1, Matched: 1, Unknown: 1}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := tally(tt.sent, tt.got)
			assert.Equal(t, tt.ok, got.OK(), "problems: %v", got.Problems)
			assert.Equal(t, tt.ok, len(got.Problems) == 0, "problems: %v", got.Problems)
			got.Problems = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResultLine(t *testing.T) {
	r := Result{Sent: 120, Lost: 1, DupWithID: 2, DupWithoutID: 10}
	assert.Equal(t, "CHAOS sent 120, lost 1, duplicated 2 (with id) + 10 (without id)", r.Line())
}
