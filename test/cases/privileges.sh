#!/usr/bin/env bash
# Privileges in a preloaded cluster: a role given the feature families with
# dynamo_atomic_grant, as the README shows, uses every function family (counters, locks of both scopes, release
# and refresh, items, dynamo_set_atomic, dynamo_nextval, the ID trigger, the
# views), logged in as itself; a role granted nothing can use none of them;
# and a role whose own settings (ALTER ROLE ... SET) name other credentials
# than the lock workers' cannot take a lock or have IDs fetched ahead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CasePrivileges
L=CasePrivilegesLocks
I=CasePrivilegesItems
case_begin "$T"
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_lock_table('$L', if_not_exists => true)" \
	-c "SELECT dynamo_create_item_table('$I', if_not_exists => true)" >/dev/null

password=app-$RANDOM$RANDOM
sql -c "CREATE ROLE app_user LOGIN PASSWORD '$password'" \
	-c "CREATE ROLE nobody_user LOGIN PASSWORD '$password'" \
	-c "CREATE ROLE other_keys LOGIN PASSWORD '$password'" \
	-c "CREATE ROLE monitor_user LOGIN PASSWORD '$password'" \
	-c "GRANT CREATE ON SCHEMA public TO app_user, nobody_user, other_keys" >/dev/null
# A namesake beside the extension's functions is not the extension's: not granted.
sql -c "CREATE FUNCTION public.dynamo_put(text) RETURNS text LANGUAGE sql SECURITY DEFINER AS 'SELECT current_user::text'" \
	-c "REVOKE ALL ON FUNCTION public.dynamo_put(text) FROM PUBLIC" >/dev/null
# The README's recipe, every family an application may be given.
granted=$(sql -c "SELECT count(*) FROM dynamo_atomic_grant('app_user', 'counters', 'locks', 'items', 'ids')")
expect_eq "dynamo_atomic_grant gives the 41 functions of counters, locks, items and IDs" 41 "$granted"
expect_eq "...and not a namesake of one of them beside it" f \
	"$(sql -c "SELECT has_function_privilege('app_user', 'public.dynamo_put(text)', 'EXECUTE')")"
sql -c "DROP FUNCTION public.dynamo_put(text)" >/dev/null
# One function at a time, as a site may prefer.
sql \
	-c "GRANT EXECUTE ON FUNCTION
		dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval),
		dynamo_get_last_value(text, text, text, text),
		dynamo_set_counter(text, bigint, text, text, text),
		dynamo_get_lock(text, integer, integer, text, jsonb),
		dynamo_try_get_lock(text, integer, text, jsonb),
		dynamo_get_xact_lock(text, integer, integer, text, jsonb),
		dynamo_try_get_xact_lock(text, integer, text, jsonb),
		dynamo_release_lock(dynamo_lock),
		dynamo_refresh_lock(dynamo_lock, integer),
		dynamo_held_locks(),
		dynamo_put(jsonb, text), dynamo_get(text, text, text), dynamo_delete(text, text, text),
		dynamo_put_many(jsonb, text), dynamo_get_many(jsonb, text),
		dynamo_query(text, text, text, boolean, integer),
		dynamo_read_lock(text, text),
		dynamo_set_atomic(jsonb, dynamo_lock, text),
		dynamo_set_atomic(jsonb, dynamo_lock[], text),
		dynamo_nextval(text, integer, text, text, text),
		dynamo_id_trigger()
		TO other_keys" \
	-c "GRANT SELECT ON dynamo_held_locks TO other_keys" \
	-c "GRANT SELECT ON dynamo_held_locks TO monitor_user" \
	-c "ALTER ROLE other_keys SET dynamo_atomic.access_key_id = 'AKIDSOMEONEELSE'" >/dev/null

as_role() {
	local role=$1
	shift
	PGUSER=$role PGPASSWORD=$password psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$@" 2>&1 || true
}

expect_eq "the role is no superuser and cannot read the settings' reset values" "f|f" \
	"$(sql -c "SELECT rolsuper, pg_has_role('app_user', 'pg_read_all_settings', 'MEMBER') FROM pg_roles WHERE rolname = 'app_user'")"

r=$(as_role app_user -c "SELECT dynamo_set_counter('priv-c', 10, '$T')" \
	-c "SELECT dynamo_increment('priv-c', 1, '$T')" -c "SELECT dynamo_get_last_value('priv-c', '$T')")
expect_eq "counters: set, increment, read" "10 11 11" "$(echo $r)"

