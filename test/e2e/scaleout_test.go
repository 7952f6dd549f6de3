package e2e

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	tc "github.com/llm-feedback/llmfeedbackprocessor/internal/testcollector"
)

// scaleOut is examples/scale-out as written: one routing collector and
// three backends on loopback, each with its own ports and OUT_DIR, as the
// README starts them.
type scaleOut struct {
	router   *tc.Collector
	backends []*tc.Collector
}

func startScaleOut(t *testing.T) scaleOut {
	return startScaleOutWith(t, nil, nil)
}

// startScaleOutWith is startScaleOut with extra command-line arguments for
// the backends and for the router (--set flags).
func startScaleOutWith(t *testing.T, backendArgs, routerArgs []string) scaleOut {
	bin := tc.Binary(t)
	dir := filepath.Join("..", "..", "examples", "scale-out")
	var s scaleOut
	routerDir := t.TempDir()
	env := map[string]string{"STORAGE_DIR": filepath.Join(routerDir, "queue")}
	for i := range 3 {
		b := tc.NewFromFile(t, bin, t.TempDir(), filepath.Join(dir, "backend.yaml"), nil)
		b.Args = backendArgs
		b.Start()
		s.backends = append(s.backends, b)
		env[fmt.Sprintf("BACKEND_%d", i+1)] = fmt.Sprintf("127.0.0.1:%d", b.GRPC)
	}
	s.router = tc.NewFromFile(t, bin, routerDir, filepath.Join(dir, "router.yaml"), env)
	s.router.Args = routerArgs
	s.router.Start()
	return s
}

// scaleOutTraffic is n completions in distinct traces and a feedback id for each.
func scaleOutTraffic(n int) ([]pcommon.TraceID, []string) {
	ids := make([]pcommon.TraceID, n)
	fbIDs := make([]string, n)
	for i := range ids {
		ids[i] = pcommon.TraceID{0: 0xc0, 1: byte(i * 7), 2: byte(i * 13), 14: byte(i >> 8), 15: byte(i)}
		fbIDs[i] = fmt.Sprintf("fb-%04d", i)
	}
	return ids, fbIDs
}

// send sends the completions ids[from:to] and their feedback through the
// router: the first third of the feedback before the completions.
func (s scaleOut) send(t *testing.T, ids []pcommon.TraceID, fbIDs []string, from, to int) {
	const batch = 100
	sendFeedback := func(from, to int) {
		for b := from; b < to; b += batch {
			e := min(b+batch, to)
			ld := feedbackBatch(fbIDs[b:e], ids[b:e])
			// As a plain SDK would send it: in the trace of the request that
			// carried the click, not the completion's.
			lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lrs.At(k).SetTraceID(pcommon.TraceID{0: 0xee, 15: byte(k)})
				lrs.At(k).SetSpanID(pcommon.SpanID{0: 0xee, 7: 1})
			}
			require.NoError(t, s.router.SendLogs(ld))
		}
	}
	early := from + (to-from)/3
	sendFeedback(from, early)
	for b := from; b < to; b += batch {
		require.NoError(t, s.router.SendTraces(completionBatch(ids[b:min(b+batch, to)])))
	}
	sendFeedback(early, to)
}

// records reads every backend's feedback output: the records of backend i
// are at i. An error may be a line the exporter is still writing: read
// again.
func (s scaleOut) records() ([][]tc.Record, error) {
	per := make([][]tc.Record, len(s.backends))
	for i, b := range s.backends {
		lds, err := tc.ReadLogsFile(filepath.Join(b.Dir, "feedback.jsonl"))
		if err != nil {
			return nil, err
		}
		for _, r := range tc.Flatten(lds) {
			if r.EventName == "LlmFeedbackMessage" {
				per[i] = append(per[i], r)
			}
		}
	}
	return per, nil
}

