"""spoke driven by HubSpot's official Python client (hubspot-api-client), only its host changed.

Every call goes through the client's public API surface, so each answer must deserialize into
the model the client maps for that exact status code (the client returns None for a 2xx it
does not map, and raises ApiException for >= 300). Assertions are on model types and values.

Requests and expected answers follow the seed docs (shared/reference/seed-docs/) and
shared/reference/hubspot-behavior.md (section numbers are cited as "§n").
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid

import pytest

import hubspot.crm.associations.v4 as A4
import hubspot.crm.associations.v4.schema as A4S
import hubspot.crm.companies as CO
import hubspot.crm.contacts as C
import hubspot.crm.objects as O
import hubspot.crm.properties as P
from hubspot.utils.objects import fetch_all

# Values of the seed docs' example record (seed docs 000-004).
SEED_VALUES = {
    "property_checkbox": "false",
    "property_date": "1572480000000",
    "property_dropdown": "choice_b",
    "property_multiple_checkboxes": "chocolate;strawberry",
    "property_number": "17",
    "property_radio": "option_1",
    "property_string": "value",
}
UNIQUE = "my_unique_property_name"
LISTINGS = "0-420"  # seed doc 004 addresses listings by objectTypeId
# Types the custom properties are created on (the properties API is called with names).
PROPERTY_TYPES = ["contacts", "listings", "partner_services", "partner_clients"]
PARTNER_TYPES = ["partner_services", "partner_clients"]
MISSING_ID = "999999999999"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def tag() -> str:
    return uuid.uuid4().hex[:10]


def new_email(prefix: str) -> str:
    return f"{prefix}-{tag()}@example.com"


def describe(obj) -> str:
    if obj is None:
        return "the client returned None: spoke answered a 2xx status the client does not map for this call"
    return f"got {type(obj).__module__}.{type(obj).__name__}: {obj!r}"


def error_body(exc) -> dict:
    """The JSON body of an ApiException."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        pytest.fail(f"error body is not JSON (HTTP {exc.status}): {body!r}")


def header(exc, name: str):
    headers = exc.headers or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def assert_error_envelope(exc, status: int, category: str | None) -> dict:
    assert exc.status == status, f"expected HTTP {status}, got {exc.status}: {exc.body!r}"
    content_type = header(exc, "Content-Type") or ""
    assert content_type.startswith("application/json"), f"Content-Type of the error: {content_type!r}"
    body = error_body(exc)
    assert body.get("status") == "error", body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("correlationId"), str) and body["correlationId"], body
    if category is not None:
        assert body.get("category") == category, body
    return body


def assert_record(rec, cls, *, archived: bool = False):
    assert isinstance(rec, cls), describe(rec)
    assert isinstance(rec.id, str) and rec.id.isdigit(), f"record id must be a numeric string: {rec.id!r}"
    assert isinstance(rec.properties, dict), rec
    assert all(v is None or isinstance(v, str) for v in rec.properties.values()), rec.properties
    assert isinstance(rec.created_at, dt.datetime), rec
    assert isinstance(rec.updated_at, dt.datetime), rec
    assert rec.archived is archived, rec


def assert_batch_ok(resp, cls, n: int, record_cls):
    assert isinstance(resp, cls), describe(resp)
    assert resp.status == "COMPLETE", resp
    assert isinstance(resp.started_at, dt.datetime), resp
    assert isinstance(resp.completed_at, dt.datetime), resp
    assert len(resp.results) == n, resp
    for rec in resp.results:
        assert_record(rec, record_cls)


def assert_seed_values(properties: dict, values: dict = SEED_VALUES):
    for name, value in values.items():
        assert properties.get(name) == value, f"{name}: expected {value!r}, got {properties.get(name)!r} in {properties}"


def create_contacts(client, props_list: list[dict]) -> list:
    """Batch-creates contacts and returns their records in input order (mapped by email)."""
    resp = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[C.SimplePublicObjectBatchInputForCreate(properties=p) for p in props_list]
        )
    )
    assert_batch_ok(resp, C.BatchResponseSimplePublicObject, len(props_list), C.SimplePublicObject)
    by_email = {r.properties.get("email"): r for r in resp.results}
    return [by_email[p["email"].lower()] for p in props_list]


def read_contacts(client, ids: list[str], **kwargs):
    return client.crm.contacts.batch_api.read(
        batch_read_input_simple_public_object_id=C.BatchReadInputSimplePublicObjectId(
            inputs=[C.SimplePublicObjectId(id=i) for i in ids], **kwargs
        )
    )


def option(label: str, value: str, order: int) -> P.OptionInput:
    return P.OptionInput(label=label, value=value, display_order=order, hidden=False)


def property_definitions(group: str) -> list[P.PropertyCreate]:
    """The seed docs' example properties plus one unique-value string property."""
    return [
        P.PropertyCreate(name="property_checkbox", label="Checkbox", type="bool", field_type="booleancheckbox",
                         group_name=group, options=[option("Yes", "true", 0), option("No", "false", 1)]),
        P.PropertyCreate(name="property_date", label="Date", type="date", field_type="date", group_name=group),
        P.PropertyCreate(name="property_dropdown", label="Dropdown", type="enumeration", field_type="select",
                         group_name=group, options=[option("Choice A", "choice_a", 0), option("Choice B", "choice_b", 1)]),
        P.PropertyCreate(name="property_multiple_checkboxes", label="Multiple checkboxes", type="enumeration",
                         field_type="checkbox", group_name=group,
                         options=[option("Chocolate", "chocolate", 0), option("Strawberry", "strawberry", 1),
                                  option("Vanilla", "vanilla", 2)]),
        P.PropertyCreate(name="property_number", label="Number", type="number", field_type="number", group_name=group),
        P.PropertyCreate(name="property_radio", label="Radio", type="enumeration", field_type="radio",
                         group_name=group, options=[option("Option 1", "option_1", 0), option("Option 2", "option_2", 1)]),
        P.PropertyCreate(name="property_string", label="String", type="string", field_type="text", group_name=group),
        P.PropertyCreate(name=UNIQUE, label="My unique property", type="string", field_type="text",
                         group_name=group, has_unique_value=True),
    ]


# ---------------------------------------------------------------------------------------------
# properties API
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom_properties(client):
    """Creates the example properties on every type used, in an existing group of that type
    (as HubSpot's docs do). Returns {object_type: {name: (PropertyCreate, answer)}}."""
    created = {}
    for object_type in PROPERTY_TYPES:
        groups = client.crm.properties.groups_api.get_all(object_type=object_type)
        assert isinstance(groups, P.CollectionResponsePropertyGroupNoPaging), describe(groups)
        assert groups.results, f"{object_type} has no property group"
        group = groups.results[0].name
        created[object_type] = {}
        for definition in property_definitions(group):
            answer = client.crm.properties.core_api.create(object_type=object_type, property_create=definition)
            created[object_type][definition.name] = (definition, answer)
    return created


@pytest.mark.parametrize("object_type", PROPERTY_TYPES)
def test_create_seed_properties(client, custom_properties, object_type):
    for name, (definition, prop) in custom_properties[object_type].items():
        assert isinstance(prop, P.ModelProperty), describe(prop)
        assert prop.name == name
        assert prop.label == definition.label
        assert prop.type == definition.type
        assert prop.field_type == definition.field_type
        assert prop.group_name == definition.group_name
        assert isinstance(prop.options, list), prop
        if definition.options:
            assert [o.value for o in prop.options] == [o.value for o in definition.options], prop.options
            assert all(isinstance(o, P.Option) for o in prop.options)
            assert [o.label for o in prop.options] == [o.label for o in definition.options], prop.options
        assert bool(prop.has_unique_value) is bool(definition.has_unique_value), prop
    # The definitions are readable afterwards.
    one = client.crm.properties.core_api.get_by_name(object_type=object_type, property_name=UNIQUE)
    assert isinstance(one, P.ModelProperty), describe(one)
    assert one.name == UNIQUE and one.has_unique_value is True
    listed = client.crm.properties.core_api.get_all(object_type=object_type)
    assert isinstance(listed, P.CollectionResponsePropertyNoPaging), describe(listed)
    names = {p.name for p in listed.results}
    assert set(custom_properties[object_type]) <= names, names


def test_create_property_group(client):
    name = f"spoke_compat_{tag()}"
    group = client.crm.properties.groups_api.create(
        object_type="contacts", property_group_create=P.PropertyGroupCreate(name=name, label="Spoke compat", display_order=-1)
    )
    assert isinstance(group, P.PropertyGroup), describe(group)
    assert group.name == name and group.label == "Spoke compat"
    prop = client.crm.properties.core_api.create(
        object_type="contacts",
        property_create=P.PropertyCreate(name=f"in_group_{tag()}", label="In group", type="string",
                                         field_type="text", group_name=name),
    )
    assert isinstance(prop, P.ModelProperty), describe(prop)
    assert prop.group_name == name


def test_property_update_and_archive(client):
    name = f"temp_{tag()}"
    created = client.crm.properties.core_api.create(
        object_type="contacts",
        property_create=P.PropertyCreate(name=name, label="Temp", type="enumeration", field_type="select",
                                         group_name="contactinformation", options=[option("One", "one", 0)]),
    )
    assert isinstance(created, P.ModelProperty), describe(created)
    updated = client.crm.properties.core_api.update(
        object_type="contacts", property_name=name,
        property_update=P.PropertyUpdate(label="Temp 2", options=[option("One", "one", 0), option("Two", "two", 1)]),
    )
    assert isinstance(updated, P.ModelProperty), describe(updated)  # HTTP 200
    assert updated.name == name and updated.label == "Temp 2"
    assert [o.value for o in updated.options] == ["one", "two"]
    assert client.crm.properties.core_api.archive(object_type="contacts", property_name=name) is None  # HTTP 204
    with pytest.raises(P.ApiException) as e:
        client.crm.properties.core_api.get_by_name(object_type="contacts", property_name=name)
    assert e.value.status == 404


