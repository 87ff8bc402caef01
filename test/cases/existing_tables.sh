#!/usr/bin/env bash
# The general item API on tables this extension did not create (README
# "Existing tables"): AWS's tutorial operations on ProductCatalog (a numeric
# hash key Id) and donation-data (context + id), run from SQL; keys checked
# against the table's key schema; conditions that fail write nothing and say
# so; expression errors with DynamoDB's words; binary keys; a GSI query with
# a sort-key range; a filter across pages; a parallel scan; batches; a
# transaction across three tables; protection of the locks; and what a lost
# answer means for each write, with the fake front applying the write and
# dropping its answer.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseExistingTables
case_begin "$T"
PC=CaseProductCatalog
DD=case-donation-data
BIN=CaseBinaryKeys
ORD=CaseOrders
TA=CaseTxA TB=CaseTxB TC=CaseTxC

create() { ddb_raw CreateTable "$1" >/dev/null; }
# dynalite (test/dynalite.sh) has no transactions and returns no item on a failed condition
dynalite() { [[ -n ${DYNAMO_ATOMIC_DYNALITE:-} ]]; }
create "{\"TableName\":\"$PC\",\"KeySchema\":[{\"AttributeName\":\"Id\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"Id\",\"AttributeType\":\"N\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
create "{\"TableName\":\"$DD\",\"KeySchema\":[{\"AttributeName\":\"context\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"id\",\"KeyType\":\"RANGE\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"context\",\"AttributeType\":\"S\"},{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
create "{\"TableName\":\"$BIN\",\"KeySchema\":[{\"AttributeName\":\"k\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"k\",\"AttributeType\":\"B\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
create "{\"TableName\":\"$ORD\",\"KeySchema\":[{\"AttributeName\":\"customerId\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"orderDate\",\"KeyType\":\"RANGE\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"customerId\",\"AttributeType\":\"S\"},{\"AttributeName\":\"orderDate\",\"AttributeType\":\"S\"},{\"AttributeName\":\"status\",\"AttributeType\":\"S\"}],\"GlobalSecondaryIndexes\":[{\"IndexName\":\"ByStatus\",\"KeySchema\":[{\"AttributeName\":\"status\",\"KeyType\":\"HASH\"},{\"AttributeName\":\"orderDate\",\"KeyType\":\"RANGE\"}],\"Projection\":{\"ProjectionType\":\"ALL\"}}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
for t in "$TA" "$TB" "$TC"; do
	create "{\"TableName\":\"$t\",\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
done

# verbose STATEMENT...: every line psql prints, errors verbose (SQLSTATE, DETAIL, CONTEXT)
verbose() {
	local args=() s
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -qAt -v VERBOSITY=verbose "${args[@]}" 2>&1 || true
}
code() { sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$1" | head -1; }

product456="{\"Id\": 456, \"ProductCategory\": \"Sporting Goods\", \"Price\": 650,
	\"ProductReviews\": {\"OneStar\": [\"Bad\"], \"FiveStar\": [\"Great\"]},
	\"Color\": {\"\$ss\": [\"Red\", \"Black\"]},
	\"Pictures\": {\"FrontView\": \"http://example.com/products/456_front.jpg\"}}"
put456() { sql -c "SELECT applied FROM dynamo_put_item('$PC', '$product456')" >/dev/null; }
price456() { sql -c "SELECT dynamo_get_item('$PC', '{\"Id\": 456}') ->> 'Price'"; }

# --- ProductCatalog: lower the price of 456 by 75 unless Price <= 500
put456
lower="SELECT applied, attributes->>'Price' FROM dynamo_update_item('$PC', '{\"Id\": 456}',
	'SET Price = Price - :p', condition_expression => 'Price > :limit',
	expression_values => '{\":p\": 75, \":limit\": 500}', return_values => 'ALL_NEW')"
expect_eq "ProductCatalog: Price 650 lowered by 75 (Price > 500): applied, ALL_NEW says 575" "t|575" "$(sql -c "$lower")"
expect_eq "...575 lowered again: 500" "t|500" "$(sql -c "$lower")"
if dynalite; then
	expect_eq "...at 500 the condition fails: applied false (dynalite returns no item then)" "f|" "$(sql -c "$lower")"
