#!/usr/bin/env bash
# scale.sh - the benchmark of issue "IDs at scale", against one DynamoDB Local
# on loopback, interleaved, medians of REPS repetitions:
#   1. sequential increments: dynamo_increment vs a raw libcurl loop vs boto3
#   2. 8 clients: 8 backends looping (as the raw loops do) and pgbench (a
#      statement per increment) vs 8 raw-loop processes vs 8 boto3 threads
#   3. CPU per increment: the backend's vs the raw loop's
#   4. dynamo_nextval with cache 1, 100, 1000 vs nextval() of a CACHE 1000
#      sequence: one backend with one ID per statement, one backend with IDS
#      IDs in one statement, and 8 clients
#   5. requests per call from dynamo_atomic_stats
# Prints the figures and ratios, writes test/bench/results/scale.csv and
# draws test/bench/results/scale.png (gnuplot).
#
#   bash test/bench/scale.sh [N] [REPS] [IDS]     (defaults 5000, 3 and 200000)
# N: calls per measure of increments and of dynamo_nextval at cache 1;
# IDS: IDs taken in one statement (and IDS / 10 one per statement) at
# cache 100 and 1000 and from the native sequence.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export N=${1:-5000} REPS=${2:-3} IDS=${3:-200000}
harness_begin
for p in python3-boto3 gnuplot-nox; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
make -s test/bench/raw_curl_loop
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
mkdir -p "$RESULTS_DIR"
harness_run_in_cluster test/bench/scale_session.sh
