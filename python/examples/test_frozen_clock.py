"""A frozen clock makes an incremental sync by hs_lastmodifieddate deterministic: no sleeps,
exact timestamps, and a search from a watermark returns exactly what changed after it."""

from datetime import datetime, timedelta, timezone

import hubspot.crm.contacts as C

T0 = datetime(2024, 1, 15, 9, 0, tzinfo=timezone.utc)


def create(client, email):
    return client.crm.contacts.basic_api.create(
        C.SimplePublicObjectInputForCreate(properties={"email": email})
    )


def modified_since(client, watermark: datetime):
    since = C.Filter(
        property_name="hs_lastmodifieddate",
        operator="GTE",
        value=str(int(watermark.timestamp() * 1000)),
    )
    return client.crm.contacts.search_api.do_search(
        public_object_search_request=C.PublicObjectSearchRequest(
            filter_groups=[C.FilterGroup(filters=[since])],
            properties=["email", "hs_lastmodifieddate"],
            limit=100,
        )
    )


def test_incremental_search_between_two_frozen_instants(spoke_portal):
    client = spoke_portal.hubspot_client()
    spoke_portal.clock.freeze(T0)
    first = create(client, "first@example.com")

    spoke_portal.clock.advance(minutes=5)
    second = create(client, "second@example.com")

    assert first.updated_at == T0
    assert second.created_at == second.updated_at == T0 + timedelta(minutes=5)

    # The last sync ran at T0 + 1 minute: only the second contact changed since.
    page = modified_since(client, T0 + timedelta(minutes=1))
    assert [r.id for r in page.results] == [second.id]
    assert page.total == 1
    # From T0 on, both.
    assert sorted(r.id for r in modified_since(client, T0).results) == sorted([first.id, second.id])


def test_the_clock_reads_back(spoke_portal):
    spoke_portal.clock.freeze(T0)
    state = spoke_portal.clock.advance(ms=1500)
    assert state["mode"] == "frozen"
    assert state["nowMs"] == int(T0.timestamp() * 1000) + 1500
    assert spoke_portal.clock.now() == T0 + timedelta(milliseconds=1500)
    assert spoke_portal.clock.real()["mode"] == "real"
    # Back on the machine's time: within a minute of it.
    assert abs(spoke_portal.clock.now() - datetime.now(timezone.utc)) < timedelta(minutes=1)
