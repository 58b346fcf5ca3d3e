//! The soak: a long mixed HubSpot-shaped load on one server, sampling its RSS, throughput,
//! errors and p99 at a fixed interval, and judging at the end whether memory stayed flat
//! once warmed up. A leak shows here as a steady climb that no single scenario of the
//! benchmark runs long enough to see.
//!
//! The data set stays bounded however long it runs: upserts name records of a fixed pool,
//! created contacts are archived by the next request, and the associations it creates are
//! archived right after. What grows is property history and archived rows on disk, as in
//! production; the server's memory should not.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::data;
use crate::http::{
    batch_read, batch_update, batch_upsert, id_inputs, list_page, search_email, unexpected, Api,
    DataSet, ASSOC_BATCH_READ, BATCH, BATCH_CREATE, BATCH_READ, BATCH_UPDATE, BATCH_UPSERT, SEARCH,
};
use crate::server;
use crate::stats::{Latency, Rng};

/// Emails of the upsert pool (`soak-pool-N@example.com`), created before the soak starts so
/// every upsert is a change to a known record.
pub const POOL: u64 = 1_000;

/// The warm-up: this share of the samples (at least [`MIN_WARMUP_SAMPLES`]) is excluded
/// from the flatness judgement; caches, pools and allocator arenas fill during it.
const WARMUP_SHARE: f64 = 0.10;
const MIN_WARMUP_SAMPLES: usize = 2;
/// Flat: after warm-up, the settled level (the median of the last tenth of the samples, at
/// least [`MIN_END_SAMPLES`]) is above the warm-up level by no more than the smaller of
/// these, and so is the growth the least-squares slope projects over the run. Single
/// samples are not judged: RSS moves by ±8 MiB between 30 s samples as the allocator
/// returns and takes pages (the first hour-long run), which says nothing about a leak.
const FLAT_SHARE: f64 = 0.10;
const FLAT_BYTES: u64 = 16 * 1024 * 1024;
const END_SHARE: f64 = 0.10;
const MIN_END_SAMPLES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BatchRead,
    BatchUpdate,
    BatchUpsert,
    BatchCreate,
    BatchArchive,
    GetOne,
    PatchOne,
    ListPage,
    SearchEmail,
    SearchFilters,
    SearchQuery,
    AssocBatchRead,
    AssocBatchCreate,
    AssocBatchArchive,
    AssocPage,
    PropertyList,
    PropertyRead,
}

impl Kind {
    const ALL: [Kind; 17] = [
        Kind::BatchRead,
        Kind::BatchUpdate,
        Kind::BatchUpsert,
        Kind::BatchCreate,
        Kind::BatchArchive,
        Kind::GetOne,
        Kind::PatchOne,
        Kind::ListPage,
        Kind::SearchEmail,
        Kind::SearchFilters,
        Kind::SearchQuery,
        Kind::AssocBatchRead,
        Kind::AssocBatchCreate,
        Kind::AssocBatchArchive,
        Kind::AssocPage,
        Kind::PropertyList,
        Kind::PropertyRead,
    ];

    /// Out of 100 picks. Creates and association creates are each followed by their
    /// archive, which has no weight of its own. Reads dominate, as in a sync or an app.
    fn weight(self) -> usize {
        match self {
            Kind::BatchRead => 14,
            Kind::BatchUpdate => 8,
            Kind::BatchUpsert => 6,
            Kind::BatchCreate => 4,
            Kind::GetOne => 15,
            Kind::PatchOne => 8,
            Kind::ListPage => 10,
            Kind::SearchEmail => 6,
            Kind::SearchFilters => 5,
            Kind::SearchQuery => 5,
            Kind::AssocBatchRead => 7,
            Kind::AssocBatchCreate => 3,
            Kind::AssocPage => 2,
            Kind::PropertyList => 3,
            Kind::PropertyRead => 4,
            Kind::BatchArchive | Kind::AssocBatchArchive => 0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::BatchRead => "contacts batch/read (100)",
            Kind::BatchUpdate => "contacts batch/update (100)",
            Kind::BatchUpsert => "contacts batch/upsert by email (100)",
            Kind::BatchCreate => "contacts batch/create (10)",
            Kind::BatchArchive => "contacts batch/archive (the 10 just created)",
            Kind::GetOne => "GET one contact",
            Kind::PatchOne => "PATCH one contact",
            Kind::ListPage => "list page (100, walking)",
            Kind::SearchEmail => "search email EQ",
            Kind::SearchFilters => "search city EQ + modified GT, sorted",
            Kind::SearchQuery => "search `query`",
            Kind::AssocBatchRead => "v4 assoc batch/read (100 companies)",
            Kind::AssocBatchCreate => "v4 assoc batch/create labelled (10)",
            Kind::AssocBatchArchive => "v4 assoc batch/archive (the 10 just created)",
            Kind::AssocPage => "v4 assoc page of one contact",
            Kind::PropertyList => "properties list",
            Kind::PropertyRead => "property read",
        }
    }

