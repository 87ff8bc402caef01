-- Bad input: each gets a clear error and its SQLSTATE, and nothing changes.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;
RESET client_min_messages;
-- CONTEXT lines carry DynamoDB request ids, which differ per run
\set SHOW_CONTEXT never

-- SQLSTATEs are shown through this helper, which runs a statement and reports its error
CREATE FUNCTION sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- NULL and empty arguments (22004, 22023)
SELECT dynamo_increment(NULL);
SELECT dynamo_increment('');
SELECT dynamo_increment('x', NULL);
SELECT dynamo_increment('x', key_attribute => NULL);
SELECT dynamo_increment('x', count_attribute => '');
SELECT dynamo_increment('x', key_attribute => 'same', count_attribute => 'same');
SELECT dynamo_get_last_value(NULL);
SELECT dynamo_set_counter('x', NULL);
SELECT dynamo_delete_table(NULL);
SELECT dynamo_delete_table('NoSuchTable', if_exists => NULL);
SELECT dynamo_create_counter_table('NoSuchTable', if_not_exists => NULL);
SELECT sqlstate_of($$SELECT dynamo_increment(NULL)$$) AS null_id,
       sqlstate_of($$SELECT dynamo_increment('')$$) AS empty_id,
       sqlstate_of($$SELECT dynamo_set_counter('x', NULL)$$) AS null_value;

-- DynamoDB's limits, checked before any request is sent (22023)
SELECT dynamo_increment(repeat('k', 2049));
SELECT dynamo_increment(repeat('é', 1025));
SELECT dynamo_increment('x', count_attribute => repeat('a', 256));
SELECT dynamo_increment('x', table_name => 'ab');
SELECT dynamo_increment('x', table_name => 'bad name!');
SELECT dynamo_increment('x', table_name => repeat('t', 256));
SELECT dynamo_create_counter_table('no');
SELECT dynamo_increment('x', min_value => 5, max_value => 1);
SELECT sqlstate_of($$SELECT dynamo_increment(repeat('k', 2049))$$) AS long_key,
       sqlstate_of($$SELECT dynamo_increment('x', table_name => 'ab')$$) AS bad_table;

-- errors DynamoDB reports: missing table 42P01, rejected request 22023
SELECT dynamo_increment('x', table_name => 'NoSuchTable');
SELECT dynamo_get_last_value('x', table_name => 'NoSuchTable');
SELECT dynamo_set_counter('x', 1, table_name => 'NoSuchTable');
SELECT dynamo_increment('x', key_attribute => 'wrong_key');
SELECT dynamo_delete_table('NoSuchTable');
SELECT dynamo_delete_table('NoSuchTable', if_exists => true);
SELECT sqlstate_of($$SELECT dynamo_increment('x', table_name => 'NoSuchTable')$$) AS missing_table,
       sqlstate_of($$SELECT dynamo_increment('x', key_attribute => 'wrong_key')$$) AS wrong_key;
-- nothing was created by the failed calls
SELECT dynamo_get_last_value('x');

-- dynamo_atomic.allowed_tables is checked before any request: a table that
-- does not exist gives 42501, not DynamoDB's 42P01
SET dynamo_atomic.allowed_tables = 'AtomicCounters';
SELECT dynamo_increment('x', table_name => 'NoSuchTable');
SELECT dynamo_delete_table('NoSuchTable');
SELECT sqlstate_of($$SELECT dynamo_get_last_value('x', 'NoSuchTable')$$) AS not_allowed;
SELECT dynamo_get_last_value('x') AS allowed_table_works;
RESET dynamo_atomic.allowed_tables;

-- credentials: half a pair, then none at all (28000)
SET dynamo_atomic.secret_access_key = '';
SELECT dynamo_increment('x');
SET dynamo_atomic.access_key_id = '';
SELECT sqlstate_of($$SELECT dynamo_increment('x')$$) AS no_credentials;
\set VERBOSITY terse
SELECT dynamo_increment('x');
SELECT * FROM dynamo_credentials_info();
SET dynamo_atomic.profile = 'no-such-profile';
SELECT dynamo_increment('x');
-- with the region to come from that profile too, the profile is what is missing
SET dynamo_atomic.region = '';
SELECT dynamo_increment('x');
RESET dynamo_atomic.region;
\set VERBOSITY default
RESET dynamo_atomic.profile;
RESET dynamo_atomic.access_key_id;
RESET dynamo_atomic.secret_access_key;
SELECT source FROM dynamo_credentials_info();

-- no region anywhere (22023)
SET dynamo_atomic.region = '';
SELECT dynamo_increment('x');
RESET dynamo_atomic.region;

-- an endpoint nobody listens on: 08001 (the port is not shown: it varies)
SET dynamo_atomic.endpoint = 'http://127.0.0.1:9';
SET dynamo_atomic.max_retries = 0;
SELECT sqlstate_of($$SELECT dynamo_increment('x')$$) AS refused;
RESET dynamo_atomic.endpoint;
RESET dynamo_atomic.max_retries;

-- after all that, the same session still works
SELECT dynamo_increment('after-errors');
DROP FUNCTION sqlstate_of(text);
