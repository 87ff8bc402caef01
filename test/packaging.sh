#!/usr/bin/env bash
# packaging.sh - what a packager runs, run as one would: `make installcheck`
# against the installed server (PGXS starts a temporary, preloaded instance:
# see the Makefile) as an ordinary user in a copy of the tree, with a
# DynamoDB Local of its own; and META.json (PGXN) agrees with the control
# file and names files that exist.  Called by run.sh with the harness loaded.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
source test/lib/assert.sh

copy=$(mktemp -d "${HARNESS_RUN_DIR:?}/packager.XXXXXX")
git ls-files -z | xargs -0 cp --parents -t "$copy"
chown -R postgres: "$copy"

# pg_regress expects empty tables: a DynamoDB Local of its own.
port=$(harness_free_port)
harness_start_dynamodb "$copy/dynamodb.log" "" "$port"
trap 'kill "$DDB_PID" 2>/dev/null || true' EXIT
# While it runs, the temporary postmaster's environment is read from /proc.
(
	for _ in $(seq 1 600); do
		pid=$(head -1 "$copy/tmp_check/data/postmaster.pid" 2>/dev/null || true)
		if [[ -n $pid ]] && tr '\0' '\n' <"/proc/$pid/environ" >"$copy/postmaster.env" 2>/dev/null; then
			exit 0
		fi
		sleep 0.1
	done
) &
watcher=$!
out=$(cd "$copy" && runuser -u postgres -- env -i PATH="$PATH" HOME="$copy" LANG=C.UTF-8 \
	make -s installcheck DYNAMODB_ENDPOINT="http://127.0.0.1:$port" 2>&1) || true
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
echo "$out" | tail -15
sed -nE 's/^(test)? +([a-z_0-9]+) +\.\.\. +ok .*/pass packaging: installcheck \2/p; s/^(test)? +([a-z_0-9]+) +\.\.\. +FAILED.*/fail packaging: installcheck \2/p' \
	<<<"$out" >>"$RESULTS"
grep -qE '\.\.\. +(ok|FAILED)' <<<"$out" || fail "packaging: make installcheck did not run pg_regress"
grep -q 'All [0-9]* tests passed' <<<"$out" || { [[ -f $copy/regression.diffs ]] && head -100 "$copy/regression.diffs"; }
expect_true "the temporary instance ran with instance metadata disabled (the Makefile exports it)" \
	grep -qx "AWS_EC2_METADATA_DISABLED=true" "$copy/postmaster.env"
expect_true "...and a loopback metadata endpoint" grep -qx "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9" "$copy/postmaster.env"

# (a name, not an AWS address: should the guard ever fail, nothing leaves this machine)
r=$(cd "$copy" && runuser -u postgres -- make -s installcheck DYNAMODB_ENDPOINT=http://localhost:9 2>&1 || true)
expect_true "make installcheck refuses an endpoint that is not a 127.x.x.x address" grep -q 'DYNAMODB_ENDPOINT must be http://127' <<<"$r"

# META.json: valid JSON, the control file's version, files that exist.
meta=$(node -e '
	const m = JSON.parse(require("fs").readFileSync("META.json", "utf8"));
	const p = m.provides.dynamo_atomic;
	console.log([m.name, m.version, p.version, p.file, m["meta-spec"].version, m.license].join("|"));')
control_version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" dynamo_atomic.control)
# PGXN versions are semantic (1.1.0); the control file's are PostgreSQL's (1.1).
expect_eq "META.json's release and extension are the control file's default version" \
	"dynamo_atomic|$control_version.0|$control_version.0" "$(field 1 "$meta")|$(field 2 "$meta")|$(field 3 "$meta")"
expect_true "META.json's file exists (sql/dynamo_atomic--$control_version.sql)" test -f "$(field 4 "$meta")"
expect_eq "META.json follows PGXN meta-spec 1.0.0" "1.0.0" "$(field 5 "$meta")"

# --- one version everywhere: the control file, META.json (above), debian/changelog, CHANGELOG.md
# (the library's module magic and extension_version.c take it from the control file at build time)
expect_eq "debian/changelog's newest entry is the control file's version" "$control_version" \
	"$(dpkg-parsechangelog -l debian/changelog -S Version)"
expect_true "CHANGELOG.md has a section for $control_version" grep -qE "^## $control_version\$" CHANGELOG.md

# --- the Debian packages, built as apt.postgresql.org builds extensions
# (pg_buildext, one postgresql-NN-dynamo-atomic per major of debian/pgversions
# that this machine has: here the host's)
pkgdir=$(mktemp -d "${HARNESS_RUN_DIR:?}/debian.XXXXXX")
mkdir "$pkgdir/dynamo-atomic"
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$pkgdir/dynamo-atomic"
if (cd "$pkgdir/dynamo-atomic" && pg_buildext updatecontrol && dpkg-buildpackage -us -uc -b) >"$pkgdir/build.log" 2>&1 &&
	ls "$pkgdir"/postgresql-15-dynamo-atomic_*_amd64.deb >/dev/null 2>&1; then
	pass "packaging: dpkg-buildpackage builds $(cd "$pkgdir" && ls postgresql-*-dynamo-atomic_*.deb | grep -v dbgsym | tr '\n' ' ')"
else
	tail -20 "$pkgdir/build.log"
	fail "packaging: dpkg-buildpackage failed"
fi
lintian_out=$(cd "$pkgdir" && lintian --tag-display-limit 0 ./*.changes 2>&1 | grep -v 'running with root privileges' || true)
expect_eq "packaging: lintian finds nothing" "" "$lintian_out"

# --- a PGXN release zip: git archive of HEAD, with META.json at its top
zip=$pkgdir/dynamo_atomic-$control_version.0.zip
git archive --format=zip --prefix="dynamo_atomic-$control_version.0/" -o "$zip" HEAD
expect_true "packaging: the PGXN zip holds META.json, the control file and the SQL at one top folder" \
	bash -c "unzip -l '$zip' | grep -q 'dynamo_atomic-$control_version.0/META.json' &&
		unzip -l '$zip' | grep -q 'dynamo_atomic-$control_version.0/sql/dynamo_atomic--$control_version.sql'"

# --- the package in a clean Debian root: apt pulls every runtime dependency
# by itself, and the README's install check passes against it (a cluster of
# the packaged major, preloaded, against a DynamoDB Local on the host)
if [[ ${DYNAMO_ATOMIC_SKIP_CLEAN_ROOT:-} != 1 ]] && ls "$pkgdir"/postgresql-15-dynamo-atomic_*_amd64.deb >/dev/null 2>&1; then
	bash test/clean_root_install.sh "$(ls "$pkgdir"/postgresql-15-dynamo-atomic_*_amd64.deb)" "http://127.0.0.1:$port"
fi
