//! The value index on SQLite (`spoke_store::value_index`): the rows a write changes, one
//! cached statement per row, in the write's transaction, for the properties listed as
//! indexed; and the making of a property's rows on its first search.

use std::collections::HashSet;

use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::value_index::{self, Changes, Rows, Values};

/// How SQLite lists a record's values, for rebuilding a portal's rows.
pub(crate) const VALUES: Values = Values {
    each: "json_each(o.properties) j",
    strings: "j.type = 'text'",
    name: "j.key",
    value: "j.value",
    prefix: |x, n| format!("substr({x}, 1, {n})"),
    real: |x| format!("CAST({x} AS REAL)"),
};

/// The properties of a type listed as indexed, read in the caller's transaction (one
/// writer at a time: no indexing can run between this read and the caller's commit).
pub(crate) fn listed(
    conn: &Connection,
    portal: PortalId,
    object_type: &str,
) -> rusqlite::Result<HashSet<String>> {
    conn.prepare_cached(
        "SELECT property FROM search_indexed WHERE portal_id = ?1 AND object_type = ?2",
    )?
    .query_map(params![portal.0, object_type], |r| r.get(0))?
    .collect()
}

/// Lists `properties` of the type as indexed and makes their rows, those not listed yet,
/// in the caller's write transaction (`value_index::Indexing`).
pub(crate) fn index_properties(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    properties: &[String],
) -> rusqlite::Result<()> {
    for property in properties {
        let indexing = value_index::Indexing::new(portal, object_type, property);
        if tx.execute(&indexing.list, [])? == 0 {
            continue;
        }
        for sql in &indexing.clear {
            tx.execute(sql, [])?;
        }
        make_rows(tx, portal, object_type, property, |rows| rows)?;
    }
    Ok(())
}

/// Makes the word rows of every listed property of the portal, after a restore's or a
/// reindex's SQL made its text and number rows (`value_index::rebuild_sql`). Returns how
/// many it wrote.
pub(crate) fn rebuild_words(tx: &Connection, portal: PortalId) -> rusqlite::Result<u64> {
    let listed: Vec<(String, String)> = tx
        .prepare_cached("SELECT object_type, property FROM search_indexed WHERE portal_id = ?1")?
        .query_map([portal.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut written = 0;
    for (object_type, property) in listed {
        written += make_rows(tx, portal, &object_type, &property, |rows| Rows {
            words: rows.words,
            ..Rows::default()
        })?;
    }
    Ok(written)
}

/// Reads the type's values of `property`, record chunk by record chunk, and inserts the
/// rows `keep` keeps of those a write of them makes (`value_index::property_rows`).
fn make_rows(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    property: &str,
    keep: impl Fn(Rows) -> Rows,
) -> rusqlite::Result<u64> {
    let path = format!("$.\"{property}\"");
    let mut read = tx.prepare_cached(
        "SELECT id, json_extract(properties, ?4) FROM objects
         WHERE portal_id = ?1 AND object_type = ?2 AND id > ?3
         AND json_type(properties, ?4) = 'text' ORDER BY id LIMIT ?5",
    )?;
    let (mut after, mut written) = (0, 0);
    loop {
        let values = read
            .query_map(
                params![
                    portal.0,
                    object_type,
                    after,
                    path,
                    value_index::INDEXING_CHUNK
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let Some(&(last, _)) = values.last() else {
            return Ok(written);
        };
        after = last;
        let rows = keep(value_index::property_rows(property, values));
        written += (rows.text.len() + rows.numbers.len() + rows.words.len()) as u64;
        insert(tx, portal, object_type, &rows)?;
    }
}

/// Deletes then inserts the rows `changes` makes of the listed properties (it is given
/// the list, and runs only when something is listed), so a key may move between records
/// of one batch.
pub(crate) fn apply(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    changes: impl FnOnce(&dyn Fn(&str) -> bool) -> Changes,
) -> rusqlite::Result<()> {
    let indexed = listed(tx, portal, object_type)?;
    if indexed.is_empty() {
        return Ok(());
    }
    let changes = changes(&|name| indexed.contains(name));
    delete(tx, portal, object_type, &changes.delete)?;
    insert(tx, portal, object_type, &changes.insert)
}

fn delete(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
) -> rusqlite::Result<()> {
    for (table, text) in rows.text_keyed() {
        if text.is_empty() {
            continue;
        }
        let mut stmt = tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE portal_id = ?1 AND object_type = ?2
             AND property = ?3 AND key = ?4 AND object_id = ?5"
        ))?;
        for (id, name, key) in text {
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

fn insert(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
) -> rusqlite::Result<()> {
    for (table, text) in rows.text_keyed() {
        if text.is_empty() {
            continue;
        }
        let mut stmt = tx.prepare_cached(&format!(
            "INSERT OR IGNORE INTO {table} (portal_id, object_type, property, key, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5)"
        ))?;
        for (id, name, key) in text {
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
