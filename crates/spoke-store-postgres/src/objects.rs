//! Records, their history and their unique values: reads here, batch writes in
//! [`crate::batch`].
//!
//! Lookups by id leave the planner only the primary key to use: portal and type are then
//! compared with `IS NOT DISTINCT FROM` (the same as `=` on these NOT NULL columns), which no
//! index serves. With plain `=`, a table without statistics (a fresh bulk load, before
//! anything ran `ANALYZE`) makes the planner take `portal_id = .. AND object_type = ..` for a
//! rare pair, and it reads every record of the type through an `objects_by_*` index instead
//! of probing the primary key once per id (7-15 ms instead of 0.3-1.3 ms for 100 ids of
//! 20,000 contacts, measured).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Object, Transaction};
use spoke_core::time::Millis;
use spoke_core::{HistoryEntry, ObjectId, ObjectRecord, PortalId, StoredProperties, StoredRecord};
use spoke_store::plan::Versioned;
use spoke_store::sql_search::Compiled;
use spoke_store::value_index::Part;
use spoke_store::{
    ItemResult, ObjectStore, ReadKeys, ReadOptions, RecordArchive, RecordBatch, RecordRead,
    RecordSearch, SearchPage, Selection, StoreResult, Upserted, WriteContext, WriteSource,
};
use tokio_postgres::IsolationLevel;

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

pub(crate) const COLUMNS: &str = "id, properties, created_at, updated_at, archived_at, version";

/// A record from the first five columns of `r`, in [`COLUMNS`] order, its values left as
/// stored (reads).
pub(crate) fn row_to_stored(r: &tokio_postgres::Row) -> Result<StoredRecord, Error> {
    spoke_store::columns::stored_record(&crate::tokens_props::Cols(r))
}

/// A record from the first six columns of `r`, its values decoded, and its version (writes).
pub(crate) fn row_to_record(r: &tokio_postgres::Row) -> Result<Versioned, Error> {
    let record = row_to_stored(r)?
        .decode()
        .map_err(|e| Error::Data(format!("properties of a record: {e}")))?;
    Ok(Versioned {
        record,
        version: r.try_get(5)?,
    })
}

pub(crate) fn to_json(props: &BTreeMap<String, String>) -> Result<String, Error> {
    StoredProperties::encode(props)
        .map(StoredProperties::into_string)
        .map_err(|e| Error::Data(e.to_string()))
}

async fn archive_ids(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
    ids: &[ObjectId],
    now: Millis,
    source: &WriteSource,
) -> Result<Finish<()>, Error> {
    if !ids.is_empty() {
        let archived = db::query_ids(
            tx,
            "UPDATE objects SET archived_at = $1 WHERE id = ANY($2)
             AND (portal_id, object_type) IS NOT DISTINCT FROM ($3::BIGINT, $4::TEXT)
             AND archived_at IS NULL RETURNING id",
            &[&now, &ids, &portal.0, &object_type],
        )
        .await?;
        // Archived records give their unique values back (an upsert by the same key then
        // creates a new record, as on HubSpot). A separate statement, so that it sees the
        // values a concurrent batch gave a record while the UPDATE waited for its lock:
        // one statement would delete with the snapshot it started with and leave such a
        // value held by an archived record. The UPDATE's row locks keep them from moving
        // again before this transaction ends.
        if !archived.is_empty() {
            db::execute(
                tx,
                "DELETE FROM unique_values WHERE object_id = ANY($1)",
                &[&archived],
            )
            .await?;
            let mut archived = archived;
            archived.sort_unstable();
            // Bumped before the events: the journal's advisory locks come after the counter
            // row in every transaction that takes both (`batch::write_batch`).
            crate::totals::bump(tx, portal, object_type).await?;
            crate::webhooks::archive_events(tx, portal, object_type, now, source, &archived)
                .await?;
        }
    }
    Ok(Finish::Commit(()))
}

