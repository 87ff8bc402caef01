#!/usr/bin/env bash
# The AWS credential chain and configuration conventions, each link tested in
# a throwaway cluster whose server environment sets it up.  Container and
# instance metadata are served by test/helpers/fake_aws.js on 127.0.0.1.
#
#   bash credentials.sh            run all scenarios (inside the main cluster)
#   bash credentials.sh inner NAME one scenario's checks (inside its cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

info() { sql -c "SELECT source || '|' || access_key_id || '|' || (expires_at IS NOT NULL) FROM dynamo_credentials_info()"; }
increments() { sql -c "SELECT dynamo_increment('cred-check', table_name => 'CredentialCounters')"; }
fake_log() { curl -s --max-time 5 "$FAKE/_log"; }
first_sqlstate() { sql_error "$@" | cut -d'|' -f1; }

# A backend that fetched container credentials and made requests with
# them, dumped with gcore: the secret survives only in the credentials
# cache; neither the metadata answer nor a request's token header outlives
# its use (our buffers and libcurl's are wiped before reuse or free).
secrets_in_backend_memory() {
	local dir pid count
	dir=$(mktemp -d)
	psql -X -qAt -c "SELECT count(dynamo_increment('cred-check', table_name => 'CredentialCounters')) FROM generate_series(1, 3)" \
		-c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(30)" >"$dir/out" 2>&1 &
	local session=$!
	has_pid() { [[ $(wc -l <"$dir/out") -ge 2 ]]; }
	if ! harness_wait_for 10 has_pid; then
		fail "memory: the session did not start"
		kill "$session" 2>/dev/null || true
		rm -rf "$dir"
		return
	fi
	pid=$(sed -n 2p "$dir/out")
	gcore -o "$dir/core" "$pid" >/dev/null 2>&1 || true
	sql -c "SELECT pg_cancel_backend($pid)" >/dev/null
	wait "$session" || true
	if [[ ! -s $dir/core.$pid ]]; then
		fail "memory: gcore could not dump backend $pid"
		rm -rf "$dir"
		return
	fi
	count() { grep -a -o -F -- "$1" "$dir/core.$pid" | wc -l; }
	expect_eq "memory: no copy of the metadata answer (\"SecretAccessKey\":\"...) remains" 0 \
		"$(count '"SecretAccessKey":"CONTAINER-secret-never-print-me"')"
	expect_eq "memory: no request header line with the session token remains" 0 \
		"$(count 'X-Amz-Security-Token: CONTAINER-session-token-never-print-me')"
	# (the core holds the server's shared memory too: the shared cache is the second copy)
	expect_eq "memory: the secret key is held twice (this backend's credentials cache, the server's shared one)" 2 \
		"$(count 'CONTAINER-secret-never-print-me')"
	expect_eq "memory: the session token is held twice (likewise)" 2 \
		"$(count 'CONTAINER-session-token-never-print-me')"
	rm -rf "$dir"
}

