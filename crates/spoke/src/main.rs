//! The `spoke` command: `serve`, `token`, `admin-token`, `import`, `migrate`, `copy`. Thin: every
//! behavior lives in the library crates; this file parses arguments and wires them together.

#[macro_use]
mod out;
mod copy;
mod import;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use spoke_core::time::{format_iso, now_millis};
use spoke_core::PortalId;
use spoke_server::conn::shutdown_signal;
use spoke_server::AppState;
use spoke_store::Store;

const DEFAULT_DATABASE: &str = "sqlite://spoke.db";

#[derive(Parser)]
#[command(
    name = "spoke",
    version,
    about = "A HubSpot-compatible CRM API server you run yourself"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DatabaseArg {
    /// Database URL: `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "SPOKE_DATABASE_URL", default_value = DEFAULT_DATABASE)]
    database: String,
    #[command(flatten)]
    pg: PgArgs,
}

/// PostgreSQL tuning; ignored for SQLite.
#[derive(Args, Clone)]
struct PgArgs {
    /// Connections in the pool (per spoke process).
    #[arg(long, env = "SPOKE_PG_POOL_SIZE", default_value_t = 16)]
    pg_pool_size: usize,
    /// Statement timeout in milliseconds (0 disables it).
    #[arg(long, env = "SPOKE_PG_STATEMENT_TIMEOUT_MS", default_value_t = 30_000)]
    pg_statement_timeout_ms: u64,
    /// How often a transaction that lost a race (serialization failure, deadlock,
    /// concurrent unique insert) is retried before the request fails.
    #[arg(long, env = "SPOKE_PG_MAX_RETRIES", default_value_t = 5)]
    pg_max_retries: u32,
    /// Schema for spoke's tables (created if missing); default: the connection's search_path.
    #[arg(long, env = "SPOKE_PG_SCHEMA")]
    pg_schema: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HubSpot's CRM API. On first start with an empty database, creates a portal and
    /// prints an all-scopes token.
    Serve {
        /// Address to listen on (port 0 picks a free port; the address is logged).
        #[arg(long, env = "SPOKE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        db: DatabaseArg,
        /// Enforce HubSpot-style rate limits: at most N requests per rolling 10 seconds per
        /// token, with HubSpot's X-HubSpot-RateLimit-* headers and 429 bodies (HubSpot
        /// allows 100 to 190). Off by default.
        #[arg(long, env = "SPOKE_RATE_LIMIT")]
        rate_limit: Option<u32>,
        /// With --rate-limit: search requests per second per token (HubSpot: 5).
        #[arg(long, env = "SPOKE_SEARCH_RATE_LIMIT", default_value_t = 5)]
        search_rate_limit: u32,
        /// Longest a client may take to send a request's headers, counted from when its
        /// connection opens or its previous response was sent; so this is also how long an
        /// idle keep-alive connection stays open. The connection is then closed. 0: no limit.
        #[arg(long, env = "SPOKE_HEADER_TIMEOUT_MS", default_value_t = 30_000)]
        header_timeout_ms: u64,
        /// Longest a client may take to send a request body, counted from the end of its
        /// headers; a slower one gets a 408 and its connection closed, and nothing of the
        /// request is done. 0: no limit.
        #[arg(long, env = "SPOKE_BODY_TIMEOUT_MS", default_value_t = 60_000)]
        body_timeout_ms: u64,
        /// Connections served at once; further clients wait in the listen backlog until one
        /// closes. Keep it below the open-file limit (`ulimit -n`) minus about 50.
        #[arg(long, env = "SPOKE_MAX_CONNECTIONS", default_value_t = 1024)]
        max_connections: usize,
        /// Use this secret as the admin token of the `/_spoke/` API (its hash replaces the
        /// stored one), e.g. a fixed one in CI. Without it, a database that has none gets a
        /// new one, printed once.
        #[arg(long, env = "SPOKE_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Do not serve Prometheus metrics at `/metrics` (served without a token by
        /// default: spoke is meant for loopback and private networks).
        #[arg(long, env = "SPOKE_NO_METRICS")]
        no_metrics: bool,
    },
    /// Issue a new admin token for the `/_spoke/` API and print it. Only its hash is
    /// stored, so the old one stops working at once (running servers included).
    AdminToken {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load records from a CSV (header row = property names) or JSON Lines
    /// (`{"properties":{...}}` per line) file, validated as the API validates them.
    Import {
        #[command(flatten)]
        db: DatabaseArg,
        /// Portal (account) id to import into; created if needed.
        #[arg(long)]
        portal: i64,
        /// Object type: name (`contacts`, `partner_services`) or id (`0-420`).
        #[arg(long = "object-type")]
        object_type: String,
        /// Records per transaction.
        #[arg(long, default_value_t = 100)]
        batch_size: usize,
        /// The file to load (`.csv`, or `.jsonl`/`.ndjson`/`.json` for JSON Lines).
        file: PathBuf,
    },
    /// Bring the database schema up to date and exit (`serve` also does this at start).
    Migrate {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Copy every row of one database into another, any backend to any backend (e.g.
    /// SQLite to PostgreSQL): portals, tokens, properties, groups, records with their ids
    /// and history, unique values, associations and labels. Verifies the row counts of
    /// every table at the end (exit status 1 if they differ). Safe to run again: unchanged
    /// rows are left alone. Stop the servers writing to the source first.
    Copy {
        /// The database to copy from: `sqlite://PATH` or `postgres://USER@HOST/DB`.
        #[arg(long)]
        from: String,
        /// The database to copy into (created and migrated if needed); should be empty or
        /// an earlier copy of the same source.
        #[arg(long)]
        to: String,
        /// Schema of a PostgreSQL source, when it differs from --pg-schema (which then
        /// names the destination's).
        #[arg(long)]
        from_pg_schema: Option<String>,
        /// Rows per chunk; each chunk is written in one transaction.
        #[arg(long, default_value_t = 1000)]
        chunk_size: usize,
        /// Remove the character U+0000 from text that holds it (older versions stored it
        /// on SQLite; PostgreSQL cannot) instead of stopping; each value is listed.
        #[arg(long)]
        strip_nul: bool,
        #[command(flatten)]
        pg: PgArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; prints only the token on stdout.
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        /// Portal (account) id the token belongs to; created if needed.
        #[arg(long)]
        portal: i64,
        /// Comma-separated HubSpot scope names, or `all`.
        #[arg(long, value_delimiter = ',', default_value = "all")]
        scopes: Vec<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Revoke a token by id (from `spoke token list`). Takes effect at once.
    Revoke {
        #[command(flatten)]
        db: DatabaseArg,
        id: i64,
    },
}

/// Opens the backend a URL names. The one place that knows every backend.
async fn open_store(url: &str, pg: &PgArgs) -> Result<Arc<dyn Store>, String> {
    if url.starts_with("sqlite:") {
        return spoke_store_sqlite::SqliteStore::open(url)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| e.to_string());
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let options = spoke_store_postgres::PgOptions {
            pool_size: pg.pg_pool_size.max(1),
            statement_timeout: std::time::Duration::from_millis(pg.pg_statement_timeout_ms),
            max_retries: pg.pg_max_retries,
            schema: pg.pg_schema.clone(),
            ..Default::default()
        };
        return spoke_store_postgres::PostgresStore::open(url, options)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
    ))
}

/// Whether two URLs (with their schemas) name one database: then a copy would only
/// rewrite every row onto itself.
fn same_database(a: (&str, &PgArgs), b: (&str, &PgArgs)) -> bool {
    let sqlite_path = |url: &str| {
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| PathBuf::from(p)))
    };
    match (sqlite_path(a.0), sqlite_path(b.0)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.0 == b.0 && a.1.pg_schema == b.1.pg_schema,
        _ => false,
    }
}

