-- dynamo_atomic 1.4: DynamoDB-backed atomic counters, unique IDs, distributed
-- locks and optimistic writes.  (Upgrading from 1.0: dynamo_atomic--1.0--1.1.sql;
-- every later change to these objects comes with its own upgrade script.)
\echo Use "CREATE EXTENSION dynamo_atomic" to load this file. \quit

-- Every function talks to AWS with the server's credentials, so none is
-- executable by PUBLIC: grant what each role needs (see README).

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

CREATE FUNCTION dynamo_get_last_value(
    counter_id text,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_get_last_value'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get_last_value(text, text, text, text) IS
'Current value of a DynamoDB counter by consistent read; 0 when the counter does not exist.';

CREATE FUNCTION dynamo_set_counter(
    counter_id text,
    value bigint,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_set_counter'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_set_counter(text, bigint, text, text, text) IS
'Sets a DynamoDB counter to value (like setval): the next dynamo_increment returns value + increment.';

CREATE FUNCTION dynamo_create_counter_table(
    table_name text DEFAULT NULL,
    if_not_exists boolean DEFAULT false,
    key_attribute text DEFAULT 'id')
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_create_counter_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_create_counter_table(text, boolean, text) IS
'Creates an on-demand DynamoDB table keyed by key_attribute (string) and waits until it is ACTIVE.';

CREATE FUNCTION dynamo_delete_table(
    table_name text,
    if_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_delete_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_delete_table(text, boolean) IS
'Deletes a DynamoDB table and everything in it. There is no default table name, on purpose.';

CREATE FUNCTION dynamo_atomic_backend_stats(
    OUT calls bigint,
    OUT http_requests bigint,
    OUT retries bigint,
    OUT throttles bigint,
    OUT errors bigint,
    OUT connections_opened bigint,
    OUT request_ms double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'dynamo_atomic_backend_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION dynamo_atomic_backend_stats() IS
'DynamoDB request counters of the current backend since it started.';

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

-- Distributed locks ---------------------------------------------------------

CREATE FUNCTION dynamo_create_lock_table(
    table_name text DEFAULT NULL,
    if_not_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_create_lock_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_create_lock_table(text, boolean) IS
'Creates an on-demand DynamoDB lock table (hash key lock_name), waits until it is ACTIVE and enables TTL on ttl.';

CREATE TYPE dynamo_lock AS (
    table_name text,
    lock_name text,
    owner text,
    version text,
    fencing_token bigint,
    expires_at timestamptz);

COMMENT ON TYPE dynamo_lock IS
'A held DynamoDB lock: fencing_token increases with every acquisition of the name; version changes with every write.';

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

CREATE FUNCTION dynamo_release_lock(lock dynamo_lock)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dynamo_release_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_release_lock(dynamo_lock) IS
'Releases a lock this session holds; false (with a NOTICE) when it was already lost or released.';

CREATE FUNCTION dynamo_release_lock_by_name(lock_name text, table_name text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dynamo_release_lock_by_name'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_release_lock_by_name(text, text) IS
'Releases the lock of that name this session holds (as dynamo_release_lock(lock), when the dynamo_lock value is not at hand), or a lease lock of that name whoever took it; false (with a NOTICE) when it was lost or is not held.';

REVOKE ALL ON FUNCTION dynamo_release_lock_by_name(text, text) FROM PUBLIC;

CREATE FUNCTION dynamo_refresh_lock(lock dynamo_lock, lease_ms integer DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_refresh_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION dynamo_guard_xact(lock dynamo_lock)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_guard_xact'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_guard_xact(dynamo_lock) IS
'Binds a session lock to the current transaction: it commits only while the lock is still held with lock_clock_skew_ms + lock_commit_margin_ms of lease left (40001 otherwise); returns the lock.';

COMMENT ON FUNCTION dynamo_refresh_lock(dynamo_lock, integer) IS
'Extends a held lock''s lease now (by lease_ms, or its own lease); SQLSTATE 55P03 when it was lost.';

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

CREATE FUNCTION dynamo_held_locks(
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
    OUT note text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'dynamo_held_locks'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- Every column of the view; dynamo_held_locks() keeps the first eleven for
-- what was built on it before 1.3.
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

CREATE VIEW dynamo_held_locks AS
SELECT pid, lock_name, table_name, scope, fencing_token, version, expires_at, last_refresh,
       refresh_failures, lost, note, state, state_since
FROM dynamo_lock_registry();

COMMENT ON VIEW dynamo_held_locks IS
'Locks held by this server''s sessions (with shared_preload_libraries; else this session''s), joinable with pg_stat_activity on pid.';

COMMENT ON FUNCTION dynamo_held_locks() IS
'The first eleven columns of the dynamo_held_locks view (as before 1.3); needs SELECT on that view (42501 otherwise), which dynamo_atomic_grant(role, ''locks'') gives.';

COMMENT ON FUNCTION dynamo_lock_registry() IS
'The rows of the dynamo_held_locks view, with state (held, danger, lost) and state_since; needs SELECT on that view (42501 otherwise).';

-- The view is what a role is granted: its function is executable by anyone
-- (a view's functions run with the reader's privileges) and itself demands
-- SELECT on the view.
REVOKE ALL ON dynamo_held_locks FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dynamo_held_locks() TO PUBLIC;
GRANT EXECUTE ON FUNCTION dynamo_lock_registry() TO PUBLIC;

-- IDs at scale and statistics ---------------------------------------------------

CREATE FUNCTION dynamo_nextval(
    counter_id text,
    cache integer DEFAULT NULL,
    table_name text DEFAULT NULL,
    key_attribute text DEFAULT 'id',
    count_attribute text DEFAULT 'lastValue')
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_nextval'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_nextval(text, integer, text, text, text) IS
'A unique ID from a DynamoDB counter, served from blocks of cache values reserved with one ADD (shared by every backend when preloaded).';

CREATE FUNCTION dynamo_id_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'dynamo_id_trigger'
LANGUAGE C;

COMMENT ON FUNCTION dynamo_id_trigger() IS
'BEFORE INSERT FOR EACH ROW trigger (column_name, counter_id [, cache [, table_name [, sort_key]]]): fills a NULL integer column from dynamo_nextval.';

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

CREATE FUNCTION dynamo_atomic_stats_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_atomic_stats_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_atomic_stats_reset() IS
'Sets every counter of dynamo_atomic_stats back to zero (cluster-wide when preloaded).';

-- Like pg_stat_statements: everyone may read the counts, only those granted may reset them.
GRANT SELECT ON dynamo_atomic_stats TO PUBLIC;
REVOKE ALL ON FUNCTION dynamo_atomic_stats_reset() FROM PUBLIC;

-- Items and optimistic writes --------------------------------------------------

CREATE FUNCTION dynamo_create_item_table(
    table_name text DEFAULT NULL,
    if_not_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_create_item_table'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_create_item_table(text, boolean) IS
'Creates an on-demand DynamoDB item table (pk string hash key, sk string range key), waits until ACTIVE, enables TTL on ttl.';

CREATE FUNCTION dynamo_put(item jsonb, table_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'dynamo_put'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_put(jsonb, text) IS
'Writes an item (a JSON object with string pk and sk), replacing any item with the same key.';

CREATE FUNCTION dynamo_get(pk text, sk text, table_name text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'dynamo_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_get(text, text, text) IS
'The item with this key by consistent read, or NULL.';

CREATE FUNCTION dynamo_delete(pk text, sk text, table_name text DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'dynamo_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_delete(text, text, text) IS
'Deletes an item: true when one was deleted, false when there was none, NULL when a lost answer leaves it unknown.';

CREATE FUNCTION dynamo_put_many(items jsonb, table_name text DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_put_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_put_many(jsonb, text) IS
'Writes a JSON array of items in batches of 25, resending unprocessed items; returns how many were written.';

CREATE FUNCTION dynamo_get_many(keys jsonb, table_name text DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'dynamo_get_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION dynamo_get_many(jsonb, text) IS
'The items for a JSON array of {"pk", "sk"} keys, in that order; keys without an item give no row.';

CREATE FUNCTION dynamo_query(
    pk text,
    sk_prefix text DEFAULT NULL,
    table_name text DEFAULT NULL,
    reverse boolean DEFAULT false,
    max_items integer DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'dynamo_query'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 100;

COMMENT ON FUNCTION dynamo_query(text, text, text, boolean, integer) IS
'The items of a partition in sort-key order (optionally those whose sk begins with sk_prefix), page by page as they are used.';

CREATE FUNCTION dynamo_read_lock(lock_name text, table_name text DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_read_lock'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_read_lock(text, text) IS
'Reads a lock item without taking it (creating it when missing), for dynamo_set_atomic.';

CREATE FUNCTION dynamo_set_atomic(item jsonb, lock dynamo_lock, table_name text DEFAULT NULL)
RETURNS dynamo_lock
AS 'MODULE_PATHNAME', 'dynamo_set_atomic'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_set_atomic(jsonb, dynamo_lock, text) IS
'Writes the item only if the lock is unchanged since it was read (or is held by this session), in one transaction; SQLSTATE 40001 when it changed.';

CREATE FUNCTION dynamo_set_atomic(items jsonb, locks dynamo_lock[], table_name text DEFAULT NULL)
RETURNS dynamo_lock[]
AS 'MODULE_PATHNAME', 'dynamo_set_atomic_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_set_atomic(jsonb, dynamo_lock[], text) IS
'As dynamo_set_atomic for a JSON array of items and several locks, all or nothing (at most 100 actions).';

REVOKE ALL ON FUNCTION
    dynamo_nextval(text, integer, text, text, text),
    dynamo_id_trigger(),
    dynamo_create_item_table(text, boolean),
    dynamo_put(jsonb, text),
    dynamo_get(text, text, text),
    dynamo_delete(text, text, text),
    dynamo_put_many(jsonb, text),
    dynamo_get_many(jsonb, text),
    dynamo_query(text, text, text, boolean, integer),
    dynamo_read_lock(text, text),
    dynamo_set_atomic(jsonb, dynamo_lock, text),
    dynamo_set_atomic(jsonb, dynamo_lock[], text)
FROM PUBLIC;

REVOKE ALL ON FUNCTION
    dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval),
    dynamo_get_last_value(text, text, text, text),
    dynamo_set_counter(text, bigint, text, text, text),
    dynamo_create_counter_table(text, boolean, text),
    dynamo_delete_table(text, boolean),
    dynamo_atomic_backend_stats(),
    dynamo_credentials_info(),
    dynamo_credentials_reset(),
    dynamo_create_lock_table(text, boolean),
    dynamo_get_lock(text, integer, integer, text, jsonb),
    dynamo_try_get_lock(text, integer, text, jsonb),
    dynamo_get_xact_lock(text, integer, integer, text, jsonb),
    dynamo_try_get_xact_lock(text, integer, text, jsonb),
    dynamo_release_lock(dynamo_lock),
    dynamo_refresh_lock(dynamo_lock, integer),
    dynamo_guard_xact(dynamo_lock)
FROM PUBLIC;

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
    max_value bigint DEFAULT NULL,
    ttl interval DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'dynamo_increment_key'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint, interval) IS
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
    dynamo_increment(dynamo_key, bigint, text, text, bigint, bigint, interval),
    dynamo_get_last_value(dynamo_key, text, text),
    dynamo_set_counter(dynamo_key, bigint, text, text),
    dynamo_nextval(dynamo_key, integer, text, text)
FROM PUBLIC;

-- Lease locks: held for exactly their lease, by no session ------------------------

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
