//! Tenant isolation, as a table: every endpoint (objects v3 single, list, batch and search;
//! properties and groups; associations v4 batch, single and labels; under `/crm/v3` and the
//! dated prefixes) × {no token → 401; another portal's all-scopes token → the row's record,
//! property, group or label does not exist for it (never its data, never a 403 that would
//! reveal it exists); a token missing a needed scope → 403 `MISSING_SCOPES`; the right
//! scopes → 2xx}. One row per endpoint: adding an endpoint is adding a row. The test runs
//! every row and fails listing every violation.

use reqwest::Method;
use serde_json::{json, Value};

use crate::auth_scopes::{assert_401, assert_403};
use crate::harness::{Answer, TestApp};
use crate::support::*;

/// Strings only the row's fixture holds; no request carries them, so another portal's
/// answer containing one has leaked the row's portal's data.
const SECRETS: [&str; 5] = [
    "SecretFirstName",
    "SecretCompany",
    "SecretPropLabel",
    "SecretGroupLabel",
    "SecretAssocLabel",
];

/// What another portal's all-scopes token must get.
#[derive(Clone, Copy, Debug)]
enum Other {
    /// Exactly this status (and, for errors, HubSpot's envelope).
    Is(u16),
    /// 207 whose errors name the input as not found, with no results.
    Missing207,
    /// Any of these (HubSpot's answer to this case is not pinned down; every one of them
    /// means "not there").
    OneOf(&'static [u16]),
}

struct Row {
    method: Method,
    /// `{id}` the row's portal's contact, `{cid}` its company, `{email}` the contact's email,
    /// `{prop}`/`{group}` its custom property and group, `{label}` its label's type id,
    /// `{n}` a fresh number.
    path: String,
    body: Option<&'static str>,
    grant: &'static [&'static str],
    deny: &'static [&'static str],
    named: &'static str,
    ok: u16,
    other: Other,
}

const C_READ: &[&str] = &["crm.objects.contacts.read"];
const C_WRITE: &[&str] = &["crm.objects.contacts.write"];
const S_READ: &[&str] = &["crm.schemas.contacts.read"];
const S_WRITE: &[&str] = &["crm.schemas.contacts.write"];
const PAIR_READ: &[&str] = &["crm.objects.contacts.read", "crm.objects.companies.read"];
const PAIR_WRITE: &[&str] = &["crm.objects.contacts.write", "crm.objects.companies.write"];

