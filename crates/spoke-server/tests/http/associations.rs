//! Associations v4 (hubspot-behavior.md §3, §0 for number vs string ids): batch
//! read/create/associate-default/archive/labels-archive, the per-record endpoints, labels,
//! `associations` on objects create, scopes, and paging through 10,000 associations while
//! other associations change.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use spoke_core::PortalId;
use spoke_store::{AssociationWrite, LinkType};

use crate::harness::{Answer, TestApp};
use crate::support::*;

const INVALID: &str = "One or more associations are invalid";
const HS: &str = "HUBSPOT_DEFINED";
const USER: &str = "USER_DEFINED";
const READ_LIMIT_MESSAGE: &str = "The maximum number of inputs supported in a batch is 1000. Please reduce the number of items and try again";

static SEQ: AtomicUsize = AtomicUsize::new(0);

fn seq() -> usize {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// (category, typeId, label) of one association type, as read back.
type Ty = (String, i64, Option<String>);

fn hs(id: i64) -> Ty {
    (HS.into(), id, None)
}

fn hs_label(id: i64, label: &str) -> Ty {
    (HS.into(), id, Some(label.into()))
}

fn user(id: i64, label: &str) -> Ty {
    (USER.into(), id, Some(label.into()))
}

fn spec(category: &str, id: i64) -> Value {
    json!({"associationCategory": category, "associationTypeId": id})
}

async fn setup() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    (app, t)
}

fn props_for(ty: &str) -> Value {
    let n = seq();
    match ty {
        "contacts" => json!({"email": format!("assoc{n}@example.com")}),
        "companies" => json!({"name": format!("Company {n}")}),
        "deals" => json!({"dealname": format!("Deal {n}")}),
        "tickets" => json!({"subject": format!("Ticket {n}")}),
        other => panic!("no fixture for {other}"),
    }
}

/// Creates `n` records through the objects batch API; returns their ids ascending.
async fn make(app: &TestApp, t: &str, ty: &str, n: usize) -> Vec<i64> {
    let inputs: Vec<Value> = (0..n)
        .map(|_| json!({"properties": props_for(ty)}))
        .collect();
    let ans = app
        .post(
            t,
            &format!("/crm/v3/objects/{ty}/batch/create"),
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let mut ids: Vec<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("numeric id"))
        .collect();
    ids.sort_unstable();
    ids
}

async fn make_one(app: &TestApp, t: &str, ty: &str) -> i64 {
    make(app, t, ty, 1).await[0]
}

/// Creates `n` companies straight through the store, 1000 per call; ids ascending.
async fn bulk_companies(app: &TestApp, n: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(n);
    let mut done = 0;
    while done < n {
        let count = (n - done).min(1000);
        let records = (done..done + count)
            .map(|i| json!({ "name": format!("Bulk {i}") }))
            .collect();
        let ids = import_records(app, 1, "companies", &[], records).await;
        out.extend(ids.iter().map(|i| i.parse::<i64>().expect("numeric id")));
        done += count;
    }
    out.sort_unstable();
    out
}

/// Links `from` (a type id such as "0-1") to every `to` id with one HUBSPOT_DEFINED type,
/// through the store, 1000 per call.
async fn store_link(
    app: &TestApp,
    from_type: &str,
    from: i64,
    to_type: &str,
    to: &[i64],
    (type_id, inverse): (i64, i64),
) {
    for chunk in to.chunks(1000) {
        let writes = chunk
            .iter()
            .map(|&id| AssociationWrite {
                from_type: from_type.into(),
                from_id: from,
                to_type: to_type.into(),
                to_id: id,
                types: vec![LinkType {
                    category: HS.into(),
                    type_id,
                    inverse_type_id: inverse,
                    exclusive: false,
                    inverse_exclusive: false,
                }],
            })
            .collect();
        let out = app
            .store
            .put_associations(PortalId(1), writes)
            .await
            .expect("put associations");
        assert!(out.iter().all(Result::is_ok), "{out:?}");
    }
}

fn read_path(from: &str, to: &str) -> String {
    format!("/crm/v4/associations/{from}/{to}/batch/read")
}

async fn batch_read(app: &TestApp, t: &str, from: &str, to: &str, inputs: Value) -> Answer {
    app.post(t, &read_path(from, to), json!({ "inputs": inputs }))
        .await
}

async fn put(app: &TestApp, t: &str, path: &str, body: Option<Value>) -> Answer {
    app.call(Method::PUT, Some(t), path, body).await
}

async fn put_default(app: &TestApp, t: &str, from: &str, f: i64, to: &str, id: i64) -> Answer {
    put(
        app,
        t,
        &format!("/crm/v4/objects/{from}/{f}/associations/default/{to}/{id}"),
        None,
    )
    .await
}

async fn put_labelled(
    app: &TestApp,
    t: &str,
    from: &str,
    f: i64,
    to: &str,
    id: i64,
    specs: Value,
) -> Answer {
    put(
        app,
        t,
        &format!("/crm/v4/objects/{from}/{f}/associations/{to}/{id}"),
        Some(specs),
    )
    .await
}

/// Parses one `associationTypes` entry, checking its shape: category, typeId (number),
/// label (string or an explicit null), in that key order.
fn parse_type(v: &Value) -> Ty {
    let o = v.as_object().expect("association type object");
    assert!(
        o.contains_key("label"),
        "label must be present (null when unlabeled): {v}"
    );
    assert!(v["typeId"].is_i64(), "typeId is a number: {v}");
    (
        v["category"].as_str().expect("category").to_owned(),
        v["typeId"].as_i64().expect("typeId"),
        v["label"].as_str().map(str::to_owned),
    )
}

/// `to` entries of a batch/read result or `results` of a GET page: toObjectId → types.
fn parse_targets(list: &Value) -> Vec<(i64, Vec<Ty>)> {
    list.as_array()
        .expect("target list")
        .iter()
        .map(|t| {
            assert!(
                t["toObjectId"].is_i64(),
                "toObjectId must be a JSON number (§0): {t}"
            );
            let mut types: Vec<Ty> = t["associationTypes"]
                .as_array()
                .expect("associationTypes")
                .iter()
                .map(parse_type)
                .collect();
            types.sort();
            (t["toObjectId"].as_i64().expect("id"), types)
        })
        .collect()
}

/// Every target of `from_id` (all GET pages): toObjectId → sorted types.
async fn all_targets(
    app: &TestApp,
    t: &str,
    from: &str,
    from_id: i64,
    to: &str,
) -> BTreeMap<i64, Vec<Ty>> {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/crm/v4/objects/{from}/{from_id}/associations/{to}?limit=500");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let ans = app.get(t, &path).await;
        assert_eq!(ans.status, 200, "GET {path}: {}", ans.text);
        for (id, types) in parse_targets(&ans.body["results"]) {
            assert!(out.insert(id, types).is_none(), "duplicate target {id}");
        }
        match ans.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    out
}

/// The types between one pair as seen from `from` (empty when not associated).
async fn types_between(
    app: &TestApp,
    t: &str,
    from: &str,
    from_id: i64,
    to: &str,
    to_id: i64,
) -> Vec<Ty> {
    all_targets(app, t, from, from_id, to)
        .await
        .remove(&to_id)
        .unwrap_or_default()
}

/// The 400 for an undefined association type (§3.6).
fn assert_invalid_type(ans: &Answer, key: &str) {
    let body = assert_error(ans, 400, Some("VALIDATION_ERROR"), INVALID);
    assert_eq!(
        body["context"]["associationSpec"],
        json!([key]),
        "{}",
        ans.text
    );
    assert_eq!(
        body["context"]["INVALID_ASSOCIATION_TYPE_ID"],
        json!([format!("{key} is not a valid association definition id")]),
        "{}",
        ans.text
    );
}

/// The `context` of "One or more associations are invalid" for a missing target (§3.8):
/// INVALID_OBJECT_IDS exactly, plus newer captures' objectId/objectType when present.
fn assert_invalid_object_context(context: &Value, upper: &str, id: i64, text: &str) {
    assert_eq!(
        context["INVALID_OBJECT_IDS"],
        json!([format!("{upper}={id} is not valid")]),
        "{text}"
    );
    if let Some(v) = context.get("objectId") {
        assert_eq!(v, &json!([id.to_string()]), "{text}");
    }
    if let Some(v) = context.get("objectType") {
        assert_eq!(v, &json!([upper]), "{text}");
    }
}

fn assert_invalid_object(ans: &Answer, upper: &str, id: i64) {
    let body = assert_error(ans, 400, Some("VALIDATION_ERROR"), INVALID);
    assert_invalid_object_context(&body["context"], upper, id, &ans.text);
}

