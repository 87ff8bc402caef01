#!/usr/bin/env bash
# demo_session.sh - the demo's SQL, run by demo.sh inside its throwaway cluster.
set -euo pipefail

psql -X -q -v ON_ERROR_STOP=1 -e <<'SQL'
CREATE EXTENSION dynamo_atomic;

-- One DynamoDB table holds any number of counters (on-demand billing);
-- with no name it is dynamo_atomic.counter_table, 'AtomicCounters'.
SELECT dynamo_create_counter_table();

-- Atomic increments: the first call creates the counter.
SELECT dynamo_increment('orders') AS first, dynamo_increment('orders') AS second,
       dynamo_increment('orders', 10) AS plus_ten;
SELECT dynamo_get_last_value('orders') AS orders_now, dynamo_get_last_value('never-used') AS unused;

-- IDs from DynamoDB as a column default: unique across every server that shares the table.
CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT dynamo_increment('order-ids'), item text);
INSERT INTO orders (item) VALUES ('coffee'), ('tea'), ('cake') RETURNING id, item;

-- A bounded counter: seats never go below zero.
SELECT dynamo_set_counter('seats', 2);
SELECT dynamo_increment('seats', -1, min_value => 0) AS seats_left;
SELECT dynamo_increment('seats', -1, min_value => 0) AS seats_left;
SQL

echo "-- a third booking is refused with SQLSTATE 2200H, and nothing changes:"
psql -X -q -v VERBOSITY=verbose -c "SELECT dynamo_increment('seats', -1, min_value => 0)" 2>&1 | head -2 || true
psql -X -q -e -c "SELECT dynamo_get_last_value('seats') AS seats_left"

echo "-- 4 concurrent clients x 250 increments (pgbench) give 1000 distinct values:"
psql -X -q -c "CREATE TABLE got (v bigint)"
printf "INSERT INTO got SELECT dynamo_increment('bench');\n" >/tmp/dynamo_atomic_demo.sql
pgbench -n -c 4 -j 2 -t 250 -f /tmp/dynamo_atomic_demo.sql 2>&1 | grep -E 'tps|processed|error' || true
rm -f /tmp/dynamo_atomic_demo.sql
psql -X -q -e -c "SELECT count(*) AS values, count(DISTINCT v) AS distinct_values, min(v), max(v) FROM got"
echo "-- one session, 200 increments, one kept-alive connection:"
psql -X -q -e -c "SELECT count(dynamo_increment('loop')) AS increments FROM generate_series(1, 200)" \
	-c "SELECT calls, http_requests, connections_opened, round(request_ms::numeric / calls, 2) AS ms_per_call FROM dynamo_atomic_backend_stats()"

echo
echo "-- Locks: one DynamoDB table of locks shared by every server; leases kept alive by a worker."
psql -X -q -e -c "SELECT dynamo_create_lock_table()"
# A session holds 'nightly-job' for a while; meanwhile another session tries to take it.
psql -X -q -c "SET application_name = 'demo-holder'" \
	-c "SELECT lock_name, fencing_token FROM dynamo_get_lock('nightly-job', lease_ms => 2000, payload => '{\"worker\": \"demo-holder\"}')" \
	-c "SELECT pg_sleep(5)" >/dev/null &
