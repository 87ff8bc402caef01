#!/usr/bin/env bash
# Writes whose answer is lost.  The fake front forwards a request, lets
# DynamoDB Local apply it, and then closes the connection unanswered (or
# answers 500, or never answers).  A write that must not be applied twice is
# not sent again - neither by us nor by libcurl, which silently resends on a
# new connection when a kept-alive one dies unanswered - and raises 40003;
# writes that recognise themselves, and reads, are resent and succeed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=LostAnswers
case_begin $T

start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
# requests of one operation the fake received since the last control
sent() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\"" || true; }
# the value as stored, read straight from DynamoDB Local
stored() { sql -c "SELECT dynamo_get_last_value('$1', '$T')"; }
set_to() { sql -c "SELECT dynamo_set_counter('$1', $2, '$T')" >/dev/null; }
via_fake="SET dynamo_atomic.endpoint = '$fake'"
# a first request on the session's connection, so that the next one reuses it
warm_up="SELECT dynamo_get_last_value('warm-up', '$T')"

# --- a bounded decrement on a kept-alive connection (libcurl's own resend path)
set_to seats 5
control "fault=drop-answer&target=UpdateItem&match=%22seats%22&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_increment('seats', -1, '$T', min_value => 0)")
expect_eq "bounded decrement, answer lost on a reused connection: 40003" 40003 "$(field 1 "$r")"
expect_eq "...saying it may or may not have been applied" \
	'the increment -1 of counter "seats" may or may not have been applied' "$(field 3 "$r")"
expect_eq "...applied exactly once (5 -> 4, not 3)" 4 "$(stored seats)"
expect_eq "...and sent exactly once" 1 "$(sent UpdateItem)"

# --- the same on a fresh connection
set_to seats-fresh 5
control "fault=drop-answer&target=UpdateItem&match=%22seats-fresh%22&count=1"
r=$(sql_error "$via_fake" "SELECT dynamo_increment('seats-fresh', -1, '$T', min_value => 0)")
expect_eq "bounded decrement, answer lost on a new connection: 40003" 40003 "$(field 1 "$r")"
expect_eq "...applied exactly once" 4 "$(stored seats-fresh)"
expect_eq "...sent exactly once" 1 "$(sent UpdateItem)"

# --- the first sending took the last seat: never "not applied" (2200H)
set_to last-seat 1
control "fault=drop-answer&target=UpdateItem&match=last-seat&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_increment('last-seat', -1, '$T', min_value => 0)")
expect_eq "the decrement that reached the bound reports 40003, not 2200H" 40003 "$(field 1 "$r")"
expect_eq "...and the seat is taken once" 0 "$(stored last-seat)"
set_to last-seat 1
control "fault=drop-answer&target=UpdateItem&match=last-seat&count=1"
out=$(psql -X -v VERBOSITY=verbose -c "$via_fake" -c "$warm_up" \
	-c "SELECT dynamo_increment('last-seat', -1, '$T', min_value => 0)" 2>&1 || true)
# With the front under Node 18 (Debian bookworm's, in the assert-enabled
# root: test/majors.sh cassert) libcurl reports the attempt as a connection
# the server closed unanswered, not as its refused resend of a reused one:
# both say the write was sent once and not again.
if (($(node -p 'process.versions.node.split(".")[0]') >= 20)); then
	expect_true "the 40003 DETAIL names the attempt and what happened to it" \
		grep -q 'DETAIL:  Attempt 1 of UpdateItem was sent, then the exchange connection failed' <<<"$out"
	expect_true "...in words: libcurl's resend on a new connection refused, not a callback's abort" \
		grep -q 'connection failed: the connection closed with no answer. It was not sent again' <<<"$out"
else
	expect_true "the 40003 DETAIL names the attempt and what happened to it (a new connection, closed unanswered)" \
		grep -q 'DETAIL:  Attempt 1 of UpdateItem was sent, then the server closed the connection without an HTTP answer .* It was not sent again' <<<"$out"
fi
grep -q 'DETAIL:  Attempt 1 of UpdateItem was sent' <<<"$out" || grep -E '^(ERROR|DETAIL|CONTEXT)' <<<"$out" # what it said instead
expect_true "...the HINT says how to find out" grep -q 'HINT:  Read the counter with dynamo_get_last_value()' <<<"$out"
expect_true "...and CONTEXT the operation and attempts" grep -q 'CONTEXT:  DynamoDB UpdateItem at .*, 1 attempt' <<<"$out"

# --- unbounded increments: not resent unless dynamo_atomic.retry_unknown_writes
set_to tally 10
control "fault=drop-answer&target=UpdateItem&match=tally&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_increment('tally', 1, '$T')")
expect_eq "unbounded increment, answer lost, retry_unknown_writes off: 40003" 40003 "$(field 1 "$r")"
expect_eq "...counted once" 11 "$(stored tally)"
expect_eq "...sent once" 1 "$(sent UpdateItem)"

set_to ids 10
control "fault=drop-answer&target=UpdateItem&match=%22ids%22&count=1"
got=$(sql -c "$via_fake" -c "SET dynamo_atomic.retry_unknown_writes = on" -c "$warm_up" \
	-c "SELECT dynamo_increment('ids', 1, '$T')" | tail -1)
expect_eq "with retry_unknown_writes on, the increment is resent and returns the resend's value" 12 "$got"
expect_eq "...the first sending's value is a gap (stored 12)" 12 "$(stored ids)"
expect_eq "...two sendings" 2 "$(sent UpdateItem)"

