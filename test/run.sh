#!/usr/bin/env bash
# run.sh - the whole test suite, from a fresh machine (run as root).
#
# Installs what is missing, builds and installs the extension, runs the
# SigV4 unit test, starts DynamoDB Local and a throwaway PostgreSQL cluster
# (pg_virtualenv, with the extension preloaded), and runs pg_regress and the
# shell test cases inside it.  Stops everything it started.  Ends with
# "N passed, N failed" and a non-zero exit status on any failure.
#
#   bash test/run.sh               everything
#   bash test/run.sh NAME...       only these: test/cases/NAME.sh, "regress", "static",
#                                  "fuzz", "sanitizer", "packaging", "dynalite", "majors" or "soak"
#   FUZZ_SECONDS=600 bash test/run.sh fuzz   a longer fuzzing run (default 10 s a harness)
#   SOAK_SECONDS=600 bash test/run.sh soak   a longer soak (default 120 s; or test/soak/run.sh)
#   bash test/run.sh --sanitize locks ids items lost_answers
#                                  those cases against the extension built with
#                                  UndefinedBehaviorSanitizer (any report fails)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

if [[ ${1:-} == --sanitize ]]; then
	export DYNAMO_ATOMIC_SANITIZE=1
	shift
fi
export DYNAMO_ATOMIC_ONLY="$*"
harness_scrub_env
harness_make_run_dir
RESULTS=$(mktemp -t dynamo_atomic_results.XXXXXX)
export RESULTS
trap 'status=$?; harness_stop_all; rm -f "$RESULTS"; exit $status' EXIT

# part_done NAME: the time since the last part ended, for the summary at the end.
part_started=$SECONDS
part_times=()
part_done() {
	part_times+=("$1 $((SECONDS - part_started)) s")
	part_started=$SECONDS
}

harness_install_deps
harness_build
part_done "install and build"

log "SigV4 unit test"
unit_out=$(test/sigv4_test test/sigv4-test-suite test/sigv4-dynamodb-examples) || true
grep -v '^skip' <<<"$unit_out" || true
printf '(%s cases of presigned-URL signing skipped: not used by a DynamoDB client)\n' \
	"$(grep -c '^skip' <<<"$unit_out" || true)"
sed -n 's/^ok   \(.*\)/pass sigv4: \1/p; s/^FAIL \([^:]*\).*/fail sigv4: \1/p' <<<"$unit_out" >>"$RESULTS"
grep -qE '^[0-9]+ passed, 0 failed' <<<"$unit_out" || echo "fail sigv4: unit test did not finish cleanly" >>"$RESULTS"

for unit in container_url marshal http_response; do
	log "$unit unit test"
	unit_out=$("test/${unit}_test") || true
	grep -v '^ok' <<<"$unit_out" || true
	sed -n "s/^ok   \(.*\)/pass $unit: \1/p; s/^FAIL \([^:]*\).*/fail $unit: \1/p" <<<"$unit_out" >>"$RESULTS"
	grep -qE '^[0-9]+ passed, 0 failed' <<<"$unit_out" || echo "fail $unit: unit test did not finish cleanly" >>"$RESULTS"
done
part_done "unit tests"

step() { [[ -z $DYNAMO_ATOMIC_ONLY || " $DYNAMO_ATOMIC_ONLY " == *" $1 "* ]]; }

if step static; then
	log "static analysis: cppcheck and clang-tidy over src/"
	bash test/static_analysis.sh || true
	part_done "static analysis"
fi

if step fuzz; then
	log "fuzzing the parsers of outside input (${FUZZ_SECONDS:=10} s each, sanitizers on)"
	harness_fuzz "$FUZZ_SECONDS"
	part_done "fuzzing"
fi

harness_start_dynamodb
# Every case's counters share the cluster's ID slots (64 by default): room for all.
mapfile -t pg_options < <(harness_pg_options)
pg_options+=(-o dynamo_atomic.max_id_counters=256)
log "starting a throwaway PostgreSQL cluster"
if ! pg_virtualenv "${pg_options[@]}" bash test/suite.sh; then
	echo "fail suite: test/suite.sh stopped early (see above)" >>"$RESULTS"
fi
part_done "cases on PostgreSQL 15"

# pg_regress once more, against the extension built with UndefinedBehaviorSanitizer
# (see SANITIZER_CFLAGS for why not ASan there); then the usual build is
# installed again.  (--sanitize runs the selected cases so instead.)
if [[ -n ${DYNAMO_ATOMIC_SANITIZE:-} ]]; then
	if harness_sanitizers_silent; then
		echo "pass sanitizer: no UBSan report from any backend of these cases" >>"$RESULTS"
	else
		echo "fail sanitizer: UBSan reports (above)" >>"$RESULTS"
	fi
	unset DYNAMO_ATOMIC_SANITIZE
	harness_rebuild
	harness_build
elif step sanitizer; then
	harness_rebuild "$SANITIZER_CFLAGS"
	# pg_regress expects empty tables: a DynamoDB Local of its own
	kill "$DDB_PID" 2>/dev/null && wait "$DDB_PID" 2>/dev/null || true
	harness_start_dynamodb
	mapfile -t pg_options < <(DYNAMO_ATOMIC_SANITIZE=1 harness_pg_options)
	log "pg_regress against the UBSan build"
	pg_virtualenv "${pg_options[@]}" bash test/sanitized_regress.sh ||
		echo "fail sanitizer: test/sanitized_regress.sh stopped early" >>"$RESULTS"
	if harness_sanitizers_silent; then
		echo "pass sanitizer: no UBSan report from any backend" >>"$RESULTS"
	else
		echo "fail sanitizer: UBSan reports (above)" >>"$RESULTS"
	fi
	harness_rebuild
	harness_build
	part_done "sanitizer"
fi

# A packager's check: make installcheck as PGXS runs it, in a temporary
# instance of the installed server (preloaded, as the Makefile configures
# it), run as an ordinary user in a copy of the tree; and META.json agrees
# with the control file.
if step packaging; then
	log "packaging: make installcheck in a temporary instance; META.json"
	bash test/packaging.sh || echo "fail packaging: test/packaging.sh stopped early" >>"$RESULTS"
	part_done "packaging"
fi

# The counters, locks, items, IDs and single-table cases against dynalite,
# a second DynamoDB implementation.
if step dynalite; then
	bash test/dynalite.sh || echo "fail dynalite: test/dynalite.sh stopped early" >>"$RESULTS"
	part_done "dynalite"
fi

# PostgreSQL 17 and 18, each in a Debian root of its own (built on first use,
# cached outside the tree): the build, pg_regress, the README and the cases
# that touch version-sensitive code.
if step majors; then
	bash test/majors.sh || echo "fail majors: test/majors.sh stopped early" >>"$RESULTS"
	part_done "PostgreSQL 17 and 18"
fi

# the randomized fault soak, short profile: two clusters of its own
if step soak; then
	bash test/soak/run.sh --seconds "${SOAK_SECONDS:-120}" ||
		echo "fail soak: test/soak/run.sh stopped early" >>"$RESULTS"
	part_done "soak"
fi

passed=$(grep -c '^pass ' "$RESULTS" || true)
failed=$(grep -c '^fail ' "$RESULTS" || true)
if ((failed > 0)); then
	echo
	echo "Failures:"
	sed -n 's/^fail /  /p' "$RESULTS"
fi
echo
echo "Time by part: $(printf '%s; ' "${part_times[@]}")total $SECONDS s"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
