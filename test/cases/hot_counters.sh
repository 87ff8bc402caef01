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

# one item, 2 writes a second (a bucket of 2), and no retries: a burst of 10 is refused
# (the 3rd comes within 500 ms unless the machine stalls; the 10th within 4 s)
control "item_limit=2"
r=$(error_of -c "SET dynamo_atomic.max_retries = 0" -c "SELECT count($hot) FROM generate_series(1, 10)")
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


# ---- sharded tallies ------------------------------------------------------
raw_item() { ddb_raw GetItem "{\"TableName\":\"HotCounters\",\"Key\":{\"id\":{\"S\":\"$1\"}},\"ConsistentRead\":true}"; }
raw_number() { raw_item "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const i=JSON.parse(s).Item;console.log(i&&i[process.argv[1]]?i[process.argv[1]].N:"none")})' "$2"; }
shard_items() {
	ddb_raw Scan '{"TableName":"HotCounters","ConsistentRead":true}' |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Items.filter(i=>new RegExp("^"+process.argv[1]+"#[0-9]+$").test(i.id.S)).length))' "$1"
}

r=$(sql -c "SELECT count(dynamo_tally_add('views', shards => 16, table_name => 'HotCounters')) FROM generate_series(1, 100)" \
	-c "SELECT dynamo_tally_read('views', table_name => 'HotCounters')")
expect_eq "a tally: 100 adds, and the read sums them" "100|100" "$(paste -sd'|' <<<"$r")"
n=$(shard_items views)
expect_true "...spread over several of its 16 shard items, never more ($n)" bash -c '[[ $1 -ge 4 && $1 -le 16 ]]' _ "$n"
expect_eq "...its header records 16 shards" 16 "$(raw_number 'views#shards' shards)"
r=$(sql -c "SELECT count(dynamo_tally_add('views', 2, shards => 64, table_name => 'HotCounters')) FROM generate_series(1, 50)" \
	-c "SELECT dynamo_tally_read('views', shards => 4, table_name => 'HotCounters')" \
	-c "SELECT count(dynamo_tally_add('views', shards => 4, table_name => 'HotCounters')) FROM generate_series(1, 10)" \
	-c "SELECT dynamo_tally_read('views', shards => 4, table_name => 'HotCounters')")
expect_eq "raising shards to 64, then reading with 4: every shard is still read (100 + 50 x 2, then + 10)" \
	"50|200|10|210" "$(paste -sd'|' <<<"$r")"
expect_eq "...the header keeps the largest count used (64), lowering it does not" 64 "$(raw_number 'views#shards' shards)"
expect_eq "a tally never added to reads 0" 0 "$(sql -c "SELECT dynamo_tally_read('nothing-yet', table_name => 'HotCounters')")"
expect_eq "shards outside 1..1000: 22023" "22023|22023" \
	"$(field 1 "$(sql_error "SELECT dynamo_tally_add('x', shards => 0, table_name => 'HotCounters')")")|$(field 1 "$(sql_error "SELECT dynamo_tally_read('x', shards => 1001, table_name => 'HotCounters')")")"

# one hot item against a tally of 16 shards, through the same per-item limit (20 writes/s, no retries)
control "item_limit=20"
r=$(error_of -c "SET dynamo_atomic.max_retries = 0" -c "SELECT count($hot) FROM generate_series(1, 100)")
expect_true "100 increments of one item through a limit of 20 writes/s, without retries: refused (53400)" \
	grep -q "^ERROR:  53400" <<<"$r"
r=$(sql "${via_fake[@]}" -c "SET dynamo_atomic.max_retries = 0" \
	-c "SELECT count(dynamo_tally_add('hot-tally', table_name => 'HotCounters')) FROM generate_series(1, 100)" \
	-c "SELECT dynamo_tally_read('hot-tally', table_name => 'HotCounters')")
