package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// fakeRun is a run of 10 s in which the collector spent cpu seconds on spans,
// with the given live heap in MiB.
func fakeRun(round int, m mode, spans, cpu float64, heapMiB int64, bound bool) result {
	r := result{
		mode: m, round: round, measured: 10 * time.Second, spans: spans, cpu: time.Duration(cpu * float64(time.Second)),
		gc: gcTrace{cycles: 1, peakLive: heapMiB << 20}, endLive: heapMiB << 20,
	}
	if m != modeNone {
		r.tracesHeld = 1 << 10
	}
	if !bound {
		r.notUsed = []string{"not CPU-bound"}
	}
	return r
}

func TestSummarize(t *testing.T) {
	runs := []result{
		// Round 0: none 1M spans on 10 CPU-s, ours 10% more CPU per span,
		// tail_sampling twice none's, groupbytrace three times.
		fakeRun(0, modeNone, 1e6, 10, 20, true),
		fakeRun(0, modeOurs, 1e6, 11, 120, true),
		fakeRun(0, modeTailSampling, 1e6, 20, 1020, true),
		fakeRun(0, modeGroupByTrace, 1e6, 30, 520, true),
		// Round 1, reversed: ours costs nothing over none.
		fakeRun(1, modeGroupByTrace, 1e6, 30, 520, true),
		fakeRun(1, modeTailSampling, 1e6, 20, 1020, true),
		fakeRun(1, modeOurs, 1e6, 10, 120, true),
		fakeRun(1, modeNone, 1e6, 10, 20, true),
		// Round 2: none was starved of CPU; its CPU figures must not count.
		fakeRun(2, modeNone, 1e5, 1, 20, false),
		fakeRun(2, modeOurs, 1e6, 10.5, 120, true),
		fakeRun(2, modeTailSampling, 1e6, 20, 1020, true),
		fakeRun(2, modeGroupByTrace, 1e6, 30, 520, true),
	}
	f := summarize(runs, []mode{modeNone, modeOurs, modeTailSampling, modeGroupByTrace})
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if n := f.modes[modeNone]; n.used != 2 || n.runs != 3 {
		t.Errorf("none used %d of %d runs, want 2 of 3", n.used, n.runs)
	}
	near("none CPU-s per million spans", f.modes[modeNone].cpuPerMillionSpans, 10)
	near("ours CPU-s per million spans", f.modes[modeOurs].cpuPerMillionSpans, 10.5)
	near("none peak live heap", f.modes[modeNone].peakLiveHeap, 20<<20)
	// Rounds 0 and 1 only: 10/11 and 10/10.
	near("spans per CPU-second ratio", f.spansPerCPUSecondRatio, (10.0/11+1)/2)
	if len(f.throughputPerRound) != 2 {
		t.Errorf("throughput ratios of %d rounds, want 2", len(f.throughputPerRound))
	}
	near("added CPU vs tail_sampling", f.addedCPU[modeTailSampling], (0.1+0)/2)
	near("added CPU vs groupbytrace", f.addedCPU[modeGroupByTrace], (0.05+0)/2)
	near("added heap vs tail_sampling", f.addedHeap[modeTailSampling], 0.1)
	near("added heap vs groupbytrace", f.addedHeap[modeGroupByTrace], 0.2)
	// 100 MiB over none's, 1,024 traces held: 100 KiB a trace.
	near("ours kept per trace", f.modes[modeOurs].keptPerTrace, 100<<10)

	var out bytes.Buffer
	f.print(&out)
	for _, want := range []string{
		"| none | 10.00 | 100,000 | 0 MiB | 20 MiB | - | 0% | 2/3 |",
		"| tail_sampling | 20.00 | 100,000 | 0 MiB | 1,020 MiB | 1,024,000 B | 0% | 3/3 |",
		"LOADGEN spans_per_cpu_second_ratio 0.955\n",
		"LOADGEN added_cpu_vs_tail_sampling 0.050\n",
		"LOADGEN added_live_heap_vs_groupbytrace 0.200\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// With no CPU-bound run, the figures are NaN, not figures of a starved
// collector.
func TestSummarizeNothingUsable(t *testing.T) {
	f := summarize([]result{fakeRun(0, modeNone, 1e6, 10, 20, false), fakeRun(0, modeOurs, 1e6, 10, 20, true)}, []mode{modeNone, modeOurs})
	if !math.IsNaN(f.spansPerCPUSecondRatio) || !math.IsNaN(f.throughputRatio) || !math.IsNaN(f.modes[modeNone].cpuPerMillionSpans) {
		t.Errorf("figures from a run that was not CPU-bound: %+v", f)
	}
}

func TestReadGCTrace(t *testing.T) {
	out := strings.Join([]string{
		"2026-01-01T00:00:00Z info service started",
		"gc 1 @0.146s 0%: 4.0+24+0.046 ms clock, 8.1+0.043/1.4/18+0.092 ms cpu, 1590->1602->212 MB, 1638 MB goal, 0 MB stacks, 0 MB globals, 2 P",
		"gc 2 @9.1s 1%: 0.75+14+0.065 ms clock, 1.5+0/2.6/8.5+0.13 ms cpu, 1600->1610->230 MB, 1638 MB goal, 0 MB stacks, 0 MB globals, 2 P",
		"gc 3 @12.0s 1%: 0.75+14+0.065 ms clock, 1.5+0/2.6/8.5+0.13 ms cpu, 400->400->225 MB, 1638 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)",
	}, "\n")
	if got, want := readGCTrace(out), (gcTrace{cycles: 3, first: 146 * time.Millisecond, peakLive: 230 << 20, lastLive: 225 << 20, share: 0.01}); got != want {
		t.Errorf("readGCTrace = %+v, want %+v", got, want)
	}
	if got := readGCTrace("no trace here\ngc 1 @0.1s 0%: nothing"); got != (gcTrace{}) {
		t.Errorf("readGCTrace without cycles = %+v", got)
	}
}

func TestCPUCount(t *testing.T) {
	for list, want := range map[string]int{"0": 1, "0,2": 2, "0-3": 4, "1,4-5": 3} {
		if got, err := cpuCount(list); err != nil || got != want {
			t.Errorf("cpuCount(%q) = %d, %v; want %d", list, got, err, want)
		}
	}
	for _, bad := range []string{"a", "3-1", "0-"} {
		if _, err := cpuCount(bad); err == nil {
			t.Errorf("cpuCount(%q) took a bad list", bad)
		}
	}
}

func TestJudge(t *testing.T) {
	warm := gcTrace{cycles: 4, first: 12 * time.Second}
	for _, tc := range []struct {
		name   string
		r      result
		reason string // a word of the one reason, "" when used
	}{
		{"used", result{cpuBusy: 0.95, warmupEnd: 30 * time.Second, gc: warm}, ""},
		{"idle", result{cpuBusy: 0.6, warmupEnd: 30 * time.Second, gc: warm}, "CPU-bound"},
		{"no_gc", result{cpuBusy: 0.95, warmupEnd: 30 * time.Second}, "GC cycle"},
		{"gc_after_warmup", result{cpuBusy: 0.95, warmupEnd: 10 * time.Second, gc: warm}, "GC cycle"},
		{"refused", result{cpuBusy: 0.95, warmupEnd: 30 * time.Second, gc: warm, sendErrors: 3}, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.judge(1, 0.9)
			switch {
			case tc.reason == "" && !tc.r.used():
				t.Errorf("left out: %v", tc.r.notUsed)
			case tc.reason != "" && (len(tc.r.notUsed) != 1 || !strings.Contains(tc.r.notUsed[0], tc.reason)):
				t.Errorf("reasons %q, want one about %q", tc.r.notUsed, tc.reason)
			}
		})
	}
}

// A peer's run that failed (its collector stalled and would not stop) is
// left out of the figures and does not fail the load test; the other
// modes' runs of its round still count.
func TestFailedPeerRunIsLeftOut(t *testing.T) {
	failed := fakeRun(0, modeGroupByTrace, 1e6, 30, 520, true)
	failed.failed = "collector did not stop within 30s of terminated; killed"
	failed.notUsed = append(failed.notUsed, "the run failed: "+failed.failed)
	failed.judge(1, 0.9)
	if failed.used() || !failed.ok() {
		t.Fatalf("failed peer run: used %v, ok %v; want left out, not failing the test", failed.used(), failed.ok())
	}
	runs := []result{
		fakeRun(0, modeNone, 1e6, 10, 20, true),
		fakeRun(0, modeOurs, 1e6, 11, 120, true),
		fakeRun(0, modeTailSampling, 1e6, 20, 1020, true),
		failed,
	}
	f := summarize(runs, []mode{modeNone, modeOurs, modeTailSampling, modeGroupByTrace})
	if g := f.modes[modeGroupByTrace]; g.used != 0 || g.runs != 1 {
		t.Errorf("groupbytrace used %d of %d runs, want 0 of 1", g.used, g.runs)
	}
	if !math.IsNaN(f.addedCPU[modeGroupByTrace]) || math.IsNaN(f.addedCPU[modeTailSampling]) {
		t.Errorf("added CPU: vs groupbytrace %v (want NaN), vs tail_sampling %v (want a figure)",
			f.addedCPU[modeGroupByTrace], f.addedCPU[modeTailSampling])
	}
	if f, all := failedRuns(runs, modeGroupByTrace); f != 1 || all != 1 {
		t.Errorf("failedRuns(groupbytrace) = %d of %d, want 1 of 1: the load test says every groupbytrace run failed", f, all)
	}
	if f, _ := failedRuns(runs, modeTailSampling); f != 0 {
		t.Errorf("failedRuns(tail_sampling) = %d, want 0", f)
	}
	// Without the failure, the same run fails the check: it sent no feedback.
	failed.failed = ""
	if failed.ok() {
		t.Error("a run with no feedback checked passes ok()")
	}
}

func TestWhichErrorsEndTheLoadTest(t *testing.T) {
	stalled := errors.New("collector did not stop within 30s of terminated; killed")
	notStarted := fmt.Errorf("round 0: %w", startError{errors.New("collector exited during start")})
	for _, tc := range []struct {
		m    mode
		err  error
		want bool
	}{
		{modeOurs, stalled, true},
		{modeNone, stalled, true},
		{modeGroupByTrace, stalled, false},
		{modeTailSampling, stalled, false},
		{modeGroupByTrace, notStarted, true},
		{modeOurs, notStarted, true},
	} {
		if got := endsTheLoadTest(tc.m, tc.err); got != tc.want {
			t.Errorf("endsTheLoadTest(%s, %q) = %v, want %v", tc.m, tc.err, got, tc.want)
		}
	}
}
