#!/usr/bin/env bash
# hot_counter_runs.sh - the runs of hot_counter.sh, inside cluster B (A in A_PG*).
set -euo pipefail
: "${SECONDS_PER_RUN:?} ${REPS:?} ${CLIENTS:?} ${FAKE:?} ${WORK:?} ${RESULTS_DIR:?} ${A_PGPORT:?}"

on_a() { PGHOST=$A_PGHOST PGPORT=$A_PGPORT PGUSER=$A_PGUSER PGPASSWORD=$A_PGPASSWORD PGDATABASE=$A_PGDATABASE "$@"; }
control() { curl -s --max-time 5 "$FAKE/_control?$1" >/dev/null; }
items() { curl -s --max-time 5 "$FAKE/_items" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.writes+j.limited)})'; }
psql -X -q -c "CREATE EXTENSION dynamo_atomic" -c "CREATE TABLE got (v bigint)" >/dev/null
# the sessions' retries (PGOPTIONS below) for the lock workers too, which send combined increments
for run_on in "" on_a; do
	$run_on psql -X -q -c "ALTER SYSTEM SET dynamo_atomic.max_retries = 20" -c "SELECT pg_reload_conf()" >/dev/null
done

# run MODE L REP [CLIENTS]: both clusters for SECONDS_PER_RUN; prints "acknowledged/s|twice|stored-acked|requests/increment"
run() {
	local mode=$1 limit=$2 rep=$3 clients=${4:-$CLIENTS} id="hot-$1-$2-$3-${4:-all}" stmt acked stored requests combine=on
	case $mode in
		increment) stmt="INSERT INTO got SELECT dynamo_increment('$id', table_name => 'HotBench');" ;;
		uncombined)
			stmt="INSERT INTO got SELECT dynamo_increment('$id', table_name => 'HotBench');"
			combine=off
			;;
		tally16) stmt="SELECT dynamo_tally_add('$id', shards => 16, table_name => 'HotBench');" ;;
	esac
	printf '%s\n%s\n' "\\set x 1" "$stmt" >"$WORK/run.sql"
	psql -X -q -c "TRUNCATE got" && on_a psql -X -q -c "TRUNCATE got"
	control "item_limit=$limit"
	PGOPTIONS="-c dynamo_atomic.endpoint=$FAKE -c dynamo_atomic.max_retries=20 -c dynamo_atomic.combine_increments=$combine" \
		pgbench -n -c "$clients" -j 4 -T "$SECONDS_PER_RUN" -f "$WORK/run.sql" >"$WORK/b.out" 2>&1 &
	local b=$!
	PGOPTIONS="-c dynamo_atomic.endpoint=$FAKE -c dynamo_atomic.max_retries=20 -c dynamo_atomic.combine_increments=$combine" \
		on_a pgbench -n -c "$clients" -j 4 -T "$SECONDS_PER_RUN" -f "$WORK/run.sql" >"$WORK/a.out" 2>&1 || true
	wait "$b" || true
	requests=$(items)
	control "item_limit=0"
	acked=$(($(awk '/transactions actually processed/ {split($NF, a, "/"); print a[1]}' "$WORK/a.out") + \
		$(awk '/transactions actually processed/ {split($NF, a, "/"); print a[1]}' "$WORK/b.out")))
	if [[ $mode != tally16 ]]; then
		psql -X -qAt -c "COPY got TO STDOUT" | on_a psql -X -q -c "COPY got FROM STDIN"
		twice=$(on_a psql -X -qAt -c "SELECT count(*) - count(DISTINCT v) FROM got")
		stored=$(psql -X -qAt -c "SELECT dynamo_get_last_value('$id', 'HotBench')")
	else
		twice=n/a
		stored=$(psql -X -qAt -c "SELECT dynamo_tally_read('$id', table_name => 'HotBench')")
	fi
	# (without a limit the front counts no writes: requests per increment are not measured)
	awk -v a="$acked" -v t="$SECONDS_PER_RUN" -v tw="$twice" -v s="$stored" -v r="$requests" -v l="$limit" \
		'BEGIN { printf "%.1f|%s|%d|%s\n", a / t, tw, s - a, (l > 0 && a > 0 ? sprintf("%.2f", r / a) : "-") }'
}

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# median_run CSV_LABEL MODE L [CLIENTS]: REPS runs, each a CSV line; prints the run of median rate
median_run() {
	local label=$1 rates=() r m
	shift
	for rep in $(seq 1 "$REPS"); do
		r=$(run "$1" "$2" "$rep" ${3:+"$3"})
		echo "$label,$2,$rep,${r//|/,}" >>"$RESULTS_DIR/hot_counter.csv"
		rates+=("$r")
	done
	m=$(printf '%s\n' "${rates[@]}" | cut -d'|' -f1 | median)
	printf '%s\n' "${rates[@]}" | awk -F'|' -v m="$m" '$1 == m {print; exit}'
}

