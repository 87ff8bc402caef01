#!/usr/bin/env bash
# Global tables: DynamoDB Local has none, so the fake front answers
# DescribeTable as a global table would, per table name: MREC (with and
# without MultiRegionConsistency), MRSC (with a witness), a 2017.11.29
# table (a stream, then DescribeGlobalTable), a stream that is not one, and
# a refusal (AccessDenied).  Each family of writes - counters, IDs (function
# and trigger), locks, optimistic writes - is run against each answer: on
# MREC and on a table that cannot be described it is refused (55000) with
# nothing written, unless dynamo_atomic.single_writer_tables lists the
# table (superuser only); on MRSC everything works but dynamo_set_atomic
# (0A000, no TransactWriteItems sent); a plain table costs one DescribeTable
# per server and table, then one request per call.  A replicated write
# conflict is retried; one that persists is 40001 and has the table
# described again; a table that becomes global is refused once
# dynamo_atomic.table_recheck_interval has passed, not before.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

case_begin CaseGlobalPlain
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
sent() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\".*$2" || true; }
at_fake="SET dynamo_atomic.endpoint = '$fake'"
# every statement through the front, in one session
fsql() {
	local args=(-c "SET client_min_messages = warning" -c "$at_fake")
	for q in "$@"; do args+=(-c "$q"); done
	sql "${args[@]}"
}
ferr() { sql_error "SET client_min_messages = warning" "$at_fake" "$@"; }

# The tables: one set per answer, all plain in DynamoDB Local.
KINDS=(Plain Mrec Implicit Mrsc Legacy Streamed Denied)
for k in "${KINDS[@]}"; do
	sql -c "SET client_min_messages = warning" \
		-c "SELECT dynamo_create_counter_table('Case${k}Counters', if_not_exists => true)" \
		-c "SELECT dynamo_create_lock_table('Case${k}Locks', if_not_exists => true)" \
		-c "SELECT dynamo_create_item_table('Case${k}Items', if_not_exists => true)" >/dev/null
done
rules() {
	control "fault=global&mode=mrec&target=DescribeTable&match=CaseMrec"
	control "add=1&fault=global&mode=mrec-implicit&target=DescribeTable&match=CaseImplicit"
	control "add=1&fault=global&mode=mrsc&target=DescribeTable&match=CaseMrsc"
	control "add=1&fault=global&mode=legacy-stream&target=DescribeTable&match=CaseLegacy"
	control "add=1&fault=legacy-global&target=DescribeGlobalTable&match=CaseLegacy"
	control "add=1&fault=global&mode=legacy-stream&target=DescribeTable&match=CaseStreamed"
	control "add=1&fault=access-denied&target=DescribeTable&match=CaseDenied"
}
rules

# One statement of each family on a kind's tables (a fresh name each run).
run_id=$RANDOM
family_sql() {
	local k=$1 family=$2
	case $family in
		increment) echo "SELECT dynamo_increment('c$run_id', 1, 'Case${k}Counters')" ;;
		set_counter) echo "SELECT dynamo_set_counter('s$run_id', 5, 'Case${k}Counters')" ;;
		key_increment) echo "SELECT dynamo_increment(dynamo_key('t$run_id', 'n'), 1, 'Case${k}Items')" ;;
		nextval) echo "SELECT dynamo_nextval('n$run_id', 10, 'Case${k}Counters')" ;;
		trigger) echo "INSERT INTO rows_${k,,} (x) VALUES (1) RETURNING id" ;;
		get_lock) echo "SELECT (dynamo_get_lock('l$run_id', 10000, 0, 'Case${k}Locks')).fencing_token" ;;
		try_xact_lock) echo "SELECT (dynamo_try_get_xact_lock('x$run_id', 10000, 'Case${k}Locks')).fencing_token" ;;
		read_lock) echo "SELECT (dynamo_read_lock('r$run_id', 'Case${k}Locks')).lock_name" ;;
		set_atomic) echo "SELECT (dynamo_set_atomic('{\"pk\": \"a$run_id\", \"sk\": \"1\"}', dynamo_read_lock('a$run_id', 'CasePlainLocks'), 'Case${k}Items')).lock_name" ;;
	esac
}
FAMILIES=(increment set_counter key_increment nextval trigger get_lock try_xact_lock read_lock set_atomic)
for k in "${KINDS[@]}"; do
	sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS rows_${k,,}" \
		-c "CREATE TABLE rows_${k,,} (id bigint, x int)" \
		-c "CREATE TRIGGER ids BEFORE INSERT ON rows_${k,,} FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'g$run_id', '10', 'Case${k}Counters')" >/dev/null