// out reads every backend's output: for each feedback id, the backends
// (by index) it came out of, once per copy. Every record must be matched.
func (s scaleOut) out() (map[string][]int, error) {
	per, err := s.records()
	if err != nil {
		return nil, err
	}
	seen := map[string][]int{}
	for i, rs := range per {
		for _, r := range rs {
			id, _ := r.Attrs["id"].(string)
			if c := r.Attrs["llm.feedback.correlation"]; c != "matched" {
				return nil, fmt.Errorf("%s came out %v of backend %d", id, c, i+1)
			}
			seen[id] = append(seen[id], i)
		}
	}
	return seen, nil
}

// allOnce waits until every id of fbIDs came out, keeps watching for a
// settle period, and then checks each came out exactly once.
func (s scaleOut) allOnce(t *testing.T, fbIDs []string, within time.Duration) map[string][]int {
	var seen map[string][]int
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		var err error
		seen, err = s.out()
		require.NoError(ct, err)
		var missing []string
		for _, id := range fbIDs {
			if len(seen[id]) == 0 {
				missing = append(missing, id)
			}
		}
		require.Empty(ct, missing, "%d of %d ids have not come out", len(missing), len(fbIDs))
	}, within, 200*time.Millisecond)
	copiesOf := func(seen map[string][]int) (n int) {
		for _, at := range seen {
			n += len(at)
		}
		return n
	}
	want := copiesOf(seen)
	require.Never(t, func() bool {
		now, err := s.out()
		return err == nil && copiesOf(now) > want
	}, settle, 200*time.Millisecond, "a copy came out after every id had")
	for _, id := range fbIDs {
		require.Len(t, seen[id], 1, "%s came out of backends %v", id, seen[id])
	}
	return seen
}

// TestScaleOut sends 2,000 completions and their feedback (a third of it
// before its span, all of it from other requests' traces) through the
// router; every feedback must come out matched exactly once, spread over all
// three backends.
func TestScaleOut(t *testing.T) {
	s := startScaleOut(t)
	const n = 2000
	ids, fbIDs := scaleOutTraffic(n)
	s.send(t, ids, fbIDs, 0, n)
	seen := s.allOnce(t, fbIDs, 60*time.Second)
	per := make([]int, len(s.backends))
	for _, at := range seen {
		per[at[0]]++
	}
	for i, k := range per {
		assert.Positive(t, k, "backend %d got none", i+1)
	}
	t.Logf("feedback per backend: %v", per)
}

// TestScaleOutBackendDown: a backend is SIGKILLed between two rounds of
// traffic, the next round goes through the router while it is down, the
// router itself is SIGKILLed and restarted meanwhile (what it holds for the
// missing backend is on disk, not in memory), the backend comes back, a
// third round follows. Every feedback comes out matched exactly once, the
// backend that was down included.
func TestScaleOutBackendDown(t *testing.T) {
	s := startScaleOut(t)
	const round = 300
	ids, fbIDs := scaleOutTraffic(3 * round)
	down := s.backends[1]

	s.send(t, ids, fbIDs, 0, round)
	// Everything of the first round is out: nothing is in flight to the
	// backend when it dies.
	s.allOnce(t, fbIDs[:round], 30*time.Second)
	down.Stop(syscall.SIGKILL)

	s.send(t, ids, fbIDs, round, 2*round)
	require.Eventually(t, func() bool {
		return strings.Contains(s.router.Output(), "Exporting failed. Will retry the request after interval.")
	}, 20*time.Second, 50*time.Millisecond, "the router retries the backend that is down")
	s.router.Stop(syscall.SIGKILL)
	s.router.Start()
	down.Start()

	s.send(t, ids, fbIDs, 2*round, 3*round)
	seen := s.allOnce(t, fbIDs, 60*time.Second)
	whileDown := 0
	for _, id := range fbIDs[round : 2*round] {
		if seen[id][0] == 1 {
			whileDown++
		}
	}
	assert.Positive(t, whileDown, "the backend that was down got none of the feedback sent meanwhile")
	t.Logf("feedback sent while backend 2 was down that it joined after its restart: %d", whileDown)
}