fn assert_missing_scopes(ans: &Answer, required: &[&str]) {
    let body = assert_error(ans, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
    assert_eq!(
        body["errors"][0]["message"], "One or more of the following scopes are required.",
        "{}",
        ans.text
    );
    assert_eq!(
        body["errors"][0]["context"]["requiredGranularScopes"],
        json!(required),
        "{}",
        ans.text
    );
    assert_eq!(
        body["links"]["scopes"], "https://developers.hubspot.com/scopes",
        "{}",
        ans.text
    );
}

/// The NO_ASSOCIATIONS_FOUND error of batch/read for one from-id (§3.2).
fn no_associations(to_singular: &str, from_singular: &str, id: &str) -> Value {
    json!({
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
        "message": format!("No {to_singular} is associated with {from_singular} {id}."),
        "context": {
            "fromObjectId": [id],
            "fromObjectType": [from_singular],
            "toObjectType": [to_singular]
        }
    })
}

fn sorted_errors(errors: &[Value]) -> Vec<Value> {
    let mut out = errors.to_vec();
    out.sort_by_key(|e| e["context"]["fromObjectId"][0].as_str().map(str::to_owned));
    out
}

// ---------- batch/read ----------

#[tokio::test]
async fn batch_read_returns_number_ids_and_every_type_with_labels() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make(&app, &t, "companies", 2).await;
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co[0],
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let ans = put_default(&app, &t, "contacts", c, "companies", co[1]).await;
    assert_eq!(ans.status, 200, "{}", ans.text);

    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{ "id": c.to_string() }]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(results.len(), 1, "{}", ans.text);
    let r = &results[0];
    assert_eq!(
        r["from"],
        json!({"id": c.to_string()}),
        "from.id is a string"
    );
    assert!(
        r.get("paging").is_none(),
        "no paging when nothing remains: {r}"
    );
    assert_eq!(keys_at(&ans.text, "results/0"), ["from", "to"]);
    assert_eq!(
        keys_at(&ans.text, "results/0/to/0"),
        ["toObjectId", "associationTypes"]
    );
    assert_eq!(
        keys_at(&ans.text, "results/0/to/0/associationTypes/0"),
        ["category", "typeId", "label"]
    );
    let targets: BTreeMap<i64, Vec<Ty>> = parse_targets(&r["to"]).into_iter().collect();
    assert_eq!(targets.len(), 2, "{}", ans.text);
    assert_eq!(targets[&co[0]], vec![hs_label(1, "Primary"), hs(279)]);
    assert_eq!(targets[&co[1]], vec![hs(279)]);

    // Numeric ids in the input are accepted too, and the other side sees the inverses.
    let ans = batch_read(
        &app,
        &t,
        "companies",
        "contacts",
        json!([{ "id": co[0] }, { "id": co[1] }]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    let by_from: BTreeMap<String, Vec<(i64, Vec<Ty>)>> = results
        .iter()
        .map(|r| {
            (
                r["from"]["id"].as_str().expect("from id").to_owned(),
                parse_targets(&r["to"]),
            )
        })
        .collect();
    assert_eq!(
        by_from[&co[0].to_string()],
        vec![(c, vec![hs_label(2, "Primary"), hs(280)])]
    );
    assert_eq!(by_from[&co[1].to_string()], vec![(c, vec![hs(280)])]);

    // Singular names and object type ids address the same pair.
    for (from, to) in [("contact", "company"), ("0-1", "0-2")] {
        let ans = batch_read(&app, &t, from, to, json!([{ "id": c.to_string() }])).await;
        let results = assert_batch_ok(&ans, 200);
        assert_eq!(
            parse_targets(&results[0]["to"]).len(),
            2,
            "{from}/{to}: {}",
            ans.text
        );
    }
}

#[tokio::test]
async fn batch_read_gives_each_unassociated_unknown_or_malformed_id_its_own_error() {
    let (app, t) = setup().await;
    let contacts = make(&app, &t, "contacts", 2).await;
    let (c, lonely) = (contacts[0], contacts[1]);
    let co = make_one(&app, &t, "companies").await;
    assert_eq!(
        put_default(&app, &t, "contacts", c, "companies", co)
            .await
            .status,
        200
    );

    let unknown = 987_654_321_i64;
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": c.to_string()}, {"id": lonely.to_string()}, {"id": unknown.to_string()}]),
    )
    .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1, "{}", ans.text);
    assert_eq!(results[0]["from"]["id"], c.to_string());
    assert_eq!(
        sorted_errors(errors),
        sorted_errors(&[
            no_associations("company", "contact", &lonely.to_string()),
            no_associations("company", "contact", &unknown.to_string()),
        ]),
        "{}",
        ans.text
    );
    assert_eq!(
        keys_at(&ans.text, "errors/0"),
        ["status", "category", "subCategory", "message", "context"]
    );

    // The message from the summary: "No company is associated with contact 123."
    let ans = batch_read(&app, &t, "contacts", "companies", json!([{"id": "123"}])).await;
    let (results, errors) = assert_batch_partial(&ans);
    assert!(results.is_empty());
    assert_eq!(errors, &vec![no_associations("company", "contact", "123")]);
    assert_eq!(
        errors[0]["message"],
        "No company is associated with contact 123."
    );

    // Other pairs name their own types (lowercase singular).
    let ans = batch_read(&app, &t, "deals", "tickets", json!([{"id": "5"}])).await;
    let (_, errors) = assert_batch_partial(&ans);
    assert_eq!(errors, &vec![no_associations("ticket", "deal", "5")]);

    // A non-numeric id: VALIDATION_ERROR with subCategory INVALID_IDENTIFIER (§3.2).
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": "abc"}, {"id": c.to_string()}]),
    )
    .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(errors.len(), 1, "{}", ans.text);
    assert_eq!(errors[0]["status"], "error");
    assert_eq!(errors[0]["category"], "VALIDATION_ERROR");
    assert_eq!(
        errors[0]["subCategory"],
        "crm.associations.INVALID_IDENTIFIER"
    );
}

#[tokio::test]
async fn batch_read_accepts_1000_inputs_and_rejects_1001() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make_one(&app, &t, "companies").await;
    assert_eq!(
        put_default(&app, &t, "contacts", c, "companies", co)
            .await
            .status,
        200
    );

    let mut inputs = vec![json!({"id": c.to_string()})];
    inputs.extend((0..999).map(|i| json!({"id": (50_000_000 + i).to_string()})));
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        Value::Array(inputs.clone()),
    )
    .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1);
    assert_eq!(errors.len(), 999, "one error per unassociated id");
    assert_eq!(ans.body["numErrors"], 999);

    inputs.push(json!({"id": "49999999"}));
    let ans = batch_read(&app, &t, "contacts", "companies", Value::Array(inputs)).await;
    assert_error(&ans, 400, Some("VALIDATION_ERROR"), READ_LIMIT_MESSAGE);
}

#[tokio::test]
async fn batch_read_pages_500_targets_per_from_object() {
    let (app, t) = setup().await;
    let contacts = make(&app, &t, "contacts", 3).await;
    let (big, exact, small) = (contacts[0], contacts[1], contacts[2]);
    let co = bulk_companies(&app, 1001).await;
    store_link(&app, "0-1", big, "0-2", &co[..501], (279, 280)).await;
    store_link(&app, "0-1", exact, "0-2", &co[501..], (279, 280)).await;
    store_link(&app, "0-1", small, "0-2", &co[..1], (279, 280)).await;

    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": big.to_string()}, {"id": exact.to_string()}, {"id": small.to_string()}]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    let by_from: BTreeMap<i64, &Value> = results
        .iter()
        .map(|r| {
            (
                r["from"]["id"].as_str().expect("id").parse().expect("num"),
                r,
            )
        })
        .collect();
    assert_eq!(by_from.len(), 3);

    let first = parse_targets(&by_from[&big]["to"]);
    assert_eq!(first.len(), 500, "page size is 500");
    let after = by_from[&big]["paging"]["next"]["after"]
        .as_str()
        .expect("paging.next.after when more remain")
        .to_owned();
    assert!(!after.is_empty());
    assert!(
        by_from[&big]["paging"]["next"]
            .get("link")
            .is_none_or(|l| l.is_string()),
        "link, if present, is a string"
    );

    let exact_page = parse_targets(&by_from[&exact]["to"]);
    assert_eq!(exact_page.len(), 500);
    assert!(
        by_from[&exact].get("paging").is_none(),
        "exactly 500 targets: nothing remains, no paging: {}",
        by_from[&exact]
    );
    assert_eq!(parse_targets(&by_from[&small]["to"]).len(), 1);
    assert!(by_from[&small].get("paging").is_none());

    // Resume `big` with its token; in the same call read `small` from the start.
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": big.to_string(), "after": after}, {"id": small.to_string()}]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    let rest = results
        .iter()
        .find(|r| r["from"]["id"].as_str() == Some(big.to_string().as_str()))
        .expect("big resumed");
    assert!(rest.get("paging").is_none(), "{rest}");
    let second = parse_targets(&rest["to"]);
    assert_eq!(second.len(), 1);
    let mut seen: Vec<i64> = first.iter().chain(&second).map(|(id, _)| *id).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen,
        co[..501].to_vec(),
        "two pages cover every target once"
    );
    let small_again = results
        .iter()
        .find(|r| r["from"]["id"].as_str() == Some(small.to_string().as_str()))
        .expect("small");
    assert_eq!(parse_targets(&small_again["to"]).len(), 1);
}

