"""Session fixtures: start one spoke server on a fresh SQLite database and hand the tests
HubSpot's official Python client (`hubspot-api-client`) pointed at it.

The client is built exactly as a HubSpot user builds it, `hubspot.HubSpot(access_token=...)`,
with one extra keyword: `host`. The client copies every keyword onto the generated
`Configuration` of each API package it hands out (hubspot/discovery/discovery_base.py), and
`Configuration.host`'s setter replaces the default "https://api.hubapi.com". Nothing else of
the client is changed.

Environment:
  SPOKE_BIN               spoke binary (default: <repo>/target/debug/spoke)
  SPOKE_STARTUP_TIMEOUT   seconds to wait for GET /healthz (default: 20)
  SPOKE_COMPAT_DATABASE   database URL to run on (default: a fresh SQLite file)
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

import hubspot

REPO_ROOT = Path(__file__).resolve().parents[3]
PORTAL_ID = 424242

ALL_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.partner-services.read",
    "crm.objects.partner-services.write",
    "crm.objects.partner-clients.read",
    "crm.objects.partner-clients.write",
    "crm.objects.listings.read",
    "crm.objects.listings.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    # HubSpot has no schema scopes of its own for the partner types; spoke takes the
    # custom ones for their property definitions (docs/compatibility.md).
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
    "crm.schemas.listings.read",
    "crm.schemas.listings.write",
    "tickets",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
]

_LOG_KEY = pytest.StashKey[Path]()


def _spoke_bin() -> Path:
    return Path(os.environ.get("SPOKE_BIN") or REPO_ROOT / "target" / "debug" / "spoke")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


class Spoke:
    """A running spoke server plus helpers for its command line."""

    def __init__(self, binary: Path, workdir: Path, port: int):
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.portal = PORTAL_ID
        self.db_path = workdir / "spoke.db"
        # SPOKE_COMPAT_DATABASE runs the suite on another backend (e.g. a Postgres URL, with
        # SPOKE_PG_SCHEMA naming a fresh schema); the default is a fresh SQLite file.
        self.database = os.environ.get("SPOKE_COMPAT_DATABASE") or f"sqlite://{self.db_path}"
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None

    # -- command line -----------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        cmd = [str(self.binary), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            pytest.fail(
                f"`{' '.join(cmd)}` exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    def create_token(self, scopes: list[str]) -> str:
        out = self.cli(
            "token", "create",
            "--database", self.database,
            "--portal", str(self.portal),
            "--scopes", ",".join(scopes),
        ).stdout.strip()
        assert out and len(out.split()) == 1, f"`spoke token create` should print only the token, got {out!r}"
        return out

    def import_file(self, object_type: str, path: Path) -> subprocess.CompletedProcess:
        return self.cli(
            "import",
            "--database", self.database,
            "--portal", str(self.portal),
            "--object-type", object_type,
            str(path),
        )

    def client(self, token: str) -> hubspot.HubSpot:
        # The official client, only its host changed.
        return hubspot.HubSpot(access_token=token, host=self.base_url)

    # -- server -------------------------------------------------------------------------
    def start(self, timeout: float) -> None:
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--database", self.database],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        log.close()
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(
                    f"spoke serve exited with {self.process.returncode} before /healthz answered.\n"
                    f"server log ({self.log_path}):\n{_log_tail(self.log_path)}",
                    pytrace=False,
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
                last_error = f"HTTP {status}"
            except OSError as e:
                last_error = repr(e)
            time.sleep(0.1)
        self.stop()
        pytest.fail(
            f"spoke serve did not answer 200 on GET /healthz within {timeout:.0f} s (last: {last_error}).\n"
            f"server log ({self.log_path}):\n{_log_tail(self.log_path)}",
            pytrace=False,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def spoke(request, tmp_path_factory) -> Spoke:
    binary = _spoke_bin()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"spoke binary not found at {binary} (set SPOKE_BIN or build it first)", pytrace=False)
    workdir = tmp_path_factory.mktemp("spoke")
    server = Spoke(binary, workdir, _free_port())
    request.config.stash[_LOG_KEY] = server.log_path
    # The all-scopes token is made before the server starts (the other supported order,
    # "while it runs", is used by the limited-scope token below).
    server.all_scopes_token = server.create_token(ALL_SCOPES)
    server.start(float(os.environ.get("SPOKE_STARTUP_TIMEOUT", "20")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token(spoke: Spoke) -> str:
    return spoke.all_scopes_token


@pytest.fixture(scope="session")
def client(spoke: Spoke, token: str) -> hubspot.HubSpot:
    return spoke.client(token)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    log_path = config.stash.get(_LOG_KEY, None)
    if log_path is None or exitstatus == 0:
        return
    terminalreporter.section("spoke server log (tail)")
    terminalreporter.write_line(f"full log: {log_path}")
    terminalreporter.write_line(_log_tail(log_path, 40))