// byKeys is the traffic of the tests by key: n completions in distinct
// traces, each named by one of three keys (a response id, an app key, a
// conversation id), and feedback that carries only that key.
type byKeys struct {
	ids   []pcommon.TraceID
	fbIDs []string
	keys  []string
	end   time.Time
}

func newByKeys(n int) byKeys {
	ids, fbIDs := scaleOutTraffic(n)
	return byKeys{ids: ids, fbIDs: fbIDs, keys: []string{"gen_ai.response.id", "app.message_id", "gen_ai.conversation.id"}, end: time.Now().Add(-time.Minute)}
}

// feedback is the feedback for completions [from, to), in the trace of the
// request that carried the click.
func (k byKeys) feedback(from, to int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := from; i < to; i++ {
		lr := lrs.AppendEmpty()
		lr.SetEventName("LlmFeedbackMessage")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.SetTraceID(pcommon.TraceID{0: 0xee, 15: byte(i)})
		lr.Attributes().PutStr(k.keys[i%3], fmt.Sprintf("k-%04d", i))
		lr.Attributes().PutStr("rating", "Good")
		lr.Attributes().PutStr("id", k.fbIDs[i])
	}
	return ld
}

// completions are completions [from, to).
func (k byKeys) completions(from, to int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := from; i < to; i++ {
		sp := spans.AppendEmpty()
		sp.SetTraceID(k.ids[i])
		sp.SetSpanID(pcommon.SpanID{0: 2, 6: byte(i >> 8), 7: byte(i)})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(k.end.Add(-time.Second)))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(k.end))
		sp.Attributes().PutStr("gen_ai.operation.name", "chat")
		sp.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		sp.Attributes().PutStr(k.keys[i%3], fmt.Sprintf("k-%04d", i))
	}
	return td
}

// sendFeedback sends the feedback for completions [from, to) through the
// router, and sendCompletions the completions, in batches of 100.
func (s scaleOut) sendFeedback(t *testing.T, k byKeys, from, to int) {
	for b := from; b < to; b += 100 {
		require.NoError(t, s.router.SendLogs(k.feedback(b, min(b+100, to))))
	}
}

func (s scaleOut) sendCompletions(t *testing.T, k byKeys, from, to int) {
	for b := from; b < to; b += 100 {
		require.NoError(t, s.router.SendTraces(k.completions(b, min(b+100, to))))
	}
}

// joinedToTheirOwn checks that every feedback came out joined, by its key,
// to its own completion.
func (s scaleOut) joinedToTheirOwn(t *testing.T, k byKeys) {
	per, err := s.records()
	require.NoError(t, err)
	joined := byID(slices.Concat(per...))
	for i, id := range k.fbIDs {
		r := joined[id]
		assert.Equal(t, k.ids[i].String(), r.Attrs["trace_id"], id)
		assert.Equal(t, k.keys[i%3], r.Attrs["llm.feedback.join_key"], id)
	}
}

// TestScaleOutByKeys: feedback that carries only a response id, an app key
// or a conversation id (a third of it sent before its completion) goes
// through the router, which learned from the completions passing through it
// where each went; every feedback comes out matched exactly once, joined to
// its own completion, on the backend that has it.
func TestScaleOutByKeys(t *testing.T) {
	s := startScaleOut(t)
	const n = 600
	k := newByKeys(n)
	early := n / 3
	s.sendFeedback(t, k, 0, early)
	s.sendCompletions(t, k, 0, n)
	s.sendFeedback(t, k, early, n)
	s.allOnce(t, k.fbIDs, 60*time.Second)
	s.joinedToTheirOwn(t, k)
}