    fn pick(rng: &mut Rng) -> Kind {
        let mut r = rng.below(100);
        for k in Kind::ALL {
            if r < k.weight() {
                return k;
            }
            r -= k.weight();
        }
        Kind::GetOne
    }
}

pub struct SoakConfig {
    pub duration: Duration,
    pub sample: Duration,
    pub concurrency: usize,
    /// Judge flatness (off for the CI smoke run, which is too short to mean anything).
    pub check_flat: bool,
}

#[derive(Default)]
struct Window {
    requests: u64,
    server_errors: u64,
    transport_errors: u64,
    other_errors: u64,
    latencies: Vec<Duration>,
}

#[derive(Default)]
struct Totals {
    requests: [u64; Kind::ALL.len()],
    errors: [u64; Kind::ALL.len()],
    server_errors: u64,
    transport_errors: u64,
    other_errors: u64,
    /// Every latency of the run, in microseconds (4 bytes each keeps an hour small).
    latencies_us: Vec<u32>,
    error_samples: Vec<String>,
}

#[derive(Default)]
struct Stats {
    window: Window,
    totals: Totals,
}

const MAX_ERROR_SAMPLES: usize = 10;

pub struct Sample {
    pub at: Duration,
    pub rss: u64,
    pub requests: u64,
    pub per_sec: f64,
    pub p99: Duration,
    pub errors: u64,
}

struct Load {
    api: Arc<Api>,
    data: Arc<DataSet>,
    /// Companies no loaded contact is linked to: the association create/archive pairs go
    /// to these, so archiving never touches the loaded links the reads expect.
    spare_companies: Vec<i64>,
    next_number: AtomicU64,
    seq: AtomicU64,
    stats: Mutex<Stats>,
    stop: AtomicBool,
}

enum Outcome {
    Ok(Vec<u8>),
    Failed,
}

impl Load {
    fn record(&self, kind: Kind, took: Duration, error: Option<(u16, String)>) {
        let Ok(mut s) = self.stats.lock() else {
            return;
        };
        let i = kind as usize;
        s.window.requests += 1;
        s.window.latencies.push(took);
        s.totals.requests[i] += 1;
        s.totals
            .latencies_us
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        if let Some((status, msg)) = error {
            s.totals.errors[i] += 1;
            match status {
                0 => {
                    s.window.transport_errors += 1;
                    s.totals.transport_errors += 1;
                }
                500.. => {
                    s.window.server_errors += 1;
                    s.totals.server_errors += 1;
                }
                _ => {
                    s.window.other_errors += 1;
                    s.totals.other_errors += 1;
                }
            }
            if s.totals.error_samples.len() < MAX_ERROR_SAMPLES {
                s.totals.error_samples.push(msg);
            }
        }
    }

    async fn call(
        &self,
        kind: Kind,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Outcome {
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap_or_default());
        let t0 = Instant::now();
        let result = self.api.send(method.clone(), path, bytes).await;
        let took = t0.elapsed();
        match result {
            Ok((status, body)) if status == expect => {
                self.record(kind, took, None);
                Outcome::Ok(body)
            }
            Ok((status, body)) => {
                let msg = unexpected(&method, path, (status, expect), &body);
                self.record(kind, took, Some((status, msg)));
                Outcome::Failed
            }
            Err(e) => {
                self.record(kind, took, Some((0, e)));
                Outcome::Failed
            }
        }
    }

