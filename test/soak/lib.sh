# shellcheck shell=bash
# lib.sh - what the soak's scripts share.  Source after harness.sh.

SOAK_STATEMENT_TIMEOUT_MS=8000

# pg_virtualenv options of a soak cluster: preloaded, every request through
# the fake front at $FAKE, short request timeouts (the front delays answers
# past them) and a statement_timeout every call must keep to.
soak_pg_options() {
	harness_pg_base_options
	printf '%s\n' \
		-o "dynamo_atomic.endpoint=$FAKE" \
		-o "dynamo_atomic.region=$TEST_REGION" \
		-o "dynamo_atomic.access_key_id=$TEST_ACCESS_KEY_ID" \
		-o "dynamo_atomic.secret_access_key=$TEST_SECRET_ACCESS_KEY" \
		-o "dynamo_atomic.counter_table=SoakCounters" \
		-o "dynamo_atomic.lock_table=SoakLocks" \
		-o "dynamo_atomic.item_table=SoakItems" \
		-o "dynamo_atomic.request_timeout_ms=2000" \
		-o "dynamo_atomic.connect_timeout_ms=1000" \
		-o "dynamo_atomic.max_retries=5" \
		-o "statement_timeout=$SOAK_STATEMENT_TIMEOUT_MS" \
		-o "max_connections=40"
}

# soak_event KIND DETAIL: one line of the fault schedule's record
soak_event() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$(date +%s%3N)" >>"$SOAK_DIR/faults"
}

# soak_dynamodb_restart: DynamoDB Local again, on its port and its files
soak_dynamodb_restart() {
	harness_start_dynamodb "$SOAK_DIR/dynamodb.log" "$SOAK_DIR/db" "$DDB_PORT" >/dev/null 2>&1
	echo "$DDB_PID" >"$SOAK_DIR/dynamodb.pid"
}
