"""The pytest plugin (entry point ``pytest11``): a spoke server per test session and a fresh
portal per test.

Fixtures:
  spoke_server  (session)  a ``SpokeServer``: the bundled ``spoke`` binary (or ``SPOKE_BIN``)
                           started on a free port over a temporary SQLite database, or the
                           server at ``SPOKE_URL`` with ``SPOKE_ADMIN_TOKEN`` (attached, left
                           running); stopped at the end of the session
  spoke_portal  (function) a ``Portal`` of its own for each test (``portal_id``, ``token``,
                           ``base_url``, ``reset()``, ``snapshot()``, ``restore()``,
                           ``seed()``, ``fault()``, ``clock``, ``hubspot_client()``), deleted
                           with its fault rules after the test; ``@pytest.mark.spoke_seed(f)``
                           seeds it from a fixture first

Options: ``--spoke-bin PATH``, ``--spoke-database URL`` (e.g. a PostgreSQL URL, with
``SPOKE_PG_SCHEMA`` naming a fresh schema), ``--spoke-arg ARG`` (repeatable, passed to
``spoke serve``), ``--spoke-startup-timeout SECONDS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from .admin import Portal
from .server import SpokeServer, SpokeStartError

_SERVER_KEY = pytest.StashKey[SpokeServer]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spoke", "spoke (HubSpot CRM emulator) fixtures")
    group.addoption("--spoke-bin", default=None, help="spoke binary to start (default: SPOKE_BIN, "
                    "else the one the pytest-spoke wheel installed, else `spoke` on PATH)")
    group.addoption("--spoke-database", default=None,
                    help="database URL for the started server (default: a temporary SQLite file)")
    group.addoption("--spoke-arg", action="append", default=[],
                    help="extra argument for `spoke serve` (repeatable)")
    group.addoption("--spoke-startup-timeout", type=float, default=None,
                    help="seconds to wait for spoke to answer /healthz (default: 30)")


@pytest.fixture(scope="session")
def spoke_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SpokeServer]:
    config = request.config
    timeout = config.getoption("--spoke-startup-timeout") or float(os.environ.get("SPOKE_STARTUP_TIMEOUT", "30"))
    url = os.environ.get("SPOKE_URL")
    try:
        if url:
            admin_token = os.environ.get("SPOKE_ADMIN_TOKEN")
            if not admin_token:
                raise SpokeStartError("SPOKE_URL is set but SPOKE_ADMIN_TOKEN is not")
            server = SpokeServer.attach(url, admin_token)
        else:
            binary = config.getoption("--spoke-bin")
            server = SpokeServer.start(
                binary=Path(binary) if binary else None,
                workdir=tmp_path_factory.mktemp("spoke"),
                database=config.getoption("--spoke-database"),
                args=config.getoption("--spoke-arg"),
                timeout=timeout,
            )
    except SpokeStartError as e:
        pytest.fail(str(e), pytrace=False)
    config.stash[_SERVER_KEY] = server
    try:
        yield server
    finally:
        server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spoke_seed(fixture): seed the test's spoke_portal from a fixture (a mapping, or a JSON "
        "file's path, relative to the test file)",
    )


@pytest.fixture
def spoke_portal(request: pytest.FixtureRequest, spoke_server: SpokeServer) -> Iterator[Portal]:
    seed = None
    marker = request.node.get_closest_marker("spoke_seed")
    if marker is not None:
        if len(marker.args) != 1:
            pytest.fail("@pytest.mark.spoke_seed takes one fixture (a mapping or a file path)", pytrace=False)
        seed = marker.args[0]
        if isinstance(seed, (str, Path)) and not Path(seed).is_absolute():
            seed = Path(request.node.path).parent / seed
    portal = spoke_server.new_portal(seed=seed)
    try:
        yield portal
    finally:
        portal.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    # A failing run shows what the server said: the first thing one asks after a red test.
    server = config.stash.get(_SERVER_KEY, None)
    if server is None or exitstatus == 0 or server.process is None:
        return
    terminalreporter.section("spoke server log (tail)")
    terminalreporter.write_line(f"logs: {server.workdir}")
    terminalreporter.write_line(server.log_tail(30))
