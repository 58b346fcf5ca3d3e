//! Shared helpers for the HTTP tests: key-order inspection of raw JSON, HubSpot error-body
//! assertions, and fixtures (contacts, custom properties, records loaded through the store).

use std::collections::BTreeMap;
use std::fmt;

use reqwest::StatusCode;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};
use spoke_core::{ObjectType, PortalId};
use spoke_store::{NewObject, WriteContext, WriteSource};

use crate::harness::{Answer, TestApp};

/// HubSpot's 401 message (hubspot-behavior.md §2.4).
pub const AUTH_MESSAGE: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";
/// HubSpot's 403 message (§2.5).
pub const SCOPES_MESSAGE: &str = "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.";
pub const BATCH_LIMIT_MESSAGE: &str = "The maximum number of inputs supported in a batch is 100. Please reduce the number of items and try again";
pub const HISTORY_LIMIT_MESSAGE: &str = "The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again";

/// A JSON value that remembers the order of object keys as sent on the wire.
#[derive(Debug, Clone)]
pub enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar,
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(Ordered::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Ordered>()? {
                    out.push((k, v));
                }
                Ok(Ordered::Object(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Ordered {
    /// Follows a path of object keys and array indices (`"results/0/properties"`).
    pub fn at(&self, path: &str) -> &Ordered {
        let mut cur = self;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            cur = match cur {
                Ordered::Object(entries) => entries
                    .iter()
                    .find(|(k, _)| k == part)
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| panic!("no key {part} in path {path}")),
                Ordered::Array(items) => {
                    let i: usize = part.parse().expect("array index");
                    items
                        .get(i)
                        .unwrap_or_else(|| panic!("no index {i} in {path}"))
                }
                Ordered::Scalar => panic!("scalar at {part} in {path}"),
            };
        }
        cur
    }

    pub fn keys(&self) -> Vec<String> {
        match self {
            Ordered::Object(entries) => entries.iter().map(|(k, _)| k.clone()).collect(),
            _ => panic!("not an object"),
        }
    }
}

/// The keys of the object at `path` in the raw response text, in wire order.
pub fn keys_at(text: &str, path: &str) -> Vec<String> {
    let tree: Ordered = serde_json::from_str(text).expect("response is JSON");
    tree.at(path).keys()
}

pub fn is_sorted(keys: &[String]) -> bool {
    keys.windows(2).all(|w| w[0] < w[1])
}

/// `2025-11-03T23:36:13.632Z` or `2025-02-18T09:12:17Z` (hubspot-behavior.md §0).
pub fn is_iso_millis(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let base = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !base {
        return false;
    }
    match b.len() {
        20 => b[19] == b'Z',
        24 => b[19] == b'.' && digits(20..23) && b[23] == b'Z' && &s[20..23] != "000",
        _ => false,
    }
}

/// A lowercase hyphenated UUID.
/// The instant of a record's `field` (`createdAt`, `updatedAt`): compared as instants, since
/// the wire drops `.000` (as HubSpot does), so the texts do not sort as the times do.
pub fn instant_of(record: &Value, field: &str) -> i64 {
    record[field]
        .as_str()
        .and_then(spoke_core::time::parse_iso)
        .unwrap_or_else(|| panic!("{field} is an ISO instant: {record}"))
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// Checks the wire details every error shares and returns the body:
/// status code, `"status":"error"`, the message, the correlation id (valid UUID, equal to
/// the header), the content type, and the category (or its absence).
pub fn assert_error<'a>(
    ans: &'a Answer,
    status: u16,
    category: Option<&str>,
    message: &str,
) -> &'a Value {
    assert_eq!(ans.status.as_u16(), status, "status; body: {}", ans.text);
    assert_eq!(ans.body["status"], "error", "{}", ans.text);
    assert_eq!(ans.body["message"], message, "message; body: {}", ans.text);
    match category {
        Some(c) => assert_eq!(ans.body["category"], c, "category; body: {}", ans.text),
        None => assert!(
            ans.body.get("category").is_none(),
            "no category expected; body: {}",
            ans.text
        ),
    }
    assert_wire_error(ans);
    &ans.body
}

/// Wire details of any error body: content type, correlation id header = body, UUID shape.
pub fn assert_wire_error(ans: &Answer) {
    assert_json_content_type(ans);
    let header = ans
        .headers
        .get("x-hubspot-correlation-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no correlation header on {}", ans.text));
    assert_eq!(ans.body["correlationId"], header, "{}", ans.text);
    assert!(
        is_uuid(header),
        "correlation id {header} is not a lowercase UUID"
    );
}

