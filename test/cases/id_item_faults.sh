#!/usr/bin/env bash
# IDs and items under adversity:
#   - ID blocks are per DynamoDB counter: two identities or two regions of one
#     endpoint (DynamoDB Local without -sharedDb keeps a database for each),
#     or one identity and region on two endpoints, never share a block, and a
#     SET between two calls of one call site is seen by the second;
#   - a backend terminated in the middle of a block fetch does not wedge the
#     counter: the next dynamo_nextval on it returns within a round trip or
#     two, and one already waiting for the block is woken at once;
#   - an answer holding a raw NUL byte is refused (22P05);
#   - a dynamo_set_atomic resend cancelled after a lost answer raises 40003;
#   - an item another client stored with U+0000 in a string or an attribute
#     name is refused clearly (22P05, naming where), never returned cut short
#     or with attributes merged, by dynamo_get, dynamo_get_many and dynamo_query;
#   - a dynamo_set_atomic whose first sending was applied and stalled, its
#     resends told "in progress" until it gives up, raises 40003, never 40001:
#     the README's retry loop adds exactly once;
#   - reads that fail converting to a LATIN1 database leak nothing (the
#     backend's memory stays flat over 300 failures of a 100 kB item);
#   - sizes and depths measured as DynamoDB does: a 320 kB binary set is
#     written (its base64 text is longer), a set at the deepest level too;
#   - dynamo_query over 1,500 pages keeps the memory of one page (each page's
#     1 kB LastEvaluatedKey is not kept until the end);
#   - every cancellation reason DynamoDB documents has its meaning (retried,
#     then 40001 / 53400; or at once 54000 / 22023), and a plain write that
#     meets a transaction (TransactionConflictException) is retried.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

C=CaseIdItemFaults
I=CaseIdItemFaultsItems
L=CaseIdItemFaultsLocks
case_begin "$C"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_item_table('$I', if_not_exists => true)" \
	-c "SELECT dynamo_create_lock_table('$L', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
via_fake="SET dynamo_atomic.endpoint = '$fake'"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }

# --- a fetcher terminated mid-request
control "fault=delay&target=UpdateItem&match=wedge&count=1&ms=20000"
psql -X -qAt -c "SET application_name = 'wedge-fetcher'" -c "$via_fake" \
	-c "SELECT dynamo_nextval('wedge', 10, '$C')" >"$work/fetcher.out" 2>&1 &
