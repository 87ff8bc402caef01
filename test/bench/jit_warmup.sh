# jit_warmup.sh - sourced by the benchmarks' sessions: warm DynamoDB Local
# until its JIT compiler is quiet.  Its compiler threads share the two
# cores: still compiling, they made whichever measure ran first slower (up
# to a fifth of the samples in perf).
#
#   jit_warmup ROUND_FUNCTION    runs ROUND_FUNCTION (every kind of request
#   the benchmark makes) until one round costs the compiler threads under
#   50 ms, or 20 rounds; sets jit_round_ms to the last round's cost.

# CPU ticks DynamoDB Local's JIT compiler threads have used so far
jit_ticks() {
	local t=0 f
	for f in /proc/"${DDB_PID:?}"/task/*; do
		[[ $(cat "$f/comm" 2>/dev/null) == C[12]\ CompilerThre* ]] || continue
		t=$((t + $(sed 's/^.*) //' "$f/stat" | awk '{print $12 + $13}')))
	done
	echo "$t"
}

jit_warmup() {
	local round before
	jit_round_ms=?
	for round in $(seq 20); do
		before=$(jit_ticks)
		"$1"
		jit_round_ms=$((($(jit_ticks) - before) * 1000 / $(getconf CLK_TCK)))
		echo "warm-up round $round: DynamoDB Local's JIT compiler used $jit_round_ms ms" >&2
		((jit_round_ms < 50)) && break
	done
	return 0
}
