#!/usr/bin/env bash
# A hot counter against one item's write limit: throttling that says why.
# The fake front gives each item a token bucket (item_limit writes per
# second) and answers beyond it as DynamoDB does for a hot key:
# ProvisionedThroughputExceededException with the ThrottlingReason
# TableWriteKeyRangeThroughputExceeded.  Other reasons come from its
# throttle fault.  Each reason's DETAIL and HINT, and its count in the
# dynamo_atomic_stats view, are checked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

case_begin HotCounters

start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
via_fake=(-c "SET dynamo_atomic.endpoint = '$fake'" -c "SET client_min_messages = warning")
hot="dynamo_increment('hot', table_name => 'HotCounters')"
increment="SELECT $hot"
reason_count() {
	sql -c "SELECT coalesce((throttle_reasons->>'$1')::bigint, 0) FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'"
}
# error_of SQL...: the first error's SQLSTATE, message, DETAIL and HINT, one per line
error_of() {
	psql -X -qAt -v VERBOSITY=verbose "${via_fake[@]}" "$@" 2>&1 | grep -E '^(ERROR|DETAIL|HINT):' || true
}

sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null

# one item, 5 writes a second, and no retries: the 7th increment in a burst is refused
control "item_limit=5"
r=$(error_of -c "SET dynamo_atomic.max_retries = 0" -c "SELECT count($hot) FROM generate_series(1, 7)")
expect_true "a hot item beyond its write limit: 53400 once the retries are spent" grep -q "^ERROR:  53400: DynamoDB throttled the UpdateItem request" <<<"$r"
expect_true "...DETAIL gives DynamoDB's throttling reason and the table" \
	grep -q "^DETAIL:  ProvisionedThroughputExceededException: .* Throttling reason: TableWriteKeyRangeThroughputExceeded (arn:aws:dynamodb:us-east-1:000000000000:table/HotCounters)." <<<"$r"
expect_true "...HINT: a hot key, with what spreads it" grep -q "^HINT:  One key is hot: a single item takes about 1,000 writes" <<<"$r"
expect_eq "...the reason is counted in dynamo_atomic_stats (throttle_reasons)" 1 "$(reason_count TableWriteKeyRangeThroughputExceeded)"
expect_true "...and the fake refused it without forwarding (its bucket)" \
	grep -q '"limited":1' <<<"$(curl -s "$fake/_items")"
expect_true "another item is not throttled by this one's limit" \
	test "$(sql "${via_fake[@]}" -c "SELECT dynamo_increment('cold', table_name => 'HotCounters')")" -ge 1

# retried as before: with retries, a burst through the limit completes (each throttle backs off)
control "item_limit=20"
r=$(sql "${via_fake[@]}" -c "SELECT count($hot) FROM generate_series(1, 40)")
expect_eq "with retries, 40 increments of one item through a 20/s limit all complete" 40 "$r"
expect_true "...having been throttled on the way, each throttle counted by its reason" \
	test "$(reason_count TableWriteKeyRangeThroughputExceeded)" -ge 2
control "item_limit=0"

# each limit type: DETAIL and HINT
check_reason() {
	local reason=$1 hint=$2 r
	control "fault=throttle&reasons=$reason"
	r=$(error_of -c "SET dynamo_atomic.max_retries = 0" -c "$increment")
	expect_true "$reason: DETAIL names it" grep -q "^DETAIL:  .*Throttling reason: $reason (arn:aws:dynamodb:" <<<"$r"
	expect_true "...HINT: $hint" grep -q "^HINT:  $hint" <<<"$r"
	expect_eq "...counted" 1 "$(reason_count "$reason")"
}
check_reason TableWriteProvisionedThroughputExceeded "The table's (or index's) provisioned capacity is used up"
check_reason TableWriteAccountLimitExceeded "The account's per-table throughput quota"
check_reason TableWriteMaxOnDemandThroughputExceeded "The table's on-demand maximum throughput is reached"
control "fault=throttle"
r=$(error_of -c "SET dynamo_atomic.max_retries = 0" -c "$increment")
expect_true "a throttle without a reason (ThrottlingException, as DynamoDB Local and older answers): a HINT that says so" \
	grep -q "^HINT:  DynamoDB gave no reason" <<<"$r"
expect_eq "...counted as unstated" 1 "$(reason_count unstated)"
control "fault=throttle&reasons=TableWriteSomethingNew"
error_of -c "SET dynamo_atomic.max_retries = 0" -c "$increment" >/dev/null
expect_eq "a reason not known here: counted as other" 1 "$(reason_count other)"
control ""
sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null
expect_eq "dynamo_atomic_stats_reset() clears the reasons" "{}" \
	"$(sql -c "SELECT coalesce(max(throttle_reasons::text), '{}') FROM dynamo_atomic_stats WHERE operation = 'UpdateItem'")"

