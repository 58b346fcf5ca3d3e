//! Wire details (hubspot-behavior.md §0, §2, §8.1): content type, correlation ids, compact
//! bodies, malformed JSON, unknown routes and types, 405, never a 500.

use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use crate::support::*;

#[tokio::test]
async fn every_json_response_has_the_exact_content_type_and_a_correlation_id() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"email": "a@example.com"})).await;
    let answers = vec![
        app.get(&t, "/crm/v3/objects/contacts").await,
        app.get(&t, &format!("/crm/v3/objects/contacts/{id}")).await,
        app.post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": id}, {"id": "1"}]}),
        )
        .await,
        app.post(&t, "/crm/v3/objects/contacts", json!({"properties": {}}))
            .await,
        app.get(&t, "/crm/v3/properties/contacts").await,
        app.get(&t, "/crm/v3/objects/contacts/99999").await,
        app.get(&t, "/crm/v3/nothing/here").await,
        app.call(Method::GET, None, "/crm/v3/objects/contacts", None)
            .await,
    ];
    let mut seen = std::collections::HashSet::new();
    for ans in &answers {
        assert_json_content_type(ans);
        let cid = ans
            .headers
            .get("x-hubspot-correlation-id")
            .and_then(|v| v.to_str().ok())
            .expect("correlation id header");
        assert!(is_uuid(cid), "{cid}");
        assert!(
            seen.insert(cid.to_owned()),
            "correlation ids are unique per response"
        );
        if ans.status.is_client_error() {
            assert_eq!(ans.body["correlationId"], cid);
        }
        assert!(!ans.text.contains('\n'), "compact JSON: {}", ans.text);
        assert!(!ans.text.contains("\": "), "compact JSON: {}", ans.text);
    }
    let del = app
        .delete(&t, &format!("/crm/v3/objects/contacts/{id}"))
        .await;
    assert_eq!(del.status, 204);
    assert!(del
        .headers
        .get("x-hubspot-correlation-id")
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_uuid));
}

#[tokio::test]
async fn malformed_json_is_a_validation_error_naming_the_position() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for path in [
        "/crm/v3/objects/contacts/batch/create",
        "/crm/v3/objects/contacts/batch/read",
        "/crm/v3/objects/contacts",
        "/crm/v3/properties/contacts",
    ] {
        let ans = app.post_raw(&t, path, r#"{"inputs": x}"#).await;
        assert_eq!(ans.status, 400, "{path}: {}", ans.text);
        assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{path}");
        assert_wire_error(&ans);
        let msg = ans.body["message"].as_str().expect("message");
        let rest = msg
            .strip_prefix("Invalid input JSON on line 1, column ")
            .unwrap_or_else(|| panic!("{path}: {msg}"));
        let (col, detail) = rest.split_once(": ").unwrap_or_else(|| panic!("{msg}"));
        let col: usize = col.parse().unwrap_or_else(|_| panic!("column in {msg}"));
        assert!((11..=12).contains(&col), "column of the `x`: {msg}");
        assert!(!detail.is_empty(), "{msg}");
    }
    let eof = app
        .post_raw(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            r#"{"inputs": [{"id": "1"}"#,
        )
        .await;
    assert_eq!(eof.status, 400);
    assert!(eof.body["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Invalid input JSON on line 1, column ")));
    let multi = app
        .post_raw(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            "{\n\"inputs\": [\n{\"id\": }]}",
        )
        .await;
    assert!(
        multi.body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid input JSON on line 3, column ")),
        "{}",
        multi.text
    );
}

#[tokio::test]
async fn missing_body_and_wrong_shapes() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let empty = app
        .post_raw(&t, "/crm/v3/objects/contacts/batch/read", "")
        .await;
    assert_error(
        &empty,
        400,
        Some("VALIDATION_ERROR"),
        "Invalid JSON input: a request body was expected, but none found",
    );
    for body in [
        r#"{"inputs": {"id": "1"}}"#,
        r#"{"inputs": "nope"}"#,
        r#"[]"#,
        r#"{}"#,
        r#"{"inputs": [{"id": "1"}], "properties": "email"}"#,
    ] {
        let ans = app
            .post_raw(&t, "/crm/v3/objects/contacts/batch/read", body)
            .await;
        assert_eq!(ans.status, 400, "{body}: {}", ans.text);
        assert_eq!(ans.body["category"], "VALIDATION_ERROR", "{body}");
        assert!(
            ans.body["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Invalid input JSON on line ")),
            "{body}: {}",
            ans.text
        );
        assert_wire_error(&ans);
    }
}

