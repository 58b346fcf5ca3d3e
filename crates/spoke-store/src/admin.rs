//! Emulator controls that need stored state: the admin token, portals made and removed on
//! demand, resetting a portal, and named snapshots of a portal.
//!
//! A portal's rows are exactly the rows of the [`transfer`] tables that hold its id (and
//! the property history of its records), so every statement here is built from those
//! declarations ([`portal_tables`]): a table added there is reset, snapshotted, restored
//! and deleted with its portal without another line here. A snapshot keeps its rows in a
//! mirror of each table (`snapshot_<table>`, the table's columns after a `snapshot_id`),
//! in the same database, so taking and restoring one is a few `INSERT … SELECT`s inside
//! one transaction: no row leaves the database.
//!
//! Tokens are not part of a portal's data here: reset and restore keep them (a test
//! fixture's token survives between tests); deleting the portal removes them. The same goes
//! for OAuth grants (codes, refresh and access tokens): they are credentials of an app
//! installed in the portal. OAuth apps belong to no portal.
//!
//! Statements carry the portal and snapshot ids as integer literals: they are ours
//! (never text a client wrote), and literals let both dialects run a statement list as
//! one batch.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::transfer::{sql, Table};
use crate::StoreResult;

/// A named snapshot of one portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub created_at: Millis,
    /// How many records (live and archived) it holds.
    pub records: u64,
}

/// Why a snapshot was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotRefusal {
    NoSuchPortal,
    /// The portal already has a snapshot of this name.
    Exists,
}

/// The longest snapshot name accepted (the admin API refuses longer ones).
pub const MAX_SNAPSHOT_NAME: usize = 200;

/// What [`AdminStore::reindex_portal`] did: how many value index rows it deleted and how
/// many it wrote again from the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reindexed {
    pub removed: u64,
    pub written: u64,
}

/// What the admin API's operations need from a backend. Every method that changes a portal
/// runs in one transaction.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// The hash of the database's admin token, if one was made.
    async fn admin_token_hash(&self) -> StoreResult<Option<String>>;

    /// Stores `hash` as the admin token's. With `replace` false it is stored only if none is
    /// yet (so of several processes starting on one database exactly one makes it); returns
    /// whether it was stored.
    async fn put_admin_token_hash(
        &self,
        hash: &str,
        replace: bool,
        now: Millis,
    ) -> StoreResult<bool>;

    /// Creates a portal with a new id (larger than every portal's), seeded as
    /// [`crate::TokenStore::ensure_portal`] seeds one, in one transaction.
    async fn create_portal(&self, now: Millis) -> StoreResult<PortalId>;

    /// Removes every row of the portal, its tokens and snapshots included. False if it did
    /// not exist.
    async fn delete_portal(&self, portal: PortalId) -> StoreResult<bool>;

    /// Empties the portal and seeds it again as a new portal; keeps its tokens and
    /// snapshots. False if it does not exist.
    async fn reset_portal(&self, portal: PortalId, now: Millis) -> StoreResult<bool>;

    async fn create_snapshot(
        &self,
        portal: PortalId,
        name: &str,
        now: Millis,
    ) -> StoreResult<Result<SnapshotInfo, SnapshotRefusal>>;

    /// The portal's snapshots by name; `None` if the portal does not exist.
    async fn list_snapshots(&self, portal: PortalId) -> StoreResult<Option<Vec<SnapshotInfo>>>;

    /// Replaces the portal's data with the snapshot's (tokens stay). False if either is
    /// unknown.
    async fn restore_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool>;

    /// False if either is unknown.
    async fn delete_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool>;

    /// Makes the portal's value index again from its stored records ([`reindex_sql`]), in
    /// one transaction: the repair for a database whose index an older spoke, or a spoke
    /// without the index, left stale (`spoke reindex`). A portal id with no rows is no
    /// error: there is nothing to index.
    async fn reindex_portal(&self, portal: PortalId) -> StoreResult<Reindexed>;

    /// The portal's value index rows as stored, in no particular order: for checks that
    /// record writes and [`reindex_portal`](Self::reindex_portal) make the same rows.
    async fn index_rows(&self, portal: PortalId) -> StoreResult<Vec<crate::value_index::IndexRow>>;
}

/// A new admin token secret: `spoke-admin-` and 244 random bits, shaped unlike HubSpot's
/// tokens so neither is mistaken for the other in a log or a config file.
pub fn new_admin_secret() -> String {
    let a = uuid::Uuid::new_v4().simple();
    let b = uuid::Uuid::new_v4().simple();
    format!("spoke-admin-{a}{b}")
}

