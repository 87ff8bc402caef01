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
# In the 17 and 18 roots the Debian package is built too (pg_buildext,
# dpkg-buildpackage, lintian) and installed, as test/packaging.sh does on 15.
#
#   bash test/majors.sh cassert    PostgreSQL 15 with --enable-cassert: a bookworm
#                                  root whose Debian server is replaced by one built
#                                  from Debian's source package with assertions on
#                                  (about 10 minutes, once), running CASSERT_CASES.
#                                  Not in the test command: run before a release.
#
# A root is made on first use (about 3 minutes and 1.7 GB each, most of it
# the -dev packages' compilers) and reused; packages added to the list are
# installed into it.  Runs as root (debootstrap, chroot, mount).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

ROOTS=${DYNAMO_ATOMIC_ROOTS:-/var/cache/dynamo_atomic/roots}
MIRROR=http://deb.debian.org/debian
MAJOR_CASES=${MAJOR_CASES:-"regress readme direct_requests locks lock_danger lock_commit lock_adversity lock_lost_release lease_locks ids id_item_faults int_bounds existing_tables sts_credentials endpoints hot_counters combined_increments privileges upgrade install pg_versions misspelt_setting troubleshooting"}
# The lock, ID and lost-answer cases, against the assert-enabled server.
CASSERT_CASES=${CASSERT_CASES:-"regress locks lock_danger lock_commit lock_adversity lock_lost_release ids id_item_faults int_bounds lost_answers faults interrupts sts_credentials combined_increments"}
# What a root needs: the server and its headers, the build's libraries, and what the cases run.
ROOT_PACKAGES="make gcc libc6-dev pkg-config libcurl4-openssl-dev libcjson-dev libssl-dev
	curl ca-certificates nodejs procps bc default-jre-headless
	build-essential debhelper dpkg-dev postgresql-server-dev-all lintian"

: "${RESULTS:?RESULTS must name the results file (test/run.sh sets it)}"

suite_of() {
	case $1 in
		cassert) echo bookworm ;;
		17) echo trixie ;;
		18) echo forky ;;
		*) die "no Debian suite known for PostgreSQL $1" ;;
	esac
}
# pg_major_of TARGET: the PostgreSQL major of a target (17, 18; cassert is 15).
pg_major_of() { if [[ $1 == cassert ]]; then echo 15; else echo "$1"; fi; }

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

# root_ensure TARGET: prints the root's directory, made as needed; packages
# added to the list since are installed into an existing root.
root_ensure() {
	local target=$1 major suite dir want script=() apt_opts=(-o Acquire::Check-Valid-Until=false)
	major=$(pg_major_of "$target")
	suite=$(suite_of "$target")
	dir=$ROOTS/$suite-pg$target
	want="$suite postgresql-$major postgresql-server-dev-$major $(tr -s ' \n\t' ' ' <<<"$ROOT_PACKAGES")"
	if [[ -f $dir/.dynamo_atomic-root && $(cat "$dir/.dynamo_atomic-root") == "$want" ]]; then
		echo "$dir"
		return
	fi
	if [[ -f $dir/.dynamo_atomic-root && $(cut -d' ' -f1-3 "$dir/.dynamo_atomic-root") == "$suite postgresql-$major postgresql-server-dev-$major" ]]; then
		log "adding packages to the $suite root for PostgreSQL $major" >&2
	else
		log "making a Debian $suite root for PostgreSQL $major in $dir (once)" >&2
		command -v debootstrap >/dev/null || {
			apt-get update -qq >/dev/null
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
		} >&2
		root_unmount "$dir"
		# (never into a mount that a lazy unmount left behind: /dev is the host's)
		rm -rf --one-file-system "$dir"
		mkdir -p "$ROOTS"
		# This host's debootstrap may predate the suite: the sid script makes any later Debian.
		[[ -f /usr/share/debootstrap/scripts/$suite ]] || script=(/usr/share/debootstrap/scripts/sid)
		debootstrap --variant=minbase "$suite" "$dir" "$MIRROR" "${script[@]}" >"$ROOTS/$suite-debootstrap.log" 2>&1 ||
			die "debootstrap $suite failed (see $ROOTS/$suite-debootstrap.log)"
		cp /etc/resolv.conf "$dir/etc/resolv.conf"
		# No service starts inside (postgresql's own cluster, for one).
		printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
		chmod 755 "$dir/usr/sbin/policy-rc.d"
	fi
	root_mounts "$dir"
	# A dated mirror snapshot: a suite's Release may be past its Valid-Until.
	chroot "$dir" apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 || die "apt-get update in the $suite root failed"
	# shellcheck disable=SC2086
	chroot "$dir" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends \
		"postgresql-$major" "postgresql-server-dev-$major" $ROOT_PACKAGES >"$ROOTS/$suite-apt.log" 2>&1 ||
		{ root_unmount "$dir"; die "installing PostgreSQL $major in the $suite root failed (see $ROOTS/$suite-apt.log)"; }
	# (built once: packages added later leave Debian's postgresql-15 as it was replaced)
	if [[ $target == cassert ]] && ! chroot "$dir" /usr/lib/postgresql/15/bin/pg_config --configure | grep -q -- --enable-cassert; then
		cassert_server "$dir" || { root_unmount "$dir"; die "the assert-enabled server did not build (see $dir/pg-src/*.log)"; }
	fi
	root_unmount "$dir"
	echo "$want" >"$dir/.dynamo_atomic-root"
	echo "$dir"
}

