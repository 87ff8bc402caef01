#!/usr/bin/env bash
# The DynamoDB endpoint by the SDKs' rules, each step against the next:
# dynamo_atomic.endpoint, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the
# profile's services section (dynamodb = endpoint_url), the profile's
# endpoint_url; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS and the profile's
# ignore_configured_endpoint_urls.  A working endpoint is the fake front
# (which forwards to DynamoDB Local), a wrong one a dead loopback port.  The
# default endpoint is never reached: the server's https_proxy is the fake,
# which refuses every CONNECT and lists the host asked for.
#
#   bash endpoints.sh            every scenario (inside the main cluster)
#   bash endpoints.sh inner NAME one scenario's checks (inside its cluster)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

DEAD=http://127.0.0.1:9
increment() { sql -c "SET dynamo_atomic.profile = '$1'; SELECT dynamo_increment('endpoint-check', table_name => 'EndpointCounters') > 0"; }
increment_error() { sql_error "SET dynamo_atomic.profile = '$1'; SELECT dynamo_increment('endpoint-check', table_name => 'EndpointCounters')"; }
# how many CONNECTs the fake (the server's https_proxy) was asked for the default endpoint
default_connects() { curl -s --max-time 5 "$FAKE/_connects" | { grep -o "\"dynamodb.$TEST_REGION.amazonaws.com:443\"" || true; } | wc -l; }

inner() {
	harness_guard_server_environment
	sql -c "CREATE EXTENSION dynamo_atomic"
	case $1 in
		profile)
			expect_eq "profile: its services section's dynamodb endpoint_url, before its endpoint_url" t "$(increment services)"
			expect_eq "profile: its endpoint_url (another service's endpoint_url, a sub-property, is not the profile's)" \
				t "$(increment plain)"
			expect_eq "profile: every key indented alike is the profile's; one indented deeper under \"s3 =\" is S3's" \
				t "$(increment indented)"
			expect_eq "profile: a line indented under a value is its continuation, not the profile's endpoint_url" \
				t "$(increment continued)"
			local r before
			before=$(default_connects)
			r=$(increment_error ignoring)
			expect_true "profile: ignore_configured_endpoint_urls = true: the default endpoint (asked of the proxy), not the profile's" \
				test "$(default_connects)" -gt "$before"
			# (08006 when libcurl reports the proxy's refusal as a broken exchange, 08001 as a connection not made)
			expect_true "...and the call fails there (class 08), having left nothing but loopback ($(field 1 "$r"))" \
				grep -qE '^080(01|06)$' <<<"$(field 1 "$r")"
			expect_true "...where the proxy refused it (not the dead port of a configured endpoint)" \
				grep -q "CONNECT\|proxy\|403" <<<"$(psql -X -qAt -c "SET dynamo_atomic.profile = 'ignoring'" -c "SELECT dynamo_increment('endpoint-check', table_name => 'EndpointCounters')" 2>&1)"
			expect_eq "the setting still wins over everything" t \
				"$(sql -c "SET dynamo_atomic.profile = 'ignoring'; SET dynamo_atomic.endpoint = '$FAKE'; SELECT dynamo_increment('endpoint-check', table_name => 'EndpointCounters') > 0")"
			;;
		environment)
			expect_eq "AWS_ENDPOINT_URL before the profile's services section and endpoint_url" t "$(increment services-dead)"
			;;
		dynamodb-first)
			expect_eq "AWS_ENDPOINT_URL_DYNAMODB before AWS_ENDPOINT_URL" t "$(increment services-dead)"
			;;
		ignore)
			local r before
			before=$(default_connects)
			r=$(increment_error services)
			expect_true "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: neither the environment's nor the profile's, the default endpoint" \
				test "$(default_connects)" -gt "$before"
			expect_true "...where the call fails (class 08: $(field 1 "$r"))" grep -qE '^080(01|06)$' <<<"$(field 1 "$r")"
			expect_eq "...while dynamo_atomic.endpoint is still used" t \
				"$(sql -c "SET dynamo_atomic.profile = 'services'; SET dynamo_atomic.endpoint = '$FAKE'; SELECT dynamo_increment('endpoint-check', table_name => 'EndpointCounters') > 0")"
			;;
		not-ignored)
			expect_eq "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false outweighs the profile's ignore_configured_endpoint_urls = true" \
				t "$(increment ignoring)"
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
start_helper port "$WORK/fake.port" node test/helpers/fake_aws.js "$WORK/fake.port" "$DDB_ENDPOINT"
export FAKE="http://127.0.0.1:$port" WORK RESULTS
keys="aws_access_key_id = $TEST_ACCESS_KEY_ID
aws_secret_access_key = $TEST_SECRET_ACCESS_KEY
region = $TEST_REGION"
indented_keys=$(sed 's/^/  /' <<<"$keys")
cat >"$WORK/config" <<INI
[profile services]
$keys
endpoint_url = $DEAD
services = local-dynamodb
[services local-dynamodb]
s3 =
  endpoint_url = $DEAD
dynamodb =
  endpoint_url = $FAKE
[profile plain]
$keys
s3 =
  endpoint_url = $DEAD
endpoint_url = $FAKE
[profile ignoring]
$keys
endpoint_url = $FAKE
ignore_configured_endpoint_urls = true
[profile indented]
$indented_keys
  s3 =
    endpoint_url = $DEAD
  endpoint_url = $FAKE
[profile continued]
$keys
role_session_name = endpoints
  endpoint_url = $DEAD
endpoint_url = $FAKE
[profile services-dead]
$keys
endpoint_url = $DEAD
services = dead
[services dead]
dynamodb =
  endpoint_url = $DEAD
INI
chmod 644 "$WORK/config"
ddb_raw CreateTable '{"TableName":"EndpointCounters","KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null

scenario() {
	local name=$1 options
	shift
	mapfile -t options < <(harness_pg_base_options AWS_CONFIG_FILE="$WORK/config" https_proxy="$FAKE" "$@")
	log "endpoint scenario: $name"
	pg_virtualenv "${options[@]}" -o dynamo_atomic.connect_timeout_ms=2000 bash "${BASH_SOURCE[0]}" inner "$name" ||
		fail "endpoints: scenario $name did not run"
}

scenario profile
scenario environment AWS_ENDPOINT_URL="$FAKE"
scenario dynamodb-first AWS_ENDPOINT_URL_DYNAMODB="$FAKE" AWS_ENDPOINT_URL="$DEAD"
scenario ignore AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true AWS_ENDPOINT_URL="$FAKE"
scenario not-ignored AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=false
