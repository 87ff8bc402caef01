-- Items: the jsonb <-> DynamoDB mapping, put/get/delete, batches, query, optimistic writes, errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dynamo_atomic;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET dynamo_atomic.item_table = 'RegressItems';
SELECT dynamo_create_item_table();
SELECT dynamo_create_lock_table(if_not_exists => true);

-- every type, and numbers at the edges of DynamoDB's precision and range, round-trip exactly
CREATE TEMP TABLE docs (doc jsonb);
INSERT INTO docs VALUES
  ('{"pk": "t", "sk": "scalars", "s": "text", "n": 42, "f": -1.5, "t": true, "no": false, "z": null}'),
  ('{"pk": "t", "sk": "numbers", "d38": 12345678901234567890123456789012345678,
     "frac": 0.12345678901234567890123456789012345678, "big": 9.9999999999999999999999999999999999999e125,
     "tiny": 1e-130, "neg": -99999999999999999999999999999999999999, "exp": 1e100}'),
  ('{"pk": "t", "sk": "containers", "empty_list": [], "empty_map": {}, "nested": [[[{"a": [1, {"b": []}]}]]]}'),
  ('{"pk": "t", "sk": "unicode", "s": "é ü ✓ 😀 \u00e9 \ud83d\ude00", "quote": "\" \\ / \n \t \u0001", "ключ": "значение"}'),
  ('{"pk": "t", "sk": "binary and sets", "b": {"$b": "AAECAwQ="}, "ss": {"$ss": ["b", "a"]},
     "ns": {"$ns": [3, 1.5, -2]}, "bs": {"$bs": ["AA==", "AQ=="]}}');
SELECT dynamo_put(doc) FROM docs;
SELECT doc->>'sk' AS sk, dynamo_get(doc->>'pk', doc->>'sk') = doc AS round_trip FROM docs
WHERE doc->>'sk' <> 'binary and sets';
-- sets come back as sets (DynamoDB keeps no order): compare as sets
SELECT dynamo_get('t', 'binary and sets') - 'ss' - 'ns' - 'bs' = (SELECT doc FROM docs WHERE doc->>'sk' = 'binary and sets') - 'ss' - 'ns' - 'bs' AS same_rest,
       (SELECT array_agg(x ORDER BY x) FROM jsonb_array_elements_text(dynamo_get('t', 'binary and sets')->'ss'->'$ss') x) AS ss,
       (SELECT array_agg(x::numeric ORDER BY x::numeric) FROM jsonb_array_elements_text(dynamo_get('t', 'binary and sets')->'ns'->'$ns') x) AS ns;
SELECT dynamo_get('t', 'absent') IS NULL AS absent_is_null;

-- put replaces; delete says whether it found the item
SELECT dynamo_put('{"pk": "t", "sk": "scalars", "s": "replaced"}');
SELECT dynamo_get('t', 'scalars');
SELECT dynamo_delete('t', 'scalars') AS deleted, dynamo_delete('t', 'scalars') AS deleted_again;

-- batches of more than 25 (writes) and 100 (reads)
SELECT dynamo_put_many((SELECT jsonb_agg(jsonb_build_object('pk', 'batch', 'sk', lpad(i::text, 4, '0'), 'i', i))
                        FROM generate_series(1, 260) i)) AS written;
SELECT count(*), min((x->>'i')::int), max((x->>'i')::int)
FROM dynamo_get_many((SELECT jsonb_agg(jsonb_build_object('pk', 'batch', 'sk', lpad(i::text, 4, '0'))) FROM generate_series(1, 230) i)) x;
-- in the order of the keys; a missing key gives no row
SELECT x->>'sk' AS sk FROM dynamo_get_many('[{"pk": "batch", "sk": "0007"}, {"pk": "batch", "sk": "none"}, {"pk": "batch", "sk": "0003"}]') x;

