#!/usr/bin/env bash
# per_call.sh - the per-call cost of dynamo_increment measured as an outside
# benchmark measures it, next to the in-statement measure of scale.sh:
#   - a PL/pgSQL loop reading clock_timestamp() around each call, against a
#     raw libcurl C loop sending the same signed request over one
#     kept-alive connection (test/bench/raw_curl_loop.c);
#   - the same calls in one SELECT over generate_series (scale.sh's measure);
#   - 8 clients, each a PL/pgSQL loop, against 8 raw loops;
#   - CPU per increment: the backend's own, and the whole postmaster
#     process tree's (backend, lock workers, every other server process),
#     against the raw loop's own;
#   - the same raw loop over the direct requests' transport (RAW_LOOP_DIRECT:
#     libcurl connects, the loop writes requests and reads answers), the
#     floor of what the extension now does per call.
# The raw loop and the backends take turns in CHUNKS pieces within each
# repetition, so that a slower spell of DynamoDB Local falls on all;
# medians of REPS.  Writes test/bench/results/per_call.csv and .txt.
#
#   bash test/bench/per_call.sh [N] [REPS]     (defaults 5000 and 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export N=${1:-5000} REPS=${2:-3}
harness_begin
make -s test/bench/raw_curl_loop
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
mkdir -p "$RESULTS_DIR"
harness_run_in_cluster test/bench/per_call_session.sh
