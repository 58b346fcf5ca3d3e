"""The web UI in a real browser (issue 16's done-means): a newcomer starts spoke, opens the
address `spoke serve` printed, creates records with HubSpot's official Python client, and
sees them in the UI, with their history and associations, and the requests that made them.

The browser is the OS's Chromium (`/usr/bin/chromium`, or SPOKE_CHROMIUM; run.sh installs
the Debian package when it is missing), driven headless by the `playwright` package with
`executable_path`: playwright downloads no browser of its own.

The request log, fault rules and the clock are parts of the admin API built beside the UI
(the inspector, faults and clock); a server without one of them answers its routes 404, and
the test of that part is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

import hubspot.crm.companies as CO
import hubspot.crm.contacts as C
from playwright import sync_api as playwright_api

CHROMIUM = os.environ.get("SPOKE_CHROMIUM") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
UI_LINE = re.compile(r"web UI at (http://\S+/_spoke/ui\?token=(\S+))")


def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def ui_address(spoke) -> tuple[str, str]:
    """The UI's sign-in address as `spoke serve` printed it, and the admin token in it."""
    text = spoke.log_path.read_text(errors="replace")
    found = UI_LINE.search(text)
    if found is None:
        # A database that had an admin token before (SPOKE_COMPAT_DATABASE) prints none:
        # issue a new one, as the banner tells a user to.
        secret = spoke.cli("admin-token", "--database", spoke.database).stdout.strip()
        return f"{spoke.base_url}/_spoke/ui?token={secret}", secret
    return found.group(1), found.group(2)


@pytest.fixture(scope="module")
def admin(ui_address) -> str:
    return ui_address[1]


def admin_call(spoke, admin: str, method: str, path: str, body=None):
    """The admin API with the Bearer header, as a script calls it: (status, JSON or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{spoke.base_url}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {admin}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            raw = res.read()
            return res.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, None


def require_feature(spoke, admin: str, path: str, what: str) -> None:
    status, _ = admin_call(spoke, admin, "GET", path)
    if status == 404:
        pytest.skip(f"{what} is not in this build (GET {path} answered 404)")
    assert status == 200, f"GET {path} answered {status}"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install the OS package (apt-get install chromium)", pytrace=False)
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, ui_address):
    """A signed-in page: the printed address opened in a fresh browser context."""
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    # The UI asks before it resets or deletes anything.
    pg.on("dialog", lambda d: d.accept())
    response = pg.goto(ui_address[0])
    assert response is not None and response.status == 200
    yield pg
    context.close()


@pytest.fixture()
def fresh_portal(spoke, admin):
    """A portal of this test's own, so pages list only what the test made."""
    status, made = admin_call(spoke, admin, "POST", "/_spoke/portals", {})
    assert status == 201, made
    return made["portalId"], made["token"]


def test_without_the_admin_token_the_ui_shows_only_a_login(spoke, browser, admin):
    context = browser.new_context()
    try:
        pg = context.new_page()
        response = pg.goto(f"{spoke.base_url}/_spoke/ui")
        assert response is not None and response.status == 401
        assert pg.locator("#login").is_visible()
        assert pg.locator("#main").count() == 0, "no part of the UI before signing in"
        response = pg.goto(f"{spoke.base_url}/_spoke/ui/app.js")
        assert response is not None and response.status == 401

        # A wrong token, and a HubSpot token, are refused by the form too.
        pg.goto(f"{spoke.base_url}/_spoke/ui")
        for wrong in ["spoke-admin-wrong", spoke.all_scopes_token]:
            pg.fill("#token", wrong)
            pg.click("button[type=submit]")
            assert pg.locator("#error").is_visible()
            assert pg.locator("#main").count() == 0
        # The right one signs in, and the address no longer holds it.
        pg.fill("#token", admin)
        pg.click("button[type=submit]")
        pg.wait_for_selector("#portals-table")
        assert pg.url == f"{spoke.base_url}/_spoke/ui#/portals" or pg.url == f"{spoke.base_url}/_spoke/ui"
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["spoke_admin"]["httpOnly"] is True
        assert cookies["spoke_admin"]["sameSite"] == "Strict"
        # Scripts on the page cannot read it.
        assert "spoke_admin" not in pg.evaluate("document.cookie")
    finally:
        context.close()


