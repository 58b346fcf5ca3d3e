"""Session fixtures for the connector tests: a seeded spoke serving HTTPS for `api.hubapi.com`
itself (`spoke serve --https-listen 127.0.0.1:443`), inside the network and mount namespace
`run.sh` made.

Nothing here changes a connector: they are installed from their registries, run as their own
command-line programs, and reach spoke because, in this namespace only, `api.hubapi.com` is
127.0.0.1 (a hosts file bind-mounted over /etc/hosts) and spoke's local CA (made by spoke in
the run's directory, `SPOKE_CA_DIR`) is trusted, as `spoke ca` tells a user to: through
`REQUESTS_CA_BUNDLE`/`SSL_CERT_FILE`, and, for clients that never read those, in the
namespace's view of each venv's certifi bundle (`_trust`). What the connectors sent is read
from spoke's own access log (`requestlog.py`).

Environment (set by run.sh):
  SPOKE_BIN                  the spoke binary
  SPOKE_CONNECTORS_NETNS     "1" when running inside the namespace
  SPOKE_CONNECTORS_WORKDIR   where logs, configs, catalogs and outputs of this run go
  SPOKE_CONNECTORS_VENVS     the directory holding the `airbyte` and `meltano` venvs
  SPOKE_CONNECTORS_DATABASE  optional database URL (default: a fresh SQLite file); with
                             PostgreSQL, SPOKE_PG_SCHEMA names a fresh schema
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest

from requestlog import RequestLog, summarize
from seed import Seed, seed_all

HOST = "api.hubapi.com"
PORTAL_ID = 606060

# What a HubSpot private app for these connectors is granted: read access to the CRM objects,
# their schemas (properties), pipelines (through the objects' scopes), owners and users.
CONNECTOR_SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.companies.read",
    "crm.objects.deals.read",
    "tickets",
    "e-commerce",
    "crm.objects.line_items.read",
    "crm.objects.products.read",
    "crm.objects.quotes.read",
    "crm.objects.goals.read",
    "crm.objects.leads.read",
    "crm.objects.feedback_submissions.read",
    "crm.objects.owners.read",
    "crm.objects.custom.read",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
    "crm.schemas.tickets.read",
    "crm.schemas.custom.read",
    "sales-email-read",
    "settings.users.read",
    "settings.users.teams.read",
]
# The seeding token also writes records, associations, pipelines and users.
SEED_SCOPES = CONNECTOR_SCOPES + [
    "crm.objects.contacts.write",
    "crm.objects.companies.write",
    "crm.objects.deals.write",
    "crm.schemas.deals.write",
    "crm.schemas.tickets.write",
    "crm.schemas.custom.write",
    "crm.objects.custom.write",
    "settings.users.write",
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _database(workdir: Path) -> str:
    url = os.environ.get("SPOKE_CONNECTORS_DATABASE")
    if not url:
        return f"sqlite://{workdir / 'spoke.db'}"
    # Inside the private network namespace the host's 127.0.0.1:5432 is out of reach; the
    # mount namespace still shares the filesystem, so a local PostgreSQL is reached through
    # its Unix socket instead.
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme.startswith("postgres") and parsed.hostname in ("127.0.0.1", "localhost", "::1"):
        socket_dir = os.environ.get("SPOKE_CONNECTORS_PG_SOCKET_DIR", "/var/run/postgresql")
        port = parsed.port or 5432
        if Path(socket_dir, f".s.PGSQL.{port}").exists():
            query = {"user": parsed.username or "postgres", "host": socket_dir, "port": str(port)}
            if parsed.password:
                query["password"] = parsed.password
            return f"postgres://{parsed.path}?{urllib.parse.urlencode(query)}"
        pytest.exit(f"PostgreSQL at {url} has no Unix socket in {socket_dir}; unreachable from the test's namespace", 2)
    return url


def _trust(venv: Path, ca_file: Path, bundle: Path) -> None:
    """Makes a connector's venv trust spoke's CA inside this mount namespace only.

    `REQUESTS_CA_BUNDLE` is read by `requests.Session.request`, but the Airbyte CDK and the
    Singer SDK send their prepared requests with `Session.send`, which never looks at the
    environment and verifies against certifi's bundle. So, as /etc/hosts is for the name, the
    namespace's view of that bundle is the bundle plus spoke's CA (what `spoke ca` and the
    README tell a user to append): a bind mount over the file, which ends with the namespace
    and leaves the installed file as it was."""
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import certifi; print(certifi.where())"],
                           capture_output=True, text=True, timeout=60)
    if where.returncode != 0:
        pytest.exit(f"cannot find certifi in {venv}: {where.stderr}", 2)
    target = Path(where.stdout.strip())
    bundle.write_bytes(target.read_bytes() + b"\n" + ca_file.read_bytes())
    mount = subprocess.run(["mount", "--bind", str(bundle), str(target)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.exit(f"cannot bind-mount the test CA bundle over {target}: {mount.stderr}", 2)


_SESSION: dict = {}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Every call spoke refused in the whole run, once each: the list to check after merging
    the branches that implement them."""
    log = _SESSION.get("log")
    if log is None:
        return
    terminalreporter.section("timings")
    for line in _SESSION.get("timings", []):
        terminalreporter.write_line(line)
    terminalreporter.section("calls spoke refused during this run")
    terminalreporter.write_line(summarize(log.since(0), limit=80))