/// A database URL for display: without a password, with the schema if one is set.
fn redact(url: &str, pg: &PgArgs) -> String {
    let mut shown = match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    };
    if let Some((base, query)) = shown.split_once('?') {
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some(("password", _)) => "password=***".to_owned(),
                _ => kv.to_owned(),
            })
            .collect();
        shown = format!("{base}?{}", query.join("&"));
    }
    if !url.starts_with("sqlite:") {
        if let Some(schema) = &pg.pg_schema {
            shown.push_str(&format!(" (schema {schema})"));
        }
    }
    shown
}

fn expand_scopes(scopes: Vec<String>) -> Vec<String> {
    if scopes.iter().any(|s| s == "all") {
        return spoke_core::scope::all_scopes();
    }
    scopes
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

async fn create_token(
    store: &dyn Store,
    portal: PortalId,
    scopes: &[String],
) -> Result<String, String> {
    spoke_store::tokens::issue(store, portal, scopes, now_millis())
        .await
        .map_err(|e| e.to_string())
}

/// A fresh database gets one portal and an all-scopes token, printed once, so a newcomer
/// can call the API right after the first `spoke serve`.
async fn first_start(store: &dyn Store) -> Result<(), String> {
    if !store
        .list_portals()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        return Ok(());
    }
    // HubSpot portal ids are 8-9 digit numbers; make a plausible one.
    let portal = PortalId(10_000_000 + (uuid::Uuid::new_v4().as_u128() % 90_000_000) as i64);
    let token = create_token(store, portal, &spoke_core::scope::all_scopes()).await?;
    outln!(
        "spoke: new database; created portal {} with an all-scopes token:",
        portal.0
    );
    outln!();
    outln!("    {token}");
    outln!();
    outln!("Use it as `Authorization: Bearer <token>`. Make more with `spoke token create`.");
    Ok(())
}