else
	expect_eq "...at 500 the condition fails: applied false, the item as it is in attributes (no read)" "f|500" "$(sql -c "$lower")"
fi
expect_eq "...and nothing was written" 500 "$(price456)"
expect_eq "a failed condition with return_values NONE: applied false, attributes NULL" "f|t" \
	"$(sql -c "SELECT applied, attributes IS NULL FROM dynamo_update_item('$PC', '{\"Id\": 456}', 'SET Price = Price - :p',
		condition_expression => 'Price > :limit', expression_values => '{\":p\": 75, \":limit\": 500}')")"
r=$(verbose "SELECT dynamo_update_item('$PC', '{\"Id\": 456}', 'SET Price = Price - :p',
	condition_expression => 'Price > :limit', expression_values => '{\":p\": 75, \":limit\": 500}',
	raise_on_condition_failure => true)")
expect_eq "raise_on_condition_failure: 23514" 23514 "$(code "$r")"
expect_true "...whose CONTEXT names the table and the condition" grep -q "^dynamo_update_item on table \"$PC\": update SET Price = Price - :p, condition Price > :limit" <<<"$r"

# --- ProductCatalog: delete 456 only if ... (each on a fresh copy of the item)
delete_if() {
	put456
	sql -c "SELECT applied FROM dynamo_delete_item('$PC', '{\"Id\": 456}', condition_expression => \$c\$$1\$c\$
		${2:+, expression_values => '$2'})"
}
gone() { sql -c "SELECT dynamo_get_item('$PC', '{\"Id\": 456}') IS NULL"; }
expect_eq "delete if attribute_not_exists(Price): not applied, the item stays" "f|f" "$(delete_if 'attribute_not_exists(Price)')|$(gone)"
expect_eq "delete if attribute_exists(ProductReviews.OneStar): applied, the item is gone" "t|t" \
	"$(delete_if 'attribute_exists(ProductReviews.OneStar)')|$(gone)"
expect_eq "delete if attribute_type(Color, :v_sub), :v_sub = SS: applied" "t|t" \
	"$(delete_if 'attribute_type(Color, :v_sub)' '{":v_sub": "SS"}')|$(gone)"
expect_eq "...and with :v_sub = S: not applied" "f|f" "$(delete_if 'attribute_type(Color, :v_sub)' '{":v_sub": "S"}')|$(gone)"
expect_eq "delete if begins_with(Pictures.FrontView, :v_sub): applied" "t|t" \
	"$(delete_if 'begins_with(Pictures.FrontView, :v_sub)' '{":v_sub": "http://"}')|$(gone)"
put456
expect_eq "a delete returning ALL_OLD gives the item" "456|Sporting Goods" \
	"$(sql -c "SELECT attributes->>'Id', attributes->>'ProductCategory' FROM dynamo_delete_item('$PC', '{\"Id\": 456}', return_values => 'all_old')")"

# --- donation-data: set counterValue = counterValue + :num, UPDATED_OLD
sql -c "SELECT dynamo_put_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\", \"counterValue\": 0}')" >/dev/null
add="SELECT attributes FROM dynamo_update_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}',
	'set counterValue = counterValue + :num', expression_values => '{\":num\": 25}', return_values => 'UPDATED_OLD')"
expect_eq "donation-data: counterValue + 25, UPDATED_OLD gives the value before" '{"counterValue": 0}' "$(sql -c "$add")"
expect_eq "...and again" '{"counterValue": 25}' "$(sql -c "$add")"
expect_eq "...stored: 50" 50 "$(sql -c "SELECT dynamo_get_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}') ->> 'counterValue'")"
expect_eq "exact numbers: a 38-digit value stays exact through an update" "12345678901234567890123456789012345678" \
	"$(sql -c "SELECT attributes->>'big' FROM dynamo_update_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}',
		'SET big = :b', expression_values => '{\":b\": 12345678901234567890123456789012345678}', return_values => 'UPDATED_NEW')")"