// ---------- GET /crm/v4/objects/{type}/{id}/associations/{toType} ----------

#[tokio::test]
async fn get_lists_a_record_with_limit_and_after() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make(&app, &t, "companies", 5).await;
    for &id in &co {
        assert_eq!(
            put_default(&app, &t, "contacts", c, "companies", id)
                .await
                .status,
            200
        );
    }

    let base = format!("/crm/v4/objects/contacts/{c}/associations/companies");
    let all = app.get(&t, &base).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_json_content_type(&all);
    assert_eq!(
        keys_at(&all.text, ""),
        ["results"],
        "no paging key on the last page"
    );
    assert_eq!(
        keys_at(&all.text, "results/0"),
        ["toObjectId", "associationTypes"]
    );
    let listed = parse_targets(&all.body["results"]);
    assert_eq!(
        listed.iter().map(|(id, _)| *id).collect::<BTreeSet<_>>(),
        co.iter().copied().collect(),
    );
    assert!(listed.iter().all(|(_, types)| types == &vec![hs(279)]));

    // limit=2: 2 + 2 + 1, the token passed back verbatim.
    let mut seen = Vec::new();
    let mut path = format!("{base}?limit=2");
    let mut pages = 0;
    loop {
        let ans = app.get(&t, &path).await;
        assert_eq!(ans.status, 200, "{}", ans.text);
        pages += 1;
        let page = parse_targets(&ans.body["results"]);
        seen.extend(page.iter().map(|(id, _)| *id));
        match ans.body["paging"]["next"]["after"].as_str() {
            Some(after) => {
                assert_eq!(page.len(), 2);
                assert_eq!(keys_at(&ans.text, ""), ["results", "paging"]);
                path = format!("{base}?limit=2&after={after}");
            }
            None => {
                assert_eq!(page.len(), 1);
                assert!(ans.body.get("paging").is_none(), "{}", ans.text);
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    let whole = app.get(&t, &format!("{base}?limit=5")).await;
    assert_eq!(parse_targets(&whole.body["results"]).len(), 5);
    assert!(
        whole.body.get("paging").is_none(),
        "limit = count: no paging: {}",
        whole.text
    );
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no duplicates: {seen:?}");
    assert_eq!(sorted, co);

    // The token also works percent-encoded once more (what SDKs send for a token that
    // already contains %3D).
    let first = app.get(&t, &format!("{base}?limit=2")).await;
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .expect("after")
        .to_owned();
    assert!(
        after
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '%'),
        "the token is URL-safe as sent: {after}"
    );
    let encoded: String = form_urlencoded::byte_serialize(after.as_bytes()).collect();
    let again = app
        .get(&t, &format!("{base}?limit=2&after={encoded}"))
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let verbatim = app.get(&t, &format!("{base}?limit=2&after={after}")).await;
    assert_eq!(again.body["results"], verbatim.body["results"]);
}

#[tokio::test]
async fn after_resumes_exactly_while_associations_are_added_and_removed() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let x = make(&app, &t, "companies", 8).await;
    for i in [0, 2, 3, 4, 6] {
        assert_eq!(
            put_default(&app, &t, "contacts", c, "companies", x[i])
                .await
                .status,
            200
        );
    }
    let base = format!("/crm/v4/objects/contacts/{c}/associations/companies?limit=2");
    let p1 = app.get(&t, &base).await;
    assert_eq!(
        parse_targets(&p1.body["results"])
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![x[0], x[2]]
    );
    let after1 = p1.body["paging"]["next"]["after"]
        .as_str()
        .expect("after")
        .to_owned();

    // Remove the page's last target (the cursor's anchor) and the next one; add one below
    // and one above the cursor.
    for i in [2, 3] {
        let ans = app
            .delete(
                &t,
                &format!(
                    "/crm/v4/objects/contacts/{c}/associations/companies/{}",
                    x[i]
                ),
            )
            .await;
        assert_eq!(ans.status, 204, "{}", ans.text);
    }
    for i in [1, 5] {
        assert_eq!(
            put_default(&app, &t, "contacts", c, "companies", x[i])
                .await
                .status,
            200
        );
    }
    let p2 = app.get(&t, &format!("{base}&after={after1}")).await;
    assert_eq!(p2.status, 200, "{}", p2.text);
    assert_eq!(
        parse_targets(&p2.body["results"])
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![x[4], x[5]],
        "resumes right after the removed anchor, includes the new target above it"
    );
    let after = p2.body["paging"]["next"]["after"]
        .as_str()
        .expect("after")
        .to_owned();
    let p3 = app.get(&t, &format!("{base}&after={after}")).await;
    assert_eq!(
        parse_targets(&p3.body["results"])
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![x[6]]
    );
    assert!(p3.body.get("paging").is_none(), "{}", p3.text);

    // batch/read resumes from the first GET token the same way: everything after x[2].
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": c.to_string(), "after": after1}]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(
        parse_targets(&results[0]["to"])
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![x[4], x[5], x[6]]
    );
}

// ---------- type ids ----------

#[tokio::test]
async fn hubspot_defined_default_types_and_their_inverses() {
    let (app, t) = setup().await;
    // (from, to, default type id from→to, its inverse)
    let table = [
        ("contacts", "companies", 279, 280),
        ("companies", "contacts", 280, 279),
        ("contacts", "deals", 4, 3),
        ("deals", "contacts", 3, 4),
        ("contacts", "tickets", 15, 16),
        ("tickets", "contacts", 16, 15),
        ("deals", "companies", 341, 342),
        ("companies", "deals", 342, 341),
        ("companies", "tickets", 340, 339),
        ("tickets", "companies", 339, 340),
        ("deals", "tickets", 27, 28),
        ("tickets", "deals", 28, 27),
        ("contacts", "contacts", 449, 449),
        ("companies", "companies", 450, 450),
        ("deals", "deals", 451, 451),
        ("tickets", "tickets", 452, 452),
    ];
    for (from, to, id, inverse) in table {
        let f = make_one(&app, &t, from).await;
        let g = make_one(&app, &t, to).await;
        let ans = put_default(&app, &t, from, f, to, g).await;
        let results = assert_batch_ok(&ans, 200);
        assert_eq!(
            results,
            &vec![
                json!({"from": {"id": f.to_string()}, "to": {"id": g.to_string()},
                       "associationSpec": {"associationCategory": HS, "associationTypeId": id}}),
                json!({"from": {"id": g.to_string()}, "to": {"id": f.to_string()},
                       "associationSpec": {"associationCategory": HS, "associationTypeId": inverse}}),
            ],
            "{from}->{to}"
        );
        assert_eq!(
            types_between(&app, &t, from, f, to, g).await,
            vec![hs(id)],
            "{from}->{to}"
        );
        assert_eq!(
            types_between(&app, &t, to, g, from, f).await,
            vec![hs(inverse)],
            "{to}->{from} (inverse)"
        );
    }

    // The labels endpoint lists HubSpot's types for a pair, Primary included.
    let ans = app
        .get(&t, "/crm/v4/associations/contacts/companies/labels")
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let listed: BTreeSet<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert!(listed.contains(&hs(279)), "{}", ans.text);
    assert!(listed.contains(&hs_label(1, "Primary")), "{}", ans.text);
    let ans = app
        .get(&t, "/crm/associations/v4/companies/contacts/labels")
        .await;
    let listed: BTreeSet<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert!(
        listed.contains(&hs(280)) && listed.contains(&hs_label(2, "Primary")),
        "{}",
        ans.text
    );
    let ans = app
        .get(&t, "/crm/v4/associations/deals/companies/labels")
        .await;
    let listed: BTreeSet<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert!(
        listed.contains(&hs(341)) && listed.contains(&hs_label(5, "Primary")),
        "{}",
        ans.text
    );
}

// ---------- default and labelled create ----------