    async fn get(&self, kind: Kind, path: &str) -> Outcome {
        self.call(kind, Method::GET, path, None, 200).await
    }

    async fn post(&self, kind: Kind, path: &str, body: Value, expect: u16) -> Outcome {
        self.call(kind, Method::POST, path, Some(body), expect)
            .await
    }

    fn seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    async fn one(&self, kind: Kind, rng: &mut Rng, cursor: &mut Option<String>) {
        let set = &self.data;
        match kind {
            Kind::BatchRead => {
                let ids = set.random_contacts(rng, BATCH);
                self.post(kind, BATCH_READ, batch_read(ids), 200).await;
            }
            Kind::BatchUpdate => {
                let body = batch_update(set.random_contacts(rng, BATCH), || self.seq());
                self.post(kind, BATCH_UPDATE, body, 200).await;
            }
            Kind::BatchUpsert => {
                let loaded = rng
                    .distinct(set.records as usize, BATCH - 10)
                    .into_iter()
                    .map(|n| data::email(n as u64));
                let pool = rng
                    .distinct(POOL as usize, 10)
                    .into_iter()
                    .map(|n| pool_email(n as u64));
                let body = batch_upsert(loaded.chain(pool), || self.seq());
                self.post(kind, BATCH_UPSERT, body, 200).await;
            }
            Kind::BatchCreate | Kind::BatchArchive => {
                let first = self.next_number.fetch_add(10, Ordering::Relaxed);
                let inputs: Vec<Value> = (first..first + 10)
                    .map(|n| json!({ "properties": data::to_json(data::contact(n)) }))
                    .collect();
                let body = json!({ "inputs": inputs });
                let created = self.post(Kind::BatchCreate, BATCH_CREATE, body, 201).await;
                let Outcome::Ok(body) = created else { return };
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                let ids: Vec<Value> = v["results"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|r| json!({ "id": r["id"] }))
                    .collect();
                let path = "/crm/v3/objects/contacts/batch/archive";
                self.post(Kind::BatchArchive, path, json!({ "inputs": ids }), 204)
                    .await;
            }
            Kind::GetOne => {
                let id = set.random_contact(rng);
                let properties = "email,firstname,lastname,city,jobtitle";
                let path = format!("/crm/v3/objects/contacts/{id}?properties={properties}");
                self.get(kind, &path).await;
            }
            Kind::PatchOne => {
                let id = set.random_contact(rng);
                let seq = self.seq();
                let body = json!({ "properties": {
                    "jobtitle": format!("Soak {seq}"), "phone": format!("+1 555 {seq}") } });
                let path = format!("/crm/v3/objects/contacts/{id}");
                self.call(kind, Method::PATCH, &path, Some(body), 200).await;
            }
            Kind::ListPage => {
                let after = match cursor.take() {
                    Some(a) => a,
                    None => set.random_contact(rng).to_string(),
                };
                let path = list_page("email,firstname,lastname,city", &after);
                if let Outcome::Ok(body) = self.get(kind, &path).await {
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    *cursor = v["paging"]["next"]["after"].as_str().map(str::to_owned);
                }
            }
            Kind::SearchEmail => {
                let n = rng.below(set.records as usize) as u64;
                self.post(kind, SEARCH, search_email(n), 200).await;
            }
            Kind::SearchFilters => {
                let city =
                    ["Boston", "Dublin", "Berlin", "Paris", "Austin", "Sydney"][rng.below(6)];
                let body = json!({
                    "filterGroups": [{ "filters": [
                        { "propertyName": "city", "operator": "EQ", "value": city },
                        { "propertyName": "lastmodifieddate", "operator": "GT",
                          "value": set.modified_cutoff.to_string() }
                    ]}],
                    "sorts": [{ "propertyName": "lastmodifieddate", "direction": "DESCENDING" }],
                    "properties": ["email", "city", "jobtitle"],
                    "limit": 100
                });
                self.post(kind, SEARCH, body, 200).await;
            }
            Kind::SearchQuery => {
                let q =
                    ["Lovelace", "Hopper", "grace", "Turing", "bench-42", "Knuth"][rng.below(6)];
                let body = json!({ "query": q, "limit": 20, "properties": ["email", "firstname", "lastname"] });
                self.post(kind, SEARCH, body, 200).await;
            }
            Kind::AssocBatchRead => {
                let ids = set.random_companies(rng, BATCH);
                let body = json!({ "inputs": id_inputs(ids) });
                self.post(kind, ASSOC_BATCH_READ, body, 200).await;
            }
            Kind::AssocBatchCreate | Kind::AssocBatchArchive => {
                let pairs: Vec<(i64, i64)> = set
                    .random_contacts(rng, 10)
                    .into_iter()
                    .map(|c| {
                        (
                            c,
                            self.spare_companies[rng.below(self.spare_companies.len())],
                        )
                    })
                    .collect();
                let inputs: Vec<Value> = pairs
                    .iter()
                    .map(|(c, co)| {
                        json!({ "from": { "id": c.to_string() }, "to": { "id": co.to_string() },
                                "types": [{ "associationCategory": "HUBSPOT_DEFINED",
                                            "associationTypeId": 279 }] })
                    })
                    .collect();
                let path = "/crm/v4/associations/contacts/companies/batch/create";
                let created = self
                    .post(
                        Kind::AssocBatchCreate,
                        path,
                        json!({ "inputs": inputs }),
                        201,
                    )
                    .await;
                if let Outcome::Failed = created {
                    return;
                }
                let inputs: Vec<Value> = pairs
                    .iter()
                    .map(|(c, co)| {
                        json!({ "from": { "id": c.to_string() }, "to": [{ "id": co.to_string() }] })
                    })
                    .collect();
                let path = "/crm/v4/associations/contacts/companies/batch/archive";
                self.post(
                    Kind::AssocBatchArchive,
                    path,
                    json!({ "inputs": inputs }),
                    204,
                )
                .await;
            }
            Kind::AssocPage => {
                let id = set.random_contact(rng);
                let path = format!("/crm/v4/objects/contacts/{id}/associations/companies");
                self.get(kind, &path).await;
            }
            Kind::PropertyList => {
                self.get(kind, "/crm/v3/properties/contacts").await;
            }
            Kind::PropertyRead => {
                let name = ["email", "firstname", "lifecyclestage", "city"][rng.below(4)];
                self.get(kind, &format!("/crm/v3/properties/contacts/{name}"))
                    .await;
            }
        }
    }
}

