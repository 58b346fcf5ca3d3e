//! The `spoke` command: `serve`, `token`, `admin-token`, `app`, `oauth`, `import`, `migrate`,
//! `reindex`, `copy`, `ca`. Thin: every
//! behavior lives in the library crates; this file parses arguments and wires them together.

#[macro_use]
mod out;
mod ca;
mod copy;
mod import;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use spoke_core::time::{format_iso, now_millis, Millis};
use spoke_core::PortalId;
use spoke_server::conn::shutdown_signal;
use spoke_server::AppState;
use spoke_store::Store;

/// Every response allocates and frees tens of buffers and strings of 100 records; glibc's
/// malloc spent a fifth of the server's CPU on them (arena locks, `malloc_consolidate` after
/// each response buffer larger than 64 KiB). Only this binary: the libraries leave the choice
/// to whoever links them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// The request inspector's log (`/_spoke/requests`): in memory, this process's own.
#[derive(Args, Clone)]
struct InspectorArgs {
    /// Start with request recording off (the admin API's `PUT /_spoke/inspector` turns it
    /// on); off, a request costs the log one flag read.
    #[arg(long, env = "SPOKE_NO_INSPECTOR")]
    no_inspector: bool,
    /// Most requests the log keeps; the oldest are dropped first.
    #[arg(long, env = "SPOKE_INSPECTOR_CAPACITY", default_value_t = 10_000)]
    inspector_capacity: usize,
    /// Most memory the log's entries may hold (headers and kept bodies), e.g. 64MiB.
    #[arg(long, env = "SPOKE_INSPECTOR_MAX_BYTES", default_value = "64MiB", value_parser = parse_size)]
    inspector_max_bytes: usize,
    /// Most bytes kept of each request or response body; longer ones are cut there and
    /// marked truncated.
    #[arg(long, env = "SPOKE_INSPECTOR_MAX_BODY_BYTES", default_value = "64KiB", value_parser = parse_size)]
    inspector_max_body_bytes: usize,
}

