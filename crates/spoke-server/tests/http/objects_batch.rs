//! Objects v3 batch endpoints: read, create, update, upsert, archive
//! (hubspot-behavior.md §1).

use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

const NOT_FOUND_CONTACT: &str =
    "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.";

fn many(n: usize, f: impl Fn(usize) -> Value) -> Value {
    Value::Array((0..n).map(f).collect())
}

// ---------- create ----------

#[tokio::test]
async fn batch_create_answers_201_with_full_records_and_no_error_keys() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "Siena.Dyer@HubSpot.com", "firstname": "Siena", "lastname": "Dyer"}},
                {"properties": {"email": "b@example.com"}}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 201);
    assert_eq!(results.len(), 2);
    for (i, r) in results.iter().enumerate() {
        assert_record_shape(&ans.text, &format!("results/{i}"), r);
        assert_eq!(r["archived"], false);
        assert!(r.get("archivedAt").is_none(), "{r}");
        // Write responses: every non-empty property plus id and dates, never null.
        for (k, v) in r["properties"].as_object().expect("props") {
            assert!(v.is_string(), "{k} is null in a write response");
        }
        assert_eq!(prop(r, "hs_object_id"), &r["id"]);
        assert!(prop(r, "createdate").as_str().is_some_and(is_iso_millis));
        assert!(prop(r, "lastmodifieddate")
            .as_str()
            .is_some_and(is_iso_millis));
        assert_eq!(prop(r, "createdate"), &r["createdAt"]);
    }
    let siena = results
        .iter()
        .find(|r| prop(r, "firstname") == "Siena")
        .expect("siena");
    assert_eq!(prop(siena, "email"), "siena.dyer@hubspot.com");
    assert_eq!(prop(siena, "lastname"), "Dyer");
    let other = results
        .iter()
        .find(|r| prop(r, "email") == "b@example.com")
        .expect("b");
    assert!(
        other["properties"].get("firstname").is_none(),
        "unset properties are left out of write responses: {other}"
    );
    assert_ne!(siena["id"], other["id"]);
}

#[tokio::test]
async fn batch_create_accepts_100_inputs_and_rejects_101() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ok = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": many(100, |i| json!({"properties": {"name": format!("c{i}")}}))}),
        )
        .await;
    assert_eq!(assert_batch_ok(&ok, 201).len(), 100);

    let over = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/create",
            json!({"inputs": many(101, |i| json!({"properties": {"name": format!("d{i}")}}))}),
        )
        .await;
    assert_error(&over, 400, Some("VALIDATION_ERROR"), BATCH_LIMIT_MESSAGE);
    assert_eq!(list_all_ids(&app, &t, "companies", false).await.len(), 100);
}

#[tokio::test]
async fn batch_create_with_unknown_properties_is_one_400_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "ok@example.com"}},
                {"properties": {"first000name": "x", "last000name": "y"}}
            ]}),
        )
        .await;
    // The exact body captured from HubSpot (hubspot-behavior.md §2.2).
    let body = assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        r#"Property values were not valid: [{"isValid":false,"message":"Property \"first000name\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"first000name"},{"isValid":false,"message":"Property \"last000name\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"last000name"}]"#,
    );
    assert_eq!(
        body["errors"],
        json!([
            {"message": "Property \"first000name\" does not exist", "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": ["first000name"]}},
            {"message": "Property \"last000name\" does not exist", "code": "PROPERTY_DOESNT_EXIST", "context": {"propertyName": ["last000name"]}}
        ])
    );
    assert_eq!(
        keys_at(&ans.text, ""),
        ["status", "message", "correlationId", "errors", "category"]
    );
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
}

#[tokio::test]
async fn batch_create_duplicate_contact_email_is_409_for_the_whole_batch() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let [existing] =
        <[String; 1]>::try_from(create_contacts(&app, &t, &["taken@example.com"]).await)
            .expect("one");
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "fresh@example.com"}},
                {"properties": {"email": "TAKEN@example.com"}}
            ]}),
        )
        .await;
    assert_error(
        &ans,
        409,
        Some("CONFLICT"),
        &format!("Contact already exists. Existing ID: {existing}"),
    );
    assert_eq!(
        list_all_ids(&app, &t, "contacts", false).await,
        vec![existing]
    );
}

