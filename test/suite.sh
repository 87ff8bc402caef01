#!/usr/bin/env bash
# suite.sh - the tests that need a server; run by run.sh inside pg_virtualenv
# (PGHOST, PGPORT, PGUSER and PGPASSWORD point at the throwaway cluster).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
source test/lib/assert.sh

harness_guard_server_environment

# run.sh NAME...: only those (test/cases/NAME.sh, or "regress").
only=${DYNAMO_ATOMIC_ONLY:-}
wanted() { [[ -z $only || " $only " == *" $1 "* ]]; }

if wanted regress; then
log "pg_regress (make installcheck)"
rm -f regression.diffs
regress_out=$(make -s installcheck USE_RUNNING_SERVER=1 2>&1) || true
echo "$regress_out"
# pg_regress's lines: "test NAME ... ok" until 15, TAP ("ok 1 - NAME", "not ok 2 - NAME") from 16
sed -nE 's/^(test)? +([a-z_0-9]+) +\.\.\. +ok .*/pass regress: \2/p; s/^(test)? +([a-z_0-9]+) +\.\.\. +FAILED.*/fail regress: \2/p;
	s/^ok +[0-9]+ +[-+] +([a-z_0-9]+) .*/pass regress: \1/p; s/^not ok +[0-9]+ +[-+] +([a-z_0-9]+) .*/fail regress: \1/p' \
	<<<"$regress_out" >>"$RESULTS"
grep -qE '\.\.\. +(ok|FAILED)|^(not )?ok +[0-9]+ ' <<<"$regress_out" || fail "regress: pg_regress did not run"
[[ -f regression.diffs ]] && head -200 regression.diffs
fi

for case in test/cases/*.sh; do
	name=$(basename "$case" .sh)
	wanted "$name" || continue
	log "${case#test/}"
	bash "$case" || fail "${case#test/}: stopped early with status $?"
done
