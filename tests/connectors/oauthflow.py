"""OAuth for the connector tests: an app registered with `spoke app create`, installed in the
test portal through spoke's consent page (the page fetched and its form posted as a browser
would, cookie included), and the authorization code exchanged at `POST /oauth/v1/token`. What
the connectors get is what a user pastes into their configuration: client id, client secret and
refresh token. The connectors then refresh access tokens themselves at
https://api.hubapi.com/oauth/v1/token (and Airbyte reads its scopes from
`/oauth/v1/access-tokens/{token}`).

The consent page itself is driven by a real browser in tests/compat/node/consent.test.mjs;
here it is walked over plain HTTP, which is all the connectors' setup needs.
"""

from __future__ import annotations

import html.parser
import http.client
import json
import os
import subprocess
import urllib.parse
from dataclasses import dataclass

import pytest

from conftest import CONNECTOR_SCOPES, PORTAL_ID, Env

REDIRECT_URI = "http://localhost:8976/oauth-callback"


@dataclass
class OAuthApp:
    app_id: int
    client_id: str
    client_secret: str
    refresh_token: str
    scopes: list[str]

    def credentials(self) -> dict:
        return {"client_id": self.client_id, "client_secret": self.client_secret, "refresh_token": self.refresh_token}


class _Form(html.parser.HTMLParser):
    """The consent page's form fields: hidden inputs by name, and the portal choices."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.portals: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a.get("name", "")] = a.get("value", "")
        if tag == "option":
            self.portals.append(a.get("value", ""))


def _request(env: Env, method: str, path: str, body: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", env.port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    return res.status, dict(res.getheaders()), res.read().decode("utf-8", "replace")


def install(env: Env, name: str) -> OAuthApp:
    """Registers an app, approves it for the test portal on the consent page, exchanges the
    code; fails the test with what went wrong otherwise."""
    data_dir = env.workdir / "data"
    cmd = [str(env.spoke_bin), "app", "create", "--database", env.database, "--name", name,
           "--redirect-uri", REDIRECT_URI, "--scopes", ",".join(CONNECTOR_SCOPES)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, SPOKE_DATA_DIR=str(data_dir)))
    if proc.returncode != 0:
        pytest.fail(f"`spoke app create` failed ({proc.returncode}):\n{proc.stderr}", pytrace=False)
    app = json.loads(proc.stdout)

    query = urllib.parse.urlencode({
        "client_id": app["clientId"], "redirect_uri": REDIRECT_URI, "scope": " ".join(CONNECTOR_SCOPES),
        "state": f"connectors-{name}",
    }, quote_via=urllib.parse.quote)
    status, headers, page = _request(env, "GET", f"/oauth/authorize?{query}")
    if status != 200:
        pytest.fail(f"the consent page answered {status}:\n{page[:2000]}", pytrace=False)
    form = _Form()
    form.feed(page)
    if str(PORTAL_ID) not in form.portals:
        pytest.fail(f"the consent page does not offer portal {PORTAL_ID}: {form.portals}", pytrace=False)
    cookie = (headers.get("set-cookie") or headers.get("Set-Cookie") or "").split(";")[0]
    fields = dict(form.fields, portal=str(PORTAL_ID), decision="approve")
    status, headers, page = _request(env, "POST", "/oauth/authorize", urllib.parse.urlencode(fields),
                                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    location = headers.get("location") or headers.get("Location") or ""
    if status != 302 or not location.startswith(REDIRECT_URI):
        pytest.fail(f"approving answered {status}, Location {location!r}:\n{page[:2000]}", pytrace=False)
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    if params.get("state") != f"connectors-{name}" or not params.get("code"):
        pytest.fail(f"the redirect lacks the code or the state: {location}", pytrace=False)

    body = urllib.parse.urlencode({"grant_type": "authorization_code", "client_id": app["clientId"],
                                   "client_secret": app["clientSecret"], "redirect_uri": REDIRECT_URI,
                                   "code": params["code"]})
    status, _, answer = _request(env, "POST", "/oauth/v1/token", body,
                                 {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        pytest.fail(f"exchanging the code answered {status}: {answer}", pytrace=False)
    tokens = json.loads(answer)
    if tokens.get("hub_id") != PORTAL_ID:
        pytest.fail(f"the token is for portal {tokens.get('hub_id')}, not {PORTAL_ID}", pytrace=False)
    return OAuthApp(app["appId"], app["clientId"], app["clientSecret"], tokens["refresh_token"], tokens["scopes"])


def oauth_calls(env: Env, mark: int) -> list[str]:
    """The OAuth calls the connectors made since `mark` over HTTPS, as `METHOD path status`."""
    return [f"{e['method']} {e['path']} {e['status']}" for e in env.log.since(mark) if e["path"].startswith("/oauth/")]
