"""One portal shared by a module's tests, reset before each: the state a test starts from is
empty however the previous test left it. Snapshots put a portal back as it was."""

import pytest
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException

EMAIL = "grace@example.com"


@pytest.fixture(scope="module")
def shared_portal(spoke_server):
    with spoke_server.new_portal() as portal:
        yield portal


@pytest.fixture
def portal(shared_portal):
    shared_portal.reset()
    return shared_portal


def create(client, email, **props):
    return client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": email, **props})
    )


@pytest.mark.parametrize("run", [1, 2])
def test_reset_between_tests(portal, run):
    client = portal.hubspot_client()
    assert client.crm.contacts.basic_api.get_page().results == []
    create(client, EMAIL)
    # The same email twice in one portal is HubSpot's 409: the reset, not luck, made the
    # first create of the second run succeed.
    with pytest.raises(ApiException) as conflict:
        create(client, EMAIL)
    assert conflict.value.status == 409


def test_reset_keeps_the_token(portal):
    client = portal.hubspot_client()
    create(client, EMAIL)
    portal.reset()
    assert client.crm.contacts.basic_api.get_page().results == []


def test_snapshot_and_restore(portal):
    client = portal.hubspot_client()
    kept = create(client, EMAIL, firstname="Grace")
    snap = portal.snapshot("one-contact")
    assert snap["name"] == "one-contact" and snap["records"] >= 1
    client.crm.contacts.basic_api.archive(kept.id)
    create(client, "other@example.com")
    portal.restore("one-contact")
    page = client.crm.contacts.basic_api.get_page(properties=["email", "firstname"]).results
    assert [(c.id, c.properties["email"], c.properties["firstname"]) for c in page] == [
        (kept.id, EMAIL, "Grace")
    ]
    assert [s["name"] for s in portal.snapshots()] == ["one-contact"]
    portal.delete_snapshot("one-contact")
    assert portal.snapshots() == []
