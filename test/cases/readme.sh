#!/usr/bin/env bash
# Every ```sql example of the README, in order, as a reader would paste
# them, in a database and counter table of their own; the values the README
# shows in "-- N" comments are checked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sql -c "DROP DATABASE IF EXISTS readme_examples" -c "CREATE DATABASE readme_examples" 2>/dev/null
export PGDATABASE=readme_examples PGOPTIONS="-c dynamo_atomic.counter_table=ReadmeCounters -c dynamo_atomic.lock_table=ReadmeLocks -c dynamo_atomic.item_table=ReadmeItems"

# AWS's tutorial tables of "Existing tables", made afresh as the AWS CLI would
# (the extension creates only tables of its own kinds)
tutorial_table() {
	local status
	ddb_raw DeleteTable "{\"TableName\":\"$1\"}" >/dev/null
	for _ in $(seq 1 200); do
		status=$(ddb_raw DescribeTable "{\"TableName\":\"$1\"}")
		grep -q '"TableName"' <<<"$status" || break
		sleep 0.05
	done
	ddb_raw CreateTable "{\"TableName\":\"$1\",\"KeySchema\":$2,\"AttributeDefinitions\":$3,\"BillingMode\":\"PAY_PER_REQUEST\"}" >/dev/null
	for _ in $(seq 1 200); do
		grep -q '"TableStatus":"ACTIVE"' <<<"$(ddb_raw DescribeTable "{\"TableName\":\"$1\"}")" && return
		sleep 0.05
	done
	fail "readme: the tutorial table $1 did not become ACTIVE"
}
tutorial_table ProductCatalog '[{"AttributeName":"Id","KeyType":"HASH"}]' '[{"AttributeName":"Id","AttributeType":"N"}]'
tutorial_table donation-data '[{"AttributeName":"context","KeyType":"HASH"},{"AttributeName":"id","KeyType":"RANGE"}]' \
	'[{"AttributeName":"context","AttributeType":"S"},{"AttributeName":"id","AttributeType":"S"}]'

node test/helpers/readme_sql.js README.md "$work" >"$work/index"
[[ -s $work/index ]] || fail "readme: no SQL example found"
while read -r name line _; do
	if out=$(psql -X -q -v ON_ERROR_STOP=1 -f "$work/$name.sql" 2>&1); then
		pass "README example at line $line runs as written"
	else
		fail "README example at line $line runs as written" "$(grep -m1 ERROR <<<"$out")"
	fi
done <"$work/index"
