//! The value index on SQLite (`spoke_store::value_index`): the rows a write changes, one
//! cached statement per row, in the write's transaction.

use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::value_index::{Changes, Rows, Values};

/// How SQLite lists a record's values, for rebuilding a portal's rows.
pub(crate) const VALUES: Values = Values {
    each: "json_each(o.properties) j",
    strings: "j.type = 'text'",
    name: "j.key",
    value: "j.value",
    prefix: |x, n| format!("substr({x}, 1, {n})"),
    real: |x| format!("CAST({x} AS REAL)"),
};

/// Deletes then inserts, so a key may move between records of one batch.
pub(crate) fn apply(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    changes: &Changes,
) -> rusqlite::Result<()> {
    delete(tx, portal, object_type, &changes.delete)?;
    insert(tx, portal, object_type, &changes.insert)
}

pub(crate) fn delete(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
) -> rusqlite::Result<()> {
    if !rows.text.is_empty() {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM search_text WHERE portal_id = ?1 AND object_type = ?2
             AND property = ?3 AND key = ?4 AND object_id = ?5",
        )?;
        for (id, name, key) in &rows.text {
            stmt.execute(params![portal.0, object_type, name, key, id])?;
        }
    }
    if !rows.numbers.is_empty() {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM search_numbers WHERE portal_id = ?1 AND object_type = ?2
             AND property = ?3 AND key = ?4 AND object_id = ?5",
        )?;
        for (id, name, key) in &rows.numbers {
            stmt.execute(params![portal.0, object_type, name, key, id])?;
        }
    }
    Ok(())
}

pub(crate) fn insert(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
) -> rusqlite::Result<()> {
    if !rows.text.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO search_text (portal_id, object_type, property, key, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (id, name, key) in &rows.text {
            stmt.execute(params![portal.0, object_type, name, key, id])?;
        }
    }
    if !rows.numbers.is_empty() {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO search_numbers (portal_id, object_type, property, key, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (id, name, key) in &rows.numbers {
            stmt.execute(params![portal.0, object_type, name, key, id])?;
        }
    }
    Ok(())
}
