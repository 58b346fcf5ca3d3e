//! `spoke-bench`: spoke's benchmark.
//!
//! It starts its own `spoke serve` over a fresh database, loads a data set through the
//! HTTP API (contacts with history, companies, associations), then drives the server at
//! fixed concurrencies with HubSpot-shaped requests, and prints a Markdown table of
//! requests/s, objects/s and latency percentiles, with the server's peak RSS, bytes on disk
//! per object and startup time. In the same run it does the same writes and reads straight
//! on the storage layer (no HTTP) and prints the ratio. It never asserts timing; it exits
//! non-zero only if a request failed, so a short smoke run in CI catches breakage.
//!
//! With `--soak SECS` it runs no scenarios: after the same load it drives one server with a
//! mixed load for SECS seconds, samples its RSS, requests/s, errors and p99 at an interval,
//! and exits non-zero on any error or if RSS grew past a bound after warm-up (`soak.rs`).

mod custom;
mod data;
mod driver;
mod http;
mod inspect;
mod pg;
mod raw;
mod report;
mod server;
mod snapshots;
mod soak;
mod stats;
mod sync;
mod totals;
mod webhooks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// The server's allocator (`crates/spoke`), for two reasons. The raw store runs in this
/// process, and its figure is what spoke's store does, so it is measured with the allocator
/// spoke runs it with. And the load generator shares the machine with the server: under
/// glibc's malloc a fifth of its CPU went to the allocator (`malloc_consolidate` after each
/// answer buffer over 64 KiB), taken from the server being measured.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use crate::driver::{drive, Batch, Limit, Load, Measured, Op};
use crate::http::{Api, Create, DataSet, HttpOp, Link, Scenario};
use crate::report::{BackendReport, Row, Snapshot};
use crate::server::{Resources, RssSampler, Server, TokenOutcome};
use crate::sync::SyncScenario;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// 2,000 contacts, concurrency 1 and 4, 0.5 s per scenario: CI's check that it works.
    Smoke,
    #[value(name = "10k")]
    TenK,
    #[value(name = "1m")]
    OneM,
    #[value(name = "10m")]
    TenM,
}

#[derive(Parser, Debug)]
#[command(
    name = "spoke-bench",
    version,
    about = "spoke's benchmark: load a data set into a real spoke server, drive it over HTTP, compare with raw storage"
)]
struct Cli {
    /// Number of contacts to load (overrides the preset's).
    #[arg(long)]
    records: Option<u64>,
    /// A named size: smoke, 10k, 1m or 10m contacts (default 10k).
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Concurrencies to run each scenario at, comma-separated.
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<usize>>,
    /// Seconds per scenario and concurrency.
    #[arg(long)]
    duration_secs: Option<f64>,
    /// Also stop each scenario after this many requests.
    #[arg(long)]
    requests: Option<u64>,
    /// Workers used to load the data set (the load is the batch create at this concurrency).
    #[arg(long, default_value_t = 16)]
    load_concurrency: usize,
    /// Backend: `sqlite`, or a `postgres://` URL of a server where the benchmark may create
    /// (and drop) a database. Repeat to run several.
    #[arg(long, default_values_t = vec!["sqlite".to_owned()])]
    database: Vec<String>,
    /// The spoke binary (default: `spoke` next to this program).
    #[arg(long)]
    spoke: Option<PathBuf>,
    /// Keep the databases (and server logs) in this directory instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Skip the raw storage figures.
    #[arg(long)]
    no_raw: bool,
    /// PostgreSQL: run `ANALYZE` after the load, before the scenarios, instead of timing
    /// them on whatever statistics autovacuum has gathered by then.
    #[arg(long)]
    analyze: bool,
    /// Run only these scenarios (comma-separated): read, assoc-read, list, search-email,
    /// search-modified, search-any-eq, search-any-in, search-any-text-range,
    /// search-any-range, search-any-token, page-10, page-10k, page-10k-limit-10, update,
    /// upsert, create;
    /// and the connector-shaped syncs, which run only when named (they load deals too):
    /// full-sync, airbyte-10, airbyte-100, meltano-10, meltano-100, sync-assoc-read, or
    /// `sync` for all of them. The load always runs.
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// Instead of the scenarios, soak: drive a mixed HubSpot-shaped load for this many
    /// seconds at the first `--concurrency` (default 8), sample the server's RSS,
    /// requests/s, errors and p99, and fail unless there were no errors and RSS stayed flat
    /// after warm-up.
    #[arg(long, value_name = "SECS")]
    soak: Option<f64>,
    /// Seconds between soak samples.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    soak_sample_secs: f64,
    /// Soak: report RSS growth but judge only errors (for runs too short to mean anything).
    #[arg(long)]
    soak_no_flat_check: bool,
    /// Instead of everything else, time the emulator controls (snapshot, restore, reset,
    /// delete portal) straight on the store for portals of these sizes (comma-separated
    /// contact counts, e.g. 1000,100000), on each `--database`.
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    snapshots: Option<Vec<u64>>,
    /// Instead of everything else, issue 15's webhook figures on each `--database`: creates/s
    /// with and without a subscription (SECS per phase, the first `--concurrency`, default
    /// 8), then creates paced at `--webhook-rate` and each event's commit → receipt latency.
    #[arg(long, value_name = "SECS")]
    webhooks: Option<f64>,
    /// Creates per second of the webhooks latency phase.
    #[arg(long, default_value_t = 1000)]
    webhook_rate: u64,
}

