//! `spoke copy` end to end: a SQLite database built through the real API (properties,
//! groups, records, updates, upserts, archives, imports, labels, associations, tokens) is
//! copied to PostgreSQL (and to another SQLite file), twice; a server on the copy then
//! answers every probe exactly as the original did, and new records get new ids.
//!
//! The PostgreSQL test needs `SPOKE_TEST_POSTGRES_URL`; without it, it says it is skipped.

mod common;

use std::collections::BTreeMap;

use common::{spoke, spoke_ok, token_create, Api, PgSchema, Reply, Server};
use serde_json::{json, Value};

const PORTAL: i64 = 4242;
const OTHER_PORTAL: i64 = 5151;

struct Tokens {
    all: String,
    read_only: String,
    revoked: String,
    other_portal: String,
}

/// One probe: a request and who sends it.
struct Probe {
    who: &'static str,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
}

fn get(who: &'static str, path: impl Into<String>) -> Probe {
    Probe {
        who,
        method: reqwest::Method::GET,
        path: path.into(),
        body: None,
    }
}

fn post(who: &'static str, path: impl Into<String>, body: Value) -> Probe {
    Probe {
        who,
        method: reqwest::Method::POST,
        path: path.into(),
        body: Some(body),
    }
}

fn ids_of(body: &Value) -> Vec<i64> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            r["id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .expect("a string id")
        })
        .collect()
}

