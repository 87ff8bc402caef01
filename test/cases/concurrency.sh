#!/usr/bin/env bash
# Concurrent increments never hand out the same value: 8 clients x 500 on one
# counter in one cluster, then two clusters at once against one DynamoDB.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

CLIENTS=8
PER_CLIENT=500
case_begin ConcurrencyCounters
sql -c "DROP TABLE IF EXISTS got_a; CREATE TABLE got_a (v bigint)"

# Each transaction stores the value it was handed.
printf "INSERT INTO got_a SELECT dynamo_increment('one-cluster', table_name => 'ConcurrencyCounters');\n" >"$work/one.sql"
pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$work/one.sql" >"$work/one.out" 2>&1 ||
	{ cat "$work/one.out"; fail "one cluster: pgbench ran"; }
grep -E '^tps' "$work/one.out" | head -1 || true
total=$((CLIENTS * PER_CLIENT))
expect_eq "one cluster: $CLIENTS x $PER_CLIENT increments give exactly 1..$total" \
	"$total|$total|1|$total" "$(sql -c 'SELECT count(*), count(DISTINCT v), min(v), max(v) FROM got_a')"
expect_eq "one cluster: the counter ends at $total" \
	"$total" "$(sql -c "SELECT dynamo_get_last_value('one-cluster', 'ConcurrencyCounters')")"

# Two clusters: this one (A) and a second (B), both running pgbench at once.
sql -c "DROP TABLE IF EXISTS got_a; CREATE TABLE got_a (v bigint); DROP TABLE IF EXISTS got_b; CREATE TABLE got_b (v bigint)"
printf "INSERT INTO got_a SELECT dynamo_increment('two-clusters', table_name => 'ConcurrencyCounters');\n" >"$work/a.sql"
printf "INSERT INTO got_b SELECT dynamo_increment('two-clusters', table_name => 'ConcurrencyCounters');\n" >"$work/b.sql"

export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work CLIENTS PER_CLIENT
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash -c '
	set -euo pipefail
	psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "CREATE TABLE got_b (v bigint)"
	# B runs in the background, A in the foreground: both at the same time.
	pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/b.sql" >"$WORK/b.out" 2>&1 &
	b=$!
	PGHOST=$A_PGHOST PGPORT=$A_PGPORT PGUSER=$A_PGUSER PGPASSWORD=$A_PGPASSWORD PGDATABASE=$A_PGDATABASE \
		pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/a.sql" >"$WORK/a.out" 2>&1
	wait $b
	# Copy what B was handed into A, for one comparison.
	psql -X -q -c "COPY got_b TO STDOUT" |
		PGHOST=$A_PGHOST PGPORT=$A_PGPORT PGUSER=$A_PGUSER PGPASSWORD=$A_PGPASSWORD PGDATABASE=$A_PGDATABASE \
		psql -X -q -c "COPY got_b FROM STDIN"
' >"$work/two.out" 2>&1 || { cat "$work/two.out" "$work"/a.out "$work"/b.out 2>/dev/null; fail "two clusters: both pgbench runs finished"; }

total=$((2 * CLIENTS * PER_CLIENT))
expect_eq "two clusters: each got $((CLIENTS * PER_CLIENT)) values" \
	"$((CLIENTS * PER_CLIENT))|$((CLIENTS * PER_CLIENT))" \
	"$(sql -c 'SELECT (SELECT count(*) FROM got_a), (SELECT count(*) FROM got_b)')"
expect_eq "two clusters: together exactly 1..$total, no value twice" \
	"$total|$total|1|$total" \
	"$(sql -c 'SELECT count(*), count(DISTINCT v), min(v), max(v) FROM (SELECT v FROM got_a UNION ALL SELECT v FROM got_b) s')"