pub struct Config {
    preset: String,
    records: u64,
    concurrency: Vec<usize>,
    duration: Duration,
    budget: Option<u64>,
    load_concurrency: usize,
    spoke: PathBuf,
    keep: Option<PathBuf>,
    raw: bool,
    analyze: bool,
    scenarios: Vec<Scenario>,
    /// Connector-shaped syncs, run once each before the timed scenarios.
    syncs: Vec<SyncScenario>,
    /// Issue 12's contacts-vs-custom-type comparison (`custom`), run after the syncs.
    custom: bool,
    /// Issue 16's request inspector, recording off and on (`inspector`).
    inspector: bool,
    /// Issue 17's search pages with exact totals (`search-total`), raw and over HTTP.
    search_total: bool,
    soak: Option<soak::SoakConfig>,
}

const PORTAL: i64 = raw::PORTAL.0;
/// The hub contact's company count (capped at the number of records).
const HUB_LINKS: u64 = 10_000;

fn config(cli: &Cli) -> Result<Config, String> {
    let preset = cli.preset.unwrap_or(Preset::TenK);
    let (name, records, conc, secs) = match preset {
        Preset::Smoke => ("smoke", 2_000, vec![1, 4], 0.5),
        Preset::TenK => ("10k", 10_000, vec![1, 16, 64], 5.0),
        Preset::OneM => ("1m", 1_000_000, vec![1, 16, 64], 10.0),
        Preset::TenM => ("10m", 10_000_000, vec![1, 16, 64], 10.0),
    };
    let records = cli.records.unwrap_or(records);
    if records < 10 {
        return Err("--records must be at least 10".into());
    }
    let concurrency = cli.concurrency.clone().unwrap_or(conc);
    if concurrency.is_empty() || concurrency.contains(&0) {
        return Err("--concurrency needs positive numbers".into());
    }
    let secs = cli.duration_secs.unwrap_or(secs);
    if !(secs.is_finite() && secs > 0.0) {
        return Err("--duration-secs must be positive".into());
    }
    let spoke = match &cli.spoke {
        Some(p) => p.clone(),
        None => {
            let me = std::env::current_exe().map_err(|e| format!("cannot find myself: {e}"))?;
            me.with_file_name(format!("spoke{}", std::env::consts::EXE_SUFFIX))
        }
    };
    if !spoke.is_file() {
        return Err(format!(
            "no spoke binary at {} (build it: cargo build --release -p spoke, or pass --spoke)",
            spoke.display()
        ));
    }
    let custom = cli
        .scenarios
        .as_ref()
        .is_some_and(|keys| keys.iter().any(|k| k.trim() == custom::KEY));
    let inspector = cli
        .scenarios
        .as_ref()
        .is_some_and(|keys| keys.iter().any(|k| k.trim() == inspect::KEY));
    let search_total = cli
        .scenarios
        .as_ref()
        .is_some_and(|keys| keys.iter().any(|k| k.trim() == totals::KEY));
    let (scenarios, syncs) = match &cli.scenarios {
        None => (Scenario::ALL.to_vec(), Vec::new()),
        Some(keys) => {
            let mut out = Vec::new();
            let mut syncs = Vec::new();
            for key in keys {
                if key.trim() == custom::KEY
                    || key.trim() == inspect::KEY
                    || key.trim() == totals::KEY
                {
                    continue;
                }
                if key.trim() == sync::GROUP {
                    syncs.extend(SyncScenario::ALL);
                    continue;
                }
                if let Some(s) = SyncScenario::ALL
                    .into_iter()
                    .find(|s| s.key() == key.trim())
                {
                    syncs.push(s);
                    continue;
                }
                let s = Scenario::ALL
                    .into_iter()
                    .find(|s| s.key() == key.trim())
                    .ok_or_else(|| {
                        format!(
                            "unknown scenario {key:?}; one of: {}, {}, {}, {}, {}, {}",
                            Scenario::ALL.map(Scenario::key).join(", "),
                            SyncScenario::ALL.map(SyncScenario::key).join(", "),
                            sync::GROUP,
                            custom::KEY,
                            inspect::KEY,
                            totals::KEY
                        )
                    })?;
                out.push(s);
            }
            // Keep the canonical order (reads before writes).
            let scenarios = Scenario::ALL
                .into_iter()
                .filter(|s| out.contains(s))
                .collect();
            let syncs = SyncScenario::ALL
                .into_iter()
                .filter(|s| syncs.contains(s))
                .collect();
            (scenarios, syncs)
        }
    };
    let soak = match cli.soak {
        None => None,
        Some(secs) => {
            let sample = cli.soak_sample_secs;
            if !(secs.is_finite() && secs > 0.0 && sample.is_finite() && sample > 0.0) {
                return Err("--soak and --soak-sample-secs must be positive".into());
            }
            if sample > secs {
                return Err("--soak-sample-secs must not exceed --soak".into());
            }
            Some(soak::SoakConfig {
                duration: Duration::from_secs_f64(secs),
                sample: Duration::from_secs_f64(sample),
                concurrency: cli
                    .concurrency
                    .as_ref()
                    .and_then(|c| c.first().copied())
                    .unwrap_or(8),
                check_flat: !cli.soak_no_flat_check,
            })
        }
    };
    if soak.is_some() && records < 1_000 {
        return Err("the soak needs --records of at least 1,000".into());
    }
    Ok(Config {
        // The soak measures the server alone.
        raw: !cli.no_raw && soak.is_none(),
        soak,
        analyze: cli.analyze,
        scenarios,
        syncs,
        custom,
        inspector,
        search_total,
        preset: if cli.records.is_some() {
            format!("{name} with --records {records}")
        } else {
            name.to_owned()
        },
        records,
        concurrency,
        duration: Duration::from_secs_f64(secs),
        budget: cli.requests,
        load_concurrency: cli.load_concurrency.max(1),
        spoke,
        keep: cli.keep.clone(),
    })
}