#[tokio::test]
async fn batch_associate_default_answers_200_with_both_directions_and_is_idempotent() {
    let (app, t) = setup().await;
    let c = make(&app, &t, "contacts", 2).await;
    let tk = make(&app, &t, "tickets", 2).await;
    let body = json!({"inputs": [
        {"from": {"id": c[0].to_string()}, "to": {"id": tk[0].to_string()}},
        {"from": {"id": c[1].to_string()}, "to": {"id": tk[1].to_string()}}
    ]});
    for _ in 0..2 {
        let ans = app
            .post(
                &t,
                "/crm/v4/associations/contacts/tickets/batch/associate/default",
                body.clone(),
            )
            .await;
        let results = assert_batch_ok(&ans, 200);
        assert_eq!(results.len(), 4, "both directions per input: {}", ans.text);
        assert_eq!(
            keys_at(&ans.text, "results/0"),
            ["from", "to", "associationSpec"]
        );
        for (i, &contact) in c.iter().enumerate() {
            let (ci, ti) = (contact.to_string(), tk[i].to_string());
            assert!(
                results.contains(&json!({"from": {"id": ci}, "to": {"id": ti},
                "associationSpec": {"associationCategory": HS, "associationTypeId": 15}})),
                "{}",
                ans.text
            );
            assert!(
                results.contains(&json!({"from": {"id": ti}, "to": {"id": ci},
                "associationSpec": {"associationCategory": HS, "associationTypeId": 16}})),
                "{}",
                ans.text
            );
        }
    }
    for (i, &contact) in c.iter().enumerate() {
        assert_eq!(
            types_between(&app, &t, "contacts", contact, "tickets", tk[i]).await,
            vec![hs(15)]
        );
        assert_eq!(
            types_between(&app, &t, "tickets", tk[i], "contacts", contact).await,
            vec![hs(16)]
        );
    }
    // The PUT variant is idempotent too.
    for _ in 0..2 {
        let ans = put_default(&app, &t, "contacts", c[0], "tickets", tk[0]).await;
        assert_eq!(assert_batch_ok(&ans, 200).len(), 2);
    }
    assert_eq!(
        all_targets(&app, &t, "contacts", c[0], "tickets")
            .await
            .len(),
        1
    );

    // A missing target rejects the PUT (§3.8).
    let ans = put_default(&app, &t, "contacts", c[0], "tickets", 88_888_888).await;
    assert_invalid_object(&ans, "TICKET", 88_888_888);
}

#[tokio::test]
async fn labelled_put_answers_201_with_labels_between_object_pair() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make(&app, &t, "companies", 2).await;

    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co[0],
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_json_content_type(&ans);
    assert_eq!(
        ans.body,
        json!({"fromObjectTypeId": "0-1", "fromObjectId": c, "toObjectTypeId": "0-2",
               "toObjectId": co[0], "labels": ["Primary"]})
    );
    assert!(ans.body["fromObjectId"].is_i64() && ans.body["toObjectId"].is_i64());
    assert_eq!(
        keys_at(&ans.text, ""),
        [
            "fromObjectTypeId",
            "fromObjectId",
            "toObjectTypeId",
            "toObjectId",
            "labels"
        ]
    );

    // Unlabeled type: labels is empty. Repeating is idempotent.
    for _ in 0..2 {
        let ans = put_labelled(
            &app,
            &t,
            "contacts",
            c,
            "companies",
            co[1],
            json!([spec(HS, 279)]),
        )
        .await;
        assert_eq!(ans.status, 201, "{}", ans.text);
        assert_eq!(ans.body["labels"], json!([]), "{}", ans.text);
    }
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co[1]).await,
        vec![hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co[0]).await,
        vec![hs_label(1, "Primary"), hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co[0], "contacts", c).await,
        vec![hs_label(2, "Primary"), hs(280)]
    );

    // Wrong direction's type id, and an unknown label id.
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co[1],
        json!([spec(HS, 280)]),
    )
    .await;
    assert_invalid_type(&ans, "HUBSPOT_DEFINED=280");
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co[1],
        json!([spec(USER, 3)]),
    )
    .await;
    assert_invalid_type(&ans, "USER_DEFINED=3");
    // A missing target.
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        77_777_777,
        json!([spec(HS, 279)]),
    )
    .await;
    assert_invalid_object(&ans, "COMPANY", 77_777_777);
}

#[tokio::test]
async fn new_primary_company_moves_type_1_and_old_company_keeps_279() {
    let (app, t) = setup().await;
    let contacts = make(&app, &t, "contacts", 2).await;
    let c = contacts[0];
    let co = make(&app, &t, "companies", 2).await;
    let (a, b) = (co[0], co[1]);

    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        a,
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        b,
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);

    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", a).await,
        vec![hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", b).await,
        vec![hs_label(1, "Primary"), hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", a, "contacts", c).await,
        vec![hs(280)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", b, "contacts", c).await,
        vec![hs_label(2, "Primary"), hs(280)]
    );

    // A company may be the primary company of many contacts.
    let other = contacts[1];
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        other,
        "companies",
        b,
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let of_b = all_targets(&app, &t, "companies", b, "contacts").await;
    assert_eq!(of_b[&c], vec![hs_label(2, "Primary"), hs(280)]);
    assert_eq!(of_b[&other], vec![hs_label(2, "Primary"), hs(280)]);

    // Through batch/create as well, for deals (5/341).
    let d = make_one(&app, &t, "deals").await;
    for company in [a, b] {
        let ans = app
            .post(
                &t,
                "/crm/v4/associations/deals/companies/batch/create",
                json!({"inputs": [{"from": {"id": d.to_string()}, "to": {"id": company.to_string()},
                                    "types": [spec(HS, 5)]}]}),
            )
            .await;
        assert_eq!(assert_batch_ok(&ans, 201).len(), 1);
    }
    assert_eq!(
        types_between(&app, &t, "deals", d, "companies", a).await,
        vec![hs(341)]
    );
    assert_eq!(
        types_between(&app, &t, "deals", d, "companies", b).await,
        vec![hs_label(5, "Primary"), hs(341)]
    );

    // Set from the company side (25, company→ticket primary): the ticket's primary moves.
    let tk = make_one(&app, &t, "tickets").await;
    let ans = put_labelled(
        &app,
        &t,
        "tickets",
        tk,
        "companies",
        a,
        json!([spec(HS, 26)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let ans = put_labelled(
        &app,
        &t,
        "companies",
        b,
        "tickets",
        tk,
        json!([spec(HS, 25)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let of_ticket = all_targets(&app, &t, "tickets", tk, "companies").await;
    assert_eq!(of_ticket[&a], vec![hs(339)], "{of_ticket:?}");
    assert_eq!(
        of_ticket[&b],
        vec![hs_label(26, "Primary"), hs(339)],
        "{of_ticket:?}"
    );
    assert_eq!(
        types_between(&app, &t, "companies", a, "tickets", tk).await,
        vec![hs(340)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", b, "tickets", tk).await,
        vec![hs_label(25, "Primary"), hs(340)]
    );
}

// ---------- labels ----------

#[tokio::test]
async fn user_defined_labels_create_list_use_rename_and_delete() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make_one(&app, &t, "companies").await;

    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "Referrer", "name": "referrer", "inverseLabel": "Referred by"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_json_content_type(&ans);
    assert_eq!(keys_at(&ans.text, ""), ["results"]);
    let made: Vec<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert_eq!(
        made.len(),
        2,
        "a paired label gets two type ids: {}",
        ans.text
    );
    let fwd = made
        .iter()
        .find(|m| m.2.as_deref() == Some("Referrer"))
        .expect("forward")
        .1;
    let inv = made
        .iter()
        .find(|m| m.2.as_deref() == Some("Referred by"))
        .expect("inverse")
        .1;
    assert_ne!(fwd, inv);
    assert!(made.iter().all(|m| m.0 == USER));

    let list = |from: &'static str, to: &'static str, prefix: &'static str| {
        let app = &app;
        let t = &t;
        async move {
            let ans = app.get(t, &format!("{prefix}/{from}/{to}/labels")).await;
            assert_eq!(ans.status, 200, "{}", ans.text);
            ans.body["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(parse_type)
                .collect::<BTreeSet<Ty>>()
        }
    };
    for prefix in ["/crm/v4/associations", "/crm/associations/v4"] {
        let forward = list("contacts", "companies", prefix).await;
        assert!(forward.contains(&user(fwd, "Referrer")), "{forward:?}");
        assert!(
            !forward.iter().any(|l| l.0 == USER && l.1 == inv),
            "{forward:?}"
        );
        let reverse = list("companies", "contacts", prefix).await;
        assert!(reverse.contains(&user(inv, "Referred by")), "{reverse:?}");
    }

    // Use it; the other side sees the inverse label.
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co,
        json!([spec(USER, fwd), spec(HS, 279)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.body["labels"], json!(["Referrer"]), "{}", ans.text);
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co).await,
        vec![hs(279), user(fwd, "Referrer")]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co, "contacts", c).await,
        vec![hs(280), user(inv, "Referred by")]
    );
    // The inverse id works from the other side and lands on the same link.
    let ans = put_labelled(
        &app,
        &t,
        "companies",
        co,
        "contacts",
        c,
        json!([spec(USER, inv)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.body["labels"], json!(["Referred by"]));
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co).await,
        vec![hs(279), user(fwd, "Referrer")]
    );

    // Rename both directions (PUT → 204).
    let ans = put(
        &app,
        &t,
        "/crm/associations/v4/contacts/companies/labels",
        Some(json!({"associationTypeId": fwd, "label": "Referrer 2", "inverseLabel": "Referred by 2"})),
    )
    .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty());
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co).await,
        vec![hs(279), user(fwd, "Referrer 2")]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co, "contacts", c).await,
        vec![hs(280), user(inv, "Referred by 2")]
    );

    // Missing fields.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "No name"}),
        )
        .await;
    assert_eq!(ans.status, 400, "{}", ans.text);
    assert_eq!(ans.body["category"], "VALIDATION_ERROR");
    assert_wire_error(&ans);

    // Delete (204): gone from the lists and from the association.
    let ans = app
        .delete(
            &t,
            &format!("/crm/v4/associations/contacts/companies/labels/{fwd}"),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty());
    let forward = list("contacts", "companies", "/crm/v4/associations").await;
    assert!(!forward.iter().any(|l| l.0 == USER), "{forward:?}");
    assert!(
        forward.contains(&hs(279)),
        "HubSpot's types stay: {forward:?}"
    );
    let reverse = list("companies", "contacts", "/crm/v4/associations").await;
    assert!(!reverse.iter().any(|l| l.0 == USER), "{reverse:?}");
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co).await,
        vec![hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co, "contacts", c).await,
        vec![hs(280)]
    );
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co,
        json!([spec(USER, fwd)]),
    )
    .await;
    assert_invalid_type(&ans, &format!("USER_DEFINED={fwd}"));
    let ans = app
        .delete(
            &t,
            &format!("/crm/associations/v4/contacts/companies/labels/{fwd}"),
        )
        .await;
    assert!(
        ans.status.is_client_error(),
        "deleting an unknown label: {}",
        ans.text
    );
}