def test_create_duplicate_property_is_conflict(client, custom_properties):
    with pytest.raises(P.ApiException) as e:
        client.crm.properties.core_api.create(object_type="contacts", property_create=property_definitions("contactinformation")[-1])
    assert e.value.status == 409, f"expected HTTP 409 for an existing property name, got {e.value.status}: {e.value.body!r}"


# ---------------------------------------------------------------------------------------------
# contacts
# ---------------------------------------------------------------------------------------------


def test_contacts_batch_create(client, custom_properties):
    mixed_case = f"Ada.Lovelace-{tag()}@Example.COM"
    plain = new_email("grace")
    resp = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                C.SimplePublicObjectBatchInputForCreate(
                    properties={"email": mixed_case, "firstname": "Ada", "lastname": "Lovelace", **SEED_VALUES},
                    associations=[],
                ),
                C.SimplePublicObjectBatchInputForCreate(properties={"email": plain, "firstname": "Grace"}),
            ]
        )
    )
    # HTTP 201 -> BatchResponseSimplePublicObject (a 200 would give None, a 207 the WithErrors model)
    assert_batch_ok(resp, C.BatchResponseSimplePublicObject, 2, C.SimplePublicObject)
    by_email = {r.properties.get("email"): r for r in resp.results}
    assert set(by_email) == {mixed_case.lower(), plain}, "emails are stored lowercased (§5)"
    ada = by_email[mixed_case.lower()]
    assert_seed_values(ada.properties)
    assert ada.properties["firstname"] == "Ada"
    assert ada.properties.get("hs_object_id") == ada.id
    assert by_email[plain].properties["firstname"] == "Grace"
    assert ada.id != by_email[plain].id


def test_contacts_batch_read(client, custom_properties):
    recs = create_contacts(client, [
        {"email": new_email("read1"), "firstname": "R1", **SEED_VALUES},
        {"email": new_email("read2"), "firstname": "R2", "property_number": "3.5"},
    ])
    resp = read_contacts(client, [r.id for r in recs], properties=["email", "firstname", "property_number"])
    assert_batch_ok(resp, C.BatchResponseSimplePublicObject, 2, C.SimplePublicObject)
    by_id = {r.id: r for r in resp.results}
    assert set(by_id) == {r.id for r in recs}
    for rec in recs:
        got = by_id[rec.id].properties
        assert got["email"] == rec.properties["email"]
        assert got["firstname"] == rec.properties["firstname"]
        assert got["property_number"] == rec.properties["property_number"]
        assert got.get("hs_object_id") == rec.id
        assert "property_string" not in got, "properties not asked for are not returned"

    # idProperty=email: the ids are emails, the results carry the real record id.
    by_email = read_contacts(client, [recs[0].properties["email"]], id_property="email", properties=["email"])
    assert_batch_ok(by_email, C.BatchResponseSimplePublicObject, 1, C.SimplePublicObject)
    assert by_email.results[0].id == recs[0].id

    # Default properties when none are asked for (§1.4).
    default = read_contacts(client, [recs[0].id])
    assert_batch_ok(default, C.BatchResponseSimplePublicObject, 1, C.SimplePublicObject)
    assert default.results[0].properties.get("email") == recs[0].properties["email"]
    assert default.results[0].properties.get("hs_object_id") == recs[0].id


def test_contacts_batch_read_with_missing_id(client):
    (rec,) = create_contacts(client, [{"email": new_email("partial"), "firstname": "P"}])
    resp = read_contacts(client, [rec.id, MISSING_ID], properties=["email"])
    # HTTP 207 -> BatchResponseSimplePublicObjectWithErrors (§1.2)
    assert isinstance(resp, C.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert resp.status == "COMPLETE"
    assert [r.id for r in resp.results] == [rec.id]
    assert resp.num_errors == 1, resp
    assert len(resp.errors) == 1, resp
    err = resp.errors[0]
    assert isinstance(err, C.StandardError), describe(err)
    assert err.category == "OBJECT_NOT_FOUND", err
    assert err.status == "error", err
    assert isinstance(err.message, str) and err.message, err
    assert err.context.get("ids") == [MISSING_ID], err.context


def test_contacts_batch_update(client, custom_properties):
    recs = create_contacts(client, [
        {"email": new_email("upd1"), "firstname": "Before", **SEED_VALUES},
        {"email": new_email("upd2"), "firstname": "Before2"},
    ])
    resp = client.crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input=C.BatchInputSimplePublicObjectBatchInput(inputs=[
            C.SimplePublicObjectBatchInput(id=recs[0].id, properties={"firstname": "After", "property_number": "42"}),
            C.SimplePublicObjectBatchInput(id=recs[1].id, properties={"property_multiple_checkboxes": "vanilla"}),
        ])
    )
    # HTTP 200 -> BatchResponseSimplePublicObject
    assert_batch_ok(resp, C.BatchResponseSimplePublicObject, 2, C.SimplePublicObject)
    by_id = {r.id: r for r in resp.results}
    assert set(by_id) == {recs[0].id, recs[1].id}
    first = by_id[recs[0].id].properties
    assert first["firstname"] == "After"
    assert first["property_number"] == "42"
    assert first["property_string"] == "value", "untouched properties are kept"
    assert by_id[recs[1].id].properties["property_multiple_checkboxes"] == "vanilla"
    assert by_id[recs[0].id].updated_at >= recs[0].updated_at

    read = read_contacts(client, [recs[0].id], properties=["firstname", "property_number"])
    assert_batch_ok(read, C.BatchResponseSimplePublicObject, 1, C.SimplePublicObject)
    assert read.results[0].properties["firstname"] == "After"
    assert read.results[0].properties["property_number"] == "42"


def test_contacts_batch_update_with_unknown_id(client):
    (rec,) = create_contacts(client, [{"email": new_email("upd-partial"), "firstname": "X"}])
    resp = client.crm.contacts.batch_api.update(
        batch_input_simple_public_object_batch_input=C.BatchInputSimplePublicObjectBatchInput(inputs=[
            C.SimplePublicObjectBatchInput(id=rec.id, properties={"firstname": "Y"}),
            C.SimplePublicObjectBatchInput(id=MISSING_ID, properties={"firstname": "Z"}),
        ])
    )
    # HTTP 207 (§1.7)
    assert isinstance(resp, C.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert [r.id for r in resp.results] == [rec.id]
    assert resp.results[0].properties["firstname"] == "Y"
    assert len(resp.errors) == 1 and resp.errors[0].category == "OBJECT_NOT_FOUND", resp.errors
    assert MISSING_ID in (resp.errors[0].context or {}).get("ids", []), resp.errors[0]


def test_contacts_batch_upsert_by_email(client):
    (existing,) = create_contacts(client, [{"email": new_email("ups-old"), "firstname": "Old"}])
    fresh_email = new_email("ups-new")
    resp = client.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=C.BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
            C.SimplePublicObjectBatchInputUpsert(id=existing.properties["email"], id_property="email",
                                                 properties={"firstname": "Updated"}),
            C.SimplePublicObjectBatchInputUpsert(id=fresh_email, id_property="email", properties={"firstname": "New"}),
        ])
    )
    # HTTP 200 -> BatchResponseSimplePublicUpsertObject
    assert_batch_ok(resp, C.BatchResponseSimplePublicUpsertObject, 2, C.SimplePublicUpsertObject)
    by_name = {r.properties.get("firstname"): r for r in resp.results}
    assert set(by_name) == {"Updated", "New"}, resp.results
    assert by_name["Updated"].id == existing.id
    assert by_name["Updated"].new is False
    assert by_name["New"].new is True
    assert by_name["New"].id != existing.id
    assert by_name["New"].properties.get("email") == fresh_email