/// The admin token: the one given (stored as the database's), else a new one if the database
/// has none (printed: only its hash is kept, so this is the one time it can be shown).
async fn admin_start(store: &dyn Store, given: Option<&str>) -> Result<(), String> {
    use spoke_store::admin::{admin_hash, new_admin_secret};
    let now = now_millis();
    if let Some(secret) = given.map(str::trim).filter(|s| !s.is_empty()) {
        store
            .put_admin_token_hash(&admin_hash(secret), true, now)
            .await
            .map_err(|e| e.to_string())?;
        outln!("spoke: admin API at /_spoke/ with the admin token given (--admin-token).");
        return Ok(());
    }
    let secret = new_admin_secret();
    // Of several servers starting on one database, one stores its secret; the others print
    // how to get one.
    if store
        .put_admin_token_hash(&admin_hash(&secret), false, now)
        .await
        .map_err(|e| e.to_string())?
    {
        outln!("spoke: admin token for the /_spoke/ API (shown once; `spoke admin-token` issues a new one):");
        outln!();
        outln!("    {secret}");
        outln!();
    } else {
        outln!("spoke: admin API at /_spoke/; `spoke admin-token` prints a new admin token (the old one stops working).");
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            rate_limit,
            search_rate_limit,
            header_timeout_ms,
            body_timeout_ms,
            max_connections,
            admin_token,
            no_metrics,
        } => {
            let store = open_store(&db.database, &db.pg).await?;
            first_start(store.as_ref()).await?;
            admin_start(store.as_ref(), admin_token.as_deref()).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(backend = store.backend(), database = %db.database, "spoke listening on http://{addr}");
            let mut state = AppState::new(store);
            if no_metrics {
                state = state.without_metrics_endpoint();
            }
            if let Some(n) = rate_limit {
                state = state.with_rate_limits(spoke_server::ratelimit::RateLimits {
                    per_ten_seconds: n.max(1),
                    search_per_second: search_rate_limit.max(1),
                });
            }
            let millis = |ms: u64| (ms > 0).then(|| std::time::Duration::from_millis(ms));
            let limits = spoke_server::ConnLimits {
                header_timeout: millis(header_timeout_ms),
                body_timeout: millis(body_timeout_ms),
                max_connections,
                ..Default::default()
            };
            spoke_server::serve_with(listener, state, limits, shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::AdminToken { db } => {
            let store = open_store(&db.database, &db.pg).await?;
            let secret = spoke_store::admin::new_admin_secret();
            store
                .put_admin_token_hash(&spoke_store::admin::admin_hash(&secret), true, now_millis())
                .await
                .map_err(|e| e.to_string())?;
            outln!("{secret}");
            Ok(())
        }
        Command::Token(TokenCommand::Create { db, portal, scopes }) => {
            let store = open_store(&db.database, &db.pg).await?;
            let token =
                create_token(store.as_ref(), PortalId(portal), &expand_scopes(scopes)).await?;
            outln!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List { db }) => {
            let store = open_store(&db.database, &db.pg).await?;
            let tokens = store.list_tokens().await.map_err(|e| e.to_string())?;
            outln!(
                "{:<6} {:<12} {:<18} {:<26} {:<9} scopes",
                "id",
                "portal",
                "prefix",
                "created",
                "status"
            );
            for t in tokens {
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                outln!(
                    "{:<6} {:<12} {:<18} {:<26} {:<9} {}",
                    t.id,
                    t.portal.0,
                    format!("{}…", t.prefix),
                    format_iso(t.created_at),
                    status,
                    t.scopes.join(",")
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { db, id }) => {
            let store = open_store(&db.database, &db.pg).await?;
            if store
                .revoke_token(id, now_millis())
                .await
                .map_err(|e| e.to_string())?
            {
                errln!("token {id} revoked");
                Ok(())
            } else {
                Err(format!("no active token with id {id}"))
            }
        }
        Command::Import {
            db,
            portal,
            object_type,
            batch_size,
            file,
        } => {
            let store = open_store(&db.database, &db.pg).await?;
            import::run(store, PortalId(portal), &object_type, batch_size, &file).await
        }
        Command::Migrate { db } => {
            open_store(&db.database, &db.pg).await?;
            errln!("{}: schema up to date", db.database);
            Ok(())
        }
        Command::Copy {
            from,
            to,
            from_pg_schema,
            chunk_size,
            strip_nul,
            pg,
        } => {
            let from_pg = PgArgs {
                pg_schema: from_pg_schema.or_else(|| pg.pg_schema.clone()),
                ..pg.clone()
            };
            if same_database((&from, &from_pg), (&to, &pg)) {
                return Err(format!(
                    "--from and --to name the same database ({from}); nothing to copy"
                ));
            }
            let source = open_store(&from, &from_pg).await?;
            let dest = open_store(&to, &pg).await?;
            copy::run(
                source,
                dest,
                chunk_size,
                (&redact(&from, &from_pg), &redact(&to, &pg)),
                strip_nul,
            )
            .await
        }
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPOKE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln!("spoke: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("spoke: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(schema: Option<&str>) -> PgArgs {
        PgArgs {
            pg_pool_size: 1,
            pg_statement_timeout_ms: 0,
            pg_max_retries: 0,
            pg_schema: schema.map(str::to_owned),
        }
    }

    #[test]
    fn redact_hides_passwords_and_shows_the_schema() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db", &pg(Some("s"))),
            "postgres://u:***@h:5432/db (schema s)"
        );
        assert_eq!(
            redact(
                "postgres://u@h/db?password=secret&application_name=x",
                &pg(None)
            ),
            "postgres://u@h/db?password=***&application_name=x"
        );
        assert_eq!(redact("sqlite://a.db", &pg(Some("s"))), "sqlite://a.db");
    }

    #[test]
    fn same_database_compares_sqlite_paths_and_postgres_schemas() {
        let dir = std::env::temp_dir();
        let a = format!("sqlite://{}/x.db", dir.display());
        let b = format!("sqlite:{}/./x.db", dir.display());
        assert!(same_database((&a, &pg(None)), (&b, &pg(None))));
        let url = "postgres://u@h/db";
        assert!(same_database((url, &pg(Some("s"))), (url, &pg(Some("s")))));
        assert!(!same_database((url, &pg(Some("s"))), (url, &pg(Some("t")))));
        assert!(!same_database((&a, &pg(None)), (url, &pg(None))));
    }
}