r=$(as_role app_user -c "SET client_min_messages = warning" \
	-c "CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('priv-session', 30000, 0, '$L')" \
	-c "SELECT dynamo_try_get_lock('priv-try', 30000, '$L') IS NOT NULL" \
	-c "SELECT (dynamo_refresh_lock(ROW(l.*)::dynamo_lock, 40000)).expires_at > now() + interval '35 seconds' FROM l" \
	-c "SELECT count(*) FROM dynamo_held_locks WHERE pid = pg_backend_pid()" \
	-c "SELECT dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l" \
	-c "BEGIN" -c "SELECT dynamo_get_xact_lock('priv-xact', 30000, 0, '$L') IS NOT NULL" \
	-c "SELECT dynamo_try_get_xact_lock('priv-xact-try', 30000, '$L') IS NOT NULL" \
	-c "SELECT count(*) FROM dynamo_held_locks WHERE pid = pg_backend_pid() AND scope = 'transaction'" -c "COMMIT" \
	-c "SELECT count(*) FROM dynamo_held_locks WHERE pid = pg_backend_pid()")
expect_eq "locks of both scopes: take, try, refresh, list, release; COMMIT releases" "t t 2 t t t 2 1" "$(echo $r)"

r=$(as_role app_user -c "SELECT dynamo_put('{\"pk\": \"p\", \"sk\": \"1\", \"n\": 1}', '$I')" \
	-c "SELECT dynamo_get('p', '1', '$I') ->> 'n'" \
	-c "SELECT dynamo_put_many('[{\"pk\": \"p\", \"sk\": \"2\"}, {\"pk\": \"p\", \"sk\": \"3\"}]', '$I')" \
	-c "SELECT count(*) FROM dynamo_get_many('[{\"pk\": \"p\", \"sk\": \"2\"}, {\"pk\": \"p\", \"sk\": \"3\"}]', '$I')" \
	-c "SELECT count(*) FROM dynamo_query('p', table_name => '$I')" \
	-c "SELECT dynamo_delete('p', '3', '$I')")
expect_eq "items: put, get, put_many, get_many, query, delete" "1 2 2 3 t" "$(echo $r)"

r=$(as_role app_user -c "CREATE TEMP TABLE rl AS SELECT * FROM dynamo_read_lock('priv-doc', '$L')" \
	-c "SELECT (dynamo_set_atomic('{\"pk\": \"doc\", \"sk\": \"1\", \"v\": 1}', ROW(rl.*)::dynamo_lock, '$I')).version <> rl.version FROM rl" \
	-c "CREATE TEMP TABLE rl2 AS SELECT * FROM dynamo_read_lock('priv-doc2', '$L')" \
	-c "SELECT cardinality(dynamo_set_atomic('[{\"pk\": \"doc\", \"sk\": \"2\"}]', ARRAY[(SELECT ROW(rl2.*)::dynamo_lock FROM rl2)], '$I'))")
expect_eq "optimistic writes: read_lock, set_atomic of one and of many" "t 1" "$(echo $r)"

r=$(as_role app_user -c "SELECT dynamo_nextval('priv-ids', 10, '$T') > 0" \
	-c "CREATE TABLE priv_rows (id bigint, what text)" \
	-c "CREATE TRIGGER priv_rows_id BEFORE INSERT ON priv_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'priv-ids', '10')" \
	-c "SET dynamo_atomic.counter_table = '$T'" \
	-c "INSERT INTO priv_rows (what) VALUES ('a'), ('b')" -c "SELECT count(DISTINCT id) FROM priv_rows WHERE id > 0" \
	-c "SELECT count(*) >= 1 FROM dynamo_atomic_stats WHERE operation = 'nextval'")
expect_eq "IDs: dynamo_nextval, the trigger, the stats view" "t 2 t" "$(echo $r)"
sql -c "DROP TABLE IF EXISTS priv_rows" >/dev/null
sql -c "SELECT dynamo_create_item_table('${T}Items', if_not_exists => true)" >/dev/null
r=$(as_role app_user -c "SELECT applied FROM dynamo_put_item('${T}Items', '{\"pk\": \"p\", \"sk\": \"s\"}')" \
	-c "SELECT applied FROM dynamo_transact_write('[{\"delete\": {\"table_name\": \"${T}Items\", \"key\": {\"pk\": \"p\", \"sk\": \"s\"}}}]')")
expect_eq "items: the general API (dynamo_put_item, dynamo_transact_write)" "t t" "$(echo $r)"

# --- a role granted nothing: every function refused, the trigger too
r=$(as_role nobody_user -c "SELECT dynamo_increment('priv-c', 1, '$T')")
expect_true "a role granted nothing cannot increment (42501)" grep -q 'ERROR:  42501: permission denied for function dynamo_increment' <<<"$r"
r=$(as_role nobody_user -c "SELECT dynamo_update_item('${T}Items', '{\"pk\": \"p\", \"sk\": \"s\"}', 'SET a = :a', expression_values => '{\":a\": 1}')")
expect_true "...nor update an item through the general API (42501)" grep -q 'ERROR:  42501: permission denied for function dynamo_update_item' <<<"$r"
r=$(as_role nobody_user -c "CREATE TABLE nobody_rows (id bigint)" \
	-c "CREATE TRIGGER nobody_id BEFORE INSERT ON nobody_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'priv-ids')")
