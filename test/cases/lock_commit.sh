#!/usr/bin/env bash
# A transaction never commits under a lock it no longer holds: at COMMIT
# each transaction-scope lock, and each session lock bound with
# dynamo_guard_xact, must have lock_clock_skew_ms + lock_commit_margin_ms
# of lease left by the registry (40001 otherwise, and the rows written are
# gone); in time, the rows stay and the commit costs no request but the
# release ('read' adds one consistent read).  The fake front makes the
# lock's heartbeats fail.  Two clusters: a holder whose server is stopped
# (SIGSTOP) past its lease, the lock taken by the other cluster meanwhile,
# cannot commit what it wrote once it resumes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseCommitLocks

if [[ ${1:-} == cluster-b ]]; then
	# B: waits for A's holder to be stopped, takes the lock once its lease and
	# the skew have passed, and says so.
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	touch "$WORK/b_ready"
	harness_wait_for 20 test -e "$WORK/stopped" || exit 1
	psql -X -qAt -c "SELECT fencing_token FROM dynamo_get_lock('stalled', 30000, 20000, '$T')" >"$WORK/b_token"
	touch "$WORK/b_took"
	exit 0
fi

case_begin CaseCommitCounters
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" >/dev/null
sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS ledger" -c "CREATE TABLE ledger (lock text, n int)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
at_fake="SET dynamo_atomic.endpoint = '$fake'"
# the lock's heartbeats fail from now on (its acquire has been answered)
fail_heartbeats="\\! curl -s --max-time 5 '$fake/_control?add=1&fault=server-error&target=UpdateItem&match=%s' >/dev/null"
# waits (polling the registry) until the lock has less than ms of lease left
# (and a heartbeat has failed)
wait_left() { printf "DO \$\$ BEGIN WHILE (SELECT expires_at - clock_timestamp() > interval '%s ms' OR refresh_failures = 0 FROM dynamo_held_locks WHERE lock_name = '%s' AND pid = pg_backend_pid()) LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$" "$2" "$1"; }
rows() { sql -c "SELECT count(*) FROM ledger WHERE lock = '$1'"; }
commit_error() { grep -E '^ERROR' <<<"$1" | head -1; }

# --- 1. in time: committed, no request at commit but the release
out=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<SQL
SET client_min_messages = warning;
BEGIN;
SELECT (dynamo_get_xact_lock('intime', 10000, 0, '$T')).lock_name IS NOT NULL;
INSERT INTO ledger VALUES ('intime', 1), ('intime', 2);
SELECT http_requests AS before FROM dynamo_atomic_backend_stats() \gset
COMMIT;
SELECT http_requests - :before FROM dynamo_atomic_backend_stats();
SQL
)
expect_eq "a transaction lock with its lease: the commit keeps the rows" 2 "$(rows intime)"
expect_eq "...and this backend sends nothing at commit but the release (1 request)" 1 "$(tail -1 <<<"$out")"
out=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<SQL
SET client_min_messages = warning;
SET dynamo_atomic.lock_commit_check = 'read';
BEGIN;
SELECT (dynamo_get_xact_lock('intime-read', 10000, 0, '$T')).lock_name IS NOT NULL;
INSERT INTO ledger VALUES ('intime-read', 1);
SELECT http_requests AS before FROM dynamo_atomic_backend_stats() \gset
COMMIT;
SELECT http_requests - :before FROM dynamo_atomic_backend_stats();
SQL
)
expect_eq "lock_commit_check = 'read': committed, with one consistent read of the lock item at commit (2 requests)" "1|2" \
	"$(rows intime-read)|$(tail -1 <<<"$out")"