#[tokio::test]
async fn batch_create_with_trace_ids_reports_failures_per_input_with_207() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let existing = create_contacts(&app, &t, &["taken@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "siena@example.com", "firstname": "Siena"}, "objectWriteTraceId": "0"},
                {"properties": {"email": "taken@example.com"}, "objectWriteTraceId": "1"},
                {"properties": {"nope": "x"}, "objectWriteTraceId": "2"}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1, "{}", ans.text);
    assert_eq!(prop(&results[0], "email"), "siena@example.com");
    assert_eq!(errors.len(), 2, "{}", ans.text);
    let conflict = errors
        .iter()
        .find(|e| e["category"] == "CONFLICT")
        .expect("conflict error");
    assert_eq!(conflict["status"], "error");
    assert_eq!(
        conflict["message"],
        format!("Contact already exists. Existing ID: {}", existing[0])
    );
    assert_eq!(conflict["context"]["objectWriteTraceId"], json!(["1"]));
    assert_eq!(conflict["context"]["existingId"], json!([existing[0]]));
    let invalid = errors
        .iter()
        .find(|e| e["category"] == "VALIDATION_ERROR")
        .expect("validation error");
    assert_eq!(invalid["context"]["objectWriteTraceId"], json!(["2"]));
    assert!(
        invalid["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Property values were not valid: [")
                && m.contains("PROPERTY_DOESNT_EXIST")),
        "{invalid}"
    );
    // The valid input was written, the failing ones were not.
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 2);
}

// ---------- read ----------

#[tokio::test]
async fn batch_read_default_properties_with_nulls() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "contacts",
        json!({"email": "a@example.com", "phone": "123"}),
    )
    .await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": id}]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_record_shape(&ans.text, "results/0", r);
    assert_eq!(
        prop_names(r),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
    assert_eq!(prop(r, "email"), "a@example.com");
    assert_eq!(prop(r, "firstname"), &Value::Null);
    assert_eq!(prop(r, "hs_object_id"), &json!(id));
    assert!(r.get("propertiesWithHistory").is_none());
}

#[tokio::test]
async fn batch_read_requested_properties_plus_id_and_dates() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "companies",
        json!({"name": "Acme", "city": "Oslo"}),
    )
    .await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/read",
            json!({"inputs": [{"id": id}], "properties": ["city", "industry", "no_such_property"]}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert_eq!(
        prop_names(r),
        [
            "city",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
            "industry"
        ]
    );
    assert_eq!(prop(r, "city"), "Oslo");
    assert_eq!(prop(r, "industry"), &Value::Null);
}

#[tokio::test]
async fn batch_read_missing_ids_are_one_object_not_found_error() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}, {"id": "999999"}, {"id": ids[1]}, {"id": "888888"}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(ids_of(results), {
        let mut v = ids.clone();
        v.sort();
        v
    });
    assert_eq!(errors.len(), 1, "{}", ans.text);
    assert_eq!(
        errors[0],
        json!({
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": NOT_FOUND_CONTACT,
            "context": {"ids": ["999999", "888888"]}
        })
    );
    assert_eq!(
        keys_at(&ans.text, "errors/0"),
        ["status", "category", "message", "context"]
    );
}

#[tokio::test]
async fn batch_read_all_missing_is_still_207_with_empty_results() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/read",
            json!({"inputs": [{"id": "12"}, {"id": "13"}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert!(results.is_empty());
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0]["message"],
        "Could not get some COMPANY objects, they may be deleted or not exist. Check that ids are valid."
    );
    assert_eq!(errors[0]["context"]["ids"], json!(["12", "13"]));
}

