//! spoke's embedded storage: one SQLite file in WAL mode.
//!
//! Layout: [`SqliteStore`] owns one writer connection (SQLite has one writer at a time, so
//! writes queue for it instead of spinning on `SQLITE_BUSY`) and a bounded pool of reader
//! connections that run concurrently with it under WAL. rusqlite is synchronous, so every
//! call runs on tokio's blocking pool, except point lookups by key (`lookup`), which run on
//! the calling thread. Each batch is one transaction.
//!
//! Memory: callers wait for a connection *before* taking a blocking thread (async
//! semaphores), so a burst of 64 concurrent requests holds at most `readers + 1`
//! connections and their page caches, not 64. Server RSS stays flat whatever the load.
//!
//! Durability: `synchronous=FULL`, so a write is on disk before spoke acknowledges it.
//!
//! Cancellation: a write whose future is dropped (its client disconnected) still runs to
//! its end on its blocking thread, so its transaction commits or rolls back whole.

mod admin;
mod associations;
mod directory;
mod emulator;
mod journal;
mod oauth;
mod objects;
mod pipelines;
mod schema;
mod schemas;
mod search;
mod tokens_props;
mod totals;
mod transfer;
mod value_index;
mod webhooks;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use std::ffi::c_int;

use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;
use rusqlite::Connection;
use spoke_store::{StoreError, StoreResult};

/// Page cache per connection, in KiB. Hot index pages of a multi-million-record store fit;
/// the OS page cache holds the rest without counting against the process.
const WRITER_CACHE_KIB: i64 = 16 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;

