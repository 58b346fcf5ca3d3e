#!/usr/bin/env bash
# Tests spoke-testing (the Node helper) with `node --test`, against a real spoke binary and
# HubSpot's official Node client (pinned in package-lock.json; installed with npm on first use).
#
#   SPOKE_BIN=/path/to/spoke bash node/run.sh [test files...]
#
# SPOKE_BIN defaults to <repo>/target/debug/spoke.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
export SPOKE_BIN="${SPOKE_BIN:-$repo/target/debug/spoke}"
cd "$here"
if [ ! -d node_modules/@hubspot/api-client ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$#" -gt 0 ]; then
  exec node --test --test-concurrency=1 "$@"
fi
exec node --test --test-concurrency=1 test/