done

# --- a plain table: every family works; the description is learned once per server
for f in "${FAMILIES[@]}"; do
	r=$(ferr "$(family_sql Plain "$f")")
	expect_eq "plain table: $f works" none "$(field 1 "$r")"
done
expect_eq "plain tables: one DescribeTable per table for the whole server (3 tables, 9 families)" 3 \
	"$(sent DescribeTable 'CasePlain')"
rules
calls=$(fsql "SELECT dynamo_atomic_stats_reset()" "$(family_sql Plain increment)" \
	"SELECT count(dynamo_increment('c$run_id', 1, 'CasePlainCounters')) FROM generate_series(1, 9)" \
	"SELECT http_requests FROM dynamo_atomic_backend_stats()" | tail -1)
expect_eq "a new session's increments on a plain table: one request each (10 calls, 10 requests)" 10 "$calls"
expect_eq "...and no DescribeTable (the server's cache answered)" 0 "$(sent DescribeTable 'CasePlain')"

# --- refused kinds: MREC (both answers), 2017.11.29, undescribable
for k in Mrec Implicit Legacy Denied; do
	for f in "${FAMILIES[@]}"; do
		r=$(ferr "$(family_sql "$k" "$f")")
		case $f in set_atomic) table="Case${k}Items" ;; *lock*) table="Case${k}Locks" ;; key_increment) table="Case${k}Items" ;; *) table="Case${k}Counters" ;; esac
		if [[ $k == Denied ]]; then
			want="cannot tell whether DynamoDB table \"$table\" is a global table: DescribeTable was refused (AccessDeniedException)"
		else
			want="DynamoDB table \"$table\" is a multi-Region eventually consistent (MREC) global table:"
		fi
		expect_eq "$k: $f is refused (55000) naming the table and the mode" "55000|$want" \
			"$(field 1 "$r")|$(field 3 "$r" | cut -c1-${#want})"
	done
done
expect_eq "nothing of the refused writes reached DynamoDB (no write to their tables in the front's log)" 0 \
	"$(curl -s --max-time 5 "$fake/_log" | grep -E '"target":"DynamoDB_20120810.(UpdateItem|PutItem|TransactWriteItems)"' |
		grep -cE 'Case(Mrec|Implicit|Legacy|Denied)' || true)"
expect_eq "...and none of their items exists" "0" \
	"$(sql -c "SELECT count(*) FROM (VALUES (dynamo_get_last_value('c$run_id', 'CaseMrecCounters')), (dynamo_get_last_value('n$run_id', 'CaseMrecCounters'))) v(x) WHERE x <> 0")"
out=$(psql -X -v VERBOSITY=verbose -c "$at_fake" -c "$(family_sql Mrec get_lock)" 2>&1 || true)
expect_true "the MREC refusal says in its DETAIL what would break" \
	grep -q "DETAIL:.*a server in each region can take this lock at the same time" <<<"$out"
expect_true "...and names the replicas" grep -q "Its replicas (.*eu-west-1.*)" <<<"$out"
expect_true "...its HINT names dynamo_atomic.single_writer_tables" grep -q "HINT:.*dynamo_atomic.single_writer_tables" <<<"$out"
out=$(psql -X -v VERBOSITY=verbose -c "$at_fake" -c "$(family_sql Legacy increment)" 2>&1 || true)
expect_true "a 2017.11.29 global table is found with DescribeGlobalTable and named so" grep -q "version 2017.11.29" <<<"$out"
expect_eq "...DescribeGlobalTable was asked only for the tables with a stream" "0 3" \
	"$(sent DescribeGlobalTable CaseMrec) $(sent DescribeGlobalTable 'CaseLegacy')"

# a global table with very many replicas: the list is cut at a region's end
sql -c "SELECT dynamo_create_counter_table('CaseManyReplicas', if_not_exists => true)" >/dev/null 2>&1
many=$(for i in $(seq 40); do printf 'xx-region-%s,' "$i"; done)
control "add=1&fault=global&mode=mrec&target=DescribeTable&match=CaseManyReplicas&regions=${many%,}"
out=$(psql -X -v VERBOSITY=verbose -c "$at_fake" -c "SELECT dynamo_increment('m', 1, 'CaseManyReplicas')" 2>&1 || true)
expect_true "40 replicas: the DETAIL lists the first ones and ends with ', ...' at a region's end" \
	grep -qE "Its replicas \(.*xx-region-[0-9]+, \.\.\.\)" <<<"$out"

