//! Custom object schemas (hubspot-behavior-apps.md §40): every operation under each of its
//! prefixes, the answers' shapes, validation, archive and purge, association definitions.

use serde_json::{json, Value};
use spoke_core::PortalId;
use spoke_store::{NewObject, WriteContext, WriteSource};

use crate::harness::TestApp;
use crate::support::{assert_error, keys_at};

const SCOPES: &[&str] = &[
    "crm.schemas.custom.read",
    "crm.schemas.custom.write",
    "crm.objects.custom.read",
    "crm.objects.custom.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
];

const V3: &str = "/crm-object-schemas/v3/schemas";

/// The guide's example body (§40.3), with its `metaType` and `isPrimaryDisplayLabel`.
fn cars() -> Value {
    json!({
        "name": "cars",
        "description": "Cars keep track of cars in the dealership.",
        "labels": {"singular": "Car", "plural": "Cars"},
        "primaryDisplayProperty": "model",
        "secondaryDisplayProperties": ["make"],
        "searchableProperties": ["year", "make", "vin", "model"],
        "requiredProperties": ["year", "make", "vin", "model"],
        "properties": [
            {"name": "condition", "label": "Condition", "type": "enumeration", "fieldType": "select",
             "options": [{"label": "New", "value": "new"}, {"label": "Used", "value": "used"}]},
            {"name": "year", "label": "Year", "type": "number", "fieldType": "number"},
            {"name": "make", "label": "Make"},
            {"name": "model", "label": "Model", "isPrimaryDisplayLabel": true},
            {"name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": true}
        ],
        "associatedObjects": ["CONTACT"],
        "metaType": "PORTAL_SPECIFIC"
    })
}

