//! The admin API under `/_spoke/` (issue 16): its token and the HubSpot API's kept apart
//! both ways, portals on demand, reset, snapshots, and its OpenAPI document.

use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};
use spoke_store::admin::{admin_hash, new_admin_secret};

use crate::harness::{Answer, TestApp};

pub(crate) async fn admin_token(app: &TestApp) -> String {
    let secret = new_admin_secret();
    let now = spoke_core::time::now_millis();
    app.store
        .put_admin_token_hash(&admin_hash(&secret), true, now)
        .await
        .expect("admin token");
    secret
}

fn assert_envelope(a: &Answer, status: u16, category: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["status"], "error", "{}", a.text);
    assert_eq!(a.body["category"], category, "{}", a.text);
    assert!(a.body["correlationId"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
}

async fn new_portal(app: &TestApp, admin: &str) -> (i64, String) {
    let a = app.post(admin, "/_spoke/portals", json!({})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["portalId"].as_i64().expect("portalId");
    let token = a.body["token"].as_str().expect("token").to_owned();
    (id, token)
}

async fn contact_emails(app: &TestApp, token: &str) -> Vec<String> {
    let a = app
        .get(token, "/crm/v3/objects/contacts?limit=100&properties=email")
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let mut emails: Vec<String> = a.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["properties"]["email"].as_str().unwrap_or("").to_owned())
        .collect();
    emails.sort();
    emails
}

async fn create_contacts(app: &TestApp, token: &str, emails: &[&str]) {
    let inputs: Vec<Value> = emails
        .iter()
        .map(|e| json!({"properties": {"email": e}}))
        .collect();
    let a = app
        .post(
            token,
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
}

#[tokio::test]
async fn the_admin_api_and_hubspots_refuse_each_others_tokens() {
    let app = TestApp::spawn().await;
    let hubspot = app.token(1, &["all"]).await;
    // No admin token made yet: nothing opens the admin API.
    let a = app.get(&hubspot, "/_spoke/portals").await;
    assert_envelope(&a, 401, "INVALID_AUTHENTICATION");

    let admin = admin_token(&app).await;
    assert_eq!(app.get(&admin, "/_spoke/portals").await.status, 200);
    for (method, path) in [
        (Method::GET, "/_spoke/portals"),
        (Method::POST, "/_spoke/portals"),
        (Method::DELETE, "/_spoke/portals/1"),
        (Method::POST, "/_spoke/portals/1/reset"),
        (Method::GET, "/_spoke/portals/1/snapshots"),
    ] {
        let none = app.call(method.clone(), None, path, None).await;
        assert_envelope(&none, 401, "INVALID_AUTHENTICATION");
        let with_hubspot = app.call(method.clone(), Some(&hubspot), path, None).await;
        assert_envelope(&with_hubspot, 401, "INVALID_AUTHENTICATION");
        let wrong = app
            .call(method.clone(), Some(&new_admin_secret()), path, None)
            .await;
        assert_envelope(&wrong, 401, "INVALID_AUTHENTICATION");
    }
    // The HubSpot token still works where it belongs, the admin token does not.
    assert_eq!(
        app.get(&hubspot, "/crm/v3/objects/contacts").await.status,
        200
    );
    let a = app.get(&admin, "/crm/v3/objects/contacts").await;
    assert_envelope(&a, 401, "INVALID_AUTHENTICATION");
    let a = app
        .post(
            &admin,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": []}),
        )
        .await;
    assert_envelope(&a, 401, "INVALID_AUTHENTICATION");
    // The portal 1 the HubSpot token belongs to was left alone by the refused calls.
    assert_eq!(app.get(&hubspot, "/crm/v3/owners").await.status, 200);
}

#[tokio::test]
async fn a_fresh_portal_per_test_comes_with_an_all_scopes_token() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let started = Instant::now();
    let a = app.post(&admin, "/_spoke/portals", json!({})).await;
    let took = started.elapsed();
    eprintln!("POST /_spoke/portals took {took:?}");
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.body["baseUrl"], app.base, "{}", a.text);
    let id = a.body["portalId"].as_i64().expect("portalId");
    let token = a.body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("pat-na1-"));

    // Seeded like any new portal, and the token reaches every API.
    let owners = app.get(&token, "/crm/v3/owners").await;
    assert_eq!(owners.status, 200, "{}", owners.text);
    assert_eq!(owners.body["results"].as_array().map(Vec::len), Some(1));
    let pipelines = app.get(&token, "/crm/v3/pipelines/deals").await;
    assert_eq!(pipelines.status, 200, "{}", pipelines.text);
    assert_eq!(pipelines.body["results"][0]["id"], "default");
    create_contacts(&app, &token, &["fresh@example.com"]).await;
    let info = app.get(&token, "/account-info/v3/details").await;
    assert_eq!(info.body["portalId"], id, "{}", info.text);

    let (other, other_token) = new_portal(&app, &admin).await;
    assert!(other > id);
    assert!(
        contact_emails(&app, &other_token).await.is_empty(),
        "portals are apart"
    );
    let list = app.get(&admin, "/_spoke/portals").await;
    let ids: Vec<i64> = list.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|p| p["portalId"].as_i64())
        .collect();
    assert!(ids.contains(&id) && ids.contains(&other), "{}", list.text);

    let gone = app.delete(&admin, &format!("/_spoke/portals/{id}")).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_envelope(
        &app.get(&token, "/crm/v3/objects/contacts").await,
        401,
        "INVALID_AUTHENTICATION",
    );
    let again = app.delete(&admin, &format!("/_spoke/portals/{id}")).await;
    assert_envelope(&again, 404, "OBJECT_NOT_FOUND");
    assert_envelope(
        &app.delete(&admin, "/_spoke/portals/abc").await,
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_eq!(
        app.get(&other_token, "/crm/v3/owners").await.status,
        200,
        "the other stays"
    );
}

