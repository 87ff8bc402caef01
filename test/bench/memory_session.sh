#!/usr/bin/env bash
# memory_session.sh - the workloads of memory.sh, inside its cluster: one
# psql session runs each in twenty-one chunks (the first is the warm-up) and
# samples itself after each chunk; then a session holds 200 locks while the
# lock workers' RSS is sampled.  Writes memory.csv, draws memory.png.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
RESULTS=/dev/null
source test/lib/assert.sh

T=BenchMemory
S=$SCALE
csv=$RESULTS_DIR/memory.csv
work=$(mktemp -d)
trap 'harness_stop_all; rm -rf "$work"' EXIT
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic" \
	-c "SELECT dynamo_create_counter_table('$T', if_not_exists => true)" \
	-c "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" \
	-c "SELECT dynamo_create_item_table('${T}Items', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" env FAKE_AWS_LIFETIME_S=7200 node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
curl -s --max-time 5 "$fake/_control?log=0&fault=throttle&match=mem-throttled" >/dev/null
curl -s --max-time 5 "$fake/_control?log=0&add=1&fault=drop-answer&match=mem-lost" >/dev/null
curl -s --max-time 5 "$fake/_control?log=0&add=1&fault=validation&match=mem-invalid" >/dev/null

items=$((50000 * S))
log "loading a partition of $items items"
for ((i = 0; i < items; i += 1000)); do
	sql -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'big', 'sk', lpad(g::text, 8, '0'), 'v', g))
		FROM generate_series($i + 1, $i + 1000) g), '${T}Items')" >/dev/null
done

# workload NAME OPS_PER_CHUNK SQL: twenty-one chunks, each followed by a sample
workload() {
	local i
	for ((i = 0; i <= 20; i++)); do
		echo "$3;"
		echo "\\! awk '/^VmRSS/ { print \"rss|$1|$((i * $2))|\" \$2 }' /proc/\$(psql -X -qAt -c \"SELECT pid FROM pg_stat_activity WHERE application_name = 'memory-bench'\")/status"
		echo "SELECT 'ctx|$1|$((i * $2))|' || (SELECT sum(total_bytes) / 1024 FROM pg_backend_memory_contexts);"
	done
}
n_inc=$((5000 * S)) n_lock=$((500 * S)) n_fail=$((500 * S))
log "one backend: $((20 * n_inc)) increments, $((20 * n_lock)) lock cycles of each scope, 5 x $items query rows, $((20 * n_fail)) failing calls of each kind"
out=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<-SQL
	SET client_min_messages = warning;
	SET application_name = 'memory-bench';
	CREATE OR REPLACE FUNCTION mem_locks(n int) RETURNS void LANGUAGE plpgsql AS \$\$
	BEGIN
		FOR i IN 1..n LOOP
			PERFORM dynamo_release_lock(dynamo_get_lock('mem-lock', 30000, 0, '${T}Locks'));
			BEGIN   -- a subtransaction rolled back releases its transaction lock
				PERFORM dynamo_get_xact_lock('mem-xact', 30000, 0, '${T}Locks');
				RAISE EXCEPTION 'done';
			EXCEPTION WHEN raise_exception THEN
				NULL;
			END;
		END LOOP;
	END \$\$;
	CREATE OR REPLACE FUNCTION mem_failures(n int, counter text) RETURNS int LANGUAGE plpgsql AS \$\$
	DECLARE failed int := 0;
	BEGIN
		FOR i IN 1..n LOOP
			BEGIN
				PERFORM dynamo_increment(counter, 1, '$T');
			EXCEPTION WHEN configuration_limit_exceeded OR invalid_parameter_value OR SQLSTATE '40003' THEN
				failed := failed + 1;
			END;
		END LOOP;
		RETURN failed;
	END \$\$;
	$(workload increments "$n_inc" "SELECT count(dynamo_increment('mem', 1, '$T')) FROM generate_series(1, $n_inc)")
	$(workload lock-cycles "$n_lock" "SELECT mem_locks($n_lock)")
	$(workload query-rows "$((items / 4))" "SELECT count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items', false, $((items / 4)))) q")
	SET dynamo_atomic.endpoint = '$fake';
	SET dynamo_atomic.max_retries = 0;
	$(workload throttled "$n_fail" "SELECT 'failed|' || mem_failures($n_fail, 'mem-throttled')")
	$(workload lost-answers "$n_fail" "SELECT 'failed|' || mem_failures($n_fail, 'mem-lost')")
	$(workload validation "$n_fail" "SELECT 'failed|' || mem_failures($n_fail, 'mem-invalid')")
SQL
)
grep -qE '^(rss|ctx)\|' <<<"$out" || { echo "$out" >&2; die "the backend's workloads did not run"; }
failures=$(sed -n 's/^failed|//p' <<<"$out" | sort -u | paste -sd' ')
[[ $failures == "$n_fail" ]] || { echo "$out" | grep -v '^rss\|^ctx' | head -20 >&2; die "a failing call did not fail as expected (counts: $failures)"; }

# The lock workers: one session holds 200 locks with 2 s leases.
minutes=$((5 * S))
log "the lock workers: 200 locks with 2 s leases for $minutes minutes"
psql -X -qAt -c "SET application_name = 'memory-holder'" \
	-c "SELECT count(dynamo_get_lock('mem-held-' || i, 2000, 0, '${T}Locks')) FROM generate_series(1, 200) i" \
	-c "SELECT pg_sleep($((minutes * 60 + 120)))" >"$work/holder.out" 2>&1 &
holder=$!
harness_track_pid "$holder"
holding() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE NOT lost") == 200 ]]; }
harness_wait_for 60 holding || die "the 200 locks were not taken"
requests() { sql -c "SELECT coalesce(sum(requests), 0) FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'"; }
before=$(requests)
workers_rss() { sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'" |
	while read -r pid; do awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; done | awk '{ s += $1 } END { print s }'; }
worker_samples=()
for ((i = 0; i <= 20; i++)); do
	worker_samples+=("rss|lock-workers|$((i * minutes * 3))|$(workers_rss)")
	((i < 20)) && sleep $((minutes * 3)) # the sampling period: the point is that time passes
done
heartbeats=$(($(requests) - before))
lost=$(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lost")
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'memory-holder'" >/dev/null

{
	echo "workload,ops,rss_kb,ctx_kb"
	# each sample is an rss line, then its ctx line
	grep -E '^(rss|ctx)\|' <<<"$out" | awk -F'|' '$1 == "rss" { rss = $4 } $1 == "ctx" { print $2 "," $3 "," rss "," $4 }'
	printf '%s\n' "${worker_samples[@]}" | awk -F'|' '{ print $2 "," $3 "," $4 "," }'
} >"$csv"

echo
echo "growth after the warm-up chunk (kB), last sample minus first:"
printf '  %-14s %12s %10s %10s\n' workload operations RSS contexts
awk -F, 'NR > 1 { if (!($1 in first)) { first[$1] = $3; cfirst[$1] = $4; order[++n] = $1 } last[$1] = $3; clast[$1] = $4; ops[$1] = $2 }
	END { for (i = 1; i <= n; i++) { w = order[i]; printf "  %-14s %12s %+10d %10s\n", w, ops[w], last[w] - first[w],
		(cfirst[w] == "" ? "-" : sprintf("%+d", clast[w] - cfirst[w])) } }' "$csv"
echo "  (lock workers: $heartbeats heartbeat requests in $minutes minutes, $lost of the 200 locks lost)"
bash test/bench/memory_chart.sh "$RESULTS_DIR"
log "wrote $csv and $RESULTS_DIR/memory.png"