fetcher=$!
fetching() { curl -s --max-time 5 "$fake/_log" | grep -q wedge; }
expect_true "a backend is fetching an ID block (the front holds its request)" harness_wait_for 10 fetching
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wedge-fetcher'" >/dev/null
wait $fetcher || true
r=$(sql_error "$via_fake" "SET statement_timeout = '5s'" "SELECT dynamo_nextval('wedge', 10, '$C')")
expect_eq "terminated mid-fetch, it leaves the counter usable: the next dynamo_nextval returns" none "$(field 1 "$r")"
t=$(field 2 "$r")
if ((t < 1500)); then pass "...within a round trip or two ($t ms)"; else fail "...within a round trip or two" "took $t ms"; fi
# A backend already waiting for that block is woken by the fetcher's exit at
# once, not by its own liveness check (once a second): three rounds, each
# within 600 ms of the termination, the time to end the fetcher, wake the
# waiter and let it fetch included (by chance alone, with only the check,
# all three would be about 3 in 100).
for round in 1 2 3; do
	control "fault=delay&target=UpdateItem&match=wedge-$round&count=1&ms=20000"
	psql -X -qAt -c "SET application_name = 'wedge-fetcher'" -c "$via_fake" \
		-c "SELECT dynamo_nextval('wedge-$round', 10, '$C')" >/dev/null 2>&1 &
	fetcher=$!
	fetching() { curl -s --max-time 5 "$fake/_log" | grep -q "wedge-$round"; }
	harness_wait_for 10 fetching || fail "woken waiter, round $round: the fetch did not start"
	psql -X -qAt -c "SET application_name = 'wedge-waiter'" -c "$via_fake" \
		-c "SELECT dynamo_nextval('wedge-$round', 10, '$C')" >"$work/waiter.out" 2>&1 &
	waiter=$!
	waiting() { [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wedge-waiter' AND wait_event_type = 'Extension'") == 1 ]]; }
	harness_wait_for 10 waiting || fail "woken waiter, round $round: the second backend is not waiting for the block"
	t0=$(now_ms)
	sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'wedge-fetcher'" >/dev/null
	waiter_done() { ! kill -0 "$waiter" 2>/dev/null; }
	harness_wait_for 10 waiter_done
	t=$(($(now_ms) - t0))
	wait $fetcher || true
	if ((t < 600)) && grep -qE '^[0-9]+$' "$work/waiter.out"; then
		pass "a backend waiting for a terminated fetcher's block gets its ID within 600 ms (round $round: $t ms)"
	else
		fail "a backend waiting for a terminated fetcher's block gets its ID within 600 ms (round $round)" \
			"took $t ms: $(head -2 "$work/waiter.out")"
	fi
done
control ""

# --- an answer holding a raw NUL byte (no JSON encoder writes one; a broken front could)
control "fault=nul-answer&target=GetItem&count=1"
r=$(sql_error "$via_fake" "SELECT dynamo_get('nul', '1', '$I')")
expect_eq "an answer holding a raw NUL byte is refused (22P05), never read up to the NUL" 22P05 "$(field 1 "$r")"
expect_true "...saying so" grep -q "DynamoDB's answer holds a NUL byte" <<<"$r"
control ""

# --- U+0000 stored by another client
put_raw() { ddb_raw PutItem "{\"TableName\":\"$I\",\"Item\":$1}" >/dev/null; }
put_raw '{"pk":{"S":"nul"},"sk":{"S":"1"},"note":{"S":"before\u0000after"}}'
put_raw '{"pk":{"S":"nul-key"},"sk":{"S":"1"},"k\u0000x":{"N":"1"},"k\u0000y":{"N":"2"}}'
put_raw '{"pk":{"S":"clean"},"sk":{"S":"1"},"note":{"S":"fine"}}'
expect_eq "the other client's item really holds U+0000 (read back raw)" 1 \
	"$(ddb_raw GetItem "{\"TableName\":\"$I\",\"Key\":{\"pk\":{\"S\":\"nul\"},\"sk\":{\"S\":\"1\"}}}" | grep -c 'before\\u0000after')"
r=$(sql_error "SELECT dynamo_get('nul', '1', '$I')")
expect_eq "dynamo_get of a string holding U+0000 raises 22P05" 22P05 "$(field 1 "$r")"
expect_true "...naming where: Item.note.S" grep -q 'U+0000 at Item.note.S' <<<"$r"
r=$(sql_error "SELECT dynamo_get('nul-key', '1', '$I')")
expect_eq "an attribute name holding U+0000 raises 22P05 (never two attributes merged into one)" 22P05 "$(field 1 "$r")"
r=$(sql_error "SELECT count(*) FROM dynamo_get_many('[{\"pk\": \"clean\", \"sk\": \"1\"}, {\"pk\": \"nul\", \"sk\": \"1\"}]', '$I')")
expect_eq "dynamo_get_many raises 22P05 too" 22P05 "$(field 1 "$r")"
r=$(sql_error "SELECT count(*) FROM dynamo_query('nul', table_name => '$I')")
expect_eq "dynamo_query raises 22P05 too" 22P05 "$(field 1 "$r")"
expect_true "...naming the item in the page: Items[0].note.S" grep -q 'U+0000 at Items\[0\].note.S' <<<"$r"
expect_eq "an item without U+0000 reads as before" fine "$(sql -c "SELECT dynamo_get('clean', '1', '$I') ->> 'note'")"

# --- an optimistic write applied, then "in progress" to every resend
# The README's retry loop, as it stands there.
sql -c "$(sed -n '/^CREATE FUNCTION add_to_balance/,/^END \$\$;/p' README.md)" >/dev/null
tables="SET dynamo_atomic.item_table = '$I'; SET dynamo_atomic.lock_table = '$L'"
expect_eq "the README's loop adds once without faults" 10 \
	"$(sql -c "$tables" -c "SELECT add_to_balance('faulty', 10)")"
control "fault=apply-then-hang&target=TransactWriteItems&count=1"
# a bounded run of "in progress": a loop that wrongly retries gets through after it and adds again
control "add=1&fault=in-progress&target=TransactWriteItems&count=30"
r=$(sql_error "$tables" "$via_fake" "SET dynamo_atomic.request_timeout_ms = 1000" \
	"SET statement_timeout = '40s'" "SELECT add_to_balance('faulty', 5)")
expect_eq "applied, stalled, then 'in progress' to every resend: 40003, never 40001 (the loop does not retry it)" \
	40003 "$(field 1 "$r")"
expect_true "...saying an earlier sending may have been applied" \
	grep -q 'dynamo_set_atomic transaction may or may not have been applied' <<<"$r"
expect_true "...after resending for the time AWS advises (at least 5 s)" test "$(field 2 "$r")" -ge 5000
expect_eq "...and the amount was added exactly once" 15 \
	"$(sql -c "SELECT dynamo_get('faulty', 'balance', '$I') ->> 'amount'")"
control ""

# --- cancellation reasons, and TransactionConflictException on a plain write
requests() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\"" || true; }
set_atomic_with() {
	control "fault=cancelled&target=TransactWriteItems&reasons=$1${2:+&count=$2}"
	sql_error "$via_fake" "SET dynamo_atomic.item_table = '$I'" "SET dynamo_atomic.lock_table = '$L'" \
		"SELECT dynamo_set_atomic('{\"pk\": \"reasons\", \"sk\": \"1\"}', dynamo_read_lock('reasons'))"
}
for case in "ProvisionedThroughputExceeded 53400 4" "ThrottlingError 53400 4" "TransactionConflict 40001 4" \
	"ReplicatedWriteConflict 40001 4" "ItemCollectionSizeLimitExceeded 54000 1" "ValidationError 22023 1"; do
	read -r reason state sent <<<"$case"
	r=$(set_atomic_with "None,$reason")
	expect_eq "a transaction cancelled for $reason: $state after $sent sending(s)" "$state|$sent" \
		"$(field 1 "$r")|$(requests TransactWriteItems)"
done
control "fault=drop-request&target=TransactWriteItems&count=1"
control "add=1&fault=cancelled&target=TransactWriteItems&reasons=ConditionalCheckFailed,None&count=1"
r=$(sql_error "$via_fake" "SET dynamo_atomic.item_table = '$I'" "SET dynamo_atomic.lock_table = '$L'" \
	"SELECT dynamo_set_atomic('{\"pk\": \"reasons\", \"sk\": \"lost\"}', dynamo_read_lock('reasons-lost'))")
expect_eq "a resend cancelled (ConditionalCheckFailed) after a first sending whose answer was lost: 40003, never 40001" \
	"40003|2" "$(field 1 "$r")|$(requests TransactWriteItems)"
expect_true "...saying it may or may not have been applied" grep -q 'dynamo_set_atomic transaction may or may not have been applied' <<<"$r"
r=$(set_atomic_with "None,TransactionConflict" 2)
expect_eq "a transaction conflict that passes: retried, then written" "none|3" "$(field 1 "$r")|$(requests TransactWriteItems)"
control "fault=conflict&target=PutItem&count=2"
r=$(sql_error "$via_fake" "SELECT dynamo_put('{\"pk\": \"plain\", \"sk\": \"1\"}', '$I')")
expect_eq "a plain put meeting a transaction (TransactionConflictException) is retried, then written" \
	"none|3" "$(field 1 "$r")|$(requests PutItem)"
control "fault=conflict&target=PutItem"
r=$(sql_error "$via_fake" "SELECT dynamo_put('{\"pk\": \"plain\", \"sk\": \"1\"}', '$I')")
expect_eq "...and one that persists after the retries is 40001" "40001|4" "$(field 1 "$r")|$(requests PutItem)"
control ""

# --- dynamo_put_many failing in its third batch says what the first two wrote
control "fault=access-denied&target=BatchWriteItem&match=%22S%22%3A%22b-0051%22"
r=$(sql_error "$via_fake" "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'batches', 'sk', 'b-' || lpad(i::text, 4, '0'))) FROM generate_series(1, 60) i), '$I')")
expect_eq "dynamo_put_many refused in its third batch raises that batch's error" 42501 "$(field 1 "$r")"
out=$(psql -X -qAt -v VERBOSITY=verbose -c "$via_fake" -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'batches', 'sk', 'b-' || lpad(i::text, 4, '0'))) FROM generate_series(1, 60) i), '$I')" 2>&1 || true)
expect_true "...with a DETAIL saying the 50 items of the first two batches were written" \
	grep -q 'DETAIL:  .*50 of 60 items were written before this request, and stay written; 10 were in this request' <<<"$out"
