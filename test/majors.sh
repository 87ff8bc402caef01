#!/usr/bin/env bash
# majors.sh - the extension on the PostgreSQL majors beside the host's 15:
# 17 (Debian trixie) and 18 (Debian forky), each in a Debian root made with
# debootstrap and cached outside the tree (DYNAMO_ATOMIC_ROOTS, default
# /var/cache/dynamo_atomic/roots), sharing the host's loopback.  In each
# root: the extension is built with -Werror (and its own Asserts on,
# -DUSE_ASSERT_CHECKING) and installed, and a throwaway cluster of that
# major, preloaded, runs pg_regress, the README's examples and the cases
# that touch version-sensitive code (MAJOR_CASES) against a DynamoDB Local
# on the host.  Results go to $RESULTS as "pg17 NAME" / "pg18 NAME".
#
#   bash test/majors.sh            both (run.sh calls it as its "majors" step)
#   bash test/majors.sh 18         one
#   MAJOR_CASES="regress locks" bash test/majors.sh 17
#
# A root is made on first use (about 3 minutes and 1.7 GB each, most of it
# the -dev packages' compilers) and reused while its package list is the
# same.  Runs as root (debootstrap, chroot, mount).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

ROOTS=${DYNAMO_ATOMIC_ROOTS:-/var/cache/dynamo_atomic/roots}
MIRROR=http://deb.debian.org/debian
MAJOR_CASES=${MAJOR_CASES:-"regress readme locks lock_danger lock_commit lock_adversity lock_lost_release ids id_item_faults int_bounds privileges upgrade install pg_versions misspelt_setting"}
# What a root needs: the server and its headers, the build's libraries, and what the cases run.
ROOT_PACKAGES="make gcc libc6-dev pkg-config libcurl4-openssl-dev libcjson-dev libssl-dev
	curl ca-certificates nodejs procps bc default-jre-headless"

: "${RESULTS:?RESULTS must name the results file (test/run.sh sets it)}"

suite_of() {
	case $1 in
		17) echo trixie ;;
		18) echo forky ;;
		*) die "no Debian suite known for PostgreSQL $1" ;;
	esac
}

# root_mounts DIR: /proc and /dev, which the server and dpkg need; root_unmount undoes them.
root_mounts() {
	mountpoint -q "$1/proc" || mount -t proc proc "$1/proc"
	mountpoint -q "$1/dev" || mount --bind /dev "$1/dev"
	mountpoint -q "$1/dev/shm" || mount -t tmpfs -o mode=1777 shm "$1/dev/shm"
}
root_unmount() {
	local m
	for m in dev/shm dev proc; do
		mountpoint -q "$1/$m" && umount -l "$1/$m" || true
	done
}

# root_ensure MAJOR: prints the root's directory, made (or remade) as needed.
root_ensure() {
	local major=$1 suite dir want script=() apt_opts=(-o Acquire::Check-Valid-Until=false)
	suite=$(suite_of "$major")
	dir=$ROOTS/$suite-pg$major
	want="$suite postgresql-$major postgresql-server-dev-$major $(tr -s ' \n\t' ' ' <<<"$ROOT_PACKAGES")"
	if [[ -f $dir/.dynamo_atomic-root && $(cat "$dir/.dynamo_atomic-root") == "$want" ]]; then
		echo "$dir"
		return
	fi
	log "making a Debian $suite root for PostgreSQL $major in $dir (once)" >&2
	command -v debootstrap >/dev/null || {
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
	} >&2
	root_unmount "$dir"
	rm -rf "$dir"
	mkdir -p "$ROOTS"
	# This host's debootstrap may predate the suite: the sid script makes any later Debian.
	[[ -f /usr/share/debootstrap/scripts/$suite ]] || script=(/usr/share/debootstrap/scripts/sid)
	debootstrap --variant=minbase "$suite" "$dir" "$MIRROR" "${script[@]}" >"$ROOTS/$suite-debootstrap.log" 2>&1 ||
		die "debootstrap $suite failed (see $ROOTS/$suite-debootstrap.log)"
	cp /etc/resolv.conf "$dir/etc/resolv.conf"
	# No service starts inside (postgresql's own cluster, for one).
	printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
	chmod 755 "$dir/usr/sbin/policy-rc.d"
	root_mounts "$dir"
	# A dated mirror snapshot: a suite's Release may be past its Valid-Until.
	chroot "$dir" apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 || die "apt-get update in the $suite root failed"
	# shellcheck disable=SC2086
	chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
		"postgresql-$major" "postgresql-server-dev-$major" $ROOT_PACKAGES >"$ROOTS/$suite-apt.log" 2>&1 ||
		{ root_unmount "$dir"; die "installing PostgreSQL $major in the $suite root failed (see $ROOTS/$suite-apt.log)"; }
	root_unmount "$dir"
	echo "$want" >"$dir/.dynamo_atomic-root"
	echo "$dir"
}

# run_major MAJOR: build, install and test in that major's root.
run_major() {
	local major=$1 dir out started=$SECONDS
	dir=$(root_ensure "$major")
	log "PostgreSQL $major: building and testing in $dir"
	rm -rf "$dir/build"
	mkdir -p "$dir/build"
	git ls-files -co --exclude-standard | grep -v '^\.deps/' | tar -cf - -T - | tar -xf - -C "$dir/build"
	# DynamoDB Local's package, for the case that starts a second one (the jar runs with the root's Java)
	mkdir -p "$dir/build/.deps"
	cp -a "$DEPS_DIR/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION" "$dir/build/.deps/"
	root_mounts "$dir"
	trap 'root_unmount "'"$dir"'"' RETURN
	out=$(chroot "$dir" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		bash -c 'cd /build && make -s PG_CFLAGS=-DUSE_ASSERT_CHECKING all test/helpers/tcp_stub test/helpers/slow_dns.so 2>&1 && make -s install 2>&1') ||
		{
			echo "$out" | tail -30
			echo "fail pg$major build: the extension did not build with -Werror against PostgreSQL $major" >>"$RESULTS"
			return
		}
	echo "pass pg$major build: the extension builds with -Werror and its Asserts on against PostgreSQL $major" >>"$RESULTS"
	: >"$dir/build/.major-results"
	chroot "$dir" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DDB_ENDPOINT="$DDB_ENDPOINT" DDB_PORT="$DDB_PORT" DDB_PID="$DDB_PID" RESULTS=/build/.major-results \
		DYNAMO_ATOMIC_ONLY="$MAJOR_CASES" bash /build/test/major_inner.sh || true
	sed -E "s/^(pass|fail) /\1 pg$major /" "$dir/build/.major-results" >>"$RESULTS"
	grep -q '^pass ' "$dir/build/.major-results" || echo "fail pg$major: no case ran" >>"$RESULTS"
	log "PostgreSQL $major: $(grep -c '^pass' "$dir/build/.major-results" || true) passed, $(grep -c '^fail' "$dir/build/.major-results" || true) failed in $((SECONDS - started)) s"
}

majors=("$@")
((${#majors[@]})) || majors=(17 18)
harness_make_run_dir
trap 'harness_stop_all' EXIT
harness_fetch_dynamodb_local
for major in "${majors[@]}"; do
	# a DynamoDB Local of its own for each major: pg_regress expects empty tables
	harness_start_dynamodb "$HARNESS_RUN_DIR/dynamodb-pg$major.log"
	run_major "$major"
	kill "$DDB_PID" 2>/dev/null && wait "$DDB_PID" 2>/dev/null || true
done
