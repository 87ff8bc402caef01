-- dynamo_atomic 1.2 -> 1.3: a lost lock stops its holder
\echo Use "ALTER EXTENSION dynamo_atomic UPDATE TO '1.3'" to load this file. \quit

-- The view gains state and state_since at its end (CREATE OR REPLACE keeps
-- its grants and what was built on it); dynamo_held_locks() stays as it was.
CREATE FUNCTION dynamo_lock_registry(
    OUT pid integer,
    OUT lock_name text,
    OUT table_name text,
    OUT scope text,
    OUT fencing_token bigint,
    OUT version text,
    OUT expires_at timestamptz,
    OUT last_refresh timestamptz,
    OUT refresh_failures integer,
    OUT lost boolean,
    OUT note text,
    OUT state text,
    OUT state_since timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dynamo_held_locks'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE OR REPLACE VIEW dynamo_held_locks AS
SELECT pid, lock_name, table_name, scope, fencing_token, version, expires_at, last_refresh,
       refresh_failures, lost, note, state, state_since
FROM dynamo_lock_registry();

COMMENT ON FUNCTION dynamo_held_locks() IS
'The first eleven columns of the dynamo_held_locks view (as before 1.3); needs SELECT on that view (42501 otherwise), which dynamo_atomic_grant(role, ''locks'') gives.';

COMMENT ON FUNCTION dynamo_lock_registry() IS
'The rows of the dynamo_held_locks view, with state (held, danger, lost) and state_since; needs SELECT on that view (42501 otherwise).';

GRANT EXECUTE ON FUNCTION dynamo_lock_registry() TO PUBLIC;

-- The acquire functions gain payload (the lock item's, for leader
-- election).  A new argument with a default cannot be added in place (two
-- overloads would make every call ambiguous): each is dropped and made
-- again.  Grants on them are not given again here (a grant made by an
-- extension script would count as the extension's own, and pg_dump would
-- leave it out): a WARNING names each role to grant again, with
-- dynamo_atomic_grant(role, 'locks').  (A view, rule, policy or BEGIN ATOMIC
-- function of yours that calls one of them makes the DROP fail: drop it
-- first.)
DO $$
DECLARE
    f text;
    grantee text;
BEGIN
    FOREACH f IN ARRAY ARRAY['dynamo_get_lock(text,integer,integer,text)', 'dynamo_try_get_lock(text,integer,text)',
                             'dynamo_get_xact_lock(text,integer,integer,text)', 'dynamo_try_get_xact_lock(text,integer,text)'] LOOP
        FOR grantee IN
            SELECT DISTINCT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::oid THEN 'PUBLIC'
                                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
            FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
            WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                      pg_catalog.format('%I.%s', (SELECT n.nspname FROM pg_catalog.pg_namespace n, pg_catalog.pg_extension e
                                                  WHERE e.extname OPERATOR(pg_catalog.=) 'dynamo_atomic'
                                                    AND n.oid OPERATOR(pg_catalog.=) e.extnamespace), f))
              AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
        LOOP
            RAISE WARNING 'dynamo_atomic 1.3 re-creates %: % had EXECUTE on it', f, grantee
                USING HINT = pg_catalog.format('Give it again: SELECT dynamo_atomic_grant(%L, ''locks'');', grantee);
        END LOOP;
    END LOOP;
END
$$;

DROP FUNCTION dynamo_get_lock(text, integer, integer, text);
DROP FUNCTION dynamo_try_get_lock(text, integer, text);
DROP FUNCTION dynamo_get_xact_lock(text, integer, integer, text);
DROP FUNCTION dynamo_try_get_xact_lock(text, integer, text);

CREATE FUNCTION dynamo_get_lock(
    lock_name text,
    lease_ms integer,
    wait_ms integer DEFAULT 0,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_get_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_lock(text, integer, integer, text, jsonb) IS
'Takes a session-level lock with a lease of lease_ms, waiting up to wait_ms, storing payload with it (replaced on each acquire); SQLSTATE 55P03 when it stays held.';

CREATE FUNCTION dynamo_try_get_lock(
    lock_name text,
    lease_ms integer,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_try_get_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_try_get_lock(text, integer, text, jsonb) IS
'Takes a session-level lock if it is free; NULL when someone else holds it.';

CREATE FUNCTION dynamo_get_xact_lock(
    lock_name text,
    lease_ms integer,
    wait_ms integer DEFAULT 0,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_get_xact_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_xact_lock(text, integer, integer, text, jsonb) IS
'As dynamo_get_lock, released at the end of the transaction.';

CREATE FUNCTION dynamo_try_get_xact_lock(
    lock_name text,
    lease_ms integer,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_try_get_xact_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_try_get_xact_lock(text, integer, text, jsonb) IS
'As dynamo_try_get_lock, released at the end of the transaction.';

REVOKE ALL ON FUNCTION
    dynamo_get_lock(text, integer, integer, text, jsonb),
    dynamo_try_get_lock(text, integer, text, jsonb),
    dynamo_get_xact_lock(text, integer, integer, text, jsonb),
    dynamo_try_get_xact_lock(text, integer, text, jsonb)
FROM PUBLIC;

-- A lock released by its name, when its dynamo_lock value is not at hand.
CREATE FUNCTION dynamo_release_lock_by_name(lock_name text, table_name text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dynamo_release_lock_by_name'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_release_lock_by_name(text, text) IS
'Releases the lock of that name this session holds (as dynamo_release_lock(lock), when the dynamo_lock value is not at hand); false (with a NOTICE) when it was lost or is not held.';

REVOKE ALL ON FUNCTION dynamo_release_lock_by_name(text, text) FROM PUBLIC;

-- Who holds a lock, and its payload, without taking it.
CREATE FUNCTION dynamo_lock_info(
    lock_name text,
    table_name text DEFAULT NULL,
    OUT held boolean,
    OUT holder text,
    OUT acquired_at timestamptz,
    OUT expires_at timestamptz,
    OUT fencing_token bigint,
    OUT payload jsonb)
RETURNS record
AS 'MODULE_PATHNAME', 'dynamo_lock_info'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_lock_info(text, text) IS
'Who holds a lock (held: an owner whose lease has not ended by this server''s clock), since when, until when, its fencing token and payload: one consistent read, nothing taken or written.';

REVOKE ALL ON FUNCTION dynamo_lock_info(text, text) FROM PUBLIC;

-- The locks family now includes dynamo_lock_info.
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
                                    'dynamo_try_get_xact_lock', 'dynamo_release_lock', 'dynamo_release_lock_by_name', 'dynamo_refresh_lock',
                                    'dynamo_guard_xact', 'dynamo_read_lock', 'dynamo_held_locks',
                                    'dynamo_lock_info']
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
