//! Connector-shaped sync scenarios (issues 13 and 17): one client walking the data set page
//! by page, in the request shapes the open-source connectors send (reference:
//! connectors-surface.md §4.2, §4.3 and §5.3), timed per page and as a whole, beside the
//! same walk done straight on the store in the same run.
//!
//! Unlike the timed scenarios (a fixed concurrency for a fixed time), a sync runs once, to
//! the end, on one connection, as a connector does; each walk is a row of its own
//! (concurrency 1). Every walk checks that it returned exactly the records (and association
//! ids) the data set says it must, or the run fails.
//!
//! The incremental walks need a known spread of `lastmodifieddate`: after the load, the
//! last tenth of the loaded contacts (by id) is updated, through the API for the server and
//! through the store for the raw side (`touch`), so "modified at or after the point taken
//! before that update" selects exactly that tenth, and "modified since the load began"
//! every contact.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use spoke_core::search::{Condition, Field, Filter, Operand, SearchQuery, Sort};
use spoke_store::{ObjectPatch, ReadOptions, Store, Target};

use crate::data;
use crate::driver::{Batch, BoxFuture, Load, Measured};
use crate::http::{id_inputs, parse, Api, BATCH_UPDATE, SEARCH};
use crate::raw::{self, RawCreateOf, RawLink, COMPANIES, CONTACTS, DEALS, PORTAL};
use crate::server::{Resources, RssSampler};
use crate::stats::{ms, Latency};

/// Records per list page: the `limit` every connector sends to the list endpoint.
pub const LIST_PAGE: usize = 100;
/// Records per search page: Airbyte's `limit` (HubSpot's maximum).
pub const SEARCH_PAGE: usize = 200;
/// Records per search page in MeltanoLabs' tap (`limit: 100`).
pub const MELTANO_PAGE: usize = 100;
/// Ids per v4 association batch read: Airbyte's (one search page) and the association walk's.
pub const ASSOCIATION_BATCH: usize = 200;
/// HubSpot's search window: no `after` at or past it (spoke_core::search::MAX_RESULTS).
pub const SEARCH_WINDOW: usize = spoke_core::search::MAX_RESULTS;
/// How many contact property names the sync asks for: a portal's schema as connectors see
/// it has hundreds; spoke's built-in contact properties are about 25, so the sync creates
/// custom ones up to this count.
pub const PROPERTY_NAMES: usize = 100;
/// Targets per record in a v3 `associations` block and per input of a v4 batch read (the
/// server's association page size).
const ASSOCIATION_PAGE: usize = 500;

/// `--scenarios sync` names every sync scenario at once.
pub const GROUP: &str = "sync";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncScenario {
    /// A first sync: every contact through the list endpoint with every property and
    /// `associations=companies,deals`, then every contact again through search by
    /// modified date in Airbyte's incremental shape.
    FullSync,
    /// Airbyte's incremental sync (§5.3) over the contacts modified since the point: a
    /// tenth of them.
    AirbyteTenth,
    /// The same over every contact (modified since the load began).
    AirbyteAll,
    /// MeltanoLabs' incremental sync (§4.2) over a tenth of the contacts.
    MeltanoTenth,
    /// The same over every contact.
    MeltanoAll,
    /// v4 association batch read of every contact, 200 ids a page, to companies and deals.
    Associations,
}

impl SyncScenario {
    pub const ALL: [SyncScenario; 6] = [
        SyncScenario::FullSync,
        SyncScenario::AirbyteTenth,
        SyncScenario::AirbyteAll,
        SyncScenario::MeltanoTenth,
        SyncScenario::MeltanoAll,
        SyncScenario::Associations,
    ];

    /// The name `--scenarios` takes.
    pub fn key(self) -> &'static str {
        match self {
            SyncScenario::FullSync => "full-sync",
            SyncScenario::AirbyteTenth => "airbyte-10",
            SyncScenario::AirbyteAll => "airbyte-100",
            SyncScenario::MeltanoTenth => "meltano-10",
            SyncScenario::MeltanoAll => "meltano-100",
            SyncScenario::Associations => "sync-assoc-read",
        }
    }

    /// The report's row (the full sync has three: [`LIST_ROW`], [`SEARCH_ROW`], [`TOTAL_ROW`]).
    pub fn row(self) -> &'static str {
        match self {
            SyncScenario::FullSync => TOTAL_ROW,
            SyncScenario::AirbyteTenth => {
                "Airbyte incremental, 10% modified: search 200/page by hs_object_id + v4 contacts, companies"
            }
            SyncScenario::AirbyteAll => {
                "Airbyte incremental, 100% modified: search 200/page by hs_object_id + v4 contacts, companies"
            }
            SyncScenario::MeltanoTenth => {
                "MeltanoLabs incremental, 10% modified: search 100/page by lastmodifieddate"
            }
            SyncScenario::MeltanoAll => {
                "MeltanoLabs incremental, 100% modified: search 100/page by lastmodifieddate"
            }
            SyncScenario::Associations => {
                "association read: v4 batch read 200 ids/page, contacts to companies + deals"
            }
        }
    }

    /// The incremental walks: whether they select the modified tenth (else every contact).
    fn tenth(self) -> bool {
        matches!(
            self,
            SyncScenario::AirbyteTenth | SyncScenario::MeltanoTenth
        )
    }
}

/// The rows a full sync reports, in order; the raw figures are keyed by the same names.
pub const LIST_ROW: &str =
    "full sync: list, 100/page, all properties, associations=companies,deals";
pub const SEARCH_ROW: &str =
    "full sync: search lastmodifieddate window, 200/page, hs_object_id floor every 10,000";
pub const TOTAL_ROW: &str = "full sync: both phases";

/// The modified-date window a search selects (epoch ms, both ends inclusive).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// The data set as the sync walks see it, on one side (HTTP or raw).
pub struct Shape {
    /// The loaded contacts, in load order (contact `j` belongs to company and deal `j/10`).
    pub contacts: Vec<i64>,
    /// The contact with the hub's companies, and the one with ten of them.
    pub hub: i64,
    pub ten: i64,
    pub hub_links: u64,
    /// When the contacts' load began (epoch ms): every contact was modified at or after it.
    pub loaded_from: i64,
    /// Taken after the whole load, before [`touch`]: only the touched contacts were
    /// modified at or after it.
    pub point: i64,
    /// The touched contacts, ascending.
    pub touched: Vec<i64>,
}

