#!/usr/bin/env bash
# dynalite.sh - the counters, locks, items, IDs, single-table and existing-table cases once
# more, against dynalite (npm), a DynamoDB implementation other than AWS's
# DynamoDB Local: an extension that only works against one emulator's quirks
# is not yet working against DynamoDB.  Their results are recorded with a
# "dynalite: " prefix.  Called by run.sh (step "dynalite") with the harness
# loaded; README "Tests and benchmarks" lists the differences that matter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

CASES=${DYNALITE_CASES:-"counters locks items ids single_table existing_tables"}
harness_fetch_dynalite
harness_start_dynalite "$HARNESS_RUN_DIR/dynalite.log"
trap 'kill "$DDB_PID" 2>/dev/null || true' EXIT

own=$(mktemp "$HARNESS_RUN_DIR/dynalite-results.XXXXXX")
mapfile -t pg_options < <(harness_pg_options)
log "a throwaway cluster against dynalite: $CASES"
RESULTS=$own DYNAMO_ATOMIC_ONLY="$CASES" DYNAMO_ATOMIC_DYNALITE=1 pg_virtualenv "${pg_options[@]}" bash test/suite.sh ||
	echo "fail suite: test/suite.sh stopped early against dynalite" >>"$own"
sed -E 's/^(pass|fail) /\1 dynalite: /' "$own" >>"$RESULTS"
