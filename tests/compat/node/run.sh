#!/usr/bin/env bash
# Runs the tests that drive spoke with HubSpot's official Node client (@hubspot/api-client).
#
#   SPOKE_BIN=/path/to/spoke bash tests/compat/node/run.sh [test files...]
#
# Installs the pinned client with npm on first use (node_modules here, git-ignored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export SPOKE_BIN="${SPOKE_BIN:-$repo/target/debug/spoke}"
cd "$here"
if [ ! -d node_modules/@hubspot/api-client ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ "$#" -gt 0 ]; then
  exec node --test --test-concurrency=1 "$@"
fi
exec node --test --test-concurrency=1 ./*.test.mjs