fn progress(backend: &str, msg: &str) {
    eprintln!("[{backend}] {msg}");
}

fn progress_row(backend: &str, name: &str, c: usize, m: &Measured) {
    progress(
        backend,
        &format!(
            "{name} c={c}: {:.0} req/s, {:.0} objects/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, longest gap {:.1} ms{}",
            m.requests_per_sec(),
            m.objects_per_sec(),
            stats::ms(m.latency.p50),
            stats::ms(m.latency.p99),
            stats::ms(m.latency.max),
            stats::ms(m.longest_gap),
            if m.errors > 0 {
                format!(", {} ERRORS: {}", m.errors, m.error_samples.join(" | "))
            } else {
                String::new()
            }
        ),
    );
}

/// Size of a SQLite database on disk: the main file and its WAL.
fn sqlite_size(db: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    [db.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

fn remove_sqlite(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

enum Backend {
    Sqlite { db: PathBuf },
    Postgres { fresh: pg::FreshDatabase },
}

impl Backend {
    fn url(&self) -> String {
        match self {
            Backend::Sqlite { db } => format!("sqlite://{}", db.display()),
            Backend::Postgres { fresh } => fresh.url.clone(),
        }
    }

    async fn size(&self) -> Result<u64, String> {
        match self {
            Backend::Sqlite { db } => Ok(sqlite_size(db)),
            Backend::Postgres { fresh } => fresh.size_bytes().await,
        }
    }
}

/// The raw figures: the same load and writes/reads on the storage layer at `url`, keyed by
/// (scenario, concurrency); the load under the name "load".
async fn raw_phase(
    cfg: &Config,
    url: &str,
    name: &str,
) -> Result<BTreeMap<(String, usize), Measured>, String> {
    let store = raw::open(url).await?;
    raw::prepare(store.as_ref()).await?;
    let mut out = BTreeMap::new();
    progress(name, &format!("raw: loading {} contacts", cfg.records));
    let loaded_from = spoke_core::time::now_millis();
    let loader = Load::new(raw::RawCreate(store.clone()), cfg.records);
    let m = loader.run(cfg.load_concurrency, 1).await;
    let loaded_to = spoke_core::time::now_millis();
    progress_row(name, "raw load", cfg.load_concurrency, &m);
    if cfg.analyze && !url.starts_with("sqlite:") {
        pg::analyze(url).await?;
    }
    let failed = m.errors > 0;
    out.insert(("load".to_owned(), cfg.load_concurrency), m);
    if failed {
        return Ok(out);
    }
    let contacts = Arc::new(loader.ids()?);
    // The syncs first: the write scenarios after them add contacts.
    if !cfg.syncs.is_empty() {
        let shape = (HUB_LINKS.min(cfg.records), loaded_from);
        let say = |line: &str| progress(name, line);
        let rows = sync::raw_run(
            &store,
            &contacts,
            shape,
            cfg.load_concurrency,
            &cfg.syncs,
            &say,
        );
        out.extend(rows.await?.into_iter().map(|(row, m)| ((row, 1), m)));
    }
    let next_number = Arc::new(AtomicU64::new(cfg.records));
    let seq = Arc::new(AtomicU64::new(0));
    for scenario in cfg.scenarios.iter().copied().filter(|s| raw::has_raw(*s)) {
        for &c in &cfg.concurrency {
            let op: Arc<dyn Op> = Arc::new(raw::RawOp {
                store: store.clone(),
                contacts: contacts.clone(),
                records: cfg.records,
                scenario,
                next_number: next_number.clone(),
                seq: seq.clone(),
            });
            let m = drive(op, c, limit(cfg), seed(scenario, c)).await;
            progress_row(name, &format!("raw {}", scenario.name()), c, &m);
            out.insert((scenario.name().to_owned(), c), m);
        }
    }
    if cfg.search_total {
        let cutoff = totals::raw_cutoff(&store, loaded_from, loaded_to, cfg.records).await;
        for (row, moving) in totals::ROWS {
            for &c in &cfg.concurrency {
                let op: Arc<dyn Op> = Arc::new(totals::RawTotal {
                    store: store.clone(),
                    records: cfg.records,
                    cutoff,
                    moving,
                });
                let m = drive(op, c, limit(cfg), 17_000 + c as u64).await;
                progress_row(name, &format!("raw {row}"), c, &m);
                out.insert((row.to_owned(), c), m);
            }
        }
    }
    Ok(out)
}

/// The raw figures on a store of the same kind as the server's, in a database of its own
/// (removed afterwards unless `--keep`).
async fn raw_figures(
    cfg: &Config,
    backend: &Backend,
    dir: &Path,
    name: &str,
) -> Result<BTreeMap<(String, usize), Measured>, String> {
    match backend {
        Backend::Sqlite { .. } => {
            let db = dir.join("raw.db");
            remove_sqlite(&db);
            let result = raw_phase(cfg, &format!("sqlite://{}", db.display()), name).await;
            if cfg.keep.is_none() {
                remove_sqlite(&db);
            }
            result
        }
        Backend::Postgres { fresh } => {
            let raw_db = fresh.sibling("_raw").await?;
            let result = raw_phase(cfg, &raw_db.url, name).await;
            if cfg.keep.is_none() {
                if let Err(e) = raw_db.drop_database().await {
                    progress(name, &e);
                }
            }
            result
        }
    }
}

fn limit(cfg: &Config) -> Limit {
    Limit {
        duration: Some(cfg.duration),
        budget: cfg.budget,
    }
}

fn seed(s: Scenario, c: usize) -> u64 {
    (s as u64 + 1) * 1000 + c as u64
}

fn create(api: &Arc<Api>, object_type: &'static str, first: u64) -> Create {
    Create {
        api: api.clone(),
        object_type,
        first,
    }
}

/// The steps of the HTTP load, each reported as a row of its own.
struct LoadSteps<'a> {
    name: &'a str,
    concurrency: usize,
    probe: &'a RssSampler,
}

impl LoadSteps<'_> {
    /// Runs a whole load of `what`, as the row `load: {row}`; fails if any batch failed.
    async fn run<B: Batch>(
        &self,
        load: &Arc<Load<B>>,
        seed: u64,
        (what, row): (&str, &str),
        raw: Option<Measured>,
        rows: &mut Vec<Row>,
    ) -> Result<(), String> {
        let stretch = self.probe.begin();
        let m = load.run(self.concurrency, seed).await;
        progress_row(self.name, &format!("load {what}"), self.concurrency, &m);
        let failed = m.errors > 0;
        let resources = self.probe.end(stretch);
        let row = format!("load: {row}");
        rows.push(Row::new(&row, self.concurrency, m, raw, resources));
        if failed {
            return Err(format!("loading {what} failed"));
        }
        Ok(())
    }
}

async fn load_phase(
    cfg: &Config,
    api: &Arc<Api>,
    name: &str,
    rows: &mut Vec<Row>,
    raw: &BTreeMap<(String, usize), Measured>,
    probe: &RssSampler,
) -> Result<DataSet, String> {
    let lc = cfg.load_concurrency;
    let records = cfg.records;
    let regular_companies = records.div_ceil(10);
    let hub_links = HUB_LINKS.min(records);

    progress(
        name,
        &format!("loading {records} contacts over HTTP (c={lc})"),
    );
    let steps = LoadSteps {
        name,
        concurrency: lc,
        probe,
    };
    let contacts = Load::new(create(api, "contacts", 0), records);
    let before = spoke_core::time::now_millis();
    let what = ("contacts", "contacts, batch create into an empty store");
    let raw_load = raw.get(&("load".to_owned(), lc)).cloned();
    steps.run(&contacts, 2, what, raw_load, rows).await?;
    let after = spoke_core::time::now_millis();

    let company_count = regular_companies + hub_links;
    progress(name, &format!("loading {company_count} companies"));
    let companies = Load::new(create(api, "companies", 0), company_count);
    let what = ("companies", "companies, batch create");
    steps.run(&companies, 3, what, None, rows).await?;

    let contact_ids = contacts.ids()?;
    let company_ids = companies.ids()?;
    let (regular, hub_companies) = company_ids.split_at(regular_companies as usize);
    let (hub, ten) = http::create_special_contacts(api).await?;
    let pairs = data::company_pairs(&contact_ids, regular, (hub, hub_companies), ten);
    progress(name, &format!("associating {} pairs", pairs.len()));
    let count = pairs.len() as u64;
    let linker = Load::new(
        Link {
            api: api.clone(),
            to: "companies",
            pairs,
        },
        count,
    );
    let what = ("associations", "associations, v4 batch associate default");
    steps.run(&linker, 4, what, None, rows).await?;

    // Deals only for the sync scenarios, so the other rows stay comparable with earlier runs.
    if !cfg.syncs.is_empty() {
        let deal_count = records.div_ceil(10);
        progress(name, &format!("loading {deal_count} deals"));
        let deals = Load::new(create(api, "deals", 0), deal_count);
        steps
            .run(&deals, 6, ("deals", "deals, batch create"), None, rows)
            .await?;
        let deal_ids = deals.ids()?;
        let pairs = data::deal_pairs(&contact_ids, &deal_ids);
        progress(
            name,
            &format!("associating {} contact-deal pairs", pairs.len()),
        );
        let count = pairs.len() as u64;
        let linker = Load::new(
            Link {
                api: api.clone(),
                to: "deals",
                pairs,
            },
            count,
        );
        let what = (
            "deal associations",
            "contact-deal associations, v4 batch associate default",
        );
        steps.run(&linker, 7, what, None, rows).await?;
    }
    Ok(DataSet {
        contacts: contact_ids,
        records,
        companies: regular.to_vec(),
        hub,
        hub_links: hub_links as usize,
        ten,
        modified_cutoff: before + (after - before) / 2,
        loaded_from: before,
    })
}

async fn run_backend(cfg: &Config, spec: &str, dir: &Path) -> Result<BackendReport, String> {
    let name = if spec == "sqlite" {
        "sqlite"
    } else {
        "postgres"
    };
    let mut report = BackendReport::new(name, spec);
    let backend = if spec == "sqlite" {
        let db = dir.join("spoke.db");
        remove_sqlite(&db);
        Backend::Sqlite { db }
    } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        Backend::Postgres {
            fresh: pg::FreshDatabase::create(spec, "").await?,
        }
    } else {
        return Err(format!(
            "--database {spec}: use `sqlite` or a postgres:// URL"
        ));
    };
    let result = run_on(cfg, &backend, name, dir, &mut report).await;
    if let Backend::Postgres { fresh } = &backend {
        if cfg.keep.is_none() {
            if let Err(e) = fresh.drop_database().await {
                progress(name, &e);
            }
        } else {
            progress(name, &format!("kept database {}", fresh.url));
        }
    }
    result.map(|()| report)
}

