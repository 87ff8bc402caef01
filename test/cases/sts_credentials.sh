#!/usr/bin/env bash
# Credentials from STS: a web identity (EKS IAM roles for service accounts:
# a token file and a role, AssumeRoleWithWebIdentity) and assumed roles (a
# profile's role_arn with source_profile or credential_source, AssumeRole
# signed by the source).  STS is the fake front's /sts on 127.0.0.1, which
# checks AssumeRole's signature against the source's secret, and the
# DynamoDB front accepts only the key and session token STS issued
# (require_sts), so a call that works used them.  Each scenario runs in a
# throwaway cluster whose server environment sets it up.
#
#   bash sts_credentials.sh            every scenario (inside the main cluster)
#   bash sts_credentials.sh inner NAME one scenario's checks (inside its cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

ROLE=arn:aws:iam::123456789012:role/dynamo-atomic-eks
control() { curl -s --max-time 5 "$FAKE/_control?$1" >/dev/null; }
sts_stat() { curl -s --max-time 5 "$FAKE/_sts" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
sts_calls() { sts_stat calls; }
XROLE=arn:aws:iam::210987654321:role/dynamo-atomic-cross-account
info() { sql -c "SELECT source || '|' || access_key_id || '|' || (expires_at IS NOT NULL) FROM dynamo_credentials_info()"; }
increment() { sql -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters')"; }
# the server keeps what STS issued for all its sessions: a check of a new fetch forgets it first
reset() { sql -c "SELECT dynamo_credentials_reset()" >/dev/null; }

# 200 backends at once (pgbench connects them all, then each makes one
# call), against an STS that answers in 500 ms; sets STAMPEDE_CALLS.
stampede() {
	local calls
	reset
	control "fault=delay&ms=500&target=AssumeRoleWithWebIdentity"
	echo "SELECT dynamo_increment('stampede', table_name => 'WebIdentityCounters');" >"$WORK/stampede.sql"
	calls=$(sts_calls)
	pgbench -n -c 200 -j 8 -t 1 -f "$WORK/stampede.sql" >"$WORK/pgbench.out" 2>&1 || true
	STAMPEDE_CALLS=$(($(sts_calls) - calls))
	control "x=1"
	log "stampede: 200 backends, STS answering in 500 ms: $STAMPEDE_CALLS STS calls"
	expect_true "200 backends at once, STS answering in 500 ms: all 200 calls served" \
		grep -q "number of transactions actually processed: 200/200" "$WORK/pgbench.out"
}

# backend_waiting PATTERN: a backend runs a query like PATTERN and waits on an extension event.
backend_waiting() {
	[[ $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE \$\$$1\$\$ AND wait_event_type = 'Extension' AND pid <> pg_backend_pid()") -ge 1 ]]
}
sts_requests() { sts_stat requests; }
sts_asked_since() { [[ $(sts_requests) -gt $1 ]]; }

# The server's shared cache: one refresh for all its processes.
shared_cache() {
	local r calls requests apid t0 elapsed
	control "sts_reset=1&sts_token_file=$WORK/token&require_sts=1"
	increment >/dev/null
	r=$(sql -c "SELECT provider || '|' || role_arn || '|' || (refreshed_at <= now()) || '|' || (next_refresh_at > now()) || '|' || (last_refresh_error IS NULL) FROM dynamo_credentials_info()")
	expect_eq "dynamo_credentials_info: the provider, the role, when fetched and when due, no refresh error" \
		"web identity|$ROLE|true|true|true" "$r"

	stampede
	expect_true "...with a handful of STS calls, not one per backend ($STAMPEDE_CALLS)" test "$STAMPEDE_CALLS" -le 5
	expect_true "...and at least one" test "$STAMPEDE_CALLS" -ge 1

	# what a session's settings resolve to is its own: another profile, another role session, its own STS call
	calls=$(sts_calls)
	r=$(psql -X -qAt -c "SET dynamo_atomic.profile = 'eks'" -c "SELECT source FROM dynamo_credentials_info()" \
		-c "RESET dynamo_atomic.profile" -c "SELECT source FROM dynamo_credentials_info()" | paste -sd'|')
	expect_eq "a session with another profile gets that profile's credentials, the others the environment's" \
		"web identity (profile \"eks\"): role $ROLE|web identity (environment (AWS_WEB_IDENTITY_TOKEN_FILE)): role $ROLE" "$r"
	expect_eq "...one STS call for the profile's, none for the environment's (shared already)" 1 "$(($(sts_calls) - calls))"

	# the refreshing backend terminated mid-request: a waiter takes over at once
	reset
	control "fault=delay&ms=4000&target=AssumeRoleWithWebIdentity&count=1"
	calls=$(sts_calls) requests=$(sts_requests)
	psql -X -qAt -c "SELECT pg_backend_pid()" -c "SELECT dynamo_increment('refresher', table_name => 'WebIdentityCounters')" \
		>"$WORK/a.out" 2>&1 &
	harness_wait_for 10 sts_asked_since "$requests" || fail "shared: the first backend did not ask STS"
	apid=$(head -1 "$WORK/a.out")
	psql -X -qAt -c "SELECT dynamo_increment('waiter', table_name => 'WebIdentityCounters') > 0" >"$WORK/b.out" 2>&1 &
	local bsession=$!
	harness_wait_for 10 backend_waiting "%'waiter'%" || fail "shared: the second backend did not wait"
	t0=$(date +%s%N)
	sql -c "SELECT pg_terminate_backend($apid)" >/dev/null
	wait "$bsession" || true
	elapsed=$((($(date +%s%N) - t0) / 1000000))
	wait || true
	expect_eq "the refreshing backend terminated while STS is slow: the waiting one refreshes instead and its call works" \
		t "$(cat "$WORK/b.out")"
	expect_true "...within 2 s of the termination, not after the first's STS answer (4 s) ($elapsed ms)" test "$elapsed" -lt 2000
	expect_eq "...with one more STS request (two in all)" 2 "$(($(sts_requests) - requests))"

	# a refresh that fails: its waiters get its error, not one more attempt each
	reset
	echo "not-the-token" >"$WORK/other-token"
	control "sts_token_file=$WORK/other-token&fault=delay&ms=700&target=AssumeRoleWithWebIdentity"
	requests=$(sts_requests)
	for i in $(seq 1 10); do # a counter each: increments of one counter would combine (below)
		psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('failing-$i', table_name => 'WebIdentityCounters')" \
			>"$WORK/fail.$i" 2>&1 &
	done
	wait || true
	expect_eq "10 sessions while STS refuses the token (slowly): each fails with 28000" 10 \
		"$(cat "$WORK"/fail.* | grep -c "ERROR:  28000")"
	expect_eq "...each naming InvalidIdentityToken" 10 "$(cat "$WORK"/fail.* | grep -c "InvalidIdentityToken")"
	r=$(($(sts_requests) - requests))
	expect_true "...after one refresh's attempts (at most 4 STS requests), not one refresh per session ($r)" \
		bash -c '[[ $1 -ge 1 && $1 -le 4 ]]' _ "$r"
	# the same with one counter: the first session's refresh fails; the other nine,
	# combined behind it, are sent by a lock worker, whose refresh fails once more
	reset
	requests=$(sts_requests)
	rm -f "$WORK"/fail.*
	for i in $(seq 1 10); do
		psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('failing', table_name => 'WebIdentityCounters')" \
			>"$WORK/fail.$i" 2>&1 &
	done
	wait || true
	expect_eq "10 increments of one counter while STS refuses the token: each fails with 28000" 10 \
		"$(cat "$WORK"/fail.* | grep -c "ERROR:  28000")"
	r=$(($(sts_requests) - requests))
	expect_true "...after at most two refreshes' attempts (the first session's, the worker's for the batch): at most 8 STS requests ($r)" \
		bash -c '[[ $1 -ge 1 && $1 -le 8 ]]' _ "$r"
	control "x=1"
	control "sts_token_file=$WORK/token"

	# a waiter's statement_timeout ends its wait
	reset
	control "fault=delay&ms=3000&target=AssumeRoleWithWebIdentity&count=1"
	requests=$(sts_requests)
	psql -X -qAt -c "SELECT dynamo_increment('refresher', table_name => 'WebIdentityCounters') > 0" >"$WORK/a.out" 2>&1 &
	harness_wait_for 10 sts_asked_since "$requests" || fail "shared: the first backend did not ask STS"
	t0=$(date +%s%N)
	r=$(psql -X -qAt -v VERBOSITY=verbose -c "SET statement_timeout = 300" \
		-c "SELECT dynamo_increment('waiter', table_name => 'WebIdentityCounters')" 2>&1 || true)
	elapsed=$((($(date +%s%N) - t0) / 1000000))
	expect_true "a session waiting for another's refresh: statement_timeout (300 ms) cancels it (57014), at $elapsed ms" \
		bash -c 'grep -q "ERROR:  57014" <<<"$1" && [[ $2 -lt 1500 ]]' _ "$r" "$elapsed"
	wait || true
	expect_eq "...and the refresher's call works" t "$(cat "$WORK/a.out")"

	# STS failing while the credentials are valid: the error is shown, and the retry is deferred server-wide
	control "sts_duration_s=8"
	reset
	increment >/dev/null
	control "fault=server-error&target=AssumeRoleWithWebIdentity"
	r=$(psql -X -qAt -c "SELECT pg_sleep(4.5)" -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters') > 0" 2>/dev/null | tail -1)
	expect_eq "credentials due, STS failing: the call works with the current ones" t "$r"
	requests=$(sts_requests)
	r=$(psql -X -qAt -c "SELECT count(dynamo_increment('wi-check', table_name => 'WebIdentityCounters')) FROM generate_series(1, 5)" 2>/dev/null)
	expect_eq "...other sessions too, without asking STS again (the retry is 30 s later, for the server)" "5|0" "$r|$(($(sts_requests) - requests))"
	r=$(sql -c "SELECT last_refresh_error || '|' || (last_refresh_error_at IS NOT NULL) FROM dynamo_credentials_info()")
	expect_true "...dynamo_credentials_info shows the last refresh error, STS's code in it ($r)" grep -q "InternalFailure.*|true$" <<<"$r"
	control "x=1"
	control "sts_duration_s=3600"
}

inner() {
	harness_guard_server_environment
	sql -c "CREATE EXTENSION dynamo_atomic"
	case $1 in
		environment)
			local r calls before
			control "sts_reset=1&sts_token_file=$WORK/token&require_sts=1"
			expect_true "web identity (environment): an increment through the front that accepts only STS's credentials" \
				test "$(increment)" -ge 1
			r=$(info)
			expect_true "...dynamo_credentials_info names the provider and the role" \
				grep -q "^web identity (environment (AWS_WEB_IDENTITY_TOKEN_FILE)): role $ROLE|ASIASTSFAKE[0-9]*|true$" <<<"$r"
			calls=$(sts_calls)
			r=$(psql -X -qAt -c "SELECT count(dynamo_increment('wi-check', table_name => 'WebIdentityCounters')) FROM generate_series(1, 20)")
			expect_eq "...a second session asks STS not at all (the server's shared cache)" "20|0" "$r|$(($(sts_calls) - calls))"
			reset
			calls=$(sts_calls)
			r=$(psql -X -qAt -c "SELECT count(dynamo_increment('wi-check', table_name => 'WebIdentityCounters')) FROM generate_series(1, 20)")
			expect_eq "...after dynamo_credentials_reset(), 20 increments in one session ask STS once (the credentials are kept)" "20|1" "$r|$(($(sts_calls) - calls))"

			# a refresh ahead of expiry, reading the rotated token: credentials of 4 s are refreshed after 2 s
			control "sts_duration_s=4"
			reset
			r=$( (psql -X -qAt -c "SELECT access_key_id FROM dynamo_credentials_info()" -c "SELECT pg_sleep(2.5)" \
				-c "SELECT access_key_id FROM dynamo_credentials_info()" 2>&1 &
				sleep 1
				echo "rotated-token-$RANDOM" >"$WORK/token"
				wait) | grep -v '^$' | paste -sd'|')
			expect_true "credentials are refreshed before they expire, with the token file read again (rotated meanwhile: STS accepts only its new content)" \
				bash -c '[[ $1 =~ ^ASIASTSFAKE[0-9]+\|ASIASTSFAKE[0-9]+$ && ${1%%|*} != ${1##*|} ]]' _ "$r"

			# STS down: before expiry the current credentials go on (a WARNING); after it, 28000 naming STS's code
			control "sts_duration_s=6"
			reset
			r=$( (psql -X -qAt -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters') > 0" \
				-c "SELECT pg_sleep(4)" -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters') > 0" \
				-c "SELECT pg_sleep(3)" -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters') > 0" 2>&1 &
				sleep 1.5
				control "sts_duration_s=6&fault=server-error&target=AssumeRoleWithWebIdentity"
				wait))
			expect_true "STS failing while the credentials are valid: the call works, with a WARNING naming the role" \
				bash -c 'grep -q "WARNING:  could not refresh the AWS credentials of role \"'"$ROLE"'\"" <<<"$1" && [[ $(grep -c "^t$" <<<"$1") -eq 2 ]]' _ "$r"
			expect_true "...and once they have expired: an error naming the role" \
				grep -q "ERROR:  could not get AWS credentials for role \"$ROLE\" by web identity" <<<"$r"
			r=$(sql_error "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters')")
			expect_eq "...a new session: 28000" 28000 "$(field 1 "$r")"
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters')" 2>&1 || true)
			expect_true "...whose DETAIL has STS's answer (InternalFailure, HTTP 500)" grep -q "DETAIL:  STS answered HTTP 500, InternalFailure" <<<"$r"

			# credentials rolling over every 2 s (4 s ones) while a lock is held 9 s: its heartbeats, sent by a
			# lock worker with credentials of its own, never fail, and nothing is sent with expired ones
			control "sts_reset=1&sts_token_file=$WORK/token&require_sts=1&sts_duration_s=4"
			reset
			r=$(psql -X -qAt -c "SELECT lock_name FROM dynamo_get_lock('rollover', 3000, 0, 'WebIdentityLocks')" -c "SELECT pg_sleep(9)" \
				-c "SELECT refresh_failures || '|' || NOT lost FROM dynamo_held_locks WHERE lock_name = 'rollover'" 2>&1)
			expect_eq "a lock held 9 s while 4 s credentials roll over: no heartbeat failed, still held" "rollover|0|true" \
				"$(grep -v '^$' <<<"$r" | paste -sd'|')"
			expect_eq "...no request carried expired credentials" 0 "$(sts_stat expiredUses)"
			expect_true "...and STS was asked again meanwhile (the backend and the worker refreshed)" test "$(sts_calls)" -ge 4

			# retried: throttling and IDPCommunicationError
			control "sts_duration_s=3600&fault=throttle&target=AssumeRoleWithWebIdentity&count=2"
			reset
			calls=$(sts_calls)
			expect_true "STS throttling twice: retried, the call works" test "$(increment)" -ge 1
			control "fault=idp-error&target=AssumeRoleWithWebIdentity&count=1"
			reset
			expect_true "IDPCommunicationError once: retried, the call works" test "$(increment)" -ge 1
			control "fault=invalid-token&target=AssumeRoleWithWebIdentity"
			reset
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters')" 2>&1 || true)
			expect_true "InvalidIdentityToken every time: 28000 naming it, after a few tries" \
				bash -c 'grep -q "ERROR:  28000" <<<"$1" && grep -q "InvalidIdentityToken" <<<"$1"' _ "$r"
			control "sts_iso=1"
			reset
			expect_true "an Expiration in ISO 8601 rather than epoch seconds" test "$(increment)" -ge 1
			expect_eq "the secret STS issued is in no server log line" 0 \
				"$(grep -c 'never-print-me' "$(pg_lsclusters -h | awk '{print $7}' | head -1)" || true)"
			expect_eq "...nor the token" 0 "$(grep -c 'rotated-token' "$(pg_lsclusters -h | awk '{print $7}' | head -1)" || true)"
			;;
		shared)
			shared_cache
			;;
		unshared)
			control "sts_reset=1&sts_token_file=$WORK/token&require_sts=1"
			stampede
			expect_true "without preloading, each backend refreshes its own: about one STS call per backend ($STAMPEDE_CALLS for 200)" \
				test "$STAMPEDE_CALLS" -ge 150
			;;
		profile)
			control "sts_reset=1&sts_token_file=$WORK/token&require_sts=1"
			expect_true "web identity (a profile's web_identity_token_file and role_arn): the call works" test "$(increment)" -ge 1
			expect_true "...dynamo_credentials_info names the profile" grep -q "^web identity (profile \"eks\"): role $ROLE|ASIASTSFAKE" <<<"$(info)"
			;;
		keys-first)
			control "sts_reset=1&sts_token_file=$WORK/token"
			expect_true "environment keys come before web identity" grep -q '^environment (AWS_ACCESS_KEY_ID' <<<"$(info)"
			expect_eq "...STS is not asked" 0 "$(sts_calls)"
			;;
		half)
			local r
			r=$(sql_error "SELECT * FROM dynamo_credentials_info()")
			expect_eq "AWS_ROLE_ARN without AWS_WEB_IDENTITY_TOKEN_FILE: 28000, naming both" \
				"28000|AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together" "$(cut -d'|' -f1,3 <<<"$r")"
			;;
		assume-role)
			local r
			control "sts_reset=1&sts_source=BASEACCESSKEY:base-secret-never-print-me&sts_external_id=ext-4242&require_sts=1"
			r=$(psql -X -qAt -c "SELECT dynamo_increment('wi-check', table_name => 'WebIdentityCounters') > 0" \
				-c "SELECT source || '|' || access_key_id FROM dynamo_credentials_info()" 2>&1)
			expect_true "an assumed role (role_arn, source_profile with keys, external_id): the call works" grep -qx t <<<"$r"
			expect_true "...dynamo_credentials_info names the role and the profile" \
				grep -q "^assumed role (profile \"xacct\"): role $XROLE|ASIASTSFAKE" <<<"$r"
			expect_eq "...one AssumeRole for the session, its signature checked against the source's secret" 1 "$(sts_stat assumed)"
			;;
		chained)
			control "sts_reset=1&sts_source=BASEACCESSKEY:base-secret-never-print-me&require_sts=1"
			r=$(psql -X -qAt -c "SELECT count(dynamo_increment('wi-check', table_name => 'WebIdentityCounters')) FROM generate_series(1, 5)" 2>&1)
			expect_eq "a role assumed with another assumed role's credentials (source_profile chained): 5 increments" 5 "$r"
			expect_eq "...two AssumeRoles in all, the second signed by the first's credentials and token" 2 "$(sts_stat assumed)"
			;;
		env-source)
			control "sts_reset=1&sts_source=ENVACCESSKEY:env-secret-never-print-me&require_sts=1"
			expect_true "credential_source = Environment: AssumeRole signed by the environment's keys" test "$(increment)" -ge 1
			;;
		cycle)
			local r
			r=$(sql_error "SELECT * FROM dynamo_credentials_info()")
			expect_true "profiles whose source_profile leads back: refused as a cycle (28000)" \
				grep -q '^28000|.*|AWS profile "loop-b" leads back to profile "loop-a" through source_profile: a cycle$' <<<"$r"
			;;
		wrong-source)
			local r
			control "sts_reset=1&sts_source=BASEACCESSKEY:another-secret"
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT * FROM dynamo_credentials_info()" 2>&1 || true)
			expect_true "AssumeRole signed with a secret STS does not know: 28000 naming the role, STS's code in DETAIL" \
				bash -c 'grep -q "ERROR:  28000: could not assume role \"'"$XROLE"'\"" <<<"$1" && grep -q "DETAIL:  STS answered HTTP 403, SignatureDoesNotMatch" <<<"$1"' _ "$r"
			control "sts_reset=1&sts_source=BASEACCESSKEY:base-secret-never-print-me&sts_external_id=another-id"
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT * FROM dynamo_credentials_info()" 2>&1 || true)
			expect_true "...an external_id the role does not accept: AccessDenied in DETAIL" grep -q "DETAIL:  STS answered HTTP 403, AccessDenied" <<<"$r"
			;;
		sso)
			local r
			r=$(psql -X -qAt -v VERBOSITY=verbose -c "SELECT * FROM dynamo_credentials_info()" 2>&1 || true)
			expect_true "an SSO profile: refused (28000), the HINT naming what a server uses instead" \
				bash -c 'grep -q "ERROR:  28000: AWS profile \"laptop\" uses sso" <<<"$1" && grep -q "HINT:  SSO is a workstation" <<<"$1"' _ "$r"
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
echo "first-token-$RANDOM" >"$WORK/token"
chmod 644 "$WORK/token"
cat >"$WORK/config" <<INI
[profile eks]
web_identity_token_file = $WORK/token
role_arn = $ROLE
role_session_name = from-profile
region = $TEST_REGION
[profile laptop]
sso_session = my-sso
[profile base]
aws_access_key_id = BASEACCESSKEY
aws_secret_access_key = base-secret-never-print-me
[profile xacct]
role_arn = $XROLE
source_profile = base
external_id = ext-4242
role_session_name = cross-account
[profile chained]
role_arn = $ROLE
source_profile = xacct
[profile env-source]
role_arn = $XROLE
credential_source = Environment
[profile loop-a]
role_arn = $XROLE
source_profile = loop-b
[profile loop-b]
role_arn = $XROLE
source_profile = loop-a
INI
chmod 644 "$WORK/config"
start_helper port "$WORK/fake.port" node test/helpers/fake_aws.js "$WORK/fake.port" "$DDB_ENDPOINT"
export FAKE="http://127.0.0.1:$port" WORK RESULTS
ddb_raw CreateTable '{"TableName":"WebIdentityCounters","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
ddb_raw CreateTable '{"TableName":"WebIdentityLocks","KeySchema":[{"AttributeName":"lock_name","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"lock_name","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null