# --- keys checked against the key schema, before anything is sent
r=$(verbose "SELECT dynamo_get_item('$PC', '{\"id\": 456}')")
expect_eq "a wrong key name: 22023" 22023 "$(code "$r")"
expect_true "...naming the table's key in DETAIL" grep -q 'DETAIL:  The table.s key is Id (N)\.' <<<"$r"
r=$(verbose "SELECT dynamo_get_item('$PC', '{\"Id\": \"456\"}')")
expect_true "a wrong key type: 22023, the attribute must be a number" grep -q 'ERROR:  22023: key does not fit the key of table "CaseProductCatalog": the key attribute "Id" must be a number' <<<"$r"
r=$(verbose "SELECT dynamo_delete_item('$DD', '{\"context\": \"campaign-1\"}')")
expect_true "a missing sort key: 22023, naming both key attributes" \
	bash -c 'grep -q "ERROR:  22023: .*the key attribute \"id\" is missing" <<<"$1" && grep -q "DETAIL:  The table.s key is context (S) + id (S)\." <<<"$1"' _ "$r"
r=$(verbose "SELECT dynamo_get_item('$PC', '{\"Id\": 456, \"Price\": 1}')")
expect_true "an attribute beyond the key: 22023" grep -q 'ERROR:  22023: .*"Price" is not a key attribute' <<<"$r"
r=$(verbose "SELECT dynamo_put_item('$PC', '{\"Name\": \"no id\"}')")
expect_true "an item without its key: 22023" grep -q 'ERROR:  22023: item does not fit the key of table "CaseProductCatalog": the key attribute "Id" is missing' <<<"$r"
r=$(verbose "SELECT dynamo_update_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}', 'SET id = :x', expression_values => '{\":x\": \"other\"}')")
expect_eq "a key attribute cannot be updated: 22023" 22023 "$(code "$r")"
expect_true "...DynamoDB's words in DETAIL" grep -qi 'DETAIL:  .*part of the key' <<<"$r"
expect_true "...the expression in CONTEXT" grep -q '^dynamo_update_item on table "case-donation-data": update SET id = :x' <<<"$r"

# --- expression errors: DynamoDB's validation message in DETAIL, 22023
r=$(verbose "SELECT dynamo_update_item('$PC', '{\"Id\": 1}', 'SET Price = = :p', expression_values => '{\":p\": 1}')")
expect_eq "a malformed expression: 22023" 22023 "$(code "$r")"
expect_true "...with DynamoDB's message in DETAIL" grep -q 'DETAIL:  .*ValidationException' <<<"$r"
r=$(verbose "SELECT dynamo_update_item('$PC', '{\"Id\": 1}', 'SET Name = :n', expression_values => '{\":n\": \"x\"}')")
expect_true "a reserved word without expression_names: 22023, DynamoDB names it" \
	bash -c 'grep -q "ERROR:  22023" <<<"$1" && grep -qi "DETAIL:  .*reserved keyword" <<<"$1"' _ "$r"
expect_eq "...and with expression_names it works" t \
	"$(sql -c "SELECT applied FROM dynamo_update_item('$PC', '{\"Id\": 1}', 'SET #n = :n', expression_values => '{\":n\": \"x\"}', expression_names => '{\"#n\": \"Name\"}')")"
r=$(verbose "SELECT dynamo_update_item('$PC', '{\"Id\": 1}', 'SET Price = :p', expression_values => '{\":p\": 1, \":unused\": 2}')")
expect_true "an unused placeholder: 22023, DynamoDB names it" \
	bash -c 'grep -q "ERROR:  22023" <<<"$1" && grep -qi "DETAIL:  .*unused" <<<"$1"' _ "$r"
r=$(verbose "SELECT dynamo_update_item('$PC', '{\"Id\": 1}', 'SET Price = :p', expression_values => '{\"p\": 1}')")
expect_true "a placeholder without its colon: 22023 before anything is sent" \
	grep -q 'ERROR:  22023: expression_values: "p" is not a placeholder' <<<"$r"
r=$(verbose "SELECT dynamo_put_item('$PC', '{\"Id\": 2}', return_values => 'ALL_NEW')")
expect_true "return_values a put does not allow: 22023 naming those it does" \
	grep -q 'ERROR:  22023: return_values "ALL_NEW" is not one PutItem allows (NONE ALL_OLD )' <<<"$r"

