#!/usr/bin/env bash
# Performance figures of llm_feedback, in one run: Go benchmarks against
# their floors (the floor and ours interleaved in one `go test -bench`
# invocation, so each ratio compares measurements taken moments apart), the
# memory per cached completion and per held feedback, the cache's hash index
# against a Go map and an Add into a full cache, and the end-to-end load
# test (cmd/loadgen) of a collector built with llm_feedback and the contrib
# processors that also keep state per trace (scripts/builder-bench.yaml), in
# four modes: none, llm_feedback, tail_sampling and groupbytrace, all under
# one memory budget. Prints the per-mode table, then one BENCH line per
# figure, last. Sized for 2 cores: about 22 minutes.
#
# Knobs (environment): OTELCOL_BIN (default bin/otelcol-bench, which
# `make bench` builds), BENCH_ROUNDS (floor/ours pairs per benchmark, 5),
# TRACES_ITERS, LOGS_ITERS, JOIN_ITERS, DELAYED_ITERS (batches per
# sub-benchmark: 2000, 5000, 1000, 300), DECODE_ITERS and E2E_ROUNDS (the
# in-process decode-and-consume pair: 1500 batches, 2 rounds), JOIN_COUNT
# (runs of the delayed-join benchmark, 5), MEM_COUNT (runs of the memory benchmarks, 3),
# LOADGEN_WARMUP (sending before measuring, 15s; tail_sampling and
# groupbytrace warm up for twice as long as they hold spans, 60s, past the
# burst of their first release, so they pass on as many as they take in;
# every mode then until its first GC cycle, when its
# heap has filled the budget, at most 60s more: by then llm_feedback's cache
# has filled up to cache::max_traces and evicts, as in a collector that has
# run a while), LOADGEN_SETTLE (sending past that first GC cycle before
# measuring, the same in every mode, 20s),
# LOADGEN_DURATION (measured time per run, 10s), LOADGEN_ROUNDS (runs of every mode, 3, the order of modes
# reversed every other round; figures are medians over the runs in which the
# collector was CPU-bound), LOADGEN_MODES (none,llm_feedback,tail_sampling,groupbytrace),
# LOADGEN_MEMORY_LIMIT_MIB (the budget: memory_limiter limit_mib, GOMEMLIMIT
# at 80% of it, GOGC=off; 16384: tail_sampling and groupbytrace hold every
# span for 30s, 3 to 7 GiB at their rates on 2 cores (groupbytrace takes
# spans without back-pressure until its first release), and at 6144 or
# 10240 groupbytrace's GC thrashed until it stalled; every mode's RSS fills
# the budget, about 12.5 GiB),
# LOADGEN_CPU_BOUND (the share of its CPU the collector must use for a run
# to count, 0.9), LOADGEN_SENDERS (requests in flight, 16; with 8, a collector
# on one CPU waited for requests in some runs, which then did not count),
# BENCH_PROFILE_DIR (when set, CPU and memory profiles of the benchmarks are
# written there, with the test binary for `go tool pprof`).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
OTELCOL=${OTELCOL_BIN:-bin/otelcol-bench}
ROUNDS=${BENCH_ROUNDS:-5}
TRACES_ITERS=${TRACES_ITERS:-2000}
LOGS_ITERS=${LOGS_ITERS:-5000}
JOIN_ITERS=${JOIN_ITERS:-1000}
DELAYED_ITERS=${DELAYED_ITERS:-300}
DECODE_ITERS=${DECODE_ITERS:-1500}
E2E_ROUNDS=${E2E_ROUNDS:-2}
JOIN_COUNT=${JOIN_COUNT:-5}
MEM_COUNT=${MEM_COUNT:-3}
LOADGEN_DURATION=${LOADGEN_DURATION:-10s}
LOADGEN_WARMUP=${LOADGEN_WARMUP:-15s}
LOADGEN_SETTLE=${LOADGEN_SETTLE:-20s}
LOADGEN_ROUNDS=${LOADGEN_ROUNDS:-3}
LOADGEN_MODES=${LOADGEN_MODES:-none,llm_feedback,tail_sampling,groupbytrace}
LOADGEN_MEMORY_LIMIT_MIB=${LOADGEN_MEMORY_LIMIT_MIB:-16384}
LOADGEN_CPU_BOUND=${LOADGEN_CPU_BOUND:-0.9}
LOADGEN_SENDERS=${LOADGEN_SENDERS:-16}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if [[ ! -x $OTELCOL ]]; then
	echo "bench: $OTELCOL is missing; make bench builds it" >&2
	exit 1
