#!/usr/bin/env bash
# A lost lock stops its holder: when a held lock's heartbeats do not get
# through and its lease enters the danger zone (a third of the lease, or
# lock_clock_skew_ms + lock_commit_margin_ms, left), a lock worker cancels
# the holder's running statement: under a transaction-level or guarded lock
# with 40001 (its transaction cannot commit), under a session lock only with
# lock_loss_cancels = 'all' (55P03).  A session whose lock was found lost is
# told by every dynamo_* call (55P03) until it releases the lock.  The fake front makes the
# lock's heartbeats fail, or hang.  Two clusters: the holder is cancelled
# before the other cluster takes the lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseDangerLocks

if [[ ${1:-} == cluster-b ]]; then
	# B: once A holds the lock, waits for it (DynamoDB directly) and says when it got it.
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	touch "$WORK/b_ready"
	harness_wait_for 20 test -e "$WORK/a_holds" || exit 1
	psql -X -qAt -c "SELECT fencing_token FROM dynamo_get_lock('$NAME', 30000, 20000, '$T')" >"$WORK/b_token"
	now_ms >"$WORK/b_took"
	exit 0
fi

case_begin CaseDangerCounters
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" >/dev/null
sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS ledger" -c "CREATE TABLE ledger (lock text, n int)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
at_fake="SET dynamo_atomic.endpoint = '$fake'"
# psql lines: the lock's writes fail (or hang) from now on, and the time
clock="\\! date +%s%3N"
heartbeats() { printf "\\! curl -s --max-time 5 '%s/_control?add=1&fault=%s&target=UpdateItem&match=%s' >/dev/null" "$fake" "$2" "$1"; }
rows() { sql -c "SELECT count(*) FROM ledger WHERE lock = '$1'"; }
first_error() { grep -E '^ERROR' <<<"$1" | head -1; }
# the Nth line of a psql output that is a time (epoch ms)
time_line() { grep -E '^[0-9]{13}$' <<<"$1" | sed -n "${2}p"; }
# the first write of the lock the front received after ms (a heartbeat)
first_heartbeat_after() {
	curl -s "$fake/_log" | node -e '
		const [name, after] = process.argv.slice(1);
		const at = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean).map(JSON.parse)
			.filter(r => (r.target || "").endsWith("UpdateItem") && r.body.includes(name) && r.at > Number(after))
			.map(r => r.at);
		console.log(at.length ? Math.min(...at) : "");' "$1" "$2"
}
# a psql line that waits (polling the registry, 15 s at most) until the lock is in that state
wait_state() { printf "DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN WHILE coalesce((SELECT state <> '%s' FROM dynamo_held_locks WHERE lock_name = '%s'), true) AND clock_timestamp() < t + interval '15 s' LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$;" "$2" "$1"; }

