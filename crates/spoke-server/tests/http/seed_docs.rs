//! The requests of the five seed docs (/work/shared/reference/seed-docs), with the seed
//! docs' example properties created through the properties API first. Partner records are
//! loaded straight through the store, as `spoke import` does.

use serde_json::{json, Map, Value};

use crate::harness::TestApp;
use crate::support::*;

const UNIQUE: &str = "my_unique_property_name";

async fn seed_type(app: &TestApp, t: &str, ty: &str) {
    create_seed_properties(app, t, ty).await;
    must_create_property(
        app,
        t,
        ty,
        json!({"name": UNIQUE, "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
}

/// `seed_values()` plus extra entries.
fn seed_with(extra: &[(&str, &str)]) -> Value {
    let mut v = seed_values();
    let m = v.as_object_mut().expect("object");
    for (k, val) in extra {
        m.insert((*k).to_owned(), json!(val));
    }
    v
}

/// The properties of a record minus the computed id/date ones.
fn own_properties(record: &Value) -> Map<String, Value> {
    let mut m = record["properties"]
        .as_object()
        .expect("properties")
        .clone();
    for k in [
        "hs_object_id",
        "hs_createdate",
        "hs_lastmodifieddate",
        "createdate",
        "lastmodifieddate",
    ] {
        m.remove(k);
    }
    m
}

/// The seed response's record: archived, createdAt, id, properties, updatedAt.
fn assert_seed_record(text: &str, path: &str, r: &Value) {
    assert_record_shape(text, path, r);
    assert_eq!(r["archived"], false);
    assert!(r.get("archivedAt").is_none());
    let id: i64 = r["id"].as_str().expect("id").parse().expect("numeric id");
    assert!(id > 0);
}

/// seed-docs/000: POST /crm/v3/objects/partner_services/batch/read with `properties`,
/// `propertiesWithHistory` and `idProperty`.
#[tokio::test]
async fn seed_000_partner_services_batch_read() {
    let app = TestApp::spawn().await;
    let t = app
        .token(
            1,
            &[
                "crm.objects.partner-services.read",
                "crm.schemas.custom.read",
                "crm.schemas.custom.write",
            ],
        )
        .await;
    seed_type(&app, &t, "partner_services").await;
    let ids = import_records(
        &app,
        1,
        "partner_services",
        &[UNIQUE],
        vec![
            seed_with(&[(UNIQUE, "svc-430001")]),
            json!({UNIQUE: "svc-2"}),
        ],
    )
    .await;

    // By record id.
    let by_id = app
        .post(
            &t,
            "/crm/v3/objects/partner_services/batch/read",
            json!({"inputs": [{"id": ids[0]}], "properties": SEED_NAMES,
                   "propertiesWithHistory": ["property_string", "property_number"]}),
        )
        .await;
    let results = assert_batch_ok(&by_id, 200);
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_seed_record(&by_id.text, "results/0", r);
    assert_eq!(r["id"], json!(ids[0]));
    assert_eq!(Value::Object(own_properties(r)), seed_values());
    assert_eq!(
        prop_names(r),
        [
            "hs_createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "property_checkbox",
            "property_date",
            "property_dropdown",
            "property_multiple_checkboxes",
            "property_number",
            "property_radio",
            "property_string"
        ]
    );
    let hist = &r["propertiesWithHistory"];
    assert_eq!(
        hist["property_string"],
        json!([{"value": "value", "timestamp": r["createdAt"], "sourceType": "IMPORT", "sourceId": "seed.jsonl"}])
    );
    assert_eq!(hist["property_number"][0]["value"], "17");
    assert_eq!(
        keys_at(&by_id.text, "results/0"),
        [
            "id",
            "properties",
            "propertiesWithHistory",
            "createdAt",
            "updatedAt",
            "archived"
        ]
    );

    // By the custom unique property, as the seed doc's `idProperty` does.
    let by_unique = app
        .post(
            &t,
            "/crm/v3/objects/partner_services/batch/read",
            json!({"inputs": [{"id": "svc-430001"}], "properties": SEED_NAMES,
                   "propertiesWithHistory": ["property_string"], "idProperty": UNIQUE}),
        )
        .await;
    let results = assert_batch_ok(&by_unique, 200);
    assert_eq!(results[0]["id"], json!(ids[0]));
    assert_eq!(Value::Object(own_properties(&results[0])), seed_values());

    // The seed doc's literal id, which does not exist here.
    let missing = app
        .post(
            &t,
            "/crm/v3/objects/partner_services/batch/read",
            json!({"inputs": [{"id": "430001"}, {"id": ids[1]}], "properties": SEED_NAMES}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&missing);
    assert_eq!(ids_of(results), vec![ids[1].clone()]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(errors[0]["context"]["ids"], json!(["430001"]));
    assert_eq!(
        errors[0]["message"],
        "Could not get some PARTNER_SERVICE objects, they may be deleted or not exist. Check that ids are valid."
    );

    // Without `properties`: the partner types' defaults.
    let defaults = app
        .post(
            &t,
            "/crm/v3/objects/partner_services/batch/read",
            json!({"inputs": [{"id": ids[0]}]}),
        )
        .await;
    assert_eq!(
        prop_names(&assert_batch_ok(&defaults, 200)[0]),
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );
}

/// seed-docs/002: POST /crm/v3/objects/partner_clients/batch/update with
/// `idProperty: my_unique_property_name` and `objectWriteTraceId`.
#[tokio::test]
async fn seed_002_partner_clients_batch_update_by_unique_property() {
    let app = TestApp::spawn().await;
    let admin = app.token(1, &["all"]).await;
    seed_type(&app, &admin, "partner_clients").await;
    let ids = import_records(
        &app,
        1,
        "partner_clients",
        &[UNIQUE],
        vec![
            json!({UNIQUE: "client-a", "property_string": "old"}),
            json!({UNIQUE: "client-b"}),
        ],
    )
    .await;
    let t = app.token(1, &["crm.objects.partner-clients.write"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/partner_clients/batch/update",
            json!({"inputs": [
                {"id": "client-a", "properties": seed_values(), "idProperty": UNIQUE, "objectWriteTraceId": "trace-a"},
                {"id": "client-b", "properties": {"property_number": "18"}, "idProperty": UNIQUE, "objectWriteTraceId": "trace-b"}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results.len(), 2);
    for (i, r) in results.iter().enumerate() {
        assert_seed_record(&ans.text, &format!("results/{i}"), r);
    }
    let a = results
        .iter()
        .find(|r| r["id"] == json!(ids[0]))
        .expect("client-a");
    assert_eq!(
        Value::Object(own_properties(a)),
        seed_with(&[(UNIQUE, "client-a")])
    );
    let b = results
        .iter()
        .find(|r| r["id"] == json!(ids[1]))
        .expect("client-b");
    assert_eq!(
        Value::Object(own_properties(b)),
        json!({UNIQUE: "client-b", "property_number": "18"})
    );
    assert!(instant_of(a, "updatedAt") >= instant_of(a, "createdAt"));

    // History: the API write on top of the import.
    let read = app
        .post(
            &admin,
            "/crm/v3/objects/partner_clients/batch/read",
            json!({"inputs": [{"id": ids[0]}], "propertiesWithHistory": ["property_string"]}),
        )
        .await;
    let hist = &assert_batch_ok(&read, 200)[0]["propertiesWithHistory"]["property_string"];
    let sources: Vec<(&str, &str)> = hist
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["value"].as_str().expect("v"),
                h["sourceType"].as_str().expect("s"),
            )
        })
        .collect();
    assert_eq!(sources, [("value", "API"), ("old", "IMPORT")]);

    // An unknown unique value: 207, one OBJECT_NOT_FOUND carrying the value and the trace id.
    let partial = app
        .post(
            &t,
            "/crm/v3/objects/partner_clients/batch/update",
            json!({"inputs": [
                {"id": "client-a", "properties": {"property_radio": "option_2"}, "idProperty": UNIQUE, "objectWriteTraceId": "t1"},
                {"id": "client-zzz", "properties": {"property_radio": "option_2"}, "idProperty": UNIQUE, "objectWriteTraceId": "t2"}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&partial);
    assert_eq!(results.len(), 1);
    assert_eq!(prop(&results[0], "property_radio"), "option_2");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(errors[0]["context"]["ids"], json!(["client-zzz"]));
    assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["t2"]));

    // Changing the unique value to one another record holds is refused.
    let clash = app
        .post(
            &t,
            "/crm/v3/objects/partner_clients/batch/update",
            json!({"inputs": [{"id": ids[1], "properties": {UNIQUE: "client-a"}}]}),
        )
        .await;
    assert_error(
        &clash,
        409,
        Some("CONFLICT"),
        &format!(
            "A partner_client with {UNIQUE} \"client-a\" already exists; {UNIQUE} has unique values. Existing ID: {}",
            ids[0]
        ),
    );
}

/// seed-docs/003: POST /crm/v3/objects/{objectType}/batch/create for every type that
/// HubSpot lets the public API create, with the seed docs' properties.
#[tokio::test]
async fn seed_003_batch_create_any_object_type() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for ty in [
        "contacts",
        "companies",
        "deals",
        "tickets",
        "products",
        "line_items",
        "0-420",
    ] {
        create_seed_properties(&app, &t, ty).await;
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/{ty}/batch/create"),
                json!({"inputs": [
                    {"properties": seed_values(), "objectWriteTraceId": "trace-1"},
                    {"properties": {"property_string": "second"}}
                ]}),
            )
            .await;
        let results = assert_batch_ok(&ans, 201);
        assert_eq!(results.len(), 2, "{ty}");
        for (i, r) in results.iter().enumerate() {
            assert_seed_record(&ans.text, &format!("results/{i}"), r);
            assert_eq!(prop(r, "hs_object_id"), &r["id"], "{ty}");
        }
        let first = results
            .iter()
            .find(|r| prop(r, "property_string") == "value")
            .unwrap_or_else(|| panic!("{ty}: {}", ans.text));
        assert_eq!(Value::Object(own_properties(first)), seed_values(), "{ty}");
        let read = app
            .post(
                &t,
                &format!("/crm/v3/objects/{ty}/batch/read"),
                json!({"inputs": [{"id": first["id"]}], "properties": SEED_NAMES}),
            )
            .await;
        assert_eq!(
            Value::Object(own_properties(&assert_batch_ok(&read, 200)[0])),
            seed_values(),
            "{ty}"
        );
    }
}

/// seed-docs/003 with its `associations` block: the record is created together with the
/// association (hubspot-behavior.md §3.7).
#[tokio::test]
async fn seed_003_batch_create_with_associations() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let company = create_one(&app, &t, "companies", json!({"name": "Acme"})).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{
                "associations": [{"to": {"id": company},
                                  "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
                "properties": {"email": "assoc@example.com"},
                "objectWriteTraceId": "trace"
            }]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 201);
    assert_eq!(prop(&results[0], "email"), "assoc@example.com");

    // A target that does not exist fails the whole call (§3.8).
    let bad = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{
                "associations": [{"to": {"id": "115455488855059"},
                                  "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}],
                "properties": {"email": "nobody@example.com"}
            }]}),
        )
        .await;
    assert_error(
        &bad,
        400,
        Some("VALIDATION_ERROR"),
        "One or more associations are invalid",
    );
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 1);
}

/// seed-docs/004: POST /crm/v3/objects/0-420/batch/update with
/// `idProperty: my_unique_property_name`.
#[tokio::test]
async fn seed_004_listings_batch_update_by_unique_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    seed_type(&app, &t, "0-420").await;
    let created = app
        .post(
            &t,
            "/crm/v3/objects/0-420/batch/create",
            json!({"inputs": [
                {"properties": {UNIQUE: "L-1", "hs_name": "Villa"}},
                {"properties": {UNIQUE: "L-2"}}
            ]}),
        )
        .await;
    let created = assert_batch_ok(&created, 201);
    let id_of = |key: &str| {
        created
            .iter()
            .find(|r| prop(r, UNIQUE) == key)
            .map(|r| r["id"].clone())
            .expect("created listing")
    };
    let (l1, l2) = (id_of("L-1"), id_of("L-2"));

    let w = app.token(1, &["crm.objects.listings.write"]).await;
    let ans = app
        .post(
            &w,
            "/crm/v3/objects/0-420/batch/update",
            json!({"inputs": [
                {"id": "L-1", "properties": seed_values(), "idProperty": UNIQUE, "objectWriteTraceId": "a"},
                {"id": "L-2", "properties": {"property_date": "2019-10-31"}, "idProperty": UNIQUE, "objectWriteTraceId": "b"}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results.len(), 2);
    let r1 = results.iter().find(|r| r["id"] == l1).expect("L-1");
    assert_seed_record(&ans.text, "results/0", &results[0]);
    assert_eq!(
        Value::Object(own_properties(r1)),
        seed_with(&[(UNIQUE, "L-1"), ("hs_name", "Villa")])
    );
    let r2 = results.iter().find(|r| r["id"] == l2).expect("L-2");
    assert_eq!(prop(r2, "property_date"), "1572480000000");

    // The same through the type's name, and the update is visible to reads.
    let again = app
        .post(
            &w,
            "/crm/v3/objects/listings/batch/update",
            json!({"inputs": [{"id": "L-2", "properties": {"property_multiple_checkboxes": "vanilla"}, "idProperty": UNIQUE}]}),
        )
        .await;
    assert_eq!(assert_batch_ok(&again, 200)[0]["id"], l2);
    let read = app
        .post(
            &t,
            "/crm/v3/objects/0-420/batch/read",
            json!({"inputs": [{"id": "L-2"}], "idProperty": UNIQUE, "properties": ["property_multiple_checkboxes", "property_date"]}),
        )
        .await;
    let r = &assert_batch_ok(&read, 200)[0];
    assert_eq!(prop(r, "property_multiple_checkboxes"), "vanilla");
    assert_eq!(prop(r, "property_date"), "1572480000000");

    // A non-unique idProperty is refused with HubSpot's message.
    let non_unique = app
        .post(
            &w,
            "/crm/v3/objects/0-420/batch/update",
            json!({"inputs": [{"id": "Villa", "properties": {}, "idProperty": "hs_name"}]}),
        )
        .await;
    assert_error(
        &non_unique,
        400,
        Some("VALIDATION_ERROR"),
        "Unable to perform update/upsert by non-unique 0-420 property hs_name",
    );
}
