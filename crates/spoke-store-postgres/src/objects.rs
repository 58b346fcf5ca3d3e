//! Records, their history and their unique values.
//!
//! Mirrors `spoke-store-sqlite/src/objects.rs` step by step; the differences are only in
//! how concurrent writers in other processes are kept out (see the crate docs): a record
//! is locked before it is read for an update, and a unique value is taken by inserting its
//! key, so a concurrent taker makes the transaction rerun.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::search::SearchQuery;
use spoke_core::time::Millis;
use spoke_core::{HistoryEntry, ObjectId, ObjectRecord, PortalId};
use spoke_store::{
    ItemFailure, ItemResult, NewAssociation, NewObject, ObjectPatch, ObjectStore, ReadKeys,
    ReadOptions, SearchPage, StoreResult, Target, UpsertItem, Upserted, WriteContext,
};
use tokio_postgres::IsolationLevel;

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

const COLUMNS: &str = "id, properties, created_at, updated_at, archived_at, version";

pub(crate) struct Row {
    record: ObjectRecord,
    version: i64,
}

/// A record from the first six columns of `r`, in [`COLUMNS`] order.
fn row_to_record(r: &tokio_postgres::Row) -> Result<Row, Error> {
    let json: &str = r.try_get(1)?;
    let properties: BTreeMap<String, String> = serde_json::from_str(json)
        .map_err(|e| Error::Data(format!("properties of a record: {e}")))?;
    Ok(Row {
        record: ObjectRecord {
            id: r.try_get(0)?,
            properties,
            created_at: r.try_get(2)?,
            updated_at: r.try_get(3)?,
            archived_at: r.try_get(4)?,
            history: BTreeMap::new(),
        },
        version: r.try_get(5)?,
    })
}

fn to_json(props: &BTreeMap<String, String>) -> Result<String, Error> {
    serde_json::to_string(props).map_err(|e| Error::Data(e.to_string()))
}

/// A live record by id, within its portal and type, locked until the transaction ends.
/// Waiting for a concurrent writer's lock returns the row as that writer left it.
async fn lock_live(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id: ObjectId,
) -> Result<Option<Row>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM objects WHERE id = $1 AND portal_id = $2 AND object_type = $3
         AND archived_at IS NULL FOR UPDATE"
    );
    db::query_opt(tx, &sql, &[&id, &ctx.portal.0, &ctx.object_type])
        .await?
        .map(|r| row_to_record(&r))
        .transpose()
}

