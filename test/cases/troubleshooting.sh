#!/usr/bin/env bash
# The README's Troubleshooting table, row by row: each "you see" is produced
# here as a new installation meets it (or, for the one that needs a server of
# its own, by the case the row names, which must assert that message), and
# what the server says must match the row's text: a reworded error fails
# this case until the README says the same.  In a row's text, "…" stands for
# anything, a quoted name for any name, and N.N for any version.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseTroubleshooting
case_begin "$T"

# first_error STATEMENT...: "SQLSTATE message" of the first error (verbose);
# its HINT is left in $work/hint.
first_error() {
	local args=() s
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -qAt -v VERBOSITY=verbose "${args[@]}" >"$work/out" 2>&1 || true
	sed -n 's/^HINT:  //p' "$work/out" | head -1 >"$work/hint"
	sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): /\1 /p' "$work/out" | head -1
}

# The rows: "you see" (the first code span) and the case the row names.
mapfile -t rows < <(awk '/^## Troubleshooting/, /^## Failure semantics/' README.md | grep '^| `')
expect_eq "the README's Troubleshooting table has its nine rows" 9 "${#rows[@]}"

# as_pattern TEXT: the row's text as an extended regular expression.
as_pattern() {
	sed -E 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1" |
		sed -E 's/…/.*/g; s/"[^"…]*"/"[^"]*"/g; s/line N/line [0-9]+/; s/[0-9]+\\\.[0-9]+/[0-9]+\\.[0-9]+/g'
}

password=ts-$RANDOM$RANDOM
sql -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS troubleshooting_app" -c "CREATE ROLE troubleshooting_app LOGIN PASSWORD '$password'" >/dev/null

for row in "${rows[@]}"; do
	seen=$(sed -E 's/^\| `([^`]*)`.*/\1/' <<<"$row")
	named=$(grep -oE '→ `?[a-z_]+\.sh' <<<"$row" | grep -oE '[a-z_]+\.sh' || true)
	got=
	case $seen in
	NOTICE:*)
		# a server without the library preloaded: the named case makes one and asserts the message, whole
		core=$(sed -E 's/^NOTICE: //' <<<"$seen")
		expect_true "troubleshooting: \"$seen\" is asserted by $named" grep -qF "NOTICE:  $core" "test/cases/$named"
		continue
		;;
	F0000*)
		conf=$(sql -c "SHOW config_file")
		cp "$conf" "$work/conf.orig"
		trap 'cp "$work/conf.orig" "$conf"; sql -c "SELECT pg_reload_conf()" >/dev/null; harness_stop_all; rm -rf "$work"' EXIT
		echo "dynamo_atomic.endpiont = 'http://127.0.0.1:9'" >>"$conf"
		sql -c "SELECT pg_reload_conf()" >/dev/null
		# a reload reaches each backend at its next command: polled until a new session has it
		for _ in $(seq 1 100); do
			got=$(first_error "SELECT dynamo_get_last_value('x', '$T')")
			[[ $got == F0000* ]] && break
			sleep 0.05
		done
		cp "$work/conf.orig" "$conf"
		sql -c "SELECT pg_reload_conf()" >/dev/null
		;;
	08006*) got=$(first_error "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = 'http://127.0.0.1:$PGPORT'" \
		"SELECT dynamo_get_last_value('x', '$T')") ;;
	58000*) got=$(first_error "SET dynamo_atomic.max_retries = 0" "SET dynamo_atomic.endpoint = 'https://127.0.0.1:$DDB_PORT'" \
		"SELECT dynamo_get_last_value('x', '$T')") ;;
	28000*) got=$(first_error "SET dynamo_atomic.access_key_id = ''" "SET dynamo_atomic.secret_access_key = ''" \
		"SELECT dynamo_get_last_value('x', '$T')") ;;
	42501*) got=$(PGUSER=troubleshooting_app PGPASSWORD=$password first_error "SELECT dynamo_increment('x', 1, '$T')") ;;
	42P01*) got=$(first_error "SET dynamo_atomic.counter_table = 'NoSuchTroubleshooting'" "SELECT dynamo_increment('x')") ;;
	55000*)
		library=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" dynamo_atomic.control)
		older=$(sql -c "SELECT version FROM pg_available_extension_versions WHERE name = 'dynamo_atomic' AND version <> '$library' ORDER BY version DESC LIMIT 1")
		sql -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS troubleshooting_old" -c "CREATE DATABASE troubleshooting_old" >/dev/null
		PGDATABASE=troubleshooting_old sql -c "SET client_min_messages = warning" \
			-c "CREATE EXTENSION dynamo_atomic VERSION '$older'" >/dev/null
		got=$(PGDATABASE=troubleshooting_old first_error "SELECT dynamo_increment('x', 1, '$T')")
		sql -c "DROP DATABASE troubleshooting_old" >/dev/null
		;;
	database*)
		# psql's default database is the role's name
		got=$(env -u PGDATABASE PGUSER=troubleshooting_app PGPASSWORD=$password psql -X -qAt -c 'SELECT 1' 2>&1 | grep -o 'database "[^"]*" does not exist' || true)
		expect_eq "troubleshooting: ...and the fix, naming the database, logs in" 1 \
			"$(PGUSER=troubleshooting_app PGPASSWORD=$password psql -X -qAt -d "$PGDATABASE" -c 'SELECT 1' 2>&1)"
		;;
	*) fail "troubleshooting: no reproduction for the row \"$seen\"" && continue ;;
	esac
	expect_true "troubleshooting: \"$seen\" is what the server says (\"$got\")" grep -qE "^$(as_pattern "$seen")" <<<"$got"
	# a row that quotes the HINT: that too
	hint=$(sed -nE 's/.*HINT `([^`]*)`.*/\1/p' <<<"$row")
	if [[ -n $hint ]]; then
		expect_true "troubleshooting: ...its HINT \"$hint\" too (\"$(cat "$work/hint")\")" \
			grep -qE "$(as_pattern "$hint")" "$work/hint"
	fi
	if [[ -n $named ]]; then
		expect_true "troubleshooting: ...and $named exists" test -f "test/cases/$named"
	fi
done
sql -c "DROP ROLE troubleshooting_app" >/dev/null
