#!/usr/bin/env bash
# hot_counter_session.sh - hot_counter.sh inside cluster A: starts the fake
# front and cluster B, then runs every measure with both clusters at once.
set -euo pipefail
: "${SECONDS_PER_RUN:?} ${REPS:?} ${CLIENTS:?} ${DDB_ENDPOINT:?} ${RESULTS_DIR:?}"
source test/lib/harness.sh
export RESULTS=${RESULTS:-$(mktemp)}	# assert.sh's pass/fail file (start_helper comes from there)
source test/lib/assert.sh

WORK=$(mktemp -d)
trap 'harness_stop_all; rm -rf "$WORK"' EXIT
start_helper port "$WORK/fake.port" env FAKE_AWS_LIFETIME_S=3600 node test/helpers/fake_aws.js "$WORK/fake.port" "$DDB_ENDPOINT"
export FAKE="http://127.0.0.1:$port" WORK
psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "SELECT dynamo_create_counter_table('HotBench')" \
	-c "CREATE TABLE got (v bigint)" >/dev/null
export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
mapfile -t b_options < <(harness_pg_options)
pg_virtualenv "${b_options[@]}" -o max_connections=60 bash test/bench/hot_counter_runs.sh