/// The stored form of an admin secret. Not the API tokens' hash input: a domain prefix
/// keeps an admin secret from ever hashing to an API token's stored hash.
pub fn admin_hash(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"spoke-admin\0");
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `secret` is the admin token whose hash is `stored`, compared in constant time.
pub fn admin_matches(secret: &str, stored: &str) -> bool {
    let given = admin_hash(secret);
    given.len() == stored.len()
        && given
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// The tables that hold a portal's data, in [`Table::ALL`]'s dependency order: every table
/// but `portals` and the credentials (API tokens, OAuth apps and grants).
pub fn portal_tables() -> impl Iterator<Item = Table> {
    Table::ALL
        .into_iter()
        .filter(|t| !is_credential(*t) && *t != Table::Portals)
}

/// Tables of tokens and apps: kept by reset and restore, never in a snapshot. An app's
/// webhook settings and subscriptions are the app's; its installs are like its grants
/// (removed with their portal).
fn is_credential(table: Table) -> bool {
    matches!(
        table,
        Table::Tokens
            | Table::OAuthApps
            | Table::OAuthCodes
            | Table::OAuthRefreshTokens
            | Table::OAuthAccessTokens
            | Table::WebhookSettings
            | Table::WebhookSubscriptions
            | Table::AppInstalls
            | Table::OAuthAppTokens
            | Table::JournalSubscriptions
            | Table::JournalFilters
    )
}

/// The webhook outbox's tables: delivery state of this database, not data of any table
/// [`Table::ALL`] declares (`spoke copy` does not carry them). A portal's rows go when it
/// is reset, restored or deleted: events about records that are no longer there (or are
/// there again as they were) are not delivered afterwards.
const OUTBOX_TABLES: &[&str] = &[
    "webhook_events",
    "webhook_attempts",
    "journal_entries",
    "journal_snapshots",
];

/// The name of `table`'s snapshot mirror.
pub fn snapshot_table(table: Table) -> String {
    format!("snapshot_{}", table.name())
}

/// Which of `table`'s rows belong to `portal`. Property history rows name their record,
/// not their portal.
fn belongs(table: Table, portal: PortalId) -> String {
    let p = portal.0;
    match table {
        Table::PropertyHistory => {
            format!("object_id IN (SELECT id FROM objects WHERE portal_id = {p})")
        }
        _ => format!("portal_id = {p}"),
    }
}

/// Deletes the portal's data rows (not its tokens or its `portals` row), dependents
/// first: property history before the records it names.
pub fn clear_portal_sql(portal: PortalId) -> Vec<String> {
    let mut tables: Vec<Table> = portal_tables().collect();
    tables.reverse();
    let mut out: Vec<String> = tables
        .into_iter()
        .map(|t| format!("DELETE FROM {} WHERE {}", t.name(), belongs(t, portal)))
        .collect();
    for table in OUTBOX_TABLES {
        out.push(format!(
            "DELETE FROM {table} WHERE portal_id = {}",
            portal.0
        ));
    }
    out.extend(crate::value_index::clear_portal_sql(portal));
    // Counts of the portal's searches kept by any process are void from now on.
    out.push(crate::totals::bump_portal_sql(portal));
    out
}

/// Deletes everything of the portal: its data, its snapshots' rows, its tokens and itself.
/// `snapshot_ids` is the list of the portal's snapshot ids, `SELECT id FROM
/// portal_snapshots WHERE portal_id = …` (each backend's table).
pub fn delete_portal_sql(portal: PortalId) -> Vec<String> {
    let p = portal.0;
    let mut out = clear_portal_sql(portal);
    for t in portal_tables() {
        out.push(format!(
            "DELETE FROM {} WHERE snapshot_id IN (SELECT id FROM portal_snapshots WHERE portal_id = {p})",
            snapshot_table(t)
        ));
    }
    out.push(format!(
        "DELETE FROM portal_snapshots WHERE portal_id = {p}"
    ));
    // A journal filter names its subscription, not the portal: it goes with it.
    out.push(format!(
        "DELETE FROM journal_filters WHERE subscription_id IN
         (SELECT id FROM journal_subscriptions WHERE portal_id = {p})"
    ));
    for t in Table::ALL {
        if is_credential(t) && t.columns().iter().any(|c| c.name == "portal_id") {
            out.push(format!("DELETE FROM {} WHERE portal_id = {p}", t.name()));
        }
    }
    out.push(format!("DELETE FROM portals WHERE id = {p}"));
    out
}

/// Copies the portal's rows into snapshot `snapshot`'s mirrors.
pub fn take_snapshot_sql(portal: PortalId, snapshot: i64) -> Vec<String> {
    portal_tables()
        .map(|t| {
            let cols = sql::columns(t);
            format!(
                "INSERT INTO {} (snapshot_id, {cols}) SELECT {snapshot}, {cols} FROM {} WHERE {}",
                snapshot_table(t),
                t.name(),
                belongs(t, portal)
            )
        })
        .collect()
}

/// Replaces the portal's rows with snapshot `snapshot`'s, and makes its value index again
/// from the records restored (`values`: how the backend lists a record's values).
pub fn restore_snapshot_sql(
    portal: PortalId,
    snapshot: i64,
    values: &crate::value_index::Values,
) -> Vec<String> {
    let mut out = clear_portal_sql(portal);
    out.extend(portal_tables().map(|t| {
        let cols = sql::columns(t);
        format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {} WHERE snapshot_id = {snapshot}",
            t.name(),
            snapshot_table(t)
        )
    }));
    out.extend(crate::value_index::rebuild_sql(values, portal));
    out
}

