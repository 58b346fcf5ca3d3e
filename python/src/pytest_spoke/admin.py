"""spoke's admin API (`/_spoke/`) from Python, with the standard library only.

A test suite's dependencies are its own business, so this speaks HTTP through `urllib` and
JSON through `json`; nothing here needs more than the Python that runs pytest.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping

__all__ = ["Admin", "Clock", "Fault", "Portal", "SpokeError"]

# spoke runs on loopback or a private network: a proxy from the environment (http_proxy) would
# only get in the way, and would see the admin token.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SpokeError(Exception):
    """spoke answered an admin call with an error (HubSpot's envelope: status, category,
    message, correlationId), or did not answer at all (``status`` is None)."""

    def __init__(self, method: str, url: str, status: int | None, body: Any):
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        if isinstance(body, Mapping):
            self.category = body.get("category")
            self.message = body.get("message")
        else:
            self.category = None
            self.message = body
        super().__init__(f"{method} {url} -> {status}: {self.message}")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _instant(at: datetime | str | int | float) -> str | int:
    """A time for the clock API: epoch milliseconds or ISO-8601, as the API takes both."""
    if isinstance(at, datetime):
        # A naive datetime is read as UTC: a test that writes datetime(2024, 1, 1) means a
        # fixed instant, not one that moves with the machine's zone.
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        return int(at.timestamp() * 1000)
    if isinstance(at, bool):
        raise TypeError("a clock instant is a datetime, an ISO-8601 string or epoch milliseconds")
    if isinstance(at, (int, float)):
        return int(at)
    if isinstance(at, str):
        return at
    raise TypeError("a clock instant is a datetime, an ISO-8601 string or epoch milliseconds")


def _millis(ms: int | float | timedelta) -> int:
    if isinstance(ms, timedelta):
        return int(ms / timedelta(milliseconds=1))
    return int(ms)


class Admin:
    """A client of one spoke server's admin API, holding its admin token."""

    def __init__(self, base_url: str, admin_token: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.admin_token = admin_token
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None, query: Mapping[str, Any] | None = None) -> Any:
        """One admin call; the parsed JSON answer (None for 204), or SpokeError."""
        url = self.base_url + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        data = None
        headers = {"Authorization": f"Bearer {self.admin_token}", "Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed: Any = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            raise SpokeError(method, url, e.code, parsed) from None
        except OSError as e:
            raise SpokeError(method, url, None, str(e)) from None
        return json.loads(raw) if raw else None

    # -- portals ------------------------------------------------------------------------
    def new_portal(self, seed: Mapping[str, Any] | str | Path | None = None) -> "Portal":
        """A new portal with an all-scopes token (optionally seeded from a fixture)."""
        body = {"seed": _fixture(seed)} if seed is not None else None
        created = self.call("POST", "/_spoke/portals", body)
        return Portal(self, created["portalId"], created["token"], created["baseUrl"])

    def portals(self) -> list[int]:
        return [p["portalId"] for p in self.call("GET", "/_spoke/portals")["results"]]

    # -- faults (every portal's; a Portal's own are Portal.fault) -----------------------
    def fault(self, **rule: Any) -> "Fault":
        """Adds a fault rule (keyword arguments in snake_case or the API's camelCase:
        ``action``, ``status``, ``count``, ``path``, ``method``, ``probability``,
        ``latency_ms``, ``body``, ``portal_id``) and returns a handle to it."""
        body = {_camel(k): v for k, v in rule.items()}
        return Fault(self, self.call("POST", "/_spoke/faults", body))

    def faults(self) -> list[dict]:
        return self.call("GET", "/_spoke/faults")["results"]

    def clear_faults(self) -> None:
        self.call("DELETE", "/_spoke/faults")

    # -- request inspector ---------------------------------------------------------------
    def requests(self, **filters: Any) -> list[dict]:
        """Recorded requests, newest first (filters: portal_id, method, path, status, since,
        until, correlation_id, limit)."""
        query = {_camel(k): v for k, v in filters.items()}
        return self.call("GET", "/_spoke/requests", query=query)["results"]


def _fixture(fixture: Mapping[str, Any] | str | Path) -> Any:
    """A seed fixture given as a mapping, or the path of a JSON file holding one."""
    if isinstance(fixture, (str, Path)):
        return json.loads(Path(fixture).read_text())
    return fixture


class Fault:
    """A fault rule spoke holds; ``hits`` and ``remaining`` are read fresh from spoke."""

    def __init__(self, admin: Admin, rule: dict):
        self._admin = admin
        self.rule = rule
        self.id = rule["id"]
        self.removed = False

    def refresh(self) -> dict:
        self.rule = self._admin.call("GET", f"/_spoke/faults/{urllib.parse.quote(str(self.id), safe='')}")
        return self.rule

    @property
    def hits(self) -> int:
        return self.refresh()["hits"]

    @property
    def remaining(self) -> int | None:
        return self.refresh()["remaining"]

    def remove(self) -> None:
        """Removes the rule; removing it twice is no error."""
        if self.removed:
            return
        try:
            self._admin.call("DELETE", f"/_spoke/faults/{urllib.parse.quote(str(self.id), safe='')}")
        except SpokeError as e:
            if e.status != 404:
                raise
        self.removed = True

    def __enter__(self) -> "Fault":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"Fault({self.rule!r})"


class Clock:
    """The time one portal sees: its writes' timestamps and its tokens' expiry."""

    def __init__(self, portal: "Portal"):
        self._portal = portal

    @property
    def _path(self) -> str:
        return f"/_spoke/portals/{self._portal.portal_id}/clock"

    def get(self) -> dict:
        """``{"portalId", "now", "nowMs", "mode", "offsetMs"}``."""
        return self._portal.admin.call("GET", self._path)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.get()["nowMs"] / 1000, tz=timezone.utc)

    def now_ms(self) -> int:
        return self.get()["nowMs"]

    def freeze(self, at: datetime | str | int | None = None) -> dict:
        """Stops the portal's time at ``at`` (a datetime, ISO-8601 or epoch ms; naive
        datetimes are UTC), or, without it, at the portal's present instant."""
        instant = _instant(at) if at is not None else self.now_ms()
        return self._portal.admin.call("PUT", self._path, {"mode": "frozen", "at": instant})

    def advance(
        self,
        ms: int | timedelta = 0,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> dict:
        """Moves the portal's time forward (a frozen clock stays frozen at the later instant)."""
        total = _millis(ms) + _millis(timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days))
        return self._portal.admin.call("POST", self._path + "/advance", {"ms": total})

    def offset(self, ms: int | timedelta) -> dict:
        """Runs the portal's time at real speed, ``ms`` ahead (or behind, if negative)."""
        return self._portal.admin.call("PUT", self._path, {"mode": "offset", "offsetMs": _millis(ms)})

    def real(self) -> dict:
        """Back to the machine's time."""
        return self._portal.admin.call("PUT", self._path, {"mode": "real"})