/// Starts `spoke serve` on `url` and says how long it took to answer.
async fn start(
    cfg: &Config,
    url: &str,
    log: &Path,
    name: &str,
    on: &str,
) -> Result<Server, String> {
    let server = Server::start(&cfg.spoke, url, log).await?;
    progress(
        name,
        &format!(
            "spoke serve (pid {}) on {on} ready in {:.0} ms at {}",
            server.pid,
            stats::ms(server.startup),
            server.base
        ),
    );
    Ok(server)
}

async fn snapshot(backend: &Backend, server: &Server, objects: u64) -> Result<Snapshot, String> {
    Ok(Snapshot {
        objects,
        bytes: backend.size().await?,
        rss: server::rss_bytes(server.pid).unwrap_or(0),
    })
}

async fn run_on(
    cfg: &Config,
    backend: &Backend,
    name: &str,
    dir: &Path,
    report: &mut BackendReport,
) -> Result<(), String> {
    let url = backend.url();
    let token = match server::create_token(&cfg.spoke, &url, PORTAL)? {
        TokenOutcome::Token(t) => t,
        TokenOutcome::Unsupported(why) => {
            progress(name, &format!("not available in this build: {why}"));
            report.unavailable = Some(format!("{name}: not available in this build"));
            return Ok(());
        }
    };

    // Raw storage figures first, so the server is not running beside them.
    let raw = if cfg.raw {
        raw_figures(cfg, backend, dir, name).await?
    } else {
        BTreeMap::new()
    };
    report.raw_errors = raw.values().map(|m| m.errors).sum();

    let log = dir.join(format!("spoke-{name}.log"));
    let server = start(cfg, &url, &log, name, "an empty database").await?;
    report.startup_empty = Some(server.startup);
    let rss = RssSampler::start(server.pid);
    let api = Arc::new(Api::new(&server.base, &token)?);

    let load_started = Instant::now();
    let data = match load_phase(cfg, &api, name, &mut report.rows, &raw, &rss).await {
        Ok(d) => Arc::new(d),
        Err(e) => {
            return Err(format!(
                "{e}; server log:\n{}",
                server::log_tail(server.log())
            ));
        }
    };
    report.load_time = load_started.elapsed();
    if let (true, Backend::Postgres { fresh }) = (cfg.analyze, backend) {
        fresh.analyze().await?;
        report.analyzed = true;
    }
    report.records = cfg.records;
    let company_count = data.companies.len() as u64 + data.hub_links as u64;
    let objects = cfg.records + 2 + company_count;
    report.after_load = snapshot(backend, &server, objects).await?;

    if let Some(soak_cfg) = &cfg.soak {
        soak::create_pool(&api).await?;
        let spare = Load::new(create(&api, "companies", 1_000_000_000), http::BATCH as u64);
        let m = spare.run(1, 5).await;
        if m.errors > 0 {
            return Err(format!(
                "creating the soak's companies failed: {}",
                m.error_samples.join(" | ")
            ));
        }
        let spare = spare.ids()?;
        let _ = rss.finish().await;
        let outcome = soak::run(api, data, spare, server.pid, soak_cfg, name).await?;
        let bytes = backend.size().await?;
        report.soak = Some((
            format!(
                "{}- database size after the soak: {:.1} MiB (after the load: {:.1} MiB)\n",
                outcome.report,
                bytes as f64 / 1024.0 / 1024.0,
                report.after_load.bytes as f64 / 1024.0 / 1024.0
            ),
            outcome.passed,
        ));
        let stopped = server.stop().await;
        if let Err(e) = stopped {
            report.soak = report
                .soak
                .take()
                .map(|(text, _)| (format!("{text}- stopping the server: {e}\n"), false));
        }
        return Ok(());
    }

    if !cfg.syncs.is_empty() {
        let say = |line: &str| progress(name, line);
        let rows = sync::http_run(&api, &data, cfg.load_concurrency, &cfg.syncs, &rss, &say);
        for r in rows.await? {
            let raw_m = raw.get(&(r.row.to_owned(), 1)).cloned();
            report.notes.push(r.note);
            report.syncs.push(sync::SyncLine {
                row: r.row,
                http: r.measured.clone(),
                raw: raw_m.clone(),
                rss_peak: r.resources.rss_peak,
                load: r.load,
            });
            report
                .rows
                .push(Row::new(r.row, 1, r.measured, raw_m, r.resources));
        }
    }
    if cfg.custom {
        run_custom(cfg, &api, &data, &rss, name, report).await?;
    }
    if cfg.inspector {
        run_inspector(cfg, &api, &server, &data, name, report).await?;
    }

    if cfg.search_total {
        for (row, moving) in totals::ROWS {
            for &c in &cfg.concurrency {
                let op: Arc<dyn Op> = Arc::new(totals::HttpTotal {
                    api: api.clone(),
                    records: cfg.records,
                    cutoff: data.modified_cutoff,
                    moving,
                });
                let stretch = rss.begin();
                let m = drive(op, c, limit(cfg), 17_000 + c as u64).await;
                let resources = rss.end(stretch);
                progress_row(name, row, c, &m);
                progress(name, &format!("    load average {}", load_average()));
                let raw_m = raw.get(&(row.to_owned(), c)).cloned();
                report.rows.push(Row::new(row, c, m, raw_m, resources));
            }
        }
    }

    let next_number = Arc::new(AtomicU64::new(cfg.records));
    let seq = Arc::new(AtomicU64::new(1_000_000_000));
    for &scenario in &cfg.scenarios {
        for (i, &c) in cfg.concurrency.iter().enumerate() {
            let op: Arc<dyn Op> = Arc::new(HttpOp {
                api: api.clone(),
                data: data.clone(),
                scenario,
                next_number: next_number.clone(),
                seq: seq.clone(),
            });
            if i == 0 && scenario.is_search_any() {
                let updates: Arc<dyn Op> = Arc::new(HttpOp {
                    api: api.clone(),
                    data: data.clone(),
                    scenario: Scenario::BatchUpdate,
                    next_number: next_number.clone(),
                    seq: seq.clone(),
                });
                let first = first_search(&op, &updates, seed(scenario, c)).await?;
                let first = format!("first `{}` request {first}", scenario.key());
                progress(name, &format!("    {first}"));
                report.notes.push(first);
            }
            let stretch = rss.begin();
            let m = drive(op, c, limit(cfg), seed(scenario, c)).await;
            let resources = rss.end(stretch);
            progress_row(name, scenario.name(), c, &m);
            progress(
                name,
                &format!(
                    "    server {:.2} cores, load generator {:.2} cores, other processes {:.2} cores, server RSS peak {:.0} MiB",
                    resources.server_cores,
                    resources.client_cores,
                    resources.other_cores,
                    resources.rss_peak as f64 / 1024.0 / 1024.0
                ),
            );
            let raw_m = raw.get(&(scenario.name().to_owned(), c)).cloned();
            report
                .rows
                .push(Row::new(scenario.name(), c, m, raw_m, resources));
        }
    }
    let objects = next_number.load(std::sync::atomic::Ordering::Relaxed) + 2 + company_count;
    report.at_end = snapshot(backend, &server, objects).await?;
    report.rss_max = rss.finish().await;
    server.stop().await?;

    // Start again on the loaded database: how long until it serves?
    let again = start(cfg, &url, &log, name, "the loaded database").await?;
    report.startup_loaded = Some(again.startup);
    again.stop().await?;
    Ok(())
}