pub fn assert_json_content_type(ans: &Answer) {
    assert_eq!(
        ans.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json;charset=utf-8"),
        "content type of {} {}",
        ans.status,
        ans.text
    );
}

/// A successful batch envelope: the status code, `COMPLETE`, ISO timestamps, and no
/// `errors`/`numErrors`/`requestedAt`/`links` keys. Returns the results.
pub fn assert_batch_ok(ans: &Answer, status: u16) -> &Vec<Value> {
    assert_eq!(ans.status.as_u16(), status, "{}", ans.text);
    assert_json_content_type(ans);
    let body = ans.body.as_object().expect("batch body is an object");
    assert_eq!(body["status"], "COMPLETE", "{}", ans.text);
    for absent in ["errors", "numErrors", "requestedAt", "links"] {
        assert!(
            !body.contains_key(absent),
            "unexpected {absent}: {}",
            ans.text
        );
    }
    for ts in ["startedAt", "completedAt"] {
        assert!(
            body[ts].as_str().is_some_and(is_iso_millis),
            "{ts} not ISO: {}",
            ans.text
        );
    }
    assert_eq!(
        keys_at(&ans.text, ""),
        ["status", "results", "startedAt", "completedAt"],
        "envelope key order"
    );
    body["results"].as_array().expect("results array")
}

/// A 207 batch envelope with errors; returns (results, errors).
pub fn assert_batch_partial(ans: &Answer) -> (&Vec<Value>, &Vec<Value>) {
    assert_eq!(ans.status.as_u16(), 207, "{}", ans.text);
    assert_json_content_type(ans);
    assert_eq!(ans.body["status"], "COMPLETE", "{}", ans.text);
    let errors = ans.body["errors"].as_array().expect("errors array");
    assert_eq!(
        ans.body["numErrors"].as_u64(),
        Some(errors.len() as u64),
        "numErrors = errors.len(): {}",
        ans.text
    );
    assert_eq!(
        keys_at(&ans.text, ""),
        [
            "status",
            "results",
            "numErrors",
            "errors",
            "startedAt",
            "completedAt"
        ],
        "207 envelope key order"
    );
    (
        ans.body["results"].as_array().expect("results array"),
        errors,
    )
}

/// The record shape shared by every objects response.
pub fn assert_record_shape(text: &str, path: &str, record: &Value) {
    assert!(record["id"].is_string(), "id is a string: {record}");
    assert!(
        record["createdAt"].as_str().is_some_and(is_iso_millis),
        "{record}"
    );
    assert!(
        record["updatedAt"].as_str().is_some_and(is_iso_millis),
        "{record}"
    );
    assert!(record["archived"].is_boolean(), "{record}");
    let props = record["properties"].as_object().expect("properties object");
    for (k, v) in props {
        assert!(
            v.is_string() || v.is_null(),
            "property {k} is not a string: {v}"
        );
    }
    let keys = keys_at(text, &format!("{path}/properties"));
    assert!(is_sorted(&keys), "properties keys sorted: {keys:?}");
    let order = keys_at(text, path);
    let expected: Vec<&str> = [
        "id",
        "properties",
        "propertiesWithHistory",
        "createdAt",
        "updatedAt",
        "archived",
        "archivedAt",
    ]
    .into_iter()
    .filter(|k| order.iter().any(|o| o == k))
    .collect();
    let known: Vec<&String> = order
        .iter()
        .filter(|k| expected.contains(&k.as_str()))
        .collect();
    assert_eq!(known, expected, "record key order in {order:?}");
}

pub fn prop<'a>(record: &'a Value, name: &str) -> &'a Value {
    &record["properties"][name]
}