fn rows() -> Vec<Row> {
    use Other::*;
    let mut rows = Vec::new();
    let mut r = |method: Method,
                 path: String,
                 body: Option<&'static str>,
                 (grant, deny, named): (
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
    ),
                 ok: u16,
                 other: Other| {
        rows.push(Row {
            method,
            path,
            body,
            grant,
            deny,
            named,
            ok,
            other,
        })
    };
    let obj_read = (
        C_READ,
        &["crm.objects.contacts.write", "crm.objects.companies.read"][..],
        "crm.objects.contacts.read",
    );
    let obj_write = (
        C_WRITE,
        &["crm.objects.contacts.read", "crm.objects.companies.write"][..],
        "crm.objects.contacts.write",
    );
    let schema_read = (
        S_READ,
        &["crm.schemas.companies.read", "crm.objects.companies.read"][..],
        "crm.schemas.contacts.read",
    );
    let schema_write = (
        S_WRITE,
        &["crm.schemas.contacts.read", "crm.objects.contacts.write"][..],
        "crm.schemas.contacts.write",
    );
    // Pair endpoints need both types: a token with contacts alone is missing companies.
    let pair_read = (
        PAIR_READ,
        &["crm.objects.contacts.read", "crm.objects.contacts.write"][..],
        "crm.objects.companies.read",
    );
    let pair_write = (
        PAIR_WRITE,
        &["crm.objects.contacts.write", "crm.objects.companies.read"][..],
        "crm.objects.companies.write",
    );

    for pre in ["/crm/v3/objects", "/crm/objects/2026-03"] {
        let c = format!("{pre}/contacts");
        r(Method::GET, c.clone(), None, obj_read, 200, Is(200));
        r(
            Method::GET,
            format!("{c}/{{id}}"),
            None,
            obj_read,
            200,
            Is(404),
        );
        r(
            Method::GET,
            format!("{c}/{{email}}?idProperty=email"),
            None,
            obj_read,
            200,
            Is(404),
        );
        // Associations read inline need the target type's read scope too.
        r(
            Method::GET,
            format!("{c}/{{id}}?associations=companies"),
            None,
            pair_read,
            200,
            Is(404),
        );
        r(
            Method::GET,
            format!("{c}?associations=companies"),
            None,
            pair_read,
            200,
            Is(200),
        );
        r(
            Method::PATCH,
            format!("{c}/{{id}}"),
            Some(r#"{"properties":{"lastname":"patched"}}"#),
            obj_write,
            200,
            Is(404),
        );
        r(
            Method::DELETE,
            format!("{c}/{{id}}"),
            None,
            obj_write,
            204,
            Is(204),
        );
        r(
            Method::POST,
            c.clone(),
            Some(r#"{"properties":{"firstname":"new"}}"#),
            obj_write,
            201,
            Is(201),
        );
        r(
            Method::POST,
            format!("{c}/batch/read"),
            Some(r#"{"inputs":[{"id":"{id}"}],"properties":["firstname"]}"#),
            obj_read,
            200,
            Missing207,
        );
        r(
            Method::POST,
            format!("{c}/batch/read"),
            Some(
                r#"{"inputs":[{"id":"{email}"}],"idProperty":"email","properties":["firstname"]}"#,
            ),
            obj_read,
            200,
            Missing207,
        );
        r(
            Method::POST,
            format!("{c}/batch/create"),
            Some(r#"{"inputs":[{"properties":{"firstname":"b"}}]}"#),
            obj_write,
            201,
            Is(201),
        );
        r(
            Method::POST,
            format!("{c}/batch/update"),
            Some(r#"{"inputs":[{"id":"{id}","properties":{"lastname":"u"}}]}"#),
            obj_write,
            200,
            Missing207,
        );
        r(
            Method::POST,
            format!("{c}/batch/upsert"),
            Some(
                r#"{"inputs":[{"id":"{email}","idProperty":"email","properties":{"lastname":"up"}}]}"#,
            ),
            obj_write,
            200,
            Is(200),
        );
        r(
            Method::POST,
            format!("{c}/batch/archive"),
            Some(r#"{"inputs":[{"id":"{id}"}]}"#),
            obj_write,
            204,
            Is(204),
        );
        r(
            Method::POST,
            format!("{c}/search"),
            Some(
                r#"{"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"{email}"}]}],"properties":["firstname"]}"#,
            ),
            obj_read,
            200,
            Is(200),
        );
        r(
            Method::POST,
            format!("{c}/search"),
            Some(r#"{"query":"SecretFirstName","properties":["firstname"]}"#),
            obj_read,
            200,
            Is(200),
        );
        // Inline associations write the company's side too: both write scopes (§3.7, §4.2).
        r(
            Method::POST,
            c.clone(),
            Some(
                r#"{"properties":{"firstname":"linked"},"associations":[{"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#,
            ),
            pair_write,
            201,
            OneOf(&[400, 404]),
        );
        r(
            Method::POST,
            format!("{c}/batch/create"),
            Some(
                r#"{"inputs":[{"properties":{"firstname":"linked"},"associations":[{"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}]}"#,
            ),
            pair_write,
            201,
            OneOf(&[400, 404]),
        );
    }

    for pre in ["/crm/v3/properties", "/crm/properties/2026-03"] {
        let p = format!("{pre}/contacts");
        r(Method::GET, p.clone(), None, schema_read, 200, Is(200));
        r(
            Method::GET,
            format!("{p}/{{prop}}"),
            None,
            schema_read,
            200,
            Is(404),
        );
        r(
            Method::PATCH,
            format!("{p}/{{prop}}"),
            Some(r#"{"label":"Relabelled"}"#),
            schema_write,
            200,
            Is(404),
        );
        r(
            Method::DELETE,
            format!("{p}/{{prop}}"),
            None,
            schema_write,
            204,
            Is(404),
        );
        r(
            Method::POST,
            p.clone(),
            Some(
                r#"{"name":"made_{n}","label":"Made","type":"string","fieldType":"text","groupName":"contactinformation"}"#,
            ),
            schema_write,
            201,
            Is(201),
        );
        r(
            Method::POST,
            format!("{p}/batch/create"),
            Some(
                r#"{"inputs":[{"name":"batch_{n}","label":"B","type":"string","fieldType":"text","groupName":"contactinformation"}]}"#,
            ),
            schema_write,
            201,
            Is(201),
        );
        r(
            Method::POST,
            format!("{p}/batch/read"),
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            schema_read,
            200,
            Missing207,
        );
        r(
            Method::POST,
            format!("{p}/batch/archive"),
            Some(r#"{"inputs":[{"name":"{prop}"}]}"#),
            schema_write,
            204,
            Is(204),
        );
        r(
            Method::GET,
            format!("{p}/groups"),
            None,
            schema_read,
            200,
            Is(200),
        );
        r(
            Method::POST,
            format!("{p}/groups"),
            Some(r#"{"name":"grp_{n}","label":"G"}"#),
            schema_write,
            201,
            Is(201),
        );
        r(
            Method::GET,
            format!("{p}/groups/{{group}}"),
            None,
            schema_read,
            200,
            Is(404),
        );
        r(
            Method::PATCH,
            format!("{p}/groups/{{group}}"),
            Some(r#"{"label":"Renamed"}"#),
            schema_write,
            200,
            Is(404),
        );
        r(
            Method::DELETE,
            format!("{p}/groups/{{group}}"),
            None,
            schema_write,
            204,
            Is(404),
        );
    }

    let v4 = "/crm/v4/associations/contacts/companies";
    r(
        Method::POST,
        format!("{v4}/batch/read"),
        Some(r#"{"inputs":[{"id":"{id}"}]}"#),
        pair_read,
        200,
        Is(207),
    );
    r(
        Method::POST,
        format!("{v4}/batch/create"),
        Some(
            r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"},"types":[{"associationCategory":"USER_DEFINED","associationTypeId":{label}}]}]}"#,
        ),
        pair_write,
        201,
        OneOf(&[207, 400]),
    );
    r(
        Method::POST,
        format!("{v4}/batch/associate/default"),
        Some(r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"}}]}"#),
        pair_write,
        200,
        Is(200),
    );
    r(
        Method::POST,
        format!("{v4}/batch/archive"),
        Some(r#"{"inputs":[{"from":{"id":"{id}"},"to":[{"id":"{cid}"}]}]}"#),
        pair_write,
        204,
        Is(204),
    );
    r(
        Method::POST,
        format!("{v4}/batch/labels/archive"),
        Some(
            r#"{"inputs":[{"from":{"id":"{id}"},"to":{"id":"{cid}"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}]}"#,
        ),
        pair_write,
        204,
        Is(204),
    );
    let one = "/crm/v4/objects/contacts/{id}/associations";
    r(
        Method::GET,
        format!("{one}/companies"),
        None,
        pair_read,
        200,
        OneOf(&[200, 404]),
    );
    r(
        Method::PUT,
        format!("{one}/companies/{{cid}}"),
        Some(r#"[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]"#),
        pair_write,
        201,
        OneOf(&[400, 404]),
    );
    r(
        Method::PUT,
        format!("{one}/default/companies/{{cid}}"),
        None,
        pair_write,
        200,
        OneOf(&[200, 400, 404]),
    );
    r(
        Method::DELETE,
        format!("{one}/companies/{{cid}}"),
        None,
        pair_write,
        204,
        Is(204),
    );
    for pre in ["/crm/v4/associations", "/crm/associations/v4"] {
        let l = format!("{pre}/contacts/companies/labels");
        r(Method::GET, l.clone(), None, pair_read, 200, Is(200));
        r(
            Method::POST,
            l.clone(),
            Some(r#"{"label":"Made {n}","name":"made_{n}"}"#),
            pair_write,
            200,
            Is(200),
        );
        r(
            Method::PUT,
            l.clone(),
            Some(r#"{"associationTypeId":{label},"label":"Renamed"}"#),
            pair_write,
            204,
            Is(404),
        );
        r(
            Method::DELETE,
            format!("{l}/{{label}}"),
            None,
            pair_write,
            204,
            Is(404),
        );
    }
    rows
}

/// The row's portal's data, made fresh for each row.
struct Fixture {
    id: String,
    cid: String,
    email: String,
    prop: String,
    group: String,
    label: i64,
    n: usize,
}

impl Fixture {
    async fn make(app: &TestApp, admin: &str, n: usize) -> Self {
        let email = format!("iso{n}@example.com");
        let id = create_one(
            app,
            admin,
            "contacts",
            json!({"email": email, "firstname": "SecretFirstName"}),
        )
        .await;
        let cid = create_one(app, admin, "companies", json!({"name": "SecretCompany"})).await;
        let group = format!("iso_group_{n}");
        let g = app
            .post(
                admin,
                "/crm/v3/properties/contacts/groups",
                json!({"name": group, "label": "SecretGroupLabel"}),
            )
            .await;
        assert_eq!(g.status, 201, "{}", g.text);
        let prop = format!("iso_prop_{n}");
        let p = app
            .post(
                admin,
                "/crm/v3/properties/contacts",
                json!({"name": prop, "label": "SecretPropLabel", "type": "string", "fieldType": "text", "groupName": group}),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.text);
        let l = app
            .post(
                admin,
                "/crm/v4/associations/contacts/companies/labels",
                json!({"label": "SecretAssocLabel", "name": format!("secret_{n}")}),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.text);
        let label = l.body["results"][0]["typeId"].as_i64().expect("typeId");
        let a = app
            .call(
                Method::PUT,
                Some(admin),
                &format!("/crm/v4/objects/contacts/{id}/associations/companies/{cid}"),
                Some(json!([{"associationCategory": "USER_DEFINED", "associationTypeId": label}])),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.text);
        Self {
            id,
            cid,
            email,
            prop,
            group,
            label,
            n,
        }
    }

    fn fill(&self, template: &str) -> String {
        template
            .replace("{id}", &self.id)
            .replace("{cid}", &self.cid)
            .replace("{email}", &self.email)
            .replace("{prop}", &self.prop)
            .replace("{group}", &self.group)
            .replace("{label}", &self.label.to_string())
            .replace("{n}", &self.n.to_string())
    }

    /// What of the row's portal's data changed (empty when nothing did).
    async fn changes(&self, app: &TestApp, admin: &str) -> Vec<String> {
        let mut out = Vec::new();
        let c = app
            .get(
                admin,
                &format!(
                    "/crm/v3/objects/contacts/{}?properties=firstname,lastname",
                    self.id
                ),
            )
            .await;
        if c.status != 200
            || c.body["properties"]["firstname"] != "SecretFirstName"
            || !c.body["properties"]["lastname"].is_null()
        {
            out.push(format!("contact: {} {}", c.status, c.text));
        }
        let p = app
            .get(admin, &format!("/crm/v3/properties/contacts/{}", self.prop))
            .await;
        if p.status != 200 || p.body["label"] != "SecretPropLabel" {
            out.push(format!("property: {} {}", p.status, p.text));
        }
        let g = app
            .get(
                admin,
                &format!("/crm/v3/properties/contacts/groups/{}", self.group),
            )
            .await;
        if g.status != 200 || g.body["label"] != "SecretGroupLabel" {
            out.push(format!("group: {} {}", g.status, g.text));
        }
        let a = app
            .get(
                admin,
                &format!(
                    "/crm/v4/objects/contacts/{}/associations/companies",
                    self.id
                ),
            )
            .await;
        let types = a.body["results"][0]["associationTypes"].to_string();
        if a.status != 200
            || a.body["results"][0]["toObjectId"]
                .as_i64()
                .map(|v| v.to_string())
                .as_deref()
                != Some(self.cid.as_str())
            || !types.contains("SecretAssocLabel")
        {
            out.push(format!("association: {} {}", a.status, a.text));
        }
        out
    }
}

async fn call(app: &TestApp, row: &Row, fx: &Fixture, token: Option<&str>) -> Answer {
    let mut req = app.http.request(
        row.method.clone(),
        format!("{}{}", app.base, fx.fill(&row.path)),
    );
    if let Some(t) = token {
        req = req.bearer_auth(t);
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

/// Runs one of the shared assertions, turning its panic into a violation.
fn check(violations: &mut Vec<String>, what: &str, f: impl FnOnce()) {
    if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        violations.push(format!("{what}: {msg}"));
    }
}

/// What is wrong with another portal's answer.
fn other_portal_problems(row: &Row, ans: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    let status = ans.status.as_u16();
    match row.other {
        Other::Is(s) if status != s => out.push(format!("status {status}, expected {s}")),
        Other::OneOf(s) if !s.contains(&status) => {
            out.push(format!("status {status}, expected one of {s:?}"))
        }
        Other::Missing207 => {
            let results = ans.body["results"].as_array().map_or(0, Vec::len);
            if status != 207
                || results != 0
                || ans.body["errors"][0]["category"] != "OBJECT_NOT_FOUND"
            {
                out.push("expected 207 with OBJECT_NOT_FOUND and no results".to_owned());
            }
        }
        _ => {}
    }
    if status == 403 {
        out.push("403 reveals the thing exists".to_owned());
    }
    if let Some(s) = SECRETS.iter().find(|s| ans.text.contains(**s)) {
        out.push(format!("leaks {s}"));
    }
    if ans.status.is_client_error() {
        let header = ans
            .headers
            .get("x-hubspot-correlation-id")
            .and_then(|v| v.to_str().ok());
        if ans.body["status"] != "error" || ans.body["correlationId"].as_str() != header {
            out.push("error not in HubSpot's envelope".to_owned());
        }
    }
    if !out.is_empty() {
        out.push(format!("body: {}", ans.text));
    }
    out
}

#[tokio::test]
async fn tenant_isolation_every_endpoint() {
    let app = TestApp::spawn().await;
    let mut violations = Vec::new();
    let rows = rows();
    for (n, row) in rows.iter().enumerate() {
        let what = format!("{} {}", row.method, row.path);
        // Two fresh portals per row: rows do not see each other's writes or share the label
        // limit, and the other portal owns nothing that could answer in the row's place
        // (label type ids, say, are numbered per portal).
        let portal = 100 + 2 * n as i64;
        let admin = app.token(portal, &["all"]).await;
        let other = app.token(portal + 1, &["all"]).await;
        let fx = Fixture::make(&app, &admin, n).await;
        let right = app.token(portal, row.grant).await;
        let wrong = app.token(portal, row.deny).await;

        let ans = call(&app, row, &fx, None).await;
        check(&mut violations, &format!("{what} without a token"), || {
            assert_401(&ans, &what)
        });
        let ans = call(&app, row, &fx, Some(&wrong)).await;
        check(
            &mut violations,
            &format!("{what} with {:?} (missing {})", row.deny, row.named),
            || assert_403(&ans, row.named, &what),
        );
        for change in fx.changes(&app, &admin).await {
            violations.push(format!("{what}: 401/403 calls changed {change}"));
        }

        let ans = call(&app, row, &fx, Some(&other)).await;
        for p in other_portal_problems(row, &ans) {
            violations.push(format!("{what} by another portal: {p}"));
        }
        for change in fx.changes(&app, &admin).await {
            violations.push(format!("{what}: another portal changed {change}"));
        }

        let ans = call(&app, row, &fx, Some(&right)).await;
        if ans.status.as_u16() != row.ok {
            violations.push(format!(
                "{what} with {:?}: {} (expected {}): {}",
                row.grant, ans.status, row.ok, ans.text
            ));
        }
    }
    println!(
        "isolation: {} endpoints × 4 callers, {} violations",
        rows.len(),
        violations.len()
    );
    assert!(
        violations.is_empty(),
        "{} violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}
