//! Issue 18, defects 3 and 4 and scope 3: every batch is bounded, and one batch is one
//! transaction, so a client that disconnects mid-request leaves all of it or none.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

use crate::harness::TestApp;
use crate::support::*;

const OVER_LIMIT: &str =
    "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again";
const TOO_MANY_PROPERTIES: &str =
    "The maximum number of custom properties for contacts is 1000. Archive unused properties and try again";

fn def(name: &str) -> Value {
    json!({"name": name, "label": name, "type": "string", "fieldType": "text",
           "groupName": "contactinformation"})
}

fn names(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}_{i:04}")).collect()
}

async fn create_properties(app: &TestApp, t: &str, names: &[String]) {
    for chunk in names.chunks(100) {
        let inputs: Vec<Value> = chunk.iter().map(|n| def(n)).collect();
        let ans = app
            .post(
                t,
                "/crm/v3/properties/contacts/batch/create",
                json!({ "inputs": inputs }),
            )
            .await;
        assert_eq!(ans.status, 201, "{}", ans.text);
    }
}

/// Names of the type's custom properties in the given state.
async fn property_names(app: &TestApp, t: &str, archived: bool) -> BTreeSet<String> {
    let ans = app
        .get(
            t,
            &format!("/crm/v3/properties/contacts?archived={archived}"),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|p| p["hubspotDefined"] != true)
        .map(|p| p["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Sends a request over a raw connection and closes it `after` later, without reading the
/// answer: a client that gives up mid-request.
async fn post_then_disconnect(app: &TestApp, t: &str, path: &str, body: &Value, after: Duration) {
    let addr = app.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .expect("send request");
    tokio::time::sleep(after).await;
    drop(socket);
}

/// Waits until `probe` answers the same twice in a row: a batch the server kept running
/// after its client left (SQLite finishes a started transaction) has landed by then.
async fn settled<F, Fut, T>(probe: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
    T: PartialEq,
{
    let mut last = probe().await;
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = probe().await;
        if now == last {
            return now;
        }
        last = now;
    }
}

const DELAYS_MS: [u64; 9] = [0, 1, 2, 4, 7, 11, 16, 25, 40];

#[tokio::test]
async fn properties_batch_archive_is_atomic_and_fast() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let all = names("bulk", 0..1000);
    create_properties(&app, &t, &all).await;

    // A HubSpot-defined name refuses the whole call (as the single archive does) before
    // anything is archived.
    let mut with_builtin: Vec<Value> = all[..5].iter().map(|n| json!({ "name": n })).collect();
    with_builtin.push(json!({"name": "email"}));
    let refused = app
        .post(
            &t,
            "/crm/v3/properties/contacts/batch/archive",
            json!({ "inputs": with_builtin }),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "email is a HubSpot-defined property; its definition cannot be changed or archived."
    );
    let single = app.delete(&t, "/crm/v3/properties/contacts/email").await;
    assert_eq!(single.status, 400, "{}", single.text);
    assert_eq!(single.body["message"], refused.body["message"]);
    assert!(property_names(&app, &t, true).await.is_empty());

    // 100 names (plus unknown ones) at the type's limit of custom properties: one call.
    let mut inputs: Vec<Value> = all[..100].iter().map(|n| json!({ "name": n })).collect();
    inputs.truncate(98);
    inputs.push(json!({"name": "never_created"}));
    inputs.push(json!({"name": "bulk_0000"}));
    let started = Instant::now();
    let archived = app
        .post(
            &t,
            "/crm/v3/properties/contacts/batch/archive",
            json!({ "inputs": inputs }),
        )
        .await;
    let took = started.elapsed();
    println!("batch/archive of 100 names at 1,000 custom properties: {took:?}");
    assert_eq!(archived.status, 204, "{}", archived.text);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(property_names(&app, &t, true).await.len(), 98);
    let again = app
        .post(
            &t,
            "/crm/v3/properties/contacts/batch/archive",
            json!({"inputs": [{"name": "bulk_0000"}, {"name": "ghost"}]}),
        )
        .await;
    assert_eq!(again.status, 204, "archived and unknown names: still 204");

    // Clients that give up mid-request: each batch is archived whole or not at all.
    let mut outcomes = Vec::new();
    for (round, delay) in DELAYS_MS.iter().enumerate() {
        let slice = &all[100 + round * 100..200 + round * 100];
        let inputs: Vec<Value> = slice.iter().map(|n| json!({ "name": n })).collect();
        post_then_disconnect(
            &app,
            &t,
            "/crm/v3/properties/contacts/batch/archive",
            &json!({ "inputs": inputs }),
            Duration::from_millis(*delay),
        )
        .await;
        let archived = settled(|| property_names(&app, &t, true)).await;
        let done = slice.iter().filter(|n| archived.contains(*n)).count();
        assert!(
            done == 0 || done == 100,
            "disconnected after {delay} ms: {done} of 100 archived"
        );
        outcomes.push(done);
    }
    println!("archived per disconnected batch: {outcomes:?}");
}

#[tokio::test]
async fn properties_batch_create_is_bounded() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let over = names("over", 0..101);
    let creates: Vec<Value> = over.iter().map(|n| def(n)).collect();
    let by_name: Vec<Value> = over.iter().map(|n| json!({ "name": n })).collect();
    for (path, body) in [
        ("batch/create", json!({ "inputs": creates })),
        (
            "batch/read",
            json!({ "inputs": by_name, "archived": false }),
        ),
        ("batch/archive", json!({ "inputs": by_name })),
    ] {
        let ans = app
            .post(&t, &format!("/crm/v3/properties/contacts/{path}"), body)
            .await;
        assert_eq!(ans.status, 400, "{path}: {}", ans.text);
        assert_error(&ans, 400, Some("VALIDATION_ERROR"), OVER_LIMIT);
    }
    assert!(property_names(&app, &t, false).await.is_empty());
    // Exactly 100 is fine.
    create_properties(&app, &t, &over[..100]).await;
    assert_eq!(property_names(&app, &t, false).await.len(), 100);
}

/// The median time of `n` contacts batch reads of 100 ids.
async fn batch_read_median(app: &TestApp, t: &str, ids: &[String], n: usize) -> Duration {
    let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    let body = json!({ "inputs": inputs, "properties": ["email"] });
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let ans = app
            .post(t, "/crm/v3/objects/contacts/batch/read", body.clone())
            .await;
        times.push(started.elapsed());
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    times.sort();
    times[n / 2]
}

#[tokio::test]
async fn custom_property_count_is_bounded() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let emails: Vec<String> = (0..100).map(|i| format!("c{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let ids = create_contacts(&app, &t, &refs).await;
    let bare = batch_read_median(&app, &t, &ids, 30).await;

    let all = names("many", 0..1000);
    create_properties(&app, &t, &all).await;
    let full = batch_read_median(&app, &t, &ids, 30).await;
    println!(
        "contacts batch/read of 100 (median of 30): {bare:?} with no custom properties, \
         {full:?} with 1,000"
    );

    let one = app
        .post(&t, "/crm/v3/properties/contacts", def("one_more"))
        .await;
    assert_error(&one, 400, Some("VALIDATION_ERROR"), TOO_MANY_PROPERTIES);
    let batch = app
        .post(
            &t,
            "/crm/v3/properties/contacts/batch/create",
            json!({"inputs": [def("one_more"), def("two_more")]}),
        )
        .await;
    assert_error(&batch, 400, Some("VALIDATION_ERROR"), TOO_MANY_PROPERTIES);
    assert_eq!(property_names(&app, &t, false).await.len(), 1000);

    // The bound is per type, and archiving makes room.
    let company = app
        .post(
            &t,
            "/crm/v3/properties/companies",
            json!({"name": "one_more", "label": "x", "type": "string", "fieldType": "text",
                   "groupName": "companyinformation"}),
        )
        .await;
    assert_eq!(company.status, 201, "{}", company.text);
    let gone = app
        .delete(&t, "/crm/v3/properties/contacts/many_0000")
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let one = app
        .post(&t, "/crm/v3/properties/contacts", def("one_more"))
        .await;
    assert_eq!(one.status, 201, "{}", one.text);
}

#[tokio::test]
async fn batch_disconnect_leaves_nothing_half_applied() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let count = |archived: bool| {
        let (app, t) = (&app, &t);
        async move { list_all_ids(app, t, "contacts", archived).await.len() }
    };

    // batch/create
    let mut before = 0;
    for (round, delay) in DELAYS_MS.iter().enumerate() {
        let inputs: Vec<Value> = (0..100)
            .map(|i| json!({"properties": {"email": format!("r{round}-{i}@example.com")}}))
            .collect();
        post_then_disconnect(
            &app,
            &t,
            "/crm/v3/objects/contacts/batch/create",
            &json!({ "inputs": inputs }),
            Duration::from_millis(*delay),
        )
        .await;
        let now = settled(|| count(false)).await;
        assert!(
            now == before || now == before + 100,
            "create, disconnected after {delay} ms: {} of 100 written",
            now - before
        );
        before = now;
    }

    // batch/update of 100 records, then batch/archive of them.
    let emails: Vec<String> = (0..100).map(|i| format!("u{i}@example.com")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let ids = create_contacts(&app, &t, &refs).await;
    let read_names = || {
        let (app, t, ids) = (&app, &t, &ids);
        async move {
            let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
            let ans = app
                .post(
                    t,
                    "/crm/v3/objects/contacts/batch/read",
                    json!({"inputs": inputs, "properties": ["firstname"]}),
                )
                .await;
            ans.body["results"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .map(|o| o["properties"]["firstname"].clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    for (round, delay) in DELAYS_MS.iter().enumerate() {
        let name = format!("round{round}");
        let inputs: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "properties": {"firstname": name}}))
            .collect();
        post_then_disconnect(
            &app,
            &t,
            "/crm/v3/objects/contacts/batch/update",
            &json!({ "inputs": inputs }),
            Duration::from_millis(*delay),
        )
        .await;
        let names = settled(read_names).await;
        let changed = names.iter().filter(|v| **v == json!(name)).count();
        assert!(
            changed == 0 || changed == 100,
            "update, disconnected after {delay} ms: {changed} of 100 changed"
        );
    }
    let archived_before = count(true).await;
    let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    post_then_disconnect(
        &app,
        &t,
        "/crm/v3/objects/contacts/batch/archive",
        &json!({ "inputs": inputs }),
        Duration::from_millis(2),
    )
    .await;
    let archived = settled(|| count(true)).await - archived_before;
    assert!(
        archived == 0 || archived == 100,
        "archive, disconnected: {archived} of 100 archived"
    );
}

#[tokio::test]
async fn batch_upsert_with_mixed_id_properties_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    must_create_property(
        &app,
        &t,
        "contacts",
        json!({"name": "ext_id", "type": "string", "fieldType": "text", "hasUniqueValue": true}),
    )
    .await;
    create_contacts(&app, &t, &["taken@example.com"]).await;
    // Two keys in one call used to be two store calls: the email group was written even
    // though the ext_id group then conflicted.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"idProperty": "email", "id": "new@example.com", "properties": {"firstname": "A"}},
                {"idProperty": "ext_id", "id": "k1", "properties": {"email": "taken@example.com"}}
            ]}),
        )
        .await;
    assert_error(
        &ans,
        400,
        Some("VALIDATION_ERROR"),
        "All inputs of a batch upsert must use the same idProperty; found email, ext_id",
    );
    assert_eq!(list_all_ids(&app, &t, "contacts", false).await.len(), 1);
}