# --- a refusal stays a refusal: the same session's next calls are refused too
for f in nextval trigger increment get_lock; do
	r=$(ferr "$(family_sql Mrec "$f")" "SELECT 1" "$(family_sql Mrec "$f")")
	expect_eq "MREC: $f refused, then refused again in the same session (nothing kept from the refusal)" "55000|2" \
		"$(field 1 "$r")|$(psql -X -qAt -c "$at_fake" -c "$(family_sql Mrec "$f")" -c "SELECT 1" -c "$(family_sql Mrec "$f")" 2>&1 | grep -c 'ERROR:  DynamoDB table')"
done
# a caught refusal inside one statement: each ID is refused
expect_eq "MREC: 5 dynamo_nextval in a loop, each error caught: 5 refusals, no ID" 5 \
	"$(fsql "DO \$\$ DECLARE refused int := 0; BEGIN FOR i IN 1..5 LOOP BEGIN PERFORM dynamo_nextval('loop$run_id', 10, 'CaseMrecCounters'); EXCEPTION WHEN object_not_in_prerequisite_state THEN refused := refused + 1; END; END LOOP; RAISE WARNING 'refused %', refused; END \$\$" 2>&1 | sed -n 's/.*refused \([0-9]*\).*/\1/p')"
# dynamo_set_atomic with a lock from an MREC lock table and its item in a plain one: refused for the lock's table
r=$(ferr "SELECT dynamo_set_atomic('{\"pk\": \"b$run_id\", \"sk\": \"1\"}', ROW('CaseMrecLocks', 'b$run_id', NULL, 'v1', 1, NULL)::dynamo_lock, 'CasePlainItems')")
expect_eq "dynamo_set_atomic with a lock of an MREC lock table (its item in a plain table): refused naming the lock's table" \
	"55000|DynamoDB table \"CaseMrecLocks\" is a multi-Region" "$(field 1 "$r")|$(field 3 "$r" | cut -c1-48)"
# DescribeTable throttled at the first use of a table: the write is not made (53400); an answer not understood: XX000
sql -c "SELECT dynamo_create_counter_table('CaseThrottled', if_not_exists => true)" -c "SELECT dynamo_create_counter_table('CaseMalformed', if_not_exists => true)" >/dev/null 2>&1
control "add=1&fault=throttle&target=DescribeTable&match=CaseThrottled"
control "add=1&fault=global&mode=malformed&target=DescribeTable&match=CaseMalformed"
r=$(ferr "SET dynamo_atomic.max_retries = 1" "SELECT dynamo_increment('t$run_id', 1, 'CaseThrottled')")
expect_eq "DescribeTable throttled at a table's first use: 53400, and no UpdateItem sent" "53400|0" "$(field 1 "$r")|$(sent UpdateItem CaseThrottled)"
r=$(ferr "SELECT dynamo_increment('t$run_id', 1, 'CaseMalformed')")
expect_eq "a DescribeTable answer whose Replicas is not a list: XX000, nothing written (not taken for a plain table)" \
	"XX000|DynamoDB's DescribeTable answer for table \"CaseMalformed\" could not be understood|0" \
	"$(field 1 "$r")|$(field 3 "$r")|$(sent UpdateItem CaseMalformed)"
# ...and throttled when described again: the answer learned holds (for now), the call is not delayed past the bound
sql -c "SELECT dynamo_create_counter_table('CaseRelearn', if_not_exists => true)" >/dev/null 2>&1
fsql "SET dynamo_atomic.table_recheck_interval = '1s'" "SELECT dynamo_increment('t$run_id', 1, 'CaseRelearn')" >/dev/null
control "add=1&fault=throttle&target=DescribeTable&match=CaseRelearn"
relearned() { [[ $(field 1 "$(ferr "SET dynamo_atomic.table_recheck_interval = '1s'" "SELECT dynamo_increment('t$run_id', 1, 'CaseRelearn')")") == none && $(sent DescribeTable CaseRelearn) -ge 1 ]]; }
expect_true "DescribeTable throttled when described again: the call still works on the answer learned" harness_wait_for 10 relearned
r=$(ferr "SET dynamo_atomic.table_recheck_interval = '1s'" "SET dynamo_atomic.request_timeout_ms = 60000" "SELECT dynamo_increment('t$run_id', 1, 'CaseRelearn')")
expect_true "...and a call meeting the description again waits for it at most about 2 s ($(field 2 "$r") ms)" test "$(field 2 "$r")" -lt 3500

# --- a stream that is not a global table's: works (DescribeGlobalTable: not found)
for f in increment get_lock read_lock; do
	expect_eq "a table with a stream, not global: $f works" none "$(field 1 "$(ferr "$(family_sql Streamed "$f")")")"
done

