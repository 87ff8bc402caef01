#!/usr/bin/env bash
# The ends of bigint: every answer of dynamo_increment (bounded or not),
# dynamo_set_counter and dynamo_nextval (fixed and adaptive blocks) near
# -2^63 and 2^63-1 is either the right value or 22003 (2200H for a bound):
# never a value that wrapped around, never a value no ADD reserved.  A
# property-style check drives them with random values near both ends (the
# seed is printed; DYNAMO_ATOMIC_SEED replays it); two clusters drain one
# counter's last IDs together.  test/sanitized_regress.sh runs this case
# against the UBSan build too, where a signed overflow aborts the backend.
#
#   bash int_bounds.sh            one server, then B beside it
#   bash int_bounds.sh cluster-b  inside B: drains the shared counter
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseIntBounds
MAX=9223372036854775807
MIN=-9223372036854775808

# drain FILE COUNTER CACHE: takes IDs until 22003 (at most 400), one per line, then the SQLSTATE
drain() {
	psql -X -qAt -v VERBOSITY=verbose -c "
		DO \$\$ DECLARE v bigint; BEGIN
		  FOR i IN 1..400 LOOP
		    v := dynamo_nextval('$2', $3, '$T');
		    RAISE NOTICE 'id %', v;
		  END LOOP;
		EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state %', SQLSTATE; END \$\$" 2>&1 |
		sed -n 's/^NOTICE:  00000: //p' >"$1"
}

if [[ ${1:-} == cluster-b ]]; then
	psql -X -q -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	touch "$WORK/b_ready"
	harness_wait_for 30 test -e "$WORK/go" || exit 1
	drain "$WORK/b.ids" top-shared 7
	exit 0
fi

case_begin "$T"
seed=${DYNAMO_ATOMIC_SEED:-$RANDOM}
echo "seed $seed (DYNAMO_ATOMIC_SEED=$seed replays it)"

# --- 1. dynamo_nextval: a block that ends at bigint's maximum, then 22003
sql -c "SELECT dynamo_set_counter('top', $MAX - 10, '$T')" >/dev/null
drain "$work/top" top 5
expect_eq "dynamo_nextval hands out the last ten values up to 2^63-1, in order" \
	"$(for i in 9 8 7 6 5 4 3 2 1 0; do echo "id $((MAX - i))"; done)" "$(grep '^id' "$work/top")"
expect_eq "...then 22003, not -2^63" "state 22003" "$(grep '^state' "$work/top")"
again=$(sql_error "SELECT dynamo_nextval('top', 5, '$T')")
expect_eq "...and 22003 again on the next call (nothing wrapped meanwhile)" "22003" "$(field 1 "$again")"
[[ $(field 1 "$again") == 22003 ]] || echo "$again"
expect_eq "ids_unused is not negative after the top block" "t" \
	"$(sql -c "SELECT bool_and(ids_unused >= 0) FROM dynamo_atomic_stats()")"

# --- 2. a counter another program left below -2^63: its block is cut at -2^63
ddb_raw PutItem "{\"TableName\":\"$T\",\"Item\":{\"id\":{\"S\":\"under\"},\"lastValue\":{\"N\":\"-9223372036854775810\"}}}" >/dev/null
expect_eq "a block that reaches below -2^63 hands out only bigints, from -2^63 on" \
	"$MIN $((MIN + 1)) $((MIN + 2)) $((MIN + 3))" \
	"$(sql -c "SELECT string_agg(dynamo_nextval('under', 6, '$T')::text, ' ' ORDER BY g) FROM generate_series(1, 4) g")"

# --- 3. dynamo_set_counter and dynamo_get_last_value at both ends
expect_eq "dynamo_set_counter and dynamo_get_last_value keep -2^63 and 2^63-1" "$MIN $MAX" \
	"$(sql -c "SELECT dynamo_set_counter('ends', $MIN, '$T')" -c "SELECT dynamo_get_last_value('ends', '$T')" |
		tail -1) $(sql -c "SELECT dynamo_set_counter('ends', $MAX, '$T')" -c "SELECT dynamo_get_last_value('ends', '$T')" | tail -1)"
expect_eq "a counter that holds a number past bigint is 22003 when read" "22003" \
	"$(ddb_raw PutItem "{\"TableName\":\"$T\",\"Item\":{\"id\":{\"S\":\"past\"},\"lastValue\":{\"N\":\"9223372036854775808\"}}}" >/dev/null
		field 1 "$(sql_error "SELECT dynamo_get_last_value('past', '$T')")")"