#[tokio::test]
async fn repeated_associations_query_names_cost_one_read_per_type() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let contact = create_one(&app, &t, "contacts", json!({"email": "a@example.com"})).await;
    let company = create_one(&app, &t, "companies", json!({"name": "Acme"})).await;
    let put = app
        .call(
            reqwest::Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/contacts/{contact}/associations/default/companies/{company}"),
            None,
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let spellings = ["companies", "company", "0-2", "COMPANIES"];
    let mut names: Vec<&str> = Vec::new();
    for _ in 0..125 {
        names.extend(spellings);
    }
    let path = format!(
        "/crm/v3/objects/contacts/{contact}?associations={}",
        names.join(",")
    );
    let ans = app.get(&t, &path).await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    for s in spellings {
        assert_eq!(
            ans.body["associations"][s]["results"][0]["id"],
            json!(company),
            "{s}: {}",
            ans.text
        );
    }
    let once = app
        .get(
            &t,
            &format!("/crm/v3/objects/contacts/{contact}?associations=companies"),
        )
        .await;
    assert_eq!(
        ans.body["associations"]["companies"],
        once.body["associations"]["companies"]
    );
}

#[tokio::test]
async fn archived_property_count_is_bounded() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    // Create-and-archive rounds: without a bound each round adds definitions that every
    // record request of the type loads.
    for round in 0..2 {
        let batch = names(&format!("r{round}"), 0..600);
        create_properties(&app, &t, &batch).await;
        for chunk in batch.chunks(100) {
            let inputs: Vec<Value> = chunk.iter().map(|n| json!({ "name": n })).collect();
            let ans = app
                .post(
                    &t,
                    "/crm/v3/properties/contacts/batch/archive",
                    json!({ "inputs": inputs }),
                )
                .await;
            assert_eq!(ans.status, 204, "{}", ans.text);
        }
    }
    let archived = property_names(&app, &t, true).await;
    assert_eq!(archived.len(), 1000, "the newest 1,000 archived are kept");
    assert!(archived.contains("r1_0599") && archived.contains("r0_0200"));
    assert!(!archived.contains("r0_0199"), "the oldest went first");
    assert!(property_names(&app, &t, false).await.is_empty());
}
