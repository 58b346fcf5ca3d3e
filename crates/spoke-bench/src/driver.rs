//! The load generator: a fixed number of workers (the concurrency), each sending one
//! request after another until the scenario's time or request budget is spent. Every
//! request's latency is kept; percentiles come from sorting them.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::BATCH;
use crate::stats::{Latency, Rng};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One worker's private state, handed to every request it makes.
pub struct Worker {
    pub rng: Rng,
    /// A paging cursor, for scenarios that walk pages.
    pub cursor: Option<String>,
}

/// One kind of request. `ticket` numbers the requests of a run (0, 1, 2, ... across all
/// workers), so a loader can hand out batch `ticket`. Returns the number of objects the
/// request carried, or why it failed.
pub trait Op: Send + Sync + 'static {
    fn call<'a>(
        &'a self,
        worker: &'a mut Worker,
        ticket: u64,
    ) -> BoxFuture<'a, Result<u64, String>>;
}

/// One batch of a load: writes items `numbers` (at most [`BATCH`] of them) and returns the
/// ids of the records it created, if it creates any.
pub trait Batch: Send + Sync + 'static {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>>;
}

/// A load: `count` items written [`BATCH`] at a time, request `ticket` writing items
/// `ticket * BATCH ..`, so any number of workers share it without overlap. Keeps the
/// created ids.
pub struct Load<B> {
    batch: B,
    count: u64,
    ids: Mutex<Vec<i64>>,
}

impl<B: Batch> Load<B> {
    pub fn new(batch: B, count: u64) -> Arc<Self> {
        Arc::new(Self {
            batch,
            count,
            ids: Mutex::new(Vec::new()),
        })
    }

    /// Writes every batch on `concurrency` workers.
    pub async fn run(self: &Arc<Self>, concurrency: usize, seed: u64) -> Measured {
        let limit = Limit {
            duration: None,
            budget: Some(self.count.div_ceil(BATCH as u64)),
        };
        drive(self.clone(), concurrency, limit, seed).await
    }

    /// The ids created so far, in no particular order.
    pub fn ids(&self) -> Result<Vec<i64>, String> {
        Ok(self.ids.lock().map_err(|_| "loader lock poisoned")?.clone())
    }

    async fn load(&self, ticket: u64) -> Result<u64, String> {
        let start = ticket * BATCH as u64;
        let end = (start + BATCH as u64).min(self.count);
        let ids = self.batch.write(start..end).await?;
        if let Ok(mut all) = self.ids.lock() {
            all.extend(ids);
        }
        Ok(end - start)
    }
}

impl<B: Batch> Op for Load<B> {
    fn call<'a>(&'a self, _w: &'a mut Worker, ticket: u64) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(self.load(ticket))
    }
}

/// When a run stops: after `duration`, after `budget` requests, whichever comes first.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub duration: Option<Duration>,
    pub budget: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub objects: u64,
    pub elapsed: Duration,
    pub latency: Latency,
    /// The longest time during the run in which no request completed (a stall), measured
    /// from the first completion to the last.
    pub longest_gap: Duration,
    /// The first few error messages, for the report.
    pub error_samples: Vec<String>,
}

impl Measured {
    pub fn requests_per_sec(&self) -> f64 {
        per_sec(self.requests, self.elapsed)
    }

    pub fn objects_per_sec(&self) -> f64 {
        per_sec(self.objects, self.elapsed)
    }
}

fn per_sec(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

struct WorkerOut {
    latencies: Vec<Duration>,
    /// When each request completed, from the start of the run.
    done_at: Vec<Duration>,
    errors: u64,
    objects: u64,
    error_samples: Vec<String>,
}

const MAX_ERROR_SAMPLES: usize = 5;

/// Runs `op` on `concurrency` workers until `limit`.
pub async fn drive(op: Arc<dyn Op>, concurrency: usize, limit: Limit, seed: u64) -> Measured {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = limit.duration.map(|d| started + d);
    let mut tasks = Vec::with_capacity(concurrency);
    for index in 0..concurrency.max(1) {
        let op = op.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut worker = Worker {
                rng: Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index as u64)),
                cursor: None,
            };
            let mut out = WorkerOut {
                latencies: Vec::new(),
                done_at: Vec::new(),
                errors: 0,
                objects: 0,
                error_samples: Vec::new(),
            };
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let ticket = issued.fetch_add(1, Ordering::Relaxed);
                if limit.budget.is_some_and(|b| ticket >= b) {
                    break;
                }
                let t0 = Instant::now();
                let result = op.call(&mut worker, ticket).await;
                let done = Instant::now();
                out.latencies.push(done - t0);
                out.done_at.push(done - started);
                match result {
                    Ok(n) => out.objects += n,
                    Err(e) => {
                        out.errors += 1;
                        if out.error_samples.len() < MAX_ERROR_SAMPLES {
                            out.error_samples.push(e);
                        }
                    }
                }
            }
            out
        }));
    }
    let mut latencies = Vec::new();
    let mut done_at = Vec::new();
    let mut m = Measured::default();
    for t in tasks {
        match t.await {
            Ok(out) => {
                latencies.extend(out.latencies);
                done_at.extend(out.done_at);
                m.errors += out.errors;
                m.objects += out.objects;
                for e in out.error_samples {
                    if m.error_samples.len() < MAX_ERROR_SAMPLES {
                        m.error_samples.push(e);
                    }
                }
            }
            Err(e) => {
                m.errors += 1;
                m.error_samples.push(format!("worker panicked: {e}"));
            }
        }
    }
    m.elapsed = started.elapsed();
    m.requests = latencies.len() as u64;
    m.latency = Latency::of(&mut latencies);
    done_at.sort_unstable();
    m.longest_gap = done_at
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    m
}
