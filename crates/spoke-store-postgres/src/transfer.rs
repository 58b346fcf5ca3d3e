//! Whole-table export and import (`spoke copy`), generic over the tables declared in
//! `spoke_store::transfer`: keyset pages in primary key order, and upserts that leave
//! identical rows alone. What is PostgreSQL's own: `$N` placeholders, the SQL type of each
//! column kind, and feeding a chunk to one statement as one typed array per column
//! (`INSERT ... SELECT * FROM unnest(arrays)`), one round trip per chunk whatever its size.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use spoke_core::PortalId;
use spoke_store::transfer::{sql, Column, ColumnType, Value};
use spoke_store::value_index::{self, Changes};
use spoke_store::{RowKey, Rows, StoreResult, Table, TransferStore};
use tokio_postgres::types::ToSql;

use crate::{db, into_store, Error, PostgresStore};

fn mark(i: usize) -> String {
    format!("${i}")
}

fn pg_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Int => "BIGINT",
        ColumnType::Int32 => "INTEGER",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Text | ColumnType::Json => "TEXT",
    }
}

fn upsert_sql(table: Table) -> String {
    let arrays: Vec<String> = table
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}::{}[]", mark(i + 1), pg_type(c.ty)))
        .collect();
    sql::upsert(
        table,
        &format!("SELECT * FROM unnest({})", arrays.join(", ")),
    )
}

type Param<'a> = Box<dyn ToSql + Sync + Send + 'a>;

/// A key's value: key columns are BIGINT or TEXT (the declaration's tests hold that).
fn key_param(v: &Value) -> Param<'_> {
    match v {
        Value::Int(i) => Box::new(*i),
        Value::Text(t) => Box::new(t.as_str()),
        Value::Bool(b) => Box::new(*b),
        Value::Null => Box::new(None::<i64>),
    }
}

/// One column of a chunk, already checked to fit it, as an array of the column's SQL type.
fn array<'a>(column: &Column, values: impl Iterator<Item = &'a Value>) -> Param<'a> {
    fn of<'a, T: ToSql + Sync + Send + 'a>(
        values: impl Iterator<Item = &'a Value>,
        get: impl Fn(&'a Value) -> Option<T>,
    ) -> Param<'a> {
        Box::new(values.map(get).collect::<Vec<Option<T>>>())
    }
    match column.ty {
        ColumnType::Int => of(values, |v| match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }),
        ColumnType::Int32 => of(values, |v| match v {
            Value::Int(i) => i32::try_from(*i).ok(),
            _ => None,
        }),
        ColumnType::Bool => of(values, |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        }),
        ColumnType::Text | ColumnType::Json => of(values, |v| match v {
            Value::Text(t) => Some(t.as_str()),
            _ => None,
        }),
    }
}

fn read(row: &tokio_postgres::Row, i: usize, column: &Column) -> Result<Value, Error> {
    let value = match column.ty {
        ColumnType::Int => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        ColumnType::Int32 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|n| Value::Int(n.into())),
        ColumnType::Bool => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
        ColumnType::Text | ColumnType::Json => {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        }
    };
    Ok(value.unwrap_or(Value::Null))
}

fn refs<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn mismatch(e: spoke_store::transfer::Mismatch) -> Error {
    Error::Data(e.to_string())
}

async fn export(
    store: &PostgresStore,
    table: Table,
    after: Option<&RowKey>,
    limit: usize,
) -> Result<Rows, Error> {
    let mut params: Vec<Param<'_>> = after
        .map(|key| key.0.iter().map(key_param).collect())
        .unwrap_or_default();
    params.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
    let client = store.client().await?;
    let rows = db::query(
        &client,
        &sql::select(table, after.is_some(), mark),
        &refs(&params),
    )
    .await?;
    let mut out = Rows::with_capacity(table, rows.len());
    for r in &rows {
        out.push_row(|i, column| read(r, i, column))?;
    }
    Ok(out)
}

