//! spoke's PostgreSQL storage: several spoke servers can share one database.
//!
//! It behaves like the embedded SQLite backend (`spoke-store-sqlite`): same tables and
//! keys, same per-item outcomes, same values on the wire (both pass the storage conformance
//! suite, `spoke_store::conformance`), except where `conformance::EXCEPTIONS` names a rule
//! it cannot express. What differs is how it stays correct with
//! many writers at once, where SQLite simply has one:
//!
//! - **Uniqueness is backed by constraints.** A unique property value is taken by inserting
//!   its `unique_values` row; the primary key decides between two processes. The loser's
//!   transaction fails with a unique violation and is run again from the start, so it sees
//!   the winner's record: a create then reports `Conflict`, an upsert updates that record.
//! - **No lost updates.** A write to a record locks its row (`SELECT ... FOR UPDATE`) and
//!   reads the current JSON under the lock; who holds each unique value a batch looks up is
//!   read again once its records are locked, and a holder that changed meanwhile is locked
//!   too. Writers that enforce "at most one" association types lock the record whose links
//!   they prune.
//! - **One statement per table, not per record.** A batch reads what the shared planner
//!   (`spoke_store::plan`) asks for, lets it decide every item in memory, in order, and
//!   writes the result with multi-row statements (`batch.rs`).
//! - **Few deadlocks.** A batch first locks every existing record it names, in ascending id
//!   order, in one statement, so batches over the same records queue instead of
//!   deadlocking (each deadlock would cost PostgreSQL's `deadlock_timeout`, 1 s).
//! - **Retries.** Serialization failures, deadlocks and the unique violations above rerun
//!   the whole transaction, up to [`PgOptions::max_retries`] times with a short random
//!   backoff. Object and association writes run at READ COMMITTED (row locks and
//!   constraints suffice); the rare definition writes (properties, groups), which check
//!   then write, run SERIALIZABLE, so they are exactly as if run one at a time. Label
//!   writes take their portal's advisory lock instead, and so never conflict.
//! - **Cancellation.** The server drops a request's future when its client disconnects,
//!   possibly mid-transaction. tokio-postgres then queues `ROLLBACK` on the connection
//!   ahead of anything its next user sends, so a dropped batch leaves nothing behind and no
//!   pooled connection stays inside a transaction (`tests/cancel.rs`).
//! - **Ids** come from identity sequences: distinct across processes, ascending within a
//!   batch. Unlike SQLite, an id given out by a rolled back batch is never reused.
//!
//! Record properties are stored as TEXT holding the serde_json text of the record's
//! `BTreeMap<String, String>`, the same bytes SQLite stores: reads parse them back into the
//! same map (JSONB would reorder keys and reject `\u0000`, and search reads values with
//! `::json ->>` anyway). All text columns use the "C" collation, so comparisons and ordering
//! are bytewise, as the conformance suite requires of every backend, whatever the database's
//! default collation.
//!
//! Known limits PostgreSQL imposes, where SQLite would accept the write: text cannot hold
//! U+0000, so a value containing it fails (`Internal`); and a unique value whose key does
//! not fit a btree index row (about 2.7 kB after compression) fails the same way.
//!
//! Dependencies: `tokio-postgres` (the standard async PostgreSQL driver, no TLS: spoke talks
//! to its database over a trusted network or a local socket) and `deadpool-postgres` for
//! pooling: a small, well-kept crate (one manager type over `deadpool`'s generic pool) with
//! wait/create timeouts, a per-connection statement cache and a post-create hook, which is
//! where each connection gets its `statement_timeout` and `search_path`.
//!
//! Errors: a database that cannot be reached (connection refused or lost, pool wait
//! timeout, administrator shutdown `57P01`, class `08`, a statement ended by
//! `statement_timeout` `57014`, ...) is [`StoreError::Unavailable`],
//! which the server answers with 503; anything else is [`StoreError::Internal`]. Nothing
//! waits forever: connecting has `connect_timeout`, getting a connection `pool_timeout`,
//! each statement `statement_timeout`, and TCP keepalives notice a vanished server.

mod admin;
mod associations;
mod batch;
mod directory;
mod emulator;
mod journal;
mod oauth;
mod objects;
mod pipelines;
mod schema;
mod schemas;
mod search;
mod stats;
mod tokens_props;
mod totals;
mod transfer;
mod value_index;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{
    Hook, HookError, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
    Transaction,
};
use spoke_store::{StoreError, StoreResult};
use tokio_postgres::error::SqlState;
use tokio_postgres::{IsolationLevel, NoTls};

