#!/usr/bin/env bash
# Items: 2,000 generated documents round-trip exactly (1,500 written by
# dynamo_put_many, 500 by another client), queries across pages stop early
# when a LIMIT needs only the first, batches finish despite unprocessed
# items (or say how many were not written), and optimistic writes: a lost
# race is 40001 with nothing written, a held lease lock writes across
# heartbeats, and 8 clients running a PL/pgSQL retry loop count exactly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseItems
work=$(mktemp -d)
trap 'harness_stop_all; rm -rf "$work"' EXIT
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_item_table('$T', if_not_exists => true)" \
	-c "SELECT dynamo_create_lock_table(if_not_exists => true)" >/dev/null
export PGOPTIONS="-c dynamo_atomic.item_table=$T"
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
sent() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\"" || true; }
requests="SELECT http_requests FROM dynamo_atomic_backend_stats()"

# --- 2,000 generated documents
DOCS=2000
OTHER_FROM=1500
node test/helpers/gen_docs.js $DOCS 20261121 >"$work/docs.tsv"
sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS gen_docs" -c "CREATE TABLE gen_docs (doc jsonb, item text)"
# CSV with a quote character that never occurs: no escape processing of the JSON
sql -c "\\copy gen_docs FROM '$work/docs.tsv' WITH (FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')"
expect_eq "the generator made $DOCS documents" $DOCS "$(sql -c "SELECT count(*) FROM gen_docs")"
written=$(sql -c "SELECT dynamo_put_many(jsonb_agg(doc)) FROM gen_docs WHERE doc->>'sk' < 'doc-0$OTHER_FROM'")
expect_eq "dynamo_put_many wrote the first $OTHER_FROM" $OTHER_FROM "$written"
# The rest is written by another client (curl), as DynamoDB items.
tail -n +$((OTHER_FROM + 1)) "$work/docs.tsv" | cut -f2 | node -e '
	const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
	for (let i = 0; i < lines.length; i += 25)
		console.log(JSON.stringify({ RequestItems: { [process.argv[1]]:
			lines.slice(i, i + 25).map((l) => ({ PutRequest: { Item: JSON.parse(l) } })) } }));
' "$T" >"$work/batches.jsonl"
other_failures=0
while read -r batch; do
	ddb_raw BatchWriteItem "$batch" | grep -q '"UnprocessedItems":{}' || other_failures=$((other_failures + 1))
done <"$work/batches.jsonl"
expect_eq "another client wrote the other $((DOCS - OTHER_FROM))" 0 "$other_failures"
same=$(sql -c "SELECT count(*) FROM gen_docs g JOIN dynamo_get_many((SELECT jsonb_agg(jsonb_build_object('pk', doc->'pk', 'sk', doc->'sk')) FROM gen_docs)) x
	ON x->>'sk' = g.doc->>'sk' WHERE x = g.doc")
expect_eq "all $DOCS read back equal (jsonb =), whoever wrote them" $DOCS "$same"
if [[ $same != "$DOCS" ]]; then
	sql -c "SELECT g.doc, x FROM gen_docs g JOIN dynamo_get_many((SELECT jsonb_agg(jsonb_build_object('pk', doc->'pk', 'sk', doc->'sk')) FROM gen_docs)) x
		ON x->>'sk' = g.doc->>'sk' WHERE x <> g.doc LIMIT 2" | cut -c1-600
fi
expect_eq "...and one by one with dynamo_get" 0 \
	"$(sql -c "SELECT count(*) FROM (SELECT doc FROM gen_docs ORDER BY doc->>'sk' LIMIT 200) g WHERE dynamo_get(doc->>'pk', doc->>'sk') IS DISTINCT FROM doc")"

# Empty values, as DynamoDB has accepted them since 2020: an empty string in
# a non-key attribute, an empty list and an empty map, stored and read back.
empty='{"pk": "empty", "sk": "values", "note": "", "tags": [], "meta": {}, "nested": {"s": ""}}'
sql -c "SELECT dynamo_put('$empty')" >/dev/null
expect_eq "empty strings, lists and maps are stored and read back as they were" t \
	"$(sql -c "SELECT dynamo_get('empty', 'values') = '$empty'::jsonb")"

# --- query: pages, and a LIMIT that needs only the first page
sql -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'pages', 'sk', lpad(i::text, 3, '0'))) FROM generate_series(1, 95) i))" >/dev/null
out=$(sql -c "SET dynamo_atomic.query_page_size = 10" -c "$requests" -c "SELECT count(*) FROM dynamo_query('pages')" -c "$requests")
expect_eq "95 items in pages of 10: all read, in 10 requests" "95|10" \
	"$(sed -n 2p <<<"$out")|$(($(sed -n 3p <<<"$out") - $(sed -n 1p <<<"$out")))"