async fn create_cars(app: &TestApp, t: &str) -> Value {
    let made = app.post(t, V3, cars()).await;
    assert_eq!(made.status, 201, "{}", made.text);
    made.body
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|v| v[key].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_created_schema_is_served_under_every_name_and_prefix() {
    let app = TestApp::spawn().await;
    let portal = 12101;
    let t = app.token(portal, SCOPES).await;
    let made = create_cars(&app, &t).await;
    let id = made["id"].as_str().expect("id").to_owned();
    let number: i64 = id.parse().expect("a numeric id");
    assert!(number >= 1_000_001, "numbers start at the base: {id}");
    let ty = format!("2-{id}");
    assert_eq!(made["objectTypeId"], ty);
    assert_eq!(made["fullyQualifiedName"], format!("p{portal}_cars"));
    assert_eq!(made["name"], "cars");
    assert_eq!(made["metaType"], "PORTAL_SPECIFIC");
    assert_eq!(made["archived"], false);
    assert_eq!(made["labels"], json!({"singular": "Car", "plural": "Cars"}));
    assert_eq!(
        made["requiredProperties"],
        json!(["year", "make", "vin", "model"])
    );

    // Properties: the schema's own, defaulted, in the schema's group, and HubSpot's
    // boilerplate; by name.
    let props = &made["properties"];
    let listed = names(props, "name");
    for p in [
        "condition",
        "make",
        "model",
        "vin",
        "year",
        "hs_object_id",
        "hs_createdate",
    ] {
        assert!(listed.contains(&p.to_owned()), "{p} in {listed:?}");
    }
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted, "by name");
    let make = props
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "make"))
        .expect("make");
    assert_eq!(make["type"], "string");
    assert_eq!(make["fieldType"], "text");
    assert_eq!(make["groupName"], "cars_information");
    assert_eq!(make["displayOrder"], -1);

    // Associations: contacts as asked, and the engagement types every custom object gets.
    let assoc = made["associations"].as_array().expect("associations");
    let to: Vec<String> = names(&made["associations"], "toObjectTypeId");
    for t in ["0-1", "0-46", "0-47", "0-48", "0-49", "0-27", "0-18"] {
        assert!(to.contains(&t.to_owned()), "{t} in {to:?}");
    }
    let contact = assoc
        .iter()
        .find(|a| a["toObjectTypeId"] == "0-1")
        .expect("contact");
    assert_eq!(contact["fromObjectTypeId"], ty);
    assert_eq!(contact["name"], "cars_to_contact");
    let contact_id: i64 = contact["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("id");
    assert!(
        contact_id >= 1001,
        "definitions take user-range ids: {contact_id}"
    );

    // Key order as captured (§40.4).
    let keys = keys_at(&made_text(&app, &t, &ty).await, "");
    let expected = [
        "labels",
        "requiredProperties",
        "searchableProperties",
        "primaryDisplayProperty",
        "secondaryDisplayProperties",
        "description",
        "archived",
        "restorable",
        "allowsSensitiveProperties",
        "metaType",
        "id",
        "fullyQualifiedName",
        "createdAt",
        "updatedAt",
        "objectTypeId",
        "properties",
        "associations",
        "name",
    ];
    assert_eq!(keys, expected);

    // The same schema by every name the schemas path takes, under every prefix.
    for segment in [
        ty.clone(),
        format!("p{portal}_cars"),
        "p_cars".into(),
        "cars".into(),
        "CARS".into(),
    ] {
        for prefix in [
            V3,
            "/crm-object-schemas/2025-09/schemas",
            "/crm-object-schemas/2026-03/schemas",
            "/crm-object-schemas/2026-09/schemas",
            "/crm/v3/schemas",
        ] {
            let got = app.get(&t, &format!("{prefix}/{segment}")).await;
            assert_eq!(got.status, 200, "{prefix}/{segment}: {}", got.text);
            assert_eq!(got.body, made, "{prefix}/{segment}");
        }
    }
    for prefix in [V3, "/crm/v3/schemas", "/crm-object-schemas/2026-03/schemas"] {
        let list = app.get(&t, prefix).await;
        assert_eq!(list.status, 200, "{}", list.text);
        assert_eq!(list.body, json!({"results": [made.clone()]}), "{prefix}");
    }
    let batch = app
        .post(
            &t,
            &format!("{V3}/batch/read"),
            json!({"inputs": [ty, "p_cars", "nope"], "includeAssociationDefinitions": false,
                   "includeAuditMetadata": false, "includePropertyDefinitions": false}),
        )
        .await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    let one = &batch.body["results"];
    assert_eq!(
        one.as_array().map(Vec::len),
        Some(1),
        "once, unknown left out"
    );
    assert_eq!(one[0]["properties"], json!([]));
    assert_eq!(one[0]["associations"], json!([]));
    assert!(one[0].get("createdAt").is_none());
    let slim = app
        .get(&t, &format!("{V3}/{ty}?includePropertyDefinitions=false"))
        .await;
    assert_eq!(slim.body["properties"], json!([]));
    assert_eq!(slim.body["associations"], made["associations"]);

    // Another portal has no such schema, by any name.
    let other = app.token(portal + 1, SCOPES).await;
    for segment in [ty.clone(), format!("p{portal}_cars"), "cars".into()] {
        let got = app.get(&other, &format!("{V3}/{segment}")).await;
        assert_error(
            &got,
            404,
            Some("OBJECT_NOT_FOUND"),
            &format!("Unable to find object type {segment}"),
        );
    }
    let empty = app.get(&other, "/crm/v3/schemas").await;
    assert_eq!(empty.body, json!({"results": []}));
    let limits = app.get(&t, "/crm/v3/limits/custom-object-types").await;
    assert_eq!(limits.status, 200, "{}", limits.text);
    assert_eq!(
        limits.body,
        json!({"limit": 10, "percentage": 10.0, "usage": 1})
    );
}

async fn made_text(app: &TestApp, t: &str, ty: &str) -> String {
    app.get(t, &format!("{V3}/{ty}")).await.text
}