# --- 1. a statement under a transaction-level lock: cancelled in the danger zone, before the lease ends
# The heartbeats fail; or the first one of each of three locks hangs, so that
# every lock worker (3) waits on one (the release at the abort then goes
# through, so that the client hears of the cancel at once).
sleeper() { # NAME RULE: a transaction that holds NAME and sleeps; prints its clocks
	psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
$clock
SELECT (dynamo_get_xact_lock('$1', 3000, 0, '$T')).lock_name IS NOT NULL;
$clock
$2
INSERT INTO ledger VALUES ('$1', 1), ('$1', 2);
SELECT pg_sleep(10);
$clock
COMMIT;
SQL
}
check_cancelled() { # WHAT NAME OUTPUT
	local what=$1 name=$2 out=$3 before after cancelled first
	before=$(time_line "$out" 1)
	after=$(time_line "$out" 2)
	cancelled=$(time_line "$out" 3)
	# the lease (3 s) began between the two clocks, the zone (1.5 s left) 1.5 s
	# later: the cancel comes then, within the watch's 50-100 ms (a hanging
	# heartbeat's attempt, cut at 2 s, must not be what wakes it)
	expect_eq "$what: a statement under a transaction-level lock is cancelled with 40001 naming the lock" \
		"ERROR:  40001: canceling statement: lock \"$name\" may be lost: its lease ends at" \
		"$(first_error "$out" | sed 's/ at .*/ at/')"
	expect_true "...in the danger zone, not before it, long before the lease ends: $((cancelled - before)) ms after the acquire was sent, $((cancelled - after)) ms after its answer" \
		test $((cancelled - before)) -ge 1480 -a $((cancelled - after)) -le 1750
	first=$(first_heartbeat_after "$name" "$after")
	expect_true "...the first heartbeat was sent a third into the lease, $((cancelled - ${first:-0})) ms before the cancel" \
		test -n "$first" -a $((first - before)) -ge 990 -a $((first - after)) -le 1300
	expect_eq "...and the rows its transaction wrote are gone" 0 "$(rows "$name")"
}
name=sleep-fail-$RANDOM
out=$(sleeper "$name" "$(heartbeats "$name" server-error)")
check_cancelled "heartbeats failing" "$name" "$out"
expect_true "...the DETAIL says no heartbeat got through (and why, once one failed)" \
	grep -qE "DETAIL:  No heartbeat has got through since it was taken(: .*)?; 1500 ms of lease left count as danger" <<<"$out"
expect_true "...the HINT says the transaction cannot commit" grep -q "HINT:  Another server may take it before this transaction could commit" <<<"$out"
curl -s "$fake/_control" >/dev/null
sleepers=()
for i in 1 2 3; do
	name=sleep-hang$i-$RANDOM
	echo "$name" >"$work/hang$i.name"
	sleeper "$name" "$(heartbeats "$name" "delay&ms=20000&count=1")" >"$work/hang$i.out" &
	sleepers+=($!)
done
wait "${sleepers[@]}"
for i in 1 2 3; do
	check_cancelled "heartbeats hanging in every lock worker ($i of 3)" "$(cat "$work/hang$i.name")" "$(cat "$work/hang$i.out")"
done
curl -s "$fake/_control" >/dev/null	# no rule left

# --- 2. a bulk INSERT under it: cancelled too, nothing kept
name=bulk-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$(heartbeats "$name" server-error)
SET statement_timeout = '30s';
INSERT INTO ledger SELECT '$name', g FROM generate_series(1, 200000000) g;
COMMIT;
SQL
)
expect_eq "a bulk INSERT under a transaction-level lock whose heartbeats fail: cancelled (40001), no row kept" \
	"ERROR:  40001: canceling statement: lock \"$name\" may be lost|0" \
	"$(first_error "$out" | sed 's/: its lease.*//')|$(rows "$name")"

# --- 3. idle in its transaction meanwhile: the next long statement is cancelled at once
name=idle-$RANDOM
printf '%s\nSELECT pg_sleep(0.6);\n' "$(wait_state "$name" danger)" >"$work/wait_danger.sql"
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$(heartbeats "$name" server-error)
\\! psql -X -qAt -f $work/wait_danger.sql
$clock
SELECT pg_sleep(5);
$clock
COMMIT;
SQL
)
expect_eq "a holder idle in its transaction when the zone began: its next statement is cancelled (40001)" \
	"ERROR:  40001: canceling statement: lock \"$name\" may be lost" "$(first_error "$out" | sed 's/: its lease.*//')"
expect_true "...within the repeat interval (500 ms): $(($(time_line "$out" 2) - $(time_line "$out" 1))) ms" \
	test $(($(time_line "$out" 2) - $(time_line "$out" 1))) -le 700

