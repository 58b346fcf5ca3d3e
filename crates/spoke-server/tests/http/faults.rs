//! Fault rules (`/_spoke/faults`, issue 16 scope 6): each action as a client meets it, a
//! count spent exactly, probability 0, matching by portal, method and path, a dropped
//! connection seen by a raw client, and the admin API's guard and validation.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use spoke_store::admin::{admin_hash, new_admin_secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// A new portal and its all-scopes token.
pub(crate) async fn new_portal(app: &TestApp, admin: &str) -> (i64, String) {
    let a = app.post(admin, "/_spoke/portals", json!({})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["portalId"].as_i64().expect("portalId");
    (id, a.body["token"].as_str().expect("token").to_owned())
}

async fn add_rule(app: &TestApp, admin: &str, rule: Value) -> Value {
    let a = app.post(admin, "/_spoke/faults", rule).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.body
}

const CONTACTS: &str = "/crm/v3/objects/contacts?limit=1";

fn assert_injected(a: &Answer, status: u16) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["status"], "error", "{}", a.text);
    assert!(
        a.body["correlationId"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{}",
        a.text
    );
    assert!(a.headers.contains_key("x-spoke-fault"), "{:?}", a.headers);
}

#[tokio::test]
async fn an_error_rule_answers_its_status_count_times_then_stops() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    let rule = add_rule(
        &app,
        &admin,
        json!({"path": "/crm/v3/objects/contacts*", "action": "error", "status": 503, "count": 2}),
    )
    .await;
    assert_eq!(rule["action"], "error");
    assert_eq!(rule["status"], 503);
    assert_eq!(rule["probability"], 1.0);
    assert_eq!(
        (rule["count"].clone(), rule["remaining"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(rule["hits"], 0);
    assert!(
        rule["id"].is_string() && rule["createdAt"].is_string(),
        "{rule}"
    );
    let id = rule["id"].as_str().expect("id").to_owned();

    for _ in 0..2 {
        let a = app.get(&token, CONTACTS).await;
        assert_injected(&a, 503);
        assert_eq!(a.headers["x-spoke-fault"], id.as_str());
        assert!(a.body["category"].is_null(), "{}", a.text);
    }
    assert_eq!(app.get(&token, CONTACTS).await.status, 200, "count spent");
    let read = app.get(&admin, &format!("/_spoke/faults/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(
        (read.body["hits"].clone(), read.body["remaining"].clone()),
        (json!(2), json!(0))
    );

    // A 4xx gets HubSpot's category for it; the other paths are untouched.
    add_rule(
        &app,
        &admin,
        json!({"method": "get", "path": "/crm/v3/objects/companies*", "action": "error", "status": 404}),
    )
    .await;
    let a = app.get(&token, "/crm/v3/objects/companies").await;
    assert_injected(&a, 404);
    assert_eq!(a.body["category"], "OBJECT_NOT_FOUND");
    let a = app
        .post(
            &token,
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme"}}),
        )
        .await;
    assert_eq!(a.status, 201, "another method: {}", a.text);
    assert_eq!(app.get(&token, "/crm/v3/objects/deals").await.status, 200);

    let m = app.call(Method::GET, None, "/metrics", None).await;
    assert!(
        m.text
            .contains("spoke_faults_injected_total{action=\"error\"} 3"),
        "{}",
        m.text
    );
}

#[tokio::test]
async fn a_429_rule_sends_hubspots_rate_limit_body_and_headers() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    add_rule(
        &app,
        &admin,
        json!({"action": "error", "status": 429, "count": 2}),
    )
    .await;
    let a = app.get(&token, CONTACTS).await;
    assert_injected(&a, 429);
    assert_eq!(a.body["errorType"], "RATE_LIMIT");
    assert_eq!(a.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(
        a.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(a.headers["x-hubspot-ratelimit-remaining"], "0");
    assert_eq!(
        a.headers["x-hubspot-ratelimit-interval-milliseconds"],
        "10000"
    );
    assert!(a.headers.contains_key("x-hubspot-ratelimit-max"));
    // Search's own limit, without headers, as HubSpot answers it.
    let a = app
        .post(&token, "/crm/v3/objects/contacts/search", json!({}))
        .await;
    assert_injected(&a, 429);
    assert_eq!(a.body["policyName"], "SECONDLY");
    assert_eq!(a.body["message"], "You have reached your secondly limit.");
    assert!(!a.headers.contains_key("x-hubspot-ratelimit-remaining"));
}

#[tokio::test]
async fn a_401_rule_is_an_expired_token_and_a_body_overrides_hubspots() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    add_rule(
        &app,
        &admin,
        json!({"action": "error", "status": 401, "count": 1}),
    )
    .await;
    let a = app.get(&token, CONTACTS).await;
    assert_injected(&a, 401);
    assert_eq!(a.body["category"], "EXPIRED_AUTHENTICATION");
    assert!(
        a.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired")),
        "{}",
        a.text
    );

    let body = json!({"status": "error", "message": "custom ü", "category": "X"});
    add_rule(
        &app,
        &admin,
        json!({"action": "error", "status": 502, "body": body, "count": 1}),
    )
    .await;
    let a = app.get(&token, CONTACTS).await;
    assert_eq!(a.status, 502);
    assert_eq!(a.body, body, "sent as given");
    assert!(a.headers.contains_key("x-hubspot-correlation-id"));
}

#[tokio::test]
async fn a_latency_rule_delays_then_serves() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    add_rule(
        &app,
        &admin,
        json!({"action": "latency", "latencyMs": 400, "path": "/crm/v3/objects/contacts*"}),
    )
    .await;
    let started = Instant::now();
    let a = app.get(&token, CONTACTS).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    assert_eq!(app.get(&token, "/crm/v3/objects/deals").await.status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "another path is not delayed"
    );
}

#[tokio::test]
async fn probability_zero_never_fires_and_one_always_does() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    let never = add_rule(
        &app,
        &admin,
        json!({"action": "error", "status": 500, "probability": 0}),
    )
    .await;
    for _ in 0..30 {
        assert_eq!(app.get(&token, CONTACTS).await.status, 200);
    }
    let id = never["id"].as_str().expect("id");
    let read = app.get(&admin, &format!("/_spoke/faults/{id}")).await;
    assert_eq!(read.body["hits"], 0);
    add_rule(
        &app,
        &admin,
        json!({"action": "error", "status": 500, "probability": 1.0}),
    )
    .await;
    for _ in 0..10 {
        assert_injected(&app.get(&token, CONTACTS).await, 500);
    }
}

#[tokio::test]
async fn a_portals_rule_does_not_touch_another_portal_or_a_request_without_a_token() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (mine, token) = new_portal(&app, &admin).await;
    let (_, other) = new_portal(&app, &admin).await;
    add_rule(
        &app,
        &admin,
        json!({"portalId": mine, "action": "error", "status": 500}),
    )
    .await;
    assert_injected(&app.get(&token, CONTACTS).await, 500);
    assert_eq!(app.get(&other, CONTACTS).await.status, 200);
    let a = app.call(Method::GET, None, CONTACTS, None).await;
    assert_eq!(a.status, 401, "before the token is known: {}", a.text);
    assert!(!a.headers.contains_key("x-spoke-fault"));
    // The admin API itself is never faulted.
    assert_eq!(app.get(&admin, "/_spoke/faults").await.status, 200);
    add_rule(&app, &admin, json!({"action": "error", "status": 500})).await;
    assert_eq!(app.get(&admin, "/_spoke/portals").await.status, 200);
    assert_eq!(
        app.call(Method::GET, None, "/healthz", None).await.status,
        200
    );

    let list = app.get(&admin, "/_spoke/faults").await;
    assert_eq!(
        list.body["results"].as_array().map(Vec::len),
        Some(2),
        "{}",
        list.text
    );
    let a = app
        .call(Method::DELETE, Some(&admin), "/_spoke/faults", None)
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert_eq!(app.get(&token, CONTACTS).await.status, 200);
    let list = app.get(&admin, "/_spoke/faults").await;
    assert_eq!(list.body["results"], json!([]));
}

