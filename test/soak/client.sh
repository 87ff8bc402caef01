#!/usr/bin/env bash
# client.sh - one soak client: until DEADLINE (epoch ms) it runs a random mix
# of operations, drawn from SEED, against the cluster in its PG* environment,
# and appends one history line per operation to HISTORY (tab-separated):
#
#   op cluster client key outcome code slowest_ms t0 t1 detail
#
# outcome: ok (acknowledged), maybe (the write may or may not have been
# applied: 40003, a cancel, a lost session, an unreadable answer), no (an
# error that promises nothing was applied), down (no session could be made).
# slowest_ms is psql's own timing of the op's slowest statement.  t0 and t1
# are the client's clock around the op.  detail: the values the op saw.
#
#   bash client.sh CLUSTER CLIENT SEED DEADLINE HISTORY
set -uo pipefail

CLUSTER=$1 CLIENT=$2 DEADLINE=$4 HISTORY=$5
RANDOM=$3
export PGAPPNAME="soak-$CLUSTER-$CLIENT"
n=0

now() { local _us=${EPOCHREALTIME/./}; printf -v "$1" "%s" "$((_us / 1000))"; }
pick() { printf -v "$1" '%s' "$(($2 + RANDOM % ($3 - $2 + 1)))"; }

# q STATEMENT...: runs the statements in one session.  Sets OUT (the rows),
# CODE (ok, a SQLSTATE, lost or down), SLOWEST (ms, psql's \timing).
q() {
	local args=(-c '\timing on') s
	for s; do args+=(-c "$s"); done
	# a statement that ignored statement_timeout is killed and recorded as hung
	OUT=$(timeout -k 5 60 psql -X -qAt -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "${args[@]}" 2>&1)
	local rc=$?
	SLOWEST=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$OUT" | sort -n | tail -1)
	SLOWEST=${SLOWEST%%.*}
	: "${SLOWEST:=0}"
	if ((rc == 0)); then
		CODE=ok
	elif ((rc == 124 || rc == 137)); then
		CODE=hung
	elif grep -q '^psql: error: connection to server' <<<"$OUT"; then
		CODE=down
	elif grep -qE '^ERROR:  [0-9A-Z]{5}:' <<<"$OUT"; then
		CODE=$(sed -nE 's/^ERROR:  ([0-9A-Z]{5}):.*/\1/p' <<<"$OUT" | head -1)
	else
		CODE=lost # FATAL (terminated, shutdown) or the connection broke
	fi
	OUT=$(grep -vE '^(Time: |ERROR: |FATAL: |DETAIL: |HINT: |LOCATION: |CONTEXT: |NOTICE: |WARNING: |psql: |server closed|	|This probably|connection to server|SET$)' <<<"$OUT")
}

# outcome_of KIND: what CODE promises about a write of this kind
outcome_of() {
	case $CODE in
		ok) echo ok ;;
		down) echo down ;;
		40003 | 57014 | lost | hung | XX000) echo maybe ;;
		*) echo no ;;
	esac
}

record() { # op key outcome t0 t1 detail
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$CLUSTER" "$CLIENT" "$2" "$3" "$CODE" "$SLOWEST" "$4" "$5" "$6" >>"$HISTORY"
}

op_increment() {
	local c t0 t1
	pick c 0 2
	now t0
	q "SELECT dynamo_increment('soak-n$c')"
	now t1
	record increment "soak-n$c" "$(outcome_of)" "$t0" "$t1" "$OUT"
}

# Four increments of one hot counter at once, from four sessions: they
# combine (one request in flight, the others in a batch sent by a lock worker).
op_combined() {
	local i
	for i in 1 2 3 4; do
		(
			now t0
			q "SELECT dynamo_increment('soak-hot')"
			now t1
			record increment soak-hot "$(outcome_of)" "$t0" "$t1" "$OUT"
		) &
	done
	wait
	CODE=ok # the loop's own pause is for a cluster that is down: each op recorded its own
}

# A sharded tally, its shard count changed now and then (4 or 8): no count is lost.
op_tally() {
	local shards t0 t1
	shards=$((RANDOM % 2 ? 4 : 8))
	now t0
	q "SELECT dynamo_tally_add('soak-tally', 1, $shards)"
	now t1
	record tally soak-tally "$(outcome_of)" "$t0" "$t1" "$shards"
}

op_bounded() {
	local t0 t1
	now t0
	q "SELECT dynamo_increment('soak-bounded', 1, max_value => ${SOAK_BOUND:-400})"
	now t1
	record increment "soak-bounded" "$(outcome_of)" "$t0" "$t1" "$OUT"
}

