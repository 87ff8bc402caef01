#!/usr/bin/env bash
# per_call_profile_session.sh - the profiles of per_call_profile.sh, inside its cluster.
set -euo pipefail
: "${M:?} ${DDB_ENDPOINT:?} ${RESULTS_DIR:?}"
T=BenchCounters
raw=test/bench/raw_curl_loop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION dynamo_atomic;
SELECT dynamo_create_counter_table('$T');
CREATE FUNCTION bench_loop(counter text, n int) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz;
	total float8 := 0;
BEGIN
	FOR i IN 1..n LOOP
		t0 := clock_timestamp();
		PERFORM dynamo_increment(counter, 1, '$T');
		total := total + extract(epoch FROM clock_timestamp() - t0);
	END LOOP;
	RETURN total * 1000;
END \$\$;
SQL
source test/bench/jit_warmup.sh
warm_round() {
	$raw "$DDB_ENDPOINT" $T warm 1000 >/dev/null
	psql -X -qAt -c "SELECT bench_loop('warm', 1000)" -c "SELECT count(dynamo_increment('warm', 1, '$T')) FROM generate_series(1, 1000)" >/dev/null
}
jit_warmup warm_round

# $1: a name; $2: the statement.  A backend's first call outside, then the
# tool ($3: perf or strace) attached to it for the statement.
attach() {
	local tool=$3
	psql -X -qAt -v ON_ERROR_STOP=1 -f - >/dev/null <<SQL
SELECT dynamo_increment('$1', 1, '$T');
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! $(if [[ $tool == perf ]]; then echo "perf record -q --call-graph dwarf,32768 -F 2000 -o $work/$1.perf -p \$BPID"; else echo "strace -c -o $work/$1.strace -p \$BPID"; fi) >$work/$1.log 2>&1 & echo \$! > $work/$1.pid; sleep 1
$2;
\! kill -INT \$(cat $work/$1.pid); while kill -0 \$(cat $work/$1.pid) 2>/dev/null; do sleep 0.1; done
SQL
}
syscalls() { awk -v n="$2" '$NF ~ /^(poll|sendto|recvfrom|epoll_wait|read|write)$/ && $4 ~ /^[0-9]+$/ {printf " %s %.2f", $NF, $4 / n}' "$1"; echo; }
# (head closes the pipe early: not a failure)
report() (
	set +o pipefail
	echo "== $1: libraries (share of samples)"
	perf report -i "$2" --no-children --sort dso -g none 2>/dev/null | grep '%' | head -10
	echo "== $1: user-space functions above 0.5 % (with what they call, their own)"
	perf report -i "$2" --children --sort sym -g none --percent-limit 0.5 2>/dev/null | grep '%' |
		grep -v -e '0x0000' -e '\[k\]' | head -70
)

attach statement "SELECT count(dynamo_increment('statement', 1, '$T')) FROM generate_series(1, $M)" perf
attach loop "SELECT bench_loop('loop', $M)" perf
attach statement_s "SELECT count(dynamo_increment('statement_s', 1, '$T')) FROM generate_series(1, $M)" strace
attach loop_s "SELECT bench_loop('loop_s', $M)" strace
perf record -q --call-graph dwarf,32768 -F 2000 -o "$work/raw.perf" $raw "$DDB_ENDPOINT" $T raw "$M" >/dev/null 2>&1
strace -c -o "$work/raw.strace" $raw "$DDB_ENDPOINT" $T raw_s "$M" >/dev/null
{
	echo "M = $M calls each; DWARF call graphs at 2000 Hz"
	echo "system calls per call (strace -c):"
	echo "  one statement:$(syscalls "$work/statement_s.strace" "$M")"
	echo "  PL/pgSQL loop:$(syscalls "$work/loop_s.strace" "$M")"
	echo "  raw loop:     $(syscalls "$work/raw.strace" "$M")"
	report "one statement" "$work/statement.perf"
	report "PL/pgSQL loop" "$work/loop.perf"
	report "raw loop" "$work/raw.perf"
} >"$RESULTS_DIR/per_call_profile.txt"
echo "wrote $RESULTS_DIR/per_call_profile.txt" >&2
