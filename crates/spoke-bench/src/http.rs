//! The HTTP side: loading the data set through spoke's API, and the timed scenarios. The
//! requests the scenarios and the soak both send are built here once, so both measure the
//! same calls.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::data;
use crate::driver::{Batch, BoxFuture, Op, Worker};
use crate::stats::Rng;

/// Records per batch call, HubSpot's batch limit.
pub const BATCH: usize = 100;

pub const BATCH_CREATE: &str = "/crm/v3/objects/contacts/batch/create";
pub const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";
pub const BATCH_UPDATE: &str = "/crm/v3/objects/contacts/batch/update";
pub const BATCH_UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
pub const SEARCH: &str = "/crm/v3/objects/contacts/search";
pub const ASSOC_BATCH_READ: &str = "/crm/v4/associations/companies/contacts/batch/read";

/// `{"id": "…"}` inputs naming these records.
pub fn id_inputs(ids: impl IntoIterator<Item = i64>) -> Vec<Value> {
    ids.into_iter()
        .map(|id| json!({ "id": id.to_string() }))
        .collect()
}

/// A batch read of these contacts' ten properties.
pub fn batch_read(ids: Vec<i64>) -> Value {
    json!({ "inputs": id_inputs(ids), "properties": data::CONTACT_PROPERTIES })
}

/// `{"inputs":[{"id":"…"},…]` without its closing brace: the start of a batch read's body,
/// written straight into bytes. The timed batch reads send one per request, and building
/// it as a `Value` (a map per input) and then serializing it was about a fifth of the load
/// generator's CPU, taken from the server it shares the machine with.
fn id_inputs_open(ids: &[i64], extra: usize) -> Vec<u8> {
    use std::io::Write as _;
    let mut body = Vec::with_capacity(16 + ids.len() * 20 + extra);
    body.extend_from_slice(b"{\"inputs\":[");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        // Writing into a Vec cannot fail.
        let _ = write!(body, "{{\"id\":\"{id}\"}}");
    }
    body.push(b']');
    body
}

/// [`batch_read`]'s body as bytes, byte for byte what serializing it gives.
pub fn batch_read_bytes(ids: &[i64]) -> Vec<u8> {
    let mut body = id_inputs_open(ids, 140);
    body.extend_from_slice(b",\"properties\":[");
    for (i, name) in data::CONTACT_PROPERTIES.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.push(b'"');
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
    }
    body.extend_from_slice(b"]}");
    body
}

/// `{"inputs": [{"id": …}, …]}` as bytes: a v4 association batch read's body.
pub fn id_inputs_bytes(ids: &[i64]) -> Vec<u8> {
    let mut body = id_inputs_open(ids, 1);
    body.push(b'}');
    body
}

/// A batch update of these contacts, each with new values ([`data::update`] of `seq()`).
pub fn batch_update(ids: Vec<i64>, mut seq: impl FnMut() -> u64) -> Value {
    let inputs: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({ "id": id.to_string(), "properties": data::to_json(data::update(seq())) }))
        .collect();
    json!({ "inputs": inputs })
}

/// A batch upsert of the contacts with these emails ([`data::upsert`] of `seq()`).
pub fn batch_upsert(emails: impl Iterator<Item = String>, mut seq: impl FnMut() -> u64) -> Value {
    let inputs: Vec<Value> = emails
        .map(|email| {
            json!({ "id": email, "idProperty": "email",
                    "properties": data::to_json(data::upsert(seq())) })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// A search for the contact with email `n`.
pub fn search_email(n: u64) -> Value {
    json!({ "filterGroups": [{ "filters": [
        { "propertyName": "email", "operator": "EQ", "value": data::email(n) }
    ]}]})
}

/// A page of the contacts list after `after`, with these properties.
pub fn list_page(properties: &str, after: &str) -> String {
    format!("/crm/v3/objects/contacts?limit=100&properties={properties}&after={after}")
}

/// A client of one spoke server with one token.
pub struct Api {
    client: reqwest::Client,
    base: String,
    auth: String,
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(300).collect()
}

/// Why an answer's status was not the one expected, with the start of its body.
pub fn unexpected(
    method: &reqwest::Method,
    path: &str,
    (status, expect): (u16, u16),
    body: &[u8],
) -> String {
    format!(
        "{method} {path}: status {status} (expected {expect}): {}",
        snippet(body)
    )
}

impl Api {
    pub fn new(base: &str, token: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .tcp_nodelay(true)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            client,
            base: base.to_owned(),
            auth: format!("Bearer {token}"),
        })
    }

    /// One request whose status the caller judges: `Err` only when no answer arrived
    /// (connect, send or body read failed, or the client's timeout passed).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Vec<u8>), String> {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        if let Some(bytes) = body {
            req = req.header("content-type", "application/json").body(bytes);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("{method} {path}: reading the body: {e}"))?;
        // Not `to_vec()`: a copy of every answer (50-100 KB on the batch reads) was the load
        // generator's largest allocation; the body is usually one unshared buffer already.
        Ok((status, Vec::from(body)))
    }

    /// One request that must answer `expect`: its body, or why not.
    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Vec<u8>>,
        expect: u16,
    ) -> Result<Vec<u8>, String> {
        let (status, body) = self.send(method.clone(), path, body).await?;
        if status != expect {
            return Err(unexpected(&method, path, (status, expect), &body));
        }
        Ok(body)
    }

    pub async fn post(&self, path: &str, body: &Value, expect: u16) -> Result<Vec<u8>, String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        self.post_bytes(path, bytes, expect).await
    }

    pub async fn post_bytes(
        &self,
        path: &str,
        bytes: Vec<u8>,
        expect: u16,
    ) -> Result<Vec<u8>, String> {
        self.expect(reqwest::Method::POST, path, Some(bytes), expect)
            .await
    }

    pub async fn get(&self, path: &str, expect: u16) -> Result<Vec<u8>, String> {
        self.expect(reqwest::Method::GET, path, None, expect).await
    }
}

