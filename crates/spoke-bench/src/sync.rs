//! Connector-shaped sync scenarios: one client walking the whole data set page by page, in
//! the request shapes an open-source connector sends (reference:
//! connectors-surface.md §4.2 and §5.3), timed per page and as a whole, beside the same
//! walk done straight on the store in the same run.
//!
//! Unlike the timed scenarios (a fixed concurrency for a fixed time), a sync runs once, to
//! the end, on one connection, as a connector's first sync does; each phase is a row of its
//! own (concurrency 1), and the sync as a whole a third. New sync shapes (issue 17) are
//! further [`SyncScenario`]s built from the same walks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;
use spoke_core::search::{Condition, Field, Filter, Operand, SearchQuery, Sort};
use spoke_store::{ReadOptions, Store};

use crate::data;
use crate::driver::{Load, Measured};
use crate::http::{parse, Api, SEARCH};
use crate::raw::{self, RawCreateOf, RawLink, COMPANIES, CONTACTS, DEALS, PORTAL};
use crate::stats::{ms, Latency};

/// Records per list page: the `limit` every connector sends to the list endpoint.
pub const LIST_PAGE: usize = 100;
/// Records per search page: Airbyte's `limit` (HubSpot's maximum).
pub const SEARCH_PAGE: usize = 200;
/// HubSpot's search window: no `after` at or past it (spoke_core::search::MAX_RESULTS).
pub const SEARCH_WINDOW: usize = spoke_core::search::MAX_RESULTS;
/// How many contact property names the sync asks for: a portal's schema as connectors see
/// it has hundreds; spoke's built-in contact properties are about 25, so the sync creates
/// custom ones up to this count.
pub const PROPERTY_NAMES: usize = 100;
/// Targets per record in a v3 `associations` block (the server's association page size).
const ASSOCIATION_PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncScenario {
    /// A first sync: every contact through the list endpoint with every property and
    /// `associations=companies,deals`, then every contact again through search by
    /// modified date in Airbyte's incremental shape.
    FullSync,
}

impl SyncScenario {
    pub const ALL: [SyncScenario; 1] = [SyncScenario::FullSync];

    /// The name `--scenarios` takes.
    pub fn key(self) -> &'static str {
        match self {
            SyncScenario::FullSync => "full-sync",
        }
    }
}

/// The rows a full sync reports, in order; the raw figures are keyed by the same names.
pub const LIST_ROW: &str =
    "full sync: list, 100/page, all properties, associations=companies,deals";
pub const SEARCH_ROW: &str =
    "full sync: search lastmodifieddate window, 200/page, hs_object_id floor every 10,000";
pub const TOTAL_ROW: &str = "full sync: both phases";

/// The modified-date window the search selects (epoch ms, both ends inclusive).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

/// Times one walk: every page's latency, the records it returned, the first error (a walk
/// stops at its first failed page: the cursor after it is unknown).
#[derive(Default)]
pub struct Walk {
    latencies: Vec<Duration>,
    done_at: Vec<Duration>,
    records: u64,
    /// Association ids in list pages (companies, deals), a cross-check between HTTP and raw.
    pub associations: (u64, u64),
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
            objects: self.records,
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
            records: a.records + b.records,
            associations: (0, 0),
            error: a.error.clone().or_else(|| b.error.clone()),
            elapsed: a.elapsed + b.elapsed,
        }
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// Fails the walk unless it returned exactly `want` records.
    fn expect(&mut self, what: &str, want: u64) {
        if self.error.is_none() && self.records != want {
            self.error = Some(format!(
                "{what} returned {} records, expected {want}",
                self.records
            ));
        }
    }

    pub fn summary(&self) -> String {
        let m = self.measured();
        format!(
            "{} records in {} pages, {:.1} s: {:.0} records/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms{}",
            self.records,
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
}

/// What a page told the walk.
struct Page {
    records: u64,
    last_id: Option<i64>,
    /// The answer offers a next page (`paging`).
    more: bool,
    /// The list's `paging.next.after`.
    next_after: Option<String>,
    associations: (u64, u64),
}

/// Runs `page` until it says there is no more, timing each call; `next` turns a page into
/// the next cursor, or `None` at the end.
async fn walk<C, F, Fut>(
    mut cursor: C,
    mut page: F,
    mut next: impl FnMut(&C, &Page) -> Option<C>,
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
        match result {
            Ok(p) => {
                w.records += p.records;
                w.associations.0 += p.associations.0;
                w.associations.1 += p.associations.1;
                match next(&cursor, &p) {
                    Some(c) => cursor = c,
                    None => break,
                }
            }
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

fn search_next(c: &SearchCursor, p: &Page) -> Option<SearchCursor> {
    c.next(p.records as usize, p.more, p.last_id)
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
struct Item {
    id: String,
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
    next: Next,
}

#[derive(Deserialize)]
struct Next {
    after: String,
}

fn read_answer(body: &[u8]) -> Result<(Answer, Option<i64>), String> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        format!(
            "not a list answer ({e}): {}",
            text.chars().take(300).collect::<String>()
        )
    })?;
    let last = match answer.results.last() {
        None => None,
        Some(r) => Some(
            r.id.parse::<i64>()
                .map_err(|_| format!("result id {:?} is not a number", r.id))?,
        ),
    };
    Ok((answer, last))
}

fn page_of(answer: Answer, last_id: Option<i64>) -> Page {
    let count = |f: fn(&Associations) -> &Option<IdList>| {
        answer
            .results
            .iter()
            .filter_map(|r| r.associations.as_ref())
            .filter_map(|a| f(a).as_ref())
            .map(|l| l.results.len() as u64)
            .sum()
    };
    Page {
        records: answer.results.len() as u64,
        last_id,
        more: answer.paging.is_some(),
        associations: (count(|a| &a.companies), count(|a| &a.deals)),
        next_after: answer.paging.map(|p| p.next.after),
    }
}

/// Phase 1 over HTTP: `GET /crm/v3/objects/contacts` pages of 100 with every name in
/// `properties=` and `associations=companies,deals`, following `paging.next.after` to the end.
pub async fn http_list(api: &Api, names: &[String], want: u64) -> Walk {
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
            async move {
                let body = api.get(&path, 200).await?;
                let (answer, last) = read_answer(&body)?;
                Ok(page_of(answer, last))
            }
        },
        |_, p| p.next_after.clone().map(Some),
    )
    .await;
    w.expect("the list", want);
    w
}

