//! `--webhooks SECS` (issue 15): what app webhooks cost the write path, and how soon an
//! event reaches the app.
//!
//! One `spoke serve` per database, an app from `spoke app create` subscribed to
//! `contact.creation` with its target URL on a receiver inside this process, installed in
//! portal 1. Every phase writes to portal 1; between phases the subscription is switched
//! on or off (`PATCH …/subscriptions/{id}`), so both sides of each comparison write the
//! same rows to the same places. Then, in one run:
//!
//! - **write path**: single-record creates as fast as `concurrency` workers can send them,
//!   SECS seconds at a time: off, on, on, off (on: every create records an event, which the
//!   worker delivers meanwhile; off: the outbox's lookup finds nothing), so a drift over
//!   the run falls on both sides alike; creates/s of each, and the slowdown; then the same
//!   server restarted with `--no-webhooks` and the same four phases (the outbox alone);
//! - **latency**: creates paced at `rate` a second for SECS seconds with the subscription
//!   off, then on; each create's request latency in both (what delivery costs the write
//!   path at a pace the machine sustains, where the closed loops measure it at saturation);
//!   and for each event, receipt time minus `occurredAt` (the write's clock, taken before
//!   its commit), p50/p99/max, and how many of the paced creates' events arrived.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::stats::{ms, Latency};

const ADMIN: &str = "spoke-bench-webhooks-admin-0123456789";

/// Event receipt times (epoch ms) by object id, and occurredAt.
type Seen = Arc<Mutex<HashMap<i64, (i64, i64)>>>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The receiver: answers 200 at once; while `record` is set it also notes each event's
/// receipt time (parsing costs CPU the load generator in this process would miss, so the
/// throughput phases run without it).
async fn receiver(record: Arc<std::sync::atomic::AtomicBool>) -> Result<(String, Seen), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}/hook",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(axum::routing::post(move |body: String| {
        let s = s.clone();
        let record = record.clone();
        async move {
            if !record.load(Ordering::Relaxed) {
                return axum::http::StatusCode::OK;
            }
            let at = now_ms();
            let events: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
            if let Ok(mut s) = s.lock() {
                for e in events {
                    let object = e["objectId"].as_i64().unwrap_or(-1);
                    let occurred = e["occurredAt"].as_i64().unwrap_or(at);
                    s.entry(object).or_insert((at, occurred));
                }
            }
            axum::http::StatusCode::OK
        }
    }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, seen))
}

