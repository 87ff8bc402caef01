#!/usr/bin/env bash
# Lock payloads and leader election: dynamo_get_lock and its forms store a
# jsonb payload with the lock item (replaced by every acquire, removed by a
# release, size-checked before anything is sent); dynamo_lock_info reads who
# holds a lock, since and until when, its token and payload, without taking
# it or writing anything.  Two clusters run the README's leader election:
# B leads and publishes its address, A follows; B's server is killed and A
# takes over once B's lease and the skew have passed, naming itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CasePayloadLocks

if [[ ${1:-} == cluster-b ]]; then
	# B: the first leader.  Its session keeps the lock (B's workers keep the
	# lease) until the case kills the whole server.
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	head -1 "$(psql -X -qAt -c 'SHOW data_directory')/postmaster.pid" >"$WORK/b_postmaster"
	psql -X -qAt >"$WORK/b_leader.out" 2>&1 <<SQL &
SELECT fencing_token FROM dynamo_get_lock('$NAME', 3000, 10000, '$T',
	payload => jsonb_build_object('leader', 'B', 'address', '127.0.0.1:$PGPORT'));
\! touch $WORK/b_leads
SELECT pg_sleep(120);
SQL
	harness_wait_for 120 test -e "$WORK/done" || true
	exit 0
fi

case_begin CasePayloadCounters
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" >/dev/null
info() { sql -c "SELECT held, holder IS NOT NULL, payload, fencing_token FROM dynamo_lock_info('$1', '$T')"; }

# --- 1. the payload goes with the acquisition
out=$(sql <<SQL
SET client_min_messages = warning;
CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('p1', 10000, 0, '$T', payload => '{"address": "10.0.0.1:5432", "n": 1}');
SELECT i.held, i.holder LIKE 'host % pid ' || pg_backend_pid() || ' database %', i.payload,
       i.fencing_token = l.fencing_token, i.expires_at = l.expires_at,
       i.acquired_at BETWEEN clock_timestamp() - interval '5 s' AND clock_timestamp()
FROM dynamo_lock_info('p1', '$T') i, l;
SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l;
SELECT held, holder, payload, expires_at, fencing_token IS NOT NULL FROM dynamo_lock_info('p1', '$T');
SELECT (dynamo_try_get_lock('p1', 10000, '$T')).lock_name;
SELECT held, payload FROM dynamo_lock_info('p1', '$T');
SQL
)
expect_eq "dynamo_lock_info of a held lock: held, its holder (this backend), payload, token, lease end and since when" \
	't|t|{"n": 1, "address": "10.0.0.1:5432"}|t|t|t' "$(sed -n 1p <<<"$out")"
expect_eq "...released (true): not held, no holder, no payload, no lease end; its token stays" "t f||||t" \
	"$(sed -n 2,3p <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...taken again without a payload: the payload is gone (each acquire replaces it)" "p1 t|" \
	"$(sed -n 4,5p <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
out=$(sql -c "SET client_min_messages = warning" \
	-c "SELECT (dynamo_try_get_xact_lock('p2', 10000, '$T', '[1, \"two\"]')).lock_name" \
	-c "BEGIN" -c "SELECT (dynamo_get_xact_lock('p3', 10000, 0, '$T', payload => '\"text\"')).lock_name" \
	-c "SELECT payload FROM dynamo_lock_info('p3', '$T')" -c "COMMIT")
expect_eq "the transaction-level forms take a payload too (a JSON array, a string)" 'p2|p3|"text"' "$(tr '\n' '|' <<<"$out" | sed 's/|$//')"
expect_eq "...and the payload of a transaction lock goes at its release" 'f|' \
	"$(sql -c "SELECT held, payload FROM dynamo_lock_info('p3', '$T')")"
# another session's acquire replaces it (the first holder's session ended)
sql -c "SELECT (dynamo_get_lock('p4', 10000, 0, '$T', payload => '{\"leader\": 1}')).lock_name" >/dev/null
expect_eq "a later holder's payload replaces the earlier one's" '{"leader": 2}' \
	"$(sql -c "SELECT (dynamo_get_lock('p4', 10000, 2000, '$T', payload => '{\"leader\": 2}')).lock_name" \
		-c "SELECT payload FROM dynamo_lock_info('p4', '$T')" | tail -1)"

