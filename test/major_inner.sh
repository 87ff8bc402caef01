#!/usr/bin/env bash
# major_inner.sh - inside a Debian root of another PostgreSQL major (test/majors.sh
# runs it there): the cases named in DYNAMO_ATOMIC_ONLY in a throwaway cluster of
# that major, preloaded, against the DynamoDB Local at DDB_ENDPOINT (on the
# host's loopback).  Results go to $RESULTS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
: "${RESULTS:?}" "${DDB_ENDPOINT:?}" "${DYNAMO_ATOMIC_ONLY:?}"
harness_scrub_env
harness_make_run_dir
trap 'harness_stop_all' EXIT
mapfile -t pg_options < <(harness_pg_options)
pg_options+=(-o dynamo_atomic.max_id_counters=256)
log "PostgreSQL $(pg_config --version): $DYNAMO_ATOMIC_ONLY"
pg_virtualenv "${pg_options[@]}" bash test/suite.sh || echo "fail suite: test/suite.sh stopped early" >>"$RESULTS"