/// Reader connections: reads are CPU-bound, so a couple per core keeps every core busy
/// without piling up connections (and their caches) under a burst.
fn reader_count() -> usize {
    std::thread::available_parallelism()
        .map_or(4, |n| n.get() * 2)
        .clamp(4, 16)
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    write_slot: Semaphore,
    readers: Mutex<Vec<Connection>>,
    read_slots: Semaphore,
    /// Search totals by generation (`spoke_store::totals`).
    counts: spoke_store::totals::CountCache,
    /// Each portal's listeners by listener generation (`spoke_store::webhooks`).
    listeners: spoke_store::webhooks::ListenerCache,
    /// Properties known to be indexed (`spoke_store::value_index::Known`).
    indexed: spoke_store::value_index::Known,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite:path`)
    /// and brings its schema up to date.
    pub fn open(url: &str) -> StoreResult<Self> {
        let path = parse_url(url)?;
        let mut writer = open_connection(&path, WRITER_CACHE_KIB)?;
        schema::migrate(&mut writer).map_err(internal)?;
        start_checkpointer(&path, &mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                write_slot: Semaphore::new(1),
                readers: Mutex::new(Vec::new()),
                read_slots: Semaphore::new(reader_count()),
                counts: Default::default(),
                listeners: Default::default(),
                indexed: Default::default(),
            }),
        })
    }

    /// Runs `f` on the writer connection in a blocking task.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _slot = self
            .inner
            .write_slot
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .writer
                .lock()
                .map_err(|_| StoreError::Internal("writer lock poisoned".into()))?;
            f(&mut conn).map_err(map_err)
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Runs `f` on a pooled reader connection in a blocking task.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _slot = self.read_slot().await?;
        self.on_blocking_reader(move |conn| in_read_transaction(conn, f))
            .await
    }

    /// Runs a point lookup (a token, a type's property definitions or labels: a few rows
    /// found by key, tens of microseconds) on a pooled reader connection on the calling
    /// thread. Every request makes such lookups before its own read; sending each through
    /// the blocking pool cost two thread hand-offs apiece (profiled: futex wake-ups and
    /// context switches were a tenth of a batch read's CPU). A WAL reader does not wait for
    /// the writer, so this does not block the async worker longer than the lookup itself.
    /// With no idle connection (opening one is file I/O) it goes through the blocking pool.
    /// `f` runs one statement, so SQLite's implicit transaction gives it one snapshot.
    async fn lookup<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let _slot = self.read_slot().await?;
        match self.inner.pooled_reader() {
            Some(conn) => self.inner.read_on(conn, f),
            None => self.on_blocking_reader(f).await,
        }
    }

    /// A reader slot: at most that many reader connections exist.
    async fn read_slot(&self) -> StoreResult<tokio::sync::SemaphorePermit<'_>> {
        self.inner
            .read_slots
            .acquire()
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))
    }

    /// Runs `f` in a blocking task on a pooled (or, the first time, new) reader connection.
    /// The caller holds a read slot.
    async fn on_blocking_reader<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = match inner.pooled_reader() {
                Some(c) => c,
                None => open_connection(&inner.path, READER_CACHE_KIB)?,
            };
            inner.read_on(conn, f)
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

impl Inner {
    fn pooled_reader(&self) -> Option<Connection> {
        self.readers.lock().ok().and_then(|mut r| r.pop())
    }

    /// Runs `f` on `conn`, then returns `conn` to the pool. The caller holds a read slot,
    /// which bounds how many connections exist.
    fn read_on<T>(
        &self,
        conn: Connection,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let out = f(&conn).map_err(map_err);
        if let Ok(mut r) = self.readers.lock() {
            r.push(conn);
        }
        out
    }
}

impl spoke_store::Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

fn parse_url(url: &str) -> StoreResult<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Internal(format!("not a sqlite URL: {url}")))?;
    if rest.is_empty() || rest.starts_with(":memory:") {
        return Err(StoreError::Internal(
            "spoke needs a database file; in-memory SQLite is not supported".into(),
        ));
    }
    Ok(PathBuf::from(rest))
}

fn open_connection(path: &PathBuf, cache_kib: i64) -> StoreResult<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    // WAL lets readers run beside the writer; FULL makes every commit durable on return.
    // A larger autocheckpoint keeps checkpoints (and their stalls) rarer under write load.
    // SQLite never shrinks a WAL file by itself: after one burst it keeps its largest size
    // (355 MiB in the soak). The size limit truncates it to 64 MiB each time the log restarts.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA wal_autocheckpoint = 4000;
         PRAGMA journal_size_limit = 67108864;",
    )
    .map_err(internal)?;
    conn.pragma_update(None, "cache_size", -cache_kib)
        .map_err(internal)?;
    // Without the query planner stability guarantee, SQLite marks statements whose plan
    // depends on a bound value (`LIMIT ?`, some `=` terms) for re-preparation on rebind, and
    // rusqlite rebinds every cached statement: each execution would re-parse and re-plan
    // (profiled: 86% of a v4 batch read). spoke's queries are index lookups and range scans
    // whose best plan never depends on the values, so a fixed plan costs nothing.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(64);
    search::register_functions(&conn).map_err(internal)?;
    Ok(conn)
}

/// WAL frames (pages) after which the background checkpointer copies the log into the
/// database file.
const CHECKPOINT_PAGES: c_int = 4000;
/// A log this long means the checkpointer cannot keep up (or long reads hold it back): the
/// writer then checkpoints inline, as SQLite's own autocheckpoint would, so the log stays
/// bounded.
const INLINE_CHECKPOINT_PAGES: c_int = 64_000;

/// Moves WAL checkpoints off the writer. SQLite's autocheckpoint runs inside the commit that
/// crosses the threshold: that write waits while the log is copied into the database and the
/// file is synced (the 50-70 ms stalls of finding 5 in BENCHMARKS.md), and every checkpoint
/// takes writer time. Here the writer's commit hook only signals a thread with its own
/// connection, which runs PASSIVE checkpoints (they never block the writer or readers) on the
/// other core. The thread ends when the writer connection, which owns the signal, is dropped.
fn start_checkpointer(path: &PathBuf, writer: &mut Connection) -> StoreResult<()> {
    let conn = open_connection(path, 1024)?;
    let (signal, wakeups) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("spoke-checkpoint".into())
        .spawn(move || {
            while wakeups.recv().is_ok() {
                // A failed or partial checkpoint is retried at the next signal; the log stays
                // durable either way.
                let _ = conn.wal_checkpoint_v2(None::<&str>, CheckpointMode::PASSIVE);
            }
        })
        .map_err(internal)?;
    writer
        .wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages >= INLINE_CHECKPOINT_PAGES {
                // The commit has happened: an error here would be reported for a write that
                // is durable, so a failed checkpoint is left for the next commit.
                let _ = wal.checkpoint();
            } else if pages >= CHECKPOINT_PAGES {
                // A full channel means a checkpoint is already pending.
                let _ = signal.try_send(());
            }
            Ok(())
        }))
        .map_err(internal)
}

/// Runs a read in one explicit transaction: every statement sees the same snapshot (a
/// search's total and its page agree), and the WAL read lock is taken once per call instead
/// of once per statement (profiled: 15% of a 100-id batch read went to beginning and ending
/// implicit per-statement transactions).
fn in_read_transaction<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
    let out = f(conn);
    // A read-only transaction has nothing to keep: ending it either way releases the lock.
    let end = conn.prepare_cached("ROLLBACK")?.execute([]);
    let out = out?;
    end?;
    Ok(out)
}

fn internal(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(e.to_string())
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Internal(e.to_string()),
    }
}
