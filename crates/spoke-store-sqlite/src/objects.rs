//! Records, their history and their unique values.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use spoke_core::search::SearchQuery;
use spoke_core::time::Millis;
use spoke_core::{HistoryEntry, ObjectId, ObjectRecord, PortalId, StoredProperties, StoredRecord};
use spoke_store::{
    ItemFailure, ItemResult, NewAssociation, NewObject, ObjectPatch, ObjectStore, ReadKeys,
    ReadOptions, SearchPage, StoreResult, Target, UpsertItem, Upserted, WriteContext,
};

use crate::SqliteStore;

const SELECT_OBJECT: &str =
    "SELECT id, properties, created_at, updated_at, archived_at, version FROM objects";

struct Row {
    record: ObjectRecord,
    version: i64,
}

/// A record from [`SELECT_OBJECT`]'s columns, its values left as stored (reads).
fn row_to_stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRecord> {
    Ok(StoredRecord {
        id: r.get(0)?,
        properties: StoredProperties::from_stored(r.get(1)?),
        created_at: r.get(2)?,
        updated_at: r.get(3)?,
        archived_at: r.get(4)?,
        history: BTreeMap::new(),
    })
}

/// A record with its values decoded, and its version (writes).
fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let record = row_to_stored(r)?.decode().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Row {
        record,
        version: r.get(5)?,
    })
}

fn to_json(props: &BTreeMap<String, String>) -> rusqlite::Result<String> {
    StoredProperties::encode(props)
        .map(StoredProperties::into_string)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A live record by id, within its portal and type.
fn live_by_id(tx: &Connection, ctx: &WriteContext, id: ObjectId) -> rusqlite::Result<Option<Row>> {
    tx.prepare_cached(&format!(
        "{SELECT_OBJECT} WHERE id = ?1 AND portal_id = ?2 AND object_type = ?3 AND archived_at IS NULL"
    ))?
    .query_row(params![id, ctx.portal.0, ctx.object_type], row_to_record)
    .optional()
}

/// The live record holding a unique value, if any.
fn holder_of(
    conn: &Connection,
    portal: PortalId,
    object_type: &str,
    property: &str,
    value: &str,
) -> rusqlite::Result<Option<ObjectId>> {
    conn.prepare_cached(
        "SELECT object_id FROM unique_values
         WHERE portal_id = ?1 AND object_type = ?2 AND property = ?3 AND value = ?4",
    )?
    .query_row(params![portal.0, object_type, property, value], |r| {
        r.get(0)
    })
    .optional()
}

/// The first unique value in `props` already held by a record other than `me`.
fn find_conflict(
    tx: &Connection,
    ctx: &WriteContext,
    props: &BTreeMap<String, String>,
    me: Option<ObjectId>,
) -> rusqlite::Result<Option<ItemFailure>> {
    for property in &ctx.unique_properties {
        let Some(value) = props.get(property).filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Some(existing) = holder_of(tx, ctx.portal, &ctx.object_type, property, value)? {
            if Some(existing) != me {
                return Ok(Some(ItemFailure::Conflict {
                    property: property.clone(),
                    value: value.clone(),
                    existing_id: existing,
                }));
            }
        }
    }
    Ok(None)
}

/// Points the unique index at `id` for every unique property that `changes` touches.
fn index_unique(
    tx: &Connection,
    ctx: &WriteContext,
    id: ObjectId,
    changes: &BTreeMap<String, String>,
) -> rusqlite::Result<()> {
    for property in &ctx.unique_properties {
        let Some(value) = changes.get(property) else {
            continue;
        };
        tx.prepare_cached("DELETE FROM unique_values WHERE object_id = ?1 AND property = ?2")?
            .execute(params![id, property])?;
        if !value.is_empty() {
            tx.prepare_cached(
                "INSERT INTO unique_values (portal_id, object_type, property, value, object_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![ctx.portal.0, ctx.object_type, property, value, id])?;
        }
    }
    Ok(())
}

/// One history row per changed property, from the changes as a JSON object: one statement
/// per record instead of one per property (profiled: a 100-record create ran 1,000 history
/// statements, and each statement's own start and end cost more than its row).
fn write_history(
    tx: &Connection,
    ctx: &WriteContext,
    id: ObjectId,
    version: i64,
    changes_json: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO property_history
         (object_id, name, version, value, timestamp, source_type, source_id)
         SELECT ?1, key, ?3, value, ?4, ?5, ?6 FROM json_each(?2)",
    )?
    .execute(params![
        id,
        changes_json,
        version,
        ctx.now,
        ctx.source.source_type,
        ctx.source.source_id
    ])?;
    Ok(())
}

fn insert_object(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    properties: BTreeMap<String, String>,
    associations: &[NewAssociation],
) -> rusqlite::Result<ItemResult<ObjectRecord>> {
    if let Some(conflict) = find_conflict(tx, ctx, &properties, None)? {
        return Ok(Err(conflict));
    }
    for a in associations {
        if !crate::associations::is_live(tx, ctx.portal, &a.to_type, a.to_id)? {
            return Ok(Err(ItemFailure::AssociationTarget {
                object_type: a.to_type.clone(),
                id: a.to_id,
            }));
        }
    }
    let json = to_json(&properties)?;
    tx.prepare_cached(
        "INSERT INTO objects (portal_id, object_type, properties, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, 1, ?4, ?4)",
    )?
    .execute(params![ctx.portal.0, ctx.object_type, json, ctx.now])?;
    let id = tx.last_insert_rowid();
    index_unique(tx, ctx, id, &properties)?;
    write_history(tx, ctx, id, 1, &json)?;
    for a in associations {
        for t in &a.types {
            crate::associations::write_link(
                tx,
                ctx.portal,
                (&ctx.object_type, id),
                (&a.to_type, a.to_id),
                t,
            )?;
        }
    }
    Ok(Ok(ObjectRecord {
        id,
        properties,
        created_at: ctx.now,
        updated_at: ctx.now,
        archived_at: None,
        history: BTreeMap::new(),
    }))
}

fn apply_patch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    row: Row,
    changes: BTreeMap<String, String>,
) -> rusqlite::Result<ItemResult<ObjectRecord>> {
    let Row {
        mut record,
        version,
    } = row;
    if let Some(conflict) = find_conflict(tx, ctx, &changes, Some(record.id))? {
        return Ok(Err(conflict));
    }
    let changed = record.apply_changes(changes);
    let version = version + 1;
    record.updated_at = ctx.now;
    tx.prepare_cached(
        "UPDATE objects SET properties = ?1, version = ?2, updated_at = ?3 WHERE id = ?4",
    )?
    .execute(params![
        to_json(&record.properties)?,
        version,
        ctx.now,
        record.id
    ])?;
    index_unique(tx, ctx, record.id, &changed)?;
    write_history(tx, ctx, record.id, version, &to_json(&changed)?)?;
    Ok(Ok(record))
}

