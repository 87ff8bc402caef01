#!/usr/bin/env bash
# The README's Install, followed literally in a cluster of its own: the
# server starts with exactly the lines of the README's local postgresql.conf
# (its endpoint's port replaced by this DynamoDB Local's) and the network
# rule's environment file, nothing else of the harness's settings; the
# table creators run twice (the README says they may be), and the first-use
# block runs logged in as the README's role, which is no superuser.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

if [[ ${1:-} == inner ]]; then
	work=$2
	harness_guard_server_environment
	expect_eq "the cluster runs with the README's endpoint and keys only" \
		"$DDB_ENDPOINT|us-east-1|local" \
		"$(sql -c "SELECT current_setting('dynamo_atomic.endpoint') || '|' || current_setting('dynamo_atomic.region')
			|| '|' || current_setting('dynamo_atomic.access_key_id')")"
	# The second round runs the first block only: the one that creates the tables.
	for round in 1 2; do
		while read -r name line who; do
			[[ $who == superuser ]] || continue
			[[ $round == 1 || $name == "$(awk '$3 == "superuser" { print $1; exit }' "$work/index")" ]] || continue
			if out=$(psql -X -q -v ON_ERROR_STOP=1 -f "$work/$name.sql" 2>&1); then
				pass "install (run $round): the README's block at line $line runs as a superuser"
			else
				fail "install (run $round): the README's block at line $line runs as a superuser" "$(grep -m1 ERROR <<<"$out")"
			fi
		done <"$work/index"
	done
	expect_eq "the README's role is an ordinary one" "false|true" \
		"$(sql -c "SELECT rolsuper::text || '|' || rolcanlogin::text FROM pg_roles WHERE rolname = 'app'")"
	while read -r name line who; do
		[[ $who == app ]] || continue
		if out=$(PGUSER=app PGPASSWORD=change-me PGHOST=localhost psql -X -q -v ON_ERROR_STOP=1 -f "$work/$name.sql" 2>&1); then
			pass "install: the README's first-use block at line $line runs logged in as app"
		else
			fail "install: the README's first-use block at line $line runs logged in as app" "$(grep -m1 ERROR <<<"$out")"
		fi
	done <"$work/index"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node test/helpers/readme_sql.js README.md "$work" >"$work/all"
# The Install section's blocks only: from "## Install" to the next section.
first=$(grep -n '^## Install$' README.md | cut -d: -f1)
last=$(awk -v f="$first" 'NR > f && /^## / { print NR; exit }' README.md)
awk -v f="$first" -v l="$last" '$2 > f && $2 < l' "$work/all" >"$work/index"
expect_true "the README's Install has superuser and first-use blocks" \
	test "$(grep -c ' superuser$' "$work/index")" -ge 2 -a "$(grep -c ' app$' "$work/index")" -ge 1

# The local postgresql.conf: the block after its marker, comments dropped.
mapfile -t conf < <(awk '/<!-- install: local postgresql.conf/ { on = 1; next }
	on && /^```$/ { if (inside) exit; inside = 1; next }
	on && inside && !/^#/ && NF' README.md)
expect_true "the README's local postgresql.conf preloads the library and names an endpoint" \
	grep -q "dynamo_atomic.endpoint = 'http://127.0.0.1:8000'" <(printf '%s\n' "${conf[@]}")
options=()
for line in "${conf[@]}"; do
	line=${line//127.0.0.1:8000/127.0.0.1:$DDB_PORT}
	key=$(sed -E 's/^ *([^ =]+) *=.*/\1/' <<<"$line")
	value=$(sed -E "s/^[^=]*= *'?([^']*)'?.*/\1/" <<<"$line")
	options+=(-o "$key=$value")
done
# Only the environment file of the network rule from the harness (its -o
# shared_preload_libraries is the README's too).
mapfile -t base < <(harness_pg_base_options)
log "install: a cluster configured by the README alone"
pg_virtualenv "${base[@]}" "${options[@]}" bash "${BASH_SOURCE[0]}" inner "$work" ||
	fail "install: the README cluster's checks did not run"