#[tokio::test]
async fn same_type_labels_paired_and_unpaired() {
    let (app, t) = setup().await;
    let c = make(&app, &t, "contacts", 2).await;
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/contacts/labels",
            json!({"label": "Manager", "name": "manager", "inverseLabel": "Employee"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let made: Vec<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert_eq!(made.len(), 2, "paired: two type ids: {}", ans.text);
    let id_of = |label: &str| {
        made.iter()
            .find(|m| m.2.as_deref() == Some(label))
            .map(|m| m.1)
            .expect("label")
    };
    let (manager, employee) = (id_of("Manager"), id_of("Employee"));
    assert_ne!(manager, employee);
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c[0],
        "contacts",
        c[1],
        json!([spec(USER, manager)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(ans.body["labels"], json!(["Manager"]));
    assert_eq!(
        types_between(&app, &t, "contacts", c[0], "contacts", c[1]).await,
        vec![user(manager, "Manager")]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c[1], "contacts", c[0]).await,
        vec![user(employee, "Employee")]
    );

    // Unpaired on the same type: one type id, the same seen from both records.
    let ans = app
        .post(
            &t,
            "/crm/associations/v4/contacts/contacts/labels",
            json!({"label": "Friend", "name": "friend"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let made: Vec<Ty> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(parse_type)
        .collect();
    assert_eq!(made.len(), 1, "{}", ans.text);
    let friend = made[0].1;
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c[1],
        "contacts",
        c[0],
        json!([spec(USER, friend)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(
        types_between(&app, &t, "contacts", c[0], "contacts", c[1]).await,
        vec![user(manager, "Manager"), user(friend, "Friend")]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c[1], "contacts", c[0]).await,
        vec![user(employee, "Employee"), user(friend, "Friend")]
    );
}

/// HubSpot gives portal labels their own definition ids (e.g. 36, 145), never one of its
/// built-in ids: `associationTypeId` alone names a label in PUT/DELETE `.../labels`, and
/// clients key association types by id.
#[tokio::test]
async fn user_label_type_ids_do_not_collide_with_hubspot_defined_ids() {
    let (app, t) = setup().await;
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "Billing contact", "name": "billing", "inverseLabel": "Billed company"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let made: BTreeSet<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["typeId"].as_i64().expect("typeId"))
        .collect();
    let mut builtin = BTreeSet::new();
    for (from, to) in [("contacts", "companies"), ("companies", "contacts")] {
        let ans = app
            .get(&t, &format!("/crm/v4/associations/{from}/{to}/labels"))
            .await;
        for ty in ans.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(parse_type)
        {
            if ty.0 == HS {
                builtin.insert(ty.1);
            }
        }
    }
    assert!(builtin.contains(&1) && builtin.contains(&2) && builtin.contains(&279));
    let clash: Vec<&i64> = made.intersection(&builtin).collect();
    assert!(
        clash.is_empty(),
        "USER_DEFINED label ids {made:?} reuse HUBSPOT_DEFINED ids {clash:?} of the same pair"
    );
}

// ---------- batch create / archive / labels archive / delete ----------

#[tokio::test]
async fn batch_create_is_201_idempotent_and_207_for_a_missing_target() {
    let (app, t) = setup().await;
    let c = make(&app, &t, "contacts", 2).await;
    let co = make(&app, &t, "companies", 3).await;
    let body = json!({"inputs": [
        {"from": {"id": c[0].to_string()}, "to": {"id": co[0].to_string()}, "types": [spec(HS, 279)]},
        {"from": {"id": c[0].to_string()}, "to": {"id": co[1].to_string()}, "types": [spec(HS, 1)]}
    ]});
    for _ in 0..2 {
        let ans = app
            .post(
                &t,
                "/crm/v4/associations/contacts/companies/batch/create",
                body.clone(),
            )
            .await;
        let results = assert_batch_ok(&ans, 201);
        assert_eq!(results.len(), 2);
        assert!(
            results.contains(&json!({"fromObjectTypeId": "0-1", "fromObjectId": c[0],
            "toObjectTypeId": "0-2", "toObjectId": co[0], "labels": []})),
            "{}",
            ans.text
        );
        assert!(
            results.contains(&json!({"fromObjectTypeId": "0-1", "fromObjectId": c[0],
            "toObjectTypeId": "0-2", "toObjectId": co[1], "labels": ["Primary"]})),
            "{}",
            ans.text
        );
    }
    let of_c = all_targets(&app, &t, "contacts", c[0], "companies").await;
    assert_eq!(of_c.len(), 2);
    assert_eq!(of_c[&co[0]], vec![hs(279)]);
    assert_eq!(of_c[&co[1]], vec![hs_label(1, "Primary"), hs(279)]);
    assert_eq!(
        types_between(&app, &t, "companies", co[0], "contacts", c[0]).await,
        vec![hs(280)]
    );

    // One input names a company that does not exist: 207, the other is written.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/create",
            json!({"inputs": [
                {"from": {"id": c[1].to_string()}, "to": {"id": co[2].to_string()}, "types": [spec(HS, 279)]},
                {"from": {"id": c[1].to_string()}, "to": {"id": "99"}, "types": [spec(HS, 279)]}
            ]}),
        )
        .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert_eq!(results.len(), 1, "{}", ans.text);
    assert_eq!(results[0]["toObjectId"], co[2]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["status"], "error");
    assert_eq!(errors[0]["category"], "VALIDATION_ERROR");
    assert_eq!(errors[0]["message"], INVALID);
    assert_invalid_object_context(&errors[0]["context"], "COMPANY", 99, &ans.text);
    assert_eq!(
        types_between(&app, &t, "contacts", c[1], "companies", co[2]).await,
        vec![hs(279)]
    );

    // An undefined type rejects the whole batch; nothing is written.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/create",
            json!({"inputs": [
                {"from": {"id": c[1].to_string()}, "to": {"id": co[0].to_string()}, "types": [spec(HS, 279)]},
                {"from": {"id": c[1].to_string()}, "to": {"id": co[1].to_string()}, "types": [spec(USER, 3)]}
            ]}),
        )
        .await;
    assert_invalid_type(&ans, "USER_DEFINED=3");
    assert_eq!(
        all_targets(&app, &t, "contacts", c[1], "companies")
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![co[2]]
    );
}

#[tokio::test]
async fn batch_archive_removes_every_type_and_labels_archive_only_the_given_ones() {
    let (app, t) = setup().await;
    let c = make(&app, &t, "contacts", 2).await;
    let co = make(&app, &t, "companies", 2).await;
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "Partner", "name": "partner", "inverseLabel": "Partner of"}),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let label = |name: &str| {
        ans.body["results"]
            .as_array()
            .expect("results")
            .iter()
            .find(|r| r["label"] == name)
            .and_then(|r| r["typeId"].as_i64())
            .expect("label id")
    };
    let (fwd, inv) = (label("Partner"), label("Partner of"));
    for &contact in &c {
        for &company in &co {
            let ans = put_labelled(
                &app,
                &t,
                "contacts",
                contact,
                "companies",
                company,
                json!([spec(HS, 279), spec(USER, fwd)]),
            )
            .await;
            assert_eq!(ans.status, 201, "{}", ans.text);
        }
    }
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c[0],
        "companies",
        co[0],
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);

    // labels/archive: Primary and the user label go, 279 stays, on both sides.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/labels/archive",
            json!({"inputs": [{"from": {"id": c[0].to_string()}, "to": {"id": co[0].to_string()},
                               "types": [spec(HS, 1), spec(USER, fwd)]}]}),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty(), "204 has no body: {}", ans.text);
    assert_eq!(
        types_between(&app, &t, "contacts", c[0], "companies", co[0]).await,
        vec![hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co[0], "contacts", c[0]).await,
        vec![hs(280)]
    );
    // Untouched pairs keep everything.
    assert_eq!(
        types_between(&app, &t, "contacts", c[0], "companies", co[1]).await,
        vec![hs(279), user(fwd, "Partner")]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co[1], "contacts", c[1]).await,
        vec![hs(280), user(inv, "Partner of")]
    );
    // An undefined type in labels/archive is the usual 400.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/labels/archive",
            json!({"inputs": [{"from": {"id": c[0].to_string()}, "to": {"id": co[1].to_string()},
                               "types": [spec(USER, 3)]}]}),
        )
        .await;
    assert_invalid_type(&ans, "USER_DEFINED=3");

    // batch/archive: every type between each listed pair, both directions.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/archive",
            json!({"inputs": [{"from": {"id": c[0].to_string()},
                               "to": [{"id": co[0].to_string()}, {"id": co[1].to_string()}]}]}),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty());
    assert!(all_targets(&app, &t, "contacts", c[0], "companies")
        .await
        .is_empty());
    for &company in &co {
        let of = all_targets(&app, &t, "companies", company, "contacts").await;
        assert_eq!(of.keys().copied().collect::<Vec<_>>(), vec![c[1]], "{of:?}");
    }
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": c[0].to_string()}]),
    )
    .await;
    let (_, errors) = assert_batch_partial(&ans);
    assert_eq!(
        errors,
        &vec![no_associations("company", "contact", &c[0].to_string())]
    );
    // Archiving again is fine.
    let ans = app
        .post(
            &t,
            "/crm/v4/associations/contacts/companies/batch/archive",
            json!({"inputs": [{"from": {"id": c[0].to_string()}, "to": [{"id": co[0].to_string()}]}]}),
        )
        .await;
    assert_eq!(ans.status, 204, "{}", ans.text);
}