pub fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("response is not JSON ({e}): {}", snippet(body)))
}

/// `results[].id` of a batch answer, read without building a tree of the whole answer.
pub fn result_ids(body: &[u8]) -> Result<Vec<i64>, String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        results: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        id: String,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("not a batch answer ({e}): {}", snippet(body)))?;
    answer
        .results
        .into_iter()
        .map(|r| {
            r.id.parse()
                .map_err(|_| format!("result id {:?} is not a number", r.id))
        })
        .collect()
}

fn no_item_errors(v: &Value) -> Result<(), String> {
    match v.get("numErrors").and_then(Value::as_u64) {
        None | Some(0) => Ok(()),
        Some(n) => Err(format!(
            "{n} item errors, first: {}",
            v["errors"].get(0).unwrap_or(&Value::Null)
        )),
    }
}

pub fn results_len(v: &Value) -> u64 {
    v["results"].as_array().map_or(0, |a| a.len() as u64)
}

/// Creates records of one type through `batch/create`: item `i` is record number
/// `first + i`.
pub struct Create {
    pub api: Arc<Api>,
    /// `contacts`, `companies` or `deals`.
    pub object_type: &'static str,
    pub first: u64,
}

impl Create {
    async fn create(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let want = numbers.end - numbers.start;
        let body = data::create_body(numbers.map(|i| {
            let n = self.first + i;
            match self.object_type {
                "contacts" => data::contact(n),
                "deals" => data::deal(n),
                _ => data::company(n),
            }
        }));
        let path = format!("/crm/v3/objects/{}/batch/create", self.object_type);
        let ids = result_ids(&self.api.post_bytes(&path, body, 201).await?)?;
        if ids.len() as u64 != want {
            return Err(format!("{path}: {} results for {want} inputs", ids.len()));
        }
        Ok(ids)
    }
}

impl Batch for Create {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.create(numbers))
    }
}

/// Associates (contact, `to`) pairs with the default type: item `i` is `pairs[i]`.
pub struct Link {
    pub api: Arc<Api>,
    /// `companies` or `deals`.
    pub to: &'static str,
    pub pairs: Vec<(i64, i64)>,
}

impl Link {
    async fn link(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let chunk = &self.pairs[numbers.start as usize..numbers.end as usize];
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|(c, co)| json!({ "from": { "id": c.to_string() }, "to": { "id": co.to_string() } }))
            .collect();
        let path = format!(
            "/crm/v4/associations/contacts/{}/batch/associate/default",
            self.to
        );
        let body = self
            .api
            .post(&path, &json!({ "inputs": inputs }), 200)
            .await?;
        no_item_errors(&parse(&body)?)?;
        Ok(Vec::new())
    }
}

impl Batch for Link {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.link(numbers))
    }
}