fi

prof=()
if [[ -n ${BENCH_PROFILE_DIR:-} ]]; then
	mkdir -p "$BENCH_PROFILE_DIR"
	prof=(-o "$BENCH_PROFILE_DIR/bench.test" -cpuprofile "$BENCH_PROFILE_DIR/cpu.prof" -memprofile "$BENCH_PROFILE_DIR/mem.prof")
fi

echo "== load: $(uptime)"
# A benchmark step that fails is named at the end and fails the run, but
# the steps after it still run and every BENCH line still prints (NaN
# where its data is missing).
failed=()
# Iteration counts rather than times: every iteration also does untimed work
# (new ids, the batch read into the CPU cache), which a -benchtime in seconds
# would multiply.
echo "== benchmarks: data path against its floor ($ROUNDS interleaved rounds)"
$GO test -run '^$' -bench '^BenchmarkTracesPath$' -benchmem -benchtime "${TRACES_ITERS}x" -count 1 "${prof[@]}" . -rounds "$ROUNDS" | tee "$out/ratio.txt" || failed+=("BenchmarkTracesPath")
$GO test -run '^$' -bench '^BenchmarkLogsPassthrough$' -benchmem -benchtime "${LOGS_ITERS}x" -count 1 . -rounds "$ROUNDS" | tee -a "$out/ratio.txt" || failed+=("BenchmarkLogsPassthrough")

echo "== benchmarks: the traces path on many cores (time under locks, lockstats build; and from every P at once, -cpu 1,2)"
$GO test -tags lockstats -run '^$' -bench '^BenchmarkTracesPathSerial$' -benchtime "${TRACES_ITERS}x" -count 3 . | tee "$out/serial.txt" || failed+=("BenchmarkTracesPathSerial")
$GO test -run '^$' -bench '^BenchmarkTracesPathParallel$' -benchmem -benchtime 1000x -cpu 1,2 -count 1 . -rounds 3 | tee "$out/parallel.txt" || failed+=("BenchmarkTracesPathParallel")

echo "== benchmarks: the cache's hash index against a Go map, and Add into a full cache (internal/store, 3 runs)"
$GO test -run '^$' -bench '^(BenchmarkTableChurn|BenchmarkCacheAddFull)$' -benchtime 300000x -count 3 ./internal/store | tee "$out/store.txt" || failed+=("BenchmarkTableChurn|BenchmarkCacheAddFull")

echo "== benchmarks: feedback joins ($ROUNDS interleaved rounds; then the delayed join, $JOIN_COUNT runs)"
$GO test -run '^$' -bench '^BenchmarkFeedbackJoin$' -benchmem -benchtime "${JOIN_ITERS}x" -count 1 . -rounds "$ROUNDS" | tee "$out/join.txt" || failed+=("BenchmarkFeedbackJoin")
$GO test -run '^$' -bench '^BenchmarkFeedbackDelayedJoin$' -benchmem -benchtime "${DELAYED_ITERS}x" -count "$JOIN_COUNT" . | tee -a "$out/join.txt" || failed+=("BenchmarkFeedbackDelayedJoin")

echo "== benchmarks: decode and consume, without and with llm_feedback, on one CPU ($E2E_ROUNDS interleaved rounds)"
# The in-process counterpart of the load test, steadier than it: one CPU,
# two Ps, as the load test runs the collector.
one_cpu=()
if command -v taskset >/dev/null; then one_cpu=(taskset -c 0); fi
"${one_cpu[@]}" $GO test -run '^$' -bench '^BenchmarkDecodeAndConsume$' -benchmem -benchtime "${DECODE_ITERS}x" -count 1 -cpu 2 . -rounds "$E2E_ROUNDS" | tee "$out/decode.txt" || failed+=("BenchmarkDecodeAndConsume")