#[tokio::test]
async fn batch_read_by_email_id_property_matches_case_insensitively() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["Ann@Example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "ANN@example.COM"}, {"id": "meows@loudly.lol"}],
                   "idProperty": "email", "properties": ["email"]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["id"],
        json!(ids[0]),
        "result carries the real id"
    );
    assert_eq!(prop(&results[0], "email"), "ann@example.com");
    assert_eq!(errors[0]["context"]["ids"], json!(["meows@loudly.lol"]));
    assert_eq!(errors[0]["message"], NOT_FOUND_CONTACT);
}

#[tokio::test]
async fn batch_read_by_non_unique_id_property_is_rejected() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "Ann"}], "idProperty": "firstname"}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn batch_read_duplicate_ids_return_each_record_once() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}, {"id": ids[0]}]}),
        )
        .await;
    assert_eq!(assert_batch_ok(&ans, 200).len(), 1);
}

#[tokio::test]
async fn batch_read_limits_100_and_50_with_history() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let path = "/crm/v3/objects/contacts/batch/read";
    let at = |n: usize| many(n, |i| json!({"id": (i + 1).to_string()}));

    let ok = app.post(&t, path, json!({"inputs": at(100)})).await;
    assert_eq!(ok.status, 207, "100 unknown ids are fine: {}", ok.text);
    let over = app.post(&t, path, json!({"inputs": at(101)})).await;
    assert_error(&over, 400, Some("VALIDATION_ERROR"), BATCH_LIMIT_MESSAGE);

    let hist_ok = app
        .post(
            &t,
            path,
            json!({"inputs": at(50), "propertiesWithHistory": ["email"]}),
        )
        .await;
    assert_eq!(hist_ok.status, 207, "{}", hist_ok.text);
    let hist_over = app
        .post(
            &t,
            path,
            json!({"inputs": at(51), "propertiesWithHistory": ["email"]}),
        )
        .await;
    assert_error(
        &hist_over,
        400,
        Some("VALIDATION_ERROR"),
        HISTORY_LIMIT_MESSAGE,
    );
}

#[tokio::test]
async fn batch_read_with_history_newest_first() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"firstname": "One"})).await;
    for name in ["Two", "Three"] {
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        let ans = app
            .patch(
                &t,
                &format!("/crm/v3/objects/contacts/{id}"),
                json!({"properties": {"firstname": name}}),
            )
            .await;
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": id}], "properties": ["firstname"],
                   "propertiesWithHistory": ["firstname", "lastname"]}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert_record_shape(&ans.text, "results/0", r);
    assert_eq!(prop(r, "firstname"), "Three");
    let hist = r["propertiesWithHistory"]["firstname"]
        .as_array()
        .expect("history");
    let values: Vec<&str> = hist
        .iter()
        .map(|h| h["value"].as_str().expect("v"))
        .collect();
    assert_eq!(values, ["Three", "Two", "One"]);
    for h in hist {
        assert_eq!(h["sourceType"], "API", "{h}");
        assert!(h["timestamp"].as_str().is_some_and(is_iso_millis), "{h}");
        assert!(h.get("sourceId").is_none_or(|s| s.is_string()), "{h}");
        assert!(
            h.as_object().expect("entry").values().all(|v| !v.is_null()),
            "absent optional fields are omitted, not null: {h}"
        );
    }
    let ts: Vec<&str> = hist
        .iter()
        .map(|h| h["timestamp"].as_str().expect("ts"))
        .collect();
    assert!(ts[0] >= ts[1] && ts[1] >= ts[2], "newest first: {ts:?}");
    let never_set = &r["propertiesWithHistory"]["lastname"];
    assert!(
        never_set.is_null() || never_set == &json!([]),
        "a never-set property has no history entries: {never_set}"
    );
}

