#!/usr/bin/env bash
# IDs at scale: 8 clients on each of two clusters take 2,000 IDs each from
# one counter with cache 50, into tables with a UNIQUE constraint: no value
# twice across both clusters, every value at most the stored counter, and
# stored counter - IDs issued = the values reserved but unused, as the
# stats view reports them.  dynamo_increment on the same counter never
# returns a value dynamo_nextval hands out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseIds
CLIENTS=8
PER_CLIENT=2000
CACHE=50


if [[ ${1:-} == cluster-b ]]; then
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" \
		-c "CREATE TABLE got (v bigint UNIQUE, how text)"
	echo "INSERT INTO got SELECT dynamo_nextval('fleet', $CACHE, '$T'), 'nextval';" >"$WORK/ids.sql"
	pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/ids.sql" >"$WORK/b.out" 2>&1 &
	b=$!
	on_a pgbench -n -c $CLIENTS -j 2 -t $PER_CLIENT -f "$WORK/ids.sql" >"$WORK/a.out" 2>&1 || cat "$WORK/a.out"
	wait $b || cat "$WORK/b.out"
	grep -h "^tps" "$WORK/a.out" "$WORK/b.out" | sed 's/^/    /' || true
	psql -X -qAt -c "SELECT ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'" >"$WORK/b_unused"
	psql -X -q -c "COPY got TO STDOUT" | on_a psql -X -q -c "COPY got_b FROM STDIN"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_counter_table('$T', if_not_exists => true)" >/dev/null
sql -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS got, got_b" \
	-c "CREATE TABLE got (v bigint UNIQUE, how text)" -c "CREATE TABLE got_b (v bigint UNIQUE, how text)"
# other counters' blocks (earlier tests) are in the server's ids_unused too: a
# baseline, taken before the reset (which hides the row until the next call)
unused_before=$(sql -c "SELECT coalesce((SELECT ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'), 0)")
sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null

export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work CLIENTS PER_CLIENT CACHE T
mapfile -t pg_options < <(harness_pg_options)
log "ids: two clusters, $CLIENTS clients each, $PER_CLIENT IDs per client, cache $CACHE"
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/two.out" 2>&1 ||
	{ cat "$work/two.out"; fail "ids: the two-cluster run did not finish"; }
grep '^    ' "$work/two.out" || true

each=$((CLIENTS * PER_CLIENT))
expect_eq "each cluster stored $each IDs (its UNIQUE constraint held)" "$each|$each" \
	"$(sql -c "SELECT (SELECT count(*) FROM got), (SELECT count(*) FROM got_b)")"
expect_eq "no ID was handed out by both clusters" 0 \
	"$(sql -c "SELECT count(*) FROM got a JOIN got_b b USING (v)")"
stored=$(sql -c "SELECT dynamo_get_last_value('fleet', '$T')")
expect_eq "every ID is at most the stored counter" 0 \
	"$(sql -c "SELECT count(*) FROM (SELECT v FROM got UNION ALL SELECT v FROM got_b) s WHERE v > $stored OR v < 1")"
a_unused=$(($(sql -c "SELECT ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'") - unused_before))
b_unused=$(cat "$work/b_unused")
expect_eq "stored counter - IDs issued = the unused remainder the stats report (A + B)" \
	"$((stored - 2 * each))" "$((a_unused + b_unused))"