@dataclass
class Env:
    workdir: Path
    venvs: Path
    spoke_bin: Path
    database: str
    port: int
    log: RequestLog
    token: str
    seed_token: str
    ca_file: Path
    spoke_log: Path

    @property
    def spoke_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connector_env(self) -> dict:
        env = dict(os.environ)
        env.update(
            REQUESTS_CA_BUNDLE=str(self.ca_file),
            SSL_CERT_FILE=str(self.ca_file),
            CURL_CA_BUNDLE=str(self.ca_file),
            PYTHONDONTWRITEBYTECODE="1",
        )
        return env

    def failure_report(self, mark: int, what: str, paths: list[str] | None = None) -> str:
        """`what`, then the calls since `mark` that spoke refused (only those whose path holds
        one of `paths`, when given), then where the full logs are."""
        entries = self.log.since(mark)
        if paths:
            entries = [e for e in entries if any(p in e["path"] for p in paths)]
        return f"{what}\n{summarize(entries)}\nspoke log (with every request): {self.spoke_log}"


class Spoke:
    def __init__(self, binary: Path, workdir: Path, database: str):
        self.binary = binary
        self.workdir = workdir
        self.database = database
        self.port = _free_port()
        self.log_path = workdir / "spoke.log"
        self.ca_dir = workdir / "ca"
        self.process: subprocess.Popen | None = None

    def ca(self) -> Path:
        """spoke's CA certificate, made now if it is not there yet (`spoke ca --path`)."""
        proc = subprocess.run([str(self.binary), "ca", "--path"], capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, SPOKE_CA_DIR=str(self.ca_dir)))
        if proc.returncode != 0:
            pytest.exit(f"`spoke ca --path` failed ({proc.returncode}):\n{proc.stderr}", 2)
        return Path(proc.stdout.strip())

    def token(self, scopes: list[str]) -> str:
        cmd = [str(self.binary), "token", "create", "--database", self.database, "--portal", str(PORTAL_ID),
               "--scopes", ",".join(scopes)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            pytest.exit(f"`spoke token create` failed ({proc.returncode}):\n{proc.stderr}", 2)
        return proc.stdout.strip()

    def start(self) -> None:
        log = open(self.log_path, "wb")
        # The access log is the request log the tests print from.
        env = dict(os.environ, SPOKE_LOG=(os.environ.get("SPOKE_LOG") or "info") + ",spoke::access=debug", NO_COLOR="1",
                   SPOKE_CA_DIR=str(self.ca_dir))
        self.process = subprocess.Popen(
            [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--https-listen", "127.0.0.1:443",
             "--database", self.database],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir, env=env,
        )
        log.close()
        # Ready when both listeners answer, the HTTPS one for api.hubapi.com to a client that
        # trusts only spoke's CA, as the connectors will.
        context = ssl.create_default_context(cafile=str(self.ca_dir / "ca.pem"))
        deadline = time.monotonic() + 30
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.exit(f"spoke serve exited {self.process.returncode}:\n{_tail(self.log_path)}", 2)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                tls = http.client.HTTPSConnection(HOST, 443, timeout=2, context=context)
                tls.request("GET", "/healthz")
                if conn.getresponse().status == 200 and tls.getresponse().status == 200:
                    return
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.1)
        self.stop()
        pytest.exit(f"spoke did not answer /healthz over HTTP and HTTPS in 30 s ({last}):\n{_tail(self.log_path)}", 2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def env():
    if os.environ.get("SPOKE_CONNECTORS_NETNS") != "1":
        pytest.skip("run through tests/connectors/run.sh, which makes the private network namespace")
    try:
        resolved = socket.gethostbyname(HOST)
    except OSError as e:
        pytest.exit(f"{HOST} does not resolve inside the namespace: {e}", 2)
    if resolved != "127.0.0.1":
        pytest.exit(f"{HOST} resolves to {resolved}, not 127.0.0.1: refusing to talk to the real HubSpot", 2)

    workdir = Path(os.environ["SPOKE_CONNECTORS_WORKDIR"])
    workdir.mkdir(parents=True, exist_ok=True)
    binary = Path(os.environ["SPOKE_BIN"])

    started = time.monotonic()
    server = Spoke(binary, workdir, _database(workdir))
    ca_file = server.ca()

    venvs = Path(os.environ["SPOKE_CONNECTORS_VENVS"])
    for name in ("airbyte", "meltano"):
        _trust(venvs / name, ca_file, workdir / f"trust-{name}.pem")

    seed_token = server.token(SEED_SCOPES)
    token = server.token(CONNECTOR_SCOPES)
    server.start()
    log = RequestLog(server.log_path)
    _SESSION["log"] = log
    print(f"\nspoke on http://127.0.0.1:{server.port} and https://{HOST} (:443) ({server.database}), "
          f"up in {time.monotonic() - started:.1f} s; CA {ca_file}; logs in {workdir}")
    yield Env(workdir, venvs, binary, server.database, server.port,
              log, token, seed_token, ca_file, server.log_path)
    server.stop()


@pytest.fixture(scope="session")
def seed(env: Env) -> Seed:
    started = time.monotonic()
    s = seed_all(env.spoke_url, env.seed_token)
    counts = ", ".join(f"{t} {len(r)}" for t, r in s.records.items())
    line = (f"seeded in {time.monotonic() - started:.1f} s: {counts}, {len(s.links)} links, "
            f"{len(s.owners)} owners; {len(s.failures)} seeding calls failed")
    _SESSION.setdefault("timings", []).append(line)
    print("\n" + line)
    (env.workdir / "seed.json").write_text(
        json.dumps({"records": s.records, "links": s.links, "owners": s.owners,
                    "pipelines": {t: {p: sorted(st) for p, st in ps.items()} for t, ps in s.pipelines.items()},
                    "schemas": {n: {k: sc.get(k) for k in ("objectTypeId", "fullyQualifiedName")} for n, sc in s.schemas.items()},
                    "failures": [str(f) for f in s.failures]}, indent=1)
    )
    return s


@dataclass
class Run:
    """One connector invocation: its exit status, its stdout messages, its stderr."""

    argv: list[str]
    returncode: int
    messages: list[dict]
    stderr: str
    seconds: float
    mark: int

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.stderr.splitlines()[-n:])