out=$(sql -c "SET dynamo_atomic.query_page_size = 10" -c "$requests" \
	-c "SELECT count(*) FROM (SELECT dynamo_query('pages') LIMIT 5) s" -c "$requests")
expect_eq "in the select list, LIMIT 5 costs one request" "5|1" \
	"$(sed -n 2p <<<"$out")|$(($(sed -n 3p <<<"$out") - $(sed -n 1p <<<"$out")))"
out=$(sql -c "SET dynamo_atomic.query_page_size = 10" -c "$requests" \
	-c "SELECT count(*) FROM (SELECT * FROM dynamo_query('pages') LIMIT 5) s" -c "$requests")
expect_eq "in FROM, PostgreSQL collects every row first: LIMIT 5 still reads all 10 pages" "5|10" \
	"$(sed -n 2p <<<"$out")|$(($(sed -n 3p <<<"$out") - $(sed -n 1p <<<"$out")))"
expect_eq "max_items stops the query after the page that completes it" "25|3" \
	"$(sql -c "SET dynamo_atomic.query_page_size = 10" -c "$requests" -c "SELECT count(*) FROM dynamo_query('pages', max_items => 25)" -c "$requests" |
		{ read -r a; read -r n; read -r b; echo "$n|$((b - a))"; })"

# --- batches with unprocessed items
via_fake="SET dynamo_atomic.endpoint = '$fake'"
control "fault=unprocessed&target=BatchWriteItem&count=3"
written=$(sql -c "$via_fake" -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'unproc', 'sk', lpad(i::text, 3, '0'))) FROM generate_series(1, 40) i))")
expect_eq "put_many resends unprocessed items until all are written" "40|40" \
	"$written|$(sql -c "SELECT count(*) FROM dynamo_query('unproc')")"
expect_true "...in more requests than the 2 batches of 25 and 15" test "$(sent BatchWriteItem)" -gt 2
control "fault=unprocessed&target=BatchWriteItem"
r=$(sql_error "$via_fake" "SET dynamo_atomic.max_retries = 2" \
	"SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'unproc2', 'sk', lpad(i::text, 3, '0'))) FROM generate_series(1, 20) i))")
missing=$((20 - $(sql -c "SELECT count(*) FROM dynamo_query('unproc2')")))
expect_eq "when they stay unprocessed, 53400 says how many were not written (and that is how many are missing)" \
	"53400|$missing of 20 items were not written: DynamoDB left them unprocessed 3 times" "$(cut -d'|' -f1,3 <<<"$r")"
control "fault=unprocessed&target=BatchGetItem&count=2"
expect_eq "get_many resends unprocessed keys" 40 \
	"$(sql -c "$via_fake" -c "SELECT count(*) FROM dynamo_get_many((SELECT jsonb_agg(jsonb_build_object('pk', 'unproc', 'sk', lpad(i::text, 3, '0'))) FROM generate_series(1, 40) i))")"
control ""

