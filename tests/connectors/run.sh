#!/usr/bin/env bash
# Runs Airbyte source-hubspot and MeltanoLabs tap-hubspot, installed from PyPI at pinned
# versions and unchanged, against a seeded spoke that answers for https://api.hubapi.com inside
# a private network and mount namespace (nothing outside it changes, nothing needs undoing).
#
#   SPOKE_BIN=/path/to/spoke bash tests/connectors/run.sh [extra pytest args]
#
# SPOKE_BIN defaults to <repo>/target/debug/spoke. The connectors and the test driver live in
# venvs under <repo>/target/connectors/ (made on first use, reused after). Each run's logs,
# configs, catalogs and connector outputs are kept in target/connectors/runs/<time>/.
# SPOKE_CONNECTORS_DATABASE=postgres://postgres@127.0.0.1:5432/test (with SPOKE_PG_SCHEMA set to a
# fresh schema) runs spoke on PostgreSQL, reached through its Unix socket from the namespace.
# Needs root, or user namespaces, for `unshare --net --mount`; without them the test is skipped
# with a message and exit status 0. Exit code = pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venvs="${SPOKE_CONNECTORS_VENVS:-$repo/target/connectors}"
python="${SPOKE_CONNECTORS_PYTHON:-python3.11}"

export SPOKE_BIN="${SPOKE_BIN:-$repo/target/debug/spoke}"
export PYTHONDONTWRITEBYTECODE=1

# As root, plain namespaces; otherwise a user namespace that maps the caller to root in it.
# `ip` brings the namespace's loopback up; a fresh Debian machine may lack it.
if ! command -v ip >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq iproute2 >/dev/null
fi
unshare=(unshare --net --mount)
if ! "${unshare[@]}" true 2>/dev/null; then
    unshare=(unshare --user --map-root-user --net --mount)
    if ! "${unshare[@]}" true 2>/dev/null; then
        echo "SKIPPED: the connector tests need a private network namespace (unshare --net --mount)," \
            "which this machine does not allow (run as root, or enable user namespaces)."
        exit 0
    fi
fi
if ! command -v "$python" >/dev/null 2>&1; then
    echo "the connector tests need $python (Airbyte source-hubspot 5.7.0 wants Python >=3.10,<3.12)" >&2
    exit 1
fi

started=$(date +%s)
# One venv per connector, so neither's dependencies constrain the other's; each is rebuilt only
# when its pinned requirement changes (the stamp file holds it).
install() {
    local name=$1 requirement=$2 venv="$venvs/$1"
    if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/.spoke-requirement" 2>/dev/null)" = "$requirement" ]; then
        return
    fi
    echo "==> installing $requirement into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirement
    echo "$requirement" >"$venv/.spoke-requirement"
}
install airbyte "airbyte-source-hubspot==5.7.0"
install meltano "meltano-tap-hubspot==0.10.1"
install driver "-r $here/requirements.txt"
echo "==> connectors ready in $(($(date +%s) - started)) s"

workdir="$venvs/runs/$(date -u +%Y%m%dT%H%M%SZ)-$$"
mkdir -p "$workdir"
# Keep the outputs of the last ten runs.
ls -dt "$venvs"/runs/*/ | tail -n +11 | xargs -r rm -rf
printf '127.0.0.1\tlocalhost\n127.0.0.1\tapi.hubapi.com\n::1\tlocalhost\n' >"$workdir/hosts"
export SPOKE_CONNECTORS_WORKDIR="$workdir" SPOKE_CONNECTORS_VENVS="$venvs" SPOKE_CONNECTORS_NETNS=1

# unshare's mount namespace is private by default, so the bind mount over /etc/hosts is seen
# by this process tree only and ends with it.
set +e
"${unshare[@]}" -- bash -c '
    set -e
    ip link set lo up
    mount --bind "$SPOKE_CONNECTORS_WORKDIR/hosts" /etc/hosts
    exec "$@"
' connectors "$venvs/driver/bin/python" -m pytest -p no:cacheprovider -ra --rootdir "$here" "$here/test_seed.py" "$here/test_airbyte.py" "$here/test_meltano.py" "$here/test_readme.py" \
    "$here/test_airbyte_oauth.py" "$here/test_meltano_oauth.py" "$@"
status=$?
set -e
echo "==> connector tests: exit $status in $(($(date +%s) - started)) s; outputs in $workdir"
exit "$status"
