"""The plugin itself: which binary it runs, that it stops what it starts, attaching to a
running server, and the errors a user sees. Inner pytest sessions run in subprocesses
(pytester), as a user's suite would."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from pytest_spoke import Admin, SpokeError, SpokeServer, find_binary


def test_the_binary_is_the_one_the_wheel_installed():
    binary = find_binary()
    if os.environ.get("SPOKE_BIN"):
        assert binary == Path(os.environ["SPOKE_BIN"])
    else:
        # run.sh installs the wheel into a fresh virtualenv and unsets SPOKE_BIN: the binary
        # must come from that environment, not from a Rust build.
        assert Path(sys.prefix) in binary.parents, binary


INNER = """
import json, os
from pathlib import Path

OUT = Path(os.environ["INNER_OUT"])

def test_one(spoke_server, spoke_portal):
    fault = spoke_portal.fault(action="error", status=500, path="/crm/v3/objects/deals*")
    OUT.write_text(json.dumps({
        "pid": spoke_server.process.pid if spoke_server.process else None,
        "baseUrl": spoke_server.base_url,
        "portal": spoke_portal.portal_id,
        "fault": fault.id,
    }))

def test_two(spoke_portal):
    assert spoke_portal.base_url.startswith("http://127.0.0.1:")
"""


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/healthz", timeout=2)
    except OSError:
        return True
    return False


def test_a_session_starts_a_server_and_stops_it(pytester, tmp_path, monkeypatch):
    monkeypatch.delenv("SPOKE_URL", raising=False)
    monkeypatch.setenv("INNER_OUT", str(tmp_path / "out.json"))
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    seen = json.loads((tmp_path / "out.json").read_text())
    assert seen["pid"] is not None
    assert _refused(seen["baseUrl"]), "the session's server still answers after the session"
    assert not Path(f"/proc/{seen['pid']}").exists() or "zombie" in Path(f"/proc/{seen['pid']}/status").read_text()


def test_attaching_leaves_the_server_running_and_cleans_up_the_portal(pytester, tmp_path, monkeypatch):
    with SpokeServer.start(workdir=tmp_path / "server") as server:
        monkeypatch.setenv("SPOKE_URL", server.base_url)
        monkeypatch.setenv("SPOKE_ADMIN_TOKEN", server.admin_token)
        monkeypatch.setenv("INNER_OUT", str(tmp_path / "out.json"))
        pytester.makepyfile(test_inner=INNER)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        seen = json.loads((tmp_path / "out.json").read_text())
        assert seen["pid"] is None
        assert seen["baseUrl"] == server.base_url
        # Still running; the test's portal and its fault rule are gone.
        server.wait_healthy(5)
        assert seen["portal"] not in server.admin.portals()
        assert seen["fault"] not in [f["id"] for f in server.admin.faults()]
    assert _refused(server.base_url)


def test_a_server_that_cannot_start_fails_the_session_with_its_output(pytester, monkeypatch):
    monkeypatch.delenv("SPOKE_URL", raising=False)
    pytester.makepyfile(test_inner="def test_x(spoke_portal):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--spoke-database", "nosuchscheme://nowhere"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*spoke serve exited with*"])


def test_attaching_without_the_admin_token_says_so(pytester, monkeypatch):
    monkeypatch.setenv("SPOKE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("SPOKE_ADMIN_TOKEN", raising=False)
    pytester.makepyfile(test_inner="def test_x(spoke_portal):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*SPOKE_URL is set but SPOKE_ADMIN_TOKEN is not*"])


def test_admin_errors_are_hubspot_shaped(spoke_server, spoke_portal):
    with pytest.raises(SpokeError) as wrong_token:
        Admin(spoke_server.base_url, "spoke-admin-not-the-token").portals()
    assert wrong_token.value.status == 401
    assert wrong_token.value.body["status"] == "error"

    # A HubSpot token is no admin token.
    with pytest.raises(SpokeError) as hubspot_token:
        Admin(spoke_server.base_url, spoke_portal.token).portals()
    assert hubspot_token.value.status == 401

    with pytest.raises(SpokeError) as missing:
        spoke_portal.restore("never-taken")
    assert missing.value.status == 404
    assert missing.value.category == "OBJECT_NOT_FOUND"


def test_closing_a_portal_twice_is_no_error(spoke_server):
    portal = spoke_server.new_portal()
    portal.close()
    portal.close()
    assert portal.portal_id not in spoke_server.admin.portals()
