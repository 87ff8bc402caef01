# shell=bash
# assert.sh - tiny assertion helpers for the shell test cases.
# Each result is one line in $RESULTS ("pass NAME" / "fail NAME"); the
# runner counts them.  Source after harness.sh, inside a pg_virtualenv.

: "${RESULTS:?RESULTS must name the results file}"

pass() {
	printf 'ok   %s\n' "$1"
	printf 'pass %s\n' "$1" >>"$RESULTS"
}

fail() {
	printf 'FAIL %s%s\n' "$1" "${2:+: $2}"
	printf 'fail %s\n' "$1" >>"$RESULTS"
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq() {
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}

# expect_true NAME COMMAND...: passes when the command succeeds.
expect_true() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# sql [psql args] SQL: one query, unaligned tuples only; stops on error.
sql() {
	psql -X -qAt -v ON_ERROR_STOP=1 "$@"
}

# sql_error STATEMENT...: runs each statement (-c, in one session) and prints
# "SQLSTATE|elapsed_ms|message" of the first error raised, or "none|elapsed_ms|".
sql_error() {
	local out start end code msg args=() s
	for s in "$@"; do args+=(-c "$s"); done
	start=$(date +%s%3N)
	out=$(psql -X -qAt -v VERBOSITY=verbose "${args[@]}" 2>&1)
	end=$(date +%s%3N)
	code=$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$out" | head -1)
	msg=$(sed -n 's/^ERROR:  [0-9A-Z]\{5\}: //p' <<<"$out" | head -1)
	printf '%s|%s|%s\n' "${code:-none}" "$((end - start))" "$msg"
}

now_ms() { date +%s%3N; }

# field N RESULT: the Nth "|"-separated field of a sql_error result.
field() { cut -d'|' -f"$1" <<<"$2"; }

# start_helper VAR PORTFILE COMMAND...: starts a test server in the
# background (stopped by harness_stop_all), waits until it has written its
# port to PORTFILE, and sets VAR to that port.  Not for use inside $(...):
# the PID must be tracked by this shell.
start_helper() {
	local var=$1 portfile=$2
	shift 2
	rm -f "$portfile"
	"$@" </dev/null >/dev/null 2>&1 &
	harness_track_pid $!
	harness_wait_for 10 test -s "$portfile" || { echo "helper $* did not start" >&2; return 1; }
	printf -v "$var" '%s' "$(cat "$portfile")"
}

# case_begin TABLE: the usual start of a test case: a scratch directory in
# $work (removed at exit, with every helper stopped), the extension, and a
# counter table of the case's own.
case_begin() {
	work=$(mktemp -d)
	trap 'harness_stop_all; rm -rf "$work"' EXIT
	sql -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS dynamo_atomic"
	sql -c "SELECT dynamo_create_counter_table('$1', if_not_exists => true)" >/dev/null
}

# on_a COMMAND...: runs against cluster A from inside a second cluster's
# pg_virtualenv (A's connection saved in A_PG* by the case that started it).
on_a() {
	PGHOST=$A_PGHOST PGPORT=$A_PGPORT PGUSER=$A_PGUSER PGPASSWORD=$A_PGPASSWORD PGDATABASE=$A_PGDATABASE "$@"
}

# background_holder NAME SQL...: a session (application_name NAME) that runs
# the statements and then sleeps; returns once it holds its lock.  Its
# output goes to $WORK/NAME.out.
background_holder() {
	local name=$1
	shift
	local args=(-c "SET application_name = '$name'")
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -qAt "${args[@]}" -c "SELECT pg_sleep(60)" >"$WORK/$name.out" 2>&1 &
	holding() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks h JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '$name'") -ge 1 ]]; }
	harness_wait_for 10 holding
}

# idle_holder NAME SQL...: like background_holder, but the session then sits
# idle (psql waits for more input) instead of running a statement: on a hot
# standby a running statement may be cancelled by a recovery conflict.
idle_holder() {
	local name=$1
	shift
	# psql reads the statements, then waits for more (sleep keeps the input
	# open; a process substitution, so that nothing waits for it at exit)
	psql -X -qAt -f <(
		echo "SET application_name = '$name';"
		printf '%s;\n' "$@"
		exec sleep 120
	) >"$WORK/$name.out" 2>&1 &
	harness_track_pid $!
	holding() { [[ $(sql -c "SELECT count(*) FROM dynamo_held_locks h JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '$name'") -ge 1 ]]; }
	harness_wait_for 10 holding
}

# backend_memory_probe FIELD APP [LABEL]: a shell command for psql's \! that
# prints the /proc status FIELD (VmRSS, VmHWM; kB), prefixed by LABEL, of the
# backend whose application_name is APP (psql expands no variable in \!).
backend_memory_probe() {
	printf "awk '/^%s/ { print %s\$2 }' /proc/\$(psql -X -qAt -c \"SELECT pid FROM pg_stat_activity WHERE application_name = '%s'\")/status" \
		"$1" "${3:+\"$3\", }" "$2"
}

# expect_growth_below NAME LIMIT_KB BEFORE AFTER [DETAIL]: passes when both
# figures exist and AFTER - BEFORE is under LIMIT_KB.
expect_growth_below() {
	local name=$1 limit=$2 before=$3 after=$4
	if [[ -n $before && -n $after ]] && ((after - before < limit)); then
		pass "$name (+$((after - before)) kB)"
	else
		fail "$name" "before ${before:-?} kB, after ${after:-?} kB, limit +$limit kB${5:+: $5}"
	fi
}
