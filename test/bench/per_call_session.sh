#!/usr/bin/env bash
# per_call_session.sh - the measurements of per_call.sh, inside its cluster.
set -euo pipefail
: "${N:?} ${REPS:?} ${DDB_ENDPOINT:?} ${RESULTS_DIR:?}"
T=BenchCounters
raw=test/bench/raw_curl_loop
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CHUNKS=5
n=$((N / CHUNKS))
# Each of the 8 clients makes n / 2 calls a chunk: with n / 8 (125), a new
# backend's first calls (its catalog caches filling, the loop compiled)
# were a tenth of its measure, and the 8-client ratio measured that.
EIGHT=4

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION dynamo_atomic;
SELECT dynamo_create_counter_table('$T');
-- As an outside benchmark loops: clock_timestamp() around each call,
-- the calls' times summed (ms).
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
-- The same loop around a call that does nothing: what the loop itself costs.
CREATE FUNCTION bench_noop_loop(n int) RETURNS float8 LANGUAGE plpgsql AS \$\$
DECLARE
	t0 timestamptz;
	total float8 := 0;
BEGIN
	FOR i IN 1..n LOOP
		t0 := clock_timestamp();
		PERFORM abs(i);
		total := total + extract(epoch FROM clock_timestamp() - t0);
	END LOOP;
	RETURN total * 1000;
END \$\$;
SQL

# One session: its first call (the connection) outside the measure; no
# other client backend left (a backend still exiting would be reaped into
# the postmaster's ticks mid-measure); then $2, with the CPU of the backend
# and of the postmaster's tree read around it.  Prints "ms backend_cpu_ms
# tree_cpu_ms" into $3 and fails unless every sample is there.  $2 prints
# 'T', ms when it times itself (the loops); otherwise the statement is
# timed around.
in_session() {
	psql -X -qAt -v ON_ERROR_STOP=1 -f - >"$3.raw" <<SQL
SELECT dynamo_increment('$1', 1, '$T');
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! until [ "\$(psql -X -qAt -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid NOT IN (\$BPID, pg_backend_pid())")" = 0 ]; do sleep 0.01; done
\! bash test/bench/tree_cpu.sh \$BPID
SELECT 'S', extract(epoch FROM clock_timestamp()) * 1000;
$2;
SELECT 'S', extract(epoch FROM clock_timestamp()) * 1000;
\! bash test/bench/tree_cpu.sh \$BPID
SQL
	awk -F'[| ]' -v timed="$4" '
		$1 == "C" {b[++k] = $2; t[k] = $3}
		$1 == "S" {s[++j] = $2}
		$1 == "T" {ms = $2; ++timed_lines}
		END {
			if (k != 2 || j != 2 || (timed && timed_lines != 1)) exit 1
			if (!timed) ms = s[2] - s[1]
			printf "%.3f %.3f %.3f\n", ms, (b[2] - b[1]) / 1e6, (t[2] - t[1]) / 1e6
		}' "$3.raw" >"$3"
}
plpgsql_loop() { in_session "$1" "SELECT 'T', bench_loop('$1', $2)" "$3" 1; }
noop_loop() { in_session "$1" "SELECT 'T', bench_noop_loop($2)" "$3" 1; }
one_statement() { in_session "$1" "SELECT 'X', count(dynamo_increment('$1', 1, '$T')) FROM generate_series(1, $2)" "$3" 0; }
raw_loop() {
	$raw "$DDB_ENDPOINT" $T "$1" "$2" >"$3.raw"
	awk '$1 == "raw_libcurl" {print $5, $7, $7; found = 1} END {exit !found}' "$3.raw" >"$3"
}
# the floor of the direct requests' transport: libcurl connects, the loop sends and reads
raw_direct_loop() { RAW_LOOP_DIRECT=1 raw_loop "$@"; }

