//! Portal clocks (`/_spoke/portals/{portalId}/clock`, issue 16 scope 7): what a frozen,
//! advanced or offset clock makes records, history, batch answers and incremental search
//! show; OAuth access tokens expiring by the portal's clock; another portal untouched; the
//! admin API's guard, validation, and reset.

use reqwest::Method;
use serde_json::{json, Value};
use spoke_core::time::{format_iso, now_millis, parse_iso};

use crate::faults::{admin_token, new_portal};
use crate::harness::TestApp;

/// 2024-01-02T03:04:05.678Z.
const T: i64 = 1_704_164_645_678;

async fn set_clock(app: &TestApp, admin: &str, portal: i64, body: Value) -> Value {
    let a = app
        .call(
            Method::PUT,
            Some(admin),
            &format!("/_spoke/portals/{portal}/clock"),
            Some(body),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body
}

async fn advance(app: &TestApp, admin: &str, portal: i64, ms: i64) -> Value {
    let a = app
        .post(
            admin,
            &format!("/_spoke/portals/{portal}/clock/advance"),
            json!({ "ms": ms }),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body
}

fn instant(v: &Value) -> i64 {
    parse_iso(v.as_str().unwrap_or_else(|| panic!("an ISO instant: {v}")))
        .unwrap_or_else(|| panic!("an ISO instant: {v}"))
}

async fn read_with_history(app: &TestApp, token: &str, id: &str) -> Value {
    let a = app
        .get(
            token,
            &format!("/crm/v3/objects/contacts/{id}?properties=firstname,hs_lastmodifieddate,createdate&propertiesWithHistory=firstname"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.body
}

#[tokio::test]
async fn a_frozen_clock_is_what_writes_record_and_advancing_moves_it() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let (other_portal, other) = new_portal(&app, &admin).await;

    let clock = set_clock(
        &app,
        &admin,
        portal,
        json!({"mode": "frozen", "at": format_iso(T)}),
    )
    .await;
    assert_eq!(
        clock,
        json!({"portalId": portal, "now": format_iso(T), "nowMs": T, "mode": "frozen", "offsetMs": 0})
    );
    let read = app
        .get(&admin, &format!("/_spoke/portals/{portal}/clock"))
        .await;
    assert_eq!(read.body, clock);

    let a = app
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"firstname": "Ada"}}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["id"].as_str().expect("id").to_owned();
    assert_eq!(instant(&a.body["createdAt"]), T);
    assert_eq!(instant(&a.body["updatedAt"]), T);
    let r = read_with_history(&app, &token, &id).await;
    assert_eq!(instant(&r["properties"]["createdate"]), T);
    assert_eq!(instant(&r["properties"]["hs_lastmodifieddate"]), T);
    assert_eq!(
        instant(&r["propertiesWithHistory"]["firstname"][0]["timestamp"]),
        T
    );

    // A batch answer starts at the frozen instant; its span is the request's own.
    let a = app
        .post(
            &token,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"firstname": "Bob"}}]}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(instant(&a.body["startedAt"]), T);
    let completed = instant(&a.body["completedAt"]);
    assert!((T..T + 5_000).contains(&completed), "{}", a.text);
    assert_eq!(instant(&a.body["results"][0]["createdAt"]), T);

    // Advancing moves a frozen clock to a later frozen instant.
    let clock = advance(&app, &admin, portal, 60_000).await;
    assert_eq!(
        (clock["mode"].clone(), clock["nowMs"].clone()),
        (json!("frozen"), json!(T + 60_000))
    );
    let a = app
        .patch(
            &token,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Ada L."}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(instant(&a.body["updatedAt"]), T + 60_000);
    assert_eq!(instant(&a.body["createdAt"]), T);
    let r = read_with_history(&app, &token, &id).await;
    assert_eq!(instant(&r["properties"]["hs_lastmodifieddate"]), T + 60_000);
    let stamps: Vec<i64> = r["propertiesWithHistory"]["firstname"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| instant(&h["timestamp"]))
        .collect();
    assert_eq!(stamps, vec![T + 60_000, T], "newest first");

    // Another portal runs on real time.
    let before = now_millis();
    let a = app
        .post(
            &other,
            "/crm/v3/objects/contacts",
            json!({"properties": {"firstname": "Eve"}}),
        )
        .await;
    let created = instant(&a.body["createdAt"]);
    assert!(
        created >= before - 1000 && created <= now_millis() + 1000,
        "{}",
        a.text
    );
    let read = app
        .get(&admin, &format!("/_spoke/portals/{other_portal}/clock"))
        .await;
    assert_eq!(read.body["mode"], "real");
}