# --- 4. a session lock: not cancelled (by default); found lost, every dynamo_* call says so until it is released
name=session-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('$name', 3000, 0, '$T');
$(heartbeats "$name" server-error)
SELECT pg_sleep(2.2);
SELECT state, state_since IS NOT NULL FROM dynamo_held_locks WHERE lock_name = '$name';
$(wait_state "$name" lost)
SELECT state, lost, state_since = expires_at FROM dynamo_held_locks WHERE lock_name = '$name';
SELECT (dynamo_try_get_lock('other-$RANDOM', 3000, '$T')).lock_name IS NOT NULL;
BEGIN;
SAVEPOINT s;
SELECT (dynamo_try_get_lock('other-$RANDOM', 3000, '$T')).lock_name IS NOT NULL;
ROLLBACK TO s;
COMMIT;
SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l;
SELECT (dynamo_try_get_lock('other-$RANDOM', 3000, '$T')).lock_name IS NOT NULL;
SQL
)
expect_eq "a session lock's holder is not cancelled in the danger zone (lock_loss_cancels = 'transaction')" "" \
	"$(grep -E '^ERROR.*canceling' <<<"$out")"
expect_eq "...dynamo_held_locks shows it in danger (state, state_since), then lost since its lease ended" \
	"danger|t lost|t|t" "$(grep -E '^(danger|lost)\|' <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...the session's next dynamo_* call raises 55P03 naming the lock and when it was lost" \
	"ERROR:  55P03: lock \"$name\" of this session was lost at" "$(first_error "$out" | sed 's/ at .*/ at/')"
expect_true "...with why in the DETAIL" grep -q "DETAIL:  A lock worker found it lost: its lease ended before a heartbeat got through." <<<"$out"
expect_eq "...and nothing else fails" 2 "$(grep -c '^ERROR' <<<"$out")"
expect_eq "...and every call after it (in a savepoint rolled back too) until the lock is released (false: it was lost); then calls work" \
	"2|f|t" "$(grep -c "^ERROR:  55P03: lock \"$name\" of this session was lost" <<<"$out")|$(grep -E '^[tf]$' <<<"$out" | tr '\n' '|' | sed 's/|$//')"

# --- 5. lock_loss_cancels = 'all': the session lock's holder is cancelled too (55P03), once per danger, once more when lost
name=all-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
SET dynamo_atomic.lock_loss_cancels = 'all';
$at_fake;
CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('$name', 3000, 0, '$T');
$(heartbeats "$name" server-error)
SELECT pg_sleep(10);
SELECT true FROM pg_sleep(1.2);
SELECT pg_sleep(10);
SELECT dynamo_try_get_lock('other-$RANDOM', 3000, '$T');
SQL
)
expect_eq "lock_loss_cancels = 'all': a session lock's holder is cancelled in the danger zone (55P03), not again (a 1.2 s statement after it runs), again when it is lost, then told" \
	"ERROR:  55P03: canceling statement: lock \"$name\" may be lost|t|ERROR:  55P03: canceling statement: lock \"$name\" was lost|ERROR:  55P03: lock \"$name\" of this session was lost" \
	"$(grep -E '^ERROR' <<<"$out" | sed -n 1p | sed 's/: its lease.*//')|$(grep -E '^[tf]$' <<<"$out" | head -1)|$(grep -E '^ERROR' <<<"$out" | sed -n 2p | sed 's/ at .*//')|$(grep -E '^ERROR' <<<"$out" | sed -n 3p | sed 's/ at .*//')"

# --- 6. a session lock bound with dynamo_guard_xact: cancelled with 40001 while bound, not after
name=guarded-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('$name', 3000, 0, '$T');
BEGIN;
SELECT (dynamo_guard_xact(ROW(l.*)::dynamo_lock)).lock_name IS NOT NULL FROM l;
$(heartbeats "$name" server-error)
SELECT pg_sleep(10);
ROLLBACK;
SELECT true FROM pg_sleep(0.7);
SQL
)
expect_eq "a guarded session lock: its transaction's statement cancelled (40001); after ROLLBACK a statement runs on" \
	"ERROR:  40001: canceling statement: lock \"$name\" may be lost|t" \
	"$(first_error "$out" | sed 's/: its lease.*//')|$(grep -E '^[tf]$' <<<"$out" | tail -1)"
