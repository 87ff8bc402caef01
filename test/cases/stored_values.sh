#!/usr/bin/env bash
# Counters whose stored value is not a bigint (written by another program)
# give a clear error and are left exactly as they were.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

table=StoredValueCounters
ddb_raw CreateTable "{\"TableName\":\"$table\",\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}" >/dev/null
put() { ddb_raw PutItem "{\"TableName\":\"$table\",\"Item\":$1}" >/dev/null; }
stored() { ddb_raw GetItem "{\"TableName\":\"$table\",\"Key\":{\"id\":{\"S\":\"$1\"}},\"ConsistentRead\":true}"; }
code() { sql_error "$1" | cut -d'|' -f1; }
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"

put '{"id":{"S":"text"},"lastValue":{"S":"abc"}}'
put '{"id":{"S":"set"},"lastValue":{"SS":["a","b"]}}'
put '{"id":{"S":"fraction"},"lastValue":{"N":"1.5"}}'
put '{"id":{"S":"huge"},"lastValue":{"N":"100000000000000000000"}}'
put '{"id":{"S":"bare"},"note":{"S":"keep me"}}'

expect_eq "increment of a string value gives 42804" 42804 "$(code "SELECT dynamo_increment('text', table_name => '$table')")"
expect_true "...and says what type it holds" grep -q 'is of DynamoDB type S' <<<"$(psql -X -c "SELECT dynamo_increment('text', table_name => '$table')" 2>&1)"
expect_true "...and leaves it unchanged" grep -q '"lastValue":{"S":"abc"}' <<<"$(stored text)"
expect_eq "reading a string set gives 42804" 42804 "$(code "SELECT dynamo_get_last_value('set', '$table')")"
expect_eq "reading a fraction gives 22003" 22003 "$(code "SELECT dynamo_get_last_value('fraction', '$table')")"
expect_eq "increment of a number beyond bigint gives 22003" 22003 "$(code "SELECT dynamo_increment('huge', table_name => '$table')")"
expect_true "...and leaves it unchanged" grep -q '"lastValue":{"N":"100000000000000000000"}' <<<"$(stored huge)"
expect_eq "setting it back to a bigint makes it a counter again" 8 \
	"$(sql -c "SELECT dynamo_set_counter('huge', 7, '$table')" -c "SELECT dynamo_increment('huge', table_name => '$table')" | tail -1)"
expect_eq "an item without the count attribute starts at 0" 1 "$(sql -c "SELECT dynamo_increment('bare', table_name => '$table')")"
expect_true "...and keeps its other attributes" grep -q '"note":{"S":"keep me"}' <<<"$(stored bare)"
