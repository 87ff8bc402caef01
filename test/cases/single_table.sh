#!/usr/bin/env bash
# Single-table design: one table keyed pk + sk (dynamo_create_item_table)
# holds ordinary items, counters named by dynamo_key(pk, sk), IDs (function
# and trigger), session and transaction locks kept alive by the workers, and
# optimistic writes; counter and item functions cannot forge, overwrite or
# end the lock items beside them (sort keys '#lock...' are reserved, 42501);
# a call whose form does not fit the table's key gets 22023 naming the key;
# after the first lock call on a table, each call is one request; and two
# clusters share the table's locks and IDs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

S=CaseSingleTable
C=CaseSingleTableCounters
CLIENTS=4
PER_CLIENT=500

if [[ ${1:-} == cluster-b ]]; then
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" \
		-c "CREATE TABLE got (v bigint UNIQUE)"
	echo "INSERT INTO got SELECT dynamo_nextval(dynamo_key('tenant#1', 'ids#orders'), 20, '$S');" >"$WORK/ids.sql"
	pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/ids.sql" >"$WORK/b.out" 2>&1 &
	b=$!
	on_a pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/ids.sql" >"$WORK/a.out" 2>&1 || cat "$WORK/a.out"
	wait $b || cat "$WORK/b.out"
	psql -X -q -c "COPY got TO STDOUT" | on_a psql -X -q -c "COPY got_b FROM STDIN"

	# A holds 'tenant#1' (a session of its own, below): B cannot take it.
	psql -X -qAt -c "SELECT dynamo_try_get_lock('tenant#1', 30000, '$S') IS NULL" >"$WORK/b_try"
	psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_get_lock('tenant#1', 30000, 300, '$S')" >"$WORK/b_wait" 2>&1 || true
	# ...until A releases it (A's holder ends when this file appears).
	touch "$WORK/release"
	psql -X -qAt -c "SELECT fencing_token > $(cat "$WORK/a_token") FROM dynamo_get_lock('tenant#1', 30000, 10000, '$S')" >"$WORK/b_took"
	exit 0
fi

case_begin "$C"
WORK=$work
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_item_table('$S', if_not_exists => true)" >/dev/null

# --- ordinary items, counters and IDs side by side
sql -c "SELECT dynamo_put('{\"pk\": \"tenant#1\", \"sk\": \"profile\", \"name\": \"Ann\"}', '$S')" >/dev/null
r=$(sql -c "SELECT dynamo_increment(dynamo_key('tenant#1', 'counter#orders'), 1, '$S')" \
	-c "SELECT dynamo_increment(dynamo_key('tenant#1', 'counter#orders'), 4, '$S')" \
	-c "SELECT dynamo_get_last_value(dynamo_key('tenant#1', 'counter#orders'), '$S')" \
	-c "SELECT dynamo_set_counter(dynamo_key('tenant#1', 'counter#orders'), 10, '$S')" \
	-c "SELECT dynamo_get('tenant#1', 'counter#orders', '$S') ->> 'lastValue'" \
	-c "SELECT dynamo_get('tenant#1', 'profile', '$S') ->> 'name'")
expect_eq "counters at dynamo_key(pk, sk): increment, read, set; the item lives beside the others" \
	"1 5 5 10 10 Ann" "$(echo $r)"
r=$(sql_error "SELECT dynamo_increment(dynamo_key('tenant#1', 'counter#orders'), -20, '$S', min_value => 0)")
expect_eq "...with bounds (2200H)" 2200H "$(field 1 "$r")"
expect_eq "dynamo_query over the partition lists the counter and the item" "counter#orders profile" \
	"$(echo $(sql -c "SELECT item ->> 'sk' FROM dynamo_query('tenant#1', table_name => '$S') q(item) ORDER BY 1"))"
r=$(sql -c "DROP TABLE IF EXISTS st_ids" \
	-c "CREATE TABLE st_ids AS SELECT dynamo_nextval(dynamo_key('tenant#1', 'ids#rows'), 10, '$S') v FROM generate_series(1, 25)" \
	-c "SELECT count(DISTINCT v) FROM st_ids")
