#!/usr/bin/env bash
# A misspelt dynamo_atomic.* line in the configuration stops every request:
# PostgreSQL only WARNs about it and ignores the line, which for a misspelt
# endpoint would send a set-up meant for DynamoDB Local to AWS.
#   - at reload, in this cluster: every call fails with F0000 naming the
#     file, the line and the nearest setting; the fake front the session
#     points at receives nothing; once the line is removed, calls work;
#   - at start, in a cluster of its own whose endpoint line is misspelt:
#     its server environment sends all HTTPS through a proxy that is a
#     loopback catcher (a misspelling cannot undo that: it is the
#     environment, not a setting) and preloads slow_dns.so logging every
#     name lookup (answered 127.0.0.1).  The log has the WARNING at start,
#     the calls fail with F0000, the catcher saw no connection and no name
#     was looked up.
#
#   bash misspelt_setting.sh          both
#   bash misspelt_setting.sh inner    the checks inside the misspelt cluster
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

T=CaseMisspeltCounters

inner() {
	harness_guard_server_environment
	harness_server_environment | grep -q '^HTTPS_PROXY=http://127\.0\.0\.1:' ||
		die "the misspelt cluster does not send HTTPS to the loopback catcher: refusing to run"
	harness_server_environment | grep -q '^LD_PRELOAD=.*slow_dns\.so' ||
		die "the misspelt cluster does not preload the DNS logger: refusing to run"
	local conf logfile r
	conf=$(sql -c "SHOW config_file")
	logfile=$(readlink -f "$PG_CLUSTER_CONF_ROOT/$(sql -c "SELECT current_setting('server_version_num')::int / 10000")/regress/log" 2>/dev/null || true)
	sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic"
	expect_true "start: the server log has a WARNING naming the misspelt line and the setting meant" \
		grep -q "line [0-9]* sets \"dynamo_atomic.endpiont\", which is not a dynamo_atomic setting" "${logfile:-/dev/null}"
	r=$(sql_error "SELECT dynamo_increment('x', 1, '$T')")
	expect_eq "start: a call fails with F0000" F0000 "$(field 1 "$r")"
	expect_true "...naming the file and the line" grep -qF "\"$conf\" line $(grep -n '^dynamo_atomic.endpiont' "$conf" | cut -d: -f1) sets \"dynamo_atomic.endpiont\"" <<<"$r"
	expect_true "...and the setting meant" grep -q 'Did you mean "dynamo_atomic.endpoint"' \
		<<<"$(psql -X -qAt -c "SELECT dynamo_increment('x', 1, '$T')" 2>&1)"
	r=$(sql_error "SELECT dynamo_nextval('x', 10, '$T')")
	expect_eq "start: dynamo_nextval too" F0000 "$(field 1 "$r")"
	r=$(sql_error "SELECT dynamo_get_lock('x', 5000, 0, '$T')")
	expect_eq "start: a lock too" F0000 "$(field 1 "$r")"
	r=$(sql_error "SELECT dynamo_get('x', 'y', '$T')")
	expect_eq "start: an item read too" F0000 "$(field 1 "$r")"
}

if [[ ${1:-} == inner ]]; then
	inner
	exit 0
fi

case_begin "$T"
start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
requests() { curl -s "$fake/_log" | grep -c '"method":"POST"' || true; }

# --- 1. at reload
conf=$(sql -c "SHOW config_file")
cp "$conf" "$work/conf.orig"
restore_conf() { cp "$work/conf.orig" "$conf" && sql -c "SELECT pg_reload_conf()" >/dev/null; }
trap 'restore_conf; harness_stop_all; rm -rf "$work"' EXIT
echo "dynamo_atomic.regoin = 'us-east-1'" >>"$conf"
line=$(wc -l <"$conf")
sql -c "SELECT pg_reload_conf()" >/dev/null
curl -s "$fake/_control" >/dev/null # clears the front's log
at_fake="SET dynamo_atomic.endpoint = '$fake'"
r=$(sql_error "$at_fake" "SELECT pg_sleep(0.2)" "SELECT dynamo_increment('x', 1, '$T')")
expect_eq "reload: a misspelt line added and reloaded makes every call fail with F0000" F0000 "$(field 1 "$r")"
expect_true "...naming the file and the line ($line)" grep -qF "\"$conf\" line $line sets \"dynamo_atomic.regoin\"" <<<"$r"
expect_true "...and the setting meant" grep -q 'Did you mean "dynamo_atomic.region"' \
	<<<"$(psql -X -qAt -c "$at_fake" -c "SELECT dynamo_increment('x', 1, '$T')" 2>&1)"
r=$(sql_error "$at_fake" "SELECT dynamo_get_lock('x', 5000, 0, '$T')")
expect_eq "reload: a lock too" F0000 "$(field 1 "$r")"
expect_eq "reload: the front received no request" 0 "$(requests)"
# a role that may not read the settings is not shown the file's path
sql -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS misspelt_app" \
	-c "CREATE ROLE misspelt_app LOGIN" -c "SELECT dynamo_atomic_grant('misspelt_app', 'counters')" >/dev/null
