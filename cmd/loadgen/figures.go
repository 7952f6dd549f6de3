package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// modeFigures are one mode's medians over its runs that are used (judge).
type modeFigures struct {
	used, runs         int
	cpuPerMillionSpans float64
	spansPerSec        float64
	peakRSS            float64
	peakLiveHeap       float64
	gcShare            float64
	// The heap left live at the end over none's, per trace held then.
	keptPerTrace float64
}

// figures are what a load test found, every one NaN when no run it needs
// is used.
type figures struct {
	order []mode
	modes map[mode]modeFigures
	// llm_feedback against none, paired by round, then the median: each
	// pair ran minutes apart at most, so a machine that drifts over the
	// whole test moves both.
	spansPerCPUSecondRatio    float64
	spansPerCPUSecondPerRound []float64
	throughputRatio           float64
	throughputPerRound        []float64
	// llm_feedback's CPU per span over none's, as a share of each peer's
	// (paired by round, then the median); its peak live heap over none's, as
	// a share of each peer's (per-mode medians).
	addedCPU, addedHeap map[mode]float64
	// Every llm_feedback run's feedback, joined to the completion that
	// ended last in its trace, and sent.
	joined, sent int
	ran          bool // an llm_feedback run happened
}

func summarize(runs []result, order []mode) figures {
	f := figures{order: order, modes: map[mode]modeFigures{}, addedCPU: map[mode]float64{}, addedHeap: map[mode]float64{}}
	byRound := map[int]map[mode]result{}
	for _, r := range runs {
		if byRound[r.round] == nil {
			byRound[r.round] = map[mode]result{}
		}
		if r.used() {
			byRound[r.round][r.mode] = r
		}
		if r.mode == modeOurs {
			f.ran = true
			f.joined += r.fb.joined
			f.sent += r.fb.sent
		}
	}
	// none holds nothing past a request, so its heap does not depend on
	// how much CPU it got: the baseline that memory figures subtract comes
	// from all its runs that ran a GC cycle.
	var noneEnd, nonePeak []float64
	for _, r := range runs {
		if r.mode == modeNone && r.gc.cycles > 0 {
			noneEnd, nonePeak = append(noneEnd, float64(r.endLive)), append(nonePeak, float64(r.gc.peakLive))
		}
	}
	baseEnd, basePeak := medianOf(noneEnd), medianOf(nonePeak)

	for _, m := range order {
		var mf modeFigures
		var cpu, rate, rss, heap, gc, perTrace []float64
		for _, r := range runs {
			if r.mode != m {
				continue
			}
			mf.runs++
			if !r.used() {
				continue
			}
			mf.used++
			cpu = append(cpu, r.cpuPerMillionSpans())
			rate = append(rate, r.spansPerSec())
			rss = append(rss, float64(r.peakRSS))
			if r.gc.cycles > 0 {
				heap = append(heap, float64(r.gc.peakLive))
				gc = append(gc, r.gc.share)
			}
			if r.tracesHeld > 0 {
				perTrace = append(perTrace, (float64(r.endLive)-baseEnd)/r.tracesHeld)
			}
		}
		mf.cpuPerMillionSpans, mf.spansPerSec, mf.peakRSS, mf.peakLiveHeap, mf.gcShare = medianOf(cpu), medianOf(rate), medianOf(rss), medianOf(heap), medianOf(gc)
		mf.keptPerTrace = medianOf(perTrace)
		f.modes[m] = mf
	}

	var added []float64
	for r := range len(byRound) {
		ours, okO := byRound[r][modeOurs]
		none, okN := byRound[r][modeNone]
		if !okO || !okN {
			continue
		}
		f.throughputPerRound = append(f.throughputPerRound, ours.spansPerSec()/none.spansPerSec())
		f.spansPerCPUSecondPerRound = append(f.spansPerCPUSecondPerRound, none.cpuPerMillionSpans()/ours.cpuPerMillionSpans())
	}
	f.spansPerCPUSecondRatio, f.throughputRatio = medianOf(f.spansPerCPUSecondPerRound), medianOf(f.throughputPerRound)
	for _, p := range peers {
		added = added[:0]
		for r := range len(byRound) {
			ours, okO := byRound[r][modeOurs]
			none, okN := byRound[r][modeNone]
			peer, okP := byRound[r][p]
			if okO && okN && okP {
				added = append(added, addedShare(ours.cpuPerMillionSpans(), peer.cpuPerMillionSpans(), none.cpuPerMillionSpans()))
			}
		}
		f.addedCPU[p] = medianOf(added)
		f.addedHeap[p] = addedShare(f.modes[modeOurs].peakLiveHeap, f.modes[p].peakLiveHeap, basePeak)
	}
	return f
}

