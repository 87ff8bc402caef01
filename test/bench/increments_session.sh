#!/usr/bin/env bash
# increments_session.sh - the measurements of increments.sh, run inside its cluster.
set -euo pipefail
: "${N:?} ${DDB_ENDPOINT:?}"

# Milliseconds one psql session takes for QUERY, timed inside the server.
time_in_session() {
	psql -X -qAt -c "$1" -c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" \
		-c "$2" -c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" |
		awk -F'|' '$1 == "T" {t[++k] = $2} END {printf "%.3f", t[2] - t[1]}'
}

psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "SELECT dynamo_create_counter_table('BenchCounters')" >/dev/null
# warm-up: DynamoDB Local's JIT, and each client's connection
test/bench/raw_curl_loop "$DDB_ENDPOINT" BenchCounters warm 500 >/dev/null
psql -X -qAt -c "SELECT count(dynamo_increment('warm', table_name => 'BenchCounters')) FROM generate_series(1, 500)" >/dev/null

raw_ms=$(test/bench/raw_curl_loop "$DDB_ENDPOINT" BenchCounters raw "$N" | awk '{print $5}')
# the first call opens the backend's connection, outside the timed part
ext_ms=$(time_in_session "SELECT dynamo_increment('ext', table_name => 'BenchCounters')" \
	"SELECT count(dynamo_increment('ext', table_name => 'BenchCounters')) FROM generate_series(1, $N)")
seq_ms=$(time_in_session "CREATE TEMP SEQUENCE s" "SELECT count(nextval('s')) FROM generate_series(1, $N)")

awk -v n="$N" -v raw="$raw_ms" -v ext="$ext_ms" -v seq="$seq_ms" 'BEGIN {
	printf "%-36s %10s %12s %10s\n", "one client, " n " increments", "total ms", "ms per call", "calls/s"
	printf "%-36s %10.1f %12.3f %10.0f\n", "raw libcurl loop (baseline)", raw, raw / n, n * 1000 / raw
	printf "%-36s %10.1f %12.3f %10.0f\n", "dynamo_increment(), one backend", ext, ext / n, n * 1000 / ext
	printf "%-36s %10.3f %12.5f %10.0f\n", "nextval(), local sequence (scale)", seq, seq / n, n * 1000 / seq
	printf "ratio dynamo_increment / raw libcurl: %.2f\n", ext / raw
}'