#[tokio::test]
async fn unknown_object_type_is_400_without_category() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let get = app.get(&t, "/crm/v3/objects/credentialing_2_0").await;
    let body = assert_error(
        &get,
        400,
        None,
        "Unable to infer object type from: credentialing_2_0",
    );
    assert_eq!(
        keys_at(&get.text, ""),
        ["status", "message", "correlationId"],
        "{body}"
    );
    let batch = app
        .post(
            &t,
            "/crm/v3/objects/widgets/batch/read",
            json!({"inputs": [{"id": "1"}]}),
        )
        .await;
    assert_error(
        &batch,
        400,
        None,
        "Unable to infer object type from: widgets",
    );
    let props = app.get(&t, "/crm/v3/properties/widgets").await;
    assert_error(
        &props,
        400,
        None,
        "Unable to infer object type from: widgets",
    );
    let single = app.get(&t, "/crm/v3/objects/2-999/5").await;
    assert_error(
        &single,
        400,
        None,
        "Unable to infer object type from: 2-999",
    );
    let anonymous = app
        .call(Method::GET, None, "/crm/v3/objects/widgets", None)
        .await;
    assert_error(
        &anonymous,
        401,
        Some("INVALID_AUTHENTICATION"),
        AUTH_MESSAGE,
    );
}

#[tokio::test]
async fn unknown_routes_are_hubspot_shaped_404s() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for path in [
        "/",
        "/crm/v3/nothing",
        "/crm/v3/objects",
        "/crm/v3/objects/contacts/batch/nope",
        "/crm/v3/objects/contacts/1/2/3/4",
        "/crm/v9/objects/contacts",
        "/crm/v3/objects/contacts/batch",
    ] {
        for method in [Method::GET, Method::POST] {
            let ans = app
                .call(method.clone(), Some(&t), path, Some(json!({})))
                .await;
            assert!(
                ans.status == 404 || ans.status == 405,
                "{method} {path}: {} {}",
                ans.status,
                ans.text
            );
            assert_eq!(ans.body["status"], "error", "{method} {path}: {}", ans.text);
            assert!(ans.body["message"].is_string());
            assert_wire_error(&ans);
        }
    }
    // Not an operation HubSpot has: JSON 404 OBJECT_NOT_FOUND (docs/compatibility.md), and
    // no `x-spoke-not-emulated`: spoke knows of nothing it lacks there.
    for path in [
        "/crm/v3/nothing",
        "/nothing/v1/at/all",
        "/marketing/v3/forms/1/2/3/4",
    ] {
        let plain = app.get(&t, path).await;
        assert_error(&plain, 404, Some("OBJECT_NOT_FOUND"), "resource not found");
        assert!(
            plain.headers.get("x-spoke-not-emulated").is_none(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_a_json_body() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for (method, path) in [
        (Method::PUT, "/crm/v3/objects/contacts"),
        (Method::DELETE, "/crm/v3/objects/contacts"),
        (Method::GET, "/crm/v3/objects/contacts/batch/read"),
        (Method::PUT, "/crm/v3/objects/contacts/1"),
        (Method::GET, "/crm/v3/properties/contacts/batch/create"),
    ] {
        let ans = app.call(method.clone(), Some(&t), path, None).await;
        assert_eq!(ans.status, 405, "{method} {path}: {}", ans.text);
        assert_eq!(ans.body["status"], "error", "{method} {path}: {}", ans.text);
        assert!(ans.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(ans.body.get("category").is_none(), "{}", ans.text);
        assert_wire_error(&ans);
    }
}

#[tokio::test]
async fn odd_inputs_never_cause_a_500() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let paths = [
        "/crm/v3/objects/contacts/99999999999999999999999",
        "/crm/v3/objects/contacts/-1",
        "/crm/v3/objects/contacts/%00",
        "/crm/v3/objects/contacts/%F0%9F%98%80",
        "/crm/v3/objects/contacts?limit=-1",
        "/crm/v3/objects/contacts?limit=abc",
        "/crm/v3/objects/contacts?after=abc",
        "/crm/v3/objects/contacts?after=-5",
        "/crm/v3/objects/contacts?archived=maybe",
        "/crm/v3/objects/contacts?properties=",
        "/crm/v3/objects/contacts?properties=%2C%2C",
        "/crm/v3/objects/%20contacts",
        "/crm/v3/properties/contacts/%2E%2E",
    ];
    for path in paths {
        let ans = app.get(&t, path).await;
        assert!(
            ans.status.as_u16() < 500,
            "{path}: {} {}",
            ans.status,
            ans.text
        );
        if ans.status.is_client_error() {
            assert_wire_error(&ans);
        }
    }
    for body in [
        json!({"inputs": [{"id": null}]}),
        json!({"inputs": [{"id": 12}]}),
        json!({"inputs": [{"id": true}]}),
        json!({"inputs": [{"id": {"x": 1}}]}),
        json!({"inputs": [{}]}),
        json!({"inputs": [], "properties": []}),
        json!({"inputs": [{"id": "1"}], "idProperty": ""}),
        json!({"inputs": [{"id": "1"}], "idProperty": "no_such"}),
    ] {
        for op in ["read", "update", "upsert", "archive", "create"] {
            let ans = app
                .post(
                    &t,
                    &format!("/crm/v3/objects/contacts/batch/{op}"),
                    body.clone(),
                )
                .await;
            assert!(
                ans.status.as_u16() < 500,
                "{op} {body}: {} {}",
                ans.status,
                ans.text
            );
            assert!(ans.headers.contains_key("x-hubspot-correlation-id"));
        }
    }
}

#[tokio::test]
async fn numeric_ids_in_batch_inputs_are_accepted() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let id = create_one(&app, &t, "contacts", json!({"email": "n@example.com"})).await;
    let num: i64 = id.parse().expect("numeric");
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": num}]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(
        results[0]["id"],
        json!(id),
        "ids are strings on the way out"
    );
}

