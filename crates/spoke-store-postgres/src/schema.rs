//! Versioned schema: `spoke_schema_version` has one row per migration applied.
//!
//! Several spoke processes may start at once on one database. Each applies the missing
//! migrations in one transaction that first takes a transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`, released at commit or rollback even if the process dies), so
//! exactly one of them migrates and the others then find nothing left to do. DDL is
//! transactional in PostgreSQL: a failed migration leaves the schema as it was.

use deadpool_postgres::GenericClient;
use spoke_store::StoreResult;

use crate::{quote_ident, Error, PostgresStore};

/// In file order; version `i + 1` is `MIGRATIONS[i]`. Mirrors the SQLite backend's list.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    (
        "0002_associations",
        include_str!("../migrations/0002_associations.sql"),
    ),
    ("0003_search", include_str!("../migrations/0003_search.sql")),
    ("0004_fold", include_str!("../migrations/0004_fold.sql")),
    (
        "0005_search_rules",
        include_str!("../migrations/0005_search_rules.sql"),
    ),
    (
        "0006_directory",
        include_str!("../migrations/0006_directory.sql"),
    ),
    (
        "0007_pipelines",
        include_str!("../migrations/0007_pipelines.sql"),
    ),
    (
        "0008_custom_objects",
        include_str!("../migrations/0008_custom_objects.sql"),
    ),
    ("0009_oauth", include_str!("../migrations/0009_oauth.sql")),
    ("0010_admin", include_str!("../migrations/0010_admin.sql")),
    (
        "0011_webhooks",
        include_str!("../migrations/0011_webhooks.sql"),
    ),
    (
        "0012_emulator",
        include_str!("../migrations/0012_emulator.sql"),
    ),
    ("0013_totals", include_str!("../migrations/0013_totals.sql")),
    (
        "0014_journal",
        include_str!("../migrations/0014_journal.sql"),
    ),
    (
        "0015_webhook_events_lean",
        include_str!("../migrations/0015_webhook_events_lean.sql"),
    ),
    (
        "0016_archived_ids",
        include_str!("../migrations/0016_archived_ids.sql"),
    ),
    (
        "0017_journal_snapshots",
        include_str!("../migrations/0017_journal_snapshots.sql"),
    ),
    (
        "0018_value_index",
        include_str!("../migrations/0018_value_index.sql"),
    ),
    (
        "0019_listener_generation",
        include_str!("../migrations/0019_listener_generation.sql"),
    ),
    (
        "0020_webhook_events_hot",
        include_str!("../migrations/0020_webhook_events_hot.sql"),
    ),
    (
        "0021_lazy_value_index",
        include_str!("../migrations/0021_lazy_value_index.sql"),
    ),
    (
        "0022_indexing_in_steps",
        include_str!("../migrations/0022_indexing_in_steps.sql"),
    ),
    (
        "0023_token_match_plpgsql",
        include_str!("../migrations/0023_token_match_plpgsql.sql"),
    ),
];

/// The advisory lock's first key: "spok" in ASCII, so it does not meet other applications'
/// locks by chance. The second key is a hash of the schema, so test runs in separate
/// schemas do not wait for each other.
const LOCK_CLASS: i32 = 0x7370_6f6b;

pub(crate) async fn migrate(store: &PostgresStore, schema: Option<&str>) -> StoreResult<()> {
    run(store, schema).await.map_err(Error::into_store)
}

async fn run(store: &PostgresStore, schema: Option<&str>) -> Result<(), Error> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &schema.unwrap_or("")],
    )
    .await?;
    // Migrations may outlast a request's statement timeout on a big database; the lock
    // above was still taken under it, so a stuck peer cannot hang startup forever.
    tx.batch_execute("SET LOCAL statement_timeout = 0").await?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {0}; SET LOCAL search_path TO {0}",
            quote_ident(schema)
        ))
        .await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS spoke_schema_version (
             version     INTEGER PRIMARY KEY,
             name        TEXT NOT NULL,
             applied_at  BIGINT NOT NULL
         )",
    )
    .await?;
    let current: i32 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM spoke_schema_version",
            &[],
        )
        .await?
        .try_get(0)?;
    let known = MIGRATIONS.len() as i32;
    if current > known {
        tracing::warn!(
            current,
            known,
            "the database schema is newer than this spoke; running without migrating"
        );
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let version = i as i32 + 1;
        tracing::info!(version, name, "applying PostgreSQL migration");
        tx.batch_execute(&fill_in(sql)).await?;
        tx.execute(
            "INSERT INTO spoke_schema_version (version, name, applied_at)
             VALUES ($1, $2, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
            &[&version, name],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A migration's text with the character tables it takes from Rust filled in.
fn fill_in(sql: &str) -> String {
    let sql =
        spoke_store::admin::fill_in_migration(&spoke_store::pipelines::fill_in_migration(sql));
    let mut sql = sql.replace("{{ALNUM}}", &alnum_class());
    if sql.contains("{{WHITESPACE}}") {
        let (from, to) = lower_table();
        sql = sql
            .replace("{{WHITESPACE}}", &whitespace())
            .replace("{{LOWER_FROM}}", &from)
            .replace("{{LOWER_TO}}", &to);
    }
    sql
}

/// The characters Rust's `str::trim` removes, for `btrim`. None is a quote or backslash.
fn whitespace() -> String {
    (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
        .collect()
}

/// Every non-ASCII character that Rust lowercases to exactly one other character, and that
/// character, for `translate`. ASCII is lowered by SQL itself; the one character whose
/// lowercase is two (`İ`) is replaced separately.
fn lower_table() -> (String, String) {
    let mut from = String::new();
    let mut to = String::new();
    for c in (0x80..=u32::from(char::MAX)).filter_map(char::from_u32) {
        let mut lower = c.to_lowercase();
        if let (Some(l), None) = (lower.next(), lower.next()) {
            if l != c {
                from.push(c);
                to.push(l);
            }
        }
    }
    (from, to)
}

/// The characters Rust's `char::is_alphanumeric` accepts, as the inside of a regular
/// expression bracket (ranges by code point). None of `]`, `\`, `^`, `-`, `[` or a quote
/// is alphanumeric, so the text needs no escaping.
fn alnum_class() -> String {
    let mut class = String::new();
    let mut start: Option<char> = None;
    let mut last = '\0';
    fn close(class: &mut String, lo: char, hi: char) {
        class.push(lo);
        if hi != lo {
            if u32::from(hi) > u32::from(lo) + 1 {
                class.push('-');
            }
            class.push(hi);
        }
    }
    for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(c);
            }
            last = c;
        } else if let Some(lo) = start.take() {
            close(&mut class, lo, last);
        }
    }
    if let Some(lo) = start {
        close(&mut class, lo, last);
    }
    class
}