fn cli(spoke: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(spoke)
        .args(args)
        .env("SPOKE_DATA_DIR", data)
        .env_remove("SPOKE_DATABASE_URL")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", spoke.display()))?;
    if !out.status.success() {
        return Err(format!(
            "spoke {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

struct Serve(Child);

/// `spoke serve` on `port` with `extra` arguments, once `/healthz` answers.
async fn start(
    spoke: &Path,
    url: &str,
    data: &Path,
    port: u16,
    extra: &[&str],
    http: &reqwest::Client,
    base: &str,
) -> Result<Serve, String> {
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "serve",
        "--listen",
        &listen,
        "--database",
        url,
        "--admin-token",
        ADMIN,
    ];
    args.extend_from_slice(extra);
    let server = Serve(
        Command::new(spoke)
            .args(&args)
            .env("SPOKE_DATA_DIR", data)
            .env("SPOKE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let ready = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        if ready.elapsed() > Duration::from_secs(30) {
            return Err("spoke serve did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(server)
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Creates per second over `secs` with `concurrency` workers in a closed loop.
async fn closed_loop(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    concurrency: usize,
    secs: f64,
    tag: &str,
) -> Result<f64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (http, done, failed) = (http.clone(), done.clone(), failed.clone());
        let url = format!("{base}/crm/v3/objects/contacts");
        let (token, tag) = (token.to_owned(), tag.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let body = json!({"properties": {"email": format!("{tag}-{w}-{n}@bench.test")}});
                match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let _ = r.bytes().await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!("{} creates failed", failed.load(Ordering::Relaxed)));
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// What a paced run did: the ids created, the rate achieved, and each create's request
/// latency (send to response body).
struct Paced {
    ids: Vec<i64>,
    rate: f64,
    requests: Latency,
}

/// Creates paced at `rate`/s for `secs`, their emails tagged `tag`.
async fn paced(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    rate: u64,
    secs: f64,
    tag: &str,
) -> Result<Paced, String> {
    let total = (rate as f64 * secs) as u64;
    let ids = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let took = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (http, ids, took, failed) = (http.clone(), ids.clone(), took.clone(), failed.clone());
        let url = format!("{base}/crm/v3/objects/contacts");
        let token = token.to_owned();
        let email = format!("{tag}-{n}@bench.test");
        tasks.spawn(async move {
            let body = json!({"properties": {"email": email}});
            let sent = Instant::now();
            let r = http.post(&url).bearer_auth(&token).json(&body).send().await;
            let id = match r {
                Ok(r) if r.status().as_u16() == 201 => r
                    .json::<Value>()
                    .await
                    .ok()
                    .and_then(|v| v["id"].as_str().and_then(|s| s.parse::<i64>().ok())),
                _ => None,
            };
            if let Ok(mut took) = took.lock() {
                took.push(sent.elapsed());
            }
            match (id, ids.lock()) {
                (Some(id), Ok(mut ids)) => ids.push(id),
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let rate = total as f64 / started.elapsed().as_secs_f64();
    if failed.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "{} paced creates failed",
            failed.load(Ordering::Relaxed)
        ));
    }
    let ids = ids.lock().map_err(|_| "lock")?.clone();
    let mut took = took.lock().map_err(|_| "lock")?.clone();
    Ok(Paced {
        ids,
        rate,
        requests: Latency::of(&mut took),
    })
}

/// Runs the scenario on each database (`sqlite` or a PostgreSQL admin URL) and prints a
/// Markdown table.
pub async fn run(
    spoke: &Path,
    databases: &[String],
    secs: f64,
    rate: u64,
    concurrency: usize,
) -> Result<(), String> {
    println!("## Webhooks: write path with and without subscriptions, commit → receipt latency\n");
    println!("{secs} s per phase, {concurrency} closed-loop workers, paced at {rate} creates/s\n");
    println!("| backend | creates/s, subscription off | on, delivered | slowdown | restarted without delivery: off | on, recorded only | slowdown | paced creates/s | events received | latency p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut paced_rows = Vec::new();
    let mut phase_rows = Vec::new();
    for database in databases {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let (url, fresh) = if database == "sqlite" {
            (
                format!("sqlite://{}", dir.path().join("spoke.db").display()),
                None,
            )
        } else {
            let fresh = crate::pg::FreshDatabase::create(database, "_webhooks").await?;
            (fresh.url.clone(), Some(fresh))
        };
        let result = one(spoke, &url, &data, secs, rate, concurrency).await;
        if let Some(fresh) = fresh {
            fresh.drop_database().await?;
        }
        let backend = if database == "sqlite" {
            "sqlite"
        } else {
            "postgres"
        };
        let r = result?;
        phase_rows.push(format!("| {backend} | {} |", r.phases.join(" | ")));
        println!(
            "| {backend} | {:.0} | {:.0} | {:+.1} % | {:.0} | {:.0} | {:+.1} % | {:.0} | {} of {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.plain,
            r.subscribed,
            (r.plain - r.subscribed) / r.plain * 100.0,
            r.quiet,
            r.recording,
            (r.quiet - r.recording) / r.quiet * 100.0,
            r.paced_rate,
            r.received,
            r.paced,
            ms(r.latency.p50),
            ms(r.latency.p99),
            ms(r.latency.max),
        );
        paced_rows.push(format!(
            "| {backend} | {:.0} | {:.1} ms | {:.1} ms | {:.0} | {:.1} ms | {:.1} ms | {:+.1} % |",
            r.plain_rate,
            ms(r.write_plain.p50),
            ms(r.write_plain.p99),
            r.paced_rate,
            ms(r.write_delivered.p50),
            ms(r.write_delivered.p99),
            (ms(r.write_delivered.p50) - ms(r.write_plain.p50)) / ms(r.write_plain.p50).max(1e-9)
                * 100.0,
        ));
        if r.received < r.paced {
            return Err(format!(
                "{backend}: {} of {} paced creates' events did not arrive within 30 s",
                r.paced - r.received,
                r.paced
            ));
        }
    }
    println!("\nEach closed-loop phase in the order run, creates/s (p: subscription off, s: on and delivered, then restarted with delivery off: q: off, r: on)\n");
    println!("| backend | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in phase_rows {
        println!("{row}");
    }
    println!("\nCreate latency at the pace (send to response), same server, portal 1: subscription off, then on (every create's event delivered meanwhile)\n");
    println!("| backend | creates/s, subscription off | p50 | p99 | creates/s, on and delivered | p50 | p99 | p50 change |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in paced_rows {
        println!("{row}");
    }
    Ok(())
}

struct Figures {
    /// Subscription off, on the server that delivers.
    plain: f64,
    /// Subscription off, on the server restarted with `--no-webhooks`.
    quiet: f64,
    subscribed: f64,
    recording: f64,
    paced_rate: f64,
    paced: usize,
    received: usize,
    latency: Latency,
    /// Create latency at the pace, subscription off and on (delivered).
    write_plain: Latency,
    write_delivered: Latency,
    plain_rate: f64,
    /// Each closed-loop phase's creates/s, in the order run (`p`: subscription off, `s`: on
    /// and delivered, `q`: off after the restart, `r`: on with delivery off).
    phases: Vec<String>,
}

async fn one(
    spoke: &Path,
    url: &str,
    data: &Path,
    secs: f64,
    rate: u64,
    concurrency: usize,
) -> Result<Figures, String> {
    let app: Value = serde_json::from_str(&cli(
        spoke,
        data,
        &[
            "app",
            "create",
            "--database",
            url,
            "--name",
            "bench",
            "--redirect-uri",
            "http://localhost/cb",
            "--scopes",
            "crm.objects.contacts.read",
        ],
    )?)
    .map_err(|e| e.to_string())?;
    let app_id = app["appId"].as_i64().ok_or("no appId")?;
    let key = app["developerApiKey"].as_str().ok_or("no key")?.to_owned();
    let token1 = cli(
        spoke,
        data,
        &[
            "token",
            "create",
            "--database",
            url,
            "--portal",
            "1",
            "--scopes",
            "all",
        ],
    )?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .map_err(|e| e.to_string())?;
    let server = start(spoke, url, data, port, &[], &http, &base).await?;
    let record = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (target, seen) = receiver(record.clone()).await?;
    let ok = |r: Result<reqwest::Response, reqwest::Error>, what: &str| -> Result<(), String> {
        match r {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("{what}: {}", r.status())),
            Err(e) => Err(format!("{what}: {e}")),
        }
    };
    ok(
        http.put(format!(
            "{base}/webhooks/v3/{app_id}/settings?hapikey={key}"
        ))
        .json(&json!({"targetUrl": target, "throttling": {"maxConcurrentRequests": 10}}))
        .send()
        .await,
        "settings",
    )?;
    let subscription: Value = http
        .post(format!(
            "{base}/webhooks/v3/{app_id}/subscriptions?hapikey={key}"
        ))
        .json(&json!({"eventType": "contact.creation", "active": true}))
        .send()
        .await
        .map_err(|e| format!("subscription: {e}"))?
        .json()
        .await
        .map_err(|e| format!("subscription: {e}"))?;
    let subscription = subscription["id"]
        .as_str()
        .ok_or("subscription: no id")?
        .to_owned();
    // Every phase writes to portal 1; what changes is whether its subscription is active.
    // Comparing two portals instead measured where their rows sit in each index: portal
    // 1's inserts land inside the B-trees (half-full pages after a split), portal 2's at
    // their right edge, and in an I/O-bound run that alone moved the figure.
    let activate = |active: bool| {
        let (http, base, key, subscription) = (&http, &base, &key, &subscription);
        async move {
            ok(
                http.patch(format!(
                    "{base}/webhooks/v3/{app_id}/subscriptions/{subscription}?hapikey={key}"
                ))
                .json(&json!({ "active": active }))
                .send()
                .await,
                "activate",
            )
        }
    };
    ok(
        http.post(format!("{base}/_spoke/portals/1/apps/{app_id}/install"))
            .bearer_auth(ADMIN)
            .send()
            .await,
        "install",
    )?;

    // Warm-up, then alternate.
    closed_loop(&http, &base, &token1, concurrency, secs.min(1.0), "warm").await?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    // Off, on, on, off: the database grows through the run, and a drift with it falls on
    // both sides alike (alternating off, on, off, on put every on one phase later than its
    // off). The means off and on, and each phase's figure.
    let four = |tags: [&'static str; 4]| {
        let (activate, http, base, token) = (&activate, &http, &base, &token1);
        async move {
            let (mut off, mut on, mut phases) = (Vec::new(), Vec::new(), Vec::new());
            for (round, tag) in tags.into_iter().enumerate() {
                let active = round == 1 || round == 2;
                activate(active).await?;
                let rate = closed_loop(http, base, token, concurrency, secs, tag).await?;
                phases.push(format!("{tag} {rate:.0}"));
                if active { &mut on } else { &mut off }.push(rate);
            }
            Ok::<_, String>((mean(&off), mean(&on), phases))
        }
    };
    let (plain, subscribed, mut phases) = four(["p0", "s0", "s1", "p1"]).await?;
    // Let the closed loops' events drain before the paced run is timed.
    ok(
        http.post(format!("{base}/_spoke/webhooks/flush"))
            .bearer_auth(ADMIN)
            .send()
            .await,
        "flush",
    )?;
    // The same pace where no subscription applies: the write latency delivery is measured
    // against, on a machine whose cores the load generator, the receiver and the worker
    // share (unlike the closed loops, a pace the machine sustains leaves them idle time).
    activate(false).await?;
    let unsubscribed = paced(&http, &base, &token1, rate, secs, "paced0").await?;
    activate(true).await?;
    record.store(true, Ordering::Relaxed);
    let subscribed_pace = paced(&http, &base, &token1, rate, secs, "paced1").await?;
    let (ids, paced_rate) = (&subscribed_pace.ids, subscribed_pace.rate);
    let wait = Instant::now();
    let mut latencies: Vec<Duration> = loop {
        let arrived: Vec<(i64, i64)> = {
            let got = seen.lock().map_err(|_| "lock")?;
            ids.iter().filter_map(|id| got.get(id).copied()).collect()
        };
        if arrived.len() == ids.len() || wait.elapsed() > Duration::from_secs(30) {
            break arrived
                .iter()
                .map(|(at, occurred)| Duration::from_millis((at - occurred).max(0) as u64))
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let received = latencies.len();
    // The outbox alone: the same server without its delivery worker (events are recorded,
    // nothing is sent), so the write path's cost splits into recording and delivering.
    drop(server);
    let _quiet = start(spoke, url, data, port, &["--no-webhooks"], &http, &base).await?;
    let (quiet, recording, more) = four(["q0", "r0", "r1", "q1"]).await?;
    phases.extend(more);
    Ok(Figures {
        plain,
        quiet,
        subscribed,
        recording,
        paced_rate,
        paced: ids.len(),
        received,
        latency: Latency::of(&mut latencies),
        write_plain: unsubscribed.requests,
        write_delivered: subscribed_pace.requests,
        plain_rate: unsubscribed.rate,
        phases,
    })
}
