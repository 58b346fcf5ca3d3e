"""A TLS terminator for `api.hubapi.com` in front of spoke's plain-HTTP port, and the request log
of everything a connector sent.

The connectors hard-code `https://api.hubapi.com`; inside the test's network namespace that name
is 127.0.0.1, and this server answers on :443 with a certificate from the test's CA. Each request
is passed on to spoke unchanged (Host stays `api.hubapi.com`) plus `X-Forwarded-Proto: https` and
`X-Forwarded-For`, so spoke can build its `paging.next.link` on the name and scheme the client
called. The log is what the tests print when a step fails: which calls spoke refused, and why.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the request.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class RequestLog:
    """Every request through the terminator, in order; steps take slices by position."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: list[dict] = []
        self.lock = threading.Lock()

    def add(self, entry: dict) -> None:
        with self.lock:
            entry["seq"] = len(self.entries)
            self.entries.append(entry)
            with self.path.open("a") as f:
                f.write(json.dumps(entry) + "\n")

    def mark(self) -> int:
        with self.lock:
            return len(self.entries)

    def since(self, mark: int) -> list[dict]:
        with self.lock:
            return list(self.entries[mark:])


def summarize(entries: list[dict], limit: int = 40) -> str:
    """The calls of a step that did not succeed, one line per distinct (method, path, status)."""
    failed: dict[tuple, dict] = {}
    for e in entries:
        if e["status"] < 400:
            continue
        key = (e["method"], e["path"], e["status"])
        if key in failed:
            failed[key]["count"] += 1
        else:
            failed[key] = {**e, "count": 1}
    ok = sum(1 for e in entries if e["status"] < 400)
    lines = [f"calls through api.hubapi.com: {len(entries)}, {ok} succeeded, {len(entries) - ok} failed"]
    for (method, path, status), e in list(failed.items())[:limit]:
        times = f" (x{e['count']})" if e["count"] > 1 else ""
        lines.append(f"  {status} {method} {path}{times}: {e.get('category') or ''} {e.get('message') or ''}".rstrip())
    if len(failed) > limit:
        lines.append(f"  ... and {len(failed) - limit} more distinct failing calls")
    return "\n".join(lines)


def _short(target: str) -> str:
    """A request target short enough to read: the path, and the query's keys only."""
    path, _, query = target.partition("?")
    if not query:
        return path
    keys = []
    for pair in query.split("&"):
        key = pair.split("=", 1)[0]
        if key not in keys:
            keys.append(key)
    return f"{path}?{'&'.join(keys)}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format, *args):  # noqa: A002 - the log is RequestLog's
        pass

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _upstream(self) -> http.client.HTTPConnection:
        # One keep-alive connection to spoke per client connection.
        conn = getattr(self, "_conn", None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=300)
            self._conn = conn
        return conn

    def _forward(self) -> None:
        started = time.monotonic()
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-For"] = self.client_address[0]
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        try:
            conn = self._upstream()
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
            except (http.client.HTTPException, ConnectionError):
                # spoke closed an idle keep-alive connection; one fresh try.
                conn.close()
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
            data = resp.read()
            status, reason, resp_headers = resp.status, resp.reason, resp.getheaders()
        except OSError as e:
            data = json.dumps({"status": "error", "message": f"terminator: spoke unreachable: {e}"}).encode()
            status, reason, resp_headers = 502, "Bad Gateway", [("Content-Type", "application/json")]
        entry = {
            "method": self.command,
            "path": _short(self.path),
            "target": self.path[:300],
            "status": status,
            "ms": round((time.monotonic() - started) * 1000, 1),
            "correlationId": None,
            "message": None,
            "category": None,
        }
        for k, v in resp_headers:
            if k.lower() == "x-hubspot-correlation-id":
                entry["correlationId"] = v
            if k.lower() == "x-spoke-not-emulated":
                entry["notEmulated"] = v
        if status >= 400:
            try:
                err = json.loads(data)
                entry["message"] = str(err.get("message"))[:300]
                entry["category"] = err.get("category")
            except (ValueError, AttributeError):
                entry["message"] = data[:200].decode("utf-8", "replace")
        self.server.log.add(entry)
        # spoke's own Date, and no Server header of the terminator's.
        self.send_response_only(status, reason)
        for k, v in resp_headers:
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, upstream_port: int, log: RequestLog, context: ssl.SSLContext):
        super().__init__(addr, _Handler)
        self.upstream_port = upstream_port
        self.log = log
        self.context = context

    def get_request(self):
        sock, addr = super().get_request()
        # The handshake runs on first read, in the handler's thread, so one slow client does
        # not hold up the accept loop.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        # A client that drops its connection mid-request is not the test's concern; the
        # request log shows what it was sent.
        pass


class Terminator:
    def __init__(self, upstream_port: int, context: ssl.SSLContext, log: RequestLog, port: int = 443):
        self.server = _Server(("127.0.0.1", port), upstream_port, log, context)
        self.thread = threading.Thread(target=self.server.serve_forever, name="tls-terminator", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