expect_eq "...as they were" 50 "$(sql -c "SELECT count(*) FROM dynamo_query('batches', table_name => '$I')")"
control ""

# --- two different keys that a joined text would confuse
expect_eq "dynamo_put_many tells (\"a\\u0001b\", \"c\") from (\"a\", \"b\\u0001c\"): both written" 2 \
	"$(sql -c "SELECT dynamo_put_many('[{\"pk\": \"a\\u0001b\", \"sk\": \"c\"}, {\"pk\": \"a\", \"sk\": \"b\\u0001c\"}]', '$I')")"

# --- ID blocks per identity and region: a DynamoDB Local with a database for each
ddb2_port=$(harness_free_port)
(cd "$DDB_HOME" && DDB_LOCAL_TELEMETRY=0 exec java -Dlog4j2.formatMsgNoLookups=true -Djava.library.path="$DDB_HOME/DynamoDBLocal_lib" \
	-jar "$DDB_HOME/DynamoDBLocal.jar" -inMemory -disableTelemetry -port "$ddb2_port") >"$work/ddb2.log" 2>&1 &
harness_track_pid $!
ddb2="http://127.0.0.1:$ddb2_port"
ddb2_answers() {
	curl -s --max-time 2 -X POST "$ddb2" -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
		-H 'Content-Type: application/x-amz-json-1.0' \
		-H "Authorization: AWS4-HMAC-SHA256 Credential=AKIDONE/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0" \
		--data-binary '{}' | grep -q TableNames
}
expect_true "a DynamoDB Local without -sharedDb answers" harness_wait_for 60 ddb2_answers
# as KEY REGION SQL...: a session signing as KEY in REGION at that DynamoDB Local
as() {
	local key=$1 region=$2
	shift 2
	local args=(-c "SET client_min_messages = warning" -c "SET dynamo_atomic.endpoint = '$ddb2'"
		-c "SET dynamo_atomic.access_key_id = '$key'" -c "SET dynamo_atomic.region = '$region'")
	for q in "$@"; do args+=(-c "$q"); done
	sql "${args[@]}" | tr '\n' ' ' | sed 's/ $//'
}
for who in "AKIDONE us-east-1" "AKIDTWO us-east-1" "AKIDONE eu-west-1"; do
	as $who "SELECT dynamo_create_counter_table('Shared', if_not_exists => true)" >/dev/null
