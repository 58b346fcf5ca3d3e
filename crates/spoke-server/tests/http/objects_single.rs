//! Objects v3 single-record endpoints: POST, GET, PATCH, DELETE.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::support::*;

#[tokio::test]
async fn create_one_answers_201_with_the_record() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "Ann@Example.com", "firstname": "Ann"}}),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_json_content_type(&ans);
    let r = &ans.body;
    assert_record_shape(&ans.text, "", r);
    assert_eq!(r["archived"], false);
    assert!(r.get("archivedAt").is_none());
    assert!(r.get("new").is_none(), "only upserts carry `new`: {r}");
    assert_eq!(prop(r, "email"), "ann@example.com");
    assert_eq!(prop(r, "firstname"), "Ann");
    assert_eq!(prop(r, "hs_object_id"), &r["id"]);
    assert!(r["properties"]
        .as_object()
        .expect("props")
        .values()
        .all(Value::is_string));
    let id: i64 = r["id"].as_str().expect("id").parse().expect("numeric id");
    assert!(id > 0);
}

#[tokio::test]
async fn create_one_duplicate_email_is_409() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"email": "a@example.com"})).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@EXAMPLE.com"}}),
        )
        .await;
    assert_error(
        &ans,
        409,
        Some("CONFLICT"),
        &format!("Contact already exists. Existing ID: {id}"),
    );
}

#[tokio::test]
async fn create_one_invalid_property_is_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"testproperty": "x"}}),
        )
        .await;
    let body = assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        r#"Property values were not valid: [{"isValid":false,"message":"Property \"testproperty\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"testproperty"}]"#,
    );
    assert_eq!(body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
}

#[tokio::test]
async fn read_one_default_and_requested_properties() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "deals",
        json!({"dealname": "Big", "amount": "1000", "description": "d"}),
    )
    .await;
    let ans = app.get(&t, &format!("/crm/v3/objects/deals/{id}")).await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_json_content_type(&ans);
    assert_record_shape(&ans.text, "", &ans.body);
    assert_eq!(
        prop_names(&ans.body),
        [
            "amount",
            "closedate",
            "createdate",
            "dealname",
            "dealstage",
            "hs_lastmodifieddate",
            "hs_object_id",
            "pipeline"
        ]
    );
    assert_eq!(prop(&ans.body, "amount"), "1000");
    assert_eq!(prop(&ans.body, "closedate"), &Value::Null);

    let some = app
        .get(
            &t,
            &format!("/crm/v3/objects/deals/{id}?properties=description&properties=dealname"),
        )
        .await;
    assert_eq!(
        prop_names(&some.body),
        [
            "createdate",
            "dealname",
            "description",
            "hs_lastmodifieddate",
            "hs_object_id"
        ]
    );
    let comma = app
        .get(
            &t,
            &format!("/crm/v3/objects/deals/{id}?properties=description,dealname"),
        )
        .await;
    assert_eq!(comma.body["properties"], some.body["properties"]);
}

#[tokio::test]
async fn read_one_per_type_defaults() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let cases: [(&str, &[&str]); 6] = [
        (
            "companies",
            &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
        ),
        (
            "tickets",
            &[
                "content",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "hs_pipeline",
                "hs_pipeline_stage",
                "hs_ticket_category",
                "hs_ticket_priority",
                "subject",
            ],
        ),
        (
            "products",
            &[
                "createdate",
                "description",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
                "price",
            ],
        ),
        (
            "line_items",
            &[
                "amount",
                "createdate",
                "hs_lastmodifieddate",
                "hs_object_id",
                "price",
                "quantity",
            ],
        ),
        (
            "listings",
            &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        ),
        (
            "0-420",
            &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        ),
    ];
    for (ty, defaults) in cases {
        let id = create_one(&app, &t, ty, json!({})).await;
        let ans = app.get(&t, &format!("/crm/v3/objects/{ty}/{id}")).await;
        assert_eq!(ans.status, 200, "{ty}: {}", ans.text);
        assert_eq!(prop_names(&ans.body), defaults, "{ty}");
        assert_eq!(prop(&ans.body, "hs_object_id"), &json!(id));
    }
}