#[tokio::test]
async fn delete_removes_every_type_between_the_pair_in_both_directions() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make(&app, &t, "companies", 2).await;
    let ans = put_labelled(
        &app,
        &t,
        "contacts",
        c,
        "companies",
        co[0],
        json!([spec(HS, 1)]),
    )
    .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    assert_eq!(
        put_default(&app, &t, "contacts", c, "companies", co[1])
            .await
            .status,
        200
    );

    // Deleted from the company's side.
    let path = format!(
        "/crm/v4/objects/companies/{}/associations/contacts/{c}",
        co[0]
    );
    let ans = app.delete(&t, &path).await;
    assert_eq!(ans.status, 204, "{}", ans.text);
    assert!(ans.text.is_empty());
    let of_c = all_targets(&app, &t, "contacts", c, "companies").await;
    assert_eq!(of_c.keys().copied().collect::<Vec<_>>(), vec![co[1]]);
    assert!(all_targets(&app, &t, "companies", co[0], "contacts")
        .await
        .is_empty());
    assert_eq!(app.delete(&t, &path).await.status, 204, "deleting again");
}

// ---------- associations on objects create ----------

#[tokio::test]
async fn objects_create_writes_inline_associations() {
    let (app, t) = setup().await;
    let co = make(&app, &t, "companies", 2).await;
    let d = make_one(&app, &t, "deals").await;
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "inline@example.com"}, "associations": [
                {"to": {"id": co[0].to_string()}, "types": [spec(HS, 279)]},
                {"to": {"id": co[1].to_string()}, "types": [spec(HS, 1)]},
                {"to": {"id": d.to_string()}, "types": [spec(HS, 4)]}
            ]}),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let c: i64 = ans.body["id"].as_str().expect("id").parse().expect("num");
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co[0]).await,
        vec![hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co[1]).await,
        vec![hs_label(1, "Primary"), hs(279)]
    );
    assert_eq!(
        types_between(&app, &t, "contacts", c, "deals", d).await,
        vec![hs(4)]
    );
    assert_eq!(
        types_between(&app, &t, "deals", d, "contacts", c).await,
        vec![hs(3)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co[1], "contacts", c).await,
        vec![hs_label(2, "Primary"), hs(280)]
    );

    // Batch create, numeric ids in `to`.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/tickets/batch/create",
            json!({"inputs": [
                {"properties": {"subject": "a"}, "associations": [{"to": {"id": c}, "types": [spec(HS, 16)]}]},
                {"properties": {"subject": "b"}, "associations": [{"to": {"id": co[0].to_string()}, "types": [spec(HS, 339)]}]}
            ]}),
        )
        .await;
    let results = assert_batch_ok(&ans, 201);
    assert_eq!(results.len(), 2);
    let by_subject: BTreeMap<String, i64> = results
        .iter()
        .map(|r| {
            (
                r["properties"]["subject"]
                    .as_str()
                    .expect("subject")
                    .to_owned(),
                r["id"].as_str().expect("id").parse().expect("num"),
            )
        })
        .collect();
    assert_eq!(
        types_between(&app, &t, "contacts", c, "tickets", by_subject["a"]).await,
        vec![hs(15)]
    );
    assert_eq!(
        types_between(&app, &t, "companies", co[0], "tickets", by_subject["b"]).await,
        vec![hs(340)]
    );
}

#[tokio::test]
async fn objects_create_with_a_bad_association_creates_nothing() {
    let (app, t) = setup().await;
    let co = make_one(&app, &t, "companies").await;
    let gone = make_one(&app, &t, "companies").await;
    assert_eq!(
        app.delete(&t, &format!("/crm/v3/objects/companies/{gone}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&t, "/crm/v3/objects/companies/99").await.status,
        404,
        "company 99 must not exist"
    );
    let taken = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "taken@example.com"}}),
        )
        .await;
    assert_eq!(taken.status, 201, "{}", taken.text);
    let before = list_all_ids(&app, &t, "contacts", false).await;

    // Batch create: the second input conflicts on email (409); the first input's
    // association, written in the same transaction, is rolled back with it.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "fresh@example.com"}, "associations": [{"to": {"id": co.to_string()}, "types": [spec(HS, 279)]}]},
                {"properties": {"email": "taken@example.com"}}
            ]}),
        )
        .await;
    assert_eq!(ans.status, 409, "{}", ans.text);

    // Single create: missing target.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "bad1@example.com"}, "associations": [
                {"to": {"id": co.to_string()}, "types": [spec(HS, 279)]},
                {"to": {"id": "99"}, "types": [spec(HS, 279)]}
            ]}),
        )
        .await;
    assert_invalid_object(&ans, "COMPANY", 99);

    // Single create: archived target.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "bad2@example.com"}, "associations": [
                {"to": {"id": gone.to_string()}, "types": [spec(HS, 279)]}
            ]}),
        )
        .await;
    assert_invalid_object(&ans, "COMPANY", gone);

    // Single create: undefined type, and a type of another pair direction.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "bad3@example.com"}, "associations": [
                {"to": {"id": co.to_string()}, "types": [spec(USER, 3)]}
            ]}),
        )
        .await;
    assert_invalid_type(&ans, "USER_DEFINED=3");
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "bad4@example.com"}, "associations": [
                {"to": {"id": co.to_string()}, "types": [spec(HS, 280)]}
            ]}),
        )
        .await;
    assert_invalid_type(&ans, "HUBSPOT_DEFINED=280");

    // Batch create: one good input, one with a missing target → whole batch rejected.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "good@example.com"}, "associations": [{"to": {"id": co.to_string()}, "types": [spec(HS, 279)]}]},
                {"properties": {"email": "bad5@example.com"}, "associations": [{"to": {"id": "99"}, "types": [spec(HS, 279)]}]}
            ]}),
        )
        .await;
    assert_invalid_object(&ans, "COMPANY", 99);
    // Batch create: undefined type in the second input.
    let ans = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"properties": {"email": "good@example.com"}, "associations": [{"to": {"id": co.to_string()}, "types": [spec(HS, 279)]}]},
                {"properties": {"email": "bad6@example.com"}, "associations": [{"to": {"id": co.to_string()}, "types": [spec(USER, 3)]}]}
            ]}),
        )
        .await;
    assert_invalid_type(&ans, "USER_DEFINED=3");

    assert_eq!(
        list_all_ids(&app, &t, "contacts", false).await,
        before,
        "no contact was created"
    );
    let ans = batch_read(
        &app,
        &t,
        "companies",
        "contacts",
        json!([{"id": co.to_string()}]),
    )
    .await;
    let (results, _) = assert_batch_partial(&ans);
    assert!(
        results.is_empty(),
        "no association was written: {}",
        ans.text
    );
}