done
expect_eq "identity one takes 1 and 2 from its block" "1 2" \
	"$(as AKIDONE us-east-1 "SELECT dynamo_nextval('same', 10, 'Shared')" "SELECT dynamo_nextval('same', 10, 'Shared')")"
expect_eq "another identity, same endpoint and names: its own counter's first value, not the next of the first's block" 1 \
	"$(as AKIDTWO us-east-1 "SELECT dynamo_nextval('same', 10, 'Shared')")"
expect_eq "the first identity in another region: its own counter's first value too" 1 \
	"$(as AKIDONE eu-west-1 "SELECT dynamo_nextval('same', 10, 'Shared')")"
expect_eq "...and each stored counter holds exactly its one block" "10 10 10" \
	"$(echo $(as AKIDONE us-east-1 "SELECT dynamo_get_last_value('same', 'Shared')") \
		$(as AKIDTWO us-east-1 "SELECT dynamo_get_last_value('same', 'Shared')") \
		$(as AKIDONE eu-west-1 "SELECT dynamo_get_last_value('same', 'Shared')"))"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_counter_table('Shared', if_not_exists => true)" >/dev/null
expect_eq "one identity, region and names on two endpoints: the first endpoint's counter gives 1" 1 \
	"$(sql -c "SELECT dynamo_nextval('same-endpoint', 10, 'Shared')")"