echo "mode,limit,rep,acked_per_s,twice,stored_minus_acked,requests_per_increment" >"$RESULTS_DIR/hot_counter.csv"
printf '%-34s %6s %14s %8s %7s %16s %12s\n' "$((2 * CLIENTS)) clients, two clusters" "L/s" "acknowledged/s" "x L" "twice" "stored-acked" "requests/inc"
# limit 0: none, the machine's own ceiling for this set-up (two clusters, the front, DynamoDB Local)
for limit in ${LIMITS:-30 100 1000 0}; do
	for mode in ${MODES:-uncombined increment tally16}; do
		IFS='|' read -r rate twice diff reqs <<<"$(median_run "$mode" "$mode" "$limit")"
		case $mode in
			uncombined) label="dynamo_increment, uncombined" ;;
			increment) label="dynamo_increment, combined" ;;
			*) label="dynamo_tally_add (16 shards)" ;;
		esac
		printf '%-34s %6s %14.0f %8s %7s %16s %12s\n' "$label" "$([[ $limit == 0 ]] && echo none || echo "$limit")" "$rate" \
			"$(awk -v r="$rate" -v l="$limit" 'BEGIN {if (l > 0) printf "%.2f", r / l; else print "-"}')" \
			"$twice" "$diff" "$reqs"
	done
done

# the curve: combined increments against the number of clients per cluster, at one limit
curve_limit=${CURVE_LIMIT:-100}
printf 'combined increments at L = %s, clients per cluster: acknowledged/s (x L), requests/increment\n' "$curve_limit"
for clients in ${CURVE_CLIENTS:-1 2 4 8 16}; do
	IFS='|' read -r rate twice diff reqs <<<"$(median_run "curve-$clients" increment "$curve_limit" "$clients")"
	printf '  %2s clients x 2: %6.0f/s (%.2f x L), twice %s, stored-acked %s, %s requests/increment\n' "$clients" "$rate" \
		"$(awk -v r="$rate" -v l="$curve_limit" 'BEGIN {print r / l}')" "$twice" "$diff" "$reqs"
done

# single-client latency, unthrottled
lat() {
	psql -X -qAt -c "SET dynamo_atomic.endpoint = '$FAKE'" -c "$1" -c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" \
		-c "$2" -c "SELECT 'T', extract(epoch FROM clock_timestamp()) * 1000" |
		awk -F'|' '$1 == "T" {t[++k] = $2} END {printf "%.3f", (t[2] - t[1]) / 500}'
}
# DynamoDB Local's JIT warms up over the first few thousand requests: not part of any figure
psql -X -qAt -c "SET dynamo_atomic.endpoint = '$FAKE'" -c "SELECT count(dynamo_increment('lat-warm', table_name => 'HotBench')) FROM generate_series(1, 3000)" >/dev/null
printf 'one client, 500 calls, ms per call: dynamo_increment %s (uncombined %s), dynamo_tally_add %s\n' \
	"$(lat "SELECT dynamo_increment('lat-inc', table_name => 'HotBench')" "SELECT count(dynamo_increment('lat-inc', table_name => 'HotBench')) FROM generate_series(1, 500)")" \
	"$(lat "SET dynamo_atomic.combine_increments = off" "SELECT count(dynamo_increment('lat-inc', table_name => 'HotBench')) FROM generate_series(1, 500)")" \
	"$(lat "SELECT dynamo_tally_add('lat-tally', table_name => 'HotBench')" "SELECT count(dynamo_tally_add('lat-tally', table_name => 'HotBench')) FROM generate_series(1, 500)")"
