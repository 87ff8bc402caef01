-- dynamo_atomic 1.0 -> 1.1
\echo Use "ALTER EXTENSION dynamo_atomic UPDATE TO '1.1'" to load this file. \quit

-- A trigger that reserves IDs with the server's credentials is no more PUBLIC
-- than dynamo_nextval itself.
REVOKE ALL ON FUNCTION dynamo_id_trigger() FROM PUBLIC;

-- The held-locks view is what a role is granted: its function is executable
-- by anyone and itself demands SELECT on the view.
GRANT EXECUTE ON FUNCTION dynamo_held_locks() TO PUBLIC;

COMMENT ON FUNCTION dynamo_held_locks() IS
'The rows of the dynamo_held_locks view; needs SELECT on that view (42501 otherwise), which dynamo_atomic_grant(role, ''locks'') gives.';

COMMENT ON FUNCTION dynamo_id_trigger() IS
'BEFORE INSERT FOR EACH ROW trigger (column_name, counter_id [, cache [, table_name [, sort_key]]]): fills a NULL integer column from dynamo_nextval.';

COMMENT ON FUNCTION dynamo_atomic_stats() IS
'The rows of the dynamo_atomic_stats view.';

COMMENT ON FUNCTION dynamo_atomic_stats_reset() IS
'Sets every counter of dynamo_atomic_stats back to zero (cluster-wide when preloaded).';

-- ALTER EXTENSION UPDATE keeps the comment CREATE EXTENSION took from the
-- control file: give the new one here.
COMMENT ON EXTENSION dynamo_atomic IS
'DynamoDB-backed atomic counters, unique IDs, distributed locks and optimistic writes';

-- Single-table design --------------------------------------------------------------

-- A table keyed pk + sk (as dynamo_create_item_table makes it) holds items,
-- counters named by dynamo_key(pk, sk), and locks (the item {pk: lock name,
-- sk: '#lock'}; every sort key beginning '#lock' is reserved for them).
CREATE TYPE dynamo_key AS (
    partition_key text,
    sort_key text);

COMMENT ON TYPE dynamo_key IS
'The key of an item in a single table keyed pk + sk: counters and IDs named so live beside items and locks.';

CREATE FUNCTION dynamo_key(partition_key text, sort_key text)
RETURNS dynamo_key
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT partition_key, sort_key $$;

COMMENT ON FUNCTION dynamo_key(text, text) IS
'A dynamo_key: the item {pk: partition_key, sk: sort_key} of a single table.';

CREATE FUNCTION dynamo_increment(
    key dynamo_key,
    increment bigint DEFAULT 1,
    table_name text DEFAULT NULL,
    count_attribute text DEFAULT 'lastValue',
    min_value bigint DEFAULT NULL,
    max_value bigint DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_increment_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint) IS
'As dynamo_increment, for the counter at dynamo_key(pk, sk) of a single table.';

