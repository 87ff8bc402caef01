#!/usr/bin/env bash
# cassert.sh - the lock, ID and lost-answer cases against an assert-enabled
# PostgreSQL 15 (--enable-cassert), built once from Debian's source package
# in a bookworm root cached outside the tree: test/majors.sh cassert does
# the work (see there); this runs it alone and says "N passed, N failed".
# Not part of the test command (the server's build takes about 10 minutes
# on 2 cores): run it before a release.
#
#   bash test/cassert.sh
#   CASSERT_CASES="regress locks" bash test/cassert.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RESULTS=$(mktemp -t dynamo_atomic_cassert.XXXXXX)
export RESULTS
trap 'rm -f "$RESULTS"' EXIT
bash test/majors.sh cassert || echo "fail cassert: test/majors.sh stopped early" >>"$RESULTS"
passed=$(grep -c '^pass ' "$RESULTS" || true)
failed=$(grep -c '^fail ' "$RESULTS" || true)
sed -n 's/^fail /FAIL /p' "$RESULTS"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