expect_eq "...100 adds of a 16-shard tally through the same limit: all taken, and summed" "100|100" "$(paste -sd'|' <<<"$r" | sed 's/^|//')"
control "item_limit=0"

# lost answers: an add is an unbounded ADD (40003, or resent with retry_unknown_writes)
sql -c "SELECT dynamo_tally_add('lost', shards => 1, table_name => 'HotCounters')" >/dev/null
control "fault=drop-answer&target=UpdateItem&match=lost%230&count=1"
r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SELECT dynamo_tally_add('lost', 5, shards => 1, table_name => 'HotCounters')")
expect_eq "a tally add whose answer is lost: 40003 (it may or may not have been applied)" 40003 "$(field 1 "$r")"
expect_eq "...it was applied once here (1 + 5)" 6 "$(sql -c "SELECT dynamo_tally_read('lost', shards => 1, table_name => 'HotCounters')")"
control "fault=drop-answer&target=UpdateItem&match=lost%230&count=1"
r=$(sql "${via_fake[@]}" -c "SET dynamo_atomic.retry_unknown_writes = on" \
	-c "SELECT dynamo_tally_add('lost', 5, shards => 1, table_name => 'HotCounters')" \
	-c "SELECT dynamo_tally_read('lost', shards => 1, table_name => 'HotCounters')")
expect_eq "...with retry_unknown_writes = on it is resent and succeeds: counted twice (6 + 5 + 5), as documented" 16 "$(tail -1 <<<"$r")"
control ""

# ---- a time to live, set by the creating write ------------------------------
now=$(date +%s)
sql -c "SELECT dynamo_increment('window-1', table_name => 'HotCounters', ttl => '1 hour')" >/dev/null
ttl1=$(raw_number window-1 ttl)
expect_true "dynamo_increment(ttl => '1 hour'): the creating write sets ttl to now + 3600 s ($ttl1)" \
	bash -c '[[ $1 -ge $(($2 + 3600)) && $1 -le $(($2 + 3605)) ]]' _ "$ttl1" "$now"
sql -c "SELECT dynamo_increment('window-1', table_name => 'HotCounters', ttl => '2 hours')" >/dev/null
expect_eq "...a later write leaves it (the window does not slide)" "$ttl1|2" "$(raw_number window-1 ttl)|$(raw_number window-1 lastValue)"
sql -c "SELECT dynamo_increment('no-window', table_name => 'HotCounters')" >/dev/null
expect_eq "...without ttl, no ttl attribute" none "$(raw_number no-window ttl)"
expect_eq "ttl of 0 or below, or past 100 years: 22023" "22023|22023|22023" \
	"$(field 1 "$(sql_error "SELECT dynamo_increment('w', table_name => 'HotCounters', ttl => '0')")")|$(field 1 "$(sql_error "SELECT dynamo_increment('w', table_name => 'HotCounters', ttl => '-1 hour')")")|$(field 1 "$(sql_error "SELECT dynamo_increment('w', table_name => 'HotCounters', ttl => '101 years')")")"
r=$(sql_error "SELECT dynamo_increment('no-window', table_name => 'HotCounters', ttl => '1 hour')")
expect_eq "a ttl for a counter that exists without one: 22023, and it is neither incremented nor given a ttl" \
	"22023|1|none" "$(field 1 "$r")|$(raw_number no-window lastValue)|$(raw_number no-window ttl)"
r=$(field 1 "$(sql_error "SELECT dynamo_increment('w', table_name => 'HotCounters', ttl => 'infinity'::interval)")")
expect_true "an infinite ttl: 22023 (on 17 and later; 15 has no infinite interval: 22007) ($r)" \
	bash -c '[[ $1 == 22023 || ($1 == 22007 && $2 -lt 170000) ]]' _ "$r" "$(sql -c "SHOW server_version_num")"
