-- dynamo_atomic 1.3 -> 1.4: the general item API on any table and key
\echo Use "ALTER EXTENSION dynamo_atomic UPDATE TO '1.4'" to load this file. \quit

-- Functions made again with new columns or a new argument (below): grants
-- on them are not given again here (a grant made by an extension script
-- would count as the extension's own, and pg_dump would leave it out): a
-- WARNING names each role, with the GRANT that gives it the new form.  (A
-- view, rule, policy or BEGIN ATOMIC function of yours that uses one of them
-- makes the DROP fail: drop it first.)
DO $$
DECLARE
    f text;
    new_form text;
    grantee text;
BEGIN
    FOR f, new_form IN VALUES ('dynamo_increment(text,bigint,text,text,text,bigint,bigint)',
                               'dynamo_increment(text,bigint,text,text,text,bigint,bigint,interval)'),
                              ('dynamo_increment(dynamo_key,bigint,text,text,bigint,bigint)',
                               'dynamo_increment(dynamo_key,bigint,text,text,bigint,bigint,interval)'),
                              ('dynamo_credentials_info()', 'dynamo_credentials_info()'),
                              ('dynamo_atomic_stats()', 'dynamo_atomic_stats()') LOOP
        FOR grantee IN
            SELECT DISTINCT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0::oid THEN 'PUBLIC'
                                 ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END
            FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a
            WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(
                      pg_catalog.format('%I.%s', (SELECT n.nspname FROM pg_catalog.pg_namespace n, pg_catalog.pg_extension e
                                                  WHERE e.extname OPERATOR(pg_catalog.=) 'dynamo_atomic'
                                                    AND n.oid OPERATOR(pg_catalog.=) e.extnamespace), f))
              AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
              AND NOT (f OPERATOR(pg_catalog.=) 'dynamo_atomic_stats()' AND a.grantee OPERATOR(pg_catalog.=) 0::oid)
        LOOP
            RAISE WARNING 'dynamo_atomic 1.4 re-creates %: % had EXECUTE on it', f, grantee
                USING HINT = pg_catalog.format('Give it again: GRANT EXECUTE ON FUNCTION %s TO %s;', new_form, grantee);
        END LOOP;
    END LOOP;
    FOR grantee IN
        SELECT DISTINCT pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee))
        FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
        WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(
                  pg_catalog.format('%I.dynamo_atomic_stats', (SELECT n.nspname FROM pg_catalog.pg_namespace n, pg_catalog.pg_extension e
                                                               WHERE e.extname OPERATOR(pg_catalog.=) 'dynamo_atomic'
                                                                 AND n.oid OPERATOR(pg_catalog.=) e.extnamespace)))
          AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
          AND a.grantee OPERATOR(pg_catalog.<>) 0::oid
    LOOP
        RAISE WARNING 'dynamo_atomic 1.4 re-creates the view dynamo_atomic_stats: % had privileges on it', grantee
            USING HINT = 'Everyone may read it again; grant other privileges again by hand.';
    END LOOP;
END
$$;

-- Credentials: the provider, the role, the refreshes ------------------------------

DROP FUNCTION dynamo_credentials_info();