# an expired lease taken over without a payload: the earlier holder's payload is gone
# (its holder never released it: the item is written as a dead server leaves it)
ddb_raw PutItem "{\"TableName\":\"$T\",\"Item\":{\"lock_name\":{\"S\":\"p5\"},\"owner\":{\"S\":\"dead-server\"},
	\"fencing_token\":{\"N\":\"7\"},\"version\":{\"S\":\"v\"},\"lease_until\":{\"N\":\"1000\"},
	\"payload\":{\"S\":\"{\\\"leader\\\": \\\"dead\\\"}\"},\"payload_token\":{\"N\":\"7\"}}}" >/dev/null
expect_eq "an expired lease (a dead holder's payload, its token) reads: not held, the payload shown" 'f|{"leader": "dead"}' \
	"$(sql -c "SELECT held, payload FROM dynamo_lock_info('p5', '$T')")"
expect_eq "...taken over without a payload: the dead holder's payload is gone" "p5 t|" \
	"$(sql -c "SELECT (dynamo_get_lock('p5', 10000, 0, '$T')).lock_name" -c "SELECT held, payload FROM dynamo_lock_info('p5', '$T')" | tr '\n' ' ' | sed 's/ $//')"
# a payload left by an older version's takeover (its token is not the item's) is not shown
ddb_raw UpdateItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"p5\"}},\"UpdateExpression\":\"SET payload = :p, payload_token = :t\",
	\"ExpressionAttributeValues\":{\":p\":{\"S\":\"{}\"},\":t\":{\"N\":\"7\"}}}" >/dev/null
expect_eq "...a payload whose token is not the lock's (left by an older version) reads as NULL (the lock released since)" "f|" \
	"$(sql -c "SELECT held, payload FROM dynamo_lock_info('p5', '$T')")"
# a payload that is not JSON (another client wrote it): a WARNING, NULL, and the rest still said
ddb_raw UpdateItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"p5\"}},\"UpdateExpression\":\"SET payload = :p, payload_token = fencing_token\",
	\"ExpressionAttributeValues\":{\":p\":{\"S\":\"not json\"}}}" >/dev/null
out=$(psql -X -qAt -c "SELECT held, payload FROM dynamo_lock_info('p5', '$T')" 2>&1)
expect_eq "...a payload that is not JSON: WARNING, NULL, held still said" "WARNING:  the payload of lock \"p5\" is not JSON: shown as NULL|f|" \
	"$(grep '^WARNING' <<<"$out" | head -1)|$(grep -v '^WARNING\|^DETAIL' <<<"$out")"

# --- released by name, when the dynamo_lock value is not at hand
expect_eq "dynamo_release_lock_by_name: true for a lock held, then false (not held)" "p6 t f" \
	"$(sql -c "SET client_min_messages = warning" -c "SELECT (dynamo_get_lock('p6', 10000, 0, '$T')).lock_name" \
		-c "SELECT dynamo_release_lock_by_name('p6', '$T')" -c "SELECT dynamo_release_lock_by_name('p6', '$T')" | tr '\n' ' ' | sed 's/ $//')"

# --- 2. a lock never taken: nothing held, nothing written
expect_eq "dynamo_lock_info of a lock never taken: not held, every other column NULL" "f|||||" \
	"$(sql -c "SELECT held, holder, acquired_at, expires_at, fencing_token, payload FROM dynamo_lock_info('never-$RANDOM', '$T')")"
name=unwritten-$RANDOM
sql -c "SELECT held FROM dynamo_lock_info('$name', '$T')" >/dev/null
expect_eq "...and no item is written for it" "" \
	"$(ddb_raw GetItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"$name\"}},\"ConsistentRead\":true}" | grep -o '"Item"' || true)"

# --- 3. the size check: before anything is sent, no slot kept
big=$(printf 'x%.0s' $(seq 1 16400))
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SELECT http_requests AS before FROM dynamo_atomic_backend_stats() \gset
SELECT dynamo_get_lock('p-big', 10000, 0, '$T', payload => jsonb_build_object('blob', '$big'));
SELECT http_requests - :before, (SELECT count(*) FROM dynamo_held_locks WHERE pid = pg_backend_pid()) FROM dynamo_atomic_backend_stats();
SQL
)
expect_eq "a payload over 16384 bytes: 54000 naming the lock and the size, nothing sent, no lock held" \
	"ERROR:  54000: the payload of lock \"p-big\" is 16412 bytes, over the 16384 allowed|0|0" \
	"$(grep '^ERROR' <<<"$out")|$(tail -1 <<<"$out")"
r=$(sql_error "SELECT dynamo_try_get_lock('p-over', 10000, '$T', payload => to_jsonb(repeat('y', 16383)))")
expect_eq "...one byte over (16385): refused" "54000|the payload of lock \"p-over\" is 16385 bytes, over the 16384 allowed" \
	"$(field 1 "$r")|$(field 3 "$r")"
