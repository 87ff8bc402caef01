#!/usr/bin/env bash
# Network waits stay interruptible and bounded: statement_timeout and
# pg_cancel_backend give 57014 at once, request and connect timeouts give
# 08006 / 08001 within their settings, and the session works afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

case_begin InterruptCounters

start_helper silent_port "$work/silent.port" test/helpers/tcp_stub silent "$work/silent.port"
silent="http://127.0.0.1:$silent_port"
start_helper blackhole_port "$work/blackhole.port" test/helpers/tcp_stub blackhole "$work/blackhole.port"
blackhole="http://127.0.0.1:$blackhole_port"
# The table is declared written by this region alone (no DescribeTable): at
# these endpoints the write itself is what stalls, not the global-table check.
single="SET dynamo_atomic.single_writer_tables = 'InterruptCounters'"
refused_port=$(harness_free_port)

# within NAME MS LOW HIGH
within() {
	if (($2 >= $3 && $2 < $4)); then pass "$1 (${2} ms)"; else fail "$1" "took $2 ms, expected [$3, $4)"; fi
}

# statement_timeout against a server that accepts and never answers
r=$(sql_error "SET dynamo_atomic.endpoint = '$silent'" "$single" "SET statement_timeout = 300" \
	"SELECT dynamo_increment('x', table_name => 'InterruptCounters')")
expect_eq "statement_timeout against a silent server gives 57014" 57014 "$(field 1 "$r")"
expect_eq "statement_timeout's own message is reported" "canceling statement due to statement timeout" "$(field 3 "$r")"
within "statement_timeout = 300 ms fires well under a second" "$(field 2 "$r")" 250 1000

# pg_cancel_backend while the backend waits
psql -X -v VERBOSITY=verbose -c "SET application_name = 'dynamo_cancel_me'" \
	-c "SET dynamo_atomic.endpoint = '$silent'" -c "$single" -c "SET dynamo_atomic.request_timeout_ms = 60000" \
	-c "SELECT dynamo_increment('x', table_name => 'InterruptCounters')" >"$work/cancel.out" 2>&1 &
victim=$!
waiting() {
	[[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'dynamo_cancel_me' AND wait_event_type = 'Extension'") == 1 ]]
}
if harness_wait_for 10 waiting; then
	pass "a backend waiting on DynamoDB shows wait_event_type Extension"
	t0=$(now_ms)
	sql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'dynamo_cancel_me'" >/dev/null
	wait "$victim" || true
	within "pg_cancel_backend ends the wait at once" "$(($(now_ms) - t0))" 0 1000
	expect_true "pg_cancel_backend gives 57014 canceling statement due to user request" \
		grep -q 'ERROR:  57014: canceling statement due to user request' "$work/cancel.out"
else
	kill "$victim" 2>/dev/null || true
	fail "a backend waiting on DynamoDB shows wait_event_type Extension"
fi

# the session that was cancelled works normally afterwards
r=$(psql -X -qAt -c "SET dynamo_atomic.endpoint = '$silent'" -c "$single" -c "SET statement_timeout = 200" \
	-c "SELECT dynamo_increment('x', table_name => 'InterruptCounters')" \
	-c "RESET statement_timeout" -c "RESET dynamo_atomic.endpoint" \
	-c "SELECT dynamo_increment('after-cancel', table_name => 'InterruptCounters')" 2>/dev/null | tail -1)
expect_eq "after a cancelled request the same session increments normally" 1 "$r"

# dynamo_atomic.request_timeout_ms bounds a request with no statement_timeout
r=$(sql_error "SET dynamo_atomic.endpoint = '$silent'" "$single" "SET dynamo_atomic.request_timeout_ms = 400" \
	"SET dynamo_atomic.max_retries = 0" "SELECT dynamo_get_last_value('x', 'InterruptCounters')")
expect_eq "a read that times out gives 08006" 08006 "$(field 1 "$r")"
within "request_timeout_ms = 400 is honoured" "$(field 2 "$r")" 350 1500
r=$(sql_error "SET dynamo_atomic.endpoint = '$silent'" "$single" "SET dynamo_atomic.request_timeout_ms = 400" \
	"SELECT dynamo_increment('x', table_name => 'InterruptCounters')")
expect_eq "an increment that times out gives 40003 at once (not resent)" 40003 "$(field 1 "$r")"
within "...after one request_timeout_ms, not max_retries + 1 of them" "$(field 2 "$r")" 350 1500

# nothing listening: connection refused
r=$(sql_error "SET dynamo_atomic.endpoint = 'http://127.0.0.1:$refused_port'" "SET dynamo_atomic.max_retries = 0" \
	"SELECT dynamo_increment('x', table_name => 'InterruptCounters')")
expect_eq "a refused connection gives 08001" 08001 "$(field 1 "$r")"
within "a refused connection fails at once" "$(field 2 "$r")" 0 1000

# a listener that never completes the handshake: the connect timeout applies
r=$(sql_error "SET dynamo_atomic.endpoint = '$blackhole'" "$single" "SET dynamo_atomic.connect_timeout_ms = 500" \
	"SET dynamo_atomic.max_retries = 0" "SELECT dynamo_increment('x', table_name => 'InterruptCounters')")
expect_eq "an unreachable endpoint gives 08001" 08001 "$(field 1 "$r")"
within "connect_timeout_ms = 500 is honoured" "$(field 2 "$r")" 450 1500

# retries multiply the wait by the number of attempts, and say so
out=$(psql -X -qAt -c "SET dynamo_atomic.endpoint = '$blackhole'" -c "$single" -c "SET dynamo_atomic.connect_timeout_ms = 200" \
	-c "SET dynamo_atomic.max_retries = 2" -c "SELECT dynamo_increment('x', table_name => 'InterruptCounters')" 2>&1 || true)
expect_true "the error context counts 3 attempts" grep -q 'CONTEXT:  DynamoDB UpdateItem at .*, 3 attempts' <<<"$out"