CREATE FUNCTION dynamo_credentials_info(
    OUT source text,
    OUT access_key_id text,
    OUT expires_at timestamptz,
    OUT provider text,
    OUT role_arn text,
    OUT refreshed_at timestamptz,
    OUT next_refresh_at timestamptz,
    OUT last_refresh_error text,
    OUT last_refresh_error_at timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'dynamo_credentials_info'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_credentials_info() IS
'Where the AWS credentials in use come from (provider, role), their access key ID and expiry, when they were fetched and will be refreshed, and the last refresh error; never the secret.';

CREATE FUNCTION dynamo_credentials_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_credentials_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_credentials_reset() IS
'Forgets the AWS credentials fetched from a service (STS, a credential_process, a container, instance metadata), in every process of this server: the next call fetches them anew.';

REVOKE ALL ON FUNCTION dynamo_credentials_info(), dynamo_credentials_reset() FROM PUBLIC;

-- Statistics: throttles by the reason DynamoDB gave ---------------------------------

DROP VIEW dynamo_atomic_stats;
DROP FUNCTION dynamo_atomic_stats();

CREATE FUNCTION dynamo_atomic_stats(
    OUT operation text,
    OUT calls bigint,
    OUT requests bigint,
    OUT retries bigint,
    OUT throttles bigint,
    OUT errors bigint,
    OUT total_ms double precision,
    OUT max_ms double precision,
    OUT ids_unused bigint,
    OUT throttle_reasons jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dynamo_atomic_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE VIEW dynamo_atomic_stats AS SELECT * FROM dynamo_atomic_stats();

COMMENT ON VIEW dynamo_atomic_stats IS
'DynamoDB calls, requests, retries, throttles (by the reason DynamoDB gave), errors and latency per operation (cluster-wide when preloaded); row nextval: IDs served (calls), blocks fetched (requests), values reserved and unused.';

COMMENT ON FUNCTION dynamo_atomic_stats() IS
'The rows of the dynamo_atomic_stats view.';

GRANT SELECT ON dynamo_atomic_stats TO PUBLIC;

-- Counters with a time to live; sharded tallies -------------------------------------

DROP FUNCTION dynamo_increment(text, bigint, text, text, text, bigint, bigint);
DROP FUNCTION dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint);

CREATE FUNCTION dynamo_increment(
    counter_id text,
    increment bigint DEFAULT 1,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue',
    min_value bigint DEFAULT NULL,
    max_value bigint DEFAULT NULL,
    ttl interval DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_increment'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval) IS
'Atomically adds increment to a DynamoDB counter (created at 0 on first use) and returns the new value; '
'min_value/max_value bound the result (SQLSTATE 2200H when crossed); ttl: the write that creates the counter '
'sets its "ttl" attribute to now + ttl (per-window counters). Table NULL means dynamo_atomic.counter_table.';

CREATE FUNCTION dynamo_increment(
    key dynamo_key,
    increment bigint DEFAULT 1,
    table_name text DEFAULT NULL,
    count_attribute text DEFAULT 'lastValue',
    min_value bigint DEFAULT NULL,
    max_value bigint DEFAULT NULL,
    ttl interval DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_increment_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint, interval) IS
'As dynamo_increment, for the counter at dynamo_key(pk, sk) of a single table.';

REVOKE ALL ON FUNCTION
    dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval),
    dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint, interval)
FROM PUBLIC;

-- Sharded tallies: counts nobody needs one value of, beyond one item's write limit

