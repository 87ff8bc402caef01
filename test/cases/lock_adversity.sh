#!/usr/bin/env bash
# Locks under adversity, each check seen from a second cluster sharing the
# lock table (B tries to take what A's sessions hold):
#   - no lock's heartbeat waits behind another's: a 2 s lease survives 6 s
#     while, on A, a lock has the shortest lease allowed, the fake front
#     delays a third lock's heartbeats by 3 s, and it throttles an ID prefetch;
#   - an acquire resent after its answer was withheld past the lease returns
#     a lease that runs from the resend, which B cannot take;
#   - a release resent after a first sending that never landed, while the
#     lock was taken over, returns false and names the new holder;
#   - a backend terminated in the middle of a slow request has its locks
#     released within a second, and so is a lock whose acquire was applied
#     when its backend was terminated, before the answer;
#   - a manual refresh racing a heartbeat whose answer comes late is recorded
#     after it, so the registry's version is the item's;
#   - a release that fails at COMMIT is finished by a worker, and the session
#     still answers a cancel;
#   - a lease no heartbeat gets through to is marked lost once its lease and
#     the skew margin have passed (not before, nor long after);
#   - a hot standby's sessions hold locks kept alive by the standby's
#     workers, before and after its promotion.
#
#   bash lock_adversity.sh            sets up A, then runs B (and the standby)
#   bash lock_adversity.sh cluster-b  inside B; A via A_PG*, the front at $FAKE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseLockAdversity
C=CaseLockAdversityCounters

