//! Whole-table export and import (`spoke copy`): keyset pages in primary key order, and
//! upserts that leave identical rows alone.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};
use spoke_core::PortalId;
use spoke_store::transfer::{
    AssociationLabelRow, AssociationRow, HistoryRow, KeyPart, ObjectRow, PortalRow,
    PropertyGroupRow, PropertyRow, TokenRow, UniqueValueRow,
};
use spoke_store::{RowKey, Rows, StoreResult, Table, TransferStore};

use crate::SqliteStore;

/// A table's columns (in the order rows are read and written) and its primary key.
struct Spec {
    columns: &'static [&'static str],
    key: &'static [&'static str],
}

fn spec(table: Table) -> Spec {
    let (columns, key): (&[&str], &[&str]) = match table {
        Table::Portals => (&["id", "created_at"], &["id"]),
        Table::Tokens => (
            &[
                "id",
                "portal_id",
                "token_hash",
                "prefix",
                "scopes",
                "created_at",
                "revoked_at",
            ],
            &["id"],
        ),
        Table::PropertyGroups => (
            &[
                "portal_id",
                "object_type",
                "name",
                "label",
                "display_order",
                "archived",
            ],
            &["portal_id", "object_type", "name"],
        ),
        Table::Properties => (
            &["portal_id", "object_type", "name", "definition", "archived"],
            &["portal_id", "object_type", "name"],
        ),
        Table::Objects => (
            &[
                "id",
                "portal_id",
                "object_type",
                "properties",
                "version",
                "created_at",
                "updated_at",
                "archived_at",
            ],
            &["id"],
        ),
        Table::PropertyHistory => (
            &[
                "object_id",
                "name",
                "version",
                "value",
                "timestamp",
                "source_type",
                "source_id",
            ],
            &["object_id", "name", "version"],
        ),
        Table::UniqueValues => (
            &["portal_id", "object_type", "property", "value", "object_id"],
            &["portal_id", "object_type", "property", "value"],
        ),
        Table::AssociationLabels => (
            &[
                "portal_id",
                "from_type",
                "to_type",
                "type_id",
                "label",
                "name",
                "inverse_type_id",
            ],
            &["portal_id", "from_type", "to_type", "type_id"],
        ),
        Table::Associations => (
            &[
                "portal_id",
                "from_type",
                "from_id",
                "to_type",
                "to_id",
                "category",
                "type_id",
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

fn select_sql(table: Table, after: bool) -> String {
    let s = spec(table);
    let key = s.key.join(", ");
    let filter = if after {
        let marks = vec!["?"; s.key.len()].join(", ");
        format!(" WHERE ({key}) > ({marks})")
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {key} LIMIT ?",
        s.columns.join(", "),
        table.name()
    )
}

/// `INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE something differs`, so an identical
/// row is neither rewritten nor counted as a change.
fn upsert_sql(table: Table) -> String {
    let s = spec(table);
    let name = table.name();
    let marks = vec!["?"; s.columns.len()].join(", ");
    let rest: Vec<&str> = s
        .columns
        .iter()
        .copied()
        .filter(|c| !s.key.contains(c))
        .collect();
    let action = if rest.is_empty() {
        "NOTHING".to_owned()
    } else {
        let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
        let differs: Vec<String> = rest
            .iter()
            .map(|c| format!("{name}.{c} IS NOT excluded.{c}"))
            .collect();
        format!(
            "UPDATE SET {} WHERE {}",
            set.join(", "),
            differs.join(" OR ")
        )
    };
    format!(
        "INSERT INTO {name} ({}) VALUES ({marks}) ON CONFLICT ({}) DO {action}",
        s.columns.join(", "),
        s.key.join(", ")
    )
}

fn data_error(col: usize, e: serde_json::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
}

fn to_text(json: serde_json::Result<String>) -> rusqlite::Result<String> {
    json.map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

fn export(
    conn: &Connection,
    table: Table,
    after: Option<&RowKey>,
    limit: usize,
) -> rusqlite::Result<Rows> {
    let mut args: Vec<Value> = after
        .map(|k| {
            k.0.iter()
                .map(|p| match p {
                    KeyPart::Int(i) => Value::Integer(*i),
                    KeyPart::Text(t) => Value::Text(t.clone()),
                })
                .collect()
        })
        .unwrap_or_default();
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&select_sql(table, after.is_some()))?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut out = Rows::empty(table);
    while let Some(r) = rows.next()? {
        match &mut out {
            Rows::Portals(v) => v.push(PortalRow {
                id: PortalId(r.get(0)?),
                created_at: r.get(1)?,
            }),
            Rows::Tokens(v) => v.push(TokenRow {
                id: r.get(0)?,
                portal: PortalId(r.get(1)?),
                hash: r.get(2)?,
                prefix: r.get(3)?,
                scopes: r.get(4)?,
                created_at: r.get(5)?,
                revoked_at: r.get(6)?,
            }),
            Rows::PropertyGroups(v) => v.push(PropertyGroupRow {
                portal: PortalId(r.get(0)?),
                object_type: r.get(1)?,
                name: r.get(2)?,
                label: r.get(3)?,
                display_order: r.get(4)?,
                archived: r.get(5)?,
            }),
            Rows::Properties(v) => {
                let json: String = r.get(3)?;
                v.push(PropertyRow {
                    portal: PortalId(r.get(0)?),
                    object_type: r.get(1)?,
                    name: r.get(2)?,
                    definition: serde_json::from_str(&json).map_err(|e| data_error(3, e))?,
                    archived: r.get(4)?,
                });
            }
            Rows::Objects(v) => {
                let json: String = r.get(3)?;
                let properties: BTreeMap<String, String> =
                    serde_json::from_str(&json).map_err(|e| data_error(3, e))?;
                v.push(ObjectRow {
                    id: r.get(0)?,
                    portal: PortalId(r.get(1)?),
                    object_type: r.get(2)?,
                    properties,
                    version: r.get(4)?,
                    created_at: r.get(5)?,
                    updated_at: r.get(6)?,
                    archived_at: r.get(7)?,
                });
            }
            Rows::PropertyHistory(v) => v.push(HistoryRow {
                object_id: r.get(0)?,
                name: r.get(1)?,
                version: r.get(2)?,
                value: r.get(3)?,
                timestamp: r.get(4)?,
                source_type: r.get(5)?,
                source_id: r.get(6)?,
            }),
            Rows::UniqueValues(v) => v.push(UniqueValueRow {
                portal: PortalId(r.get(0)?),
                object_type: r.get(1)?,
                property: r.get(2)?,
                value: r.get(3)?,
                object_id: r.get(4)?,
            }),
            Rows::AssociationLabels(v) => v.push(AssociationLabelRow {
                portal: PortalId(r.get(0)?),
                from_type: r.get(1)?,
                to_type: r.get(2)?,
                type_id: r.get(3)?,
                label: r.get(4)?,
                name: r.get(5)?,
                inverse_type_id: r.get(6)?,
            }),
            Rows::Associations(v) => v.push(AssociationRow {
                portal: PortalId(r.get(0)?),
                from_type: r.get(1)?,
                from_id: r.get(2)?,
                to_type: r.get(3)?,
                to_id: r.get(4)?,
                category: r.get(5)?,
                type_id: r.get(6)?,
            }),
        }
    }
    Ok(out)
}

fn import(conn: &mut Connection, rows: &Rows) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut changed = 0usize;
    {
        let mut stmt = tx.prepare_cached(&upsert_sql(rows.table()))?;
        match rows {
            Rows::Portals(v) => {
                for r in v {
                    changed += stmt.execute(params![r.id.0, r.created_at])?;
                }
            }
            Rows::Tokens(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.id,
                        r.portal.0,
                        r.hash,
                        r.prefix,
                        r.scopes,
                        r.created_at,
                        r.revoked_at
                    ])?;
                }
            }
            Rows::PropertyGroups(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.portal.0,
                        r.object_type,
                        r.name,
                        r.label,
                        r.display_order,
                        r.archived
                    ])?;
                }
            }
            Rows::Properties(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.portal.0,
                        r.object_type,
                        r.name,
                        to_text(serde_json::to_string(&r.definition))?,
                        r.archived
                    ])?;
                }
            }
            Rows::Objects(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.id,
                        r.portal.0,
                        r.object_type,
                        to_text(serde_json::to_string(&r.properties))?,
                        r.version,
                        r.created_at,
                        r.updated_at,
                        r.archived_at
                    ])?;
                }
            }
            Rows::PropertyHistory(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.object_id,
                        r.name,
                        r.version,
                        r.value,
                        r.timestamp,
                        r.source_type,
                        r.source_id
                    ])?;
                }
            }
            Rows::UniqueValues(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.portal.0,
                        r.object_type,
                        r.property,
                        r.value,
                        r.object_id
                    ])?;
                }
            }
            Rows::AssociationLabels(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.portal.0,
                        r.from_type,
                        r.to_type,
                        r.type_id,
                        r.label,
                        r.name,
                        r.inverse_type_id
                    ])?;
                }
            }
            Rows::Associations(v) => {
                for r in v {
                    changed += stmt.execute(params![
                        r.portal.0,
                        r.from_type,
                        r.from_id,
                        r.to_type,
                        r.to_id,
                        r.category,
                        r.type_id
                    ])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(changed as u64)
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
    async fn export_rows(
        &self,
        table: Table,
        after: Option<&RowKey>,
        limit: usize,
    ) -> StoreResult<Rows> {
        let after = after.cloned();
        self.read(move |conn| export(conn, table, after.as_ref(), limit))
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
            conn.query_row(&format!("SELECT COUNT(*) FROM {}", table.name()), [], |r| {
                r.get::<_, i64>(0)
            })
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
    fn sql_for_a_composite_key() {
        assert_eq!(
            select_sql(Table::PropertyHistory, true),
            "SELECT object_id, name, version, value, timestamp, source_type, source_id \
             FROM property_history WHERE (object_id, name, version) > (?, ?, ?) \
             ORDER BY object_id, name, version LIMIT ?"
        );
        assert!(upsert_sql(Table::Associations).ends_with("DO NOTHING"));
        assert!(upsert_sql(Table::Portals).contains(
            "DO UPDATE SET created_at = excluded.created_at \
             WHERE portals.created_at IS NOT excluded.created_at"
        ));
    }
}