/// `/proc/loadavg`'s three load averages: the machine is shared, and a figure is read beside
/// how busy it was.
/// Times a search-any scenario's first request outside the timed run (the first search of
/// a property indexes it, lazy indexing, which walks the records once), while two workers
/// send batch updates of other properties, to show how long writes wait meanwhile (one
/// indexing step at most). Returns the note's text after the request's name.
async fn first_search(
    op: &Arc<dyn Op>,
    updates: &Arc<dyn Op>,
    seed: u64,
) -> Result<String, String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (updates, done) = (updates.clone(), done.clone());
            tokio::spawn(async move {
                let mut worker = driver::Worker {
                    rng: stats::Rng::new(seed ^ (w + 1)),
                    cursor: None,
                };
                let mut took = Vec::new();
                while !done.load(Ordering::SeqCst) {
                    let t0 = Instant::now();
                    updates.call(&mut worker, 0).await?;
                    took.push(t0.elapsed());
                }
                Ok::<_, String>(took)
            })
        })
        .collect();
    let mut worker = driver::Worker {
        rng: stats::Rng::new(seed),
        cursor: None,
    };
    let t0 = Instant::now();
    let searched = op.call(&mut worker, 0).await;
    let elapsed = t0.elapsed();
    done.store(true, Ordering::SeqCst);
    let mut took = Vec::new();
    for w in writers {
        took.extend(w.await.map_err(|e| e.to_string())??);
    }
    searched?;
    let n = took.len();
    let l = stats::Latency::of(&mut took);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(format!(
        "(outside the timed run; indexes its property unless a search did before): {:.1} ms; \
         meanwhile {n} batch updates from 2 workers, p50 {:.1} ms, max {:.1} ms",
        ms(elapsed),
        ms(l.p50),
        ms(l.max)
    ))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Two stretches of the run as one: CPU averaged over their time, the higher RSS peak.