/// Property names of a record, sorted.
pub fn prop_names(record: &Value) -> Vec<String> {
    record["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect()
}

pub fn ids_of(results: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = results
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Creates contacts by batch; returns their ids in input order (matched by email).
pub async fn create_contacts(app: &TestApp, token: &str, emails: &[&str]) -> Vec<String> {
    let inputs: Vec<Value> = emails
        .iter()
        .map(|e| json!({"properties": {"email": e}}))
        .collect();
    let ans = app
        .post(
            token,
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
    let by_email: BTreeMap<String, String> = ans.body["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["properties"]["email"].as_str().expect("email").to_owned(),
                r["id"].as_str().expect("id").to_owned(),
            )
        })
        .collect();
    emails
        .iter()
        .map(|e| by_email[&e.to_lowercase()].clone())
        .collect()
}

/// Creates one record through the single-create endpoint and returns its id.
pub async fn create_one(app: &TestApp, token: &str, ty: &str, properties: Value) -> String {
    let ans = app
        .post(
            token,
            &format!("/crm/v3/objects/{ty}"),
            json!({ "properties": properties }),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
    ans.body["id"].as_str().expect("id").to_owned()
}

/// Lists every live record of a type (following paging) and returns their ids.
pub async fn list_all_ids(app: &TestApp, token: &str, ty: &str, archived: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/crm/v3/objects/{ty}?limit=100&archived={archived}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let ans = app.get(token, &path).await;
        assert_eq!(ans.status, StatusCode::OK, "{}", ans.text);
        out.extend(ids_of(ans.body["results"].as_array().expect("results")));
        match ans.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    out
}

/// Creates a custom property group `name` on `ty`.
pub async fn create_group(app: &TestApp, token: &str, ty: &str, name: &str) {
    let ans = app
        .post(
            token,
            &format!("/crm/v3/properties/{ty}/groups"),
            json!({"name": name, "label": name, "displayOrder": 1}),
        )
        .await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
}

/// Creates a custom property on `ty` in group `spoke_tests` (created on first use).
pub async fn create_property(app: &TestApp, token: &str, ty: &str, mut def: Value) -> Answer {
    let groups = app
        .get(
            token,
            &format!("/crm/v3/properties/{ty}/groups/spoke_tests"),
        )
        .await;
    if groups.status == StatusCode::NOT_FOUND {
        create_group(app, token, ty, "spoke_tests").await;
    }
    if def.get("groupName").is_none() {
        def["groupName"] = json!("spoke_tests");
    }
    if def.get("label").is_none() {
        def["label"] = def["name"].clone();
    }
    app.post(token, &format!("/crm/v3/properties/{ty}"), def)
        .await
}

pub async fn must_create_property(app: &TestApp, token: &str, ty: &str, def: Value) {
    let ans = create_property(app, token, ty, def).await;
    assert_eq!(ans.status, StatusCode::CREATED, "{}", ans.text);
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

/// The seed docs' example properties (`property_checkbox` … `property_string`).
pub async fn create_seed_properties(app: &TestApp, token: &str, ty: &str) {
    let defs = [
        json!({"name": "property_checkbox", "type": "bool", "fieldType": "booleancheckbox"}),
        json!({"name": "property_date", "type": "date", "fieldType": "date"}),
        json!({"name": "property_dropdown", "type": "enumeration", "fieldType": "select",
               "options": options(&["choice_a", "choice_b", "choice_c"])}),
        json!({"name": "property_multiple_checkboxes", "type": "enumeration", "fieldType": "checkbox",
               "options": options(&["chocolate", "strawberry", "vanilla"])}),
        json!({"name": "property_number", "type": "number", "fieldType": "number"}),
        json!({"name": "property_radio", "type": "enumeration", "fieldType": "radio",
               "options": options(&["option_1", "option_2"])}),
        json!({"name": "property_string", "type": "string", "fieldType": "text"}),
    ];
    for def in defs {
        must_create_property(app, token, ty, def).await;
    }
}

/// The seed docs' example values, as the seed responses show them.
pub fn seed_values() -> Value {
    json!({
        "property_checkbox": "false",
        "property_date": "1572480000000",
        "property_dropdown": "choice_b",
        "property_multiple_checkboxes": "chocolate;strawberry",
        "property_number": "17",
        "property_radio": "option_1",
        "property_string": "value"
    })
}

pub const SEED_NAMES: [&str; 7] = [
    "property_checkbox",
    "property_date",
    "property_dropdown",
    "property_multiple_checkboxes",
    "property_number",
    "property_radio",
    "property_string",
];

/// Loads records straight through the store, as `spoke import` does (the public API
/// refuses to create partner objects). Returns the new ids in input order.
pub async fn import_records(
    app: &TestApp,
    portal: i64,
    ty: &str,
    unique: &[&str],
    records: Vec<Value>,
) -> Vec<String> {
    let ty = ObjectType::resolve(ty).expect("known type");
    let ctx = WriteContext {
        portal: PortalId(portal),
        object_type: ty.id.as_str().to_owned(),
        now: spoke_core::time::now_millis(),
        source: WriteSource {
            source_type: "IMPORT".into(),
            source_id: Some("seed.jsonl".into()),
        },
        unique_properties: unique.iter().map(|s| (*s).to_owned()).collect(),
        atomic: true,
    };
    let items = records
        .into_iter()
        .map(|r| NewObject {
            properties: r
                .as_object()
                .expect("properties object")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("string value").to_owned()))
                .collect(),
            associations: Vec::new(),
        })
        .collect();
    app.store
        .create_objects(&ctx, items)
        .await
        .expect("store create")
        .into_iter()
        .map(|o| o.expect("created").id.to_string())
        .collect()
}