#[tokio::test]
async fn query_booleans_in_any_case() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for q in [
        "archived=False",
        "archived=false",
        "archived=FALSE",
        "archived=True",
        "archived=true",
    ] {
        let list = app.get(&t, &format!("/crm/v3/objects/contacts?{q}")).await;
        assert_eq!(list.status, 200, "{q}: {}", list.text);
        let read = app
            .post(
                &t,
                &format!("/crm/v3/objects/contacts/batch/read?{q}"),
                json!({"inputs": [{"id": "1"}]}),
            )
            .await;
        assert_eq!(read.status, 207, "{q}: {}", read.text);
    }
}

#[tokio::test]
async fn framework_rejections_keep_hubspots_envelope() {
    let app = crate::harness::TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // Larger than the body limit: axum rejects it before any handler runs.
    let big = format!(
        "{{\"inputs\":[{{\"id\":\"{}\"}}]}}",
        "9".repeat(3 * 1024 * 1024)
    );
    let res = app
        .http
        .post(format!("{}/crm/v3/objects/contacts/batch/read", app.base))
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 413);
    assert_eq!(
        res.headers()["content-type"],
        "application/json;charset=utf-8"
    );
    let corr = res.headers()["x-hubspot-correlation-id"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    let body: serde_json::Value = res.json().await.expect("json body");
    assert_eq!(body["status"], "error");
    assert_eq!(body["message"], "The request body is too large");
    assert_eq!(body["correlationId"], corr);
    assert_eq!(body["category"], "VALIDATION_ERROR");
}

/// The path and the query are checked before the body is parsed: a malformed body does
/// not hide a non-numeric record id in the path, or a query boolean that is not one.
#[tokio::test]
async fn path_and_query_errors_come_before_body_errors() {
    use reqwest::Method;
    let app = crate::harness::TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    for (method, path, status, message) in [
        (
            Method::PUT,
            "/crm/v4/objects/contacts/abc/associations/companies/1",
            404,
            "Object not found.  objectId are usually numeric.",
        ),
        (
            Method::POST,
            "/crm/v3/objects/contacts/batch/read?archived=maybe",
            400,
            "Invalid value for query parameter archived: maybe is not a boolean",
        ),
    ] {
        let ans = app.send_raw(method, &t, path, "[{").await;
        assert_eq!(ans.status, status, "{path}: {}", ans.text);
        assert_eq!(ans.body["message"], message, "{path}");
    }
}