// addedShare is what ours adds to base as a share of what peer adds to it.
func addedShare(ours, peer, base float64) float64 {
	if peer == base {
		return math.NaN()
	}
	return (ours - base) / (peer - base)
}

// print writes the per-mode table (Markdown, as README shows it) and then
// the machine-readable lines scripts/bench.sh reads.
func (f figures) print(w io.Writer) {
	fmt.Fprintln(w, "| mode | collector CPU-s per million spans | spans/s | peak RSS | peak live heap | kept per trace | time in GC | runs used |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, m := range f.order {
		mf := f.modes[m]
		kept := "-"
		if m != modeNone {
			kept = thousands(mf.keptPerTrace) + " B"
		}
		fmt.Fprintf(w, "| %s | %.2f | %s | %s | %s | %s | %.0f%% | %d/%d |\n", m, mf.cpuPerMillionSpans, thousands(mf.spansPerSec),
			mib(mf.peakRSS), mib(mf.peakLiveHeap), kept, 100*mf.gcShare, mf.used, mf.runs)
	}
	for _, m := range f.order {
		mf := f.modes[m]
		fmt.Fprintf(w, "LOADGEN %s cpu_s_per_million_spans %.3f\n", m, mf.cpuPerMillionSpans)
		fmt.Fprintf(w, "LOADGEN %s spans_per_sec %.0f\n", m, mf.spansPerSec)
		fmt.Fprintf(w, "LOADGEN %s peak_rss_bytes %.0f\n", m, mf.peakRSS)
		fmt.Fprintf(w, "LOADGEN %s peak_live_heap_bytes %.0f\n", m, mf.peakLiveHeap)
		if m != modeNone {
			fmt.Fprintf(w, "LOADGEN %s kept_bytes_per_trace %.0f\n", m, mf.keptPerTrace)
		}
		fmt.Fprintf(w, "LOADGEN %s runs_used %d/%d\n", m, mf.used, mf.runs)
	}
	if _, ok := f.modes[modeOurs]; ok {
		if _, ok := f.modes[modeNone]; ok {
			fmt.Fprintf(w, "LOADGEN spans_per_cpu_second_ratio_per_round %s\n", floats(f.spansPerCPUSecondPerRound))
			fmt.Fprintf(w, "LOADGEN throughput_ratio_per_round %s\n", floats(f.throughputPerRound))
			fmt.Fprintf(w, "LOADGEN spans_per_cpu_second_ratio %.3f\n", f.spansPerCPUSecondRatio)
			fmt.Fprintf(w, "LOADGEN throughput_ratio %.3f\n", f.throughputRatio)
			for _, p := range peers {
				if _, ok := f.modes[p]; ok {
					fmt.Fprintf(w, "LOADGEN added_cpu_vs_%s %.3f\n", p, f.addedCPU[p])
					fmt.Fprintf(w, "LOADGEN added_live_heap_vs_%s %.3f\n", p, f.addedHeap[p])
				}
			}
		}
	}
	if f.ran {
		fmt.Fprintf(w, "LOADGEN feedback_joined %d/%d\n", f.joined, f.sent)
	}
}

func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func floats(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.3f", x)
	}
	return strings.Join(parts, " ")
}

func mib(bytes float64) string {
	if math.IsNaN(bytes) {
		return "NaN"
	}
	return thousands(bytes/(1<<20)) + " MiB"
}

// thousands writes x rounded, with commas between thousands.
func thousands(x float64) string {
	if math.IsNaN(x) {
		return "NaN"
	}
	s := fmt.Sprintf("%.0f", x)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