fn combined(a: (Resources, Duration), b: (Resources, Duration)) -> Resources {
    let (ta, tb) = (a.1.as_secs_f64(), b.1.as_secs_f64());
    let total = (ta + tb).max(1e-9);
    let mean = |x: f64, y: f64| (x * ta + y * tb) / total;
    Resources {
        server_cores: mean(a.0.server_cores, b.0.server_cores),
        client_cores: mean(a.0.client_cores, b.0.client_cores),
        other_cores: mean(a.0.other_cores, b.0.other_cores),
        rss_peak: a.0.rss_peak.max(b.0.rss_peak),
    }
}

/// Issue 16: batch read with the request inspector recording and not, then its log filled.
async fn run_inspector(
    cfg: &Config,
    api: &Arc<Api>,
    server: &Server,
    data: &Arc<DataSet>,
    name: &str,
    report: &mut BackendReport,
) -> Result<(), String> {
    let admin = inspect::Admin::new(&server.base, &server.admin_token)?;
    report.inspector = inspect::compare(
        api,
        &admin,
        data,
        &cfg.concurrency,
        cfg.duration,
        cfg.budget,
        |line| progress(name, line),
    )
    .await?;
    progress(name, "inspector: filling the request log to its bounds");
    let full = inspect::fill(api, &admin, data, server.pid).await?;
    progress(
        name,
        &format!(
            "inspector at capacity: {} after {} batch reads in {:.1} s; server RSS {:.0} MiB cleared, {:.0} MiB full",
            full.status,
            full.requests,
            full.elapsed.as_secs_f64(),
            full.rss_cleared as f64 / 1024.0 / 1024.0,
            full.rss_full as f64 / 1024.0 / 1024.0
        ),
    );
    report.inspector_capacity = Some(full);
    Ok(())
}

