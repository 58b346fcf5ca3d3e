"""Custom objects (issue 12) driven by HubSpot's official Python client (hubspot-api-client),
only its host changed: a portal defines a custom object type through `client.crm.schemas.core_api`
(create, get_all, get_by_id, update, archive, purge, associations create/archive), then
creates, reads, lists, searches, updates, upserts, associates and archives its records through
the generic `client.crm.objects` and `client.crm.associations.v4` APIs, addressing the type as
`2-{n}`, `p{portal}_{name}` and `p_{name}`. A second portal must not see any of it.

Expected values follow shared/reference/hubspot-behavior-apps.md §40 (cited "§40.n") and
hubspot-behavior.md §1.4 for the default properties of a custom record. Where the reference
says [I] (error bodies of a refused schema delete, association categories), the test checks
only what every reasonable choice shares (a 4xx in HubSpot's error envelope; the category the
server itself reports) and leaves the choice to docs/compatibility.md.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

import hubspot.crm.associations.v4 as A4
import hubspot.crm.objects as O
import hubspot.crm.schemas as S

SCOPES = [
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
]
OTHER_PORTAL = 424243

# §40.4: the key order of a schema in HubSpot's answers (captured). The user ids are absent
# when no user made the change (a private app's token), so they are optional here.
SCHEMA_KEYS = [
    "labels", "requiredProperties", "searchableProperties", "primaryDisplayProperty",
    "secondaryDisplayProperties", "description", "archived", "restorable", "metaType", "id",
    "fullyQualifiedName", "createdAt", "updatedAt", "createdByUserId", "updatedByUserId",
    "objectTypeId", "properties", "associations", "name",
]
OPTIONAL_SCHEMA_KEYS = {"createdByUserId", "updatedByUserId"}
# §40.8 / hubspot-behavior.md §1.4: a custom record's properties when none are asked for.
DEFAULT_PROPERTIES = {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}


def tag() -> str:
    return uuid.uuid4().hex[:8]


def describe(obj) -> str:
    if obj is None:
        return "the client returned None: spoke answered a 2xx status the client does not map for this call"
    return f"got {type(obj).__module__}.{type(obj).__name__}: {obj!r}"


def error_body(exc) -> dict:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        return json.loads(body)
    except (TypeError, ValueError):
        pytest.fail(f"error body is not JSON (HTTP {exc.status}): {body!r}")


def assert_error(exc, statuses, category: str | None = None) -> dict:
    statuses = (statuses,) if isinstance(statuses, int) else statuses
    assert exc.status in statuses, f"expected HTTP {statuses}, got {exc.status}: {exc.body!r}"
    body = error_body(exc)
    assert body.get("status") == "error", body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("correlationId"), str) and body["correlationId"], body
    if category is not None:
        assert body.get("category") == category, body
    return body


def raw_json(resp) -> dict:
    """The body of a call made with `_preload_content=False`, keys in the order sent."""
    assert 200 <= resp.status < 300, f"HTTP {resp.status}: {resp.data!r}"
    return json.loads(resp.data)


def car_egg(name: str, associated=("CONTACT",)) -> S.ObjectSchemaEgg:
    """The schemas guide's example type (§40.3): cars with a required model, a unique VIN."""
    return S.ObjectSchemaEgg(
        name=name,
        labels=S.ObjectTypeDefinitionLabels(singular="Car", plural="Cars"),
        description="Cars the dealership sells",
        primary_display_property="model",
        secondary_display_properties=["year"],
        required_properties=["model"],
        searchable_properties=["model", "vin"],
        associated_objects=list(associated),
        properties=[
            S.ObjectTypePropertyCreate(name="model", label="Model", type="string", field_type="text"),
            S.ObjectTypePropertyCreate(name="year", label="Year", type="number", field_type="number"),
            S.ObjectTypePropertyCreate(
                name="color", label="Color", type="enumeration", field_type="select",
                options=[
                    S.OptionInput(label="Red", value="red", display_order=0, hidden=False),
                    S.OptionInput(label="Blue", value="blue", display_order=1, hidden=False),
                ],
            ),
            S.ObjectTypePropertyCreate(name="vin", label="VIN", type="string", field_type="text", has_unique_value=True),
        ],
    )


