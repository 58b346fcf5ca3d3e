//! The value index on PostgreSQL (`spoke_store::value_index`): the rows a write changes,
//! one multi-row statement per table and direction, in the write's transaction.

use deadpool_postgres::GenericClient;
use spoke_core::{ObjectId, PortalId};
use spoke_store::value_index::{Changes, Rows, Values};

use crate::{db, Error};

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
    if !rows.text.is_empty() {
        let t = columns(&rows.text);
        db::execute(
            c,
            &sql("search_text", "TEXT"),
            &[&portal.0, &object_type, &t.ids, &t.names, &t.keys],
        )
        .await?;
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

async fn insert<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    rows: &Rows,
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
    let text = async {
        if rows.text.is_empty() {
            return Ok(0);
        }
        let t = columns(&rows.text);
        db::execute(
            c,
            &sql("search_text", "TEXT"),
            &[&portal.0, &object_type, &t.ids, &t.names, &t.keys],
        )
        .await
    };
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
    let (a, b) = tokio::join!(text, numbers);
    a?;
    b?;
    Ok(())
}
