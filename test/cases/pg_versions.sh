#!/usr/bin/env bash
# What depends on the PostgreSQL major (test/majors.sh runs this case on 17
# and 18 too):
#   - the library refuses to run against another version of the extension's
#     SQL (55000 naming both, and the remedy either way);
#   - from 17, a backend waiting on DynamoDB, on a lock and on an ID block
#     shows its own wait event name in pg_stat_activity ("Extension" before);
#   - from 18, pg_get_loaded_modules() names the module and its version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CasePgVersions
case_begin "$T"
major=$(sql -c "SELECT current_setting('server_version_num')::int / 10000")
library=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" dynamo_atomic.control)
echo "PostgreSQL $major, library $library"

# --- the library and the extension's SQL out of step
older=$(sql -c "SELECT version FROM pg_available_extension_versions WHERE name = 'dynamo_atomic' AND version <> '$library' ORDER BY string_to_array(version, '.')::int[] DESC LIMIT 1")
sql -c "DROP DATABASE IF EXISTS pgv_old" -c "CREATE DATABASE pgv_old" >/dev/null
PGDATABASE=pgv_old sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic VERSION '$older'" >/dev/null
out=$(PGDATABASE=pgv_old psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('x', 1, '$T')" 2>&1 || true)
expect_true "SQL $older under library $library: 55000 naming both" \
	grep -q "ERROR:  55000: the dynamo_atomic library is version $library, but this database has version $older of the extension" <<<"$out"
expect_true "...and the remedy: ALTER EXTENSION ... UPDATE" grep -q "HINT:  Update the extension in this database: ALTER EXTENSION dynamo_atomic UPDATE" <<<"$out"
r=$(PGDATABASE=pgv_old sql_error "SELECT dynamo_nextval('x', 1, '$T')")
expect_eq "...dynamo_nextval too" 55000 "$(field 1 "$r")"
r=$(PGDATABASE=pgv_old sql_error "SELECT dynamo_get_lock('x', 5000, 0, '$T')")
expect_eq "...a lock too" 55000 "$(field 1 "$r")"
# every C function of the old SQL, whatever its arguments (NULLs here): the
# versions are compared before any argument is read
not_refused=$(PGDATABASE=pgv_old sql -c "SET client_min_messages = warning" -c "
	DO \$\$
	DECLARE f record; call text; missed text[] := '{}';
	BEGIN
		FOR f IN SELECT p.oid, p.proretset, p.proargtypes FROM pg_proc p
			JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
			JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dynamo_atomic'
			WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND p.prorettype <> 'trigger'::regtype
		LOOP
			call := format('SELECT %s(%s)', f.oid::regproc,
				coalesce((SELECT string_agg('NULL::' || format_type(t, NULL), ', ') FROM unnest(f.proargtypes::oid[]) t), ''));
			BEGIN
				EXECUTE call;
				missed := missed || (f.oid::regprocedure)::text;
			EXCEPTION WHEN object_not_in_prerequisite_state THEN NULL;
				WHEN others THEN missed := missed || ((f.oid::regprocedure)::text || ' ' || SQLSTATE);
			END;
		END LOOP;
		RAISE NOTICE 'not refused: %', array_to_string(missed, '; ');
	END \$\$" 2>&1 | sed -n 's/.*not refused: //p')
expect_eq "...every C function of SQL $older raises 55000 before reading its arguments" "" "$not_refused"
out=$(PGDATABASE=pgv_old psql -X -qAt -v VERBOSITY=verbose -c "BEGIN" -c "SAVEPOINT s" -c "SET client_min_messages = warning" \
	-c "ALTER EXTENSION dynamo_atomic UPDATE" -c "SELECT dynamo_increment('pgv-sub', 1, '$T') > 0" -c "ROLLBACK TO s" \
	-c "SELECT dynamo_increment('pgv-sub', 1, '$T')" -c "ROLLBACK" 2>&1 || true)
expect_true "an UPDATE rolled back to a savepoint: the next statement is compared again (55000)" \
	bash -c 'grep -q "^t$" <<<"$1" && grep -q "ERROR:  55000" <<<"$1"' _ "$out"
PGDATABASE=pgv_old sql -c "SET client_min_messages = warning" -c "ALTER EXTENSION dynamo_atomic UPDATE" >/dev/null
expect_eq "after ALTER EXTENSION UPDATE the same call works" 1 \
	"$(PGDATABASE=pgv_old sql -c "SELECT dynamo_increment('pgv-x', 1, '$T')")"
# a library older than the SQL (a downgrade, or a server not restarted after an upgrade)
PGDATABASE=pgv_old sql -c "UPDATE pg_extension SET extversion = '99.0' WHERE extname = 'dynamo_atomic'" >/dev/null
out=$(PGDATABASE=pgv_old psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('pgv-x', 1, '$T')" 2>&1 || true)
expect_true "SQL 99.0 under library $library: 55000, install that library and restart" \
	grep -q "HINT:  The server runs an older library than the extension's SQL: install dynamo_atomic 99.0 and restart the server." <<<"$out"
sql -c "DROP DATABASE pgv_old" >/dev/null

# --- wait events: a request the front holds for 3 s, read from another session
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
curl -s "$fake/_control?fault=delay&ms=3000&target=UpdateItem&match=pgv-waiting" >/dev/null
psql -X -qAt -c "SET application_name = 'pgv-waiter'" -c "SET dynamo_atomic.endpoint = '$fake'" \
	-c "SELECT dynamo_increment('pgv-waiting', 1, '$T')" >/dev/null 2>&1 &
harness_track_pid $!
waiting() { [[ $(sql -c "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE application_name = 'pgv-waiter' AND wait_event_type = 'Extension'") == Extension/* ]]; }
harness_wait_for 5 waiting || true
seen=$(sql -c "SELECT wait_event_type || '/' || wait_event FROM pg_stat_activity WHERE application_name = 'pgv-waiter'")
if ((major >= 17)); then
	expect_eq "PostgreSQL $major: a backend waiting on DynamoDB shows wait event DynamoDBRequest" "Extension/DynamoDBRequest" "$seen"
else
	expect_eq "PostgreSQL $major: a backend waiting on DynamoDB shows wait event Extension (no named events before 17)" "Extension/Extension" "$seen"
fi
# a lock held by another session: the waiter's event
psql -X -qAt -c "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" >/dev/null 2>&1 || true
psql -X -qAt -c "SELECT dynamo_get_lock('pgv-lock', 10000, 0, '${T}Locks')" -c "SELECT pg_sleep(4)" >/dev/null 2>&1 &
harness_track_pid $!
held() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'pgv-lock'") == 1 ]]; }
harness_wait_for 10 held
psql -X -qAt -c "SET application_name = 'pgv-lock-waiter'" -c "SELECT dynamo_get_lock('pgv-lock', 10000, 3000, '${T}Locks')" >/dev/null 2>&1 &
harness_track_pid $!
# the event is kept from the sample that saw it: a second sample could fall between two tries
lock_seen="$work/lock_wait_event"
lock_waiting() {
	sql -c "SELECT wait_event FROM pg_stat_activity WHERE application_name = 'pgv-lock-waiter' AND wait_event_type = 'Extension'" >"$lock_seen"
	[[ -s $lock_seen ]]
}
harness_wait_for 5 lock_waiting || true
seen=$(cat "$lock_seen")
if ((major >= 17)); then
	expect_true "PostgreSQL $major: a backend waiting for a lock held elsewhere shows DynamoAtomicLock (or DynamoDBRequest between tries): $seen" \
		grep -qE '^(DynamoAtomicLock|DynamoDBRequest)$' <<<"$seen"
else
	expect_eq "PostgreSQL $major: a backend waiting for a lock shows Extension" "Extension" "$seen"
fi
wait_events=$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'dynamo_atomic lock worker' AND wait_event_type = 'Extension'")
expect_true "the lock workers wait as extension waits ($wait_events)" test "$wait_events" -ge 1

# --- 18: the module's name and version
if ((major >= 18)); then
	expect_eq "PostgreSQL $major: pg_get_loaded_modules() names dynamo_atomic $library" "dynamo_atomic|$library" \
		"$(sql -c "SELECT count(*) FROM dynamo_atomic_stats()" \
			-c "SELECT module_name || '|' || version FROM pg_get_loaded_modules() WHERE module_name = 'dynamo_atomic'" | tail -1)"
fi