def test_contacts_batch_archive(client):
    recs = create_contacts(client, [{"email": new_email("arch1")}, {"email": new_email("arch2")}])
    ids = [r.id for r in recs]
    result = client.crm.contacts.batch_api.archive(
        batch_input_simple_public_object_id=C.BatchInputSimplePublicObjectId(inputs=[C.SimplePublicObjectId(id=i) for i in ids])
    )
    assert result is None  # HTTP 204, no body
    # Unknown and already-archived ids are ignored (§1.9).
    again = client.crm.contacts.batch_api.archive(
        batch_input_simple_public_object_id=C.BatchInputSimplePublicObjectId(
            inputs=[C.SimplePublicObjectId(id=ids[0]), C.SimplePublicObjectId(id=MISSING_ID)]
        )
    )
    assert again is None

    gone = read_contacts(client, ids)
    assert isinstance(gone, C.BatchResponseSimplePublicObjectWithErrors), describe(gone)
    assert gone.results == []
    assert gone.errors[0].category == "OBJECT_NOT_FOUND"
    assert sorted(gone.errors[0].context["ids"]) == sorted(ids)

    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.get_by_id(contact_id=ids[0])
    assert e.value.status == 404

    archived = client.crm.contacts.basic_api.get_by_id(contact_id=ids[0], archived=True)
    assert isinstance(archived, C.SimplePublicObjectWithAssociations), describe(archived)
    assert archived.id == ids[0]
    assert archived.archived is True
    assert isinstance(archived.archived_at, dt.datetime), archived

    archived_page = client.crm.contacts.basic_api.get_page(limit=100, archived=True, properties=["email"])
    assert isinstance(archived_page, C.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(archived_page)
    assert all(r.archived is True for r in archived_page.results), archived_page.results
    live = client.crm.contacts.get_all(properties=["email"])
    assert not set(ids) & {r.id for r in live}, "archived records are not listed"


def test_contacts_basic_crud(client, custom_properties):
    email = new_email("crud")
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
            properties={"email": email, "firstname": "Single", "property_string": "one"}
        )
    )
    # HTTP 201 -> SimplePublicObject
    assert_record(created, C.SimplePublicObject)
    assert created.properties["email"] == email
    assert created.properties["property_string"] == "one"

    got = client.crm.contacts.basic_api.get_by_id(contact_id=created.id, properties=["email", "property_string"])
    assert_record(got, C.SimplePublicObjectWithAssociations)
    assert got.id == created.id
    assert got.properties["email"] == email
    assert got.properties["property_string"] == "one"

    by_email = client.crm.contacts.basic_api.get_by_id(contact_id=email, id_property="email", properties=["email"])
    assert_record(by_email, C.SimplePublicObjectWithAssociations)
    assert by_email.id == created.id

    patched = client.crm.contacts.basic_api.update(
        contact_id=email, id_property="email",
        simple_public_object_input=C.SimplePublicObjectInput(properties={"lastname": "ByEmail"}),
    )
    assert_record(patched, C.SimplePublicObject)
    assert patched.id == created.id and patched.properties["lastname"] == "ByEmail"

    updated = client.crm.contacts.basic_api.update(
        contact_id=created.id,
        simple_public_object_input=C.SimplePublicObjectInput(properties={"property_string": "two", "firstname": ""}),
    )
    assert_record(updated, C.SimplePublicObject)
    assert updated.id == created.id
    assert updated.properties["property_string"] == "two"
    assert not updated.properties.get("firstname"), "an empty string clears a property (§1.7)"

    with_history = client.crm.contacts.basic_api.get_by_id(
        contact_id=created.id, properties=["property_string"], properties_with_history=["property_string"]
    )
    assert_record(with_history, C.SimplePublicObjectWithAssociations)
    history = with_history.properties_with_history["property_string"]
    assert all(isinstance(h, C.ValueWithTimestamp) for h in history), history
    assert [h.value for h in history][:2] == ["two", "one"], history

    # Same call through the generic objects API.
    generic = client.crm.objects.basic_api.get_by_id(object_type="contacts", object_id=created.id, properties=["property_string"])
    assert_record(generic, O.SimplePublicObjectWithAssociations)
    assert generic.properties["property_string"] == "two"

    assert client.crm.contacts.basic_api.archive(contact_id=created.id) is None  # HTTP 204
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.get_by_id(contact_id=created.id)
    assert e.value.status == 404


def test_contacts_get_by_id_missing_is_404(client):
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.get_by_id(contact_id=MISSING_ID)
    assert e.value.status == 404, e.value
    assert isinstance(e.value, C.exceptions.NotFoundException)
    assert_error_envelope(e.value, 404, None)


def test_contacts_get_page_and_get_all(client):
    marker = f"pager-{tag()}"
    props = [{"email": new_email(f"page{i}"), "firstname": marker} for i in range(105)]
    created = create_contacts(client, props[:100]) + create_contacts(client, props[100:])
    created_ids = {r.id for r in created}

    # Manual paging with get_page.
    first = client.crm.contacts.basic_api.get_page(limit=10, properties=["firstname", "email"])
    assert isinstance(first, C.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(first)
    assert len(first.results) == 10
    for rec in first.results:
        assert_record(rec, C.SimplePublicObjectWithAssociations)
    assert isinstance(first.paging, C.ForwardPaging), first.paging
    assert isinstance(first.paging.next, C.NextPage), first.paging
    assert isinstance(first.paging.next.after, str) and first.paging.next.after

    seen: list[str] = [r.id for r in first.results]
    page = first
    pages = 1
    while page.paging is not None and page.paging.next is not None:
        page = client.crm.contacts.basic_api.get_page(limit=50, after=page.paging.next.after, properties=["firstname"])
        assert isinstance(page, C.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(page)
        seen.extend(r.id for r in page.results)
        pages += 1
        assert pages < 1000, "paging does not end"
    assert page.paging is None, "the last page carries no paging (§8.1)"
    assert len(seen) == len(set(seen)), "a record appeared on two pages"
    assert created_ids <= set(seen)
    assert [int(i) for i in seen] == sorted(int(i) for i in seen), "lists are ordered by id (§7.2)"

    # The client's own paging helper (pages of 100).
    everything = client.crm.contacts.get_all(properties=["firstname"])
    assert isinstance(everything, list)
    ids = [r.id for r in everything]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(seen)
    assert {r.id for r in everything if r.properties.get("firstname") == marker} == created_ids

    # The generic objects API helper stops only when `paging` is absent.
    generic = client.crm.objects.get_all("contacts", properties=["firstname"])
    assert {r.id for r in generic} == set(seen)


# ---------------------------------------------------------------------------------------------
# listings (0-420), seed doc 004
# ---------------------------------------------------------------------------------------------


def create_listings(client, props_list: list[dict]) -> list:
    resp = client.crm.objects.batch_api.create(
        object_type=LISTINGS,
        batch_input_simple_public_object_batch_input_for_create=O.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[O.SimplePublicObjectBatchInputForCreate(properties=p) for p in props_list]
        ),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicObject, len(props_list), O.SimplePublicObject)
    by_unique = {r.properties.get(UNIQUE): r for r in resp.results}
    return [by_unique[p[UNIQUE]] for p in props_list]


def test_listings_batch_create_then_update_by_unique_property(client, custom_properties):
    t = tag()
    recs = create_listings(client, [
        {"hs_name": f"Listing A {t}", UNIQUE: f"listing-a-{t}", **SEED_VALUES},
        {"hs_name": f"Listing B {t}", UNIQUE: f"listing-b-{t}", "property_number": "1"},
    ])
    assert_seed_values(recs[0].properties)
    assert recs[0].properties["hs_name"] == f"Listing A {t}"

    resp = client.crm.objects.batch_api.update(
        object_type=LISTINGS,
        batch_input_simple_public_object_batch_input=O.BatchInputSimplePublicObjectBatchInput(inputs=[
            O.SimplePublicObjectBatchInput(id=f"listing-a-{t}", id_property=UNIQUE,
                                           properties={"property_number": "18", "property_dropdown": "choice_a"},
                                           object_write_trace_id=f"trace-a-{t}"),
            O.SimplePublicObjectBatchInput(id=f"listing-b-{t}", id_property=UNIQUE,
                                           properties={"property_radio": "option_2"},
                                           object_write_trace_id=f"trace-b-{t}"),
        ]),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicObject, 2, O.SimplePublicObject)
    by_id = {r.id: r for r in resp.results}
    assert set(by_id) == {recs[0].id, recs[1].id}, "results carry the real record ids"
    a = by_id[recs[0].id].properties
    assert a["property_number"] == "18"
    assert a["property_dropdown"] == "choice_a"
    assert a[UNIQUE] == f"listing-a-{t}"
    assert a["property_string"] == "value"
    assert by_id[recs[1].id].properties["property_radio"] == "option_2"

    # Read back by the unique property, through the type name instead of the id.
    read = client.crm.objects.batch_api.read(
        object_type="listings",
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=f"listing-a-{t}")], id_property=UNIQUE,
            properties=["property_number", UNIQUE],
        ),
    )
    assert_batch_ok(read, O.BatchResponseSimplePublicObject, 1, O.SimplePublicObject)
    assert read.results[0].id == recs[0].id
    assert read.results[0].properties["property_number"] == "18"


def test_listings_batch_upsert_by_unique_property(client, custom_properties):
    t = tag()
    (existing,) = create_listings(client, [{"hs_name": f"Up {t}", UNIQUE: f"up-old-{t}", "property_number": "1"}])
    resp = client.crm.objects.batch_api.upsert(
        object_type=LISTINGS,
        batch_input_simple_public_object_batch_input_upsert=O.BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
            O.SimplePublicObjectBatchInputUpsert(id=f"up-old-{t}", id_property=UNIQUE, properties={"property_number": "2"}),
            O.SimplePublicObjectBatchInputUpsert(id=f"up-new-{t}", id_property=UNIQUE,
                                                 properties={"hs_name": f"New {t}", "property_number": "3"}),
        ]),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicUpsertObject, 2, O.SimplePublicUpsertObject)
    by_unique = {r.properties.get(UNIQUE): r for r in resp.results}
    assert set(by_unique) == {f"up-old-{t}", f"up-new-{t}"}, resp.results
    assert by_unique[f"up-old-{t}"].id == existing.id and by_unique[f"up-old-{t}"].new is False
    assert by_unique[f"up-old-{t}"].properties["property_number"] == "2"
    assert by_unique[f"up-new-{t}"].new is True and by_unique[f"up-new-{t}"].id != existing.id
    assert by_unique[f"up-new-{t}"].properties["property_number"] == "3"


