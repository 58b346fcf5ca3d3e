//! The value index on PostgreSQL (`spoke_store::value_index`): the rows a write changes,
//! one multi-row statement per table and direction, in the write's transaction, for the
//! properties listed as indexed; and the making of a property's rows on its first search.
//!
//! The list (`search_indexed`) is read by a writer under `ROW EXCLUSIVE`, a mode writers
//! share, and an indexing step (or a restore, or a reindex, which rebuild from it) holds
//! `SHARE ROW EXCLUSIVE`, which excludes writers and itself: a writer either commits before
//! the step reads the records, or reads the list after the property was listed, and keeps
//! its rows itself.

use std::collections::HashSet;

use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::{ObjectId, PortalId};
use spoke_store::value_index::{self, Changes, Listed, Part, Row, Rows, Values};

use crate::{db, Error};

/// The type's listed properties, read under the writers' lock of the list: call it before
/// the transaction's first record read or write, so it waits for an indexing in progress
/// while holding nothing (one lock order: this lock, then rows).
pub(crate) async fn listed<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
) -> Result<Listed, Error> {
    // Sent together; the read runs (and takes its snapshot) after the lock is granted.
    let (locked, listed) = tokio::join!(
        biased;
        c.batch_execute("LOCK TABLE search_indexed IN ROW EXCLUSIVE MODE"),
        read_list(c, portal, object_type)
    );
    locked?;
    listed
}

/// The type's listings, complete or not, as the caller's snapshot sees them, without a
/// lock.
pub(crate) async fn read_list<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
) -> Result<Listed, Error> {
    let mut listed = Listed::default();
    for (property, part) in read_listings(c, portal, object_type, "TRUE").await? {
        listed.insert(property, part);
    }
    Ok(listed)
}

/// The type's complete listings (`value_index::Indexing`) as the caller's snapshot sees
/// them, without a lock.
pub(crate) async fn read_complete<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
) -> Result<HashSet<(String, Part)>, Error> {
    Ok(
        read_listings(c, portal, object_type, "pending_after IS NULL")
            .await?
            .into_iter()
            .collect(),
    )
}

/// The type's listings meeting `condition`; a part this build does not know is an index it
/// does not keep.
async fn read_listings<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    condition: &str,
) -> Result<Vec<(String, Part)>, Error> {
    let rows = db::query(
        c,
        &format!(
            "SELECT property, part FROM search_indexed WHERE portal_id = $1 AND object_type = $2
             AND {condition}"
        ),
        &[&portal.0, &object_type],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let part: String = r.try_get(1)?;
        if let Some(part) = Part::from_name(&part) {
            out.push((r.try_get(0)?, part));
        }
    }
    Ok(out)
}

/// Excludes writers and indexings until the transaction ends. Must be its first statement
/// at REPEATABLE READ: `LOCK` takes no snapshot, so the snapshot taken after it sees
/// everything the lock waited for.
pub(crate) async fn exclude_writers(tx: &Transaction<'_>) -> Result<(), Error> {
    tx.batch_execute("LOCK TABLE search_indexed IN SHARE ROW EXCLUSIVE MODE")
        .await?;
    Ok(())
}

/// One step of indexing these parts of the type's properties (`value_index::Indexing`),
/// writers excluded until the transaction ends: lists those not listed yet, and makes the
/// rows of the next chunk of records of the first one not complete. Returns whether all
/// are complete.
pub(crate) async fn index_step(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
    listings: &[(String, Part)],
) -> Result<bool, Error> {
    exclude_writers(tx).await?;
    for (property, part) in listings {
        let indexing = value_index::Indexing::new(portal, object_type, property, *part);
        // Not `prepare_cached`: each statement names its portal and property.
        if tx.execute(indexing.list.as_str(), &[]).await? > 0 {
            for sql in &indexing.clear {
                tx.execute(sql.as_str(), &[]).await?;
            }
        }
        let pending: Option<ObjectId> = tx
            .query_one(indexing.pending.as_str(), &[])
            .await?
            .try_get(0)?;
        let Some(after) = pending else { continue };
        let (next, _) = make_chunk(tx, portal, object_type, property, *part, after).await?;
        tx.execute(indexing.advance(next).as_str(), &[]).await?;
        return Ok(false);
    }
    Ok(true)
}

/// Makes the word rows of every property of the portal whose words are listed, after a
/// restore's or a reindex's SQL made the rows of listed values (`value_index::rebuild_sql`),
/// and marks every listing complete. Returns how many rows it wrote.
pub(crate) async fn rebuild_words(tx: &Transaction<'_>, portal: PortalId) -> Result<u64, Error> {
    let listed = db::query(
        tx,
        "SELECT object_type, property FROM search_indexed WHERE portal_id = $1
         AND part = 'words'",
        &[&portal.0],
    )
    .await?;
    let mut written = 0;
    for r in &listed {
        let (object_type, property): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let mut after = 0;
        loop {
            let (next, rows) =
                make_chunk(tx, portal, &object_type, &property, Part::Words, after).await?;
            written += rows;
            match next {
                Some(last) => after = last,
                None => break,
            }
        }
    }
    tx.execute(value_index::complete_portal_sql(portal).as_str(), &[])
        .await?;
    Ok(written)
}