#[tokio::test]
async fn an_offset_clock_runs_ahead_or_behind_real_time() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let day = 86_400_000;
    let clock = set_clock(
        &app,
        &admin,
        portal,
        json!({"mode": "offset", "offsetMs": -day}),
    )
    .await;
    assert_eq!(
        (clock["mode"].clone(), clock["offsetMs"].clone()),
        (json!("offset"), json!(-day))
    );
    let before = now_millis();
    let a = app
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"firstname": "Yesterday"}}),
        )
        .await;
    let created = instant(&a.body["createdAt"]);
    assert!(
        created >= before - day - 1000 && created <= now_millis() - day + 1000,
        "{}",
        a.text
    );
    // Advancing a running clock adds to its offset; from real time it starts one.
    let clock = advance(&app, &admin, portal, 2 * day).await;
    assert_eq!(
        (clock["mode"].clone(), clock["offsetMs"].clone()),
        (json!("offset"), json!(day))
    );
    let clock = set_clock(&app, &admin, portal, json!({"mode": "real"})).await;
    assert_eq!(
        (clock["mode"].clone(), clock["offsetMs"].clone()),
        (json!("real"), json!(0))
    );
    let clock = advance(&app, &admin, portal, 5_000).await;
    assert_eq!(
        (clock["mode"].clone(), clock["offsetMs"].clone()),
        (json!("offset"), json!(5_000))
    );
    // A reset gives the portal real time again.
    let a = app
        .post(
            &admin,
            &format!("/_spoke/portals/{portal}/reset"),
            json!({}),
        )
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let read = app
        .get(&admin, &format!("/_spoke/portals/{portal}/clock"))
        .await;
    assert_eq!(read.body["mode"], "real", "{}", read.text);
}

#[tokio::test]
async fn an_incremental_search_by_last_modified_date_is_deterministic_on_a_frozen_clock() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    set_clock(&app, &admin, portal, json!({"mode": "frozen", "at": T})).await;
    let first = app
        .post(
            &token,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"firstname": "a"}}, {"properties": {"firstname": "b"}}]}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    // The sync's checkpoint: the clock's instant when it last ran.
    let checkpoint = T + 1;
    advance(&app, &admin, portal, 1).await;
    let second = app
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"firstname": "c"}}),
        )
        .await;
    let new_id = second.body["id"].as_str().expect("id").to_owned();
    let search = |since: i64| {
        json!({
            "filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": since.to_string()}]}],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["firstname"]
        })
    };
    for _ in 0..2 {
        let a = app
            .post(
                &token,
                "/crm/v3/objects/contacts/search",
                search(checkpoint),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["total"], 1, "{}", a.text);
        assert_eq!(a.body["results"][0]["id"], new_id.as_str());
        let a = app
            .post(&token, "/crm/v3/objects/contacts/search", search(T))
            .await;
        assert_eq!(a.body["total"], 3, "{}", a.text);
    }
}