CREATE FUNCTION dynamo_get_last_value(
    key dynamo_key,
    table_name text DEFAULT NULL,
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_get_last_value_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_last_value(dynamo_key, text, text) IS
'As dynamo_get_last_value, for the counter at dynamo_key(pk, sk) of a single table.';

CREATE FUNCTION dynamo_set_counter(
    key dynamo_key,
    value bigint,
    table_name text DEFAULT NULL,
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_set_counter_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_set_counter(dynamo_key, bigint, text, text) IS
'As dynamo_set_counter, for the counter at dynamo_key(pk, sk) of a single table.';

CREATE FUNCTION dynamo_nextval(
    key dynamo_key,
    cache integer DEFAULT NULL,
    table_name text DEFAULT NULL,
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_nextval_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_nextval(dynamo_key, integer, text, text) IS
'As dynamo_nextval, for the counter at dynamo_key(pk, sk) of a single table.';

REVOKE ALL ON FUNCTION
    dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint),
    dynamo_get_last_value(dynamo_key, text, text),
    dynamo_set_counter(dynamo_key, bigint, text, text),
    dynamo_nextval(dynamo_key, integer, text, text)
FROM PUBLIC;

-- Granting by feature family -----------------------------------------------------

CREATE FUNCTION dynamo_atomic_grant_or_revoke(grant_it boolean, role_name regrole, features text[])
RETURNS SETOF regprocedure
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ext_schema oid;
    feature text;
    members text[];
    f regprocedure;
BEGIN
    SELECT extnamespace INTO STRICT ext_schema FROM pg_extension WHERE extname = 'dynamo_atomic';
    IF cardinality(features) = 0 THEN
        RAISE EXCEPTION 'no feature family given'
            USING ERRCODE = '22023',
                  HINT = 'Name one or more of: counters, ids, locks, items, tables, diagnostics.';
    END IF;
    FOREACH feature IN ARRAY features LOOP
        -- Each family's functions by name, overloads included; looked up in the
        -- extension's own schema, so that they follow ALTER EXTENSION SET SCHEMA.
        members := CASE feature
            WHEN 'counters' THEN ARRAY['dynamo_increment', 'dynamo_get_last_value', 'dynamo_set_counter']
            WHEN 'ids' THEN ARRAY['dynamo_nextval', 'dynamo_id_trigger']
            WHEN 'locks' THEN ARRAY['dynamo_get_lock', 'dynamo_try_get_lock', 'dynamo_get_xact_lock',
                                    'dynamo_try_get_xact_lock', 'dynamo_release_lock', 'dynamo_refresh_lock',
                                    'dynamo_read_lock', 'dynamo_held_locks']
            WHEN 'items' THEN ARRAY['dynamo_put', 'dynamo_get', 'dynamo_delete', 'dynamo_put_many',
                                    'dynamo_get_many', 'dynamo_query', 'dynamo_set_atomic']
            WHEN 'tables' THEN ARRAY['dynamo_create_counter_table', 'dynamo_create_lock_table',
                                     'dynamo_create_item_table', 'dynamo_delete_table']
            WHEN 'diagnostics' THEN ARRAY['dynamo_atomic_backend_stats', 'dynamo_credentials_info',
                                          'dynamo_atomic_stats_reset']
        END;
        IF members IS NULL THEN
            RAISE EXCEPTION 'unknown feature family "%"', feature
                USING ERRCODE = '22023',
                      HINT = 'Name one or more of: counters, ids, locks, items, tables, diagnostics.';
        END IF;
        -- the extension's own functions only, not a namesake beside them
        FOR f IN
            SELECT p.oid::regprocedure FROM pg_proc p
            JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
            JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dynamo_atomic'
            WHERE p.proname = ANY (members)
            ORDER BY p.oid
        LOOP
            IF grant_it THEN
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', f, role_name);
            ELSE
                EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %s', f, role_name);
            END IF;
            RETURN NEXT f;
        END LOOP;
        -- The view of held locks comes with the locks.
        IF feature = 'locks' THEN
            EXECUTE format('%s SELECT ON %I.dynamo_held_locks %s %s',
                           CASE WHEN grant_it THEN 'GRANT' ELSE 'REVOKE' END,
                           (SELECT nspname FROM pg_namespace WHERE oid = ext_schema),
                           CASE WHEN grant_it THEN 'TO' ELSE 'FROM' END, role_name);
        END IF;
    END LOOP;
END
$$;

COMMENT ON FUNCTION dynamo_atomic_grant_or_revoke(boolean, regrole, text[]) IS
'The work of dynamo_atomic_grant and dynamo_atomic_revoke.';

CREATE FUNCTION dynamo_atomic_grant(role_name regrole, VARIADIC features text[])
RETURNS SETOF regprocedure
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- schema-qualified: the extension is relocatable and search_path may not name it
    RETURN QUERY EXECUTE format('SELECT * FROM %I.dynamo_atomic_grant_or_revoke(%s, $1, $2)',
        (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'dynamo_atomic'), 'true')
        USING role_name, features;
END
$$;

COMMENT ON FUNCTION dynamo_atomic_grant(regrole, text[]) IS
'Grants EXECUTE on every function of the named feature families (counters, ids, locks, items, tables, diagnostics) to a role, and SELECT on dynamo_held_locks with locks; returns the functions granted.';

CREATE FUNCTION dynamo_atomic_revoke(role_name regrole, VARIADIC features text[])
RETURNS SETOF regprocedure
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- schema-qualified: the extension is relocatable and search_path may not name it
    RETURN QUERY EXECUTE format('SELECT * FROM %I.dynamo_atomic_grant_or_revoke(%s, $1, $2)',
        (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'dynamo_atomic'), 'false')
        USING role_name, features;
END
$$;

COMMENT ON FUNCTION dynamo_atomic_revoke(regrole, text[]) IS
'Revokes what dynamo_atomic_grant gave for the named feature families; returns the functions revoked.';

-- Only the extension's owner (or a superuser) can pass these grants on.
REVOKE ALL ON FUNCTION
    dynamo_atomic_grant_or_revoke(boolean, regrole, text[]),
    dynamo_atomic_grant(regrole, text[]),
    dynamo_atomic_revoke(regrole, text[])
FROM PUBLIC;
