//! Authentication and scopes (hubspot-behavior.md §2.4, §2.5, §4.2): every endpoint ×
//! {no token, bad token, other portal's token, token missing the scope, right scope}.

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::{Answer, TestApp};
use crate::support::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Need {
    ObjRead,
    ObjWrite,
    SchemaRead,
    SchemaWrite,
}

impl Need {
    /// (scopes that grant the call, scopes that do not, the scope 403 must name)
    fn scopes(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
    ) {
        match self {
            Need::ObjRead => (
                &["crm.objects.contacts.read"],
                &["crm.objects.contacts.write", "crm.objects.companies.read"],
                "crm.objects.contacts.read",
            ),
            Need::ObjWrite => (
                &["crm.objects.contacts.write"],
                &["crm.objects.contacts.read", "crm.objects.companies.write"],
                "crm.objects.contacts.write",
            ),
            Need::SchemaRead => (
                &["crm.schemas.contacts.read"],
                &["crm.schemas.companies.read", "crm.objects.companies.read"],
                "crm.schemas.contacts.read",
            ),
            Need::SchemaWrite => (
                &["crm.schemas.contacts.write"],
                &["crm.schemas.contacts.read", "crm.objects.contacts.write"],
                "crm.schemas.contacts.write",
            ),
        }
    }
}

/// One endpoint: method, path and body templates (`{id}`, `{email}`, `{prop}`, `{group}`,
/// `{n}` are filled from a fresh fixture), the scope it needs, its success status, and what
/// another portal's all-scopes token gets.
struct Row {
    method: Method,
    path: &'static str,
    body: Option<&'static str>,
    need: Need,
    ok: u16,
    other: u16,
}