/// A reindex of `portal`, as three statement lists run in order in one transaction: the
/// rows they change are the index rows removed, then the rows written; the third voids
/// the portal's counted searches (a count may have been taken over the stale index). Only
/// the value index's own two builders are named here, so a table added to them is
/// reindexed too.
pub fn reindex_sql(portal: PortalId, values: &crate::value_index::Values) -> [Vec<String>; 3] {
    [
        crate::value_index::clear_portal_sql(portal),
        crate::value_index::rebuild_sql(values, portal),
        vec![crate::totals::bump_portal_sql(portal)],
    ]
}

/// Drops snapshot `snapshot`'s rows (its `portal_snapshots` row is the caller's).
pub fn drop_snapshot_sql(snapshot: i64) -> Vec<String> {
    portal_tables()
        .map(|t| {
            format!(
                "DELETE FROM {} WHERE snapshot_id = {snapshot}",
                snapshot_table(t)
            )
        })
        .collect()
}

/// The snapshot mirrors, for a migration (`{{SNAPSHOT_TABLES}}`): each table's columns
/// with their types, no rows, after a `snapshot_id`, indexed by it. The same text serves
/// SQLite and PostgreSQL.
pub fn create_snapshot_tables_sql() -> String {
    portal_tables()
        .filter(|t| !MIRRORED_LATER.contains(t))
        .map(create_snapshot_table_sql)
        .collect()
}

/// Portal tables created after the snapshots migration. `{{SNAPSHOT_TABLES}}` cannot mirror
/// a table that does not exist yet when it runs, so each of these has its mirror made by
/// its own migration, with `{{SNAPSHOT_TABLE <name>}}` after its `CREATE TABLE`.
const MIRRORED_LATER: &[Table] = &[Table::PortalClocks];

/// One table's snapshot mirror: its columns with their types, no rows, after a
/// `snapshot_id`, indexed by it.
fn create_snapshot_table_sql(t: Table) -> String {
    let mirror = snapshot_table(t);
    format!(
        "CREATE TABLE {mirror} AS SELECT CAST(0 AS BIGINT) AS snapshot_id, {} FROM {} WHERE 1 = 0;\n\
         CREATE INDEX {mirror}_by_snapshot ON {mirror} (snapshot_id);\n",
        sql::columns(t),
        t.name()
    )
}

/// Fills in a migration's `{{SNAPSHOT_TABLES}}` and `{{SNAPSHOT_TABLE <name>}}`s.
pub fn fill_in_migration(sql: &str) -> String {
    let mut out = sql.replace("{{SNAPSHOT_TABLES}}", &create_snapshot_tables_sql());
    for t in MIRRORED_LATER {
        let marker = format!("{{{{SNAPSHOT_TABLE {}}}}}", t.name());
        out = out.replace(&marker, &create_snapshot_table_sql(*t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_secrets_are_not_api_tokens_and_hash_apart() {
        let s = new_admin_secret();
        assert!(s.starts_with("spoke-admin-") && s.len() == 12 + 64, "{s}");
        assert_ne!(new_admin_secret(), s);
        assert_ne!(admin_hash(&s), crate::tokens::hash(&s));
        assert!(admin_matches(&s, &admin_hash(&s)));
        assert!(!admin_matches("spoke-admin-x", &admin_hash(&s)));
        assert!(!admin_matches(&s, "short"));
    }

    #[test]
    fn every_data_table_is_a_portal_table_and_history_follows_its_records() {
        let tables: Vec<Table> = portal_tables().collect();
        assert_eq!(tables.len(), Table::ALL.len() - 12);
        let clear = clear_portal_sql(PortalId(7));
        let history = clear
            .iter()
            .position(|s| s.starts_with("DELETE FROM property_history"))
            .expect("history");
        let objects = clear
            .iter()
            .position(|s| s.starts_with("DELETE FROM objects"))
            .expect("objects");
        assert!(history < objects, "history names records: delete it first");
        // Every table without its own portal column is named here, or the snapshot would
        // miss its rows.
        for t in tables {
            assert!(
                t == Table::PropertyHistory || t.columns().iter().any(|c| c.name == "portal_id"),
                "{t} has no portal_id: say in `belongs` which rows are a portal's"
            );
        }
    }
}