fn resolve_target(
    tx: &Connection,
    ctx: &WriteContext,
    target: &Target,
) -> rusqlite::Result<Option<Row>> {
    let id = match target {
        Target::Id(id) => *id,
        Target::Unique { property, value } => {
            match holder_of(tx, ctx.portal, &ctx.object_type, property, value)? {
                Some(id) => id,
                None => return Ok(None),
            }
        }
    };
    live_by_id(tx, ctx, id)
}

/// Runs a batch in one immediate transaction. In atomic mode the first conflict rolls the
/// whole batch back; the outcomes still say which item conflicted.
fn run_batch<I, T>(
    conn: &mut Connection,
    ctx: &WriteContext,
    items: Vec<I>,
    mut each: impl FnMut(&Transaction<'_>, I) -> rusqlite::Result<ItemResult<T>>,
) -> rusqlite::Result<Vec<ItemResult<T>>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let result = each(&tx, item)?;
        let conflict = matches!(
            result,
            Err(ItemFailure::Conflict { .. } | ItemFailure::AssociationTarget { .. })
        );
        out.push(result);
        if conflict && ctx.atomic {
            tx.rollback()?;
            return Ok(out);
        }
    }
    tx.commit()?;
    Ok(out)
}

fn load_history<P>(
    conn: &Connection,
    record: &mut ObjectRecord<P>,
    names: &[String],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT value, timestamp, source_type, source_id FROM property_history
         WHERE object_id = ?1 AND name = ?2 ORDER BY version DESC",
    )?;
    for name in names {
        let entries = stmt
            .query_map(params![record.id, name], |r| {
                Ok(HistoryEntry {
                    value: r.get(0)?,
                    timestamp: r.get(1)?,
                    source_type: r.get(2)?,
                    source_id: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        record.history.insert(name.clone(), entries);
    }
    Ok(())
}

fn archived_clause(archived: bool) -> &'static str {
    if archived {
        "archived_at IS NOT NULL"
    } else {
        "archived_at IS NULL"
    }
}

#[async_trait]
impl ObjectStore for SqliteStore {
    async fn create_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<NewObject>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        let ctx = ctx.clone();
        self.write(move |conn| {
            run_batch(conn, &ctx, items, |tx, item| {
                insert_object(tx, &ctx, item.properties, &item.associations)
            })
        })
        .await
    }

    async fn update_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<ObjectPatch>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        let ctx = ctx.clone();
        self.write(move |conn| {
            run_batch(conn, &ctx, items, |tx, patch| {
                match resolve_target(tx, &ctx, &patch.target)? {
                    Some(row) => apply_patch(tx, &ctx, row, patch.properties),
                    None => Ok(Err(ItemFailure::NotFound)),
                }
            })
        })
        .await
    }

    async fn upsert_objects(
        &self,
        ctx: &WriteContext,
        id_property: &str,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        let ctx = ctx.clone();
        let id_property = id_property.to_owned();
        self.write(move |conn| {
            run_batch(conn, &ctx, items, |tx, item| {
                let target = Target::Unique {
                    property: id_property.clone(),
                    value: item.value.clone(),
                };
                let (result, created) = match resolve_target(tx, &ctx, &target)? {
                    Some(row) => (apply_patch(tx, &ctx, row, item.properties)?, false),
                    None => {
                        let mut props = item.properties;
                        props.retain(|_, v| !v.is_empty());
                        props.insert(id_property.clone(), item.value);
                        (insert_object(tx, &ctx, props, &[])?, true)
                    }
                };
                Ok(result.map(|record| Upserted { record, created }))
            })
        })
        .await
    }

    async fn archive_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        ids: Vec<ObjectId>,
        now: Millis,
    ) -> StoreResult<()> {
        let object_type = object_type.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for id in ids {
                let n = tx
                    .prepare_cached(
                        "UPDATE objects SET archived_at = ?1 WHERE id = ?2 AND portal_id = ?3
                         AND object_type = ?4 AND archived_at IS NULL",
                    )?
                    .execute(params![now, id, portal.0, object_type])?;
                if n > 0 {
                    // Archived records give their unique values back (an upsert by the same
                    // key then creates a new record, as on HubSpot).
                    tx.prepare_cached("DELETE FROM unique_values WHERE object_id = ?1")?
                        .execute(params![id])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn read_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        keys: ReadKeys,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<Option<StoredRecord>>> {
        let object_type = object_type.to_owned();
        let archived = options.archived;
        let history = options.history.to_vec();
        self.read(move |conn| {
            let by_id = format!(
                "{SELECT_OBJECT} WHERE id = ?1 AND portal_id = ?2 AND object_type = ?3 AND {}",
                archived_clause(archived)
            );
            let fetch = |id: ObjectId| -> rusqlite::Result<Option<StoredRecord>> {
                conn.prepare_cached(&by_id)?
                    .query_row(params![id, portal.0, object_type], row_to_stored)
                    .optional()
            };
            let mut out = Vec::new();
            match keys {
                ReadKeys::Ids(ids) => {
                    for id in ids {
                        out.push(fetch(id)?);
                    }
                }
                ReadKeys::Unique { property, values } if !archived => {
                    for value in values {
                        out.push(
                            match holder_of(conn, portal, &object_type, &property, &value)? {
                                Some(id) => fetch(id)?,
                                None => None,
                            },
                        );
                    }
                }
                ReadKeys::Unique { property, values } => {
                    // Archived records left the unique index; find them by value instead.
                    let sql = format!(
                        "{SELECT_OBJECT} WHERE portal_id = ?1 AND object_type = ?2
                         AND archived_at IS NOT NULL AND json_extract(properties, ?3) = ?4
                         ORDER BY archived_at DESC LIMIT 1"
                    );
                    let path = format!("$.\"{}\"", property.replace('"', ""));
                    for value in values {
                        out.push(
                            conn.prepare_cached(&sql)?
                                .query_row(
                                    params![portal.0, object_type, path, value],
                                    row_to_stored,
                                )
                                .optional()?,
                        );
                    }
                }
            }
            if !history.is_empty() {
                for record in out.iter_mut().flatten() {
                    load_history(conn, record, &history)?;
                }
            }
            Ok(out)
        })
        .await
    }

    async fn search_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        query: &SearchQuery,
    ) -> StoreResult<SearchPage> {
        let compiled =
            spoke_store::sql_search::compile(&crate::search::Sqlite, portal, object_type, query)
                .map_err(crate::internal)?;
        self.read(move |conn| {
            let total: i64 = conn
                .prepare(&compiled.count.text)?
                .query_row(crate::search::params(&compiled.count), |r| r.get(0))?;
            let records = conn
                .prepare(&compiled.page.text)?
                .query_map(crate::search::params(&compiled.page), row_to_stored)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(SearchPage {
                total: total as usize,
                records,
            })
        })
        .await
    }

    async fn list_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        after: Option<ObjectId>,
        limit: usize,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<StoredRecord>> {
        let object_type = object_type.to_owned();
        let archived = options.archived;
        let history = options.history.to_vec();
        self.read(move |conn| {
            let sql = format!(
                "{SELECT_OBJECT} WHERE portal_id = ?1 AND object_type = ?2 AND id > ?3 AND {}
                 ORDER BY id LIMIT ?4",
                archived_clause(archived)
            );
            let mut records = conn
                .prepare_cached(&sql)?
                .query_map(
                    params![portal.0, object_type, after.unwrap_or(0), limit as i64],
                    row_to_stored,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            if !history.is_empty() {
                for record in &mut records {
                    load_history(conn, record, &history)?;
                }
            }
            Ok(records)
        })
        .await
    }
}