expect_eq "...and no other error" 1 "$(grep -c '^ERROR' <<<"$out")"

# --- 7. lock_loss_cancels = 'none': nobody cancelled (the commit check still refuses)
name=none-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
SET dynamo_atomic.lock_loss_cancels = 'none';
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$(heartbeats "$name" server-error)
INSERT INTO ledger VALUES ('$name', 1);
SELECT pg_sleep(2);
COMMIT;
SQL
)
expect_eq "lock_loss_cancels = 'none': the statement runs to its end, the commit is refused (40001), no row" \
	"ERROR:  40001: could not commit: lock \"$name\"|0" "$(first_error "$out" | sed 's/" .*/"/')|$(rows "$name")"

# --- 8. leases too short for the zone to come after a heartbeat: refused before anything is sent
for stmt in "SELECT dynamo_get_xact_lock('short', 2999, 0, '$T')" \
	"SELECT dynamo_try_get_xact_lock('short', 2000, '$T')" \
	"SET dynamo_atomic.lock_loss_cancels = 'all'; SELECT dynamo_get_lock('short', 2000, 0, '$T')"; do
	r=$(sql_error "$stmt")
	expect_eq "lease under 2 x (skew + margin) = 3000 ms: 22023 ($stmt)" \
		"22023|lease_ms of lock \"short\" must be at least 3000" "$(field 1 "$r")|$(field 3 "$r" | sed 's/ for .*//')"
done
r=$(sql_error "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('short-guard', 2000, 0, '$T')" "BEGIN" \
	"SELECT dynamo_guard_xact(ROW(l.*)::dynamo_lock) FROM l")
expect_eq "...and dynamo_guard_xact of a session lock with a 2000 ms lease: 22023" 22023 "$(field 1 "$r")"
r=$(sql_error "SELECT dynamo_get_lock('short-ok', 2000, 0, '$T')")
expect_eq "...a session lock with a short lease, not cancelled, is fine" none "$(field 1 "$r")"

# --- 9. heartbeats through again: the danger ends, no more cancels, the commit keeps the rows
name=recovered-$RANDOM
printf '%s\n' "$(wait_state "$name" danger)" >"$work/wait_danger2.sql"
printf '%s\n' "$(wait_state "$name" held)" >"$work/wait_held.sql"
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 4500, 0, '$T')).lock_name IS NOT NULL;
$(heartbeats "$name" server-error)
INSERT INTO ledger VALUES ('$name', 1);
\! psql -X -qAt -f $work/wait_danger2.sql
\! curl -s --max-time 5 '$fake/_control' >/dev/null
\! psql -X -qAt -f $work/wait_held.sql
SELECT state, state_since IS NULL FROM dynamo_held_locks WHERE lock_name = '$name';
SELECT true FROM pg_sleep(1.2);
COMMIT;
SQL
)
expect_eq "heartbeats through again after the danger zone began: held again (state_since NULL), a later statement runs, the commit keeps the row" \
	"t held|t t|1" "$(grep -E '^(held|danger|lost)\||^t$' <<<"$out" | tr '\n' ' ' | sed 's/ $//')|$(rows "$name")"
expect_eq "...and no error at all" "" "$(grep '^ERROR' <<<"$out")"

