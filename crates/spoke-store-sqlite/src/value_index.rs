//! The value index on SQLite (`spoke_store::value_index`): the rows a write changes, one
//! cached statement per row, in the write's transaction, for the properties listed as
//! indexed; and the making of a property's rows on its first search.

use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::value_index::{self, Changes, Listed, Part, Rows, Values};

/// The records an indexing step reads on SQLite: a step of 20k takes tens of milliseconds
/// on the one writer (BENCHMARKS.md, "Indexing in steps"), and each step is a commit of its
/// own, so smaller steps would add commits without shortening a wait that matters.
const INDEXING_CHUNK: i64 = 20_000;

/// How SQLite lists a record's values, for rebuilding a portal's rows.
pub(crate) const VALUES: Values = Values {
    each: "json_each(o.properties) j",
    strings: "j.type = 'text'",
    name: "j.key",
    value: "j.value",
    prefix: |x, n| format!("substr({x}, 1, {n})"),
    real: |x| format!("CAST({x} AS REAL)"),
};

/// The properties of a type listed as indexed, complete or not, read in the caller's
/// transaction (one writer at a time: no indexing step can run between this read and the
/// caller's commit).
pub(crate) fn listed(
    conn: &Connection,
    portal: PortalId,
    object_type: &str,
) -> rusqlite::Result<Listed> {
    let mut listed = Listed::default();
    let mut stmt = conn.prepare_cached(
        "SELECT property, part FROM search_indexed WHERE portal_id = ?1 AND object_type = ?2",
    )?;
    let mut rows = stmt.query(params![portal.0, object_type])?;
    while let Some(r) = rows.next()? {
        let part: String = r.get(1)?;
        // A part this build does not know is an index it does not keep.
        if let Some(part) = Part::from_name(&part) {
            listed.insert(r.get(0)?, part);
        }
    }
    Ok(listed)
}

/// One step of indexing these parts of the type's properties (`value_index::Indexing`), in
/// the caller's write transaction: lists those not listed yet, and makes the rows of the
/// next chunk of records of the first one not complete. Returns whether all are complete.
pub(crate) fn index_step(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    listings: &[(String, Part)],
) -> rusqlite::Result<bool> {
    for (property, part) in listings {
        let indexing = value_index::Indexing::new(portal, object_type, property, *part);
        if tx.execute(&indexing.list, [])? > 0 {
            for sql in &indexing.clear {
                tx.execute(sql, [])?;
            }
        }
        let pending: Option<i64> = tx.query_row(&indexing.pending, [], |r| r.get(0))?;
        let Some(after) = pending else { continue };
        let (next, _) = make_chunk(tx, portal, object_type, property, *part, after)?;
        tx.execute(&indexing.advance(next), [])?;
        return Ok(false);
    }
    Ok(true)
}

/// Makes the word rows of every property of the portal whose words are listed, after a
/// restore's or a reindex's SQL made the rows of listed values (`value_index::rebuild_sql`),
/// and marks every listing complete. Returns how many rows it wrote.
pub(crate) fn rebuild_words(tx: &Connection, portal: PortalId) -> rusqlite::Result<u64> {
    let listed: Vec<(String, String)> = tx
        .prepare_cached(
            "SELECT object_type, property FROM search_indexed WHERE portal_id = ?1
             AND part = 'words'",
        )?
        .query_map([portal.0], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut written = 0;
    for (object_type, property) in listed {
        let mut after = 0;
        loop {
            let (next, rows) = make_chunk(tx, portal, &object_type, &property, Part::Words, after)?;
            written += rows;
            match next {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    tx.execute(&value_index::complete_portal_sql(portal), [])?;
    Ok(written)
}

/// Reads the values of `property` of the next chunk of the type's records after `after`
/// (`value_index::indexing_chunk`), and inserts the rows of `part` a write of them makes
/// (`value_index::property_rows`), ignoring rows already there. Returns where the next
/// chunk starts (`value_index::step_end`) and how many rows it inserted.
fn make_chunk(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    property: &str,
    part: Part,
    after: i64,
) -> rusqlite::Result<(Option<i64>, u64)> {
    let chunk = value_index::indexing_chunk(INDEXING_CHUNK);
    let path = format!("$.\"{property}\"");
    let values = tx
        .prepare_cached(
            "SELECT id, json_extract(properties, ?4) FROM objects
             WHERE portal_id = ?1 AND object_type = ?2 AND id > ?3
             AND json_type(properties, ?4) = 'text' ORDER BY id LIMIT ?5",
        )?
        .query_map(params![portal.0, object_type, after, path, chunk], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let (read, last) = (values.len(), values.last().map_or(after, |v| v.0));
    let rows = value_index::property_rows(property, part, values);
    let written = (rows.text.len() + rows.numbers.len() + rows.words.len()) as u64;
    insert(tx, portal, object_type, &rows)?;
    Ok((value_index::step_end(read, chunk, last), written))
}

/// Deletes then inserts the rows `changes` makes of the listed properties (it is given
/// the list, and runs only when something is listed), so a key may move between records
/// of one batch.
pub(crate) fn apply(
    tx: &Connection,
    portal: PortalId,
    object_type: &str,
    changes: impl FnOnce(&Listed) -> Changes,
) -> rusqlite::Result<()> {
    let listed = listed(tx, portal, object_type)?;
    if listed.is_empty() {
        return Ok(());
    }
    let changes = changes(&listed);
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
