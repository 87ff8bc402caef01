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
harness_scrub_env
harness_make_run_dir
trap 'status=$?; harness_stop_all; exit $status' EXIT
harness_install_deps
harness_build
make -s test/bench/raw_curl_loop
harness_start_dynamodb
export N
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash test/bench/increments_session.sh