expect_eq "dynamo_nextval at dynamo_key: 25 distinct IDs" 25 "$r"
sql -c "DROP TABLE IF EXISTS st_rows" -c "CREATE TABLE st_rows (id bigint PRIMARY KEY, what text)" \
	-c "CREATE TRIGGER st_rows_id BEFORE INSERT ON st_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'tenant#1', '10', '$S', 'ids#rows')" \
	-c "INSERT INTO st_rows (what) SELECT 'r' || g FROM generate_series(1, 30) g"
expect_eq "the trigger takes IDs from the same single-table counter (table and sort key arguments): none twice" "30|0" \
	"$(sql -c "SELECT count(*), (SELECT count(*) FROM st_rows JOIN st_ids ON v = id) FROM st_rows")"
expect_true "...whose item holds the stored counter" \
	test "$(sql -c "SELECT (dynamo_get('tenant#1', 'ids#rows', '$S') ->> 'lastValue')::int")" -ge 55

# --- locks in the same table, the workers keeping their leases
requests="SELECT http_requests FROM dynamo_atomic_backend_stats()"
r=$(sql -c "$requests" -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('tenant#2', 30000, 0, '$S')" \
	-c "$requests" -c "CREATE TEMP TABLE l2 AS SELECT * FROM dynamo_get_lock('tenant#3', 30000, 0, '$S')" \
	-c "$requests" -c "SELECT dynamo_get('tenant#2', '#lock', '$S') ->> 'owner' = (SELECT owner FROM l)" \
	-c "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" -c "SELECT dynamo_release_lock(ROW(l2.*)::dynamo_lock) FROM l2" \
	-c "SELECT dynamo_get('tenant#2', '#lock', '$S') ? 'owner'")
first=$(($(sed -n 2p <<<"$r") - $(sed -n 1p <<<"$r")))
second=$(($(sed -n 3p <<<"$r") - $(sed -n 2p <<<"$r")))
expect_eq "a session lock lives at {pk: name, sk: '#lock'} and is released" "t t t f" "$(sed -n '4,7p' <<<"$r" | xargs)"
expect_eq "the first lock call on the table learns its key (refused, one read, sent again); the next costs one request" "3|1" "$first|$second"

background_holder st-heartbeat "SELECT dynamo_get_lock('tenant#4', 3000, 0, '$S')"
refreshed() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'tenant#4' AND last_refresh IS NOT NULL AND refresh_failures = 0") == 1 ]]; }
expect_true "a worker heartbeats a single-table lock (its key recorded with the slot)" harness_wait_for 10 refreshed
expect_eq "...so another session cannot take it after its first lease" t \
	"$(sql -c "SELECT pg_sleep(3.5)" -c "SELECT dynamo_try_get_lock('tenant#4', 3000, '$S') IS NULL" | tail -1)"
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'st-heartbeat'" >/dev/null
released() { [[ $(sql -c "SELECT dynamo_get('tenant#4', '#lock', '$S') ? 'owner'") == f ]]; }
expect_true "...and a worker releases it when its backend is terminated" harness_wait_for 10 released

r=$(sql -c "BEGIN" -c "SELECT dynamo_get_xact_lock('tenant#5', 30000, 0, '$S') IS NOT NULL" \
	-c "SELECT dynamo_try_get_xact_lock('tenant#6', 30000, '$S') IS NOT NULL" -c "COMMIT" \
	-c "SELECT dynamo_get('tenant#5', '#lock', '$S') ? 'owner'")
expect_eq "transaction locks in the table: taken, released at COMMIT" "t t f" "$(echo $r)"

# --- a single-table acquire whose answer is lost (applied, then the
#     connection closed): resent, it takes the lock it already took, once
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
curl -s --max-time 5 "$fake/_control?fault=drop-answer&target=UpdateItem&match=%23lock&count=1" >/dev/null
background_holder st-lost "SET dynamo_atomic.endpoint = '$fake'" "SELECT dynamo_get_lock('lost#1', 30000, 0, '$S')"
sent_pk_sk=$(curl -s --max-time 5 "$fake/_log" | grep '"target":"DynamoDB_20120810.UpdateItem"' | grep -c 'lost#1.*#lock' || true)
expect_eq "the acquire was sent twice with the single table's key (the first answer dropped)" 2 "$sent_pk_sk"
expect_eq "...and its session holds the lock, once, with the owner DynamoDB has" "1|t" \
	"$(sql -c "SELECT count(*), bool_and(dynamo_get('lost#1', '#lock', '$S') ->> 'owner' IS NOT NULL) FROM dynamo_held_locks h
		JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'st-lost'")"
expect_eq "...which no one else can take" t "$(sql -c "SELECT dynamo_try_get_lock('lost#1', 30000, '$S') IS NULL")"
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'st-lost'" >/dev/null

# --- optimistic writes against a single-table lock (dynalite has no transactions)
if [[ -n ${DYNAMO_ATOMIC_DYNALITE:-} ]]; then
	r=$(sql_error "SELECT dynamo_set_atomic('{\"pk\": \"doc#1\", \"sk\": \"body\"}', dynamo_read_lock('doc#1', '$S'), '$S')")
	expect_eq "without TransactWriteItems, dynamo_set_atomic fails cleanly (0A000)" 0A000 "$(field 1 "$r")"
else
	r=$(sql -c "CREATE TEMP TABLE rl AS SELECT * FROM dynamo_read_lock('doc#1', '$S')" \
		-c "SELECT (dynamo_set_atomic('{\"pk\": \"doc#1\", \"sk\": \"body\", \"v\": 1}', ROW(rl.*)::dynamo_lock, '$S')).version <> rl.version FROM rl" \
		-c "SELECT dynamo_get('doc#1', 'body', '$S') ->> 'v'")
	expect_eq "dynamo_read_lock and dynamo_set_atomic in the table" "t 1" "$(echo $r)"
	r=$(sql_error "CREATE TEMP TABLE rl AS SELECT * FROM dynamo_read_lock('doc#2', '$S')" \
		"SELECT dynamo_set_atomic('{\"pk\": \"doc#2\", \"sk\": \"body\"}', ROW(rl.*)::dynamo_lock, '$S') FROM rl" \
		"SELECT dynamo_set_atomic('{\"pk\": \"doc#2\", \"sk\": \"body\"}', ROW(rl.*)::dynamo_lock, '$S') FROM rl")
	expect_eq "...a stale version loses the race (40001)" 40001 "$(field 1 "$r")"
fi

# --- the lock items cannot be forged, overwritten or ended by counter and item functions
background_holder st-guard "SELECT dynamo_get_lock('tenant#7', 30000, 0, '$S')"
lock_state="SELECT i ->> 'owner', i ->> 'fencing_token', i ->> 'lease_until' FROM dynamo_get('tenant#7', '#lock', '$S') i"
before=$(sql -c "$lock_state")
for attack in \
	"SELECT dynamo_put('{\"pk\": \"tenant#7\", \"sk\": \"#lock\", \"owner\": \"mallory\"}', '$S')" \
	"SELECT dynamo_put('{\"pk\": \"tenant#8\", \"sk\": \"#lock\", \"owner\": \"mallory\", \"lease_until\": 99999999999999}', '$S')" \
	"SELECT dynamo_put_many('[{\"pk\": \"a\", \"sk\": \"ok\"}, {\"pk\": \"tenant#7\", \"sk\": \"#lock\"}]', '$S')" \
	"SELECT dynamo_delete('tenant#7', '#lock', '$S')" \
	"SELECT dynamo_increment(dynamo_key('tenant#7', '#lock'), 1, '$S', count_attribute => 'lease_until')" \
	"SELECT dynamo_set_counter(dynamo_key('tenant#7', '#lock'), 0, '$S', count_attribute => 'fencing_token')" \
	"SELECT dynamo_nextval(dynamo_key('tenant#7', '#lockish'), 1, '$S')" \
	"SELECT dynamo_set_atomic('{\"pk\": \"tenant#7\", \"sk\": \"#lock\"}', (SELECT dynamo_read_lock('doc#3', '$S')), '$S')"; do
	r=$(sql_error "$attack")
	expect_eq "refused (42501): ${attack:7:70}" 42501 "$(field 1 "$r")"
done
expect_eq "...and the lock item has the same owner, token and lease" "$before" "$(sql -c "$lock_state")"
expect_eq "...and no forged lock item was made" "" "$(sql -c "SELECT dynamo_get('tenant#8', '#lock', '$S')")"
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'st-guard'" >/dev/null

# --- calls whose form does not fit the table's key
r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('plain-id', 1, '$S')" 2>&1 || true)
expect_true "a counter named by counter_id alone in a pk + sk table: 22023, the HINT naming the key" \
	grep -q "HINT:  Table \"$S\" is keyed pk (S) + sk (S)" <<<"$r"
r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment(dynamo_key('a', 'b'), 1, '$C')" 2>&1 || true)
expect_true "a dynamo_key counter in a table keyed id alone: the HINT naming it" grep -q "HINT:  Table \"$C\" is keyed id (S)" <<<"$r"
r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_try_get_lock('x', 30000, '$C')" 2>&1 || true)
expect_true "a lock in a counter table: 22023 cannot hold locks, naming its key" \
	grep -q "ERROR:  22023: DynamoDB table \"$C\" cannot hold locks" <<<"$r"
expect_true "...DETAIL: its key and the two that fit" grep -q "DETAIL:  Its key is id (S); locks need a lock table, keyed lock_name (S), or a single table keyed pk (S) + sk (S)." <<<"$r"
expect_eq "...and nothing was held" 0 "$(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'x'")"