#[tokio::test]
async fn batch_read_archived_true_returns_only_archived_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["live@example.com", "gone@example.com"]).await;
    let del = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": ids[1]}]}),
        )
        .await;
    assert_eq!(del.status, 204, "{}", del.text);

    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read?archived=true",
            json!({"inputs": [{"id": ids[0]}, {"id": ids[1]}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["id"], json!(ids[1]));
    assert_eq!(results[0]["archived"], true);
    assert!(results[0]["archivedAt"].as_str().is_some_and(is_iso_millis));
    assert_record_shape(&ans.text, "results/0", &results[0]);
    assert_eq!(errors[0]["context"]["ids"], json!([ids[0]]));

    let live = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read?archived=false",
            json!({"inputs": [{"id": ids[0]}, {"id": ids[1]}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&live);
    assert_eq!(ids_of(results), vec![ids[0].clone()]);
    assert!(results[0].get("archivedAt").is_none());
    assert_eq!(errors[0]["context"]["ids"], json!([ids[1]]));
}

// ---------- update ----------

#[tokio::test]
async fn batch_update_answers_200_with_updated_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"firstname": "Siena (updated)"}},
                {"id": ids[1], "properties": {"lastname": "Dyer (updated)"}}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(ids_of(results).len(), 2);
    let a = results
        .iter()
        .find(|r| r["id"] == json!(ids[0]))
        .expect("a");
    assert_eq!(prop(a, "firstname"), "Siena (updated)");
    assert_eq!(
        prop(a, "email"),
        "a@example.com",
        "full record in write responses"
    );
    assert!(instant_of(a, "updatedAt") >= instant_of(a, "createdAt"));
    assert_record_shape(&ans.text, "results/0", &results[0]);

    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[1]}], "properties": ["lastname"]}),
        )
        .await;
    assert_eq!(
        prop(&assert_batch_ok(&read, 200)[0], "lastname"),
        "Dyer (updated)"
    );
}

#[tokio::test]
async fn batch_update_unknown_ids_207_and_known_ones_applied() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": "404404", "properties": {"firstname": "x"}},
                {"id": ids[0], "properties": {"firstname": "Known"}},
                {"id": "505505", "properties": {"firstname": "y"}}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(prop(&results[0], "firstname"), "Known");
    assert_eq!(
        errors.len(),
        1,
        "one error for every missing id: {}",
        ans.text
    );
    assert_eq!(errors[0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(errors[0]["message"], NOT_FOUND_CONTACT);
    assert_eq!(errors[0]["context"]["ids"], json!(["404404", "505505"]));
}

#[tokio::test]
async fn batch_update_duplicate_ids_is_400_and_updates_nothing() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[1], "properties": {"firstname": "other"}},
                {"id": ids[0], "properties": {"firstname": "x"}},
                {"id": ids[0], "properties": {"firstname": "y"}}
            ]}),
        )
        .await;
    let body = assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        &format!(
            "Duplicate IDs found in batch input: [{}]. IDs must be unique",
            ids[0]
        ),
    );
    assert_eq!(body["context"], json!({"ids": [ids[0]]}));
    assert_eq!(
        keys_at(&ans.text, ""),
        ["status", "message", "correlationId", "context", "category"]
    );
    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}, {"id": ids[1]}], "properties": ["firstname"]}),
        )
        .await;
    for r in assert_batch_ok(&read, 200) {
        assert_eq!(prop(r, "firstname"), &Value::Null, "nothing updated: {r}");
    }
}

#[tokio::test]
async fn batch_update_invalid_value_in_one_input_rejects_the_batch() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"firstname": "fine"}},
                {"id": ids[1], "properties": {"lifecyclestage": "not_a_stage"}}
            ]}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR");
    assert_eq!(ans.body["errors"][0]["code"], "INVALID_OPTION");
    assert_eq!(
        ans.body["errors"][0]["context"]["propertyName"],
        json!(["lifecyclestage"])
    );
    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}], "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(
        prop(&assert_batch_ok(&read, 200)[0], "firstname"),
        &Value::Null
    );
}

#[tokio::test]
async fn batch_update_by_email_id_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["ann@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": "ANN@example.com", "idProperty": "email",
                               "properties": {"firstname": "Ann"}}]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results[0]["id"], json!(ids[0]));
    assert_eq!(prop(&results[0], "firstname"), "Ann");
}