# --- MRSC: everything but transactions
for f in "${FAMILIES[@]}"; do
	r=$(ferr "$(family_sql Mrsc "$f")")
	if [[ $f == set_atomic ]]; then
		expect_eq "MRSC: dynamo_set_atomic is refused (0A000): DynamoDB has no transactions there" \
			"0A000|dynamo_set_atomic cannot write DynamoDB table \"CaseMrscItems\": it is a multi-Region strongly consistent (MRSC) global table" \
			"$(field 1 "$r")|$(field 3 "$r")"
	else
		expect_eq "MRSC: $f works" none "$(field 1 "$r")"
	fi
done
expect_eq "...and no TransactWriteItems was sent for it" 0 "$(sent TransactWriteItems CaseMrscItems)"
expect_eq "MRSC: the lock taken gives a fencing token, the counter its value" "t|1" \
	"$(fsql "SELECT (dynamo_get_lock('lm$run_id', 10000, 0, 'CaseMrscLocks')).fencing_token > 0")|$(fsql "SELECT dynamo_increment('cm$run_id', 1, 'CaseMrscCounters')")"
# a lock table that exists as an MRSC table: no TTL (DynamoDB has none there), with a WARNING
ddb_raw CreateTable '{"TableName": "CaseMrscBare", "AttributeDefinitions": [{"AttributeName": "lock_name", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "lock_name", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}' >/dev/null || true
out=$(psql -X -v ON_ERROR_STOP=1 -c "$at_fake" -c "SELECT dynamo_create_lock_table('CaseMrscBare', if_not_exists => true)" 2>&1)
expect_true "dynamo_create_lock_table on an existing MRSC table: a WARNING that it gets no TTL" \
	grep -q 'WARNING:  DynamoDB table "CaseMrscBare" is a multi-Region strongly consistent (MRSC) global table: it gets no TTL' <<<"$out"
expect_eq "...and UpdateTimeToLive was not sent" 0 "$(sent UpdateTimeToLive CaseMrscBare)"

# --- a replicated write conflict (MRSC): retried; persisting, 40001 and the table described again
rules
control "add=1&fault=replicated-conflict&target=UpdateItem&match=cr$run_id&count=2"
expect_eq "an increment meeting two replicated write conflicts is retried and applied once" "1|1" \
	"$(fsql "SELECT dynamo_increment('cr$run_id', 1, 'CaseMrscCounters')")|$(sql -c "SELECT dynamo_get_last_value('cr$run_id', 'CaseMrscCounters')")"
control "add=1&fault=replicated-conflict&target=UpdateItem&match=cp$run_id"
r=$(ferr "SET dynamo_atomic.max_retries = 1" "SELECT dynamo_increment('cp$run_id', 1, 'CaseMrscCounters')")
expect_eq "a conflict that persists past max_retries is 40001 (a retry loop's error)" 40001 "$(field 1 "$r")"
# An error anyone can provoke has the table described again at most once per
# 10 s after its last description.  First a description now (interval 1 s):
described=$(sent DescribeTable CaseMrscCounters)
described_anew() {
	fsql "SET dynamo_atomic.table_recheck_interval = '1s'" "SELECT dynamo_increment('after$run_id', 1, 'CaseMrscCounters')" >/dev/null
	(($(sent DescribeTable CaseMrscCounters) > described))
}
harness_wait_for 5 described_anew || fail "global_tables: the counters' table was not described again after 1 s"
described_ms=$(now_ms) described=$(sent DescribeTable CaseMrscCounters)
# then, with an interval of an hour (only the conflict can have it described):
conflict_then_use() {
	local r
	r=$(ferr "SET dynamo_atomic.max_retries = 0" "SELECT dynamo_increment('cp$run_id', 1, 'CaseMrscCounters')")
	fsql "SELECT dynamo_increment('after$run_id', 1, 'CaseMrscCounters')" >/dev/null
}
conflict_then_use
expect_eq "...which, right after the table was described, does not have it described again" 0 \
	"$(($(sent DescribeTable CaseMrscCounters) - described))"
conflict_then_described() {
	conflict_then_use
	(($(sent DescribeTable CaseMrscCounters) > described))
}
harness_wait_for 15 conflict_then_described || true
took=$(($(now_ms) - described_ms))
expect_true "...but does 10 s after that description, on the next use, not much later (${took} ms)" \
	test "$(sent DescribeTable CaseMrscCounters)" -gt "$described" -a "$took" -ge 9800 -a "$took" -le 12000
rules