def test_listings_update_by_unknown_unique_value(client, custom_properties):
    t = tag()
    (rec,) = create_listings(client, [{"hs_name": f"L {t}", UNIQUE: f"known-{t}"}])
    resp = client.crm.objects.batch_api.update(
        object_type=LISTINGS,
        batch_input_simple_public_object_batch_input=O.BatchInputSimplePublicObjectBatchInput(inputs=[
            O.SimplePublicObjectBatchInput(id=f"known-{t}", id_property=UNIQUE, properties={"property_string": "k"}),
            O.SimplePublicObjectBatchInput(id=f"unknown-{t}", id_property=UNIQUE, properties={"property_string": "u"}),
        ]),
    )
    assert isinstance(resp, O.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert [r.id for r in resp.results] == [rec.id]
    assert resp.errors and resp.errors[0].category == "OBJECT_NOT_FOUND", resp.errors
    assert f"unknown-{t}" in resp.errors[0].context.get("ids", []), resp.errors[0]


# ---------------------------------------------------------------------------------------------
# partner_services / partner_clients (seed docs 000 and 002); records come from `spoke import`
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def partner_records(spoke, client, custom_properties):
    """Imports three records of each partner type (JSON Lines for services, CSV for clients)
    and returns {object_type: [record, ...]} as listed through the API."""
    t = tag()
    out = {}
    for object_type in PARTNER_TYPES:
        rows = [
            {"hs_name": f"{object_type} {i} {t}", UNIQUE: f"{object_type}-{i}-{t}", **SEED_VALUES}
            for i in range(3)
        ]
        if object_type == "partner_services":
            path = spoke.workdir / f"{object_type}.jsonl"
            path.write_text("".join(json.dumps({"properties": r}) + "\n" for r in rows))
        else:
            path = spoke.workdir / f"{object_type}.csv"
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        spoke.import_file(object_type, path)

        listed = fetch_all(client.crm.objects.basic_api, object_type=object_type, properties=["hs_name", UNIQUE])
        by_unique = {r.properties.get(UNIQUE): r for r in listed}
        missing = [r[UNIQUE] for r in rows if r[UNIQUE] not in by_unique]
        assert not missing, f"imported {object_type} not listed by GET /crm/v3/objects/{object_type}: {missing}"
        out[object_type] = [by_unique[r[UNIQUE]] for r in rows]
    return out


@pytest.mark.parametrize("object_type", PARTNER_TYPES)
def test_partner_batch_read(client, partner_records, object_type):
    recs = partner_records[object_type]
    resp = client.crm.objects.batch_api.read(
        object_type=object_type,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=r.id) for r in recs],
            properties=list(SEED_VALUES),
            properties_with_history=["property_string", "property_number"],
        ),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicObject, len(recs), O.SimplePublicObject)
    assert {r.id for r in resp.results} == {r.id for r in recs}
    for rec in resp.results:
        assert_seed_values(rec.properties)
        hist = rec.properties_with_history
        assert isinstance(hist, dict) and set(hist) >= {"property_string", "property_number"}, hist
        for name in ("property_string", "property_number"):
            entries = hist[name]
            assert entries, f"no history for {name}"
            for entry in entries:
                assert isinstance(entry, O.ValueWithTimestamp), describe(entry)
                assert isinstance(entry.timestamp, dt.datetime), entry
                assert isinstance(entry.source_type, str) and entry.source_type, entry
            assert entries[0].value == SEED_VALUES[name], entries

    # By the unique property (seed doc 000's idProperty).
    by_unique = client.crm.objects.batch_api.read(
        object_type=object_type,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=recs[0].properties[UNIQUE])], id_property=UNIQUE, properties=["hs_name"],
        ),
    )
    assert_batch_ok(by_unique, O.BatchResponseSimplePublicObject, 1, O.SimplePublicObject)
    assert by_unique.results[0].id == recs[0].id

    # One unknown id -> 207.
    partial = client.crm.objects.batch_api.read(
        object_type=object_type,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=recs[0].id), O.SimplePublicObjectId(id=MISSING_ID)], properties=["hs_name"],
        ),
    )
    assert isinstance(partial, O.BatchResponseSimplePublicObjectWithErrors), describe(partial)
    assert [r.id for r in partial.results] == [recs[0].id]
    assert partial.errors[0].category == "OBJECT_NOT_FOUND"
    assert partial.errors[0].context.get("ids") == [MISSING_ID]


@pytest.mark.parametrize("object_type", PARTNER_TYPES)
def test_partner_batch_update(client, partner_records, object_type):
    recs = partner_records[object_type]
    # By record id, with objectWriteTraceId (seed doc 002 body).
    resp = client.crm.objects.batch_api.update(
        object_type=object_type,
        batch_input_simple_public_object_batch_input=O.BatchInputSimplePublicObjectBatchInput(inputs=[
            O.SimplePublicObjectBatchInput(id=recs[1].id, properties={"property_string": "updated", "property_radio": "option_2"},
                                           object_write_trace_id="trace-1"),
        ]),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicObject, 1, O.SimplePublicObject)
    assert resp.results[0].id == recs[1].id
    assert resp.results[0].properties["property_string"] == "updated"
    assert resp.results[0].properties["property_radio"] == "option_2"
    assert resp.results[0].properties["property_number"] == "17"

    # By the unique property (seed doc 002's idProperty).
    resp = client.crm.objects.batch_api.update(
        object_type=object_type,
        batch_input_simple_public_object_batch_input=O.BatchInputSimplePublicObjectBatchInput(inputs=[
            O.SimplePublicObjectBatchInput(id=recs[2].properties[UNIQUE], id_property=UNIQUE,
                                           properties={"property_checkbox": "true", "property_date": "1572566400000"}),
        ]),
    )
    assert_batch_ok(resp, O.BatchResponseSimplePublicObject, 1, O.SimplePublicObject)
    assert resp.results[0].id == recs[2].id
    assert resp.results[0].properties["property_checkbox"] == "true"
    assert resp.results[0].properties["property_date"] == "1572566400000"

    # History is newest first (§1.5).
    read = client.crm.objects.batch_api.read(
        object_type=object_type,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=recs[1].id)], properties_with_history=["property_string"],
        ),
    )
    assert_batch_ok(read, O.BatchResponseSimplePublicObject, 1, O.SimplePublicObject)
    values = [e.value for e in read.results[0].properties_with_history["property_string"]]
    assert values[:2] == ["updated", "value"], values


@pytest.mark.parametrize("object_type", PARTNER_TYPES)
def test_partner_create_is_rejected(client, partner_records, object_type):
    with pytest.raises(O.ApiException) as e:
        client.crm.objects.basic_api.create(
            object_type=object_type,
            simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(properties={"hs_name": "nope"}),
        )
    assert 400 <= e.value.status < 500, f"create of {object_type} answered {e.value.status}: {e.value.body!r}"

    with pytest.raises(O.ApiException) as e:
        client.crm.objects.batch_api.create(
            object_type=object_type,
            batch_input_simple_public_object_batch_input_for_create=O.BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[O.SimplePublicObjectBatchInputForCreate(properties={"hs_name": "nope"})]
            ),
        )
    assert 400 <= e.value.status < 500, f"batch create of {object_type} answered {e.value.status}: {e.value.body!r}"

    listed = client.crm.objects.get_all(object_type, properties=["hs_name"])
    assert not [r for r in listed if r.properties.get("hs_name") == "nope"], "a rejected create left a record"


# ---------------------------------------------------------------------------------------------
# objectWriteTraceId: partial success with 207 (§1.6)
# ---------------------------------------------------------------------------------------------


def test_trace_id_batch_create_with_conflicting_email(client):
    (existing,) = create_contacts(client, [{"email": new_email("exists"), "firstname": "E"}])
    fresh = new_email("fresh")
    resp = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            C.SimplePublicObjectBatchInputForCreate(properties={"email": fresh}, object_write_trace_id="t-ok"),
            C.SimplePublicObjectBatchInputForCreate(properties={"email": existing.properties["email"]},
                                                    object_write_trace_id="t-dup"),
        ])
    )
    assert isinstance(resp, C.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert resp.status == "COMPLETE"
    assert [r.properties.get("email") for r in resp.results] == [fresh]
    assert_record(resp.results[0], C.SimplePublicObject)
    assert resp.num_errors == 1 and len(resp.errors) == 1, resp.errors
    err = resp.errors[0]
    assert isinstance(err, C.StandardError)
    assert err.category == "CONFLICT", err
    assert err.context.get("objectWriteTraceId") == ["t-dup"], err.context
    assert err.context.get("existingId") == [existing.id], err.context


def test_trace_id_batch_create_with_invalid_value(client, custom_properties):
    ok, bad = new_email("trace-ok"), new_email("trace-bad")
    resp = client.crm.contacts.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            C.SimplePublicObjectBatchInputForCreate(properties={"email": ok, "property_number": "5"}, object_write_trace_id="a"),
            C.SimplePublicObjectBatchInputForCreate(properties={"email": bad, "property_number": "five"}, object_write_trace_id="b"),
        ])
    )
    assert isinstance(resp, C.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert [r.properties.get("email") for r in resp.results] == [ok]
    assert len(resp.errors) == 1, resp.errors
    assert resp.errors[0].category == "VALIDATION_ERROR", resp.errors[0]
    assert resp.errors[0].context.get("objectWriteTraceId") == ["b"], resp.errors[0].context

    check = read_contacts(client, [ok, bad], id_property="email", properties=["email"])
    assert isinstance(check, C.BatchResponseSimplePublicObjectWithErrors), describe(check)
    assert [r.properties["email"] for r in check.results] == [ok]


def test_trace_id_batch_create_with_duplicate_unique_value(client, custom_properties):
    t = tag()
    (existing,) = create_listings(client, [{"hs_name": f"Taken {t}", UNIQUE: f"taken-{t}"}])
    resp = client.crm.objects.batch_api.create(
        object_type=LISTINGS,
        batch_input_simple_public_object_batch_input_for_create=O.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
            O.SimplePublicObjectBatchInputForCreate(properties={"hs_name": f"Free {t}", UNIQUE: f"free-{t}"},
                                                    object_write_trace_id="x"),
            O.SimplePublicObjectBatchInputForCreate(properties={"hs_name": f"Dup {t}", UNIQUE: f"taken-{t}"},
                                                    object_write_trace_id="y"),
        ]),
    )
    assert isinstance(resp, O.BatchResponseSimplePublicObjectWithErrors), describe(resp)
    assert [r.properties.get(UNIQUE) for r in resp.results] == [f"free-{t}"]
    assert len(resp.errors) == 1, resp.errors
    assert isinstance(resp.errors[0], O.StandardError)
    assert resp.errors[0].context.get("objectWriteTraceId") == ["y"], resp.errors[0].context
    assert existing.id not in {r.id for r in resp.results}


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