#[tokio::test]
async fn batch_update_by_non_unique_id_property_is_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["ann@example.com"]).await;
    for (ty, prop_name, type_id) in [
        ("contacts", "firstname", "0-1"),
        ("contacts", "hs_object_id", "0-1"),
        ("companies", "hs_object_id", "0-2"),
    ] {
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/{ty}/batch/update"),
                json!({"inputs": [{"id": ids[0], "idProperty": prop_name,
                                   "properties": {"phone": "1"}}]}),
            )
            .await;
        assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            &format!(
                "Unable to perform update/upsert by non-unique {type_id} property {prop_name}"
            ),
        );
    }
}

#[tokio::test]
async fn batch_update_to_an_existing_email_is_409() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": ids[1], "properties": {"email": "A@example.com"}}]}),
        )
        .await;
    assert_error(
        &ans,
        409,
        Some("CONFLICT"),
        &format!("Contact already exists. Existing ID: {}", ids[0]),
    );
}

#[tokio::test]
async fn batch_update_empty_string_clears() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(
        &app,
        &t,
        "contacts",
        json!({"email": "a@example.com", "phone": "555"}),
    )
    .await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": id, "properties": {"phone": ""}}]}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert!(r["properties"].get("phone").is_none(), "cleared: {r}");
    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": id}], "properties": ["phone"]}),
        )
        .await;
    assert_eq!(prop(&assert_batch_ok(&read, 200)[0], "phone"), &Value::Null);
}

#[tokio::test]
async fn batch_update_with_trace_ids_reports_missing_ids_with_trace() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": ids[0], "properties": {"firstname": "ok"}, "objectWriteTraceId": "t-ok"},
                {"id": "777777", "properties": {"firstname": "x"}, "objectWriteTraceId": "t-missing"},
                {"id": ids[0].clone() + "0", "properties": {"bogus": "x"}, "objectWriteTraceId": "t-bad"}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(prop(&results[0], "firstname"), "ok");
    let nf = errors
        .iter()
        .find(|e| e["category"] == "OBJECT_NOT_FOUND")
        .expect("not found");
    assert_eq!(nf["context"]["ids"], json!(["777777"]));
    assert_eq!(nf["context"]["objectWriteTraceId"], json!(["t-missing"]));
    let bad = errors
        .iter()
        .find(|e| e["category"] == "VALIDATION_ERROR")
        .expect("validation");
    assert_eq!(bad["context"]["objectWriteTraceId"], json!(["t-bad"]));
}

#[tokio::test]
async fn batch_update_over_limit() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for op in ["update", "upsert", "archive"] {
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/contacts/batch/{op}"),
                json!({"inputs": many(101, |i| json!({"id": format!("u{i}@example.com"),
                                                       "idProperty": "email",
                                                       "properties": {"firstname": "x"}}))}),
            )
            .await;
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), BATCH_LIMIT_MESSAGE);
    }
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
}

// ---------- upsert ----------

#[tokio::test]
async fn batch_upsert_by_email_creates_and_updates_with_new_flag() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["old@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "OLD@example.com", "idProperty": "email", "properties": {"firstname": "Old"}},
                {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results.len(), 2);
    let old = results
        .iter()
        .find(|r| prop(r, "firstname") == "Old")
        .expect("old");
    assert_eq!(old["id"], json!(ids[0]));
    assert_eq!(old["new"], false);
    let new = results
        .iter()
        .find(|r| prop(r, "firstname") == "New")
        .expect("new");
    assert_eq!(new["new"], true);
    assert_eq!(
        prop(new, "email"),
        "new@example.com",
        "the key value is set on create"
    );
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 2);

    // The key is normalized like a written email.
    let upper = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "Third@Example.COM", "idProperty": "email", "properties": {}}]}),
        )
        .await;
    let r = &assert_batch_ok(&upper, 200)[0];
    assert_eq!(r["new"], true);
    assert_eq!(prop(r, "email"), "third@example.com");
}

