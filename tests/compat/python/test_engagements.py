"""Engagements and the other synced types driven by HubSpot's official Python client
(`client.crm.objects.notes`, `.calls`, `.tasks`, `.meetings`, `.emails`, `.feedback_submissions`)
and associations v4. Ids and messages follow hubspot-behavior-platform.md §24.

The token is this module's own (`spoke token create`), with the scopes the per-type specs name.
"""

from __future__ import annotations

import importlib
import json
import uuid

import pytest

import hubspot.crm.associations.v4 as A4
import hubspot.crm.contacts as C

TIMESTAMP = "2024-01-15T10:00:00.123Z"

# (client attribute, path name, uppercase word, a body property, its type ids to and from contacts)
ENGAGEMENTS = [
    ("notes", "notes", "NOTE", "hs_note_body", 202, 201),
    ("calls", "calls", "CALL", "hs_call_title", 194, 193),
    ("tasks", "tasks", "TASK", "hs_task_subject", 204, 203),
    ("meetings", "meetings", "MEETING", "hs_meeting_title", 200, 199),
    ("emails", "emails", "EMAIL", "hs_email_subject", 198, 197),
]

SCOPES = [
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
]


@pytest.fixture(scope="module")
def eng_client(spoke):
    return spoke.client(spoke.create_token(SCOPES))


def models(attr: str):
    return importlib.import_module(f"hubspot.crm.objects.{attr}")


def api_body(e) -> dict:
    return json.loads(e.body)


def new_contact(client) -> str:
    made = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
            properties={"email": f"eng-{uuid.uuid4().hex[:10]}@example.com"}
        )
    )
    return made.id


@pytest.mark.parametrize("attr,name,upper,body,to_contact,from_contact", ENGAGEMENTS)
def test_engagement_crud_search_and_associations(eng_client, attr, name, upper, body, to_contact, from_contact):
    m = models(attr)
    api = getattr(eng_client.crm.objects, attr)
    contact = new_contact(eng_client)
    word = uuid.uuid4().hex[:12]

    # Required hs_timestamp: HubSpot's 400 with the property in context.
    with pytest.raises(m.ApiException) as e:
        api.basic_api.create(m.SimplePublicObjectInputForCreate(properties={body: word}))
    assert e.value.status == 400
    err = api_body(e.value)
    assert err["message"] == f"Error creating {upper}. Some required properties were not set."
    assert err["category"] == "VALIDATION_ERROR"
    assert err["context"] == {"properties": ["hs_timestamp"]}

    # Create with an inline association to a contact.
    created = api.basic_api.create(
        m.SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": TIMESTAMP, body: f"about {word}"},
            associations=[
                m.PublicAssociationsForObject(
                    to=m.PublicObjectId(id=contact),
                    types=[m.AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=to_contact)],
                )
            ],
        )
    )
    assert isinstance(created, m.SimplePublicObject)
    assert created.properties["hs_timestamp"] == TIMESTAMP
    assert created.properties[body] == f"about {word}"

    # Read: the default properties only, unless asked.
    got = api.basic_api.get_by_id(created.id)
    assert set(got.properties) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}
    got = api.basic_api.get_by_id(created.id, properties=[body])
    assert got.properties[body] == f"about {word}"

    # List and search (query matches the body property).
    page = api.basic_api.get_page(limit=100)
    assert created.id in [r.id for r in page.results]
    found = api.search_api.do_search(m.PublicObjectSearchRequest(query=word, properties=[body]))
    assert found.total == 1
    assert found.results[0].id == created.id

    # Associations v4, both directions, with HubSpot's type ids.
    forward = eng_client.crm.associations.v4.basic_api.get_page(name, created.id, "contacts")
    assert [(str(r.to_object_id), [t.type_id for t in r.association_types]) for r in forward.results] == [
        (contact, [to_contact])
    ]
    backward = eng_client.crm.associations.v4.basic_api.get_page("contacts", contact, name)
    assert [(str(r.to_object_id), [t.type_id for t in r.association_types]) for r in backward.results] == [
        (created.id, [from_contact])
    ]
    assert all(t.category == "HUBSPOT_DEFINED" for r in backward.results for t in r.association_types)

    # Batch create, read and archive.
    batch = api.batch_api.create(
        m.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                m.SimplePublicObjectBatchInputForCreate(properties={"hs_timestamp": "1705312800123", body: "b"})
                for _ in range(2)
            ]
        )
    )
    ids = [r.id for r in batch.results]
    assert len(ids) == 2
    assert all(r.properties["hs_timestamp"] == TIMESTAMP for r in batch.results)
    read = api.batch_api.read(
        m.BatchReadInputSimplePublicObjectId(inputs=[m.SimplePublicObjectId(id=i) for i in ids], properties=[body])
    )
    assert sorted(r.id for r in read.results) == sorted(ids)
    api.batch_api.archive(m.BatchInputSimplePublicObjectId(inputs=[m.SimplePublicObjectId(id=i) for i in ids]))
    api.basic_api.archive(created.id)
    with pytest.raises(m.ApiException) as e:
        api.basic_api.get_by_id(created.id)
    assert e.value.status == 404


def test_default_association_to_a_company(eng_client):
    m = models("calls")
    call = eng_client.crm.objects.calls.basic_api.create(
        m.SimplePublicObjectInputForCreate(properties={"hs_timestamp": TIMESTAMP, "hs_call_direction": "OUTBOUND"})
    )
    company = eng_client.crm.companies.basic_api.create(
        simple_public_object_input_for_create=importlib.import_module("hubspot.crm.companies").SimplePublicObjectInputForCreate(
            properties={"name": "Calls Inc"}
        )
    )
    eng_client.crm.associations.v4.basic_api.create_default("calls", call.id, "companies", company.id)
    page = eng_client.crm.associations.v4.basic_api.get_page("companies", company.id, "calls")
    assert [t.type_id for r in page.results for t in r.association_types] == [181]
    assert isinstance(page, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging)


def test_an_option_outside_the_list_is_refused(eng_client):
    m = models("tasks")
    with pytest.raises(m.ApiException) as e:
        eng_client.crm.objects.tasks.basic_api.create(
            m.SimplePublicObjectInputForCreate(properties={"hs_timestamp": TIMESTAMP, "hs_task_status": "NOPE"})
        )
    assert e.value.status == 400
    assert api_body(e.value)["category"] == "VALIDATION_ERROR"


def test_feedback_submissions_are_read_only(spoke, eng_client):
    m = models("feedback_submissions")
    page = eng_client.crm.objects.feedback_submissions.basic_api.get_page(limit=10)
    assert page.results == []
    # Only the reads exist in the client too; a write through the generic objects API is refused.
    objects = importlib.import_module("hubspot.crm.objects")
    with pytest.raises(objects.ApiException) as e:
        eng_client.crm.objects.basic_api.create(
            "feedback_submissions", objects.SimplePublicObjectInputForCreate(properties={"hs_content": "x"})
        )
    assert e.value.status == 400
    assert "not supported for feedback_submissions" in api_body(e.value)["message"]
    assert isinstance(page, m.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging)


def test_a_token_without_the_contacts_scopes_gets_403(spoke):
    client = spoke.client(spoke.create_token(["crm.objects.companies.read"]))
    m = models("notes")
    with pytest.raises(m.ApiException) as e:
        client.crm.objects.notes.basic_api.get_page(limit=10)
    assert e.value.status == 403
    assert api_body(e.value)["category"] == "MISSING_SCOPES"
