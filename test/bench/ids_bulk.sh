#!/usr/bin/env bash
# ids_bulk.sh - bulk INSERT ... SELECT of ROWS rows whose IDs come from
# dynamo_nextval (a column default) or dynamo_id_trigger, against a column
# defaulting to a native CACHE 1000 sequence, medians of REPS runs:
#   - from a block already reserved (a cache larger than ROWS): what
#     handing out a reserved value costs per row;
#   - at cache 1000: with one UpdateItem per 1,000 rows, fetched ahead.
#
#   bash test/bench/ids_bulk.sh [ROWS] [REPS]     (defaults 200000 and 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export ROWS=${1:-200000} REPS=${2:-3}
harness_begin
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
mkdir -p "$RESULTS_DIR"
harness_run_in_cluster test/bench/ids_bulk_session.sh