/// Loads the history of `names` into every record of `records`, newest first.
async fn load_history<'r, C: GenericClient, P: 'r>(
    c: &C,
    records: impl Iterator<Item = &'r mut ObjectRecord<P>>,
    names: &[String],
) -> Result<(), Error> {
    let records: Vec<&mut ObjectRecord<P>> = records.collect();
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
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        let entry = HistoryEntry {
            value: r.try_get(2)?,
            timestamp: r.try_get(3)?,
            source_type: r.try_get(4)?,
            source_id: r.try_get(5)?,
        };
        entries.push((r.try_get(0)?, r.try_get(1)?, entry));
    }
    spoke_store::attach_history(records, names, entries);
    Ok(())
}

async fn read_in<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    keys: &ReadKeys,
    options: ReadOptions<'_>,
) -> Result<Vec<Option<StoredRecord>>, Error> {
    let archived = options.archived_condition();
    let mut out: Vec<Option<StoredRecord>> = match keys {
        ReadKeys::Ids(ids) => {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT {COLUMNS} FROM objects WHERE id = ANY($1)
                 AND (portal_id, object_type) IS NOT DISTINCT FROM ($2::BIGINT, $3::TEXT)
                 AND {archived}"
            );
            let mut found = HashMap::new();
            for r in db::query(c, &sql, &[ids, &portal.0, &object_type]).await? {
                let record = row_to_stored(&r)?;
                found.insert(record.id, record);
            }
            ids.iter().map(|id| found.get(id).cloned()).collect()
        }
        ReadKeys::Unique { property, values } => {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let rows = if !options.archived {
                // One probe of each index per value, whatever the statistics: the holder is a
                // scalar subquery (`u.value = ANY($4)` would let the planner, before a fresh
                // table has statistics, filter every unique value of the type instead).
                db::query(
                    c,
                    "SELECT o.id, o.properties, o.created_at, o.updated_at, o.archived_at,
                     o.version, k.value
                     FROM unnest($4::TEXT[]) AS k(value)
                     JOIN objects o ON o.id = (SELECT u.object_id FROM unique_values u
                         WHERE u.portal_id = $1 AND u.object_type = $2 AND u.property = $3
                         AND u.value = k.value)
                     WHERE (o.portal_id, o.object_type) IS NOT DISTINCT FROM ($1::BIGINT, $2::TEXT)
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
                found.insert(value, row_to_stored(r)?);
            }
            values.iter().map(|v| found.get(v).cloned()).collect()
        }
    };
    load_history(c, out.iter_mut().flatten(), options.history).await?;
    Ok(out)
}

async fn list_in<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
    after: Option<ObjectId>,
    limit: usize,
    options: ReadOptions<'_>,
) -> Result<Vec<StoredRecord>, Error> {
    let archived = options.archived_condition();
    // `(object_type, id) > ($2, $3) AND object_type <= $2` is `object_type = $2 AND id > $3`,
    // written so that only `objects_by_type` can give the rows in order: a range scan of
    // the type's records from `after`, whatever the statistics. With the plain form, once
    // `ANALYZE` has seen that one type is half the table, the planner walks the primary key
    // from `after` and filters by type, which reads every record of the other types in
    // between (38 ms instead of 2.5 ms for a page of contacts that crosses the 11,000
    // companies of the benchmark, measured).
    let sql = format!(
        "SELECT {COLUMNS} FROM objects
         WHERE portal_id = $1 AND (object_type, id) > ($2::TEXT, $3::BIGINT)
         AND object_type <= $2::TEXT AND {archived}
         ORDER BY object_type, id LIMIT $4"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut records = db::query(
        c,
        &sql,
        &[&portal.0, &object_type, &after.unwrap_or(0), &limit],
    )
    .await?
    .iter()
    .map(row_to_stored)
    .collect::<Result<Vec<_>, _>>()?;
    load_history(c, records.iter_mut(), options.history).await?;
    Ok(records)
}