expect_eq "...one at the limit is stored" 16384 \
	"$(sql -c "SELECT (dynamo_try_get_lock('p-limit', 10000, '$T', payload => to_jsonb(repeat('y', 16382)))).lock_name IS NOT NULL" \
		-c "SELECT length(payload::text) FROM dynamo_lock_info('p-limit', '$T')" | tail -1)"

# --- 4. privileges: a reader needs the locks family
sql -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS payload_reader" -c "CREATE ROLE payload_reader" >/dev/null
r=$(sql_error "SET ROLE payload_reader" "SELECT * FROM dynamo_lock_info('p1', '$T')")
expect_eq "dynamo_lock_info without a grant: 42501" 42501 "$(field 1 "$r")"
sql -c "SELECT count(*) FROM dynamo_atomic_grant('payload_reader', 'locks')" >/dev/null
r=$(sql_error "SET ROLE payload_reader" "SELECT * FROM dynamo_lock_info('p1', '$T')")
expect_eq "...with dynamo_atomic_grant(role, 'locks'): it reads" none "$(field 1 "$r")"
sql -c "SELECT count(*) FROM dynamo_atomic_revoke('payload_reader', 'locks')" -c "DROP ROLE payload_reader" >/dev/null

# --- 5. leader election across two clusters: the leader's server is killed, a follower takes over
name=leader-$RANDOM
export WORK=$work T NAME=$name
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/b.out" 2>&1 &
b_cluster=$!
harness_wait_for 60 test -e "$work/b_leads" || fail "leader election: B did not become the leader" "$(cat "$work/b.out" "$work/b_leader.out" 2>/dev/null)"
b_port=$(sql -c "SELECT payload->>'address' FROM dynamo_lock_info('$name', '$T')")
expect_eq "a follower reads who leads: held, and the payload B published (its address)" "t|B" \
	"$(sql -c "SELECT held, payload->>'leader' FROM dynamo_lock_info('$name', '$T')")"
b_token=$(sql -c "SELECT fencing_token FROM dynamo_lock_info('$name', '$T')")
# A, a follower: tries every 100 ms, as the README's recipe does every few seconds
psql -X -qAt >"$work/a_follower.out" 2>&1 <<SQL &
SET client_min_messages = warning;
DO \$\$
BEGIN
    WHILE (dynamo_try_get_lock('$name', 3000, '$T',
              payload => jsonb_build_object('leader', 'A', 'address', '127.0.0.1:$PGPORT'))).lock_name IS NULL LOOP
        PERFORM pg_sleep(0.1);
    END LOOP;
END
\$\$;
\! date +%s%3N
SELECT pg_sleep(5);
SQL
follower=$!
sleep 0.5 # the follower is seen trying while B leads: nothing changes hands
expect_eq "...while the leader lives, the follower does not take over" "t|B" \
	"$(sql -c "SELECT held, payload->>'leader' FROM dynamo_lock_info('$name', '$T')")"
b_pm=$(cat "$work/b_postmaster")
killed_at=$(now_ms)
# stopped first, then killed: no process of B's sees another die and exits cleanly
# (a backend that sees its postmaster gone exits, releasing its locks)
b_pids="$b_pm $(pgrep -P "$b_pm" -d ' ')"
kill -STOP $b_pids 2>/dev/null || true
kill -KILL $b_pids 2>/dev/null || true
sleep 0.2
b_until=$(sql -c "SELECT (extract(epoch FROM expires_at) * 1000)::bigint FROM dynamo_lock_info('$name', '$T')")
harness_wait_for 15 grep -qE '^[0-9]{13}$' "$work/a_follower.out" || true
took=$(grep -E '^[0-9]{13}$' "$work/a_follower.out" | head -1)
took=${took:-0}
expect_true "the leader's server killed: A takes over once B's lease and the skew (1 s) have passed, not before, within 0.7 s of it ($((took - b_until)) ms after B's lease end, $((took - killed_at)) ms after the kill)" \
	test $((took - b_until)) -ge 1000 -a $((took - b_until)) -le 1700
expect_eq "...the payload now names the new leader, with a larger token" "t|A|127.0.0.1:$PGPORT|t" \
	"$(sql -c "SELECT held, payload->>'leader', payload->>'address', fencing_token > $b_token FROM dynamo_lock_info('$name', '$T')")"
expect_true "...B had published its own address ($b_port), not A's" test "$b_port" != "127.0.0.1:$PGPORT"
wait "$follower" || true
touch "$work/done"
wait "$b_cluster" 2>/dev/null || true
