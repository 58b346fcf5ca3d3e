//! The webhooks journal (hubspot-behavior-apps.md §43): an app token from the
//! client-credentials grant, journal subscriptions and filters, entries written with the
//! change and read by offset, their files at pre-signed URLs, retention by the portal's
//! clock, and the app token's isolation from CRM data.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use spoke_core::time::now_millis;
use spoke_core::PortalId;

use crate::faults::{admin_token, new_portal};
use crate::harness::{Answer, TestApp};
use crate::oauth::{register, OAuthApp};

const SUBS: &str = "/webhooks-journal/subscriptions/2026-03";
const J: &str = "/webhooks-journal/journal/2026-03";
const JL: &str = "/webhooks-journal/journal-local/2026-03";

/// A client-credentials token of `app` (all journal scopes unless `scope` names some).
async fn app_token(t: &TestApp, app: &OAuthApp, scope: Option<&str>) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", app.app.client_id.as_str()),
        ("client_secret", app.secrets.client_secret.as_str()),
    ];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let res = t
        .http
        .post(format!("{}/oauth/v1/token", t.base))
        .form(&form)
        .send()
        .await
        .expect("token");
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn token_of(t: &TestApp, app: &OAuthApp) -> String {
    let (status, body) = app_token(t, app, None).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// An app installed in a new portal, its app token, the portal and its CRM token.
async fn setup(t: &TestApp) -> (OAuthApp, String, i64, String) {
    let admin = admin_token(t).await;
    let (portal, crm) = new_portal(t, &admin).await;
    let app = register(t, "journal").await;
    t.store
        .install_app(app.app.id, PortalId(portal), now_millis())
        .await
        .expect("install");
    let token = token_of(t, &app).await;
    (app, token, portal, crm)
}

async fn subscribe(t: &TestApp, token: &str, body: Value) -> Value {
    let a = t.post(token, SUBS, body).await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body
}

async fn events_at(t: &TestApp, entry: &Value) -> Vec<Value> {
    let url = entry["url"].as_str().expect("url");
    // Pre-signed: no Authorization header.
    let res = t.http.get(url).send().await.expect("file");
    assert_eq!(res.status(), 200, "{url}");
    res.json::<Vec<Value>>().await.expect("events")
}

fn offset(entry: &Answer) -> String {
    entry.body["currentOffset"]
        .as_str()
        .unwrap_or_else(|| panic!("an entry: {}", entry.text))
        .to_owned()
}

#[tokio::test]
async fn client_credentials_give_an_app_token_that_reads_no_crm_data() {
    let t = TestApp::spawn().await;
    let (app, token, portal, crm) = setup(&t).await;
    let (status, body) = app_token(&t, &app, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body.get("hub_id").is_none(), "{body}");
    assert_eq!(
        body["scopes"],
        json!([
            "webhooks-journal-data-access",
            "webhooks-journal-subscription-read",
            "webhooks-journal-subscription-management",
            "webhooks-journal-snapshot-management"
        ])
    );

    // The guide's scope names are the spec's; anything else is refused.
    let (status, body) = app_token(&t, &app, Some("developer.webhooks_journal.read")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scopes"], json!(["webhooks-journal-data-access"]));
    let narrow = body["access_token"].as_str().expect("token").to_owned();
    let (status, body) = app_token(&t, &app, Some("crm.objects.contacts.read")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_scope");

    // No CRM API takes it, in the app's portal or any other.
    let made = t
        .post(
            &crm,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@example.com"}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    for path in [
        "/crm/v3/objects/contacts".to_owned(),
        format!(
            "/crm/v3/objects/contacts/{}",
            made.body["id"].as_str().unwrap_or("0")
        ),
        "/crm/v3/properties/contacts".to_owned(),
        "/crm/v3/owners".to_owned(),
    ] {
        let a = t.get(&token, &path).await;
        assert_eq!(a.status, 401, "{path}: {}", a.text);
    }
    // And a portal's token does not read the journal.
    let a = t.get(&crm, &format!("{J}/latest")).await;
    assert_eq!(a.status, 401, "{}", a.text);
    // A token without a scope gets HubSpot's 403 naming it.
    let a = t.get(&narrow, SUBS).await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(a.body["category"], "MISSING_SCOPES");
    let _ = portal;
}

#[tokio::test]
async fn subscriptions_are_upserted_listed_and_deleted_per_app() {
    let t = TestApp::spawn().await;
    let (_app, token, portal, _crm) = setup(&t).await;
    let body = json!({
        "subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1",
        "actions": ["CREATE"], "properties": ["email"], "objectIds": []
    });
    let first = subscribe(&t, &token, body.clone()).await;
    assert_eq!(first["subscriptionType"], "OBJECT");
    assert_eq!(first["objectTypeId"], "0-1");
    assert_eq!(first["portalId"], portal);
    assert!(first["id"].is_i64(), "{first}");
    // The same (type, portal, object type) again is an update of the same subscription.
    let mut again = body.clone();
    again["actions"] = json!(["CREATE", "UPDATE"]);
    let second = subscribe(&t, &token, again).await;
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["actions"], json!(["CREATE", "UPDATE"]));
    let list = t.get(&token, SUBS).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["results"].as_array().map(Vec::len), Some(1));
    let id = first["id"].as_i64().expect("id");
    let one = t.get(&token, &format!("{SUBS}/{id}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["id"], id);

    // Another app sees none of it.
    let other = register(&t, "other").await;
    let other_token = token_of(&t, &other).await;
    let a = t.get(&other_token, &format!("{SUBS}/{id}")).await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!(a.body["category"], "OBJECT_NOT_FOUND");
    let a = t.get(&other_token, SUBS).await;
    assert_eq!(a.body["results"], json!([]));

    // Bad bodies: 400 in HubSpot's envelope, never a 5xx.
    for bad in [
        json!({}),
        json!({"subscriptionType": "NOPE"}),
        json!({"subscriptionType": "OBJECT", "objectTypeId": "0-1", "actions": ["CREATE"], "properties": [], "objectIds": []}),
        json!({"subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "zz", "actions": ["CREATE"], "properties": [], "objectIds": []}),
        json!({"subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1", "actions": ["EXPLODE"], "properties": [], "objectIds": []}),
        json!({"subscriptionType": "OBJECT", "portalId": 424242, "objectTypeId": "0-1", "actions": ["CREATE"], "properties": [], "objectIds": []}),
        json!({"subscriptionType": "ASSOCIATION", "portalId": portal, "objectTypeId": "0-1", "actions": ["ASSOCIATION_ADDED"], "objectIds": []}),
        json!([1, 2]),
    ] {
        let a = t.post(&token, SUBS, bad.clone()).await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{bad}");
    }
    let a = t.get(&token, &format!("{SUBS}/abc")).await;
    assert_eq!(a.status, 400, "{}", a.text);

    // Delete one, then by portal.
    let a = t.delete(&token, &format!("{SUBS}/{id}")).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.delete(&token, &format!("{SUBS}/{id}")).await;
    assert_eq!(a.status, 404, "{}", a.text);
    subscribe(&t, &token, body).await;
    let a = t.delete(&token, &format!("{SUBS}/portals/{portal}")).await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert_eq!(t.get(&token, SUBS).await.body["results"], json!([]));
}

#[tokio::test]
async fn a_write_is_in_the_journal_and_its_file_at_the_entrys_url() {
    let t = TestApp::spawn().await;
    let (_app, token, portal, crm) = setup(&t).await;

    // Nothing yet: 204.
    let a = t.get(&token, &format!("{J}/latest")).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.get(&token, &format!("{J}/earliest")).await;
    assert_eq!(a.status, 204, "{}", a.text);

    subscribe(
        &t,
        &token,
        json!({
            "subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1",
            "actions": ["CREATE", "UPDATE", "DELETE"], "properties": ["email", "firstname"],
            "objectIds": []
        }),
    )
    .await;
    subscribe(
        &t,
        &token,
        json!({
            "subscriptionType": "ASSOCIATION", "portalId": portal, "objectTypeId": "0-1",
            "actions": ["ASSOCIATION_ADDED", "ASSOCIATION_REMOVED"],
            "associatedObjectTypeIds": ["0-2"], "objectIds": []
        }),
    )
    .await;

    let made = t
        .post(
            &crm,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "j@example.com", "firstname": "Jo", "lastname": "X"}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id: i64 = made.body["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("numeric");

    let latest = t.get(&token, &format!("{J}/latest")).await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    let first = offset(&latest);
    assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
    assert!(latest.body["expiresAt"].is_string());
    let events = events_at(&t, &latest.body).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["action"], "CREATE");
    assert_eq!(e["objectTypeId"], "0-1");
    assert_eq!(e["objectId"], id);
    assert_eq!(e["portalId"], portal);
    assert_eq!(
        e["properties"],
        json!({"email": "j@example.com", "firstname": "Jo"})
    );

    // The same entry is the earliest; nothing after it yet (204).
    let earliest = t.get(&token, &format!("{J}/earliest")).await;
    assert_eq!(offset(&earliest), first);
    let a = t.get(&token, &format!("{J}/offset/{first}/next")).await;
    assert_eq!(a.status, 204, "{}", a.text);

    // An update of a subscribed property, one of an unsubscribed one (no entry), a link.
    let a = t
        .patch(
            &crm,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"lastname": "Y"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t
        .patch(
            &crm,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Jane"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let company = t
        .post(
            &crm,
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme"}}),
        )
        .await;
    assert_eq!(company.status, 201, "{}", company.text);
    let cid = company.body["id"].as_str().expect("id").to_owned();
    let a = t
        .call(
            Method::PUT,
            Some(&crm),
            &format!("/crm/v4/objects/contacts/{id}/associations/default/companies/{cid}"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t
        .delete(&crm, &format!("/crm/v3/objects/contacts/{id}"))
        .await;
    assert_eq!(a.status, 204, "{}", a.text);

    let next = t.get(&token, &format!("{J}/offset/{first}/next")).await;
    assert_eq!(next.status, 200, "{}", next.text);
    let events = events_at(&t, &next.body).await;
    assert_eq!(events[0]["action"], "UPDATE");
    assert_eq!(events[0]["properties"], json!({"firstname": "Jane"}));

    let batch = t.get(&token, &format!("{J}/batch/{first}/next/10")).await;
    assert_eq!(batch.status, 200, "{}", batch.text);
    assert_eq!(batch.body["status"], "COMPLETE");
    let results = batch.body["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 3, "{}", batch.text);
    let mut actions = Vec::new();
    for r in &results {
        for e in events_at(&t, r).await {
            actions.push(e["action"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(actions, ["UPDATE", "ASSOCIATION_ADDED", "DELETE"]);

    // Batch earliest/latest and batch/read (207 with an unknown offset).
    let a = t.get(&token, &format!("{J}/batch/earliest/2")).await;
    let got: Vec<&str> = a.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["currentOffset"].as_str())
        .collect();
    assert_eq!(got.first().copied(), Some(first.as_str()));
    assert_eq!(got.len(), 2);
    let a = t.get(&token, &format!("{J}/batch/latest/2")).await;
    assert_eq!(a.body["results"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        a.body["results"][1]["currentOffset"],
        results[2]["currentOffset"]
    );
    let missing = uuid::Uuid::new_v4().to_string();
    let a = t
        .post(
            &token,
            &format!("{J}/batch/read"),
            json!({"inputs": [first, missing]}),
        )
        .await;
    assert_eq!(a.status, 207, "{}", a.text);
    assert_eq!(a.body["numErrors"], 1);
    assert_eq!(a.body["results"][0]["currentOffset"], first.as_str());
    let a = t
        .post(
            &token,
            &format!("{J}/batch/read"),
            json!({"inputs": [first]}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);

    // An unknown offset is 404; a bad count 400.
    let a = t.get(&token, &format!("{J}/offset/{missing}/next")).await;
    assert_eq!(a.status, 404, "{}", a.text);
    for count in ["0", "x", "101"] {
        let a = t.get(&token, &format!("{J}/batch/earliest/{count}")).await;
        assert_eq!(a.status, 400, "{count}: {}", a.text);
    }

    // The URL is the capability: a changed signature is refused.
    let url = latest.body["url"].as_str().expect("url");
    let res = t.http.get(format!("{url}x")).send().await.expect("file");
    assert_eq!(res.status(), 403);

    // The local journal of the portal has the same entries; of another portal none.
    let a = t
        .get(&token, &format!("{JL}/earliest?installPortalId={portal}"))
        .await;
    assert_eq!(offset(&a), first);
    let a = t
        .get(&token, &format!("{JL}/earliest?installPortalId=424242"))
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
}

#[tokio::test]
async fn filters_decide_which_records_reach_the_journal() {
    let t = TestApp::spawn().await;
    let (_app, token, portal, crm) = setup(&t).await;
    let sub = subscribe(
        &t,
        &token,
        json!({
            "subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1",
            "actions": ["CREATE"], "properties": ["email"], "objectIds": []
        }),
    )
    .await;
    let sid = sub["id"].as_i64().expect("id");
    let a = t
        .post(
            &token,
            &format!("{SUBS}/filters"),
            json!({"subscriptionId": sid, "filter": {"conditions": [
                {"filterType": "CRM_OBJECT_PROPERTY", "property": "email",
                 "operator": "ENDS_WITH", "value": "@keep.test"}
            ]}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let fid = a.body["filterId"].as_i64().expect("filterId");
    let a = t.get(&token, &format!("{SUBS}/filters/{fid}")).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["id"], fid);
    assert_eq!(a.body["filter"]["conditions"][0]["operator"], "ENDS_WITH");
    assert!(a.body["createdAt"].is_i64());
    let a = t
        .get(&token, &format!("{SUBS}/filters/subscription/{sid}"))
        .await;
    assert_eq!(a.body.as_array().map(Vec::len), Some(1), "{}", a.text);

    for email in ["a@drop.test", "b@keep.test"] {
        let a = t
            .post(
                &crm,
                "/crm/v3/objects/contacts",
                json!({"properties": {"email": email}}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let a = t.get(&token, &format!("{J}/batch/earliest/10")).await;
    let results = a.body["results"].as_array().expect("results").clone();
    assert_eq!(results.len(), 1, "{}", a.text);
    let events = events_at(&t, &results[0]).await;
    assert_eq!(events[0]["properties"]["email"], "b@keep.test");

    // Bad filters; a filter of another subscription id; deletion.
    for bad in [
        json!({"filter": {"conditions": []}}),
        json!({"subscriptionId": sid, "filter": {"conditions": []}}),
        json!({"subscriptionId": sid, "filter": {"conditions": [{"filterType": "X", "property": "email", "operator": "EQ", "value": "a"}]}}),
        json!({"subscriptionId": sid, "filter": {"conditions": [{"filterType": "CRM_OBJECT_PROPERTY", "property": "email", "operator": "LIKE", "value": "a"}]}}),
        json!({"subscriptionId": sid, "filter": {"conditions": [{"filterType": "CRM_OBJECT_PROPERTY", "property": "email", "operator": "IN"}]}}),
    ] {
        let a = t
            .post(&token, &format!("{SUBS}/filters"), bad.clone())
            .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
    }
    let a = t
        .post(
            &token,
            &format!("{SUBS}/filters"),
            json!({"subscriptionId": sid + 1000, "filter": {"conditions": [
                {"filterType": "CRM_OBJECT_PROPERTY", "property": "email", "operator": "IS_EMPTY"}
            ]}}),
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
    let a = t.delete(&token, &format!("{SUBS}/filters/{fid}")).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.get(&token, &format!("{SUBS}/filters/{fid}")).await;
    assert_eq!(a.status, 404, "{}", a.text);
}

#[tokio::test]
async fn entries_expire_after_three_days_on_the_portals_clock() {
    let t = TestApp::spawn().await;
    let (_app, token, portal, crm) = setup(&t).await;
    // A new admin token replaces the one `setup` made.
    let admin = admin_token(&t).await;
    subscribe(
        &t,
        &token,
        json!({
            "subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": "0-1",
            "actions": ["CREATE"], "properties": [], "objectIds": []
        }),
    )
    .await;
    let a = t
        .post(
            &crm,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "e@x.test"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let local = format!("{JL}/latest?installPortalId={portal}");
    let entry = t.get(&token, &local).await;
    assert_eq!(entry.status, 200, "{}", entry.text);
    let day = 24 * 3600 * 1000;
    let a = t
        .post(
            &admin,
            &format!("/_spoke/portals/{portal}/clock/advance"),
            json!({"ms": 3 * day - 60_000}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(t.get(&token, &local).await.status, 200);
    let a = t
        .post(
            &admin,
            &format!("/_spoke/portals/{portal}/clock/advance"),
            json!({"ms": 120_000}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t.get(&token, &local).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let gone = offset(&entry);
    let a = t
        .get(
            &token,
            &format!("{JL}/offset/{gone}/next?installPortalId={portal}"),
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
    // Its URL has expired too.
    let res = t
        .http
        .get(entry.body["url"].as_str().expect("url"))
        .send()
        .await
        .expect("file");
    assert_eq!(res.status(), 403);
}

const SNAP: &str = "/webhooks-journal/snapshots/2026-03/crm";

fn snap_request(portal: i64, type_id: &str, id: i64, properties: &[&str]) -> Value {
    json!({"portalId": portal, "objectTypeId": type_id, "objectId": id, "properties": properties})
}

#[tokio::test]
async fn a_snapshot_is_an_entry_of_current_values_with_a_status() {
    let t = TestApp::spawn().await;
    let (_app, token, portal, crm) = setup(&t).await;
    let made = t
        .post(
            &crm,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "s@example.com", "firstname": "Sam", "lastname": "Snap"}}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id: i64 = made.body["id"].as_str().expect("id").parse().expect("int");
    // The value now, not the one created.
    let a = t
        .patch(
            &crm,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Samantha"}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);

    let a = t
        .post(
            &token,
            SNAP,
            json!({"snapshotRequests": [
                snap_request(portal, "0-1", id, &["firstname", "email", "phone"]),
                snap_request(portal, "0-1", id + 1_000_000, &["email"]),
            ]}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let responses = a.body["snapshotResponses"].as_array().expect("responses");
    assert_eq!(responses.len(), 2, "{}", a.text);
    assert_eq!(responses[0]["portalId"], portal);
    assert_eq!(responses[0]["objectTypeId"], "0-1");
    assert_eq!(responses[0]["objectId"], id);
    let ok_id = responses[0]["snapshotStatusId"].as_str().expect("uuid");
    let missing_id = responses[1]["snapshotStatusId"].as_str().expect("uuid");
    assert_ne!(ok_id, missing_id);
    assert!(uuid::Uuid::parse_str(ok_id).is_ok(), "{ok_id}");

    // SUCCESS on both journal paths; the missing object's snapshot FAILED.
    for path in [
        format!("{J}/status/{ok_id}"),
        format!("{JL}/status/{ok_id}"),
        format!("{JL}/status/{ok_id}?installPortalId={portal}"),
    ] {
        let s = t.get(&token, &path).await;
        assert_eq!(s.status, 200, "{path}: {}", s.text);
        assert_eq!(s.body["id"], ok_id);
        assert_eq!(s.body["status"], "SUCCESS");
        assert!(s.body["initiatedAt"].is_i64(), "{}", s.text);
        assert!(s.body["completedAt"].is_i64(), "{}", s.text);
        assert!(s.body.get("errorCode").is_none(), "{}", s.text);
    }
    let s = t.get(&token, &format!("{J}/status/{missing_id}")).await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["status"], "FAILED");
    assert_eq!(s.body["errorCode"], "VALIDATION_ERROR");
    assert!(s.body["message"].is_string(), "{}", s.text);

    // One entry, readable like every other, with one SNAPSHOT event of the values now.
    let latest = t.get(&token, &format!("{J}/latest")).await;
    assert_eq!(latest.status, 200, "{}", latest.text);
    let all = t.get(&token, &format!("{J}/batch/earliest/10")).await;
    assert_eq!(all.body["results"].as_array().map(Vec::len), Some(1));
    let events = events_at(&t, &latest.body).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["action"], "SNAPSHOT");
    assert_eq!(e["objectTypeId"], "0-1");
    assert_eq!(e["objectId"], id);
    assert_eq!(e["portalId"], portal);
    assert_eq!(e["snapshotStatusId"], ok_id);
    assert_eq!(
        e["properties"],
        json!({"firstname": "Samantha", "email": "s@example.com"})
    );
    let local = t
        .get(&token, &format!("{JL}/latest?installPortalId={portal}"))
        .await;
    assert_eq!(offset(&local), offset(&latest));

    // Unknown ids, another portal's filter and another app's status: 404.
    let unknown = uuid::Uuid::new_v4();
    let s = t.get(&token, &format!("{J}/status/{unknown}")).await;
    assert_eq!(s.status, 404, "{}", s.text);
    assert_eq!(s.body["category"], "OBJECT_NOT_FOUND");
    let s = t
        .get(
            &token,
            &format!("{JL}/status/{ok_id}?installPortalId={}", portal + 1),
        )
        .await;
    assert_eq!(s.status, 404, "{}", s.text);
    let (_other, other_token, _, _) = setup(&t).await;
    let s = t.get(&other_token, &format!("{J}/status/{ok_id}")).await;
    assert_eq!(s.status, 404, "{}", s.text);
}

#[tokio::test]
async fn snapshots_need_the_scope_an_install_and_a_whole_body() {
    let t = TestApp::spawn().await;
    let (app, token, portal, crm) = setup(&t).await;
    let good = json!({"snapshotRequests": [snap_request(portal, "0-1", 1, &["email"])]});

    // A portal's token is no app token; an app token without the scope is 403.
    let a = t.post(&crm, SNAP, good.clone()).await;
    assert_eq!(a.status, 401, "{}", a.text);
    let (status, body) = app_token(&t, &app, Some("webhooks-journal-data-access")).await;
    assert_eq!(status, 200, "{body}");
    let narrow = body["access_token"].as_str().expect("token").to_owned();
    let a = t.post(&narrow, SNAP, good.clone()).await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert_eq!(a.body["category"], "MISSING_SCOPES");
    let a = t
        .get(&narrow, &format!("{J}/status/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(a.status, 403, "{}", a.text);

    // A portal that did not install the app (or does not exist): 400, nothing written.
    let admin = admin_token(&t).await;
    let (stranger, _) = new_portal(&t, &admin).await;
    for p in [stranger, 987_654_321] {
        let a = t
            .post(
                &token,
                SNAP,
                json!({"snapshotRequests": [
                    snap_request(portal, "0-1", 1, &["email"]),
                    snap_request(p, "0-1", 1, &["email"]),
                ]}),
            )
            .await;
        assert_eq!(a.status, 400, "{}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR");
        assert!(a.text.contains("not installed"), "{}", a.text);
    }

    // Bad bodies: 400 naming what is wrong.
    for (body, names) in [
        (json!({}), "snapshotRequests"),
        (json!({"snapshotRequests": []}), "snapshotRequests"),
        (
            json!({"snapshotRequests": [{"portalId": portal, "objectTypeId": "0-1", "properties": []}]}),
            "objectId",
        ),
        (
            json!({"snapshotRequests": [{"objectTypeId": "0-1", "objectId": 1, "properties": []}]}),
            "portalId",
        ),
        (
            json!({"snapshotRequests": [{"portalId": portal, "objectTypeId": "0-1", "objectId": 1}]}),
            "properties",
        ),
        (
            json!({"snapshotRequests": [snap_request(portal, "contacts", 1, &[])]}),
            "objectTypeId",
        ),
        (
            json!({"snapshotRequests": [{"portalId": portal, "objectTypeId": "0-1", "objectId": "x", "properties": []}]}),
            "",
        ),
    ] {
        let a = t.post(&token, SNAP, body.clone()).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert!(a.text.contains(names), "{body}: {}", a.text);
    }
    let a = t.post_raw(&token, SNAP, "{not json").await;
    assert_eq!(a.status, 400, "{}", a.text);

    // None of these wrote an entry.
    let latest = t.get(&token, &format!("{J}/latest")).await;
    assert_eq!(latest.status, 204, "{}", latest.text);
}

#[tokio::test]
async fn the_apps_journal_limits_answer_hubspots_limit_error() {
    use spoke_store::journal::{self, JournalSubscription, Upserted};
    let t = TestApp::spawn().await;
    let (app, token, portal, _crm) = setup(&t).await;
    let sub = |type_id: &str, object_ids: Vec<i64>| JournalSubscription {
        id: 0,
        app_id: app.app.id,
        subscription_type: "OBJECT".into(),
        portal_id: Some(portal),
        object_type_id: Some(type_id.into()),
        event_type_id: None,
        actions: vec!["CREATE".into()],
        properties: vec![],
        object_ids,
        associated_object_type_ids: vec![],
        created_at: 0,
        updated_at: 0,
    };
    let mut ids = Vec::new();
    for n in 0..journal::MAX_SUBSCRIPTIONS - 1 {
        match t
            .store
            .upsert_journal_subscription(sub(&format!("2-{n}"), vec![]))
            .await
            .expect("subscribe")
        {
            Upserted::Saved(s) => ids.push(s.id),
            other => panic!("{other:?}"),
        }
    }
    let body = |type_id: &str, object_ids: Vec<i64>| {
        json!({
            "subscriptionType": "OBJECT", "portalId": portal, "objectTypeId": type_id,
            "actions": ["CREATE"], "properties": [], "objectIds": object_ids
        })
    };
    // The thousandth is saved, the next refused as the webhooks API refuses its 1001st.
    subscribe(&t, &token, body("0-1", vec![])).await;
    let a = t.post(&token, SUBS, body("0-2", vec![])).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["status"], "error");
    assert_eq!(
        a.body["message"],
        "Couldn't create another subscription. You've reached the maximum number allowed per application (1000)."
    );
    assert!(a.body["correlationId"].is_string(), "{}", a.text);
    assert_eq!(
        t.get(&token, SUBS).await.body["results"]
            .as_array()
            .map(Vec::len),
        Some(journal::MAX_SUBSCRIPTIONS)
    );
    // Upserting one the app has replaces it: not one more.
    subscribe(&t, &token, body("0-1", vec![1, 2, 3])).await;

    // objectIds are counted over the app's subscriptions.
    let many: Vec<i64> = (1..=9_997).collect();
    subscribe(&t, &token, body("2-0", many)).await;
    let a = t.post(&token, SUBS, body("2-1", vec![1])).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        a.body["message"],
        "Couldn't save the subscription. You've reached the maximum number of objectIds allowed per application (10000)."
    );

    // Filters: the app's thousandth is made, the next refused.
    let conditions =
        r#"[{"filterType":"CRM_OBJECT_PROPERTY","property":"email","operator":"EQ","value":"x"}]"#;
    for i in 0..journal::MAX_FILTERS - 1 {
        let made = t
            .store
            .create_journal_filter(app.app.id, ids[i % ids.len()], conditions.into(), 0)
            .await
            .expect("filter");
        assert!(
            matches!(made, journal::FilterCreated::Created(_)),
            "{made:?}"
        );
    }
    let filter = json!({
        "subscriptionId": ids[0],
        "filter": {"conditions": [
            {"filterType": "CRM_OBJECT_PROPERTY", "property": "email", "operator": "EQ", "value": "y"}
        ]}
    });
    let a = t
        .post(&token, &format!("{SUBS}/filters"), filter.clone())
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t.post(&token, &format!("{SUBS}/filters"), filter).await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(
        a.body["message"],
        "Couldn't create another filter. You've reached the maximum number allowed per application (1000)."
    );
}

/// The events of the app's entries for `portal`, oldest first, read through
/// `journal-local`.
async fn local_events(t: &TestApp, token: &str, portal: i64) -> Vec<Value> {
    let a = t
        .get(
            token,
            &format!("{JL}/batch/earliest/100?installPortalId={portal}"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let mut out = Vec::new();
    for entry in a.body["results"].as_array().cloned().unwrap_or_default() {
        out.extend(events_at(t, &entry).await);
    }
    out
}

#[tokio::test]
async fn installs_and_uninstalls_reach_the_journal_on_every_path() {
    let t = TestApp::spawn().await;
    let admin = admin_token(&t).await;
    let (portal, _crm) = new_portal(&t, &admin).await;
    let app = register(&t, "lifecycle").await;
    let token = token_of(&t, &app).await;
    let install = subscribe(
        &t,
        &token,
        json!({"subscriptionType": "APP_LIFECYCLE_EVENT", "eventTypeId": "4-1909196",
               "properties": ["hs_app_id"]}),
    )
    .await;
    let uninstall = subscribe(
        &t,
        &token,
        json!({"subscriptionType": "APP_LIFECYCLE_EVENT", "eventTypeId": "4-1916193",
               "properties": []}),
    )
    .await;
    assert!(install.get("portalId").is_none(), "app-wide: {install}");

    // The admin API: install (twice: one event), uninstall.
    let path = format!("/_spoke/portals/{portal}/apps/{}/install", app.app.id);
    for _ in 0..2 {
        let a = t.call(Method::POST, Some(&admin), &path, None).await;
        assert_eq!(a.status, 204, "{}", a.text);
    }
    let a = t.delete(&admin, &path).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let events = local_events(&t, &token, portal).await;
    let id = app.app.id;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["action"], "APP_INSTALL");
    assert_eq!(events[0]["eventTypeId"], "4-1909196");
    assert_eq!(events[0]["subscriptionId"], install["id"]);
    assert_eq!(events[0]["subscriptionType"], "APP_LIFECYCLE_EVENT");
    assert_eq!(events[0]["portalId"], portal);
    assert_eq!(events[0]["appId"], id);
    assert!(events[0]["occurredAt"].is_i64());
    assert_eq!(
        events[0]["properties"],
        json!({"hs_app_id": id.to_string()})
    );
    assert_eq!(events[1]["action"], "APP_UNINSTALL");
    assert_eq!(events[1]["eventTypeId"], "4-1916193");
    assert_eq!(events[1]["subscriptionId"], uninstall["id"]);
    assert_eq!(events[1]["properties"], json!({}));

    // OAuth: the user's consent installs the app in the portal it names.
    let consented = portal + 1;
    crate::oauth::consent(&t, &app, consented, "s").await;
    let events = local_events(&t, &token, consented).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["action"], "APP_INSTALL");
    assert_eq!(events[0]["portalId"], consented);

    // The global journal has all three, oldest first.
    let a = t.get(&token, &format!("{J}/batch/earliest/10")).await;
    assert_eq!(
        a.body["results"].as_array().map(Vec::len),
        Some(3),
        "{}",
        a.text
    );

    // An app without lifecycle subscriptions gets no entry.
    let quiet = register(&t, "quiet").await;
    let quiet_token = token_of(&t, &quiet).await;
    let path = format!("/_spoke/portals/{portal}/apps/{}/install", quiet.app.id);
    let a = t.call(Method::POST, Some(&admin), &path, None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = t.get(&quiet_token, &format!("{J}/earliest")).await;
    assert_eq!(a.status, 204, "{}", a.text);
}