/// What a walk must return: these records (ascending), and this many association ids
/// (companies or contacts first, as the walk reads them, then companies or deals).
pub struct Expect {
    pub ids: Vec<i64>,
    pub associations: (u64, u64),
}

impl Shape {
    /// Every contact, ascending.
    pub fn all(&self) -> Vec<i64> {
        let mut all: Vec<i64> = self.contacts.clone();
        all.extend([self.hub, self.ten]);
        all.sort_unstable();
        all
    }

    /// Company ids a contact's first association page holds.
    fn companies_of(&self, id: i64) -> u64 {
        if id == self.hub {
            self.hub_links.min(ASSOCIATION_PAGE as u64)
        } else if id == self.ten {
            self.hub_links.min(10)
        } else {
            1
        }
    }

    fn deals_of(&self, id: i64) -> u64 {
        u64::from(id != self.hub && id != self.ten)
    }

    /// These records, with (companies, deals) association ids.
    fn expect_companies_deals(&self, ids: Vec<i64>) -> Expect {
        let companies = ids.iter().map(|&id| self.companies_of(id)).sum();
        let deals = ids.iter().map(|&id| self.deals_of(id)).sum();
        Expect {
            ids,
            associations: (companies, deals),
        }
    }

    /// These records, with (contacts, companies) association ids: no contact has another
    /// contact, so the first is 0.
    fn expect_contacts_companies(&self, ids: Vec<i64>) -> Expect {
        let companies = ids.iter().map(|&id| self.companies_of(id)).sum();
        Expect {
            ids,
            associations: (0, companies),
        }
    }

    fn selected(&self, s: SyncScenario) -> Vec<i64> {
        if s.tenth() {
            self.touched.clone()
        } else {
            self.all()
        }
    }

    fn from(&self, s: SyncScenario) -> i64 {
        if s.tenth() {
            self.point
        } else {
            self.loaded_from
        }
    }
}

/// The contacts the incremental walks' tenth is made of: the last tenth of the loaded ones
/// by id (at least one).
pub fn to_touch(contacts: &[i64]) -> Vec<i64> {
    let mut sorted = contacts.to_vec();
    sorted.sort_unstable();
    let n = sorted.len().div_ceil(10).max(1).min(sorted.len());
    sorted.split_off(sorted.len() - n)
}

/// The one property a touch changes: every loaded contact's `jobtitle` is "Engineer", so
/// this is a real change and moves `lastmodifieddate`.
fn touched_properties() -> Vec<(&'static str, String)> {
    vec![("jobtitle", "Engineer (modified)".to_owned())]
}

/// The touch over HTTP: `batch/update` of 100 contacts at a time.
pub struct HttpTouch {
    pub api: Arc<Api>,
    pub ids: Vec<i64>,
}

impl HttpTouch {
    async fn touch(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let inputs: Vec<_> = self.ids[numbers.start as usize..numbers.end as usize]
            .iter()
            .map(|id| json!({ "id": id.to_string(), "properties": data::to_json(touched_properties()) }))
            .collect();
        self.api
            .post(BATCH_UPDATE, &json!({ "inputs": inputs }), 200)
            .await?;
        Ok(Vec::new())
    }
}

impl Batch for HttpTouch {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.touch(numbers))
    }
}

/// The touch on the store: the same updates through `update_objects`.
pub struct RawTouch {
    pub store: Arc<dyn Store>,
    pub ids: Vec<i64>,
}

impl RawTouch {
    async fn touch(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let patches = self.ids[numbers.start as usize..numbers.end as usize]
            .iter()
            .map(|&id| ObjectPatch {
                target: Target::Id(id),
                properties: data::to_map(touched_properties()),
            })
            .collect();
        let out = self
            .store
            .update_objects(&raw::context_for(CONTACTS), patches)
            .await
            .map_err(|e| e.to_string())?;
        match out.into_iter().find_map(Result::err) {
            None => Ok(Vec::new()),
            Some(f) => Err(format!("update failed: {f:?}")),
        }
    }
}

impl Batch for RawTouch {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.touch(numbers))
    }
}

/// Takes the point, then touches the last tenth of `contacts` with `make(ids)`: the point
/// and the ids touched. A millisecond's pause on each side keeps the point apart from the
/// writes before it and after it.
pub async fn touch<B: Batch>(
    contacts: &[i64],
    concurrency: usize,
    make: impl FnOnce(Vec<i64>) -> B,
) -> Result<(i64, Vec<i64>, Measured), String> {
    let ids = to_touch(contacts);
    tokio::time::sleep(Duration::from_millis(2)).await;
    let point = spoke_core::time::now_millis();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let load = Load::new(make(ids.clone()), ids.len() as u64);
    let m = load.run(concurrency, 8).await;
    if m.errors > 0 {
        return Err(format!(
            "touching the modified tenth failed: {}",
            m.error_samples.join(" | ")
        ));
    }
    Ok((point, ids, m))
}

/// Times one walk: every page's latency, the records it returned, the first error (a walk
/// stops at its first failed page: the cursor after it is unknown).
#[derive(Default)]
pub struct Walk {
    latencies: Vec<Duration>,
    done_at: Vec<Duration>,
    /// Every record id returned, in order, repeats included.
    ids: Vec<i64>,
    /// Association ids read, by the walk's two association types.
    pub associations: (u64, u64),
    /// Records returned more than once (MeltanoLabs' restart re-reads a timestamp's ties).
    pub repeats: u64,
    /// Restarts at HubSpot's 10,000-result window.
    pub restarts: u64,
    error: Option<String>,
    elapsed: Duration,
}

impl Walk {
    /// The walk as a row's figures: objects are records.
    pub fn measured(&self) -> Measured {
        let mut latencies = self.latencies.clone();
        let mut done_at = self.done_at.clone();
        done_at.sort_unstable();
        Measured {
            requests: latencies.len() as u64,
            errors: u64::from(self.error.is_some()),
            // Records synced: a record read twice is synced once.
            objects: self.records() - self.repeats,
            elapsed: self.elapsed,
            latency: Latency::of(&mut latencies),
            longest_gap: done_at
                .windows(2)
                .map(|w| w[1] - w[0])
                .max()
                .unwrap_or_default(),
            error_samples: self.error.iter().cloned().collect(),
        }
    }

