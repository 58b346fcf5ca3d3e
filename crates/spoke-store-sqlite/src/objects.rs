//! Records, their history and their unique values. A batch write reads what the shared
//! planner (`spoke_store::plan`) asks for inside its write transaction, in one round (the
//! writer is alone), and writes the decision statement by statement.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::{HistoryEntry, ObjectId, ObjectRecord, PortalId, StoredProperties, StoredRecord};
use spoke_store::plan::{Decided, Plan, Reads, Snapshot, Versioned};
use spoke_store::sql_search::Compiled;
use spoke_store::value_index;
use spoke_store::webhooks::LinkChange;
use spoke_store::{
    ItemResult, ObjectStore, ReadKeys, ReadOptions, RecordArchive, RecordBatch, RecordRead,
    RecordSearch, SearchPage, Selection, StoreResult, Upserted, WriteContext,
};

use crate::SqliteStore;

const SELECT_OBJECT: &str =
    "SELECT id, properties, created_at, updated_at, archived_at, version FROM objects";

/// A record from [`SELECT_OBJECT`]'s columns, its values left as stored (reads).
fn row_to_stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRecord> {
    spoke_store::columns::stored_record(&crate::tokens_props::Cols(r))
}

/// A record with its values decoded, and its version (writes).
fn row_to_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<Versioned> {
    let record = row_to_stored(r)?.decode().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(Versioned {
        record,
        version: r.get(5)?,
    })
}

fn to_json(props: &BTreeMap<String, String>) -> rusqlite::Result<String> {
    StoredProperties::encode(props)
        .map(StoredProperties::into_string)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
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

/// Runs a batch in one immediate transaction: reads what its plan asks for, lets the plan
/// decide, and writes the decision. An atomic batch that stopped at a failed item is rolled
/// back; its outcomes still say which item failed.
fn run<'a>(
    conn: &mut Connection,
    cache: &spoke_store::webhooks::ListenerCache,
    ctx: &WriteContext,
    mut plan: Plan<'a>,
) -> rusqlite::Result<Decided<'a>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    while let Some(reads) = plan.reads().map_err(plan_error)? {
        plan.learn(read(&tx, ctx, &reads)?);
    }
    let mut decided = plan.decide();
    let links = write(&tx, ctx, &mut decided)?;
    if decided.stopped() {
        tx.rollback()?;
    } else {
        crate::webhooks::record_events(&tx, cache, ctx, &decided, &links)?;
        crate::totals::bump(&tx, ctx.portal, &ctx.object_type)?;
        tx.commit()?;
    }
    Ok(decided)
}

fn plan_error(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(Box::new(e))
}

/// One round of a plan's reads. The writer is alone, so one round is all a plan needs.
fn read(tx: &Connection, ctx: &WriteContext, reads: &Reads<'_>) -> rusqlite::Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut held = HashMap::new();
    for &(property, value) in &reads.holders {
        let holder = holder_of(tx, ctx.portal, &ctx.object_type, property, value)?;
        if let Some(id) = holder {
            snapshot
                .holders
                .push((property.to_owned(), value.to_owned(), id));
        }
        held.insert((property, value), holder);
    }
    let mut ids = reads.ids.clone();
    for &(property, value) in &reads.held {
        ids.extend(match held.get(&(property, value)) {
            Some(holder) => *holder,
            None => holder_of(tx, ctx.portal, &ctx.object_type, property, value)?,
        });
    }
    ids.sort_unstable();
    ids.dedup();
    let mut by_id = tx.prepare_cached(&format!(
        "{SELECT_OBJECT} WHERE id = ?1 AND portal_id = ?2 AND object_type = ?3 AND archived_at IS NULL"
    ))?;
    for id in ids {
        let row = by_id
            .query_row(params![id, ctx.portal.0, ctx.object_type], row_to_record)
            .optional()?;
        snapshot.records.extend(row);
    }
    for &(object_type, id) in &reads.live {
        if crate::associations::is_live(tx, ctx.portal, object_type, id)? {
            snapshot.live.insert((id, object_type.to_owned()));
        }
    }
    Ok(snapshot)
}