/// How [`PostgresStore::open`] sets up its pool and connections.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool.
    pub pool_size: usize,
    /// `statement_timeout` of every connection; zero disables it.
    pub statement_timeout: Duration,
    /// How long opening one connection may take (TCP connect and startup).
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection before it fails as unavailable.
    pub pool_timeout: Duration,
    /// How many times a transaction that lost a race (serialization failure, deadlock,
    /// unique violation from a concurrent writer) is run again before giving up.
    pub max_retries: u32,
    /// The schema to keep spoke's tables in (created if missing, set as `search_path` on
    /// every connection). `None` uses the connection's default `search_path`.
    pub schema: Option<String>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            statement_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            pool_timeout: Duration::from_secs(5),
            max_retries: 5,
            schema: None,
        }
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    max_retries: u32,
    stats: stats::Keeper,
    /// Search totals by generation (`spoke_store::totals`).
    counts: spoke_store::totals::CountCache,
    /// Each portal's listeners by listener generation (`spoke_store::webhooks`).
    listeners: spoke_store::webhooks::ListenerCache,
    /// Properties known to be indexed (`spoke_store::value_index::Known`).
    indexed: spoke_store::value_index::Known,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, any form
    /// `tokio_postgres::Config` parses; TLS is not supported) and brings its schema up to
    /// date. Several processes may open the same database at once: migrations run under an
    /// advisory lock. `connect_timeout` and TCP keepalives come from `options`, overriding
    /// the URL.
    pub async fn open(url: &str, options: PgOptions) -> StoreResult<Self> {
        // The URL may carry a password: never echo it.
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Internal(format!("invalid PostgreSQL URL: {e}")))?;
        config.connect_timeout(options.connect_timeout);
        // A peer that vanished without closing its socket is noticed in about a minute
        // instead of hanging requests for the kernel's default of hours.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        if config.get_application_name().is_none() {
            config.application_name("spoke");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                // Only checks `is_closed`; a connection that died silently fails its next
                // query as Unavailable and is then dropped.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let setup = Arc::new(session_setup(&options));
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.pool_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .post_create(Hook::async_fn(move |client, _| {
                let setup = setup.clone();
                Box::pin(async move {
                    client
                        .batch_execute(&setup)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| StoreError::Internal(format!("cannot build the connection pool: {e}")))?;
        let store = Self {
            inner: Arc::new(Inner {
                pool,
                max_retries: options.max_retries,
                stats: stats::Keeper::new(),
                counts: Default::default(),
                listeners: Default::default(),
                indexed: Default::default(),
            }),
        };
        schema::migrate(&store, options.schema.as_deref()).await?;
        store.check_statistics();
        Ok(store)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, Error> {
        self.inner.pool.get().await.map_err(Error::Pool)
    }

    /// Runs `f` in a transaction of the given kind, committing or rolling back as it says,
    /// and runs it again from the start when it lost a race to another writer.
    async fn write<D, T, F>(&self, mode: TxMode, data: D, f: F) -> StoreResult<T>
    where
        D: Send + Sync,
        T: Send,
        F: for<'t> Fn(&'t Transaction<'t>, &'t D) -> BoxFuture<'t, Result<Finish<T>, Error>>
            + Send
            + Sync,
    {
        let mut attempt = 0u32;
        loop {
            let result: Result<T, Error> = async {
                let mut client = self.client().await?;
                let tx = client
                    .build_transaction()
                    .isolation_level(mode.0)
                    .start()
                    .await?;
                match f(&tx, &data).await? {
                    Finish::Commit(v) => {
                        tx.commit().await?;
                        Ok(v)
                    }
                    Finish::Rollback(v) => {
                        tx.rollback().await?;
                        Ok(v)
                    }
                }
            }
            .await;
            match result {
                Err(e) if e.is_retryable() => {
                    if attempt >= self.inner.max_retries {
                        return Err(StoreError::Internal(format!(
                            "gave up after {} retries: {e}",
                            self.inner.max_retries
                        )));
                    }
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "retrying a transaction that lost a race");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other.map_err(Error::into_store),
            }
        }
    }
}

impl spoke_store::Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a write transaction's body asks for at its end.
pub(crate) enum Finish<T> {
    Commit(T),
    /// Undo everything (an atomic batch with a failed item, a refused definition write),
    /// still returning the outcomes.
    Rollback(T),
}

/// The isolation of a write transaction.
#[derive(Clone, Copy)]
pub(crate) struct TxMode(IsolationLevel);

impl TxMode {
    /// Record and association writes: row locks and constraints keep them correct (label
    /// writes too: they first take their portal's advisory lock).
    pub(crate) const RECORDS: TxMode = TxMode(IsolationLevel::ReadCommitted);
    /// Definition writes (properties, groups) that check, then write.
    pub(crate) const DEFINITIONS: TxMode = TxMode(IsolationLevel::Serializable);
    /// Whole-portal copies (snapshots, restores): every statement of the transaction sees
    /// one state of the portal, and a concurrent write to its rows makes it run again.
    pub(crate) const PORTAL: TxMode = TxMode(IsolationLevel::RepeatableRead);
}

/// Doubling, jittered backoff: up to 4, 8, 16, ... ms.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let cap = 2u64 << attempt.min(8);
    Duration::from_millis(1 + h.finish() % cap)
}

/// The statements every new pooled connection runs first.
fn session_setup(options: &PgOptions) -> String {
    let mut sql = format!(
        "SET statement_timeout = {};",
        options.statement_timeout.as_millis()
    );
    if let Some(schema) = &options.schema {
        sql.push_str(&format!(" SET search_path TO {};", quote_ident(schema)));
    }
    sql
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Everything that can go wrong inside the backend, before it becomes a [`StoreError`].
#[derive(Debug)]
pub(crate) enum Error {
    Pg(tokio_postgres::Error),
    Pool(PoolError),
    /// Stored data that does not parse.
    Data(String),
    /// A concurrent writer changed what this transaction relied on: run it again.
    Retry(&'static str),
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Pg(e)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Pg(e) => match e.as_db_error() {
                // The driver's Display leaves out the SQLSTATE, which logs need.
                Some(db) => write!(f, "{} ({})", db.message(), db.code().code()),
                None => write!(f, "{e}"),
            },
            Error::Pool(e) => write!(f, "connection pool: {e}"),
            Error::Data(e) => write!(f, "bad stored data: {e}"),
            Error::Retry(why) => write!(f, "concurrent write: {why}"),
        }
    }
}

impl Error {
    fn code(&self) -> Option<&SqlState> {
        match self {
            Error::Pg(e) => e.code(),
            Error::Pool(PoolError::Backend(e)) => e.code(),
            _ => None,
        }
    }

    /// Whether a write transaction lost a race and should run again. Inside write
    /// transactions a unique violation always means a concurrent writer took a key first
    /// (every key the code inserts on its own is checked first or `ON CONFLICT`), so a
    /// rerun sees that writer's rows and decides the outcome as SQLite would.
    fn is_retryable(&self) -> bool {
        if matches!(self, Error::Retry(_)) {
            return true;
        }
        self.code().is_some_and(|c| {
            *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION
        })
    }

    fn is_unavailable(&self) -> bool {
        match self {
            Error::Pg(e) => driver_unavailable(e),
            Error::Pool(p) => match p {
                PoolError::Timeout(_) | PoolError::Closed => true,
                PoolError::Backend(e) => driver_unavailable(e),
                PoolError::PostCreateHook(HookError::Backend(e)) => driver_unavailable(e),
                PoolError::PostCreateHook(HookError::Message(_)) => false,
                PoolError::NoRuntimeSpecified => false,
            },
            Error::Data(_) | Error::Retry(_) => false,
        }
    }

    pub(crate) fn into_store(self) -> StoreError {
        if self.is_unavailable() {
            StoreError::Unavailable(self.to_string())
        } else {
            StoreError::Internal(self.to_string())
        }
    }
}

/// Whether a driver error means the database cannot be reached right now.
fn driver_unavailable(e: &tokio_postgres::Error) -> bool {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        return code.code().starts_with("08") // connection exceptions
            || *code == SqlState::ADMIN_SHUTDOWN // 57P01
            || *code == SqlState::CRASH_SHUTDOWN // 57P02
            || *code == SqlState::CANNOT_CONNECT_NOW // 57P03: starting up or shutting down
            || *code == SqlState::TOO_MANY_CONNECTIONS // 53300
            // 57014: `statement_timeout` ended a statement that waited or ran too long (a
            // lock held by a long transaction, an overloaded server): the database did not
            // answer in time, which a client may retry, not a fault in the request.
            || *code == SqlState::QUERY_CANCELED;
    }
    if e.is_closed() {
        return true;
    }
    // Refused, reset, timed out: the driver wraps the socket's io::Error.
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn into_store(e: Error) -> StoreError {
    e.into_store()
}

/// Statement helpers: every statement is prepared once per connection and cached.
pub(crate) mod db {
    use deadpool_postgres::GenericClient;
    use tokio_postgres::types::ToSql;
    use tokio_postgres::Row;

    use crate::Error;

    pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

    pub(crate) async fn query<C: GenericClient>(
        c: &C,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, Error> {
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.query(&stmt, params).await?)
    }

    /// The first column of every row, as ids (`RETURNING id`, `SELECT id`).
    pub(crate) async fn query_ids<C: GenericClient>(
        c: &C,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<i64>, Error> {
        let rows = query(c, sql, params).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    pub(crate) async fn query_opt<C: GenericClient>(
        c: &C,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, Error> {
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.query_opt(&stmt, params).await?)
    }

    pub(crate) async fn query_one<C: GenericClient>(
        c: &C,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Row, Error> {
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.query_one(&stmt, params).await?)
    }

    pub(crate) async fn execute<C: GenericClient>(
        c: &C,
        sql: &str,
        params: Params<'_>,
    ) -> Result<u64, Error> {
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.execute(&stmt, params).await?)
    }
}