/// What the timed scenarios work on, known once the data set is loaded.
pub struct DataSet {
    /// The loaded contacts (numbers `0..records`), in no particular order.
    pub contacts: Vec<i64>,
    pub records: u64,
    /// Companies with exactly 10 contacts each.
    pub companies: Vec<i64>,
    /// A contact with `hub_links` companies, and one with 10.
    pub hub: i64,
    pub hub_links: usize,
    pub ten: i64,
    /// A `lastmodifieddate` in the middle of the load (epoch ms): about half the
    /// contacts were modified after it.
    pub modified_cutoff: i64,
    /// When the contacts' load began (epoch ms): every contact was modified after it.
    pub loaded_from: i64,
}

impl DataSet {
    /// One loaded contact, at random.
    pub fn random_contact(&self, rng: &mut Rng) -> i64 {
        self.contacts[rng.below(self.contacts.len())]
    }

    /// `k` distinct loaded contacts, at random.
    pub fn random_contacts(&self, rng: &mut Rng, k: usize) -> Vec<i64> {
        pick(&self.contacts, rng, k)
    }

    /// `k` distinct companies of ten contacts each, at random.
    pub fn random_companies(&self, rng: &mut Rng, k: usize) -> Vec<i64> {
        pick(&self.companies, rng, k)
    }
}

fn pick(ids: &[i64], rng: &mut Rng, k: usize) -> Vec<i64> {
    rng.distinct(ids.len(), k)
        .into_iter()
        .map(|i| ids[i])
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    BatchCreate,
    BatchRead,
    BatchUpdate,
    BatchUpsert,
    AssocBatchRead,
    ListPage,
    SearchEmail,
    SearchModified,
    SearchAnyEq,
    SearchAnyIn,
    SearchAnyTextRange,
    SearchAnyNumberRange,
    SearchAnyToken,
    AssocPageTen,
    AssocPageHub,
    AssocPageHubSmall,
}

impl Scenario {
    /// In the order they run: reads first, so they see exactly the loaded data set; then
    /// the writes (the batch create scenario adds records for as long as it runs).
    pub const ALL: [Scenario; 16] = [
        Scenario::BatchRead,
        Scenario::AssocBatchRead,
        Scenario::ListPage,
        Scenario::SearchEmail,
        Scenario::SearchModified,
        Scenario::SearchAnyEq,
        Scenario::SearchAnyIn,
        Scenario::SearchAnyTextRange,
        Scenario::SearchAnyNumberRange,
        Scenario::SearchAnyToken,
        Scenario::AssocPageTen,
        Scenario::AssocPageHub,
        Scenario::AssocPageHubSmall,
        Scenario::BatchUpdate,
        Scenario::BatchUpsert,
        Scenario::BatchCreate,
    ];

    /// A selective search on a property other than email (the value index).
    pub fn is_search_any(self) -> bool {
        matches!(
            self,
            Scenario::SearchAnyEq
                | Scenario::SearchAnyIn
                | Scenario::SearchAnyTextRange
                | Scenario::SearchAnyNumberRange
                | Scenario::SearchAnyToken
        )
    }

    /// The name `--scenarios` takes.
    pub fn key(self) -> &'static str {
        match self {
            Scenario::BatchCreate => "create",
            Scenario::BatchRead => "read",
            Scenario::BatchUpdate => "update",
            Scenario::BatchUpsert => "upsert",
            Scenario::AssocBatchRead => "assoc-read",
            Scenario::ListPage => "list",
            Scenario::SearchEmail => "search-email",
            Scenario::SearchModified => "search-modified",
            Scenario::SearchAnyEq => "search-any-eq",
            Scenario::SearchAnyIn => "search-any-in",
            Scenario::SearchAnyTextRange => "search-any-text-range",
            Scenario::SearchAnyNumberRange => "search-any-range",
            Scenario::SearchAnyToken => "search-any-token",
            Scenario::AssocPageTen => "page-10",
            Scenario::AssocPageHub => "page-10k",
            Scenario::AssocPageHubSmall => "page-10k-limit-10",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::BatchCreate => "batch create",
            Scenario::BatchRead => "batch read",
            Scenario::BatchUpdate => "batch update",
            Scenario::BatchUpsert => "batch upsert (email)",
            Scenario::AssocBatchRead => "v4 assoc batch read",
            Scenario::ListPage => "list page",
            Scenario::SearchEmail => "search email EQ",
            Scenario::SearchModified => "search modified GT",
            Scenario::SearchAnyEq => "search company EQ",
            Scenario::SearchAnyIn => "search company IN (3)",
            Scenario::SearchAnyTextRange => "search company BETWEEN",
            Scenario::SearchAnyNumberRange => "search companies' employees BETWEEN",
            Scenario::SearchAnyToken => "search company CONTAINS_TOKEN",
            Scenario::AssocPageTen => "v4 assoc page (10)",
            Scenario::AssocPageHub => "v4 assoc page (10k)",
            Scenario::AssocPageHubSmall => "v4 assoc page (10k, limit 10)",
        }
    }
}