#[tokio::test]
async fn read_one_with_history_and_id_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "contacts",
        json!({"email": "h@example.com", "firstname": "A"}),
    )
    .await;
    let upd = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "B"}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    let ans = app
        .get(
            &t,
            "/crm/v3/objects/contacts/H@example.com?idProperty=email&propertiesWithHistory=firstname",
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(ans.body["id"], json!(id));
    assert_record_shape(&ans.text, "", &ans.body);
    let hist: Vec<&str> = ans.body["propertiesWithHistory"]["firstname"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["value"].as_str().expect("value"))
        .collect();
    assert_eq!(hist, ["B", "A"]);
    assert_eq!(
        ans.body["propertiesWithHistory"]["firstname"][0]["sourceType"],
        "API"
    );
}

#[tokio::test]
async fn read_one_missing_numeric_id_is_bare_404() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app.get(&t, "/crm/v3/objects/contacts/171596044869").await;
    assert_error(&ans, 404, None, "resource not found");
    assert_eq!(
        keys_at(&ans.text, ""),
        ["status", "message", "correlationId"]
    );
}

#[tokio::test]
async fn read_one_non_numeric_id_is_object_not_found() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app.get(&t, "/crm/v3/objects/contacts/abc").await;
    let body = assert_error(
        &ans,
        404,
        Some("OBJECT_NOT_FOUND"),
        "Object not found.  objectId are usually numeric.",
    );
    assert_eq!(body["context"], json!({"id": ["abc"]}));
}

#[tokio::test]
async fn patch_one_updates_and_returns_the_record() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "tickets",
        json!({"subject": "Broken", "hs_ticket_priority": "LOW"}),
    )
    .await;
    let ans = app
        .patch(
            &t,
            &format!("/crm/v3/objects/tickets/{id}"),
            json!({"properties": {"hs_ticket_priority": "HIGH", "content": "more"}}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_json_content_type(&ans);
    assert_record_shape(&ans.text, "", &ans.body);
    assert_eq!(prop(&ans.body, "hs_ticket_priority"), "HIGH");
    assert_eq!(prop(&ans.body, "subject"), "Broken");
    assert_eq!(prop(&ans.body, "content"), "more");
    let read = app.get(&t, &format!("/crm/v3/objects/ticket/{id}")).await;
    assert_eq!(prop(&read.body, "hs_ticket_priority"), "HIGH");
}

#[tokio::test]
async fn patch_one_missing_is_404_and_invalid_is_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let missing = app
        .patch(
            &t,
            "/crm/v3/objects/contacts/424242",
            json!({"properties": {"firstname": "x"}}),
        )
        .await;
    assert_error(&missing, 404, None, "resource not found");

    let id = create_one(&app, &t, "contacts", json!({"firstname": "keep"})).await;
    let invalid = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "changed", "hs_object_id": "5"}}),
        )
        .await;
    assert_eq!(invalid.status, 400, "{}", invalid.text);
    assert_eq!(invalid.body["errors"][0]["code"], "READ_ONLY_VALUE");
    let read = app.get(&t, &format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(prop(&read.body, "firstname"), "keep");
}

