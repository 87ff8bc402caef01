#!/usr/bin/env bash
# chaos.sh - the soak's fault schedule, drawn from $SOAK_SEED: until five
# seconds before DEADLINE (epoch ms), one fault after another, each recorded
# in $SOAK_DIR/faults.  Run by clusters.sh inside cluster B (A through A_PG*).
# The sleeps here are the schedule itself (how long a fault lasts, how far
# apart faults are), not waits for a condition.
#
#   bash chaos.sh DEADLINE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh
source test/soak/lib.sh

DEADLINE=$1
RANDOM=$SOAK_SEED
on_b() { "$@"; }
control() { curl -s --max-time 5 "$FAKE/_control?$1" >/dev/null; }
pick() { printf -v "$1" '%s' "$(($2 + RANDOM % ($3 - $2 + 1)))"; }
tenths() { printf '%d.%d' $(($1 / 10)) $(($1 % 10)); }
DDB_PID=$(cat "$SOAK_DIR/dynamodb.pid")

# the front: a share of the requests, for a few seconds
front_fault() {
	local kinds=(throttle server-error drop-answer apply-then-500 delay drop-request answer-late) kind share secs
	kind=${kinds[RANDOM % ${#kinds[@]}]}
	pick share 10 40
	pick secs 20 60
	soak_event "front:$kind" "${share}% of requests for $(tenths "$secs") s"
	# delay and answer-late hold a request past dynamo_atomic.request_timeout_ms (2 s)
	control "seed=$RANDOM&log=0&fault=$kind&ratio=0.$share&ms=2500"
	sleep "$(tenths "$secs")"
	control "log=0"
}

dynamodb_restart() {
	local down
	pick down 0 20
	soak_event dynamodb-kill "down $(tenths "$down") s, then started again on its files"
	kill -9 "$DDB_PID" 2>/dev/null || true
	# (the first one is not this shell's child: wait cannot tell when it is gone)
	port_closed() { ! curl -s -o /dev/null --max-time 1 "$DDB_ENDPOINT/"; }
	harness_wait_for 30 port_closed || soak_event dynamodb-kill-failed "port $DDB_PORT still answers"
	sleep "$(tenths "$down")"
	soak_dynamodb_restart
	DDB_PID=$(cat "$SOAK_DIR/dynamodb.pid")
}

# terminate_one CLUSTER WHAT: one of the cluster's soak backends (WHAT=client)
# or lock workers (WHAT=worker), picked by the seed
terminate_one() {
	local filter k
	[[ $2 == client ]] && filter="application_name LIKE 'soak-%'" || filter="backend_type = 'dynamo_atomic lock worker'"
	pick k 0 99
	soak_event "terminate-$2" "cluster $1: $(on_"$1" sql -c "SELECT coalesce((SELECT pg_terminate_backend(pid)
		FROM pg_stat_activity WHERE $filter ORDER BY pid OFFSET $k % greatest(1, (SELECT count(*) FROM pg_stat_activity WHERE $filter)) LIMIT 1), false)" 2>/dev/null || echo down)"
}

# stop_start CLUSTER: stopped with -m immediate (as by a crash), started again
stop_start() {
	local root down
	[[ $1 == a ]] && root=$A_CONF_ROOT || root=$B_CONF_ROOT
	pick down 5 30
	soak_event cluster-stop-immediate "cluster $1, down $(tenths "$down") s"
	PG_CLUSTER_CONF_ROOT=$root pg_ctlcluster 15 regress stop -m immediate || true
	sleep "$(tenths "$down")"
	PG_CLUSTER_CONF_ROOT=$root pg_ctlcluster 15 regress start || soak_event cluster-start-failed "cluster $1"
}

clusters=(a b)
while (($(date +%s%3N) < DEADLINE - 5000)); do
	pick gap 5 25
	sleep "$(tenths "$gap")"
	pick r 1 100
	if ((r <= 40)); then front_fault
	elif ((r <= 48)); then dynamodb_restart
	elif ((r <= 70)); then terminate_one "${clusters[RANDOM % 2]}" client
	elif ((r <= 80)); then terminate_one "${clusters[RANDOM % 2]}" worker
	elif ((r <= 85)); then stop_start "${clusters[RANDOM % 2]}"
	fi
done
control "log=0"
kinds=$(cut -f1 "$SOAK_DIR/faults" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
log "soak: faults scheduled: ${kinds:-none}"
