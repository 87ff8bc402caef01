-- Settings: defaults, validation, and what non-superusers may see and change.
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;

SHOW dynamo_atomic.counter_table;
SHOW dynamo_atomic.connect_timeout_ms;
SHOW dynamo_atomic.request_timeout_ms;
SHOW dynamo_atomic.max_retries;
SHOW dynamo_atomic.profile;
-- the test server's endpoint is a loopback URL (its port varies)
SELECT current_setting('dynamo_atomic.endpoint') ~ '^http://127\.0\.0\.1:[0-9]+$' AS loopback_endpoint;

-- time units are accepted
SET dynamo_atomic.request_timeout_ms = '2s';
SHOW dynamo_atomic.request_timeout_ms;
RESET dynamo_atomic.request_timeout_ms;

-- invalid values are refused with 22023 and the setting is unchanged
SET dynamo_atomic.endpoint = 'ftp://example.com';
SET dynamo_atomic.endpoint = 'not a url';
SET dynamo_atomic.endpoint = 'http://someone@127.0.0.1:1/';
SET dynamo_atomic.endpoint = 'http://127.0.0.1:1/?debug=1';
SET dynamo_atomic.region = 'US East';
SET dynamo_atomic.counter_table = 'ab';
SET dynamo_atomic.counter_table = 'has space';
SET dynamo_atomic.max_retries = -1;
SET dynamo_atomic.max_retries = 21;
SET dynamo_atomic.connect_timeout_ms = 0;
SHOW dynamo_atomic.counter_table;
-- the prefix is reserved: a typo is an error, not a silent placeholder
SET dynamo_atomic.request_timeout = 100;

-- valid values
SET dynamo_atomic.endpoint = 'https://dynamodb.eu-west-1.amazonaws.com';
SHOW dynamo_atomic.endpoint;
SET dynamo_atomic.endpoint = 'http://[::1]:8000/prefix';
SHOW dynamo_atomic.endpoint;
RESET dynamo_atomic.endpoint;
SET dynamo_atomic.region = 'eu-west-1';
RESET dynamo_atomic.region;

-- an allow-list of tables, checked before every request (see errors.sql)
SET dynamo_atomic.allowed_tables = ' AtomicCounters,Other.Table-1 ';
SHOW dynamo_atomic.allowed_tables;
SET dynamo_atomic.allowed_tables = 'AtomicCounters, bad name';
SET dynamo_atomic.allowed_tables = 'ab';
RESET dynamo_atomic.allowed_tables;

-- secrets may not go where every role can read them
ALTER ROLE CURRENT_USER SET dynamo_atomic.secret_access_key = 'stored-for-all-to-see';
ALTER DATABASE contrib_regression SET dynamo_atomic.session_token = 'stored-for-all-to-see';
CREATE FUNCTION leaks_secret() RETURNS int LANGUAGE sql
    SET dynamo_atomic.secret_access_key = 'stored-for-all-to-see' AS 'SELECT 1';
SELECT count(*) AS stored_secrets FROM pg_db_role_setting
WHERE array_to_string(setconfig, ',') LIKE '%stored-for-all-to-see%';
-- ...while the key ID (not a secret) may
ALTER ROLE CURRENT_USER SET dynamo_atomic.access_key_id = 'AKIDEXAMPLE';
ALTER ROLE CURRENT_USER RESET dynamo_atomic.access_key_id;

-- secrets are not listed, even for superusers, and shown only to superusers
SELECT name FROM pg_settings WHERE name LIKE 'dynamo_atomic.%' ORDER BY name;
SELECT current_setting('dynamo_atomic.secret_access_key') <> '' AS superuser_sees_secret;

CREATE ROLE dynamo_regress_plain;
SET ROLE dynamo_regress_plain;
SHOW dynamo_atomic.secret_access_key;
SHOW dynamo_atomic.session_token;
SELECT current_setting('dynamo_atomic.secret_access_key');
SELECT name FROM pg_settings WHERE name LIKE 'dynamo_atomic.%' ORDER BY name;
-- where requests go and with which identity is for superusers to decide
SET dynamo_atomic.endpoint = 'http://127.0.0.1:1';
SET dynamo_atomic.access_key_id = 'AKIDEXAMPLE';
SET dynamo_atomic.secret_access_key = 'x';
SET dynamo_atomic.profile = 'other';
SET dynamo_atomic.allowed_tables = 'Anything';
-- timeouts, retries and the default table are per-session choices
SET dynamo_atomic.max_retries = 1;
SET dynamo_atomic.request_timeout_ms = 500;
SET dynamo_atomic.counter_table = 'MyCounters';
-- no function is executable without a grant
SELECT dynamo_increment('x');
SELECT dynamo_get_last_value('x');
SELECT * FROM dynamo_credentials_info();
SELECT * FROM dynamo_atomic_backend_stats();
RESET ROLE;
DROP ROLE dynamo_regress_plain;

-- what the extension installs
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS arguments, p.proretset
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'dynamo_atomic'
ORDER BY 1, 2;