/// Reads the values of `property` of the next chunk of the type's records after `after`
/// (`value_index::indexing_chunk`), and inserts the rows of `part` a write of them makes
/// (`value_index::property_rows`), ignoring rows already there. Returns where the next
/// chunk starts (`value_index::step_end`) and how many rows it inserted.
async fn make_chunk(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
    property: &str,
    part: Part,
    after: ObjectId,
) -> Result<(Option<ObjectId>, u64), Error> {
    let chunk = value_index::indexing_chunk(INDEXING_CHUNK);
    // Each record's JSON parsed once (the subquery stays one: OFFSET 0), its records read
    // in id order until the chunk is full.
    let rows = db::query(
        tx,
        "SELECT id, v #>> '{}' FROM (SELECT id, properties::json -> $4 AS v FROM objects
             WHERE portal_id = $1 AND object_type = $2 AND id > $3 ORDER BY id OFFSET 0) o
         WHERE json_typeof(v) = 'string' LIMIT $5",
        &[&portal.0, &object_type, &after, &property, &chunk],
    )
    .await?;
    let values = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(ObjectId, String)>, Error>>()?;
    let (read, last) = (values.len(), values.last().map_or(after, |v| v.0));
    let rows = value_index::property_rows(property, part, values);
    let written = (rows.text.len() + rows.numbers.len() + rows.words.len()) as u64;
    insert(tx, portal, object_type, &rows, "ON CONFLICT DO NOTHING").await?;
    Ok((value_index::step_end(read, chunk, last), written))
}

/// The records an indexing step reads on PostgreSQL. A step excludes the writers of every
/// portal (`exclude_writers`), and its first read of records a load just wrote also sets
/// their hint bits: at 20k such a step took up to 1.9 s, a wait for every writer
/// (BENCHMARKS.md, "Indexing in steps"). A step's own cost is a few round trips.
const INDEXING_CHUNK: i64 = 5_000;

/// How PostgreSQL lists a record's values, for rebuilding a portal's rows.
pub(crate) const VALUES: Values = Values {
    each: "json_each(o.properties::json) j",
    strings: "json_typeof(j.value) = 'string'",
    name: "j.key",
    value: "(j.value #>> '{}')",
    prefix: |x, n| format!("left({x}, {n})"),
    real: |x| format!("({x})::DOUBLE PRECISION"),
};

/// The rows as columns for `unnest`.
struct Columns<'a, K> {
    ids: Vec<ObjectId>,
    names: Vec<&'a str>,
    keys: Vec<K>,
}

fn columns<K: Clone>(rows: &[(ObjectId, String, K)]) -> Columns<'_, K> {
    let mut c = Columns {
        ids: Vec::with_capacity(rows.len()),
        names: Vec::with_capacity(rows.len()),
        keys: Vec::with_capacity(rows.len()),
    };
    for (id, name, key) in rows {
        c.ids.push(*id);
        c.names.push(name);
        c.keys.push(key.clone());
    }
    c
}

/// Deletes `changes.delete`, then inserts `changes.insert` (with `on_conflict` appended:
/// a record created in this transaction has no rows yet, and checking for them would cost
/// the create).
pub(crate) async fn apply<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    changes: &Changes,
    on_conflict: &str,
) -> Result<(), Error> {
    delete(c, portal, object_type, &changes.delete).await?;
    insert(c, portal, object_type, &changes.insert, on_conflict).await
}

/// Each row is found by one probe of the table's key and deleted by its `ctid`: a join of
/// the rows with the table may be planned, before it has statistics, as a scan of it (as
/// `unique_values` was, `batch.rs`).
async fn delete<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
) -> Result<(), Error> {
    let sql = |table: &str, ty: &str| {
        format!(
            "DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                 SELECT v.ctid FROM unnest($3::BIGINT[], $4::TEXT[], $5::{ty}[])
                     AS d(object_id, property, key)
                 CROSS JOIN LATERAL (SELECT s.ctid FROM {table} s
                     WHERE s.portal_id = $1 AND s.object_type = $2 AND s.property = d.property
                     AND s.key = d.key AND s.object_id = d.object_id OFFSET 0) v))"
        )
    };
    for (table, text) in rows.text_keyed() {
        if !text.is_empty() {
            let t = columns(text);
            db::execute(
                c,
                &sql(table, "TEXT"),
                &[&portal.0, &object_type, &t.ids, &t.names, &t.keys],
            )
            .await?;
        }
    }
    if !rows.numbers.is_empty() {
        let n = columns(&rows.numbers);
        db::execute(
            c,
            &sql("search_numbers", "FLOAT8"),
            &[&portal.0, &object_type, &n.ids, &n.names, &n.keys],
        )
        .await?;
    }
    Ok(())
}

async fn insert<'a, C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    rows: &'a Rows,
    on_conflict: &str,
) -> Result<(), Error> {
    let sql = |table: &str, ty: &str| {
        format!(
            "INSERT INTO {table} (portal_id, object_type, property, key, object_id)
             SELECT $1::BIGINT, $2::TEXT, d.property, d.key, d.object_id
             FROM unnest($3::BIGINT[], $4::TEXT[], $5::{ty}[]) AS d(object_id, property, key)
             {on_conflict}"
        )
    };
    let text_keyed = |table: &'static str, text: &'a [Row<String>]| {
        let sql = sql(table, "TEXT");
        async move {
            if text.is_empty() {
                return Ok(0);
            }
            let t = columns(text);
            db::execute(
                c,
                &sql,
                &[&portal.0, &object_type, &t.ids, &t.names, &t.keys],
            )
            .await
        }
    };
    let [(text_table, text), (words_table, words)] = rows.text_keyed();
    let text = text_keyed(text_table, text);
    let words = text_keyed(words_table, words);
    let numbers = async {
        if rows.numbers.is_empty() {
            return Ok(0);
        }
        let n = columns(&rows.numbers);
        db::execute(
            c,
            &sql("search_numbers", "FLOAT8"),
            &[&portal.0, &object_type, &n.ids, &n.names, &n.keys],
        )
        .await
    };
    let (a, b, w) = tokio::join!(text, numbers, words);
    a?;
    b?;
    w?;
    Ok(())
}