inner() {
	# the instance scenario alone enables metadata, served by the fake on loopback
	if [[ $1 == instance ]]; then harness_guard_server_environment --metadata-allowed; else harness_guard_server_environment; fi
	sql -c "CREATE EXTENSION dynamo_atomic"
	case $1 in
		container)
			expect_eq "container: credentials come from AWS_CONTAINER_CREDENTIALS_FULL_URI" \
				"container credentials at $FAKE/creds|CONTAINERACCESSKEY|true" "$(info)"
			expect_true "container: requests are signed and served" increments
			curl -s --max-time 5 "$FAKE/_control" >/dev/null
			sql -c "SELECT dynamo_increment('cred-check', table_name => 'CredentialCounters') FROM generate_series(1, 3)" >/dev/null
			expect_eq "container: a session after the first asks the endpoint no more (the server's shared cache)" \
				0 "$(fake_log | grep -c '"path":"/creds"')"
			sql -c "SELECT dynamo_credentials_reset()" >/dev/null
			sql -c "SELECT dynamo_increment('cred-check', table_name => 'CredentialCounters') FROM generate_series(1, 3)" >/dev/null
			expect_eq "container: after dynamo_credentials_reset(), a session asks the endpoint once (cached until expiry), with the token" \
				1 "$(fake_log | grep '"path":"/creds"' | grep -c '"authorization":"container-auth-token-for-tests"')"
			secrets_in_backend_memory
			expect_eq "profile: dynamo_atomic.profile reads the shared credentials file" \
				"profile \"from-file\" in \"$WORK/credentials\" or \"$WORK/config\"|FILEACCESSKEY|false" \
				"$(sql -c "SET dynamo_atomic.profile = 'from-file'" -c "SELECT source || '|' || access_key_id || '|' || (expires_at IS NOT NULL) FROM dynamo_credentials_info()")"
			expect_eq "profile: keys from the config file's [profile x] section" "CONFIGACCESSKEY" \
				"$(sql -c "SET dynamo_atomic.profile = 'config-only'" -c "SELECT access_key_id FROM dynamo_credentials_info()")"
			expect_true "profile: a role_arn profile asks STS (here a loopback port where nothing listens): 28000 naming the role" \
				grep -q '^28000|.*|could not assume role "arn:aws:iam::123456789012:role/example" (profile "assume-role")$' \
				<<<"$(sql_error "SET dynamo_atomic.profile = 'assume-role'" "SELECT * FROM dynamo_credentials_info()")"
			expect_true "profile: a credential_process profile runs it (/bin/false: 28000, its exit status)" \
				grep -q '^28000|.*|credential_process of profile "process" failed (exit status 1)$' \
				<<<"$(sql_error "SET dynamo_atomic.profile = 'process'" "SELECT * FROM dynamo_credentials_info()")"
			expect_eq "profile: an unknown profile named explicitly is 28000" 28000 \
				"$(first_sqlstate "SET dynamo_atomic.profile = 'missing'" "SELECT * FROM dynamo_credentials_info()")"
			expect_eq "settings: dynamo_atomic.access_key_id comes first" "SETTINGSKEY" \
				"$(sql -c "SET dynamo_atomic.access_key_id = 'SETTINGSKEY'" -c "SET dynamo_atomic.secret_access_key = 's'" -c "SELECT access_key_id FROM dynamo_credentials_info()")"
			# A rewrite in place within the same second, same size: only the
			# nanosecond mtime tells the cached profile is stale.
			local key_query="SELECT access_key_id FROM dynamo_credentials_info()"
			touch -d '2026-01-01 00:00:00.100000000' "$WORK/credentials"
			expect_eq "profile: a rewrite within the same second and of the same size is seen" \
				"FILEACCESSKEY|FILEACCESSKEZ" \
				"$(sql -c "SET dynamo_atomic.profile = 'from-file'" -c "$key_query" \
					-c "\\! sed 's/FILEACCESSKEY/FILEACCESSKEZ/' $WORK/credentials.orig >$WORK/credentials && touch -d '2026-01-01 00:00:00.200000000' $WORK/credentials" \
					-c "$key_query" | paste -sd'|')"
			cat "$WORK/credentials.orig" >"$WORK/credentials"
			;;
		container-bypass)
			expect_eq "container: a URL whose user information hides another host is refused (28000)" \
				"28000|the container credentials URI of $CONTAINER_URL is not allowed" \
				"$(sql_error "SELECT * FROM dynamo_credentials_info()" | cut -d'|' -f1,3)"
			expect_eq "...and nothing was sent to that host: no token left the server" 0 \
				"$(fake_log | grep -c '"path":"/creds"' || true)"
			;;
		relative-uri)
			r=$(psql -X -v VERBOSITY=verbose -c "SELECT * FROM dynamo_credentials_info()" 2>&1 || true)
			expect_true "container: a relative URI that is not a usable URL is refused (28000)" \
				grep -q 'ERROR:  28000: the container credentials URI of the ECS agent (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) is not allowed' <<<"$r"
			expect_true "...and the relative URI, a bearer key, appears nowhere in the error" \
				bash -c "! grep -q bearer-key-5f2a <<<\"\$1\"" _ "$r"
			;;
		environment)
			expect_eq "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" \
				"environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)|ENVACCESSKEY|false" "$(info)"
			expect_eq "environment: AWS_REGION and AWS_ENDPOINT_URL_DYNAMODB with no settings" \
				"||" "$(sql -c "SELECT current_setting('dynamo_atomic.endpoint') || '|' || current_setting('dynamo_atomic.region') || '|' || current_setting('dynamo_atomic.access_key_id')")"
			expect_true "environment: requests are served" increments
			;;
		instance)
			expect_eq "instance metadata: IMDSv2 role credentials" \
				"instance metadata at $FAKE (role \"dynamo-atomic-test-role\")|INSTANCEACCESSKEY|true" "$(info)"
			expect_true "instance metadata: requests are served (endpoint from AWS_ENDPOINT_URL)" increments
			expect_eq "instance metadata: the session token was fetched first (PUT)" \
				'PUT /latest/api/token' "$(fake_log | head -1 | sed -E 's/.*"method":"([A-Z]+)","path":"([^"]*)".*/\1 \2/')"
			imds_gets=$(fake_log | grep '"method":"GET","path":"/latest/')
			expect_eq "instance metadata: every metadata GET (role, then credentials) carried the session token" \
				"$(grep -c . <<<"$imds_gets")" \
				"$(grep -c '"x-aws-ec2-metadata-token":"imds-session-token-for-tests"' <<<"$imds_gets")"
			expect_true "instance metadata: both the role list and the role were read" \
				grep -q '"path":"/latest/meta-data/iam/security-credentials/dynamo-atomic-test-role"' <<<"$imds_gets"
			# A permission problem is not a credentials problem: keep them.
			curl -s --max-time 5 "$FAKE/_control?fault=access-denied&target=UpdateItem" >/dev/null
			r=$(sql_error "SELECT dynamo_credentials_reset()" "SET dynamo_atomic.endpoint = '$FAKE'" \
				"SELECT dynamo_increment('cred-check', table_name => 'CredentialCounters')" \
				"SELECT dynamo_increment('cred-check', table_name => 'CredentialCounters')")
			expect_eq "AccessDeniedException gives 42501" "42501|DynamoDB denied the UpdateItem request" "$(cut -d'|' -f1,3 <<<"$r")"
			expect_eq "...and the credentials are kept: one fetch (3 metadata requests) for two denied calls" 3 \
				"$(fake_log | grep -c '"path":"/latest/' || true)"
			curl -s --max-time 5 "$FAKE/_control" >/dev/null
			;;
		aws-profile)
			expect_eq "AWS_PROFILE: selects the profile, region from its config section" \
				"profile \"from-file\" in \"$WORK/credentials\" or \"$WORK/config\"|FILEACCESSKEY|false" "$(info)"
			expect_true "AWS_PROFILE: requests are served with the profile's region" increments
			;;
		bad-endpoint)
			r=$(sql_error "SELECT dynamo_get_last_value('x', 'CredentialCounters')")
			expect_eq "an AWS_ENDPOINT_URL_DYNAMODB with a query is refused like the setting (22023)" \
				"22023|DynamoDB endpoint \"$DDB_ENDPOINT/?x=1\" cannot be used" "$(cut -d'|' -f1,3 <<<"$r")"
			;;
		bad-region)
			r=$(sql_error "SELECT dynamo_get_last_value('x', 'CredentialCounters')")
			expect_eq "a region from AWS_REGION is checked like the setting (22023)" \
				'22023|invalid AWS region "evil.example/x" from AWS_REGION' "$(cut -d'|' -f1,3 <<<"$r")"
			;;
		edges)
			expect_eq "container: an Expiration written with an offset (+02:00) is the instant it names (an hour from now)" \
				"CONTAINERACCESSKEY|true" \
				"$(sql -c "SELECT access_key_id || '|' || (expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes') FROM dynamo_credentials_info()")"
			head -c 9000 /dev/zero | tr '\0' 'x' >"$WORK/edge-token"
			r=$(sql_error "SELECT dynamo_credentials_reset()" "SELECT * FROM dynamo_credentials_info()")
			expect_eq "container: a token file longer than 8191 bytes is refused, never cut (28000)" \
				"28000|the container authorization token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"$WORK/edge-token\" is longer than 8191 bytes" \
				"$(cut -d'|' -f1,3 <<<"$r")"
			printf 'container-auth\0token-for-tests' >"$WORK/edge-token"
			r=$(sql_error "SELECT dynamo_credentials_reset()" "SELECT * FROM dynamo_credentials_info()")
			expect_eq "container: a token file holding a NUL is refused (28000)" \
				"28000|the container authorization token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \"$WORK/edge-token\" holds a NUL byte" \
				"$(cut -d'|' -f1,3 <<<"$r")"
			printf '\xef\xbb\xbf[bom]\naws_access_key_id = BOMACCESSKEY\naws_secret_access_key = bom-secret\n' >"$WORK/edge-credentials"
			expect_eq "profile: a credentials file starting with a UTF-8 byte order mark is read" BOMACCESSKEY \
				"$(sql -c "SET dynamo_atomic.profile = 'bom'" -c "SELECT access_key_id FROM dynamo_credentials_info()")"
			printf '[bom]\naws_access_key_id = UTF16KEY\naws_secret_access_key = s\n' | iconv -f UTF-8 -t UTF-16 >"$WORK/edge-credentials"
			r=$(sql_error "SET dynamo_atomic.profile = 'bom'" "SELECT * FROM dynamo_credentials_info()")
			expect_eq "profile: a credentials file saved as UTF-16 is refused, not skipped (28000)" \
				"28000|the AWS shared file \"$WORK/edge-credentials\" holds NUL bytes" "$(cut -d'|' -f1,3 <<<"$r")"
			;;
		nothing)
			r=$(sql_error "SELECT * FROM dynamo_credentials_info()")
			expect_eq "nothing configured: 28000 no AWS credentials found" "28000|no AWS credentials found" \
				"$(cut -d'|' -f1,3 <<<"$r")"
			;;
	esac
}