# a resend refused by the bigint guard may follow an applied first sending
set_to edge 9223372036854775806
control "fault=drop-answer&target=UpdateItem&match=%22edge%22&count=1"
r=$(sql_error "$via_fake" "SET dynamo_atomic.retry_unknown_writes = on" "$warm_up" \
	"SELECT dynamo_increment('edge', 1, '$T')")
expect_eq "a resend refused by its condition after a lost answer gives 40003, not 22003" 40003 "$(field 1 "$r")"
expect_eq "...the first sending was applied" 9223372036854775807 "$(stored edge)"

# bounded increments are never resent, whatever the setting
set_to bounded-ids 10
control "fault=drop-answer&target=UpdateItem&match=bounded-ids&count=1"
r=$(sql_error "$via_fake" "SET dynamo_atomic.retry_unknown_writes = on" "$warm_up" \
	"SELECT dynamo_increment('bounded-ids', 1, '$T', max_value => 100)")
expect_eq "a bounded increment is not resent even with retry_unknown_writes on" "40003|11" \
	"$(field 1 "$r")|$(stored bounded-ids)"

# --- a 500 after DynamoDB applied the write, and a request timeout
set_to after-500 10
control "fault=apply-then-500&target=UpdateItem&match=after-500"
r=$(sql_error "$via_fake" "SELECT dynamo_increment('after-500', 1, '$T')")
expect_eq "a 5xx after the write was applied: 40003, applied once, sent once" "40003|11|1" \
	"$(field 1 "$r")|$(stored after-500)|$(sent UpdateItem)"

set_to after-hang 10
control "fault=apply-then-hang&target=UpdateItem&match=after-hang"
r=$(sql_error "$via_fake" "SET dynamo_atomic.request_timeout_ms = 500" \
	"SELECT dynamo_increment('after-hang', -1, '$T', min_value => 0)")
expect_eq "a request timeout after the write was applied: 40003, applied once, sent once" "40003|9|1" \
	"$(field 1 "$r")|$(stored after-hang)|$(sent UpdateItem)"

# --- dynamo_set_counter is not resent either
set_to reset-me 10
control "fault=drop-answer&target=UpdateItem&match=reset-me&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_set_counter('reset-me', 500, '$T')")
expect_eq "dynamo_set_counter with its answer lost: 40003, set, sent once" \
	'40003|setting counter "reset-me" to 500 may or may not have been applied|500|1' \
	"$(field 1 "$r")|$(field 3 "$r")|$(stored reset-me)|$(sent UpdateItem)"

# --- reads are resent
set_to read-me 7
control "fault=drop-answer&target=GetItem&match=read-me&count=1"
got=$(sql -c "$via_fake" -c "$warm_up" -c "SELECT dynamo_get_last_value('read-me', '$T')" | tail -1)
expect_eq "a read whose answer was lost is resent and answers" "7|3" "$got|$(sent GetItem)"

# --- table creation and deletion recognise themselves
control "fault=drop-answer&target=CreateTable&count=1"
r=$(sql_error "$via_fake" "SET client_min_messages = warning" "$warm_up" \
	"SELECT dynamo_create_counter_table('LostCreate')")
expect_eq "CreateTable whose answer was lost: the resend finds its own table and succeeds" none "$(field 1 "$r")"
expect_eq "...after two sendings" 2 "$(sent CreateTable)"
expect_eq "...and the table works" 1 "$(sql -c "SELECT dynamo_increment('x', 1, 'LostCreate')")"

control "fault=drop-answer&target=DeleteTable&count=1"
r=$(sql_error "$via_fake" "$warm_up" "SELECT dynamo_delete_table('LostCreate')")
expect_eq "DeleteTable whose answer was lost: the resend finds no table and succeeds" none "$(field 1 "$r")"
expect_eq "...the table is gone" 42P01 "$(field 1 "$(sql_error "SELECT dynamo_get_last_value('x', 'LostCreate')")")"

# --- an answer that is not JSON after the write was applied
set_to garbled 10
control "fault=garbage&target=UpdateItem&count=1"
out=$(psql -X -v VERBOSITY=verbose -c "$via_fake" -c "SELECT dynamo_increment('garbled', 1, '$T')" \
	-c "SELECT 'errors=' || errors FROM dynamo_atomic_backend_stats()" 2>&1 || true)
expect_true "an unreadable 200 gives XX000 naming the operation" \
	grep -q "ERROR:  XX000: DynamoDB's answer to UpdateItem is not JSON" <<<"$out"
expect_true "...DETAIL says the request succeeded and shows the answer" \
	grep -q 'DETAIL:  HTTP 200: the request succeeded, but its answer cannot be read. It begins: this is not json' <<<"$out"
expect_true "...CONTEXT has the attempts and the request id" \
	grep -q 'CONTEXT:  DynamoDB UpdateItem at .*, 1 attempt, request id fake-' <<<"$out"
expect_true "...and it is counted as an error" grep -q 'errors=1' <<<"$out"
control ""

# a 5xx after the write was applied whose message echoes the session token: 40003, redacted
control "fault=apply-then-500-echo&target=UpdateItem&match=echo-500"
secret_token="echoed-in-a-5xx-must-be-redacted-7d1e"
out=$(psql -X -v VERBOSITY=verbose -c "$via_fake" -c "SET dynamo_atomic.session_token = '$secret_token'" \
	-c "SELECT dynamo_set_counter('echo-500', 5, '$T')" 2>&1 || true)
expect_true "a 5xx echoing the session token after an applied write gives 40003" grep -q 'ERROR:  40003:' <<<"$out"
expect_true "...with AWS's message shown, the token redacted" grep -q 'Internal server error for token \[redacted\]' <<<"$out"
expect_true "...and the token itself nowhere in the error" bash -c "! grep -q '$secret_token' <<<\"\$1\"" _ "$out"
control ""
