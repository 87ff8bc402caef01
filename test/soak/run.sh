#!/usr/bin/env bash
# run.sh - the randomized fault soak.  Two preloaded clusters, several
# clients each (client.sh), run a random mix of counters, IDs, the ID
# trigger, session and transaction locks, optimistic writes and items for a
# fixed time, every request going through the fake front, while a fault
# schedule (chaos.sh) drawn from a printed seed throttles, fails, drops and
# delays requests, kills and restarts DynamoDB Local (its tables in files),
# terminates backends and lock workers and stops a cluster with -m immediate.
# Afterwards check.js reads every client's history and fails the run on any
# violation of what the README promises.
#
#   bash test/soak/run.sh                        2 minutes, a new seed
#   bash test/soak/run.sh --minutes 30           the long run
#   bash test/soak/run.sh --seconds 90 --seed N  replays seed N's schedule: the same
#                                                faults in the same order and the
#                                                same op choices (outcomes, and so the
#                                                timing, still vary from run to run)
#   options: --clients N (per cluster, default 3)
#
# Run by test/run.sh (short profile) with RESULTS set; alone, it installs
# and builds what it needs and ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh
source test/soak/lib.sh

SOAK_SECONDS=120
SOAK_SEED=
SOAK_CLIENTS=3
while (($#)); do
	case $1 in
		--minutes) SOAK_SECONDS=$(($2 * 60)); shift 2 ;;
		--seconds) SOAK_SECONDS=$2; shift 2 ;;
		--seed) SOAK_SEED=$2; shift 2 ;;
		--clients) SOAK_CLIENTS=$2; shift 2 ;;
		*) die "unknown option $1 (see the head of $0)" ;;
	esac
done
: "${SOAK_SEED:=$((RANDOM * 32768 + RANDOM))}"
# the bounded counter's max_value: reached within the run (about one op in 20 is a bounded increment)
# reached by the bounded counter's 5% of the ops even through a seed heavy with faults
SOAK_BOUND=$((SOAK_SECONDS / 10 > 10 ? SOAK_SECONDS / 10 : 10))

standalone=
if [[ -z ${RESULTS:-} ]]; then
	standalone=1
	RESULTS=$(mktemp -t dynamo_atomic_results.XXXXXX)
	export RESULTS
fi
harness_scrub_env
harness_make_run_dir
SOAK_DIR=$HARNESS_RUN_DIR/soak
mkdir -p "$SOAK_DIR/db"
chmod 755 "$SOAK_DIR"
stop_soak() {
	# DynamoDB Local may have been restarted by the schedule, under another PID
	[[ -f $SOAK_DIR/dynamodb.pid ]] && kill "$(cat "$SOAK_DIR/dynamodb.pid")" 2>/dev/null
	harness_stop_all
}
trap 'status=$?; stop_soak; [[ -n $standalone ]] && rm -f "$RESULTS"; exit $status' EXIT
if [[ -n $standalone ]]; then
	harness_install_deps
	harness_build
fi

log "soak: seed $SOAK_SEED, $SOAK_SECONDS s, $SOAK_CLIENTS clients on each of two clusters"
log "soak: replay with: bash test/soak/run.sh --seconds $SOAK_SECONDS --seed $SOAK_SEED --clients $SOAK_CLIENTS"
harness_start_dynamodb "$SOAK_DIR/dynamodb.log" "$SOAK_DIR/db"
echo "$DDB_PID" >"$SOAK_DIR/dynamodb.pid"
rm -f "$SOAK_DIR/fake.port"
FAKE_AWS_LIFETIME_S=$((SOAK_SECONDS + 900)) node test/helpers/fake_aws.js "$SOAK_DIR/fake.port" "$DDB_ENDPOINT" \
	</dev/null >"$SOAK_DIR/fake.log" 2>&1 &
harness_track_pid $!
harness_wait_for 10 test -s "$SOAK_DIR/fake.port" || die "the fake front did not start"
FAKE="http://127.0.0.1:$(cat "$SOAK_DIR/fake.port")"
export FAKE SOAK_DIR SOAK_SECONDS SOAK_SEED SOAK_CLIENTS SOAK_BOUND

mapfile -t pg_options < <(soak_pg_options)
pg_virtualenv "${pg_options[@]}" bash test/soak/clusters.sh a ||
	echo "fail soak: the soak stopped early (seed $SOAK_SEED; see above)" >>"$RESULTS"

if [[ -n $standalone ]]; then
	passed=$(grep -c '^pass ' "$RESULTS" || true)
	failed=$(grep -c '^fail ' "$RESULTS" || true)
	echo
	echo "$passed passed, $failed failed"
	((failed == 0 && passed > 0))
fi