# --- a table recreated with the other key shape: a long-lived session learns it again
R=CaseSingleTableRecreated
r=$(sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$R', if_not_exists => true)" \
	-c "SELECT dynamo_release_lock(dynamo_get_lock('re', 30000, 0, '$R'))" \
	-c "SELECT dynamo_delete_table('$R')" -c "SELECT dynamo_create_item_table('$R')" \
	-c "SELECT dynamo_release_lock(dynamo_get_lock('re', 30000, 0, '$R'))" \
	-c "SELECT dynamo_get('re', '#lock', '$R') IS NOT NULL" -c "SELECT dynamo_delete_table('$R')" 2>&1)
expect_eq "a lock table recreated as a single table: the same session locks in it (its key learned again)" \
	"t t t" "$(grep -x '[tf]' <<<"$r" | xargs)"

# --- two clusters sharing the table: unique IDs, one lock holder
sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS got, got_b" \
	-c "CREATE TABLE got (v bigint UNIQUE)" -c "CREATE TABLE got_b (v bigint UNIQUE)"
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work S CLIENTS PER_CLIENT
psql -X -qAt -c "CREATE TEMP TABLE h AS SELECT * FROM dynamo_get_lock('tenant#1', 30000, 0, '$S')" \
	-c "\\o $work/a_token" -c "SELECT fencing_token FROM h" -c "\\o" \
	-c "\\! until [ -e $work/release ]; do sleep 0.05; done" \
	-c "SELECT dynamo_release_lock(ROW(h.*)::dynamo_lock) FROM h" >"$work/a_holder.out" 2>&1 &
holder=$!
a_holds() { [[ -s $work/a_token ]]; }
harness_wait_for 10 a_holds || fail "single_table: cluster A did not take its lock"
mapfile -t pg_options < <(harness_pg_options)
log "single_table: a second cluster sharing $S"
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/two.out" 2>&1 ||
	{ cat "$work/two.out"; fail "single_table: the two-cluster run did not finish"; }
wait $holder || true
each=$((CLIENTS * PER_CLIENT))
expect_eq "two clusters took $each IDs each from one single-table counter, none twice" "$each|$each|0" \
	"$(sql -c "SELECT (SELECT count(*) FROM got), (SELECT count(*) FROM got_b), (SELECT count(*) FROM got JOIN got_b USING (v))")"
expect_eq "cluster B could not take the lock A held (try: NULL)" t "$(cat "$work/b_try")"
expect_true "...nor by waiting 300 ms (55P03)" grep -q "ERROR:  55P03" "$work/b_wait"
expect_eq "...and took it once A released it, with a larger fencing token" t "$(cat "$work/b_took")"
sql -c "DROP TABLE IF EXISTS got, got_b, st_rows, st_ids" >/dev/null