/// Writes a decision: the new records first, in creation order, which gives them their ids
/// (also in a batch that stopped, whose outcomes name them; it is rolled back), then, unless
/// it stopped, everything else. Returns the association rows written or pruned.
fn write(
    tx: &Connection,
    ctx: &WriteContext,
    decided: &mut Decided<'_>,
) -> rusqlite::Result<Vec<LinkChange>> {
    let mut ids = Vec::new();
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO objects (portal_id, object_type, properties, version, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?;
        for r in decided.created() {
            insert.execute(params![
                ctx.portal.0,
                ctx.object_type,
                to_json(r.properties)?,
                r.version,
                ctx.now
            ])?;
            ids.push(tx.last_insert_rowid());
        }
    }
    decided.set_ids(&ids).map_err(plan_error)?;
    if decided.stopped() {
        return Ok(Vec::new());
    }
    for r in decided.changed() {
        tx.prepare_cached(
            "UPDATE objects SET properties = ?1, version = ?2, updated_at = ?3 WHERE id = ?4",
        )?
        .execute(params![to_json(r.properties)?, r.version, ctx.now, r.id])?;
    }
    // Freed before taken: a value may move between two records of the batch.
    for (id, property) in decided.freed() {
        tx.prepare_cached("DELETE FROM unique_values WHERE object_id = ?1 AND property = ?2")?
            .execute(params![id, property])?;
    }
    for (id, property, value) in decided.taken() {
        tx.prepare_cached(
            "INSERT INTO unique_values (portal_id, object_type, property, value, object_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![ctx.portal.0, ctx.object_type, property, value, id])?;
    }
    // One statement per write from its changes as a JSON object, not one per property
    // (profiled: a 100-record create ran 1,000 history statements, and each statement's
    // own start and end cost more than its row).
    for h in decided.history() {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO property_history
             (object_id, name, version, value, timestamp, source_type, source_id)
             SELECT ?1, key, ?3, value, ?4, ?5, ?6 FROM json_each(?2)",
        )?
        .execute(params![
            h.id,
            to_json(h.changes)?,
            h.version,
            ctx.now,
            ctx.source.source_type,
            ctx.source.source_id
        ])?;
    }
    crate::value_index::apply(tx, ctx.portal, &ctx.object_type, |indexed| {
        value_index::Changes::of_decision(decided, indexed)
    })?;
    let mut links = Vec::new();
    for (from, to, t) in decided.links() {
        crate::associations::write_link(tx, ctx.portal, from, to, t, &mut links)?;
    }
    Ok(links)
}

/// Loads the history of `names` into every record of `records`, newest first.
fn load_history<'r, P: 'r>(
    conn: &Connection,
    records: impl Iterator<Item = &'r mut ObjectRecord<P>>,
    names: &[String],
) -> rusqlite::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let records: Vec<&mut ObjectRecord<P>> = records.collect();
    let mut stmt = conn.prepare_cached(
        "SELECT value, timestamp, source_type, source_id FROM property_history
         WHERE object_id = ?1 AND name = ?2 ORDER BY version DESC",
    )?;
    let mut entries = Vec::new();
    // A read may name the same record twice; its rows are read once.
    let mut seen = HashSet::new();
    for record in records.iter().filter(|r| seen.insert(r.id)) {
        for name in names {
            let rows = stmt.query_map(params![record.id, name], |r| {
                Ok(HistoryEntry {
                    value: r.get(0)?,
                    timestamp: r.get(1)?,
                    source_type: r.get(2)?,
                    source_id: r.get(3)?,
                })
            })?;
            for entry in rows {
                entries.push((record.id, name.clone(), entry?));
            }
        }
    }
    spoke_store::attach_history(records, names, entries);
    Ok(())
}

#[async_trait]
impl ObjectStore for SqliteStore {
    async fn write_objects(
        &self,
        ctx: &WriteContext,
        batch: RecordBatch,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        let ctx = ctx.clone();
        let cache = self.inner.listeners.clone();
        self.write(move |conn| Ok(run(conn, &cache, &ctx, Plan::new(&ctx, &batch))?.outcomes()))
            .await
    }

