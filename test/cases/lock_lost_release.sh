#!/usr/bin/env bash
# A lock this server marked lost that DynamoDB still holds for it is still
# released: by dynamo_release_lock, at the session's exit, and by a lock
# worker when the exit's release does not get through.  The fake front
# applies every heartbeat and never answers: DynamoDB keeps extending the
# lease while the registry, which records only answered heartbeats, marks
# the lock lost once its lease and the skew margin pass.  The release,
# conditioned on owner and fencing token, frees nobody else's lock; here it
# frees ours, and another session takes the lock within 1 s of it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseLockLostRelease

case_begin CaseLockLostReleaseCounters
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
# A heartbeat's condition ("... #token = :token AND (attribute_not_exists(#sent) ..."):
# neither the acquire's nor the release's has ":token AND (".
hb_match='%3Atoken%20AND%20('
release_match='%23token%20%3D%20%3Atoken%22'
# the releases the front received since its log was last cleared
release_requests() { curl -s "$fake/_log" | grep -c '#token = :token\\"' || true; }
state_of() { sql -c "SELECT state FROM dynamo_held_locks WHERE lock_name = '$1'"; }
held_in_dynamodb() { sql -c "SELECT held FROM dynamo_lock_info('$1', '$T')"; }
# takes NAME: another session takes the lock (waiting up to 3 s); prints the epoch ms it got it
takes() {
	sql -c "SET client_min_messages = warning" \
		-c "SELECT (dynamo_get_lock('$1', 5000, 3000, '$T')).fencing_token IS NOT NULL" \
		-c "SELECT dynamo_release_lock_by_name('$1', '$T')" >/dev/null && now_ms
}
within_1s() { # WHAT FROM TO
	local d=$(($3 - $2))
	if (($2 > 0 && $3 > 0 && d >= 0 && d < 1000)); then pass "$1 (${d} ms)"; else fail "$1" "from ${2:-?} to ${3:-?}"; fi
}
# holder NAME [STATEMENTS]: a session at the front that takes NAME (3 s lease),
# waits until the registry marks it lost, runs STATEMENTS, and stays connected
holder() {
	psql -X -qAt -v VERBOSITY=verbose <<SQL >"$work/$1.out" 2>&1 &
SET application_name = '$1';
SET client_min_messages = warning;
SET dynamo_atomic.endpoint = '$fake';
SELECT dynamo_get_lock('$1', 3000, 0, '$T') AS l \\gset
\\! curl -s --max-time 5 '$fake/_control?add=1&fault=apply-then-hang&target=UpdateItem&match=$hb_match' >/dev/null
DO \$\$ DECLARE t timestamptz := clock_timestamp(); BEGIN
  WHILE coalesce((SELECT state <> 'lost' FROM dynamo_held_locks WHERE lock_name = '$1'), true)
    AND clock_timestamp() < t + interval '20 s' LOOP PERFORM pg_sleep(0.02); END LOOP; END \$\$;
\\! touch '$work/$1.lost'
${2:-}
SELECT pg_sleep(60);
SQL
	harness_track_pid $!
	harness_wait_for 25 test -e "$work/$1.lost"
}

# --- 1. dynamo_release_lock of a lock marked lost that DynamoDB still holds
holder lost-release "\\! psql -X -qAt -c \"SELECT 'held_then ' || held FROM dynamo_lock_info('lost-release', '$T')\"
SELECT dynamo_release_lock(:'l'::dynamo_lock) AS released \\gset
\\! date +%s%3N >'$work/released_at'
\\echo released :released"
expect_true "a lock whose heartbeats DynamoDB applies but never answers is marked lost" test -e "$work/lost-release.lost"
harness_wait_for 10 test -s "$work/released_at"
got=$(takes lost-release || true)
expect_eq "while marked lost, DynamoDB still holds it (dynamo_lock_info)" \
	"held_then true" "$(grep '^held_then' "$work/lost-release.out" || true)"
expect_eq "dynamo_release_lock sends the release of a lock marked lost, and it frees it (true)" \
	"released t" "$(grep '^released' "$work/lost-release.out" || true)"
within_1s "after that release another session takes the lock within 1 s" \
	"$(cat "$work/released_at" 2>/dev/null || echo 0)" "${got:-0}"
control ""

# --- 2. a terminated holder: its exit releases the lock marked lost
holder lost-exit
expect_eq "before the termination the lock is marked lost while DynamoDB holds it" \
	"lost t" "$(state_of lost-exit) $(held_in_dynamodb lost-exit)"
control ""
t0=$(now_ms)
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lost-exit'" >/dev/null
got=$(takes lost-exit || true)
within_1s "after a termination another session takes a lock marked lost within 1 s" "$t0" "${got:-0}"
expect_true "...because its exit sent the release (the front logged it)" test "$(release_requests)" -ge 1

# --- 3. ...and when the exit's release fails, a lock worker releases it
holder lost-worker
control ""
# the exit's release (one attempt and one retry, at scope end) is refused with 500s
control "fault=server-error&target=UpdateItem&match=$release_match&count=2"
t0=$(now_ms)
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lost-worker'" >/dev/null
got=$(takes lost-worker || true)
within_1s "a lock marked lost whose exit release failed is released by a worker: taken within 1 s" "$t0" "${got:-0}"
releases=$(release_requests)
if ((releases >= 3)); then
	pass "the worker sent the release after the exit's two failed ($releases releases at the front)"
else
	fail "the worker sent the release after the exit's two failed" "$releases releases at the front"
fi