/// The live record holding a unique value, if any.
async fn holder_of<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    property: &str,
    value: &str,
) -> Result<Option<ObjectId>, Error> {
    db::query_opt(
        c,
        "SELECT object_id FROM unique_values
         WHERE portal_id = $1 AND object_type = $2 AND property = $3 AND value = $4",
        &[&portal.0, &object_type, &property, &value],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(Error::from)
}

/// The first unique value in `props` (in `unique_properties` order) already held by a
/// record other than `me`. One query for all of them.
async fn find_conflict(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    props: &BTreeMap<String, String>,
    me: Option<ObjectId>,
) -> Result<Option<ItemFailure>, Error> {
    let wanted: Vec<(&str, &str)> = ctx
        .unique_properties
        .iter()
        .filter_map(|p| {
            props
                .get(p)
                .filter(|v| !v.is_empty())
                .map(|v| (p.as_str(), v.as_str()))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = wanted.iter().map(|w| w.0).collect();
    let values: Vec<&str> = wanted.iter().map(|w| w.1).collect();
    let rows = db::query(
        tx,
        "SELECT property, value, object_id FROM unique_values
         WHERE portal_id = $1 AND object_type = $2 AND property = ANY($3) AND value = ANY($4)",
        &[&ctx.portal.0, &ctx.object_type, &names, &values],
    )
    .await?;
    let mut held = HashMap::with_capacity(rows.len());
    for r in &rows {
        let property: String = r.try_get(0)?;
        let value: String = r.try_get(1)?;
        let id: ObjectId = r.try_get(2)?;
        held.insert((property, value), id);
    }
    for (property, value) in wanted {
        if let Some(&existing) = held.get(&(property.to_owned(), value.to_owned())) {
            if Some(existing) != me {
                return Ok(Some(ItemFailure::Conflict {
                    property: property.to_owned(),
                    value: value.to_owned(),
                    existing_id: existing,
                }));
            }
        }
    }
    Ok(None)
}

/// Points the unique index at `id` for every unique property that `changes` touches.
/// `fresh`: the record was just inserted, so it has no index rows yet.
///
/// The insert is what decides between concurrent writers: if another transaction took a
/// value first, it fails with a unique violation and the batch is run again.
async fn index_unique(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id: ObjectId,
    changes: &BTreeMap<String, String>,
    fresh: bool,
) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let mut touched: Vec<&str> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut values: Vec<&str> = Vec::new();
    for property in &ctx.unique_properties {
        if !seen.insert(property.as_str()) {
            continue;
        }
        let Some(value) = changes.get(property) else {
            continue;
        };
        touched.push(property);
        if !value.is_empty() {
            names.push(property);
            values.push(value);
        }
    }
    if touched.is_empty() {
        return Ok(());
    }
    if !fresh {
        db::execute(
            tx,
            "DELETE FROM unique_values WHERE object_id = $1 AND property = ANY($2)",
            &[&id, &touched],
        )
        .await?;
    }
    if !names.is_empty() {
        db::execute(
            tx,
            "INSERT INTO unique_values (portal_id, object_type, property, value, object_id)
             SELECT $1::BIGINT, $2::TEXT, p, v, $3::BIGINT FROM unnest($4::TEXT[], $5::TEXT[]) AS t(p, v)",
            &[&ctx.portal.0, &ctx.object_type, &id, &names, &values],
        )
        .await?;
    }
    Ok(())
}

async fn write_history(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id: ObjectId,
    version: i64,
    changes: &BTreeMap<String, String>,
) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = changes.keys().map(String::as_str).collect();
    let values: Vec<&str> = changes.values().map(String::as_str).collect();
    db::execute(
        tx,
        "INSERT INTO property_history
         (object_id, name, version, value, timestamp, source_type, source_id)
         SELECT $1::BIGINT, n, $2::BIGINT, v, $3::BIGINT, $4::TEXT, $5::TEXT
         FROM unnest($6::TEXT[], $7::TEXT[]) AS t(n, v)
         ON CONFLICT (object_id, name, version) DO UPDATE SET value = EXCLUDED.value,
         timestamp = EXCLUDED.timestamp, source_type = EXCLUDED.source_type,
         source_id = EXCLUDED.source_id",
        &[
            &id,
            &version,
            &ctx.now,
            &ctx.source.source_type,
            &ctx.source.source_id,
            &names,
            &values,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_object(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    properties: BTreeMap<String, String>,
    associations: &[NewAssociation],
) -> Result<ItemResult<ObjectRecord>, Error> {
    if let Some(conflict) = find_conflict(tx, ctx, &properties, None).await? {
        return Ok(Err(conflict));
    }
    if !associations.is_empty() {
        let ids: Vec<ObjectId> = associations.iter().map(|a| a.to_id).collect();
        let live = crate::associations::live_among(tx, ctx.portal, &ids).await?;
        for a in associations {
            if !live.contains(&(a.to_id, a.to_type.clone())) {
                return Ok(Err(ItemFailure::AssociationTarget {
                    object_type: a.to_type.clone(),
                    id: a.to_id,
                }));
            }
        }
    }
    let id: ObjectId = db::query_one(
        tx,
        "INSERT INTO objects (portal_id, object_type, properties, version, created_at, updated_at)
         VALUES ($1, $2, $3, 1, $4, $4) RETURNING id",
        &[
            &ctx.portal.0,
            &ctx.object_type,
            &to_json(&properties)?,
            &ctx.now,
        ],
    )
    .await?
    .try_get(0)?;
    index_unique(tx, ctx, id, &properties, true).await?;
    write_history(tx, ctx, id, 1, &properties).await?;
    for a in associations {
        for t in &a.types {
            crate::associations::write_link(
                tx,
                ctx.portal,
                (&ctx.object_type, id),
                (&a.to_type, a.to_id),
                t,
            )
            .await?;
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

/// Applies `changes` to a record locked by [`resolve_target`].
async fn apply_patch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    row: Row,
    changes: BTreeMap<String, String>,
) -> Result<ItemResult<ObjectRecord>, Error> {
    let Row {
        mut record,
        version,
    } = row;
    if let Some(conflict) = find_conflict(tx, ctx, &changes, Some(record.id)).await? {
        return Ok(Err(conflict));
    }
    // History keeps only real changes; a repeated value is not a new version of it.
    let mut changed = BTreeMap::new();
    for (name, value) in changes {
        let old = record
            .properties
            .get(&name)
            .map(String::as_str)
            .unwrap_or("");
        if old == value {
            continue;
        }
        if value.is_empty() {
            record.properties.remove(&name);
        } else {
            record.properties.insert(name.clone(), value.clone());
        }
        changed.insert(name, value);
    }
    let version = version + 1;
    record.updated_at = ctx.now;
    db::execute(
        tx,
        "UPDATE objects SET properties = $1, version = $2, updated_at = $3 WHERE id = $4",
        &[
            &to_json(&record.properties)?,
            &version,
            &ctx.now,
            &record.id,
        ],
    )
    .await?;
    index_unique(tx, ctx, record.id, &changed, false).await?;
    write_history(tx, ctx, record.id, version, &changed).await?;
    Ok(Ok(record))
}

/// The live record a target names, locked for update.
async fn resolve_target(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    target: &Target,
) -> Result<Option<Row>, Error> {
    match target {
        Target::Id(id) => lock_live(tx, ctx, *id).await,
        Target::Unique { property, value } => {
            // The value may move to another record between the lookup and the lock; once
            // the record is locked its unique values cannot change, so a second lookup
            // tells whether it still holds the value.
            for _ in 0..3 {
                let holder = holder_of(tx, ctx.portal, &ctx.object_type, property, value).await?;
                let Some(id) = holder else {
                    return Ok(None);
                };
                let row = lock_live(tx, ctx, id).await?;
                let now = holder_of(tx, ctx.portal, &ctx.object_type, property, value).await?;
                if now == Some(id) {
                    return Ok(row);
                }
            }
            Err(Error::Retry(
                "a unique value kept moving while it was looked up",
            ))
        }
    }
}

/// Locks, in ascending id order and in one statement, every live record a batch names by
/// id or by unique value, before the batch touches any of them. Batches then take their row
/// locks in one global order, so two batches over the same records queue instead of
/// deadlocking (a deadlock costs a second of `deadlock_timeout` before the rerun). Only an
/// optimization: each item still locks and checks its own record.
async fn prelock(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    ids: &[ObjectId],
    keys: &[(&str, &str)],
) -> Result<(), Error> {
    if ids.is_empty() && keys.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = keys.iter().map(|k| k.0).collect();
    let values: Vec<&str> = keys.iter().map(|k| k.1).collect();
    db::execute(
        tx,
        "SELECT id FROM objects WHERE portal_id = $1 AND object_type = $2
         AND archived_at IS NULL AND (id = ANY($3) OR id IN (
             SELECT object_id FROM unique_values WHERE portal_id = $1 AND object_type = $2
             AND property = ANY($4) AND value = ANY($5)))
         ORDER BY id FOR UPDATE",
        &[&ctx.portal.0, &ctx.object_type, &ids, &names, &values],
    )
    .await?;
    Ok(())
}

/// Records one item's outcome; true if the batch must stop here and roll back (atomic
/// mode, first conflict).
fn push_outcome<T>(out: &mut Vec<ItemResult<T>>, result: ItemResult<T>, atomic: bool) -> bool {
    let conflict = matches!(
        result,
        Err(ItemFailure::Conflict { .. } | ItemFailure::AssociationTarget { .. })
    );
    out.push(result);
    conflict && atomic
}

type Outcomes<T> = Result<Finish<Vec<ItemResult<T>>>, Error>;

async fn create_batch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    items: &[NewObject],
) -> Outcomes<ObjectRecord> {
    // The new records are nobody else's yet; the targets whose links get pruned are.
    let mut exclusive = Vec::new();
    for a in items.iter().flat_map(|i| &i.associations) {
        for t in &a.types {
            crate::associations::add_exclusive(&mut exclusive, 0, a.to_id, t);
        }
    }
    crate::associations::prelock_exclusive(tx, &exclusive).await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let result = insert_object(tx, ctx, item.properties.clone(), &item.associations).await?;
        if push_outcome(&mut out, result, ctx.atomic) {
            return Ok(Finish::Rollback(out));
        }
    }
    Ok(Finish::Commit(out))
}

async fn update_batch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    items: &[ObjectPatch],
) -> Outcomes<ObjectRecord> {
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    for patch in items {
        match &patch.target {
            Target::Id(id) => ids.push(*id),
            Target::Unique { property, value } => keys.push((property.as_str(), value.as_str())),
        }
    }
    prelock(tx, ctx, &ids, &keys).await?;
    let mut out = Vec::with_capacity(items.len());
    for patch in items {
        let result = match resolve_target(tx, ctx, &patch.target).await? {
            Some(row) => apply_patch(tx, ctx, row, patch.properties.clone()).await?,
            None => Err(ItemFailure::NotFound),
        };
        if push_outcome(&mut out, result, ctx.atomic) {
            return Ok(Finish::Rollback(out));
        }
    }
    Ok(Finish::Commit(out))
}

/// One upsert: update the record holding the value, or create it. Returns the outcome and
/// whether a record was created.
async fn upsert_one(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id_property: &str,
    item: &UpsertItem,
) -> Result<(ItemResult<ObjectRecord>, bool), Error> {
    let target = Target::Unique {
        property: id_property.to_owned(),
        value: item.value.clone(),
    };
    for _ in 0..3 {
        if let Some(row) = resolve_target(tx, ctx, &target).await? {
            return Ok((
                apply_patch(tx, ctx, row, item.properties.clone()).await?,
                false,
            ));
        }
        let mut props = item.properties.clone();
        props.retain(|_, v| !v.is_empty());
        props.insert(id_property.to_owned(), item.value.clone());
        let result = insert_object(tx, ctx, props, &[]).await?;
        // Another process created the record between the lookup above and the conflict
        // check: with one writer (SQLite) the lookup would have found it, so look again and
        // update it. (If it commits only after our check, our unique index insert fails and
        // the whole transaction reruns instead.)
        let raced = matches!(
            &result,
            Err(ItemFailure::Conflict { property, value, .. })
                if property == id_property && *value == item.value
        );
        if !raced {
            return Ok((result, true));
        }
    }
    Err(Error::Retry(
        "an upserted record kept appearing and vanishing",
    ))
}

async fn upsert_batch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id_property: &str,
    items: &[UpsertItem],
) -> Outcomes<Upserted> {
    let keys: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (id_property, i.value.as_str()))
        .collect();
    prelock(tx, ctx, &[], &keys).await?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let (result, created) = upsert_one(tx, ctx, id_property, item).await?;
        if push_outcome(
            &mut out,
            result.map(|record| Upserted { record, created }),
            ctx.atomic,
        ) {
            return Ok(Finish::Rollback(out));
        }
    }
    Ok(Finish::Commit(out))
}

