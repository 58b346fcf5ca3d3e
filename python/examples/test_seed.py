"""Seeding a portal from a fixture file (properties, owners, records, associations), and
resetting it to that seed between tests."""

from pathlib import Path

import pytest
from hubspot.crm.contacts import SimplePublicObjectInput, SimplePublicObjectInputForCreate

FIXTURE = Path(__file__).with_name("crm.fixture.json")


@pytest.fixture(scope="module")
def seeded(spoke_server):
    with spoke_server.new_portal(seed=FIXTURE) as portal:
        yield portal


@pytest.fixture
def crm(seeded):
    seeded.reset(to_seed=True)
    return seeded


def test_seed_answers_the_ids_of_its_refs(spoke_portal):
    result = spoke_portal.seed(FIXTURE)
    alice = result["refs"]["contacts"]["alice"]
    acme = result["refs"]["companies"]["acme"]

    client = spoke_portal.hubspot_client()
    contact = client.crm.contacts.basic_api.get_by_id(
        alice, properties=["email", "favorite_color"], associations=["companies"]
    )
    assert contact.properties["email"] == "alice@acme.example"
    assert contact.properties["favorite_color"] == "teal"
    assert [a.id for a in contact.associations["companies"].results] == [acme]
    # Beside the owner every new portal has, the fixture's.
    owners = client.crm.owners.owners_api.get_page().results
    assert "owner@example.com" in [o.email for o in owners]


@pytest.mark.parametrize("run", [1, 2])
def test_reset_to_seed_between_tests(crm, run):
    client = crm.hubspot_client()
    emails = sorted(c.properties["email"] for c in client.crm.contacts.basic_api.get_page().results)
    assert emails == ["alice@acme.example", "bob@acme.example"]
    # Each run changes the portal; the reset before the next one undoes it.
    client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": f"carol{run}@acme.example"})
    )
    bob = next(c for c in client.crm.contacts.basic_api.get_page().results if c.properties["email"].startswith("bob"))
    client.crm.contacts.basic_api.update(bob.id, SimplePublicObjectInput(properties={"firstname": "Robert"}))
    assert client.crm.contacts.basic_api.get_by_id(bob.id).properties["firstname"] == "Robert"


def test_reset_to_seed_restores_changed_values(crm):
    client = crm.hubspot_client()
    bob = next(c for c in client.crm.contacts.basic_api.get_page(properties=["email", "firstname"]).results
               if c.properties["email"] == "bob@acme.example")
    assert bob.properties["firstname"] == "Bob"


@pytest.mark.spoke_seed("crm.fixture.json")
def test_a_marker_seeds_the_tests_portal(spoke_portal):
    client = spoke_portal.hubspot_client()
    emails = sorted(c.properties["email"] for c in client.crm.contacts.basic_api.get_page().results)
    assert emails == ["alice@acme.example", "bob@acme.example"]
