#!/usr/bin/env bash
# Faults between PostgreSQL and DynamoDB, injected by a fake front that
# forwards to DynamoDB Local: throttling and 5xx are retried and counted,
# their persistence gives 53400 / 08006, garbage gives XX000, rejected
# credentials give 28000 - and no secret reaches an error or the log.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

case_begin FaultCounters

start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
via_fake=(-c "SET dynamo_atomic.endpoint = '$fake'" -c "SET client_min_messages = warning")
increment="SELECT dynamo_increment('f', table_name => 'FaultCounters')"
stats="SELECT retries || ',' || throttles || ',' || errors FROM dynamo_atomic_backend_stats()"

control ""
expect_eq "requests pass through the fake front" 1 "$(psql -X -qAt "${via_fake[@]}" -c "$increment")"

# signing as seen on the wire
control ""
psql -X -qAt "${via_fake[@]}" -c "SET dynamo_atomic.session_token = 'wire-session-token'" -c "$increment" >/dev/null
wire=$(curl -s "$fake/_log")
expect_true "the Authorization header signs content-type, host, x-amz-date, x-amz-security-token, x-amz-target" \
	grep -q 'SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]\{64\}' <<<"$wire"
expect_true "the credential scope names the key, region and service" \
	grep -q "Credential=$TEST_ACCESS_KEY_ID/[0-9]\{8\}/$TEST_REGION/dynamodb/aws4_request" <<<"$wire"
expect_true "the session token travels as X-Amz-Security-Token" grep -q '"x-amz-security-token":"wire-session-token"' <<<"$wire"
expect_true "no Expect: 100-continue round trip" bash -c "! grep -q '\"expect\"' <<<'$wire'"
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" dynamo_atomic.control)
expect_true "requests name their sender and its version: User-Agent dynamo_atomic/$version" \
	grep -q "\"user-agent\":\"dynamo_atomic/$version\"" <<<"$wire"

# throttled twice, then served: two retries, two throttles, no error
control "fault=throttle&count=2"
out=$(psql -X -qAt "${via_fake[@]}" -c "$increment" -c "$stats")
expect_eq "two throttles are retried and the increment succeeds" "3" "$(head -1 <<<"$out")"
expect_eq "retries and throttles are counted" "2,2,0" "$(tail -1 <<<"$out")"

# throttled for good: 53400 after max_retries
control "fault=throttle"
r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SET dynamo_atomic.max_retries = 2" "$increment")
expect_eq "persistent throttling gives 53400" 53400 "$(field 1 "$r")"
expect_eq "the message says how often it was throttled" \
	"DynamoDB throttled the UpdateItem request 3 times" "$(field 3 "$r")"
expect_eq "exactly max_retries + 1 requests were sent" 3 "$(curl -s "$fake/_log" | grep -c '"method":"POST"')"

# a 500, then served: a read is retried; an increment's outcome is unknown
read_value="SELECT dynamo_get_last_value('f', 'FaultCounters')"
control "fault=server-error&count=1"
expect_eq "a 500 on a read is retried and the read succeeds" 3 "$(psql -X -qAt "${via_fake[@]}" -c "$read_value")"
control "fault=server-error"
r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SET dynamo_atomic.max_retries = 1" "$read_value")
expect_eq "persistent 500s on a read give 08006" 08006 "$(field 1 "$r")"
expect_eq "...after max_retries + 1 sendings" 2 "$(curl -s "$fake/_log" | grep -c '"method":"POST"')"
control "fault=server-error&count=1"
r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "$increment")
expect_eq "a 500 on an increment is not resent: 40003, since it may have been applied" "40003|1" \
	"$(field 1 "$r")|$(curl -s "$fake/_log" | grep -c '"method":"POST"')"
control "fault=server-error&count=1"
expect_eq "...unless dynamo_atomic.retry_unknown_writes allows it" 4 \
	"$(psql -X -qAt "${via_fake[@]}" -c "SET dynamo_atomic.retry_unknown_writes = on" -c "$increment")"

# a 200 whose body is not JSON
control "fault=garbage&count=1"
r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "$increment")
expect_eq "a malformed response gives XX000" XX000 "$(field 1 "$r")"