#[tokio::test]
async fn delete_one_archives() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "companies", json!({"name": "Gone"})).await;
    let del = app
        .delete(&t, &format!("/crm/v3/objects/companies/{id}"))
        .await;
    assert_eq!(del.status, 204, "{}", del.text);
    assert!(del.text.is_empty());
    assert!(del.headers.contains_key("x-hubspot-correlation-id"));

    let read = app
        .get(&t, &format!("/crm/v3/objects/companies/{id}"))
        .await;
    assert_error(&read, 404, None, "resource not found");

    let archived = app
        .get(&t, &format!("/crm/v3/objects/companies/{id}?archived=true"))
        .await;
    assert_eq!(archived.status, 200, "{}", archived.text);
    assert_eq!(archived.body["archived"], true);
    assert!(archived.body["archivedAt"]
        .as_str()
        .is_some_and(is_iso_millis));
    assert_record_shape(&archived.text, "", &archived.body);
    assert_eq!(
        keys_at(&archived.text, ""),
        [
            "id",
            "properties",
            "createdAt",
            "updatedAt",
            "archived",
            "archivedAt"
        ]
    );

    let live_only = app
        .get(
            &t,
            &format!("/crm/v3/objects/companies/{id}?archived=false"),
        )
        .await;
    assert_eq!(live_only.status, 404);

    let patch = app
        .patch(
            &t,
            &format!("/crm/v3/objects/companies/{id}"),
            json!({"properties": {"name": "x"}}),
        )
        .await;
    assert_eq!(
        patch.status, 404,
        "archived records cannot be patched: {}",
        patch.text
    );

    // Unknown and already archived ids: still 204.
    for path in [
        format!("/crm/v3/objects/companies/{id}"),
        "/crm/v3/objects/companies/99999999".to_owned(),
    ] {
        assert_eq!(app.delete(&t, &path).await.status, 204);
    }
}

#[tokio::test]
async fn single_endpoints_accept_singular_names_and_type_ids() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "0-420", json!({"hs_name": "Villa"})).await;
    for segment in ["listings", "listing", "0-420", "LISTINGS"] {
        let ans = app
            .get(
                &t,
                &format!("/crm/v3/objects/{segment}/{id}?properties=hs_name"),
            )
            .await;
        assert_eq!(ans.status, 200, "{segment}: {}", ans.text);
        assert_eq!(prop(&ans.body, "hs_name"), "Villa");
    }
}

#[tokio::test]
async fn partner_records_can_be_read_and_patched() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = import_records(
        &app,
        1,
        "partner_services",
        &[],
        vec![json!({"hs_name": "Svc"})],
    )
    .await;
    let read = app
        .get(
            &t,
            &format!(
                "/crm/v3/objects/partner_services/{}?properties=hs_name",
                ids[0]
            ),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(prop(&read.body, "hs_name"), "Svc");
    let default = app
        .get(&t, &format!("/crm/v3/objects/partner_service/{}", ids[0]))
        .await;
    assert_eq!(
        prop_names(&default.body),
        ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
    );
    let patch = app
        .patch(
            &t,
            &format!("/crm/v3/objects/partner_services/{}", ids[0]),
            json!({"properties": {"hs_status": "active"}}),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    assert_eq!(prop(&patch.body, "hs_status"), "active");
    assert_eq!(prop(&patch.body, "hs_name"), "Svc");
}

#[tokio::test]
async fn archived_true_does_not_return_live_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"firstname": "Live"})).await;
    let ans = app
        .get(&t, &format!("/crm/v3/objects/contacts/{id}?archived=true"))
        .await;
    assert_error(&ans, 404, None, "resource not found");
    let del = app
        .delete(&t, &format!("/crm/objects/2026-03/contacts/{id}"))
        .await;
    assert_eq!(del.status, 204, "{}", del.text);
    let gone = app.get(&t, &format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(gone.status, 404);
}

#[tokio::test]
async fn patch_one_by_id_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"email": "by@example.com"})).await;
    let ans = app
        .patch(
            &t,
            "/crm/v3/objects/contacts/BY@example.com?idProperty=email",
            json!({"properties": {"firstname": "By"}}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_eq!(ans.body["id"], json!(id));
    assert_eq!(prop(&ans.body, "firstname"), "By");
    let missing = app
        .patch(
            &t,
            "/crm/v3/objects/contacts/nobody@example.com?idProperty=email",
            json!({"properties": {"firstname": "x"}}),
        )
        .await;
    assert_error(&missing, 404, None, "resource not found");
    let non_unique = app
        .patch(
            &t,
            "/crm/v3/objects/contacts/By?idProperty=firstname",
            json!({"properties": {"lastname": "x"}}),
        )
        .await;
    assert_error(
        &non_unique,
        400,
        Some("VALIDATION_ERROR"),
        "Unable to perform update/upsert by non-unique 0-1 property firstname",
    );
}