#[tokio::test]
async fn an_oauth_access_token_expires_when_the_portal_clock_passes_its_lifetime() {
    let t = TestApp::spawn().await;
    let admin = admin_token(&t).await;
    let (portal, _) = new_portal(&t, &admin).await;
    let (other_portal, _) = new_portal(&t, &admin).await;
    set_clock(&t, &admin, portal, json!({"mode": "frozen", "at": T})).await;
    let app = crate::oauth::register(&t, "Clocked").await;
    let location = crate::oauth::consent(&t, &app, portal, "s").await;
    let code = crate::oauth::query_param(&location, "code").expect("code");
    let (status, body) = crate::oauth::exchange(&t, &app, &code).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    assert_eq!(body["expires_in"], 1800);
    let location = crate::oauth::consent(&t, &app, other_portal, "s").await;
    let code = crate::oauth::query_param(&location, "code").expect("code");
    let (_, body) = crate::oauth::exchange(&t, &app, &code).await;
    let other_access = body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    let path = "/crm/v3/objects/contacts?limit=1";
    assert_eq!(t.get(&access, path).await.status, 200);
    advance(&t, &admin, portal, 1_799_000).await;
    assert_eq!(t.get(&access, path).await.status, 200, "a second left");
    advance(&t, &admin, portal, 1_000).await;
    let a = t.get(&access, path).await;
    assert_eq!(a.status, 401, "{}", a.text);
    assert_eq!(a.body["category"], "EXPIRED_AUTHENTICATION", "{}", a.text);
    assert_eq!(
        a.body["context"]["expire time"],
        json!([format_iso(T + 1_800_000)]),
        "{}",
        a.text
    );
    // The other portal's token runs on real time.
    assert_eq!(t.get(&other_access, path).await.status, 200);
}

#[tokio::test]
async fn only_the_admin_token_sets_a_clock_and_bad_settings_are_refused() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let path = format!("/_spoke/portals/{portal}/clock");
    assert_eq!(app.get(&token, &path).await.status, 401);
    let a = app
        .call(
            Method::PUT,
            Some(&token),
            &path,
            Some(json!({"mode": "real"})),
        )
        .await;
    assert_eq!(a.status, 401, "{}", a.text);
    let a = app
        .post(&token, &format!("{path}/advance"), json!({"ms": 1}))
        .await;
    assert_eq!(a.status, 401, "{}", a.text);
    for (bad, field) in [
        (json!({"mode": "paused"}), "mode"),
        (json!({"mode": "frozen"}), "at"),
        (json!({"mode": "frozen", "at": "yesterday"}), "at"),
        (json!({"mode": "frozen", "at": -5}), "at"),
        (
            json!({"mode": "frozen", "at": T, "offsetMs": 1}),
            "offsetMs",
        ),
        (json!({"mode": "offset"}), "offsetMs"),
        (json!({"mode": "offset", "offsetMs": i64::MAX}), "offsetMs"),
        (json!({"mode": "real", "at": T}), "at"),
    ] {
        let a = app
            .call(Method::PUT, Some(&admin), &path, Some(bad.clone()))
            .await;
        assert_eq!(a.status, 400, "{bad}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{}", a.text);
        assert_eq!(
            a.body["context"]["field"],
            json!([field]),
            "{bad}: {}",
            a.text
        );
    }
    for raw in ["", "{", "[]", r#"{"mode": "real", "x": 1}"#] {
        let a = app.send_raw(Method::PUT, &admin, &path, raw).await;
        assert_eq!(a.status, 400, "{raw}: {}", a.text);
    }
    let a = app
        .post(&admin, &format!("{path}/advance"), json!({"ms": -1}))
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let a = app
        .post(
            &admin,
            &format!("{path}/advance"),
            json!({"ms": 253_402_300_799_999_i64}),
        )
        .await;
    assert_eq!(a.status, 400, "past the year 9999: {}", a.text);
    let a = app
        .post(&admin, &format!("{path}/advance"), json!({}))
        .await;
    assert_eq!(a.status, 400, "{}", a.text);
    // Set by ms or ISO alike; a portal that does not exist has no clock.
    let c = set_clock(
        &app,
        &admin,
        portal,
        json!({"mode": "frozen", "at": T.to_string()}),
    )
    .await;
    assert_eq!(c["nowMs"], T);
    for missing in ["/_spoke/portals/987654/clock", "/_spoke/portals/x/clock"] {
        assert_eq!(app.get(&admin, missing).await.status, 404);
        let a = app
            .call(
                Method::PUT,
                Some(&admin),
                missing,
                Some(json!({"mode": "real"})),
            )
            .await;
        assert_eq!(a.status, 404, "{}", a.text);
        let a = app
            .post(&admin, &format!("{missing}/advance"), json!({"ms": 1}))
            .await;
        assert_eq!(a.status, 404, "{}", a.text);
    }
}
