//! `search-total` (issue 17): search pages that report an exact `total`, for a filter
//! matching about half of the contacts (`lastmodifieddate GTE` the middle of the load),
//! sorted by it, 100 a page at a random `after` below 10,000, at each concurrency; over
//! HTTP and on the raw store (`search_objects`, the same query) in the same run.
//!
//! Two rows: the same filter on every request (what a connector's walk asks page after
//! page: the count is taken once per write generation, `spoke_store::totals`), and a new
//! filter on every request that matches the same records (a second bound, `lastmodifieddate
//! LTE` a date in 2100 plus the request's ticket in ms, so no two requests share a count):
//! the cost of counting itself.

use std::sync::Arc;

use serde_json::json;
use spoke_core::search::{Condition, Field, Filter, Operand, SearchQuery, Sort};
use spoke_store::Store;

use crate::driver::{BoxFuture, Op, Worker};
use crate::http::{parse, results_len, Api, SEARCH};

/// The name `--scenarios` takes.
pub const KEY: &str = "search-total";

const PAGE: usize = 100;
/// Pages start below HubSpot's search window (`spoke_core::search::MAX_RESULTS`) and
/// below the half of the `records` contacts the filter matches.
fn pages(records: u64) -> usize {
    let half = usize::try_from(records / 2).unwrap_or(usize::MAX);
    (half / PAGE).clamp(1, spoke_core::search::MAX_RESULTS / PAGE)
}

/// The rows, in order: (row name, whether each request moves the filter).
pub const ROWS: [(&str, bool); 2] = [
    ("search total, one filter (50%)", false),
    ("search total, a new filter each request (counted)", true),
];

/// Far past every record's modified date: a bound that excludes nothing.
const FAR: i64 = 4_102_444_800_000;

/// The `lastmodifieddate LTE` bound of request `ticket`, if each request moves its filter.
fn upper(moving: bool, ticket: u64) -> Option<i64> {
    moving.then(|| FAR + (ticket % 1_000_000_000) as i64)
}

/// Over HTTP.
pub struct HttpTotal {
    pub api: Arc<Api>,
    pub records: u64,
    pub cutoff: i64,
    pub moving: bool,
}

impl Op for HttpTotal {
    fn call<'a>(
        &'a self,
        worker: &'a mut Worker,
        ticket: u64,
    ) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(async move {
            let after = worker.rng.below(pages(self.records)) * PAGE;
            let mut filters = vec![json!({
                "propertyName": "lastmodifieddate", "operator": "GTE",
                "value": self.cutoff.to_string()
            })];
            if let Some(hi) = upper(self.moving, ticket) {
                filters.push(json!({
                    "propertyName": "lastmodifieddate", "operator": "LTE",
                    "value": hi.to_string()
                }));
            }
            let body = self
                .api
                .post(
                    SEARCH,
                    &json!({
                        "filterGroups": [{ "filters": filters }],
                        "sorts": [{ "propertyName": "lastmodifieddate", "direction": "ASCENDING" }],
                        "limit": PAGE,
                        "after": after.to_string()
                    }),
                    200,
                )
                .await?;
            let v = parse(&body)?;
            if v["total"].as_u64().unwrap_or(0) == 0 {
                return Err("search total: no matches".into());
            }
            Ok(results_len(&v))
        })
    }
}

/// On the raw store: the query the server compiles from the request above.
pub struct RawTotal {
    pub store: Arc<dyn Store>,
    pub records: u64,
    pub cutoff: i64,
    pub moving: bool,
}

impl Op for RawTotal {
    fn call<'a>(
        &'a self,
        worker: &'a mut Worker,
        ticket: u64,
    ) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(async move {
            let after = worker.rng.below(pages(self.records)) * PAGE;
            let mut filters = vec![Filter {
                field: Field::UpdatedAt,
                condition: Condition::Gte(Operand::Millis(self.cutoff)),
            }];
            if let Some(hi) = upper(self.moving, ticket) {
                filters.push(Filter {
                    field: Field::UpdatedAt,
                    condition: Condition::Lte(Operand::Millis(hi)),
                });
            }
            let q = SearchQuery {
                groups: vec![filters],
                text: None,
                text_properties: Vec::new(),
                sort: Some(Sort {
                    field: Field::UpdatedAt,
                    descending: false,
                }),
                offset: after,
                limit: PAGE,
            };
            let page = self
                .store
                .search_objects(crate::raw::PORTAL, crate::raw::CONTACTS, &q)
                .await
                .map_err(|e| e.to_string())?;
            if page.total == 0 {
                return Err("search total: no matches".into());
            }
            Ok(page.records.len() as u64)
        })
    }
}

/// A `lastmodifieddate` that about half of the raw store's contacts reach: the raw load
/// stamps a batch when it is queued, so the middle of the load's time is not the middle of
/// its records (a small load is stamped almost at once). Found by bisecting counts; if every
/// record has one date, that date (all of them match).
pub async fn raw_cutoff(store: &Arc<dyn Store>, from: i64, to: i64, records: u64) -> i64 {
    let total = |cutoff: i64| async move {
        let q = SearchQuery {
            groups: vec![vec![Filter {
                field: Field::UpdatedAt,
                condition: Condition::Gte(Operand::Millis(cutoff)),
            }]],
            text: None,
            text_properties: Vec::new(),
            sort: None,
            offset: 0,
            limit: 1,
        };
        store
            .search_objects(crate::raw::PORTAL, crate::raw::CONTACTS, &q)
            .await
            .map_or(0, |p| p.total as u64)
    };
    let (mut lo, mut hi) = (from, to);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if total(mid).await > records / 2 {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if total(lo).await == 0 {
        from
    } else {
        lo
    }
}