# ...and refused when the item is someone else's in DynamoDB (the registry does not know yet)
cat >"$work/steal.sh" <<STEAL
source test/lib/harness.sh
DDB_ENDPOINT=$DDB_ENDPOINT
ddb_raw UpdateItem '{"TableName":"$T","Key":{"lock_name":{"S":"stolen"}},"UpdateExpression":"SET #o = :o","ExpressionAttributeNames":{"#o":"owner"},"ExpressionAttributeValues":{":o":{"S":"thief"}}}' >/dev/null
STEAL
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
SET dynamo_atomic.lock_commit_check = 'read';
BEGIN;
SELECT (dynamo_get_xact_lock('stolen', 30000, 0, '$T')).lock_name IS NOT NULL;
INSERT INTO ledger VALUES ('stolen', 1);
\! bash $work/steal.sh
COMMIT;
SQL
)
expect_eq "lock_commit_check = 'read', the lock item taken over in DynamoDB meanwhile: 40001, the row gone" \
	"ERROR:  40001: could not commit: lock \"stolen\" is no longer this session's in DynamoDB|0" \
	"$(commit_error "$out")|$(rows stolen)"

# --- 2. heartbeats failing, the commit after the lease is in danger: rolled back
name=danger-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
-- the commit check alone: no cancel in the danger zone (lock_danger.sh)
SET dynamo_atomic.lock_loss_cancels = 'none';
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$(printf "$fail_heartbeats" "$name")
INSERT INTO ledger VALUES ('$name', 1), ('$name', 2), ('$name', 3);
$(wait_left "$name" 1400);
COMMIT;
SQL
)
expect_eq "heartbeats failing, COMMIT with under skew + margin (1.5 s) of lease left: 40001" \
	"ERROR:  40001: could not commit: lock \"$name\" has" "$(commit_error "$out" | cut -c1-$((38 + ${#name} + 6)))"
expect_eq "...and the rows it wrote are gone" 0 "$(rows "$name")"
expect_true "...the DETAIL names the margin's settings and the failing heartbeats" \
	grep -q "DETAIL:.*dynamo_atomic.lock_clock_skew_ms.*dynamo_atomic.lock_commit_margin_ms.*Its last heartbeats failed" <<<"$out"
# ...and the same lock in time: heartbeats failing too, but committed at once
name=soon-$RANDOM
out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
BEGIN;
SELECT (dynamo_get_xact_lock('$name', 3000, 0, '$T')).lock_name IS NOT NULL;
$(printf "$fail_heartbeats" "$name")
INSERT INTO ledger VALUES ('$name', 1);
COMMIT;
SQL
)
expect_eq "heartbeats failing, but COMMIT while 1.5 s of lease are left: the rows stay" 1 "$(rows "$name")"

# --- 3. a session lock: relied on only when bound with dynamo_guard_xact
for guard in yes no; do
	name=session-$guard-$RANDOM
	out=$(psql -X -qAt -v VERBOSITY=verbose 2>&1 <<SQL
SET client_min_messages = warning;
$at_fake;
SET dynamo_atomic.lock_loss_cancels = 'none';
CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('$name', 3000, 0, '$T');
$(printf "$fail_heartbeats" "$name")
BEGIN;
$([[ $guard == yes ]] && echo "SELECT (dynamo_guard_xact(ROW(l.*)::dynamo_lock)).lock_name FROM l;")
INSERT INTO ledger VALUES ('$name', 1);
$(wait_left "$name" 1400);
COMMIT;
SQL
)
	if [[ $guard == yes ]]; then
		expect_eq "a session lock bound with dynamo_guard_xact, its lease in danger at COMMIT: 40001, the row gone" \
			"ERROR:  40001|0" "$(commit_error "$out" | cut -c1-13)|$(rows "$name")"
	else
		expect_eq "...not bound: the commit does not rely on it (the row stays)" 1 "$(rows "$name")"
	fi
done
r=$(sql_error "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('guard-kept', 10000, 0, '$T')" "BEGIN" \
	"SELECT dynamo_guard_xact(ROW(l.*)::dynamo_lock) FROM l" "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l")
expect_eq "a guarded session lock cannot be released before the transaction ends (55000)" \
	"55000|cannot release lock \"guard-kept\" before the transaction that relies on it ends" "$(field 1 "$r")|$(field 3 "$r")"
