#!/usr/bin/env bash
# The errors a new user meets while setting up, each saying what is wrong:
# an endpoint that is not DynamoDB (this PostgreSQL's own port, which closes
# an HTTP request without a word), https:// to a plain-HTTP port, a table
# created twice, and a missing table whose HINT names the function that
# creates it and the setting its name came from.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseSetupErrors
case_begin "$T"

# Runs the statements (verbose errors) into $work/err; err PART reads the
# first error's SQLSTATE, message, DETAIL or HINT from it.
run() {
	local args=() s
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -qAt -v VERBOSITY=verbose "${args[@]}" >"$work/err" 2>&1 || true
}
err() {
	case $1 in
	code) sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' "$work/err" | head -1 ;;
	message) sed -n 's/^ERROR:  [0-9A-Z]\{5\}: //p' "$work/err" | head -1 ;;
	detail) sed -n 's/^DETAIL:  //p' "$work/err" | head -1 ;;
	hint) sed -n 's/^HINT:  //p' "$work/err" | head -1 ;;
	esac
}

# --- an endpoint that is not DynamoDB: this cluster's own port
not_ddb="http://127.0.0.1:${PGPORT:?}"
run "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = '$not_ddb'" \
	"SELECT dynamo_get_last_value('x', '$T')"
expect_eq "a read from PostgreSQL's port: the endpoint closed without an HTTP answer (08006)" \
	"08006|the endpoint $not_ddb closed the connection without an HTTP answer" "$(err code)|$(err message)"
expect_eq "...and the HINT suspects the endpoint" \
	"If every call ends so, dynamo_atomic.endpoint may not be a DynamoDB endpoint." "$(err hint)"
run "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = '$not_ddb'" \
	"SELECT dynamo_increment('x', 1, '$T')"
expect_eq "an increment there first asks DescribeTable (is the table global?): 08006, nothing written" \
	"08006|the endpoint $not_ddb closed the connection without an HTTP answer" "$(err code)|$(err message)"
# declared written by this region alone, the table is not described: the increment itself is sent
run "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = '$not_ddb'" \
	"SET dynamo_atomic.single_writer_tables = '$T'" "SELECT dynamo_increment('x', 1, '$T')"
expect_eq "an increment there is still a lost answer (40003: it was sent)" 40003 "$(err code)"
expect_true "...whose DETAIL says the endpoint may not be DynamoDB" \
	grep -q "closed the connection without an HTTP answer (if every call ends so, dynamo_atomic.endpoint $not_ddb may not be a DynamoDB endpoint)" <<<"$(err detail)"

# --- https:// to DynamoDB Local's plain-HTTP port
tls="https://127.0.0.1:$DDB_PORT"
run "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = '$tls'" \
	"SELECT dynamo_get_last_value('x', '$T')"
expect_eq "https:// to a plain-HTTP port: the endpoint does not speak TLS (58000, not retried)" \
	"58000|the endpoint $tls does not speak TLS" "$(err code)|$(err message)"
expect_true "...and the HINT says to use http://" grep -q "use http:// in dynamo_atomic.endpoint" <<<"$(err hint)"

# --- a table created twice
run "SELECT dynamo_create_counter_table('$T')"
expect_eq "creating an existing table: 42P07, the HINT naming if_not_exists" \
	"42P07|Pass if_not_exists => true to accept an existing table." "$(err code)|$(err hint)"

# --- a missing table: from the setting, and given as an argument
run "SET dynamo_atomic.counter_table = 'NoSuchCounters'" "SELECT dynamo_increment('x')"
expect_eq "a missing counter table named by the setting: 42P01, the HINT names its creator and the setting" \
	"42P01|Create it with dynamo_create_counter_table('NoSuchCounters') (the name came from the setting dynamo_atomic.counter_table), or check dynamo_atomic.region and dynamo_atomic.endpoint." \
	"$(err code)|$(err hint)"
# ...and for dynamo_nextval on its second call, resolved before, after a call that named another table
run "SET dynamo_atomic.counter_table = 'NoSuchCounters'" "SELECT dynamo_nextval('x', 1)" \
	"SELECT dynamo_increment('y', 1, '$T')" "SELECT dynamo_nextval('x', 1)"
expect_eq "a counter resolved earlier in the session: its missing table's HINT still names the setting" \
	"2|Create it with dynamo_create_counter_table('NoSuchCounters') (the name came from the setting dynamo_atomic.counter_table), or check dynamo_atomic.region and dynamo_atomic.endpoint." \
	"$(grep -c '^ERROR:  42P01' "$work/err")|$(sed -n 's/^HINT:  //p' "$work/err" | tail -1)"
run "SELECT dynamo_try_get_lock('x', 30000, 'NoSuchLocks')"
expect_eq "a missing lock table given as an argument: the HINT names dynamo_create_lock_table" \
	"42P01|Create it with dynamo_create_lock_table('NoSuchLocks'), or check dynamo_atomic.region and dynamo_atomic.endpoint." \
	"$(err code)|$(err hint)"
run "SET dynamo_atomic.item_table = 'NoSuchItems'" "SELECT dynamo_get('p', 's')"
expect_eq "...and a missing item table, dynamo_create_item_table" \
	"42P01|Create it with dynamo_create_item_table('NoSuchItems') (the name came from the setting dynamo_atomic.item_table), or check dynamo_atomic.region and dynamo_atomic.endpoint." \
	"$(err code)|$(err hint)"

# --- dynamo_atomic.allowed_tables covers every table a request names:
#     batches (RequestItems) and transactions (TransactItems) too
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_item_table('${T}Items', if_not_exists => true)" >/dev/null
allow="SET dynamo_atomic.allowed_tables = '$T'"
for call in \
	"SELECT dynamo_put_many('[{\"pk\": \"a\", \"sk\": \"b\"}]', '${T}Items')" \
	"SELECT count(*) FROM dynamo_get_many('[{\"pk\": \"a\", \"sk\": \"b\"}]', '${T}Items')" \
	"SELECT dynamo_put('{\"pk\": \"a\", \"sk\": \"b\"}', '${T}Items')"; do
	run "$allow" "$call"
	expect_eq "a table outside allowed_tables is refused (42501): ${call:7:40}" \
		"42501|DynamoDB table \"${T}Items\" is not in dynamo_atomic.allowed_tables" "$(err code)|$(err message)"
done
run "SET dynamo_atomic.allowed_tables = '$T,${T}Locks'" "SELECT dynamo_create_lock_table('${T}Locks', if_not_exists => true)" \
	"SELECT dynamo_set_atomic('{\"pk\": \"a\", \"sk\": \"b\"}', dynamo_read_lock('doc', '${T}Locks'), '${T}Items')"
expect_eq "...and so is a dynamo_set_atomic (one transaction) writing there" \
	"42501|DynamoDB table \"${T}Items\" is not in dynamo_atomic.allowed_tables" "$(err code)|$(err message)"
expect_eq "...which wrote nothing" "" "$(sql -c "SELECT dynamo_get('a', 'b', '${T}Items')")"
run "$allow" "SELECT dynamo_nextval('x', 10, '${T}Elsewhere')"
expect_eq "dynamo_nextval on a table outside allowed_tables: 42501 before a shared ID slot is taken" \
	"42501|DynamoDB table \"${T}Elsewhere\" is not in dynamo_atomic.allowed_tables" "$(err code)|$(err message)"