# through the front (which checks the credentials), STS at its /sts
settings=(-o "dynamo_atomic.endpoint=$FAKE" -o "dynamo_atomic.region=$TEST_REGION")
scenario() {
	local name=$1 options
	shift
	# STS_SCENARIOS="a b": only these (while working on one)
	[[ -z ${STS_SCENARIOS:-} || " $STS_SCENARIOS " == *" $name "* ]] || return 0
	mapfile -t options < <(harness_pg_base_options AWS_ENDPOINT_URL_STS="$FAKE/sts" "$@")
	log "STS credentials scenario: $name"
	pg_virtualenv "${options[@]}" "${settings[@]}" bash "${BASH_SOURCE[0]}" inner "$name" ||
		fail "STS credentials: scenario $name did not run"
}

scenario environment AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE"
scenario profile AWS_PROFILE=eks AWS_CONFIG_FILE="$WORK/config"
settings+=(-o max_connections=230)
scenario shared AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE" AWS_CONFIG_FILE="$WORK/config"
# the same without preloading: no shared memory, each backend its own refresh (the baseline)
settings+=(-o shared_preload_libraries=)
scenario unshared AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE"
settings=("${settings[@]:0:${#settings[@]}-4}")
scenario keys-first AWS_ACCESS_KEY_ID=ENVACCESSKEY AWS_SECRET_ACCESS_KEY=env-secret \
	AWS_WEB_IDENTITY_TOKEN_FILE="$WORK/token" AWS_ROLE_ARN="$ROLE"
scenario half AWS_ROLE_ARN="$ROLE"
scenario sso AWS_PROFILE=laptop AWS_CONFIG_FILE="$WORK/config"
scenario assume-role AWS_PROFILE=xacct AWS_CONFIG_FILE="$WORK/config"
scenario chained AWS_PROFILE=chained AWS_CONFIG_FILE="$WORK/config"
scenario cycle AWS_PROFILE=loop-a AWS_CONFIG_FILE="$WORK/config"
scenario wrong-source AWS_PROFILE=xacct AWS_CONFIG_FILE="$WORK/config"
# (dynamo_atomic.profile comes before the environment's keys in the chain)
settings+=(-o "dynamo_atomic.profile=env-source")
scenario env-source AWS_CONFIG_FILE="$WORK/config" AWS_ACCESS_KEY_ID=ENVACCESSKEY AWS_SECRET_ACCESS_KEY=env-secret-never-print-me
