//! `POST /crm/v3/objects/{type}/search` (hubspot-behavior.md §7.1): every operator on every
//! property type, OR-of-AND filter groups, sorting, paging and the 10,000-result window,
//! `query`, `properties`, archived records, read-your-writes, `associations.{type}` filters
//! and the 400 bodies.
//!
//! Most tests share one data set of five contacts (`r0`..`r4`, created in that order, so
//! ascending ids, which is also the default result order) with one custom property per type:
//!
//! | prop    | r0                     | r1                       | r2              | r3    | r4    |
//! |---------|------------------------|--------------------------|-----------------|-------|-------|
//! | p_num   | 10                     | 9                        | 100.5           | -5    | unset |
//! | p_str   | Hello World            | hello there              | Goodbye         | unset | unset |
//! | p_enum  | red                    | green                    | blue            | unset | unset |
//! | p_multi | chocolate;strawberry   | vanilla                  | strawberry      | unset | unset |
//! | p_bool  | true                   | false                    | true            | unset | unset |
//! | p_date  | 2024-01-01             | 2024-02-01               | 2001-09-08      | unset | unset |
//! | p_dt    | 2024-01-01T10:00:00Z   | 2024-01-01T10:00:00.500Z | 2024-01-01T00Z  | unset | unset |
//!
//! The values are picked so that text comparison of the stored strings gives different
//! answers than typed comparison (`"9" > "10"`, a 12-digit date before 13-digit ones,
//! `"…00.500Z" < "…00Z"`). r4 was created with empty strings for p_num/p_str/p_date, which
//! must read as unset (not 0 / epoch).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use spoke_core::time::parse_iso;

use crate::harness::{Answer, TestApp};
use crate::support::*;

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

async fn search(app: &TestApp, t: &str, ty: &str, body: Value) -> Answer {
    app.post(t, &format!("/crm/v3/objects/{ty}/search"), body)
        .await
}

/// A filter with a single `value`.
fn fv(name: &str, op: &str, value: &str) -> Value {
    json!({"propertyName": name, "operator": op, "value": value})
}

/// A filter with `values` (IN / NOT_IN).
fn fl(name: &str, op: &str, values: &[&str]) -> Value {
    json!({"propertyName": name, "operator": op, "values": values})
}

/// A filter without a value (HAS_PROPERTY / NOT_HAS_PROPERTY).
fn fh(name: &str, op: &str) -> Value {
    json!({"propertyName": name, "operator": op})
}

/// BETWEEN `value` and `highValue`.
fn fb(name: &str, low: &str, high: &str) -> Value {
    json!({"propertyName": name, "operator": "BETWEEN", "value": low, "highValue": high})
}

/// One filter group holding `filters` (an array) or the single filter given.
fn group_of(filters: &Value) -> Value {
    match filters {
        Value::Array(_) => json!({ "filters": filters }),
        one => json!({ "filters": [one] }),
    }
}

/// A 200 search page: checks the envelope and returns the result ids in order.
fn page_ids(ans: &Answer) -> Vec<String> {
    assert_eq!(ans.status, 200, "{}", ans.text);
    assert_json_content_type(ans);
    assert!(
        ans.body["total"].is_u64(),
        "total is a number: {}",
        ans.text
    );
    ans.body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("results array: {}", ans.text))
        .iter()
        .map(|r| r["id"].as_str().expect("id is a string").to_owned())
        .collect()
}

fn total(ans: &Answer) -> u64 {
    ans.body["total"].as_u64().expect("total")
}

fn next_after(ans: &Answer) -> Option<String> {
    ans.body.get("paging").map(|p| {
        p["next"]["after"]
            .as_str()
            .expect("paging.next.after")
            .to_owned()
    })
}

fn millis(iso: &str) -> String {
    parse_iso(iso)
        .unwrap_or_else(|| panic!("{iso} is ISO"))
        .to_string()
}

fn options(values: &[&str]) -> Value {
    Value::Array(
        values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"label": v.to_uppercase(), "value": v, "displayOrder": i}))
            .collect(),
    )
}

async fn put_default_association(app: &TestApp, t: &str, from: &str, f: &str, to: &str, id: &str) {
    let ans = app
        .call(
            Method::PUT,
            Some(t),
            &format!("/crm/v4/objects/{from}/{f}/associations/default/{to}/{id}"),
            None,
        )
        .await;
    assert_eq!(
        ans.status, 200,
        "associate {from} {f} -> {to} {id}: {}",
        ans.text
    );
}

// ---------------------------------------------------------------------------------------
// the shared data set
// ---------------------------------------------------------------------------------------

struct Fx {
    app: TestApp,
    t: String,
    /// r0..r4 ids, ascending.
    ids: Vec<String>,
    /// `createdAt` of r0..r4.
    created: Vec<String>,
    /// `updatedAt` of r0..r4 (r2 then r0 were updated last, in that order).
    updated: Vec<String>,
}

impl Fx {
    async fn new() -> Self {
        let app = TestApp::spawn().await;
        let t = app.token(1, &["all"]).await;
        let defs = [
            json!({"name": "p_num", "type": "number", "fieldType": "number"}),
            json!({"name": "p_str", "type": "string", "fieldType": "text"}),
            json!({"name": "p_enum", "type": "enumeration", "fieldType": "select",
                   "options": options(&["red", "green", "blue"])}),
            json!({"name": "p_multi", "type": "enumeration", "fieldType": "checkbox",
                   "options": options(&["chocolate", "strawberry", "vanilla"])}),
            json!({"name": "p_bool", "type": "bool", "fieldType": "booleancheckbox",
                   "options": [{"label": "Yes", "value": "true", "displayOrder": 0},
                               {"label": "No", "value": "false", "displayOrder": 1}]}),
            json!({"name": "p_date", "type": "date", "fieldType": "date"}),
            json!({"name": "p_dt", "type": "datetime", "fieldType": "date"}),
        ];
        for def in defs {
            must_create_property(&app, &t, "contacts", def).await;
        }
        let records = [
            json!({"email": "ada@example.com", "firstname": "Ada", "lastname": "Lovelace",
                   "p_num": "10", "p_str": "Hello World", "p_enum": "red",
                   "p_multi": "chocolate;strawberry", "p_bool": "true",
                   "p_date": "2024-01-01", "p_dt": "2024-01-01T10:00:00Z"}),
            json!({"email": "grace@example.com", "firstname": "Grace", "lastname": "Hopper",
                   "p_num": "9", "p_str": "hello there", "p_enum": "green",
                   "p_multi": "vanilla", "p_bool": "false",
                   "p_date": "2024-02-01", "p_dt": "2024-01-01T10:00:00.500Z"}),
            json!({"email": "alan@sample.org", "firstname": "Alan", "lastname": "Turing",
                   "p_num": "100.5", "p_str": "Goodbye", "p_enum": "blue",
                   "p_multi": "strawberry", "p_bool": "true",
                   "p_date": "999907200000", "p_dt": "1704067200000"}),
            json!({"email": "barbara@sample.org", "firstname": "Barbara", "lastname": "Liskov",
                   "p_num": "-5"}),
            json!({"email": "edsger@example.com", "firstname": "Edsger", "lastname": "Dijkstra",
                   "p_num": "", "p_str": "", "p_date": ""}),
        ];
        let mut ids = Vec::new();
        let mut created = Vec::new();
        for props in records {
            tokio::time::sleep(Duration::from_millis(3)).await;
            let ans = app
                .post(
                    &t,
                    "/crm/v3/objects/contacts",
                    json!({ "properties": props }),
                )
                .await;
            assert_eq!(ans.status, 201, "{}", ans.text);
            ids.push(ans.body["id"].as_str().expect("id").to_owned());
            created.push(
                ans.body["createdAt"]
                    .as_str()
                    .expect("createdAt")
                    .to_owned(),
            );
        }
        let mut updated = created.clone();
        for i in [2, 0] {
            tokio::time::sleep(Duration::from_millis(3)).await;
            let ans = app
                .patch(
                    &t,
                    &format!("/crm/v3/objects/contacts/{}", ids[i]),
                    json!({"properties": {"jobtitle": "Pioneer"}}),
                )
                .await;
            assert_eq!(ans.status, 200, "{}", ans.text);
            updated[i] = ans.body["updatedAt"]
                .as_str()
                .expect("updatedAt")
                .to_owned();
        }
        let fx = Fx {
            app,
            t,
            ids,
            created,
            updated,
        };
        let n: Vec<i64> = fx.ids.iter().map(|i| i.parse().expect("numeric")).collect();
        assert!(n.windows(2).all(|w| w[0] < w[1]), "ids ascend: {n:?}");
        fx
    }