def test_records_made_with_the_python_client_show_in_the_ui(spoke, page, admin):
    # The printed address signed in and dropped the token from the address bar.
    assert "token=" not in page.url
    page.wait_for_selector("#portals-table")
    listed = page.locator("#portals-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.portal)")
    assert str(spoke.portal) in listed

    # A portal made in the UI: its token is shown once, for the client.
    page.click("#create-portal")
    page.wait_for_selector("#created .token")
    token = page.text_content("#created .token").strip()
    portal = page.text_content("#created a").strip()
    assert token.startswith("pat-")

    client = spoke.client(token)
    t = tag()
    ada_email, grace_email = f"ada-{t}@example.com", f"grace-{t}@example.com"
    made = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                C.SimplePublicObjectBatchInputForCreate(properties={"email": ada_email, "firstname": "Ada"}),
                C.SimplePublicObjectBatchInputForCreate(properties={"email": grace_email, "firstname": "Grace"}),
            ]
        )
    )
    ids = {r.properties["email"]: r.id for r in made.results}
    ada = ids[ada_email]
    client.crm.contacts.basic_api.update(
        contact_id=ada, simple_public_object_input=C.SimplePublicObjectInput(properties={"firstname": "Ada L."})
    )
    acme = client.crm.companies.basic_api.create(
        simple_public_object_input_for_create=CO.SimplePublicObjectInputForCreate(properties={"name": f"Acme {t}"})
    )
    client.crm.associations.v4.basic_api.create_default(
        from_object_type="contacts", from_object_id=ada, to_object_type="companies", to_object_id=acme.id
    )

    # The portal's types with their counts.
    page.goto(f"{spoke.base_url}/_spoke/ui#/portals/{portal}")
    page.wait_for_selector("#types-table")
    contacts_row = page.locator('#types-table tr[data-type="contacts"]')
    assert contacts_row.locator("td.num").text_content().strip() == "2"
    assert page.locator('#types-table tr[data-type="companies"] td.num').text_content().strip() == "1"

    # The records table, with the values the client wrote.
    contacts_row.locator("a").click()
    page.wait_for_selector("#records-table")
    table = page.text_content("#records-table")
    for value in [ada_email, grace_email, "Ada L.", "Grace"]:
        assert value in table, f"{value} in the records table: {table}"

    # A record: its values, its history, its association to the company.
    page.locator(f'#records-table tr[data-id="{ada}"] a').click()
    page.wait_for_selector("#record-properties")
    firstname = page.locator('#record-properties tr[data-property="firstname"]')
    assert firstname.locator("td").nth(1).text_content() == "Ada L."
    firstname.locator("summary").click()
    history = firstname.locator("table.history tr td:first-child").all_text_contents()
    assert history == ["Ada L.", "Ada"], history
    assert page.locator('#record-properties tr[data-property="email"] td').nth(1).text_content() == ada_email
    company_link = page.locator('#record-associations [data-to="companies"] a')
    assert company_link.count() == 1
    company_link.click()
    page.wait_for_selector(f'#record-properties tr[data-property="name"]')
    assert page.locator('#record-properties tr[data-property="name"] td').nth(1).text_content() == f"Acme {t}"


def test_the_request_log_shows_the_requests_that_made_them(spoke, page, admin, fresh_portal):
    require_feature(spoke, admin, "/_spoke/requests?limit=1", "The request inspector")
    portal, token = fresh_portal
    client = spoke.client(token)
    email = f"logged-{tag()}@example.com"
    client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(properties={"email": email})
    )
    page.goto(f"{spoke.base_url}/_spoke/ui#/requests?portalId={portal}")
    page.wait_for_selector("#requests-table tbody tr")
    rows = page.locator("#requests-table tbody tr")
    texts = rows.all_text_contents()
    post = next((i for i, r in enumerate(texts) if "POST" in r and "/crm/v3/objects/contacts" in r), None)
    assert post is not None, f"the client's POST in the log: {texts}"
    assert "201" in rows.nth(post).locator("td.status").text_content()
    # Its full detail: the body the client sent, the answer, no token.
    rows.nth(post).locator("a").click()
    page.wait_for_selector("#request-body")
    assert email in page.text_content("#request-body")
    assert page.text_content("#request-status").strip() == "201"
    assert token not in page.content(), "the token is redacted"

    # Filters: by path prefix and status class.
    page.goto(f"{spoke.base_url}/_spoke/ui#/requests")
    page.wait_for_selector("#request-filters")
    page.fill("#filter-portalId", str(portal))
    page.fill("#filter-status", "2xx")
    page.fill("#filter-path", "/crm/v3/objects/contacts")
    page.click("#request-filters button[type=submit]")
    page.wait_for_selector("#requests-table tbody tr")
    for row in page.locator("#requests-table tbody tr").all_text_contents():
        assert "/crm/v3/objects/contacts" in row, row

    # Live: a request made while the page is open appears without a reload.
    page.check("#live")
    page.wait_for_selector("#live[data-open]", state="attached")
    shown = page.locator("#requests-table tbody tr").count()
    live_email = f"live-{tag()}@example.com"
    live = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(properties={"email": live_email})
    )
    page.wait_for_function(
        "n => document.querySelectorAll('#requests-table tbody tr').length > n", arg=shown, timeout=10_000
    )
    newest = page.locator("#requests-table tbody tr").first
    assert "/crm/v3/objects/contacts" in newest.text_content()
    newest.locator("a").click()
    page.wait_for_selector("#response-body")
    assert live.id in page.text_content("#response-body")