class Portal:
    """One portal: its id, an all-scopes token, the base URL to point a client at, and the
    admin calls that act on it."""

    def __init__(self, admin: Admin, portal_id: int, token: str, base_url: str):
        self.admin = admin
        self.portal_id = portal_id
        self.token = token
        self.base_url = base_url.rstrip("/")
        self.clock = Clock(self)
        self._faults: list[Fault] = []
        self.deleted = False

    @property
    def _path(self) -> str:
        return f"/_spoke/portals/{self.portal_id}"

    def reset(self, to_seed: bool = False) -> None:
        """Empties the portal (records, properties, associations, pipelines…), keeping its
        tokens; ``to_seed=True`` goes back to what its seed wrote instead."""
        self.admin.call("POST", self._path + "/reset", {"to": "seed"} if to_seed else None)

    def snapshot(self, name: str) -> dict:
        """Saves the portal's data under ``name`` (``{"name", "createdAt", "records"}``)."""
        return self.admin.call("POST", self._path + "/snapshots", {"name": name})

    def snapshots(self) -> list[dict]:
        return self.admin.call("GET", self._path + "/snapshots")["results"]

    def restore(self, name: str) -> None:
        """Puts the portal's data back as it was when ``name`` was taken."""
        self.admin.call("POST", f"{self._path}/snapshots/{urllib.parse.quote(name, safe='')}/restore")

    def delete_snapshot(self, name: str) -> None:
        self.admin.call("DELETE", f"{self._path}/snapshots/{urllib.parse.quote(name, safe='')}")

    def seed(self, fixture: Mapping[str, Any] | str | Path) -> dict:
        """Writes a fixture (a mapping, or the path of a JSON file) into the portal; answers
        ``{"portalId", "refs": {type: {ref: id}}, "counts": {…}}``."""
        return self.admin.call("POST", self._path + "/seed", _fixture(fixture))

    def fault(self, **rule: Any) -> Fault:
        """A fault rule for this portal's requests (see ``Admin.fault``); it is removed when
        the portal is closed (at the end of the test, for the ``spoke_portal`` fixture)."""
        rule.setdefault("portal_id", self.portal_id)
        if "portalId" in rule:
            rule.pop("portal_id")
        fault = self.admin.fault(**rule)
        self._faults.append(fault)
        return fault

    def requests(self, **filters: Any) -> list[dict]:
        """This portal's recorded requests, newest first (see ``Admin.requests``)."""
        filters.setdefault("portal_id", self.portal_id)
        return self.admin.requests(**filters)

    def hubspot_client(self, **kwargs: Any) -> Any:
        """HubSpot's official Python client (``hubspot-api-client``) for this portal: its
        token, its host set to spoke. Keyword arguments go to ``hubspot.HubSpot`` (e.g.
        ``retry=urllib3.util.Retry(...)``)."""
        try:
            import hubspot  # type: ignore[import-not-found]
        except ImportError as e:
            raise ImportError(
                "Portal.hubspot_client() needs HubSpot's client: pip install hubspot-api-client"
            ) from e
        kwargs.setdefault("access_token", self.token)
        kwargs.setdefault("host", self.base_url)
        return hubspot.HubSpot(**kwargs)

    def close(self) -> None:
        """Removes the portal's fault rules and deletes the portal with its data."""
        errors: list[SpokeError] = []
        for fault in self._faults:
            try:
                fault.remove()
            except SpokeError as e:
                errors.append(e)
        self._faults.clear()
        if not self.deleted:
            try:
                self.admin.call("DELETE", self._path)
            except SpokeError as e:
                if e.status != 404:
                    errors.append(e)
            self.deleted = True
        if errors:
            raise errors[0]

    def __enter__(self) -> "Portal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Portal(portal_id={self.portal_id}, base_url={self.base_url!r})"
