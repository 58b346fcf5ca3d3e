//! Record writes (create, update, upsert): the reads a batch's [`Plan`] asks for, the ids it
//! needs, and its decision written with one multi-row statement per table. What each item
//! does is decided in `spoke_store::plan`; this module owns only the SQL, the locks and
//! what makes a transaction run again.
//!
//! Deciding item by item against the database cost four or five round trips per record.
//! Instead a batch:
//!
//! 1. reads what the plan asks for, in a few statements: the records it names, locked in
//!    ascending id order in one statement (so batches over the same records queue instead
//!    of deadlocking); then who holds each unique value it looks up or sets, and which
//!    association targets are live, sent together. A unique value can move to another
//!    record between the lookup and the lock, so holders are read again once the records
//!    are locked (a locked record's values cannot change), and the plan asks for any new
//!    holder to be locked too;
//! 2. lets the plan decide every item in memory;
//! 3. takes ids from the sequence for the records it creates (only for those, ascending in
//!    item order), and writes the final state with one multi-row statement per kind of
//!    change, sent together (pipelined) on the transaction's connection: one `INSERT` of the
//!    new records, one `UPDATE` of the changed ones, one `INSERT` each for unique values and
//!    history rows.
//!
//! A batch of 100 new contacts is thus five round trips (`BEGIN`, the unique-value lookup,
//! the ids, the writes, `COMMIT`) instead of about 400. (Taking the ids inside one
//! statement that also inserts everything, a chain of data-modifying CTEs, saves a round
//! trip but cost the server 5-10% more than the separate statements, measured.)
//!
//! Concurrent writers in other processes are handled as before (see the crate docs): a
//! record is only changed under its row lock, and a unique value is taken by inserting its
//! key, so a writer that took it first makes the insert fail and the whole transaction run
//! again, this time seeing that writer's record.

use std::collections::HashSet;

use deadpool_postgres::Transaction;
use spoke_core::ObjectId;
use spoke_store::plan::{Decided, Key, Plan, Reads, Snapshot, Versioned};
use spoke_store::value_index::{Changes, Listed};
use spoke_store::webhooks::ListenerCache;
use spoke_store::{ItemResult, RecordBatch, Upserted, WriteContext};
use tokio_postgres::error::SqlState;

use crate::objects::{row_to_record, to_json, COLUMNS};
use crate::{db, Error, Finish};

/// Runs one batch: reads what its plan asks for, takes ids for the records it creates and,
/// unless an atomic batch stopped, writes the decision (and the links of the records
/// created). A stopped batch is rolled back, its outcomes still saying which item failed.
pub(crate) async fn write_batch(
    tx: &Transaction<'_>,
    cache: &ListenerCache,
    ctx: &WriteContext,
    batch: &RecordBatch,
) -> Result<Finish<Vec<ItemResult<Upserted>>>, Error> {
    // First, before any row lock (`value_index::listed`).
    let indexed = crate::value_index::listed(tx, ctx.portal, &ctx.object_type).await?;
    if let RecordBatch::Create(items) = batch {
        // The new records are nobody else's yet; the targets whose links get pruned are.
        let mut exclusive = Vec::new();
        for a in items.iter().flat_map(|i| &i.associations) {
            for t in &a.types {
                crate::associations::add_exclusive(&mut exclusive, 0, a.to_id, t);
            }
        }
        crate::associations::prelock_exclusive(tx, &exclusive).await?;
    }
    let mut plan = Plan::new(ctx, batch);
    while let Some(reads) = plan
        .reads()
        .map_err(|_| Error::Retry("a unique value kept moving while it was looked up"))?
    {
        plan.learn(read(tx, ctx, &reads).await?);
    }
    let mut decided = plan.decide();
    take_ids(tx, &mut decided).await?;
    if decided.stopped() {
        return Ok(Finish::Rollback(decided.outcomes()));
    }
    // Who listens (webhooks and journal, one statement) and the totals bump are sent
    // pipelined with the writes: no round trip of their own, so a write to a portal without
    // listeners costs what it cost before either existed. The bump follows the record
    // writes (a unique-value conflict waits before this transaction holds its counter row)
    // and precedes the links, events and the journal's per-app advisory locks, in every
    // transaction that bumps (see `objects::archive_ids`): one lock order, no deadlock. It
    // holds the counter row (one of 64 per type) for those last statements too.
    let (written, listeners, bumped) = tokio::join!(
        biased;
        write(tx, ctx, &decided, &indexed),
        crate::webhooks::listeners(tx, Some(cache), ctx.portal),
        crate::totals::bump(tx, ctx.portal, &ctx.object_type)
    );
    written?;
    let listeners = listeners?;
    bumped?;
    let links = crate::associations::write_links(tx, ctx.portal, &decided.links()).await?;
    crate::webhooks::record_events(tx, &listeners, ctx, &decided, &links).await?;
    Ok(Finish::Commit(decided.outcomes()))
}