def assert_schema(schema, portal: int, name: str):
    assert isinstance(schema, S.ObjectSchema), describe(schema)
    assert isinstance(schema.id, str) and schema.id.isdigit(), schema.id
    assert schema.object_type_id == f"2-{schema.id}", schema  # §40.4
    assert schema.fully_qualified_name == f"p{portal}_{name}", schema
    assert schema.name == name
    assert schema.labels.singular == "Car" and schema.labels.plural == "Cars", schema.labels
    assert schema.required_properties == ["model"], schema
    assert schema.primary_display_property == "model", schema
    assert schema.secondary_display_properties == ["year"], schema
    assert isinstance(schema.created_at, dt.datetime) and isinstance(schema.updated_at, dt.datetime), schema
    props = {p.name: p for p in schema.properties}
    for p in ("model", "year", "color", "vin"):
        assert p in props, f"property {p} missing from the schema's properties: {sorted(props)}"
        # §40.4: properties made through the schema are in `{name}_information`.
        assert props[p].group_name == f"{name}_information", props[p]
    assert props["year"].type == "number" and props["year"].field_type == "number", props["year"]
    assert [o.value for o in props["color"].options] == ["red", "blue"], props["color"]
    assert props["vin"].has_unique_value is True, props["vin"]
    return props


def contact_links(schema) -> list:
    return [a for a in schema.associations if a.from_object_type_id == schema.object_type_id and a.to_object_type_id == "0-1"]


@pytest.fixture(scope="module")
def cc(spoke):
    """A client whose token has the custom-object scopes."""
    return spoke.client(spoke.create_token(SCOPES))


@pytest.fixture(scope="module")
def cars(cc, spoke):
    """One custom type, created once for the record tests: (schema, its name)."""
    name = f"cars_{tag()}"
    schema = cc.crm.schemas.core_api.create(object_schema_egg=car_egg(name))
    assert_schema(schema, spoke.portal, name)
    return schema, name


def new_contact(cc) -> str:
    rec = cc.crm.objects.basic_api.create(
        object_type="contacts",
        simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(
            properties={"email": f"car-owner-{tag()}@example.com", "firstname": "Owner"}
        ),
    )
    return rec.id


def create_cars(cc, object_type: str, props_list: list[dict]) -> list:
    resp = cc.crm.objects.batch_api.create(
        object_type=object_type,
        batch_input_simple_public_object_batch_input_for_create=O.BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[O.SimplePublicObjectBatchInputForCreate(properties=p) for p in props_list]
        ),
    )
    assert isinstance(resp, O.BatchResponseSimplePublicObject), describe(resp)
    assert resp.status == "COMPLETE" and len(resp.results) == len(props_list), resp
    by_vin = {r.properties.get("vin"): r for r in resp.results}
    return [by_vin[p["vin"]] for p in props_list]


# ---------------------------------------------------------------------------------------------
# the schema
# ---------------------------------------------------------------------------------------------


def test_schema_create_answers_the_object_schema(cc, spoke, cars):
    schema, name = cars
    links = contact_links(schema)
    assert len(links) == 1, f"one association definition to contacts expected (associatedObjects CONTACT): {schema.associations}"
    assert links[0].id.isdigit(), links[0]