pub fn pool_email(n: u64) -> String {
    format!("soak-pool-{n}@example.com")
}

/// Creates the upsert pool's contacts (so no upsert races another to create one).
pub async fn create_pool(api: &Api) -> Result<(), String> {
    for start in (0..POOL).step_by(BATCH) {
        let inputs: Vec<Value> = (start..(start + BATCH as u64).min(POOL))
            .map(|n| json!({ "properties": { "email": pool_email(n), "firstname": "Pool" } }))
            .collect();
        api.post(BATCH_CREATE, &json!({ "inputs": inputs }), 201)
            .await?;
    }
    Ok(())
}

pub struct SoakResult {
    pub report: String,
    pub passed: bool,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// Least-squares slope of RSS over time, in MiB per hour.
fn slope_mib_per_hour(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let xs: Vec<f64> = samples
        .iter()
        .map(|s| s.at.as_secs_f64() / 3600.0)
        .collect();
    let ys: Vec<f64> = samples.iter().map(|s| mib(s.rss)).collect();
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

/// Drives the mixed load for `cfg.duration`, printing a line per sample on stderr; returns
/// the Markdown summary and whether it passed.
pub async fn run(
    api: Arc<Api>,
    data: Arc<DataSet>,
    spare_companies: Vec<i64>,
    pid: u32,
    cfg: &SoakConfig,
    name: &str,
) -> Result<SoakResult, String> {
    if spare_companies.is_empty() || data.contacts.len() < BATCH || data.companies.len() < BATCH {
        return Err("the soak needs at least 1,000 contacts (--records)".into());
    }
    let load = Arc::new(Load {
        api,
        next_number: AtomicU64::new(2_000_000_000),
        seq: AtomicU64::new(3_000_000_000),
        data,
        spare_companies,
        stats: Mutex::new(Stats::default()),
        stop: AtomicBool::new(false),
    });
    let rss_start = server::rss_bytes(pid).unwrap_or(0);
    eprintln!(
        "[{name}] soak: {:.0} s at c={}, a sample every {:.0} s; server RSS before {:.1} MiB",
        cfg.duration.as_secs_f64(),
        cfg.concurrency,
        cfg.sample.as_secs_f64(),
        mib(rss_start)
    );
    let started = Instant::now();
    let mut workers = Vec::new();
    for index in 0..cfg.concurrency {
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = Rng::new(0x50A6 + index as u64);
            let mut cursor = None;
            while !load.stop.load(Ordering::Relaxed) {
                let kind = Kind::pick(&mut rng);
                load.one(kind, &mut rng, &mut cursor).await;
            }
        }));
    }

    let count = (cfg.duration.as_secs_f64() / cfg.sample.as_secs_f64())
        .floor()
        .max(1.0) as u32;
    let mut samples = Vec::new();
    let mut last = started;
    let mut died = false;
    for k in 1..=count {
        tokio::time::sleep_until((started + cfg.sample * k).into()).await;
        let now = Instant::now();
        let mut window = match load.stats.lock() {
            Ok(mut s) => std::mem::take(&mut s.window),
            Err(_) => return Err("soak statistics lock poisoned".into()),
        };
        let Some(rss) = server::rss_bytes(pid) else {
            died = true;
            break;
        };
        let p99 = Latency::of(&mut window.latencies).p99;
        let s = Sample {
            at: now - started,
            rss,
            requests: window.requests,
            per_sec: window.requests as f64 / (now - last).as_secs_f64(),
            p99,
            errors: window.server_errors + window.transport_errors + window.other_errors,
        };
        last = now;
        eprintln!(
            "[{name}] soak t={:>5.0}s  rss {:>7.1} MiB ({} KiB)  {:>6.0} req/s  p99 {:>7.1} ms  errors {} (5xx {}, transport {}, other {})",
            s.at.as_secs_f64(),
            mib(s.rss),
            s.rss / 1024,
            s.per_sec,
            crate::stats::ms(s.p99),
            s.errors,
            window.server_errors,
            window.transport_errors,
            window.other_errors
        );
        samples.push(s);
    }
    load.stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let elapsed = started.elapsed();
    let totals = match load.stats.lock() {
        Ok(mut s) => std::mem::take(&mut s.totals),
        Err(_) => return Err("soak statistics lock poisoned".into()),
    };
    Ok(verdict(
        cfg, &samples, &totals, rss_start, elapsed, died, name,
    ))
}