expect_true "...at most a block and a spare per cluster" test "$a_unused" -le $((2 * CACHE)) -a "$b_unused" -le $((2 * CACHE))
requests=$(sql -c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'nextval'")
expect_eq "every block cluster A fetched (by backends or ahead by the worker) is issued or unused" \
	"$((each + a_unused))" "$((requests * CACHE))"

# --- the worker fetches the next block ahead: a backend in steady use never waits
psql -X -qAt -c "SELECT count(dynamo_nextval('ahead', 1000, '$T')) FROM generate_series(1, 600)" \
	-c "SELECT http_requests FROM dynamo_atomic_backend_stats()" \
	-c "\\! until [ -e $work/spare-ready ]; do sleep 0.05; done" \
	-c "SELECT count(dynamo_nextval('ahead', 1000, '$T')) FROM generate_series(1, 1000)" \
	-c "SELECT http_requests FROM dynamo_atomic_backend_stats()" \
	-c "SELECT dynamo_nextval('ahead', 1000, '$T')" >"$work/ahead.out" 2>&1 &
session=$!
spare_ready() { [[ $(sql -c "SELECT dynamo_get_last_value('ahead', '$T')") == 2000 ]]; }
expect_true "after 600 of a block of 1000, the worker reserves the next block (stored counter 2000)" \
	harness_wait_for 10 spare_ready
touch "$work/spare-ready"
wait $session || true
mapfile -t ahead <"$work/ahead.out"
expect_eq "the backend then takes 1000 more IDs without a request of its own, from the spare" \
	"600|1000|${ahead[1]}|1601" "${ahead[0]}|${ahead[2]}|${ahead[3]:-}|${ahead[4]:-}"

# --- increments and blocks on one counter from several clients
sql -c "TRUNCATE got"
printf "INSERT INTO got SELECT dynamo_nextval('mixed', 20, '$T'), 'nextval';\n" >"$work/n.sql"
printf "INSERT INTO got SELECT dynamo_increment('mixed', 1, '$T'), 'increment';\n" >"$work/i.sql"
pgbench -n -c 4 -j 2 -t 300 -f "$work/n.sql" -f "$work/i.sql" >"$work/mixed.out" 2>&1 || cat "$work/mixed.out"
expect_eq "dynamo_increment and dynamo_nextval on one counter never return the same value" "1200|1200" \
	"$(sql -c "SELECT count(*), count(DISTINCT v) FROM got")"

# --- adaptive blocks (dynamo_atomic.id_cache_max): a fast-draining counter's
#     blocks grow, so 200,000 IDs in one statement cost far fewer requests
#     than 200 blocks of 1000; every value once; the unused remainder stays
#     within a block and its spare of the largest size
sql -c "ALTER SYSTEM SET dynamo_atomic.id_cache_max = 64000" -c "SELECT pg_reload_conf()" >/dev/null
grown() { [[ $(sql -c "SHOW dynamo_atomic.id_cache_max") == 64000 ]]; }
harness_wait_for 10 grown || fail "ids: id_cache_max was not reloaded"
# other counters' unused values are in ids_unused too: a baseline, before the reset
unused_before=$(sql -c "SELECT coalesce((SELECT ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'), 0)")
sql -c "SELECT dynamo_atomic_stats_reset()" >/dev/null
r=$(sql -c "SELECT count(*), count(DISTINCT v), min(v), max(v) FROM (SELECT dynamo_nextval('adaptive', 1000, '$T') v FROM generate_series(1, 200000)) s")
requests=$(sql -c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'nextval'")
stored=$(sql -c "SELECT dynamo_get_last_value('adaptive', '$T')")
unused=$(($(sql -c "SELECT ids_unused FROM dynamo_atomic_stats WHERE operation = 'nextval'") - unused_before))
expect_eq "200,000 IDs in one statement with cache 1000 and id_cache_max 64000: all distinct, 1..200000 or more" \
	"200000|200000|1|1" "$(cut -d'|' -f1-3 <<<"$r")|$(($(cut -d'|' -f4 <<<"$r") <= stored))"
expect_true "...in far fewer requests than 200 blocks of 1000 ($requests)" test "$requests" -le 40
expect_eq "...and stored counter - IDs issued = the unused remainder the stats report" "$((stored - 200000))" "$unused"
expect_true "...at most a block and a spare of 64000 ($unused)" test "$unused" -le 128000
# ...and shrink: a counter of this server's own fetches (no prefetch) doubles
# its block each time one is used up within a second (1000, 2000, 4000, 8000:
# 15,000 IDs), and halves it when one lasted over ten seconds
r=$(sql -c "SET dynamo_atomic.id_prefetch = off" \
	-c "SELECT count(dynamo_nextval('shrinks', 1000, '$T')) FROM generate_series(1, 15000)" \
	-c "SELECT dynamo_get_last_value('shrinks', '$T')" \
	-c "SELECT pg_sleep(10.5)" \
	-c "SELECT dynamo_nextval('shrinks', 1000, '$T')" -c "SELECT dynamo_get_last_value('shrinks', '$T')" | tr '\n' '|')
expect_eq "blocks used up within a second double: 15,000 IDs reserved 1000 + 2000 + 4000 + 8000" 15000 "$(cut -d'|' -f2 <<<"$r")"
expect_eq "...and after a block that lasted over 10 s, the next is half the last (4000), not twice (16000)" \
	"15001|19000" "$(cut -d'|' -f4,5 <<<"$r")"
sql -c "ALTER SYSTEM RESET dynamo_atomic.id_cache_max" -c "SELECT pg_reload_conf()" >/dev/null