# --- races: two sessions read the same lock; the first write wins, the second gets 40001
a_lock=$(sql -c "SELECT row_to_json(l) FROM dynamo_read_lock('race-doc') l")
b_lock=$(sql -c "SELECT row_to_json(l) FROM dynamo_read_lock('race-doc') l")
expect_eq "two sessions read the same version" "$a_lock" "$b_lock"
# dynalite has no transactions: dynamo_set_atomic says so, and the rest is DynamoDB's.
if [[ -n ${DYNAMO_ATOMIC_DYNALITE:-} ]]; then
	r=$(sql_error "SELECT dynamo_set_atomic('{\"pk\": \"race\", \"sk\": \"doc\"}', jsonb_populate_record(NULL::dynamo_lock, '$a_lock'))")
	expect_eq "without TransactWriteItems, dynamo_set_atomic fails cleanly (0A000, naming it)" \
		"0A000|the endpoint $DDB_ENDPOINT does not support DynamoDB's TransactWriteItems" "$(field 1 "$r")|$(field 3 "$r")"
	exit 0
fi
sql -c "SELECT dynamo_set_atomic('{\"pk\": \"race\", \"sk\": \"doc\", \"by\": \"a\"}', jsonb_populate_record(NULL::dynamo_lock, '$a_lock'))" >/dev/null
r=$(sql_error "SELECT dynamo_set_atomic('{\"pk\": \"race\", \"sk\": \"doc\", \"by\": \"b\", \"extra\": 1}', jsonb_populate_record(NULL::dynamo_lock, '$b_lock'))")
expect_eq "the second writer gets 40001 naming the lock" \
	"40001|lock \"race-doc\" changed since it was read: the optimistic write lost a race" "$(cut -d'|' -f1,3 <<<"$r")"
expect_eq "...and nothing of it was written" '{"by": "a", "pk": "race", "sk": "doc"}' "$(sql -c "SELECT dynamo_get('race', 'doc')")"

# --- a lease lock: its holder writes across heartbeats; others lose with 40001
psql -X -qAt -c "SET application_name = 'lease-writer'" -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('lease-doc', 1500)" \
	-c "\\! until [ -e $work/go-lease ]; do sleep 0.05; done" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"lease\", \"sk\": \"doc\", \"by\": \"holder\"}', ROW(l.*)::dynamo_lock)).lock_name FROM l" \
	>"$work/lease.out" 2>&1 &
