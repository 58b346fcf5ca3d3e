//! Issue 16's figure for the request inspector (`--scenarios inspector`): batch read (100
//! ids, 10 properties) with recording off and on, in the same run against the same server,
//! switched through the admin API between legs (off, on, on, off, [`custom::ROUNDS`] times,
//! after one unmeasured leg, so the machine's drift within a run falls on both sides); then
//! the log filled to its bounds, to state what it holds at capacity.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::custom::{merge_all, ROUNDS};
use crate::driver::{drive, Limit, Measured, Op};
use crate::http::{Api, DataSet, HttpOp, Scenario};

/// The `--scenarios` key.
pub const KEY: &str = "inspector";

/// The longest the fill to capacity may take.
const FILL_LIMIT: Duration = Duration::from_secs(120);

/// One concurrency, both sides.
pub struct InspectorRow {
    pub concurrency: usize,
    pub off: Measured,
    pub on: Measured,
}

impl InspectorRow {
    /// Recording's throughput over the throughput without it.
    pub fn ratio(&self) -> Option<f64> {
        let base = self.off.objects_per_sec();
        (base > 0.0).then(|| self.on.objects_per_sec() / base)
    }

    pub fn errors(&self) -> u64 {
        self.off.errors + self.on.errors
    }
}

/// The log at its bounds.
pub struct Capacity {
    /// `GET /_spoke/inspector` once full.
    pub status: Value,
    /// Batch reads sent to fill it, and how long that took.
    pub requests: u64,
    pub elapsed: Duration,
    /// The server's RSS with the log cleared, then full.
    pub rss_cleared: u64,
    pub rss_full: u64,
}

/// The admin API as the benchmark uses it.
pub struct Admin {
    api: Api,
}

impl Admin {
    pub fn new(base: &str, token: &str) -> Result<Self, String> {
        Ok(Self {
            api: Api::new(base, token)?,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let (status, answer) = self.api.send(method.clone(), path, bytes).await?;
        if !(200..300).contains(&status) {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        Ok(serde_json::from_slice(&answer).unwrap_or(Value::Null))
    }

    async fn recording(&self, on: bool) -> Result<Value, String> {
        self.call(
            reqwest::Method::PUT,
            "/_spoke/inspector",
            Some(serde_json::json!({ "recording": on })),
        )
        .await
    }

    async fn status(&self) -> Result<Value, String> {
        self.call(reqwest::Method::GET, "/_spoke/inspector", None)
            .await
    }

    async fn clear(&self) -> Result<(), String> {
        self.call(reqwest::Method::DELETE, "/_spoke/requests", None)
            .await
            .map(|_| ())
    }
}

fn op(api: &Arc<Api>, data: &Arc<DataSet>) -> Arc<dyn Op> {
    Arc::new(HttpOp {
        api: api.clone(),
        data: data.clone(),
        scenario: Scenario::BatchRead,
        next_number: Arc::new(AtomicU64::new(u64::MAX / 2)),
        seq: Arc::new(AtomicU64::new(0)),
    })
}

/// The comparison at every concurrency; recording is left on, as the server starts.
#[allow(clippy::too_many_arguments)]
pub async fn compare(
    api: &Arc<Api>,
    admin: &Admin,
    data: &Arc<DataSet>,
    concurrency: &[usize],
    duration: Duration,
    budget: Option<u64>,
    mut progress: impl FnMut(&str),
) -> Result<Vec<InspectorRow>, String> {
    let legs_per_side = 2 * ROUNDS;
    let limit = Limit {
        duration: Some(duration / legs_per_side),
        budget: budget.map(|b| b.div_ceil(u64::from(legs_per_side))),
    };
    let mut out = Vec::new();
    for &c in concurrency {
        // One leg unmeasured first: the first leg after the load ran on colder caches, and
        // it would always be a leg without recording.
        admin.recording(false).await?;
        let _ = drive(op(api, data), c, limit, 15_000 + c as u64).await;
        let mut off = Vec::new();
        let mut on = Vec::new();
        let order = [false, true, true, false];
        for (i, recording) in (0..ROUNDS).flat_map(|_| order).enumerate() {
            admin.recording(recording).await?;
            let leg = i as u64 % 4;
            let seed = 16_000 + c as u64 * 10 + (i as u64 / 4) * 2 + leg % 2;
            let m = drive(op(api, data), c, limit, seed).await;
            if recording { &mut on } else { &mut off }.push(m);
        }
        admin.recording(true).await?;
        let row = InspectorRow {
            concurrency: c,
            off: merge_all(off),
            on: merge_all(on),
        };
        progress(&format!(
            "inspector, batch read c={c}: off {:.0} objects/s, on {:.0} objects/s, on / off {}{}",
            row.off.objects_per_sec(),
            row.on.objects_per_sec(),
            row.ratio().map_or("—".to_owned(), |r| format!("{r:.3}")),
            if row.errors() > 0 {
                format!(
                    ", {} ERRORS: {}",
                    row.errors(),
                    row.off
                        .error_samples
                        .iter()
                        .chain(&row.on.error_samples)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" | ")
                )
            } else {
                String::new()
            }
        ));
        out.push(row);
    }
    Ok(out)
}

/// Clears the log, then sends batch reads until it is at one of its bounds (entries or
/// bytes), and reports what it holds and the server's RSS before and after.
pub async fn fill(
    api: &Arc<Api>,
    admin: &Admin,
    data: &Arc<DataSet>,
    pid: u32,
) -> Result<Capacity, String> {
    admin.recording(true).await?;
    admin.clear().await?;
    let rss_cleared = crate::server::rss_bytes(pid).unwrap_or(0);
    let started = Instant::now();
    let mut requests = 0;
    loop {
        let m = drive(
            op(api, data),
            4,
            Limit {
                duration: None,
                budget: Some(200),
            },
            17_000 + requests,
        )
        .await;
        if m.errors > 0 {
            return Err(format!(
                "filling the inspector's log: {}",
                m.error_samples.join(" | ")
            ));
        }
        requests += m.requests;
        let status = admin.status().await?;
        let stored = status["stored"].as_u64().unwrap_or(0);
        let capacity = status["capacity"].as_u64().unwrap_or(0);
        let bytes = status["bytes"].as_u64().unwrap_or(0);
        let max = status["maxBytes"].as_u64().unwrap_or(0);
        // Full once another entry would evict: at the count, or within one entry's size
        // of the byte budget, and the fill has sent more than the log holds.
        let entry = bytes.checked_div(stored).unwrap_or(0);
        let full = stored >= capacity || bytes + entry > max;
        if (full && requests > stored) || started.elapsed() > FILL_LIMIT {
            return Ok(Capacity {
                status,
                requests,
                elapsed: started.elapsed(),
                rss_cleared,
                rss_full: crate::server::rss_bytes(pid).unwrap_or(0),
            });
        }
    }
}
