#!/usr/bin/env bash
# Combined increments (group commit): while one increment of a counter is
# in flight from this server, the others wait and a lock worker sends them
# as one ADD of their sum, each member getting its own value.  The fake
# front holds chosen requests (by their :inc) so that batches form on cue:
# a "direct" session's increment of 1000 is held in flight while members
# join; the batch (its :inc the members' sum) is then held or lost as the
# scenario needs.  Checked: distinct values in (v - sum, v] in join order,
# an uncontended increment unchanged, bounds never crossed, bigint's end,
# lost answers, a cancelled member, a terminated sender, resends, stats,
# and uncombined sessions on the same counter.
set -euo pipefail; [[ -n ${TRACE:-} ]] && set -x
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

case_begin CombinedCounters

start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
settings="SET dynamo_atomic.endpoint = '$fake'; SET client_min_messages = warning"
stats() { sql -c "SELECT calls || ' ' || requests FROM dynamo_atomic_stats WHERE operation = 'increment'"; }
inc_match() { printf '%%22:inc%%22:%%7B%%22N%%22:%%22%s%%22%%7D' "$1"; } # ":inc":{"N":"<n>"}, URL-encoded
stored() { sql -c "$settings" -c "SELECT dynamo_get_last_value('$1', table_name => 'CombinedCounters')"; }
# waiting_in PREFIX EVENT N: N sessions wait on EVENT (before PostgreSQL 17 every extension's wait reads "Extension")
waiting_in() {
	[[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '$1%'
		AND wait_event = CASE WHEN current_setting('server_version_num')::int < 170000 THEN 'Extension' ELSE '$2' END") -ge $3 ]]
}

# session NAME SQL: a background session (application_name NAME) whose output,
# with verbose errors, goes to $work/NAME.out
session() {
	psql -X -qAt -v VERBOSITY=verbose -c "SET application_name = '$1'" -c "$settings" -c "$2" \
		>"$work/$1.out" 2>&1 &
	harness_track_pid $!
}
# members PREFIX N COUNTER [INCREMENT] [EXTRA SQL]: N sessions incrementing once,
# started once the direct session is in flight; returns when all wait in a batch
members() {
	local prefix=$1 n=$2 counter=$3 inc=${4:-1} extra=${5:-}
	for i in $(seq 1 "$n"); do
		session "$prefix$i" "$extra SELECT dynamo_increment('$counter', $inc, table_name => 'CombinedCounters')"
	done
	harness_wait_for 10 waiting_in "$prefix" DynamoAtomicIncrement "$n"
}
# direct COUNTER: a session whose increment of 1000 the fake holds for 1.5 s;
# returns once it is in flight
direct() {
	control "fault=delay&ms=1500&count=1&match=$(inc_match 1000)&add=1"
	session direct "SELECT dynamo_increment('$1', 1000, table_name => 'CombinedCounters')"
	harness_wait_for 10 waiting_in direct DynamoDBRequest 1 || { cat "$work/direct.out" >&2; return 1; }
}
wait_sessions() { wait_no_session() { [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '$1%'") == 0 ]]; }; harness_wait_for 20 wait_no_session "$1"; }
values_of() { cat "$work"/"$1"*.out | grep -E '^-?[0-9]+$' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
errors_of() { cat "$work"/"$1"*.out | grep -c "^ERROR:  $2" || true; }

sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null

# ---- uncontended: unchanged --------------------------------------------------
sql -c "$settings" -c "SELECT dynamo_increment('alone', table_name => 'CombinedCounters') FROM generate_series(1, 5)" >/dev/null
expect_eq "uncontended increments: one request each, as without combining (calls requests)" "5 5" "$(stats)"

# ---- a batch: distinct values in join order ----------------------------------
control ""
direct c1
members m 6 c1
wait_sessions direct
wait_sessions m
expect_eq "the direct increment got its own value" 1000 "$(grep -E '^[0-9]+$' "$work/direct.out")"
expect_eq "6 members combined behind it got 1001..1006, each its own" "1001 1002 1003 1004 1005 1006" "$(values_of m)"
expect_eq "...the counter holds every increment" 1006 "$(stored c1)"
expect_eq "...in 2 requests for 7 increments (calls requests, with the 5 before)" "12 7" "$(stats)"
expect_true "...the batch was one ADD of 6" grep -qF ':inc\":{\"N\":\"6\"}' <(curl -s "$fake/_log")

# members of mixed sizes: each value's interval (v - inc, v] is its own, and they tile the sum
direct c2
for i in 1 2 3 4 5; do session "s$i" "SELECT dynamo_increment('c2', $i, table_name => 'CombinedCounters')"; done
harness_wait_for 10 waiting_in s DynamoAtomicIncrement 5
wait_sessions direct
wait_sessions s
tiles=$(for i in 1 2 3 4 5; do echo "$(grep -E '^[0-9]+$' "$work/s$i.out") $i"; done | sort -n |
	awk 'BEGIN { prev = 1000; ok = 1 } { if ($1 - $2 != prev) ok = 0; prev = $1 } END { print ok ? "tiled to " prev : "overlap" }')
expect_eq "increments of 1..5 combined: their intervals (v - inc, v] tile 1000..1015 without overlap" "tiled to 1015" "$tiles"
expect_eq "...stored" 1015 "$(stored c2)"

# ---- many sessions at once: no value twice, none lost ------------------------
control "fault=delay&ms=20"
sql -c "CREATE TABLE IF NOT EXISTS got (v bigint)"
cat >"$work/bench.sql" <<SQL
$settings;
INSERT INTO got SELECT dynamo_increment('c3', table_name => 'CombinedCounters');
SQL
sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null
pgbench -n -c 8 -j 4 -t 25 -f "$work/bench.sql" >"$work/bench.out" 2>&1 || { cat "$work/bench.out" >&2; exit 1; }
control ""
expect_eq "8 clients x 25 increments with a 20 ms round trip: 200 distinct values 1..200" "200 200 1 200" \
	"$(sql -c "SELECT count(*) || ' ' || count(DISTINCT v) || ' ' || min(v) || ' ' || max(v) FROM got")"
expect_eq "...stored 200" 200 "$(stored c3)"
read -r calls requests <<<"$(stats)"
expect_true "...combined: fewer requests than increments ($requests for $calls)" test "$requests" -lt "$calls"

# ---- bounds: bounded increments are never combined ---------------------------
sql -c "$settings" -c "SELECT dynamo_set_counter('b1', 1097, table_name => 'CombinedCounters')" >/dev/null
sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null
control "fault=delay&ms=300"
for i in 1 2 3 4 5 6; do
	session "bd$i" "SELECT dynamo_increment('b1', 1, table_name => 'CombinedCounters', max_value => 1100)"
done
wait_sessions bd
control ""
expect_eq "6 concurrent bounded increments (max 1100) of a counter at 1097: 3 fit" "1098 1099 1100" "$(values_of bd)"
expect_eq "...none waited in a batch: 6 UpdateItem requests" 6 \
	"$(sql -c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'")"
expect_eq "...the other 3 reached the maximum (2200H), none refused for another's step" 3 "$(errors_of bd 2200H)"
expect_eq "...stored at the bound" 1100 "$(stored b1)"

# bigint's end: a batch whose sum would leave bigint; each member then goes alone
sql -c "$settings" -c "SELECT dynamo_set_counter('big', 9223372036854774804, table_name => 'CombinedCounters')" >/dev/null
direct big
members e 5 big
wait_sessions direct
wait_sessions e
expect_eq "5 members behind an increment that leaves 3 below bigint's end: the 3 that fit get the last values" \
	"9223372036854775805 9223372036854775806 9223372036854775807" "$(values_of e)"
expect_eq "...2 get 22003 (out of bigint), not all 5" 2 "$(errors_of e 22003)"
expect_eq "...stored at bigint's maximum" 9223372036854775807 "$(stored big)"

# ---- a lost answer: every member's increment unknown -------------------------
control ""
direct lost
control "fault=apply-then-500&count=1&match=$(inc_match 4)&add=1"
members l 4 lost 1 "SET dynamo_atomic.max_retries = 0;"
wait_sessions direct
wait_sessions l
expect_eq "a batch of 4 whose answer is lost (applied, then 500): each member gets 40003" 4 "$(errors_of l 40003)"
expect_true "...saying it was combined, and how to find out" \
	grep -q "^DETAIL:  It was sent combined with 3 other increment(s) from this server in one request, whose answer was lost" "$work/l1.out"
expect_eq "...stored: the acknowledged increment plus the unknown ones (here applied)" 1004 "$(stored lost)"

# retry_unknown_writes: resent only when every member allows it
direct resend
control "fault=apply-then-500&count=1&match=$(inc_match 3)&add=1"
members r 3 resend 1 "SET dynamo_atomic.retry_unknown_writes = on;"
wait_sessions direct
wait_sessions r
expect_eq "...with retry_unknown_writes on for all 3 members: resent, and each gets a value past the lost ADD" \
	"1004 1005 1006" "$(values_of r)"
expect_eq "...stored: 1000 + 3 (lost, applied) + 3" 1006 "$(stored resend)"
direct resend2
control "fault=apply-then-500&count=1&match=$(inc_match 3)&add=1"
session ra1 "SET dynamo_atomic.retry_unknown_writes = on; SELECT dynamo_increment('resend2', table_name => 'CombinedCounters')"
session ra2 "SET dynamo_atomic.max_retries = 0; SELECT dynamo_increment('resend2', table_name => 'CombinedCounters')"
session ra3 "SET dynamo_atomic.retry_unknown_writes = on; SELECT dynamo_increment('resend2', table_name => 'CombinedCounters')"
harness_wait_for 10 waiting_in ra DynamoAtomicIncrement 3
wait_sessions direct
wait_sessions ra
expect_eq "...with one member not allowing it: not resent, all 3 get 40003" 3 "$(errors_of ra 40003)"

# ---- a member cancelled -------------------------------------------------------
# before its batch is sent: it leaves, and its increment is not applied
direct cancel1
members k 3 cancel1
sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'k2'" >/dev/null
wait_sessions direct
wait_sessions k
expect_eq "a member cancelled before its batch is sent: 57014" 1 "$(errors_of k2 57014)"
expect_eq "...the other two got theirs" "1001 1002" "$(values_of k)"
expect_eq "...and the cancelled increment was not applied" 1002 "$(stored cancel1)"
# while its batch is in flight: the others are not affected
control ""
direct cancel2
control "fault=answer-late&ms=1500&count=1&match=$(inc_match 3)&add=1"
members q 3 cancel2
wait_sessions direct
# a lock worker sends a request now (a batch: no lock is held in this case)
worker_sending() { grep -qF ':inc\":{\"N\":\"3\"}' <(curl -s "$fake/_log"); }
harness_wait_for 10 worker_sending
sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'q2'" >/dev/null
wait_sessions q
expect_eq "a member cancelled while its batch is in flight: 57014 for it" 1 "$(errors_of q2 57014)"
expect_eq "...the other members still get their values" 2 "$(values_of q | wc -w)"
expect_eq "...and the batch (3) was applied" 1003 "$(stored cancel2)"

# ---- the sender terminated ---------------------------------------------------
# the lock worker sending a batch: every member's answer is lost (40003), at once
# (before PostgreSQL 17 an idle worker's wait reads "Extension" too: all are terminated)
control ""
direct term1
control "fault=answer-late&ms=5000&count=1&match=$(inc_match 3)&add=1"
members t 3 term1
wait_sessions direct
harness_wait_for 10 worker_sending
start=$(now_ms)
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'
	AND wait_event = CASE WHEN current_setting('server_version_num')::int < 170000 THEN 'Extension' ELSE 'DynamoDBWorkerRequest' END" >/dev/null
wait_sessions t
expect_eq "the lock worker sending a batch terminated: all 3 members get 40003" 3 "$(errors_of t 40003)"
expect_true "...saying the worker exited" grep -q "the lock worker sending the request exited" "$work/t1.out"
expect_true "...within 3 s, not the 5 s the answer would take" test $(($(now_ms) - start)) -lt 3000
expect_eq "...the stored value counts them (applied before the answer)" 1003 "$(stored term1)"
# the backend sending its own increment: the batch behind it still goes
workers_back() { [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'") -ge 3 ]]; }
harness_wait_for 10 workers_back
direct term2
members u 3 term2
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'direct'" >/dev/null
wait_sessions u
expect_eq "the backend whose own increment was in flight terminated: the 3 members behind it still get values" 3 \
	"$(values_of u | wc -w)"

# ---- combined and uncombined sessions on one counter ---------------------------
control "fault=delay&ms=20"
sql -c "TRUNCATE got"
cat >"$work/plain.sql" <<SQL
$settings; SET dynamo_atomic.combine_increments = off;
INSERT INTO got SELECT dynamo_increment('mixed', table_name => 'CombinedCounters');
SQL
cat >"$work/combined.sql" <<SQL
$settings;
INSERT INTO got SELECT dynamo_increment('mixed', table_name => 'CombinedCounters');
SQL
pgbench -n -c 4 -j 2 -t 20 -f "$work/plain.sql" >/dev/null 2>&1 &
plain=$!
pgbench -n -c 4 -j 2 -t 20 -f "$work/combined.sql" >/dev/null 2>&1
wait $plain
control ""
expect_eq "4 uncombined and 4 combined clients on one counter: 160 distinct values 1..160" "160 160 1 160" \
	"$(sql -c "SELECT count(*) || ' ' || count(DISTINCT v) || ' ' || min(v) || ' ' || max(v) FROM got")"
expect_eq "...stored 160" 160 "$(stored mixed)"

# combine_increments = off: one request per increment even under load
control ""
direct off1
for i in 1 2 3; do
	session "o$i" "SET dynamo_atomic.combine_increments = off; SELECT dynamo_increment('off1', table_name => 'CombinedCounters')"
done
wait_sessions direct
wait_sessions o
expect_eq "with combine_increments off, 3 increments behind one in flight: each gets its value" 3 "$(values_of o | wc -w)"
expect_eq "...in 3 requests of 1, none combined" 3 "$(curl -s "$fake/_log" | grep -cF ':inc\":{\"N\":\"1\"}')"
