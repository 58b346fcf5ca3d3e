"""App webhooks through HubSpot's official Python client, received on a local HTTP server and
verified with the client's own signature helper (`hubspot.utils.signature.Signature`).

The app comes from `spoke app create` (its developer API key and client secret), its settings
and subscriptions are made through the client's `webhooks` API with the developer key, it is
installed in a portal through the admin API, and the writes go through the client's CRM APIs.
This module runs its own spoke server: webhooks need the key file that seals app secrets,
so the server and `spoke app create` share a data directory (`SPOKE_DATA_DIR`).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import hubspot
from hubspot.crm.contacts import SimplePublicObjectInputForCreate, SimplePublicObjectInput
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
from hubspot.utils.signature import Signature
from hubspot.webhooks import (
    BatchInputSubscriptionBatchUpdateRequest,
    SettingsChangeRequest,
    SubscriptionBatchUpdateRequest,
    SubscriptionCreateRequest,
    SubscriptionPatchRequest,
    ThrottlingSettings,
)

from conftest import _free_port, _log_tail, _spoke_bin

ADMIN_TOKEN = "spoke-admin-webhooks-test-0123456789"


class Receiver:
    """A local target URL: records each POST (path, headers, raw body) and answers 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with outer.lock:
                    outer.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body.decode("utf-8"),
                    })
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hubspot/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        with self.lock:
            return [e for r in self.requests for e in json.loads(r["body"])]

    def wait_for(self, what, done, timeout=15.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.events()
            if done(events):
                return events
            time.sleep(0.05)
        pytest.fail(f"waited {timeout} s for {what}; got {self.events()}", pytrace=False)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    binary = _spoke_bin()
    workdir = tmp_path_factory.mktemp("spoke-webhooks")
    database = os.environ.get("SPOKE_COMPAT_DATABASE") or f"sqlite://{workdir / 'spoke.db'}"
    environ = dict(os.environ, SPOKE_DATA_DIR=str(workdir / "data"), SPOKE_ADMIN_TOKEN=ADMIN_TOKEN)
    port = _free_port()
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(binary), "serve", "--listen", f"127.0.0.1:{port}", "--database", database,
             "--webhook-poll-ms", "100"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir, env=environ,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"spoke did not start:\n{_log_tail(log_path)}", pytrace=False)
        time.sleep(0.1)

    def cli(*args):
        out = subprocess.run([str(binary), *args], capture_output=True, text=True, env=environ, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    yield {"base": base, "database": database, "cli": cli, "log": log_path}
    proc.terminate()
    proc.wait(timeout=10)


def admin(base, method, path, body=None):
    req = urllib.request.Request(
        base + path, method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return r.status, (json.loads(text) if text else None)


def verify(request, secret, url):
    """Checks one delivery as an app would, with HubSpot's own helper: v1 and v3."""
    h, body = request["headers"], request["body"]
    assert h["x-hubspot-signature-version"] == "v1"
    assert Signature.is_valid(signature=h["x-hubspot-signature"], client_secret=secret,
                              request_body=body, signature_version="v1")
    assert Signature.is_valid(signature=h["x-hubspot-signature-v3"], client_secret=secret,
                              request_body=body, http_uri=url, http_method="POST",
                              signature_version="v3", timestamp=h["x-hubspot-request-timestamp"])
    assert not Signature.is_valid(signature=h["x-hubspot-signature-v3"], client_secret="another secret",
                                  request_body=body, http_uri=url, http_method="POST",
                                  signature_version="v3", timestamp=h["x-hubspot-request-timestamp"])


def test_events_arrive_signed_as_hubspot_signs_them(env):
    base = env["base"]
    app = json.loads(env["cli"]("app", "create", "--database", env["database"], "--name", "Webhooks (Python)",
                                "--redirect-uri", "http://localhost:3000/callback",
                                "--scopes", "crm.objects.contacts.read"))
    app_id, secret = app["appId"], app["clientSecret"]
    receiver = Receiver()

    # Settings and subscriptions through the client's webhooks API, with the developer key.
    dev = hubspot.HubSpot(api_key=app["developerApiKey"], host=base)
    settings = dev.webhooks.settings_api.configure(app_id, SettingsChangeRequest(
        target_url=receiver.url, throttling=ThrottlingSettings(max_concurrent_requests=10)))
    assert settings.target_url == receiver.url
    assert dev.webhooks.settings_api.get_all(app_id).throttling.max_concurrent_requests == 10
    created = [
        dev.webhooks.subscriptions_api.create(app_id, SubscriptionCreateRequest(event_type=t, property_name=p, active=a))
        for t, p, a in [
            ("contact.creation", None, True),
            ("contact.propertyChange", "firstname", False),
            ("contact.deletion", None, True),
            ("contact.associationChange", None, True),
            ("company.creation", None, False),
        ]
    ]
    assert [s.active for s in created] == [True, False, True, True, False]
    dev.webhooks.subscriptions_api.update(int(created[1].id), app_id, SubscriptionPatchRequest(active=True))
    batch = dev.webhooks.subscriptions_api.update_batch(app_id, BatchInputSubscriptionBatchUpdateRequest(
        inputs=[SubscriptionBatchUpdateRequest(id=int(created[4].id), active=False)]))
    assert batch.status == "COMPLETE"
    listed = dev.webhooks.subscriptions_api.get_all(app_id).results
    assert {s.id for s in listed} == {s.id for s in created}
    assert dev.webhooks.subscriptions_api.get_by_id(int(created[1].id), app_id).active is True

    # A portal, with the app installed by the admin API.
    status, portal = admin(base, "POST", "/_spoke/portals", {})
    assert status == 201
    status, _ = admin(base, "POST", f"/_spoke/portals/{portal['portalId']}/apps/{app_id}/install")
    assert status == 204
    crm = hubspot.HubSpot(access_token=portal["token"], host=base)

    contact = crm.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(
        properties={"email": "py-webhooks@example.com", "firstname": "Ada"}))
    crm.crm.contacts.basic_api.update(contact.id, SimplePublicObjectInput(properties={"firstname": "Grace"}))
    company = crm.crm.companies.basic_api.create(CompanyInput(properties={"name": "Hooks Inc"}))
    crm.crm.associations.v4.basic_api.create_default("contacts", contact.id, "companies", company.id)
    crm.crm.contacts.basic_api.archive(contact.id)

    kinds = ["contact.creation", "contact.propertyChange", "contact.associationChange", "contact.deletion"]
    events = receiver.wait_for(kinds, lambda ev: set(kinds) <= {e["subscriptionType"] for e in ev})
    by_kind = {}
    for e in events:
        by_kind.setdefault(e["subscriptionType"], e)
        assert e["portalId"] == portal["portalId"] and e["appId"] == app_id
        assert e["attemptNumber"] == 0
        assert isinstance(e["eventId"], int) and isinstance(e["occurredAt"], int)
    assert "company.creation" not in by_kind, "a paused subscription sends nothing"
    assert by_kind["contact.creation"]["objectId"] == int(contact.id)
    assert by_kind["contact.creation"]["changeFlag"] == "CREATED"
    assert by_kind["contact.propertyChange"]["propertyName"] == "firstname"
    assert by_kind["contact.propertyChange"]["propertyValue"] == "Grace"
    assert by_kind["contact.deletion"]["objectId"] == int(contact.id)
    assoc = by_kind["contact.associationChange"]
    assert {assoc["fromObjectId"], assoc["toObjectId"]} == {int(contact.id), int(company.id)}
    assert assoc["associationRemoved"] is False
    for key in ["eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType", "attemptNumber"]:
        assert key in by_kind["contact.creation"]

    assert receiver.requests
    for request in receiver.requests:
        assert request["path"] == "/hubspot/webhooks"
        assert request["headers"]["content-type"] == "application/json"
        verify(request, secret, receiver.url)

    status, deliveries = admin(base, "GET", f"/_spoke/webhooks/deliveries?appId={app_id}")
    assert status == 200 and deliveries["results"]
    assert all(d["outcome"] == "delivered" for d in deliveries["results"])