# cassert_server DIR: in a bookworm root with Debian's PostgreSQL 15, the same
# release built from Debian's source package with --enable-cassert, installed
# over it in Debian's layout, so that pg_virtualenv and PGXS use it unchanged.
cassert_server() {
	local dir=$1 apt_opts=(-o Acquire::Check-Valid-Until=false)
	grep -q '^deb-src' "$dir/etc/apt/sources.list" ||
		sed -n 's/^deb /deb-src /p' "$dir/etc/apt/sources.list" >>"$dir/etc/apt/sources.list"
	chroot "$dir" apt-get "${apt_opts[@]}" update -qq >/dev/null 2>&1 || return 1
	rm -rf "$dir/pg-src"
	mkdir -p "$dir/pg-src"
	chroot "$dir" bash -c 'cd /pg-src && apt-get source -qq --download-only postgresql-15 >/dev/null 2>&1 &&
		mkdir src && tar -xjf postgresql-15_*.orig.tar.bz2 -C src --strip-components=1' || return 1
	# Debian's paths (pg_config --configure of its package), with assertions on.
	chroot "$dir" bash -c 'cd /pg-src/src &&
		./configure --enable-cassert --enable-debug --prefix=/usr \
			--bindir=/usr/lib/postgresql/15/bin --libdir=/usr/lib/postgresql/15/lib \
			--datadir=/usr/share/postgresql/15 --includedir=/usr/include/postgresql/15 \
			--sysconfdir=/etc/postgresql-common --with-system-tzdata=/usr/share/zoneinfo \
			--with-openssl --without-icu --without-readline --without-zlib >../configure.log 2>&1 &&
		make -j"$(nproc)" -s >../make.log 2>&1 && make -s install >../install.log 2>&1' || return 1
	chroot "$dir" /usr/lib/postgresql/15/bin/pg_config --configure | grep -q -- --enable-cassert
}

# run_major TARGET: build, install and test in that target's root.
run_major() {
	local target=$1 major label cases dir out started=$SECONDS
	local root_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8)
	major=$(pg_major_of "$target")
	label=pg$major cases=$MAJOR_CASES
	[[ $target == cassert ]] && label=pg15-cassert cases=$CASSERT_CASES
	dir=$(root_ensure "$target")
	log "$label: building and testing in $dir"
	rm -rf "$dir/build" "$dir/pkg"
	mkdir -p "$dir/build" "$dir/pkg/dynamo-atomic"
	git ls-files -co --exclude-standard | grep -v '^\.deps/' | tar -cf - -T - | tar -xf - -C "$dir/build"
	# DynamoDB Local's package, for the case that starts a second one (the jar runs with the root's Java)
	mkdir -p "$dir/build/.deps"
	cp -a "$DEPS_DIR/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION" "$dir/build/.deps/"
	root_mounts "$dir"
	trap 'root_unmount "'"$dir"'"' RETURN
	if [[ $target != cassert ]]; then
		package_in_root "$dir" "$label" "$major"
	fi
	out=$(chroot "$dir" "${root_env[@]}" \
		bash -c 'cd /build && make -s PG_CFLAGS=-DUSE_ASSERT_CHECKING all test/helpers/tcp_stub test/helpers/slow_dns.so 2>&1 && make -s install 2>&1') ||
		{
			echo "$out" | tail -30
			echo "fail $label build: the extension did not build with -Werror against PostgreSQL $major" >>"$RESULTS"
			return
		}
	echo "pass $label build: the extension builds with -Werror and its Asserts on against PostgreSQL $major" >>"$RESULTS"
	: >"$dir/build/.major-results"
	chroot "$dir" "${root_env[@]}" \
		DDB_ENDPOINT="$DDB_ENDPOINT" DDB_PORT="$DDB_PORT" DDB_PID="$DDB_PID" RESULTS=/build/.major-results \
		DYNAMO_ATOMIC_ONLY="$cases" bash /build/test/major_inner.sh || true
	sed -E "s/^(pass|fail) /\1 $label /" "$dir/build/.major-results" >>"$RESULTS"
	grep -q '^pass ' "$dir/build/.major-results" || echo "fail $label: no case ran" >>"$RESULTS"
	log "$label: $(grep -c '^pass' "$dir/build/.major-results" || true) passed, $(grep -c '^fail' "$dir/build/.major-results" || true) failed in $((SECONDS - started)) s"
}