def test_schema_get_by_id_by_every_name_and_key_order(cc, spoke, cars):
    schema, name = cars
    core = cc.crm.schemas.core_api
    for key in (schema.object_type_id, schema.fully_qualified_name):
        got = core.get_by_id(object_type=key)
        assert isinstance(got, S.ObjectSchema), describe(got)
        assert got.id == schema.id and got.object_type_id == schema.object_type_id, (key, got)
        assert_schema(got, spoke.portal, name)
    raw = raw_json(core.get_by_id(object_type=schema.object_type_id, _preload_content=False))
    keys = list(raw)
    missing = [k for k in SCHEMA_KEYS if k not in raw and k not in OPTIONAL_SCHEMA_KEYS]
    assert not missing, f"keys missing from the schema: {missing}; got {keys}"
    # The spec's ObjectSchema also lists allowsSensitiveProperties, which the capture lacks.
    extra = [k for k in keys if k not in SCHEMA_KEYS and k != "allowsSensitiveProperties"]
    assert not extra, f"keys HubSpot does not send: {extra}"
    keys = [k for k in keys if k in SCHEMA_KEYS]
    assert keys == [k for k in SCHEMA_KEYS if k in raw], f"key order {keys}, HubSpot's (§40.4) {SCHEMA_KEYS}"
    assert raw["metaType"] == "PORTAL_SPECIFIC" and isinstance(raw["restorable"], bool), raw
    assert raw["id"] == schema.id and raw["objectTypeId"] == f"2-{schema.id}", raw
    for k in OPTIONAL_SCHEMA_KEYS & set(raw):
        assert raw[k] is None or isinstance(raw[k], int), (k, raw[k])
    # ISO-8601 UTC with milliseconds (§40.4).
    for k in ("createdAt", "updatedAt"):
        assert raw[k].endswith("Z") and len(raw[k]) == len("2024-05-30T00:20:28.745Z"), (k, raw[k])


def test_schema_get_all_lists_it_without_paging(cc, cars):
    schema, _ = cars
    core = cc.crm.schemas.core_api
    listed = core.get_all()
    assert isinstance(listed, S.CollectionResponseObjectSchemaNoPaging), describe(listed)
    mine = [s for s in listed.results if s.id == schema.id]
    assert len(mine) == 1 and mine[0].fully_qualified_name == schema.fully_qualified_name, listed.results
    assert mine[0].archived is False
    raw = raw_json(core.get_all(_preload_content=False))
    assert list(raw) == ["results"], f"the list is {{results}} only, no paging (§40.1): {list(raw)}"
    archived = core.get_all(archived=True)
    assert all(s.id != schema.id for s in archived.results), "a live schema is not in the archived list"


def test_schema_update_answers_an_object_type_definition(cc, spoke, cars):
    schema, name = cars
    core = cc.crm.schemas.core_api
    patch = S.ObjectTypeDefinitionPatch(
        searchable_properties=["model", "vin", "color"],
        secondary_display_properties=["year", "color"],
        description="Cars, new and used",
    )
    updated = core.update(object_type=schema.fully_qualified_name, object_type_definition_patch=patch)
    assert isinstance(updated, S.ObjectTypeDefinition), describe(updated)
    assert updated.id == schema.id and updated.name == name, updated
    assert updated.object_type_id == schema.object_type_id, updated
    assert updated.fully_qualified_name == schema.fully_qualified_name, updated
    assert updated.searchable_properties == ["model", "vin", "color"], updated
    assert updated.secondary_display_properties == ["year", "color"], updated
    assert updated.description == "Cars, new and used", updated
    assert updated.updated_at >= schema.updated_at, updated
    raw = raw_json(core.update(object_type=schema.object_type_id, object_type_definition_patch=S.ObjectTypeDefinitionPatch(
        description="Cars, new and used"), _preload_content=False))
    # §40.4: PATCH answers an ObjectTypeDefinition, without properties and associations.
    assert "properties" not in raw and "associations" not in raw, list(raw)
    again = core.get_by_id(object_type=schema.object_type_id)
    assert again.description == "Cars, new and used" and again.searchable_properties == ["model", "vin", "color"], again


def test_schema_association_definitions_create_and_archive(cc, cars):
    schema, _ = cars
    core = cc.crm.schemas.core_api
    made = core.create_association(
        object_type=schema.object_type_id,
        association_definition_egg=S.AssociationDefinitionEgg(
            from_object_type_id=schema.object_type_id, to_object_type_id="0-2", name=f"car_to_company_{tag()}"
        ),
    )
    assert isinstance(made, S.AssociationDefinition), describe(made)
    assert made.id.isdigit() and made.from_object_type_id == schema.object_type_id and made.to_object_type_id == "0-2", made
    listed = core.get_by_id(object_type=schema.object_type_id).associations
    assert made.id in {a.id for a in listed}, listed
    contact_ids = {a.id for a in contact_links(schema)}
    assert made.id not in contact_ids, "a new association definition gets a new type id"
    gone = core.archive_association(object_type=schema.object_type_id, association_identifier=made.id)
    assert gone is None, describe(gone)
    listed = core.get_by_id(object_type=schema.object_type_id).associations
    assert made.id not in {a.id for a in listed}, listed
    assert contact_ids <= {a.id for a in listed}, "the contact association definition is still there"


