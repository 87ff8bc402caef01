#!/usr/bin/env bash
# major_inner.sh - inside a Debian root of another PostgreSQL major (test/majors.sh
# runs it there): the cases named in DYNAMO_ATOMIC_ONLY in a throwaway cluster of
# that major, preloaded, against the DynamoDB Local at DDB_ENDPOINT (on the
# host's loopback); then the clusters' logs are searched for an assertion
# failure (TRAP: the extension is built with its Asserts on, and the cassert
# root's server has its own).  Only the clusters still listed at the end
# are read: a second cluster a case starts is dropped with its log, and
# such a case sees a TRAP there as a failed check.  Results go to $RESULTS.
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
# shellcheck disable=SC2016
pg_virtualenv "${pg_options[@]}" bash -c '
	bash test/suite.sh || echo "fail suite: test/suite.sh stopped early" >>"$RESULTS"
	logs=$(pg_lsclusters -h | awk "{ print \$7 }")
	if traps=$(cat $logs /dev/null | grep "TRAP:"); then
		echo "$traps" | head -5
		echo "fail no assertion failure (TRAP) in the server log" >>"$RESULTS"
	elif (($(cat $logs /dev/null | wc -l) == 0)); then
		echo "fail no assertion failure (TRAP) in the server log: no log was found to read" >>"$RESULTS"
	else
		echo "pass no assertion failure (TRAP) in the server log ($(cat $logs /dev/null | wc -l) lines)" >>"$RESULTS"
	fi' || echo "fail suite: pg_virtualenv stopped early" >>"$RESULTS"
