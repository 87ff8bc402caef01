#!/usr/bin/env bash
# Distributed locks: round trips, loss, the heartbeat worker, lost answers,
# and - across two clusters sharing one DynamoDB - mutual exclusion with
# fencing tokens, release at backend exit, leases kept alive by the worker,
# and a killed holder's lock becoming free within its lease.
#
#   bash locks.sh            the checks in this cluster (A), then starts B
#   bash locks.sh cluster-b  the two-cluster checks (inside B; A via A_PG*)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseLocks
LEASE=2000
SKEW=1000

# within NAME MS LOW HIGH
within() {
	if (($2 >= $3 && $2 < $4)); then pass "$1 (${2} ms)"; else fail "$1" "took $2 ms, expected [$3, $4)"; fi
}


backend_of() { sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"; }
stop_session() { sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null; }

# lease_until_of NAME: the lock item's lease end (epoch ms) as DynamoDB holds it
lease_until_of() {
	ddb_raw GetItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"$1\"}},\"ConsistentRead\":true}" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Item.lease_until.N))'
}

cluster_b() {
	harness_guard_server_environment
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"

	# --- mutual exclusion: 4 clients on each cluster, 20 critical sections each
	local setup="
		CREATE TABLE crit (token bigint, client text, t0 timestamptz, t1 timestamptz);
		CREATE FUNCTION crit(client text) RETURNS void LANGUAGE plpgsql AS \$\$
		DECLARE l dynamo_lock; t0 timestamptz;
		BEGIN
			l := dynamo_get_lock('mutex', 10000, 60000, '$T');
			t0 := clock_timestamp();
			PERFORM pg_sleep(0.002);
			INSERT INTO crit VALUES (l.fencing_token, client, t0, clock_timestamp());
			PERFORM dynamo_release_lock(l);
		END \$\$;"
	psql -X -q -c "$setup"
	on_a psql -X -q -c "DROP TABLE IF EXISTS crit; DROP FUNCTION IF EXISTS crit(text)" -c "$setup"
	echo "SELECT crit('b' || :client_id);" >"$WORK/crit_b.sql"
	echo "SELECT crit('a' || :client_id);" >"$WORK/crit_a.sql"
	local start=$(now_ms)
	pgbench -n -c 4 -j 2 -t 20 -f "$WORK/crit_b.sql" >"$WORK/crit_b.out" 2>&1 &
	local b=$!
	on_a pgbench -n -c 4 -j 2 -t 20 -f "$WORK/crit_a.sql" >"$WORK/crit_a.out" 2>&1 || cat "$WORK/crit_a.out"
	wait $b || cat "$WORK/crit_b.out"
	local elapsed=$(($(now_ms) - start))
	psql -X -q -c "COPY crit TO STDOUT" | on_a psql -X -q -c "COPY crit FROM STDIN"
	expect_eq "mutual exclusion: 8 clients on 2 clusters completed 160 critical sections, each with its own token" \
		"160|160" "$(on_a sql -c "SELECT count(*), count(DISTINCT token) FROM crit")"
	expect_eq "mutual exclusion: no two critical sections overlap" 0 \
		"$(on_a sql -c "SELECT count(*) FROM (SELECT t1, lead(t0) OVER (ORDER BY t0) AS next_t0 FROM crit) s WHERE t1 > next_t0")"
	expect_eq "mutual exclusion: fencing tokens strictly increase in acquisition order" 0 \
		"$(on_a sql -c "SELECT count(*) FROM (SELECT token, lag(token) OVER (ORDER BY t0) AS prev FROM crit) s WHERE token <= prev")"
	expect_eq "mutual exclusion: both clusters took part" 2 \
		"$(on_a sql -c "SELECT count(DISTINCT left(client, 1)) FROM crit")"
	echo "    (160 contended acquisitions across two clusters in $elapsed ms: $((elapsed / 160)) ms per handoff)"

	# --- a session lock is released when its backend exits: another cluster takes it at once
	on_a psql -X -qAt -c "SET application_name = 'exiting-holder'" \
		-c "SELECT (dynamo_get_lock('exit-lock', 60000, 0, '$T')).lock_name" >/dev/null
	gone() { [[ $(on_a sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'exiting-holder'") == 0 ]]; }
	harness_wait_for 10 gone || true
	# a lock worker releases it: polled, and bounded
	local t_gone=$(now_ms)
	taken_here() { [[ $(sql -c "SELECT dynamo_try_get_lock('exit-lock', 1000, '$T') IS NOT NULL") == t ]]; }
	expect_true "backend exit releases a session lock (another cluster takes it, lease 60 s)" harness_wait_for 5 taken_here
	within "...within a second of the exit" "$(($(now_ms) - t_gone))" 0 1000

	# --- the heartbeat keeps a 2 s lease alive for as long as its holder lives
	on_a background_holder hb-holder "SELECT dynamo_get_lock('hb-lock', $LEASE, 0, '$T')" ||
		fail "heartbeat: the holder did not take the lock"
	sleep $((3 * LEASE / 1000)) # the point: three leases pass
	expect_eq "after 3 leases, a lock whose holder lives is still held (try from the other cluster gives NULL)" t \
		"$(sql -c "SELECT dynamo_try_get_lock('hb-lock', 1000, '$T') IS NULL")"
	expect_eq "...the worker refreshed it without a failure" "t|0|f" \
		"$(on_a sql -c "SELECT last_refresh > now() - interval '2 seconds', refresh_failures, lost FROM dynamo_held_locks WHERE lock_name = 'hb-lock'")"

	# --- a holder killed with SIGKILL: free within one lease plus the skew margin
	local victim t0 r
	victim=$(on_a sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'hb-holder'")
	kill -9 "$victim"
	t0=$(now_ms)
	expect_eq "right after the holder died its lease still protects the lock" t \
		"$(sql -c "SELECT dynamo_try_get_lock('hb-lock', 1000, '$T') IS NULL")"
	local until_ms
	until_ms=$(lease_until_of hb-lock)
	r=$(sql -c "SELECT (dynamo_get_lock('hb-lock', 1000, 10000, '$T')).lock_name || '|' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
	expect_eq "the killed holder's lock is taken by the other cluster" hb-lock "${r%%|*}"
	within "...within one lease + the skew margin of the kill" "$((${r##*|} - t0))" 0 $((LEASE + SKEW + 700))
	within "...neither before its last lease and the skew margin ended, nor long after" \
		"$((${r##*|} - until_ms - SKEW))" 0 700
	# A restarts after the crash; wait until it answers again
	a_up() { on_a psql -X -qAt -c "SELECT 1" >/dev/null 2>&1; }
	harness_wait_for 30 a_up || fail "cluster A did not come back after the crash"

	# --- a holder whose whole server stops (immediate: no clean-up at all)
	background_holder stop-holder "SELECT dynamo_get_lock('stop-lock', $LEASE, 0, '$T')" ||
		fail "server stop: the holder did not take the lock"
	local version
	version=$(sql -c "SHOW server_version_num" | cut -c1-2)
	pg_ctlcluster "$version" regress stop -m immediate
	t0=$(now_ms)
	until_ms=$(lease_until_of stop-lock)
	r=$(on_a sql -c "SELECT (dynamo_get_lock('stop-lock', 1000, 10000, '$T')).lock_name || '|' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
	expect_eq "the lock of a server that stopped is taken by the other cluster" stop-lock "${r%%|*}"
	within "...within one lease + the skew margin of the stop" "$((${r##*|} - t0))" 0 $((LEASE + SKEW + 700))
	within "...neither before its last lease and the skew margin ended, nor long after" \
		"$((${r##*|} - until_ms - SKEW))" 0 700
}

# A cluster without shared_preload_libraries: locks work, leases are not refreshed.
not_preloaded() {
	local r
	r=$(psql -X -v VERBOSITY=terse -c "SET client_min_messages = notice" -c "CREATE EXTENSION dynamo_atomic" \
		-c "SELECT lock_name FROM dynamo_get_lock('np-lock', 30000, 0, '$T')" \
		-c "SELECT count(*) AS mine FROM dynamo_held_locks" 2>&1)
	expect_true "without preloading, the first lock says its lease is not refreshed" \
		grep -q 'NOTICE:  dynamo_atomic is not in shared_preload_libraries: lock leases are not refreshed' <<<"$r"
	expect_true "...and the lock is taken and listed for this session" grep -q 'np-lock' <<<"$r"
	expect_eq "...no lock worker runs" 0 \
		"$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'")"

	# terminated in the middle of a slow request, the backend itself releases each lock
	local port fake t0
	start_helper port "$WORK/np-fake.port" node test/helpers/fake_aws.js "$WORK/np-fake.port" "$DDB_ENDPOINT"
	fake="http://127.0.0.1:$port"
	sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_counter_table('CaseLocksNp', if_not_exists => true)" >/dev/null
	curl -s --max-time 5 "$fake/_control?fault=delay&target=UpdateItem&match=np-slow&ms=20000" >/dev/null
	psql -X -qAt -c "SET client_min_messages = warning" -c "SET application_name = 'np-dying'" -c "SET dynamo_atomic.endpoint = '$fake'" \
		-c "SELECT dynamo_get_lock('np-exit-1', 60000, 0, '$T') IS NOT NULL" \
		-c "SELECT dynamo_get_lock('np-exit-2', 60000, 0, '$T') IS NOT NULL" \
		-c "SELECT dynamo_increment('np-slow', 1, 'CaseLocksNp')" >"$WORK/np-dying.out" 2>&1 &
	local dying=$!
	slow() { curl -s --max-time 5 "$fake/_log" | grep -q np-slow; }
	harness_wait_for 10 slow || fail "not preloaded: the slow increment did not start"
	sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'np-dying'" >/dev/null
	t0=$(now_ms)
	wait $dying || true
	free_now() {
		[[ $(sql -c "SET client_min_messages = warning" -c "SELECT count(dynamo_release_lock(l)) FROM (VALUES ('np-exit-1'), ('np-exit-2')) n(name), dynamo_try_get_lock(n.name, 1000, '$T') l WHERE l IS NOT NULL") == 2 ]]
	}
	expect_true "without preloading, a backend terminated mid-request releases both its locks itself" harness_wait_for 10 free_now
	within "...within a second" "$(($(now_ms) - t0))" 0 1000
}

if [[ ${1:-} == cluster-b ]]; then
	cluster_b
	exit 0
fi
if [[ ${1:-} == not-preloaded ]]; then
	trap 'harness_stop_all' EXIT
	not_preloaded
	exit 0
fi
if [[ ${1:-} == no-worker ]]; then
	r=$(psql -X -v VERBOSITY=terse -c "SET client_min_messages = notice" -c "CREATE EXTENSION dynamo_atomic" \
		-c "SELECT lock_name FROM dynamo_get_lock('nw-lock', 30000, 0, '$T')" 2>&1)
	expect_true "preloaded but no lock worker running (max_worker_processes = 0): the first lock says its lease is not refreshed" \
		grep -q 'NOTICE:  no dynamo_atomic lock worker is running: lock leases are not refreshed' <<<"$r"
	expect_true "...and the lock is taken" grep -q 'nw-lock' <<<"$r"
	exit 0
fi

work=$(mktemp -d)
WORK=$work
trap 'harness_stop_all; rm -rf "$work"' EXIT
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
sent() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\"" || true; }
requests="SELECT http_requests FROM dynamo_atomic_backend_stats()"
# steal NAME: another owner takes the item over, as it would after the lease ended
steal() {
	ddb_raw UpdateItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"$1\"}},\"UpdateExpression\":\"SET #o = :o, #h = :h\",\"ExpressionAttributeNames\":{\"#o\":\"owner\",\"#h\":\"holder\"},\"ExpressionAttributeValues\":{\":o\":{\"S\":\"thief\"},\":h\":{\"S\":\"host thief pid 1 database x\"}}}" >/dev/null
}

# --- round trips: an uncontended acquire and a release are one request each
out=$(sql -c "$requests" -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('rt-lock', 30000, 0, '$T')" \
	-c "$requests" -c "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" -c "$requests")
expect_eq "an uncontended acquire is one request; a release is one request and returns true" "1|t|1" \
	"$(($(sed -n 2p <<<"$out") - $(sed -n 1p <<<"$out")))|$(sed -n 3p <<<"$out")|$(($(sed -n 4p <<<"$out") - $(sed -n 2p <<<"$out")))"

# paused NAME SQL_TAKE SQL_THEN: a session that takes a lock (into temp
# table l), waits at a barrier until "go NAME", then runs SQL_THEN; its
# output goes to $work/NAME.out.  Returns once the lock is held.
paused() {
	local name=$1
	psql -X -qAt -v VERBOSITY=verbose -c "SET application_name = '$name'" -c "CREATE TEMP TABLE l AS $2" \
		-c "\\! until [ -e $work/go-$name ]; do sleep 0.05; done" -c "$3" >"$work/$name.out" 2>&1 &
	PAUSED_PID=$!
	holding() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks h JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '$name'") -ge 1 ]]; }
	harness_wait_for 10 holding
}
# go NAME: lets the paused session go on, waits for it, and sets r to its output
go() { touch "$work/go-$1"; wait "$PAUSED_PID" || true; r=$(cat "$work/$1.out"); }

# --- loss: another owner took the item over
paused lost-lock "SELECT * FROM dynamo_get_lock('lost-lock', 30000, 0, '$T')" \
	"SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" || fail "loss: lock not taken"
steal lost-lock
go lost-lock
expect_eq "release after the lock was taken over returns false" f "$(tail -1 <<<"$r")"
expect_true "...with a NOTICE that it had been lost" grep -q 'NOTICE:  00000: lock "lost-lock" had already been lost' <<<"$r"
paused lost-lock2 "SELECT * FROM dynamo_get_lock('lost-lock2', 30000, 0, '$T')" \
	"SELECT dynamo_refresh_lock(ROW(l.*)::dynamo_lock) FROM l" || fail "loss: lock not taken"
steal lost-lock2
go lost-lock2
expect_true "refresh after the lock was taken over raises 55P03 'was lost'" grep -q 'ERROR:  55P03: lock "lost-lock2" was lost' <<<"$r"
expect_true "...naming who holds it now" grep -q 'DETAIL:  Its lease ended and it is held by host thief pid 1 database x until' <<<"$r"

# the same owner, another acquisition (its token moved on): release, refresh and heartbeat refuse
bump_token() {
	ddb_raw UpdateItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"$1\"}},\"UpdateExpression\":\"SET #t = #t + :one\",\"ExpressionAttributeNames\":{\"#t\":\"fencing_token\"},\"ExpressionAttributeValues\":{\":one\":{\"N\":\"1\"}}}" >/dev/null
}
paused token-lock "SELECT * FROM dynamo_get_lock('token-lock', 30000, 0, '$T')" \
	"SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" || fail "token: lock not taken"
bump_token token-lock
go token-lock
expect_eq "release of an acquisition whose fencing token moved on (same owner) returns false" f "$(tail -1 <<<"$r")"
paused token-lock2 "SELECT * FROM dynamo_get_lock('token-lock2', 30000, 0, '$T')" \
	"SELECT dynamo_refresh_lock(ROW(l.*)::dynamo_lock) FROM l" || fail "token: lock not taken"
bump_token token-lock2
go token-lock2
expect_true "...and its refresh raises 55P03 'was lost'" grep -q 'ERROR:  55P03: lock "token-lock2" was lost' <<<"$r"
background_holder token-hb "SELECT dynamo_get_lock('token-hb', 1500, 0, '$T')" || fail "token: lock not taken"
bump_token token-hb
token_marked() { [[ $(sql -c "SELECT lost FROM dynamo_held_locks WHERE lock_name = 'token-hb'") == t ]]; }
expect_true "...and the worker's heartbeat is refused: the lock is marked lost" harness_wait_for 10 token_marked
stop_session token-hb

# waiting: wait_ms runs out, and lock_timeout ends the wait first, each with its own 55P03
background_holder wait-holder "SELECT dynamo_get_lock('wait-lock', 30000, 0, '$T')" || fail "wait: lock not taken"
r=$(sql_error "SELECT dynamo_get_lock('wait-lock', 1000, 300, '$T')")
expect_eq "a lock held elsewhere: dynamo_get_lock waits wait_ms, then 55P03" \
	"55P03|could not obtain lock \"wait-lock\" in table \"$T\"" "$(field 1 "$r")|$(field 3 "$r")"
within "...after waiting the 300 ms asked for, not much longer" "$(field 2 "$r")" 300 900
r=$(sql_error "SET lock_timeout = '200ms'" "SELECT dynamo_get_lock('wait-lock', 1000, 10000, '$T')")
expect_eq "lock_timeout shorter than wait_ms ends the wait with its own 55P03" \
	"55P03|canceling statement due to lock timeout" "$(field 1 "$r")|$(field 3 "$r")"
within "...after the 200 ms of lock_timeout" "$(field 2 "$r")" 200 800
stop_session wait-holder

# the worker finds a lost lock on its own and marks it
background_holder worker-loss "SELECT dynamo_get_lock('worker-lost', 1500, 0, '$T')" || fail "worker loss: lock not taken"
steal worker-lost
marked() { [[ $(sql -c "SELECT lost FROM dynamo_held_locks WHERE lock_name = 'worker-lost'") == t ]]; }
expect_true "the worker marks a lock lost when its heartbeat is refused" harness_wait_for 10 marked
stop_session worker-loss

# --- the worker, terminated, is restarted by the postmaster and resumes refreshing
workers() { sql -c "SELECT count(*) FILTER (WHERE pid = ${1:-0}), count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'"; }
old_worker=$(sql -c "SELECT min(pid) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'")
expect_eq "the lock workers run (dynamo_atomic.lock_workers of them)" "0|$(sql -c "SHOW dynamo_atomic.lock_workers")" "$(workers)"
sql -c "SELECT pg_terminate_backend($old_worker)" >/dev/null
restarted() { [[ $(workers "$old_worker") == "0|$(sql -c "SHOW dynamo_atomic.lock_workers")" ]]; }
expect_true "a terminated lock worker is restarted" harness_wait_for 15 restarted
background_holder after-restart "SELECT dynamo_get_lock('after-restart', 1500, 0, '$T')" || fail "after restart: lock not taken"
refreshed() { [[ $(sql -c "SELECT last_refresh IS NOT NULL FROM dynamo_held_locks WHERE lock_name = 'after-restart'") == t ]]; }
expect_true "...and refreshes leases again" harness_wait_for 10 refreshed
stop_session after-restart

# --- lost answers (the fake applies the write, then closes the connection)
via_fake="SET dynamo_atomic.endpoint = '$fake'"
control "fault=drop-answer&target=UpdateItem&match=acquire-lost&count=1"
r=$(sql -c "$via_fake" -c "SELECT lock_name, fencing_token > 0 FROM dynamo_get_lock('acquire-lost', 30000, 0, '$T')" | tr '\n' ' ')
acquisitions=$(curl -s --max-time 5 "$fake/_log" | grep '"target":"DynamoDB_20120810.UpdateItem"' | grep -c 'SET #owner = :me' || true)
expect_eq "an acquire whose answer was lost still returns the lock (resent: its condition admits its owner)" \
	"acquire-lost|t |2" "$r|$acquisitions"

control ""
background_holder hb-lost "$via_fake" "SELECT dynamo_get_lock('hb-lost', 1500, 0, '$T')" || fail "heartbeat lost: lock not taken"
control "fault=drop-answer&target=UpdateItem&match=hb-lost&count=1"
two_heartbeats() { (($(sent UpdateItem) >= 3)); }
harness_wait_for 10 two_heartbeats || true
expect_eq "a heartbeat whose answer was lost does not lose the lock" "f|0" \
	"$(sql -c "SELECT lost, refresh_failures FROM dynamo_held_locks WHERE lock_name = 'hb-lost'")"
expect_eq "...another session still cannot take it" t "$(sql -c "SELECT dynamo_try_get_lock('hb-lost', 1000, '$T') IS NULL")"
stop_session hb-lost

control "fault=drop-answer&target=UpdateItem&match=release-lost&count=1"
r=$(sql -c "$via_fake" -c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('release-lost', 30000, 0, '$T')" \
	-c "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l")
expect_eq "a release whose answer was lost returns true" t "$r"
expect_eq "...and the lock is free" t "$(sql -c "SELECT dynamo_try_get_lock('release-lost', 1000, '$T') IS NOT NULL")"
control ""

# --- a contended handoff between two backends of this server: the release wakes the waiter
paused handoff-holder "SELECT * FROM dynamo_get_lock('handoff', 30000, 0, '$T')" \
	"SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock), extract(epoch FROM clock_timestamp()) * 1000 FROM l" ||
	fail "handoff: lock not taken"
holder_pid=$PAUSED_PID
psql -X -qAt -c "SELECT dynamo_get_lock('handoff', 30000, 20000, '$T') IS NOT NULL, extract(epoch FROM clock_timestamp()) * 1000" \
	>"$work/handoff-waiter.out" 2>&1 &
waiter=$!
waiting_for_lock() { [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%dynamo_get_lock(''handoff'', 30000, 20000%' AND wait_event_type = 'Extension' AND pid <> pg_backend_pid()") -ge 1 ]]; }
harness_wait_for 10 waiting_for_lock || true
sleep 0.3 # let the waiter's backoff grow to its cap: a poll would now take up to 100 ms
PAUSED_PID=$holder_pid
go handoff-holder
wait $waiter || true
released_at=$(tail -1 <<<"$r" | cut -d'|' -f2)
taken=$(cut -d'|' -f1 "$work/handoff-waiter.out")
taken_at=$(cut -d'|' -f2 "$work/handoff-waiter.out")
expect_eq "a waiter in the same server takes the lock once the holder releases it" t "$taken"
echo "    (handoff within one server: $(awk "BEGIN { printf \"%.1f\", $taken_at - $released_at }") ms from release to acquisition)"

# --- two clusters
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work RESULTS
mapfile -t pg_options < <(harness_pg_options)
log "locks: a second cluster sharing the lock table"
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b || fail "locks: the two-cluster checks did not run"

mapfile -t pg_options < <(harness_pg_options | sed '/^-o$/{N;/shared_preload_libraries/d}')
log "locks: a cluster without shared_preload_libraries"
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" not-preloaded || fail "locks: the not-preloaded checks did not run"

mapfile -t pg_options < <(harness_pg_options)
log "locks: a preloaded cluster where no lock worker can start"
pg_virtualenv "${pg_options[@]}" -o max_worker_processes=0 bash "${BASH_SOURCE[0]}" no-worker || fail "locks: the no-worker checks did not run"