-- query: sort-key order, prefix, reverse, max_items
SELECT count(*) FROM dynamo_query('batch');
SELECT x->>'sk' AS sk FROM dynamo_query('batch', '001') x;
SELECT x->>'sk' AS sk FROM dynamo_query('batch', reverse => true, max_items => 3) x;
SELECT count(*) FROM dynamo_query('no such partition');

-- optimistic writes: the lock moves to a new version; a stale lock value loses with 40001
CREATE TEMP TABLE seen AS SELECT * FROM dynamo_read_lock('regress-doc');
SELECT owner IS NULL AS free, length(version) AS version_length FROM seen;
SELECT (dynamo_set_atomic('{"pk": "doc", "sk": "1", "v": 1}', ROW(s.*)::dynamo_lock)).version <> s.version AS moved FROM seen s;
SELECT dynamo_set_atomic('{"pk": "doc", "sk": "1", "v": 2}', ROW(s.*)::dynamo_lock) FROM seen s;
SELECT dynamo_get('doc', '1') AS kept_the_first_write;
-- reading again gives the current version, and the write goes through
SELECT (dynamo_set_atomic('{"pk": "doc", "sk": "1", "v": 3}', l)).lock_name FROM dynamo_read_lock('regress-doc') l;
SELECT dynamo_get('doc', '1');
-- a lock held by this session: writes go through while it holds it
SELECT (dynamo_set_atomic('{"pk": "doc", "sk": "2", "v": 1}', l)).lock_name FROM dynamo_get_lock('regress-held', 30000) l;
-- several items and locks, all or nothing
SELECT array_length(dynamo_set_atomic('[{"pk": "m", "sk": "1"}, {"pk": "m", "sk": "2"}]',
                                      ARRAY[dynamo_read_lock('regress-m1'), dynamo_read_lock('regress-m2')]), 1) AS locks_moved;
SELECT count(*) FROM dynamo_query('m');

-- bad input: a SQLSTATE each, before any request
CREATE FUNCTION sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT dynamo_put('[1]');
SELECT dynamo_put('{"pk": "t"}');
SELECT dynamo_put('{"pk": 1, "sk": "x"}');
SELECT dynamo_put('{"pk": "", "sk": "x"}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "n": 123456789012345678901234567890123456789}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "n": 1e126}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "n": 1e-131}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "s": {"$ss": []}}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "s": {"$ns": ["a"]}}');
SELECT dynamo_put('{"pk": "t", "sk": "x", "b": {"$b": "not base64!"}}');
SELECT dynamo_put(jsonb_build_object('pk', 't', 'sk', 'x', 'deep', (SELECT repeat('[', 32) || repeat(']', 32))::jsonb));
SELECT dynamo_put(jsonb_build_object('pk', 't', 'sk', 'x', 'big', repeat('x', 410000)));
SELECT dynamo_put_many('{"pk": "t"}');
SELECT dynamo_put_many('[{"pk": "t", "sk": "a"}, {"pk": "t", "sk": "a"}]');
SELECT dynamo_get(NULL, 'x');
SELECT dynamo_query('t', max_items => -1);
SELECT sqlstate_of($$SELECT dynamo_put('{"pk": "t", "sk": "x", "n": 1e126}')$$) AS out_of_range,
       sqlstate_of($$SELECT dynamo_put(jsonb_build_object('pk', 't', 'sk', 'x', 'big', repeat('x', 410000)))$$) AS too_big,
       sqlstate_of($$SELECT dynamo_put('{"pk": "t"}')$$) AS no_sk;
-- 31 levels below the item are fine
SELECT dynamo_put(jsonb_build_object('pk', 't', 'sk', 'deep', 'deep', (SELECT repeat('[', 31) || repeat(']', 31))::jsonb));
SELECT dynamo_get('t', 'deep')->'deep' = (SELECT repeat('[', 31) || repeat(']', 31))::jsonb AS deep_round_trip;
-- nothing of the refused items was written
SELECT dynamo_get('t', 'x') IS NULL AS nothing_written;
DROP FUNCTION sqlstate_of(text);
