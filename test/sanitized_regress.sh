#!/usr/bin/env bash
# sanitized_regress.sh - pg_regress against the extension built with
# UndefinedBehaviorSanitizer (no recovery: a report aborts the backend),
# inside pg_virtualenv; run by run.sh after the normal suite.  Passes when
# every regress test passes and a backend really runs the instrumented
# module; run.sh then checks that no report was written.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
source test/lib/assert.sh

harness_guard_server_environment
rm -f regression.diffs
out=$(make -s installcheck USE_RUNNING_SERVER=1 2>&1) || true
sed -nE 's/^(test)? +([a-z_0-9]+) +\.\.\. +ok .*/pass sanitizer: regress \2 (UBSan)/p; s/^(test)? +([a-z_0-9]+) +\.\.\. +FAILED.*/fail sanitizer: regress \2 (UBSan)/p' \
	<<<"$out" >>"$RESULTS"
grep -qE '\.\.\. +(ok|FAILED)' <<<"$out" || { echo "$out"; fail "sanitizer: pg_regress did not run"; }
[[ -f regression.diffs ]] && head -100 regression.diffs
# the ends of bigint, where a signed overflow is most likely
bash test/cases/int_bounds.sh || fail "sanitizer: cases/int_bounds.sh stopped early"
# the module as a backend loads it: the runtime is mapped into that backend
maps=$(psql -X -qAt 2>&1 <<-SQL
	SET application_name = 'sanitizer-probe';
	SELECT count(*) FROM dynamo_atomic_backend_stats();
	\! cat /proc/\$(psql -X -qAt -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'sanitizer-probe'")/maps
SQL
)
expect_true "sanitizer: a backend that loaded the module runs UndefinedBehaviorSanitizer" grep -q libubsan <<<"$maps"
expect_true "...and the module installed is the instrumented build" \
	grep -q __ubsan_handle <<<"$(nm -D "$(pg_config --pkglibdir)/dynamo_atomic.so")"
