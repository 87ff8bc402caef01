#!/usr/bin/env bash
# demo.sh - dynamo_atomic on a fresh machine, against an embedded DynamoDB Local.
#
# Installs what is missing, builds and installs the extension, starts AWS's
# DynamoDB Local and a throwaway PostgreSQL cluster with the extension
# preloaded, shows counters at work, and stops everything it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

harness_scrub_env
harness_make_run_dir
trap 'status=$?; harness_stop_all; exit $status' EXIT
harness_install_deps
harness_build
harness_start_dynamodb
mapfile -t pg_options < <(harness_pg_options)
pg_virtualenv "${pg_options[@]}" bash test/demo_session.sh