holder=$!
until [[ $(psql -X -qAt -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'nightly-job'") == 1 ]]; do sleep 0.1; done
psql -X -q -e -c "SELECT pid, lock_name, scope, fencing_token, expires_at FROM dynamo_held_locks"
psql -X -q -e -c "SELECT dynamo_try_get_lock('nightly-job', 2000) IS NULL AS held_elsewhere"
echo "-- anyone can read who holds it, until when, and the payload it published (leader election):"
psql -X -q -e -c "SELECT held, fencing_token, expires_at, payload FROM dynamo_lock_info('nightly-job')"
echo "-- waiting for it: the holder's lease (2 s) is refreshed, so this waits until the holder's session ends (5 s)"
psql -X -q -e -c "SELECT lock_name, fencing_token FROM dynamo_get_lock('nightly-job', 2000, wait_ms => 10000)"
wait $holder
echo "-- a transaction-scoped lock is released at COMMIT or ROLLBACK:"
psql -X -q -e -c "BEGIN" -c "SELECT lock_name, fencing_token FROM dynamo_get_xact_lock('invoice-42', 10000)" \
	-c "SELECT count(*) AS held FROM dynamo_held_locks WHERE lock_name = 'invoice-42'" -c "COMMIT" \
	-c "SELECT count(*) AS held_after_commit FROM dynamo_held_locks WHERE lock_name = 'invoice-42'"

echo
echo "-- Items: jsonb documents with exact numbers, and optimistic writes."
psql -X -q -e -v ON_ERROR_STOP=1 \
	-c "SELECT dynamo_create_item_table()" \
	-c "SELECT dynamo_put('{\"pk\": \"user#1\", \"sk\": \"profile\", \"name\": \"Ada\", \"balance\": 12345678901234567890.0123456789}')" \
	-c "SELECT dynamo_get('user#1', 'profile')"
echo "-- read the lock, then write with it: the write moves the lock to a new version"
psql -X -q -e -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_read_lock('profile:user#1')" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"user#1\", \"sk\": \"profile\", \"name\": \"Ada L.\"}', ROW(l.*)::dynamo_lock)).version <> l.version AS written FROM l" \
	-c "SELECT dynamo_set_atomic('{\"pk\": \"user#1\", \"sk\": \"profile\", \"name\": \"stale\"}', ROW(l.*)::dynamo_lock) FROM l" \
	-c "SELECT dynamo_get('user#1', 'profile') ->> 'name' AS name" 2>&1 | grep -v '^HINT\|^CONTEXT' || true

echo
echo "-- Any table, any key: conditional writes; a condition that does not hold writes nothing (applied = false)."
psql -X -q -e -v ON_ERROR_STOP=1 \
	-c "SELECT applied FROM dynamo_put_item('AtomicItems', '{\"pk\": \"product#456\", \"sk\": \"price\", \"Price\": 650}')" \
	-c "SELECT applied, attributes ->> 'Price' AS price FROM dynamo_update_item('AtomicItems', '{\"pk\": \"product#456\", \"sk\": \"price\"}', 'SET Price = Price - :p', condition_expression => 'Price > :limit', expression_values => '{\":p\": 200, \":limit\": 500}', return_values => 'ALL_NEW')" \
	-c "SELECT applied, attributes ->> 'Price' AS price FROM dynamo_update_item('AtomicItems', '{\"pk\": \"product#456\", \"sk\": \"price\"}', 'SET Price = Price - :p', condition_expression => 'Price > :limit', expression_values => '{\":p\": 200, \":limit\": 500}', return_values => 'ALL_NEW')"

echo
echo "-- IDs at scale: blocks reserved with one ADD, served from shared memory to every backend."
psql -X -q -e -v ON_ERROR_STOP=1 \
	-c "SELECT dynamo_nextval('invoice-ids', 1000) AS first, dynamo_nextval('invoice-ids', 1000) AS second" \
	-c "CREATE TABLE invoices (id bigint PRIMARY KEY DEFAULT dynamo_nextval('invoice-ids', 1000), what text)" \
	-c "INSERT INTO invoices (what) SELECT 'invoice ' || i FROM generate_series(1, 5000) i" \
	-c "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM invoices" \
	-c "SELECT operation, calls, requests, ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'"

echo
echo "-- Single-table design: the item above, a counter, IDs and a lock in one pk + sk table."
psql -X -q -e -v ON_ERROR_STOP=1 \
	-c "SELECT dynamo_increment(dynamo_key('user#1', 'counter#logins'), 1, 'AtomicItems') AS logins" \
	-c "SELECT dynamo_nextval(dynamo_key('user#1', 'ids#orders'), 100, 'AtomicItems') AS order_id" \
	-c "SELECT fencing_token > 0 AS locked FROM dynamo_try_get_lock('user#1', 5000, 'AtomicItems')" \
	-c "SELECT item ->> 'sk' AS sort_key FROM dynamo_query('user#1', table_name => 'AtomicItems') item"