/// Issue 12: a custom type as big as the contacts, then the same workloads on both.
async fn run_custom(
    cfg: &Config,
    api: &Arc<Api>,
    data: &DataSet,
    rss: &RssSampler,
    name: &str,
    report: &mut BackendReport,
) -> Result<(), String> {
    progress(
        name,
        &format!(
            "custom type: creating the schema and loading {} records",
            cfg.records
        ),
    );
    let (custom_type, ids, load) = custom::load(api, cfg.records, cfg.load_concurrency).await?;
    progress_row(
        name,
        &format!("load {custom_type}"),
        cfg.load_concurrency,
        &load,
    );
    report.notes.push(format!(
        "custom type {custom_type}: {} records with the contacts' 10 properties loaded in {:.1} s ({:.0} objects/s at c={})",
        cfg.records,
        load.elapsed.as_secs_f64(),
        load.objects_per_sec(),
        cfg.load_concurrency
    ));
    let sides = custom::Sides {
        contacts: Arc::new(data.contacts.clone()),
        custom_type,
        custom: Arc::new(ids),
    };
    report.comparisons = custom::compare(
        api,
        &sides,
        &cfg.concurrency,
        cfg.duration,
        cfg.budget,
        rss,
        |line| progress(name, line),
    )
    .await;
    Ok(())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".to_owned(), |m| m.trim().to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or("?".to_owned(), |kb| format!("{:.0}", kb / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpus} CPUs ({model}), {mem_gib} GiB RAM, Linux {}",
        kernel.trim()
    )
}