def test_schema_reads_need_a_custom_scope(spoke):
    limited = spoke.client(spoke.create_token(["crm.objects.contacts.read"]))
    with pytest.raises(S.ApiException) as e:
        limited.crm.schemas.core_api.get_all()
    body = assert_error(e.value, 403, "MISSING_SCOPES")
    required = set()
    for err in body.get("errors", []):
        context = err.get("context") or {}
        # hubspot-behavior.md §2.5: `requiredGranularScopes` today, `requiredScopes` before 2024.
        required |= set(context.get("requiredGranularScopes", [])) | set(context.get("requiredScopes", []))
    # §40.7: either scope is enough to read schemas.
    assert {"crm.objects.custom.read", "crm.schemas.custom.read"} <= required, body


def test_schema_writes_need_the_schemas_write_scope(spoke):
    reader = spoke.client(spoke.create_token(["crm.schemas.custom.read", "crm.objects.custom.write"]))
    with pytest.raises(S.ApiException) as e:
        reader.crm.schemas.core_api.create(object_schema_egg=car_egg(f"nope_{tag()}"))
    assert_error(e.value, 403, "MISSING_SCOPES")


# ---------------------------------------------------------------------------------------------
# records of the custom type
# ---------------------------------------------------------------------------------------------


def test_records_create_read_by_every_type_name(cc, spoke, cars):
    schema, name = cars
    basic = cc.crm.objects.basic_api
    rec = basic.create(
        object_type=schema.object_type_id,
        simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(
            properties={"model": "Model T", "year": "1925", "color": "red", "vin": f"VIN-T-{tag()}"}
        ),
    )
    assert isinstance(rec, O.SimplePublicObject), describe(rec)
    assert rec.id.isdigit() and rec.archived is False, rec
    assert rec.properties["model"] == "Model T" and rec.properties["hs_object_id"] == rec.id, rec.properties
    for key in (schema.object_type_id, schema.fully_qualified_name, f"p_{name}"):
        got = basic.get_by_id(object_type=key, object_id=rec.id, properties=["model", "year", "color"])
        assert isinstance(got, O.SimplePublicObjectWithAssociations), describe(got)
        assert got.id == rec.id, (key, got)
        assert (got.properties["model"], got.properties["year"], got.properties["color"]) == ("Model T", "1925", "red"), (key, got.properties)
    plain = basic.get_by_id(object_type=schema.object_type_id, object_id=rec.id)
    assert set(plain.properties) == DEFAULT_PROPERTIES, f"default properties of a custom record (§1.4): {plain.properties}"


def test_records_required_property_is_enforced(cc, cars):
    schema, _ = cars
    with pytest.raises(O.ApiException) as e:
        cc.crm.objects.basic_api.create(
            object_type=schema.object_type_id,
            simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(properties={"year": "2001"}),
        )
    body = assert_error(e.value, 400, "VALIDATION_ERROR")
    assert "model" in json.dumps(body), f"the error names the missing required property: {body}"


