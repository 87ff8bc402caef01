-- Counters: increments, reads, setval, bounds, bigint range, IDs for rows.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;
RESET client_min_messages;
-- CONTEXT lines carry DynamoDB request ids, which differ per run
\set SHOW_CONTEXT never

SELECT dynamo_create_counter_table();
SELECT dynamo_create_counter_table();
SELECT dynamo_create_counter_table(if_not_exists => true);

-- the first increment creates the counter at 0 + increment
SELECT dynamo_increment('page-views');
SELECT dynamo_increment('page-views');
SELECT dynamo_increment('page-views', 10);
SELECT dynamo_increment('page-views', -2);
SELECT dynamo_increment('page-views', 0);
SELECT dynamo_get_last_value('page-views');
SELECT dynamo_get_last_value('never-incremented');
-- counters are independent
SELECT dynamo_increment('other') AS other, dynamo_get_last_value('page-views') AS page_views;

-- like setval: the next increment continues from the value set
SELECT dynamo_set_counter('page-views', 100);
SELECT dynamo_increment('page-views');
SELECT dynamo_set_counter('negative', -5), dynamo_increment('negative', 2);

-- many increments in one statement: distinct and consecutive
SELECT count(*), count(DISTINCT v), min(v), max(v)
FROM (SELECT dynamo_increment('bulk') AS v FROM generate_series(1, 200)) s;

-- a table of one's own, with its own key and count attribute names
SELECT dynamo_create_counter_table('Regress.Custom-Counters_1', key_attribute => 'pk');
SELECT dynamo_increment('c1', 5, 'Regress.Custom-Counters_1', 'pk', 'n');
SELECT dynamo_increment('c1', 5, 'Regress.Custom-Counters_1', 'pk', 'n');
SELECT dynamo_get_last_value('c1', 'Regress.Custom-Counters_1', 'pk', 'n');
-- another count attribute on the same item is another counter
SELECT dynamo_increment('c1', 1, 'Regress.Custom-Counters_1', 'pk', 'm');
SELECT dynamo_get_last_value('c1', 'Regress.Custom-Counters_1', 'pk', 'n');
-- dynamo_atomic.counter_table is the table used when none is given
SET dynamo_atomic.counter_table = 'Regress.Custom-Counters_1';
SELECT dynamo_increment('c1', key_attribute => 'pk', count_attribute => 'n');
RESET dynamo_atomic.counter_table;

-- non-ASCII ids are stored as UTF-8, and the longest allowed key works
SELECT dynamo_increment('compteur-été-✓'), dynamo_increment('compteur-été-✓');
SELECT dynamo_increment(repeat('é', 1024));
SELECT dynamo_increment(repeat('k', 2048));

-- bounds: crossing one changes nothing and raises 2200H, like a sequence
SELECT dynamo_set_counter('seats', 2);
SELECT dynamo_increment('seats', -1, min_value => 0);
SELECT dynamo_increment('seats', -1, min_value => 0);
SELECT dynamo_increment('seats', -1, min_value => 0);
SELECT dynamo_get_last_value('seats');
SELECT dynamo_increment('tickets', 1, max_value => 2);
SELECT dynamo_increment('tickets', 1, max_value => 2);
SELECT dynamo_increment('tickets', 1, max_value => 2);
SELECT dynamo_get_last_value('tickets');
-- 0 reads: no write, so no bound to cross, and nothing is created
SELECT dynamo_increment('tickets', 0, max_value => 1) AS read_above_bound;
SELECT dynamo_increment('never-written', 0) AS read_missing;
SELECT dynamo_increment('tickets', -2, min_value => 0, max_value => 10);
-- a counter whose first value would cross a bound is not created
SELECT dynamo_increment('fresh', 5, max_value => 3);
SELECT dynamo_get_last_value('fresh');
SELECT dynamo_increment('fresh', 3, max_value => 3);

-- the bigint range is a bound too (DynamoDB itself would go past it)
SELECT dynamo_set_counter('big', 9223372036854775806);
SELECT dynamo_increment('big');
SELECT dynamo_increment('big');
SELECT dynamo_get_last_value('big');
SELECT dynamo_set_counter('small', -9223372036854775807);
SELECT dynamo_increment('small', -1);
SELECT dynamo_increment('small', -1);
SELECT dynamo_increment('huge-step', 9223372036854775807);
SELECT dynamo_increment('huge-step', 9223372036854775807);

-- IDs for rows: from a column default and from a trigger
CREATE TABLE orders (id bigint PRIMARY KEY DEFAULT dynamo_increment('orders'), item text);
INSERT INTO orders (item) VALUES ('coffee'), ('tea'), ('cake');
SELECT * FROM orders ORDER BY id;
CREATE TABLE invoices (id bigint, number text);
CREATE FUNCTION invoices_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.id := dynamo_increment('invoices');
    NEW.number := 'INV-' || lpad(NEW.id::text, 6, '0');
    RETURN NEW;
END $$;
CREATE TRIGGER invoices_number BEFORE INSERT ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_number();
INSERT INTO invoices DEFAULT VALUES;
INSERT INTO invoices DEFAULT VALUES;
SELECT * FROM invoices ORDER BY id;

-- like nextval, an increment is not undone by ROLLBACK
BEGIN;
SELECT dynamo_increment('in-a-transaction');
ROLLBACK;
SELECT dynamo_get_last_value('in-a-transaction');

-- a role gets the counters by grant
CREATE ROLE dynamo_regress_counter_user;
SET ROLE dynamo_regress_counter_user;
SELECT dynamo_increment('granted');
RESET ROLE;
GRANT EXECUTE ON FUNCTION dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval)
    TO dynamo_regress_counter_user;
SET ROLE dynamo_regress_counter_user;
SELECT dynamo_increment('granted');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION dynamo_increment(text, bigint, text, text, text, bigint, bigint, interval)
    FROM dynamo_regress_counter_user;
DROP ROLE dynamo_regress_counter_user;

-- deleting a table
SELECT dynamo_delete_table('Regress.Custom-Counters_1');
SELECT dynamo_get_last_value('c1', 'Regress.Custom-Counters_1', 'pk', 'n');
SELECT dynamo_delete_table('Regress.Custom-Counters_1');
SELECT dynamo_delete_table('Regress.Custom-Counters_1', if_exists => true);

-- this whole session used one kept-alive connection
SELECT connections_opened, calls > 250 AS many_calls, retries, throttles
FROM dynamo_atomic_backend_stats();