/// One round of reads: the records first (locked), then who holds the values and which
/// targets are live, pipelined.
async fn read(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    reads: &Reads<'_>,
) -> Result<Snapshot, Error> {
    let records = lock(tx, ctx, &reads.ids, &reads.held).await?;
    let targets: Vec<ObjectId> = reads.live.iter().map(|(_, id)| *id).collect();
    let live = async {
        if targets.is_empty() {
            return Ok(HashSet::new());
        }
        crate::associations::live_among(tx, ctx.portal, &targets).await
    };
    let (holders, live) = tokio::join!(biased; holders(tx, ctx, &reads.holders), live);
    Ok(Snapshot {
        records,
        holders: holders?,
        live: live?,
    })
}

/// Who holds `keys`.
async fn holders(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    keys: &[Key<'_>],
) -> Result<Vec<(String, String, ObjectId)>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (names, values) = split_keys(keys);
    let sql = format!(
        "SELECT k.property, k.value, {HOLDER} FROM unnest($3::TEXT[], $4::TEXT[]) AS k(property, value)"
    );
    let rows = db::query(
        tx,
        &sql,
        &[&ctx.portal.0, &ctx.object_type, &names, &values],
    )
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let holder: Option<ObjectId> = r.try_get(2)?;
        if let Some(id) = holder {
            out.push((r.try_get(0)?, r.try_get(1)?, id));
        }
    }
    Ok(out)
}

/// Takes ids from the sequence for the new records, ascending in creation order, as
/// inserting them one by one would. Only records actually created consume one.
async fn take_ids(tx: &Transaction<'_>, decided: &mut Decided<'_>) -> Result<(), Error> {
    let count = decided.created().count();
    if count == 0 {
        return Ok(());
    }
    let mut ids: Vec<ObjectId> = db::query_ids(
        tx,
        "SELECT nextval(pg_get_serial_sequence('objects', 'id'))
         FROM generate_series(1, $1::BIGINT)",
        &[&i64::try_from(count).unwrap_or(i64::MAX)],
    )
    .await?;
    ids.sort_unstable();
    decided
        .set_ids(&ids)
        .map_err(|e| Error::Data(format!("the sequence: {e}")))
}

