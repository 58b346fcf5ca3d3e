//! Whole-table export and import (`spoke copy`). Mirrors `spoke-store-sqlite/src/transfer.rs`:
//! keyset pages in primary key order, and upserts that leave identical rows alone. A chunk
//! is imported with one statement (`INSERT ... SELECT FROM unnest(arrays)`), one round trip
//! per chunk whatever its size.

use std::collections::BTreeMap;

use async_trait::async_trait;
use spoke_core::PortalId;
use spoke_store::transfer::{
    AssociationLabelRow, AssociationRow, HistoryRow, KeyPart, ObjectRow, PortalRow,
    PropertyGroupRow, PropertyRow, TokenRow, UniqueValueRow,
};
use spoke_store::{RowKey, Rows, StoreResult, Table, TransferStore};
use tokio_postgres::types::ToSql;

use crate::{db, into_store, Error, PostgresStore};

/// A table's columns with their SQL types (in the order rows are read and written), and
/// its primary key.
struct Spec {
    columns: &'static [(&'static str, &'static str)],
    key: &'static [&'static str],
}

fn spec(table: Table) -> Spec {
    const B: &str = "BIGINT";
    const T: &str = "TEXT";
    let (columns, key): (&[(&str, &str)], &[&str]) = match table {
        Table::Portals => (&[("id", B), ("created_at", B)], &["id"]),
        Table::Tokens => (
            &[
                ("id", B),
                ("portal_id", B),
                ("token_hash", T),
                ("prefix", T),
                ("scopes", T),
                ("created_at", B),
                ("revoked_at", B),
            ],
            &["id"],
        ),
        Table::PropertyGroups => (
            &[
                ("portal_id", B),
                ("object_type", T),
                ("name", T),
                ("label", T),
                ("display_order", "INTEGER"),
                ("archived", "BOOLEAN"),
            ],
            &["portal_id", "object_type", "name"],
        ),
        Table::Properties => (
            &[
                ("portal_id", B),
                ("object_type", T),
                ("name", T),
                ("definition", T),
                ("archived", "BOOLEAN"),
            ],
            &["portal_id", "object_type", "name"],
        ),
        Table::Objects => (
            &[
                ("id", B),
                ("portal_id", B),
                ("object_type", T),
                ("properties", T),
                ("version", B),
                ("created_at", B),
                ("updated_at", B),
                ("archived_at", B),
            ],
            &["id"],
        ),
        Table::PropertyHistory => (
            &[
                ("object_id", B),
                ("name", T),
                ("version", B),
                ("value", T),
                ("timestamp", B),
                ("source_type", T),
                ("source_id", T),
            ],
            &["object_id", "name", "version"],
        ),
        Table::UniqueValues => (
            &[
                ("portal_id", B),
                ("object_type", T),
                ("property", T),
                ("value", T),
                ("object_id", B),
            ],
            &["portal_id", "object_type", "property", "value"],
        ),
        Table::AssociationLabels => (
            &[
                ("portal_id", B),
                ("from_type", T),
                ("to_type", T),
                ("type_id", B),
                ("label", T),
                ("name", T),
                ("inverse_type_id", B),
            ],
            &["portal_id", "from_type", "to_type", "type_id"],
        ),
        Table::Associations => (
            &[
                ("portal_id", B),
                ("from_type", T),
                ("from_id", B),
                ("to_type", T),
                ("to_id", B),
                ("category", T),
                ("type_id", B),
            ],
            &[
                "portal_id",
                "from_type",
                "from_id",
                "to_type",
                "to_id",
                "category",
                "type_id",
            ],
        ),
    };
    Spec { columns, key }
}

fn column_list(s: &Spec) -> String {
    s.columns
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

fn select_sql(table: Table, after: bool) -> String {
    let s = spec(table);
    let key = s.key.join(", ");
    let (filter, limit) = if after {
        let marks: Vec<String> = (1..=s.key.len()).map(|i| format!("${i}")).collect();
        (
            format!(" WHERE ({key}) > ({})", marks.join(", ")),
            s.key.len() + 1,
        )
    } else {
        (String::new(), 1)
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {key} LIMIT ${limit}",
        column_list(&s),
        table.name()
    )
}

/// `INSERT ... SELECT FROM unnest(one array per column) ON CONFLICT (key) DO UPDATE ...
/// WHERE something differs`, so an identical row is neither rewritten nor counted.
fn upsert_sql(table: Table) -> String {
    let s = spec(table);
    let name = table.name();
    let arrays: Vec<String> = s
        .columns
        .iter()
        .enumerate()
        .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
        .collect();
    let rest: Vec<&str> = s
        .columns
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| !s.key.contains(c))
        .collect();
    let action = if rest.is_empty() {
        "NOTHING".to_owned()
    } else {
        let set: Vec<String> = rest.iter().map(|c| format!("{c} = EXCLUDED.{c}")).collect();
        let mine: Vec<String> = rest.iter().map(|c| format!("{name}.{c}")).collect();
        let theirs: Vec<String> = rest.iter().map(|c| format!("EXCLUDED.{c}")).collect();
        format!(
            "UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
            set.join(", "),
            mine.join(", "),
            theirs.join(", ")
        )
    };
    format!(
        "INSERT INTO {name} ({}) SELECT * FROM unnest({}) ON CONFLICT ({}) DO {action}",
        column_list(&s),
        arrays.join(", "),
        s.key.join(", ")
    )
}

