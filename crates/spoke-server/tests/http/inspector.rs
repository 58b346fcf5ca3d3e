//! The request inspector (issue 16, scope 4): what HubSpot's surface was asked and answered,
//! listed, filtered, shown in full with secrets redacted, streamed live, bounded, switched
//! off, and closed to anyone without the admin token.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use spoke_server::inspector::InspectorConfig;

use crate::admin::admin_token;
use crate::harness::{Answer, TestApp};

async fn portal(app: &TestApp, admin: &str) -> (i64, String) {
    let a = app.post(admin, "/_spoke/portals", json!({})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["portalId"].as_i64().expect("portalId");
    (id, a.body["token"].as_str().expect("token").to_owned())
}

/// The log's entries for `query`, newest first, all pages followed.
async fn requests(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let a = app
            .get(
                admin,
                &format!("/_spoke/requests?{query}{sep}limit=2&after={after}"),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        out.extend(a.body["results"].as_array().expect("results").clone());
        match a.body["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_owned(),
            None => {
                assert!(a.body.get("paging").is_none(), "{}", a.text);
                return out;
            }
        }
    }
}

fn paths(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["method"].as_str().unwrap_or(""),
                e["path"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn correlation(a: &Answer) -> String {
    a.headers["x-hubspot-correlation-id"]
        .to_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn requests_are_listed_newest_first_and_filtered_by_portal_path_status_time_and_id() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (p1, t1) = portal(&app, &admin).await;
    let (p2, t2) = portal(&app, &admin).await;
    // spoke's own surface is not recorded.
    let _ = app.get(&admin, "/_spoke/portals").await;
    let _ = app.call(Method::GET, None, "/healthz", None).await;
    let _ = app.call(Method::GET, None, "/metrics", None).await;

    let list = app.get(&t1, "/crm/v3/objects/contacts?limit=5").await;
    assert_eq!(list.status, 200, "{}", list.text);
    let read = app
        .post(
            &t2,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "1"}], "properties": ["email"]}),
        )
        .await;
    let unknown = app.get(&t1, "/crm/v3/nothing/here").await;
    assert_eq!(unknown.status, 404);
    let refused = app
        .get("pat-na1-not-a-token", "/crm/v3/objects/companies")
        .await;
    assert_eq!(refused.status, 401);

    let all = requests(&app, &admin, "").await;
    assert_eq!(
        paths(&all),
        [
            "GET /crm/v3/objects/companies",
            "GET /crm/v3/nothing/here",
            "POST /crm/v3/objects/contacts/batch/read",
            "GET /crm/v3/objects/contacts",
        ]
    );
    let first = &all[3];
    assert_eq!(first["query"], "limit=5");
    assert_eq!(first["status"], 200);
    assert_eq!(first["portalId"], p1);
    assert!(first["tokenId"].as_i64().is_some(), "{first}");
    assert_eq!(first["correlationId"], correlation(&list));
    assert_eq!(first["responseBytes"], list.text.len());
    assert!(first["durationMs"].as_f64().is_some_and(|d| d >= 0.0));
    assert!(first["at"].as_str().is_some_and(|t| t.ends_with('Z')));
    // A request refused by auth is recorded, without a portal.
    assert_eq!(all[0]["status"], 401);
    assert_eq!(all[0]["portalId"], Value::Null);
    assert_eq!(all[0]["tokenId"], Value::Null);

    let by_portal = requests(&app, &admin, &format!("portalId={p2}")).await;
    assert_eq!(
        paths(&by_portal),
        ["POST /crm/v3/objects/contacts/batch/read"]
    );
    assert_eq!(by_portal[0]["correlationId"], correlation(&read));
    let by_path = requests(&app, &admin, "path=/crm/v3/objects/contacts").await;
    assert_eq!(by_path.len(), 2);
    let by_method = requests(&app, &admin, "method=post").await;
    assert_eq!(by_method.len(), 1);
    let client_errors = requests(&app, &admin, "status=4xx").await;
    assert_eq!(
        paths(&client_errors),
        ["GET /crm/v3/objects/companies", "GET /crm/v3/nothing/here"]
    );
    let exact = requests(&app, &admin, "status=404").await;
    assert_eq!(paths(&exact), ["GET /crm/v3/nothing/here"]);
    assert!(requests(&app, &admin, "status=5xx").await.is_empty());
    let by_id = requests(
        &app,
        &admin,
        &format!("correlationId={}", correlation(&unknown)),
    )
    .await;
    assert_eq!(paths(&by_id), ["GET /crm/v3/nothing/here"]);

    // Time: ISO-8601 or epoch milliseconds, both bounds inclusive.
    let newest = spoke_core::time::parse_iso(all[0]["at"].as_str().expect("at")).expect("iso");
    let oldest = spoke_core::time::parse_iso(all[3]["at"].as_str().expect("at")).expect("iso");
    assert_eq!(
        requests(&app, &admin, &format!("since={oldest}"))
            .await
            .len(),
        4
    );
    assert!(requests(&app, &admin, &format!("since={}", newest + 1))
        .await
        .is_empty());
    assert!(requests(&app, &admin, &format!("until={}", oldest - 1))
        .await
        .is_empty());
    let iso = spoke_core::time::format_iso(newest);
    assert_eq!(
        requests(&app, &admin, &format!("since={iso}&until={iso}")).await[0]["status"],
        401
    );

    // Bad filters are HubSpot-shaped 400s naming the parameter.
    for bad in [
        "status=abc",
        "status=6xx",
        "since=yesterday",
        "portalId=x",
        "limit=0",
        "limit=1001",
        "after=z",
    ] {
        let a = app.get(&admin, &format!("/_spoke/requests?{bad}")).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{}", a.text);
    }
    // Still only the four HubSpot requests: the admin calls above were not recorded.
    assert_eq!(requests(&app, &admin, "").await.len(), 4);
}