r=$(sql_error "SET ROLE misspelt_app" "SELECT dynamo_increment('x', 1, '$T')")
expect_eq "reload: an unprivileged role gets F0000 too" F0000 "$(field 1 "$r")"
expect_true "...naming the line but not the file's path (config_file is not theirs to read)" \
	grep -qF "a configuration file's line $line sets \"dynamo_atomic.regoin\"" <<<"$r"
expect_eq "...(no path in it)" "" "$(grep -oF "$conf" <<<"$r" || true)"
# a case-different misspelling keeps a placeholder PostgreSQL never removes; a value a setting refuses is dropped
misspelt_line() { # LINE EXPECTED_TEXT WHAT
	cp "$work/conf.orig" "$conf"
	echo "$1" >>"$conf"
	sql -c "SELECT pg_reload_conf()" >/dev/null
	curl -s "$fake/_control" >/dev/null
	r=$(sql_error "$at_fake" "SELECT pg_sleep(0.2)" "SELECT dynamo_increment('x', 1, '$T')")
	expect_eq "reload: $3: F0000" F0000 "$(field 1 "$r")"
	expect_true "...saying so ($2)" grep -qF "$2" <<<"$r"
	expect_eq "...and the front received no request" 0 "$(requests)"
}
misspelt_line "Dynamo_Atomic.Endpiont = '$fake'" 'sets "Dynamo_Atomic.Endpiont", which is not a dynamo_atomic setting' \
	"a misspelling in other letter case"
misspelt_line "dynamo_atomic.endpoint = 'http//127.0.0.1:9'" 'sets "dynamo_atomic.endpoint" to a value it refuses' \
	"an endpoint line whose value the setting refuses (PostgreSQL would keep the default: AWS)"
cp "$work/conf.orig" "$conf"
echo "Dynamo_Atomic.Lock_Table = 'CaseMisspeltLocks'" >>"$conf"
sql -c "SELECT pg_reload_conf()" >/dev/null
r=$(sql_error "$at_fake" "SELECT pg_sleep(0.2)" "SELECT dynamo_increment('x', 1, '$T')")
expect_eq "reload: a right name in other letter case is a setting, not refused" none "$(field 1 "$r")"
restore_conf
r=$(sql_error "$at_fake" "SELECT pg_sleep(0.2)" "SELECT dynamo_increment('x', 1, '$T')")
expect_eq "reload: once the line is gone and reloaded, calls work again" none "$(field 1 "$r")"
expect_true "...and reach the front" test "$(requests)" -ge 1

# --- 2. without preloading, the settings that size shared memory are lines it knows
mapfile -t pg_options < <(harness_pg_options)
pg_options=("${pg_options[@]/shared_preload_libraries=dynamo_atomic/shared_preload_libraries=}")
pg_options+=(-o "dynamo_atomic.max_locks=100" -o "dynamo_atomic.lock_workers=2")
pg_virtualenv "${pg_options[@]}" bash -c "psql -X -qAt -c 'SET client_min_messages = warning' \
	-c 'CREATE EXTENSION dynamo_atomic' -c \"SELECT dynamo_increment('nopreload', 1, '$T')\" >$work/nopreload.out 2>&1" ||
	fail "without preloading: the cluster did not run"
expect_eq "without preloading, max_locks and lock_workers lines do not stop requests" 1 "$(tail -1 "$work/nopreload.out")"

# --- 3. at start: a cluster whose endpoint line is misspelt
start_helper catcher_port "$work/catcher.port" node -e '
	const fs = require("fs"), [portFile, logFile] = process.argv.slice(1);
	const s = require("net").createServer((c) => { fs.appendFileSync(logFile, "connection\n"); c.destroy(); });
	s.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(s.address().port)));
	setTimeout(() => process.exit(0), 300000);' "$work/catcher.port" "$work/catcher.log"
: >"$work/catcher.log"
dns_log="$work/dns.log"
: >"$dns_log"
chmod 666 "$dns_log"
proxy="http://127.0.0.1:$catcher_port"
mapfile -t pg_options < <(harness_pg_base_options "HTTPS_PROXY=$proxy" "https_proxy=$proxy" \
	"HTTP_PROXY=$proxy" "http_proxy=$proxy" "ALL_PROXY=$proxy" \
	"LD_PRELOAD=$PWD/test/helpers/slow_dns.so" "DNS_LOG_FILE=$dns_log")
pg_options+=(-o "dynamo_atomic.endpiont=$DDB_ENDPOINT" -o "dynamo_atomic.region=$TEST_REGION"
	-o "dynamo_atomic.access_key_id=$TEST_ACCESS_KEY_ID" -o "dynamo_atomic.secret_access_key=$TEST_SECRET_ACCESS_KEY")
pg_virtualenv "${pg_options[@]}" bash "${BASH_SOURCE[0]}" inner || fail "start: the misspelt cluster's checks stopped early"
expect_eq "start: the catcher (every HTTPS request's proxy) saw no connection" 0 "$(grep -c connection "$work/catcher.log" || true)"
expect_eq "start: no name was looked up but the server's own (localhost)" "" \
	"$(grep -v -x -e localhost -e '' "$dns_log" | sort -u | tr '\n' ' ')"
