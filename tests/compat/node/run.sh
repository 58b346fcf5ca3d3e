#!/usr/bin/env bash
# Runs the tests that drive spoke with HubSpot's official Node client (@hubspot/api-client).
#
#   SPOKE_BIN=/path/to/spoke bash tests/compat/node/run.sh [test files...]
#
# Installs the pinned client and playwright-core with npm on first use (node_modules here,
# git-ignored), and Chromium from the OS packages if it is missing (consent.test.mjs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
export SPOKE_BIN="${SPOKE_BIN:-$repo/target/debug/spoke}"
cd "$here"
if [ ! -d node_modules/@hubspot/api-client ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The consent page test drives the OS's Chromium; install it when it is missing and we can.
if [ -z "${SPOKE_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  echo "==> installing Chromium (apt-get install chromium) for the consent page test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ "$#" -gt 0 ]; then
  exec node --test --test-concurrency=1 "$@"
fi
exec node --test --test-concurrency=1 ./*.test.mjs
