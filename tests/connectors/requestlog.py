"""What the connectors sent to api.hubapi.com, read from spoke's own access log.

spoke serves the connectors itself (`spoke serve --https-listen 127.0.0.1:443`) and, with
`SPOKE_LOG=info,spoke::access=debug`, writes one line per request: method, host, path, the
query's parameter names, status, time, whether it came over TLS, correlation id, and for an
error HubSpot's message and category. This module parses those lines as the log grows; the
tests print the calls spoke refused when a step fails. Seeding goes through the plain-HTTP
listener, so the TLS requests are exactly the connectors' calls.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

# `key=value` or `key="quoted, with \"escapes\""` (tracing's Debug format for strings).
_FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
_MARKER = " spoke::access: request "


def _value(raw: str) -> str:
    if raw.startswith('"'):
        try:
            return json.loads(raw)
        except ValueError:
            return raw[1:-1]
    return raw


def parse_line(line: str) -> dict | None:
    """One access-log line as a request entry, or None for any other line."""
    at = line.find(_MARKER)
    if at < 0:
        return None
    fields = {k: _value(v) for k, v in _FIELD.findall(line[at + len(_MARKER):])}
    try:
        status = int(fields.get("status", ""))
    except ValueError:
        return None
    keys = fields.get("query") or ""
    path = fields.get("path", "")
    return {
        "method": fields.get("method", ""),
        "host": fields.get("host", ""),
        # The path and the query's keys only, as short as a failure report wants it.
        "path": f"{path}?{keys.replace(',', '&')}" if keys else path,
        "status": status,
        "ms": float(fields.get("ms") or 0),
        "tls": fields.get("tls") == "true",
        "correlationId": fields.get("correlation_id"),
        "message": fields.get("error"),
        "category": fields.get("category") or None,
        "notEmulated": fields.get("not_emulated") or None,
    }


class RequestLog:
    """The TLS requests in spoke's log, in order; steps take slices by position (`mark`)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: list[dict] = []
        self.offset = 0
        self.lock = threading.Lock()

    def _refresh(self) -> None:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        # Only whole lines: spoke may be writing the next one.
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            entry = parse_line(line)
            if entry is not None and entry["tls"]:
                entry["seq"] = len(self.entries)
                self.entries.append(entry)

    def mark(self) -> int:
        with self.lock:
            self._refresh()
            return len(self.entries)

    def since(self, mark: int) -> list[dict]:
        with self.lock:
            self._refresh()
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