fn json_error(what: &str, e: serde_json::Error) -> Error {
    Error::Data(format!("{what}: {e}"))
}

async fn export(
    store: &PostgresStore,
    table: Table,
    after: Option<&RowKey>,
    limit: usize,
) -> Result<Rows, Error> {
    let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    if let Some(key) = after {
        for part in &key.0 {
            match part {
                KeyPart::Int(i) => params.push(Box::new(*i)),
                KeyPart::Text(t) => params.push(Box::new(t.clone())),
            }
        }
    }
    params.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let client = store.client().await?;
    let rows = db::query(&client, &select_sql(table, after.is_some()), &refs).await?;
    let mut out = Rows::empty(table);
    for r in &rows {
        match &mut out {
            Rows::Portals(v) => v.push(PortalRow {
                id: PortalId(r.try_get(0)?),
                created_at: r.try_get(1)?,
            }),
            Rows::Tokens(v) => v.push(TokenRow {
                id: r.try_get(0)?,
                portal: PortalId(r.try_get(1)?),
                hash: r.try_get(2)?,
                prefix: r.try_get(3)?,
                scopes: r.try_get(4)?,
                created_at: r.try_get(5)?,
                revoked_at: r.try_get(6)?,
            }),
            Rows::PropertyGroups(v) => v.push(PropertyGroupRow {
                portal: PortalId(r.try_get(0)?),
                object_type: r.try_get(1)?,
                name: r.try_get(2)?,
                label: r.try_get(3)?,
                display_order: r.try_get(4)?,
                archived: r.try_get(5)?,
            }),
            Rows::Properties(v) => {
                let json: &str = r.try_get(3)?;
                v.push(PropertyRow {
                    portal: PortalId(r.try_get(0)?),
                    object_type: r.try_get(1)?,
                    name: r.try_get(2)?,
                    definition: serde_json::from_str(json)
                        .map_err(|e| json_error("property definition", e))?,
                    archived: r.try_get(4)?,
                });
            }
            Rows::Objects(v) => {
                let json: &str = r.try_get(3)?;
                let properties: BTreeMap<String, String> = serde_json::from_str(json)
                    .map_err(|e| json_error("properties of a record", e))?;
                v.push(ObjectRow {
                    id: r.try_get(0)?,
                    portal: PortalId(r.try_get(1)?),
                    object_type: r.try_get(2)?,
                    properties,
                    version: r.try_get(4)?,
                    created_at: r.try_get(5)?,
                    updated_at: r.try_get(6)?,
                    archived_at: r.try_get(7)?,
                });
            }
            Rows::PropertyHistory(v) => v.push(HistoryRow {
                object_id: r.try_get(0)?,
                name: r.try_get(1)?,
                version: r.try_get(2)?,
                value: r.try_get(3)?,
                timestamp: r.try_get(4)?,
                source_type: r.try_get(5)?,
                source_id: r.try_get(6)?,
            }),
            Rows::UniqueValues(v) => v.push(UniqueValueRow {
                portal: PortalId(r.try_get(0)?),
                object_type: r.try_get(1)?,
                property: r.try_get(2)?,
                value: r.try_get(3)?,
                object_id: r.try_get(4)?,
            }),
            Rows::AssociationLabels(v) => v.push(AssociationLabelRow {
                portal: PortalId(r.try_get(0)?),
                from_type: r.try_get(1)?,
                to_type: r.try_get(2)?,
                type_id: r.try_get(3)?,
                label: r.try_get(4)?,
                name: r.try_get(5)?,
                inverse_type_id: r.try_get(6)?,
            }),
            Rows::Associations(v) => v.push(AssociationRow {
                portal: PortalId(r.try_get(0)?),
                from_type: r.try_get(1)?,
                from_id: r.try_get(2)?,
                to_type: r.try_get(3)?,
                to_id: r.try_get(4)?,
                category: r.try_get(5)?,
                type_id: r.try_get(6)?,
            }),
        }
    }
    Ok(out)
}

