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
declare -A session_pid
session() {
	psql -X -qAt -v VERBOSITY=verbose -c "SET application_name = '$1'" -c "$settings" -c "$2" \
		>"$work/$1.out" 2>&1 &
	session_pid[$1]=$!
	harness_track_pid $!
}
# wait_sessions PREFIX: waits for every session whose name starts with PREFIX to end
wait_sessions() {
	local name
	for name in "${!session_pid[@]}"; do
		[[ $name == "$1"* ]] || continue
		wait "${session_pid[$name]}" || true
		unset "session_pid[$name]"
	done
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
# join_one NAME COUNTER [INCREMENT]: one member, returned once it waits in the batch
join_one() {
	session "$1" "SELECT dynamo_increment('$2', ${3:-1}, table_name => 'CombinedCounters')"
	harness_wait_for 10 waiting_in "$1" DynamoAtomicIncrement 1
}
# direct COUNTER [MS] [NAME] [INCREMENT]: a session (NAME, default "direct") whose
# increment (default 1000) the fake holds for MS (default 1500) ms; returns once it is in flight
direct() {
	local name=${3:-direct} inc=${4:-1000}
	control "fault=delay&ms=${2:-1500}&count=1&match=$(inc_match "$inc")&add=1"
	session "$name" "SELECT dynamo_increment('$1', $inc, table_name => 'CombinedCounters')"
	harness_wait_for 10 waiting_in "$name" DynamoDBRequest 1 || { cat "$work/$name.out" >&2; return 1; }
}
values_of() { cat "$work"/"$1"*.out | grep -E '^-?[0-9]+$' | sort -n | tr '\n' ' ' | sed 's/ $//'; }
value_of() { grep -E '^-?[0-9]+$' "$work/$1.out" || true; }
errors_of() { cat "$work"/"$1"*.out | grep -c "^ERROR:  $2" || true; }
requests_of() { curl -s "$fake/_log" | grep -cF ":inc\\\":{\\\"N\\\":\\\"$1\\\"}" || true; } # requests whose :inc is $1

sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null

# ---- uncontended: unchanged --------------------------------------------------
sql -c "$settings" -c "SELECT dynamo_increment('alone', table_name => 'CombinedCounters') FROM generate_series(1, 5)" >/dev/null
expect_eq "uncontended increments: one request each, as without combining (calls requests)" "5 5" "$(stats)"

# ---- a batch: distinct values in join order ----------------------------------
control ""
direct c1 4000
for i in 1 2 3 4 5 6; do # one after the other: m1 joins first
	join_one "m$i" c1
done
wait_sessions direct
wait_sessions m
expect_eq "the direct increment got its own value" 1000 "$(value_of direct)"
expect_eq "6 members combined behind it got 1001..1006 in the order they joined" "1001 1002 1003 1004 1005 1006" \
	"$(for i in 1 2 3 4 5 6; do value_of "m$i"; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...the counter holds every increment" 1006 "$(stored c1)"
expect_eq "...in 2 requests for 7 increments (calls requests, with the 5 before)" "12 7" "$(stats)"
expect_eq "...the batch was one ADD of 6" 1 "$(requests_of 6)"

# negative increments combine among themselves: values in [v, v - sum), in join order
direct neg 4000 direct -1000
for i in 1 2 3; do
	join_one "n$i" neg -1
done
wait_sessions direct
wait_sessions n
expect_eq "3 members of -1 behind a -1000: -1001, -1002, -1003 in the order they joined" "-1001 -1002 -1003" \
	"$(for i in 1 2 3; do value_of "n$i"; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...one ADD of -3" 1 "$(requests_of -3)"

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

# through a per-item write limit: throttled batches take in the callers that came meanwhile
sql -c "ALTER SYSTEM SET dynamo_atomic.max_retries = 10" -c "SELECT pg_reload_conf()" >/dev/null
control "item_limit=20"
sql -c "TRUNCATE got"
sed -i "s/'c3'/'c4'/" "$work/bench.sql"
pgbench -n -c 8 -j 4 -t 20 -f "$work/bench.sql" >"$work/bench.out" 2>&1 || { cat "$work/bench.out" >&2; exit 1; }
limited=$(curl -s "$fake/_items")
control "item_limit=0"
sql -c "ALTER SYSTEM RESET dynamo_atomic.max_retries" -c "SELECT pg_reload_conf()" >/dev/null
expect_eq "8 clients x 20 increments through a 20 writes/s item limit: 160 distinct values 1..160" "160 160 1 160" \
	"$(sql -c "SELECT count(*) || ' ' || count(DISTINCT v) || ' ' || min(v) || ' ' || max(v) FROM got")"
expect_eq "...stored 160" 160 "$(stored c4)"
expect_true "...throttled on the way ($limited)" grep -qv '"limited":0' <<<"$limited"

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
control ""
direct big
members e 5 big
wait_sessions direct
wait_sessions e
expect_eq "the batch of 5 was sent, and refused by bigint's end" 1 "$(requests_of 5)"
expect_eq "5 members behind an increment that leaves 3 below bigint's end: the 3 that fit get the last values" \
	"9223372036854775805 9223372036854775806 9223372036854775807" "$(values_of e)"
expect_eq "...2 get 22003 (out of bigint), not all 5" 2 "$(errors_of e 22003)"
expect_eq "...stored at bigint's maximum" 9223372036854775807 "$(stored big)"

# ---- a lost answer: every member's increment unknown -------------------------
control ""
direct lost
control "fault=apply-then-500&count=1&match=$(inc_match 4)&add=1"
members l 4 lost
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
session ra2 "SELECT dynamo_increment('resend2', table_name => 'CombinedCounters')"
session ra3 "SET dynamo_atomic.retry_unknown_writes = on; SELECT dynamo_increment('resend2', table_name => 'CombinedCounters')"
harness_wait_for 10 waiting_in ra DynamoAtomicIncrement 3
wait_sessions direct
wait_sessions ra
expect_eq "...with one member not allowing it: not resent, all 3 get 40003" 3 "$(errors_of ra 40003)"

# ---- a member cancelled -------------------------------------------------------
# before its batch is sent: it leaves, and its increment is not applied
direct cancel1 4000
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
control "fault=answer-late&ms=4000&count=1&match=$(inc_match 3)&add=1"
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
workers_back() { [[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'") -ge 3 ]]; }
harness_wait_for 10 workers_back
# the worker's statement cancelled mid-request (pg_cancel_backend): a lost answer too, not 57014
control ""
direct cancel3
control "fault=answer-late&ms=5000&count=1&match=$(inc_match 3)&add=1"
members w 3 cancel3
wait_sessions direct
harness_wait_for 10 worker_sending
sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker'
	AND wait_event = CASE WHEN current_setting('server_version_num')::int < 170000 THEN 'Extension' ELSE 'DynamoDBWorkerRequest' END" >/dev/null
wait_sessions w
expect_eq "the lock worker sending a batch cancelled: all 3 members get 40003, not the worker's 57014" 3 "$(errors_of w 40003)"
expect_true "...saying the worker was cancelled" grep -q "the lock worker sending the request was cancelled" "$work/w1.out"
harness_wait_for 10 workers_back
# the backend sending its own increment: the batch behind it still goes, at once
control ""
direct term2 20000
members u 3 term2
start=$(now_ms)
sql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'direct'" >/dev/null
wait_sessions u
expect_eq "the backend whose own increment was in flight terminated: the 3 members behind it still get values" 3 \
	"$(values_of u | wc -w)"
expect_true "...within 3 s, not when its request (held 20 s) would have ended" test $(($(now_ms) - start)) -lt 3000

# ---- every batch-sending worker busy: a batch that comes due goes alone at once ----
# lock_workers = 3: two send batches.  Two counters' batches are held in flight
# (answered 8 s late); a third counter's batch then comes due with no worker free.
control ""
busy_batch() { # COUNTER NAME INCREMENT: a direct increment held 1 s, then 2 members whose batch is answered late
	direct "$1" 1000 "$2" 100"$3"
	control "fault=answer-late&ms=8000&count=1&match=$(inc_match $((2 * $3)))&add=1"
	members "$2m" 2 "$1" "$3"
}
busy_batch busyA da 1
busy_batch busyB db 2
both_sent() { [[ $(requests_of 2) -ge 1 && $(requests_of 4) -ge 1 ]]; }
harness_wait_for 10 both_sent
direct third 1500 dc
members f 3 third
start=$(now_ms)
wait_sessions f
expect_eq "a third counter's batch with both batch workers busy: its 3 members get values" 3 "$(values_of f | wc -w)"
expect_true "...sent alone at once, not after the workers' 8 s" test $(($(now_ms) - start)) -lt 5000
expect_eq "...as 3 requests of 1, no batch" 3 "$(requests_of 1)"
wait_sessions d

# ---- another identity: sessions whose credentials differ from the workers' send their own ----
control ""
direct cred1
for i in 1 2 3; do
	session "x$i" "SET dynamo_atomic.access_key_id = 'AKIDOTHER'; SET dynamo_atomic.secret_access_key = 'other';
		SELECT dynamo_increment('cred1', table_name => 'CombinedCounters')"
done
wait_sessions direct
wait_sessions x
expect_eq "3 sessions with other credentials behind an increment in flight: each gets its value" 3 "$(values_of x | wc -w)"
expect_eq "...each in its own request (the workers sign as someone else)" 3 "$(requests_of 1)"

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

# ---- a LATIN1 database: a non-ASCII counter name in values and in the relayed error ----
export PGCLIENTENCODING=UTF8
sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS combined_latin1" \
	-c "CREATE DATABASE combined_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
PGDATABASE=combined_latin1 sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" >/dev/null
control ""
PGDATABASE=combined_latin1 direct café-1
PGDATABASE=combined_latin1 join_one lat1 café-1
PGDATABASE=combined_latin1 join_one lat2 café-1
wait_sessions direct
wait_sessions lat
expect_eq "LATIN1: 2 members of counter 'café-1' combined behind an increment in flight: 1001, 1002 in join order" \
	"1001 1002" "$(for i in 1 2; do value_of "lat$i"; done | tr '\n' ' ' | sed 's/ $//')"
expect_eq "...one ADD of 2" 1 "$(requests_of 2)"
control ""
PGDATABASE=combined_latin1 direct café-2
control "fault=apply-then-500&count=1&match=$(inc_match 2)&add=1"
PGDATABASE=combined_latin1 members le 2 café-2
wait_sessions direct
wait_sessions le
expect_eq "LATIN1: their batch's answer lost: 40003 for each" 2 "$(errors_of le 40003)"
expect_true "...the message names counter 'café-2' as given, in the database's encoding" \
	grep -q 'increment 1 of counter "café-2" may or may not have been applied' "$work/le1.out"
expect_eq "...the UTF-8 database reads the same counter: 1000 + 2 (applied)" 1002 "$(stored café-2)"
