#!/usr/bin/env bash
# clean_root_install.sh DEB ENDPOINT - the package in a clean Debian root:
# `apt-get install ./DEB` must pull every runtime dependency by itself (the
# package's Depends), and the README's install check must pass against the
# installed package: a cluster of its major with the README's local
# postgresql.conf lines, CREATE EXTENSION, a table, a counter, a lock,
# against the DynamoDB Local at ENDPOINT (on the host's loopback).
# The root is a fresh copy of a cached minimal bookworm each run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh
source test/lib/assert.sh
deb=$1 endpoint=$2
[[ $endpoint =~ ^http://127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$ ]] || die "the endpoint must be on loopback, not $endpoint"

ROOTS=${DYNAMO_ATOMIC_ROOTS:-/var/cache/dynamo_atomic/roots}
base=$ROOTS/bookworm-base.tar
mkdir -p "$ROOTS"
if [[ ! -f $base ]]; then
	log "making a minimal Debian bookworm root (once): $base"
	tmp=$(mktemp -d "$ROOTS/bookworm-base.XXXXXX")
	debootstrap --variant=minbase bookworm "$tmp" http://deb.debian.org/debian >"$ROOTS/bookworm-debootstrap.log" 2>&1 ||
		die "debootstrap bookworm failed (see $ROOTS/bookworm-debootstrap.log)"
	tar -C "$tmp" -cf "$base.part" . && mv "$base.part" "$base"
	rm -rf "$tmp"
fi
dir=$(mktemp -d "${HARNESS_RUN_DIR:?}/clean-root.XXXXXX")
tar -C "$dir" -xf "$base"
chmod 755 "$dir" # the root's "/" (the tarball's "." came from a mktemp -d): the server runs as postgres in it
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# the suite's updates too, as a Debian server has them (the package depends on the minor it was built with)
printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' \
	>"$dir/etc/apt/sources.list"
printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
mount -t proc proc "$dir/proc"
mount --bind /dev "$dir/dev"
mount -t tmpfs -o mode=1777 shm "$dir/dev/shm"
trap 'umount -l "$dir/dev/shm" "$dir/dev" "$dir/proc" 2>/dev/null || true; rm -rf --one-file-system "$dir"' EXIT
cp "$deb" "$dir/tmp/"
in_root() { chroot "$dir" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

in_root apt-get update -qq >/dev/null 2>&1 || die "apt-get update in the clean root failed"
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")" >"$dir/install.log" 2>&1; then
	pass "packaging: apt-get install of $(basename "$deb") in a clean bookworm root pulls its dependencies by itself"
else
	tail -20 "$dir/install.log"
	fail "packaging: apt-get install of $(basename "$deb") in a clean root failed"
	exit 0
fi
missing=$(in_root bash -c 'ldd /usr/lib/postgresql/*/lib/dynamo_atomic.so' | grep -c 'not found' || true)
expect_eq "packaging: every library the installed module links is there" 0 "$missing"

# The README's local set-up lines, as install.sh takes them, and its install check.
lines=$(awk '/^<!-- install: local postgresql.conf/ { m = 1; next } m && /^```/ { if (f++) exit; next } m && f' README.md |
	grep -E '^(dynamo_atomic\.|shared_preload)' |
	sed "s|^dynamo_atomic.endpoint = .*|dynamo_atomic.endpoint = '$endpoint'|")
[[ -n $lines ]] || die "the README's local postgresql.conf lines were not found"
# the README's lines with the endpoint replaced: refused unless it is on loopback
grep -qx "dynamo_atomic.endpoint = 'http://127\.[0-9.]*:[0-9]*'" <<<"$lines" ||
	die "the clean-root cluster would not point at a loopback DynamoDB: refusing to run"
printf '%s\n' "AWS_EC2_METADATA_DISABLED = 'true'" "AWS_EC2_METADATA_SERVICE_ENDPOINT = 'http://127.0.0.1:9'" "AWS_ENDPOINT_URL_STS = 'http://127.0.0.1:9'" \
	"AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/dynamo_atomic/credentials'" "AWS_CONFIG_FILE = '/nonexistent/dynamo_atomic/config'" \
	>"$dir/tmp/environment"
opts=()
while IFS= read -r line; do
	opts+=(-o "$(sed -E "s/ *= */=/; s/'//g" <<<"$line")")
done <<<"$lines"
out=$(in_root pg_virtualenv -t -c "--environment=/tmp/environment" "${opts[@]}" bash -c '
	psql -X -qAt -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic" \
		-c "SELECT dynamo_create_counter_table(if_not_exists => true)" -c "SELECT dynamo_create_lock_table(if_not_exists => true)" \
		-c "SELECT '"'"'counting '"'"' || (dynamo_increment('"'"'first-use'"'"') > 0)" \
		-c "SELECT '"'"'locked '"'"' || (fencing_token > 0) FROM dynamo_try_get_lock('"'"'first-use'"'"', lease_ms => 30000)" \
		-c "SELECT '"'"'workers '"'"' || count(*) FROM pg_stat_activity WHERE backend_type = '"'"'dynamo_atomic lock worker'"'"'"' 2>&1 || true)
expect_true "packaging: the README's install check passes against the installed package (counting t, locked t)" \
	bash -c "grep -qx 'counting true' <<<'$out' && grep -qx 'locked true' <<<'$out'"
expect_true "...with its lock workers running" grep -qE '^workers [1-9]' <<<"$out"
grep -qx 'counting true' <<<"$out" || echo "$out" | tail -20
