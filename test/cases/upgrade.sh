#!/usr/bin/env bash
# Versions and upgrades: from every older version the control file's
# directory offers, CREATE EXTENSION ... VERSION old; ALTER EXTENSION UPDATE
# gives the same objects, definitions, privileges and comments as a fresh
# install of the default version; every object of the extension has a
# comment (\df+, \dv+, \dT+ and \dx explain them); and the update keeps the
# grants a site gave on 1.0 objects.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

work=$(mktemp -d)
trap 'rm -rf "$work"; for d in $(psql -X -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE '"'"'upgrade_case_%'"'"'"); do dropdb --if-exists "$d"; done' EXIT

# Every member of the extension, one line each: what it is, its definition,
# its ACL (items sorted: their order means nothing) and its comment; then the extension's own version and comment.
listing_sql="
SELECT pg_describe_object(d.classid, d.objid, 0) || ' | ' ||
       coalesce(CASE d.classid
           WHEN 'pg_proc'::regclass THEN
               (SELECT pg_get_functiondef(p.oid) || ' acl=' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(p.proacl) a), 'default')
                FROM pg_proc p WHERE p.oid = d.objid)
           WHEN 'pg_class'::regclass THEN
               (SELECT c.relkind::text || ' ' || coalesce(pg_get_viewdef(c.oid), '') || ' acl=' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(c.relacl) a), 'default')
                    || ' columns=' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                       FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
                FROM pg_class c WHERE c.oid = d.objid)
           WHEN 'pg_type'::regclass THEN
               (SELECT t.typtype::text || ' acl=' || coalesce((SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(t.typacl) a), 'default')
                FROM pg_type t WHERE t.oid = d.objid)
       END, '?') || ' | comment=' ||
       coalesce(obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)::text), 'NONE')
FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'dynamo_atomic'
UNION ALL
SELECT 'extension | version=' || extversion || ' | comment=' || coalesce(obj_description(oid, 'pg_extension'), 'NONE')
FROM pg_extension WHERE extname = 'dynamo_atomic'
ORDER BY 1"

