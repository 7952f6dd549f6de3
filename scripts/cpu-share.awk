# cpu-share.awk: reads `go tool pprof -traces PROFILE` (a CPU profile of the
# collector, as cmd/loadgen -cpuprofile takes them) and prints the share of
# the samples spent in llm_feedback's own code: a sample counts when, walking its
# stack from the leaf, a frame of this module comes before any frame of the
# pipeline's next consumers (refconsumer, fanoutconsumer: the pass-through of
# a batch to the exporters is not llm_feedback's cost), or when any frame is
# the emitter's (its output, exporter included, exists only because of it).
function ms(v) {
	if (v ~ /ms$/) return v + 0
	if (v ~ /us$/) return (v + 0) / 1000
	if (v ~ /ns$/) return (v + 0) / 1e6
	if (v ~ /s$/) return (v + 0) * 1000
	return v + 0
}
function check(f) {
	if (f ~ /llmfeedbackprocessor\.\(\*emitter\)/) emitted = 1
	if (decided) return
	if (f ~ /refconsumer|fanoutconsumer/) decided = 1
	else if (f ~ /^github\.com\/llm-feedback\/llmfeedbackprocessor/) { decided = 1; ours = 1 }
}
function done() {
	total += val
	if (ours || emitted) mine += val
	val = 0
}
# A sample's block: pprof label lines ("key: value"), if any, then its value
# and leaf frame on one line, then the callers, a frame a line.
/^-+\+/ { if (inblock) done(); inblock = 1; first = 1; decided = 0; ours = 0; emitted = 0; next }
inblock && first && $1 !~ /^[0-9.]+[a-z]*$/ { next }
inblock && first { val = ms($1); first = 0; check($2); next }
inblock && NF > 0 { check($1) }
END {
	if (inblock) done()
	if (total > 0) printf "%.4f\n", mine / total
	else print "NaN"
}