// ---------- archived records ----------

#[tokio::test]
async fn archiving_a_record_hides_its_associations_from_both_sides() {
    let (app, t) = setup().await;
    let c = make(&app, &t, "contacts", 2).await;
    let co = make(&app, &t, "companies", 2).await;
    for &contact in &c {
        for &company in &co {
            assert_eq!(
                put_default(&app, &t, "contacts", contact, "companies", company)
                    .await
                    .status,
                200
            );
        }
    }
    assert_eq!(
        app.delete(&t, &format!("/crm/v3/objects/companies/{}", co[0]))
            .await
            .status,
        204
    );

    // The live contact no longer sees the archived company, through batch/read or GET.
    let ans = batch_read(
        &app,
        &t,
        "contacts",
        "companies",
        json!([{"id": c[0].to_string()}]),
    )
    .await;
    let results = assert_batch_ok(&ans, 200);
    assert_eq!(
        parse_targets(&results[0]["to"])
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        vec![co[1]]
    );
    assert_eq!(
        all_targets(&app, &t, "contacts", c[1], "companies")
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![co[1]]
    );
    // The archived company's own associations are hidden too.
    let ans = batch_read(
        &app,
        &t,
        "companies",
        "contacts",
        json!([{"id": co[0].to_string()}]),
    )
    .await;
    let (results, errors) = assert_batch_partial(&ans);
    assert!(results.is_empty());
    assert_eq!(
        errors,
        &vec![no_associations("contact", "company", &co[0].to_string())]
    );
    assert!(all_targets(&app, &t, "companies", co[0], "contacts")
        .await
        .is_empty());

    // Archive a contact: the live company stops seeing it.
    assert_eq!(
        app.delete(&t, &format!("/crm/v3/objects/contacts/{}", c[0]))
            .await
            .status,
        204
    );
    assert_eq!(
        all_targets(&app, &t, "companies", co[1], "contacts")
            .await
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![c[1]]
    );
    // New associations to an archived record are refused.
    let ans = put_default(&app, &t, "contacts", c[1], "companies", co[0]).await;
    assert_invalid_object(&ans, "COMPANY", co[0]);
}

// ---------- scopes, auth, unknown types ----------

#[tokio::test]
async fn reading_needs_read_scopes_and_writing_write_scopes_on_both_types() {
    let (app, t) = setup().await;
    let c = make_one(&app, &t, "contacts").await;
    let co = make_one(&app, &t, "companies").await;
    let tk = make_one(&app, &t, "tickets").await;
    assert_eq!(
        put_default(&app, &t, "contacts", c, "companies", co)
            .await
            .status,
        200
    );
    let read_body = json!([{"id": c.to_string()}]);

    // Only the from-type's read scope.
    let only_contacts = app.token(1, &["crm.objects.contacts.read"]).await;
    let ans = batch_read(
        &app,
        &only_contacts,
        "contacts",
        "companies",
        read_body.clone(),
    )
    .await;
    assert_missing_scopes(&ans, &["crm.objects.companies.read"]);
    let ans = app
        .get(
            &only_contacts,
            &format!("/crm/v4/objects/contacts/{c}/associations/companies"),
        )
        .await;
    assert_missing_scopes(&ans, &["crm.objects.companies.read"]);
    let ans = app
        .get(
            &only_contacts,
            "/crm/v4/associations/contacts/companies/labels",
        )
        .await;
    assert_missing_scopes(&ans, &["crm.objects.companies.read"]);
    let ans = batch_read(
        &app,
        &only_contacts,
        "contacts",
        "tickets",
        read_body.clone(),
    )
    .await;
    assert_missing_scopes(&ans, &["tickets"]);
    // The to-type's read scope only.
    let only_companies = app.token(1, &["crm.objects.companies.read"]).await;
    let ans = batch_read(
        &app,
        &only_companies,
        "contacts",
        "companies",
        read_body.clone(),
    )
    .await;
    assert_missing_scopes(&ans, &["crm.objects.contacts.read"]);
    // Scopes are checked before the body is parsed.
    let ans = app
        .post_raw(
            &only_contacts,
            &read_path("contacts", "companies"),
            "{not json",
        )
        .await;
    assert_eq!(ans.status, 403, "{}", ans.text);

    // Read access to both: reads work, writes do not.
    let readers = app
        .token(
            1,
            &["crm.objects.contacts.read", "crm.objects.companies.read"],
        )
        .await;
    let ans = batch_read(&app, &readers, "contacts", "companies", read_body.clone()).await;
    assert_eq!(assert_batch_ok(&ans, 200).len(), 1);
    let ans = app
        .get(
            &readers,
            &format!("/crm/v4/objects/contacts/{c}/associations/companies"),
        )
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let ans = app
        .get(&readers, "/crm/associations/v4/contacts/companies/labels")
        .await;
    assert_eq!(ans.status, 200, "{}", ans.text);
    let ans = put_default(&app, &readers, "contacts", c, "companies", co).await;
    assert_missing_scopes(&ans, &["crm.objects.contacts.write"]);

    // Write access to the from-type only: every write names the to-type's write scope.
    let half = app
        .token(
            1,
            &[
                "crm.objects.contacts.read",
                "crm.objects.companies.read",
                "crm.objects.contacts.write",
            ],
        )
        .await;
    let pair = json!({"from": {"id": c.to_string()}, "to": {"id": co.to_string()}});
    let typed = json!({"from": {"id": c.to_string()}, "to": {"id": co.to_string()}, "types": [spec(HS, 279)]});
    let writes: Vec<Answer> = vec![
        put_default(&app, &half, "contacts", c, "companies", co).await,
        put_labelled(
            &app,
            &half,
            "contacts",
            c,
            "companies",
            co,
            json!([spec(HS, 279)]),
        )
        .await,
        app.delete(
            &half,
            &format!("/crm/v4/objects/contacts/{c}/associations/companies/{co}"),
        )
        .await,
        app.post(
            &half,
            "/crm/v4/associations/contacts/companies/batch/create",
            json!({"inputs": [typed.clone()]}),
        )
        .await,
        app.post(
            &half,
            "/crm/v4/associations/contacts/companies/batch/associate/default",
            json!({"inputs": [pair.clone()]}),
        )
        .await,
        app.post(
            &half,
            "/crm/v4/associations/contacts/companies/batch/archive",
            json!({"inputs": [{"from": {"id": c.to_string()}, "to": [{"id": co.to_string()}]}]}),
        )
        .await,
        app.post(
            &half,
            "/crm/v4/associations/contacts/companies/batch/labels/archive",
            json!({"inputs": [typed]}),
        )
        .await,
        app.post(
            &half,
            "/crm/v4/associations/contacts/companies/labels",
            json!({"label": "X", "name": "x"}),
        )
        .await,
        put(
            &app,
            &half,
            "/crm/v4/associations/contacts/companies/labels",
            Some(json!({"associationTypeId": 1000, "label": "Y"})),
        )
        .await,
        app.delete(&half, "/crm/v4/associations/contacts/companies/labels/1000")
            .await,
    ];
    for ans in &writes {
        assert_missing_scopes(ans, &["crm.objects.companies.write"]);
    }
    // Nothing was removed by the refused writes.
    assert_eq!(
        types_between(&app, &t, "contacts", c, "companies", co).await,
        vec![hs(279)]
    );
    let ans = put_default(&app, &half, "contacts", c, "tickets", tk).await;
    assert_missing_scopes(&ans, &["tickets"]);

    // Write access to both (without read) is enough to write.
    let writers = app
        .token(
            1,
            &["crm.objects.contacts.write", "crm.objects.companies.write"],
        )
        .await;
    let ans = put_default(&app, &writers, "contacts", c, "companies", co).await;
    assert_eq!(assert_batch_ok(&ans, 200).len(), 2);
    let ans = batch_read(&app, &writers, "contacts", "companies", read_body).await;
    assert_missing_scopes(&ans, &["crm.objects.contacts.read"]);
}