#[tokio::test]
async fn a_request_in_full_has_its_bodies_and_its_secrets_redacted() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (p, token) = portal(&app, &admin).await;
    let body = json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}});
    let res = app
        .http
        .post(format!(
            "{}/crm/v3/objects/contacts?hapikey=the-key&archived=false",
            app.base
        ))
        .bearer_auth(&token)
        .header("cookie", "session=secret")
        .header("x-custom", "kept")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 201);
    let id = res.headers()["x-hubspot-correlation-id"]
        .to_str()
        .expect("id")
        .to_owned();
    let answer = res.text().await.expect("text");

    let listed = requests(&app, &admin, &format!("correlationId={id}")).await;
    let rid = listed[0]["id"].as_str().expect("id");
    let a = app.get(&admin, &format!("/_spoke/requests/{rid}")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let d = &a.body;
    assert_eq!(d["portalId"], p);
    let tokens = app.store.list_tokens().await.expect("tokens");
    let token_id = tokens
        .iter()
        .find(|t| t.portal.0 == p)
        .map(|t| t.id)
        .expect("token");
    assert_eq!(d["tokenId"], token_id);
    assert_eq!(d["query"], "hapikey=[redacted]&archived=false");
    assert_eq!(d["requestHeaders"]["authorization"], "[redacted]");
    assert_eq!(d["requestHeaders"]["cookie"], "[redacted]");
    assert_eq!(d["requestHeaders"]["x-custom"], "kept");
    assert!(!a.text.contains(&token), "the token leaked: {}", a.text);
    assert!(!a.text.contains("the-key"));
    assert!(!a.text.contains("session=secret"));
    let sent: Value = serde_json::from_str(d["requestBody"].as_str().expect("body")).expect("json");
    assert_eq!(sent, body);
    assert_eq!(d["requestBodyTruncated"], false);
    assert_eq!(
        d["requestBytes"],
        serde_json::to_vec(&body).expect("bytes").len()
    );
    assert_eq!(d["responseBody"], answer.as_str());
    assert_eq!(d["responseBodyTruncated"], false);
    assert_eq!(
        d["responseHeaders"]["x-hubspot-correlation-id"],
        id.as_str()
    );
    assert_eq!(d["status"], 201);
    // Every summary field is in the detail too.
    for (k, v) in listed[0].as_object().expect("summary") {
        assert_eq!(&d[k], v, "{k}");
    }

    // OAuth: form fields and tokens in answers and paths.
    let res = app
        .http
        .post(format!("{}/oauth/v1/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=refresh_token&client_id=abc&client_secret=s3cret&refresh_token=r3fresh")
        .send()
        .await
        .expect("send");
    let oauth_status = res.status().as_u16();
    let _ = app
        .call(
            Method::GET,
            None,
            "/oauth/v1/access-tokens/CJT-some-token",
            None,
        )
        .await;
    let oauth = requests(&app, &admin, "path=/oauth/").await;
    assert_eq!(oauth.len(), 2, "{oauth:?}");
    assert_eq!(oauth[0]["path"], "/oauth/v1/access-tokens/[redacted]");
    let rid = oauth[1]["id"].as_str().expect("id");
    let a = app.get(&admin, &format!("/_spoke/requests/{rid}")).await;
    assert_eq!(a.body["status"], oauth_status);
    assert_eq!(
        a.body["requestBody"],
        "grant_type=refresh_token&client_id=abc&client_secret=[redacted]&refresh_token=[redacted]"
    );
    assert_eq!(a.body["portalId"], Value::Null);

    // Unknown ids are 404s.
    for id in ["999999", "abc"] {
        let a = app.get(&admin, &format!("/_spoke/requests/{id}")).await;
        assert_eq!(a.status, 404, "{}", a.text);
        assert_eq!(a.body["category"], "OBJECT_NOT_FOUND");
    }
}

#[tokio::test]
async fn the_oauth_flow_is_recorded_without_its_codes_and_tokens() {
    use crate::oauth::{consent, exchange, query_param, register};
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (p, _) = portal(&app, &admin).await;
    let oauth = register(&app, "Inspected").await;
    let location = consent(&app, &oauth, p, "s").await;
    let code = query_param(&location, "code").expect("code");
    let (status, tokens) = exchange(&app, &oauth, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("access token");
    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    let crm = app.get(access, "/crm/v3/objects/contacts").await;
    assert_eq!(crm.status, 200, "{}", crm.text);

    let all = requests(&app, &admin, "").await;
    assert_eq!(
        paths(&all),
        [
            "GET /crm/v3/objects/contacts",
            "POST /oauth/v1/token",
            "POST /oauth/authorize",
            "GET /oauth/authorize",
        ]
    );
    // An OAuth access token: its portal and app, no private-app token id.
    assert_eq!(all[0]["portalId"], p);
    assert_eq!(all[0]["tokenId"], Value::Null);
    assert_eq!(all[0]["appId"], oauth.app.id);
    let mut details = String::new();
    for e in &all {
        let id = e["id"].as_str().expect("id");
        details.push_str(
            &app.get(&admin, &format!("/_spoke/requests/{id}"))
                .await
                .text,
        );
    }
    for secret in [
        code.as_str(),
        access,
        refresh,
        oauth.secrets.client_secret.as_str(),
    ] {
        assert!(!details.contains(secret), "{secret} leaked: {details}");
    }
    let id = all[1]["id"].as_str().expect("id");
    let d = app
        .get(&admin, &format!("/_spoke/requests/{id}"))
        .await
        .body;
    let answer: Value =
        serde_json::from_str(d["responseBody"].as_str().expect("body")).expect("json");
    assert_eq!(answer["access_token"], "[redacted]");
    assert_eq!(answer["refresh_token"], "[redacted]");
    assert_eq!(answer["expires_in"], tokens["expires_in"]);
    let id = all[2]["id"].as_str().expect("id");
    let d = app
        .get(&admin, &format!("/_spoke/requests/{id}"))
        .await
        .body;
    assert!(
        d["responseHeaders"]["location"]
            .as_str()
            .is_some_and(|l| l.contains("code=[redacted]")),
        "{d}"
    );
}

#[tokio::test]
async fn bodies_are_cut_at_the_cap_and_the_log_keeps_within_count_and_bytes() {
    let app = TestApp::spawn_with(|s| {
        s.with_inspector(InspectorConfig {
            capacity: 3,
            max_bytes: 64 << 10,
            body_cap: 1024,
            ..Default::default()
        })
    })
    .await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    let long = "x".repeat(3000);
    let a = app
        .post(
            &token,
            "/crm/v3/objects/contacts/search",
            json!({"query": long, "limit": 1}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let listed = requests(&app, &admin, "").await;
    let rid = listed[0]["id"].as_str().expect("id");
    let d = app
        .get(&admin, &format!("/_spoke/requests/{rid}"))
        .await
        .body;
    assert_eq!(d["requestBodyTruncated"], true);
    assert_eq!(d["requestBody"].as_str().map(str::len), Some(1024));
    assert!(d["requestBytes"].as_u64().is_some_and(|n| n > 3000));

    // Count: five requests, the three newest kept.
    for i in 0..5 {
        let _ = app
            .get(&token, &format!("/crm/v3/objects/contacts?limit={}", i + 1))
            .await;
    }
    let kept = requests(&app, &admin, "").await;
    let queries: Vec<&str> = kept
        .iter()
        .map(|e| e["query"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(queries, ["limit=5", "limit=4", "limit=3"]);
    let status = app.get(&admin, "/_spoke/inspector").await;
    assert_eq!(status.body["stored"], 3, "{}", status.text);
    assert_eq!(status.body["capacity"], 3);
    assert_eq!(status.body["maxBodyBytes"], 1024);

    // Bytes: entries of ~2 KiB of bodies each in a log of 8 KiB.
    let app = TestApp::spawn_with(|s| {
        s.with_inspector(InspectorConfig {
            capacity: 1000,
            max_bytes: 8 << 10,
            body_cap: 1024,
            ..Default::default()
        })
    })
    .await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    for _ in 0..10 {
        let a = app
            .post(
                &token,
                "/crm/v3/objects/contacts/search",
                json!({"query": long, "limit": 1}),
            )
            .await;
        assert_eq!(a.status, 200);
    }
    let status = app.get(&admin, "/_spoke/inspector").await.body;
    let bytes = status["bytes"].as_u64().expect("bytes");
    let stored = status["stored"].as_u64().expect("stored");
    assert!(bytes <= 8 << 10, "{status}");
    assert!((1..10).contains(&stored), "{status}");
    // The metrics agree.
    let metrics = app.call(Method::GET, None, "/metrics", None).await.text;
    assert!(
        metrics.contains("spoke_inspector_recorded_total 10"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("spoke_inspector_evicted_total {}", 10 - stored)),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("spoke_inspector_bytes {bytes}")),
        "{metrics}"
    );

    // Clearing empties it.
    let a = app.delete(&admin, "/_spoke/requests").await;
    assert_eq!(a.status, 204);
    assert!(requests(&app, &admin, "").await.is_empty());
    assert_eq!(app.get(&admin, "/_spoke/inspector").await.body["bytes"], 0);
}

#[tokio::test]
async fn recording_can_be_turned_off_and_on() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    let s = app.get(&admin, "/_spoke/inspector").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body["recording"], true);
    assert_eq!(s.body["capacity"], 10_000);
    assert_eq!(s.body["maxBytes"], 64 << 20);

    let off = app
        .call(
            Method::PUT,
            Some(&admin),
            "/_spoke/inspector",
            Some(json!({"recording": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body["recording"], false);
    let _ = app.get(&token, "/crm/v3/objects/contacts?limit=1").await;
    assert!(requests(&app, &admin, "").await.is_empty());

    let on = app
        .call(
            Method::PUT,
            Some(&admin),
            "/_spoke/inspector",
            Some(json!({"recording": true})),
        )
        .await;
    assert_eq!(on.body["recording"], true);
    let _ = app.get(&token, "/crm/v3/objects/contacts?limit=2").await;
    let after = requests(&app, &admin, "").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["query"], "limit=2");

    for bad in [
        "{}",
        r#"{"recording": "no"}"#,
        r#"{"recording": true, "x": 1}"#,
        "",
    ] {
        let a = app
            .send_raw(Method::PUT, &admin, "/_spoke/inspector", bad)
            .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR");
    }

    // Started with recording off (`spoke serve --no-inspector`).
    let app = TestApp::spawn_with(|s| {
        s.with_inspector(InspectorConfig {
            recording: false,
            ..Default::default()
        })
    })
    .await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    let _ = app.get(&token, "/crm/v3/objects/contacts").await;
    let s = app.get(&admin, "/_spoke/inspector").await.body;
    assert_eq!(s["recording"], false);
    assert_eq!(s["stored"], 0);
}

#[tokio::test]
async fn only_the_admin_token_reads_the_log() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    for (method, path) in [
        (Method::GET, "/_spoke/requests"),
        (Method::GET, "/_spoke/requests/1"),
        (Method::GET, "/_spoke/requests/stream"),
        (Method::DELETE, "/_spoke/requests"),
        (Method::GET, "/_spoke/inspector"),
        (Method::PUT, "/_spoke/inspector"),
    ] {
        for credential in [None, Some(token.as_str())] {
            let a = app
                .call(
                    method.clone(),
                    credential,
                    path,
                    Some(json!({"recording": false})),
                )
                .await;
            assert_eq!(a.status, 401, "{method} {path}: {}", a.text);
            assert_eq!(a.body["category"], "INVALID_AUTHENTICATION");
        }
    }
    // Nothing above changed or read it.
    assert_eq!(
        app.get(&admin, "/_spoke/inspector").await.body["recording"],
        true
    );
}

/// Reads server-sent events until one `data:` line arrives.
async fn next_data(res: &mut reqwest::Response, buffer: &mut String) -> Value {
    loop {
        if let Some(at) = buffer.find("\n\n") {
            let event: String = buffer.drain(..at + 2).collect();
            if let Some(line) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                return serde_json::from_str(line).expect("summary JSON");
            }
            continue;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream")
            .expect("stream still open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_stream_delivers_requests_made_after_subscribing_that_match_its_filter() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (_, token) = portal(&app, &admin).await;
    let _before = app.get(&token, "/crm/v3/objects/contacts?limit=1").await;
    let mut res = app
        .http
        .get(format!(
            "{}/_spoke/requests/stream?path=/crm/v3/objects/companies",
            app.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("text/event-stream")));
    // Not matching the filter, then matching.
    let _ = app.get(&token, "/crm/v3/objects/contacts?limit=3").await;
    let wanted = app.get(&token, "/crm/v3/objects/companies?limit=2").await;
    let mut buffer = String::new();
    let event = next_data(&mut res, &mut buffer).await;
    assert_eq!(event["path"], "/crm/v3/objects/companies");
    assert_eq!(event["query"], "limit=2");
    assert_eq!(event["correlationId"], correlation(&wanted));
    assert_eq!(event["status"], 200);

    let bad = app.get(&admin, "/_spoke/requests/stream?status=nope").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn an_open_stream_does_not_hold_up_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("spoke.db").display());
    let store: std::sync::Arc<dyn spoke_store::Store> =
        std::sync::Arc::new(spoke_store_sqlite::SqliteStore::open(&url).expect("open"));
    let secret = spoke_store::admin::new_admin_secret();
    store
        .put_admin_token_hash(
            &spoke_store::admin::admin_hash(&secret),
            true,
            spoke_core::time::now_millis(),
        )
        .await
        .expect("admin");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(spoke_server::serve(
        listener,
        spoke_server::AppState::new(store),
        async {
            let _ = stopped.await;
        },
    ));
    let mut res = reqwest::Client::new()
        .get(format!("http://{addr}/_spoke/requests/stream"))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    let _ = stop.send(());
    let done = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(done.is_ok(), "the server did not stop with a stream open");
    // And the stream ended cleanly rather than hanging.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = res.chunk().await {}
    })
    .await;
    assert!(rest.is_ok());
}