# --- a projection with names; a value of the wrong type for the function
expect_eq "dynamo_get_item with a projection and expression_names" '{"counterValue": 50}' \
	"$(sql -c "SELECT dynamo_get_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}', projection_expression => '#c', expression_names => '{\"#c\": \"counterValue\"}')")"
r=$(verbose "SELECT dynamo_update_item('$DD', '{\"context\": \"campaign-1\", \"id\": \"total\"}', 'ADD counterValue :s', expression_values => '{\":s\": \"five\"}')")
expect_true "ADD of a string to a number: 22023, DynamoDB's words in DETAIL" \
	bash -c 'grep -q "ERROR:  22023" <<<"$1" && grep -q "DETAIL:  ValidationException" <<<"$1"' _ "$r"

# --- binary keys
sql -c "SELECT dynamo_put_item('$BIN', '{\"k\": {\"\$b\": \"AAEC/w==\"}, \"v\": 1}')" >/dev/null
expect_eq "a binary key: put and got back with \$b" '{"k": {"$b": "AAEC/w=="}, "v": 1}' \
	"$(sql -c "SELECT dynamo_get_item('$BIN', '{\"k\": {\"\$b\": \"AAEC/w==\"}}')")"
r=$(verbose "SELECT dynamo_get_item('$BIN', '{\"k\": \"AAEC/w==\"}')")
expect_true "...a string for it: 22023, the key must be binary" grep -q 'the key attribute "k" must be binary' <<<"$r"

# --- a GSI query with a sort-key range; a filter across pages
sql -c "SELECT dynamo_batch_write_items('$ORD', (SELECT jsonb_agg(jsonb_build_object('customerId', 'c' || (i % 3),
	'orderDate', '2026-01-' || lpad(i::text, 2, '0'), 'status', CASE WHEN i % 2 = 0 THEN 'SHIPPED' ELSE 'OPEN' END, 'n', i))
	FROM generate_series(1, 28) i))" >/dev/null
expect_eq "a GSI query: status = SHIPPED, orderDate between the 5th and the 20th (8 orders, in date order)" \
	"6,8,10,12,14,16,18,20" \
	"$(sql -c "SELECT string_agg(i->>'n', ',') FROM dynamo_query_items('$ORD', '#st = :s AND orderDate BETWEEN :a AND :b',
		'{\":s\": \"SHIPPED\", \":a\": \"2026-01-05\", \":b\": \"2026-01-20\"}', '{\"#st\": \"status\"}', index_name => 'ByStatus') i")"
expect_eq "...backwards" "20" \
	"$(sql -c "SELECT i->>'n' FROM dynamo_query_items('$ORD', '#st = :s AND orderDate BETWEEN :a AND :b',
		'{\":s\": \"SHIPPED\", \":a\": \"2026-01-05\", \":b\": \"2026-01-20\"}', '{\"#st\": \"status\"}', index_name => 'ByStatus', scan_forward => false, max_items => 1) i")"
r=$(verbose "SELECT count(*) FROM dynamo_query_items('$ORD', '#st = :s', '{\":s\": \"OPEN\"}', '{\"#st\": \"status\"}', index_name => 'ByStatus', consistent => true)")
expect_eq "a consistent read on a GSI: refused by DynamoDB, 22023" 22023 "$(code "$r")"
filtered="SET dynamo_atomic.query_page_size = 3"
expect_eq "a filter that drops rows across pages of 3: customer c1's SHIPPED orders (5 of 10)" "4,10,16,22,28|5" \
	"$(sql -c "$filtered" -c "SELECT string_agg(i->>'n', ',' ORDER BY i->>'orderDate'), count(*) FROM dynamo_query_items('$ORD', 'customerId = :c',
		'{\":c\": \"c1\", \":s\": \"SHIPPED\"}', filter_expression => '#st = :s', expression_names => '{\"#st\": \"status\"}') i")"
expect_eq "...max_items counts rows after the filter" "4,10" \
	"$(sql -c "$filtered" -c "SELECT string_agg(i->>'n', ',') FROM dynamo_query_items('$ORD', 'customerId = :c',
		'{\":c\": \"c1\", \":s\": \"SHIPPED\"}', filter_expression => '#st = :s', expression_names => '{\"#st\": \"status\"}', max_items => 2) i")"