r=$(sql_error "BEGIN" "SELECT dynamo_release_lock(l) FROM dynamo_get_xact_lock('xact-kept', 10000, 0, '$T') l")
expect_eq "...nor a transaction-level lock (55000)" 55000 "$(field 1 "$r")"
r=$(sql_error "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('guard-prepared', 10000, 0, '$T')" "BEGIN" \
	"SELECT dynamo_guard_xact(ROW(l.*)::dynamo_lock) FROM l" "PREPARE TRANSACTION 'guarded'")
expect_eq "a transaction whose commit relies on a lock cannot be PREPAREd (0A000: COMMIT PREPARED could not be checked)" \
	"0A000|cannot PREPARE a transaction whose commit relies on a dynamo_atomic lock (dynamo_guard_xact)" "$(field 1 "$r")|$(field 3 "$r")"
r=$(psql -X -qAt -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('guard-autocommit', 10000, 0, '$T')" \
	-c "SELECT dynamo_guard_xact(ROW(l.*)::dynamo_lock) FROM l" 2>&1 >/dev/null)
expect_true "dynamo_guard_xact outside a transaction block: a WARNING that it guards only that statement" \
	grep -q "WARNING:  dynamo_guard_xact outside a transaction block guards only this statement's commit" <<<"$r"
r=$(sql_error "SELECT dynamo_guard_xact(ROW('$T', 'nobody', 'someone-else', 'v', 1, NULL)::dynamo_lock)")
expect_eq "dynamo_guard_xact of a lock another session took: 22023" 22023 "$(field 1 "$r")"
r=$(sql_error "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('guard-released', 10000, 0, '$T')" \
	"SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" "BEGIN" "SELECT dynamo_guard_xact(ROW(l.*)::dynamo_lock) FROM l")
expect_eq "dynamo_guard_xact of a lock released: 55P03" 55P03 "$(field 1 "$r")"

# --- 4. two clusters: A's server stopped past its lease, B takes the lock, A resumes and cannot commit
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work T
postmaster=$(head -1 "$(sql -c 'SHOW data_directory')/postmaster.pid")
psql -X -qAt -v VERBOSITY=verbose >"$work/a.out" 2>&1 <<SQL &
SET client_min_messages = warning;
SET application_name = 'stalled-holder';
BEGIN;
SELECT fencing_token FROM dynamo_get_xact_lock('stalled', 3000, 0, '$T');
INSERT INTO ledger VALUES ('stalled', 1), ('stalled', 2);
\! touch $work/a_wrote; until test -e $work/resume; do sleep 0.05; done
COMMIT;
SQL
a_client=$!
harness_wait_for 20 test -e "$work/a_wrote" || fail "two clusters: A's holder did not write"
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/b.out" 2>&1 &
b_cluster=$!
# B's server up first: the time it takes to start is not in the takeover's
harness_wait_for 60 test -e "$work/b_ready" || fail "two clusters: B did not start"
# the whole server A stops: postmaster, backends, lock workers
a_pids="$postmaster $(pgrep -P "$postmaster" -d ' ')"
stopped_at=$(now_ms)
kill -STOP $a_pids
touch "$work/stopped"
harness_wait_for 30 test -e "$work/b_took" || true
took_ms=$(($(now_ms) - stopped_at))
kill -CONT $a_pids
touch "$work/resume"
wait "$a_client" || true
wait "$b_cluster" || cat "$work/b.out"
# (A's last heartbeat came at most a third of the 3 s lease before the stop:
# the lease ends 2 to 3 s after it, and B may take it 1 s (the skew) later)
expect_true "B took the lock while A was stopped, after its lease and the skew, not long after (${took_ms} ms), with a larger token" \
	test -s "$work/b_token" -a "$(cat "$work/b_token" 2>/dev/null || echo 0)" -gt "$(sed -n 1p "$work/a.out" | grep -E '^[0-9]+$' || echo 0)" \
	-a "$took_ms" -ge 2900 -a "$took_ms" -le 5500
expect_eq "A resumed: its COMMIT under the lock it lost is refused (40001)" "ERROR:  40001" \
	"$(commit_error "$(cat "$work/a.out")" | cut -c1-13)"
expect_eq "...and what it wrote under the lock is not there" 0 "$(rows stalled)"
