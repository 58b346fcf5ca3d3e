"""Starting a spoke server for a test session, or attaching to one that runs.

The wheel puts the `spoke` binary in the environment's scripts directory (as ruff's wheel
does), so `find_binary` looks there before `PATH`: a virtualenv's python run without
activating it has its `bin/` off `PATH`.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.parse
from pathlib import Path

from .admin import Admin, Portal

__all__ = ["SpokeServer", "SpokeStartError", "find_binary"]

_EXE = "spoke.exe" if os.name == "nt" else "spoke"
_LISTENING = re.compile(r"listening on (http://\S+)")
_ADMIN_TOKEN = re.compile(r"^\s*(spoke-admin-\S+)\s*$", re.MULTILINE)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SpokeStartError(RuntimeError):
    """spoke could not be found or did not come up."""


def find_binary() -> Path:
    """The spoke binary: ``SPOKE_BIN``, else the one this environment's wheel installed,
    else the first ``spoke`` on ``PATH``."""
    given = os.environ.get("SPOKE_BIN")
    if given:
        path = Path(given).absolute()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SpokeStartError(f"SPOKE_BIN={given} is not an executable file")
        return path
    dirs = [sysconfig.get_path("scripts")]
    # `pip install --user` puts scripts in the user scheme's directory.
    try:
        dirs.append(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user")))
    except (AttributeError, KeyError):
        pass
    for d in dirs:
        if d:
            candidate = Path(d) / _EXE
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    found = shutil.which(_EXE)
    if found:
        return Path(found)
    raise SpokeStartError(
        "no spoke binary: install the pytest-spoke wheel (it carries one), set SPOKE_BIN, "
        "or attach to a running server with SPOKE_URL and SPOKE_ADMIN_TOKEN"
    )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # If pytest itself is killed (no finalizers run), the kernel stops the server too.
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    except Exception:
        pass


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = _ANSI.sub("", path.read_text(errors="replace"))
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


class SpokeServer:
    """A spoke server: one this process started (``start``) or one it attached to
    (``attach``). ``admin`` calls its admin API; ``new_portal()`` gives a fresh portal."""

    def __init__(self, base_url: str, admin_token: str, process: subprocess.Popen | None = None,
                 workdir: Path | None = None):
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token
        self.admin = Admin(self.base_url, admin_token)
        self.process = process
        self.workdir = workdir
        self.stdout_path = workdir / "stdout.log" if workdir else None
        self.stderr_path = workdir / "stderr.log" if workdir else None
        # A directory start() made itself is removed by stop(); one the caller gave is theirs.
        self._own_dir = False

    @classmethod
    def attach(cls, base_url: str, admin_token: str) -> "SpokeServer":
        """A server someone else runs; ``stop()`` leaves it running."""
        server = cls(base_url, admin_token)
        server.wait_healthy(10.0)
        return server

    @classmethod
    def start(
        cls,
        binary: Path | None = None,
        workdir: Path | None = None,
        database: str | None = None,
        args: list[str] | None = None,
        timeout: float = 30.0,
    ) -> "SpokeServer":
        """Starts ``spoke serve`` on a port the system picks, over a fresh SQLite database in
        ``workdir`` (a new temporary directory by default) unless ``database`` names one,
        and waits until it answers ``/healthz``."""
        # A path is taken from where the caller stands, not the server's working directory.
        binary = Path(binary).absolute() if binary else find_binary()
        own_dir = workdir is None
        workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="pytest-spoke-"))
        workdir.mkdir(parents=True, exist_ok=True)
        database = database or f"sqlite://{workdir / 'spoke.db'}"
        env = dict(os.environ)
        # The admin token is read from what a new database prints; a token from the
        # environment would replace it silently. The data directory (OAuth key file) stays
        # in the run's directory, off the user's own.
        env.pop("SPOKE_ADMIN_TOKEN", None)
        env.setdefault("SPOKE_DATA_DIR", str(workdir / "data"))
        env["NO_COLOR"] = "1"
        stdout_path = workdir / "stdout.log"
        stderr_path = workdir / "stderr.log"
        cmd = [str(binary), "serve", "--listen", "127.0.0.1:0", "--database", database, *(args or [])]
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=workdir,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        try:
            base_url, token = cls._wait_started(process, stdout_path, stderr_path, timeout)
            server = cls(base_url, token, process, workdir)
            server._own_dir = own_dir
            server.wait_healthy(timeout)
        except BaseException:
            _stop(process)
            if own_dir:
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        return server

    @staticmethod
    def _wait_started(process: subprocess.Popen, stdout_path: Path, stderr_path: Path,
                      timeout: float) -> tuple[str, str]:
        # Port 0 leaves the choice to the kernel, so no other process can take the port
        # between choosing and binding it; spoke logs the address it got.
        deadline = time.monotonic() + timeout
        while True:
            err = _ANSI.sub("", stderr_path.read_text(errors="replace"))
            listening = _LISTENING.search(err)
            if listening:
                out = stdout_path.read_text(errors="replace")
                token = _ADMIN_TOKEN.search(out)
                if not token:
                    raise SpokeStartError(
                        "spoke serve printed no admin token (the database already has one: "
                        "give a fresh database, or attach with SPOKE_URL and SPOKE_ADMIN_TOKEN)\n"
                        + _tail(stdout_path)
                    )
                return listening.group(1), token.group(1)
            if process.poll() is not None:
                raise SpokeStartError(
                    f"spoke serve exited with {process.returncode} before listening:\n"
                    f"{_tail(stdout_path)}\n{_tail(stderr_path)}"
                )
            if time.monotonic() > deadline:
                raise SpokeStartError(f"spoke serve did not listen within {timeout:.0f} s:\n{_tail(stderr_path)}")
            time.sleep(0.02)

    def wait_healthy(self, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        conn_cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise SpokeStartError(f"spoke serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                conn = conn_cls(parsed.hostname, parsed.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
                last = f"HTTP {status}"
            except OSError as e:
                last = repr(e)
            if time.monotonic() > deadline:
                raise SpokeStartError(f"{self.base_url}/healthz did not answer 200 within {timeout:.0f} s ({last})")
            time.sleep(0.05)

    def new_portal(self, seed=None) -> Portal:
        return self.admin.new_portal(seed)

    def fault(self, **rule):
        return self.admin.fault(**rule)

    def log_tail(self, lines: int = 40) -> str:
        if not self.stderr_path:
            return "(attached server: its log is where it runs)"
        return _tail(self.stdout_path, lines) + "\n" + _tail(self.stderr_path, lines)

    def stop(self) -> None:
        """Stops a server this process started (an attached one keeps running)."""
        if self.process is not None:
            _stop(self.process)
            if self._own_dir and self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "SpokeServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SpokeServer({self.base_url!r})"


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