#[tokio::test]
async fn batch_upsert_with_trace_ids_is_207_per_input() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["old@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "old@example.com", "idProperty": "email", "properties": {"firstname": "Old"}, "objectWriteTraceId": "t-old"},
                {"id": "bad@example.com", "idProperty": "email", "properties": {"nope": "x"}, "objectWriteTraceId": "t-bad"},
                {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}, "objectWriteTraceId": "t-new"}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 2, "{}", ans.text);
    let old = results
        .iter()
        .find(|r| r["id"] == json!(ids[0]))
        .expect("old");
    assert_eq!(old["new"], false);
    assert!(results
        .iter()
        .any(|r| r["new"] == true && prop(r, "firstname") == "New"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["category"], "VALIDATION_ERROR");
    assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["t-bad"]));
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 2);
}

#[tokio::test]
async fn batch_upsert_matching_an_archived_record_creates_a_new_one() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["gone@example.com"]).await;
    let del = app
        .delete(&t, &format!("/crm/v3/objects/contacts/{}", ids[0]))
        .await;
    assert_eq!(del.status, 204);
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "gone@example.com", "idProperty": "email", "properties": {"firstname": "Back"}}]}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert_eq!(r["new"], true);
    assert_ne!(r["id"], json!(ids[0]));
}

#[tokio::test]
async fn batch_upsert_by_custom_unique_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "companies",
        json!({"name": "external_id", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
    let first = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": [{"id": "EXT-1", "idProperty": "external_id", "properties": {"name": "One"}}]}),
        )
        .await;
    let r1 = &assert_batch_ok(&first, 200)[0];
    assert_eq!(r1["new"], true);
    assert_eq!(prop(r1, "external_id"), "EXT-1");
    let second = app
        .post(
            &t,
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": [{"id": "EXT-1", "idProperty": "external_id", "properties": {"name": "Uno"}}]}),
        )
        .await;
    let r2 = &assert_batch_ok(&second, 200)[0];
    assert_eq!(r2["new"], false);
    assert_eq!(r2["id"], r1["id"]);
    assert_eq!(prop(r2, "name"), "Uno");
}

#[tokio::test]
async fn batch_upsert_requires_a_unique_id_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for body in [
        json!({"inputs": [{"id": "1", "properties": {"firstname": "x"}}]}),
        json!({"inputs": [{"id": "1", "idProperty": "hs_object_id", "properties": {"firstname": "x"}}]}),
        json!({"inputs": [{"id": "x", "idProperty": "firstname", "properties": {"lastname": "x"}}]}),
    ] {
        let ans = app
            .post(&t, "/crm/v3/objects/contacts/batch/upsert", body)
            .await;
        assert_eq!(ans.status, 400, "{}", ans.text);
        assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{}", ans.text);
        assert!(
            ans.body["message"].as_str().is_some_and(
                |m| m.starts_with("Unable to perform update/upsert by non-unique 0-1 property")
            ),
            "{}",
            ans.text
        );
    }
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
}

#[tokio::test]
async fn batch_upsert_duplicate_keys_is_400() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "1"}},
                {"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "2"}}
            ]}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR");
    assert!(list_all_ids(&app, &t, "contacts", false).await.is_empty());
}

// ---------- archive ----------

#[tokio::test]
async fn batch_archive_is_204_and_hides_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com", "b@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": ids[0]}, {"id": "123456789"}, {"id": "not-a-number"}]}),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty(), "204 has no body: {:?}", ans.text);
    assert!(ans.headers.contains_key("x-hubspot-correlation-id"));

    assert_eq!(
        list_all_ids(&app, &t, "contacts", false).await,
        vec![ids[1].clone()]
    );
    assert_eq!(
        list_all_ids(&app, &t, "contacts", true).await,
        vec![ids[0].clone()]
    );

    // Archiving again is still 204.
    let again = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": ids[0]}]}),
        )
        .await;
    assert_eq!(again.status, 204);

    // The archived contact's email is free again.
    let recreated = create_contacts(&app, &t, &["a@example.com"]).await;
    assert_ne!(recreated[0], ids[0]);
}