fn spoke_version(spoke: &Path) -> String {
    std::process::Command::new(spoke)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "spoke (unknown version)".to_owned())
}

async fn run(cli: Cli) -> Result<bool, String> {
    let cfg = config(&cli)?;
    let temp;
    let dir: PathBuf = match &cfg.keep {
        Some(d) => {
            std::fs::create_dir_all(d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
            d.clone()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("spoke-bench-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
            temp.path().to_owned()
        }
    };
    let command = std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let header = report::Header {
        command,
        machine: machine(),
        spoke: spoke_version(&cfg.spoke),
        preset: cfg.preset.clone(),
        records: cfg.records,
        concurrency: cfg.concurrency.clone(),
        duration: cfg.duration,
        load_concurrency: cfg.load_concurrency,
    };
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut failure = None;
    for spec in &cli.database {
        match run_backend(&cfg, spec, &dir).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("spoke-bench: {spec}: {e}");
                failure = Some(e);
                break;
            }
        }
    }
    let total = started.elapsed();
    if cfg.soak.is_some() {
        println!("# spoke-bench soak\n");
        println!("- command: `{}`", header.command);
        println!("- machine: {}", header.machine);
        println!("- spoke: {}", header.spoke);
        println!(
            "- data set: {} contacts (load at c={}), total run time {:.0} s",
            cfg.records,
            cfg.load_concurrency,
            total.as_secs_f64()
        );
        let mut passed = failure.is_none();
        for r in &reports {
            match &r.soak {
                Some((text, ok)) => {
                    print!("{text}");
                    passed &= ok;
                }
                None => {
                    if let Some(why) = &r.unavailable {
                        println!("\n## {}\n\n{why}", r.name);
                    }
                }
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        return Ok(passed);
    }
    print!("{}", report::markdown(&header, &reports, total));
    if let Some(path) = &cli.json {
        let json = report::json(&header, &reports, total);
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let errors: u64 = reports.iter().map(BackendReport::errors).sum();
    if errors > 0 {
        eprintln!("spoke-bench: {errors} requests failed (see the error column and the log above)");
    }
    Ok(errors == 0)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(secs) = cli.webhooks {
        let spoke = cli.spoke.clone().unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("spoke")))
                .unwrap_or_else(|| PathBuf::from("spoke"))
        });
        let concurrency = cli
            .concurrency
            .as_ref()
            .and_then(|c| c.first().copied())
            .unwrap_or(8);
        return match webhooks::run(&spoke, &cli.database, secs, cli.webhook_rate, concurrency).await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("spoke-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(sizes) = &cli.snapshots {
        return match snapshots::run(&cli.database, sizes).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("spoke-bench: {e}");
                ExitCode::FAILURE
            }
        };
    }
    // On Ctrl-C or SIGTERM the run is dropped, and with it the server, which kills the
    // `spoke serve` child, and the temporary directory.
    let outcome = tokio::select! {
        r = run(cli) => r,
        () = spoke_server::conn::shutdown_signal() => {
            Err("interrupted; the server was stopped".to_owned())
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("spoke-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