expect_eq "a projection returns only what it names" '{"n": 1}' \
	"$(sql -c "SELECT i FROM dynamo_query_items('$ORD', 'customerId = :c', '{\":c\": \"c1\"}', projection_expression => 'n', max_items => 1) i")"

# --- a parallel scan in 4 segments: every item exactly once
sql -c "SELECT dynamo_batch_write_items('$PC', (SELECT jsonb_agg(jsonb_build_object('Id', 1000 + i, 'Kind', 'scan')) FROM generate_series(1, 60) i))" >/dev/null
expect_eq "a scan in 4 segments (pages of 7): 60 items, 60 distinct, each segment some" "60|60|4" \
	"$(sql -c "SET dynamo_atomic.query_page_size = 7" -c "SELECT count(*), count(DISTINCT i->>'Id'), count(DISTINCT s) FROM generate_series(0, 3) s,
		dynamo_scan_items('$PC', filter_expression => 'Kind = :k', expression_values => '{\":k\": \"scan\"}', segment => s, total_segments => 4) i")"
r=$(verbose "SELECT count(*) FROM dynamo_scan_items('$PC', segment => 4, total_segments => 4)")
expect_eq "a segment out of range: 22023" 22023 "$(code "$r")"

# --- batches on a numeric key
expect_eq "batch get: in the order of the keys, a missing key gives no row" "1003,1001,1060" \
	"$(sql -c "SELECT string_agg(i->>'Id', ',') FROM dynamo_batch_get_items('$PC', '[{\"Id\": 1003}, {\"Id\": 1001}, {\"Id\": 99999}, {\"Id\": 1060}]') i")"
expect_eq "...with a projection, the items still match their keys" '{"Id": 1002, "Kind": "scan"}' \
	"$(sql -c "SELECT i FROM dynamo_batch_get_items('$PC', '[{\"Id\": 1002}]', projection_expression => 'Kind') i")"
expect_eq "...a projection naming a key attribute itself" '{"Id": 1002, "Kind": "scan"}' \
	"$(sql -c "SELECT i FROM dynamo_batch_get_items('$PC', '[{\"Id\": 1002}]', projection_expression => '#i, Kind', expression_names => '{\"#i\": \"Id\"}') i")"
expect_eq "...a number key written 1002.0 finds item 1002 (DynamoDB keeps numbers canonical)" 1 \
	"$(sql -c "SELECT count(*) FROM dynamo_batch_get_items('$PC', '[{\"Id\": 1002.0}]')")"
r=$(verbose "SELECT count(*) FROM dynamo_batch_get_items('$PC', '[{\"Id\": 1002}, {\"Id\": 1002.00}]')")
expect_true "...and 1002 with 1002.00 is one key named twice: 22023 before anything is sent" grep -q 'ERROR:  22023: keys name the same item twice' <<<"$r"
expect_eq "batch write: 60 deletes and a put in one call" 61 \
	"$(sql -c "SELECT dynamo_batch_write_items('$PC', puts => '[{\"Id\": 7, \"Kind\": \"kept\"}]',
		deletes => (SELECT jsonb_agg(jsonb_build_object('Id', 1000 + i)) FROM generate_series(1, 60) i))")"
expect_eq "...the scan finds none of them now" 0 "$(sql -c "SELECT count(*) FROM dynamo_scan_items('$PC', filter_expression => 'Kind = :k', expression_values => '{\":k\": \"scan\"}')")"
r=$(verbose "SELECT dynamo_batch_write_items('$PC', puts => '[{\"Id\": 8}]', deletes => '[{\"Id\": 8}]')")
expect_true "a batch naming one item twice: 22023 before anything is sent" grep -q 'ERROR:  22023: puts and deletes name the same item twice' <<<"$r"

# --- a transaction across three tables
if dynalite; then
	r=$(verbose "SELECT dynamo_transact_write('[{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"x\"}}}]')")
	expect_eq "dynalite has no transactions: 0A000, nothing written" "0A000|t" \
		"$(code "$r")|$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"x\"}') IS NULL")"