#[tokio::test]
async fn batch_endpoints_accept_singular_and_type_id_paths() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for (segment, ty) in [
        ("deal", "deals"),
        ("0-3", "deals"),
        ("0-5", "tickets"),
        ("ticket", "tickets"),
        ("0-7", "products"),
        ("product", "products"),
        ("0-8", "line_items"),
        ("line_item", "line_items"),
        ("0-420", "listings"),
        ("listings", "listings"),
        ("0-2", "companies"),
        ("company", "companies"),
        ("0-1", "contacts"),
        ("contact", "contacts"),
    ] {
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/{segment}/batch/create"),
                json!({"inputs": [{"properties": {}}]}),
            )
            .await;
        let id = assert_batch_ok(&ans, 201)[0]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let read = app
            .post(
                &t,
                &format!("/crm/v3/objects/{ty}/batch/read"),
                json!({"inputs": [{"id": id}]}),
            )
            .await;
        assert_eq!(assert_batch_ok(&read, 200).len(), 1, "{segment}");
    }
}

#[tokio::test]
async fn date_versioned_paths_serve_the_same_api() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let created = app
        .post(
            &t,
            "/crm/objects/2026-03/contacts/batch/create",
            json!({"inputs": [{"properties": {"email": "v@example.com"}}]}),
        )
        .await;
    let id = assert_batch_ok(&created, 201)[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let read = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": id}]}),
        )
        .await;
    assert_eq!(
        prop(&assert_batch_ok(&read, 200)[0], "email"),
        "v@example.com"
    );
    let single = app
        .get(&t, &format!("/crm/objects/2026-03/contacts/{id}"))
        .await;
    assert_eq!(single.status, 200, "{}", single.text);
    let list = app.get(&t, "/crm/objects/2026-03/contacts").await;
    assert_eq!(list.body["results"].as_array().map(Vec::len), Some(1));
}

/// Partner types have no create, upsert or archive operations (hubspot-behavior.md §4.1):
/// each is refused, worded after the operation, before the body is parsed (a malformed
/// body gets the same answer), and nothing is written or archived.
#[tokio::test]
async fn partner_types_refuse_public_create_upsert_and_archive() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let refused = |ans: &Answer, ty: &str, op: &str| {
        assert_eq!(ans.status, 400, "{ty} {op}: {}", ans.text);
        assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{ty} {op}");
        assert_eq!(
            ans.body["message"],
            format!("The {op} operation is not supported for {ty} objects: HubSpot creates and removes them. Use `spoke import` to load them."),
        );
        assert_wire_error(ans);
    };
    for ty in ["partner_clients", "partner_services"] {
        for (op, path, body) in [
            (
                "create",
                "batch/create",
                json!({"inputs": [{"properties": {"hs_name": "x"}}]}),
            ),
            (
                "upsert",
                "batch/upsert",
                json!({"inputs": [{"id": "x", "idProperty": "hs_name", "properties": {}}]}),
            ),
        ] {
            let path = format!("/crm/v3/objects/{ty}/{path}");
            refused(&app.post(&t, &path, body).await, ty, op);
        }
        let single = app
            .post(
                &t,
                &format!("/crm/v3/objects/{ty}"),
                json!({"properties": {"hs_name": "x"}}),
            )
            .await;
        refused(&single, ty, "create");
        assert!(list_all_ids(&app, &t, ty, false).await.is_empty());
    }
    for (op, path) in [
        ("create", "/crm/v3/objects/partner_clients"),
        (
            "create",
            "/crm/objects/2026-03/partner_clients/batch/create",
        ),
        ("upsert", "/crm/v3/objects/partner_clients/batch/upsert"),
        ("archive", "/crm/v3/objects/partner_clients/batch/archive"),
    ] {
        let malformed = app.post_raw(&t, path, r#"{"inputs": ["#).await;
        refused(&malformed, "partner_clients", op);
    }
    let ids = import_records(
        &app,
        1,
        "partner_clients",
        &[],
        vec![json!({"hs_name": "P"})],
    )
    .await;
    let archive = app
        .post(
            &t,
            "/crm/v3/objects/partner_clients/batch/archive",
            json!({"inputs": [{"id": ids[0]}]}),
        )
        .await;
    refused(&archive, "partner_clients", "archive");
    let delete = app
        .delete(&t, &format!("/crm/v3/objects/partner_clients/{}", ids[0]))
        .await;
    refused(&delete, "partner_clients", "archive");
    assert_eq!(list_all_ids(&app, &t, "partner_clients", false).await, ids);
}

