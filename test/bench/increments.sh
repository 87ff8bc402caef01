#!/usr/bin/env bash
# increments.sh - increments per second from one backend, against a raw
# libcurl loop sending the same signed request in the same run.
#
#   bash test/bench/increments.sh [N]      (default N = 3000)
#
# Both talk to the same DynamoDB Local over one kept-alive connection, so
# the ratio shows what PostgreSQL and the extension add on top of the
# exchange itself.  A local sequence's nextval() is printed for scale.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source test/lib/harness.sh

N=${1:-3000}
harness_begin
make -s test/bench/raw_curl_loop
export N
harness_run_in_cluster test/bench/increments_session.sh