/// One array per column, in [`Spec::columns`] order.
fn columns(rows: &Rows) -> Result<Vec<Box<dyn ToSql + Sync + Send>>, Error> {
    fn col<R, T>(rows: &[R], f: impl Fn(&R) -> T) -> Box<dyn ToSql + Sync + Send>
    where
        T: ToSql + Sync + Send + 'static,
    {
        Box::new(rows.iter().map(f).collect::<Vec<T>>())
    }
    Ok(match rows {
        Rows::Portals(v) => vec![col(v, |r| r.id.0), col(v, |r| r.created_at)],
        Rows::Tokens(v) => vec![
            col(v, |r| r.id),
            col(v, |r| r.portal.0),
            col(v, |r| r.hash.clone()),
            col(v, |r| r.prefix.clone()),
            col(v, |r| r.scopes.clone()),
            col(v, |r| r.created_at),
            col(v, |r| r.revoked_at),
        ],
        Rows::PropertyGroups(v) => vec![
            col(v, |r| r.portal.0),
            col(v, |r| r.object_type.clone()),
            col(v, |r| r.name.clone()),
            col(v, |r| r.label.clone()),
            col(v, |r| r.display_order),
            col(v, |r| r.archived),
        ],
        Rows::Properties(v) => {
            let defs = v
                .iter()
                .map(|r| serde_json::to_string(&r.definition))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| json_error("property definition", e))?;
            vec![
                col(v, |r| r.portal.0),
                col(v, |r| r.object_type.clone()),
                col(v, |r| r.name.clone()),
                Box::new(defs),
                col(v, |r| r.archived),
            ]
        }
        Rows::Objects(v) => {
            let props = v
                .iter()
                .map(|r| serde_json::to_string(&r.properties))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| json_error("properties of a record", e))?;
            vec![
                col(v, |r| r.id),
                col(v, |r| r.portal.0),
                col(v, |r| r.object_type.clone()),
                Box::new(props),
                col(v, |r| r.version),
                col(v, |r| r.created_at),
                col(v, |r| r.updated_at),
                col(v, |r| r.archived_at),
            ]
        }
        Rows::PropertyHistory(v) => vec![
            col(v, |r| r.object_id),
            col(v, |r| r.name.clone()),
            col(v, |r| r.version),
            col(v, |r| r.value.clone()),
            col(v, |r| r.timestamp),
            col(v, |r| r.source_type.clone()),
            col(v, |r| r.source_id.clone()),
        ],
        Rows::UniqueValues(v) => vec![
            col(v, |r| r.portal.0),
            col(v, |r| r.object_type.clone()),
            col(v, |r| r.property.clone()),
            col(v, |r| r.value.clone()),
            col(v, |r| r.object_id),
        ],
        Rows::AssociationLabels(v) => vec![
            col(v, |r| r.portal.0),
            col(v, |r| r.from_type.clone()),
            col(v, |r| r.to_type.clone()),
            col(v, |r| r.type_id),
            col(v, |r| r.label.clone()),
            col(v, |r| r.name.clone()),
            col(v, |r| r.inverse_type_id),
        ],
        Rows::Associations(v) => vec![
            col(v, |r| r.portal.0),
            col(v, |r| r.from_type.clone()),
            col(v, |r| r.from_id),
            col(v, |r| r.to_type.clone()),
            col(v, |r| r.to_id),
            col(v, |r| r.category.clone()),
            col(v, |r| r.type_id),
        ],
    })
}

async fn import(store: &PostgresStore, rows: &Rows) -> Result<u64, Error> {
    let params = columns(rows)?;
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    let n = db::execute(&tx, &upsert_sql(rows.table()), &refs).await?;
    tx.commit().await?;
    Ok(n)
}

/// Identity columns are not moved by explicitly inserted ids: set each sequence to the
/// largest id present, unless it is already further. The table is locked against inserts
/// meanwhile, so a concurrent `nextval` cannot be moved back.
async fn bump_sequences(store: &PostgresStore) -> Result<(), Error> {
    let mut client = store.client().await?;
    let tx = client.transaction().await?;
    for table in ["objects", "tokens"] {
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
            let n: i64 = db::query_one(
                &client,
                &format!("SELECT COUNT(*) FROM {}", table.name()),
                &[],
            )
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
    fn sql_for_a_composite_key() {
        assert_eq!(
            select_sql(Table::UniqueValues, true),
            "SELECT portal_id, object_type, property, value, object_id FROM unique_values \
             WHERE (portal_id, object_type, property, value) > ($1, $2, $3, $4) \
             ORDER BY portal_id, object_type, property, value LIMIT $5"
        );
        assert_eq!(
            select_sql(Table::Portals, false),
            "SELECT id, created_at FROM portals ORDER BY id LIMIT $1"
        );
        assert_eq!(
            upsert_sql(Table::Portals),
            "INSERT INTO portals (id, created_at) SELECT * FROM unnest($1::BIGINT[], \
             $2::BIGINT[]) ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at \
             WHERE (portals.created_at) IS DISTINCT FROM (EXCLUDED.created_at)"
        );
        assert!(upsert_sql(Table::Associations).ends_with("DO NOTHING"));
    }
}