fn rows() -> Vec<Row> {
    use Need::*;
    let r = |method: Method, path, body, need, ok, other| Row {
        method,
        path,
        body,
        need,
        ok,
        other,
    };
    vec![
        r(
            Method::GET,
            "/crm/v3/objects/contacts",
            None,
            ObjRead,
            200,
            200,
        ),
        r(
            Method::GET,
            "/crm/v3/objects/contacts/{id}",
            None,
            ObjRead,
            200,
            404,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts/batch/read",
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            ObjRead,
            200,
            207,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts",
            Some(r#"{"properties":{"firstname":"new"}}"#),
            ObjWrite,
            201,
            201,
        ),
        r(
            Method::PATCH,
            "/crm/v3/objects/contacts/{id}",
            Some(r#"{"properties":{"firstname":"patched"}}"#),
            ObjWrite,
            200,
            404,
        ),
        r(
            Method::DELETE,
            "/crm/v3/objects/contacts/{id}",
            None,
            ObjWrite,
            204,
            204,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts/batch/create",
            Some(r#"{"inputs":[{"properties":{"firstname":"b"}}]}"#),
            ObjWrite,
            201,
            201,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts/batch/update",
            Some(r#"{"inputs":[{"id":"{id}","properties":{"firstname":"u"}}]}"#),
            ObjWrite,
            200,
            207,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts/batch/upsert",
            Some(
                r#"{"inputs":[{"id":"{email}","idProperty":"email","properties":{"firstname":"up"}}]}"#,
            ),
            ObjWrite,
            200,
            200,
        ),
        r(
            Method::POST,
            "/crm/v3/objects/contacts/batch/archive",
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            ObjWrite,
            204,
            204,
        ),
        r(
            Method::GET,
            "/crm/objects/2026-03/contacts",
            None,
            ObjRead,
            200,
            200,
        ),
        r(
            Method::GET,
            "/crm/objects/2026-03/contacts/{id}",
            None,
            ObjRead,
            200,
            404,
        ),
        r(
            Method::POST,
            "/crm/objects/2026-03/contacts/batch/read",
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            ObjRead,
            200,
            207,
        ),
        r(
            Method::POST,
            "/crm/objects/2026-03/contacts/batch/update",
            Some(r#"{"inputs":[{"id":"{id}","properties":{"firstname":"u"}}]}"#),
            ObjWrite,
            200,
            207,
        ),
        r(
            Method::POST,
            "/crm/objects/2026-03/contacts/batch/archive",
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            ObjWrite,
            204,
            204,
        ),
        r(
            Method::GET,
            "/crm/v3/properties/contacts",
            None,
            SchemaRead,
            200,
            200,
        ),
        r(
            Method::GET,
            "/crm/v3/properties/contacts/{prop}",
            None,
            SchemaRead,
            200,
            404,
        ),
        r(
            Method::POST,
            "/crm/v3/properties/contacts/batch/read",
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            SchemaRead,
            200,
            207,
        ),
        r(
            Method::GET,
            "/crm/v3/properties/contacts/groups",
            None,
            SchemaRead,
            200,
            200,
        ),
        r(
            Method::GET,
            "/crm/v3/properties/contacts/groups/{group}",
            None,
            SchemaRead,
            200,
            404,
        ),
        r(
            Method::POST,
            "/crm/v3/properties/contacts",
            Some(
                r#"{"name":"made_{n}","label":"Made","type":"string","fieldType":"text","groupName":"contactinformation"}"#,
            ),
            SchemaWrite,
            201,
            201,
        ),
        r(
            Method::PATCH,
            "/crm/v3/properties/contacts/{prop}",
            Some(r#"{"label":"Relabelled"}"#),
            SchemaWrite,
            200,
            404,
        ),
        r(
            Method::DELETE,
            "/crm/v3/properties/contacts/{prop}",
            None,
            SchemaWrite,
            204,
            404,
        ),
        r(
            Method::POST,
            "/crm/v3/properties/contacts/batch/create",
            Some(
                r#"{"inputs":[{"name":"batch_{n}","label":"B","type":"string","fieldType":"text","groupName":"contactinformation"}]}"#,
            ),
            SchemaWrite,
            201,
            201,
        ),
        r(
            Method::POST,
            "/crm/v3/properties/contacts/batch/archive",
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            SchemaWrite,
            204,
            204,
        ),
        r(
            Method::POST,
            "/crm/v3/properties/contacts/groups",
            Some(r#"{"name":"grp_{n}","label":"G"}"#),
            SchemaWrite,
            201,
            201,
        ),
        r(
            Method::PATCH,
            "/crm/v3/properties/contacts/groups/{group}",
            Some(r#"{"label":"Renamed"}"#),
            SchemaWrite,
            200,
            404,
        ),
        r(
            Method::DELETE,
            "/crm/v3/properties/contacts/groups/{group}",
            None,
            SchemaWrite,
            204,
            404,
        ),
        r(
            Method::GET,
            "/crm/properties/2026-03/contacts/{prop}",
            None,
            SchemaRead,
            200,
            404,
        ),
    ]
}

/// Portal 1's records and definitions, made fresh for each row.
struct Fixture {
    id: String,
    email: String,
    prop: String,
    group: String,
    n: usize,
}

impl Fixture {
    async fn make(app: &TestApp, admin: &str, n: usize) -> Self {
        let email = format!("person{n}@example.com");
        let id = create_one(app, admin, "contacts", json!({ "email": email })).await;
        let group = format!("group_{n}");
        create_group(app, admin, "contacts", &group).await;
        let prop = format!("prop_{n}");
        let ans = app
            .post(
                admin,
                "/crm/v3/properties/contacts",
                json!({"name": prop, "label": "Original", "type": "string", "fieldType": "text", "groupName": group}),
            )
            .await;
        assert_eq!(ans.status, 201, "{}", ans.text);
        Self {
            id,
            email,
            prop,
            group,
            n,
        }
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{id}", &self.id)
            .replace("{email}", &self.email)
            .replace("{prop}", &self.prop)
            .replace("{group}", &self.group)
            .replace("{n}", &self.n.to_string())
    }

    /// Nothing of portal 1 changed.
    async fn assert_untouched(&self, app: &TestApp, admin: &str, what: &str) {
        let c = app
            .get(
                admin,
                &format!("/crm/v3/objects/contacts/{}?properties=firstname", self.id),
            )
            .await;
        assert_eq!(c.status, 200, "{what}: contact still live: {}", c.text);
        assert_eq!(c.body["properties"]["firstname"], Value::Null, "{what}");
        let p = app
            .get(admin, &format!("/crm/v3/properties/contacts/{}", self.prop))
            .await;
        assert_eq!(p.status, 200, "{what}: property still live: {}", p.text);
        assert_eq!(p.body["label"], "Original", "{what}");
        let g = app
            .get(
                admin,
                &format!("/crm/v3/properties/contacts/groups/{}", self.group),
            )
            .await;
        assert_eq!(g.status, 200, "{what}: group still live: {}", g.text);
        assert_eq!(g.body["label"], self.group, "{what}");
    }
}

async fn call(app: &TestApp, row: &Row, fx: &Fixture, auth: Option<&str>) -> Answer {
    let path = fx.fill(row.path);
    let mut req = app
        .http
        .request(row.method.clone(), format!("{}{}", app.base, path));
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    if let Some(b) = row.body {
        req = req
            .header("content-type", "application/json")
            .body(fx.fill(b));
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

pub(crate) fn assert_401(ans: &Answer, what: &str) {
    assert_eq!(ans.status, 401, "{what}: {}", ans.text);
    assert_error(ans, 401, Some("INVALID_AUTHENTICATION"), AUTH_MESSAGE);
    assert_eq!(
        keys_at(&ans.text, ""),
        ["status", "message", "correlationId", "category"],
        "{what}"
    );
    assert!(ans.headers.contains_key("x-hubspot-auth-failure"), "{what}");
}

pub(crate) fn assert_403(ans: &Answer, scope: &str, what: &str) {
    let body = assert_error(ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
    assert_eq!(
        body["errors"][0]["message"], "One or more of the following scopes are required.",
        "{what}"
    );
    let required = body["errors"][0]["context"]["requiredGranularScopes"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: requiredGranularScopes: {}", ans.text));
    assert!(
        required.iter().any(|s| s == scope),
        "{what}: {scope} among {required:?}"
    );
    assert_eq!(
        body["links"],
        json!({"scopes": "https://developers.hubspot.com/scopes"})
    );
    assert_eq!(
        keys_at(&ans.text, ""),
        [
            "status",
            "message",
            "correlationId",
            "errors",
            "links",
            "category"
        ],
        "{what}"
    );
}

#[tokio::test]
async fn every_endpoint_checks_token_portal_and_scope() {
    let app = TestApp::spawn().await;
    let admin = app.token(1, &["all"]).await;
    let other = app.token(2, &["all"]).await;
    for (n, row) in rows().iter().enumerate() {
        let what = format!("{} {}", row.method, row.path);
        let fx = Fixture::make(&app, &admin, n).await;
        let (grant, deny, named) = row.need.scopes();
        let right = app.token(1, grant).await;
        let wrong = app.token(1, deny).await;

        assert_401(
            &call(&app, row, &fx, None).await,
            &format!("{what} without token"),
        );
        assert_401(
            &call(
                &app,
                row,
                &fx,
                Some("Bearer pat-na1-00000000-0000-0000-0000-000000000000"),
            )
            .await,
            &format!("{what} with unknown token"),
        );
        assert_401(
            &call(&app, row, &fx, Some(&format!("Basic {admin}"))).await,
            &format!("{what} with a non-bearer scheme"),
        );
        assert_401(
            &call(&app, row, &fx, Some("Bearer ")).await,
            &format!("{what} with an empty bearer"),
        );
        assert_403(
            &call(&app, row, &fx, Some(&format!("Bearer {wrong}"))).await,
            named,
            &format!("{what} missing {named}"),
        );
        fx.assert_untouched(&app, &admin, &format!("{what} after 401/403"))
            .await;

        let theirs = call(&app, row, &fx, Some(&format!("Bearer {other}"))).await;
        assert_eq!(
            theirs.status.as_u16(),
            row.other,
            "{what} by another portal: {}",
            theirs.text
        );
        if row.other == 200 && row.method == Method::GET && row.path.contains("objects") {
            let seen = theirs.body["results"].as_array().expect("results");
            assert!(
                seen.iter()
                    .all(|r| r["id"] != json!(fx.id) && r["properties"]["firstname"].is_string()),
                "{what}: another portal sees only its own records: {}",
                theirs.text
            );
        }
        if row.other == 200 && row.path.ends_with("/properties/contacts") {
            let names = theirs.body["results"].as_array().expect("results");
            assert!(names.iter().all(|p| p["name"] != json!(fx.prop)), "{what}");
        }
        if row.other == 200 && row.path.ends_with("/groups") {
            let names = theirs.body["results"].as_array().expect("results");
            assert!(names.iter().all(|g| g["name"] != json!(fx.group)), "{what}");
        }
        if row.other == 207 {
            let (results, errors) = assert_batch_partial(&theirs);
            assert!(results.is_empty(), "{what}");
            assert_eq!(errors[0]["category"], "OBJECT_NOT_FOUND", "{what}");
        }
        if row.path.ends_with("batch/upsert") {
            assert_eq!(
                theirs.body["results"][0]["new"], true,
                "{what}: another portal's email is free"
            );
        }
        if theirs.status.is_client_error() {
            assert_wire_error(&theirs);
        }
        fx.assert_untouched(&app, &admin, &format!("{what} after another portal's call"))
            .await;

        let mine = call(&app, row, &fx, Some(&format!("Bearer {right}"))).await;
        assert_eq!(
            mine.status.as_u16(),
            row.ok,
            "{what} with {grant:?}: {}",
            mine.text
        );
        if row.ok == 200 || row.ok == 201 {
            assert_json_content_type(&mine);
        }
        assert!(
            mine.headers.contains_key("x-hubspot-correlation-id"),
            "{what}"
        );
    }
}

#[tokio::test]
async fn scope_is_checked_before_the_body() {
    let app = TestApp::spawn().await;
    let read_only = app.token(1, &["crm.objects.contacts.read"]).await;
    let ans = app
        .post_raw(
            &read_only,
            "/crm/v3/objects/contacts/batch/create",
            "{not json",
        )
        .await;
    assert_403(
        &ans,
        "crm.objects.contacts.write",
        "malformed body without scope",
    );
    let over = app
        .post(
            &read_only,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": (0..150).map(|i| json!({"id": i.to_string(), "properties": {}})).collect::<Vec<_>>()}),
        )
        .await;
    assert_403(
        &over,
        "crm.objects.contacts.write",
        "oversized batch without scope",
    );
}

/// The alternatives a 403 `MISSING_SCOPES` names, sorted.
fn required_scopes(ans: &Answer) -> Vec<String> {
    let body = assert_error(ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
    let mut required: Vec<String> = body["errors"][0]["context"]["requiredGranularScopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().expect("scope").to_owned())
        .collect();
    required.sort();
    required
}

fn sorted(scopes: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn per_type_scopes() {
    let app = TestApp::spawn().await;
    let cases: [(&str, &[&str], &[&str]); 8] = [
        (
            "companies",
            &["crm.objects.companies.read"],
            &["crm.objects.companies.write"],
        ),
        (
            "deals",
            &["crm.objects.deals.read"],
            &["crm.objects.deals.write"],
        ),
        ("tickets", &["tickets"], &["tickets"]),
        (
            "products",
            &["crm.objects.products.read", "e-commerce"],
            &["crm.objects.products.write", "e-commerce"],
        ),
        (
            "line_items",
            &["crm.objects.line_items.read", "e-commerce"],
            &["crm.objects.line_items.write", "e-commerce"],
        ),
        (
            "0-420",
            &["crm.objects.listings.read"],
            &["crm.objects.listings.write"],
        ),
        (
            "partner_clients",
            &["crm.objects.partner-clients.read"],
            &[],
        ),
        (
            "partner_services",
            &["crm.objects.partner-services.read"],
            &[],
        ),
    ];
    let nothing = app
        .token(
            1,
            &["crm.objects.contacts.read", "crm.objects.contacts.write"],
        )
        .await;
    for (ty, reads, writes) in cases {
        for scope in reads {
            let t = app.token(1, &[scope]).await;
            let ans = app.get(&t, &format!("/crm/v3/objects/{ty}")).await;
            assert_eq!(ans.status, 200, "{ty} read with {scope}: {}", ans.text);
        }
        let denied = app.get(&nothing, &format!("/crm/v3/objects/{ty}")).await;
        assert_eq!(required_scopes(&denied), sorted(reads), "{ty}");
        for scope in writes {
            let t = app.token(1, &[scope]).await;
            let ans = app
                .post(
                    &t,
                    &format!("/crm/v3/objects/{ty}/batch/create"),
                    json!({"inputs": [{"properties": {}}]}),
                )
                .await;
            assert_eq!(ans.status, 201, "{ty} write with {scope}: {}", ans.text);
        }
    }
    // Partner objects are updated with their own write scope.
    let ids = import_records(
        &app,
        1,
        "partner_clients",
        &[],
        vec![json!({"hs_name": "P"})],
    )
    .await;
    let w = app.token(1, &["crm.objects.partner-clients.write"]).await;
    let ans = app
        .post(
            &w,
            "/crm/v3/objects/partner_clients/batch/update",
            json!({"inputs": [{"id": ids[0], "properties": {"hs_notes": "n"}}]}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let r = app.token(1, &["crm.objects.partner-clients.read"]).await;
    let denied = app
        .post(
            &r,
            "/crm/v3/objects/partner_clients/batch/update",
            json!({"inputs": [{"id": ids[0], "properties": {"hs_notes": "n"}}]}),
        )
        .await;
    assert_403(
        &denied,
        "crm.objects.partner-clients.write",
        "partner update with read scope",
    );
}

/// The scopes of property definitions, per type (docs/compatibility.md, "Scopes of property
/// definitions"): each listed scope alone reads (or writes) them, a 403 names exactly the
/// listed alternatives, and the schema scope names HubSpot does not have grant nothing.
#[tokio::test]
async fn per_type_schema_scopes() {
    let app = TestApp::spawn().await;
    let cases: [(&str, &[&str], &[&str]); 9] = [
        (
            "contacts",
            &["crm.schemas.contacts.read", "crm.objects.contacts.read"],
            &["crm.schemas.contacts.write"],
        ),
        (
            "companies",
            &["crm.schemas.companies.read", "crm.objects.companies.read"],
            &["crm.schemas.companies.write"],
        ),
        (
            "deals",
            &["crm.schemas.deals.read", "crm.objects.deals.read"],
            &["crm.schemas.deals.write"],
        ),
        (
            "tickets",
            &["crm.schemas.tickets.read", "tickets"],
            &["crm.schemas.tickets.write", "tickets"],
        ),
        ("products", &["e-commerce"], &["e-commerce"]),
        (
            "line_items",
            &[
                "crm.schemas.line_items.read",
                "crm.objects.line_items.read",
                "e-commerce",
            ],
            &["e-commerce"],
        ),
        (
            "0-420",
            &["crm.schemas.listings.read", "crm.objects.listings.read"],
            &["crm.schemas.listings.write"],
        ),
        (
            "partner_clients",
            &["crm.schemas.custom.read", "crm.objects.custom.read"],
            &["crm.schemas.custom.write"],
        ),
        (
            "partner_services",
            &["crm.schemas.custom.read", "crm.objects.custom.read"],
            &["crm.schemas.custom.write"],
        ),
    ];
    // What spoke used to accept: invented schema scopes, and object scopes HubSpot's
    // properties spec does not list for these types.
    let invented = app
        .token(
            1,
            &[
                "crm.schemas.products.read",
                "crm.schemas.products.write",
                "crm.schemas.line_items.write",
                "crm.schemas.partner-clients.read",
                "crm.schemas.partner-clients.write",
                "crm.schemas.partner-services.read",
                "crm.schemas.partner-services.write",
                "crm.objects.products.read",
                "crm.objects.partner-clients.read",
                "crm.objects.partner-services.read",
            ],
        )
        .await;
    for (n, (ty, reads, writes)) in cases.into_iter().enumerate() {
        let path = format!("/crm/v3/properties/{ty}");
        for scope in reads {
            let t = app.token(1, &[scope]).await;
            let ans = app.get(&t, &path).await;
            assert_eq!(
                ans.status, 200,
                "{ty} definitions read with {scope}: {}",
                ans.text
            );
        }
        let group = json!({"name": format!("g{n}"), "label": "G", "displayOrder": 1});
        for (i, scope) in writes.iter().enumerate() {
            let t = app.token(1, &[scope]).await;
            let named = json!({"name": format!("g{n}_{i}"), "label": "G", "displayOrder": 1});
            let ans = app.post(&t, &format!("{path}/groups"), named).await;
            assert_eq!(
                ans.status, 201,
                "{ty} group create with {scope}: {}",
                ans.text
            );
        }
        let ans = app.get(&invented, &path).await;
        assert_eq!(required_scopes(&ans), sorted(reads), "{ty} read");
        let ans = app.post(&invented, &format!("{path}/groups"), group).await;
        assert_eq!(required_scopes(&ans), sorted(writes), "{ty} write");
    }
}

#[tokio::test]
async fn revoked_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    assert_eq!(app.get(&t, "/crm/v3/objects/contacts").await.status, 200);
    let prefix: String = t.chars().take(16).collect();
    let tokens = app.store.list_tokens().await.expect("tokens");
    let mine = tokens
        .iter()
        .find(|k| k.prefix == prefix)
        .expect("token listed");
    assert!(app
        .store
        .revoke_token(mine.id, spoke_core::time::now_millis())
        .await
        .expect("revoke"));
    let ans = app.get(&t, "/crm/v3/objects/contacts").await;
    assert_401(&ans, "revoked token");
}

#[tokio::test]
async fn portals_do_not_share_records_or_unique_values() {
    let app = TestApp::spawn().await;
    let t1 = app.token(1, &["all"]).await;
    let t2 = app.token(2, &["all"]).await;
    let mine = create_contacts(&app, &t1, &["same@example.com"]).await;
    let theirs = create_contacts(&app, &t2, &["same@example.com"]).await;
    assert_ne!(mine, theirs);
    assert_eq!(list_all_ids(&app, &t1, "contacts", false).await, mine);
    assert_eq!(list_all_ids(&app, &t2, "contacts", false).await, theirs);
    let by_email = app
        .post(
            &t2,
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": "same@example.com"}], "idProperty": "email"}),
        )
        .await;
    assert_eq!(assert_batch_ok(&by_email, 200)[0]["id"], json!(theirs[0]));
    let archived = app
        .get(
            &t2,
            &format!("/crm/v3/objects/contacts/{}?archived=true", mine[0]),
        )
        .await;
    assert_eq!(archived.status, 404);
}

/// Issue 18, defect 6: inline `associations` on create wrote contact→company links for a
/// token without any companies scope, and told it whether a company id existed.
#[tokio::test]
async fn inline_association_on_create_needs_the_target_types_write_scope() {
    let app = TestApp::spawn().await;
    let admin = app.token(1, &["all"]).await;
    let company = create_one(&app, &admin, "companies", json!({"name": "Acme"})).await;
    let contacts_only = app
        .token(
            1,
            &["crm.objects.contacts.read", "crm.objects.contacts.write"],
        )
        .await;
    let read_companies = app
        .token(
            1,
            &[
                "crm.objects.contacts.read",
                "crm.objects.contacts.write",
                "crm.objects.companies.read",
            ],
        )
        .await;
    let link = |to: &str| {
        json!({
            "properties": {"firstname": "Eve"},
            "associations": [{
                "to": {"id": to},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]
            }]
        })
    };
    // The same answer for an existing and a missing company: nothing is learnt about either.
    for token in [&contacts_only, &read_companies] {
        for to in [company.as_str(), "999999999"] {
            let single = app.post(token, "/crm/v3/objects/contacts", link(to)).await;
            assert_403(
                &single,
                "crm.objects.companies.write",
                &format!("single create to {to}"),
            );
            let batch = app
                .post(
                    token,
                    "/crm/v3/objects/contacts/batch/create",
                    json!({"inputs": [{"properties": {"firstname": "Ann"}}, link(to)]}),
                )
                .await;
            assert_403(
                &batch,
                "crm.objects.companies.write",
                &format!("batch create to {to}"),
            );
        }
    }
    assert!(
        list_all_ids(&app, &admin, "contacts", false)
            .await
            .is_empty(),
        "no contact may be created by a refused call"
    );
    let links = app
        .get(
            &admin,
            &format!("/crm/v4/objects/companies/{company}/associations/contacts"),
        )
        .await;
    assert_eq!(links.status, 200, "{}", links.text);
    assert_eq!(links.body["results"], json!([]), "{}", links.text);
    // With both write scopes the same request is allowed.
    let both = app
        .token(
            1,
            &["crm.objects.contacts.write", "crm.objects.companies.write"],
        )
        .await;
    let ok = app
        .post(&both, "/crm/v3/objects/contacts", link(&company))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

/// An `associations.companies` search filter tells which contacts are linked to a company,
/// so it needs the companies read scope as every association read does; without it the
/// answer is 403 whether or not the company exists.
#[tokio::test]
async fn search_association_filter_needs_the_target_types_read_scope() {
    let app = TestApp::spawn().await;
    let admin = app.token(1, &["all"]).await;
    let company = create_one(&app, &admin, "companies", json!({"name": "Acme"})).await;
    let contacts_only = app.token(1, &["crm.objects.contacts.read"]).await;
    let search = |to: &str| {
        json!({"filterGroups": [{"filters": [
            {"propertyName": "associations.company", "operator": "EQ", "value": to}
        ]}]})
    };
    for to in [company.as_str(), "999999999"] {
        let ans = app
            .post(
                &contacts_only,
                "/crm/v3/objects/contacts/search",
                search(to),
            )
            .await;
        assert_403(
            &ans,
            "crm.objects.companies.read",
            &format!("association filter to {to}"),
        );
    }
    let both = app
        .token(
            1,
            &["crm.objects.contacts.read", "crm.objects.companies.read"],
        )
        .await;
    let ok = app
        .post(&both, "/crm/v3/objects/contacts/search", search(&company))
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}