def test_validation_error_bad_number(client, custom_properties):
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
                properties={"email": new_email("badnum"), "property_number": "not-a-number"}
            )
        )
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert "property_number" in body["message"], body
    assert body.get("errors"), body
    detail = body["errors"][0]
    assert isinstance(detail.get("message"), str) and detail["message"], detail
    assert isinstance(detail.get("code"), str) and detail["code"], detail
    assert detail.get("context", {}).get("propertyName") == ["property_number"], detail
    assert header(e.value, "x-hubspot-correlation-id") == body["correlationId"]


@pytest.mark.parametrize("name,value,code", [
    ("property_date", "1606768561954", "INVALID_DATE"),  # not midnight UTC (§2.2)
    ("property_dropdown", "choice_z", "INVALID_OPTION"),
    ("property_multiple_checkboxes", "chocolate;mint", "INVALID_OPTION"),
    ("property_radio", "Option_1", "INVALID_OPTION"),  # option values are case-sensitive (§5)
])
def test_validation_error_codes(client, custom_properties, name, value, code):
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
                properties={"email": new_email("badvalue"), name: value}
            )
        )
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["errors"][0]["code"] == code, body
    assert body["errors"][0]["context"]["propertyName"] == [name], body


def test_batch_over_limit_is_400(client):
    with pytest.raises(C.ApiException) as e:
        read_contacts(client, [str(i) for i in range(1, 102)])
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert "100" in body["message"], body


def test_batch_update_duplicate_ids_is_400(client):
    (rec,) = create_contacts(client, [{"email": new_email("dupids"), "firstname": "D"}])
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.batch_api.update(
            batch_input_simple_public_object_batch_input=C.BatchInputSimplePublicObjectBatchInput(inputs=[
                C.SimplePublicObjectBatchInput(id=rec.id, properties={"firstname": "D1"}),
                C.SimplePublicObjectBatchInput(id=rec.id, properties={"firstname": "D2"}),
            ])
        )
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body.get("context", {}).get("ids") == [rec.id], body
    got = client.crm.contacts.basic_api.get_by_id(contact_id=rec.id, properties=["firstname"])
    assert got.properties["firstname"] == "D", "nothing is written when the batch is rejected"


def test_validation_error_unknown_property(client):
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
                properties={"email": new_email("unknownprop"), "no_such_property_x": "1"}
            )
        )
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST", body
    assert body["errors"][0]["context"]["propertyName"] == ["no_such_property_x"], body


def test_batch_create_without_trace_ids_is_atomic(client, custom_properties):
    good = new_email("atomic-good")
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.batch_api.create(
            batch_input_simple_public_object_batch_input_for_create=C.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
                C.SimplePublicObjectBatchInputForCreate(properties={"email": good, "property_number": "1"}),
                C.SimplePublicObjectBatchInputForCreate(properties={"email": new_email("atomic-bad"), "property_number": "x1"}),
            ])
        )
    assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    check = read_contacts(client, [good], id_property="email")
    assert isinstance(check, C.BatchResponseSimplePublicObjectWithErrors), describe(check)
    assert check.results == [], "nothing is created when one input of a batch is invalid"


def test_missing_scope_is_403(spoke, client):
    # Made while the server runs.
    limited = spoke.client(spoke.create_token(["crm.objects.contacts.read"]))
    page = limited.crm.contacts.basic_api.get_page(limit=1)
    assert isinstance(page, C.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(page)

    with pytest.raises(C.ApiException) as e:
        limited.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(properties={"email": new_email("noscope")})
        )
    body = assert_error_envelope(e.value, 403, "MISSING_SCOPES")
    assert "crm.objects.contacts.write" in json.dumps(body), body

    with pytest.raises(O.ApiException) as e:
        limited.crm.objects.batch_api.read(
            object_type=LISTINGS,
            batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(inputs=[O.SimplePublicObjectId(id="1")]),
        )
    body = assert_error_envelope(e.value, 403, "MISSING_SCOPES")
    assert "crm.objects.listings.read" in json.dumps(body), body

    with pytest.raises(P.ApiException) as e:
        limited.crm.properties.core_api.create(
            object_type="contacts",
            property_create=P.PropertyCreate(name=f"noscope_{tag()}", label="x", type="string", field_type="text",
                                             group_name="contactinformation"),
        )
    assert_error_envelope(e.value, 403, "MISSING_SCOPES")


def test_invalid_token_is_401(spoke):
    anonymous = spoke.client("not-a-real-token")
    with pytest.raises(C.ApiException) as e:
        anonymous.crm.contacts.basic_api.get_page(limit=1)
    assert_error_envelope(e.value, 401, "INVALID_AUTHENTICATION")


# ---------------------------------------------------------------------------------------------
# the other typed clients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api,props", [
    ("companies", {"name": "Acme", "domain": "acme.example"}),
    ("deals", {"dealname": "Big deal", "amount": "1000"}),
    ("tickets", {"subject": "Broken", "content": "It is broken"}),
])
def test_typed_clients_roundtrip(client, api, props):
    import importlib

    models = importlib.import_module(f"hubspot.crm.{api}")
    discovery = getattr(client.crm, api)
    created = discovery.batch_api.create(
        batch_input_simple_public_object_batch_input_for_create=models.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[models.SimplePublicObjectBatchInputForCreate(properties=props)]
        )
    )
    assert_batch_ok(created, models.BatchResponseSimplePublicObject, 1, models.SimplePublicObject)
    rec = created.results[0]
    for k, v in props.items():
        assert rec.properties.get(k) == v, rec.properties

    id_arg = {"companies": "company_id", "deals": "deal_id", "tickets": "ticket_id"}[api]
    got = discovery.basic_api.get_by_id(**{id_arg: rec.id}, properties=list(props))
    assert_record(got, models.SimplePublicObjectWithAssociations)
    assert got.id == rec.id

    single = discovery.basic_api.create(
        simple_public_object_input_for_create=models.SimplePublicObjectInputForCreate(properties=props)
    )
    assert_record(single, models.SimplePublicObject)

    page = discovery.basic_api.get_page(limit=1)
    assert isinstance(page, models.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(page)
    assert len(page.results) == 1 and page.paging is not None and page.paging.next.after
    everything = discovery.get_all()
    assert {rec.id, single.id} <= {r.id for r in everything}

    assert discovery.basic_api.archive(**{id_arg: single.id}) is None


# ---------------------------------------------------------------------------------------------
# associations v4 (§3): client.crm.associations.v4.{basic_api, batch_api, schema.definitions_api}
# The client types toObjectId/fromObjectId as str and converts the JSON numbers spoke sends
# (§0) with str(); ids are compared as strings.
# ---------------------------------------------------------------------------------------------

HS = "HUBSPOT_DEFINED"
USER = "USER_DEFINED"
INVALID_ASSOCIATIONS = "One or more associations are invalid"


def a4_spec(category: str, type_id: int) -> A4.AssociationSpec:
    return A4.AssociationSpec(association_category=category, association_type_id=type_id)


def a4_id(i: str) -> A4.PublicObjectId:
    return A4.PublicObjectId(id=i)


def create_companies(client, n: int) -> list[str]:
    ids = []
    for start in range(0, n, 100):
        count = min(100, n - start)
        resp = client.crm.companies.batch_api.create(
            batch_input_simple_public_object_batch_input_for_create=CO.BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[CO.SimplePublicObjectBatchInputForCreate(properties={"name": f"assoc-{tag()}"}) for _ in range(count)]
            )
        )
        assert_batch_ok(resp, CO.BatchResponseSimplePublicObject, count, CO.SimplePublicObject)
        ids += [r.id for r in resp.results]
    return ids


def one_contact(client) -> str:
    (rec,) = create_contacts(client, [{"email": new_email("assoc")}])
    return rec.id


def assoc_types(item) -> set:
    assert isinstance(item, A4.MultiAssociatedObjectWithLabel), describe(item)
    for t in item.association_types:
        assert isinstance(t, A4.AssociationSpecWithLabel), describe(t)
        assert isinstance(t.type_id, int), t
    return {(t.category, t.type_id, t.label) for t in item.association_types}


def targets(items) -> dict:
    """{toObjectId (str): set of (category, typeId, label)}"""
    return {str(i.to_object_id): assoc_types(i) for i in items}


