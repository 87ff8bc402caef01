#!/usr/bin/env bash
# per_call_profile.sh - where a call's CPU goes: perf record (DWARF call
# graphs) and strace -c of one backend running M increments in one
# statement, then in a PL/pgSQL loop, and of the raw libcurl loop; after
# the same JIT warm-up as per_call.sh.  Writes
# test/bench/results/per_call_profile.txt: the share of each library, the
# functions above 0.5 % (their own samples and with what they call), and
# the system calls per call.
#
#   bash test/bench/per_call_profile.sh [M]      (default 4000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

export M=${1:-4000}
harness_begin
for p in linux-perf strace; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null
done
make -s test/bench/raw_curl_loop
export RESULTS_DIR="$HARNESS_ROOT/test/bench/results"
harness_run_in_cluster test/bench/per_call_profile_session.sh