/// Writes the batch's final state: what running its items one by one would have left.
async fn write(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    decided: &Decided<'_>,
    indexed: &Listed,
) -> Result<(), Error> {
    let mut created = RecordColumns::default();
    for r in decided.created() {
        created.push(r.id, to_json(r.properties)?, r.version);
    }
    let mut changed = RecordColumns::default();
    for r in decided.changed() {
        changed.push(r.id, to_json(r.properties)?, r.version);
    }
    let (freed_ids, freed_names): (Vec<ObjectId>, Vec<&str>) = decided.freed().unzip();
    let (mut taken_ids, mut taken_names, mut taken_values) = (Vec::new(), Vec::new(), Vec::new());
    for (id, property, value) in decided.taken() {
        taken_ids.push(id);
        taken_names.push(property);
        taken_values.push(value);
    }
    // History of new records, and of stored ones.
    let mut fresh = HistoryColumns::default();
    let mut later = HistoryColumns::default();
    for h in decided.history() {
        let columns = if h.new { &mut fresh } else { &mut later };
        for (name, value) in h.changes {
            columns.ids.push(h.id);
            columns.names.push(name);
            columns.versions.push(h.version);
            columns.values.push(value);
        }
    }
    // Freed before taken: a value may move between two records of the batch. This is
    // the one statement that must finish before another starts, and it is needed only
    // when an update changes a unique property. The rows are found one index probe per
    // (record, property) and deleted by their `ctid`: a join of the pairs with
    // `unique_values` is planned, before the table has statistics, as a scan of the
    // whole table (10 ms instead of 0.4 ms at 20,000 values, measured).
    if !freed_ids.is_empty() {
        db::execute(
            tx,
            "DELETE FROM unique_values WHERE ctid = ANY(ARRAY(
                 SELECT v.ctid FROM unnest($1::BIGINT[], $2::TEXT[]) AS t(object_id, property)
                 CROSS JOIN LATERAL (SELECT u.ctid FROM unique_values u
                     WHERE u.object_id = t.object_id AND u.property = t.property OFFSET 0) v))",
            &[&freed_ids, &freed_names],
        )
        .await?;
    }
    let insert = async {
        if created.ids.is_empty() {
            return Ok(0);
        }
        db::execute(
            tx,
            "INSERT INTO objects
             (id, portal_id, object_type, properties, version, created_at, updated_at)
             SELECT t.id, $1::BIGINT, $2::TEXT, t.properties, t.version, $3::BIGINT, $3::BIGINT
             FROM unnest($4::BIGINT[], $5::TEXT[], $6::BIGINT[]) AS t(id, properties, version)",
            &[
                &ctx.portal.0,
                &ctx.object_type,
                &ctx.now,
                &created.ids,
                &created.json,
                &created.versions,
            ],
        )
        .await
    };
    let update = async {
        if changed.ids.is_empty() {
            return Ok(0);
        }
        db::execute(
            tx,
            "UPDATE objects AS o SET properties = t.properties, version = t.version,
             updated_at = $1
             FROM unnest($2::BIGINT[], $3::TEXT[], $4::BIGINT[]) AS t(id, properties, version)
             WHERE o.id = t.id",
            &[&ctx.now, &changed.ids, &changed.json, &changed.versions],
        )
        .await
    };
    let take = async {
        if taken_ids.is_empty() {
            return Ok(0);
        }
        db::execute(
            tx,
            "INSERT INTO unique_values (portal_id, object_type, property, value, object_id)
             SELECT $1::BIGINT, $2::TEXT, t.property, t.value, t.object_id
             FROM unnest($3::BIGINT[], $4::TEXT[], $5::TEXT[]) AS t(object_id, property, value)",
            &[
                &ctx.portal.0,
                &ctx.object_type,
                &taken_ids,
                &taken_names,
                &taken_values,
            ],
        )
        .await
    };
    // A record's history rows are keyed by its id and its version, which only grows.
    // SQLite's backend writes them with `INSERT OR REPLACE`, so an existing record's rows
    // are written the same way here. A record this batch creates has none (its id is
    // new), so its rows go in without conflict handling, which would double the cost of
    // the largest insert of a create (about 1,000 rows per 100 records).
    let history_of_new = fresh.insert(tx, ctx, "");
    let history = later.insert(
        tx,
        ctx,
        " ON CONFLICT (object_id, name, version) DO UPDATE SET value = EXCLUDED.value,
         timestamp = EXCLUDED.timestamp, source_type = EXCLUDED.source_type,
         source_id = EXCLUDED.source_id",
    );
    // Pipelined: after a failure the server refuses the statements behind it
    // ("transaction is aborted"). They need not run in this order (a statement not yet
    // prepared on this connection goes out a round trip later), so the cause is the
    // error that is not such a refusal (a unique violation to retry on, say).
    // The value index: rows of new records cannot be there yet; a stored record's are
    // deleted before they are inserted.
    let fresh_values = Changes::of_decision_split(decided, true, indexed);
    let later_values = Changes::of_decision_split(decided, false, indexed);
    let index = async {
        crate::value_index::apply(tx, ctx.portal, &ctx.object_type, &fresh_values, "").await?;
        crate::value_index::apply(
            tx,
            ctx.portal,
            &ctx.object_type,
            &later_values,
            " ON CONFLICT DO NOTHING",
        )
        .await?;
        Ok::<_, Error>(0)
    };
    let (a, b, c, d, e, f) =
        tokio::join!(biased; insert, update, take, history_of_new, history, index);
    let mut refused = None;
    for result in [a, b, c, d, e, f] {
        match result {
            Err(e) if e.code() == Some(&SqlState::IN_FAILED_SQL_TRANSACTION) => {
                if refused.is_none() {
                    refused = Some(e);
                }
            }
            other => {
                other?;
            }
        }
    }
    refused.map_or(Ok(()), Err)
}