as "$TEST_ACCESS_KEY_ID" "$TEST_REGION" "SELECT dynamo_create_counter_table('Shared', if_not_exists => true)" >/dev/null
expect_eq "...and the second endpoint's its own first value, not the next of the first's block" 1 \
	"$(as "$TEST_ACCESS_KEY_ID" "$TEST_REGION" "SELECT dynamo_nextval('same-endpoint', 10, 'Shared')")"
sql -c "CREATE OR REPLACE FUNCTION ids_as(keys text[]) RETURNS text LANGUAGE plpgsql AS \$\$
	DECLARE got text[] := '{}'; k text;
	BEGIN
		FOREACH k IN ARRAY keys LOOP
			PERFORM set_config('dynamo_atomic.access_key_id', k, true);
			got := got || dynamo_nextval('site', 10, 'Shared')::text;   -- one call site, its plan cached
		END LOOP;
		RETURN array_to_string(got, ' ');
	END \$\$" >/dev/null
expect_eq "one call site, the identity SET between its calls: each call draws from its own identity's counter" "1 1 2 2" \
	"$(as AKIDONE us-east-1 "SELECT ids_as(ARRAY['AKIDONE', 'AKIDTWO', 'AKIDONE', 'AKIDTWO'])")"

# --- a counter resolved once per session (resolved_counters.c): what may
# change between two statements of a session still counts
r=$(sql_error "SELECT dynamo_nextval('resolved', 10, 'Shared')" "SET dynamo_atomic.allowed_tables = 'Other'" \
	"SELECT dynamo_nextval('resolved', 10, 'Shared')")
expect_eq "a counter used, then its table taken out of allowed_tables: the next statement is refused (42501)" \
	"42501|DynamoDB table \"Shared\" is not in dynamo_atomic.allowed_tables" "$(field 1 "$r")|$(field 3 "$r")"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_counter_table('SharedToo', if_not_exists => true)" >/dev/null
expect_eq "dynamo_nextval without table_name, counter_table SET between statements: each goes to its table" "1 1 2 2" \
	"$(sql -c "SET dynamo_atomic.counter_table = 'Shared'" -c "SELECT dynamo_nextval('by-default', 1)" \
		-c "SET dynamo_atomic.counter_table = 'SharedToo'" -c "SELECT dynamo_nextval('by-default', 1)" \
		-c "SET dynamo_atomic.counter_table = 'Shared'" -c "SELECT dynamo_nextval('by-default', 1)" \
		-c "SET dynamo_atomic.counter_table = 'SharedToo'" -c "SELECT dynamo_nextval('by-default', 1)" | tr '\n' ' ' | sed 's/ $//')"
sql -c "CREATE TABLE resolved_rows (id bigint, n int)" \
	-c "CREATE TRIGGER ids BEFORE INSERT ON resolved_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'trig-a', '', 'Shared')" >/dev/null
