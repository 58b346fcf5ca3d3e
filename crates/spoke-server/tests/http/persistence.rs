//! Storage behaviour seen over HTTP: a failed batch leaves no trace, and everything
//! survives a restart over the same database file.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::*;

async fn snapshot(app: &TestApp, t: &str) -> Value {
    let ids = list_all_ids(app, t, "contacts", false).await;
    let archived = list_all_ids(app, t, "contacts", true).await;
    let read = app
        .post(
            t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": ids.iter().map(|i| json!({"id": i})).collect::<Vec<_>>(),
                   "properties": ["email", "firstname", "phone"],
                   "propertiesWithHistory": ["firstname"]}),
        )
        .await;
    let mut records: Vec<Value> = read.body["results"].as_array().cloned().unwrap_or_default();
    records.sort_by_key(|r| r["id"].as_str().map(str::to_owned));
    json!({"ids": ids, "archived": archived, "records": records})
}

#[tokio::test]
async fn failed_create_batches_leave_no_trace() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["taken@example.com"]).await;
    let before = snapshot(&app, &t).await;

    // A conflict late in the batch: the earlier inputs must be rolled back.
    let conflict = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "first@example.com", "firstname": "F"}},
                {"properties": {"email": "second@example.com"}},
                {"properties": {"email": "taken@example.com"}}
            ]}),
        )
        .await;
    assert_eq!(conflict.status, 409, "{}", conflict.text);
    assert_eq!(snapshot(&app, &t).await, before);
    let by_email = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "first@example.com"}, {"id": "second@example.com"}], "idProperty": "email"}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&by_email);
    assert!(
        results.is_empty(),
        "rolled back inputs are not readable by email"
    );
    assert_eq!(
        errors[0]["context"]["ids"],
        json!(["first@example.com", "second@example.com"])
    );

    // The rolled back emails are free.
    let again = create_contacts(&app, &t, &["first@example.com", "second@example.com"]).await;
    assert_eq!(again.len(), 2);
    assert!(!again.contains(&ids[0]));

    // Duplicates inside one batch.
    let before = snapshot(&app, &t).await;
    let dup = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "twin@example.com"}},
                {"properties": {"email": "TWIN@example.com"}}
            ]}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    assert_eq!(dup.body["category"], "CONFLICT");
    assert_eq!(snapshot(&app, &t).await, before);
}

#[tokio::test]
async fn failed_update_and_upsert_batches_leave_no_trace() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(
        &app,
        &t,
        &["a@example.com", "b@example.com", "c@example.com"],
    )
    .await;
    let before = snapshot(&app, &t).await;

    // A conflict on the last input: the first two updates must not stick.
    let update = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"firstname": "changed", "phone": "1"}},
                {"id": ids[1], "properties": {"email": "moved@example.com"}},
                {"id": ids[2], "properties": {"email": "a@example.com"}}
            ]}),
        )
        .await;
    assert_eq!(update.status, 409, "{}", update.text);
    assert_eq!(snapshot(&app, &t).await, before, "no update applied");
    let moved = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "moved@example.com"}, {"id": "b@example.com"}], "idProperty": "email"}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&moved);
    assert_eq!(ids_of(results), vec![ids[1].clone()]);
    assert_eq!(errors[0]["context"]["ids"], json!(["moved@example.com"]));

    // Validation failure in an upsert: no creates and no updates.
    let upsert = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "up"}},
                {"id": "brand-new@example.com", "idProperty": "email", "properties": {"firstname": "n"}},
                {"id": "c@example.com", "idProperty": "email", "properties": {"no_such_prop": "x"}}
            ]}),
        )
        .await;
    assert_eq!(upsert.status, 400, "{}", upsert.text);
    assert_eq!(snapshot(&app, &t).await, before, "no upsert applied");

    // A validation failure in an update batch.
    let invalid = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"firstname": "x"}},
                {"id": ids[1], "properties": {"hs_object_id": "1"}}
            ]}),
        )
        .await;
    assert_eq!(invalid.status, 400, "{}", invalid.text);
    assert_eq!(snapshot(&app, &t).await, before);
}

#[tokio::test]
async fn failed_unique_property_batches_leave_no_trace() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "erp_code", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
    let first = create_one(&app, &t, "companies", json!({"erp_code": "E1"})).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": [
                {"properties": {"erp_code": "E2", "name": "two"}},
                {"properties": {"erp_code": "E1", "name": "clash"}}
            ]}),
        )
        .await;
    assert_error(
        &ans,
        409,
        Some("CONFLICT"),
        &format!(
            "A company with erp_code \"E1\" already exists; erp_code has unique values. Existing ID: {first}"
        ),
    );
    assert_eq!(
        list_all_ids(&app, &t, "companies", false).await,
        vec![first]
    );
    let read = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/read",
            json!({"inputs": [{"id": "E2"}], "idProperty": "erp_code"}),
        )
        .await;
    assert_eq!(read.status, 207, "{}", read.text);
}

#[tokio::test]
async fn everything_survives_a_restart() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let t2 = app.token(2, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "member_no", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
    let ids = create_contacts(
        &app,
        &t,
        &["keep@example.com", "gone@example.com", "hist@example.com"],
    )
    .await;
    let upd = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"member_no": "M-1", "firstname": "Keep"}},
                {"id": ids[2], "properties": {"firstname": "v1"}}
            ]}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    let upd2 = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{}", ids[2]),
            json!({"properties": {"firstname": "v2"}}),
        )
        .await;
    assert_eq!(upd2.status, 200);
    let del = app
        .delete(&t, &format!("/crm/v3/objects/contacts/{}", ids[1]))
        .await;
    assert_eq!(del.status, 204);
    let other = create_contacts(&app, &t2, &["keep@example.com"]).await;
    let before = snapshot(&app, &t).await;
    let before_archived = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{}?archived=true", ids[1]),
        )
        .await;

    let app = app.restart().await;

    assert_eq!(
        snapshot(&app, &t).await,
        before,
        "records, history and archive state persist"
    );
    let archived = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{}?archived=true", ids[1]),
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(
        archived.body["archivedAt"],
        before_archived.body["archivedAt"]
    );

    let hist = &before["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["id"] == json!(ids[2]))
        .expect("hist record")["propertiesWithHistory"]["firstname"];
    let values: Vec<&str> = hist
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["value"].as_str().expect("v"))
        .collect();
    assert_eq!(values, ["v2", "v1"]);

    // The custom unique property, its index and the email index survived.
    let by_member = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "M-1"}], "idProperty": "member_no", "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(assert_batch_ok(&by_member, 200)[0]["id"], json!(ids[0]));
    let dup = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "keep@example.com"}}),
        )
        .await;
    assert_error(
        &dup,
        409,
        Some("CONFLICT"),
        &format!("Contact already exists. Existing ID: {}", ids[0]),
    );
    let prop = app.get(&t, "/crm/v3/properties/contacts/member_no").await;
    assert_eq!(prop.status, 200);
    assert_eq!(prop.body["hasUniqueValue"], true);
    let group = app
        .get(&t, "/crm/v3/properties/contacts/groups/spoke_tests")
        .await;
    assert_eq!(group.status, 200, "{}", group.text);

    // Tokens, portals and ids continue.
    assert_eq!(list_all_ids(&app, &t2, "contacts", false).await, other);
    let fresh = create_contacts(&app, &t, &["new@example.com"]).await;
    let max_before = ids
        .iter()
        .chain(&other)
        .map(|i| i.parse::<i64>().expect("n"))
        .max();
    assert!(
        fresh[0].parse::<i64>().expect("n") > max_before.expect("max"),
        "ids are never reused"
    );
}