#[tokio::test]
async fn creates_are_validated_before_anything_is_written() {
    let app = TestApp::spawn().await;
    let t = app.token(12102, SCOPES).await;
    let missing = app.post(&t, V3, json!({"name": "boats"})).await;
    assert_error(
        &missing,
        400,
        Some("VALIDATION_ERROR"),
        "Missing required field(s): labels, properties, requiredProperties, associatedObjects",
    );
    let with = |patch: Value| {
        let mut body = cars();
        if let (Some(b), Some(p)) = (body.as_object_mut(), patch.as_object()) {
            for (k, v) in p {
                b.insert(k.clone(), v.clone());
            }
        }
        body
    };
    for (body, message) in [
        (with(json!({"name": "1cars"})), "Invalid object type name \"1cars\": names start with a letter and contain only letters, digits and underscores (at most 100 characters)"),
        (with(json!({"name": "contacts"})), "Invalid object type name \"contacts\": it names one of HubSpot's standard object types"),
        (with(json!({"requiredProperties": ["nope"]})), "requiredProperties names properties that do not exist on this object type: nope"),
        (with(json!({"primaryDisplayProperty": "nope"})), "primaryDisplayProperty names properties that do not exist on this object type: nope"),
        (with(json!({"associatedObjects": ["WIDGET"]})), "Unable to infer object type from: WIDGET"),
        (with(json!({"labels": {"singular": "Car"}})), "Missing required field(s): labels.singular, labels.plural"),
    ] {
        let ans = app.post(&t, V3, body).await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), message);
    }
    let bad_type = app
        .post(
            &t,
            V3,
            with(json!({"properties": [{"name": "x", "label": "X", "type": "widget"}]})),
        )
        .await;
    assert_eq!(bad_type.status, 400, "{}", bad_type.text);
    let not_array = app
        .post(&t, V3, with(json!({"properties": {"name": "x"}})))
        .await;
    assert_eq!(not_array.status, 400, "{}", not_array.text);
    let list = app.get(&t, V3).await;
    assert_eq!(list.body, json!({"results": []}), "nothing was written");

    let made = create_cars(&app, &t).await;
    let again = app.post(&t, V3, with(json!({"name": "CARS"}))).await;
    let existing = made["id"].as_str().unwrap_or_default();
    assert_error(
        &again,
        409,
        Some("CONFLICT"),
        &format!("An object type named CARS already exists (2-{existing}). Purge it with DELETE /crm-object-schemas/v3/schemas/2-{existing}?archived=true before reusing the name"),
    );
    // The portal's limit: ten live schemas.
    for i in 1..10 {
        let ans = app
            .post(&t, V3, with(json!({"name": format!("cars{i}")})))
            .await;
        assert_eq!(ans.status, 201, "{}", ans.text);
    }
    let full = app.post(&t, V3, with(json!({"name": "cars10"}))).await;
    assert_error(
        &full,
        400,
        Some("VALIDATION_ERROR"),
        "This account has reached its limit of 10 custom object types. Delete one before creating another",
    );
}