expect_eq "a trigger recreated with another counter between two INSERTs of a session: the second uses the new counter" "1 1" \
	"$(sql -c "INSERT INTO resolved_rows (n) VALUES (1)" -c "DROP TRIGGER ids ON resolved_rows" \
		-c "CREATE TRIGGER ids BEFORE INSERT ON resolved_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'trig-b', '', 'Shared')" \
		-c "INSERT INTO resolved_rows (n) VALUES (2)" -c "SELECT id FROM resolved_rows ORDER BY n" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the trigger's cache from dynamo_atomic.id_cache, SET between two INSERTs: the second reserves the new size" "1 6" \
	"$(sql -c "SET dynamo_atomic.id_cache = 1" -c "INSERT INTO resolved_rows (n) VALUES (3)" \
		-c "SELECT dynamo_get_last_value('trig-b', 'Shared') - 1" -c "SET dynamo_atomic.id_cache = 5" \
		-c "INSERT INTO resolved_rows (n) VALUES (4)" -c "SELECT dynamo_get_last_value('trig-b', 'Shared') - 1" | tr '\n' ' ' | sed 's/ $//')"
# more call sites in one session than the backend keeps resolved (32): 33
# tables with a trigger each on one counter (one ID slot), two rows each
# round: the first ones are resolved again, and every value comes once
for i in $(seq 33); do
	echo "CREATE TABLE evict_$i (id bigint, x int);"
	echo "CREATE TRIGGER ids BEFORE INSERT ON evict_$i FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'evicted', '10', 'Shared');"
done | sql -q >/dev/null
{
	echo "SET dynamo_atomic.id_prefetch = off;"	# the backend's own blocks alone: 1 to 66 in order
	for round in 1 2; do for i in $(seq 33); do echo "INSERT INTO evict_$i (x) VALUES ($round);"; done; done
	echo "SELECT count(DISTINCT id), min(id), max(id) FROM ($(for i in $(seq 33); do printf 'SELECT id FROM evict_%s UNION ALL ' "$i"; done) SELECT NULL::bigint WHERE false) u;"
} >"$work/evict.sql"
expect_eq "33 triggers on one counter, twice, in one session (past the 32 kept resolved): 66 distinct IDs, 1 to 66" "66|1|66" \
	"$(sql -f "$work/evict.sql" | tail -1)"
# a partitioned table's 40 partitions, a cloned trigger each, sharing one resolution
{
	echo "CREATE TABLE parted (id bigint, k int) PARTITION BY HASH (k);"
	for i in $(seq 0 39); do echo "CREATE TABLE parted_$i PARTITION OF parted FOR VALUES WITH (MODULUS 40, REMAINDER $i);"; done
	echo "CREATE TRIGGER ids BEFORE INSERT ON parted FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'parted', '10', 'Shared');"
} | sql -q >/dev/null
expect_eq "200 rows across 40 partitions (a trigger each): 200 distinct IDs, 1 to 200" "200|1|200" \
	"$(sql -c "SET dynamo_atomic.id_prefetch = off" -c "INSERT INTO parted (k) SELECT g FROM generate_series(1, 200) g" \
		-c "SELECT count(DISTINCT id), min(id), max(id) FROM parted")"

# --- a LATIN1 database reading an item it cannot convert, 300 times: no memory kept per failure
sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS case_latin1" >/dev/null
sql -c "CREATE DATABASE case_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
sql -c "SELECT dynamo_put(jsonb_build_object('pk', 'euro', 'sk', '1', 'big', repeat('x', 100000), 'price', '5 €'), '$I')" >/dev/null
rss_of_reader=$(backend_memory_probe VmRSS latin1-reader)
rss=$(psql -X -qAt -d case_latin1 -v ON_ERROR_STOP=1 2>&1 <<-SQL
	SET client_min_messages = warning;
	CREATE EXTENSION dynamo_atomic;
	CREATE FUNCTION read_failing(n int) RETURNS int LANGUAGE plpgsql AS \$\$
	DECLARE failed int := 0;
	BEGIN
		FOR i IN 1..n LOOP
			BEGIN
				PERFORM dynamo_get('euro', '1', '$I');
			EXCEPTION WHEN untranslatable_character THEN
				failed := failed + 1;
			END;
		END LOOP;
		RETURN failed;
	END \$\$;
	SET application_name = 'latin1-reader';
	SELECT read_failing(30);
	\! $rss_of_reader
	SELECT read_failing(300);
	\! $rss_of_reader
SQL
)
read -r warm before failed after <<<"$(echo $rss)"
expect_eq "in a LATIN1 database, a read of an item holding '€' fails each time (22P05)" "30|300" "$warm|$failed"
# a leaked item text per failure would be about 30,000 kB in all
expect_growth_below "...and 300 failed reads of a 100 kB item keep the backend's memory flat" 8000 \
	"${before:-}" "${after:-}" "$rss"