if [[ ${1:-} == inner ]]; then
	inner "$2"
	exit 0
fi

WORK=$(mktemp -d)
chmod 755 "$WORK" # the server runs as postgres and reads the files here
trap 'harness_stop_all; rm -rf "$WORK"' EXIT
cat >"$WORK/credentials" <<'INI'
# comments and other profiles are skipped
[default]
region = nowhere-1

[from-file]
aws_access_key_id = FILEACCESSKEY
aws_secret_access_key = file-secret
INI
cat >"$WORK/config" <<'INI'
[profile from-file]
region = us-east-1
[profile config-only]
aws_access_key_id=CONFIGACCESSKEY
aws_secret_access_key=config-secret
[profile assume-role]
role_arn = arn:aws:iam::123456789012:role/example
source_profile = from-file
[profile process]
credential_process = /bin/false
INI
chmod 644 "$WORK"/credentials "$WORK"/config
cp "$WORK/credentials" "$WORK/credentials.orig"

start_helper port "$WORK/fake.port" node test/helpers/fake_aws.js "$WORK/fake.port" "$DDB_ENDPOINT"
export FAKE="http://127.0.0.1:$port" WORK RESULTS
ddb_raw CreateTable '{"TableName":"CredentialCounters","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null

files=(AWS_SHARED_CREDENTIALS_FILE="$WORK/credentials" AWS_CONFIG_FILE="$WORK/config")
settings=(-o "dynamo_atomic.endpoint=$DDB_ENDPOINT" -o "dynamo_atomic.region=$TEST_REGION")

