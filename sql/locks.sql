-- Locks: the API surface, scopes and errors (timing and concurrency are in test/cases/locks.sh).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT dynamo_create_lock_table();
SELECT dynamo_create_lock_table(if_not_exists => true);
SHOW dynamo_atomic.lock_table;
SHOW dynamo_atomic.lock_clock_skew_ms;
SHOW dynamo_atomic.max_locks;

-- take, inspect, release
SELECT table_name, lock_name, owner ~ '^[0-9]+:[0-9]+:[0-9]+$' AS owner_is_session_id,
       length(version) AS version_length, fencing_token > 0 AS has_token,
       expires_at BETWEEN now() AND now() + interval '31 seconds' AS lease_ends_in_30s
FROM dynamo_get_lock('regress-a', 30000) AS l;
SELECT lock_name, table_name, scope, lost, refresh_failures FROM dynamo_held_locks;
-- not re-entrant: taking it again in the same session is an error
SELECT dynamo_get_lock('regress-a', 30000);
SELECT dynamo_try_get_lock('regress-a', 30000);
-- release it by its dynamo_lock value
CREATE TEMP TABLE held AS SELECT * FROM dynamo_try_get_lock('regress-b', 30000);
SELECT dynamo_release_lock(ROW(h.*)::dynamo_lock) FROM held h;
-- releasing again: false with a NOTICE
SELECT dynamo_release_lock(ROW(h.*)::dynamo_lock) FROM held h;
-- a new acquisition gets a larger fencing token
SELECT l.fencing_token > h.fencing_token AS token_increased
FROM held h, dynamo_get_lock('regress-b', 30000) l;
SELECT lock_name FROM dynamo_held_locks ORDER BY 1;

-- refresh: a new version and a later expiry
CREATE TEMP TABLE refreshed AS
SELECT h.version AS old_version, r.version AS new_version, h.expires_at AS old_expiry, r.expires_at AS new_expiry,
       h.fencing_token = r.fencing_token AS same_token
FROM dynamo_get_lock('regress-c', 1000) h, LATERAL dynamo_refresh_lock(h, 60000) r;
SELECT old_version <> new_version AS new_version, new_expiry > old_expiry + interval '50 seconds' AS extended,
       same_token FROM refreshed;

-- transaction scope: COMMIT and ROLLBACK release; a session lock survives ROLLBACK
BEGIN;
SELECT lock_name FROM dynamo_get_xact_lock('regress-x', 30000);
SELECT lock_name FROM dynamo_get_lock('regress-s', 30000);
SELECT lock_name, scope FROM dynamo_held_locks WHERE lock_name IN ('regress-x', 'regress-s') ORDER BY 1;
ROLLBACK;
SELECT lock_name, scope FROM dynamo_held_locks WHERE lock_name IN ('regress-x', 'regress-s') ORDER BY 1;
BEGIN;
SELECT lock_name FROM dynamo_try_get_xact_lock('regress-x', 30000);
COMMIT;
SELECT count(*) AS xact_locks_left FROM dynamo_held_locks WHERE scope = 'transaction';

-- as pg_advisory_xact_lock: a subtransaction that rolls back releases the
-- transaction locks it took (one request each); one that commits hands them
-- to its parent; session locks and the outer transaction's stay
BEGIN;
SELECT lock_name FROM dynamo_get_xact_lock('regress-outer', 30000);
SELECT dynamo_get_lock('regress-sub-session', 30000) AS sub_session_lock \gset
SAVEPOINT a;
SELECT lock_name FROM dynamo_get_xact_lock('regress-rolled-back', 30000);
SELECT dynamo_atomic_stats_reset();
ROLLBACK TO SAVEPOINT a;
SELECT requests AS release_requests FROM dynamo_atomic_stats WHERE operation = 'UpdateItem';
SAVEPOINT b;
SAVEPOINT c;
SELECT lock_name FROM dynamo_get_xact_lock('regress-nested', 30000);
RELEASE SAVEPOINT c;
ROLLBACK TO SAVEPOINT b;
SAVEPOINT d;
SELECT lock_name FROM dynamo_get_xact_lock('regress-kept', 30000);
RELEASE SAVEPOINT d;
SELECT lock_name, scope FROM dynamo_held_locks WHERE lock_name LIKE 'regress-%' ORDER BY 1;
COMMIT;
SELECT lock_name, scope FROM dynamo_held_locks WHERE lock_name LIKE 'regress-%' ORDER BY 1;
SELECT dynamo_release_lock(:'sub_session_lock') AS released_session_lock;
-- an error inside the savepoint releases it as the subtransaction aborts
BEGIN;
SAVEPOINT e;
SELECT lock_name FROM dynamo_get_xact_lock('regress-error', 30000);
SELECT 1 / 0;
ROLLBACK TO SAVEPOINT e;
SELECT count(*) AS held_after_error FROM dynamo_held_locks WHERE lock_name = 'regress-error';
COMMIT;
-- a PL/pgSQL block with EXCEPTION is a subtransaction too
DO $$
BEGIN
    BEGIN
        PERFORM dynamo_get_xact_lock('regress-plpgsql', 30000);
        RAISE EXCEPTION 'rolled back';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RAISE NOTICE 'held after the block: %', (SELECT count(*) FROM dynamo_held_locks WHERE lock_name = 'regress-plpgsql');