# --- 4. property: random values and increments near both ends
property=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<SQL
SET client_min_messages = notice;
SELECT setseed(($seed % 1000) / 1000.0);
CREATE FUNCTION pg_temp.expect(v bigint, inc bigint, lo bigint, hi bigint) RETURNS text LANGUAGE sql AS \$\$
  SELECT CASE WHEN lo > hi THEN '22023'
              WHEN hi IS NOT NULL AND v::numeric + inc > hi THEN '2200H'
              WHEN lo IS NOT NULL AND v::numeric + inc < lo THEN '2200H'
              WHEN v::numeric + inc NOT BETWEEN -9223372036854775808 AND 9223372036854775807 THEN '22003'
              ELSE (v::numeric + inc)::text END \$\$;
DO \$\$
DECLARE
  v bigint; inc bigint; lo bigint; hi bigint; want text; got text; after bigint;
  n_ok int := 0; n_refused int := 0; n_bad int := 0; r float8;
BEGIN
  FOR i IN 1..300 LOOP
    v := CASE WHEN random() < 0.5 THEN 9223372036854775807 - (random() * 3000)::bigint
              ELSE -9223372036854775808 + (random() * 3000)::bigint END;
    r := random();
    inc := CASE WHEN r < 0.6 THEN ((random() - 0.5) * 6000)::bigint
                WHEN r < 0.8 THEN 9223372036854775807 - (random() * 3000)::bigint
                ELSE -9223372036854775807 + (random() * 3000)::bigint END;
    lo := CASE WHEN random() < 0.3 THEN GREATEST(v::numeric - (random() * 1500)::int, -9223372036854775808)::bigint END;
    hi := CASE WHEN random() < 0.3 THEN GREATEST(LEAST(v::numeric + (random() * 3000)::int - 1500,
                                                       9223372036854775807), -9223372036854775808)::bigint END;
    PERFORM dynamo_set_counter('prop-' || i, v, '$T');
    want := pg_temp.expect(v, inc, lo, hi);
    BEGIN
      got := dynamo_increment('prop-' || i, inc, '$T', min_value => lo, max_value => hi)::text;
    EXCEPTION WHEN numeric_value_out_of_range OR sequence_generator_limit_exceeded OR invalid_parameter_value THEN
      got := SQLSTATE;
    END;
    IF got IS DISTINCT FROM want THEN
      n_bad := n_bad + 1;
      RAISE NOTICE 'bad: % + % in [%, %]: got %, expected %', v, inc, lo, hi, got, want;
    ELSIF got IN ('22003', '2200H', '22023') THEN
      n_refused := n_refused + 1;
      after := dynamo_get_last_value('prop-' || i, '$T');
      IF after <> v THEN
        n_bad := n_bad + 1;
        RAISE NOTICE 'bad: refused % + %, but the counter moved to %', v, inc, after;
      END IF;
    ELSE
      n_ok := n_ok + 1;
    END IF;
  END LOOP;
  RAISE NOTICE 'increments: % right, % refused, % wrong', n_ok, n_refused, n_bad;
END \$\$;
SQL
) || true
grep -q '^NOTICE:  increments' <<<"$property" || head -20 <<<"$property"
grep '^NOTICE:  bad' <<<"$property" | head -5 || true
expect_true "property: 300 random increments near ±2^63 (bounded or not) are each right or 22003/2200H ($(sed -n 's/^NOTICE:  increments: //p' <<<"$property"))" \
	grep -qE '^NOTICE:  increments: [0-9]+ right, [0-9]+ refused, 0 wrong' <<<"$property"
expect_true "...and both outcomes occurred" grep -qE 'increments: [1-9][0-9]* right, [1-9][0-9]* refused' <<<"$property"

