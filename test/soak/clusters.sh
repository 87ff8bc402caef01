#!/usr/bin/env bash
# clusters.sh - the soak inside its two clusters (started by run.sh):
#   bash clusters.sh a   inside cluster A: notes how to reach A, starts B
#   bash clusters.sh b   inside cluster B: sets both up, runs the clients and
#                        the fault schedule, then gathers the final state
#                        and has check.js judge the histories
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/lib/assert.sh
source test/soak/lib.sh

if [[ $1 == a ]]; then
	harness_guard_server_environment
	export A_PGHOST=$PGHOST A_PGPORT=$PGPORT A_PGUSER=$PGUSER A_PGPASSWORD=$PGPASSWORD A_PGDATABASE=$PGDATABASE
	export A_CONF_ROOT=$PG_CLUSTER_CONF_ROOT
	mapfile -t pg_options < <(soak_pg_options)
	exec pg_virtualenv "${pg_options[@]}" bash test/soak/clusters.sh b
fi

harness_guard_server_environment
export B_CONF_ROOT=$PG_CLUSTER_CONF_ROOT
on_b() { "$@"; }
control() { curl -s --max-time 5 "$FAKE/_control?$1" >/dev/null; }

for cl in a b; do
	on_$cl sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION dynamo_atomic" \
		-c "CREATE TABLE soak_rows (id bigint PRIMARY KEY, client text NOT NULL)" \
		-c "CREATE TRIGGER soak_rows_id BEFORE INSERT ON soak_rows FOR EACH ROW EXECUTE FUNCTION dynamo_id_trigger('id', 'soak-ids-t', '50')"
done
on_a harness_guard_server_environment
sql -c "SET client_min_messages = warning" -c "SELECT dynamo_create_counter_table(if_not_exists => true)" \
	-c "SELECT dynamo_create_lock_table(if_not_exists => true)" \
	-c "SELECT dynamo_create_item_table(if_not_exists => true)" >/dev/null
control "seed=$SOAK_SEED&log=0"

history=$SOAK_DIR/history
: >"$history"
: >"$SOAK_DIR/faults"
deadline=$(($(date +%s%3N) + SOAK_SECONDS * 1000))
clients=()
for cl in a b; do
	for ((i = 1; i <= SOAK_CLIENTS; i++)); do
		on_$cl bash test/soak/client.sh "$cl" "$i" "$(((SOAK_SEED + ${#clients[@]} * 7919) % 32768))" "$deadline" "$history" &
		clients+=($!)
	done
done
log "soak: ${#clients[@]} clients running until $(date -d "@$((deadline / 1000))" +%T); the fault schedule:"
bash test/soak/chaos.sh "$deadline" || fail "soak: the fault schedule stopped early"
wait "${clients[@]}" || true

# --- the final state, read with no fault in the way
control "log=0"
DDB_PID=$(cat "$SOAK_DIR/dynamodb.pid") # the schedule may have restarted it
harness_wait_for 60 harness_dynamodb_answers || fail "soak: DynamoDB Local is not answering at the end"
cluster_up() { sql -c "SELECT 1" >/dev/null; }
on_a harness_wait_for 60 cluster_up || fail "soak: cluster A is not up at the end"
harness_wait_for 60 cluster_up || fail "soak: cluster B is not up at the end"
final=$SOAK_DIR/final
: >"$final"
for c in soak-n0 soak-n1 soak-n2 soak-hot soak-bounded soak-ids-1 soak-ids-10 soak-ids-100 soak-ids-t; do
	printf 'counter\t%s\t%s\n' "$c" "$(ddb_raw GetItem "{\"TableName\":\"SoakCounters\",\"Key\":{\"id\":{\"S\":\"$c\"}},\"ConsistentRead\":true}" |
		sed -n 's/.*"lastValue":{"N":"\([0-9-]*\)"}.*/\1/p')" >>"$final"
done
printf 'tally\tsoak-tally\t%s\n' "$(sql -c "SELECT dynamo_tally_read('soak-tally', 4)")" >>"$final"
printf 'optimistic\tsoak-opt\t%s\n' "$(sql -c "SELECT coalesce(dynamo_get('soak-opt', 'total') ->> 'n', '0')")" >>"$final"
sql -c "SELECT 'put' || chr(9) || (i ->> 'sk') || chr(9) || (i ->> 'v') FROM dynamo_query('soak-put') i" >>"$final"
for cl in a b; do
	on_$cl sql -c "SELECT 'row' || chr(9) || '$cl' || chr(9) || id FROM soak_rows" >>"$final"
done
for root in "$A_CONF_ROOT" "$B_CONF_ROOT"; do
	[[ -s $root/15/regress/log ]] || echo "no server log at $root/15/regress/log"
	grep -hE 'terminated by signal|terminated by exception|PANIC:|TRAP:|exited with exit code ([2-9]|[1-9][0-9]+)' \
		"$root/15/regress/log" || true
done >"$SOAK_DIR/crashes"
curl -s --max-time 5 "$FAKE/_stats" >"$SOAK_DIR/front_stats.json"

node test/soak/check.js "$SOAK_DIR" "$SOAK_STATEMENT_TIMEOUT_MS" "$SOAK_SEED" "$SOAK_BOUND"
