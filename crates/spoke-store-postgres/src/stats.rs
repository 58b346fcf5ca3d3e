//! Keeping the planner's statistics fresh after bulk writes.
//!
//! PostgreSQL plans every query from the statistics `ANALYZE` gathers. A table that was
//! just filled has none, so the planner falls back to default selectivities: it takes
//! `portal_id = .. AND object_type = ..` for a rare pair (it matches every row of a
//! one-portal store) and prefers reading all of a type's records through an
//! `objects_by_*` index to the plan it should use. Autovacuum runs `ANALYZE` once a table
//! has changed by `autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows`,
//! but it looks only every `autovacuum_naptime` (a minute by default), and never where
//! autovacuum is off (as on the machine of the measurements below).
//!
//! The hot lookups do not depend on statistics any more: lookups by id and the association
//! pages are written so that one plan is the only sensible one (see `objects.rs` and
//! `PAGE_SQL` in `associations.rs`). Search cannot be: its SQL follows the request's
//! filters. Measured on the 10k benchmark data set right after its load through the API,
//! `search email EQ` took 54 ms per request without statistics (a scan of every contact,
//! joined to the one `unique_values` row) and under 1 ms after `ANALYZE`; batch create and the
//! reads by id were unaffected once their statements were rewritten. So the store sees to
//! it that statistics exist soon after bulk writes:
//!
//! - Each process counts the records it writes. Once [`CHECK_EVERY`] were written since its
//!   last check, and at most once per [`MIN_INTERVAL`], a background task asks PostgreSQL
//!   which of spoke's large tables changed by more rows since they were last analyzed than
//!   they held then, and at least [`MIN_CHANGED`] (`pg_stat_get_mod_since_analyze` counts
//!   every process's writes, and autovacuum's or an administrator's `ANALYZE` resets it),
//!   and runs `ANALYZE (SKIP_LOCKED)` on those: a sample of at most 30,000 rows per table,
//!   which blocks no reader or writer. So a table is analyzed right after its first bulk
//!   load, then each time it doubles: about ten times on its way to a million rows.
//! - Why not autovacuum's own rule (a change of 10% of the rows): a plan made for a table
//!   half its current size is the same plan (the planner scales the row counts of its
//!   statistics by the table's current size), so analyzing more often only costs. Measured
//!   during the benchmark's bulk create with the 10% rule: one `ANALYZE` of the three tables
//!   per second, 0.3-0.5 s of a backend each on this 2-core machine, and raw create
//!   throughput about a quarter lower (17,700 instead of 22,800 objects/s loading 10,000
//!   contacts at c=16; 15,000 instead of 19,700 at c=4). Finer upkeep is autovacuum's job.
//! - One check runs when the store opens, for a database filled by an older spoke or by
//!   another tool, or restarted after a load.
//! - `spoke copy` and `spoke import` analyze every table at their end
//!   ([`analyze_all`], from `finish_import`), so the server they prepare starts with
//!   statistics.
//!
//! A check costs one catalog query.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{quote_ident, Error, PostgresStore};

/// Records written by this process between two checks.
const CHECK_EVERY: u64 = 1_000;

/// The shortest time between two checks.
const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The fewest changed rows that make a table worth analyzing.
const MIN_CHANGED: f64 = 1_000.0;

/// The tables whose statistics matter for plans; the others hold a few rows per portal.
const TABLES: &[&str] = &[
    "objects",
    "property_history",
    "unique_values",
    "associations",
    // The value index (`value_index`): its probes join `objects` by id.
    "search_text",
    "search_numbers",
    "search_words",
];

/// Every table spoke creates, for [`analyze_all`].
const ALL_TABLES: &[&str] = &[
    "portals",
    "tokens",
    "properties",
    "property_groups",
    "objects",
    "property_history",
    "unique_values",
    "associations",
    "association_labels",
    "search_text",
    "search_numbers",
    "search_words",
];

/// Per-process bookkeeping: records written since the last check, and whether one runs.
pub(crate) struct Keeper {
    started: Instant,
    written: AtomicU64,
    /// Milliseconds after `started` of the last check.
    last_check: AtomicU64,
    busy: AtomicBool,
}

impl Keeper {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            written: AtomicU64::new(0),
            last_check: AtomicU64::new(0),
            busy: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

impl PostgresStore {
    /// Notes `records` written (committed); now and then starts a background check.
    pub(crate) fn wrote(&self, records: usize) {
        let keeper = &self.inner.stats;
        let records = u64::try_from(records).unwrap_or(u64::MAX);
        let written = keeper
            .written
            .fetch_add(records, Ordering::Relaxed)
            .saturating_add(records);
        let since = keeper
            .now_ms()
            .saturating_sub(keeper.last_check.load(Ordering::Relaxed));
        if written >= CHECK_EVERY && since >= MIN_INTERVAL.as_millis() as u64 {
            self.check_statistics();
        }
    }

    /// Starts a background check unless one is running (or there is no Tokio runtime).
    pub(crate) fn check_statistics(&self) {
        let keeper = &self.inner.stats;
        if keeper.busy.swap(true, Ordering::AcqRel) {
            return;
        }
        keeper.written.store(0, Ordering::Relaxed);
        keeper.last_check.store(keeper.now_ms(), Ordering::Relaxed);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            keeper.busy.store(false, Ordering::Release);
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            if let Err(e) = analyze_stale(&store).await {
                tracing::warn!(error = %e, "refreshing PostgreSQL statistics failed");
            }
            store.inner.stats.busy.store(false, Ordering::Release);
        });
    }
}

/// Analyzes the tables of [`TABLES`] that changed by more rows than they held when they were
/// last analyzed (by anyone: autovacuum, another spoke process, an administrator), and by
/// at least [`MIN_CHANGED`]. A table never analyzed has `reltuples` -1.
async fn analyze_stale(store: &PostgresStore) -> Result<(), Error> {
    let client = store.client().await?;
    let stale: Vec<String> = client
        .query(
            "SELECT c.relname::TEXT FROM unnest($1::TEXT[]) AS t(name)
             JOIN pg_class c ON c.oid = to_regclass(t.name)
             WHERE pg_stat_get_mod_since_analyze(c.oid) > $2::FLOAT8 + GREATEST(c.reltuples, 0)",
            &[&TABLES, &MIN_CHANGED],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if stale.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let names: Vec<String> = stale.iter().map(|t| quote_ident(t)).collect();
    // SKIP_LOCKED: a table another process (or autovacuum) is analyzing right now is left
    // to it.
    client
        .batch_execute(&format!("ANALYZE (SKIP_LOCKED) {}", names.join(", ")))
        .await?;
    tracing::debug!(tables = ?stale, ms = started.elapsed().as_millis() as u64, "analyzed");
    Ok(())
}

/// Analyzes every table of spoke's (after `spoke copy` or `spoke import`), however long it
/// takes.
pub(crate) async fn analyze_all(store: &PostgresStore) -> Result<(), Error> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
    let names: Vec<String> = ALL_TABLES.iter().map(|t| quote_ident(t)).collect();
    tx.batch_execute(&format!("ANALYZE {}", names.join(", ")))
        .await?;
    tx.commit().await?;
    Ok(())
}