async fn fetch_in<C: GenericClient>(
    c: &C,
    read: &RecordRead<'_>,
) -> Result<Vec<Option<StoredRecord>>, Error> {
    let (portal, object_type, options) = (read.portal, read.object_type, read.options);
    match &read.selection {
        Selection::Keys(keys) => read_in(c, portal, object_type, keys, options).await,
        Selection::Page { after, limit } => {
            let records = list_in(c, portal, object_type, *after, *limit, options).await?;
            Ok(records.into_iter().map(Some).collect())
        }
    }
}

/// A read-only transaction whose statements all see one snapshot.
async fn snapshot(client: &mut Object) -> Result<Transaction<'_>, Error> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

#[async_trait]
impl ObjectStore for PostgresStore {
    async fn write_objects(
        &self,
        ctx: &WriteContext,
        batch: RecordBatch,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        let n = batch.len();
        let out = self
            .write(
                TxMode::RECORDS,
                (ctx, batch, &self.inner.listeners),
                |tx, (ctx, batch, cache)| {
                    Box::pin(crate::batch::write_batch(tx, cache, ctx, batch))
                },
            )
            .await?;
        self.wrote(n);
        Ok(out)
    }

    async fn archive_records(&self, archive: RecordArchive<'_>) -> StoreResult<()> {
        let RecordArchive {
            portal,
            ids,
            now,
            source,
            ..
        } = archive;
        self.write(
            TxMode::RECORDS,
            (archive.object_type, ids, source),
            |tx, (t, ids, source)| Box::pin(archive_ids(tx, portal, t, ids, now, source)),
        )
        .await
    }

    /// On a pooled connection; with history, inside a read-only transaction, so that
    /// records and history come from one snapshot.
    async fn fetch_records(&self, read: RecordRead<'_>) -> StoreResult<Vec<Option<StoredRecord>>> {
        let mut client = self.client().await.map_err(into_store)?;
        if read.options.history.is_empty() {
            return fetch_in(&client, &read).await.map_err(into_store);
        }
        async {
            let tx = snapshot(&mut client).await?;
            let out = fetch_in(&tx, &read).await?;
            tx.commit().await?;
            Ok(out)
        }
        .await
        .map_err(into_store)
    }

    async fn search_records(&self, search: RecordSearch<'_>) -> StoreResult<SearchPage> {
        let compiled = self.compile_search(&search).await?;
        let cacheable = spoke_store::totals::cacheable(search.query);
        let mut client = self.client().await.map_err(into_store)?;
        async {
            // The count and the page from one snapshot.
            let tx = snapshot(&mut client).await?;
            let (total, rows) = crate::totals::total_and_page(
                &tx,
                &self.inner.counts,
                search.portal,
                search.object_type,
                cacheable,
                &compiled,
            )
            .await?;
            let records = rows
                .iter()
                .map(row_to_stored)
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
}

impl PostgresStore {
    /// Compiles a search, first indexing the properties it could probe that are not
    /// complete yet (`value_index`'s lazy indexing), unless another process completed them:
    /// one transaction per step, so that writers wait for one step at most.
    async fn compile_search(&self, search: &RecordSearch<'_>) -> StoreResult<Compiled> {
        let (portal, object_type) = (search.portal, search.object_type);
        spoke_store::sql_search::compile_indexing(
            &crate::search::Postgres,
            search,
            &self.inner.indexed,
            |listings| async move {
                let complete = async {
                    let client = self.client().await?;
                    crate::value_index::read_complete(&client, portal, object_type).await
                }
                .await
                .map_err(into_store)?;
                let missing: Vec<(String, Part)> = listings
                    .into_iter()
                    .filter(|l| !complete.contains(l))
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                loop {
                    let complete = self
                        .write(
                            TxMode::RECORDS,
                            (object_type.to_owned(), &missing),
                            move |tx, (ty, missing)| {
                                Box::pin(async move {
                                    let complete =
                                        crate::value_index::index_step(tx, portal, ty, missing)
                                            .await?;
                                    Ok(Finish::Commit(complete))
                                })
                            },
                        )
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
