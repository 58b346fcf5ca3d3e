#!/usr/bin/env bash
# Builds the pytest-spoke wheel (maturin, "bin" bindings: the wheel carries the spoke
# binary), installs it into a fresh virtualenv with HubSpot's Python client (pinned as
# tests/compat/python pins it) and pytest, and runs the example suite (examples/) and the
# plugin's own tests (tests/) there, with no Rust toolchain and no SPOKE_BIN in sight: the
# binary the tests run is the wheel's.
#
#   bash python/run.sh [extra pytest args]
#
#   SPOKE_WHEEL_RELEASE=1   build the wheel with --release (default: the dev profile, which
#                           reuses the workspace's debug build, so CI compiles nothing twice)
#   SPOKE_COMPAT_DATABASE   run the started servers on this database (e.g. PostgreSQL, with
#                           SPOKE_PG_SCHEMA naming a fresh schema); default: temporary SQLite
#
# maturin comes from PyPI (a binary wheel) into <target>/maturin-venv, kept between runs.
# The wheel goes to <target>/pytest-spoke-wheels. Exit code = pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
maturin_version=1.16.0

export PYTHONDONTWRITEBYTECODE=1

tools="$target/maturin-venv"
if [ ! -x "$tools/bin/maturin" ] || [ "$("$tools/bin/maturin" --version)" != "maturin $maturin_version" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$maturin_version"
fi

wheels="$target/pytest-spoke-wheels"
rm -rf "$wheels"
release=()
if [ -n "${SPOKE_WHEEL_RELEASE:-}" ]; then release=(--release); fi
echo "==> building the pytest-spoke wheel (maturin${release:+ --release})"
(cd "$here" && "$tools/bin/maturin" build --quiet --locked "${release[@]}" --out "$wheels")
wheel="$(ls "$wheels"/pytest_spoke-*.whl)"
echo "    $wheel ($(du -h "$wheel" | cut -f1))"

work="$(mktemp -d "${TMPDIR:-/tmp}/pytest-spoke-run.XXXXXX")"
trap 'rm -rf "$work"' EXIT
venv="$work/venv"
echo "==> a fresh virtualenv with the wheel, hubspot-api-client and pytest"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "$wheel" -r "$repo/tests/compat/python/requirements.txt"

args=()
if [ -n "${SPOKE_COMPAT_DATABASE:-}" ]; then args+=(--spoke-database "$SPOKE_COMPAT_DATABASE"); fi

echo "==> the example suite and the plugin's tests, on the wheel's spoke"
# The tests run where no cargo and no SPOKE_BIN can be found: what a Python user has.
# pytester runs the plugin's own tests' inner pytest sessions.
cd "$work"
set +e
env -u SPOKE_BIN -u SPOKE_URL -u SPOKE_ADMIN_TOKEN PATH="$venv/bin:/usr/local/bin:/usr/bin:/bin" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -p pytester --rootdir "$here" \
  "$here/examples" "$here/tests" "${args[@]}" "$@"
status=$?
set -e
exit "$status"