# --- 10. the lock taken in a PL/pgSQL block with an EXCEPTION clause (released as the block rolls back): still said
name=plpgsql-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
-- every heartbeat fails (this session's only lock): its condition, not its name, is matched
\\! curl -s --max-time 5 '$fake/_control?add=1&fault=server-error&target=UpdateItem&match=%3Atoken%20AND%20(attribute_not_exists' >/dev/null
DO \$\$
BEGIN
    PERFORM dynamo_get_xact_lock('$name', 3000, 0, '$T');
    INSERT INTO ledger VALUES ('$name', 1);
    PERFORM pg_sleep(10);
EXCEPTION WHEN unique_violation THEN NULL;
END
\$\$;
COMMIT;
SQL
)
expect_eq "a lock taken in a PL/pgSQL block with an EXCEPTION clause: the cancel still names it (40001), no row" \
	"ERROR:  40001: canceling statement: lock \"$name\" may be lost|0" "$(first_error "$out" | sed 's/: its lease.*//')|$(rows "$name")"
curl -s "$fake/_control" >/dev/null

# --- 11. a heartbeat's attempt given up for lost that lands after its resend cannot shorten the lease
# (the first heartbeat, 2 s into a 6 s lease, is held 3 s by the front: its
# attempt is cut at a third of the lease, 2 s, and resent; the held one
# reaches DynamoDB after the resend, and is refused: conditioned on sent_at)
name=reordered-$RANDOM
cat >"$work/lease_in_dynamodb.sh" <<LEASE
source test/lib/harness.sh
DDB_ENDPOINT=$DDB_ENDPOINT
ddb_raw GetItem '{"TableName":"$T","Key":{"lock_name":{"S":"$name"}},"ConsistentRead":true}' |
	grep -o '"lease_until":{"N":"[0-9]*"' | grep -o '[0-9]\{13\}'
LEASE
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
$clock
SELECT (dynamo_get_lock('$name', 6000, 0, '$T')).lock_name IS NOT NULL;
$(heartbeats "$name" "delay&ms=3000&count=1")
SELECT pg_sleep(5.4);
SELECT (extract(epoch FROM expires_at) * 1000)::bigint || '|' || refresh_failures FROM dynamo_held_locks WHERE lock_name = '$name';
\! bash $work/lease_in_dynamodb.sh
SQL
)
acquired=$(time_line "$out" 1)
registry=$(grep -E '^[0-9]{13}\|' <<<"$out" | cut -d'|' -f1)
in_dynamodb=$(grep -E '^[0-9]{13}$' <<<"$out" | tail -1)
expect_eq "attempts landing out of order: DynamoDB keeps the lease the registry records" "${registry:-none}" "${in_dynamodb:-missing}"
expect_true "...the resend's (sent about 4 s in: the lease ends 9.5-10.8 s after the acquire, $((${registry:-0} - acquired)) ms), not the held first attempt's (about 8 s)" \
	test $((${registry:-0} - acquired)) -ge 9500 -a $((${registry:-0} - acquired)) -le 10800
curl -s "$fake/_control" >/dev/null

# --- 12. two clusters: the holder is cancelled before the other cluster takes its lock
name=shared-$RANDOM
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work T NAME=$name
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/b.out" 2>&1 &
b_cluster=$!
harness_wait_for 60 test -e "$work/b_ready" || fail "two clusters: B did not start"
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$clock
$(heartbeats "$name" server-error)
\\! touch $work/a_holds
INSERT INTO ledger VALUES ('$name', 1);
SELECT pg_sleep(20);
$clock
COMMIT;
SQL
)
wait "$b_cluster" || cat "$work/b.out"
acquired=$(time_line "$out" 1)
cancelled=$(time_line "$out" 2)
b_took=$(cat "$work/b_took" 2>/dev/null || echo 0)
expect_eq "two clusters: A's statement under the lock is cancelled (40001)" "ERROR:  40001" "$(first_error "$out" | cut -c1-13)"
expect_true "...before B takes the lock: A cancelled $((cancelled - acquired)) ms, B took it $((b_took - acquired)) ms after A's acquire" \
	test "$cancelled" -lt "$b_took"
expect_true "...and B took it after A's lease and the skew (4 s), not long after" \
	test $((b_took - acquired)) -ge 3900 -a $((b_took - acquired)) -le 6000
expect_eq "...A's row is not there" 0 "$(rows "$name")"