async fn archive_ids(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
    ids: &[ObjectId],
    now: Millis,
) -> Result<Finish<()>, Error> {
    if !ids.is_empty() {
        // Archived records give their unique values back (an upsert by the same key then
        // creates a new record, as on HubSpot).
        db::execute(
            tx,
            "WITH archived AS (
                 UPDATE objects SET archived_at = $1 WHERE id = ANY($2) AND portal_id = $3
                 AND object_type = $4 AND archived_at IS NULL RETURNING id
             )
             DELETE FROM unique_values WHERE object_id IN (SELECT id FROM archived)",
            &[&now, &ids, &portal.0, &object_type],
        )
        .await?;
    }
    Ok(Finish::Commit(()))
}

/// Loads the history of `names` into every record of `records`, newest first. A name
/// never written gets an empty list, as in SQLite.
async fn load_history<'r, C: GenericClient>(
    c: &C,
    records: impl Iterator<Item = &'r mut ObjectRecord>,
    names: &[String],
) -> Result<(), Error> {
    let mut records: Vec<&mut ObjectRecord> = records.collect();
    if records.is_empty() || names.is_empty() {
        return Ok(());
    }
    let ids: Vec<ObjectId> = records.iter().map(|r| r.id).collect();
    let rows = db::query(
        c,
        "SELECT object_id, name, value, timestamp, source_type, source_id FROM property_history
         WHERE object_id = ANY($1) AND name = ANY($2) ORDER BY object_id, name, version DESC",
        &[&ids, &names],
    )
    .await?;
    let mut by_key: HashMap<(ObjectId, String), Vec<HistoryEntry>> = HashMap::new();
    for r in &rows {
        let id: ObjectId = r.try_get(0)?;
        let name: String = r.try_get(1)?;
        by_key.entry((id, name)).or_default().push(HistoryEntry {
            value: r.try_get(2)?,
            timestamp: r.try_get(3)?,
            source_type: r.try_get(4)?,
            source_id: r.try_get(5)?,
        });
    }
    for record in &mut records {
        for name in names {
            let entries = by_key
                .get(&(record.id, name.clone()))
                .cloned()
                .unwrap_or_default();
            record.history.insert(name.clone(), entries);
        }
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

async fn read_in<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    keys: &ReadKeys,
    archived: bool,
    history: &[String],
) -> Result<Vec<Option<ObjectRecord>>, Error> {
    let mut out: Vec<Option<ObjectRecord>> = match keys {
        ReadKeys::Ids(ids) => {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {COLUMNS} FROM objects WHERE id = ANY($1) AND portal_id = $2
                 AND object_type = $3 AND {}",
                archived_clause(archived)
            );
            let mut found = HashMap::new();
            for r in db::query(c, &sql, &[ids, &portal.0, &object_type]).await? {
                let row = row_to_record(&r)?;
                found.insert(row.record.id, row.record);
            }
            ids.iter().map(|id| found.get(id).cloned()).collect()
        }
        ReadKeys::Unique { property, values } => {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let rows = if !archived {
                db::query(
                    c,
                    "SELECT o.id, o.properties, o.created_at, o.updated_at, o.archived_at,
                     o.version, u.value
                     FROM unique_values u JOIN objects o ON o.id = u.object_id
                     WHERE u.portal_id = $1 AND u.object_type = $2 AND u.property = $3
                     AND u.value = ANY($4) AND o.portal_id = $1 AND o.object_type = $2
                     AND o.archived_at IS NULL",
                    &[&portal.0, &object_type, property, values],
                )
                .await?
            } else {
                // Archived records left the unique index; find them by value instead
                // (the most recently archived one; among equals the oldest, as SQLite's scan
                // by id finds first).
                let key = property.replace('"', "");
                db::query(
                    c,
                    "SELECT DISTINCT ON (k) id, properties, created_at, updated_at,
                     archived_at, version, k
                     FROM (SELECT o.*, (o.properties::json ->> $3::TEXT) AS k FROM objects o
                           WHERE o.portal_id = $1 AND o.object_type = $2
                           AND o.archived_at IS NOT NULL) s
                     WHERE k = ANY($4) ORDER BY k, archived_at DESC, id",
                    &[&portal.0, &object_type, &key, values],
                )
                .await?
            };
            let mut found = HashMap::new();
            for r in &rows {
                let value: String = r.try_get(6)?;
                found.insert(value, row_to_record(r)?.record);
            }
            values.iter().map(|v| found.get(v).cloned()).collect()
        }
    };
    load_history(c, out.iter_mut().flatten(), history).await?;
    Ok(out)
}