/// Reads everything the server sends until it closes: the head and the body bytes.
async fn raw_exchange(base: &str, request: String) -> (String, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server closed the connection");
    let split = got
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&got[..split]).into_owned();
    (head, got[split + 4..].to_vec())
}

#[tokio::test]
async fn a_disconnect_rule_serves_the_request_then_cuts_the_answer_short() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    add_rule(
        &app,
        &admin,
        json!({"method": "POST", "path": "/crm/v3/objects/contacts", "action": "disconnect", "count": 1}),
    )
    .await;
    let body = r#"{"properties":{"email":"cut@example.com"}}"#;
    let request = format!(
        "POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (head, got) = raw_exchange(&app.base, request).await;
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().expect("a length"))
        })
        .expect("content-length");
    assert!(got.len() < length, "{} of {length} bytes", got.len());
    assert!(
        head.to_ascii_lowercase().contains("x-spoke-fault"),
        "{head}"
    );

    // reqwest sees a failed read, and the write happened all the same.
    let fails = app.add_and_read(&admin, &token).await;
    assert!(fails, "a client reading the body gets an error");
    let a = app
        .post(
            &token,
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "cut@example.com"}]}]}),
        )
        .await;
    assert_eq!(a.body["total"], 1, "{}", a.text);
    let m = app.call(Method::GET, None, "/metrics", None).await;
    assert!(
        m.text
            .contains("spoke_faults_injected_total{action=\"disconnect\"} 2"),
        "{}",
        m.text
    );
}