holder=$!
refreshed_twice() {
	[[ $(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'lease-doc' AND last_refresh IS NOT NULL AND expires_at > now() + interval '1 second'") == 1 ]] &&
		sleep 0.6 # a second heartbeat passes (lease 1.5 s: one every 0.5 s)
}
harness_wait_for 10 refreshed_twice || fail "lease: the worker did not refresh the lock"
r=$(sql_error "SELECT dynamo_set_atomic('{\"pk\": \"lease\", \"sk\": \"doc\", \"by\": \"other\"}', dynamo_read_lock('lease-doc'))")
expect_eq "another session's optimistic write against a held lock gets 40001" 40001 "$(field 1 "$r")"
touch "$work/go-lease"
wait $holder || true
expect_eq "the holder's write succeeds after heartbeats moved the lock's version" lease-doc "$(tail -1 "$work/lease.out")"
expect_eq "...and is the one stored" holder "$(sql -c "SELECT dynamo_get('lease', 'doc')->>'by'")"

# --- 8 clients, a PL/pgSQL retry loop on 40001: no increment is lost
sql -c "SET client_min_messages = warning" -c "DROP FUNCTION IF EXISTS bump()" -c "
CREATE FUNCTION bump() RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE
    l dynamo_lock;
    doc jsonb;
BEGIN
    LOOP
        l := dynamo_read_lock('tally-doc');            -- first the lock, then the data
        doc := coalesce(dynamo_get('tally', 'doc'), '{\"pk\": \"tally\", \"sk\": \"doc\", \"n\": 0}');
        BEGIN
            PERFORM dynamo_set_atomic(jsonb_set(doc, '{n}', to_jsonb((doc->>'n')::int + 1)), l);
            RETURN;
        EXCEPTION WHEN serialization_failure THEN
            NULL;                                      -- lost the race: read again
        END;
    END LOOP;
END \$\$"
echo "SELECT bump();" >"$work/bump.sql"
pgbench -n -c 8 -j 2 -t 10 -f "$work/bump.sql" >"$work/bump.out" 2>&1 || cat "$work/bump.out"
expect_eq "8 clients x 10 optimistic increments with retries end at exactly 80" 80 \
	"$(sql -c "SELECT dynamo_get('tally', 'doc')->>'n'")"
# (dynamo_read_lock makes its own requests: count only the write)
out2=$(sql -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_read_lock('one-req')" -c "$requests" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"one\", \"sk\": \"req\"}', ROW(l.*)::dynamo_lock)).lock_name FROM l" -c "$requests")
expect_eq "an uncontended dynamo_set_atomic is one request" 1 "$(($(sed -n 3p <<<"$out2") - $(sed -n 1p <<<"$out2")))"

# --- lost answers (the fake applies the write, then closes the connection)
warm_up="SELECT dynamo_get('warm', 'up')"
control "fault=drop-answer&target=PutItem&match=lost-put&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_put('{\"pk\": \"lost\", \"sk\": \"lost-put\", \"v\": 1}')")
expect_eq "a put whose answer was lost is resent and succeeds" "none|{\"v\": 1, \"pk\": \"lost\", \"sk\": \"lost-put\"}" \
	"$(field 1 "$r")|$(sql -c "SELECT dynamo_get('lost', 'lost-put')")"
control "fault=drop-answer&target=DeleteItem&match=lost-put&count=1"
expect_eq "a delete whose answer was lost returns NULL (cannot tell whether it found the item), and the item is gone" "null|t" \
	"$(sql -c "$via_fake" -c "$warm_up" -c "SELECT coalesce(dynamo_delete('lost', 'lost-put')::text, 'null')" | tail -1)|$(sql -c "SELECT dynamo_get('lost', 'lost-put') IS NULL")"
control "fault=drop-answer&target=BatchWriteItem&count=1"
expect_eq "a batch whose answer was lost is resent: all written" "30|30" \
	"$(sql -c "$via_fake" -c "$warm_up" -c "SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'lostbatch', 'sk', i::text)) FROM generate_series(1, 30) i))" | tail -1)|$(sql -c "SELECT count(*) FROM dynamo_query('lostbatch')")"
control "fault=drop-answer&target=PutItem&match=lost-create&count=1"
r=$(sql -c "$via_fake" -c "$warm_up" -c "SELECT version FROM dynamo_read_lock('lost-create')" | tail -1)
expect_eq "dynamo_read_lock whose create's answer was lost: the resend is refused, it reads the item it made" \
	"$r|2" "$(sql -c "SELECT version FROM dynamo_read_lock('lost-create')")|$(curl -s --max-time 5 "$fake/_log" | grep -c '"target":"DynamoDB_20120810.PutItem"')"
control "fault=drop-answer&target=TransactWriteItems&count=1"
r=$(psql -X -qAt -v VERBOSITY=verbose -c "$via_fake" -c "$warm_up" -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_read_lock('lost-tx')" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"lost\", \"sk\": \"tx\", \"v\": 1}', ROW(l.*)::dynamo_lock)).version FROM l" 2>&1 | tail -1)
expect_eq "dynamo_set_atomic whose answer was lost is resent with its ClientRequestToken: no false 40001, applied once" \
	"$r|{\"v\": 1, \"pk\": \"lost\", \"sk\": \"tx\"}|2" \
	"$(sql -c "SELECT version FROM dynamo_read_lock('lost-tx')")|$(sql -c "SELECT dynamo_get('lost', 'tx')")|$(sent TransactWriteItems)"
control ""
