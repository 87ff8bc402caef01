#!/usr/bin/env bash
# A profile's credential_process: a command that prints credentials as
# JSON.  It runs once per server and expiry window; a hanging one is cut
# by statement_timeout (and killed) or by request_timeout_ms; one that exits
# non-zero is 28000 and what it wrote to standard error (a secret, here)
# reaches no log.  Each scenario runs in a throwaway cluster whose server
# environment names the profile.
#
#   bash credential_process.sh            every scenario
#   bash credential_process.sh inner NAME one scenario's checks (inside its cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

increment() { sql -c "SELECT dynamo_increment('proc-check', table_name => 'ProcessCounters')"; }
server_log() { cat "$(pg_lsclusters -h | awk '{print $7}' | head -1)"; }

inner() {
	harness_guard_server_environment
	sql -c "CREATE EXTENSION dynamo_atomic"
	local r start took
	case $1 in
		good)
			: >"$WORK/runs"
			expect_true "credential_process: the call works with what it printed" test "$(increment)" -ge 1
			expect_eq "...dynamo_credentials_info names the profile, the key it printed and its expiry" \
				'credential_process (profile "good")|PROCESSACCESSKEY|t' \
				"$(sql -c "SELECT source || '|' || access_key_id || '|' || (expires_at IS NOT NULL)::text FROM dynamo_credentials_info()" | sed 's/|true$/|t/')"
			sql -c "SELECT dynamo_credentials_reset()" >/dev/null
			: >"$WORK/runs"
			r=$(psql -X -qAt -c "SELECT count(dynamo_increment('proc-check', table_name => 'ProcessCounters')) FROM generate_series(1, 20)")
			expect_eq "...after dynamo_credentials_reset(), 20 calls in one session run it once" "20|1" "$r|$(wc -l <"$WORK/runs")"
			r=$(psql -X -qAt -c "SELECT count(dynamo_increment('proc-check', table_name => 'ProcessCounters')) FROM generate_series(1, 5)")
			expect_eq "...and another session not at all (the server's shared cache)" "5|1" "$r|$(wc -l <"$WORK/runs")"
			;;
		hang)
			start=$(now_ms)
			r=$(sql_error "SET statement_timeout = 300" "SELECT dynamo_increment('proc-check', table_name => 'ProcessCounters')")
			took=$(($(now_ms) - start))
			expect_eq "a credential_process that hangs: statement_timeout ends the call (57014)" 57014 "$(field 1 "$r")"
			expect_true "...within 200 ms of it ($took ms for the whole psql)" test "$took" -lt 1500
			expect_true "...and the command is killed, with what it started" \
				harness_wait_for 5 bash -c '! pgrep -f "[s]leep 31.5" >/dev/null'
			start=$(now_ms)
			r=$(sql_error "SET dynamo_atomic.request_timeout_ms = 500" "SELECT dynamo_increment('proc-check', table_name => 'ProcessCounters')")
			took=$(($(now_ms) - start))
			expect_true "...and without a statement_timeout, request_timeout_ms: 28000, killed" \
				grep -q '^28000|.*|credential_process of profile "hang" did not finish within 10000 ms: it was killed$' <<<"$r"
			expect_true "...at the default 10 s, not the session's 500 ms: a refresh for the whole server is not shortened by one session ($took ms)" \
				bash -c '[[ $1 -ge 9900 && $1 -lt 13000 ]]' _ "$took"
			;;
		failing)
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('proc-check', table_name => 'ProcessCounters')" 2>&1 || true)
			expect_true "a credential_process that exits 3: 28000 naming its status" \
				grep -q 'ERROR:  28000: credential_process of profile "failing" failed (exit status 3)' <<<"$r"
			expect_eq "...what it wrote to standard error is in no message" 0 "$(grep -c 'stderr-secret' <<<"$r" || true)"
			expect_eq "...nor in the server log" 0 "$(server_log | grep -c 'stderr-secret' || true)"
			;;
		garbage)
			r=$(sql_error "SELECT dynamo_increment('proc-check', table_name => 'ProcessCounters')")
			expect_true "a credential_process printing no Version 1 JSON: 28000" \
				grep -q '^28000|.*|credential_process of profile "garbage" printed no usable credentials$' <<<"$r"
			;;
	esac
}

if [[ ${1:-} == inner ]]; then
	inner "$2"
	exit 0
fi

WORK=$(mktemp -d)
chmod 755 "$WORK"
trap 'harness_stop_all; rm -rf "$WORK"' EXIT
cat >"$WORK/good.sh" <<SH
#!/bin/sh
echo run >>"$WORK/runs"
echo '{"Version": 1, "AccessKeyId": "PROCESSACCESSKEY", "SecretAccessKey": "process-secret-never-print-me", "Expiration": "$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)"}'
SH
cat >"$WORK/config" <<INI
[profile good]
credential_process = sh $WORK/good.sh
[profile hang]
credential_process = sleep 31.5
[profile failing]
credential_process = sh -c 'echo stderr-secret-never-print-me >&2; exit 3'
[profile garbage]
credential_process = echo '{"AccessKeyId": "X"}'
INI
: >"$WORK/runs"
chmod 755 "$WORK/good.sh"
chmod 666 "$WORK/runs"
chmod 644 "$WORK/config"
export WORK RESULTS
ddb_raw CreateTable '{"TableName":"ProcessCounters","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null

settings=(-o "dynamo_atomic.endpoint=$DDB_ENDPOINT" -o "dynamo_atomic.region=$TEST_REGION")
for name in good hang failing garbage; do
	mapfile -t options < <(harness_pg_base_options AWS_PROFILE="$name" AWS_CONFIG_FILE="$WORK/config")
	log "credential_process scenario: $name"
	pg_virtualenv "${options[@]}" "${settings[@]}" bash "${BASH_SOURCE[0]}" inner "$name" ||
		fail "credential_process: scenario $name did not run"
done
