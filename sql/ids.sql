-- IDs: dynamo_nextval blocks, the ID trigger, and the statistics view counting exactly.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT dynamo_create_counter_table('RegressIds');
SET dynamo_atomic.counter_table = 'RegressIds';
-- exact request counts: no block fetched ahead by the worker (see test/cases/ids.sh for that)
SET dynamo_atomic.id_prefetch = off;

-- one ADD reserves a block; values come from it in order
SELECT dynamo_atomic_stats_reset();
SELECT array_agg(dynamo_nextval('orders', 10)) FROM generate_series(1, 12);
SELECT dynamo_get_last_value('orders') AS stored;    -- two blocks of 10 reserved
SELECT operation, calls, requests, errors, ids_unused FROM dynamo_atomic_stats
WHERE operation IN ('nextval', 'UpdateItem') ORDER BY 1;
-- the values reserved stay in view after a reset
SELECT dynamo_atomic_stats_reset();
SELECT operation, calls, requests, ids_unused FROM dynamo_atomic_stats;
-- cache 1 (the default, dynamo_atomic.id_cache) is one request per value
SELECT dynamo_atomic_stats_reset();
SELECT dynamo_nextval('single'), dynamo_nextval('single');
SELECT operation, calls, requests FROM dynamo_atomic_stats WHERE operation IN ('nextval', 'UpdateItem') ORDER BY 1;
-- with dynamo_increment on the same counter: values never collide
SELECT dynamo_increment('orders') AS increment_after_blocks;
SELECT dynamo_nextval('orders', 10) AS next_from_block;

-- the trigger fills NULL ids, keeps given ones, works for multi-row INSERT and COPY
CREATE TABLE id_invoices (id bigint PRIMARY KEY, what text);
CREATE TRIGGER id_invoices_id BEFORE INSERT ON id_invoices
    FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'id_invoices', '5');
INSERT INTO id_invoices (what) VALUES ('a'), ('b'), ('c') RETURNING id, what;
INSERT INTO id_invoices VALUES (1000, 'given') RETURNING id, what;
COPY id_invoices (what) FROM STDIN;
d
e
\.
SELECT id, what FROM id_invoices ORDER BY id;
-- an int4 column refuses values past its range
CREATE TABLE small_ids (id integer, what text);
CREATE TRIGGER small_ids_id BEFORE INSERT ON small_ids
    FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'small');
SELECT dynamo_set_counter('small', 2147483646);
INSERT INTO small_ids (what) VALUES ('fits') RETURNING id;
INSERT INTO small_ids (what) VALUES ('too big');
SELECT count(*) FROM small_ids;
-- bad use
SELECT dynamo_nextval('x', 0);
SELECT dynamo_nextval(NULL);
CREATE TABLE wrong (id text);
CREATE TRIGGER wrong_id BEFORE INSERT ON wrong FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'w');
INSERT INTO wrong VALUES (NULL);
CREATE TRIGGER wrong_args BEFORE INSERT ON id_invoices FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id');
INSERT INTO id_invoices (what) VALUES ('x');
DROP TRIGGER wrong_args ON id_invoices;
DROP TABLE id_invoices, small_ids, wrong;