def test_records_batch_list_search_update_upsert(cc, cars):
    schema, name = cars
    t = tag()
    fqn, type_id = schema.fully_qualified_name, schema.object_type_id
    made = create_cars(cc, type_id, [
        {"model": f"Beetle {t}", "year": "1968", "color": "blue", "vin": f"VIN-B-{t}"},
        {"model": f"Mini {t}", "year": "2019", "color": "red", "vin": f"VIN-M-{t}"},
        {"model": f"Tesla {t}", "year": "2023", "color": "red", "vin": f"VIN-S-{t}"},
    ])
    ids = [r.id for r in made]

    read = cc.crm.objects.batch_api.read(
        object_type=fqn,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=i) for i in ids], properties=["model", "year"], properties_with_history=[]
        ),
    )
    assert isinstance(read, O.BatchResponseSimplePublicObject), describe(read)
    assert {r.id: r.properties["model"] for r in read.results} == {ids[0]: f"Beetle {t}", ids[1]: f"Mini {t}", ids[2]: f"Tesla {t}"}

    by_vin = cc.crm.objects.batch_api.read(
        object_type=type_id,
        batch_read_input_simple_public_object_id=O.BatchReadInputSimplePublicObjectId(
            inputs=[O.SimplePublicObjectId(id=f"VIN-M-{t}")], id_property="vin", properties=["model"], properties_with_history=[]
        ),
    )
    assert [r.id for r in by_vin.results] == [ids[1]], by_vin

    seen, after, pages = {}, None, 0
    while True:
        page = cc.crm.objects.basic_api.get_page(object_type=f"p_{name}", limit=2, after=after, properties=["model"])
        assert isinstance(page, O.CollectionResponseSimplePublicObjectWithAssociationsForwardPaging), describe(page)
        assert len(page.results) <= 2
        seen.update({r.id: r.properties["model"] for r in page.results})
        pages += 1
        if page.paging is None or page.paging.next is None:
            break
        after = page.paging.next.after
        assert pages < 50, "paging does not end"
    assert set(ids) <= set(seen) and pages >= 2, (ids, seen, pages)

    search = cc.crm.objects.search_api.do_search(
        object_type=type_id,
        public_object_search_request=O.PublicObjectSearchRequest(
            filter_groups=[O.FilterGroup(filters=[
                O.Filter(property_name="year", operator="GTE", value="2019"),
                O.Filter(property_name="vin", operator="IN", values=[f"VIN-B-{t}", f"VIN-M-{t}", f"VIN-S-{t}"]),
            ])],
            sorts=[{"propertyName": "year", "direction": "DESCENDING"}],
            properties=["model", "year"],
            limit=10,
        ),
    )
    assert isinstance(search, O.CollectionResponseWithTotalSimplePublicObjectForwardPaging), describe(search)
    assert search.total == 2 and [r.id for r in search.results] == [ids[2], ids[1]], search
    # `query` searches the schema's searchableProperties (here model and vin).
    query = cc.crm.objects.search_api.do_search(
        object_type=fqn, public_object_search_request=O.PublicObjectSearchRequest(query=f"Beetle {t}", properties=["model"]),
    )
    assert [r.id for r in query.results] == [ids[0]], query

    updated = cc.crm.objects.basic_api.update(
        object_type=type_id, object_id=ids[0],
        simple_public_object_input=O.SimplePublicObjectInput(properties={"color": "red", "year": "1969"}),
    )
    assert isinstance(updated, O.SimplePublicObject), describe(updated)
    assert updated.properties["year"] == "1969" and updated.properties["color"] == "red", updated.properties
    batch_updated = cc.crm.objects.batch_api.update(
        object_type=fqn,
        batch_input_simple_public_object_batch_input=O.BatchInputSimplePublicObjectBatchInput(inputs=[
            O.SimplePublicObjectBatchInput(id=ids[1], properties={"model": f"Mini Cooper {t}"}),
        ]),
    )
    assert [r.properties["model"] for r in batch_updated.results] == [f"Mini Cooper {t}"], batch_updated

    # Upsert by the schema's unique property: one existing, one new.
    upserted = cc.crm.objects.batch_api.upsert(
        object_type=type_id,
        batch_input_simple_public_object_batch_input_upsert=O.BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
            O.SimplePublicObjectBatchInputUpsert(id=f"VIN-S-{t}", id_property="vin", properties={"model": f"Model 3 {t}"}),
            O.SimplePublicObjectBatchInputUpsert(id=f"VIN-N-{t}", id_property="vin", properties={"model": f"New {t}"}),
        ]),
    )
    assert isinstance(upserted, O.BatchResponseSimplePublicUpsertObject), describe(upserted)
    assert sorted((r.new, r.id == ids[2]) for r in upserted.results) == [(False, True), (True, False)], (
        f"VIN-S-{t} updates {ids[2]}, VIN-N-{t} is new: {upserted.results}"
    )
    check = cc.crm.objects.basic_api.get_by_id(object_type=type_id, object_id=ids[2], properties=["model"])
    assert check.properties["model"] == f"Model 3 {t}", check.properties

    with pytest.raises(O.ApiException) as e:
        create_cars(cc, type_id, [{"model": "Dup", "vin": f"VIN-B-{t}"}])
    assert_error(e.value, (400, 409))


