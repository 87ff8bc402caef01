#!/usr/bin/env bash
# Memory stays flat (the short form of the bounds; test/bench/memory.sh runs
# the long one and draws the curves): after a warm-up, each workload grows
# one backend's resident memory by less than 1 MB:
#   - 5,000 increments;
#   - 1,000 lock acquire/release cycles of each scope;
#   - 2,000 failing calls (a missing table: 42P01, caught);
#   - 2,000 failing calls DynamoDB throttles past the retry budget (53400);
#   - 2,000 increments whose answers are lost (40003);
#   - 2,000 calls DynamoDB refuses as invalid (ValidationException: 22023);
#   - dynamo_query in the select list, 4 x 5,000 rows of one partition;
# and the lock workers refreshing 200 locks with 2 s leases for 30 s grow
# by less than 1 MB in all.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseMemory
case_begin "$T"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
curl -s --max-time 5 "$fake/_control?fault=throttle&target=UpdateItem&match=throttled" >/dev/null
curl -s --max-time 5 "$fake/_control?add=1&fault=drop-answer&target=UpdateItem&match=lost" >/dev/null
curl -s --max-time 5 "$fake/_control?add=1&fault=validation&target=UpdateItem&match=invalid" >/dev/null
curl -s --max-time 5 "$fake/_control?add=1&log=0" >/dev/null
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_item_table('${T}Items', if_not_exists => true)" >/dev/null
for i in 0 1000 2000 3000 4000; do
	sql -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'big', 'sk', lpad(g::text, 6, '0'), 'v', g))
		FROM generate_series($i + 1, $i + 1000) g), '${T}Items')" >/dev/null
done

# One session runs each workload twice (warm-up, then measured) and prints
# its VmRSS (kB) after each, as "rss N".
rss=$(backend_memory_probe VmRSS memory-probe rss)
out=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<-SQL
	SET client_min_messages = warning;
	SET application_name = 'memory-probe';
	CREATE OR REPLACE FUNCTION mem_increments(n int) RETURNS void LANGUAGE plpgsql AS \$\$
	BEGIN
		PERFORM dynamo_increment('mem', 1, '$T') FROM generate_series(1, n);
	END \$\$;
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
	CREATE OR REPLACE FUNCTION mem_failures(n int, table_name text, counter text DEFAULT 'throttled') RETURNS int LANGUAGE plpgsql AS \$\$
	DECLARE failed int := 0;
	BEGIN
		FOR i IN 1..n LOOP
			BEGIN
				PERFORM dynamo_increment(counter, 1, table_name);
			EXCEPTION WHEN undefined_table OR configuration_limit_exceeded OR invalid_parameter_value OR SQLSTATE '40003' THEN
				failed := failed + 1;
			END;
		END LOOP;
		RETURN failed;
	END \$\$;
	SELECT mem_increments(1000);
	\! $rss
	SELECT mem_increments(5000);
	\! $rss
	SELECT mem_locks(200);
	\! $rss
	SELECT mem_locks(1000);
	\! $rss
	SELECT mem_failures(300, 'NoSuchTableForMemory');
	\! $rss
	SELECT mem_failures(2000, 'NoSuchTableForMemory');
	\! $rss
	SET dynamo_atomic.endpoint = '$fake';
	SET dynamo_atomic.max_retries = 0;
	SELECT mem_failures(300, '$T');
	\! $rss
	SELECT mem_failures(2000, '$T');
	\! $rss
	SELECT mem_failures(300, '$T', 'lost');
	\! $rss
	SELECT mem_failures(2000, '$T', 'lost');
	\! $rss
	SELECT mem_failures(300, '$T', 'invalid');
	\! $rss
	SELECT mem_failures(2000, '$T', 'invalid');
	\! $rss
	RESET dynamo_atomic.endpoint;
	SELECT 'rows ' || count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items')) q;
	\! $rss
	SELECT 'rows ' || count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items')) q;
	SELECT 'rows ' || count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items')) q;
	SELECT 'rows ' || count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items')) q;
	SELECT 'rows ' || count(*) FROM (SELECT dynamo_query('big', NULL, '${T}Items')) q;
	\! $rss
SQL
)
check() { expect_growth_below "memory: $1 grow the backend by less than 1 MB" 1024 "$2" "$3" "$out"; }
mapfile -t rss_values < <(sed -n 's/^rss //p' <<<"$out")
expect_eq "memory: every failing call failed as it should (42P01, 53400, 40003, 22023)" "300 2000 300 2000 300 2000 300 2000" \
	"$(grep -E '^[0-9]+$' <<<"$out" | paste -sd' ')"
check "5,000 increments" "${rss_values[0]}" "${rss_values[1]}"
check "1,000 lock cycles of each scope" "${rss_values[2]}" "${rss_values[3]}"
check "2,000 failing calls (42P01)" "${rss_values[4]}" "${rss_values[5]}"
check "2,000 throttled calls past the retry budget (53400)" "${rss_values[6]}" "${rss_values[7]}"
check "2,000 increments whose answers were lost (40003)" "${rss_values[8]}" "${rss_values[9]}"
check "2,000 calls refused as invalid (22023)" "${rss_values[10]}" "${rss_values[11]}"
check "dynamo_query in the select list over 4 x 5,000 rows" "${rss_values[12]}" "${rss_values[13]}"
expect_eq "memory: dynamo_query read the whole partition each of the 5 times" "5" "$(grep -c '^rows 5000$' <<<"$out")"

# --- the lock workers: 200 locks with 2 s leases, held by one session for 30 s
psql -X -qAt -c "SET application_name = 'memory-holder'" \
	-c "SELECT count(dynamo_get_lock('mem-held-' || i, 2000, 0, '${T}Locks')) FROM generate_series(1, 200) i" \
	-c "SELECT pg_sleep(120)" >"$work/holder.out" 2>&1 &
harness_track_pid $!
holding() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE NOT lost AND last_refresh IS NOT NULL") == 200 ]]; }
workers_rss() {
	sql -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'" |
		while read -r pid; do awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; done | awk '{ s += $1 } END { print s }'
}
if harness_wait_for 30 holding; then
	before=$(workers_rss)
	sleep 30 # the point: 30 s of heartbeats pass (about 3,000)
	after=$(workers_rss)
	expect_growth_below "memory: the lock workers refreshing 200 locks (2 s leases) for 30 s grow by less than 1 MB in all" \
		1024 "$before" "$after"
	expect_eq "...and none of the 200 locks was lost meanwhile" 0 \
		"$(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lost")"
else
	fail "memory: the 200 locks were not all taken and refreshed" "$(head -3 "$work/holder.out")"
fi
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'memory-holder'" >/dev/null
