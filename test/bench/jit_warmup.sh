# jit_warmup.sh - sourced by the benchmarks' sessions: warm DynamoDB Local
# until its JIT compiler is quiet.  Its compiler threads share the two
# cores: still compiling, they made whichever measure ran first slower (up
# to a fifth of the samples in perf).
#
#   jit_warmup ROUND_FUNCTION    runs ROUND_FUNCTION (every kind of request
#   the benchmark makes) until one round costs the compiler threads under
#   50 ms, or 20 rounds; sets jit_round_ms to the last round's cost.

# "TID TICKS" for each of DynamoDB Local's JIT compiler threads: the CPU
# ticks each has used so far (a thread gone between two reads is left out).
jit_threads() {
	awk -v dir="/proc/${DDB_PID:?}/task" 'BEGIN {
		cmd = "ls " dir
		while ((cmd | getline tid) > 0) {
			comm = ""; stat = ""
			if ((getline comm < (dir "/" tid "/comm")) <= 0) continue
			close(dir "/" tid "/comm")
			if (comm !~ /^C[12] CompilerThre/) continue
			if ((getline stat < (dir "/" tid "/stat")) <= 0) continue
			close(dir "/" tid "/stat")
			sub(/^.*\) /, "", stat)
			split(stat, f, " ")
			print tid, f[12] + f[13]
		}
	}'
}

# The compiler's ms between two jit_threads snapshots; a thread that ended
# meanwhile (the JVM stops idle compiler threads) takes its work with it,
# so the round counts as not quiet (9999).
jit_round_cost() {
	awk -v hz="$(getconf CLK_TCK)" 'NR == FNR {before[$1] = $2; next}
		{if ($1 in before) {total += $2 - before[$1]; delete before[$1]} else total += $2}
		END {for (t in before) gone = 1; print gone ? 9999 : int(total * 1000 / hz)}' "$1" "$2"
}

jit_warmup() {
	local round snap
	snap=$(mktemp -d)
	jit_round_ms=?
	for round in $(seq 20); do
		jit_threads >"$snap/before"
		"$1"
		jit_threads >"$snap/after"
		jit_round_ms=$(jit_round_cost "$snap/before" "$snap/after")
		echo "warm-up round $round: DynamoDB Local's JIT compiler used $jit_round_ms ms" >&2
		((jit_round_ms < 50)) && break
	done
	rm -rf "$snap"
	return 0
}
