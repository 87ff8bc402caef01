#!/usr/bin/env bash
# hot_counter.sh - one hot counter against one item's write limit (issue
# "hot counters"): two clusters with CLIENTS clients each drive one counter
# through the fake front, which gives every item a token bucket of L writes
# per second and throttles beyond it as DynamoDB does for a hot key
# (TableWriteKeyRangeThroughputExceeded).  For L = 30, 100, 1000 and no
# limit (the machine's own ceiling; LIMITS="..." to choose), medians of REPS
# runs of SECONDS each:
#   - acknowledged increments per second, and that against L, for
#     dynamo_increment uncombined (one write per increment: at most about
#     1 x L), combined (one request per server carries its clients'
#     increments: up to CLIENTS x L) and a 16-shard tally (dynamo_tally_add:
#     up to 16 x L);
#   - values handed out twice (dynamo_increment: every value stored and
#     compared across both clusters);
#   - stored minus acknowledged (the counter or the tally's sum against the
#     calls that returned);
#   - requests per increment (writes the fake let through plus those it
#     throttled, per acknowledged increment; header writes included);
#   - the curve: combined increments against the clients per cluster
#     (CURVE_CLIENTS, default 1 2 4 8 16) at L = CURVE_LIMIT (100);
#   - single-client latency of each, unthrottled.
# Writes test/bench/results/hot_counter.csv.
#
#   bash test/bench/hot_counter.sh [SECONDS] [REPS] [CLIENTS]   (defaults 8, 3, 16)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export SECONDS_PER_RUN=${1:-8} REPS=${2:-3} CLIENTS=${3:-16}
harness_begin
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
mkdir -p "$RESULTS_DIR"
harness_run_in_cluster test/bench/hot_counter_session.sh