/// One timed scenario against the server.
pub struct HttpOp {
    pub api: Arc<Api>,
    pub data: Arc<DataSet>,
    pub scenario: Scenario,
    /// Next unused contact number (new emails).
    pub next_number: Arc<AtomicU64>,
    /// Makes every written value new, so every update adds history.
    pub seq: Arc<AtomicU64>,
}

const LIST_PROPERTIES: &str =
    "email,firstname,lastname,phone,company,website,jobtitle,city,state,country";

impl HttpOp {
    fn seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a batch with status 200 expected; the objects it carried are its inputs.
    async fn post_batch(&self, path: &str, body: Value) -> Result<u64, String> {
        let n = body["inputs"].as_array().map_or(0, Vec::len) as u64;
        self.api.post(path, &body, 200).await?;
        Ok(n)
    }

    async fn run(&self, w: &mut Worker) -> Result<u64, String> {
        let api = &self.api;
        match self.scenario {
            Scenario::BatchCreate => {
                let first = self.next_number.fetch_add(BATCH as u64, Ordering::Relaxed);
                let body = data::create_body((first..first + BATCH as u64).map(data::contact));
                api.post_bytes(BATCH_CREATE, body, 201).await?;
                Ok(BATCH as u64)
            }
            Scenario::BatchRead => {
                let ids = self.data.random_contacts(&mut w.rng, BATCH);
                api.post_bytes(BATCH_READ, batch_read_bytes(&ids), 200)
                    .await?;
                Ok(ids.len() as u64)
            }
            Scenario::BatchUpdate => {
                let ids = self.data.random_contacts(&mut w.rng, BATCH);
                self.post_batch(BATCH_UPDATE, batch_update(ids, || self.seq()))
                    .await
            }
            Scenario::BatchUpsert => {
                // 90 existing contacts by email, 10 new ones: a sync pushing mostly changes.
                let existing = w.rng.distinct(self.data.records as usize, BATCH - 10);
                let new_first = self.next_number.fetch_add(10, Ordering::Relaxed);
                let emails = existing
                    .into_iter()
                    .map(|n| n as u64)
                    .chain(new_first..new_first + 10)
                    .map(data::email);
                self.post_batch(BATCH_UPSERT, batch_upsert(emails, || self.seq()))
                    .await
            }
            Scenario::AssocBatchRead => {
                let ids = self.data.random_companies(&mut w.rng, BATCH);
                api.post_bytes(ASSOC_BATCH_READ, id_inputs_bytes(&ids), 200)
                    .await?;
                Ok(ids.len() as u64)
            }
            Scenario::ListPage => {
                // Each worker walks pages from a random starting point, as a sync would.
                let after = match w.cursor.take() {
                    Some(a) => a,
                    None => self.data.random_contact(&mut w.rng).to_string(),
                };
                let body = api.get(&list_page(LIST_PROPERTIES, &after), 200).await?;
                let v = parse(&body)?;
                w.cursor = v["paging"]["next"]["after"].as_str().map(str::to_owned);
                Ok(results_len(&v))
            }
            Scenario::SearchEmail => {
                let n = w.rng.below(self.data.records as usize) as u64;
                let body = api.post(SEARCH, &search_email(n), 200).await?;
                let v = parse(&body)?;
                if v["total"].as_u64() != Some(1) {
                    return Err(format!(
                        "search by email {} found {} records",
                        data::email(n),
                        v["total"]
                    ));
                }
                Ok(1)
            }
            Scenario::SearchModified => {
                let body = api
                    .post(
                        SEARCH,
                        &json!({
                            "filterGroups": [{ "filters": [{
                                "propertyName": "lastmodifieddate", "operator": "GT",
                                "value": self.data.modified_cutoff.to_string()
                            }]}],
                            "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }],
                            "limit": 100
                        }),
                        200,
                    )
                    .await?;
                let v = parse(&body)?;
                let n = results_len(&v);
                if n == 0 {
                    return Err("search modified GT found nothing".into());
                }
                Ok(n)
            }
            Scenario::SearchAnyEq
            | Scenario::SearchAnyIn
            | Scenario::SearchAnyTextRange
            | Scenario::SearchAnyNumberRange
            | Scenario::SearchAnyToken => {
                // Selective filters on properties other than email (the value index): the
                // companies' contacts have `company` "Company {k}", ten each.
                let companies = (self.data.records / 10).max(1) as usize;
                let k = w.rng.below(companies);
                let name = |k: usize| format!("Company {k}");
                let (path, filter) = match self.scenario {
                    Scenario::SearchAnyEq => (
                        SEARCH,
                        json!({ "propertyName": "company", "operator": "EQ", "value": name(k) }),
                    ),
                    Scenario::SearchAnyIn => (
                        SEARCH,
                        json!({ "propertyName": "company", "operator": "IN",
                                "values": [name(k), name(w.rng.below(companies)),
                                           name(w.rng.below(companies))] }),
                    ),
                    // A word of "Company k": that company's ten contacts.
                    Scenario::SearchAnyToken => (
                        SEARCH,
                        json!({ "propertyName": "company", "operator": "CONTAINS_TOKEN",
                                "value": k.to_string() }),
                    ),
                    Scenario::SearchAnyTextRange => (
                        SEARCH,
                        json!({ "propertyName": "company", "operator": "BETWEEN",
                                "value": format!("{}0", name(k)),
                                "highValue": format!("{}9", name(k)) }),
                    ),
                    _ => (
                        "/crm/v3/objects/companies/search",
                        json!({ "propertyName": "numberofemployees", "operator": "BETWEEN",
                                "value": k.to_string(), "highValue": (k + 9).to_string() }),
                    ),
                };
                let body = api
                    .post(
                        path,
                        &json!({ "filterGroups": [{ "filters": [filter] }] }),
                        200,
                    )
                    .await?;
                let v = parse(&body)?;
                // The EQ and the number range always match (company k exists); the IN
                // and the text range may not at tiny sizes.
                let must = matches!(
                    self.scenario,
                    Scenario::SearchAnyEq
                        | Scenario::SearchAnyNumberRange
                        | Scenario::SearchAnyToken
                );
                if must && v["total"].as_u64().unwrap_or(0) == 0 {
                    return Err(format!("{} found nothing for {k}", self.scenario.name()));
                }
                Ok(results_len(&v).max(1))
            }
            Scenario::AssocPageTen | Scenario::AssocPageHub | Scenario::AssocPageHubSmall => {
                let (id, limit) = match self.scenario {
                    Scenario::AssocPageTen => (self.data.ten, 100),
                    Scenario::AssocPageHub => (self.data.hub, 100),
                    _ => (self.data.hub, 10),
                };
                let want = if id == self.data.ten {
                    10
                } else {
                    self.data.hub_links.min(limit) as u64
                };
                let body = api
                    .get(
                        &format!(
                            "/crm/v4/objects/contacts/{id}/associations/companies?limit={limit}"
                        ),
                        200,
                    )
                    .await?;
                let n = results_len(&parse(&body)?);
                if n != want {
                    return Err(format!(
                        "association page of {id}: {n} results, expected {want}"
                    ));
                }
                Ok(n)
            }
        }
    }
}