within() {
	if (($2 >= $3 && $2 < $4)); then pass "$1 (${2} ms)"; else fail "$1" "took $2 ms, expected [$3, $4)"; fi
}
control() { curl -s --max-time 5 "$FAKE/_control?$1" >/dev/null; }
# takes_over SECONDS CHECK: runs CHECK (prints t when it took a lock) every
# 200 ms for SECONDS (the point of the test: that time passes); prints
# "times-taken tries"
takes_over() {
	local deadline=$((SECONDS + $1)) taken=0 tries=0
	while ((SECONDS < deadline)); do
		[[ $($2) == t ]] && taken=$((taken + 1))
		tries=$((tries + 1))
		sleep 0.2
	done
	echo "$taken $tries"
}
# seen TEXT...: how many requests the front received whose body has every TEXT
seen() {
	local log
	log=$(curl -s --max-time 5 "$FAKE/_log")
	for t in "$@"; do log=$(grep -F -- "$t" <<<"$log" || true); done
	grep -c . <<<"$log" || true
}
stop_on_a() { on_a sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '$1'" >/dev/null; }
# b_takes NAME: B's session takes (and at once releases) the lock: t, or f when held
b_takes() {
	sql -c "SET client_min_messages = warning" \
		-c "SELECT coalesce((SELECT dynamo_release_lock(l) FROM dynamo_try_get_lock('$1', 1000, '$T') l WHERE l IS NOT NULL), false)"
}

cluster_b() {
	harness_guard_server_environment
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	local via_fake="SET dynamo_atomic.endpoint = '$FAKE'"

	# --- 1. no lock's heartbeat waits behind another's
	on_a sql -c "ALTER SYSTEM SET dynamo_atomic.max_retries = 10" -c "SELECT pg_reload_conf()" >/dev/null
	on_a background_holder adv-keeper "$via_fake" "SELECT dynamo_get_lock('adv-keeper', 2000, 0, '$T')" ||
		fail "starvation: the 2 s lock was not taken"
	on_a background_holder adv-shortest "$via_fake" "SELECT dynamo_get_lock('adv-shortest', 1000, 0, '$T')" ||
		fail "starvation: the shortest lock was not taken"
	on_a background_holder adv-delayed "$via_fake" "SELECT dynamo_get_lock('adv-delayed', 10000, 0, '$T')" ||
		fail "starvation: the delayed lock was not taken"
	control "fault=delay&target=UpdateItem&match=adv-delayed&ms=3000"
	# an ID block taken, then every fetch of that counter throttled: the prefetch retries for long
	on_a sql -c "$via_fake" -c "SELECT dynamo_nextval('adv-ids', 100, '$C')" >/dev/null
	control "add=1&fault=throttle&target=UpdateItem&match=adv-ids"
	on_a sql -c "$via_fake" -c "SELECT count(dynamo_nextval('adv-ids', 100, '$C')) FROM generate_series(1, 60)" >/dev/null
	b_takes_any() { local n; for n in adv-keeper adv-shortest adv-delayed; do [[ $(b_takes $n) == t ]] && { echo t; return; }; done; echo f; }
	local taken tries
	read -r taken tries <<<"$(takes_over 6 b_takes_any)"
	expect_eq "for 6 s, B takes none of the 2 s lock, the shortest-lease lock and the delayed one ($tries tries of all three)" 0 "$taken"
	expect_eq "...the 2 s lock's heartbeats never failed and the last is recent" "0|t|f" \
		"$(on_a sql -c "SELECT refresh_failures, last_refresh > now() - interval '1 second', lost FROM dynamo_held_locks WHERE lock_name = 'adv-keeper'")"
	expect_true "...while the front delayed the third lock's heartbeats by 3 s (at least one sent)" \
		test "$(seen adv-delayed '#token = :token')" -ge 1
	expect_true "...and throttled the ID prefetch (its own fetch, then at least 3 attempts)" test "$(seen adv-ids ':inc')" -ge 4
	expect_true "...and the shortest lease got a heartbeat every third of a second (at least 12 in 6 s)" \
		test "$(seen adv-shortest '#token = :token')" -ge 12
	control ""
	stop_on_a adv-keeper
	stop_on_a adv-shortest
	stop_on_a adv-delayed
	on_a sql -c "ALTER SYSTEM RESET dynamo_atomic.max_retries" -c "SELECT pg_reload_conf()" >/dev/null

	# --- 2. an acquire resent after its answer was held past the lease
	control "fault=apply-then-hang&target=UpdateItem&match=adv-resent&count=1"
	on_a background_holder adv-resent "$via_fake" "SET dynamo_atomic.request_timeout_ms = 3000" \
		"SELECT expires_at > clock_timestamp() + interval '500 ms' FROM dynamo_get_lock('adv-resent', 1000, 0, '$T')" ||
		fail "resent acquire: the lock was not taken"
	expect_eq "an acquire resent after its answer was held 3 s past a 1 s lease: B cannot take the lock" f "$(b_takes adv-resent)"
	expect_eq "...the acquire was sent twice" 2 "$(seen adv-resent 'SET #owner = :me')"
	expect_eq "...and the lease returned runs from the resend (over 500 ms left when returned)" t \
		"$(head -1 "$WORK/adv-resent.out")"
	stop_on_a adv-resent

	# --- 3. a release resent after a first sending that never landed, the lock taken over meanwhile
	cat >"$WORK/steal.sh" <<-EOF
		source test/lib/harness.sh
		DDB_ENDPOINT=$DDB_ENDPOINT
		ddb_raw UpdateItem '{"TableName":"$T","Key":{"lock_name":{"S":"adv-release"}},"UpdateExpression":"SET #o = :o, #h = :h","ExpressionAttributeNames":{"#o":"owner","#h":"holder"},"ExpressionAttributeValues":{":o":{"S":"thief"},":h":{"S":"host thief pid 1 database x"}}}' >/dev/null
		curl -s --max-time 5 "$FAKE/_control?fault=drop-request&target=UpdateItem&match=adv-release&count=1" >/dev/null
	EOF
	control ""
	local r
	r=$(on_a psql -X -qAt -v VERBOSITY=verbose -c "$via_fake" \
		-c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('adv-release', 30000, 0, '$T')" \
		-c "\\! bash $WORK/steal.sh" -c "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" 2>&1)
	expect_eq "a release resent after its first sending was dropped unsent, the lock taken over meanwhile, returns false" \
		f "$(tail -1 <<<"$r")"
	expect_true "...with a NOTICE that it had been lost, naming the new holder" \
		grep -q 'DETAIL:  lost: it is held by host thief pid 1 database x' <<<"$r"
	expect_eq "...the release was sent twice" 2 "$(seen adv-release 'REMOVE #owner')"

	# --- 5. a backend terminated in the middle of a slow request: its locks are released
	control "fault=delay&target=UpdateItem&match=adv-slow-counter&ms=20000"
	on_a psql -X -qAt -c "SET application_name = 'adv-dying'" -c "$via_fake" \
		-c "SELECT dynamo_get_lock('adv-exit-1', 60000, 0, '$T') IS NOT NULL" \
		-c "SELECT dynamo_get_lock('adv-exit-2', 60000, 0, '$T') IS NOT NULL" \
		-c "SELECT dynamo_increment('adv-slow-counter', 1, '$C')" >"$WORK/dying.out" 2>&1 &
	local dying=$!
	in_slow_request() { [[ $(seen adv-slow-counter) -ge 1 ]]; }
	expect_true "the holder of two session locks is inside a slow increment" harness_wait_for 10 in_slow_request
	stop_on_a adv-dying
	local t0
	t0=$(now_ms)
	wait $dying || true
	both_free() { [[ $(b_takes adv-exit-1) == t && $(b_takes adv-exit-2) == t ]]; }
	expect_true "terminated in the middle of a request, its two locks (lease 60 s) are free for B" harness_wait_for 10 both_free
	within "...within a second" "$(($(now_ms) - t0))" 0 1000

	# ...and one terminated while its acquire was applied but unanswered
	control "fault=apply-then-hang&target=UpdateItem&match=adv-cut&count=1"
	on_a psql -X -qAt -c "SET application_name = 'adv-cut'" -c "$via_fake" \
		-c "SELECT dynamo_get_lock('adv-cut', 60000, 0, '$T')" >"$WORK/cut.out" 2>&1 &
	dying=$!
	acquire_applied() { [[ $(seen adv-cut 'SET #owner = :me') -ge 1 && $(b_takes adv-cut) == f ]]; }
	expect_true "an acquire applied and left unanswered: the lock is taken" harness_wait_for 10 acquire_applied
	stop_on_a adv-cut
	t0=$(now_ms)
	wait $dying || true
	cut_free() { [[ $(b_takes adv-cut) == t ]]; }
	expect_true "...its backend terminated before the answer: the lock it took (lease 60 s) is released by owner" \
		harness_wait_for 10 cut_free
	within "...within a second" "$(($(now_ms) - t0))" 0 1000
	control ""

	# --- 6. a manual refresh racing a heartbeat whose answer comes late
	rm -f "$WORK/go-race"
	on_a psql -X -qAt -c "SET application_name = 'adv-race'" -c "$via_fake" \
		-c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('adv-race', 9000, 0, '$T')" \
		-c "\\! until [ -e $WORK/go-race ]; do sleep 0.05; done" \
		-c "SELECT version FROM dynamo_refresh_lock((SELECT ROW(l.*)::dynamo_lock FROM l), 9000)" \
		-c "SELECT pg_sleep(30)" >"$WORK/race.out" 2>&1 &
	local racer=$!
	race_taken() { [[ $(seen adv-race 'SET #owner = :me') -ge 1 ]]; }
	harness_wait_for 10 race_taken || fail "race: the lock was not taken"
	control "fault=answer-late&target=UpdateItem&match=adv-race&count=1&ms=1500"
	heartbeat_sent() { [[ $(seen adv-race '#token = :token') -ge 1 ]]; }
	harness_wait_for 10 heartbeat_sent || fail "race: no heartbeat was sent"
	local t_hb
	t_hb=$(now_ms)
	touch "$WORK/go-race"
	refreshed() { [[ -n $(sed -n 1p "$WORK/race.out") ]]; }
	harness_wait_for 10 refreshed || fail "race: the refresh did not return"
	# the point: look once the late answer is in (1.5 s) and before the next heartbeat (6 s in)
	sleep "$(awk "BEGIN { d = (${t_hb} + 2000 - $(now_ms)) / 1000; print (d > 0 ? d : 0) }")"
	local item_version
	item_version=$(ddb_raw GetItem "{\"TableName\":\"$T\",\"Key\":{\"lock_name\":{\"S\":\"adv-race\"}},\"ConsistentRead\":true}" |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Item.version.S))')
	expect_eq "a refresh racing a late heartbeat: the registry has the version DynamoDB has" "$item_version" \
		"$(on_a sql -c "SELECT version FROM dynamo_held_locks WHERE lock_name = 'adv-race'")"
	expect_eq "...which is the refresh's (made after the heartbeat's answer)" "$item_version" "$(sed -n 1p "$WORK/race.out")"
	stop_on_a adv-race
	wait $racer || true
	control ""

	# --- 7. a release that fails at COMMIT: the workers finish it, and the session stays cancellable
	on_a psql -X -qAt -v VERBOSITY=verbose -c "SET application_name = 'adv-commit'" -c "$via_fake" \
		-c "SET dynamo_atomic.max_retries = 0" \
		-c "BEGIN" -c "SELECT dynamo_get_xact_lock('adv-commit', 30000, 0, '$T') IS NOT NULL" \
		-c "\\! until [ -e $WORK/go-commit ]; do sleep 0.05; done" -c "COMMIT" \
		-c "SELECT pg_sleep(20)" >"$WORK/commit.out" 2>&1 &
	local committer=$!
	commit_holding() { [[ $(on_a sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'adv-commit'") == 1 ]]; }
	harness_wait_for 10 commit_holding || fail "commit: the lock was not taken"
	# the release at COMMIT fails (no retry), and so does the worker's first try
	control "fault=server-error&target=UpdateItem&match=adv-commit&count=2"
	touch "$WORK/go-commit"
	sleeping() { [[ $(on_a sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'adv-commit' AND query LIKE '%pg_sleep(20)%' AND state = 'active'") == 1 ]]; }
	harness_wait_for 15 sleeping || fail "commit: the session did not get past COMMIT"
	expect_true "a release that failed at COMMIT says a lock worker tries again" \
		grep -q 'A lock worker tries again until its lease ends' "$WORK/commit.out"
	commit_free() { [[ $(b_takes adv-commit) == t ]]; }
	expect_true "...and a worker releases it (lease 30 s): B takes it" harness_wait_for 10 commit_free
	t0=$(now_ms)
	on_a sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'adv-commit'" >/dev/null
	wait $committer || true
	within "...and the session still answers a cancel at once (interrupts not left held)" "$(($(now_ms) - t0))" 0 2000
	expect_true "...with the cancel's own error" grep -q 'ERROR:  57014: canceling statement due to user request' "$WORK/commit.out"
	control ""

	# --- 8. a lease no heartbeat gets through to is marked lost: not before its end and the skew margin, nor long after
	on_a background_holder adv-expire "$via_fake" "SELECT dynamo_get_lock('adv-expire', 1000, 0, '$T')" ||
		fail "expiry: the lock was not taken"
	control "fault=server-error&target=UpdateItem&match=adv-expire"
	local until_ms lost_at
	until_ms=$(on_a sql -c "SELECT (extract(epoch FROM expires_at) * 1000)::bigint FROM dynamo_held_locks WHERE lock_name = 'adv-expire'")
	marked_lost() { [[ $(on_a sql -c "SELECT lost FROM dynamo_held_locks WHERE lock_name = 'adv-expire'") == t ]]; }
	expect_true "a lock whose heartbeats all fail is marked lost" harness_wait_for 15 marked_lost
	lost_at=$(now_ms)
	within "...once its lease and the skew margin (1 s) have passed, within a second" \
		"$((lost_at - until_ms))" 1000 2000
	expect_eq "...saying why" "lost: its lease ended before a heartbeat got through" \
		"$(on_a sql -c "SELECT note FROM dynamo_held_locks WHERE lock_name = 'adv-expire'")"
	local sent_then
	sent_then=$(seen adv-expire '#token = :token')
	sleep 1 # the point: a second passes in which nothing more may be sent
	expect_eq "...and no more heartbeats are spent on it" "$sent_then" "$(seen adv-expire '#token = :token')"
	stop_on_a adv-expire
	control ""
}

# --- the standby part, in A: a streaming standby with its own lock workers
standby_checks() {
	local conf_root data port taken tries
	# global: stop_standby (the EXIT trap) needs it too
	major=$(sql -c "SELECT current_setting('server_version_num')::int / 10000")
	conf_root=$PG_CLUSTER_CONF_ROOT/$major
	data=$(dirname "$(sql -c "SHOW data_directory")")/adv-standby
	port=$(harness_free_port)
	mkdir -m 700 "$data"
	chown postgres:postgres "$data"
	runuser -u postgres -- pg_basebackup -D "$data" -R -X stream -c fast -h localhost -p "$PGPORT" -U "$PGUSER" ||
		{ fail "standby: pg_basebackup failed"; return; }
	mkdir -p "$conf_root/adv-standby"
	cp "$conf_root/regress/"{environment,pg_ctl.conf,pg_hba.conf,pg_ident.conf,start.conf} "$conf_root/adv-standby/"
	sed -e "s|^data_directory = .*|data_directory = '$data'|" \
		-e "s|/regress/|/adv-standby/|g" -e "s|$major-regress.pid|$major-adv-standby.pid|" \
		-e "s|^port = .*|port = $port|" -e "s|^cluster_name = .*|cluster_name = '$major/adv-standby'|" \
		-e "s|^include_dir = .*||" \
		"$conf_root/regress/postgresql.conf" >"$conf_root/adv-standby/postgresql.conf"
	# its log beside the primary's, in pg_virtualenv's directory (removed with it)
	local logfile
	logfile=$(dirname "$(readlink "$conf_root/regress/log")")/postgresql-$major-adv-standby.log
	install -o postgres -g postgres -m 640 /dev/null "$logfile"
	ln -s "$logfile" "$conf_root/adv-standby/log"
	chown -R postgres:postgres "$conf_root/adv-standby"
	pg_ctlcluster "$major" adv-standby start || { fail "standby: it did not start"; return; }
	STANDBY_STARTED=1
	on_s() { PGPORT=$port "$@"; }
	in_recovery() { [[ $(on_s sql -c "SELECT pg_is_in_recovery()") == t ]]; }
	expect_true "a streaming standby of A is in recovery" harness_wait_for 30 in_recovery
	PGPORT=$port harness_guard_server_environment
	workers_up() { [[ $(on_s sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'") == \
		"$(on_s sql -c "SHOW dynamo_atomic.lock_workers")" ]]; }
	expect_true "...its lock workers run during recovery" harness_wait_for 15 workers_up
	local workers_before
	workers_before=$(on_s sql -c "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'")

	# The holder runs no statement while it holds the lock: a statement that
	# ran on the standby (a pg_sleep, as background_holder's) would meet a
	# recovery conflict once the primary's WAL removed row versions it might
	# need, be cancelled after max_standby_streaming_delay, and hold the
	# promotion back until then; its psql would then exit, and the session's
	# exit release the lock.  (The conflict cancels the statement only: the
	# session's locks stay held.  The README's standby notes say so.)
	on_s idle_holder adv-standby "SELECT dynamo_get_lock('adv-standby', 2000, 0, '$T')" ||
		fail "standby: its session did not take the lock"
	a_takes() {
		sql -c "SET client_min_messages = warning" \
			-c "SELECT coalesce((SELECT dynamo_release_lock(l) FROM dynamo_try_get_lock('adv-standby', 1000, '$T') l WHERE l IS NOT NULL), false)"
	}
	read -r taken tries <<<"$(takes_over 12 a_takes)" # six leases pass, the primary trying all along
	expect_eq "a standby session holds a 2 s lock for 12 s: the primary takes it in none of $tries tries" 0 "$taken"
	expect_eq "...the standby's workers refreshed it without a failure" "0|t|f" \
		"$(on_s sql -c "SELECT refresh_failures, last_refresh > now() - interval '2 seconds', lost FROM dynamo_held_locks WHERE lock_name = 'adv-standby'")"

	pg_ctlcluster "$major" adv-standby promote
	promoted() { [[ $(on_s sql -c "SELECT pg_is_in_recovery()") == f ]]; }
	expect_true "the standby is promoted" harness_wait_for 30 promoted
	read -r taken tries <<<"$(takes_over 8 a_takes)" # four more leases
	expect_eq "...and after its promotion the lock is still kept: the old primary takes it in none of $tries tries" 0 "$taken"
	expect_eq "...by the same workers, which kept running across the promotion" "$workers_before" \
		"$(on_s sql -c "SELECT string_agg(pid::text, ',' ORDER BY pid) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'")"
	on_s sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'adv-standby'" >/dev/null
}

stop_standby() {
	if [[ -n ${STANDBY_STARTED:-} ]]; then
		pg_ctlcluster "$major" adv-standby stop -m immediate 2>/dev/null || true
	fi
	rm -rf "${PG_CLUSTER_CONF_ROOT:?}/${major:-15}/adv-standby"
}

if [[ ${1:-} == cluster-b ]]; then
	cluster_b
	exit 0
fi

work=$(mktemp -d)
WORK=$work
trap 'stop_standby; harness_stop_all; rm -rf "$work"' EXIT
chmod 755 "$work"
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$T', if_not_exists => true)" \
	-c "SELECT dynamo_create_counter_table('$C', if_not_exists => true)" >/dev/null
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
export FAKE="http://127.0.0.1:$port"

export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK RESULTS
mapfile -t pg_options < <(harness_pg_options)
log "lock_adversity: a second cluster sharing the lock table"
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b || fail "lock_adversity: the two-cluster checks did not run"

log "lock_adversity: a hot standby of this cluster"
standby_checks