else
	tx() {
		sql -c "SELECT applied, failed_action, failed_item FROM dynamo_transact_write(\$a\$[
			{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"order-1\", \"total\": 30}}},
			{\"update\": {\"table_name\": \"$TB\", \"key\": {\"id\": \"stock\"}, \"update_expression\": \"SET units = units - :n\",
				\"condition_expression\": \"units >= :n\", \"expression_values\": {\":n\": $1}}},
			{\"condition_check\": {\"table_name\": \"$TC\", \"key\": {\"id\": \"customer-1\"},
				\"condition_expression\": \"#s = :active\", \"expression_names\": {\"#s\": \"state\"}, \"expression_values\": {\":active\": \"active\"}}}
		]\$a\$)"
	}
	sql -c "SELECT dynamo_put_item('$TB', '{\"id\": \"stock\", \"units\": 5}')" -c "SELECT dynamo_put_item('$TC', '{\"id\": \"customer-1\", \"state\": \"active\"}')" >/dev/null
	expect_eq "a transaction whose second action's condition fails: applied false, failed_action 1, the item as it is" \
		'f|1|{"id": "stock", "units": 5}' "$(tx 10)"
	expect_eq "...nothing written: no order in A, stock still 5 in B" "t|5" \
		"$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"order-1\"}') IS NULL, dynamo_get_item('$TB', '{\"id\": \"stock\"}')->>'units'")"
	expect_eq "the same transaction within the stock: applied" "t||" "$(tx 2)"
	expect_eq "...every table written" "30|3" \
		"$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"order-1\"}')->>'total', dynamo_get_item('$TB', '{\"id\": \"stock\"}')->>'units'")"
	r=$(verbose "SELECT dynamo_transact_write('[{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"x\"}, \"condition\": \"attribute_not_exists(id)\"}}]')")
	expect_true "a misspelt part of an action is refused (22023), not dropped" grep -q 'ERROR:  22023: action 0: "condition" is not a part of an action' <<<"$r"
	r=$(verbose "SELECT dynamo_transact_write('[{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"x\"}, \"condition_expression\": \"attribute_exists(id)\"}}]', raise_on_condition_failure => true)")
	expect_eq "raise_on_condition_failure in a transaction: 23514" 23514 "$(code "$r")"
fi

# --- protection: the locks stay the lock functions' own
sql -c "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" -c "SELECT dynamo_create_item_table('${T}Items', if_not_exists => true)" >/dev/null
r=$(verbose "SELECT dynamo_put_item('${T}Locks', '{\"lock_name\": \"job\", \"owner\": \"me\"}')")
expect_eq "a put to a lock table: 42501, nothing sent" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_update_item('${T}Items', '{\"pk\": \"job\", \"sk\": \"#lock\"}', 'SET lease_until = :x', expression_values => '{\":x\": 0}')")
expect_eq "an update of a lock's item in a single table (sk #lock): 42501" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_delete_item('${T}Items', '{\"pk\": \"job\", \"sk\": \"#lock-other\"}')")
expect_eq "...a delete of any sk beginning #lock: 42501" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_transact_write('[{\"delete\": {\"table_name\": \"${T}Locks\", \"key\": {\"lock_name\": \"job\"}}}]')")
expect_eq "...a transaction's action on a lock: 42501" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_batch_write_items('${T}Locks', deletes => '[{\"lock_name\": \"job\"}]')")
expect_eq "...a batch's delete of a lock: 42501" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_put_item('$PC', '{\"Id\": 9, \"lock_name\": \"job\", \"owner\": \"me\"}')")
expect_eq "an item with a lock's form (lock_name), even in a table keyed Id: 42501 (its table may be a lock table by now)" 42501 "$(code "$r")"
r=$(verbose "SELECT dynamo_put_item('$PC', '{\"Id\": 9, \"pk\": \"job\", \"sk\": \"#lock\"}')")
expect_eq "...or pk with an sk beginning #lock: 42501" 42501 "$(code "$r")"
if ! dynalite; then
	r=$(verbose "SELECT dynamo_transact_write('[{\"condition_check\": {\"table_name\": \"${T}Locks\", \"key\": {\"lock_name\": \"job\"}, \"condition_expression\": \"attribute_exists(lock_name)\"}}]')")
	expect_eq "...a transaction's condition_check on a lock: 42501" 42501 "$(code "$r")"