/// Builds the database through `spoke` commands and a server on `db`; returns the tokens,
/// every record id, and the probes that must answer the same on any copy.
async fn build(dir: &std::path::Path, db: &str) -> (Tokens, Vec<i64>, Vec<Probe>) {
    let args = ["--database", db];
    let all = token_create(&args, PORTAL);
    let read_only = spoke_ok(&[
        "token",
        "create",
        "--database",
        db,
        "--portal",
        &PORTAL.to_string(),
        "--scopes",
        "crm.objects.contacts.read",
    ])
    .trim()
    .to_owned();
    let revoked = token_create(&args, PORTAL);
    let other_portal = token_create(&args, OTHER_PORTAL);
    let listing = spoke_ok(&["token", "list", "--database", db]);
    let revoked_id = listing
        .lines()
        .nth(3)
        .and_then(|l| l.split_whitespace().next())
        .expect("the third token is listed")
        .to_owned();
    spoke_ok(&["token", "revoke", "--database", db, &revoked_id]);
    let services = dir.join("services.jsonl");
    std::fs::write(
        &services,
        "{\"properties\":{\"hs_name\":\"Onboarding\"}}\n{\"properties\":{\"hs_name\":\"Audit\"}}\n",
    )
    .expect("write");
    spoke_ok(&[
        "import",
        "--database",
        db,
        "--portal",
        &PORTAL.to_string(),
        "--object-type",
        "partner_services",
        services.to_str().expect("path"),
    ]);

    let server = Server::start(&args).await;
    let api = server.api(&all);
    api.post_ok(
        "/crm/v3/properties/contacts/groups",
        json!({"name": "copy_group", "label": "Copy", "displayOrder": 2}),
        201,
    )
    .await;
    for p in [
        json!({"name": "member_id", "label": "Member", "type": "string", "fieldType": "text",
               "groupName": "copy_group", "hasUniqueValue": true}),
        json!({"name": "score", "label": "Score", "type": "number", "fieldType": "number",
               "groupName": "contactinformation"}),
        json!({"name": "old_prop", "label": "Old", "type": "string", "fieldType": "text",
               "groupName": "contactinformation"}),
    ] {
        api.post_ok("/crm/v3/properties/contacts", p, 201).await;
    }
    let r = api.delete("/crm/v3/properties/contacts/old_prop").await;
    assert_eq!(r.status, 204, "{}", r.body);

    let inputs: Vec<Value> = (0..40)
        .map(|i| {
            json!({"properties": {"email": format!("c{i}@example.com"),
                   "firstname": format!("First{i}"), "member_id": format!("M-{i}"),
                   "score": i.to_string()}})
        })
        .collect();
    let contacts = ids_of(
        &api.post_ok(
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": inputs }),
            201,
        )
        .await,
    );
    let mut contacts = {
        let mut c = contacts;
        c.sort_unstable();
        c
    };
    let inputs: Vec<Value> = (0..5)
        .map(|i| json!({"properties": {"name": format!("Co{i}"), "domain": format!("co{i}.io")}}))
        .collect();
    let mut companies = ids_of(
        &api.post_ok(
            "/crm/v3/objects/companies/batch/create",
            json!({ "inputs": inputs }),
            201,
        )
        .await,
    );
    companies.sort_unstable();

    // Updates, a PATCH, upserts (one update, one create), archives.
    let inputs: Vec<Value> = contacts[..10]
        .iter()
        .map(|id| json!({"id": id.to_string(), "properties": {"firstname": format!("New{id}"), "score": "99"}}))
        .collect();
    api.post_ok(
        "/crm/v3/objects/contacts/batch/update",
        json!({ "inputs": inputs }),
        200,
    )
    .await;
    let r = api
        .patch(
            &format!("/crm/v3/objects/contacts/{}", contacts[11]),
            json!({"properties": {"lastname": "Patched", "firstname": ""}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let upserted = api
        .post_ok(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "c12@example.com", "idProperty": "email", "properties": {"lastname": "Up"}},
                {"id": "c100@example.com", "idProperty": "email", "properties": {"member_id": "M-100"}}
            ]}),
            200,
        )
        .await;
    for id in ids_of(&upserted) {
        if !contacts.contains(&id) {
            contacts.push(id);
        }
    }
    let r = api
        .delete(&format!("/crm/v3/objects/contacts/{}", contacts[39]))
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": contacts[38].to_string()}]}),
        )
        .await;
    assert_eq!(r.status, 204);

    // A label and associations of every kind; one removed again.
    let label = api
        .post_ok(
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "Referrer", "name": "referrer", "inverseLabel": "Referred by"}),
            200,
        )
        .await;
    let fwd = label["results"]
        .as_array()
        .and_then(|r| r.iter().find(|l| l["label"] == "Referrer"))
        .and_then(|l| l["typeId"].as_i64())
        .expect("the label's type id");
    for c in &contacts[..20] {
        let r = api
            .call(
                reqwest::Method::PUT,
                &format!(
                    "/crm/v4/objects/contacts/{c}/associations/default/companies/{}",
                    companies[0]
                ),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for c in &contacts[..6] {
        let r = api
            .put(
                &format!(
                    "/crm/v4/objects/contacts/{c}/associations/companies/{}",
                    companies[1]
                ),
                json!([{"associationCategory": "USER_DEFINED", "associationTypeId": fwd},
                       {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let inputs: Vec<Value> = contacts[20..30]
        .iter()
        .map(|c| json!({"from": {"id": c.to_string()}, "to": {"id": companies[2].to_string()},
                        "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}))
        .collect();
    api.post_ok(
        "/crm/v4/associations/contacts/companies/batch/create",
        json!({ "inputs": inputs }),
        201,
    )
    .await;
    let r = api
        .delete(&format!(
            "/crm/v4/objects/contacts/{}/associations/companies/{}",
            contacts[1], companies[0]
        ))
        .await;
    assert_eq!(r.status, 204);

    // Notes (an engagement type) with their contacts, one archived.
    let inputs: Vec<Value> = contacts[..5]
        .iter()
        .enumerate()
        .map(|(i, c)| json!({
            "properties": {"hs_timestamp": "2024-01-15T10:00:00.123Z", "hs_note_body": format!("note {i}")},
            "associations": [{"to": {"id": c.to_string()},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]}))
        .collect();
    let notes = ids_of(
        &api.post_ok(
            "/crm/v3/objects/notes/batch/create",
            json!({ "inputs": inputs }),
            201,
        )
        .await,
    );
    let r = api
        .delete(&format!("/crm/v3/objects/notes/{}", notes[4]))
        .await;
    assert_eq!(r.status, 204);

    // A custom object type (issue 12): its schema, its property definitions and its
    // records, one archived.
    let schema = api
        .post_ok(
            "/crm-object-schemas/v3/schemas",
            json!({"name": "cars", "labels": {"singular": "Car", "plural": "Cars"},
                   "primaryDisplayProperty": "model", "requiredProperties": ["model"],
                   "searchableProperties": ["model"],
                   "properties": [{"name": "model", "label": "Model"},
                                  {"name": "vin", "label": "VIN", "hasUniqueValue": true}],
                   "associatedObjects": ["CONTACT"]}),
            201,
        )
        .await;
    let car_type = schema["objectTypeId"].as_str().expect("type id").to_owned();
    let inputs: Vec<Value> = (0..5)
        .map(|i| json!({"properties": {"model": format!("Model {i}"), "vin": format!("VIN-{i}")}}))
        .collect();
    let cars = ids_of(
        &api.post_ok(
            &format!("/crm/v3/objects/{car_type}/batch/create"),
            json!({ "inputs": inputs }),
            201,
        )
        .await,
    );
    let r = api
        .delete(&format!("/crm/v3/objects/p_cars/{}", cars[1]))
        .await;
    assert_eq!(r.status, 204);

    // Another portal with the same emails.
    let other = server.api(&other_portal);
    let inputs: Vec<Value> = (0..3)
        .map(|i| json!({"properties": {"email": format!("c{i}@example.com")}}))
        .collect();
    let other_ids = ids_of(
        &other
            .post_ok(
                "/crm/v3/objects/contacts/batch/create",
                json!({ "inputs": inputs }),
                201,
            )
            .await,
    );
    server.stop();

    let history = "propertiesWithHistory=firstname,lastname,email,score,member_id";
    let mut probes = vec![
        get("all", "/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname,member_id,score"),
        get("all", format!("/crm/v3/objects/contacts?limit=20&properties=email&{history}")),
        get("all", "/crm/v3/objects/contacts?archived=true&properties=email,member_id"),
        get("all", "/crm/v3/objects/companies?limit=100&associations=contacts"),
        get("all", "/crm/v3/objects/partner_services?properties=hs_name&propertiesWithHistory=hs_name"),
        get("all", "/crm/v3/properties/contacts"),
        get("all", "/crm/v3/properties/contacts?archived=true"),
        get("all", "/crm/v3/properties/contacts/groups"),
        get("all", "/crm/v4/associations/contacts/companies/labels"),
        get("all", "/crm/v4/associations/companies/contacts/labels"),
        post("all", "/crm/v3/objects/contacts/batch/read", json!({
            "idProperty": "email", "properties": ["firstname", "member_id"],
            "inputs": (0..41).map(|i| json!({"id": format!("c{i}@example.com")}))
                .chain([json!({"id": "c100@example.com"})]).collect::<Vec<_>>()})),
        post("all", "/crm/v3/objects/contacts/batch/read", json!({
            "idProperty": "member_id", "properties": ["email"],
            "inputs": (0..41).map(|i| json!({"id": format!("M-{i}")})).collect::<Vec<_>>()})),
        post("all", "/crm/v4/associations/contacts/companies/batch/read", json!({
            "inputs": contacts.iter().map(|c| json!({"id": c.to_string()})).collect::<Vec<_>>()})),
        post("all", "/crm/v3/objects/contacts/search", json!({
            "filterGroups": [{"filters": [{"propertyName": "score", "operator": "GTE", "value": "5"}]}],
            "sorts": [{"propertyName": "score", "direction": "DESCENDING"}],
            "properties": ["email", "score"], "limit": 100})),
        get("read_only", "/crm/v3/objects/contacts?limit=5"),
        post("read_only", "/crm/v3/objects/contacts/batch/create",
             json!({"inputs": [{"properties": {"email": "x@example.com"}}]})),
        get("revoked", "/crm/v3/objects/contacts?limit=5"),
        get("other_portal", "/crm/v3/objects/contacts?properties=email"),
        get("all", "/crm/v3/objects/notes?properties=hs_timestamp,hs_note_body&associations=contacts"),
        get("all", "/crm/v3/objects/notes?archived=true&properties=hs_note_body"),
        post("all", "/crm/v4/associations/contacts/notes/batch/read", json!({
            "inputs": contacts[..5].iter().map(|c| json!({"id": c.to_string()})).collect::<Vec<_>>()})),
        post("all", "/crm/v3/objects/notes/search", json!({"query": "note", "properties": ["hs_note_body"]})),
        // The seeded directory: owners, users, teams, roles.
        get("all", "/crm/v3/owners/"),
        get("all", "/settings/v3/users/"),
        get("all", "/settings/v3/users/teams"),
        get("all", "/settings/v3/users/roles"),
        get("all", "/crm-object-schemas/v3/schemas"),
        get("all", format!("/crm/v3/objects/{car_type}?properties=model,vin&archived=false")),
        get("all", "/crm/v3/objects/p_cars?archived=true&properties=model"),
        get("all", "/crm/v3/properties/p_cars"),
        post("all", "/crm/v3/objects/p_cars/search", json!({"query": "model", "properties": ["model"]})),
        post("all", "/crm/v3/objects/p_cars/batch/read", json!({
            "idProperty": "vin", "properties": ["model"],
            "inputs": (0..5).map(|i| json!({"id": format!("VIN-{i}")})).collect::<Vec<_>>()})),
    ];
    for c in &contacts {
        probes.push(get(
            "all",
            format!("/crm/v3/objects/contacts/{c}?{history}&associations=companies"),
        ));
        probes.push(get(
            "all",
            format!("/crm/v3/objects/contacts/{c}?archived=true&{history}"),
        ));
    }
    for co in &companies {
        probes.push(get(
            "all",
            format!("/crm/v4/objects/companies/{co}/associations/contacts?limit=7"),
        ));
        probes.push(get(
            "all",
            format!("/crm/v4/objects/companies/{co}/associations/contacts"),
        ));
    }
    let mut ids = contacts;
    ids.extend(companies);
    ids.extend(other_ids);
    ids.extend(notes);
    ids.extend(cars);
    (
        Tokens {
            all,
            read_only,
            revoked,
            other_portal,
        },
        ids,
        probes,
    )
}

/// Drops what differs per request (correlation ids, a batch's `startedAt`/`completedAt`)
/// and the server's address (in paging links).
fn normalize(v: &Value, base: &str) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "correlationId" | "startedAt" | "completedAt")
                })
                .map(|(k, v)| (k.clone(), normalize(v, base)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|v| normalize(v, base)).collect()),
        Value::String(s) => Value::String(s.replace(base, "{base}")),
        other => other.clone(),
    }
}

/// Every probe's answer, also following `paging.next.after` of list pages.
async fn snapshot(server: &Server, tokens: &Tokens, probes: &[Probe]) -> Vec<(String, u16, Value)> {
    let apis: BTreeMap<&str, Api> = [
        ("all", &tokens.all),
        ("read_only", &tokens.read_only),
        ("revoked", &tokens.revoked),
        ("other_portal", &tokens.other_portal),
    ]
    .into_iter()
    .map(|(who, t)| (who, server.api(t)))
    .collect();
    let mut out = Vec::new();
    for p in probes {
        let api = &apis[p.who];
        let mut path = p.path.clone();
        loop {
            let r: Reply = api.call(p.method.clone(), &path, p.body.as_ref()).await;
            let after = r.body["paging"]["next"]["after"]
                .as_str()
                .map(str::to_owned);
            out.push((
                format!("{} {} {path}", p.who, p.method),
                r.status,
                normalize(&r.body, &server.base),
            ));
            match after {
                Some(after) if p.method == reqwest::Method::GET => {
                    let stem = p.path.split("&after=").next().unwrap_or(&p.path);
                    let sep = if stem.contains('?') { '&' } else { '?' };
                    path = format!("{stem}{sep}after={after}");
                }
                _ => break,
            }
        }
    }
    out
}

/// `spoke copy`'s verification table: table -> (source, destination).
fn counts(stdout: &str) -> BTreeMap<String, (u64, u64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                [t, s, d, ..] => Some(((*t).to_owned(), (s.parse().ok()?, d.parse().ok()?))),
                _ => None,
            }
        })
        .collect()
}

async fn copy_and_compare(dest: &[&str], dest_extra: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = format!("sqlite://{}", dir.path().join("source.db").display());
    let (tokens, ids, probes) = build(dir.path(), &source).await;

    let server = Server::start(&["--database", &source]).await;
    let before = snapshot(&server, &tokens, &probes).await;
    server.stop();
    // The probes see what was built: history, imports, labels, paging, each error kind.
    assert!(before.len() > 100, "probes: {}", before.len());
    let all_text: String = before.iter().map(|(_, _, b)| b.to_string()).collect();
    for needle in [
        "\"propertiesWithHistory\"",
        "\"sourceType\":\"IMPORT\"",
        "\"label\":\"Referred by\"",
        "\"after\"",
        "\"member_id\":\"M-100\"",
        "MISSING_SCOPES",
        "INVALID_AUTHENTICATION",
        "OBJECT_NOT_FOUND",
        "\"vin\":\"VIN-0\"",
        "\"fullyQualifiedName\":\"p",
    ] {
        assert!(
            all_text.contains(needle),
            "no probe answer contains {needle}"
        );
    }
    let ok = before.iter().filter(|(_, s, _)| *s == 200).count();
    assert!(ok > 60, "{ok} probes answered 200");

    let mut args = vec!["copy", "--from", &source, "--to", dest[1]];
    args.extend_from_slice(dest_extra);
    let first = spoke_ok(&args);
    let table = counts(&first);
    assert_eq!(
        table.len(),
        spoke_store::Table::ALL.len(),
        "a row per table: {first}"
    );
    for (t, (s, d)) in &table {
        assert_eq!(s, d, "{t}: {first}");
    }
    assert_eq!(table["objects"].0, ids.len() as u64 + 2, "{first}");
    assert_eq!(table["tokens"].0, 4, "{first}");
    assert_eq!(table["portals"].0, 2, "{first}");
    // Each portal's seeded directory: its owner user, two teams, two roles.
    assert_eq!(table["directory_users"].0, 2, "{first}");
    assert_eq!(table["directory_teams"].0, 4, "{first}");
    assert!(table["property_history"].0 > ids.len() as u64, "{first}");
    assert!(
        table["associations"].0 > 0 && table["association_labels"].0 == 2,
        "{first}"
    );
    // Each portal's default deal and ticket pipelines (7 + 4 stages).
    assert_eq!(table["pipelines"].0, 4, "{first}");
    assert_eq!(table["pipeline_stages"].0, 22, "{first}");

    // Again: nothing changes, the same counts.
    let second = spoke_ok(&args);
    assert_eq!(counts(&second), table, "{second}");
    assert!(second.contains(" 0 written"), "{second}");

    // A server on the copy answers exactly as the original did.
    let mut serve = dest.to_vec();
    serve.extend_from_slice(dest_extra);
    let server = Server::start(&serve).await;
    let after = snapshot(&server, &tokens, &probes).await;
    assert_eq!(after.len(), before.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(a, b, "answers differ after the copy");
    }

    // New records and tokens get ids past the copied ones.
    let api = server.api(&tokens.all);
    let made = api
        .post_ok(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "fresh@example.com"}}),
            201,
        )
        .await;
    let fresh: i64 = made["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let max = ids.iter().copied().max().unwrap_or(0);
    assert!(
        fresh > max,
        "new id {fresh} must be past the copied ones (≤ {max})"
    );
    let mut token_args = vec!["token", "create"];
    token_args.extend_from_slice(&serve);
    token_args.extend_from_slice(&["--portal", "4242", "--scopes", "all"]);
    let new_token = spoke_ok(&token_args).trim().to_owned();
    let r = server
        .api(&new_token)
        .get("/crm/v3/objects/contacts?limit=1")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut list_args = vec!["token", "list"];
    list_args.extend_from_slice(&serve);
    let listing = spoke_ok(&list_args);
    assert_eq!(
        listing.lines().count(),
        6,
        "four copied tokens and one new: {listing}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_copied_to_postgres_answers_exactly_as_before() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    copy_and_compare(
        &["--database", &schema.url],
        &["--pg-schema", &schema.schema],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_copied_to_sqlite_answers_exactly_as_before() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = format!("sqlite://{}", dir.path().join("copy.db").display());
    copy_and_compare(&["--database", &dest], &[]).await;
}

#[test]
fn copy_refuses_to_copy_a_database_onto_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("same.db").display());
    token_create(&["--database", &db], 1);
    let out = spoke(&["copy", "--from", &db, "--to", &db]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("same database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn copy_fails_on_a_count_mismatch() {
    // A destination holding other data: the copy goes through, the verification fails.
    let dir = tempfile::tempdir().expect("tempdir");
    let source = format!("sqlite://{}", dir.path().join("a.db").display());
    let dest = format!("sqlite://{}", dir.path().join("b.db").display());
    token_create(&["--database", &source], 1);
    token_create(&["--database", &dest], 2);
    token_create(&["--database", &dest], 2);
    let out = spoke(&["copy", "--from", &source, "--to", &dest]);
    assert!(!out.status.success(), "a mismatch must fail the command");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let table = counts(&stdout);
    assert_eq!(table["portals"], (1, 2), "{stdout}");
    assert!(stdout.contains("MISMATCH"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("row counts differ"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SQLite database written by an older spoke, which stored U+0000: one contact holds it
/// in a value (so in its history too) and in its email (so in the unique-value index).
/// Returns the source URL and the record's id.
async fn source_with_nul(dir: &std::path::Path) -> (String, i64) {
    use spoke_store::{NewObject, ObjectStore, TokenStore, WriteContext, WriteSource};
    let url = format!("sqlite://{}", dir.join("old.db").display());
    let store = spoke_store_sqlite::SqliteStore::open(&url).expect("open the source");
    let portal = spoke_core::PortalId(PORTAL);
    store.ensure_portal(portal, 1).await.expect("portal");
    let ctx = WriteContext {
        portal,
        object_type: "0-1".to_owned(),
        now: 1_700_000_000_000,
        source: WriteSource {
            source_type: "API".to_owned(),
            source_id: None,
        },
        unique_properties: vec!["email".to_owned()],
        atomic: true,
    };
    let object = |pairs: &[(&str, &str)]| NewObject {
        properties: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        associations: Vec::new(),
    };
    let out = store
        .create_objects(
            &ctx,
            vec![
                object(&[("firstname", "a\u{0}b"), ("email", "nul\u{0}@x.test")]),
                object(&[("firstname", "clean")]),
            ],
        )
        .await
        .expect("create");
    let id = out[0].as_ref().expect("created").id;
    (url, id)
}

async fn copy_of_nul_text(dest: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (source, id) = source_with_nul(dir.path()).await;
    let mut args = vec!["copy", "--from", &source, "--to", dest[1]];
    args.extend(&dest[2..]);

    // By default the copy stops, naming every table, row and column that holds it.
    let out = spoke(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    for expected in [
        format!("objects row ({id}) column properties.firstname"),
        format!("objects row ({id}) column properties.email"),
        format!("property_history row ({id}, \"firstname\", 1) column value"),
        format!("unique_values row ({PORTAL}, \"0-1\", \"email\", \"nul\\0@x.test\") column value"),
        "U+0000".to_owned(),
        "--strip-nul".to_owned(),
    ] {
        assert!(err.contains(&expected), "{expected:?} in: {err}");
    }

    // With --strip-nul the values are copied without it, each one listed.
    args.push("--strip-nul");
    let out = spoke(&args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("removed U+0000 from").count(), 5, "{err}");
    let token = token_create(dest, PORTAL);
    let server = Server::start(dest).await;
    let reply = server
        .api(&token)
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=firstname,email"
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["properties"]["firstname"], "ab");
    assert_eq!(reply.body["properties"]["email"], "nul@x.test");
    let by_email = server
        .api(&token)
        .get("/crm/v3/objects/contacts/nul@x.test?idProperty=email")
        .await;
    assert_eq!(by_email.status, 200, "{}", by_email.body);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_of_nul_text_to_postgres_stops_or_strips() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    copy_of_nul_text(&schema.args()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn copy_of_nul_text_to_sqlite_stops_or_strips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = format!("sqlite://{}", dir.path().join("copy.db").display());
    copy_of_nul_text(&["--database", &dest]).await;
}