def list_targets(client, object_type: str, object_id: str, to_object_type: str, limit: int = 500) -> dict:
    """Every target of a record through basic_api.get_page, following paging."""
    out, after = {}, None
    while True:
        kwargs = {"limit": limit}
        if after:
            kwargs["after"] = after
        page = client.crm.associations.v4.basic_api.get_page(object_type, object_id, to_object_type, **kwargs)
        assert isinstance(page, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging), describe(page)
        got = targets(page.results)
        assert not set(got) & set(out), f"a target was listed twice: {set(got) & set(out)}"
        out.update(got)
        if page.paging is None or page.paging.next is None:
            return out
        assert isinstance(page.paging, A4.ForwardPaging), describe(page.paging)
        after = page.paging.next.after


def batch_read(client, from_type: str, to_type: str, inputs: list[tuple[str, str | None]]):
    return client.crm.associations.v4.batch_api.get_page(
        from_type,
        to_type,
        A4.BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[A4.PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in inputs]
        ),
    )


def test_associations_v4_basic_api(client):
    basic = client.crm.associations.v4.basic_api
    c = one_contact(client)
    co1, co2 = create_companies(client, 2)

    default = basic.create_default(from_object_type="contacts", from_object_id=c, to_object_type="companies", to_object_id=co1)
    assert isinstance(default, A4.BatchResponsePublicDefaultAssociation), describe(default)
    assert default.status == "COMPLETE"
    assert isinstance(default.started_at, dt.datetime) and isinstance(default.completed_at, dt.datetime)
    assert all(isinstance(r, A4.PublicDefaultAssociation) for r in default.results), default
    assert {(r._from.id, r.to.id, r.association_spec.association_category, r.association_spec.association_type_id)
            for r in default.results} == {(c, co1, HS, 279), (co1, c, HS, 280)}, default

    labelled = basic.create(object_type="contacts", object_id=c, to_object_type="companies", to_object_id=co2,
                            association_spec=[a4_spec(HS, 1)])
    assert isinstance(labelled, A4.LabelsBetweenObjectPair), describe(labelled)
    assert labelled.from_object_type_id == "0-1" and labelled.to_object_type_id == "0-2", labelled
    assert str(labelled.from_object_id) == c and str(labelled.to_object_id) == co2, labelled
    assert labelled.labels == ["Primary"], labelled

    page = basic.get_page("contacts", c, "companies")
    assert isinstance(page, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging), describe(page)
    assert page.paging is None, page
    assert targets(page.results) == {co1: {(HS, 279, None)}, co2: {(HS, 1, "Primary"), (HS, 279, None)}}, page
    # The other side sees the inverse types.
    assert list_targets(client, "companies", co2, "contacts") == {c: {(HS, 2, "Primary"), (HS, 280, None)}}
    assert list_targets(client, "companies", co1, "contacts") == {c: {(HS, 280, None)}}

    # limit=1: two pages, the SDK passes the token back.
    first = basic.get_page("contacts", c, "companies", limit=1)
    assert isinstance(first, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging), describe(first)
    assert len(first.results) == 1 and first.paging is not None and first.paging.next.after, first
    second = basic.get_page("contacts", c, "companies", limit=1, after=first.paging.next.after)
    assert isinstance(second, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging), describe(second)
    assert len(second.results) == 1 and second.paging is None, second
    assert {str(first.results[0].to_object_id), str(second.results[0].to_object_id)} == {co1, co2}

    # Idempotent.
    again = basic.create_default(from_object_type="contacts", from_object_id=c, to_object_type="companies", to_object_id=co1)
    assert isinstance(again, A4.BatchResponsePublicDefaultAssociation), describe(again)
    assert list_targets(client, "contacts", c, "companies")[co1] == {(HS, 279, None)}

    assert basic.archive(object_type="contacts", object_id=c, to_object_type="companies", to_object_id=co2) is None  # 204
    assert list_targets(client, "contacts", c, "companies") == {co1: {(HS, 279, None)}}
    assert list_targets(client, "companies", co2, "contacts") == {}

    with pytest.raises(A4.ApiException) as e:
        basic.create(object_type="contacts", object_id=c, to_object_type="companies", to_object_id=co2,
                     association_spec=[a4_spec(USER, 999999)])
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["message"] == INVALID_ASSOCIATIONS, body
    assert body["context"]["associationSpec"] == ["USER_DEFINED=999999"], body
    assert body["context"]["INVALID_ASSOCIATION_TYPE_ID"] == ["USER_DEFINED=999999 is not a valid association definition id"], body

    with pytest.raises(A4.ApiException) as e:
        basic.create_default(from_object_type="contacts", from_object_id=c, to_object_type="companies", to_object_id=MISSING_ID)
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["message"] == INVALID_ASSOCIATIONS, body
    assert body["context"]["INVALID_OBJECT_IDS"] == [f"COMPANY={MISSING_ID} is not valid"], body


def test_associations_v4_batch_api(client):
    batch = client.crm.associations.v4.batch_api
    c1, c2, lonely = (one_contact(client) for _ in range(3))
    co = create_companies(client, 3)

    created = batch.create("contacts", "companies", A4.BatchInputPublicAssociationMultiPost(inputs=[
        A4.PublicAssociationMultiPost(_from=a4_id(c1), to=a4_id(co[0]), types=[a4_spec(HS, 279)]),
        A4.PublicAssociationMultiPost(_from=a4_id(c1), to=a4_id(co[1]), types=[a4_spec(HS, 1)]),
    ]))
    assert isinstance(created, A4.BatchResponseLabelsBetweenObjectPair), describe(created)
    assert created.status == "COMPLETE" and len(created.results) == 2, created
    assert all(isinstance(r, A4.LabelsBetweenObjectPair) for r in created.results), created
    assert {(str(r.from_object_id), str(r.to_object_id), tuple(r.labels)) for r in created.results} == {
        (c1, co[0], ()), (c1, co[1], ("Primary",))}, created

    default = batch.create_default("contacts", "companies", A4.BatchInputPublicDefaultAssociationMultiPost(inputs=[
        A4.PublicDefaultAssociationMultiPost(_from=a4_id(c2), to=a4_id(co[2])),
    ]))
    assert isinstance(default, A4.BatchResponsePublicDefaultAssociation), describe(default)
    assert {(r._from.id, r.to.id, r.association_spec.association_type_id) for r in default.results} == {
        (c2, co[2], 279), (co[2], c2, 280)}, default

    read = batch_read(client, "contacts", "companies", [(c1, None), (c2, None)])
    assert isinstance(read, A4.BatchResponsePublicAssociationMultiWithLabel), describe(read)
    assert read.status == "COMPLETE" and isinstance(read.started_at, dt.datetime), read
    by_from = {}
    for r in read.results:
        assert isinstance(r, A4.PublicAssociationMultiWithLabel), describe(r)
        assert isinstance(r._from, A4.PublicObjectId) and r.paging is None, r
        by_from[r._from.id] = targets(r.to)
    assert by_from == {
        c1: {co[0]: {(HS, 279, None)}, co[1]: {(HS, 1, "Primary"), (HS, 279, None)}},
        c2: {co[2]: {(HS, 279, None)}},
    }, read

    partial = batch_read(client, "contacts", "companies", [(c1, None), (lonely, None)])
    assert isinstance(partial, A4.BatchResponsePublicAssociationMultiWithLabelWithErrors), describe(partial)
    assert [r._from.id for r in partial.results] == [c1], partial
    assert partial.num_errors == 1 and len(partial.errors) == 1, partial
    err = partial.errors[0]
    assert isinstance(err, A4.StandardError), describe(err)
    assert err.status == "error" and err.category == "OBJECT_NOT_FOUND", err
    assert err.sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND", err
    assert err.message == f"No company is associated with contact {lonely}.", err
    assert err.context == {"fromObjectId": [lonely], "fromObjectType": ["contact"], "toObjectType": ["company"]}, err

    # labels/archive removes only the given type; archive removes the rest.
    assert batch.archive_labels("contacts", "companies", A4.BatchInputPublicAssociationMultiPost(inputs=[
        A4.PublicAssociationMultiPost(_from=a4_id(c1), to=a4_id(co[1]), types=[a4_spec(HS, 1)]),
    ])) is None  # 204
    assert list_targets(client, "contacts", c1, "companies") == {co[0]: {(HS, 279, None)}, co[1]: {(HS, 279, None)}}
    assert list_targets(client, "companies", co[1], "contacts") == {c1: {(HS, 280, None)}}

    assert batch.archive("contacts", "companies", A4.BatchInputPublicAssociationMultiArchive(inputs=[
        A4.PublicAssociationMultiArchive(_from=a4_id(c1), to=[a4_id(co[0]), a4_id(co[1])]),
    ])) is None  # 204
    gone = batch_read(client, "contacts", "companies", [(c1, None)])
    assert isinstance(gone, A4.BatchResponsePublicAssociationMultiWithLabelWithErrors), describe(gone)
    assert gone.results == [] and gone.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND", gone
    assert list_targets(client, "companies", co[0], "contacts") == {}

    with pytest.raises(A4.ApiException) as e:
        batch.create("contacts", "companies", A4.BatchInputPublicAssociationMultiPost(inputs=[
            A4.PublicAssociationMultiPost(_from=a4_id(c2), to=a4_id(co[0]), types=[a4_spec(HS, 280)]),
        ]))
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["message"] == INVALID_ASSOCIATIONS and body["context"]["associationSpec"] == ["HUBSPOT_DEFINED=280"], body