#[tokio::test]
async fn a_patch_answers_the_object_type_definition() {
    let app = TestApp::spawn().await;
    let portal = 12103;
    let t = app.token(portal, SCOPES).await;
    let made = create_cars(&app, &t).await;
    let ty = made["objectTypeId"].as_str().expect("type").to_owned();
    let patched = app
        .patch(
            &t,
            &format!("{V3}/p_cars"),
            json!({"labels": {"plural": "Autos"}, "requiredProperties": ["vin"],
                   "secondaryDisplayProperties": ["make", "hs_object_id"], "clearDescription": true}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let keys = keys_at(&patched.text, "");
    assert_eq!(
        keys,
        [
            "id",
            "createdAt",
            "updatedAt",
            "labels",
            "requiredProperties",
            "searchableProperties",
            "primaryDisplayProperty",
            "secondaryDisplayProperties",
            "portalId",
            "fullyQualifiedName",
            "objectTypeId",
            "archived",
            "description",
            "allowsSensitiveProperties",
            "name",
        ]
    );
    assert_eq!(
        patched.body["labels"],
        json!({"singular": "Car", "plural": "Autos"})
    );
    assert_eq!(patched.body["requiredProperties"], json!(["vin"]));
    assert_eq!(patched.body["description"], "");
    assert_eq!(patched.body["portalId"], portal);
    let got = app.get(&t, &format!("{V3}/{ty}")).await;
    assert_eq!(got.body["labels"]["plural"], "Autos");
    assert_eq!(
        got.body["secondaryDisplayProperties"],
        json!(["make", "hs_object_id"])
    );
    let bad = app
        .patch(
            &t,
            &format!("{V3}/{ty}"),
            json!({"searchableProperties": ["nope"]}),
        )
        .await;
    assert_error(
        &bad,
        400,
        Some("VALIDATION_ERROR"),
        "searchableProperties names properties that do not exist on this object type: nope",
    );
    let unknown = app.patch(&t, &format!("{V3}/2-1"), json!({})).await;
    assert_error(
        &unknown,
        404,
        Some("OBJECT_NOT_FOUND"),
        "Unable to find object type 2-1",
    );
}

fn ctx(portal: i64, ty: &str) -> WriteContext {
    WriteContext {
        portal: PortalId(portal),
        object_type: ty.to_owned(),
        now: spoke_core::time::now_millis(),
        source: WriteSource {
            source_type: "INTEGRATION".into(),
            source_id: None,
        },
        unique_properties: Vec::new(),
        atomic: false,
    }
}

#[tokio::test]
async fn delete_waits_for_the_records_and_purge_frees_the_name() {
    let app = TestApp::spawn().await;
    let portal = 12104;
    let t = app.token(portal, SCOPES).await;
    let made = create_cars(&app, &t).await;
    let ty = made["objectTypeId"].as_str().expect("type").to_owned();
    let record = NewObject {
        properties: [("model".to_owned(), "T".to_owned())].into(),
        associations: Vec::new(),
    };
    let out = app
        .store
        .create_objects(&ctx(portal, &ty), vec![record])
        .await
        .expect("create");
    let id = out[0].as_ref().expect("a record").id;

    let refused = app.delete(&t, &format!("{V3}/{ty}")).await;
    assert_error(
        &refused,
        409,
        Some("CONFLICT"),
        &format!("Object type {ty} still has 1 record(s). Archive its records before deleting the schema"),
    );
    app.store
        .archive_objects(
            PortalId(portal),
            &ty,
            vec![id],
            spoke_core::time::now_millis(),
        )
        .await
        .expect("archive");
    let gone = app.delete(&t, &format!("{V3}/cars")).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(gone.text, "");
    let missing = app.get(&t, &format!("{V3}/{ty}")).await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let live = app.get(&t, V3).await;
    assert_eq!(live.body, json!({"results": []}));
    let archived = app.get(&t, &format!("{V3}?archived=true")).await;
    assert_eq!(
        names(&archived.body["results"], "objectTypeId"),
        std::slice::from_ref(&ty)
    );
    assert_eq!(archived.body["results"][0]["archived"], true);
    let taken = app.post(&t, V3, cars()).await;
    assert_eq!(
        taken.status, 409,
        "an archived schema keeps its name: {}",
        taken.text
    );

    let purged = app.delete(&t, &format!("{V3}/{ty}?archived=true")).await;
    assert_eq!(purged.status, 204, "{}", purged.text);
    let archived = app.get(&t, &format!("{V3}?archived=true")).await;
    assert_eq!(archived.body, json!({"results": []}));
    let again = create_cars(&app, &t).await;
    let (old, new) = (
        made["id"].as_str().and_then(|i| i.parse::<i64>().ok()),
        again["id"].as_str().and_then(|i| i.parse::<i64>().ok()),
    );
    assert!(
        new > old,
        "the name is free, the number is not reused: {old:?} then {new:?}"
    );

    // The older purge path, on a live schema without records.
    let ty = again["objectTypeId"].as_str().expect("type").to_owned();
    let purged = app.delete(&t, &format!("/crm/v3/schemas/{ty}/purge")).await;
    assert_eq!(purged.status, 204, "{}", purged.text);
    let none = app.delete(&t, &format!("/crm/v3/schemas/{ty}/purge")).await;
    assert_eq!(none.status, 404, "{}", none.text);
}

#[tokio::test]
async fn association_definitions_are_created_and_deleted() {
    let app = TestApp::spawn().await;
    let t = app.token(12105, SCOPES).await;
    let made = create_cars(&app, &t).await;
    let ty = made["objectTypeId"].as_str().expect("type").to_owned();
    let path = format!("{V3}/{ty}/associations");
    let created = app
        .post(
            &t,
            &path,
            json!({"fromObjectTypeId": ty, "toObjectTypeId": "companies"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        keys_at(&created.text, ""),
        [
            "id",
            "fromObjectTypeId",
            "toObjectTypeId",
            "name",
            "createdAt",
            "updatedAt"
        ]
    );
    assert_eq!(
        created.body["toObjectTypeId"], "0-2",
        "the answer gives the target's id"
    );
    assert_eq!(created.body["name"], "cars_to_company");
    let id = created.body["id"].as_str().expect("id").to_owned();
    let ids = names(&made["associations"], "id");
    assert!(!ids.contains(&id), "a fresh type id: {id} after {ids:?}");
    let got = app.get(&t, &format!("{V3}/{ty}")).await;
    assert!(names(&got.body["associations"], "id").contains(&id));
    let dup = app
        .post(
            &t,
            &path,
            json!({"fromObjectTypeId": ty, "toObjectTypeId": "0-2"}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    let wrong = app
        .post(
            &t,
            &path,
            json!({"fromObjectTypeId": "0-1", "toObjectTypeId": "0-2"}),
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.text);
    let missing = app.post(&t, &path, json!({"toObjectTypeId": "0-2"})).await;
    assert_error(
        &missing,
        400,
        Some("VALIDATION_ERROR"),
        "Missing required field(s): fromObjectTypeId, toObjectTypeId",
    );

    let deleted = app.delete(&t, &format!("{path}/{id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let again = app.delete(&t, &format!("{path}/{id}")).await;
    assert_eq!(again.status, 404, "{}", again.text);
    let got = app.get(&t, &format!("{V3}/{ty}")).await;
    assert!(!names(&got.body["associations"], "id").contains(&id));
}

#[tokio::test]
async fn schema_operations_need_the_specs_scopes() {
    let app = TestApp::spawn().await;
    let reader = app.token(12106, &["crm.objects.custom.read"]).await;
    let list = app.get(&reader, "/crm/v3/schemas").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let write = app.post(&reader, V3, cars()).await;
    assert_eq!(write.status, 403, "{}", write.text);
    assert_eq!(write.body["category"], "MISSING_SCOPES");
    let none = app.token(12106, &["crm.objects.contacts.read"]).await;
    let refused = app.get(&none, "/crm/v3/schemas").await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(
        refused.body["errors"][0]["context"]["requiredGranularScopes"],
        json!([
            "crm.schemas.custom.read",
            "crm.objects.custom.sensitive.read.v2",
            "crm.objects.custom.highly_sensitive.read.v2",
            "crm.objects.custom.read"
        ])
    );
}

/// The associations of one record to one type, as v4 lists them: (to id, [(category,
/// type id, label)]).
async fn v4_links(app: &TestApp, t: &str, from: &str, id: &str, to: &str) -> Value {
    let got = app
        .get(t, &format!("/crm/v4/objects/{from}/{id}/associations/{to}"))
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    got.body["results"].clone()
}

#[tokio::test]
async fn custom_records_associate_through_their_schemas_definitions() {
    let app = TestApp::spawn().await;
    let portal = 12107;
    let mut scopes = SCOPES.to_vec();
    scopes.extend([
        "crm.objects.companies.read",
        "crm.objects.companies.write",
        "crm.objects.notes.read",
        "crm.objects.notes.write",
    ]);
    let t = app.token(portal, &scopes).await;
    let made = create_cars(&app, &t).await;
    let ty = made["objectTypeId"].as_str().expect("type").to_owned();
    let def = made["associations"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["toObjectTypeId"] == "0-1"))
        .expect("to contacts")
        .clone();
    let type_id: i64 = def["id"].as_str().and_then(|i| i.parse().ok()).expect("id");

    // The pair's labels list the definition as its unlabeled USER_DEFINED type, both ways.
    let labels = app
        .get(&t, &format!("/crm/v4/associations/{ty}/contacts/labels"))
        .await;
    assert_eq!(labels.status, 200, "{}", labels.text);
    assert_eq!(
        labels.body,
        json!({"results": [{"category": "USER_DEFINED", "typeId": type_id, "label": null}]})
    );
    let back = app
        .get(&t, "/crm/v4/associations/contacts/p_cars/labels")
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
    let inverse = back.body["results"][0]["typeId"].as_i64().expect("inverse");
    assert_ne!(inverse, type_id);

    let contact =
        crate::support::create_one(&app, &t, "contacts", json!({"email": "driver@example.com"}))
            .await;
    let car = app
        .post(
            &t,
            &format!("/crm/v3/objects/{ty}"),
            json!({"properties": {"year": "2020", "make": "VW", "vin": "V1", "model": "Golf"}}),
        )
        .await;
    assert_eq!(car.status, 201, "{}", car.text);
    let car = car.body["id"].as_str().expect("id").to_owned();

    // The default association is the definition.
    let put = app
        .call(
            axum::http::Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/{ty}/{car}/associations/default/contacts/{contact}"),
            None,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(
        v4_links(&app, &t, &ty, &car, "contacts").await,
        json!([{"toObjectId": contact.parse::<i64>().unwrap_or_default(), "associationTypes": [
            {"category": "USER_DEFINED", "typeId": type_id, "label": null}]}])
    );
    let from_contact = v4_links(&app, &t, "contacts", &contact, "p_cars").await;
    assert_eq!(from_contact[0]["associationTypes"][0]["typeId"], inverse);

    // A record created with an inline association to a custom record, by the definition's
    // type id.
    let inline = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "passenger@example.com"}, "associations": [
                {"to": {"id": car}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": inverse}]}]}),
        )
        .await;
    assert_eq!(inline.status, 201, "{}", inline.text);
    let passenger = inline.body["id"].as_str().expect("id").to_owned();
    let riders = v4_links(&app, &t, &ty, &car, "contacts").await;
    let ids: Vec<String> = riders
        .as_array()
        .map(|a| a.iter().map(|r| r["toObjectId"].to_string()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&passenger), "{riders}");

    // v3 names it with the bare names.
    let types = app
        .get(&t, &format!("/crm/v3/associations/contacts/{ty}/types"))
        .await;
    assert_eq!(types.status, 200, "{}", types.text);
    assert_eq!(
        types.body,
        json!({"results": [{"id": inverse.to_string(), "name": "contact_to_cars"}]})
    );

    // A label between the custom type and contacts takes a fresh id and links too.
    let label = app
        .post(
            &t,
            &format!("/crm/v4/associations/{ty}/contacts/labels"),
            json!({"label": "Driver", "name": "driver"}),
        )
        .await;
    assert_eq!(label.status, 200, "{}", label.text);
    let driver = label.body["results"][0]["typeId"]
        .as_i64()
        .expect("label id");
    assert!(driver > type_id.max(inverse));
    let labelled = app
        .call(
            axum::http::Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/{ty}/{car}/associations/contacts/{contact}"),
            Some(json!([{"associationCategory": "USER_DEFINED", "associationTypeId": driver}])),
        )
        .await;
    assert_eq!(labelled.status, 201, "{}", labelled.text);
    let links = v4_links(&app, &t, &ty, &car, "contacts").await;
    assert_eq!(
        links[0]["associationTypes"].as_array().map(Vec::len),
        Some(2),
        "{links}"
    );

    // Every custom object is associated with the engagement types: a note takes the
    // definition its schema made as its default.
    let note_def = made["associations"]
        .as_array()
        .and_then(|a| a.iter().find(|d| d["toObjectTypeId"] == "0-46"))
        .and_then(|d| d["id"].as_str())
        .and_then(|i| i.parse::<i64>().ok())
        .expect("a definition to notes");
    let note = crate::support::create_one(
        &app,
        &t,
        "notes",
        json!({"hs_timestamp": "2024-01-01T00:00:00Z", "hs_note_body": "Serviced"}),
    )
    .await;
    let linked = app
        .call(
            axum::http::Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/{ty}/{car}/associations/default/notes/{note}"),
            None,
        )
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    let notes = v4_links(&app, &t, &ty, &car, "notes").await;
    assert_eq!(notes[0]["associationTypes"][0]["typeId"], note_def);

    // A pair without a definition has no default.
    let company =
        crate::support::create_one(&app, &t, "companies", json!({"name": "Garage"})).await;
    let none = app
        .call(
            axum::http::Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/{ty}/{car}/associations/default/companies/{company}"),
            None,
        )
        .await;
    assert_eq!(none.status, 400, "{}", none.text);

    // Deleting the definition removes its links; the label's stay.
    let id = def["id"].as_str().expect("id");
    let deleted = app
        .delete(&t, &format!("{V3}/{ty}/associations/{id}"))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let links = v4_links(&app, &t, &ty, &car, "contacts").await;
    assert_eq!(
        links[0]["associationTypes"],
        json!([{"category": "USER_DEFINED", "typeId": driver, "label": "Driver"}])
    );

    // Another portal has no such type.
    let other = app.token(portal + 1, &scopes).await;
    let foreign = app
        .get(
            &other,
            &format!("/crm/v4/associations/{ty}/contacts/labels"),
        )
        .await;
    assert_eq!(foreign.status, 400, "{}", foreign.text);
}