    /// Both phases as one row: the sync's records over its whole time, every page's latency.
    pub fn both(a: &Walk, b: &Walk) -> Walk {
        let offset = a.elapsed;
        Walk {
            latencies: [a.latencies.clone(), b.latencies.clone()].concat(),
            done_at: a
                .done_at
                .iter()
                .copied()
                .chain(b.done_at.iter().map(|d| *d + offset))
                .collect(),
            ids: [a.ids.clone(), b.ids.clone()].concat(),
            associations: (0, 0),
            repeats: a.repeats + b.repeats,
            restarts: a.restarts + b.restarts,
            error: a.error.clone().or_else(|| b.error.clone()),
            elapsed: a.elapsed + b.elapsed,
        }
    }

    pub fn records(&self) -> u64 {
        self.ids.len() as u64
    }

    /// Fails the walk unless it returned exactly the expected records (each at least once;
    /// repeats are counted, not failed: a connector dedupes by id) and association ids.
    fn expect(&mut self, what: &str, want: &Expect, associations: bool) {
        if self.error.is_some() {
            return;
        }
        let mut seen = self.ids.clone();
        seen.sort_unstable();
        let before = seen.len();
        seen.dedup();
        self.repeats = (before - seen.len()) as u64;
        if seen != want.ids {
            let missing = want
                .ids
                .iter()
                .filter(|id| seen.binary_search(id).is_err())
                .take(5)
                .collect::<Vec<_>>();
            let extra = seen
                .iter()
                .filter(|id| want.ids.binary_search(id).is_err())
                .take(5)
                .collect::<Vec<_>>();
            self.error = Some(format!(
                "{what} returned {} distinct records, expected {}; missing e.g. {missing:?}, unexpected e.g. {extra:?}",
                seen.len(),
                want.ids.len()
            ));
        } else if associations && self.associations != want.associations {
            self.error = Some(format!(
                "{what} read {:?} association ids, expected {:?}",
                self.associations, want.associations
            ));
        }
    }

    pub fn summary(&self) -> String {
        let m = self.measured();
        format!(
            "{} records in {} pages, {:.1} s: {:.0} records/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
            self.records(),
            m.requests,
            m.elapsed.as_secs_f64(),
            m.objects_per_sec(),
            ms(m.latency.p50),
            ms(m.latency.p99),
            ms(m.latency.max),
            self.error
                .as_ref()
                .map_or(String::new(), |e| format!(", ERROR: {e}"))
        )
    }

    /// What the report says of the walk beside its figures.
    pub fn detail(&self) -> String {
        let mut parts = vec![format!(
            "{} records in {} pages, {:.1} s",
            self.records(),
            self.latencies.len(),
            self.elapsed.as_secs_f64()
        )];
        if self.associations != (0, 0) {
            parts.push(format!(
                "association ids read: {} and {}",
                self.associations.0, self.associations.1
            ));
        }
        if self.restarts > 0 {
            parts.push(format!("{} restarts at the 10,000 window", self.restarts));
        }
        if self.repeats > 0 {
            parts.push(format!("{} records read twice", self.repeats));
        }
        parts.join(", ")
    }
}

/// What a page told the walk.
#[derive(Default)]
struct Page {
    ids: Vec<i64>,
    /// The last record's `lastmodifieddate` (epoch ms), for MeltanoLabs' restart.
    last_modified: Option<i64>,
    /// The answer offers a next page (`paging`).
    more: bool,
    /// `paging.next.after`.
    next_after: Option<String>,
    associations: (u64, u64),
}

impl Page {
    fn last_id(&self) -> Option<i64> {
        self.ids.last().copied()
    }
}

/// The next cursor, `Ok(None)` at the end, or why the walk cannot go on.
type Next<C> = Result<Option<C>, String>;

/// Runs `page` until `next` says there is no more, timing each call.
async fn walk<C, F, Fut>(
    mut cursor: C,
    mut page: F,
    mut next: impl FnMut(&C, &Page) -> Next<C>,
) -> Walk
where
    F: FnMut(&C) -> Fut,
    Fut: std::future::Future<Output = Result<Page, String>>,
{
    let mut w = Walk::default();
    let started = Instant::now();
    loop {
        let t0 = Instant::now();
        let result = page(&cursor).await;
        let done = Instant::now();
        w.latencies.push(done - t0);
        w.done_at.push(done - started);
        let p = match result {
            Ok(p) => p,
            Err(e) => {
                w.error = Some(e);
                break;
            }
        };
        w.associations.0 += p.associations.0;
        w.associations.1 += p.associations.1;
        let step = next(&cursor, &p);
        w.ids.extend(p.ids);
        match step {
            Ok(Some(c)) => cursor = c,
            Ok(None) => break,
            Err(e) => {
                w.error = Some(e);
                break;
            }
        }
    }
    w.elapsed = started.elapsed();
    w
}

/// The search cursor Airbyte keeps (`HubspotCRMSearchPaginationStrategy`): an offset it
/// computes itself and an `hs_object_id` floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    pub after: usize,
    pub floor: i64,
}

impl SearchCursor {
    /// The next page's cursor. The window comes first, as in Airbyte's strategy: once the
    /// records read at this offset reach 10,000, offset 0 again with the floor just above
    /// the last id seen, whether or not the answer offered `paging` (spoke, like HubSpot,
    /// offers none at the window's end). Otherwise only after a full page that offers more.
    fn next(self, len: usize, more: bool, last_id: Option<i64>) -> Option<Self> {
        if self.after + len >= SEARCH_WINDOW {
            return last_id.map(|id| SearchCursor {
                after: 0,
                floor: id + 1,
            });
        }
        if len < SEARCH_PAGE || !more {
            return None;
        }
        Some(SearchCursor {
            after: self.after + len,
            ..self
        })
    }
}

fn search_next(c: &SearchCursor, p: &Page) -> Next<SearchCursor> {
    Ok(c.next(p.ids.len(), p.more, p.last_id()))
}

/// MeltanoLabs' search cursor (`DynamicIncrementalHubspotStream.prepare_request_payload`):
/// `lastmodifieddate GTE since`, and the answer's `paging.next.after` as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeltanoCursor {
    pub since: i64,
    pub after: Option<String>,
}

