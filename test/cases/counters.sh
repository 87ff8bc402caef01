#!/usr/bin/env bash
# Counters as an application meets them, in a shell case so that they run
# against every DynamoDB implementation the test command uses (also
# dynalite: test/dynalite.sh): the first increment creates the counter,
# increments of any size and sign, reads, set, bounds (2200H, nothing
# changed), bigint's edge (22003), a non-number (42804), and 4 concurrent
# clients x 250 increments giving 1,000 distinct values.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseCounters
case_begin "$T"
c=c-$RANDOM$RANDOM
r=$(sql -c "SELECT dynamo_increment('$c', 1, '$T')" -c "SELECT dynamo_increment('$c', 10, '$T')" \
	-c "SELECT dynamo_increment('$c', -3, '$T')" -c "SELECT dynamo_get_last_value('$c', '$T')" \
	-c "SELECT dynamo_increment('$c', 0, '$T')" -c "SELECT dynamo_set_counter('$c', 100, '$T')" \
	-c "SELECT dynamo_get_last_value('$c', '$T')" -c "SELECT dynamo_get_last_value('never-$c', '$T')")
expect_eq "increment creates, adds any size and sign; read, set, a missing counter reads 0" \
	"1 11 8 8 8 100 100 0" "$(echo $r)"
r=$(sql_error "SELECT dynamo_increment('$c', -200, '$T', min_value => 0)")
expect_eq "a bound that would be crossed: 2200H" 2200H "$(field 1 "$r")"
expect_eq "...and nothing changed" 100 "$(sql -c "SELECT dynamo_get_last_value('$c', '$T')")"
sql -c "SELECT dynamo_set_counter('$c-max', 9223372036854775806, '$T')" >/dev/null
r=$(sql_error "SELECT dynamo_increment('$c-max', 2, '$T')")
expect_eq "past bigint: 22003" 22003 "$(field 1 "$r")"
expect_eq "...and nothing changed" 9223372036854775806 "$(sql -c "SELECT dynamo_get_last_value('$c-max', '$T')")"
ddb_raw PutItem "{\"TableName\":\"$T\",\"Item\":{\"id\":{\"S\":\"$c-text\"},\"lastValue\":{\"S\":\"ten\"}}}" >/dev/null
r=$(sql_error "SELECT dynamo_increment('$c-text', 1, '$T')")
expect_eq "a counter attribute holding a string: 42804" 42804 "$(field 1 "$r")"

sql -c "DROP TABLE IF EXISTS counter_race" -c "CREATE TABLE counter_race (v bigint UNIQUE)" >/dev/null
echo "INSERT INTO counter_race SELECT dynamo_increment('$c-race', 1, '$T');" >"$work/inc.sql"
pgbench -n -c 4 -j 2 -t 250 -f "$work/inc.sql" >"$work/pgbench.out" 2>&1 || cat "$work/pgbench.out"
expect_eq "4 clients x 250 increments: 1,000 distinct values 1..1000, and the counter is 1,000" "1000|1|1000|1000" \
	"$(sql -c "SELECT count(*), min(v), max(v), dynamo_get_last_value('$c-race', '$T') FROM counter_race")"
sql -c "DROP TABLE counter_race" >/dev/null