# scenario NAME [-s] [NAME=VALUE...]: a cluster with that server environment
# (-s: endpoint and region from settings rather than the environment).
scenario() {
	local name=$1 options
	shift
	local extra=()
	if [[ ${1:-} == -s ]]; then
		extra=("${settings[@]}")
		shift
	fi
	mapfile -t options < <(harness_pg_base_options "$@")
	curl -s --max-time 5 "$FAKE/_control" >/dev/null # clears the fake's log
	log "credentials scenario: $name"
	pg_virtualenv "${options[@]}" "${extra[@]}" bash "${BASH_SOURCE[0]}" inner "$name" ||
		fail "credentials: scenario $name did not run"
}

scenario container -s "${files[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE/creds" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=container-auth-token-for-tests
scenario environment AWS_ACCESS_KEY_ID=ENVACCESSKEY AWS_SECRET_ACCESS_KEY=env-secret \
	AWS_REGION="$TEST_REGION" AWS_ENDPOINT_URL_DYNAMODB="$DDB_ENDPOINT"
scenario instance AWS_EC2_METADATA_DISABLED= AWS_EC2_METADATA_SERVICE_ENDPOINT="$FAKE/" \
	AWS_ENDPOINT_URL="$DDB_ENDPOINT" AWS_DEFAULT_REGION="$TEST_REGION"
scenario aws-profile "${files[@]}" AWS_PROFILE=from-file AWS_ENDPOINT_URL="$DDB_ENDPOINT"
scenario bad-endpoint AWS_ENDPOINT_URL_DYNAMODB="$DDB_ENDPOINT/?x=1" AWS_REGION="$TEST_REGION" \
	AWS_ACCESS_KEY_ID=ENVACCESSKEY AWS_SECRET_ACCESS_KEY=env-secret
# user information that hides the real host (loopback here: the fake
# would log the token's arrival)
CONTAINER_URL="http://169.254.170.2:80@127.0.0.1:$port/creds"
export CONTAINER_URL
scenario container-bypass -s AWS_CONTAINER_CREDENTIALS_FULL_URI="$CONTAINER_URL" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN=container-auth-token-for-tests
# a relative URI libcurl cannot parse (a space): refused before any request
scenario relative-uri -s AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="/v2/credentials/bearer-key-5f2a with space"
scenario bad-region AWS_REGION="evil.example/x" AWS_ENDPOINT_URL="$DDB_ENDPOINT" \
	AWS_ACCESS_KEY_ID=ENVACCESSKEY AWS_SECRET_ACCESS_KEY=env-secret
scenario nothing -s
echo container-auth-token-for-tests >"$WORK/edge-token"
: >"$WORK/edge-credentials"
chmod 644 "$WORK/edge-token" "$WORK/edge-credentials"
scenario edges -s AWS_CONTAINER_CREDENTIALS_FULL_URI="$FAKE/creds?offset_minutes=120" \
	AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$WORK/edge-token" AWS_SHARED_CREDENTIALS_FILE="$WORK/edge-credentials" \
	AWS_CONFIG_FILE=/nonexistent/dynamo_atomic/config
