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

# One session: its first call (the connection) outside the measure, then
# $2; prints "ms backend_cpu_ms tree_cpu_ms".  $2 prints 'T', ms when it
# times itself (the loop); otherwise the statement is timed around.
in_session() {
	psql -X -qAt -v ON_ERROR_STOP=1 -f - <<SQL | awk -F'[| ]' '
		$1 == "C" {b[++k] = $2; t[k] = $3}
		$1 == "S" {s[++j] = $2}
		$1 == "T" {ms = $2}
		END {if (ms == "") ms = s[2] - s[1]; printf "%.3f %.3f %.3f\n", ms, (b[2] - b[1]) / 1e6, (t[2] - t[1]) / 1e6}'
SELECT dynamo_increment('$1', 1, '$T');
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! bash test/bench/tree_cpu.sh \$BPID
SELECT 'S', extract(epoch FROM clock_timestamp()) * 1000;
$2;
SELECT 'S', extract(epoch FROM clock_timestamp()) * 1000;
\! bash test/bench/tree_cpu.sh \$BPID
SQL
}
plpgsql_loop() { in_session "$1" "SELECT 'T', bench_loop('$1', $2)"; }
noop_loop() { in_session "$1" "SELECT 'T', bench_noop_loop($2)"; }
one_statement() { in_session "$1" "SELECT 'X', count(dynamo_increment('$1', 1, '$T')) FROM generate_series(1, $2)"; }
raw_loop() { $raw "$DDB_ENDPOINT" $T "$1" "$2" | awk '{print $5, $7}'; }
# 8 of a kind at once, each with its share of $2: the slowest one's ms
eight() {
	local kind=$1 total=$2 tag=$3 pids=() i
	for i in $(seq 8); do
		"$kind" "$tag-$i" $((total / 8)) >"$work/eight$i.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$work"/eight?.out | awk '$1 > max {max = $1} END {print max}'
}

source test/bench/jit_warmup.sh
warm_round() {
	raw_loop warm 300 >/dev/null
	plpgsql_loop warm 300 >/dev/null
	one_statement warm 300 >/dev/null
	eight plpgsql_loop 400 warm8 >/dev/null
	eight raw_loop 400 rwarm8 >/dev/null
}
jit_warmup warm_round

csv="$RESULTS_DIR/per_call.csv"
echo "rep,measure,ops_per_s,backend_cpu_us_per_op,tree_cpu_us_per_op" >"$csv"
add() { awk -v a="$1" -v b="$2" 'BEGIN {print a + b}'; }
for rep in $(seq "$REPS"); do
	echo "repetition $rep of $REPS" >&2
	noop_cpu=0 raw_ms=0 raw_cpu=0 pl_ms=0 pl_cpu=0 pl_tree=0 st_ms=0 st_cpu=0 st_tree=0 raw8=0 pl8=0
	for chunk in $(seq "$CHUNKS"); do
		read -r ms cpu < <(raw_loop "raw$rep" $n)
		raw_ms=$(add "$raw_ms" "$ms") raw_cpu=$(add "$raw_cpu" "$cpu")
		read -r ms cpu tree < <(plpgsql_loop "pl$rep" $n)
		pl_ms=$(add "$pl_ms" "$ms") pl_cpu=$(add "$pl_cpu" "$cpu") pl_tree=$(add "$pl_tree" "$tree")
		read -r ms cpu tree < <(noop_loop "noop$rep" $((n * 10)))
		noop_cpu=$(add "$noop_cpu" "$cpu")
		read -r ms cpu tree < <(one_statement "st$rep" $n)
		st_ms=$(add "$st_ms" "$ms") st_cpu=$(add "$st_cpu" "$cpu") st_tree=$(add "$st_tree" "$tree")
		raw8=$(add "$raw8" "$(eight raw_loop $n "r8$rep-$chunk")")
		pl8=$(add "$pl8" "$(eight plpgsql_loop $n "p8$rep-$chunk")")
	done
	total=$((n * CHUNKS))
	awk -v r="$rep" -v n="$total" -v rm="$raw_ms" -v rc="$raw_cpu" -v pm="$pl_ms" -v pc="$pl_cpu" -v pt="$pl_tree" \
		-v sm="$st_ms" -v sc="$st_cpu" -v st="$st_tree" -v r8="$raw8" -v p8="$pl8" -v nc="$noop_cpu" -v n8=$((n / 8 * 8 * CHUNKS)) 'BEGIN {
		printf "%s,sequential raw libcurl,%.1f,%.1f,%.1f\n", r, n * 1000 / rm, rc * 1000 / n, rc * 1000 / n
		printf "%s,sequential PL/pgSQL loop,%.1f,%.1f,%.1f\n", r, n * 1000 / pm, pc * 1000 / n, pt * 1000 / n
		printf "%s,sequential one statement,%.1f,%.1f,%.1f\n", r, n * 1000 / sm, sc * 1000 / n, st * 1000 / n
		printf "%s,PL/pgSQL loop around a no-op,,%.2f,\n", r, nc * 1000 / (n * 10)
		printf "%s,8 clients raw libcurl,%.1f,,\n", r, n8 * 1000 / r8
		printf "%s,8 clients PL/pgSQL loops,%.1f,,\n", r, n8 * 1000 / p8
	}' >>"$csv"
done

median() { grep ",$1," "$csv" | cut -d, -f"$2" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
MEASURES=("sequential raw libcurl" "sequential PL/pgSQL loop" "sequential one statement" "PL/pgSQL loop around a no-op" "8 clients raw libcurl" "8 clients PL/pgSQL loops")
{
	echo
	printf "%-30s %10s %18s %16s\n" "median of $REPS, N = $N" "ops/s" "backend CPU us/op" "tree CPU us/op"
	for m in "${MEASURES[@]}"; do
		printf "%-30s %10s %18s %16s\n" "$m" "$(median "$m" 3)" "$(median "$m" 4)" "$(median "$m" 5)"
	done
	echo
	ratio() { awk -v a="$2" -v b="$3" -v t="$1" 'BEGIN {printf "%-62s %5.2f\n", t ":", a / b}'; }
	ratio "sequential, PL/pgSQL loop / raw loop" "$(median "sequential PL/pgSQL loop" 3)" "$(median "sequential raw libcurl" 3)"
	ratio "sequential, one statement / raw loop" "$(median "sequential one statement" 3)" "$(median "sequential raw libcurl" 3)"
	ratio "8 clients, PL/pgSQL loops / raw loops" "$(median "8 clients PL/pgSQL loops" 3)" "$(median "8 clients raw libcurl" 3)"
	ratio "CPU per increment, postmaster tree (PL/pgSQL loop) / raw loop" "$(median "sequential PL/pgSQL loop" 5)" "$(median "sequential raw libcurl" 5)"
	ratio "CPU per increment, backend (PL/pgSQL loop) / raw loop" "$(median "sequential PL/pgSQL loop" 4)" "$(median "sequential raw libcurl" 4)"
	ratio "CPU per increment, backend (one statement) / raw loop" "$(median "sequential one statement" 4)" "$(median "sequential raw libcurl" 4)"
	echo
	echo "warm-up: the last round cost DynamoDB Local's JIT compiler $jit_round_ms ms"
} | tee "$RESULTS_DIR/per_call.txt"