/// Phase 2 over HTTP: `POST /crm/v3/objects/contacts/search` in Airbyte's incremental
/// shape (top-level `filters`: `lastmodifieddate` GTE/LTE the window and `hs_object_id` GTE
/// the floor; sorted by `hs_object_id`; `limit` 200; `after` a number it computes), every
/// property named, until a page is short or offers no more.
pub async fn http_search(api: &Api, names: &[String], window: Window, want: u64) -> Walk {
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
                let body = api.post(SEARCH, &body, 200).await?;
                let (answer, last) = read_answer(&body)?;
                Ok(page_of(answer, last))
            }
        },
        search_next,
    )
    .await;
    w.expect("the search", want);
    w
}

/// Phase 1 on the store: the reads the list handler makes for each page (the records, then
/// one page of each association type for the page's ids), without HTTP or projection.
pub async fn raw_list(store: &Arc<dyn Store>, want: u64) -> Walk {
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
                let ids: Vec<(i64, Option<i64>)> = records.iter().map(|r| (r.id, None)).collect();
                let mut associations = (0, 0);
                for (to, slot) in [
                    (COMPANIES, &mut associations.0),
                    (DEALS, &mut associations.1),
                ] {
                    let pages = store
                        .page_associations(PORTAL, CONTACTS, to, ids.clone(), ASSOCIATION_PAGE)
                        .await
                        .map_err(|e| e.to_string())?;
                    *slot = pages
                        .iter()
                        .map(|p| p.targets.iter().map(|t| t.types.len() as u64).sum::<u64>())
                        .sum();
                }
                let last_id = records.last().map(|r| r.id);
                Ok(Page {
                    records: records.len() as u64,
                    last_id,
                    more,
                    next_after: None,
                    associations,
                })
            }
        },
        |_, p| p.more.then_some(p.last_id).flatten().map(Some),
    )
    .await;
    w.expect("the raw list", want);
    w
}

/// Phase 2 on the store: the same queries the search handler compiles, page by page.
pub async fn raw_search(store: &Arc<dyn Store>, window: Window, want: u64) -> Walk {
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
                let page = store
                    .search_objects(PORTAL, CONTACTS, &query)
                    .await
                    .map_err(|e| e.to_string())?;
                let next = query.offset + query.limit;
                Ok(Page {
                    records: page.records.len() as u64,
                    last_id: page.records.last().map(|r| r.id),
                    // What the handler's `paging` says.
                    more: next < page.total && next < SEARCH_WINDOW,
                    next_after: None,
                    associations: (0, 0),
                })
            }
        },
        search_next,
    )
    .await;
    w.expect("the raw search", want);
    w
}

/// Gives the raw store the shape the HTTP load gives the server, beyond the contacts it
/// already holds (`contacts`, in load order): the companies (one per ten contacts, plus the
/// hub's `hub_links`), the hub and ten-link contacts, the deals, and the same associations.
pub async fn raw_shape(
    store: &Arc<dyn Store>,
    contacts: &[i64],
    hub_links: u64,
    concurrency: usize,
) -> Result<(), String> {
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
    )
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
}
