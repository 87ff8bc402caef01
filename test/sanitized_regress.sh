#!/usr/bin/env bash
# sanitized_regress.sh - pg_regress against the extension built with
# UndefinedBehaviorSanitizer (no recovery: a report aborts the backend),
# inside pg_virtualenv; run by run.sh after the normal suite.  Passes when
# every regress test passes, the module really carries UBSan, and the
# server log holds no sanitizer report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
source test/lib/assert.sh

harness_guard_server_environment
rm -f regression.diffs
out=$(make -s installcheck 2>&1) || true
sed -nE 's/^(test)? +([a-z_0-9]+) +\.\.\. +ok .*/pass sanitizer: regress \2 (UBSan)/p; s/^(test)? +([a-z_0-9]+) +\.\.\. +FAILED.*/fail sanitizer: regress \2 (UBSan)/p' \
	<<<"$out" >>"$RESULTS"
grep -qE '\.\.\. +(ok|FAILED)' <<<"$out" || { echo "$out"; fail "sanitizer: pg_regress did not run"; }
[[ -f regression.diffs ]] && head -100 regression.diffs
# the module as a backend loads it: libubsan is mapped into that backend
mapped=$(psql -X -qAt 2>&1 <<-SQL
	SET application_name = 'ubsan-probe';
	SELECT count(*) FROM dynamo_atomic_backend_stats();
	\! grep -c libubsan /proc/\$(psql -X -qAt -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ubsan-probe'")/maps
SQL
)
expect_true "sanitizer: the module a backend loads carries UndefinedBehaviorSanitizer" test "$(tail -1 <<<"$mapped")" -ge 1
log=$(readlink -f "$PG_CLUSTER_CONF_ROOT/15/regress/log")
reports=$(grep -c 'runtime error' "$log" || true)
grep -m5 'runtime error' "$log" || true
expect_eq "sanitizer: no UBSan report in the server log" 0 "$reports"
