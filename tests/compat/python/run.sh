#!/usr/bin/env bash
# Runs the compatibility test that drives spoke with HubSpot's official Python client.
#
#   SPOKE_BIN=/path/to/spoke bash tests/compat/python/run.sh [extra pytest args]
#
# SPOKE_BIN defaults to <repo>/target/debug/spoke. The virtualenv lives in
# <repo>/target/compat-venv and is created on first use. Exit code = pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
venv="$repo/target/compat-venv"

export SPOKE_BIN="${SPOKE_BIN:-$repo/target/debug/spoke}"
export PYTHONDONTWRITEBYTECODE=1

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
# The web UI test drives the OS's Chromium; install it when it is missing and we can.
if [ -z "${SPOKE_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 \
    && [ "$(id -u)" = 0 ]; then
  echo "==> installing Chromium (apt-get install chromium) for the web UI test"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

set +e
"$venv/bin/python" -m pytest -q -p no:cacheprovider --rootdir "$here" "$here" "$@"
status=$?
set -e
exit "$status"
