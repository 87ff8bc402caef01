#!/usr/bin/env bash
# A DNS lookup that stalls must not hold the backend: cancel, termination,
# statement_timeout and connect_timeout_ms each end the call within their
# bound + 200 ms although the lookup takes 5 s.  Runs in a cluster of its
# own whose server environment preloads test/helpers/slow_dns.so, which
# stalls names under .slow-dns.test and then answers 127.0.0.1.
#
#   bash slow_dns.sh          set up the cluster and run the checks in it
#   bash slow_dns.sh inner    the checks (inside that cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

STALL_SECONDS=5

# within NAME MS LOW HIGH
within() {
	if (($2 >= $3 && $2 < $4)); then pass "$1 (${2} ms)"; else fail "$1" "took $2 ms, expected [$3, $4)"; fi
}

inner() {
	harness_guard_server_environment
	# The stalled name must never reach a real resolver: the shim answers it.
	harness_server_environment | grep -q '^LD_PRELOAD=.*slow_dns\.so' ||
		die "the test server does not preload slow_dns.so: refusing to look up .slow-dns.test names"
	sql -c "CREATE EXTENSION dynamo_atomic"
	local slow="SET dynamo_atomic.endpoint = 'http://dynamo.slow-dns.test:$DDB_PORT'"
	local call="SELECT dynamo_get_last_value('x', 'SlowDnsCounters')"
	local r t0 victim

	r=$(sql_error "$slow" "SET statement_timeout = 500" "$call")
	expect_eq "statement_timeout during a stalled DNS lookup gives 57014" 57014 "$(field 1 "$r")"
	within "...within statement_timeout + 200 ms" "$(field 2 "$r")" 450 700

	r=$(sql_error "$slow" "SET dynamo_atomic.connect_timeout_ms = 500" "SET dynamo_atomic.max_retries = 0" "$call")
	expect_eq "connect_timeout_ms during a stalled DNS lookup gives 08001" 08001 "$(field 1 "$r")"
	within "...within connect_timeout_ms + 200 ms" "$(field 2 "$r")" 450 700

	# pg_cancel_backend and pg_terminate_backend while the lookup stalls
	for how in cancel terminate; do
		psql -X -c "SET application_name = 'slow_dns_$how'" -c "$slow" -c "$call" >"$WORK/$how.out" 2>&1 &
		victim=$!
		waiting() {
			[[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slow_dns_$how' AND wait_event_type = 'Extension'") == 1 ]]
		}
		if ! harness_wait_for 10 waiting; then
			kill "$victim" 2>/dev/null || true
			fail "pg_${how}_backend during a stalled DNS lookup: the backend never waited"
			continue
		fi
		t0=$(now_ms)
		sql -c "SELECT pg_${how}_backend(pid) FROM pg_stat_activity WHERE application_name = 'slow_dns_$how'" >/dev/null
		wait "$victim" || true
		within "pg_${how}_backend during a stalled DNS lookup ends the call within 200 ms" "$(($(now_ms) - t0))" 0 200
	done
	expect_true "...the cancelled call reports 57014" grep -q 'canceling statement due to user request' "$WORK/cancel.out"
	expect_true "...the terminated one ends its connection" grep -q 'terminating connection due to administrator command' "$WORK/terminate.out"

	# given the time, the stalled name does answer, and the call succeeds
	expect_eq "with no bound shorter than the stall, the call succeeds" 0 \
		"$(sql -c "$slow" -c "SET dynamo_atomic.connect_timeout_ms = '10s'" -c "$call")"
}

if [[ ${1:-} == inner ]]; then
	inner
	exit 0
fi

WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
# The server (user postgres) loads the shim from a directory it can read.
cp test/helpers/slow_dns.so "$HARNESS_RUN_DIR/slow_dns.so"
chmod 755 "$HARNESS_RUN_DIR/slow_dns.so"
ddb_raw CreateTable '{"TableName":"SlowDnsCounters","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
mapfile -t options < <(harness_pg_options LD_PRELOAD="$HARNESS_RUN_DIR/slow_dns.so" SLOW_DNS_SECONDS=$STALL_SECONDS)
export WORK RESULTS
log "slow DNS: a cluster whose lookups of .slow-dns.test stall ${STALL_SECONDS}s"
pg_virtualenv "${options[@]}" bash "${BASH_SOURCE[0]}" inner || fail "slow DNS: the cluster's checks did not run"