op_nextval() {
	local caches=(1 10 100) c k t0 t1
	c=${caches[RANDOM % 3]}
	pick k 1 $((c == 1 ? 3 : 40))
	now t0
	q "SELECT string_agg(dynamo_nextval('soak-ids-$c', $c)::text, ',') FROM generate_series(1, $k)"
	now t1
	record nextval "soak-ids-$c" "$(outcome_of)" "$t0" "$t1" "$OUT"
}

op_trigger() {
	local k t0 t1
	pick k 1 5
	now t0
	q "INSERT INTO soak_rows (client) SELECT '$PGAPPNAME' FROM generate_series(1, $k) RETURNING id"
	now t1
	record trigger soak-ids-t "$(outcome_of)" "$t0" "$t1" "$(paste -sd, <<<"$OUT")"
}

# A critical section under a lock: "A|ms" before the acquire is sent,
# "S|token|ms" once it is held, "E|ms|still-held" before it is released (a
# session lock: the release's answer) or committed (a transaction lock: a
# refresh, conditioned on the fencing token, just before COMMIT).
op_lock() {
	local scope=$1 l lease wait hold t0 t1 now_ms="(extract(epoch from clock_timestamp()) * 1000)::bigint"
	pick l 0 1
	pick lease 1000 2500
	# a transaction-level lock's lease is at least 2 x (skew + margin): 3 s
	[[ $scope == session ]] || pick lease 3000 5000
	pick wait 0 3000
	pick hold 0 12
	((hold > 10)) && pick hold 20 32 # now and then longer than the lease: the heartbeats must keep it
	now t0
	if [[ $scope == session ]]; then
		q "SELECT 'A', $now_ms" \
			"CREATE TEMP TABLE l AS SELECT * FROM dynamo_get_lock('soak-lock-$l', $lease, $wait)" \
			"SELECT 'S', fencing_token, $now_ms FROM l" \
			"SELECT pg_sleep($hold / 10.0)" \
			"SELECT 'E', $now_ms, dynamo_release_lock(ROW(l.*)::dynamo_lock) FROM l"
	else
		q "SELECT 'A', $now_ms" "BEGIN" \
			"CREATE TEMP TABLE l ON COMMIT DROP AS SELECT * FROM dynamo_get_xact_lock('soak-lock-$l', $lease, $wait)" \
			"SELECT 'S', fencing_token, $now_ms FROM l" \
			"SELECT pg_sleep($hold / 10.0)" \
			"SELECT 'E', $now_ms, (dynamo_refresh_lock(ROW(l.*)::dynamo_lock)).fencing_token = l.fencing_token FROM l" \
			"COMMIT"
	fi
	now t1
	record "lock-$scope" "soak-lock-$l" "$(outcome_of)" "$t0" "$t1" "$(paste -sd';' <<<"$OUT")"
}

# dynamo_set_atomic's retry loop: read the lock, read the total, write
# total + 1 if the lock is unchanged; on 40001 start again (at most 5 times).
op_optimistic() {
	local try t0 t1
	for try in 1 2 3 4 5; do
		now t0
		q "SELECT (dynamo_set_atomic(jsonb_build_object('pk', 'soak-opt', 'sk', 'total', 'n',
			   coalesce((dynamo_get('soak-opt', 'total') ->> 'n')::bigint, 0) + 1), l)).version
			 FROM dynamo_read_lock('soak-opt') l"
		now t1
		record optimistic soak-opt "$(outcome_of)" "$t0" "$t1" "$try"
		[[ $CODE == 40001 ]] || break
	done
}

op_put() {
	local key="$CLUSTER-$CLIENT-$n" t0 t1
	now t0
	q "SELECT dynamo_put(jsonb_build_object('pk', 'soak-put', 'sk', '$key', 'v', $n))"
	now t1
	record put "$key" "$(outcome_of)" "$t0" "$t1" "$n"
	local read_back=$((RANDOM % 2)) # drawn whatever the outcome: the op stream stays the seed's
	if [[ $CODE == ok ]] && ((read_back)); then
		now t0
		q "SELECT dynamo_get('soak-put', '$key') ->> 'v'"
		now t1
		record get "$key" "$(outcome_of)" "$t0" "$t1" "$OUT"
	fi
}

while :; do
	now t
	((t < DEADLINE)) || break
	n=$((n + 1))
	pick r 1 100
	if ((r <= 13)); then op_increment
	elif ((r <= 17)); then op_combined
	elif ((r <= 22)); then op_bounded
	elif ((r <= 27)); then op_tally
	elif ((r <= 40)); then op_nextval
	elif ((r <= 50)); then op_trigger
	elif ((r <= 65)); then op_lock session
	elif ((r <= 75)); then op_lock xact
	elif ((r <= 85)); then op_optimistic
	else op_put
	fi
	# a cluster that is down is retried every 200 ms, not in a tight loop
	[[ $CODE == down ]] && sleep 0.2
done
exit 0