# 8 clients of a kind ($1: raw or plpgsql), each with its share of $2
# calls: every one makes its first call (its connection; a backend's
# through its loop, which compiles it), says it is ready, and waits for
# the barrier file; all start together when it
# appears.  Prints the ms from the barrier to the last one's end, on the
# driver's clock, into $4; fails if any client failed.
eight() {
	local kind=$1 total=$2 tag=$3 pids=() i pid start
	rm -f "$work"/go "$work"/go.ready.*
	for i in $(seq 8); do
		if [[ $kind == raw ]]; then
			RAW_LOOP_BARRIER="$work/go" $raw "$DDB_ENDPOINT" $T "$tag-$i" $((total / 8)) >"$work/eight$i" &
		else
			psql -X -qAt -v ON_ERROR_STOP=1 -f - >"$work/eight$i" <<SQL &
SELECT bench_loop('$tag-$i', 1);
\! touch $work/go.ready.$i; until [ -e $work/go ]; do sleep 0.001; done
SELECT 'T', bench_loop('$tag-$i', $((total / 8)));
SQL
		fi
		pids+=($!)
	done
	until (($(find "$work" -name 'go.ready.*' | wc -l) >= 8)); do sleep 0.001; done
	start=$(date +%s%N)
	touch "$work/go"
	for pid in "${pids[@]}"; do
		wait "$pid"
	done
	awk -v s="$start" -v e="$(date +%s%N)" 'BEGIN {printf "%.3f\n", (e - s) / 1e6}' >"$4"
}

source test/bench/jit_warmup.sh
warm_round() {
	raw_loop warm 300 "$work/w"
	raw_direct_loop warm 300 "$work/w"
	plpgsql_loop warm 300 "$work/w"
	one_statement warm 300 "$work/w"
	eight plpgsql 400 warm8 "$work/w"
	eight raw 400 rwarm8 "$work/w"
}
jit_warmup warm_round

csv="$RESULTS_DIR/per_call.csv"
echo "rep,measure,ops_per_s,backend_cpu_us_per_op,tree_cpu_us_per_op" >"$csv"
sum() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", a + b}'; }
# the sequential measures, in an order that turns with the chunk
SEQUENTIAL=(raw plpgsql statement rawdirect)
for rep in $(seq "$REPS"); do
	echo "repetition $rep of $REPS" >&2
	declare -A ms=() cpu=() tree=()
	for k in raw plpgsql statement rawdirect noop eight_raw eight_plpgsql; do ms[$k]=0 cpu[$k]=0 tree[$k]=0; done
	for chunk in $(seq "$CHUNKS"); do
		for j in 0 1 2 3; do
			k=${SEQUENTIAL[$(((chunk + j) % 4))]}
			case $k in
				raw) raw_loop "raw$rep" $n "$work/m" ;;
				rawdirect) raw_direct_loop "rawd$rep" $n "$work/m" ;;
				plpgsql) plpgsql_loop "pl$rep" $n "$work/m" ;;
				statement) one_statement "st$rep" $n "$work/m" ;;
			esac
			read -r a b c <"$work/m"
			ms[$k]=$(sum "${ms[$k]}" "$a") cpu[$k]=$(sum "${cpu[$k]}" "$b") tree[$k]=$(sum "${tree[$k]}" "$c")
		done
		noop_loop "noop$rep" $((n * 10)) "$work/m"
		read -r a b c <"$work/m"
		cpu[noop]=$(sum "${cpu[noop]}" "$b")
		# the 8-client pair, in an order that turns with the chunk too
		for kind in $(if ((chunk % 2)); then echo raw plpgsql; else echo plpgsql raw; fi); do
			eight $kind $((n * EIGHT)) "${kind:0:1}8$rep-$chunk" "$work/m"
			ms[eight_$kind]=$(sum "${ms[eight_$kind]}" "$(cat "$work/m")")
		done
	done
	total=$((n * CHUNKS)) n8=$((n * EIGHT / 8 * 8 * CHUNKS))
	for k in raw plpgsql statement rawdirect; do
		label=$(case $k in raw) echo "sequential raw libcurl" ;; plpgsql) echo "sequential PL/pgSQL loop" ;;
			rawdirect) echo "sequential raw direct" ;; *) echo "sequential one statement" ;; esac)
		awk -v r="$rep" -v l="$label" -v n="$total" -v m="${ms[$k]}" -v c="${cpu[$k]}" -v t="${tree[$k]}" \
			'BEGIN {printf "%s,%s,%.1f,%.1f,%.1f\n", r, l, n * 1000 / m, c * 1000 / n, t * 1000 / n}' >>"$csv"
	done
	awk -v r="$rep" -v n=$((n * 10 * CHUNKS)) -v c="${cpu[noop]}" \
		'BEGIN {printf "%s,PL/pgSQL loop around a no-op,,%.2f,\n", r, c * 1000 / n}' >>"$csv"
	awk -v r="$rep" -v n="$n8" -v a="${ms[eight_raw]}" -v b="${ms[eight_plpgsql]}" 'BEGIN {
		printf "%s,8 clients raw libcurl,%.1f,,\n", r, n * 1000 / a
		printf "%s,8 clients PL/pgSQL loops,%.1f,,\n", r, n * 1000 / b
	}' >>"$csv"