fi
expect_eq "an item beside the locks in a single table is written as any other" t \
	"$(sql -c "SELECT applied FROM dynamo_put_item('${T}Items', '{\"pk\": \"job\", \"sk\": \"lockless\"}')")"
r=$(verbose "SET dynamo_atomic.allowed_tables = '$PC'" "SELECT count(*) FROM dynamo_query_items('$ORD', '#st = :s', '{\":s\": \"OPEN\"}', '{\"#st\": \"status\"}', index_name => 'ByStatus')")
expect_eq "allowed_tables applies to an index query" 42501 "$(code "$r")"
r=$(verbose "SET dynamo_atomic.allowed_tables = '$TA'" "SELECT dynamo_transact_write('[{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"y\"}}}, {\"put\": {\"table_name\": \"$TB\", \"item\": {\"id\": \"y\"}}}]')")
expect_eq "...and to every table of a transaction" 42501 "$(code "$r")"

# --- lost answers: the front applies the write and drops its answer
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
sent() { curl -s --max-time 5 "$fake/_log" | grep -c "\"target\":\"DynamoDB_20120810.$1\"" || true; }
via="SET dynamo_atomic.endpoint = '$fake'"

control "fault=drop-answer&target=PutItem&match=lost-put&count=1"
expect_eq "a put without a condition whose answer is lost: resent, applied" t \
	"$(sql -c "$via" -c "SELECT applied FROM dynamo_put_item('$TA', '{\"id\": \"lost-put\", \"v\": 1}')")"
expect_eq "...sent twice" 2 "$(sent PutItem)"

sql -c "SELECT dynamo_put_item('$TA', '{\"id\": \"lost-add\", \"n\": 0}')" >/dev/null
control "fault=drop-answer&target=UpdateItem&match=lost-add&count=1"
r=$(verbose "$via" "SELECT dynamo_update_item('$TA', '{\"id\": \"lost-add\"}', 'ADD n :one', expression_values => '{\":one\": 1}')")
expect_eq "an update that adds, its answer lost: 40003, not resent" "40003|1" "$(code "$r")|$(sent UpdateItem)"
expect_eq "...the first sending was applied, once" 1 "$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"lost-add\"}')->>'n'")"

control "fault=drop-answer&target=PutItem&match=lost-cond&count=1"
r=$(verbose "$via" "SELECT dynamo_put_item('$TA', '{\"id\": \"lost-cond\"}', condition_expression => 'attribute_not_exists(id)')")
expect_eq "a conditional put, its answer lost, the resend's condition failing on its own write: 40003, not 'condition failed'" \
	"40003|2" "$(code "$r")|$(sent PutItem)"
expect_eq "...the item is there" f "$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"lost-cond\"}') IS NULL")"

control "fault=drop-answer&target=PutItem&match=lost-throttled&count=1"
control "fault=throttle&target=PutItem&match=lost-throttled&add=1"
r=$(verbose "$via" "SET dynamo_atomic.max_retries = 2" "SELECT dynamo_put_item('$TA', '{\"id\": \"lost-throttled\"}', condition_expression => 'attribute_not_exists(id)')")
expect_eq "a conditional put, its answer lost, its resends throttled to the end: 40003 (not 'throttled': the first may have been applied)" \
	40003 "$(code "$r")"
expect_eq "...and it was: the item is there" f "$(sql -c "SELECT dynamo_get_item('$TA', '{\"id\": \"lost-throttled\"}') IS NULL")"

control "fault=drop-answer&target=DeleteItem&match=lost-ret&count=1"
sql -c "SELECT dynamo_put_item('$TA', '{\"id\": \"lost-ret\"}')" >/dev/null
r=$(verbose "$via" "SELECT dynamo_delete_item('$TA', '{\"id\": \"lost-ret\"}', return_values => 'ALL_OLD')")
expect_eq "a delete returning ALL_OLD, its answer lost: 40003, not resent (a resend's ALL_OLD would be empty)" "40003|1" \
	"$(code "$r")|$(sent DeleteItem)"