async fn import(store: &PostgresStore, rows: &Rows) -> Result<u64, Error> {
    rows.check().map_err(mismatch)?;
    let params: Vec<Param<'_>> = rows
        .table()
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| array(column, rows.column(i)))
        .collect();
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    // A record's value index rows follow its values (`value_index`): its values before
    // the upsert are read first.
    let records: Vec<_> = if rows.table() == Table::Objects {
        rows.iter().filter_map(value_index::object_row).collect()
    } else {
        Vec::new()
    };
    let mut before = HashMap::new();
    if !records.is_empty() {
        let ids: Vec<i64> = records.iter().map(|r| r.0).collect();
        for r in db::query(
            &tx,
            "SELECT id, portal_id, object_type, properties FROM objects WHERE id = ANY($1)
             ORDER BY id FOR UPDATE",
            &[&ids],
        )
        .await?
        {
            let id: i64 = r.try_get(0)?;
            let json: String = r.try_get(3)?;
            before.insert(
                id,
                (
                    PortalId(r.try_get(1)?),
                    r.try_get::<_, String>(2)?,
                    value_index::values_of(&json),
                ),
            );
        }
    }
    let n = db::execute(&tx, &upsert_sql(rows.table()), &refs(&params)).await?;
    let mut changes: BTreeMap<(PortalId, String), Changes> = BTreeMap::new();
    for (id, portal, ty, after) in &records {
        match before.remove(id) {
            Some((p, t, old)) if p == *portal && t == *ty => {
                changes
                    .entry((p, t))
                    .or_default()
                    .record(*id, Some(&old), Some(after));
            }
            old => {
                if let Some((p, t, old)) = old {
                    changes
                        .entry((p, t))
                        .or_default()
                        .record(*id, Some(&old), None);
                }
                changes
                    .entry((*portal, ty.clone()))
                    .or_default()
                    .record(*id, None, Some(after));
            }
        }
    }
    for ((portal, ty), mut c) in changes {
        let indexed = crate::value_index::listed(&tx, portal, &ty).await?;
        c.retain(&indexed);
        crate::value_index::apply(&tx, portal, &ty, &c, " ON CONFLICT DO NOTHING").await?;
    }
    crate::totals::bump_all(&tx).await?;
    tx.commit().await?;
    Ok(n)
}

/// Identity columns are not moved by explicitly inserted ids: set each sequence to the
/// largest id present, unless it is already further. The table is locked against inserts
/// meanwhile, so a concurrent `nextval` cannot be moved back.
async fn bump_sequences(store: &PostgresStore) -> Result<(), Error> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    for table in [
        "objects",
        "tokens",
        "oauth_apps",
        "webhook_subscriptions",
        "journal_subscriptions",
        "journal_filters",
    ] {
        tx.batch_execute(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
            .await?;
        tx.execute(
            &format!(
                "SELECT setval(s.seq, GREATEST(m.id, COALESCE(pg_sequence_last_value(s.seq), 0)))
                 FROM (SELECT pg_get_serial_sequence('{table}', 'id')::regclass AS seq) s,
                      (SELECT MAX(id) AS id FROM {table}) m
                 WHERE m.id IS NOT NULL"
            ),
            &[],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait]
impl TransferStore for PostgresStore {
    async fn export_rows(
        &self,
        table: Table,
        after: Option<&RowKey>,
        limit: usize,
    ) -> StoreResult<Rows> {
        export(self, table, after, limit).await.map_err(into_store)
    }

    async fn import_rows(&self, rows: Rows) -> StoreResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        import(self, &rows).await.map_err(into_store)
    }

    async fn count_rows(&self, table: Table) -> StoreResult<u64> {
        async {
            let client = self.client().await?;
            let n: i64 = db::query_one(&client, &sql::count(table), &[])
                .await?
                .try_get(0)?;
            Ok(n.max(0) as u64)
        }
        .await
        .map_err(into_store)
    }

    /// Also refreshes the planner's statistics of every table: a freshly copied table has
    /// none until something runs `ANALYZE`, and plans made without them can read a whole
    /// table where one index probe would do (see `stats.rs`).
    async fn finish_import(&self) -> StoreResult<()> {
        bump_sequences(self).await.map_err(into_store)?;
        crate::stats::analyze_all(self).await.map_err(into_store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_typed_array_per_column() {
        assert_eq!(
            upsert_sql(Table::PropertyGroups),
            "INSERT INTO property_groups (portal_id, object_type, name, label, display_order, \
             archived) SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], \
             $5::INTEGER[], $6::BOOLEAN[]) ON CONFLICT (portal_id, object_type, name) DO UPDATE \
             SET label = excluded.label, display_order = excluded.display_order, \
             archived = excluded.archived WHERE (property_groups.label, \
             property_groups.display_order, property_groups.archived) IS DISTINCT FROM \
             (excluded.label, excluded.display_order, excluded.archived)"
        );
        assert_eq!(
            sql::select(Table::UniqueValues, true, mark),
            "SELECT portal_id, object_type, property, value, object_id FROM unique_values \
             WHERE (portal_id, object_type, property, value) > ($1, $2, $3, $4) \
             ORDER BY portal_id, object_type, property, value LIMIT $5"
        );
    }
}