impl MeltanoCursor {
    /// The next page's cursor. No `paging` ends the walk. A token whose value plus 100
    /// reaches 10,000 is not sent: the tap starts a new query from the largest
    /// `lastmodifieddate` it has seen (the last record's, the walk being sorted by it), `GTE`,
    /// so the records of that millisecond come again. If that is where this query started,
    /// the tap would loop forever (more than a window's records share one millisecond).
    fn next(&self, token: Option<&str>, last_modified: Option<i64>) -> Next<Self> {
        let Some(token) = token else {
            return Ok(None);
        };
        let offset: usize = token
            .parse()
            .map_err(|_| format!("paging.next.after {token:?} is not an integer"))?;
        if offset + MELTANO_PAGE < SEARCH_WINDOW {
            return Ok(Some(MeltanoCursor {
                since: self.since,
                after: Some(token.to_owned()),
            }));
        }
        let since = last_modified.ok_or("a page at the window's end with no records")?;
        if since <= self.since {
            return Err(format!(
                "over {} records share lastmodifieddate {since}: MeltanoLabs' restart would loop",
                offset
            ));
        }
        Ok(Some(MeltanoCursor { since, after: None }))
    }
}

fn meltano_next(c: &MeltanoCursor, p: &Page) -> Next<MeltanoCursor> {
    c.next(p.next_after.as_deref(), p.last_modified)
}

/// Counts restarts: a cursor step that drops `after` (Meltano) or resets the offset to 0
/// (Airbyte) while the walk goes on.
fn counting<'a, C>(
    restarts: &'a std::cell::Cell<u64>,
    mut next: impl FnMut(&C, &Page) -> Next<C> + 'a,
    is_restart: impl Fn(&C, &C) -> bool + 'a,
) -> impl FnMut(&C, &Page) -> Next<C> + 'a {
    move |c, p| {
        let n = next(c, p)?;
        if let Some(to) = &n {
            if is_restart(c, to) {
                restarts.set(restarts.get() + 1);
            }
        }
        Ok(n)
    }
}

