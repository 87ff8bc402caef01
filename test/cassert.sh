#!/usr/bin/env bash
# cassert.sh - the extension against an assert-enabled PostgreSQL 15
# (--enable-cassert), built from Debian's source package and cached in
# /var/cache/dynamo_atomic/cassert (DYNAMO_ATOMIC_CASSERT).  Not part of the
# test command (the server's build takes about 10 minutes on 2 cores): run
# it before a release.  In a copy of the tree it builds and installs the
# extension into that server, runs pg_regress in a temporary preloaded
# instance of it (the Makefile's installcheck) against a DynamoDB Local of
# its own: an assertion failure (TRAP) aborts its backend and fails it.
# Ends with "N passed, N failed".
#
#   bash test/cassert.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

CASSERT=${DYNAMO_ATOMIC_CASSERT:-/var/cache/dynamo_atomic/cassert}
PREFIX=$CASSERT/pg15
passed=0 failed=0
check() { if "${@:2}"; then echo "ok   $1"; passed=$((passed + 1)); else echo "FAIL $1"; failed=$((failed + 1)); fi; }

harness_scrub_env
harness_make_run_dir
trap 'harness_stop_all' EXIT
harness_install_deps

if [[ ! -x $PREFIX/bin/pg_config ]]; then
	log "building an assert-enabled PostgreSQL 15 from Debian's source package (once) in $CASSERT"
	mkdir -p "$CASSERT/apt/lists/partial"
	# Debian's source lines for this look-up only: the machine's apt configuration is left alone.
	printf '%s\n' "deb-src http://deb.debian.org/debian bookworm main" \
		"deb-src http://deb.debian.org/debian bookworm-updates main" >"$CASSERT/apt/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$CASSERT/apt/sources.list" -o "Dir::Etc::SourceParts=-"
		-o "Dir::State::Lists=$CASSERT/apt/lists")
	apt-get "${apt_opts[@]}" update -qq >/dev/null
	(cd "$CASSERT" && apt-get "${apt_opts[@]}" source -qq --download-only postgresql-15 >/dev/null)
	rm -rf "$CASSERT/src"
	mkdir -p "$CASSERT/src"
	tar -xjf "$(ls "$CASSERT"/postgresql-15_*.orig.tar.bz2 | tail -1)" -C "$CASSERT/src" --strip-components=1
	(cd "$CASSERT/src" && ./configure --enable-cassert --enable-debug --prefix="$PREFIX" \
		--without-icu --without-readline --without-zlib >"$CASSERT/configure.log" 2>&1 &&
		make -j"$(nproc)" -s >"$CASSERT/make.log" 2>&1 && make -s install >"$CASSERT/install.log" 2>&1) ||
		die "the assert-enabled server did not build (see $CASSERT/*.log)"
fi
check "the server is assert-enabled" bash -c "'$PREFIX/bin/pg_config' --configure | grep -q -- --enable-cassert"

copy=$(mktemp -d "$HARNESS_RUN_DIR/cassert.XXXXXX")
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$copy"
chown -R postgres: "$copy"
check "the extension builds with -Werror against it and installs" \
	bash -c "cd '$copy' && make -s PG_CONFIG='$PREFIX/bin/pg_config' >/dev/null && make -s PG_CONFIG='$PREFIX/bin/pg_config' install >/dev/null"

port=$(harness_free_port)
harness_start_dynamodb "$HARNESS_RUN_DIR/dynamodb-cassert.log" "" "$port"
out=$(cd "$copy" && runuser -u postgres -- env -i PATH="$PREFIX/bin:$PATH" HOME="$copy" LANG=C.UTF-8 \
	make -s installcheck PG_CONFIG="$PREFIX/bin/pg_config" DYNAMODB_ENDPOINT="http://127.0.0.1:$port" 2>&1) || true
echo "$out" | tail -12
check "pg_regress passes on the assert-enabled server" grep -qE 'All [0-9]+ tests passed' <<<"$out"
# An assertion failure aborts its backend (the server restarts every one), so
# "All tests passed" already means none happened; on a failure pg_regress
# keeps the instance, and its log says whether a TRAP was the cause.
traps=$(grep -h 'TRAP:' "$copy"/tmp_check/log/*.log 2>/dev/null || true)
check "no assertion failure (TRAP) in the kept server log" test -z "$traps"
[[ -z $traps ]] || echo "$traps" | head -5
echo
echo "$passed passed, $failed failed"
((failed == 0))
