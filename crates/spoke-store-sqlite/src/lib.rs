//! spoke's embedded storage: one SQLite file in WAL mode.
//!
//! Layout: [`SqliteStore`] owns one writer connection (SQLite has one writer at a time, so
//! writes queue on a mutex instead of spinning on `SQLITE_BUSY`) and a pool of reader
//! connections that run concurrently with it under WAL. rusqlite is synchronous, so every
//! call runs on tokio's blocking pool. Each batch is one transaction.
//!
//! Durability: `synchronous=FULL`, so a write is on disk before spoke acknowledges it.

mod associations;
mod objects;
mod schema;
mod search;
mod tokens_props;
mod transfer;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use spoke_store::{StoreError, StoreResult};

/// How many idle reader connections to keep.
const MAX_IDLE_READERS: usize = 16;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite:path`)
    /// and brings its schema up to date.
    pub fn open(url: &str) -> StoreResult<Self> {
        let path = parse_url(url)?;
        let mut writer = open_connection(&path)?;
        schema::migrate(&mut writer).map_err(internal)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` on the writer connection in a blocking task.
    async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
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
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut r| r.pop());
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path)?,
            };
            let out = f(&conn).map_err(map_err);
            if let Ok(mut r) = inner.readers.lock() {
                if r.len() < MAX_IDLE_READERS {
                    r.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
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

fn open_connection(path: &PathBuf) -> StoreResult<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    // WAL lets readers run beside the writer; FULL makes every commit durable on return.
    // A larger autocheckpoint keeps checkpoints (and their stalls) rarer under write load.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA wal_autocheckpoint = 4000;
         PRAGMA cache_size = -32000;",
    )
    .map_err(internal)?;
    conn.set_prepared_statement_cache_capacity(64);
    search::register_functions(&conn).map_err(internal)?;
    Ok(conn)
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
