#!/usr/bin/env bash
# Lease locks (dynamo_get_lease_lock): held for exactly their lease by no
# session.  The session that took one ends and it stays held; another
# session, here or on nobody's behalf, takes it neither before its lease and
# the skew margin end nor long after; dynamo_release_lock_by_name ends it
# from any session; its fencing token counts on; it is not in
# dynamo_held_locks and dynamo_lock_info shows it; and a release cannot end
# a later acquisition of the same name.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseLeaseLocks
case_begin "$T"
L=${T}Locks
sql -c "SELECT dynamo_create_lock_table('$L', if_not_exists => true)" >/dev/null
skew=$(sql -c "SELECT setting FROM pg_settings WHERE name = 'dynamo_atomic.lock_clock_skew_ms'")

# --- taken, and the session that took it ends: still held
# the lease's end, as the value says (DynamoDB keeps the same)
first=$(sql -c "SELECT fencing_token || '|' || owner || '|' || (extract(epoch FROM expires_at) * 1000)::bigint FROM dynamo_get_lease_lock('job', 3000, table_name => '$L')")
lease_end=$(field 3 "$first")
expect_true "a lease lock's owner is no session's (lease:...)" grep -q '^lease:[0-9a-f]\{32\}$' <<<"$(field 2 "$first")"
expect_eq "the session that took it ended: another session cannot take it (NULL)" t \
	"$(sql -c "SELECT dynamo_try_get_lock('job', 5000, '$L') IS NULL")"
expect_eq "...nor take it as a lease lock" t "$(sql -c "SELECT dynamo_try_get_lease_lock('job', 5000, '$L') IS NULL")"
expect_eq "it is in no session's dynamo_held_locks" 0 "$(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'job'")"
info=$(sql -c "SELECT held, holder FROM dynamo_lock_info('job', '$L')")
expect_true "dynamo_lock_info shows it held, holder 'lease lock taken by ...'" grep -q '^t|lease lock taken by .*pid [0-9]* database ' <<<"$info"
r=$(sql_error "SELECT dynamo_get_lease_lock('job', 5000, 200, '$L')")
expect_eq "waiting 200 ms for it: 55P03" 55P03 "$(field 1 "$r")"

# --- the lease ends: taken again neither before lease + skew nor long after
got=
while (($(now_ms) < lease_end + skew + 3000)); do
	got=$(sql -c "SELECT fencing_token FROM dynamo_try_get_lock('job', 5000, '$L')")
	[[ -n $got ]] && break
	sleep 0.05
done
after=$(($(now_ms) - lease_end))
# when DynamoDB granted it: the acquisition's own time, stored with it
acquired=$(sql -c "SELECT (extract(epoch FROM acquired_at) * 1000)::bigint - $lease_end FROM dynamo_lock_info('job', '$L')")
expect_true "taken over once its 3 s lease and the ${skew} ms skew margin had passed (granted $acquired ms after the lease), not before" \
	test "$acquired" -ge "$skew"
expect_true "...and not long after (seen $after ms after the lease: within the margin + 1.5 s)" test "$after" -lt $((skew + 1500))
expect_true "...with a greater fencing token" test "${got:-0}" -gt "$(field 1 "$first")"

# --- released by name from another session, and a release cannot end a later acquisition
value=$(sql -c "SELECT row(l.*)::text FROM dynamo_get_lease_lock('mutex', 60000, table_name => '$L') l")
expect_eq "dynamo_release_lock_by_name ends a lease lock from another session" t \
	"$(sql -c "SELECT dynamo_release_lock_by_name('mutex', '$L')")"
expect_eq "...taken at once after" f "$(sql -c "SELECT dynamo_try_get_lease_lock('mutex', 60000, '$L') IS NULL")"
out=$(psql -X -qAt -c "SELECT dynamo_release_lock('$value'::dynamo_lock)" 2>&1)
expect_true "the first acquisition's value cannot end the second (false, NOTICE)" \
	bash -c 'grep -q "^f$" <<<"$1" && grep -q "NOTICE:  lease lock \"mutex\" had already ended" <<<"$1"' _ "$out"
expect_eq "...the second still holds it" t "$(sql -c "SELECT held FROM dynamo_lock_info('mutex', '$L')")"
value=$(sql -c "SELECT row(l.*)::text FROM dynamo_try_get_lease_lock('other', 60000, '$L') l")
expect_eq "dynamo_release_lock with a lease lock's own value ends it" "t|f" \
	"$(sql -c "SELECT dynamo_release_lock('$value'::dynamo_lock)" -c "SELECT held FROM dynamo_lock_info('other', '$L')" | paste -sd'|')"
out=$(psql -X -qAt -c "SELECT dynamo_get_lock('session-held', 30000, 0, '$L')" -c "SELECT pg_sleep(3600)" >/dev/null 2>&1 &
	echo $!)
harness_wait_for 10 bash -c "[[ \$(psql -X -qAt -c \"SELECT held FROM dynamo_lock_info('session-held', '$L')\") == t ]]"
r=$(psql -X -qAt -c "SELECT dynamo_release_lock_by_name('session-held', '$L')" 2>&1)
expect_true "a session's lock cannot be ended by name from another session (false, NOTICE naming the holder)" \
	bash -c 'grep -q "^f$" <<<"$1" && grep -q "DETAIL:  Lock \"session-held\": it is held by" <<<"$1"' _ "$r"
kill "$out" 2>/dev/null || true
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3600)%' AND pid <> pg_backend_pid()" >/dev/null

# --- refreshed by its value; not a transaction's guard
value=$(sql -c "SELECT row(l.*)::text FROM dynamo_get_lease_lock('refreshed', 2000, table_name => '$L') l")
expect_eq "dynamo_refresh_lock extends a lease lock (lease_ms from now)" t \
	"$(sql -c "SELECT expires_at > now() + interval '50 seconds' FROM dynamo_refresh_lock('$value'::dynamo_lock, 60000)")"
r=$(sql_error "BEGIN" "SELECT dynamo_guard_xact('$value'::dynamo_lock)")
expect_eq "a lease lock cannot guard a transaction (55000)" 55000 "$(field 1 "$r")"