expect_true "...nor make the server sign requests through dynamo_id_trigger (42501)" \
	grep -q 'ERROR:  42501: permission denied for function dynamo_id_trigger' <<<"$r"
sql -c "DROP TABLE IF EXISTS nobody_rows" >/dev/null
r=$(as_role nobody_user -c "SELECT count(*) FROM dynamo_held_locks")
expect_true "...nor read the held locks' view (42501)" grep -q 'ERROR:  42501: permission denied for view dynamo_held_locks' <<<"$r"
r=$(as_role nobody_user -c "SELECT count(*) FROM dynamo_held_locks()")
expect_true "...nor its function directly (42501, naming the view to grant)" \
	grep -q 'ERROR:  42501: permission denied for view dynamo_held_locks' <<<"$r"
r=$(as_role nobody_user -c "SELECT dynamo_atomic_grant('nobody_user', 'counters')")
expect_true "...nor grant itself a family (42501)" grep -q 'ERROR:  42501: permission denied for function dynamo_atomic_grant' <<<"$r"

# --- a role given SELECT on the view alone reads it, as a view's reader expects
r=$(as_role monitor_user -c "SELECT count(*) >= 0 FROM dynamo_held_locks" -c "SELECT dynamo_increment('priv-c', 1, '$T')")
expect_true "GRANT SELECT ON dynamo_held_locks is enough to read the view" grep -qx 't' <<<"$(head -1 <<<"$r")"
expect_true "...and gives nothing else (42501 on increment)" grep -q 'ERROR:  42501: permission denied for function dynamo_increment' <<<"$r"

# --- the families: unknown and empty names refused, revoke takes back
r=$(sql_error "SELECT dynamo_atomic_grant('monitor_user', 'counters', 'countres')")
expect_eq "an unknown feature family is refused (22023), naming it" '22023|unknown feature family "countres"' "$(field 1 "$r")|$(field 3 "$r")"
expect_eq "...and grants nothing of the families before it (one statement)" f \
	"$(sql -c "SELECT has_function_privilege('monitor_user', 'dynamo_get_last_value(text, text, text, text)', 'EXECUTE')")"
r=$(sql_error "SELECT dynamo_atomic_grant('monitor_user', VARIADIC '{}'::text[])")
expect_eq "an empty list of families is refused (22023)" 22023 "$(field 1 "$r")"
r=$(sql_error "SELECT dynamo_atomic_grant('no_such_role', 'counters')")
expect_eq "an unknown role is refused (42704)" 42704 "$(field 1 "$r")"
revoked=$(sql -c "SELECT count(*) FROM dynamo_atomic_revoke('app_user', 'counters')")
r=$(as_role app_user -c "SELECT dynamo_increment('priv-c', 1, '$T')" -c "SELECT count(*) >= 0 FROM dynamo_held_locks")
expect_true "dynamo_atomic_revoke takes back the counters ($revoked functions, 42501 after)" \
	grep -q 'ERROR:  42501: permission denied for function dynamo_increment' <<<"$r"
r=$(sql -c "SELECT count(*) FROM dynamo_atomic_revoke('app_user', 'locks')")
expect_eq "...and locks with their view" f "$(sql -c "SELECT has_table_privilege('app_user', 'dynamo_held_locks', 'SELECT')")"

# --- other credentials through a role setting: the workers would heartbeat as someone else
r=$(as_role other_keys -c "SELECT dynamo_get_lock('priv-other', 30000, 0, '$L')")
expect_true "a role whose ALTER ROLE settings name other credentials cannot take a lock (55000)" \
	grep -q "ERROR:  55000: cannot take a lock with credentials settings other than the lock workers'" <<<"$r"
expect_eq "...and took nothing" t "$(sql -c "SELECT dynamo_try_get_lock('priv-other', 1000, '$L') IS NOT NULL")"
r=$(as_role other_keys -c "SELECT dynamo_nextval('priv-other-ids', 10, '$T')")
expect_eq "...it still gets IDs itself" 1 "$r"
requests_before=$(sql -c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'nextval'")
r=$(as_role other_keys -c "SELECT count(dynamo_nextval('priv-other-ids', 10, '$T')) FROM generate_series(1, 8)")
sleep 0.5 # an absence cannot be polled for: a prefetch takes a few ms here
expect_eq "...nor have the workers fetch IDs ahead for it (its own fetches only)" 0 \
	"$(($(sql -c "SELECT requests FROM dynamo_atomic_stats WHERE operation = 'nextval'") - requests_before))"
sql -c "SET client_min_messages = warning" -c "DROP OWNED BY app_user, nobody_user, other_keys, monitor_user" \
	-c "DROP ROLE app_user" -c "DROP ROLE nobody_user" -c "DROP ROLE other_keys" -c "DROP ROLE monitor_user" >/dev/null
