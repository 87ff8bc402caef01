#!/usr/bin/env bash
# demo.sh - dynamo_atomic on a fresh machine, against an embedded DynamoDB Local.
#
# Installs what is missing, builds and installs the extension, starts AWS's
# DynamoDB Local and a throwaway PostgreSQL cluster with the extension
# preloaded, shows counters at work, and stops everything it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source test/lib/harness.sh

harness_begin
harness_run_in_cluster test/demo_session.sh
