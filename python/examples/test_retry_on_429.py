"""A fault rule makes HubSpot's client see 429s; with retries configured as HubSpot's
documentation shows, the call succeeds, and the rule and the request log show the two 429s."""

import json

import pytest
import urllib3
from hubspot.crm.contacts import SimplePublicObjectInputForCreate
from hubspot.crm.contacts.exceptions import ApiException


@pytest.fixture
def contact(spoke_portal):
    return spoke_portal.hubspot_client().crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "retry@example.com"})
    )


def test_client_retries_through_two_429s(spoke_portal, contact):
    fault = spoke_portal.fault(
        action="error", status=429, count=2, method="GET", path="/crm/v3/objects/contacts/*"
    )
    client = spoke_portal.hubspot_client(
        retry=urllib3.util.Retry(total=3, status_forcelist=[429], backoff_factor=0)
    )

    got = client.crm.contacts.basic_api.get_by_id(contact.id)

    assert got.id == contact.id
    assert got.properties["email"] == "retry@example.com"
    assert fault.hits == 2
    assert fault.remaining == 0
    # The request log, newest first: the success after the two refusals.
    log = spoke_portal.requests(path=f"/crm/v3/objects/contacts/{contact.id}", method="GET")
    assert [r["status"] for r in log] == [200, 429, 429]


def test_without_retries_the_client_sees_hubspots_429(spoke_portal, contact):
    spoke_portal.fault(action="error", status=429, count=1, path="/crm/v3/objects/contacts/*")
    client = spoke_portal.hubspot_client()

    with pytest.raises(ApiException) as refused:
        client.crm.contacts.basic_api.get_by_id(contact.id)

    assert refused.value.status == 429
    # HubSpot's rate-limit answer, its body and headers.
    body = json.loads(refused.value.body)
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    # count=1: the next call goes through.
    assert client.crm.contacts.basic_api.get_by_id(contact.id).id == contact.id


def test_a_portals_faults_leave_other_portals_alone(spoke_server, spoke_portal, contact):
    spoke_portal.fault(action="error", status=503, path="/crm/v3/objects/contacts*")
    with spoke_server.new_portal() as other:
        assert other.hubspot_client().crm.contacts.basic_api.get_page().results == []
    with pytest.raises(ApiException) as unavailable:
        spoke_portal.hubspot_client().crm.contacts.basic_api.get_page()
    assert unavailable.value.status == 503
