//! Seeding a portal from a fixture (issue 16): every part appears through HubSpot's API,
//! refs name the records made, a bad fixture is refused with its path and writes nothing,
//! and a reset to the seed brings the seeded state back. The fixture is the repository's
//! example (`examples/seed.json`), so the README's example cannot rot.

use serde_json::{json, Value};
use spoke_store::admin::{admin_hash, new_admin_secret};

use crate::harness::{Answer, TestApp};

const EXAMPLE: &str = include_str!("../../../../examples/seed.json");

fn example() -> Value {
    serde_json::from_str(EXAMPLE).expect("examples/seed.json is JSON")
}

async fn admin_token(app: &TestApp) -> String {
    let secret = new_admin_secret();
    let now = spoke_core::time::now_millis();
    app.store
        .put_admin_token_hash(&admin_hash(&secret), true, now)
        .await
        .expect("admin token");
    secret
}

async fn new_portal(app: &TestApp, admin: &str) -> (i64, String) {
    let a = app.post(admin, "/_spoke/portals", json!({})).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let id = a.body["portalId"].as_i64().expect("portalId");
    (id, a.body["token"].as_str().expect("token").to_owned())
}

fn ok(a: &Answer, status: u16) -> &Value {
    assert_eq!(a.status, status, "{}", a.text);
    &a.body
}