    fn pick(&self, idx: &[usize]) -> Vec<String> {
        idx.iter().map(|i| self.ids[*i].clone()).collect()
    }

    /// `r2` for a known id.
    fn name(&self, id: &str) -> String {
        match self.ids.iter().position(|i| i == id) {
            Some(i) => format!("r{i}"),
            None => format!("?{id}"),
        }
    }

    async fn search(&self, body: Value) -> Answer {
        search(&self.app, &self.t, "contacts", body).await
    }

    /// Runs every case (one filter group each, default order) and reports all mismatches
    /// at once: `(filter or [filters], expected record indices in id order)`.
    async fn cases(&self, label: &str, cases: Vec<(Value, &[usize])>) {
        let mut failures = Vec::new();
        for (filters, expected) in cases {
            let body = json!({"filterGroups": [group_of(&filters)], "limit": 100});
            let ans = self.search(body).await;
            if ans.status != 200 {
                failures.push(format!(
                    "{filters}: expected {expected:?}, got HTTP {} {}",
                    ans.status, ans.text
                ));
                continue;
            }
            let got = page_ids(&ans);
            let want = self.pick(expected);
            if got != want || total(&ans) != want.len() as u64 {
                let names: Vec<String> = got.iter().map(|i| self.name(i)).collect();
                let want_names: Vec<String> = expected.iter().map(|i| format!("r{i}")).collect();
                failures.push(format!(
                    "{filters}: expected {want_names:?}, got {names:?} (total {})",
                    total(&ans)
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{label}: {} case(s) wrong:\n  {}",
            failures.len(),
            failures.join("\n  ")
        );
    }

    /// Runs one search with `sorts` and the given filters; checks the exact order.
    async fn sorted(&self, filters: Value, sorts: Value, expected: &[usize]) -> Option<String> {
        let body = json!({"filterGroups": [group_of(&filters)], "sorts": sorts, "limit": 100});
        let body = if filters.as_array().is_some_and(Vec::is_empty) {
            json!({"sorts": sorts, "limit": 100})
        } else {
            body
        };
        let ans = self.search(body).await;
        if ans.status != 200 {
            return Some(format!("sorts {sorts}: HTTP {} {}", ans.status, ans.text));
        }
        let got = page_ids(&ans);
        (got != self.pick(expected)).then(|| {
            let names: Vec<String> = got.iter().map(|i| self.name(i)).collect();
            let want: Vec<String> = expected.iter().map(|i| format!("r{i}")).collect();
            format!("sorts {sorts} (filters {filters}): expected {want:?}, got {names:?}")
        })
    }
}

// ---------------------------------------------------------------------------------------
// operators by property type
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_number_operators_compare_as_numbers() {
    let fx = Fx::new().await;
    let p = "p_num";
    fx.cases(
        "number",
        vec![
            (fv(p, "EQ", "10"), &[0]),
            (fv(p, "EQ", "10.0"), &[0]),
            (fv(p, "EQ", "100.50"), &[2]),
            (fv(p, "EQ", "0"), &[]),
            (fv(p, "NEQ", "10"), &[1, 2, 3, 4]),
            (fv(p, "LT", "10"), &[1, 3]),
            (fv(p, "LT", "0"), &[3]),
            (fv(p, "LTE", "10"), &[0, 1, 3]),
            (fv(p, "GT", "9"), &[0, 2]),
            (fv(p, "GT", "-10"), &[0, 1, 2, 3]),
            (fv(p, "GTE", "9"), &[0, 1, 2]),
            (fb(p, "9", "10"), &[0, 1]),
            (fb(p, "-10", "0"), &[3]),
            (fb(p, "10.5", "1000"), &[2]),
            (fl(p, "IN", &["9", "100.5"]), &[1, 2]),
            (fl(p, "NOT_IN", &["9", "10"]), &[2, 3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2, 3]),
            (fh(p, "NOT_HAS_PROPERTY"), &[4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_string_operators_are_case_insensitive() {
    let fx = Fx::new().await;
    let p = "p_str";
    fx.cases(
        "string",
        vec![
            (fv(p, "EQ", "hello world"), &[0]),
            (fv(p, "EQ", "HELLO THERE"), &[1]),
            (fv(p, "EQ", "hello"), &[]),
            (fv(p, "NEQ", "Hello World"), &[1, 2, 3, 4]),
            (fv(p, "LT", "h"), &[2]),
            (fv(p, "LTE", "hello there"), &[1, 2]),
            (fv(p, "GT", "hello there"), &[0]),
            (fv(p, "GTE", "HELLO THERE"), &[0, 1]),
            (fb(p, "a", "h"), &[2]),
            (fl(p, "IN", &["hello world", "goodbye"]), &[0, 2]),
            (fl(p, "NOT_IN", &["goodbye"]), &[0, 1, 3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
            (fv(p, "CONTAINS_TOKEN", "world"), &[0]),
            (fv(p, "CONTAINS_TOKEN", "HELLO"), &[0, 1]),
            (fv(p, "CONTAINS_TOKEN", "wor"), &[]),
            (fv(p, "CONTAINS_TOKEN", "hel*"), &[0, 1]),
            (fv(p, "CONTAINS_TOKEN", "*bye"), &[2]),
            // A wildcard completes a partial token anywhere in the value.
            (fv(p, "CONTAINS_TOKEN", "wor*"), &[0]),
            (
                json!([fv(p, "NOT_CONTAINS_TOKEN", "hello"), fh(p, "HAS_PROPERTY")]),
                &[2],
            ),
            (
                json!([fv(p, "NOT_CONTAINS_TOKEN", "world"), fh(p, "HAS_PROPERTY")]),
                &[1, 2],
            ),
            // Built-in string properties, and contact email (served by the unique index).
            (fv("firstname", "EQ", "ADA"), &[0]),
            (fv("email", "EQ", "ADA@Example.com"), &[0]),
            (
                fl("email", "IN", &["grace@example.com", "alan@sample.org"]),
                &[1, 2],
            ),
            (fv("email", "NEQ", "ada@example.com"), &[1, 2, 3, 4]),
            (fv("email", "CONTAINS_TOKEN", "*@sample.org"), &[2, 3]),
            (
                fl("lastname", "NOT_IN", &["lovelace", "hopper"]),
                &[2, 3, 4],
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_enumeration_operators_match_exactly() {
    let fx = Fx::new().await;
    let p = "p_enum";
    fx.cases(
        "enumeration (select)",
        vec![
            (fv(p, "EQ", "red"), &[0]),
            (fv(p, "EQ", "RED"), &[]),
            (fv(p, "NEQ", "red"), &[1, 2, 3, 4]),
            (fl(p, "IN", &["red", "blue"]), &[0, 2]),
            (fl(p, "IN", &["RED"]), &[]),
            (fl(p, "NOT_IN", &["red", "green"]), &[2, 3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
            (fv(p, "CONTAINS_TOKEN", "green"), &[1]),
            (
                json!([fv(p, "NOT_CONTAINS_TOKEN", "green"), fh(p, "HAS_PROPERTY")]),
                &[0, 2],
            ),
        ],
    )
    .await;
    let p = "p_multi";
    fx.cases(
        "enumeration (multi-select checkbox)",
        vec![
            // EQ/IN match a record when any of its chosen options matches.
            (fv(p, "EQ", "strawberry"), &[0, 2]),
            (fv(p, "EQ", "vanilla"), &[1]),
            (fv(p, "EQ", "Strawberry"), &[]),
            (fv(p, "NEQ", "strawberry"), &[1, 3, 4]),
            (fl(p, "IN", &["vanilla", "chocolate"]), &[0, 1]),
            (fl(p, "NOT_IN", &["strawberry", "vanilla"]), &[3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
            (fv(p, "CONTAINS_TOKEN", "chocolate"), &[0]),
            (
                json!([
                    fv(p, "NOT_CONTAINS_TOKEN", "strawberry"),
                    fh(p, "HAS_PROPERTY")
                ]),
                &[1],
            ),
        ],
    )
    .await;

    // Option values are matched exactly even when they read like booleans.
    let opts = json!([{"label": "Yes", "value": "TRUE", "displayOrder": 0},
                      {"label": "No", "value": "False", "displayOrder": 1}]);
    must_create_property(
        &fx.app,
        &fx.t,
        "contacts",
        json!({"name": "p_flag", "type": "enumeration", "fieldType": "select", "options": opts}),
    )
    .await;
    for (i, v) in [(0, "TRUE"), (1, "False")] {
        let ans = fx
            .app
            .patch(
                &fx.t,
                &format!("/crm/v3/objects/contacts/{}", fx.ids[i]),
                json!({"properties": {"p_flag": v}}),
            )
            .await;
        assert_eq!(ans.status, 200, "{}", ans.text);
    }
    let p = "p_flag";
    fx.cases(
        "enumeration with boolean-like option values",
        vec![
            (fv(p, "EQ", "TRUE"), &[0]),
            (fv(p, "EQ", "False"), &[1]),
            (fv(p, "EQ", "true"), &[]),
            (fl(p, "IN", &["TRUE", "False"]), &[0, 1]),
            (fv(p, "NEQ", "TRUE"), &[1, 2, 3, 4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_bool_operators() {
    let fx = Fx::new().await;
    let p = "p_bool";
    fx.cases(
        "bool",
        vec![
            (fv(p, "EQ", "true"), &[0, 2]),
            (fv(p, "EQ", "false"), &[1]),
            (fv(p, "NEQ", "true"), &[1, 3, 4]),
            (fv(p, "NEQ", "false"), &[0, 2, 3, 4]),
            (fl(p, "IN", &["false"]), &[1]),
            (fl(p, "IN", &["true", "false"]), &[0, 1, 2]),
            (fl(p, "NOT_IN", &["false"]), &[0, 2, 3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_date_operators_compare_as_instants() {
    let fx = Fx::new().await;
    let p = "p_date";
    fx.cases(
        "date",
        vec![
            (fv(p, "EQ", "2024-01-01"), &[0]),
            (fv(p, "EQ", "1704067200000"), &[0]),
            (fv(p, "NEQ", "2024-01-01"), &[1, 2, 3, 4]),
            (fv(p, "LT", "2024-01-01"), &[2]),
            (fv(p, "LT", "2002-01-01"), &[2]),
            (fv(p, "LT", "1980-01-01"), &[]),
            (fv(p, "LTE", "2024-01-01"), &[0, 2]),
            (fv(p, "GT", "2024-01-01"), &[1]),
            (fv(p, "GT", "1000000000000"), &[0, 1]),
            (fv(p, "GTE", "1704067200000"), &[0, 1]),
            (fb(p, "2001-01-01", "2024-01-15"), &[0, 2]),
            (fb(p, "1704067200000", "1706745600000"), &[0, 1]),
            (fl(p, "IN", &["2024-02-01", "999907200000"]), &[1, 2]),
            (fl(p, "NOT_IN", &["2024-01-01"]), &[1, 2, 3, 4]),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_datetime_operators_compare_as_instants() {
    let fx = Fx::new().await;
    let p = "p_dt";
    fx.cases(
        "datetime",
        vec![
            (fv(p, "EQ", "2024-01-01T10:00:00Z"), &[0]),
            (fv(p, "EQ", "2024-01-01T10:00:00.000Z"), &[0]),
            (fv(p, "EQ", "1704103200000"), &[0]),
            (fv(p, "EQ", "2024-01-01T12:00:00+02:00"), &[0]),
            (fv(p, "EQ", "2024-01-01T00:00:00Z"), &[2]),
            (fv(p, "NEQ", "2024-01-01T10:00:00Z"), &[1, 2, 3, 4]),
            (fv(p, "GT", "2024-01-01T10:00:00Z"), &[1]),
            (fv(p, "GT", "2024-01-01T10:00:00.250Z"), &[1]),
            (fv(p, "LT", "2024-01-01T10:00:00.250Z"), &[0, 2]),
            (fv(p, "LT", "1704103200500"), &[0, 2]),
            (fv(p, "LTE", "1704103200000"), &[0, 2]),
            (fv(p, "GTE", "2024-01-01T10:00:00Z"), &[0, 1]),
            (
                fb(p, "2024-01-01T00:00:00Z", "2024-01-01T10:00:00Z"),
                &[0, 2],
            ),
            (fb(p, "1704103200001", "1704103200500"), &[1]),
            (
                fl(p, "IN", &["2024-01-01T10:00:00.500Z", "1704067200000"]),
                &[1, 2],
            ),
            (
                fl(p, "NOT_IN", &["2024-01-01T10:00:00.500Z"]),
                &[0, 2, 3, 4],
            ),
            (fh(p, "HAS_PROPERTY"), &[0, 1, 2]),
            (fh(p, "NOT_HAS_PROPERTY"), &[3, 4]),
        ],
    )
    .await;
}

#[tokio::test]
async fn search_record_columns_id_createdate_lastmodifieddate() {
    let fx = Fx::new().await;
    let (i, c) = (&fx.ids, &fx.created);
    let id = "hs_object_id";
    fx.cases(
        "hs_object_id",
        vec![
            (fv(id, "EQ", &i[1]), &[1]),
            (fv(id, "NEQ", &i[1]), &[0, 2, 3, 4]),
            (fv(id, "LT", &i[2]), &[0, 1]),
            (fv(id, "LTE", &i[2]), &[0, 1, 2]),
            (fv(id, "GT", &i[2]), &[3, 4]),
            (fv(id, "GTE", &i[2]), &[2, 3, 4]),
            (fb(id, &i[1], &i[3]), &[1, 2, 3]),
            (fl(id, "IN", &[&i[0], &i[4]]), &[0, 4]),
            (fl(id, "NOT_IN", &[&i[0], &i[4]]), &[1, 2, 3]),
            (fh(id, "HAS_PROPERTY"), &[0, 1, 2, 3, 4]),
            (fh(id, "NOT_HAS_PROPERTY"), &[]),
        ],
    )
    .await;
    let cd = "createdate";
    fx.cases(
        "createdate",
        vec![
            (fv(cd, "EQ", &c[1]), &[1]),
            (fv(cd, "EQ", &millis(&c[1])), &[1]),
            (fv(cd, "NEQ", &c[1]), &[0, 2, 3, 4]),
            (fv(cd, "LT", &c[2]), &[0, 1]),
            (fv(cd, "LTE", &millis(&c[2])), &[0, 1, 2]),
            (fv(cd, "GT", &c[2]), &[3, 4]),
            (fv(cd, "GTE", &c[2]), &[2, 3, 4]),
            (fb(cd, &c[1], &c[3]), &[1, 2, 3]),
            (fl(cd, "IN", &[&c[0], &c[4]]), &[0, 4]),
            (fl(cd, "NOT_IN", &[&c[0], &c[4]]), &[1, 2, 3]),
            (fh(cd, "HAS_PROPERTY"), &[0, 1, 2, 3, 4]),
            (fh(cd, "NOT_HAS_PROPERTY"), &[]),
        ],
    )
    .await;
    // Update order: r1, r3, r4 (never updated), then r2, then r0.
    let u = &fx.updated;
    for lm in ["lastmodifieddate", "hs_lastmodifieddate"] {
        fx.cases(
            lm,
            vec![
                (fv(lm, "EQ", &u[0]), &[0]),
                (fv(lm, "EQ", &millis(&u[2])), &[2]),
                (fv(lm, "NEQ", &u[0]), &[1, 2, 3, 4]),
                (fv(lm, "GT", &u[4]), &[0, 2]),
                (fv(lm, "GTE", &u[2]), &[0, 2]),
                (fv(lm, "LT", &u[2]), &[1, 3, 4]),
                (fv(lm, "LTE", &u[3]), &[1, 3]),
                (fb(lm, &u[3], &u[2]), &[2, 3, 4]),
                (fl(lm, "IN", &[&u[0], &u[1]]), &[0, 1]),
                (fl(lm, "NOT_IN", &[&u[0], &u[1]]), &[2, 3, 4]),
                (fh(lm, "HAS_PROPERTY"), &[0, 1, 2, 3, 4]),
                (fh(lm, "NOT_HAS_PROPERTY"), &[]),
            ],
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------
// groups, sorting, query, projection
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_filter_groups_are_or_of_ands() {
    let fx = Fx::new().await;
    let body = |groups: Vec<Value>| {
        let groups: Vec<Value> = groups.iter().map(group_of).collect();
        json!({"filterGroups": groups, "limit": 100})
    };
    let check = |ans: Answer, want: &[usize], what: &str| {
        assert_eq!(page_ids(&ans), fx.pick(want), "{what}: {}", ans.text);
        assert_eq!(total(&ans), want.len() as u64, "{what}");
    };
    // (p_num > 5 AND p_bool = true) OR (p_enum = green)
    let ans = fx
        .search(body(vec![
            json!([fv("p_num", "GT", "5"), fv("p_bool", "EQ", "true")]),
            fv("p_enum", "EQ", "green"),
        ]))
        .await;
    check(ans, &[0, 1, 2], "(num>5 AND bool) OR green");
    // Inside a group every filter must hold.
    let ans = fx
        .search(body(vec![json!([
            fv("p_num", "GT", "5"),
            fv("p_enum", "EQ", "green"),
            fv("p_bool", "EQ", "true"),
        ])]))
        .await;
    check(ans, &[], "num>5 AND green AND true");
    // A record matched by several groups is returned once.
    let ans = fx
        .search(body(vec![
            fv("p_num", "EQ", "10"),
            fv("p_enum", "EQ", "red"),
            fv("firstname", "EQ", "ada"),
        ]))
        .await;
    check(ans, &[0], "three groups matching r0");
    // Unset properties in one group, typed ranges in another.
    let ans = fx
        .search(body(vec![
            fv("p_num", "LT", "0"),
            json!([
                fh("p_num", "NOT_HAS_PROPERTY"),
                fv("firstname", "EQ", "edsger")
            ]),
        ]))
        .await;
    check(ans, &[3, 4], "negative OR (unset AND edsger)");
    // The limits exactly: 5 groups, 6 filters in a group, 18 filters in all.
    let six = || -> Value {
        json!([
            fh("p_num", "HAS_PROPERTY"),
            fv("p_num", "GTE", "-100"),
            fv("p_num", "LTE", "1000"),
            fv("p_num", "NEQ", "12345"),
            fl("p_num", "NOT_IN", &["1", "2"]),
            fh("email", "HAS_PROPERTY"),
        ])
    };
    let ans = fx.search(body(vec![six(), six(), six()])).await;
    check(ans, &[0, 1, 2, 3], "3 groups x 6 filters (18)");
    let ans = fx
        .search(body(vec![
            fv("p_num", "EQ", "10"),
            fv("p_num", "EQ", "9"),
            fv("p_num", "EQ", "100.5"),
            fv("p_num", "EQ", "-5"),
            fh("p_num", "NOT_HAS_PROPERTY"),
        ]))
        .await;
    check(ans, &[0, 1, 2, 3, 4], "5 groups");
    // `filterGroups` may be empty or absent: everything matches.
    let ans = fx.search(json!({"filterGroups": []})).await;
    check(ans, &[0, 1, 2, 3, 4], "no groups");
    let ans = fx.search(json!({})).await;
    check(ans, &[0, 1, 2, 3, 4], "empty body object");
}

#[tokio::test]
async fn search_sorts_by_number_string_and_datetime() {
    let fx = Fx::new().await;
    let asc = |p: &str| json!([{"propertyName": p, "direction": "ASCENDING"}]);
    let desc = |p: &str| json!([{"propertyName": p, "direction": "DESCENDING"}]);
    let has = |p: &str| fh(p, "HAS_PROPERTY");
    let none = || json!([]);
    let mut failures = Vec::new();
    let checks: Vec<(Value, Value, &[usize])> = vec![
        // Without sorts: oldest first.
        (none(), json!([]), &[0, 1, 2, 3, 4]),
        // Numbers as numbers: -5 < 9 < 10 < 100.5.
        (has("p_num"), asc("p_num"), &[3, 1, 0, 2]),
        (has("p_num"), desc("p_num"), &[2, 0, 1, 3]),
        // Strings.
        (none(), asc("firstname"), &[0, 2, 3, 4, 1]),
        (none(), desc("firstname"), &[1, 4, 3, 2, 0]),
        (none(), asc("lastname"), &[4, 1, 3, 0, 2]),
        // Datetimes as instants (00:00 < 10:00:00 < 10:00:00.500).
        (has("p_dt"), asc("p_dt"), &[2, 0, 1]),
        (has("p_dt"), desc("p_dt"), &[1, 0, 2]),
        // Dates as instants (2001 before 2024 although its epoch ms has fewer digits).
        (has("p_date"), asc("p_date"), &[2, 0, 1]),
        // Record columns.
        (none(), desc("createdate"), &[4, 3, 2, 1, 0]),
        (none(), asc("createdate"), &[0, 1, 2, 3, 4]),
        (none(), desc("lastmodifieddate"), &[0, 2, 4, 3, 1]),
        (none(), asc("hs_lastmodifieddate"), &[1, 3, 4, 2, 0]),
        (none(), desc("hs_object_id"), &[4, 3, 2, 1, 0]),
        // Direction is optional (ascending).
        (
            has("p_num"),
            json!([{"propertyName": "p_num"}]),
            &[3, 1, 0, 2],
        ),
        // Only the first sort is honored; a second one is accepted.
        (
            has("p_num"),
            json!([{"propertyName": "p_num", "direction": "DESCENDING"},
                   {"propertyName": "firstname", "direction": "ASCENDING"}]),
            &[2, 0, 1, 3],
        ),
    ];
    for (filters, sorts, expected) in checks {
        if let Some(f) = fx.sorted(filters, sorts, expected).await {
            failures.push(f);
        }
    }
    assert!(failures.is_empty(), "sorting:\n  {}", failures.join("\n  "));

    // Sorted paging: pages continue the same order without gaps or repeats.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut body = json!({"sorts": desc("firstname"), "limit": 2});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let ans = fx.search(body).await;
        seen.extend(page_ids(&ans));
        assert_eq!(total(&ans), 5);
        match next_after(&ans) {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(seen, fx.pick(&[1, 4, 3, 2, 0]));
}

#[tokio::test]
async fn search_query_matches_default_text_properties() {
    let fx = Fx::new().await;
    let q = |text: &str| json!({"query": text, "limit": 100});
    let cases: Vec<(Value, &[usize])> = vec![
        (q("Ada"), &[0]),
        (q("lovelace"), &[0]),
        (q("HOPPER"), &[1]),
        (q("grace@example.com"), &[1]),
        (q("Turing"), &[2]),
        (q("nobody-matches-this"), &[]),
        // `query` applies on top of the filters.
        (
            json!({"query": "alan", "filterGroups": [group_of(&fv("p_num", "GT", "100"))]}),
            &[2],
        ),
        (
            json!({"query": "ada", "filterGroups": [group_of(&fv("p_num", "GT", "100"))]}),
            &[],
        ),
        // A custom property is not a default searchable property.
        (q("Goodbye"), &[]),
        // LIKE wildcards in the text are plain characters.
        (q("%"), &[]),
        (q("_"), &[]),
        (q("a%e"), &[]),
    ];
    let upd = fx
        .app
        .patch(
            &fx.t,
            &format!("/crm/v3/objects/contacts/{}", fx.ids[3]),
            json!({"properties": {"company": "Initech"}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    let mut cases = cases;
    cases.push((q("initech"), &[3]));
    let mut failures = Vec::new();
    for (body, expected) in cases {
        let ans = fx.search(body.clone()).await;
        let got = page_ids(&ans);
        if got != fx.pick(expected) || total(&ans) != expected.len() as u64 {
            let names: Vec<String> = got.iter().map(|i| fx.name(i)).collect();
            failures.push(format!("{body}: expected {expected:?}, got {names:?}"));
        }
    }
    assert!(failures.is_empty(), "query:\n  {}", failures.join("\n  "));

    // Exactly 3,000 characters is allowed.
    let ans = fx.search(q(&"x".repeat(3000))).await;
    assert_eq!(page_ids(&ans), Vec::<String>::new());

    // Companies: name and domain.
    let c = create_one(
        &fx.app,
        &fx.t,
        "companies",
        json!({"name": "Analytical Engines", "domain": "engines.example"}),
    )
    .await;
    create_one(
        &fx.app,
        &fx.t,
        "companies",
        json!({"name": "Difference Works", "domain": "works.example"}),
    )
    .await;
    let ans = search(&fx.app, &fx.t, "companies", q("analytical")).await;
    assert_eq!(page_ids(&ans), [c.as_str()]);
    let ans = search(&fx.app, &fx.t, "companies", q("engines.example")).await;
    assert_eq!(page_ids(&ans), [c]);
}

#[tokio::test]
async fn search_response_shape_and_properties_projection() {
    let fx = Fx::new().await;
    // Defaults (hubspot-behavior.md §1.4 / the search guide).
    let ans = fx.search(json!({"limit": 2})).await;
    assert_eq!(page_ids(&ans), fx.pick(&[0, 1]));
    assert_eq!(keys_at(&ans.text, ""), ["total", "results", "paging"]);
    assert_eq!(keys_at(&ans.text, "paging"), ["next"]);
    assert_eq!(
        keys_at(&ans.text, "paging/next"),
        ["after"],
        "no link on search paging"
    );
    assert_eq!(ans.body["paging"]["next"]["after"], "2");
    assert_eq!(total(&ans), 5);
    // Search answers carry no rate-limit headers (hubspot-behavior.md §6.2).
    assert!(
        !ans.headers
            .keys()
            .any(|k| k.as_str().starts_with("x-hubspot-ratelimit")),
        "{:?}",
        ans.headers
    );
    for (i, r) in ans.body["results"]
        .as_array()
        .expect("r")
        .iter()
        .enumerate()
    {
        assert_record_shape(&ans.text, &format!("results/{i}"), r);
        assert_eq!(r["archived"], false);
        assert_eq!(
            prop_names(r),
            [
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname"
            ]
        );
        assert_eq!(prop(r, "hs_object_id"), &r["id"]);
    }
    let r0 = &ans.body["results"][0];
    assert_eq!(prop(r0, "email"), "ada@example.com");
    assert_eq!(prop(r0, "firstname"), "Ada");
    assert_eq!(r0["createdAt"], fx.created[0].as_str());
    assert_eq!(r0["updatedAt"], fx.updated[0].as_str());
    assert_eq!(prop(r0, "createdate"), fx.created[0].as_str());
    assert_eq!(prop(r0, "lastmodifieddate"), fx.updated[0].as_str());

    // Requested properties, with their stored (normalized) values.
    let ans = fx
        .search(json!({
            "properties": ["p_num", "p_multi", "p_date", "p_dt", "p_bool", "firstname", "no_such_property"],
            "filterGroups": [group_of(&fl("hs_object_id", "IN", &[&fx.ids[2], &fx.ids[3]]))],
        }))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[2, 3]));
    let results = ans.body["results"].as_array().expect("results");
    for (i, r) in results.iter().enumerate() {
        assert_record_shape(&ans.text, &format!("results/{i}"), r);
        let names = prop_names(r);
        for wanted in ["firstname", "hs_object_id", "p_num"] {
            assert!(names.iter().any(|n| n == wanted), "{wanted} in {names:?}");
        }
        for absent in ["email", "lastname", "p_str", "no_such_property"] {
            assert!(
                !names.iter().any(|n| n == absent),
                "{absent} not requested: {names:?}"
            );
        }
    }
    let r2 = &results[0];
    assert_eq!(prop(r2, "p_num"), "100.5");
    assert_eq!(prop(r2, "p_multi"), "strawberry");
    assert_eq!(prop(r2, "p_date"), "999907200000");
    assert_eq!(prop(r2, "p_dt"), "2024-01-01T00:00:00Z");
    assert_eq!(prop(r2, "p_bool"), "true");
    assert_eq!(prop(r2, "firstname"), "Alan");
    let r3 = &results[1];
    assert_eq!(prop(r3, "p_num"), "-5");
    assert!(prop(r3, "p_dt").is_null(), "unset requested property: {r3}");

    // Served under the date-versioned path too, same answer.
    let body =
        json!({"filterGroups": [group_of(&fv("p_num", "GT", "9"))], "properties": ["p_num"]});
    let v3 = fx.search(body.clone()).await;
    let dated = fx
        .app
        .post(&fx.t, "/crm/objects/2026-03/contacts/search", body)
        .await;
    assert_eq!(page_ids(&dated), fx.pick(&[0, 2]), "{}", dated.text);
    assert_eq!(dated.body, v3.body);
    // The type may also be named by id.
    let by_id = search(
        &fx.app,
        &fx.t,
        "0-1",
        json!({"filterGroups": [group_of(&fv("p_num", "GT", "9"))]}),
    )
    .await;
    assert_eq!(page_ids(&by_id), fx.pick(&[0, 2]));
}

// ---------------------------------------------------------------------------------------
// paging and the 10,000-result window
// ---------------------------------------------------------------------------------------

async fn batch_companies(app: &TestApp, t: &str, n: usize, prefix: &str) -> Vec<String> {
    let inputs: Vec<Value> = (0..n)
        .map(|i| json!({"properties": {"name": format!("{prefix}{i:03}"), "city": "Oslo"}}))
        .collect();
    let ans = app
        .post(
            t,
            "/crm/v3/objects/companies/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(ans.status, 201, "{}", ans.text);
    let mut ids: Vec<i64> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["id"].as_str().expect("id").parse().expect("num"))
        .collect();
    ids.sort_unstable();
    ids.into_iter().map(|i| i.to_string()).collect()
}

#[tokio::test]
async fn search_paging_to_the_end() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = batch_companies(&app, &t, 25, "c").await;
    let oslo = json!([group_of(&fv("city", "EQ", "oslo"))]);

    // Default limit 10; `after` is the stringified offset.
    let first = search(&app, &t, "companies", json!({"filterGroups": oslo})).await;
    assert_eq!(page_ids(&first), ids[..10]);
    assert_eq!(total(&first), 25);
    assert_eq!(next_after(&first).as_deref(), Some("10"));
    let second = search(
        &app,
        &t,
        "companies",
        json!({"filterGroups": oslo, "after": "10"}),
    )
    .await;
    assert_eq!(page_ids(&second), ids[10..20]);
    assert_eq!(total(&second), 25);
    assert_eq!(next_after(&second).as_deref(), Some("20"));
    let last = search(
        &app,
        &t,
        "companies",
        json!({"filterGroups": oslo, "after": "20"}),
    )
    .await;
    assert_eq!(page_ids(&last), ids[20..]);
    assert_eq!(total(&last), 25);
    assert!(
        last.body.get("paging").is_none(),
        "no paging on the last page: {}",
        last.text
    );
    assert_eq!(keys_at(&last.text, ""), ["total", "results"]);

    // Following paging.next collects everything once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut body = json!({"limit": 7});
        if let Some(a) = &after {
            body["after"] = json!(a);
        }
        let ans = search(&app, &t, "companies", body).await;
        pages += 1;
        seen.extend(page_ids(&ans));
        match next_after(&ans) {
            Some(a) => after = Some(a),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, ids);

    // An exact page boundary has no next page.
    let exact = search(&app, &t, "companies", json!({"limit": 25})).await;
    assert_eq!(page_ids(&exact), ids);
    assert!(exact.body.get("paging").is_none(), "{}", exact.text);
    let short = search(&app, &t, "companies", json!({"limit": 24})).await;
    assert_eq!(next_after(&short).as_deref(), Some("24"));
    // Past the end: no results, still the total, no paging.
    let past = search(&app, &t, "companies", json!({"after": "30"})).await;
    assert_eq!(page_ids(&past), Vec::<String>::new());
    assert_eq!(total(&past), 25);
    assert!(past.body.get("paging").is_none(), "{}", past.text);
    // `limit` as the official clients send it (a number) and `after` as a string.
    let mixed = search(&app, &t, "companies", json!({"limit": 5, "after": "5"})).await;
    assert_eq!(page_ids(&mixed), ids[5..10]);
    assert_eq!(next_after(&mixed).as_deref(), Some("10"));
    // No matches at all.
    let none = search(
        &app,
        &t,
        "companies",
        json!({"filterGroups": [group_of(&fv("city", "EQ", "bergen"))]}),
    )
    .await;
    assert_eq!(none.text, r#"{"total":0,"results":[]}"#);
}

#[tokio::test]
async fn search_limit_bounds() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    batch_companies(&app, &t, 100, "a").await;
    batch_companies(&app, &t, 100, "b").await;
    batch_companies(&app, &t, 5, "c").await;
    let ans = search(&app, &t, "companies", json!({"limit": 200})).await;
    assert_eq!(page_ids(&ans).len(), 200);
    assert_eq!(total(&ans), 205);
    assert_eq!(next_after(&ans).as_deref(), Some("200"));
    let rest = search(&app, &t, "companies", json!({"limit": 200, "after": "200"})).await;
    assert_eq!(page_ids(&rest).len(), 5);
    assert!(rest.body.get("paging").is_none(), "{}", rest.text);
    // Over the maximum: refused, or capped at 200.
    let big = search(&app, &t, "companies", json!({"limit": 201})).await;
    if big.status == 400 {
        assert_eq!(big.body["category"], "VALIDATION_ERROR", "{}", big.text);
        assert_wire_error(&big);
    } else {
        assert!(page_ids(&big).len() <= 200, "limit 201: {}", big.text);
    }
}

#[tokio::test]
async fn search_result_window_is_10000() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let records: Vec<Value> = (0..10_005)
        .map(|i| json!({"name": format!("bulk{i:05}")}))
        .collect();
    let ids = import_records(&app, 1, "companies", &[], records).await;
    assert_eq!(ids.len(), 10_005);

    // The total counts every match, also beyond the window.
    let first = search(&app, &t, "companies", json!({})).await;
    assert_eq!(total(&first), 10_005);
    assert_eq!(next_after(&first).as_deref(), Some("10"));
    // The page ending at 10,000 offers no next page (it would be refused).
    let edge = search(&app, &t, "companies", json!({"after": "9990"})).await;
    assert_eq!(page_ids(&edge), ids[9990..10_000]);
    assert_eq!(total(&edge), 10_005);
    assert!(
        edge.body.get("paging").is_none(),
        "no paging.next at the 10,000 window: {}",
        edge.text
    );
    let before = search(&app, &t, "companies", json!({"after": "9985", "limit": 5})).await;
    assert_eq!(next_after(&before).as_deref(), Some("9990"));
    let big = search(
        &app,
        &t,
        "companies",
        json!({"after": "9800", "limit": 200}),
    )
    .await;
    assert_eq!(page_ids(&big), ids[9800..10_000]);
    assert!(big.body.get("paging").is_none(), "{}", big.text);
    let last = search(&app, &t, "companies", json!({"after": "9999", "limit": 1})).await;
    assert_eq!(page_ids(&last), ids[9999..10_000]);
    assert!(last.body.get("paging").is_none(), "{}", last.text);
    // Asking past the window is a 400.
    for after in ["10000", "10001", "20000"] {
        let ans = search(&app, &t, "companies", json!({ "after": after })).await;
        assert_error(
            &ans,
            400,
            Some("VALIDATION_ERROR"),
            "Search results are limited to 10000 records: after must be less than 10000",
        );
    }
    // Results past position 10,000 are never reachable: a page crossing the window
    // stops at it (or the request is refused).
    let crossing = search(&app, &t, "companies", json!({"after": "9995", "limit": 10})).await;
    if crossing.status == 400 {
        assert_eq!(
            crossing.body["category"], "VALIDATION_ERROR",
            "{}",
            crossing.text
        );
    } else {
        assert_eq!(
            page_ids(&crossing),
            ids[9995..10_000],
            "records past the 10,000 window returned: {} results",
            crossing.body["results"].as_array().map_or(0, Vec::len)
        );
        assert!(crossing.body.get("paging").is_none(), "{}", crossing.text);
    }
}

// ---------------------------------------------------------------------------------------
// archived records, read-your-writes, associations
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_never_returns_archived_records() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ids = create_contacts(
        &app,
        &t,
        &["keep1@example.com", "gone@example.com", "keep2@example.com"],
    )
    .await;
    let del = app
        .delete(&t, &format!("/crm/v3/objects/contacts/{}", ids[1]))
        .await;
    assert_eq!(del.status, 204, "{}", del.text);
    let ans = search(&app, &t, "contacts", json!({})).await;
    assert_eq!(page_ids(&ans), [ids[0].clone(), ids[2].clone()]);
    assert_eq!(total(&ans), 2);
    for filter in [
        fv("hs_object_id", "EQ", &ids[1]),
        fv("email", "EQ", "gone@example.com"),
        fv("email", "CONTAINS_TOKEN", "gone"),
        fh("email", "HAS_PROPERTY"),
    ] {
        let ans = search(
            &app,
            &t,
            "contacts",
            json!({"filterGroups": [group_of(&filter)]}),
        )
        .await;
        assert!(
            !page_ids(&ans).contains(&ids[1]),
            "archived record returned for {filter}: {}",
            ans.text
        );
    }
    let ans = search(&app, &t, "contacts", json!({"query": "gone"})).await;
    assert_eq!(page_ids(&ans), Vec::<String>::new());
    // Batch archive too.
    let arch = app
        .post(
            &t,
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": ids[0]}]}),
        )
        .await;
    assert_eq!(arch.status, 204, "{}", arch.text);
    let ans = search(&app, &t, "contacts", json!({})).await;
    assert_eq!(page_ids(&ans), [ids[2].clone()]);
    assert_eq!(total(&ans), 1);
}

#[tokio::test]
async fn search_sees_writes_immediately() {
    let fx = Fx::new().await;
    let by_num = |v: &str| json!({"filterGroups": [group_of(&fv("p_num", "EQ", v))]});
    // Create, then search at once.
    let id = create_one(
        &fx.app,
        &fx.t,
        "contacts",
        json!({"email": "fresh@example.com", "p_num": "77"}),
    )
    .await;
    let ans = fx.search(by_num("77")).await;
    assert_eq!(page_ids(&ans), [id.as_str()]);
    // Update: the new value matches, the old one no longer does.
    let upd = fx
        .app
        .patch(
            &fx.t,
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"p_num": "78", "firstname": "Fresh"}}),
        )
        .await;
    assert_eq!(upd.status, 200, "{}", upd.text);
    assert_eq!(
        page_ids(&fx.search(by_num("77")).await),
        Vec::<String>::new()
    );
    assert_eq!(page_ids(&fx.search(by_num("78")).await), [id.as_str()]);
    let ans = fx
        .search(json!({"query": "fresh", "properties": ["firstname"]}))
        .await;
    assert_eq!(page_ids(&ans), [id.as_str()]);
    assert_eq!(prop(&ans.body["results"][0], "firstname"), "Fresh");
    // lastmodifieddate moves with the update.
    let updated_at = upd.body["updatedAt"].as_str().expect("updatedAt");
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fv("lastmodifieddate", "EQ", updated_at))]}))
        .await;
    assert_eq!(page_ids(&ans), [id.as_str()]);
    // Clearing a value makes it unset for search.
    let clr = fx
        .app
        .patch(
            &fx.t,
            &format!("/crm/v3/objects/contacts/{}", fx.ids[0]),
            json!({"properties": {"p_num": ""}}),
        )
        .await;
    assert_eq!(clr.status, 200, "{}", clr.text);
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fh("p_num", "NOT_HAS_PROPERTY"))]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[0, 4]));
    let ans = fx.search(by_num("10")).await;
    assert_eq!(page_ids(&ans), Vec::<String>::new());
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fv("p_num", "LT", "1"))]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[3]), "a cleared number is not 0");
    // Batch update, then search.
    let bu = fx
        .app
        .post(
            &fx.t,
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": fx.ids[1], "properties": {"p_enum": "blue"}}]}),
        )
        .await;
    assert_eq!(bu.status, 200, "{}", bu.text);
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fv("p_enum", "EQ", "blue"))]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[1, 2]));
    // Archive: gone at once.
    let del = fx
        .app
        .delete(&fx.t, &format!("/crm/v3/objects/contacts/{id}"))
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        page_ids(&fx.search(by_num("78")).await),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn search_association_pseudo_filter() {
    let fx = Fx::new().await;
    let (app, t) = (&fx.app, fx.t.as_str());
    let c0 = create_one(app, t, "companies", json!({"name": "Engines"})).await;
    let c1 = create_one(app, t, "companies", json!({"name": "Compilers"})).await;
    let c2 = create_one(app, t, "companies", json!({"name": "Lonely"})).await;
    put_default_association(app, t, "contacts", &fx.ids[0], "companies", &c0).await;
    put_default_association(app, t, "contacts", &fx.ids[1], "companies", &c0).await;
    put_default_association(app, t, "contacts", &fx.ids[2], "companies", &c1).await;
    put_default_association(app, t, "contacts", &fx.ids[4], "companies", &c1).await;

    let a = "associations.company";
    fx.cases(
        "associations.company",
        vec![
            (fv(a, "EQ", &c0), &[0, 1]),
            (fv(a, "EQ", &c1), &[2, 4]),
            (fv(a, "EQ", &c2), &[]),
            (fv(a, "EQ", "999999999"), &[]),
            (fl(a, "IN", &[&c0, &c1]), &[0, 1, 2, 4]),
            (fl(a, "IN", &[&c2, &c1]), &[2, 4]),
            // With other filters, ANDed.
            (json!([fv(a, "EQ", &c0), fv("p_num", "LT", "10")]), &[1]),
            (
                json!([fl(a, "IN", &[&c0, &c1]), fh("p_num", "NOT_HAS_PROPERTY")]),
                &[4],
            ),
        ],
    )
    .await;
    // The other direction: companies associated with a contact.
    let ans = search(
        app,
        t,
        "companies",
        json!({"filterGroups": [group_of(&fv("associations.contact", "EQ", &fx.ids[2]))]}),
    )
    .await;
    assert_eq!(page_ids(&ans), [c1.as_str()]);
    let ans = search(
        app,
        t,
        "companies",
        json!({"filterGroups": [group_of(&fl("associations.contact", "IN", &[&fx.ids[0], &fx.ids[2]]))]}),
    )
    .await;
    assert_eq!(page_ids(&ans), [c0.clone(), c1.clone()]);
    // In an OR with a property group.
    let ans = fx
        .search(json!({"filterGroups": [
            group_of(&fv(a, "EQ", &c1)),
            group_of(&fv("p_num", "EQ", "-5")),
        ]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[2, 3, 4]));
    // An archived contact is not returned even though it is associated.
    let del = app
        .delete(t, &format!("/crm/v3/objects/contacts/{}", fx.ids[1]))
        .await;
    assert_eq!(del.status, 204);
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fv(a, "EQ", &c0))]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[0]));
    // Removing the association removes the match.
    let rm = app
        .call(
            Method::DELETE,
            Some(t),
            &format!(
                "/crm/v4/objects/contacts/{}/associations/companies/{c1}",
                fx.ids[4]
            ),
            None,
        )
        .await;
    assert_eq!(rm.status, 204, "{}", rm.text);
    let ans = fx
        .search(json!({"filterGroups": [group_of(&fv(a, "EQ", &c1))]}))
        .await;
    assert_eq!(page_ids(&ans), fx.pick(&[2]));
}

// ---------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_validation_errors() {
    let fx = Fx::new().await;
    let groups = |n: usize, per: usize| -> Value {
        let g: Vec<Value> = (0..n)
            .map(|_| {
                let filters: Vec<Value> = (0..per).map(|_| fh("email", "HAS_PROPERTY")).collect();
                json!({ "filters": filters })
            })
            .collect();
        json!({ "filterGroups": g })
    };
    let in_group = |filter: Value| json!({"filterGroups": [group_of(&filter)]});
    let nineteen = json!({"filterGroups": [
        groups(1, 6)["filterGroups"][0], groups(1, 6)["filterGroups"][0],
        groups(1, 6)["filterGroups"][0], groups(1, 1)["filterGroups"][0],
    ]});
    let id = "hs_object_id";
    let cases: Vec<(Value, String)> = vec![
        (groups(6, 1), "Too many filter groups: 6 (the maximum is 5)".into()),
        (
            groups(1, 7),
            "Too many filters in a filter group: 7 (the maximum is 6)".into(),
        ),
        (
            nineteen,
            "Too many filters: 19 (the maximum is 18 across all filter groups)".into(),
        ),
        (
            json!({ "query": "q".repeat(3001) }),
            "query is longer than the maximum of 3000 characters".into(),
        ),
        (
            json!({ "after": "10000" }),
            "Search results are limited to 10000 records: after must be less than 10000".into(),
        ),
        (
            in_group(fv("no_such_property", "EQ", "x")),
            "Property \"no_such_property\" does not exist".into(),
        ),
        (
            json!({"sorts": [{"propertyName": "no_such_property", "direction": "ASCENDING"}]}),
            "Property \"no_such_property\" does not exist".into(),
        ),
        (
            in_group(fv("email", "LIKE", "x")),
            "Unknown operator LIKE. Use one of: EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN".into(),
        ),
        (in_group(fh("email", "EQ")), "operator EQ requires a value".into()),
        (in_group(fh("p_num", "GT")), "operator GT requires a value".into()),
        (
            in_group(json!({"propertyName": "email", "operator": "NEQ", "value": null})),
            "operator NEQ requires a value".into(),
        ),
        (
            in_group(fv("p_num", "BETWEEN", "1")),
            "operator BETWEEN requires a highValue".into(),
        ),
        (
            in_group(fv("email", "IN", "a@example.com")),
            "operator IN requires values".into(),
        ),
        (in_group(fl("email", "IN", &[])), "operator IN requires values".into()),
        (in_group(fh("email", "NOT_IN")), "operator NOT_IN requires values".into()),
        (
            in_group(fh("email", "CONTAINS_TOKEN")),
            "operator CONTAINS_TOKEN requires a value".into(),
        ),
        (
            in_group(fh("email", "NOT_CONTAINS_TOKEN")),
            "operator NOT_CONTAINS_TOKEN requires a value".into(),
        ),
        (
            in_group(fv(id, "CONTAINS_TOKEN", "1")),
            format!("operator CONTAINS_TOKEN is not supported for property {id}: it applies to text properties only"),
        ),
        (
            in_group(fv("createdate", "NOT_CONTAINS_TOKEN", "*")),
            "operator NOT_CONTAINS_TOKEN is not supported for property createdate: it applies to text properties only".into(),
        ),
        (
            in_group(fv("lastmodifieddate", "CONTAINS_TOKEN", "2026*")),
            "operator CONTAINS_TOKEN is not supported for property lastmodifieddate: it applies to text properties only".into(),
        ),
        (
            in_group(fv("p_num", "EQ", "ten")),
            "ten is not a valid number for p_num".into(),
        ),
        (
            in_group(fb("p_num", "1", "many")),
            "many is not a valid number for p_num".into(),
        ),
        (
            in_group(fl("p_num", "IN", &["1", "two"])),
            "two is not a valid number for p_num".into(),
        ),
        (
            in_group(fv("p_date", "LT", "yesterday")),
            "yesterday is not a valid date or datetime value for p_date".into(),
        ),
        (
            in_group(fv("p_dt", "GT", "2024-13-45T99:00:00Z")),
            "2024-13-45T99:00:00Z is not a valid date or datetime value for p_dt".into(),
        ),
        (
            in_group(fv("createdate", "GT", "soon")),
            "soon is not a valid date or datetime value for createdate".into(),
        ),
        (
            in_group(fv(id, "EQ", "abc")),
            "abc is not a valid object id for hs_object_id".into(),
        ),
        (
            in_group(json!({"operator": "EQ", "value": "x"})),
            "Cannot build Filter, some of required attributes are not set [propertyName]".into(),
        ),
        (
            in_group(json!({"propertyName": "email", "value": "x"})),
            "Cannot build Filter, some of required attributes are not set [operator]".into(),
        ),
        (
            in_group(json!({})),
            "Cannot build Filter, some of required attributes are not set [propertyName, operator]"
                .into(),
        ),
        (
            json!({ "limit": "ten" }),
            "limit must be a non-negative integer, got ten".into(),
        ),
        (
            json!({ "after": "abc" }),
            "after must be a non-negative integer, got abc".into(),
        ),
        (
            in_group(fv("associations.nosuchtype", "EQ", "1")),
            "Unable to infer object type from: nosuchtype".into(),
        ),
        (
            in_group(fv("associations.company", "GT", "1")),
            "Association filters support only EQ and IN, not GT".into(),
        ),
        (
            in_group(fh("associations.company", "HAS_PROPERTY")),
            "Association filters support only EQ and IN, not HAS_PROPERTY".into(),
        ),
        (
            in_group(fv("associations.company", "EQ", "acme")),
            "acme is not a valid object id for associations.company".into(),
        ),
    ];
    let mut failures = Vec::new();
    for (body, message) in cases {
        let ans = fx.search(body.clone()).await;
        let ok = ans.status == 400
            && ans.body["status"] == "error"
            && ans.body["category"] == "VALIDATION_ERROR"
            && ans.body["message"] == message.as_str();
        if ok {
            assert_wire_error(&ans);
        } else {
            let shown = body.to_string();
            let shown = if shown.len() > 200 {
                format!("{}…", &shown[..200])
            } else {
                shown
            };
            failures.push(format!(
                "{shown}: expected 400 VALIDATION_ERROR {message:?}, got {} {}",
                ans.status, ans.text
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} error case(s) wrong:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );

    // Malformed and missing bodies.
    let bad = fx
        .app
        .post_raw(
            &fx.t,
            "/crm/v3/objects/contacts/search",
            "{\"filterGroups\": [",
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.body["category"], "VALIDATION_ERROR");
    assert!(
        bad.body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid input JSON on line 1")),
        "{}",
        bad.text
    );
    assert_wire_error(&bad);
    let empty = fx
        .app
        .post_raw(&fx.t, "/crm/v3/objects/contacts/search", "")
        .await;
    assert_error(
        &empty,
        400,
        Some("VALIDATION_ERROR"),
        "Invalid JSON input: a request body was expected, but none found",
    );
}

#[tokio::test]
async fn search_unknown_type_and_missing_scope() {
    let app = TestApp::spawn().await;
    let t = app.token(1, &["all"]).await;
    let ans = search(&app, &t, "nosuchtype", json!({})).await;
    assert_error(
        &ans,
        400,
        None,
        "Unable to infer object type from: nosuchtype",
    );
    let companies_only = app.token(1, &["crm.objects.companies.read"]).await;
    let ok = search(&app, &companies_only, "companies", json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let denied = search(&app, &companies_only, "contacts", json!({})).await;
    assert_error(&denied, 403, Some("MISSING_SCOPES"), SCOPES_MESSAGE);
    let anonymous = app
        .call(
            Method::POST,
            None,
            "/crm/v3/objects/contacts/search",
            Some(json!({})),
        )
        .await;
    assert_error(
        &anonymous,
        401,
        Some("INVALID_AUTHENTICATION"),
        AUTH_MESSAGE,
    );
}