async fn list_in<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    after: Option<ObjectId>,
    limit: usize,
    archived: bool,
    history: &[String],
) -> Result<Vec<ObjectRecord>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM objects WHERE portal_id = $1 AND object_type = $2 AND id > $3
         AND {} ORDER BY id LIMIT $4",
        archived_clause(archived)
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut records = db::query(
        c,
        &sql,
        &[&portal.0, &object_type, &after.unwrap_or(0), &limit],
    )
    .await?
    .iter()
    .map(|r| row_to_record(r).map(|r| r.record))
    .collect::<Result<Vec<_>, _>>()?;
    load_history(c, records.iter_mut(), history).await?;
    Ok(records)
}

#[async_trait]
impl ObjectStore for PostgresStore {
    async fn create_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<NewObject>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        self.write(TxMode::RECORDS, (ctx, items), |tx, (ctx, items)| {
            Box::pin(create_batch(tx, ctx, items))
        })
        .await
    }

    async fn update_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<ObjectPatch>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        self.write(TxMode::RECORDS, (ctx, items), |tx, (ctx, items)| {
            Box::pin(update_batch(tx, ctx, items))
        })
        .await
    }

    async fn upsert_objects(
        &self,
        ctx: &WriteContext,
        id_property: &str,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        self.write(
            TxMode::RECORDS,
            (ctx, id_property, items),
            |tx, (ctx, id_property, items)| Box::pin(upsert_batch(tx, ctx, id_property, items)),
        )
        .await
    }

    async fn archive_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        ids: Vec<ObjectId>,
        now: Millis,
    ) -> StoreResult<()> {
        self.write(TxMode::RECORDS, (object_type, ids), |tx, (t, ids)| {
            Box::pin(archive_ids(tx, portal, t, ids, now))
        })
        .await
    }

    async fn read_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        keys: ReadKeys,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<Option<ObjectRecord>>> {
        let mut client = self.client().await.map_err(into_store)?;
        if options.history.is_empty() {
            return read_in(&client, portal, object_type, &keys, options.archived, &[])
                .await
                .map_err(into_store);
        }
        // Records and their history from one snapshot.
        async {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let out = read_in(
                &tx,
                portal,
                object_type,
                &keys,
                options.archived,
                options.history,
            )
            .await?;
            tx.commit().await?;
            Ok(out)
        }
        .await
        .map_err(into_store)
    }

    async fn search_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        query: &SearchQuery,
    ) -> StoreResult<SearchPage> {
        let mut client = self.client().await.map_err(into_store)?;
        async {
            let filter = crate::search::where_clause(portal, object_type, query)?;
            let mut page = crate::search::Sql {
                text: String::new(),
                params: filter.params.clone(),
            };
            let order = crate::search::order_clause(&mut page, query);
            let limit = page.bind(crate::search::Param::Int(
                i64::try_from(query.limit).unwrap_or(i64::MAX),
            ));
            let offset = page.bind(crate::search::Param::Int(
                i64::try_from(query.offset).unwrap_or(i64::MAX),
            ));
            page.text = format!(
                "SELECT o.id, o.properties, o.created_at, o.updated_at, o.archived_at, o.version
                 FROM objects o WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                filter.text
            );
            let count_sql = format!("SELECT COUNT(*) FROM objects o WHERE {}", filter.text);
            let count_params: Vec<_> = filter.params.iter().map(|p| p.typed()).collect();
            let page_params: Vec<_> = page.params.iter().map(|p| p.typed()).collect();
            // The count and the page from one snapshot. The SQL varies with the query's
            // shape, so it is not cached: `query_typed` sends it with typed parameters in
            // one round trip.
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let total: i64 = tx
                .query_typed_one(&count_sql, &count_params)
                .await?
                .try_get(0)?;
            let records = tx
                .query_typed(&page.text, &page_params)
                .await?
                .iter()
                .map(|r| row_to_record(r).map(|r| r.record))
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().await?;
            Ok(SearchPage {
                total: usize::try_from(total).unwrap_or(0),
                records,
            })
        }
        .await
        .map_err(into_store)
    }

    async fn list_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        after: Option<ObjectId>,
        limit: usize,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<ObjectRecord>> {
        let mut client = self.client().await.map_err(into_store)?;
        if options.history.is_empty() {
            return list_in(
                &client,
                portal,
                object_type,
                after,
                limit,
                options.archived,
                &[],
            )
            .await
            .map_err(into_store);
        }
        async {
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let out = list_in(
                &tx,
                portal,
                object_type,
                after,
                limit,
                options.archived,
                options.history,
            )
            .await?;
            tx.commit().await?;
            Ok(out)
        }
        .await
        .map_err(into_store)
    }
}
