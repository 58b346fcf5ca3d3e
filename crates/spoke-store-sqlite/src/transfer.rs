//! Whole-table export and import (`spoke copy`), generic over the tables declared in
//! `spoke_store::transfer`: keyset pages in primary key order, and upserts that leave
//! identical rows alone, one statement per row inside one transaction per chunk. What is
//! SQLite's own: `?N` placeholders, booleans stored as integers, and `sqlite_sequence`.

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::collections::BTreeMap;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};
use spoke_core::PortalId;
use spoke_store::transfer::{sql, Column, ColumnType, Value};
use spoke_store::value_index::{self, Changes};
use spoke_store::{RowKey, Rows, StoreResult, Table, TransferStore};

use crate::SqliteStore;

fn mark(i: usize) -> String {
    format!("?{i}")
}

fn upsert_sql(table: Table) -> String {
    let marks: Vec<String> = (1..=table.columns().len()).map(mark).collect();
    sql::upsert(table, &format!("VALUES ({})", marks.join(", ")))
}

/// A value bound as SQLite stores it (booleans as 0 and 1, as rusqlite does).
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
            Value::Text(t) => ValueRef::Text(t.as_bytes()),
        }))
    }
}

fn read(row: &rusqlite::Row<'_>, i: usize, column: &Column) -> rusqlite::Result<Value> {
    let value = match column.ty {
        ColumnType::Int => row.get::<_, Option<i64>>(i)?.map(Value::Int),
        ColumnType::Int32 => row.get::<_, Option<i32>>(i)?.map(|n| Value::Int(n.into())),
        ColumnType::Bool => row.get::<_, Option<bool>>(i)?.map(Value::Bool),
        ColumnType::Text | ColumnType::Json => row.get::<_, Option<String>>(i)?.map(Value::Text),
    };
    Ok(value.unwrap_or(Value::Null))
}

fn export(
    conn: &Connection,
    table: Table,
    after: Option<&RowKey>,
    limit: usize,
) -> rusqlite::Result<Rows> {
    let limit_value = Value::Int(i64::try_from(limit).unwrap_or(i64::MAX));
    let args = after
        .map(|k| k.0.as_slice())
        .unwrap_or_default()
        .iter()
        .chain([&limit_value])
        .map(Bind);
    let mut stmt = conn.prepare_cached(&sql::select(table, after.is_some(), mark))?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut out = Rows::with_capacity(table, limit.min(4096));
    while let Some(r) = rows.next()? {
        out.push_row(|i, column| read(r, i, column))?;
    }
    Ok(out)
}

fn import(conn: &mut Connection, rows: &Rows) -> rusqlite::Result<u64> {
    rows.check()
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut changed = 0usize;
    {
        let mut stmt = tx.prepare_cached(&upsert_sql(rows.table()))?;
        for row in rows.iter() {
            // A record's value index rows follow its values (`value_index`).
            let record = (rows.table() == Table::Objects)
                .then(|| value_index::object_row(row))
                .flatten();
            let before = match &record {
                Some((id, ..)) => stored_values(&tx, *id)?,
                None => None,
            };
            changed += stmt.execute(params_from_iter(row.iter().map(Bind)))?;
            if let Some((id, portal, ty, after)) = &record {
                reindex(&tx, *id, before, (*portal, ty, after))?;
            }
        }
    }
    crate::totals::bump_all(&tx)?;
    tx.commit()?;
    Ok(changed as u64)
}

/// A stored record's portal, type and values.
type Stored = (PortalId, String, BTreeMap<String, String>);

fn stored_values(tx: &Connection, id: i64) -> rusqlite::Result<Option<Stored>> {
    tx.query_row(
        "SELECT portal_id, object_type, properties FROM objects WHERE id = ?1",
        [id],
        |r| {
            Ok((
                PortalId(r.get(0)?),
                r.get(1)?,
                value_index::values_of(&r.get::<_, String>(2)?),
            ))
        },
    )
    .optional()
}

/// Moves record `id`'s value index rows from its values `before` to `after`.
fn reindex(
    tx: &Connection,
    id: i64,
    before: Option<Stored>,
    after: (PortalId, &str, &BTreeMap<String, String>),
) -> rusqlite::Result<()> {
    let (portal, ty, values) = after;
    let old = match before {
        Some((p, t, old)) if p == portal && t == ty => Some(old),
        Some((p, t, old)) => {
            // Moved to another portal or type: its rows there go.
            crate::value_index::apply(tx, p, &t, |indexed| {
                let mut gone = Changes::default();
                gone.record_where(id, Some(&old), None, indexed);
                gone
            })?;
            None
        }
        None => None,
    };
    crate::value_index::apply(tx, portal, ty, |indexed| {
        let mut same = Changes::default();
        same.record_where(id, old.as_ref(), Some(values), indexed);
        same
    })
}

/// AUTOINCREMENT keeps the largest id ever used in `sqlite_sequence`; it already moves past
/// explicitly inserted ids, but a database restored by other means may lag, so this
/// raises it to at least the largest id present.
fn bump_sequences(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for table in ["objects", "tokens"] {
        let max: i64 = tx.query_row(
            &format!("SELECT COALESCE(MAX(id), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?;
        let updated = tx.execute(
            "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = ?2",
            params![max, table],
        )?;
        if updated == 0 && max > 0 {
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                params![table, max],
            )?;
        }
    }
    tx.commit()
}

#[async_trait]
impl TransferStore for SqliteStore {
    async fn export_rows(&self, t: Table, after: Option<&RowKey>, n: usize) -> StoreResult<Rows> {
        let after = after.cloned();
        self.read(move |conn| export(conn, t, after.as_ref(), n))
            .await
    }

    async fn import_rows(&self, rows: Rows) -> StoreResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.write(move |conn| import(conn, &rows)).await
    }

    async fn count_rows(&self, table: Table) -> StoreResult<u64> {
        self.read(move |conn| {
            conn.query_row(&sql::count(table), [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        })
        .await
    }

    async fn finish_import(&self) -> StoreResult<()> {
        self.write(bump_sequences).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_placeholder_per_column() {
        assert_eq!(
            upsert_sql(Table::Portals),
            "INSERT INTO portals (id, created_at) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE \
             SET created_at = excluded.created_at \
             WHERE (portals.created_at) IS DISTINCT FROM (excluded.created_at)"
        );
        assert_eq!(
            sql::select(Table::Portals, true, mark),
            "SELECT id, created_at FROM portals WHERE (id) > (?1) ORDER BY id LIMIT ?2"
        );
    }
}