/// The contact property names a connector would request: every name
/// `GET /crm/v3/properties/contacts` lists, after creating `bench_sync_NN` text properties
/// up to [`PROPERTY_NAMES`] if the portal has fewer.
pub async fn property_names(api: &Api) -> Result<Vec<String>, String> {
    let list = |body: Vec<u8>| -> Result<Vec<String>, String> {
        let v = parse(&body)?;
        Ok(v["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect())
    };
    let mut names = list(api.get("/crm/v3/properties/contacts", 200).await?)?;
    if names.len() < PROPERTY_NAMES {
        let inputs: Vec<_> = (names.len()..PROPERTY_NAMES)
            .map(|i| {
                json!({
                    "name": format!("bench_sync_{i:02}"),
                    "label": format!("Bench sync {i}"),
                    "type": "string",
                    "fieldType": "text",
                    "groupName": "contactinformation"
                })
            })
            .collect();
        api.post(
            "/crm/v3/properties/contacts/batch/create",
            &json!({ "inputs": inputs }),
            201,
        )
        .await?;
        names = list(api.get("/crm/v3/properties/contacts", 200).await?)?;
    }
    Ok(names)
}

/// A list or search answer, read without building a tree of the whole page.
#[derive(Deserialize)]
struct Answer {
    results: Vec<Item>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    id: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    associations: Option<Associations>,
}

#[derive(Deserialize)]
struct Associations {
    #[serde(default)]
    companies: Option<IdList>,
    #[serde(default)]
    deals: Option<IdList>,
}

#[derive(Deserialize)]
struct IdList {
    results: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct Paging {
    next: NextPage,
}

#[derive(Deserialize)]
struct NextPage {
    after: String,
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}

fn read_page(body: &[u8]) -> Result<Page, String> {
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| format!("not a list answer ({e}): {}", snippet(body)))?;
    let ids = answer
        .results
        .iter()
        .map(|r| {
            r.id.parse::<i64>()
                .map_err(|_| format!("result id {:?} is not a number", r.id))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let last_modified = match answer.results.last().map(|r| r.updated_at.as_deref()) {
        None => None,
        Some(None) => return Err("a result without updatedAt".into()),
        Some(Some(t)) => Some(
            spoke_core::time::parse_iso(t)
                .ok_or_else(|| format!("updatedAt {t:?} is not a time"))?,
        ),
    };
    let count = |f: fn(&Associations) -> &Option<IdList>| {
        answer
            .results
            .iter()
            .filter_map(|r| r.associations.as_ref())
            .filter_map(|a| f(a).as_ref())
            .map(|l| l.results.len() as u64)
            .sum()
    };
    Ok(Page {
        ids,
        last_modified,
        more: answer.paging.is_some(),
        associations: (count(|a| &a.companies), count(|a| &a.deals)),
        next_after: answer.paging.map(|p| p.next.after),
    })
}

/// A v4 association batch read answer: the targets of every input that has some.
#[derive(Deserialize)]
struct AssociationAnswer {
    results: Vec<AssociationResult>,
}

#[derive(Deserialize)]
struct AssociationResult {
    to: Vec<serde::de::IgnoredAny>,
}

/// `POST {path}` with these from-ids: the association ids it answered. A 207 is a normal
/// answer here: an input without associations is an item error
/// (`NO_ASSOCIATIONS_FOUND`), as on HubSpot, and connectors ignore it.
async fn http_associations(api: &Api, path: &str, ids: &[i64]) -> Result<u64, String> {
    let body = serde_json::to_vec(&json!({ "inputs": id_inputs(ids.iter().copied()) }))
        .map_err(|e| e.to_string())?;
    let (status, body) = api.send(reqwest::Method::POST, path, Some(body)).await?;
    if status != 200 && status != 207 {
        return Err(crate::http::unexpected(
            &reqwest::Method::POST,
            path,
            (status, 200),
            &body,
        ));
    }
    let answer: AssociationAnswer = serde_json::from_slice(&body)
        .map_err(|e| format!("{path}: not a batch answer ({e}): {}", snippet(&body)))?;
    Ok(answer.results.iter().map(|r| r.to.len() as u64).sum())
}

/// The store's association pages for these from-ids, as the v4 batch read handler reads
/// them: the association ids they hold.
async fn raw_associations(store: &Arc<dyn Store>, to: &str, ids: &[i64]) -> Result<u64, String> {
    let requests = ids.iter().map(|&id| (id, None)).collect();
    let pages = store
        .page_associations(PORTAL, CONTACTS, to, requests, ASSOCIATION_PAGE)
        .await
        .map_err(|e| e.to_string())?;
    Ok(pages.iter().map(|p| p.targets.len() as u64).sum())
}

/// Airbyte's association reads after each search page of contacts (§5.3): one v4 batch
/// read per type of its list for contacts, `contacts` and `companies`, the entity singular.
const AIRBYTE_ASSOCIATIONS: [(&str, &str); 2] = [
    ("/crm/v4/associations/contact/contacts/batch/read", CONTACTS),
    (
        "/crm/v4/associations/contact/companies/batch/read",
        COMPANIES,
    ),
];

/// The association walk's two types (contacts to companies, contacts to deals).
const WALK_ASSOCIATIONS: [(&str, &str); 2] = [
    (
        "/crm/v4/associations/contacts/companies/batch/read",
        COMPANIES,
    ),
    ("/crm/v4/associations/contacts/deals/batch/read", DEALS),
];

/// The full sync's list over HTTP: `GET /crm/v3/objects/contacts` pages of 100 with every
/// name in `properties=` and `associations=companies,deals`, following `paging.next.after`
/// to the end.
pub async fn http_list(api: &Api, names: &[String], want: &Expect) -> Walk {
    let first = format!(
        "/crm/v3/objects/contacts?limit={LIST_PAGE}&archived=false&properties={}&associations=companies,deals",
        names.join(",")
    );
    let mut w = walk(
        None::<String>,
        |after| {
            let path = match after {
                Some(a) => format!("{first}&after={a}"),
                None => first.clone(),
            };
            async move { read_page(&api.get(&path, 200).await?) }
        },
        |_, p| Ok(p.next_after.clone().map(Some)),
    )
    .await;
    w.expect("the list", want, true);
    w
}

/// Airbyte's incremental search over HTTP: `POST /crm/v3/objects/contacts/search` with
/// top-level `filters` (`lastmodifieddate` GTE/LTE the window, `hs_object_id` GTE the
/// floor, all numbers), sorted by `hs_object_id`, `limit` 200, an `after` it computes, every
/// property named; with `associations`, then Airbyte's association reads for the page's ids.
pub async fn http_airbyte(
    api: &Api,
    names: &[String],
    window: Window,
    associations: bool,
    want: &Expect,
) -> Walk {
    let restarts = std::cell::Cell::new(0);
    let mut w = walk(
        SearchCursor { after: 0, floor: 0 },
        |c| {
            let body = json!({
                "filters": [
                    { "propertyName": "lastmodifieddate", "operator": "GTE", "value": window.from },
                    { "propertyName": "lastmodifieddate", "operator": "LTE", "value": window.to },
                    { "propertyName": "hs_object_id", "operator": "GTE", "value": c.floor }
                ],
                "sorts": [{ "propertyName": "hs_object_id", "direction": "ASCENDING" }],
                "limit": SEARCH_PAGE,
                "after": c.after,
                "properties": names
            });
            async move {
                let mut page = read_page(&api.post(SEARCH, &body, 200).await?)?;
                page.associations = (0, 0);
                if associations && !page.ids.is_empty() {
                    let [(a, _), (b, _)] = AIRBYTE_ASSOCIATIONS;
                    page.associations = (
                        http_associations(api, a, &page.ids).await?,
                        http_associations(api, b, &page.ids).await?,
                    );
                }
                Ok(page)
            }
        },
        counting(&restarts, search_next, |from, to| to.floor != from.floor),
    )
    .await;
    w.restarts = restarts.get();
    w.expect("the Airbyte search", want, associations);
    w
}

/// MeltanoLabs' incremental search over HTTP: `filterGroups` with one `lastmodifieddate
/// GTE` (the epoch ms as a string), sorted by it ascending, `limit` 100, `after` the
/// answer's token, every property named; restarted at the window ([`MeltanoCursor`]).
/// The tap reads associations in streams of their own, not per search page: the
/// association walk is their shape.
pub async fn http_meltano(api: &Api, names: &[String], since: i64, want: &Expect) -> Walk {
    let restarts = std::cell::Cell::new(0);
    let mut w = walk(
        MeltanoCursor { since, after: None },
        |c| {
            let mut body = json!({
                "filterGroups": [{ "filters": [
                    { "propertyName": "lastmodifieddate", "operator": "GTE", "value": c.since.to_string() }
                ]}],
                "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }],
                "limit": MELTANO_PAGE,
                "properties": names
            });
            if let Some(after) = &c.after {
                body["after"] = json!(after);
            }
            async move { read_page(&api.post(SEARCH, &body, 200).await?) }
        },
        counting(&restarts, meltano_next, |_, to| to.after.is_none()),
    )
    .await;
    w.restarts = restarts.get();
    w.expect("the MeltanoLabs search", want, false);
    w
}

/// The association walk over HTTP: every contact, 200 ids a page, one v4 batch read to
/// companies and one to deals per page.
pub async fn http_association_walk(api: &Api, want: &Expect) -> Walk {
    let ids = &want.ids;
    let mut w = walk(
        0usize,
        |&at| async move {
            let chunk = &ids[at..(at + ASSOCIATION_BATCH).min(ids.len())];
            let [(a, _), (b, _)] = WALK_ASSOCIATIONS;
            Ok(Page {
                ids: chunk.to_vec(),
                associations: (
                    http_associations(api, a, chunk).await?,
                    http_associations(api, b, chunk).await?,
                ),
                ..Page::default()
            })
        },
        |&at, _| Ok((at + ASSOCIATION_BATCH < ids.len()).then_some(at + ASSOCIATION_BATCH)),
    )
    .await;
    w.expect("the association walk", want, true);
    w
}

/// The full sync's list on the store: the reads the list handler makes for each page (the
/// records, then one page of each association type for the page's ids), without HTTP or
/// projection.
pub async fn raw_list(store: &Arc<dyn Store>, want: &Expect) -> Walk {
    let mut w = walk(
        None::<i64>,
        |after| {
            let after = *after;
            async move {
                let mut records = store
                    .list_objects(
                        PORTAL,
                        CONTACTS,
                        after,
                        LIST_PAGE + 1,
                        ReadOptions {
                            archived: false,
                            history: &[],
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let more = records.len() > LIST_PAGE;
                records.truncate(LIST_PAGE);
                let ids: Vec<i64> = records.iter().map(|r| r.id).collect();
                let mut associations = (0, 0);
                for (to, slot) in [
                    (COMPANIES, &mut associations.0),
                    (DEALS, &mut associations.1),
                ] {
                    let requests = ids.iter().map(|&id| (id, None)).collect();
                    let pages = store
                        .page_associations(PORTAL, CONTACTS, to, requests, ASSOCIATION_PAGE)
                        .await
                        .map_err(|e| e.to_string())?;
                    *slot = pages
                        .iter()
                        .map(|p| p.targets.iter().map(|t| t.types.len() as u64).sum::<u64>())
                        .sum();
                }
                Ok(Page {
                    ids,
                    more,
                    associations,
                    ..Page::default()
                })
            }
        },
        |_, p| Ok(p.more.then(|| p.last_id()).flatten().map(Some)),
    )
    .await;
    w.expect("the raw list", want, true);
    w
}

/// What the search handler answers for `query` on the store: the page, with `paging` as the
/// handler computes it.
async fn raw_search_page(store: &Arc<dyn Store>, query: SearchQuery) -> Result<Page, String> {
    let page = store
        .search_objects(PORTAL, CONTACTS, &query)
        .await
        .map_err(|e| e.to_string())?;
    let next = query.offset + query.limit;
    let more = next < page.total && next < SEARCH_WINDOW;
    Ok(Page {
        ids: page.records.iter().map(|r| r.id).collect(),
        last_modified: page.records.last().map(|r| r.updated_at),
        more,
        next_after: more.then(|| next.to_string()),
        associations: (0, 0),
    })
}

/// Airbyte's walk on the store: the query the search handler compiles from Airbyte's body,
/// page by page, and with `associations` the association pages its v4 reads make.
pub async fn raw_airbyte(
    store: &Arc<dyn Store>,
    window: Window,
    associations: bool,
    want: &Expect,
) -> Walk {
    let restarts = std::cell::Cell::new(0);
    let mut w = walk(
        SearchCursor { after: 0, floor: 0 },
        |c| {
            let query = SearchQuery {
                groups: vec![vec![
                    Filter {
                        field: Field::UpdatedAt,
                        condition: Condition::Gte(Operand::Millis(window.from)),
                    },
                    Filter {
                        field: Field::UpdatedAt,
                        condition: Condition::Lte(Operand::Millis(window.to)),
                    },
                    Filter {
                        field: Field::Id,
                        condition: Condition::Gte(Operand::Id(c.floor)),
                    },
                ]],
                text: None,
                text_properties: Vec::new(),
                sort: Some(Sort {
                    field: Field::Id,
                    descending: false,
                }),
                offset: c.after,
                limit: SEARCH_PAGE,
            };
            async move {
                let mut page = raw_search_page(store, query).await?;
                if associations && !page.ids.is_empty() {
                    let [(_, a), (_, b)] = AIRBYTE_ASSOCIATIONS;
                    page.associations = (
                        raw_associations(store, a, &page.ids).await?,
                        raw_associations(store, b, &page.ids).await?,
                    );
                }
                Ok(page)
            }
        },
        counting(&restarts, search_next, |from, to| to.floor != from.floor),
    )
    .await;
    w.restarts = restarts.get();
    w.expect("the raw Airbyte search", want, associations);
    w
}

/// MeltanoLabs' walk on the store: the query the handler compiles from its body.
pub async fn raw_meltano(store: &Arc<dyn Store>, since: i64, want: &Expect) -> Walk {
    let restarts = std::cell::Cell::new(0);
    let mut w = walk(
        MeltanoCursor { since, after: None },
        |c| {
            let offset = c.after.as_deref().map_or(Ok(0), str::parse::<usize>);
            let since = c.since;
            async move {
                let offset = offset.map_err(|e| e.to_string())?;
                let query = SearchQuery {
                    groups: vec![vec![Filter {
                        field: Field::UpdatedAt,
                        condition: Condition::Gte(Operand::Millis(since)),
                    }]],
                    text: None,
                    text_properties: Vec::new(),
                    sort: Some(Sort {
                        field: Field::UpdatedAt,
                        descending: false,
                    }),
                    offset,
                    limit: MELTANO_PAGE.min(SEARCH_WINDOW - offset),
                };
                raw_search_page(store, query).await
            }
        },
        counting(&restarts, meltano_next, |_, to| to.after.is_none()),
    )
    .await;
    w.restarts = restarts.get();
    w.expect("the raw MeltanoLabs search", want, false);
    w
}

/// The association walk on the store: the association pages the two v4 reads make.
pub async fn raw_association_walk(store: &Arc<dyn Store>, want: &Expect) -> Walk {
    let ids = &want.ids;
    let mut w = walk(
        0usize,
        |&at| async move {
            let chunk = &ids[at..(at + ASSOCIATION_BATCH).min(ids.len())];
            let [(_, a), (_, b)] = WALK_ASSOCIATIONS;
            Ok(Page {
                ids: chunk.to_vec(),
                associations: (
                    raw_associations(store, a, chunk).await?,
                    raw_associations(store, b, chunk).await?,
                ),
                ..Page::default()
            })
        },
        |&at, _| Ok((at + ASSOCIATION_BATCH < ids.len()).then_some(at + ASSOCIATION_BATCH)),
    )
    .await;
    w.expect("the raw association walk", want, true);
    w
}

/// Each walk's rows, in report order, with the walk.
type Walks = Vec<(&'static str, Walk)>;

fn now() -> i64 {
    spoke_core::time::now_millis()
}

/// The raw side: gives the store the server's shape beyond its contacts (`raw_shape`),
/// touches the same tenth, and walks each scenario straight on the store. The figures are
/// keyed by the HTTP rows' names.
pub async fn raw_run(
    store: &Arc<dyn Store>,
    contacts: &[i64],
    (hub_links, loaded_from): (u64, i64),
    concurrency: usize,
    syncs: &[SyncScenario],
    progress: &dyn Fn(&str),
) -> Result<Vec<(String, Measured)>, String> {
    progress("raw: loading companies, deals and associations for the sync");
    let (hub, ten) = raw_shape(store, contacts, hub_links, concurrency).await?;
    let (point, touched, m) = touch(contacts, concurrency, |ids| RawTouch {
        store: store.clone(),
        ids,
    })
    .await?;
    progress(&format!(
        "raw: modified {} contacts after the point ({:.0} objects/s)",
        touched.len(),
        m.objects_per_sec()
    ));
    let shape = Shape {
        contacts: contacts.to_vec(),
        hub,
        ten,
        hub_links,
        loaded_from,
        point,
        touched,
    };
    let mut out = Vec::new();
    for &s in syncs {
        let before = crate::load_average();
        for (row, walk) in raw_walks(store, &shape, s).await {
            // The raw walks run minutes before the HTTP ones on a machine others share: the
            // load average says how comparable the two were.
            progress(&format!(
                "raw {row}: {}; load average {before} before, {} after",
                walk.summary(),
                crate::load_average()
            ));
            out.push((row.to_owned(), walk.measured()));
        }
    }
    Ok(out)
}

async fn raw_walks(store: &Arc<dyn Store>, shape: &Shape, s: SyncScenario) -> Walks {
    match s {
        SyncScenario::FullSync => {
            let want = shape.expect_companies_deals(shape.all());
            let list = raw_list(store, &want).await;
            let window = Window {
                from: shape.loaded_from,
                to: now(),
            };
            let search = raw_airbyte(store, window, false, &want).await;
            let both = Walk::both(&list, &search);
            vec![(LIST_ROW, list), (SEARCH_ROW, search), (TOTAL_ROW, both)]
        }
        SyncScenario::AirbyteTenth | SyncScenario::AirbyteAll => {
            let want = shape.expect_contacts_companies(shape.selected(s));
            let window = Window {
                from: shape.from(s),
                to: now(),
            };
            vec![(s.row(), raw_airbyte(store, window, true, &want).await)]
        }
        SyncScenario::MeltanoTenth | SyncScenario::MeltanoAll => {
            let want = Expect {
                ids: shape.selected(s),
                associations: (0, 0),
            };
            vec![(s.row(), raw_meltano(store, shape.from(s), &want).await)]
        }
        SyncScenario::Associations => {
            let want = shape.expect_companies_deals(shape.all());
            vec![(s.row(), raw_association_walk(store, &want).await)]
        }
    }
}

/// One row of the HTTP side: the walk's figures, the server's resources meanwhile, and what
/// the report says under the table.
pub struct HttpRow {
    pub row: &'static str,
    pub measured: Measured,
    pub resources: Resources,
    pub note: String,
    /// The load average (1, 5, 15 min) before and after the walk.
    pub load: (String, String),
}

/// A walk as the report's sync table shows it: beside its raw figure, with the server's RSS
/// and the machine's load average.
pub struct SyncLine {
    pub row: &'static str,
    pub http: Measured,
    pub raw: Option<Measured>,
    pub rss_peak: u64,
    pub load: (String, String),
}

/// Whether a report row is a sync walk's (shown in the sync table, not the scenarios').
pub fn is_row(name: &str) -> bool {
    [LIST_ROW, SEARCH_ROW, TOTAL_ROW].contains(&name)
        || SyncScenario::ALL.iter().any(|s| s.row() == name)
}

/// The sync table: one row per walk, records/s and per-page latency beside the raw store's
/// figure for the same reads in the same run.
pub fn markdown(out: &mut String, lines: &[SyncLine]) {
    use std::fmt::Write;
    if lines.is_empty() {
        return;
    }
    let num = |x: f64| crate::report::num(x);
    let _ = writeln!(
        out,
        "\n### connector-shaped syncs (one client, each walk once to the end)\n"
    );
    let _ = writeln!(
        out,
        "| walk | pages | records | records/s | p50 ms/page | p99 ms/page | raw records/s | raw p50 / p99 ms | HTTP/raw | server RSS peak MiB | load average before → after |"
    );
    let _ = writeln!(
        out,
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for l in lines {
        let m = &l.http;
        let errors = if m.errors > 0 {
            format!(" (FAILED: {})", m.error_samples.join(" | "))
        } else {
            String::new()
        };
        let (raw, raw_latency, ratio) = match &l.raw {
            Some(r) if r.objects_per_sec() > 0.0 => (
                num(r.objects_per_sec()),
                format!("{:.2} / {:.2}", ms(r.latency.p50), ms(r.latency.p99)),
                format!("{:.0}%", 100.0 * m.objects_per_sec() / r.objects_per_sec()),
            ),
            _ => ("—".into(), "—".into(), "—".into()),
        };
        let _ = writeln!(
            out,
            "| {}{errors} | {} | {} | {} | {:.2} | {:.2} | {raw} | {raw_latency} | {ratio} | {:.0} | {} → {} |",
            l.row,
            num(m.requests as f64),
            num(m.objects as f64),
            num(m.objects_per_sec()),
            ms(m.latency.p50),
            ms(m.latency.p99),
            l.rss_peak as f64 / 1024.0 / 1024.0,
            l.load.0,
            l.load.1
        );
    }
    // Issue 17's target, over the walks a connector makes (the full sync's phases count
    // through their sum): reported, never asserted.
    let lowest = lines
        .iter()
        .filter(|l| l.row != LIST_ROW && l.row != SEARCH_ROW)
        .filter_map(|l| {
            let raw = l.raw.as_ref()?.objects_per_sec();
            (raw > 0.0).then(|| (l.http.objects_per_sec() / raw, l.row))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((ratio, row)) = lowest {
        let verdict = if ratio >= 0.5 { "met" } else { "NOT met" };
        let _ = writeln!(
            out,
            "\n- every connector scenario ≥ 50% of the raw store's records/s (issue 17): **{verdict}**: lowest {:.0}% ({row})",
            100.0 * ratio
        );
    }
}

/// The HTTP side: the property names, the same touch through `batch/update`, then each
/// scenario's walks against the server, each timed with the server's resources.
pub async fn http_run(
    api: &Arc<Api>,
    data: &crate::http::DataSet,
    concurrency: usize,
    syncs: &[SyncScenario],
    rss: &RssSampler,
    progress: &dyn Fn(&str),
) -> Result<Vec<HttpRow>, String> {
    let names = property_names(api).await?;
    let (point, touched, m) = touch(&data.contacts, concurrency, |ids| HttpTouch {
        api: api.clone(),
        ids,
    })
    .await?;
    progress(&format!(
        "modified {} contacts after the point through batch/update ({:.0} objects/s); {} property names per search and list",
        touched.len(),
        m.objects_per_sec(),
        names.len()
    ));
    let shape = Shape {
        contacts: data.contacts.clone(),
        hub: data.hub,
        ten: data.ten,
        hub_links: data.hub_links as u64,
        loaded_from: data.loaded_from,
        point,
        touched,
    };
    let mut out = Vec::new();
    for &s in syncs {
        match s {
            SyncScenario::FullSync => {
                let want = shape.expect_companies_deals(shape.all());
                let list = timed(rss, LIST_ROW, progress, http_list(api, &names, &want)).await;
                let window = Window {
                    from: shape.loaded_from,
                    to: now(),
                };
                let search = http_airbyte(api, &names, window, false, &want);
                let search = timed(rss, SEARCH_ROW, progress, search).await;
                let both = Walk::both(&list.1, &search.1);
                let resources = crate::combined(
                    (list.0.resources, list.0.measured.elapsed),
                    (search.0.resources, search.0.measured.elapsed),
                );
                let note = format!("{TOTAL_ROW}: {}", both.detail());
                let load = (list.0.load.0.clone(), search.0.load.1.clone());
                out.extend([list.0, search.0]);
                out.push(HttpRow {
                    row: TOTAL_ROW,
                    measured: both.measured(),
                    resources,
                    note,
                    load,
                });
            }
            SyncScenario::AirbyteTenth | SyncScenario::AirbyteAll => {
                let want = shape.expect_contacts_companies(shape.selected(s));
                let window = Window {
                    from: shape.from(s),
                    to: now(),
                };
                let w = http_airbyte(api, &names, window, true, &want);
                out.push(timed(rss, s.row(), progress, w).await.0);
            }
            SyncScenario::MeltanoTenth | SyncScenario::MeltanoAll => {
                let want = Expect {
                    ids: shape.selected(s),
                    associations: (0, 0),
                };
                let w = http_meltano(api, &names, shape.from(s), &want);
                out.push(timed(rss, s.row(), progress, w).await.0);
            }
            SyncScenario::Associations => {
                let want = shape.expect_companies_deals(shape.all());
                let w = http_association_walk(api, &want);
                out.push(timed(rss, s.row(), progress, w).await.0);
            }
        }
    }
    Ok(out)
}

/// Runs one walk with the server's resources sampled, and the load average before and after
/// beside it (the machine is shared).
async fn timed(
    rss: &RssSampler,
    row: &'static str,
    progress: &dyn Fn(&str),
    walk: impl std::future::Future<Output = Walk>,
) -> (HttpRow, Walk) {
    let before = crate::load_average();
    let stretch = rss.begin();
    let w = walk.await;
    let resources = rss.end(stretch);
    progress(&format!("{row}: {}", w.summary()));
    let note = format!(
        "{row}: {}; server {:.2} cores, load generator {:.2}, other processes {:.2}",
        w.detail(),
        resources.server_cores,
        resources.client_cores,
        resources.other_cores,
    );
    let row = HttpRow {
        row,
        measured: w.measured(),
        resources,
        note,
        load: (before, crate::load_average()),
    };
    (row, w)
}

/// Gives the raw store the shape the HTTP load gives the server, beyond the contacts it
/// already holds (`contacts`, in load order): the companies (one per ten contacts, plus the
/// hub's `hub_links`), the hub and ten-link contacts (their ids returned), the deals, and
/// the same associations.
pub async fn raw_shape(
    store: &Arc<dyn Store>,
    contacts: &[i64],
    hub_links: u64,
    concurrency: usize,
) -> Result<(i64, i64), String> {
    let records = contacts.len() as u64;
    let regular_companies = records.div_ceil(10);
    let run = |m: Measured, what: &str| {
        if m.errors > 0 {
            Err(format!(
                "raw {what} failed: {}",
                m.error_samples.join(" | ")
            ))
        } else {
            Ok(())
        }
    };
    let companies = Load::new(
        RawCreateOf(store.clone(), COMPANIES),
        regular_companies + hub_links,
    );
    run(companies.run(concurrency, 3).await, "companies")?;
    let company_ids = companies.ids()?;
    let (regular, hub_companies) = company_ids.split_at(regular_companies as usize);
    let (hub, ten) = raw::create_special_contacts(store.as_ref()).await?;
    let pairs = data::company_pairs(contacts, regular, (hub, hub_companies), ten);
    let count = pairs.len() as u64;
    let link = RawLink {
        store: store.clone(),
        to_type: COMPANIES,
        pairs,
    };
    run(
        Load::new(link, count).run(concurrency, 4).await,
        "company associations",
    )?;
    let deals = Load::new(RawCreateOf(store.clone(), DEALS), records.div_ceil(10));
    run(deals.run(concurrency, 6).await, "deals")?;
    let pairs = data::deal_pairs(contacts, &deals.ids()?);
    let count = pairs.len() as u64;
    let link = RawLink {
        store: store.clone(),
        to_type: DEALS,
        pairs,
    };
    run(
        Load::new(link, count).run(concurrency, 7).await,
        "deal associations",
    )?;
    Ok((hub, ten))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_cursor_restarts_the_floor_at_the_window() {
        let c = SearchCursor { after: 0, floor: 0 };
        assert_eq!(
            c.next(SEARCH_PAGE, true, Some(200)),
            Some(SearchCursor {
                after: 200,
                floor: 0
            })
        );
        // A short page, or no `paging`, ends the walk.
        assert_eq!(c.next(150, true, Some(150)), None);
        assert_eq!(c.next(SEARCH_PAGE, false, Some(200)), None);
        // The page at offset 9,800 is the window's last: offset 0 above the last id seen,
        // although the answer offers no `paging` there.
        let last = SearchCursor {
            after: SEARCH_WINDOW - SEARCH_PAGE,
            floor: 7,
        };
        assert_eq!(
            last.next(SEARCH_PAGE, false, Some(12_345)),
            Some(SearchCursor {
                after: 0,
                floor: 12_346
            })
        );
        // The query after a restart finds nothing: the end.
        let empty = SearchCursor {
            after: 0,
            floor: 12_346,
        };
        assert_eq!(empty.next(0, false, None), None);
    }

    #[test]
    fn meltano_cursor_restarts_from_the_last_modified_date() {
        let c = MeltanoCursor {
            since: 1_000,
            after: None,
        };
        // No paging: the end.
        assert_eq!(c.next(None, Some(5_000)), Ok(None));
        // A token below the window is sent as it came.
        assert_eq!(
            c.next(Some("9800"), Some(5_000)),
            Ok(Some(MeltanoCursor {
                since: 1_000,
                after: Some("9800".into())
            }))
        );
        // 9,900 + 100 reaches 10,000: a new query from the last record's date, no `after`.
        assert_eq!(
            c.next(Some("9900"), Some(5_000)),
            Ok(Some(MeltanoCursor {
                since: 5_000,
                after: None
            }))
        );
        // A restart that does not move the date would loop forever: the walk fails.
        assert!(c.next(Some("9900"), Some(1_000)).is_err());
        assert!(c.next(Some("next"), Some(5_000)).is_err());
    }

    #[test]
    fn the_touched_tenth_is_the_last_tenth_by_id() {
        assert_eq!(to_touch(&[5, 1, 9, 3, 7, 2, 8, 4, 6, 10, 11]), vec![10, 11]);
        assert_eq!(to_touch(&[3, 1, 2]), vec![3]);
        assert_eq!(to_touch(&[]), Vec::<i64>::new());
    }
}