def test_associations_v4_batch_read_pages_at_500(client):
    batch = client.crm.associations.v4.batch_api
    c = one_contact(client)
    co = create_companies(client, 501)
    for start in range(0, len(co), 100):
        linked = batch.create_default("contacts", "companies", A4.BatchInputPublicDefaultAssociationMultiPost(
            inputs=[A4.PublicDefaultAssociationMultiPost(_from=a4_id(c), to=a4_id(i)) for i in co[start:start + 100]]
        ))
        assert isinstance(linked, A4.BatchResponsePublicDefaultAssociation), describe(linked)

    first = batch_read(client, "contacts", "companies", [(c, None)])
    assert isinstance(first, A4.BatchResponsePublicAssociationMultiWithLabel), describe(first)
    (r1,) = first.results
    assert len(r1.to) == 500, len(r1.to)
    assert isinstance(r1.paging, A4.Paging) and isinstance(r1.paging.next, A4.NextPage) and r1.paging.next.after, r1.paging
    second = batch_read(client, "contacts", "companies", [(c, r1.paging.next.after)])
    assert isinstance(second, A4.BatchResponsePublicAssociationMultiWithLabel), describe(second)
    (r2,) = second.results
    assert len(r2.to) == 1 and r2.paging is None, r2
    seen = [str(t.to_object_id) for t in r1.to + r2.to]
    assert len(seen) == len(set(seen)) and set(seen) == set(co)

    # basic_api.get_page: default limit 500, then the rest.
    assert set(list_targets(client, "contacts", c, "companies")) == set(co)
    page = client.crm.associations.v4.basic_api.get_page("contacts", c, "companies")
    assert len(page.results) == 500 and page.paging.next.after, page.paging


def test_associations_v4_labels(client):
    defs = client.crm.associations.v4.schema.definitions_api
    t = tag()
    created = defs.create("contacts", "companies", A4S.PublicAssociationDefinitionCreateRequest(
        label=f"Referrer {t}", name=f"referrer_{t}", inverse_label=f"Referred {t}"))
    assert isinstance(created, A4S.CollectionResponseAssociationSpecWithLabelNoPaging), describe(created)
    assert len(created.results) == 2, created
    assert all(isinstance(r, A4S.AssociationSpecWithLabel) and r.category == USER for r in created.results), created
    fwd = next(r.type_id for r in created.results if r.label == f"Referrer {t}")
    inv = next(r.type_id for r in created.results if r.label == f"Referred {t}")
    assert fwd != inv

    listed = defs.get_all("contacts", "companies")
    assert isinstance(listed, A4S.CollectionResponseAssociationSpecWithLabelNoPaging), describe(listed)
    got = {(r.category, r.type_id, r.label) for r in listed.results}
    assert {(HS, 279, None), (HS, 1, "Primary"), (USER, fwd, f"Referrer {t}")} <= got, got
    back = {(r.category, r.type_id, r.label) for r in defs.get_all("companies", "contacts").results}
    assert (USER, inv, f"Referred {t}") in back, back

    c = one_contact(client)
    (co,) = create_companies(client, 1)
    used = client.crm.associations.v4.basic_api.create("contacts", c, "companies", co, [a4_spec(USER, fwd)])
    assert isinstance(used, A4.LabelsBetweenObjectPair), describe(used)
    assert used.labels == [f"Referrer {t}"], used
    assert (USER, fwd, f"Referrer {t}") in list_targets(client, "contacts", c, "companies")[co]
    assert (USER, inv, f"Referred {t}") in list_targets(client, "companies", co, "contacts")[c]

    assert defs.update("contacts", "companies", A4S.PublicAssociationDefinitionUpdateRequest(
        association_type_id=fwd, label=f"Referrer2 {t}", inverse_label=f"Referred2 {t}")) is None  # 204
    assert (USER, fwd, f"Referrer2 {t}") in list_targets(client, "contacts", c, "companies")[co]
    assert (USER, inv, f"Referred2 {t}") in list_targets(client, "companies", co, "contacts")[c]

    assert defs.remove("contacts", "companies", fwd) is None  # 204
    remaining = {(r.category, r.type_id) for r in defs.get_all("contacts", "companies").results}
    assert (USER, fwd) not in remaining and (HS, 279) in remaining, remaining
    assert (USER, inv) not in {(r.category, r.type_id) for r in defs.get_all("companies", "contacts").results}
    assert list_targets(client, "contacts", c, "companies") == {}, "the label's associations went with it"


def test_objects_create_with_inline_associations(client):
    (co,) = create_companies(client, 1)
    email = new_email("inline")
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
            properties={"email": email},
            associations=[C.PublicAssociationsForObject(
                to=C.PublicObjectId(id=co),
                types=[C.AssociationSpec(association_category=HS, association_type_id=1)],
            )],
        )
    )
    assert_record(created, C.SimplePublicObject)
    assert list_targets(client, "contacts", created.id, "companies") == {co: {(HS, 1, "Primary"), (HS, 279, None)}}
    assert list_targets(client, "companies", co, "contacts")[created.id] == {(HS, 2, "Primary"), (HS, 280, None)}

    bad_email = new_email("inline-bad")
    with pytest.raises(C.ApiException) as e:
        client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=C.SimplePublicObjectInputForCreate(
                properties={"email": bad_email},
                associations=[
                    C.PublicAssociationsForObject(to=C.PublicObjectId(id=co),
                                                  types=[C.AssociationSpec(association_category=HS, association_type_id=279)]),
                    C.PublicAssociationsForObject(to=C.PublicObjectId(id=MISSING_ID),
                                                  types=[C.AssociationSpec(association_category=HS, association_type_id=279)]),
                ],
            )
        )
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert body["message"] == INVALID_ASSOCIATIONS, body
    assert body["context"]["INVALID_OBJECT_IDS"] == [f"COMPANY={MISSING_ID} is not valid"], body
    check = read_contacts(client, [bad_email], id_property="email")
    assert isinstance(check, C.BatchResponseSimplePublicObjectWithErrors), describe(check)
    assert check.results == [], "nothing is created when an association is invalid"
    assert set(list_targets(client, "companies", co, "contacts")) == {created.id}


def test_associations_v4_missing_scopes(spoke, client):
    limited = spoke.client(spoke.create_token(["crm.objects.contacts.read", "crm.objects.contacts.write"]))
    c = one_contact(client)
    (co,) = create_companies(client, 1)
    with pytest.raises(A4.ApiException) as e:
        batch_read(limited, "contacts", "companies", [(c, None)])
    body = assert_error_envelope(e.value, 403, "MISSING_SCOPES")
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.companies.read"], body
    with pytest.raises(A4.ApiException) as e:
        limited.crm.associations.v4.basic_api.create_default("contacts", c, "companies", co)
    body = assert_error_envelope(e.value, 403, "MISSING_SCOPES")
    assert body["errors"][0]["context"]["requiredGranularScopes"] == ["crm.objects.companies.write"], body
    with pytest.raises(A4S.ApiException) as e:
        limited.crm.associations.v4.schema.definitions_api.get_all("contacts", "companies")
    assert_error_envelope(e.value, 403, "MISSING_SCOPES")
    assert list_targets(client, "contacts", c, "companies") == {}


# ---------------------------------------------------------------------------------------------
# search (§7.1)
# ---------------------------------------------------------------------------------------------


def contact_search(client, **kwargs):
    """POST /crm/v3/objects/contacts/search through the contacts client."""
    return client.crm.contacts.search_api.do_search(public_object_search_request=C.PublicObjectSearchRequest(**kwargs))


def assert_search_page(resp, module, total: int | None = None):
    """HTTP 200 -> CollectionResponseWithTotalSimplePublicObjectForwardPaging of SimplePublicObject."""
    assert isinstance(resp, module.CollectionResponseWithTotalSimplePublicObjectForwardPaging), describe(resp)
    assert isinstance(resp.total, int), resp
    assert isinstance(resp.results, list), resp
    for rec in resp.results:
        assert_record(rec, module.SimplePublicObject)
    if total is not None:
        assert resp.total == total, f"expected total {total}, got {resp.total}: {[r.id for r in resp.results]}"
    if resp.paging is not None:
        assert isinstance(resp.paging, module.ForwardPaging), resp.paging
        assert isinstance(resp.paging.next, module.NextPage), resp.paging
        assert isinstance(resp.paging.next.after, str) and resp.paging.next.after.isdigit(), resp.paging


def flt(module, name: str, operator: str, value=None, values=None, high_value=None):
    return module.Filter(property_name=name, operator=operator, value=value, values=values, high_value=high_value)


@pytest.fixture(scope="module")
def search_contacts(client, custom_properties):
    """Four contacts sharing a unique last name (the search marker), created in order."""
    marker = f"Searchling{tag()}"
    domain = f"s{tag()}.example"
    rows = [
        {"email": f"ada@{domain}", "firstname": "Ada", "lastname": marker, "property_number": "17",
         "property_dropdown": "choice_a", "property_multiple_checkboxes": "chocolate;strawberry",
         "property_date": "2024-01-01", "property_string": "Hello World", "property_checkbox": "true"},
        {"email": f"grace@{domain}", "firstname": "Grace", "lastname": marker, "property_number": "5",
         "property_dropdown": "choice_b", "property_multiple_checkboxes": "vanilla",
         "property_date": "2001-09-08", "property_string": "hello there", "property_checkbox": "false"},
        {"email": f"alan@{domain}", "firstname": "Alan", "lastname": marker, "property_number": "100.5",
         "property_dropdown": "choice_b", "property_date": "2024-02-01"},
        {"email": f"edsger@{domain}", "firstname": "Edsger", "lastname": marker},
    ]
    recs = [create_contacts(client, [row])[0] for row in rows]
    return {"marker": marker, "domain": domain, "ids": [r.id for r in recs]}