# rejected credentials; the fake echoes the session token in its message
control "fault=reject-credentials"
secret_token="echoed-token-must-be-redacted-5b3c"
out=$(psql -X -v VERBOSITY=verbose "${via_fake[@]}" -c "SET dynamo_atomic.session_token = '$secret_token'" -c "$increment" 2>&1 || true)
expect_true "rejected credentials give 28000" grep -q 'ERROR:  28000: DynamoDB rejected the AWS credentials' <<<"$out"
expect_true "AWS's message is shown with the token redacted" grep -q 'UnrecognizedClientException: .*\[redacted\]' <<<"$out"
expect_true "the token itself appears nowhere in the error" bash -c "! grep -q '$secret_token' <<<\"\$1\"" _ "$out"
expect_true "the hint names where the credentials came from, not what they are" \
	grep -q 'HINT:  The credentials came from dynamo_atomic.access_key_id and dynamo_atomic.secret_access_key.' <<<"$out"
control ""

# a secret that is a substring of "[redacted]" itself: redaction must end
control "fault=reject-credentials"
out=$(timeout 20 psql -X -v VERBOSITY=verbose "${via_fake[@]}" -c "SET dynamo_atomic.session_token = 'dacted'" \
	-c "$increment" 2>&1 || true)
expect_true "a secret found inside the redaction mark is redacted once, and the call ends" \
	grep -q 'DETAIL:  UnrecognizedClientException: The security token included in the request is invalid: \[redacted\]' <<<"$out"
control ""

# a certificate DynamoDB's endpoint cannot prove: 58000 at once, not a transient 08001
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
	-keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
start_helper tls_port "$work/tls.port" node test/helpers/fake_aws.js "$work/tls.port" "$DDB_ENDPOINT" \
	"$work/tls.crt" "$work/tls.key"
out=$(psql -X -v VERBOSITY=verbose -c "SET dynamo_atomic.endpoint = 'https://127.0.0.1:$tls_port'" \
	-c "SET dynamo_atomic.max_retries = 3" -c "$increment" 2>&1 || true)
expect_true "an untrusted certificate gives 58000, saying it is a certificate problem" \
	grep -q "ERROR:  58000: could not verify the TLS certificate of DynamoDB at https://127.0.0.1:$tls_port" <<<"$out"
expect_true "...with a hint that it is not passing" grep -q 'HINT:  This is a certificate problem, not a passing failure' <<<"$out"
expect_true "...and is not retried (1 attempt)" grep -qE 'CONTEXT:  DynamoDB (DescribeTable|UpdateItem) at .*, 1 attempt$' <<<"$out"

# creating a table that is still being deleted waits for the deletion, then creates it
control "fault=in-use&target=CreateTable&count=1"
control "add=1&fault=deleting&target=DescribeTable&count=2"
out=$(psql -X "${via_fake[@]}" -c "SET client_min_messages = notice" \
	-c "SELECT dynamo_create_counter_table('FaultRecreated')" 2>&1 || true)
expect_true "CreateTable on a table being deleted says so and waits" \
	grep -q 'NOTICE:  DynamoDB table "FaultRecreated" is being deleted; waiting for that to finish' <<<"$out"
expect_eq "...then creates it (two CreateTable requests, no error)" "2|0" \
	"$(curl -s "$fake/_log" | grep -c 'DynamoDB_20120810.CreateTable')|$(grep -c ERROR <<<"$out" || true)"
expect_eq "...and the table works" 1 "$(sql -c "SELECT dynamo_increment('x', 1, 'FaultRecreated')")"
control ""

# the server log never holds a secret
logdir="$(dirname "${PG_CLUSTER_CONF_ROOT:-/nonexistent}")/log"
if compgen -G "$logdir/*.log" >/dev/null; then
	expect_true "the server log holds neither the secret key nor a session token" \
		bash -c "! grep -q -e '$TEST_SECRET_ACCESS_KEY' -e '$secret_token' -e 'wire-session-token' $logdir/*.log"
else
	fail "the server log holds neither the secret key nor a session token" "no log found in $logdir"
fi