/// A byte count: a number, optionally followed by KiB, MiB or GiB (or KB, MB, GB, in
/// powers of 1000).
fn parse_size(raw: &str) -> Result<usize, String> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{raw:?} is not a size (e.g. 65536, 64KiB, 64MiB)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("{raw:?}: unknown unit (use KiB, MiB or GiB)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{raw:?} is too large"))
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
        /// Also serve HTTPS on this address (e.g. 127.0.0.1:443), with a certificate for
        /// api.hubapi.com, app.hubspot.com, localhost, 127.0.0.1 and ::1 signed by spoke's
        /// local CA (made on first use; `spoke ca` shows where it is and how to trust it).
        /// With a hosts entry for api.hubapi.com, unmodified HubSpot clients reach spoke.
        #[arg(long, env = "SPOKE_HTTPS_LISTEN")]
        https_listen: Option<SocketAddr>,
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
        /// Seed the database's first portal from this fixture file (JSON: properties, owners,
        /// pipelines, records, associations; see README) before serving. The portal is
        /// emptied first, so every start begins from the fixture; a fixture that fails stops
        /// the start and leaves the portal as it was. Its state afterwards is the portal's
        /// seed (`POST /_spoke/portals/{id}/reset` with `{"to":"seed"}` returns to it).
        #[arg(long, env = "SPOKE_SEED")]
        seed: Option<std::path::PathBuf>,
        #[command(flatten)]
        inspector: InspectorArgs,
        /// Do not deliver app webhooks from this process (events still queue in the
        /// database; another `spoke serve` on it delivers them).
        #[arg(long, env = "SPOKE_NO_WEBHOOKS")]
        no_webhooks: bool,
        /// How often, in milliseconds, the webhook worker looks for events that other
        /// processes wrote (`spoke import`, other servers) and for retries that came due.
        #[arg(long, env = "SPOKE_WEBHOOK_POLL_MS", default_value_t = 1000)]
        webhook_poll_ms: u64,
        /// How long, in milliseconds, a process holds the events it claimed for delivery;
        /// after a crash, its events go out again once this has passed.
        #[arg(long, env = "SPOKE_WEBHOOK_LEASE_MS", default_value_t = 60_000)]
        webhook_lease_ms: u64,
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
    /// Manage OAuth apps (public apps: client id and secret, redirect URIs, scopes). Their
    /// secrets are stored encrypted under a key file in spoke's data directory
    /// (`SPOKE_DATA_DIR`), created on first use.
    #[command(subcommand)]
    App(AppCommand),
    /// OAuth without a browser, for scripts and CI.
    #[command(subcommand)]
    Oauth(OauthCommand),
    /// Show spoke's local certificate authority (made on first use, in SPOKE_CA_DIR or the
    /// data directory) and how to make clients trust it and send api.hubapi.com to spoke.
    Ca {
        /// Print only the CA certificate's path (for scripts:
        /// `export REQUESTS_CA_BUNDLE=$(spoke ca --path)`).
        #[arg(long)]
        path: bool,
    },
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
    /// Rebuild the search value index of every portal (or one) from its stored records,
    /// one transaction per portal: the repair when a spoke older than migration 0018 wrote
    /// to the database beside a newer one, leaving records that search by property does not
    /// find; upgrade the older writers first. Safe while servers run: on SQLite their
    /// writes wait for each portal's rebuild; on PostgreSQL a rebuild that meets a
    /// concurrent write to its portal starts again (`--pg-max-retries`), and a large portal
    /// may need `--pg-statement-timeout-ms 0`.
    Reindex {
        #[command(flatten)]
        db: DatabaseArg,
        /// Only this portal (account) id.
        #[arg(long)]
        portal: Option<i64>,
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

#[derive(Subcommand)]
enum AppCommand {
    /// Register an app; prints `{"appId","clientId","clientSecret","developerApiKey"}` as
    /// JSON. Keep the output: it is the only time the secrets are printed outside `list`.
    Create {
        #[command(flatten)]
        db: DatabaseArg,
        /// The app's name, shown on the consent page.
        #[arg(long)]
        name: String,
        /// A redirect URI the app may use (repeat, or separate with commas).
        #[arg(long = "redirect-uri", required = true, value_delimiter = ',')]
        redirect_uris: Vec<String>,
        /// Comma-separated scopes the app requires.
        #[arg(long, required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Comma-separated scopes the app may ask for besides.
        #[arg(long = "optional-scopes", value_delimiter = ',')]
        optional_scopes: Vec<String>,
    },
    /// List apps as JSON, secrets included (opened with the key file).
    List {
        #[command(flatten)]
        db: DatabaseArg,
    },
    /// Delete an app by id, and every authorization code and token issued to it.
    Delete {
        #[command(flatten)]
        db: DatabaseArg,
        id: i64,
    },
    /// Install an app in a portal without the OAuth flow, so the portal's changes reach
    /// the app's webhook subscriptions (connecting it through OAuth does the same).
    Install {
        #[command(flatten)]
        db: DatabaseArg,
        /// Portal (account) id; created if needed.
        #[arg(long)]
        portal: i64,
        id: i64,
    },
    /// Uninstall an app from a portal: its changes no longer produce events for the app.
    Uninstall {
        #[command(flatten)]
        db: DatabaseArg,
        #[arg(long)]
        portal: i64,
        id: i64,
    },
}

#[derive(Subcommand)]
enum OauthCommand {
    /// Prints the authorization code that approving the consent page for PORTAL would
    /// produce; exchange it at `POST /oauth/v1/token` within ten minutes.
    Grant {
        #[command(flatten)]
        db: DatabaseArg,
        /// Portal (account) id to connect; created if needed.
        #[arg(long)]
        portal: i64,
        #[arg(long = "client-id")]
        client_id: String,
        /// Comma-separated scopes to grant (default: all the app's scopes, optional ones
        /// included); must include every scope the app requires.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The redirect URI the code is for (default: the app's first).
        #[arg(long = "redirect-uri")]
        redirect_uri: Option<String>,
    },
}

/// The key that seals app secrets, in spoke's data directory.
fn secret_key_path() -> Result<PathBuf, String> {
    spoke_core::datadir::data_dir()
        .map(|d| d.join(spoke_store::sealed::KEY_FILE))
        .map_err(|e| e.to_string())
}

fn app_json(
    app: &spoke_store::oauth::AppRecord,
    secrets: Option<&spoke_store::oauth::AppSecrets>,
) -> serde_json::Value {
    serde_json::json!({
        "appId": app.id,
        "name": app.name,
        "clientId": app.client_id,
        "clientSecret": secrets.map(|s| s.client_secret.clone()),
        "developerApiKey": secrets.map(|s| s.developer_api_key.clone()),
        "redirectUris": app.redirect_uris,
        "scopes": app.scopes,
        "optionalScopes": app.optional_scopes,
        "createdAt": format_iso(app.created_at),
    })
}

async fn run_app(command: AppCommand) -> Result<(), String> {
    use spoke_store::oauth;
    use spoke_store::sealed::SecretKey;
    match command {
        AppCommand::Create {
            db,
            name,
            redirect_uris,
            scopes,
            optional_scopes,
        } => {
            let key = SecretKey::load_or_create(&secret_key_path()?).map_err(|e| e.to_string())?;
            let store = open_store(&db.database, &db.pg).await?;
            let spec = oauth::AppSpec {
                name,
                redirect_uris: redirect_uris
                    .into_iter()
                    .map(|u| u.trim().to_owned())
                    .collect(),
                scopes,
                optional_scopes,
            };
            let (app, secrets) = oauth::create_app(store.as_ref(), &key, spec, now_millis())
                .await
                .map_err(|e| e.to_string())?;
            let out = serde_json::json!({
                "appId": app.id,
                "clientId": app.client_id,
                "clientSecret": secrets.client_secret,
                "developerApiKey": secrets.developer_api_key,
            });
            outln!("{out}");
            Ok(())
        }
        AppCommand::List { db } => {
            let store = open_store(&db.database, &db.pg).await?;
            let apps = store.list_apps().await.map_err(|e| e.to_string())?;
            // Without the key the apps are still listed, their secrets as null.
            let key = if apps.is_empty() {
                None
            } else {
                match SecretKey::load(&secret_key_path()?) {
                    Ok(key) => Some(key),
                    Err(e) => {
                        errln!("spoke: {e}; the apps' secrets cannot be shown");
                        None
                    }
                }
            };
            let mut out = Vec::with_capacity(apps.len());
            for app in &apps {
                let secrets = match &key {
                    Some(key) => match oauth::open_secrets(key, app) {
                        Ok(s) => Some(s),
                        Err(e) => {
                            errln!("spoke: app {}: {e}", app.id);
                            None
                        }
                    },
                    None => None,
                };
                out.push(app_json(app, secrets.as_ref()));
            }
            let text = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?;
            outln!("{text}");
            Ok(())
        }
        AppCommand::Delete { db, id } => {
            let store = open_store(&db.database, &db.pg).await?;
            if store.delete_app(id).await.map_err(|e| e.to_string())? {
                errln!("app {id} deleted, with its codes and tokens");
                Ok(())
            } else {
                Err(format!("no app with id {id}"))
            }
        }
        AppCommand::Install { db, portal, id } => {
            let store = open_store(&db.database, &db.pg).await?;
            let portal = PortalId(portal);
            if store
                .find_app(spoke_store::oauth::AppLookup::Id(id))
                .await
                .map_err(|e| e.to_string())?
                .is_none()
            {
                return Err(format!("no app with id {id}"));
            }
            store
                .ensure_portal(portal, now_millis())
                .await
                .map_err(|e| e.to_string())?;
            let now = portal_now(store.as_ref(), portal).await?;
            store
                .install_app(id, portal, now)
                .await
                .map_err(|e| e.to_string())?;
            errln!("app {id} installed in portal {}", portal.0);
            Ok(())
        }
        AppCommand::Uninstall { db, portal, id } => {
            let store = open_store(&db.database, &db.pg).await?;
            let now = portal_now(store.as_ref(), PortalId(portal)).await?;
            if store
                .uninstall_app(id, PortalId(portal), now)
                .await
                .map_err(|e| e.to_string())?
            {
                errln!("app {id} uninstalled from portal {portal}");
                Ok(())
            } else {
                Err(format!("app {id} is not installed in portal {portal}"))
            }
        }
    }
}

/// The portal's clock (the emulator's, when a test moved it), as the server's writes read it:
/// an install's journal entry must carry the time the portal's reads compare it with.
async fn portal_now(store: &dyn Store, portal: PortalId) -> Result<Millis, String> {
    let real = now_millis();
    Ok(store
        .read_clock(portal)
        .await
        .map_err(|e| e.to_string())?
        .map_or(real, |clock| clock.now(real)))
}

async fn run_oauth(command: OauthCommand) -> Result<(), String> {
    use spoke_store::oauth::{self, AuthorizeError};
    let OauthCommand::Grant {
        db,
        portal,
        client_id,
        scopes,
        redirect_uri,
    } = command;
    if portal <= 0 {
        return Err(format!(
            "--portal must be a positive account id, not {portal}"
        ));
    }
    let store = open_store(&db.database, &db.pg).await?;
    let app = oauth::find_client(store.as_ref(), &client_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no app has the client id {client_id}"))?;
    let scopes = if scopes.is_empty() {
        app.scopes
            .iter()
            .chain(&app.optional_scopes)
            .cloned()
            .collect()
    } else {
        scopes
    };
    let redirect = redirect_uri
        .or_else(|| app.redirect_uris.first().cloned())
        .unwrap_or_default();
    let grant = oauth::check_authorization(
        store.as_ref(),
        Some(&client_id),
        Some(&redirect),
        Some(&scopes.join(" ")),
        None,
    )
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| match e {
        AuthorizeError::RedirectMismatch(r) => {
            format!("{r} is not one of the app's redirect URIs")
        }
        AuthorizeError::UnknownScopes(s) => {
            format!("the app did not register these scopes: {}", s.join(", "))
        }
        AuthorizeError::MissingScopes(s) => {
            format!("the app requires these scopes too: {}", s.join(", "))
        }
        other => format!("{other:?}"),
    })?;
    let code = oauth::issue_code(store.as_ref(), &grant, PortalId(portal), now_millis())
        .await
        .map_err(|e| e.to_string())?;
    outln!("{code}");
    Ok(())
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

/// `spoke reindex`: each portal's value index made again, one line per portal.
async fn reindex(store: &dyn Store, only: Option<PortalId>) -> Result<(), String> {
    let portals = store.list_portals().await.map_err(|e| e.to_string())?;
    let portals = match only {
        Some(p) if !portals.contains(&p) => return Err(format!("no portal {}", p.0)),
        Some(p) => vec![p],
        None => portals,
    };
    // A portal that fails (a record whose stored JSON the backend cannot read) is rolled
    // back alone; the others are still repaired, and the run ends in failure.
    let mut failed = Vec::new();
    for portal in portals {
        match store.reindex_portal(portal).await {
            Ok(done) => outln!(
                "portal {}: {} index row(s) written ({} removed)",
                portal.0,
                done.written,
                done.removed
            ),
            Err(e) => {
                errln!("spoke: portal {}: {e}; its index is unchanged", portal.0);
                failed.push(portal.0.to_string());
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("not reindexed: portal(s) {}", failed.join(", ")))
    }
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

/// Port 443 is privileged on Linux; say how to get it rather than only "permission denied".
fn bind_error(addr: SocketAddr, e: &std::io::Error) -> String {
    let mut msg = format!("cannot listen on {addr}: {e}");
    if e.kind() == std::io::ErrorKind::PermissionDenied && addr.port() < 1024 {
        msg.push_str(
            "; ports below 1024 need root, or on Linux once: \
             sudo setcap cap_net_bind_service=+ep \"$(command -v spoke)\"",
        );
    }
    msg
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

/// `spoke serve --seed FILE`: the database's first portal, emptied and seeded from FILE.
async fn seed_start(state: &AppState, file: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let fixture: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", file.display()))?;
    let portals = state
        .store
        .list_portals()
        .await
        .map_err(|e| e.to_string())?;
    let portal = portals
        .into_iter()
        .min_by_key(|p| p.0)
        .ok_or_else(|| "the database has no portal to seed".to_owned())?;
    let mode = spoke_server::admin::seed::Mode::Replace;
    let seeded = spoke_server::admin::seed::seed(state, portal, &fixture, mode)
        .await
        .map_err(|e| {
            let path = e.context.get("path").and_then(|p| p.first()).cloned();
            match path {
                Some(_) => format!(
                    "{}: {}; the portal was not changed",
                    file.display(),
                    e.message
                ),
                None => format!(
                    "{}: seeding failed: {} {}",
                    file.display(),
                    e.message,
                    e.cause.unwrap_or_default()
                ),
            }
        })?
        .ok_or_else(|| format!("portal {} vanished while seeding", portal.0))?;
    let c = &seeded.counts;
    outln!(
        "spoke: seeded portal {} from {}: {} record(s), {} association(s), {} propert(ies), {} owner(s), {} pipeline(s)",
        portal.0,
        file.display(),
        c.records,
        c.associations,
        c.properties,
        c.owners,
        c.pipelines
    );
    Ok(())
}

/// The admin token: the one given (stored as the database's), else a new one if the database
/// has none (printed: only its hash is kept, so this is the one time it can be shown).
/// Returns the secret when this start made it, so the web UI's address can carry it.
async fn admin_start(store: &dyn Store, given: Option<&str>) -> Result<Option<String>, String> {
    use spoke_store::admin::{admin_hash, new_admin_secret};
    let now = now_millis();
    if let Some(secret) = given.map(str::trim).filter(|s| !s.is_empty()) {
        store
            .put_admin_token_hash(&admin_hash(secret), true, now)
            .await
            .map_err(|e| e.to_string())?;
        outln!("spoke: admin API at /_spoke/ with the admin token given (--admin-token).");
        return Ok(None);
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
        Ok(Some(secret))
    } else {
        outln!("spoke: admin API at /_spoke/; `spoke admin-token` prints a new admin token (the old one stops working).");
        Ok(None)
    }
}

/// Where the web UI is: with the admin token when this start printed it (the address signs
/// in), else the bare address, whose login form asks for the token.
fn print_ui_address(addr: std::net::SocketAddr, secret: Option<&str>) {
    // A wildcard listen address is no address a browser can open.
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let url = spoke_server::admin::ui::address(&format!("http://{host}:{}", addr.port()), secret);
    match secret {
        Some(_) => outln!("spoke: web UI at {url}"),
        None => outln!("spoke: web UI at {url} (sign in with the admin token)"),
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            listen,
            https_listen,
            db,
            rate_limit,
            search_rate_limit,
            header_timeout_ms,
            body_timeout_ms,
            max_connections,
            admin_token,
            no_metrics,
            seed,
            inspector,
            no_webhooks,
            webhook_poll_ms,
            webhook_lease_ms,
        } => {
            // Certificates before the database, so a CA problem is reported before any
            // first-start output.
            let tls = match https_listen {
                Some(_) => {
                    let ca = ca::open()?;
                    let identity = ca.server_config().map_err(|e| e.to_string())?;
                    if ca.created() {
                        tracing::info!(
                            "made a local certificate authority at {}; `spoke ca` shows how to trust it",
                            ca.cert_path().display()
                        );
                    }
                    if identity.issued {
                        tracing::info!(dir = %ca.dir().display(), "issued a server certificate for {}", spoke_server::tls::SERVER_NAMES.join(", "));
                    }
                    Some((ca, identity.config))
                }
                None => None,
            };
            let store = open_store(&db.database, &db.pg).await?;
            first_start(store.as_ref()).await?;
            let printed = admin_start(store.as_ref(), admin_token.as_deref()).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            print_ui_address(addr, printed.as_deref());
            tracing::info!(backend = store.backend(), database = %db.database, "spoke listening on http://{addr}");
            let https = match (https_listen, tls) {
                (Some(https_addr), Some((ca, config))) => {
                    let l = tokio::net::TcpListener::bind(https_addr)
                        .await
                        .map_err(|e| bind_error(https_addr, &e))?;
                    let bound = l.local_addr().map_err(|e| e.to_string())?;
                    tracing::info!(ca = %ca.cert_path().display(), "spoke listening on https://{bound}");
                    Some((l, config))
                }
                _ => None,
            };
            let mut state = AppState::new(store)
                .with_inspector(spoke_server::inspector::InspectorConfig {
                    recording: !inspector.no_inspector,
                    capacity: inspector.inspector_capacity,
                    max_bytes: inspector.inspector_max_bytes,
                    body_cap: inspector.inspector_max_body_bytes,
                })
                .with_webhooks(spoke_server::webhooks::Config {
                    poll: std::time::Duration::from_millis(webhook_poll_ms.max(10)),
                    lease: std::time::Duration::from_millis(webhook_lease_ms.max(100)),
                    secret_key_path: secret_key_path().ok(),
                    ..Default::default()
                });
            if !no_webhooks {
                state.spawn_webhooks();
            }
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
            // Before serving: a client that connects meanwhile waits for the seeded portal.
            if let Some(file) = &seed {
                seed_start(&state, file).await?;
            }
            let listeners = spoke_server::Listeners {
                http: Some(listener),
                https,
            };
            spoke_server::serve_listeners(listeners, state, limits, shutdown_signal())
                .await
                .map_err(|e| e.to_string())
        }
        Command::Ca { path } => {
            let ca = ca::open()?;
            if path {
                outln!("{}", ca.cert_path().display());
            } else {
                outln!("{}", ca::instructions(&ca));
            }
            Ok(())
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
        Command::App(command) => run_app(command).await,
        Command::Oauth(command) => run_oauth(command).await,
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
        Command::Reindex { db, portal } => {
            let store = open_store(&db.database, &db.pg).await?;
            reindex(store.as_ref(), portal.map(PortalId)).await
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

/// The environment variable of mimalloc's purge delay: how long memory freed stays
/// committed before it is handed back to the OS.
const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// mimalloc (v3) keeps freed memory for a second (`purge_delay` 1,000 ms) before returning
/// it. Under batch writes at 1M contacts, with the inspector recording, that held the
/// server's RSS at 241-297 MiB, over its 256 MB target; with a delay of 0 the same run
/// peaked at 223-235 MiB at the same throughput, and batch reads were no slower
/// (BENCHMARKS.md, "lazy"). mimalloc reads its options from the environment once, as the
/// process loads; setting one in code is FFI, and this workspace forbids `unsafe`. So
/// `serve` starts itself again with the delay set, unless the user chose one; `exec` keeps
/// the process id, arguments and open files. If it fails, the server runs on as it is.
fn return_freed_memory_sooner() {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(PURGE_DELAY).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env(PURGE_DELAY, "0")
            .exec();
        tracing::debug!(error = %err, "could not start again with {PURGE_DELAY}=0");
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
    if matches!(cli.command, Command::Serve { .. }) {
        return_freed_memory_sooner();
    }
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
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        for bad in ["", "MiB", "12 parsecs", "-1", "99999999999999999999GiB"] {
            assert!(parse_size(bad).is_err(), "{bad}");
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