# --- dynamo_atomic.single_writer_tables: a superuser's declaration
r=$(ferr "SET dynamo_atomic.single_writer_tables = 'CaseMrecCounters,CaseMrecLocks,CaseMrecItems,CaseDeniedCounters'" \
	"$(family_sql Mrec increment)" "$(family_sql Mrec get_lock)" "$(family_sql Mrec set_atomic)" "$(family_sql Denied nextval)")
expect_eq "listed in single_writer_tables: MREC counters, locks, set_atomic and an undescribable table's IDs work" none "$(field 1 "$r")"
r=$(ferr "SET dynamo_atomic.single_writer_tables = 'CaseMrecCounters'" "$(family_sql Mrec get_lock)")
expect_eq "...a table not listed is still refused" 55000 "$(field 1 "$r")"
r=$(ferr "SET dynamo_atomic.single_writer_tables = 'CaseMrecCounters'" "$(family_sql Mrec increment)" \
	"RESET dynamo_atomic.single_writer_tables" "$(family_sql Mrec increment)")
expect_eq "...and taken out of the list, the next statement of the session is refused" 55000 "$(field 1 "$r")"
r=$(ferr "SET dynamo_atomic.single_writer_tables = 'CaseMrecCounters'" "SELECT dynamo_nextval('listed$run_id', 10, 'CaseMrecCounters')" \
	"RESET dynamo_atomic.single_writer_tables" "SELECT dynamo_nextval('listed$run_id', 10, 'CaseMrecCounters')")
expect_eq "...for dynamo_nextval too: its next ID, from a block already reserved, is refused" 55000 "$(field 1 "$r")"
sql -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS gt_app" -c "CREATE ROLE gt_app LOGIN" \
	-c "SELECT dynamo_atomic_grant('gt_app', 'counters')" >/dev/null
r=$(sql_error "SET ROLE gt_app" "SET dynamo_atomic.single_writer_tables = 'CaseMrecCounters'")
expect_eq "...which a role that is not a superuser may not set (42501)" 42501 "$(field 1 "$r")"
r=$(sql_error "SET dynamo_atomic.single_writer_tables = 'not a table!'")
expect_eq "...and which must list table names (22023)" 22023 "$(field 1 "$r")"

# --- a table dropped and made again (here as a global one): a warm session's IDs check it again at once
sql -c "SELECT dynamo_create_counter_table('CaseRecreated', if_not_exists => true)" >/dev/null 2>&1
r=$(ferr "SET dynamo_atomic.table_recheck_interval = '1h'" "SELECT dynamo_nextval('rc$run_id', 10, 'CaseRecreated')" \
	"\\! curl -s --max-time 5 '$fake/_control?add=1&fault=global&mode=mrec&target=DescribeTable&match=CaseRecreated' >/dev/null" \
	"SELECT dynamo_delete_table('CaseRecreated')" "SELECT dynamo_create_counter_table('CaseRecreated')" \
	"SELECT dynamo_nextval('rc$run_id', 10, 'CaseRecreated')")
expect_eq "a table recreated through this server: the next ID of a warm session checks it again (55000, not the cached verdict)" \
	55000 "$(field 1 "$r")"

# --- a table that becomes global: refused once the interval has passed, not before
sql -c "SELECT dynamo_create_counter_table('CaseTurnsGlobal', if_not_exists => true)" >/dev/null 2>&1
interval_s=2
fsql "SET dynamo_atomic.table_recheck_interval = '${interval_s}s'" "SELECT dynamo_increment('tg$run_id', 1, 'CaseTurnsGlobal')" >/dev/null
learned=$(now_ms)
control "add=1&fault=global&mode=mrec&target=DescribeTable&match=CaseTurnsGlobal"
r=$(ferr "SET dynamo_atomic.table_recheck_interval = '${interval_s}s'" "SELECT dynamo_increment('tg$run_id', 1, 'CaseTurnsGlobal')")
early=$(($(now_ms) - learned))
if ((early < interval_s * 1000)); then
	expect_eq "a replica added: within the interval (${early} ms) the description learned still holds" none "$(field 1 "$r")"
fi
refused_after() { [[ $(field 1 "$(ferr "SET dynamo_atomic.table_recheck_interval = '${interval_s}s'" "SELECT dynamo_increment('tg$run_id', 1, 'CaseTurnsGlobal')")") == 55000 ]]; }
harness_wait_for 10 refused_after || true
took=$(($(now_ms) - learned))
# (learned: when the first statement had returned, a little after DescribeTable's answer)
expect_true "...and it is refused once ${interval_s} s have passed, within a second more (${took} ms)" \
	test "$took" -ge $((interval_s * 1000 - 200)) -a "$took" -le $((interval_s * 1000 + 1500))

echo