sql -c "DROP DATABASE case_latin1" >/dev/null

# --- limits at their edges, measured as DynamoDB measures
b64() { echo "translate(encode(decode(repeat('ab', $1), 'hex'), 'base64'), E'\\n', '')"; }
r=$(sql_error "SELECT dynamo_put(jsonb_build_object('pk', 'edge', 'sk', 'bs', 'bin', jsonb_build_object('\$bs', jsonb_build_array($(b64 320000)))), '$I')")
expect_eq "a binary set of 320 kB (427 kB of base64) is written: binary counts decoded" none "$(field 1 "$r")"
expect_eq "...and reads back whole" t \
	"$(sql -c "SELECT dynamo_get('edge', 'bs', '$I') -> 'bin' -> '\$bs' ->> 0 = $(b64 320000)")"
r=$(sql_error "SELECT dynamo_put(jsonb_build_object('pk', 'edge', 'sk', 'bs2', 'bin', jsonb_build_object('\$bs', jsonb_build_array($(b64 205000), $(b64 205000)))), '$I')")
expect_eq "a binary set of 410 kB decoded is refused before any request (54000)" 54000 "$(field 1 "$r")"
set_in() { echo "(repeat('[', $1) || '{\"\$ss\": [\"a\"]}' || repeat(']', $1))::jsonb"; }
r=$(sql_error "SELECT dynamo_put(jsonb_build_object('pk', 'edge', 'sk', 'deep-set', 'd', $(set_in 31)), '$I')")
expect_eq "a set at the deepest level (inside 31 lists, where a scalar may stand) is written" none "$(field 1 "$r")"
expect_eq "...and reads back as it was" t "$(sql -c "SELECT dynamo_get('edge', 'deep-set', '$I') -> 'd' = $(set_in 31)")"
r=$(sql_error "SELECT dynamo_put(jsonb_build_object('pk', 'edge', 'sk', 'deeper', 'd', $(set_in 32)), '$I')")
expect_eq "...one level deeper is refused (54000)" 54000 "$(field 1 "$r")"
r=$(sql_error "SELECT dynamo_put(jsonb_build_object('pk', 'edge', 'sk', 'map', 'd', (repeat('[', 31) || '{\"m\": 1}' || repeat(']', 31))::jsonb), '$I')")
expect_eq "...and so is a map (not a set) where the set stood (54000)" 54000 "$(field 1 "$r")"

# --- a query's memory stays that of one page, over 1,500 pages with 1 kB keys
# (in the select list, where rows are asked for one at a time: see the README)
sql -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'pages', 'sk', lpad(i::text, 1000, '0'))) FROM generate_series(1, 1500) i), '$I')" >/dev/null
peak_of_pager=$(backend_memory_probe VmHWM pager)
hwm=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<-SQL
	SET application_name = 'pager';
	SET dynamo_atomic.query_page_size = 1;
	SELECT count(q) FROM (SELECT dynamo_query('pages', table_name => '$I', max_items => 20) AS q) s;
	\! $peak_of_pager
	SELECT count(q) FROM (SELECT dynamo_query('pages', table_name => '$I') AS q) s;
	\! $peak_of_pager
SQL
)
read -r warm peak_before all peak_after <<<"$(echo $hwm)"
expect_eq "dynamo_query pages through 1,500 items one per request" "20|1500" "$warm|$all"
# keeping each page's 1 kB key would be about 1,500 kB
expect_growth_below "...with the peak memory of one page" 600 "${peak_before:-}" "${peak_after:-}" "$hwm"