def test_contacts_search_filters_sorts_and_properties(client, search_contacts):
    marker, ids = search_contacts["marker"], search_contacts["ids"]
    mine = flt(C, "lastname", "EQ", marker)
    resp = contact_search(
        client,
        filter_groups=[C.FilterGroup(filters=[mine, flt(C, "property_number", "GT", "9")])],
        sorts=[{"propertyName": "property_number", "direction": "DESCENDING"}],
        properties=["email", "property_number", "property_dropdown"],
        limit=10,
    )
    assert_search_page(resp, C, total=2)
    # Numbers compare and sort as numbers: 100.5 > 17 (> 9 > 5).
    assert [r.id for r in resp.results] == [ids[2], ids[0]]
    assert resp.paging is None, "a single page carries no paging (§7.1)"
    first = resp.results[0].properties
    assert first["property_number"] == "100.5"
    assert first["property_dropdown"] == "choice_b"
    assert first["email"] == f"alan@{search_contacts['domain']}"
    assert first.get("hs_object_id") == ids[2]
    assert "firstname" not in first, "properties not asked for are not returned"

    def ids_for(*groups, **extra):
        r = contact_search(client, filter_groups=[C.FilterGroup(filters=[mine, *g]) for g in groups], limit=100, **extra)
        assert_search_page(r, C)
        assert r.total == len(r.results)
        return [x.id for x in r.results]

    # Every operator, through the client's Filter model.
    assert ids_for([flt(C, "property_number", "EQ", "17")]) == [ids[0]]
    assert ids_for([flt(C, "property_number", "NEQ", "17")]) == [ids[1], ids[2], ids[3]], "NEQ matches unset values"
    assert ids_for([flt(C, "property_number", "LT", "17")]) == [ids[1]]
    assert ids_for([flt(C, "property_number", "LTE", "17")]) == [ids[0], ids[1]]
    assert ids_for([flt(C, "property_number", "GTE", "17")]) == [ids[0], ids[2]]
    assert ids_for([flt(C, "property_number", "BETWEEN", "5", high_value="17")]) == [ids[0], ids[1]]
    assert ids_for([flt(C, "property_dropdown", "IN", values=["choice_a"])]) == [ids[0]]
    assert ids_for([flt(C, "property_dropdown", "NOT_IN", values=["choice_b"])]) == [ids[0], ids[3]]
    assert ids_for([flt(C, "property_multiple_checkboxes", "EQ", "strawberry")]) == [ids[0]]
    assert ids_for([flt(C, "property_number", "HAS_PROPERTY")]) == ids[:3]
    assert ids_for([flt(C, "property_number", "NOT_HAS_PROPERTY")]) == [ids[3]]
    assert ids_for([flt(C, "property_string", "CONTAINS_TOKEN", "HELLO")]) == [ids[0], ids[1]]
    assert ids_for([flt(C, "property_string", "NOT_CONTAINS_TOKEN", "world"),
                    flt(C, "property_string", "HAS_PROPERTY")]) == [ids[1]]
    assert ids_for([flt(C, "property_string", "EQ", "HELLO WORLD")]) == [ids[0]], "strings are case-insensitive"
    assert ids_for([flt(C, "property_date", "LT", "2024-01-01")]) == [ids[1]], "dates compare as instants"
    assert ids_for([flt(C, "property_checkbox", "EQ", "true")]) == [ids[0]]
    assert ids_for([flt(C, "email", "CONTAINS_TOKEN", f"*@{search_contacts['domain']}")]) == ids
    # OR of ANDed groups.
    assert ids_for([flt(C, "property_dropdown", "EQ", "choice_a")],
                   [flt(C, "property_number", "NOT_HAS_PROPERTY")]) == [ids[0], ids[3]]
    # Sorting by a string, ascending and descending.
    assert ids_for([], sorts=[{"propertyName": "firstname", "direction": "ASCENDING"}]) == [ids[0], ids[2], ids[3], ids[1]]
    assert ids_for([], sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}]) == ids[::-1]
    # `query` over the default searchable properties.
    q = contact_search(client, query=marker, limit=100)
    assert_search_page(q, C, total=4)
    assert [r.id for r in q.results] == ids
    assert set(q.results[0].properties) >= {"email", "firstname", "lastname", "hs_object_id"}, "default properties"


def test_contacts_search_sees_updates_at_once(client, search_contacts):
    marker, ids = search_contacts["marker"], search_contacts["ids"]
    value = f"fresh-{tag()}"
    client.crm.contacts.basic_api.update(
        contact_id=ids[3], simple_public_object_input=C.SimplePublicObjectInput(properties={"jobtitle": value})
    )
    resp = contact_search(
        client, filter_groups=[C.FilterGroup(filters=[flt(C, "jobtitle", "EQ", value)])], properties=["jobtitle"]
    )
    assert_search_page(resp, C, total=1)
    assert resp.results[0].id == ids[3] and resp.results[0].properties["jobtitle"] == value


def test_objects_search_generic_api(client, search_contacts):
    marker, ids = search_contacts["marker"], search_contacts["ids"]
    for object_type in ["contacts", "0-1"]:
        resp = client.crm.objects.search_api.do_search(
            object_type=object_type,
            public_object_search_request=O.PublicObjectSearchRequest(
                filter_groups=[O.FilterGroup(filters=[
                    flt(O, "lastname", "EQ", marker),
                    flt(O, "property_number", "IN", values=["5", "100.5"]),
                ])],
                sorts=[{"propertyName": "property_number", "direction": "ASCENDING"}],
                properties=["property_number"],
                limit=10,
            ),
        )
        assert_search_page(resp, O, total=2)
        assert [r.id for r in resp.results] == [ids[1], ids[2]], object_type
        assert [r.properties["property_number"] for r in resp.results] == ["5", "100.5"]
        assert resp.paging is None

    # A type addressed by objectTypeId, with a custom property.
    t = tag()
    recs = create_listings(client, [
        {"hs_name": f"Search A {t}", UNIQUE: f"search-a-{t}", "property_number": "3"},
        {"hs_name": f"Search B {t}", UNIQUE: f"search-b-{t}", "property_number": "30"},
    ])
    resp = client.crm.objects.search_api.do_search(
        object_type=LISTINGS,
        public_object_search_request=O.PublicObjectSearchRequest(
            filter_groups=[O.FilterGroup(filters=[
                flt(O, UNIQUE, "IN", values=[f"search-a-{t}", f"search-b-{t}"]),
                flt(O, "property_number", "GT", "10"),
            ])],
            properties=["hs_name", "property_number"],
        ),
    )
    assert_search_page(resp, O, total=1)
    assert resp.results[0].id == recs[1].id
    assert resp.results[0].properties["hs_name"] == f"Search B {t}"


def test_search_paging_with_after(client):
    marker = f"Pager{tag()}"
    created = create_contacts(client, [{"email": new_email(f"sp{i}"), "lastname": marker} for i in range(7)])
    expected = sorted((r.id for r in created), key=int)
    request = dict(filter_groups=[C.FilterGroup(filters=[flt(C, "lastname", "EQ", marker)])], limit=3)

    first = contact_search(client, **request)
    assert_search_page(first, C, total=7)
    assert [r.id for r in first.results] == expected[:3], "oldest first without sorts"
    assert first.paging is not None and first.paging.next.after == "3", first.paging

    seen, afters, page = [r.id for r in first.results], [], first
    while page.paging is not None:
        afters.append(page.paging.next.after)
        page = contact_search(client, after=page.paging.next.after, **request)
        assert_search_page(page, C, total=7)
        seen.extend(r.id for r in page.results)
        assert len(afters) < 10, "paging does not end"
    assert afters == ["3", "6"]
    assert len(page.results) == 1 and page.paging is None, "the last page carries no paging"
    assert seen == expected

    # The same through the generic objects API, newest first.
    seen, after = [], None
    while True:
        page = client.crm.objects.search_api.do_search(
            object_type="contacts",
            public_object_search_request=O.PublicObjectSearchRequest(
                filter_groups=[O.FilterGroup(filters=[flt(O, "lastname", "EQ", marker)])],
                sorts=[{"propertyName": "hs_object_id", "direction": "DESCENDING"}],
                limit=4, after=after,
            ),
        )
        assert_search_page(page, O, total=7)
        seen.extend(r.id for r in page.results)
        if page.paging is None:
            break
        after = page.paging.next.after
    assert seen == expected[::-1]

    # Archived records leave the results at once.
    client.crm.contacts.basic_api.archive(contact_id=expected[0])
    after_archive = contact_search(client, **{**request, "limit": 100})
    assert_search_page(after_archive, C, total=6)
    assert [r.id for r in after_archive.results] == expected[1:]


@pytest.mark.parametrize("request_kwargs,needle", [
    (dict(filter_groups=[C.FilterGroup(filters=[flt(C, "email", "HAS_PROPERTY")]) for _ in range(6)]), "filter groups"),
    (dict(filter_groups=[C.FilterGroup(filters=[flt(C, "email", "HAS_PROPERTY") for _ in range(7)])]), "filter group"),
    (dict(query="x" * 3001), "3000"),
    (dict(after="10000"), "10000"),
    (dict(filter_groups=[C.FilterGroup(filters=[flt(C, "no_such_property_xyz", "EQ", "1")])]), "no_such_property_xyz"),
    (dict(filter_groups=[C.FilterGroup(filters=[flt(C, "createdate", "GT", "not-a-date")])]), "not-a-date"),
])
def test_search_validation_errors(client, request_kwargs, needle):
    with pytest.raises(C.ApiException) as e:
        contact_search(client, **request_kwargs)
    body = assert_error_envelope(e.value, 400, "VALIDATION_ERROR")
    assert needle in body["message"], body
