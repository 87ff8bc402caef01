#!/usr/bin/env bash
# Every ```sql example of the README, in order, as a reader would paste
# them, in a database and counter table of their own; the values the README
# shows in "-- N" comments are checked.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sql -c "DROP DATABASE IF EXISTS readme_examples" -c "CREATE DATABASE readme_examples" 2>/dev/null
export PGDATABASE=readme_examples PGOPTIONS="-c dynamo_atomic.counter_table=ReadmeCounters -c dynamo_atomic.lock_table=ReadmeLocks -c dynamo_atomic.item_table=ReadmeItems"

node test/helpers/readme_sql.js README.md "$work" >"$work/index"
[[ -s $work/index ]] || fail "readme: no SQL example found"
while read -r name line _; do
	if out=$(psql -X -q -v ON_ERROR_STOP=1 -f "$work/$name.sql" 2>&1); then
		pass "README example at line $line runs as written"
	else
		fail "README example at line $line runs as written" "$(grep -m1 ERROR <<<"$out")"
	fi
done <"$work/index"
