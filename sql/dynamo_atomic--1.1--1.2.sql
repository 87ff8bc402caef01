-- dynamo_atomic 1.1 -> 1.2: a transaction that commits only under its locks
\echo Use "ALTER EXTENSION dynamo_atomic UPDATE TO '1.2'" to load this file. \quit

CREATE FUNCTION dynamo_guard_xact(lock dynamo_lock)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_guard_xact'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_guard_xact(dynamo_lock) IS
'Binds a session lock to the current transaction: it commits only while the lock is still held with lock_clock_skew_ms + lock_commit_margin_ms of lease left (40001 otherwise); returns the lock.';

REVOKE ALL ON FUNCTION dynamo_guard_xact(dynamo_lock) FROM PUBLIC;

-- The locks family now includes dynamo_guard_xact.
CREATE OR REPLACE FUNCTION dynamo_atomic_grant_or_revoke(grant_it boolean, role_name regrole, features text[])
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
                                    'dynamo_guard_xact', 'dynamo_read_lock', 'dynamo_held_locks']
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