echo "== benchmarks: memory after 100,000 ($MEM_COUNT runs)"
$GO test -run '^$' -bench '^BenchmarkMemory' -benchtime 1x -count "$MEM_COUNT" . | tee "$out/mem.txt" || failed+=("BenchmarkMemory")

echo "== load test: $LOADGEN_MODES, $LOADGEN_ROUNDS rounds of $LOADGEN_WARMUP + $LOADGEN_DURATION each"
$GO build -o "$out/loadgen" ./cmd/loadgen
# A failed load test (feedback lost, duplicated or joined wrongly; a run of
# llm_feedback or none that fails, its collector's exit with an error when
# stopped included; a collector that does not start) still lets every figure below print, then fails
# the run. A peer's run that fails once started (groupbytrace stalls when
# what it holds outgrows the budget, or its collector exits with an error
# when stopped) is only left out.
loadgen_rc=0
pin=() collector_cpus=""
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
	# The collector gets CPU 0 and the load generator CPU 1, so the sender's
	# own work does not eat into what the collector can take.
	pin=(taskset -c 1) collector_cpus=0
fi
"${pin[@]}" "$out/loadgen" -collector "$OTELCOL" -collector-cpus "$collector_cpus" -modes "$LOADGEN_MODES" \
	-memory-limit-mib "$LOADGEN_MEMORY_LIMIT_MIB" -cpu-bound "$LOADGEN_CPU_BOUND" -senders "$LOADGEN_SENDERS" -cpuprofile "$out/prof" \
	-warmup "$LOADGEN_WARMUP" -settle "$LOADGEN_SETTLE" -duration "$LOADGEN_DURATION" -rounds "$LOADGEN_ROUNDS" | tee "$out/loadgen.txt" || loadgen_rc=$?