if ! dynalite; then
	sql -c "SELECT dynamo_put_item('$TB', '{\"id\": \"tally\", \"n\": 0}')" >/dev/null
	control "fault=drop-answer&target=TransactWriteItems&match=lost-tx&count=1"
	expect_eq "a transaction, its answer lost: resent with its token, applied" t \
		"$(sql -c "$via" -c "SELECT applied FROM dynamo_transact_write('[{\"update\": {\"table_name\": \"$TB\", \"key\": {\"id\": \"tally\"},
			\"update_expression\": \"ADD n :one\", \"expression_values\": {\":one\": 1}}},
			{\"put\": {\"table_name\": \"$TA\", \"item\": {\"id\": \"lost-tx\"}}}]')")"
	tokens=$(curl -s --max-time 5 "$fake/_log" | grep 'TransactWriteItems' | grep -o '\\"ClientRequestToken\\":\\"[0-9a-f]*' | sort -u | wc -l)
	expect_eq "...sent twice with one ClientRequestToken" "2|1" "$(sent TransactWriteItems)|$tokens"
	expect_eq "...and the ADD applied once" 1 "$(sql -c "SELECT dynamo_get_item('$TB', '{\"id\": \"tally\"}')->>'n'")"
fi

control "fault=drop-answer&target=BatchWriteItem&match=lost-batch&count=1"
expect_eq "a batch write, its answer lost: resent, every item written" "2|2" \
	"$(sql -c "$via" -c "SELECT dynamo_batch_write_items('$TA', '[{\"id\": \"lost-batch-1\"}, {\"id\": \"lost-batch-2\"}]')")|$(sql -c "SELECT count(*) FROM dynamo_batch_get_items('$TA', '[{\"id\": \"lost-batch-1\"}, {\"id\": \"lost-batch-2\"}]')")"

# --- a global table (MREC): conditions and updates refused, plain puts not
# (the table is described anew through the front: descriptions are kept per endpoint)
control "fault=global&target=DescribeTable&match=$TC&mode=mrec"
r=$(verbose "$via" "SELECT dynamo_update_item('$TC', '{\"id\": \"customer-1\"}', 'SET visits = :v', expression_values => '{\":v\": 1}')")
expect_eq "an update on an MREC global table: 55000 (a region's copy cannot guard it)" 55000 "$(code "$r")"
expect_eq "...a plain put there is written" t \
	"$(sql -c "$via" -c "SELECT applied FROM dynamo_put_item('$TC', '{\"id\": \"customer-2\"}')")"
r=$(verbose "$via" "SELECT dynamo_put_item('$TC', '{\"id\": \"customer-3\"}', condition_expression => 'attribute_not_exists(id)')")
expect_eq "...a conditional put there: 55000" 55000 "$(code "$r")"
expect_eq "...unless a superuser lists it in single_writer_tables" t \
	"$(sql -c "$via" -c "SET dynamo_atomic.single_writer_tables = '$TC'" -c "SELECT applied FROM dynamo_put_item('$TC', '{\"id\": \"customer-3\"}', condition_expression => 'attribute_not_exists(id)')")"
if ! dynalite; then
	MRSC=CaseMrscTable
	create "{\"TableName\":\"$MRSC\",\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],\"BillingMode\":\"PAY_PER_REQUEST\"}"
	control "fault=global&target=DescribeTable&match=$MRSC&mode=mrsc"
	r=$(verbose "$via" "SELECT dynamo_transact_write('[{\"put\": {\"table_name\": \"$MRSC\", \"item\": {\"id\": \"mrsc\"}}}]')")
	expect_eq "a transaction on an MRSC global table: 0A000 (DynamoDB has none there), nothing sent" "0A000|0" \
		"$(code "$r")|$(sent TransactWriteItems)"
	expect_eq "...an update there is allowed (its conditions are global)" t \
		"$(sql -c "$via" -c "SELECT applied FROM dynamo_update_item('$MRSC', '{\"id\": \"tally\"}', 'ADD n :one', expression_values => '{\":one\": 1}')")"
fi