    async fn archive_records(&self, archive: RecordArchive<'_>) -> StoreResult<()> {
        let RecordArchive {
            portal,
            ids,
            now,
            source,
            ..
        } = archive;
        let object_type = archive.object_type.to_owned();
        let cache = self.inner.listeners.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut archived = Vec::new();
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
                    archived.push(id);
                }
            }
            archived.sort_unstable();
            crate::webhooks::archive_events(
                &tx,
                &cache,
                portal,
                &object_type,
                now,
                &source,
                &archived,
            )?;
            if !archived.is_empty() {
                crate::totals::bump(&tx, portal, &object_type)?;
            }
            tx.commit()
        })
        .await
    }

    async fn fetch_records(&self, read: RecordRead<'_>) -> StoreResult<Vec<Option<StoredRecord>>> {
        let RecordRead {
            portal,
            selection,
            options,
            ..
        } = read;
        let object_type = read.object_type.to_owned();
        let history = options.history.to_vec();
        let (archived, condition) = (options.archived, options.archived_condition());
        self.read(move |conn| {
            let mut out = match selection {
                Selection::Keys(keys) => read_keys(conn, portal, &object_type, archived, keys)?,
                Selection::Page { after, limit } => {
                    let sql = format!(
                        "{SELECT_OBJECT} WHERE portal_id = ?1 AND object_type = ?2 AND id > ?3
                         AND {condition} ORDER BY id LIMIT ?4"
                    );
                    conn.prepare_cached(&sql)?
                        .query_map(
                            params![portal.0, object_type, after.unwrap_or(0), page_limit(limit)],
                            |r| row_to_stored(r).map(Some),
                        )?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                }
            };
            load_history(conn, out.iter_mut().flatten(), &history)?;
            Ok(out)
        })
        .await
    }

    async fn search_records(&self, search: RecordSearch<'_>) -> StoreResult<SearchPage> {
        let compiled = self.compile_search(&search).await?;
        let (portal, object_type) = (search.portal, search.object_type.to_owned());
        let cacheable = spoke_store::totals::cacheable(search.query);
        let inner = self.inner.clone();
        self.read(move |conn| {
            let counted = crate::totals::total(
                conn,
                &inner.counts,
                portal,
                &object_type,
                cacheable,
                &compiled,
            )?;
            // Counted in this read transaction (or under the generation it sees), so the
            // range holds for the page read next.
            let page = compiled.page_within(counted.ids);
            let total = counted.total;
            let records = conn
                .prepare(&page.text)?
                .query_map(crate::search::params(&page), row_to_stored)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(SearchPage {
                total: usize::try_from(total).unwrap_or(usize::MAX),
                records,
            })
        })
        .await
    }
}

impl SqliteStore {
    /// Compiles a search, first indexing the properties it could probe that are not
    /// complete yet (`value_index`'s lazy indexing): their rows are made on the writer, one
    /// transaction per step so that writes queued meanwhile run between steps, before this
    /// search reads them.
    async fn compile_search(&self, search: &RecordSearch<'_>) -> StoreResult<Compiled> {
        let (portal, ty) = (search.portal, search.object_type);
        spoke_store::sql_search::compile_indexing(
            &crate::search::Sqlite,
            search,
            &self.inner.indexed,
            |listings| async move {
                let listings = Arc::new(listings);
                loop {
                    let (ty, listings) = (ty.to_owned(), Arc::clone(&listings));
                    let complete = self
                        .write(move |conn| {
                            let tx = conn.transaction_with_behavior(
                                rusqlite::TransactionBehavior::Immediate,
                            )?;
                            let complete =
                                crate::value_index::index_step(&tx, portal, &ty, &listings)?;
                            tx.commit()?;
                            Ok(complete)
                        })
                        .await?;
                    if complete {
                        return Ok(());
                    }
                }
            },
        )
        .await
    }
}

/// One answer per key, in key order: `None` where no record matches.
fn read_keys(
    conn: &Connection,
    portal: PortalId,
    object_type: &str,
    archived: bool,
    keys: ReadKeys,
) -> rusqlite::Result<Vec<Option<StoredRecord>>> {
    let condition = ReadOptions {
        archived,
        history: &[],
    }
    .archived_condition();
    let by_id = format!(
        "{SELECT_OBJECT} WHERE id = ?1 AND portal_id = ?2 AND object_type = ?3 AND {condition}"
    );
    // Looked up in the statement cache once per read, not once per id: the cache hashes the
    // statement's text, and for 100 ids that hashing was a few percent of a batch read.
    let mut by_id = conn.prepare_cached(&by_id)?;
    let mut fetch = |id: ObjectId| -> rusqlite::Result<Option<StoredRecord>> {
        by_id
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
                    match holder_of(conn, portal, object_type, &property, &value)? {
                        Some(id) => fetch(id)?,
                        None => None,
                    },
                );
            }
        }
        ReadKeys::Unique { property, values } => {
            // Archived records left the unique index; find them by value instead: the newest
            // archive, the lowest id on a tie (conformance check 80).
            let sql = format!(
                "{SELECT_OBJECT} WHERE portal_id = ?1 AND object_type = ?2
                 AND archived_at IS NOT NULL AND json_extract(properties, ?3) = ?4
                 ORDER BY archived_at DESC, id LIMIT 1"
            );
            let path = format!("$.\"{}\"", property.replace('"', ""));
            for value in values {
                out.push(
                    conn.prepare_cached(&sql)?
                        .query_row(params![portal.0, object_type, path, value], row_to_stored)
                        .optional()?,
                );
            }
        }
    }
    Ok(out)
}

/// A page size as SQLite's `LIMIT`: a negative one would mean no limit at all.
fn page_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}