# value FILE BENCH METRIC: the values of METRIC (a unit such as ns/op or
# ns/join) on the lines of benchmark BENCH (name without -N and #NN), in order.
value() {
	awk -v name="$2" -v unit="$3" '
		/^Benchmark/ {
			n = $1; sub(/-[0-9]+$/, "", n); sub(/#[0-9]+$/, "", n)
			if (n != name) next
			for (i = 3; i <= NF; i++) if ($i == unit) print $(i-1)
		}' "$1"
}
median() { sort -g | awk '{v[NR]=$1} END { if (NR == 0) { print "NaN"; exit } if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2 }'; }
# ratio FILE OURS FLOOR: median over rounds of OURS/FLOOR (ns/op), each
# round's pair alone.
ratio() {
	paste <(value "$1" "$2" ns/op) <(value "$1" "$3" ns/op) |
		awk 'NF == 2 && $2 > 0 { printf "%.3f\n", $1/$2 }' | median
}
# xfloor NAME: median over rounds of BenchmarkTracesPath/NAME over its
# floor, which each round of it times on the same batches (x-floor).
xfloor() { value "$out/ratio.txt" "BenchmarkTracesPath/$1" x-floor | median; }
# parallel NAME: median over rounds of ns/op on 1 P ÷ ns/op on 2 Ps of
# BenchmarkTracesPathParallel/NAME (the -N suffix tells the two apart).
parallel() {
	awk -v name="BenchmarkTracesPathParallel/$1" '
		/^Benchmark/ {
			n = $1; p = 1
			if (match(n, /-[0-9]+$/)) { p = substr(n, RSTART + 1); n = substr(n, 1, RSTART - 1) }
			sub(/#[0-9]+$/, "", n)
			if (n != name) next
			for (i = 3; i <= NF; i++) if ($i == "ns/op") { if (p == 2) two[++b] = $(i-1); else one[++a] = $(i-1) }
		}
		END { for (i = 1; i <= a && i <= b; i++) if (two[i] > 0) printf "%.3f\n", one[i] / two[i] }' "$out/parallel.txt" | median
}
# cpu_shares: for each of llm_feedback's load-test runs that is used (the
# load generator renames the profiles of the others), the share of the
# collector's CPU profile samples in llm_feedback's own code
# (scripts/cpu-share.awk), one per line. Unlike the pair ratios, it does not
# move with how fast the machine happens to be while one mode runs.
cpu_shares() {
	for f in "$out"/prof/llm_feedback-*.prof; do
		[[ -f $f ]] && $GO tool pprof -traces "$f" 2>/dev/null | awk -f scripts/cpu-share.awk
	done | { grep -v NaN || true; } # a profile without samples is no figure
}
# marker_shares: for the same runs, the share of the collector's CPU in
# genai.NextMarked, the pass over every span's keys that finds completions:
# the part of llm_feedback's cost that grows with every span, as reading
# every span's attributes once (the traces path's floor) does.
marker_shares() {
	for f in "$out"/prof/llm_feedback-*.prof; do
		[[ -f $f ]] || continue
		$GO tool pprof -top -nodecount=100000 -nodefraction=0 "$f" 2>/dev/null |
			awk '$6 ~ /\/genai\.NextMarked$/ { sub(/%$/, "", $5); v = $5 / 100 } END { if (v == "") print "NaN"; else printf "%.4f\n", v }' || true
	done
}
loadgen() { awk -v k="$1" '$1 == "LOADGEN" { line = $0; sub(/^LOADGEN /, "", line); if (index(line, k " ") == 1) { sub(k " ", "", line); v = line } } END { print (v == "" ? "NaN" : v) }' "$out/loadgen.txt"; }

echo "== medians"
for b in TracesPath/ours TracesPath/ours_indexed TracesPath/ours_0pct TracesPath/decoded/ours; do
	printf '%-32s %12s ns/op %8s allocs/op %10s B/op %10s ns/op its floor\n' "$b" \
		"$(value "$out/ratio.txt" "Benchmark$b" ns/op | median)" \
		"$(value "$out/ratio.txt" "Benchmark$b" allocs/op | median)" \
		"$(value "$out/ratio.txt" "Benchmark$b" B/op | median)" \
		"$(value "$out/ratio.txt" "Benchmark$b" floor-ns/span | median | awk -v n=1000 '$1 != "NaN" { printf "%.0f", $1 * n; next } { print }')"
done
for b in LogsPassthrough/floor LogsPassthrough/ours LogsPassthrough/floor_visit; do
	printf '%-32s %12s ns/op %8s allocs/op %10s B/op\n' "$b" \
		"$(value "$out/ratio.txt" "Benchmark$b" ns/op | median)" \
		"$(value "$out/ratio.txt" "Benchmark$b" allocs/op | median)" \
		"$(value "$out/ratio.txt" "Benchmark$b" B/op | median)"
done
for b in DecodeAndConsume/without DecodeAndConsume/with; do
	printf '%-32s %12s ns/op %8s allocs/op %10s B/op\n' "$b" \
		"$(value "$out/decode.txt" "Benchmark$b" ns/op | median)" \
		"$(value "$out/decode.txt" "Benchmark$b" allocs/op | median)" \
		"$(value "$out/decode.txt" "Benchmark$b" B/op | median)"
done
for b in FeedbackJoin/ours FeedbackJoin/floor_write FeedbackDelayedJoin; do
	printf '%-32s %12s ns/op %8s allocs/op %10s B/op\n' "$b" \
		"$(value "$out/join.txt" "Benchmark$b" ns/op | median)" \
		"$(value "$out/join.txt" "Benchmark$b" allocs/op | median)" \
		"$(value "$out/join.txt" "Benchmark$b" B/op | median)"
done
echo "traces path from every P at once, 1 P over 2 Ps, the floor (what two cores allow): $(parallel floor)"
echo "traces path without completions, over its floor: $(xfloor ours_0pct)"
echo "Add into a full cache with only the trace id indexed, before feedback has named a completion by response id or conversation (BenchmarkCacheAddFull/idle): $(value "$out/store.txt" BenchmarkCacheAddFull/idle ns/op | median) ns"
echo "logs passthrough against visiting records only (ours/floor_visit): $(ratio "$out/ratio.txt" BenchmarkLogsPassthrough/ours BenchmarkLogsPassthrough/floor_visit)"
echo "bytes per cached completion, traces as generated (some hold several): $(value "$out/mem.txt" BenchmarkMemoryCachedCompletion/realistic B/completion | median)"
echo "cache index, delete and insert in a full index of 3,125 (a part's share) / 100,000, table over Go map: $(ratio "$out/store.txt" BenchmarkTableChurn/table/3125 BenchmarkTableChurn/map/3125) / $(ratio "$out/store.txt" BenchmarkTableChurn/table/100000 BenchmarkTableChurn/map/100000)"
echo "decode and consume, in process, throughput with/without: $(ratio "$out/decode.txt" BenchmarkDecodeAndConsume/without BenchmarkDecodeAndConsume/with)"
echo "spans per collector CPU-second, llm_feedback/none, per round: $(loadgen spans_per_cpu_second_ratio_per_round)"
echo "spans per second, llm_feedback/none, per round: $(loadgen throughput_ratio_per_round)"
echo "share of the collector's CPU in llm_feedback's code, per run (CPU profile): $(cpu_shares | tr '\n' ' ')"
echo "of it, finding completions (genai.NextMarked, a pass over every span's keys), per run: $(marker_shares | tr '\n' ' ')"
echo "load test, per mode (medians over the runs used; under GOGC=off every mode's RSS fills the budget, the live heap is what it keeps):"
grep '^|' "$out/loadgen.txt" || true
echo "== load: $(uptime)"

echo "BENCH traces_path_vs_floor $(xfloor ours)"
echo "BENCH traces_path_indexed_vs_floor $(xfloor ours_indexed)"
echo "BENCH traces_path_decoded_vs_floor $(xfloor decoded/ours)"
echo "BENCH logs_passthrough_vs_floor $(ratio "$out/ratio.txt" BenchmarkLogsPassthrough/ours BenchmarkLogsPassthrough/floor)"
echo "BENCH ns_per_feedback_join $(value "$out/join.txt" BenchmarkFeedbackJoin/ours ns/join | median)"
echo "BENCH feedback_join_vs_floor_write $(ratio "$out/join.txt" BenchmarkFeedbackJoin/ours BenchmarkFeedbackJoin/floor_write)"
echo "BENCH bytes_per_cached_completion $(value "$out/mem.txt" BenchmarkMemoryCachedCompletion/one_per_trace B/completion | median)"
echo "BENCH bytes_per_cached_completion_indexed $(value "$out/mem.txt" BenchmarkMemoryCachedCompletion/indexed B/completion | median)"
echo "BENCH traces_path_serial_fraction $(value "$out/serial.txt" BenchmarkTracesPathSerial/waiting serial_fraction | median)"
echo "BENCH traces_path_projected_speedup_16 $(value "$out/serial.txt" BenchmarkTracesPathSerial/waiting speedup_16 | median)"
echo "BENCH traces_path_parallel_speedup $(parallel ours)"
echo "BENCH ns_per_cache_add_full $(value "$out/store.txt" BenchmarkCacheAddFull/indexed ns/op | median)"
echo "BENCH bytes_per_pending_feedback $(value "$out/mem.txt" BenchmarkMemoryPendingFeedback B/pending | median)"
echo "BENCH e2e_cpu_per_span_ratio $(loadgen spans_per_cpu_second_ratio)"
echo "BENCH e2e_span_throughput_ratio $(loadgen throughput_ratio)"
echo "BENCH e2e_cpu_share $(cpu_shares | median)"
# Added memory is measured as peak live heap: under the budget (GOGC=off)
# every mode's peak RSS is the budget itself.
for peer in tail_sampling groupbytrace; do
	echo "BENCH e2e_added_cpu_vs_$peer $(loadgen "added_cpu_vs_$peer")"
	echo "BENCH e2e_added_rss_vs_$peer $(loadgen "added_live_heap_vs_$peer")"
done
echo "BENCH e2e_feedback_joined $(loadgen feedback_joined)"
if ((${#failed[@]} > 0)); then
	echo "bench: these benchmark steps failed (their output is above): ${failed[*]}" >&2
fi
if ((loadgen_rc != 0)); then
	echo "bench: the load test failed (exit $loadgen_rc); see its output above" >&2
	exit "$loadgen_rc"
fi
if ((${#failed[@]} > 0)); then
	exit 1
fi