def test_records_associate_with_contacts_v4(cc, cars):
    schema, _ = cars
    type_id, fqn = schema.object_type_id, schema.fully_qualified_name
    forward = contact_links(schema)[0].id
    (car,) = create_cars(cc, type_id, [{"model": "Assoc", "vin": f"VIN-A-{tag()}"}])
    c1, c2 = new_contact(cc), new_contact(cc)
    basic = cc.crm.associations.v4.basic_api

    default = basic.create_default(from_object_type=type_id, from_object_id=car.id, to_object_type="contacts", to_object_id=c1)
    assert isinstance(default, A4.BatchResponsePublicDefaultAssociation), describe(default)
    assert default.status == "COMPLETE", default
    pairs = {(r._from.id, r.to.id): r.association_spec for r in default.results}
    assert set(pairs) == {(car.id, c1), (c1, car.id)}, f"the default association both ways: {default.results}"
    assert pairs[(car.id, c1)].association_type_id == int(forward), (
        f"the car -> contact type id is the schema's association definition id {forward}: {pairs[(car.id, c1)]}"
    )
    category = pairs[(car.id, c1)].association_category
    assert category in ("HUBSPOT_DEFINED", "USER_DEFINED"), category

    page = basic.get_page(fqn, car.id, "contacts")
    assert isinstance(page, A4.CollectionResponseMultiAssociatedObjectWithLabelForwardPaging), describe(page)
    assert [str(r.to_object_id) for r in page.results] == [c1], page
    assert (category, int(forward)) in {(t.category, t.type_id) for t in page.results[0].association_types}, page
    back = basic.get_page("contacts", c1, type_id)
    assert [str(r.to_object_id) for r in back.results] == [car.id], back

    # The same type, named through the labelled create.
    labelled = basic.create(object_type=type_id, object_id=car.id, to_object_type="contacts", to_object_id=c2,
                            association_spec=[A4.AssociationSpec(association_category=category, association_type_id=int(forward))])
    assert isinstance(labelled, A4.LabelsBetweenObjectPair), describe(labelled)
    assert labelled.from_object_type_id == type_id and labelled.to_object_type_id == "0-1", labelled
    assert {str(r.to_object_id) for r in basic.get_page(type_id, car.id, "contacts").results} == {c1, c2}

    # v3-style `associations=` on a contact read: keyed by the fullyQualifiedName (§40.2).
    contact = cc.crm.objects.basic_api.get_by_id(object_type="contacts", object_id=c1, associations=[type_id])
    assert contact.associations is not None and fqn in contact.associations, contact.associations
    assert [a.id for a in contact.associations[fqn].results] == [car.id], contact.associations

    assert basic.archive(type_id, car.id, "contacts", c2) is None
    assert {str(r.to_object_id) for r in basic.get_page(type_id, car.id, "contacts").results} == {c1}