impl Op for HttpOp {
    fn call<'a>(&'a self, w: &'a mut Worker, _ticket: u64) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(self.run(w))
    }
}

/// Creates the hub contact and the ten-link contact; returns their ids.
pub async fn create_special_contacts(api: &Api) -> Result<(i64, i64), String> {
    let inputs = json!({ "inputs": [
        { "properties": { "email": "bench-hub@example.com", "firstname": "Hub" } },
        { "properties": { "email": "bench-ten@example.com", "firstname": "Ten" } }
    ]});
    let body = api.post(BATCH_CREATE, &inputs, 201).await?;
    let v = parse(&body)?;
    let mut hub = None;
    let mut ten = None;
    for r in v["results"].as_array().into_iter().flatten() {
        let id = r["id"].as_str().and_then(|s| s.parse::<i64>().ok());
        match r["properties"]["email"].as_str() {
            Some("bench-hub@example.com") => hub = id,
            Some("bench-ten@example.com") => ten = id,
            _ => {}
        }
    }
    match (hub, ten) {
        (Some(h), Some(t)) => Ok((h, t)),
        _ => Err(format!(
            "creating the hub contacts answered {}",
            snippet(&body)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_written_as_bytes_are_the_serialized_values() {
        for ids in [vec![], vec![7], vec![1, 22, 333_333_333_333]] {
            let read = serde_json::to_vec(&batch_read(ids.clone())).expect("serializes");
            assert_eq!(batch_read_bytes(&ids), read);
            let inputs = serde_json::to_vec(&json!({ "inputs": id_inputs(ids.clone()) }))
                .expect("serializes");
            assert_eq!(id_inputs_bytes(&ids), inputs);
        }
    }
}