def test_a_fault_rule_added_in_the_ui_is_one_of_the_servers_rules(spoke, page, admin):
    require_feature(spoke, admin, "/_spoke/faults", "Fault injection")
    path = f"/crm/v3/objects/ui-test-{tag()}*"
    page.goto(f"{spoke.base_url}/_spoke/ui#/faults")
    page.wait_for_selector("#fault-form")
    page.select_option("#fault-method", "GET")
    page.fill("#fault-path", path)
    page.select_option("#fault-action", "error")
    page.fill("#fault-status", "429")
    page.fill("#fault-count", "2")
    page.click("#fault-add")
    page.wait_for_selector("#faults-table")
    assert path in page.text_content("#faults-table")
    status, rules = admin_call(spoke, admin, "GET", "/_spoke/faults")
    assert status == 200
    mine = [r for r in rules["results"] if r["path"] == path]
    assert len(mine) == 1, rules
    assert mine[0]["method"] == "GET" and mine[0]["status"] == 429 and mine[0]["count"] == 2
    # Deleted in the UI, gone from the server.
    page.locator(f'#faults-table tr[data-id="{mine[0]["id"]}"] button').click()
    page.wait_for_function(f"p => !(document.querySelector('#faults-table')?.textContent || '').includes(p)", arg=path)
    status, rules = admin_call(spoke, admin, "GET", "/_spoke/faults")
    assert all(r["path"] != path for r in rules["results"])


def test_the_clock_freezes_and_advances_from_the_ui(spoke, page, admin, fresh_portal):
    portal, _ = fresh_portal
    require_feature(spoke, admin, f"/_spoke/portals/{portal}/clock", "The clock")
    page.goto(f"{spoke.base_url}/_spoke/ui#/portals/{portal}")
    page.wait_for_selector("#clock-mode")
    assert page.text_content("#clock-mode") == "real"
    page.fill("#clock-at", "2030-01-02T03:04:05")
    page.click("#clock-freeze")
    page.wait_for_function("() => document.querySelector('#clock-mode')?.textContent === 'frozen'")
    status, clock = admin_call(spoke, admin, "GET", f"/_spoke/portals/{portal}/clock")
    assert status == 200 and clock["mode"] == "frozen", clock
    frozen = clock["nowMs"]
    assert page.text_content("#clock-now") == clock["now"]

    # Another portal's clock is untouched (what a frozen clock does to writes is the
    # clock's own tests' business; this is the UI's).
    status, other = admin_call(spoke, admin, "GET", f"/_spoke/portals/{spoke.portal}/clock")
    assert status == 200 and other["mode"] == "real", other

    page.fill("#clock-amount", "2")
    page.select_option("#clock-unit", "hours")
    page.click("#clock-advance")
    page.wait_for_function("t => document.querySelector('#clock-now')?.textContent !== t", arg=clock["now"])
    status, clock = admin_call(spoke, admin, "GET", f"/_spoke/portals/{portal}/clock")
    assert clock["nowMs"] == frozen + 2 * 3_600_000, clock
    assert page.text_content("#clock-now") == clock["now"]

    page.click("#clock-real")
    page.wait_for_function("() => document.querySelector('#clock-mode')?.textContent === 'real'")
    status, clock = admin_call(spoke, admin, "GET", f"/_spoke/portals/{portal}/clock")
    assert clock["mode"] == "real"

    # Freezing with no instant given freezes the portal's present.
    before = time.time() * 1000
    page.fill("#clock-at", "")
    page.click("#clock-freeze")
    page.wait_for_function("() => document.querySelector('#clock-mode')?.textContent === 'frozen'")
    status, clock = admin_call(spoke, admin, "GET", f"/_spoke/portals/{portal}/clock")
    assert before - 5_000 <= clock["nowMs"] <= time.time() * 1000 + 5_000, clock
    page.click("#clock-real")
    page.wait_for_function("() => document.querySelector('#clock-mode')?.textContent === 'real'")


def test_a_portal_seeded_from_the_ui_resets_to_its_seed(spoke, page, admin, fresh_portal):
    portal, token = fresh_portal
    status, _ = admin_call(spoke, admin, "POST", f"/_spoke/portals/{portal}/seed", {})
    if status == 404:
        pytest.skip("Seeding is not in this build (POST …/seed answered 404)")
    email = f"seeded-{tag()}@example.com"
    fixture = {"records": {"contacts": [{"ref": "alice", "properties": {"email": email, "firstname": "Alice"}}]}}
    page.goto(f"{spoke.base_url}/_spoke/ui#/portals/{portal}")
    page.wait_for_selector("#seed-fixture")
    page.fill("#seed-fixture", json.dumps(fixture))
    page.click("#seed-apply")
    page.wait_for_selector("#seed-result .notice")
    assert page.locator('#types-table tr[data-type="contacts"] td.num').text_content().strip() == "1"

    # A record written after the seed goes with a reset to it; the seeded one stays.
    spoke.client(token).crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(properties={"email": f"later-{tag()}@example.com"})
    )
    page.reload()
    page.wait_for_selector("#types-table")
    assert page.locator('#types-table tr[data-type="contacts"] td.num').text_content().strip() == "2"
    page.click("#reset-seed")
    page.wait_for_function(
        """() => document.querySelector('#types-table tr[data-type="contacts"] td.num')?.textContent.trim() === '1'"""
    )
    page.locator('#types-table tr[data-type="contacts"] a').click()
    page.wait_for_selector("#records-table")
    assert email in page.text_content("#records-table")
