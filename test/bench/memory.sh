#!/usr/bin/env bash
# memory.sh - memory curves of one backend and of the lock workers, against
# DynamoDB Local on loopback (the long form of test/cases/memory.sh):
#   - 100,000 increments;
#   - 10,000 lock acquire/release cycles of each scope;
#   - dynamo_query in the select list over a 50,000-item partition, 5 times;
#   - 10,000 failing calls of each kind: throttled past the retry budget
#     (53400), answers lost (40003), validation errors (22023);
#   - the lock workers refreshing 200 locks with 2 s leases for 5 minutes
#     (about 90,000 heartbeats: what 200 locks with 30 s leases need in
#     an hour and a quarter).
# After each twentieth of a workload it samples the backend's VmRSS and its
# memory contexts' total (pg_backend_memory_contexts), or the workers' RSS;
# prints the growth after the first sample (the warm-up), writes
# test/bench/results/memory.csv and draws test/bench/results/memory.png.
#
#   bash test/bench/memory.sh [SCALE]     SCALE (default 1) multiplies every count
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export SCALE=${1:-1}
harness_begin
dpkg-query -W -f='${Status}' gnuplot-nox 2>/dev/null | grep -q 'install ok installed' ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
mkdir -p "$RESULTS_DIR"
harness_run_in_cluster test/bench/memory_session.sh