fn verdict(
    cfg: &SoakConfig,
    samples: &[Sample],
    totals: &Totals,
    rss_start: u64,
    elapsed: Duration,
    died: bool,
    name: &str,
) -> SoakResult {
    let mut s = String::new();
    let all: u64 = totals.requests.iter().sum();
    let errors = totals.server_errors + totals.transport_errors + totals.other_errors;
    let mut lat: Vec<Duration> = totals
        .latencies_us
        .iter()
        .map(|us| Duration::from_micros(u64::from(*us)))
        .collect();
    let overall = Latency::of(&mut lat);
    let _ = writeln!(s, "\n## soak on {name}\n");
    let _ = writeln!(
        s,
        "- {:.0} s at concurrency {}, a sample every {:.0} s ({} samples); server RSS before the soak {:.1} MiB",
        elapsed.as_secs_f64(),
        cfg.concurrency,
        cfg.sample.as_secs_f64(),
        samples.len(),
        mib(rss_start)
    );
    let _ = writeln!(
        s,
        "- {all} requests, {:.0} req/s; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        all as f64 / elapsed.as_secs_f64().max(1e-9),
        crate::stats::ms(overall.p50),
        crate::stats::ms(overall.p99),
        crate::stats::ms(overall.max)
    );
    let _ = writeln!(
        s,
        "- errors: {errors} (5xx {}, transport {}, other unexpected status {})",
        totals.server_errors, totals.transport_errors, totals.other_errors
    );
    for e in &totals.error_samples {
        let _ = writeln!(s, "  - {e}");
    }

    // RSS every 5 minutes (or every sample when samples are further apart), with the
    // throughput and the worst 30-s p99 of the stretch that ended there.
    let per_block = ((300.0 / cfg.sample.as_secs_f64()).round() as usize).max(1);
    let _ = writeln!(
        s,
        "\n| t (s) | RSS MiB | RSS KiB (VmRSS) | requests | req/s | worst sample p99 ms | errors |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|");
    for block in samples.chunks(per_block) {
        let Some(end) = block.last() else { continue };
        let requests: u64 = block.iter().map(|x| x.requests).sum();
        let secs = cfg.sample.as_secs_f64() * block.len() as f64;
        let p99 = block.iter().map(|x| x.p99).max().unwrap_or_default();
        let errs: u64 = block.iter().map(|x| x.errors).sum();
        let _ = writeln!(
            s,
            "| {:.0} | {:.1} | {} | {requests} | {:.0} | {:.1} | {errs} |",
            end.at.as_secs_f64(),
            mib(end.rss),
            end.rss / 1024,
            requests as f64 / secs,
            crate::stats::ms(p99)
        );
    }

    let _ = writeln!(s, "\n| request | count | errors |\n|---|---:|---:|");
    for k in Kind::ALL {
        let i = k as usize;
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            k.name(),
            totals.requests[i],
            totals.errors[i]
        );
    }

    let warm = ((samples.len() as f64 * WARMUP_SHARE).ceil() as usize).max(MIN_WARMUP_SAMPLES);
    let mut flat = true;
    let _ = writeln!(s);
    if samples.len() <= warm {
        let _ = writeln!(
            s,
            "- RSS: {} samples, too few to judge flatness (the warm-up alone is {warm})",
            samples.len()
        );
        flat = !cfg.check_flat;
    } else {
        let (warmup, later) = samples.split_at(warm);
        let level = warmup.iter().map(|x| x.rss).max().unwrap_or(0);
        let peak = later.iter().map(|x| x.rss).max().unwrap_or(0);
        let last = later.last().map_or(0, |x| x.rss);
        let bound = FLAT_BYTES.min((level as f64 * FLAT_SHARE) as u64);
        let tail = ((samples.len() as f64 * END_SHARE).ceil() as usize)
            .max(MIN_END_SAMPLES)
            .min(later.len());
        let mut settled: Vec<u64> = later[later.len() - tail..].iter().map(|x| x.rss).collect();
        settled.sort_unstable();
        let end = settled[settled.len() / 2];
        let growth = end.saturating_sub(level);
        let slope = slope_mib_per_hour(later);
        let span_hours = match (later.first(), later.last()) {
            (Some(a), Some(b)) => (b.at.as_secs_f64() - a.at.as_secs_f64()) / 3600.0,
            _ => 0.0,
        };
        let projected = slope * span_hours;
        let within = growth <= bound && projected <= mib(bound);
        let _ = writeln!(
            s,
            "- RSS warm-up level (max of the first {warm} samples, to t={:.0} s): {:.1} MiB ({} KiB)",
            warmup.last().map_or(0.0, |x| x.at.as_secs_f64()),
            mib(level),
            level / 1024
        );
        let _ = writeln!(
            s,
            "- RSS after warm-up: max {:.1} MiB ({} KiB), last {:.1} MiB, settled (median of the last {tail}) {:.1} MiB ({} KiB); settled growth over the warm-up level {:+.1} MiB ({:+.1} %); bound {:.1} MiB (the smaller of +{:.0} % and +{} MiB)",
            mib(peak),
            peak / 1024,
            mib(last),
            mib(end),
            end / 1024,
            mib(growth),
            if level > 0 { growth as f64 * 100.0 / level as f64 } else { 0.0 },
            mib(bound),
            FLAT_SHARE * 100.0,
            FLAT_BYTES / 1024 / 1024
        );
        let _ = writeln!(
            s,
            "- RSS slope after warm-up (least squares over {} samples): {slope:+.2} MiB/hour, {projected:+.1} MiB over the {:.2} h after warm-up (same bound)",
            later.len(),
            span_hours
        );
        if cfg.check_flat {
            flat = within;
            let _ = writeln!(
                s,
                "- verdict: RSS {}",
                if within { "FLAT" } else { "NOT FLAT" }
            );
        } else {
            let _ = writeln!(
                s,
                "- RSS {} the bound (not judged: --soak-no-flat-check)",
                if within { "within" } else { "outside" }
            );
        }
    }
    if died {
        let _ = writeln!(s, "- the server EXITED during the soak");
    }
    let clean = errors == 0 && !died;
    let _ = writeln!(
        s,
        "- verdict: {}",
        if clean && flat { "PASS" } else { "FAIL" }
    );
    SoakResult {
        report: s,
        passed: clean && flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn samples(rss_mib: &[u64]) -> Vec<Sample> {
        rss_mib
            .iter()
            .enumerate()
            .map(|(i, r)| Sample {
                at: Duration::from_secs(30 * (i as u64 + 1)),
                rss: r * MIB,
                requests: 10,
                per_sec: 1.0,
                p99: Duration::from_millis(5),
                errors: 0,
            })
            .collect()
    }

    fn cfg(check_flat: bool) -> SoakConfig {
        SoakConfig {
            duration: Duration::from_secs(600),
            sample: Duration::from_secs(30),
            concurrency: 1,
            check_flat,
        }
    }

    fn judge(rss_mib: &[u64], check_flat: bool) -> SoakResult {
        verdict(
            &cfg(check_flat),
            &samples(rss_mib),
            &Totals::default(),
            0,
            Duration::from_secs(600),
            false,
            "test",
        )
    }

    #[test]
    fn slope_is_in_mib_per_hour() {
        // +1 MiB every 30 s is +120 MiB an hour.
        let s = samples(&[100, 101, 102, 103]);
        assert!((slope_mib_per_hour(&s) - 120.0).abs() < 1e-6);
        assert_eq!(slope_mib_per_hour(&samples(&[50, 50, 50])), 0.0);
    }

    #[test]
    fn rss_growth_past_the_bound_after_warm_up_fails() {
        // 20 samples: the warm-up is the first 2; its level 100 MiB allows +10 MiB.
        let mut flat = vec![90, 100];
        flat.extend([104, 98, 110, 105].iter().cycle().take(18));
        assert!(judge(&flat, true).passed);
        let mut climbing = vec![90, 100];
        climbing.extend((0..18).map(|i| 100 + i));
        let r = judge(&climbing, true);
        assert!(!r.passed, "{}", r.report);
        assert!(r.report.contains("NOT FLAT"));
        // The smoke run reports growth but judges only errors.
        assert!(judge(&climbing, false).passed);
    }

    #[test]
    fn a_leak_of_16_mib_fails_even_on_a_large_server() {
        // At 400 MiB, 10 % would be 40 MiB: the 16 MiB ceiling decides.
        let mut s = vec![400, 400];
        s.extend(std::iter::repeat_n(400, 15));
        s.extend([417, 417, 417]);
        assert!(!judge(&s, true).passed);
    }

    #[test]
    fn one_high_sample_is_noise_not_growth() {
        // The first hour-long run: one sample 8.5 MiB over a 77.5 MiB warm-up level.
        let mut s = vec![70, 77];
        s.extend([72, 75, 70, 74].iter().cycle().take(17));
        s.insert(10, 86);
        assert!(judge(&s, true).passed, "{}", judge(&s, true).report);
    }

    #[test]
    fn a_slow_steady_leak_fails_on_its_slope() {
        // A high warm-up, then memory drops and climbs back by 1 MiB a sample: the settled
        // level ends just at the warm-up level, but the slope (120 MiB/hour) is a leak.
        let mut s = vec![100, 100];
        s.extend((0..18).map(|i| 83 + i));
        let r = judge(&s, true);
        assert!(!r.passed, "{}", r.report);
    }
}
