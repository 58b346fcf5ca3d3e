"""A fresh portal per test: both tests create the same contact, and both pass, because
neither sees the other's portal (an email is unique within a portal)."""

from hubspot.crm.contacts import SimplePublicObjectInputForCreate

EMAIL = "ada@example.com"


def create_ada(client):
    return client.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": EMAIL, "firstname": "Ada"})
    )


def test_first_test_creates_ada(spoke_portal):
    contact = create_ada(spoke_portal.hubspot_client())
    assert contact.properties["email"] == EMAIL


def test_second_test_creates_ada_again(spoke_portal):
    client = spoke_portal.hubspot_client()
    assert client.crm.contacts.basic_api.get_page().results == []
    contact = create_ada(client)
    assert contact.properties["email"] == EMAIL


def test_each_test_has_its_own_portal_and_token(spoke_server, spoke_portal):
    other = spoke_server.new_portal()
    try:
        assert other.portal_id != spoke_portal.portal_id
        assert other.token != spoke_portal.token
        create_ada(other.hubspot_client())
        # The other portal's contact is not this one's.
        assert spoke_portal.hubspot_client().crm.contacts.basic_api.get_page().results == []
    finally:
        other.close()
    assert other.portal_id not in spoke_server.admin.portals()