done

# Each repetition's ratios (the raw loop and the backends took turns within
# it), then their median and range.
value() { awk -F, -v r="$1" -v m="$2" -v f="$3" '$1 == r && $2 == m {print $f}' "$csv"; }
median() { awk -F, -v m="$1" -v f="$2" '$2 == m {print $f}' "$csv" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
RATIOS=("sequential, PL/pgSQL loop / raw loop|sequential PL/pgSQL loop|sequential raw libcurl|3"
	"sequential, one statement / raw loop|sequential one statement|sequential raw libcurl|3"
	"8 clients, PL/pgSQL loops / raw loops|8 clients PL/pgSQL loops|8 clients raw libcurl|3"
	"CPU per call, postmaster tree (PL/pgSQL loop) / raw loop|sequential PL/pgSQL loop|sequential raw libcurl|5"
	"CPU per call, backend (PL/pgSQL loop) / raw loop|sequential PL/pgSQL loop|sequential raw libcurl|4"
	"CPU per call, backend (one statement) / raw loop|sequential one statement|sequential raw libcurl|4"
	"CPU per call, postmaster tree (PL/pgSQL loop) / raw direct|sequential PL/pgSQL loop|sequential raw direct|5"
	"CPU per call, backend (one statement) / raw direct|sequential one statement|sequential raw direct|4")
MEASURES=("sequential raw libcurl" "sequential raw direct" "sequential PL/pgSQL loop" "sequential one statement" "PL/pgSQL loop around a no-op" "8 clients raw libcurl" "8 clients PL/pgSQL loops")
{
	echo
	printf "%-30s %10s %18s %16s\n" "median of $REPS, $((n * CHUNKS)) calls" "calls/s" "backend CPU us" "tree CPU us"
	for m in "${MEASURES[@]}"; do
		printf "%-30s %10s %18s %16s\n" "$m" "$(median "$m" 3)" "$(median "$m" 4)" "$(median "$m" 5)"
	done
	echo
	printf "%-58s %s\n" "ratio" "each repetition -> median (range)"
	for spec in "${RATIOS[@]}"; do
		IFS='|' read -r title a b f <<<"$spec"
		for rep in $(seq "$REPS"); do
			awk -v x="$(value "$rep" "$a" "$f")" -v y="$(value "$rep" "$b" "$f")" 'BEGIN {printf "%.3f\n", x / y}'
		done | sort -g | awk -v t="$title" '{v[NR] = $1; s = s sprintf(" %.2f", $1)}
			END {printf "%-58s%s -> %.2f (%.2f-%.2f)\n", t ":", s, v[int((NR + 1) / 2)], v[1], v[NR]}'
	done
	echo
	echo "warm-up: the last round cost DynamoDB Local's JIT compiler $jit_round_ms ms"
} | tee "$RESULTS_DIR/per_call.txt"