impl TestApp {
    /// Adds a one-shot disconnect rule for contact reads and reads a contact page through
    /// reqwest: whether reading the answer failed.
    async fn add_and_read(&self, admin: &str, token: &str) -> bool {
        add_rule(
            self,
            admin,
            json!({"method": "GET", "action": "disconnect", "count": 1}),
        )
        .await;
        let res = self
            .http
            .get(format!("{}{CONTACTS}", self.base))
            .bearer_auth(token)
            .send()
            .await;
        match res {
            Err(_) => true,
            Ok(r) => r.bytes().await.is_err(),
        }
    }
}

#[tokio::test]
async fn only_the_admin_token_manages_rules_and_bad_rules_are_refused() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = new_portal(&app, &admin).await;
    let rule = json!({"action": "error", "status": 500});
    let a = app.post(&token, "/_spoke/faults", rule.clone()).await;
    assert_eq!(a.status, 401, "{}", a.text);
    assert_eq!(a.body["category"], "INVALID_AUTHENTICATION");
    assert_eq!(app.get(&token, "/_spoke/faults").await.status, 401);
    assert_eq!(app.delete(&token, "/_spoke/faults").await.status, 401);
    assert_eq!(
        app.call(Method::POST, None, "/_spoke/faults", Some(rule))
            .await
            .status,
        401
    );
    for (bad, field) in [
        (json!({"action": "error", "status": 200}), "status"),
        (json!({"action": "error", "status": 600}), "status"),
        (json!({"action": "error"}), "status"),
        (
            json!({"action": "error", "status": 500, "probability": 1.5}),
            "probability",
        ),
        (
            json!({"action": "error", "status": 500, "probability": -0.1}),
            "probability",
        ),
        (json!({"action": "explode"}), "action"),
        (json!({"action": "latency"}), "latencyMs"),
        (
            json!({"action": "latency", "latencyMs": 10, "status": 500}),
            "status",
        ),
        (json!({"action": "disconnect", "count": -1}), "count"),
        (json!({"action": "disconnect", "method": "FETCH"}), "method"),
        (json!({"action": "disconnect", "path": ""}), "path"),
        (
            json!({"action": "error", "status": 500, "body": [1]}),
            "body",
        ),
    ] {
        let a = app.post(&admin, "/_spoke/faults", bad.clone()).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{}", a.text);
        assert_eq!(
            a.body["context"]["field"],
            json!([field]),
            "{bad}: {}",
            a.text
        );
    }
    for raw in [
        "",
        "{",
        "[]",
        r#"{"action": "error", "status": 500, "extra": 1}"#,
        r#"{"action": 5}"#,
    ] {
        let a = app
            .send_raw(Method::POST, &admin, "/_spoke/faults", raw)
            .await;
        assert_eq!(a.status, 400, "{raw}: {}", a.text);
        assert_eq!(a.body["status"], "error");
    }
    for path in ["/_spoke/faults/999999", "/_spoke/faults/nope"] {
        assert_eq!(app.get(&admin, path).await.status, 404);
        assert_eq!(app.delete(&admin, path).await.status, 404);
    }
    assert_eq!(
        app.get(&admin, "/_spoke/faults").await.body["results"],
        json!([]),
        "nothing was added"
    );
}
