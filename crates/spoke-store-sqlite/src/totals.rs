//! Search totals on SQLite: raising a type's write generation inside a write transaction,
//! and a search's count served from [`spoke_store::totals::CountCache`] under the
//! generation read in the search's own read transaction.

use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::sql_search::Compiled;
use spoke_store::totals::{self, CountCache, CountKey, Counted};

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

/// The search's total (and, for a page bounded by its matches' ids, their range), from the
/// cache when it was counted under the generation `conn`'s read transaction sees, else
/// counted (and kept) now.
pub(crate) fn total(
    conn: &Connection,
    counts: &CountCache,
    portal: PortalId,
    object_type: &str,
    cacheable: bool,
    compiled: &Compiled,
) -> rusqlite::Result<Counted> {
    let count = |conn: &Connection| -> rusqlite::Result<Counted> {
        let bounded = compiled.id_bounds.is_some();
        conn.prepare(&compiled.count.text)?
            .query_row(crate::search::params(&compiled.count), |r| {
                let ids = if bounded {
                    Some((r.get(1)?, r.get(2)?))
                } else {
                    None
                };
                Ok(Counted::of_columns(r.get(0)?, ids))
            })
    };
    if !cacheable {
        return count(conn);
    }
    let generation: i64 = conn
        .prepare_cached(&totals::generation_sql(&Sqlite))?
        .query_row(params![portal.0, object_type], |r| r.get(0))?;
    let key = CountKey::new(portal, object_type, &compiled.count);
    if let Some(c) = counts.get(&key, generation) {
        return Ok(c);
    }
    let c = count(conn)?;
    counts.put(key, generation, c);
    Ok(c)
}