default=$(sql -c "SELECT default_version FROM pg_available_extensions WHERE name = 'dynamo_atomic'")
mapfile -t older < <(sql -c "SELECT version FROM pg_available_extension_versions
	WHERE name = 'dynamo_atomic' AND version <> '$default' ORDER BY version")
expect_true "there is an older version to upgrade from (default $default)" test "${#older[@]}" -ge 1

createdb upgrade_case_fresh
PGDATABASE=upgrade_case_fresh sql -c "CREATE EXTENSION dynamo_atomic"
PGDATABASE=upgrade_case_fresh sql -c "$listing_sql" >"$work/fresh.txt"
members=$(PGDATABASE=upgrade_case_fresh sql -c "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
	WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND e.extname = 'dynamo_atomic'")
expect_true "the listing holds every object (functions, types, views: $members)" test "$members" -ge 35

# Array types, and from PostgreSQL 17 the row types of views, are listed as members
# too; neither can be commented apart from its element type or its view.
views=$(sed -n 's/^view \([a-z_]*\) .*/\1/p' "$work/fresh.txt" | tr '\n' '|' | sed 's/|$//')
uncommented=$(grep -v '^extension' "$work/fresh.txt" | grep -v '^type [a-z_]*\[\] ' |
	grep -vE "^type (${views:-none}) " | grep 'comment=NONE$' | cut -d'|' -f1 || true)
expect_eq "every function, type and view of $default has a comment" "" "$uncommented"
expect_true "\\dx describes more than counters" grep -q '^extension .*comment=.*locks' "$work/fresh.txt"

for v in "${older[@]}"; do
	db=upgrade_case_${v//./_}
	createdb "$db"
	PGDATABASE=$db sql -c "CREATE EXTENSION dynamo_atomic VERSION '$v'"
	PGDATABASE=$db sql -c "ALTER EXTENSION dynamo_atomic UPDATE"
	PGDATABASE=$db sql -c "$listing_sql" >"$work/from-$v.txt"
	if diff -u "$work/fresh.txt" "$work/from-$v.txt" >"$work/diff-$v.txt"; then
		pass "$v, updated to $default, lists the same objects, definitions, privileges and comments as a fresh $default"
	else
		fail "$v updated to $default differs from a fresh install:"
		head -40 "$work/diff-$v.txt"
	fi
done

# A grant made on 1.0 survives the update (nothing is dropped and re-created).
createdb upgrade_case_grants
sql -c "DO \$\$BEGIN CREATE ROLE upgrade_case_app; EXCEPTION WHEN duplicate_object THEN NULL; END\$\$"
PGDATABASE=upgrade_case_grants sql -c "CREATE EXTENSION dynamo_atomic VERSION '${older[0]}'" \
	-c "GRANT EXECUTE ON FUNCTION dynamo_get_last_value(text, text, text, text) TO upgrade_case_app" \
	-c "ALTER EXTENSION dynamo_atomic UPDATE"
expect_eq "a grant given on ${older[0]} is kept by the update" "t" \
	"$(PGDATABASE=upgrade_case_grants sql -c "SELECT has_function_privilege('upgrade_case_app',
		'dynamo_get_last_value(text, text, text, text)', 'EXECUTE')")"
# ...but not one on dynamo_increment, which 1.4 re-creates with a ttl argument: the WARNING names the role
out=$(PGDATABASE=upgrade_case_grants psql -X -qAt -v ON_ERROR_STOP=1 -c "DROP EXTENSION dynamo_atomic" \
	-c "CREATE EXTENSION dynamo_atomic VERSION '1.3'" \
	-c "GRANT EXECUTE ON FUNCTION dynamo_increment(text, bigint, text, text, text, bigint, bigint) TO upgrade_case_app" \
	-c "GRANT EXECUTE ON FUNCTION dynamo_credentials_info() TO upgrade_case_app" \
	-c "ALTER EXTENSION dynamo_atomic UPDATE" 2>&1)
expect_true "a grant on dynamo_increment given on 1.3: the update's WARNING names the role, its HINT the GRANT of the new form" \
	bash -c 'grep -q "WARNING:  dynamo_atomic 1.4 re-creates dynamo_increment(text,bigint,text,text,text,bigint,bigint): upgrade_case_app had EXECUTE on it" <<<"$1" &&
		grep -qF "HINT:  Give it again: GRANT EXECUTE ON FUNCTION dynamo_increment(text,bigint,text,text,text,bigint,bigint,interval) TO upgrade_case_app;" <<<"$1"' _ "$out"
expect_true "...and one on dynamo_credentials_info, with the diagnostics family" \
	grep -q "WARNING:  dynamo_atomic 1.4 re-creates dynamo_credentials_info(): upgrade_case_app had EXECUTE on it" <<<"$out"
# ...but not one on a lock function that 1.3 re-creates with a payload
# argument (a grant made by the update script would count as the extension's
# own, and pg_dump would leave it out): the update names the role to grant again
out=$(PGDATABASE=upgrade_case_grants psql -X -qAt -v ON_ERROR_STOP=1 -c "DROP EXTENSION dynamo_atomic" \
	-c "CREATE EXTENSION dynamo_atomic VERSION '1.2'" \
	-c "GRANT EXECUTE ON FUNCTION dynamo_try_get_lock(text, integer, text) TO upgrade_case_app" \
	-c "ALTER EXTENSION dynamo_atomic UPDATE" 2>&1)
expect_true "a grant on dynamo_try_get_lock given on 1.2: the update's WARNING names the role and how to grant again" \
	grep -q "WARNING:  dynamo_atomic 1.3 re-creates dynamo_try_get_lock(text,integer,text): upgrade_case_app had EXECUTE on it" <<<"$out"
expect_eq "...which then gives it the 1.3 form, not PUBLIC" "f|t|f" \
	"$(PGDATABASE=upgrade_case_grants sql -c "SELECT has_function_privilege('upgrade_case_app',
		'dynamo_try_get_lock(text, integer, text, jsonb)', 'EXECUTE')" \
		-c "SELECT count(*) > 0 FROM dynamo_atomic_grant('upgrade_case_app', 'locks')" \
		-c "SELECT has_function_privilege('public', 'dynamo_try_get_lock(text, integer, text, jsonb)', 'EXECUTE')" | tr '\n' '|' | sed 's/|$//')"
PGDATABASE=upgrade_case_grants sql -c "SELECT count(*) FROM dynamo_atomic_revoke('upgrade_case_app', 'locks')" >/dev/null
expect_eq "the updated extension is at the default version" "$default" \
	"$(PGDATABASE=upgrade_case_grants sql -c "SELECT extversion FROM pg_extension WHERE extname = 'dynamo_atomic'")"
dropdb upgrade_case_grants
sql -c "DROP ROLE upgrade_case_app"