# A connector that keeps retrying (backoff on a 5xx, a refused TLS handshake) is stopped here so
# the suite stays within CI's budget; its output up to then is kept.
RUN_TIMEOUT = float(os.environ.get("SPOKE_CONNECTORS_RUN_TIMEOUT", "180"))


def run_connector(env: Env, name: str, argv: list[str], timeout: float = RUN_TIMEOUT) -> Run:
    """Runs a connector's command line, keeps its output in the workdir, and parses the JSON
    lines it printed (Airbyte protocol or Singer messages)."""
    mark = env.log.mark()
    started = time.monotonic()
    out_path, err_path = env.workdir / f"{name}.out", env.workdir / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.run(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                  env=env.connector_env(), cwd=env.workdir, timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
            err.write(f"\n[test] stopped after {timeout:.0f} s (SPOKE_CONNECTORS_RUN_TIMEOUT)\n".encode())
    seconds = time.monotonic() - started
    messages = []
    for line in out_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except ValueError:
                pass
    n = len(env.log.since(mark))
    line = f"{name}: exit {code} in {seconds:.1f} s, {n} requests to {HOST}"
    _SESSION.setdefault("timings", []).append(line)
    print("\n" + line)
    return Run(argv, code, messages, err_path.read_text(errors="replace"), seconds, mark)
