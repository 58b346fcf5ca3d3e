//! Search totals on SQLite: raising a type's write generation inside a write transaction,
//! and a search's count served from [`spoke_store::totals::CountCache`] under the
//! generation read in the search's own read transaction.

use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::sql_search::Compiled;
use spoke_store::totals::{self, CountCache, CountKey};

use crate::search::Sqlite;

/// Raises (`portal`, `object_type`)'s generation: in the transaction that changed its
/// records, before it commits.
pub(crate) fn bump(tx: &Connection, portal: PortalId, object_type: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(&totals::bump_sql(&Sqlite))?
        .execute(params![portal.0, object_type, totals::shard()])?;
    Ok(())
}

/// The installation's generation (portal 0): raised by an import, which may write any
/// portal's records.
pub(crate) fn bump_all(tx: &Connection) -> rusqlite::Result<()> {
    bump(tx, PortalId(0), totals::ALL_TYPES)
}

/// The search's total, from the cache when it was counted under the generation `conn`'s
/// read transaction sees, else counted (and kept) now.
pub(crate) fn total(
    conn: &Connection,
    counts: &CountCache,
    portal: PortalId,
    object_type: &str,
    cacheable: bool,
    compiled: &Compiled,
) -> rusqlite::Result<u64> {
    let count = |conn: &Connection| -> rusqlite::Result<u64> {
        let n: i64 = conn
            .prepare(&compiled.count.text)?
            .query_row(crate::search::params(&compiled.count), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    };
    if !cacheable {
        return count(conn);
    }
    let generation: i64 = conn
        .prepare_cached(&totals::generation_sql(&Sqlite))?
        .query_row(params![portal.0, object_type], |r| r.get(0))?;
    let key = CountKey::new(portal, object_type, &compiled.count);
    if let Some(n) = counts.get(&key, generation) {
        return Ok(n);
    }
    let n = count(conn)?;
    counts.put(key, generation, n);
    Ok(n)
}