#[tokio::test]
async fn missing_token_and_unknown_object_types() {
    let (app, t) = setup().await;
    let ans = app
        .call(
            Method::POST,
            None,
            &read_path("contacts", "companies"),
            Some(json!({"inputs": []})),
        )
        .await;
    assert_error(&ans, 401, Some("INVALID_AUTHENTICATION"), AUTH_MESSAGE);
    let ans = app
        .call(
            Method::GET,
            None,
            "/crm/v4/objects/contacts/1/associations/companies",
            None,
        )
        .await;
    assert_error(&ans, 401, Some("INVALID_AUTHENTICATION"), AUTH_MESSAGE);

    let ans = batch_read(&app, &t, "contacts", "widgets", json!([{"id": "1"}])).await;
    assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
    let ans = app
        .get(&t, "/crm/v4/objects/widgets/1/associations/companies")
        .await;
    assert_error(&ans, 400, None, "Unable to infer object type from: widgets");
}

// ---------- 10,000 associations, paged while others change ----------

/// Picks churn ids below or above the cursor, associates them, and removes older ones,
/// until told to stop. Counts (adds below, adds above, removes).
struct Writer {
    stop: AtomicBool,
    cursor: AtomicI64,
    ops: AtomicUsize,
    added_below: AtomicUsize,
    added_above: AtomicUsize,
    removed: AtomicUsize,
}

async fn churn(app: Arc<TestApp>, t: String, contact: i64, churn: Vec<i64>, w: Arc<Writer>) {
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let mut live: VecDeque<i64> = VecDeque::new();
    let mut below = true;
    while !w.stop.load(Ordering::SeqCst) {
        let cursor = w.cursor.load(Ordering::SeqCst);
        let split = churn.partition_point(|&id| id <= cursor);
        let pick = if below && split > 0 {
            Some((churn[next(split)], true))
        } else if split < churn.len() {
            Some((churn[split + next(churn.len() - split)], false))
        } else {
            None
        };
        below = !below;
        if let Some((id, is_below)) = pick {
            if !live.contains(&id) {
                let ans = put_default(&app, &t, "contacts", contact, "companies", id).await;
                assert_eq!(ans.status, 200, "{}", ans.text);
                live.push_back(id);
                if is_below {
                    w.added_below.fetch_add(1, Ordering::SeqCst);
                } else {
                    w.added_above.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        if live.len() > 8 {
            let id = live.pop_front().expect("live");
            let ans = if next(2) == 0 {
                app.delete(
                    &t,
                    &format!("/crm/v4/objects/contacts/{contact}/associations/companies/{id}"),
                )
                .await
            } else {
                app.post(
                    &t,
                    "/crm/v4/associations/contacts/companies/batch/archive",
                    json!({"inputs": [{"from": {"id": contact.to_string()}, "to": [{"id": id.to_string()}]}]}),
                )
                .await
            };
            assert_eq!(ans.status, 204, "{}", ans.text);
            w.removed.fetch_add(1, Ordering::SeqCst);
        }
        w.ops.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits until the writer has done at least one more operation than `seen`.
async fn writer_progress(w: &Writer, seen: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = w.ops.load(Ordering::SeqCst);
        if now > seen {
            return now;
        }
        assert!(Instant::now() < deadline, "the writer made no progress");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Checks one page of the 10,000 listing and returns its target ids.
fn check_page(targets: &Value, last: i64, more: bool) -> Vec<i64> {
    let page = parse_targets(targets);
    assert!(
        page.len() <= 500,
        "at most 500 per page, got {}",
        page.len()
    );
    if more {
        assert_eq!(page.len(), 500, "a page with paging.next is full");
    } else {
        assert!(
            !page.is_empty(),
            "the last page still has the highest stable id"
        );
    }
    let mut prev = last;
    for (id, types) in &page {
        assert!(*id > prev, "ids ascend across pages: {id} after {prev}");
        assert_eq!(types, &vec![hs(279)], "target {id}");
        prev = *id;
    }
    page.into_iter().map(|(id, _)| id).collect()
}

fn check_complete(seen: &[i64], stable: &[i64], churn: &[i64]) {
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no target was listed twice");
    let missing: Vec<i64> = stable
        .iter()
        .filter(|id| !unique.contains(id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "{} stable targets were skipped, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let churn: BTreeSet<i64> = churn.iter().copied().collect();
    let stable: BTreeSet<i64> = stable.iter().copied().collect();
    assert!(
        unique
            .iter()
            .all(|id| stable.contains(id) || churn.contains(id)),
        "only associated companies are listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_associations_page_completely_while_others_change() {
    let (app, t) = setup().await;
    let app = Arc::new(app);
    let contact = make_one(&app, &t, "contacts").await;
    let companies = bulk_companies(&app, 12_000).await;
    // Every sixth company (index % 6 == 2) is churned by the writer; the rest, including the
    // lowest and highest ids, stay associated throughout.
    let mut churn_ids = Vec::new();
    let mut stable = Vec::new();
    for (i, &id) in companies.iter().enumerate() {
        if i % 6 == 2 {
            churn_ids.push(id);
        } else {
            stable.push(id);
        }
    }
    assert_eq!(stable.len(), 10_000);
    store_link(&app, "0-1", contact, "0-2", &stable, (279, 280)).await;

    let writer = Arc::new(Writer {
        stop: AtomicBool::new(false),
        cursor: AtomicI64::new(0),
        ops: AtomicUsize::new(0),
        added_below: AtomicUsize::new(0),
        added_above: AtomicUsize::new(0),
        removed: AtomicUsize::new(0),
    });
    let task = tokio::spawn(churn(
        app.clone(),
        t.clone(),
        contact,
        churn_ids.clone(),
        writer.clone(),
    ));

    // batch/read, one input re-sent with each page's `after`.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut ops = 0;
    let mut pages = 0;
    loop {
        ops = writer_progress(&writer, ops).await;
        let mut input = json!({"id": contact.to_string()});
        if let Some(a) = &after {
            input["after"] = json!(a);
        }
        let ans = batch_read(&app, &t, "contacts", "companies", json!([input])).await;
        let results = assert_batch_ok(&ans, 200);
        assert_eq!(results.len(), 1);
        pages += 1;
        let next = results[0]["paging"]["next"]["after"]
            .as_str()
            .map(str::to_owned);
        let page = check_page(
            &results[0]["to"],
            seen.last().copied().unwrap_or(0),
            next.is_some(),
        );
        seen.extend(&page);
        writer
            .cursor
            .store(*seen.last().expect("non-empty page"), Ordering::SeqCst);
        match next {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert!(pages >= 20, "10,000 targets at 500 per page: {pages} pages");
    check_complete(&seen, &stable, &churn_ids);

    // The same through GET with the default limit.
    writer.cursor.store(0, Ordering::SeqCst);
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        ops = writer_progress(&writer, ops).await;
        let mut path = format!("/crm/v4/objects/contacts/{contact}/associations/companies");
        if let Some(a) = &after {
            path.push_str(&format!("?after={a}"));
        }
        let ans = app.get(&t, &path).await;
        assert_eq!(ans.status, 200, "{}", ans.text);
        pages += 1;
        let next = ans.body["paging"]["next"]["after"]
            .as_str()
            .map(str::to_owned);
        let page = check_page(
            &ans.body["results"],
            seen.last().copied().unwrap_or(0),
            next.is_some(),
        );
        seen.extend(&page);
        writer
            .cursor
            .store(*seen.last().expect("non-empty page"), Ordering::SeqCst);
        match next {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert!(pages >= 20, "{pages} pages");
    check_complete(&seen, &stable, &churn_ids);

    writer.stop.store(true, Ordering::SeqCst);
    task.await.expect("writer task");
    assert!(
        writer.added_below.load(Ordering::SeqCst) > 0,
        "the writer added below the cursor"
    );
    assert!(
        writer.added_above.load(Ordering::SeqCst) > 0,
        "the writer added above the cursor"
    );
    assert!(
        writer.removed.load(Ordering::SeqCst) > 0,
        "the writer removed associations"
    );
}