# package_in_root DIR LABEL MAJOR: the Debian package built in that root as
# apt.postgresql.org builds it (pg_buildext picks the root's major), checked
# by lintian, and installed with apt (its Depends resolved by the root's apt).
package_in_root() {
	local dir=$1 label=$2 major=$3 lintian_out
	git ls-files -co --exclude-standard | grep -v '^\.deps/' | tar -cf - -T - | tar -xf - -C "$dir/pkg/dynamo-atomic"
	if chroot "$dir" "${root_env[@]}" bash -c 'cd /pkg/dynamo-atomic && pg_buildext updatecontrol &&
		dpkg-buildpackage -us -uc -b' >"$dir/pkg/build.log" 2>&1 &&
		[[ -f $(ls "$dir"/pkg/postgresql-"$major"-dynamo-atomic_*_amd64.deb 2>/dev/null | head -1) ]]; then
		echo "pass $label package: dpkg-buildpackage builds postgresql-$major-dynamo-atomic" >>"$RESULTS"
	else
		tail -20 "$dir/pkg/build.log"
		echo "fail $label package: dpkg-buildpackage did not build postgresql-$major-dynamo-atomic" >>"$RESULTS"
		return
	fi
	lintian_out=$(chroot "$dir" "${root_env[@]}" bash -c 'cd /pkg && lintian --tag-display-limit 0 ./*.changes 2>&1' |
		grep -v 'running with root privileges' || true)
	if [[ -z $lintian_out ]]; then
		echo "pass $label package: lintian finds nothing" >>"$RESULTS"
	else
		echo "$lintian_out" | head -20
		echo "fail $label package: lintian findings (above)" >>"$RESULTS"
	fi
	if chroot "$dir" "${root_env[@]}" DEBIAN_FRONTEND=noninteractive bash -c \
		"apt-get -o Acquire::Check-Valid-Until=false install -y -qq --no-install-recommends /pkg/postgresql-$major-dynamo-atomic_*_amd64.deb" \
		>"$dir/pkg/install.log" 2>&1 &&
		chroot "$dir" dpkg -L "postgresql-$major-dynamo-atomic" | grep -qx "/usr/lib/postgresql/$major/lib/dynamo_atomic.so"; then
		echo "pass $label package: apt installs it, dynamo_atomic.so in PostgreSQL $major's library directory" >>"$RESULTS"
	else
		tail -10 "$dir/pkg/install.log"
		echo "fail $label package: the package did not install" >>"$RESULTS"
	fi
	# the build below installs over it (with its Asserts on): the package is removed first
	chroot "$dir" dpkg --purge "postgresql-$major-dynamo-atomic" >/dev/null 2>&1 || true
}

# a case named but missing would be skipped without a word
for c in $MAJOR_CASES $CASSERT_CASES; do
	[[ $c == regress || -f test/cases/$c.sh ]] || die "no case test/cases/$c.sh (MAJOR_CASES, CASSERT_CASES)"
done
majors=("$@")
((${#majors[@]})) || majors=(17 18)
harness_make_run_dir
trap 'harness_stop_all' EXIT
harness_fetch_dynamodb_local
for major in "${majors[@]}"; do
	# a DynamoDB Local of its own for each: pg_regress expects empty tables
	harness_start_dynamodb "$HARNESS_RUN_DIR/dynamodb-$major.log"
	run_major "$major"
	kill "$DDB_PID" 2>/dev/null && wait "$DDB_PID" 2>/dev/null || true
done