def test_records_archive(cc, cars):
    schema, _ = cars
    type_id = schema.object_type_id
    a, b, c = create_cars(cc, type_id, [{"model": f"Gone {i}", "vin": f"VIN-G{i}-{tag()}"} for i in range(3)])
    assert cc.crm.objects.basic_api.archive(object_type=type_id, object_id=a.id) is None
    with pytest.raises(O.ApiException) as e:
        cc.crm.objects.basic_api.get_by_id(object_type=type_id, object_id=a.id)
    assert_error(e.value, 404)
    gone = cc.crm.objects.batch_api.archive(
        object_type=schema.fully_qualified_name,
        batch_input_simple_public_object_id=O.BatchInputSimplePublicObjectId(inputs=[O.SimplePublicObjectId(id=b.id), O.SimplePublicObjectId(id=c.id)]),
    )
    assert gone is None, describe(gone)
    archived = cc.crm.objects.basic_api.get_by_id(object_type=type_id, object_id=b.id, archived=True)
    assert archived.archived is True and archived.archived_at is not None, archived


# ---------------------------------------------------------------------------------------------
# another portal, and the end of a schema
# ---------------------------------------------------------------------------------------------


def other_portal_client(spoke):
    token = spoke.cli(
        "token", "create", "--database", spoke.database, "--portal", str(OTHER_PORTAL), "--scopes", ",".join(SCOPES)
    ).stdout.strip()
    return spoke.client(token)


def test_another_portal_does_not_see_the_type(spoke, cars):
    schema, name = cars
    other = other_portal_client(spoke)
    listed = other.crm.schemas.core_api.get_all()
    assert all(s.id != schema.id and s.name != name for s in listed.results), listed
    for key in (schema.object_type_id, schema.fully_qualified_name):
        with pytest.raises(S.ApiException) as e:
            other.crm.schemas.core_api.get_by_id(object_type=key)
        assert_error(e.value, (400, 404))
    for key in (schema.object_type_id, f"p_{name}", schema.fully_qualified_name):
        with pytest.raises(O.ApiException) as e:
            other.crm.objects.basic_api.get_page(object_type=key)
        assert_error(e.value, 400)
        with pytest.raises(O.ApiException) as e:
            other.crm.objects.basic_api.create(
                object_type=key,
                simple_public_object_input_for_create=O.SimplePublicObjectInputForCreate(properties={"model": "Intruder"}),
            )
        assert_error(e.value, 400)


def test_schema_archive_refused_with_records_then_archive_and_purge(cc, spoke):
    core = cc.crm.schemas.core_api
    name = f"boats_{tag()}"
    schema = core.create(object_schema_egg=car_egg(name))
    assert isinstance(schema, S.ObjectSchema), describe(schema)
    (rec,) = create_cars(cc, schema.object_type_id, [{"model": "Dinghy", "vin": f"VIN-D-{tag()}"}])

    # §40.1: records must be deleted first.
    with pytest.raises(S.ApiException) as e:
        core.archive(object_type=schema.object_type_id)
    assert_error(e.value, (400, 409))
    assert core.get_by_id(object_type=schema.object_type_id).archived is False

    assert cc.crm.objects.basic_api.archive(object_type=schema.object_type_id, object_id=rec.id) is None
    assert core.archive(object_type=schema.fully_qualified_name) is None
    assert all(s.id != schema.id for s in core.get_all().results), "an archived schema leaves the live list"
    archived = [s for s in core.get_all(archived=True).results if s.id == schema.id]
    assert len(archived) == 1 and archived[0].archived is True, archived
    # Contract of issue 12: an archived type no longer resolves for records.
    with pytest.raises(O.ApiException) as e:
        cc.crm.objects.basic_api.get_page(object_type=schema.object_type_id)
    assert_error(e.value, 400)

    # §40.1: the name is free again only after a purge (DELETE ?archived=true).
    with pytest.raises(S.ApiException) as e:
        core.create(object_schema_egg=car_egg(name))
    assert_error(e.value, (400, 409))
    assert core.archive(object_type=schema.object_type_id, archived=True) is None
    assert all(s.id != schema.id for s in core.get_all(archived=True).results), "a purged schema is gone"
    again = core.create(object_schema_egg=car_egg(name))
    assert isinstance(again, S.ObjectSchema), describe(again)
    # §40.5: numbers are never reused.
    assert again.id != schema.id and again.fully_qualified_name == schema.fully_qualified_name, (again.id, schema.id)
    assert core.archive(object_type=again.object_type_id) is None
    assert core.archive(object_type=again.object_type_id, archived=True) is None