END $$;

-- bad input: a SQLSTATE each, nothing written
CREATE FUNCTION sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT dynamo_get_lock(NULL, 1000);
SELECT dynamo_get_lock('', 1000);
SELECT dynamo_get_lock(repeat('k', 2049), 1000);
SELECT dynamo_get_lock('x', 0);
-- a lease too short to be kept alive (lease_ms => 30 meant as seconds)
SELECT dynamo_get_lock('x', 30);
SELECT dynamo_get_lock('x', 999);
SELECT dynamo_get_lock('x', 86400001);
SELECT dynamo_get_lock('x', NULL);
SELECT dynamo_get_lock('x', 1000, -1);
SELECT dynamo_get_lock('x', 1000, NULL);
SELECT dynamo_get_lock('x', 1000, table_name => 'no');
SELECT dynamo_release_lock(NULL);
SELECT dynamo_release_lock_by_name(NULL);
SELECT dynamo_release_lock_by_name('regress-never-taken');
SELECT dynamo_release_lock(ROW('Locks', 'regress-a', 'someone-else', 'v', 1, now())::dynamo_lock);
SELECT dynamo_release_lock(ROW('Locks', 'regress-a', NULL, 'v', 1, now())::dynamo_lock);
SELECT dynamo_refresh_lock(ROW('Locks', 'regress-a', 'someone-else', 'v', 1, now())::dynamo_lock);
SELECT sqlstate_of($$SELECT dynamo_get_lock('', 1000)$$) AS empty_name,
       sqlstate_of($$SELECT dynamo_get_lock('x', -5)$$) AS bad_lease,
       sqlstate_of($$SELECT dynamo_get_lock('regress-a', 1000)$$) AS reentry,
       sqlstate_of($$SELECT dynamo_get_lock('x', 1000, table_name => 'NoSuchLockTable')$$) AS missing_table;
-- a forged value of this session for a lock it does not hold: not held, nothing written
SELECT dynamo_release_lock(ROW(l.table_name, 'never-taken', l.owner, l.version, l.fencing_token, l.expires_at)::dynamo_lock)
FROM held l;
-- counter and item functions cannot write lock items (a counter could end any lease)
SELECT dynamo_increment('regress-a', -1000000000000000, 'Locks', 'lock_name', 'lease_until');
SELECT dynamo_set_counter('regress-a', 0, 'Locks', 'lock_name', 'lease_until');
SELECT sqlstate_of($$SELECT dynamo_get_last_value('regress-a', 'Locks', 'lock_name', 'lease_until')$$) AS read_lease,
       sqlstate_of($$SELECT dynamo_nextval('regress-a', 1, 'Locks', 'lock_name', 'lease_until')$$) AS nextval_lease,
       sqlstate_of($$SELECT dynamo_create_counter_table('LockLike', key_attribute => 'lock_name')$$) AS counter_table,
       sqlstate_of($$SELECT dynamo_put('{"pk": "a", "sk": "b", "lock_name": "regress-a"}', 'Locks')$$) AS put_item,
       sqlstate_of($$SELECT dynamo_put_many('[{"pk": "a", "sk": "b", "lock_name": "regress-a"}]', 'Locks')$$) AS put_many;
-- ...and the lock is still held, its lease untouched
SELECT expires_at > now() AS still_leased FROM dynamo_held_locks WHERE lock_name = 'regress-a';
DROP FUNCTION sqlstate_of(text);

-- nothing of the failed calls was registered
SELECT lock_name FROM dynamo_held_locks ORDER BY 1;

-- no function of the extension is executable by PUBLIC but the two behind
-- the views: dynamo_atomic_stats, which everyone may read, and
-- dynamo_held_locks, whose function itself demands SELECT on its view; and
-- dynamo_key(), which builds a key and talks to no one
SELECT p.oid::regprocedure AS executable_by_public
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dynamo_atomic'
WHERE has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1;