/// The fixture's path an error names, after checking it is a 400 in HubSpot's envelope.
fn refused_at(a: &Answer) -> String {
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(a.body["status"], "error", "{}", a.text);
    assert_eq!(a.body["category"], "VALIDATION_ERROR", "{}", a.text);
    assert!(a.body["correlationId"].as_str().is_some(), "{}", a.text);
    let path = a.body["context"]["path"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no context.path: {}", a.text))
        .to_owned();
    assert!(
        a.body["message"]
            .as_str()
            .is_some_and(|m| m.contains(&path)),
        "{}",
        a.text
    );
    path
}

fn ids(a: &Answer) -> Vec<String> {
    let mut out: Vec<String> = ok(a, 200)["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    out.sort();
    out
}

/// What a test compares before and after: the portal as HubSpot's API shows it.
async fn state_of(app: &TestApp, token: &str) -> Value {
    let mut out = json!({});
    for ty in ["contacts", "companies", "deals"] {
        out[ty] = json!(ids(&app
            .get(token, &format!("/crm/v3/objects/{ty}?limit=100"))
            .await));
    }
    let props = app.get(token, "/crm/v3/properties/contacts").await;
    let mut names: Vec<&str> = ok(&props, 200)["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|p| p["hubspotDefined"] != true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    names.sort();
    out["properties"] = json!(names);
    out["owners"] = json!(ids(&app.get(token, "/crm/v3/owners?limit=100").await));
    out["pipelines"] = json!(ids(&app.get(token, "/crm/v3/pipelines/deals").await));
    out
}

#[tokio::test]
async fn every_part_of_a_fixture_appears_through_hubspots_api() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let a = app
        .post(&admin, "/_spoke/portals", json!({ "seed": example() }))
        .await;
    let created = ok(&a, 201).clone();
    let token = created["token"].as_str().expect("token");
    let refs = &created["refs"];
    assert_eq!(
        created["counts"],
        json!({"properties": 1, "owners": 1, "pipelines": 1, "records": 4, "associations": 3})
    );
    let alice = refs["contacts"]["alice"].as_str().expect("alice");
    let bob = refs["contacts"]["bob"].as_str().expect("bob");
    let acme = refs["companies"]["acme"].as_str().expect("acme");
    let big = refs["deals"]["big"].as_str().expect("big");

    // Property: defined as given, and holding the value the record was given.
    let p = app
        .get(token, "/crm/v3/properties/contacts/favorite_fruit")
        .await;
    assert_eq!(ok(&p, 200)["type"], "enumeration");
    assert_eq!(p.body["options"][1]["value"], "pear");
    let r = app
        .get(
            token,
            &format!("/crm/v3/objects/contacts/{alice}?properties=email,firstname,favorite_fruit"),
        )
        .await;
    assert_eq!(ok(&r, 200)["properties"]["email"], "alice@example.com");
    assert_eq!(r.body["properties"]["favorite_fruit"], "apple");

    // Owner: listed with the id the refs gave.
    let o = app
        .get(token, "/crm/v3/owners?email=olivia@example.com")
        .await;
    let owner = &ok(&o, 200)["results"][0];
    assert_eq!(owner["id"], refs["owners"]["olivia"], "{}", o.text);
    assert_eq!(owner["firstName"], "Olivia");

    // Pipeline with its stages, and a deal in it.
    let pl = app.get(token, "/crm/v3/pipelines/deals/partners").await;
    assert_eq!(ok(&pl, 200)["label"], "Partner deals");
    assert_eq!(pl.body["stages"][1]["id"], "signed");
    let d = app
        .get(
            token,
            &format!("/crm/v3/objects/deals/{big}?properties=pipeline,dealstage,amount"),
        )
        .await;
    assert_eq!(ok(&d, 200)["properties"]["dealstage"], "talking");

    // Associations: the defaults both ways, and the typed one.
    let c = app
        .get(
            token,
            &format!("/crm/v4/objects/companies/{acme}/associations/contacts"),
        )
        .await;
    let mut linked: Vec<String> = ok(&c, 200)["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["toObjectId"].to_string().trim_matches('"').to_owned())
        .collect();
    linked.sort();
    let mut want = vec![alice.to_owned(), bob.to_owned()];
    want.sort();
    assert_eq!(linked, want, "{}", c.text);
    let dc = app
        .get(
            token,
            &format!("/crm/v4/objects/deals/{big}/associations/contacts"),
        )
        .await;
    let first = &ok(&dc, 200)["results"][0];
    assert_eq!(first["toObjectId"].to_string().trim_matches('"'), alice);
    let types: Vec<i64> = first["associationTypes"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|t| t["typeId"].as_i64())
        .collect();
    assert!(types.contains(&3), "{}", dc.text);

    // A second seed adds to the first; its refs are its own.
    let portal = created["portalId"].as_i64().expect("portalId");
    let more = json!({"records": {"0-1": [{"ref": "carol", "properties": {"email": "carol@example.com"}}]}});
    let s = app
        .post(&admin, &format!("/_spoke/portals/{portal}/seed"), more)
        .await;
    assert_eq!(ok(&s, 200)["portalId"], portal);
    assert_eq!(s.body["counts"]["records"], 1);
    assert!(s.body["refs"]["0-1"]["carol"].is_string(), "{}", s.text);
    assert!(s.body["refs"].get("contacts").is_none(), "{}", s.text);
    let all = app.get(token, "/crm/v3/objects/contacts?limit=100").await;
    assert_eq!(ok(&all, 200)["results"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn a_bad_fixture_is_refused_with_its_path_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let url = format!("/_spoke/portals/{portal}/seed");
    // Something already there, which a failed seed must leave alone.
    let before_seed = ok(
        &app.post(
            &admin,
            &url,
            json!({"records": {"contacts": [{"properties": {"email": "kept@example.com"}}]},
                   "owners": [{"email": "taken@example.com"}]}),
        )
        .await,
        200,
    )
    .clone();
    assert!(before_seed["refs"]["owners"]["taken@example.com"].is_string());
    let before = state_of(&app, &token).await;

    let with = |patch: Value| {
        let mut f = example();
        for (k, v) in patch.as_object().expect("patch") {
            f[k] = v.clone();
        }
        f
    };
    // The example with one more record, after its own.
    let plus = |ty: &str, properties: Value| {
        let mut f = example();
        f["records"][ty]
            .as_array_mut()
            .expect("records")
            .push(json!({ "properties": properties }));
        f
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"contact": []}), "contact"),
        (json!([]), "(fixture)"),
        (
            with(json!({"records": {"nonsense": []}})),
            "records.nonsense",
        ),
        (
            with(
                json!({"properties": {"contacts": [{"name": "x", "label": "X", "type": "strin", "fieldType": "text", "groupName": "contactinformation"}]}}),
            ),
            "properties.contacts[0]",
        ),
        (
            with(
                json!({"properties": {"contacts": [{"name": "email", "label": "E", "type": "string", "fieldType": "text", "groupName": "contactinformation"}]}}),
            ),
            "properties.contacts[0]",
        ),
        (
            with(json!({"owners": [{"email": "a@example.com"}, {"email": "A@example.com"}]})),
            "owners[1]",
        ),
        (
            with(json!({"owners": [{"email": "not an email"}]})),
            "owners[0]",
        ),
        (
            with(
                json!({"pipelines": {"contacts": [{"label": "x", "displayOrder": 0, "stages": []}]}}),
            ),
            "pipelines.contacts",
        ),
        (
            with(json!({"pipelines": {"deals": [{"label": "x", "stages": []}]}})),
            "pipelines.deals[0]",
        ),
        (
            with(json!({"records": {"contacts": [{"ref": "a"}, {"ref": "a"}]}})),
            "records.contacts[1].ref",
        ),
        (
            with(json!({"records": {"contacts": [{"id": "1"}]}})),
            "records.contacts[0].id",
        ),
        (
            with(
                json!({"associations": [{"from": {"type": "contacts", "ref": "nobody"}, "to": {"type": "companies", "ref": "acme"}}]}),
            ),
            "associations[0].from.ref",
        ),
        (
            with(
                json!({"associations": [{"from": {"type": "contacts", "ref": "alice"}, "to": {"type": "companies", "ref": "acme"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 99999}]}]}),
            ),
            "associations[0].types[0]",
        ),
        // Found only while writing, after the fixture's property, owner and pipeline were
        // written: each must be undone.
        (
            plus("contacts", json!({"favorite_fruit": "plum"})),
            "records.contacts[2]",
        ),
        (
            plus("contacts", json!({"email": "kept@example.com"})),
            "records.contacts[2]",
        ),
        (
            plus(
                "deals",
                json!({"dealname": "d", "pipeline": "partners", "dealstage": "nope"}),
            ),
            "records.deals[1]",
        ),
        (
            with(json!({"owners": [{"email": "taken@example.com"}]})),
            "owners[0]",
        ),
    ];
    for (fixture, path) in cases {
        let a = app.post(&admin, &url, fixture.clone()).await;
        assert_eq!(refused_at(&a), path, "{fixture}: {}", a.text);
        assert_eq!(state_of(&app, &token).await, before, "after {path}");
    }
    // Not JSON at all: HubSpot's JSON error, nothing written.
    let a = app.send_raw(reqwest::Method::POST, &admin, &url, "{").await;
    assert_eq!(a.status, 400, "{}", a.text);
    assert_eq!(state_of(&app, &token).await, before);

    // A portal made with a bad seed is not made at all.
    let portals = app.get(&admin, "/_spoke/portals").await;
    let count = ok(&portals, 200)["results"].as_array().map(Vec::len);
    let bad = plus("contacts", json!({"favorite_fruit": "plum"}));
    let a = app
        .post(&admin, "/_spoke/portals", json!({ "seed": bad }))
        .await;
    assert_eq!(refused_at(&a), "records.contacts[2]");
    let portals = app.get(&admin, "/_spoke/portals").await;
    assert_eq!(ok(&portals, 200)["results"].as_array().map(Vec::len), count);
    let a = app
        .post(&admin, "/_spoke/portals", json!({ "seeds": {} }))
        .await;
    assert_eq!(a.status, 400, "{}", a.text);

    // An unknown portal.
    let a = app
        .post(&admin, "/_spoke/portals/424242/seed", example())
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
}

#[tokio::test]
async fn reset_to_seed_restores_the_seeded_state_after_changes() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    let base = format!("/_spoke/portals/{portal}");
    let reset = |body: Option<Value>| {
        let (app, admin, base) = (&app, &admin, &base);
        async move {
            app.call(
                reqwest::Method::POST,
                Some(admin),
                &format!("{base}/reset"),
                body,
            )
            .await
        }
    };
    // Nothing seeded yet.
    let a = reset(Some(json!({"to": "seed"}))).await;
    assert_eq!(a.status, 404, "{}", a.text);
    assert_eq!(a.body["category"], "OBJECT_NOT_FOUND", "{}", a.text);

    let s = app.post(&admin, &format!("{base}/seed"), example()).await;
    let refs = ok(&s, 200)["refs"].clone();
    let seeded = state_of(&app, &token).await;
    let alice = refs["contacts"]["alice"].as_str().expect("alice");

    // Changes of every kind.
    let c = app
        .post(
            &token,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "new@example.com"}}),
        )
        .await;
    ok(&c, 201);
    let p = app
        .patch(
            &token,
            &format!("/crm/v3/objects/contacts/{alice}"),
            json!({"properties": {"favorite_fruit": "pear"}}),
        )
        .await;
    ok(&p, 200);
    let big = refs["deals"]["big"].as_str().expect("big");
    assert_eq!(
        app.delete(&token, &format!("/crm/v3/objects/deals/{big}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&token, "/crm/v3/properties/contacts/favorite_fruit")
            .await
            .status,
        204
    );
    assert_ne!(state_of(&app, &token).await, seeded);

    let a = reset(Some(json!({"to": "seed"}))).await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert_eq!(state_of(&app, &token).await, seeded);
    let r = app
        .get(
            &token,
            &format!("/crm/v3/objects/contacts/{alice}?properties=favorite_fruit"),
        )
        .await;
    assert_eq!(ok(&r, 200)["properties"]["favorite_fruit"], "apple");

    // Reset to empty keeps the seed; reset to the seed again brings it back.
    let a = reset(None).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let empty = state_of(&app, &token).await;
    assert_eq!(empty["contacts"], json!([]));
    let a = reset(Some(json!({"to": "empty"}))).await;
    assert_eq!(a.status, 204, "{}", a.text);
    let a = reset(Some(json!({"to": "seed"}))).await;
    assert_eq!(a.status, 204, "{}", a.text);
    assert_eq!(state_of(&app, &token).await, seeded);

    // The seed is spoke's, not one of the portal's named snapshots.
    let list = app.get(&admin, &format!("{base}/snapshots")).await;
    assert_eq!(ok(&list, 200)["results"], json!([]), "{}", list.text);
    let a = app
        .post(
            &admin,
            &format!("{base}/snapshots/spoke%2Fseed/restore"),
            json!({}),
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
    let a = app
        .delete(&admin, &format!("{base}/snapshots/spoke%2Fseed"))
        .await;
    assert_eq!(a.status, 404, "{}", a.text);

    for body in [
        json!({"to": "yesterday"}),
        json!({"to": 1}),
        json!({"from": "seed"}),
    ] {
        let a = reset(Some(body.clone())).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text);
        assert_eq!(a.body["category"], "VALIDATION_ERROR", "{}", a.text);
    }
    let a = app
        .post(
            &admin,
            "/_spoke/portals/424242/reset",
            json!({"to": "seed"}),
        )
        .await;
    assert_eq!(a.status, 404, "{}", a.text);
}

#[tokio::test]
async fn hubspot_tokens_cannot_seed_or_reset_to_a_seed() {
    let app = TestApp::spawn().await;
    let admin = admin_token(&app).await;
    let (portal, token) = new_portal(&app, &admin).await;
    for (path, body) in [
        (format!("/_spoke/portals/{portal}/seed"), example()),
        (
            format!("/_spoke/portals/{portal}/reset"),
            json!({"to": "seed"}),
        ),
        ("/_spoke/portals".to_owned(), json!({"seed": example()})),
    ] {
        let a = app.post(&token, &path, body.clone()).await;
        assert_eq!(a.status, 401, "{path}: {}", a.text);
        assert_eq!(a.body["category"], "INVALID_AUTHENTICATION", "{}", a.text);
        let a = app
            .call(reqwest::Method::POST, None, &path, Some(body))
            .await;
        assert_eq!(a.status, 401, "{path}: {}", a.text);
    }
    let contacts = app.get(&token, "/crm/v3/objects/contacts").await;
    assert_eq!(ok(&contacts, 200)["results"], json!([]));
}