// TestScaleOutByKeysRouterRestarts: the router holds feedback by key whose
// completion has not passed yet, and is SIGKILLed; restarted, it addresses
// that feedback when the completions pass. It is then stopped and started
// again, and the rest of the feedback, whose completions passed before that
// restart, is addressed from the cache it saved. Every feedback comes out
// matched exactly once, joined to its own completion.
func TestScaleOutByKeysRouterRestarts(t *testing.T) {
	s := startScaleOut(t)
	const n = 300
	k := newByKeys(n)
	early := n / 3
	// Acknowledged once written (storage_write_wait): the SIGKILL that
	// follows finds them on disk.
	s.sendFeedback(t, k, 0, early)
	require.Eventually(t, func() bool {
		return s.router.Sum("otelcol_processor_llm_feedback_pending_records") == float64(early)
	}, 10*time.Second, 50*time.Millisecond, "the router holds the feedback whose completions have not passed")
	require.Zero(t, s.router.Sum("otelcol_processor_llm_feedback_storage_errors"), "every held record was written before its batch was acknowledged")
	s.router.Stop(syscall.SIGKILL)
	s.router.Start()
	s.sendCompletions(t, k, 0, n)
	s.allOnce(t, k.fbIDs[:early], 30*time.Second)
	s.router.Stop(syscall.SIGTERM)
	s.router.Start()
	s.sendFeedback(t, k, early, n)
	s.allOnce(t, k.fbIDs, 60*time.Second)
	s.joinedToTheirOwn(t, k)
}

// TestScaleOutRetryOfWhatWentOnUnaddressed: feedback by key whose completion
// has not passed the router within its pending::ttl goes on unaddressed, and
// the backend it lands on holds it, then marks it unmatched (or joins it,
// when that backend has the completion). The completions then pass, and the
// client retries every record, from another request (another TraceID of
// its own). Each id comes out exactly once: the retry goes to the backend
// that took the first try, which drops it, rather than addressed to the
// completion's backend, which would join it a second time. What comes out
// unmatched carries no TraceID: the router's routing key is dropped.
func TestScaleOutRetryOfWhatWentOnUnaddressed(t *testing.T) {
	s := startScaleOutWith(t,
		[]string{"--set=processors::llm_feedback::pending::ttl=2s"},
		[]string{"--set=processors::llm_feedback/route::pending::ttl=1s"})
	const n = 60
	k := newByKeys(n)
	s.sendFeedback(t, k, 0, n)
	require.Eventually(t, func() bool {
		return s.router.Sum("otelcol_processor_llm_feedback_feedback_unmatched") == n
	}, 30*time.Second, 50*time.Millisecond, "the router passes the feedback on unaddressed past its pending::ttl")
	s.sendCompletions(t, k, 0, n)
	retries := k.feedback(0, n)
	lrs := retries.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		lrs.At(i).SetTraceID(pcommon.TraceID{0: 0xdd, 15: byte(i)})
	}
	require.NoError(t, s.router.SendLogs(retries))

	records := func() []tc.Record {
		per, err := s.records()
		if err != nil {
			return nil // a line still being written: read again
		}
		return slices.Concat(per...)
	}
	require.Eventually(t, func() bool { return len(byID(records())) == n }, 60*time.Second, 200*time.Millisecond, "every id comes out")
	require.Never(t, func() bool { return len(records()) > n }, settle, 200*time.Millisecond, "an id came out twice")
	assert.Equal(t, float64(2*n), s.router.Sum("otelcol_processor_llm_feedback_feedback_unmatched"), "the router passed every retry on unaddressed")
	unmatched := 0
	for _, r := range records() {
		if r.Attrs["llm.feedback.correlation"] == "unmatched" {
			unmatched++
			assert.Empty(t, r.TraceID, "%v: the routing key stays behind", r.Attrs["id"])
		}
	}
	assert.Positive(t, unmatched, "no first try landed on a backend without its completion")
	t.Logf("of %d ids, %d came out unmatched, the rest joined by the backend the first try landed on", n, unmatched)
}