#[tokio::test]
async fn empty_inputs_succeed_with_no_results() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for (op, status) in [
        ("read", 200),
        ("create", 201),
        ("update", 200),
        ("upsert", 200),
    ] {
        let ans = app
            .post(
                &t,
                &format!("/crm/v3/objects/contacts/batch/{op}"),
                json!({"inputs": []}),
            )
            .await;
        assert!(assert_batch_ok(&ans, status).is_empty(), "{op}");
    }
    let archive = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": []}),
        )
        .await;
    assert_eq!(archive.status, 204);
}

#[tokio::test]
async fn duplicate_unique_values_in_one_create_batch_conflict_with_the_first() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "twin@example.com"}, "objectWriteTraceId": "1"},
                {"properties": {"email": "TWIN@example.com"}, "objectWriteTraceId": "2"}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    let first = results[0]["id"].as_str().expect("id");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["category"], "CONFLICT");
    assert_eq!(
        errors[0]["message"],
        format!("Contact already exists. Existing ID: {first}")
    );
    assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["2"]));
    assert_eq!(errors[0]["context"]["existingId"], json!([first]));
    assert_eq!(
        list_all_ids(&app, &t, "contacts", false).await,
        vec![first.to_owned()]
    );
}

#[tokio::test]
async fn batch_read_empty_properties_and_hs_object_id_id_property() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}], "properties": [], "idProperty": "hs_object_id"}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert_eq!(r["id"], json!(ids[0]));
    assert_eq!(
        prop_names(r),
        [
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname"
        ]
    );
}

#[tokio::test]
async fn computed_properties_have_one_calculated_history_entry() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["a@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": ids[0]}], "propertiesWithHistory": ["hs_object_id", "createdate"]}),
        )
        .await;
    let r = &assert_batch_ok(&ans, 200)[0];
    assert_eq!(
        r["propertiesWithHistory"]["hs_object_id"],
        json!([{"value": ids[0], "timestamp": r["createdAt"], "sourceType": "CALCULATED"}])
    );
    assert_eq!(
        r["propertiesWithHistory"]["createdate"],
        json!([{"value": r["createdAt"], "timestamp": r["createdAt"], "sourceType": "CALCULATED"}])
    );
}

#[tokio::test]
async fn batch_update_lists_non_numeric_unknown_ids_as_sent() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/deals/batch/update",
            json!({"inputs": [{"id": "abc", "properties": {"dealname": "x"}}]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert!(results.is_empty());
    assert_eq!(
        errors[0],
        json!({"status": "error", "category": "OBJECT_NOT_FOUND",
               "message": "Could not get some DEAL objects, they may be deleted or not exist. Check that ids are valid.",
               "context": {"ids": ["abc"]}})
    );
}

#[tokio::test]
async fn batch_create_conflict_names_the_first_conflicting_input() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(&app, &t, &["one@example.com", "two@example.com"]).await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "fresh@example.com"}},
                {"properties": {"email": "two@example.com"}},
                {"properties": {"email": "one@example.com"}}
            ]}),
        )
        .await;
    assert_error(
        &ans,
        409,
        Some("CONFLICT"),
        &format!("Contact already exists. Existing ID: {}", ids[1]),
    );
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 2);
}