/// History rows as columns for `unnest`: the record, property, version, value.
#[derive(Default)]
struct HistoryColumns<'a> {
    ids: Vec<ObjectId>,
    names: Vec<&'a str>,
    versions: Vec<i64>,
    values: Vec<&'a str>,
}

impl HistoryColumns<'_> {
    /// Inserts the rows, with `on_conflict` appended to the statement.
    async fn insert(
        &self,
        tx: &Transaction<'_>,
        ctx: &WriteContext,
        on_conflict: &str,
    ) -> Result<u64, Error> {
        if self.ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "INSERT INTO property_history
             (object_id, name, version, value, timestamp, source_type, source_id)
             SELECT t.object_id, t.name, t.version, t.value, $1::BIGINT, $2::TEXT, $3::TEXT
             FROM unnest($4::BIGINT[], $5::TEXT[], $6::BIGINT[], $7::TEXT[])
                 AS t(object_id, name, version, value){on_conflict}"
        );
        db::execute(
            tx,
            &sql,
            &[
                &ctx.now,
                &ctx.source.source_type,
                &ctx.source.source_id,
                &self.ids,
                &self.names,
                &self.versions,
                &self.values,
            ],
        )
        .await
    }
}

/// Records as columns for `unnest`: ids, properties JSON, versions.
#[derive(Default)]
struct RecordColumns {
    ids: Vec<ObjectId>,
    json: Vec<String>,
    versions: Vec<i64>,
}

impl RecordColumns {
    fn push(&mut self, id: ObjectId, json: String, version: i64) {
        self.ids.push(id);
        self.json.push(json);
        self.versions.push(version);
    }
}

/// The holder of the unique value `k.property`, `k.value` of the portal `$1` and the type
/// `$2`, as a scalar subquery: one probe of the primary key per key, whatever the
/// statistics. (`property = ANY(..) AND value = ANY(..)` is not: without statistics the
/// planner takes `portal_id` and `object_type` for selective, uses only them as index
/// condition and filters every unique value of the type, 7.5 ms instead of 0.3 ms for 100
/// keys among 20,000.)
const HOLDER: &str = "(SELECT u.object_id FROM unique_values u WHERE u.portal_id = $1
    AND u.object_type = $2 AND u.property = k.property AND u.value = k.value)";

/// `keys` without repeats, as two parallel lists (names, values) for `unnest`.
fn split_keys<'k>(keys: &[(&'k str, &'k str)]) -> (Vec<&'k str>, Vec<&'k str>) {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().unzip()
}

/// Locks, in ascending id order and in one statement, the live records of the batch's
/// portal and type with one of `ids` or holding one of `keys`, and returns them as they are
/// now (a row a concurrent writer changed is returned as that writer left it). Taking every
/// lock of a batch at once, in one global order, makes two batches over the same records
/// queue instead of deadlocking (a deadlock costs a second of `deadlock_timeout`).
///
/// Only `id` can drive the scan: portal and type are compared with `IS NOT DISTINCT FROM`
/// (the same as `=` on these NOT NULL columns), which no index serves. Otherwise, before a
/// fresh table has statistics, the planner takes `portal_id = .. AND object_type = ..` for a
/// rare pair and reads every record of the type through `objects_by_type` instead of
/// probing the primary key once per id.
async fn lock(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    ids: &[ObjectId],
    keys: &[(&str, &str)],
) -> Result<Vec<Versioned>, Error> {
    if ids.is_empty() && keys.is_empty() {
        return Ok(Vec::new());
    }
    let (names, values) = split_keys(keys);
    let sql = format!(
        "SELECT {COLUMNS} FROM objects
         WHERE id = ANY($3::BIGINT[] || ARRAY(
             SELECT {HOLDER} FROM unnest($4::TEXT[], $5::TEXT[]) AS k(property, value)))
         AND (portal_id, object_type) IS NOT DISTINCT FROM ($1::BIGINT, $2::TEXT)
         AND archived_at IS NULL
         ORDER BY id FOR UPDATE"
    );
    db::query(
        tx,
        &sql,
        &[&ctx.portal.0, &ctx.object_type, &ids, &names, &values],
    )
    .await?
    .iter()
    .map(row_to_record)
    .collect()
}