CREATE FUNCTION dynamo_tally_add(
    tally_id text,
    increment bigint DEFAULT 1,
    shards integer DEFAULT 16,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue',
    ttl interval DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_tally_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_tally_add(text, bigint, integer, text, text, text, interval) IS
'Adds increment to one of the tally''s shard items, chosen at random (one write, spread over shards items '
'so that a hot tally is not capped by one item''s write limit); ttl: a shard''s creating write sets its "ttl". '
'Read the sum with dynamo_tally_read.';

CREATE FUNCTION dynamo_tally_read(
    tally_id text,
    shards integer DEFAULT 16,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_tally_read'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_tally_read(text, integer, text, text, text) IS
'The sum of the tally''s shards, read consistently in BatchGetItem requests (every shard ever written, '
'also after shards was lowered).';

REVOKE ALL ON FUNCTION
    dynamo_tally_add(text, bigint, integer, text, text, text, interval),
    dynamo_tally_read(text, integer, text, text, text)
FROM PUBLIC;

-- Lease locks: held for exactly their lease, by no session ------------------------

COMMENT ON FUNCTION dynamo_release_lock_by_name(text, text) IS
'Releases the lock of that name this session holds (as dynamo_release_lock(lock), when the dynamo_lock value is not at hand), or a lease lock of that name whoever took it; false (with a NOTICE) when it was lost or is not held.';


CREATE FUNCTION dynamo_get_lease_lock(
    lock_name text,
    lease_ms integer,
    wait_ms integer DEFAULT 0,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_get_lease_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_lease_lock(text, integer, integer, text, jsonb) IS
'Takes a lease lock: held for exactly lease_ms by no session (no heartbeat, not released when the session ends), waiting up to wait_ms; 55P03 when it stays held. dynamo_release_lock or dynamo_release_lock_by_name, from any session, ends it sooner.';

CREATE FUNCTION dynamo_try_get_lease_lock(
    lock_name text,
    lease_ms integer,
    table_name text DEFAULT NULL,
    payload jsonb DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_try_get_lease_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_try_get_lease_lock(text, integer, text, jsonb) IS
'As dynamo_get_lease_lock without waiting: NULL when the lock is held.';

REVOKE ALL ON FUNCTION
    dynamo_get_lease_lock(text, integer, integer, text, jsonb),
    dynamo_try_get_lease_lock(text, integer, text, jsonb)
FROM PUBLIC;

-- The general item API: any table, any key, with expressions ----------------------

CREATE TYPE dynamo_write_result AS (
    applied boolean,
    attributes jsonb
);

COMMENT ON TYPE dynamo_write_result IS
'What a general write did: applied is false when its condition did not hold (nothing was written); attributes are the values asked for with return_values, or, on a failed condition, the item as it is.';

CREATE TYPE dynamo_transaction_result AS (
    applied boolean,
    failed_action integer,
    failed_item jsonb
);

COMMENT ON TYPE dynamo_transaction_result IS
'What dynamo_transact_write did: applied, or the index (from 0) of the action whose condition did not hold and that item as it is; nothing was written then.';

CREATE FUNCTION dynamo_get_item(
    table_name text,
    key jsonb,
    consistent boolean DEFAULT true,
    projection_expression text DEFAULT NULL,
    expression_names jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dynamo_get_item'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_item(text, jsonb, boolean, text, jsonb) IS
'GetItem on any table: the item at key (checked against the table''s key schema), consistent by default, optionally projected; NULL when there is none.';

CREATE FUNCTION dynamo_put_item(
    table_name text,
    item jsonb,
    condition_expression text DEFAULT NULL,
    expression_values jsonb DEFAULT NULL,
    expression_names jsonb DEFAULT NULL,
    return_values text DEFAULT 'NONE',
    raise_on_condition_failure boolean DEFAULT false)
RETURNS dynamo_write_result
AS 'MODULE_PATHNAME', 'dynamo_put_item'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_put_item(text, jsonb, text, jsonb, jsonb, text, boolean) IS
'PutItem on any table, on condition_expression if given (a failed condition: applied false, nothing written; 23514 with raise_on_condition_failure). return_values NONE or ALL_OLD. Resent after a lost answer only when it returns nothing.';

CREATE FUNCTION dynamo_update_item(
    table_name text,
    key jsonb,
    update_expression text,
    condition_expression text DEFAULT NULL,
    expression_values jsonb DEFAULT NULL,
    expression_names jsonb DEFAULT NULL,
    return_values text DEFAULT 'NONE',
    raise_on_condition_failure boolean DEFAULT false)
RETURNS dynamo_write_result
AS 'MODULE_PATHNAME', 'dynamo_update_item'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_update_item(text, jsonb, text, text, jsonb, jsonb, text, boolean) IS
'UpdateItem on any table with update_expression, on condition_expression if given. return_values NONE, ALL_OLD, UPDATED_OLD, ALL_NEW or UPDATED_NEW. Never resent after a lost answer (an update may add): 40003.';

CREATE FUNCTION dynamo_delete_item(
    table_name text,
    key jsonb,
    condition_expression text DEFAULT NULL,
    expression_values jsonb DEFAULT NULL,
    expression_names jsonb DEFAULT NULL,
    return_values text DEFAULT 'NONE',
    raise_on_condition_failure boolean DEFAULT false)
RETURNS dynamo_write_result
AS 'MODULE_PATHNAME', 'dynamo_delete_item'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_delete_item(text, jsonb, text, jsonb, jsonb, text, boolean) IS
'DeleteItem on any table, on condition_expression if given. return_values NONE or ALL_OLD. Resent after a lost answer only when it returns nothing.';

CREATE FUNCTION dynamo_query_items(
    table_name text,
    key_condition_expression text,
    expression_values jsonb,
    expression_names jsonb DEFAULT NULL,
    index_name text DEFAULT NULL,
    filter_expression text DEFAULT NULL,
    projection_expression text DEFAULT NULL,
    scan_forward boolean DEFAULT true,
    consistent boolean DEFAULT NULL,
    max_items integer DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'dynamo_query_items'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION dynamo_query_items(text, text, jsonb, jsonb, text, text, text, boolean, boolean, integer) IS
'Query on any table or index, streamed page by page. consistent unsaid: true on the table, false on an index (a global secondary index refuses consistent reads). max_items counts rows after the filter.';

CREATE FUNCTION dynamo_scan_items(
    table_name text,
    filter_expression text DEFAULT NULL,
    expression_values jsonb DEFAULT NULL,
    expression_names jsonb DEFAULT NULL,
    index_name text DEFAULT NULL,
    projection_expression text DEFAULT NULL,
    segment integer DEFAULT NULL,
    total_segments integer DEFAULT NULL,
    consistent boolean DEFAULT false,
    max_items integer DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'dynamo_scan_items'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;

COMMENT ON FUNCTION dynamo_scan_items(text, text, jsonb, jsonb, text, text, integer, integer, boolean, integer) IS
'Scan of any table or index, streamed page by page; segment of total_segments scans one part, so that callers can scan in parallel.';

CREATE FUNCTION dynamo_batch_get_items(
    table_name text,
    keys jsonb,
    consistent boolean DEFAULT true,
    projection_expression text DEFAULT NULL,
    expression_names jsonb DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'dynamo_batch_get_items'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_batch_get_items(text, jsonb, boolean, text, jsonb) IS
'BatchGetItem on any table: the items at keys (a JSON array), in the order of the keys; a key without an item gives no row.';

CREATE FUNCTION dynamo_batch_write_items(
    table_name text,
    puts jsonb DEFAULT NULL,
    deletes jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_batch_write_items'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_batch_write_items(text, jsonb, jsonb) IS
'BatchWriteItem on any table: puts (items) and deletes (keys), JSON arrays, in requests of 25, unprocessed ones resent; returns how many were written. Not atomic: see dynamo_transact_write.';

CREATE FUNCTION dynamo_transact_write(
    actions jsonb,
    client_request_token text DEFAULT NULL,
    raise_on_condition_failure boolean DEFAULT false)
RETURNS dynamo_transaction_result
AS 'MODULE_PATHNAME', 'dynamo_transact_write'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_transact_write(jsonb, text, boolean) IS
'TransactWriteItems: put, update, delete and condition_check actions on any tables, all or nothing, resent with a ClientRequestToken so that it is applied at most once.';

REVOKE ALL ON FUNCTION
    dynamo_get_item(text, jsonb, boolean, text, jsonb),
    dynamo_put_item(text, jsonb, text, jsonb, jsonb, text, boolean),
    dynamo_update_item(text, jsonb, text, text, jsonb, jsonb, text, boolean),
    dynamo_delete_item(text, jsonb, text, jsonb, jsonb, text, boolean),
    dynamo_query_items(text, text, jsonb, jsonb, text, text, text, boolean, boolean, integer),
    dynamo_scan_items(text, text, jsonb, jsonb, text, text, integer, integer, boolean, integer),
    dynamo_batch_get_items(text, jsonb, boolean, text, jsonb),
    dynamo_batch_write_items(text, jsonb, jsonb),
    dynamo_transact_write(jsonb, text, boolean)
FROM PUBLIC;

-- The items family grants the general functions too (CREATE OR REPLACE keeps
-- the function's owner and grants).
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
            WHEN 'counters' THEN ARRAY['dynamo_increment', 'dynamo_get_last_value', 'dynamo_set_counter',
                                       'dynamo_tally_add', 'dynamo_tally_read']
            WHEN 'ids' THEN ARRAY['dynamo_nextval', 'dynamo_id_trigger']
            WHEN 'locks' THEN ARRAY['dynamo_get_lock', 'dynamo_try_get_lock', 'dynamo_get_xact_lock',
                                    'dynamo_get_lease_lock', 'dynamo_try_get_lease_lock',
                                    'dynamo_try_get_xact_lock', 'dynamo_release_lock', 'dynamo_release_lock_by_name', 'dynamo_refresh_lock',
                                    'dynamo_guard_xact', 'dynamo_read_lock', 'dynamo_held_locks',
                                    'dynamo_lock_info']
            WHEN 'items' THEN ARRAY['dynamo_put', 'dynamo_get', 'dynamo_delete', 'dynamo_put_many',
                                    'dynamo_get_many', 'dynamo_query', 'dynamo_set_atomic',
                                    'dynamo_get_item', 'dynamo_put_item', 'dynamo_update_item',
                                    'dynamo_delete_item', 'dynamo_query_items', 'dynamo_scan_items',
                                    'dynamo_batch_get_items', 'dynamo_batch_write_items',
                                    'dynamo_transact_write']
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

