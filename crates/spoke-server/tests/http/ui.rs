//! The web UI (issue 16, scope 5): its sign-in by the admin token and the cookie it sets,
//! the admin API taking that cookie with its CSRF guard, and the read-only browse endpoints
//! the UI shows a portal's data with. The UI itself runs in headless Chromium in
//! `tests/compat/python/test_web_ui.py`.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use spoke_store::admin::{admin_hash, new_admin_secret};

use crate::harness::{Answer, TestApp};

async fn admin_token(app: &TestApp) -> String {
    let secret = new_admin_secret();
    let now = spoke_core::time::now_millis();
    app.store
        .put_admin_token_hash(&admin_hash(&secret), true, now)
        .await
        .expect("admin token");
    secret
}

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

struct Raw {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Raw {
    fn header(&self, name: impl reqwest::header::AsHeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn send(req: reqwest::RequestBuilder) -> Raw {
    let res = req.send().await.expect("request");
    Raw {
        status: res.status(),
        headers: res.headers().clone(),
        text: res.text().await.expect("body"),
    }
}

/// `name=value` of the `spoke_admin` cookie a sign-in answer set.
fn cookie_of(r: &Raw) -> String {
    let set = r.header(SET_COOKIE);
    set.split(';').next().unwrap_or("").trim().to_owned()
}

fn assert_login_page(r: &Raw) {
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.header(CONTENT_TYPE).starts_with("text/html"));
    assert!(r.text.contains(r#"id="login""#), "{}", r.text);
    assert!(
        !r.text.contains("app.js"),
        "no part of the UI before signing in"
    );
}

async fn sign_in(app: &TestApp, admin: &str) -> String {
    let client = browser();
    let r = send(client.get(format!("{}/_spoke/ui?token={}", app.base, urlencode(admin)))).await;
    assert_eq!(r.status, 303, "{}", r.text);
    cookie_of(&r)
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn the_ui_answers_a_login_form_until_the_admin_token_signs_in() {
    let app = TestApp::spawn().await;
    let client = browser();
    let ui = format!("{}/_spoke/ui", app.base);
    // No admin token made yet: nothing signs in.
    assert_login_page(&send(client.get(&ui)).await);
    let hubspot = app.token(1, &["all"]).await;
    assert_login_page(&send(client.get(format!("{ui}?token={hubspot}"))).await);

    let admin = admin_token(&app).await;
    let bare = send(client.get(&ui)).await;
    assert_login_page(&bare);
    assert!(
        !bare.text.contains(r#"id="error""#),
        "no complaint before a try"
    );
    for asset in ["app.js", "style.css", "nothing.js"] {
        let r = send(client.get(format!("{ui}/{asset}"))).await;
        assert_eq!(r.status, 401, "{asset}: {}", r.text);
        assert_eq!(r.json()["category"], "INVALID_AUTHENTICATION", "{}", r.text);
    }
    for wrong in [hubspot.as_str(), "", "spoke-admin-0", &new_admin_secret()] {
        let r = send(client.get(format!("{ui}?token={}", urlencode(wrong)))).await;
        assert_login_page(&r);
        assert!(r.header(SET_COOKIE).is_empty(), "no cookie for {wrong:?}");
        if !wrong.is_empty() {
            assert!(r.text.contains(r#"id="error""#), "{}", r.text);
        }
        let r = send(client.post(format!("{ui}/login")).form(&[("token", wrong)])).await;
        assert_login_page(&r);
        assert!(r.header(SET_COOKIE).is_empty());
    }
    // The HubSpot token is no cookie either.
    let r = send(
        client
            .get(&ui)
            .header(COOKIE, format!("spoke_admin={hubspot}")),
    )
    .await;
    assert_login_page(&r);

    // The printed address: the cookie, then the page without the token in its address.
    let r = send(client.get(format!("{ui}?token={}", urlencode(&admin)))).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header(LOCATION), "/_spoke/ui");
    let set = r.header(SET_COOKIE).to_owned();
    for part in [
        "spoke_admin=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/_spoke",
    ] {
        assert!(set.contains(part), "{part} in {set}");
    }
    assert!(
        !set.contains("Secure"),
        "plain HTTP: a Secure cookie would not come back"
    );
    let cookie = cookie_of(&r);
    let page = send(client.get(&ui).header(COOKIE, &cookie)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.header(CONTENT_TYPE).starts_with("text/html"));
    assert!(page.text.contains("/_spoke/ui/app.js"));
    let policy = page.header("content-security-policy");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(page.header("cache-control"), "no-store");
    assert_eq!(page.header("x-frame-options"), "DENY");
    for (asset, kind) in [("app.js", "text/javascript"), ("style.css", "text/css")] {
        let r = send(client.get(format!("{ui}/{asset}")).header(COOKIE, &cookie)).await;
        assert_eq!(r.status, 200, "{asset}");
        assert!(r.header(CONTENT_TYPE).starts_with(kind), "{asset}");
        assert!(!r.text.is_empty());
    }
    let r = send(
        client
            .get(format!("{ui}/nothing.js"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.json()["status"], "error");
    // The Bearer header opens the page too (a script checking the UI is served).
    let r = send(client.get(&ui).bearer_auth(&admin)).await;
    assert_eq!(r.status, 200);

    // The login form signs in the same way.
    let r = send(
        client
            .post(format!("{ui}/login"))
            .form(&[("token", &admin)]),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(cookie_of(&r), cookie);

    // Signing out clears the cookie.
    let r = send(client.post(format!("{ui}/logout")).header(COOKIE, &cookie)).await;
    assert_eq!(r.status, 303);
    assert!(r.header(SET_COOKIE).contains("Max-Age=0"));

    // A new admin token (`spoke admin-token`) ends the old cookie's session.
    let _ = admin_token(&app).await;
    assert_login_page(&send(client.get(&ui).header(COOKIE, &cookie)).await);
}

#[tokio::test]
async fn the_admin_api_takes_the_ui_cookie_and_wants_the_ui_header_on_writes() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let cookie = sign_in(&app, &admin).await;
    let client = browser();
    let portals = format!("{}/_spoke/portals", app.base);
    let count = |a: &Raw| a.json()["results"].as_array().map_or(0, Vec::len);

    let list = send(client.get(&portals).header(COOKIE, &cookie)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let before = count(&list);

    // A write by the cookie alone (what a cross-site form could send) is refused, and
    // changes nothing.
    let r = send(
        client
            .post(&portals)
            .header(COOKIE, &cookie)
            .json(&json!({})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.json()["status"], "error");
    assert!(r.json()["correlationId"].is_string());
    let r = send(
        client
            .post(&portals)
            .header(COOKIE, &cookie)
            .header("x-spoke-ui", "0")
            .json(&json!({})),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let list = send(client.get(&portals).header(COOKIE, &cookie)).await;
    assert_eq!(count(&list), before, "nothing was created");

    let made = send(
        client
            .post(&portals)
            .header(COOKIE, &cookie)
            .header("x-spoke-ui", "1")
            .json(&json!({})),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.json()["portalId"].as_i64().expect("portalId");
    let token = made.json()["token"].as_str().expect("token").to_owned();
    let r = send(
        client
            .delete(format!("{portals}/{id}"))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // The Bearer header needs no UI header: scripts are no browser.
    let r = send(
        client
            .post(format!("{portals}/{id}/reset"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text);

    // A Bearer header wins over the cookie: a wrong one is not rescued by it.
    let r = send(
        client
            .get(&portals)
            .header(COOKIE, &cookie)
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    // A cookie that is not the admin token opens nothing.
    for bad in [
        format!("spoke_admin={token}"),
        "spoke_admin=".to_owned(),
        "other=1".to_owned(),
    ] {
        let r = send(client.get(&portals).header(COOKIE, bad.as_str())).await;
        assert_eq!(r.status, 401, "{bad}: {}", r.text);
        assert_eq!(r.json()["category"], "INVALID_AUTHENTICATION");
    }
    // Among other cookies, in any order.
    let r = send(
        client
            .get(&portals)
            .header(COOKIE, format!("a=1; {cookie}; b=2")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The cookie is no credential for HubSpot's API.
    let r = send(
        client
            .get(format!("{}/crm/v3/objects/contacts", app.base))
            .header(COOKIE, &cookie),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
    let r = send(
        client
            .post(format!("{}/crm/v3/objects/contacts", app.base))
            .header(COOKIE, &cookie)
            .header("x-spoke-ui", "1")
            .json(&json!({"properties": {"email": "x@example.com"}})),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

fn created_id(a: &Answer) -> String {
    assert!(a.status.is_success(), "{}", a.text);
    a.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn browsing_shows_a_portals_types_records_history_and_associations() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let made = app.post(&admin, "/_spoke/portals", json!({})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let portal = made.body["portalId"].as_i64().expect("portalId");
    let t = made.body["token"].as_str().expect("token").to_owned();
    let base = format!("/_spoke/portals/{portal}");

    let ada = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}}),
        )
        .await;
    let ada = created_id(&ada);
    let bob = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "bob@example.com", "firstname": "Bob"}}),
        )
        .await;
    let bob = created_id(&bob);
    let acme = app
        .post(
            &t,
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme"}}),
        )
        .await;
    let acme = created_id(&acme);
    let a = app
        .patch(
            &t,
            &format!("/crm/v3/objects/contacts/{ada}"),
            json!({"properties": {"firstname": "Ada L."}}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = app
        .call(
            Method::PUT,
            Some(&t),
            &format!("/crm/v4/objects/contacts/{ada}/associations/default/companies/{acme}"),
            None,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let pets = app
        .post(
            &t,
            "/crm-object-schemas/v3/schemas",
            json!({
                "name": "pets",
                "labels": {"singular": "Pet", "plural": "Pets"},
                "primaryDisplayProperty": "pet_name",
                "requiredProperties": ["pet_name"],
                "properties": [{"name": "pet_name", "label": "Name"}],
                "associatedObjects": ["CONTACT"]
            }),
        )
        .await;
    assert_eq!(pets.status, 201, "{}", pets.text);
    let pets_id = pets.body["objectTypeId"].as_str().expect("id").to_owned();

    // The types, standard then custom, with their live counts.
    let types = app.get(&admin, &format!("{base}/types")).await;
    assert_eq!(types.status, 200, "{}", types.text);
    let list = types.body["results"].as_array().expect("results");
    let find = |name: &str| {
        list.iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {}", types.text))
            .clone()
    };
    assert_eq!(find("contacts")["count"], 2);
    assert_eq!(find("contacts")["custom"], false);
    assert_eq!(find("companies")["count"], 1);
    assert_eq!(find("deals")["count"], 0);
    let custom = list.last().expect("a type");
    assert_eq!(custom["objectTypeId"], pets_id.as_str());
    assert_eq!(custom["custom"], true);
    assert_eq!(custom["count"], 0);
    assert!(custom["name"]
        .as_str()
        .is_some_and(|n| n.ends_with("_pets")));

    // Records page by page, with the values HubSpot's API answers.
    let page = app
        .get(&admin, &format!("{base}/objects/contacts?limit=1"))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.body["total"], 2);
    assert_eq!(page.body["name"], "contacts");
    assert!(page.body["defaultProperties"]
        .as_array()
        .is_some_and(|d| d.iter().any(|p| p == "email")));
    let first = &page.body["results"][0];
    assert_eq!(first["id"], ada.as_str());
    assert_eq!(first["properties"]["email"], "ada@example.com");
    assert_eq!(first["properties"]["firstname"], "Ada L.");
    assert_eq!(first["properties"]["hs_object_id"], ada.as_str());
    assert!(
        first["properties"]["createdate"].is_string(),
        "{}",
        page.text
    );
    let after = page.body["paging"]["next"]["after"]
        .as_str()
        .expect("a next page");
    let page = app
        .get(
            &admin,
            &format!("{base}/objects/contacts?limit=1&after={after}"),
        )
        .await;
    assert_eq!(page.body["results"][0]["id"], bob.as_str(), "{}", page.text);
    assert!(page.body.get("paging").is_none(), "{}", page.text);
    // A type by its id answers the same.
    let by_id = app.get(&admin, &format!("{base}/objects/0-2")).await;
    assert_eq!(
        by_id.body["results"][0]["properties"]["name"], "Acme",
        "{}",
        by_id.text
    );
    let none = app.get(&admin, &format!("{base}/objects/{pets_id}")).await;
    assert_eq!(none.status, 200, "{}", none.text);
    assert_eq!(none.body["results"], json!([]));

    // One record: values, their history newest first, its associations.
    let view = app
        .get(&admin, &format!("{base}/objects/contacts/{ada}"))
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["id"], ada.as_str());
    assert_eq!(view.body["archived"], false);
    let history = &view.body["propertiesWithHistory"]["firstname"];
    let values: Vec<&str> = history
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["value"].as_str())
        .collect();
    assert_eq!(values, ["Ada L.", "Ada"], "{}", view.text);
    assert!(history[0]["timestamp"].is_string());
    assert!(history[0]["sourceType"].is_string());
    assert_eq!(
        view.body["propertiesWithHistory"]["hs_object_id"][0]["sourceType"],
        "CALCULATED"
    );
    let groups = view.body["associations"].as_array().expect("associations");
    assert_eq!(groups.len(), 1, "{}", view.text);
    assert_eq!(groups[0]["toName"], "companies");
    assert_eq!(groups[0]["toObjectTypeId"], "0-2");
    assert_eq!(groups[0]["results"][0]["id"], acme.as_str());
    // The default association: HubSpot's unlabeled type (279) for a contact to a company.
    let types: Vec<i64> = groups[0]["results"][0]["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|t| t["typeId"].as_i64())
        .collect();
    assert!(types.contains(&279), "{}", view.text);
    assert_eq!(
        groups[0]["results"][0]["types"][0]["category"],
        "HUBSPOT_DEFINED"
    );
    assert_eq!(groups[0]["more"], false);
    // And the other way round.
    let view = app
        .get(&admin, &format!("{base}/objects/companies/{acme}"))
        .await;
    assert_eq!(
        view.body["associations"][0]["results"][0]["id"],
        ada.as_str(),
        "{}",
        view.text
    );

    // An archived record is still shown, marked.
    let a = app
        .delete(&t, &format!("/crm/v3/objects/contacts/{bob}"))
        .await;
    assert_eq!(a.status, 204, "{}", a.text);
    let view = app
        .get(&admin, &format!("{base}/objects/contacts/{bob}"))
        .await;
    assert_eq!(view.status, 200, "{}", view.text);
    assert_eq!(view.body["archived"], true);
    assert!(view.body["archivedAt"].is_string());
    let types = app.get(&admin, &format!("{base}/types")).await;
    let contacts = types.body["results"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["name"] == "contacts").cloned())
        .expect("contacts");
    assert_eq!(contacts["count"], 1, "live records only");

    // Another portal's records are not this portal's.
    let other = app.post(&admin, "/_spoke/portals", json!({})).await;
    let other = other.body["portalId"].as_i64().expect("portalId");
    let a = app
        .get(
            &admin,
            &format!("/_spoke/portals/{other}/objects/contacts/{ada}"),
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!(a.body["category"], "OBJECT_NOT_FOUND");
    let a = app
        .get(
            &admin,
            &format!("/_spoke/portals/{other}/objects/{pets_id}"),
        )
        .await;
    assert_eq!(a.status, 400, "another portal's custom type: {}", a.text);
}

#[tokio::test]
async fn browsing_refuses_bad_input_in_hubspots_envelope() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let hubspot = app.token(1, &["all"]).await;
    let made = app.post(&admin, "/_spoke/portals", json!({})).await;
    let portal = made.body["portalId"].as_i64().expect("portalId");
    let base = format!("/_spoke/portals/{portal}");
    for (path, status) in [
        ("/_spoke/portals/999999/types".to_owned(), 404),
        ("/_spoke/portals/abc/types".to_owned(), 404),
        ("/_spoke/portals/999999/objects/contacts".to_owned(), 404),
        (format!("{base}/objects/nothing"), 400),
        (format!("{base}/objects/nothing/1"), 400),
        (format!("{base}/objects/contacts/999999999"), 404),
        (format!("{base}/objects/contacts/abc"), 404),
        (format!("{base}/objects/contacts/-1"), 404),
        (format!("{base}/objects/contacts?after=abc"), 400),
        (format!("{base}/objects/contacts?limit=abc"), 400),
        (format!("{base}/objects/contacts?after=%FF"), 400),
    ] {
        let a = app.get(&admin, &path).await;
        assert_eq!(a.status, status, "{path}: {}", a.text);
        assert_eq!(a.body["status"], "error", "{path}: {}", a.text);
        assert!(a.body["correlationId"].is_string(), "{path}");
        // And nothing of it for a HubSpot token, or none.
        let a = app.get(&hubspot, &path).await;
        assert_eq!(a.status, 401, "{path}: {}", a.text);
        let a = app.call(Method::GET, None, &path, None).await;
        assert_eq!(a.status, 401, "{path}: {}", a.text);
    }
    // A limit past the maximum is clamped, like HubSpot's list.
    let a = app
        .get(&admin, &format!("{base}/objects/contacts?limit=100000"))
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
}