#[tokio::test]
async fn reset_and_snapshots_between_tests() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (id, token) = new_portal(&app, &admin).await;
    let base = format!("/_spoke/portals/{id}");
    create_contacts(&app, &token, &["a@example.com", "b@example.com"]).await;

    let snap = app
        .post(&admin, &format!("{base}/snapshots"), json!({"name": "two"}))
        .await;
    assert_eq!(snap.status, 201, "{}", snap.text);
    assert_eq!(snap.body["name"], "two");
    assert_eq!(snap.body["records"], 2);
    assert!(snap.body["createdAt"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let dup = app
        .post(&admin, &format!("{base}/snapshots"), json!({"name": "two"}))
        .await;
    assert_envelope(&dup, 409, "CONFLICT");
    for bad in [
        json!({"name": ""}),
        json!({"name": "a/b"}),
        json!({"name": 3}),
        json!({}),
    ] {
        let a = app
            .post(&admin, &format!("{base}/snapshots"), bad.clone())
            .await;
        assert_envelope(&a, 400, "VALIDATION_ERROR");
    }

    create_contacts(&app, &token, &["c@example.com"]).await;
    let restore = app
        .post(&admin, &format!("{base}/snapshots/two/restore"), json!({}))
        .await;
    assert_eq!(restore.status, 204, "{}", restore.text);
    assert_eq!(
        contact_emails(&app, &token).await,
        ["a@example.com", "b@example.com"]
    );
    // The unique email of the record the restore removed is free again.
    create_contacts(&app, &token, &["c@example.com"]).await;

    let reset = app.post(&admin, &format!("{base}/reset"), json!({})).await;
    assert_eq!(reset.status, 204, "{}", reset.text);
    assert!(
        contact_emails(&app, &token).await.is_empty(),
        "the token survives reset"
    );
    assert_eq!(
        app.get(&token, "/crm/v3/owners").await.body["results"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let list = app.get(&admin, &format!("{base}/snapshots")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["results"][0]["name"], "two");
    assert_eq!(
        app.post(&admin, &format!("{base}/snapshots/two/restore"), json!({}))
            .await
            .status,
        204
    );
    assert_eq!(
        contact_emails(&app, &token).await,
        ["a@example.com", "b@example.com"]
    );

    let missing = app
        .post(&admin, &format!("{base}/snapshots/nope/restore"), json!({}))
        .await;
    assert_envelope(&missing, 404, "OBJECT_NOT_FOUND");
    assert_eq!(
        app.delete(&admin, &format!("{base}/snapshots/two"))
            .await
            .status,
        204
    );
    assert_envelope(
        &app.delete(&admin, &format!("{base}/snapshots/two")).await,
        404,
        "OBJECT_NOT_FOUND",
    );
    let unknown = app
        .post(&admin, "/_spoke/portals/999999999/reset", json!({}))
        .await;
    assert_envelope(&unknown, 404, "OBJECT_NOT_FOUND");
    let unknown = app
        .post(
            &admin,
            "/_spoke/portals/999999999/snapshots",
            json!({"name": "x"}),
        )
        .await;
    assert_envelope(&unknown, 404, "OBJECT_NOT_FOUND");
    // The path is checked before the body.
    let unknown = app
        .post(&admin, "/_spoke/portals/abc/snapshots", json!({}))
        .await;
    assert_envelope(&unknown, 404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn a_thousand_record_portal_snapshots_and_restores_quickly() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (id, token) = new_portal(&app, &admin).await;
    for chunk in 0..10 {
        let emails: Vec<String> = (0..100)
            .map(|i| format!("p{chunk}-{i}@example.com"))
            .collect();
        let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
        create_contacts(&app, &token, &refs).await;
    }
    let base = format!("/_spoke/portals/{id}");
    let t = Instant::now();
    let snap = app
        .post(&admin, &format!("{base}/snapshots"), json!({"name": "k"}))
        .await;
    let snap_took = t.elapsed();
    assert_eq!(snap.body["records"], 1000, "{}", snap.text);
    let t = Instant::now();
    let reset = app.post(&admin, &format!("{base}/reset"), json!({})).await;
    let reset_took = t.elapsed();
    assert_eq!(reset.status, 204);
    let t = Instant::now();
    let restore = app
        .post(&admin, &format!("{base}/snapshots/k/restore"), json!({}))
        .await;
    let restore_took = t.elapsed();
    assert_eq!(restore.status, 204);
    eprintln!("1,000 records over HTTP: snapshot {snap_took:?}, reset {reset_took:?}, restore {restore_took:?}");
    let count = app
        .post(
            &token,
            "/crm/v3/objects/contacts/search",
            json!({"limit": 1}),
        )
        .await;
    assert_eq!(count.body["total"], 1000, "{}", count.text);
}

#[tokio::test]
async fn the_openapi_document_names_every_admin_route() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let a = app
        .call(Method::GET, None, "/_spoke/openapi.json", None)
        .await;
    assert_eq!(a.status, 200, "the document needs no token");
    let doc: Value = serde_json::from_str(spoke_server::admin::OPENAPI).expect("valid JSON");
    assert_eq!(a.body, doc);
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut routes: Vec<(String, String)> = spoke_server::admin::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    routes.sort();
    assert_eq!(routes, documented, "every route documented, nothing else");
    // And every listed route is served: none answers the unknown-route 404.
    for (method, path) in &routes {
        let concrete = path
            .replace("{portalId}", "424242")
            .replace("{name}", "x")
            .replace("{objectType}", "contacts")
            .replace("{objectId}", "1")
            .replace("{asset}", "app.js");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        if concrete.ends_with("/stream") {
            // An event stream does not end: its head is the answer.
            let res = app
                .http
                .get(format!("{}{concrete}", app.base))
                .bearer_auth(&admin)
                .send()
                .await
                .expect("stream");
            assert_eq!(res.status(), 200, "{concrete}");
            continue;
        }
        let a = app
            .call(
                method.clone(),
                Some(&admin),
                &concrete,
                Some(json!({"name": "x"})),
            )
            .await;
        assert_ne!(
            a.body["message"], "resource not found",
            "{method} {concrete}: {}",
            a.text
        );
        assert_ne!(a.status, 405, "{method} {concrete}");
    }
}

#[tokio::test]
async fn hostile_input_to_the_admin_api_gets_hubspots_envelope_never_a_5xx() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (id, _) = new_portal(&app, &admin).await;
    let base = format!("/_spoke/portals/{id}");
    let long = "x".repeat(201);
    for body in [
        "",
        "{",
        "[]",
        "null",
        r#"{"name": null}"#,
        r#"{"name": "a", "extra": 1}"#,
        r#"{"name": ["a"]}"#,
    ] {
        let a = app
            .send_raw(Method::POST, &admin, &format!("{base}/snapshots"), body)
            .await;
        assert_envelope(&a, 400, "VALIDATION_ERROR");
    }
    for name in [long.as_str(), ".", ".."] {
        let a = app
            .post(
                &admin,
                &format!("{base}/snapshots"),
                json!({ "name": name }),
            )
            .await;
        assert_envelope(&a, 400, "VALIDATION_ERROR");
    }
    // Any other name is data: stored and found again as given.
    for name in [
        "é 日本",
        "a b",
        "...",
        "%2F",
        "' OR 1=1 --",
        &"y".repeat(200),
    ] {
        let a = app
            .post(
                &admin,
                &format!("{base}/snapshots"),
                json!({ "name": name }),
            )
            .await;
        assert_eq!(a.status, 201, "{name}: {}", a.text);
        assert_eq!(a.body["name"], name);
        let encoded: String = form_urlencoded::byte_serialize(name.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let r = app
            .post(
                &admin,
                &format!("{base}/snapshots/{encoded}/restore"),
                json!({}),
            )
            .await;
        assert_eq!(r.status, 204, "{name}: {}", r.text);
    }
    for path in [
        "/_spoke/portals/-1/reset".to_owned(),
        "/_spoke/portals/99999999999999999999999/reset".to_owned(),
        format!("{base}/snapshots/%FF%FE/restore"),
        format!("{base}/snapshots/{}/restore", "z".repeat(5000)),
    ] {
        let a = app.post(&admin, &path, json!({})).await;
        assert!(
            a.status.is_client_error(),
            "{path}: {} {}",
            a.status,
            a.text
        );
        assert_eq!(a.body["status"], "error", "{path}: {}", a.text);
    }
}