# dynamo_nextval with random caches near both ends, fixed and adaptive blocks:
# distinct values above the counter's value, none past 2^63-1, then 22003
# with fewer values left unreserved than a block (blocks land in any order:
# the worker's block fetched ahead may be reserved before a backend's own)
nextval_property() { # LABEL TAIL: the most values a drained counter may leave unreserved
	local out
	out=$(psql -X -qAt -v ON_ERROR_STOP=1 2>&1 <<SQL
SET client_min_messages = notice;
SELECT setseed(($seed % 997) / 997.0);
CREATE TEMP TABLE got (counter text, v bigint);
DO \$\$
DECLARE
  v bigint; cache int; got bigint; n_bad int := 0; n_refused int := 0; n_values int := 0;
  c text; n int; lo bigint; hi bigint; d int;
BEGIN
  FOR i IN 1..8 LOOP
    c := '$1-' || i;
    v := CASE WHEN i % 2 = 0 THEN 9223372036854775807 - (random() * 200)::bigint
              ELSE -9223372036854775808 + (random() * 200)::bigint END;
    cache := 1 + (random() * 20)::int;
    PERFORM dynamo_set_counter(c, v, '$T');
    FOR k IN 1..250 LOOP
      BEGIN
        got := dynamo_nextval(c, cache, '$T');
      EXCEPTION WHEN numeric_value_out_of_range THEN
        IF v < 0 THEN n_bad := n_bad + 1; RAISE NOTICE 'bad: % refused near -2^63', c; END IF;
        n_refused := n_refused + 1;
        SELECT count(*) INTO n FROM got WHERE counter = c;
        IF (9223372036854775807 - v) - n > GREATEST($2, cache - 1) THEN
          n_bad := n_bad + 1;
          RAISE NOTICE 'bad: % refused after % values of the % above %, with blocks of %', c, n, 9223372036854775807 - v, v, cache;
        END IF;
        EXIT;
      END;
      INSERT INTO got VALUES (c, got);
      n_values := n_values + 1;
    END LOOP;
    SELECT min(g.v), max(g.v), count(*) - count(DISTINCT g.v) INTO lo, hi, d FROM got g WHERE counter = c;
    IF lo <= v OR d > 0 THEN
      n_bad := n_bad + 1;
      RAISE NOTICE 'bad: % from %: values % to %, % repeated', c, v, lo, hi, d;
    END IF;
  END LOOP;
  RAISE NOTICE 'nextval: % values, % counters ended in 22003, % wrong', n_values, n_refused, n_bad;
END \$\$;
SELECT 'unused ' || bool_and(ids_unused >= 0) FROM dynamo_atomic_stats();
SQL
) || true
	grep -q '^NOTICE:  nextval' <<<"$out" || head -20 <<<"$out"
	grep '^NOTICE:  bad' <<<"$out" | head -5 || true
	expect_true "property: dynamo_nextval ($1 blocks) near ±2^63: distinct values, none past 2^63-1, then 22003 ($(sed -n 's/^NOTICE:  nextval: //p' <<<"$out"))" \
		grep -qE '^NOTICE:  nextval: [1-9][0-9]* values, 4 counters ended in 22003, 0 wrong' <<<"$out"
	expect_true "...and ids_unused stays non-negative" grep -qx 'unused true' <<<"$out"
}
nextval_property fixed 0
# adaptive blocks (id_cache_max is a server setting): a block may have grown to 64
sql -c "ALTER SYSTEM SET dynamo_atomic.id_cache_max = 64" -c "SELECT pg_reload_conf()" >/dev/null
harness_wait_for 10 test "$(sql -c "SHOW dynamo_atomic.id_cache_max")" = 64
nextval_property adaptive 63
sql -c "ALTER SYSTEM RESET dynamo_atomic.id_cache_max" -c "SELECT pg_reload_conf()" >/dev/null

# --- 5. fencing tokens at the top: 22003, and the lock is given back
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" >/dev/null
ddb_raw PutItem "{\"TableName\":\"${T}Locks\",\"Item\":{\"lock_name\":{\"S\":\"top-token\"},\"fencing_token\":{\"N\":\"$MAX\"},\"lease_until\":{\"N\":\"0\"}}}" >/dev/null
expect_eq "an acquire whose fencing token would pass 2^63-1 is 22003" "22003" \
	"$(field 1 "$(sql_error "SELECT dynamo_get_lock('top-token', 5000, 0, '${T}Locks')")")"
expect_eq "...and the lock it took in DynamoDB was given back (no owner in the item)" "0" \
	"$(ddb_raw GetItem "{\"TableName\":\"${T}Locks\",\"Key\":{\"lock_name\":{\"S\":\"top-token\"}},\"ConsistentRead\":true}" | grep -c '"owner"')"

# --- 6. two clusters drain one counter's last IDs together
sql -c "SELECT dynamo_set_counter('top-shared', $MAX - 300, '$T')" >/dev/null
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
export WORK=$work
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" cluster-b >"$work/b.out" 2>&1 &
b_cluster=$!
harness_wait_for 60 test -e "$work/b_ready" || fail "two clusters: B did not start"
touch "$work/go"
drain "$work/a.ids" top-shared 7
wait "$b_cluster" || true
all=$(cat "$work/a.ids" "$work/b.ids" 2>/dev/null | sed -n 's/^id //p' | sort)
expect_eq "two servers draining the last 300 values with blocks of 7: 294 distinct values, from 2^63-300 to 2^63-7" \
	"294 294 $((MAX - 299)) $((MAX - 6))" \
	"$(wc -l <<<"$all") $(uniq <<<"$all" | wc -l) $(head -1 <<<"$all") $(tail -1 <<<"$all")"
expect_eq "...and both servers end with 22003" "state 22003 state 22003" \
	"$(grep '^state' "$work/a.ids") $(grep '^state' "$work/b.ids" 2>/dev/null)"
