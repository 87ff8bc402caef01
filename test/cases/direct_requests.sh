#!/usr/bin/env bash
# Direct requests (src/net/http_direct.c): DynamoDB requests written onto
# the backend's kept-alive connection and their answers read by the
# extension itself.  What a libcurl transfer means, they mean too: a kept
# connection the server closed while idle is not used, a reused one that
# dies unanswered is a resend only where allowed, any framing of an answer
# is read, a cut or foreign answer is a broken exchange - and with
# dynamo_atomic.direct_requests off every one of these gives the same.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh

# bash direct_requests.sh inner-tls PORT H2_PORT: the checks over TLS, inside
# a cluster whose AWS_CA_BUNDLE trusts the fakes' certificate.
if [[ ${1:-} == inner-tls ]]; then
	tls="https://127.0.0.1:$2"
	h2="https://127.0.0.1:$3"
	control() { curl -s --max-time 5 --cacert "$AWS_CA_BUNDLE_FOR_TESTS" "$tls/_control?$1" >/dev/null; }
	sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
	sql -c "SELECT dynamo_create_counter_table('DirectCounters', if_not_exists => true)" >/dev/null
	connections="SELECT connections_opened FROM dynamo_atomic_backend_stats()"
	control ""
	out=$(sql -c "SET dynamo_atomic.endpoint = '$tls'" \
		-c "SELECT count(dynamo_increment('t', 1, 'DirectCounters')) FROM generate_series(1, 20)" \
		-c "SELECT dynamo_get_last_value('t', 'DirectCounters')" -c "$connections")
	expect_eq "over TLS: 20 increments in a session, one connection kept (the server's session tickets read)" \
		"20 20 1" "$(echo $out)"
	control "fault=close-after&count=1"
	out=$(sql -c "SET dynamo_atomic.endpoint = '$tls'" -c "SELECT dynamo_increment('t', 1, 'DirectCounters')" \
		-c "SELECT dynamo_increment('t', 1, 'DirectCounters', max_value => 1000)" -c "$connections")
	expect_eq "over TLS: after an answer with Connection: close, a new connection" "21 22 2" "$(echo $out)"
	out=$(sql -c "SET dynamo_atomic.endpoint = '$h2'" \
		-c "SELECT count(dynamo_increment('t2', 1, 'DirectCounters')) FROM generate_series(1, 5)" \
		-c "SELECT dynamo_increment('t2', 1, 'DirectCounters', max_value => 1000)" -c "$connections")
	expect_eq "over TLS to a server offering HTTP/2: HTTP/1.1 is asked for, and answers" "5 6 1" "$(echo $out)"
	exit 0
fi

case_begin DirectCounters

start_helper port "$work/fake.port" node test/helpers/fake_aws.js "$work/fake.port" "$DDB_ENDPOINT"
fake="http://127.0.0.1:$port"
control() { curl -s --max-time 5 "$fake/_control?$1" >/dev/null; }
posts() { curl -s "$fake/_log" | grep -c '"method":"POST"' || true; }
connections="SELECT connections_opened FROM dynamo_atomic_backend_stats()"

for mode in on off; do
	via_fake=(-c "SET dynamo_atomic.endpoint = '$fake'" -c "SET dynamo_atomic.direct_requests = $mode"
		-c "SET client_min_messages = warning")
	c="d-$mode"
	increment="SELECT dynamo_increment('$c', table_name => 'DirectCounters')"
	bounded="SELECT dynamo_increment('$c', table_name => 'DirectCounters', max_value => 1000000)"
	read_value="SELECT dynamo_get_last_value('$c', 'DirectCounters')"

	control ""
	out=$(sql "${via_fake[@]}" -c "SELECT count(dynamo_increment('$c', 1, 'DirectCounters')) FROM generate_series(1, 20)" \
		-c "$read_value" -c "$connections")
	expect_eq "direct_requests $mode: 20 increments in a session, one connection kept alive" "20 20 1" "$(echo $out)"

	control "fault=chunked&count=1"
	out=$(sql "${via_fake[@]}" -c "$increment" -c "$increment" -c "$connections")
	expect_eq "direct_requests $mode: an answer in one-byte chunks is read, and its connection kept" "21 22 1" "$(echo $out)"

	control "fault=close-after&count=1"
	out=$(sql "${via_fake[@]}" -c "$increment" -c "$increment" -c "$connections")
	expect_eq "direct_requests $mode: an answer with Connection: close is read; the next request opens a connection" \
		"23 24 2" "$(echo $out)"

	# The server closes the idle kept connection: the next request, a
	# bounded increment that must never be resent, sees the close before
	# sending and opens a new connection - no lost answer, sent once.
	control "keepalive_ms=300"
	cat >"$work/wait_close.sh" <<EOF
# until the backend's end of its connection to the fake is in CLOSE_WAIT (08 in /proc/net/tcp), 10 s at most
for i in \$(seq 200); do
	awk -v p=":$(printf %04X "$port")\$" '\$3 ~ p && \$4 == "08" {found = 1} END {exit !found}' /proc/net/tcp && exit 0
	sleep 0.05