expect_eq "a counter with a ttl whose count is kept in attribute ttl: 22023" 22023 \
	"$(field 1 "$(sql_error "SELECT dynamo_increment('w', table_name => 'HotCounters', count_attribute => 'ttl', ttl => '1 hour')")")"
sql -c "SELECT dynamo_tally_add('daily', shards => 1, table_name => 'HotCounters', ttl => '1 day')" >/dev/null
expect_true "a tally's shard gets the ttl (a day), its header twice that (it outlives shards made within the day)" \
	bash -c '[[ $1 -ge $(($3 + 86400)) && $1 -le $(($3 + 86405)) && $2 -ge $(($3 + 2 * 86400)) && $2 -le $(($3 + 2 * 86400 + 10)) ]]' _ \
	"$(raw_number 'daily#0' ttl)" "$(raw_number 'daily#shards' ttl)" "$now"
hdr=$(raw_number 'daily#shards' ttl)
sql -c "SELECT dynamo_tally_add('daily', shards => 2, table_name => 'HotCounters', ttl => '1 hour')" >/dev/null
expect_eq "...a raise with a shorter ttl does not move the header's back" "$hdr|2" \
	"$(raw_number 'daily#shards' ttl)|$(raw_number 'daily#shards' shards)"
r=$(sql_error "SELECT dynamo_tally_add('views', shards => 1, table_name => 'HotCounters', ttl => '1 day')")
expect_eq "a ttl for a tally whose shard was made without one: 22023, nothing added" "22023|210" \
	"$(field 1 "$r")|$(sql -c "SELECT dynamo_tally_read('views', table_name => 'HotCounters')")"
expect_eq "a tally keyed or counted in attribute shards or ttl: 22023" "22023|22023" \
	"$(field 1 "$(sql_error "SELECT dynamo_tally_add('x', table_name => 'HotCounters', count_attribute => 'shards')")")|$(field 1 "$(sql_error "SELECT dynamo_tally_add('x', table_name => 'HotCounters', key_attribute => 'ttl')")")"
# the header deleted (expired, say): the next session's add writes it again
ddb_raw DeleteItem '{"TableName":"HotCounters","Key":{"id":{"S":"views#shards"}}}' >/dev/null
sql -c "SELECT dynamo_tally_add('views', shards => 64, table_name => 'HotCounters')" >/dev/null
expect_eq "a header deleted is written again by the next add" 64 "$(raw_number 'views#shards' shards)"
# a sum past bigint
ddb_raw PutItem '{"TableName":"HotCounters","Item":{"id":{"S":"huge#0"},"lastValue":{"N":"9223372036854775807"}}}' >/dev/null
ddb_raw PutItem '{"TableName":"HotCounters","Item":{"id":{"S":"huge#1"},"lastValue":{"N":"1"}}}' >/dev/null
expect_eq "a tally whose sum leaves bigint: 22003" 22003 \
	"$(field 1 "$(sql_error "SELECT dynamo_tally_read('huge', shards => 2, table_name => 'HotCounters')")")"
ddb_raw PutItem '{"TableName":"HotCounters","Item":{"id":{"S":"text#0"},"lastValue":{"S":"many"}}}' >/dev/null
expect_eq "a shard whose count is not a number: 42804" 42804 \
	"$(field 1 "$(sql_error "SELECT dynamo_tally_read('text', shards => 1, table_name => 'HotCounters')")")"
r=$(sql -c "SELECT dynamo_increment('rate:user-42', max_value => 3, table_name => 'HotCounters', ttl => '1 minute') FROM generate_series(1, 3)" | paste -sd'|')
expect_eq "a fixed-window rate limit: three calls counted" "1|2|3" "$r"
expect_eq "...the fourth refused (2200H), not counted" "2200H|3" \
	"$(field 1 "$(sql_error "SELECT dynamo_increment('rate:user-42', max_value => 3, table_name => 'HotCounters', ttl => '1 minute')")")|$(raw_number rate:user-42 lastValue)"
