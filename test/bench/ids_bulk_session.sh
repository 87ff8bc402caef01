#!/usr/bin/env bash
# ids_bulk_session.sh - the measurements of ids_bulk.sh, inside its cluster.
set -euo pipefail
: "${ROWS:?} ${REPS:?}"
T=BenchCounters
big=$((ROWS * REPS + 1000))		# a block no run uses up

psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE EXTENSION dynamo_atomic;
SELECT dynamo_create_counter_table('$T');
ALTER DATABASE "$PGDATABASE" SET dynamo_atomic.counter_table = '$T';
CREATE SEQUENCE native CACHE 1000;
CREATE TABLE native_default (id bigint DEFAULT nextval('native'), x int);
CREATE TABLE reserved_default (id bigint DEFAULT dynamo_nextval('reserved-default', $big), x int);
CREATE TABLE reserved_trigger (id bigint, x int);
CREATE TRIGGER id BEFORE INSERT ON reserved_trigger
    FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'reserved-trigger', '$big');
CREATE TABLE cache1000_default (id bigint DEFAULT dynamo_nextval('cache1000-default', 1000), x int);
CREATE TABLE cache1000_trigger (id bigint, x int);
CREATE TRIGGER id BEFORE INSERT ON cache1000_trigger
    FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'cache1000-trigger', '1000');
CREATE TABLE adaptive_default (id bigint DEFAULT dynamo_nextval('adaptive-default', 1000), x int);
CREATE TABLE adaptive_trigger (id bigint, x int);
CREATE TRIGGER id BEFORE INSERT ON adaptive_trigger
    FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'adaptive-trigger', '1000');
SQL
tables=(native_default reserved_default reserved_trigger cache1000_default cache1000_trigger adaptive_default adaptive_trigger)

# dynamo_atomic.id_cache_max for the next statements: 1,000,000 for the
# adaptive_ tables (blocks grow with demand from cache 1000), 0 for the others
cache_max_for() {
	local want=0
	[[ $1 == adaptive_* ]] && want=1000000
	[[ $(psql -X -qAt -c "SHOW dynamo_atomic.id_cache_max") == "$want" ]] && return
	psql -X -qAt -c "ALTER SYSTEM SET dynamo_atomic.id_cache_max = $want" -c "SELECT pg_reload_conf()" >/dev/null
	until [[ $(psql -X -qAt -c "SHOW dynamo_atomic.id_cache_max") == "$want" ]]; do sleep 0.05; done
}
# the first block of each counter, and the server's first connection, before any clock
for t in "${tables[@]}"; do psql -X -qAt -c "INSERT INTO $t (x) VALUES (0)"; done

# ms of one INSERT of ROWS rows into $1, timed inside the server
insert_ms() {
	psql -X -qAt -c "TRUNCATE $1" -c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" \
		-c "INSERT INTO $1 (x) SELECT g FROM generate_series(1, $ROWS) g" \
		-c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" |
		awk -F'|' '$1 == "T" {t[++k] = $2} END {printf "%.3f\n", t[2] - t[1]}'
}
declare -A runs
for rep in $(seq "$REPS"); do
	for t in "${tables[@]}"; do
		cache_max_for "$t"
		runs[$t]+="$(insert_ms "$t") "
	done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
native=$(median "${runs[native_default]}")
{
printf "%-46s %12s %10s %8s\n" "INSERT ... SELECT of $ROWS rows, median of $REPS" "rows/s" "us/row" "/native"
for t in "${tables[@]}"; do
	ms=$(median "${runs[$t]}")
	awk -v t="$t" -v n="$ROWS" -v ms="$ms" -v nat="$native" \
		'BEGIN {printf "%-46s %12.0f %10.2f %8.2f\n", t, n * 1000 / ms, ms * 1000 / n, nat / ms}'
done
} | tee "$RESULTS_DIR/ids_bulk.txt"
psql -X -qAt -c "SELECT 'blocks fetched: ' || requests || ', values reserved and unused: ' || ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'"