done
exit 1
EOF
	out=$(psql -X -qAt -v ON_ERROR_STOP=1 -f - <<SQL 2>&1
SET dynamo_atomic.endpoint = '$fake';
SET dynamo_atomic.direct_requests = $mode;
$increment;
SELECT pg_backend_pid() AS pid \gset
\! bash $work/wait_close.sh
$bounded;
$connections;
SQL
	)
	expect_eq "direct_requests $mode: a kept connection the server closed while idle is not used: the write is sent once" \
		"25 26 2" "$(echo $out)"
	expect_eq "...one sending of each" 2 "$(posts)"
	control "keepalive_ms=5000"

	# A kept connection that dies as the request arrives: an increment
	# may not be resent (40003, sent once); a read is, and answers.
	control "fault=drop-request&target=UpdateItem&count=1"
	r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SET dynamo_atomic.direct_requests = $mode" \
		"$read_value" "$bounded")
	expect_eq "direct_requests $mode: a reused connection dying unanswered: a bounded increment gives 40003" \
		40003 "$(field 1 "$r")"
	expect_eq "...sent once (the read before it once too)" 2 "$(posts)"
	control "fault=drop-request&target=GetItem&count=1"
	out=$(sql "${via_fake[@]}" -c "$increment" -c "$read_value")
	expect_eq "direct_requests $mode: ...a read (allowed) is sent again on a new connection and answers" \
		"27 27" "$(echo $out)"
	expect_eq "...the read sent twice" 3 "$(posts)"

	# Answers cut short or not HTTP, after the write was applied: unknown outcome (40003), applied once.
	for answer in "cut short|HTTP/1.1%20200%20OK%0D%0AContent-Length:%2099%0D%0A%0D%0A%7B%7D" \
		"not HTTP|SSH-2.0-OpenSSH_9.2%0D%0A"; do
		control "fault=raw-answer&count=1&bytes=${answer#*|}"
		r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SET dynamo_atomic.direct_requests = $mode" "$bounded")
		expect_eq "direct_requests $mode: an answer ${answer%%|*} after the write was applied: 40003" \
			40003 "$(field 1 "$r")"
	done
	expect_eq "direct_requests $mode: ...both writes applied once" 29 "$(sql "${via_fake[@]}" -c "$read_value")"

	# Cancelled while waiting for the answer: 57014, and the next request works.
	control "fault=apply-then-hang&count=1"
	r=$(sql_error "SET dynamo_atomic.endpoint = '$fake'" "SET dynamo_atomic.direct_requests = $mode" \
		"SET statement_timeout = 400" "$increment")
	expect_eq "direct_requests $mode: statement_timeout while the answer is awaited gives 57014" 57014 "$(field 1 "$r")"
	expect_true "...within its bound (under 2 s)" test "$(field 2 "$r")" -lt 2000
	out=$(sql "${via_fake[@]}" -c "SET statement_timeout = 400" -c "$increment")
	expect_eq "direct_requests $mode: ...a later session's increment works (31: the hung one was applied)" 31 "$out"

	# A request timeout with the answer lost: 40003.
	control "fault=apply-then-hang&count=1"
	r=$(psql -X -qAt -v VERBOSITY=verbose "${via_fake[@]}" -c "SET dynamo_atomic.request_timeout_ms = 300" \
		-c "$bounded" 2>&1 || true)
	expect_true "direct_requests $mode: a request timeout after the write gives 40003" grep -q "^ERROR:  40003" <<<"$r"
	expect_true "...its DETAIL saying it timed out" grep -q "^DETAIL: .*timed out" <<<"$r"
done

# The same User-Agent and signed headers on the wire either way.
control ""
sql -c "SET dynamo_atomic.endpoint = '$fake'" -c "SET dynamo_atomic.direct_requests = on" \
	-c "SELECT dynamo_increment('wire', table_name => 'DirectCounters')" >/dev/null
direct_wire=$(curl -s "$fake/_log" | grep -o '"headers":{[^}]*}' | grep -o '"[a-z-]*":' | sort | tr -d '\n')
control ""
sql -c "SET dynamo_atomic.endpoint = '$fake'" -c "SET dynamo_atomic.direct_requests = off" \
	-c "SELECT dynamo_increment('wire', table_name => 'DirectCounters')" >/dev/null
transfer_wire=$(curl -s "$fake/_log" | grep -o '"headers":{[^}]*}' | grep -o '"[a-z-]*":' | sort | tr -d '\n')
expect_eq "the direct request sends the transfer's headers, less libcurl's Accept" \
	"$(sed 's/"accept"://' <<<"$transfer_wire")" "$direct_wire"

# Over TLS: the fakes with a certificate for 127.0.0.1, trusted by a
# cluster of its own through AWS_CA_BUNDLE (read from the server's environment).
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext "subjectAltName = IP:127.0.0.1" -days 1 \
	-keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null
chmod 644 "$work/tls.crt"
chmod 755 "$work"
start_helper tls_port "$work/tls.port" node test/helpers/fake_aws.js "$work/tls.port" "$DDB_ENDPOINT" \
	"$work/tls.crt" "$work/tls.key"
FAKE_HTTP2=1 start_helper h2_port "$work/h2.port" node test/helpers/fake_aws.js "$work/h2.port" "$DDB_ENDPOINT" \
	"$work/tls.crt" "$work/tls.key"
mapfile -t options < <(harness_pg_options AWS_CA_BUNDLE="$work/tls.crt")
log "direct_requests: a cluster trusting the fakes' certificate"
AWS_CA_BUNDLE_FOR_TESTS="$work/tls.crt" pg_virtualenv "${options[@]}" \
	bash "${BASH_SOURCE[0]}" inner-tls "$tls_port" "$h2_port" || fail "direct_requests: the TLS cluster did not run"
