//! Record writes (create, update, upsert) decided in memory and written with one multi-row
//! statement per table.
//!
//! SQLite's backend decides a batch item by item, each item seeing what the earlier ones
//! wrote. Doing the same here cost four or five round trips per record. Instead a batch:
//!
//! 1. reads everything its outcomes depend on, in a few statements: the records it names,
//!    locked in ascending id order in one statement (so batches over the same records queue
//!    instead of deadlocking); who holds each unique value it looks up or sets; which
//!    association targets are live;
//! 2. decides every item in order in a [`Plan`], exactly as the item-by-item loop would: an
//!    item sees the values earlier items freed or took, the records they created (an upsert
//!    of the same value twice updates the record the first one created) and the properties
//!    they changed;
//! 3. takes ids from the sequence for the records it creates (only for those, ascending in
//!    item order, as the loop would), and writes the final state with one multi-row
//!    statement per kind of change, sent together (pipelined) on the transaction's
//!    connection: one `INSERT` of the new records, one `UPDATE` of the changed ones, one
//!    `INSERT` each for unique values and history rows.
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

use std::collections::{BTreeMap, HashMap, HashSet};

use deadpool_postgres::Transaction;
use spoke_core::{ObjectId, ObjectRecord};
use spoke_store::{
    ItemFailure, ItemResult, NewAssociation, NewObject, ObjectPatch, Target, UpsertItem, Upserted,
    WriteContext,
};
use tokio_postgres::error::SqlState;

use crate::objects::{row_to_record, to_json, Row, COLUMNS};
use crate::{db, Error, Finish};

/// Who holds a unique value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A stored record.
    Stored(ObjectId),
    /// The record of `Plan::drafts[i]` that this batch creates.
    New(usize),
}

/// A record this batch writes: a stored one (locked) or a new one, as the items so far left it.
struct Draft {
    /// Its id is 0 for a new record until ids are taken.
    record: ObjectRecord,
    version: i64,
    new: bool,
    /// Changed by an item (a stored record then needs its row rewritten).
    written: bool,
    /// Unique properties the batch wrote, with the value each was left with ("" for none).
    unique: BTreeMap<String, String>,
}

/// One item's outcome, before new records have ids.
enum Decided {
    /// The record as this item left it (a later item may change the draft further).
    Record(usize, ObjectRecord),
    Conflict {
        property: String,
        value: String,
        holder: Holder,
    },
    Failed(ItemFailure),
}

impl Decided {
    /// Whether an atomic batch stops at this item (as `push_outcome` decides in SQLite).
    fn stops_atomic(&self) -> bool {
        matches!(
            self,
            Decided::Conflict { .. } | Decided::Failed(ItemFailure::AssociationTarget { .. })
        )
    }
}

/// A history row to write: the draft, its version, the property and its value.
struct HistoryRow {
    draft: usize,
    version: i64,
    name: String,
    value: String,
}

/// What one batch does, decided in memory from what it read.
struct Plan<'c> {
    ctx: &'c WriteContext,
    drafts: Vec<Draft>,
    /// Stored records locked by this batch (live, of the batch's portal and type): draft index.
    stored: HashMap<ObjectId, usize>,
    /// Who holds each unique value the batch looked up (every value its items name or set),
    /// as the items so far left it. Absent means free.
    holders: HashMap<(String, String), Holder>,
    history: Vec<HistoryRow>,
    /// Live association targets of the records created (id, type).
    live: HashSet<(ObjectId, String)>,
}

impl<'c> Plan<'c> {
    /// Decides items in order, stopping an atomic batch at its first item that fails (as
    /// SQLite's item-by-item loop does). Returns each decision with what `decide` adds to it,
    /// and whether the batch stopped.
    fn decide_all<T, R>(
        &mut self,
        items: impl IntoIterator<Item = T>,
        mut decide: impl FnMut(&mut Self, T) -> (Decided, R),
    ) -> (Vec<(Decided, R)>, bool) {
        let mut decided = Vec::new();
        for item in items {
            let (d, extra) = decide(self, item);
            let stops = self.ctx.atomic && d.stops_atomic();
            decided.push((d, extra));
            if stops {
                return (decided, true);
            }
        }
        (decided, false)
    }

    fn new(ctx: &'c WriteContext) -> Self {
        Self {
            ctx,
            drafts: Vec::new(),
            stored: HashMap::new(),
            holders: HashMap::new(),
            history: Vec::new(),
            live: HashSet::new(),
        }
    }

    fn add_stored(&mut self, row: Row) {
        if self.stored.contains_key(&row.record.id) {
            return;
        }
        self.stored.insert(row.record.id, self.drafts.len());
        self.drafts.push(Draft {
            record: row.record,
            version: row.version,
            new: false,
            written: false,
            unique: BTreeMap::new(),
        });
    }

    fn holder_of_draft(&self, draft: usize) -> Holder {
        match self.drafts.get(draft) {
            Some(d) if !d.new => Holder::Stored(d.record.id),
            _ => Holder::New(draft),
        }
    }

    /// The first unique value in `props` (in `unique_properties` order) held by a record
    /// other than `me`.
    fn conflict(&self, props: &BTreeMap<String, String>, me: Option<Holder>) -> Option<Decided> {
        for property in &self.ctx.unique_properties {
            let Some(value) = props.get(property).filter(|v| !v.is_empty()) else {
                continue;
            };
            if let Some(&holder) = self.holders.get(&(property.clone(), value.clone())) {
                if Some(holder) != me {
                    return Some(Decided::Conflict {
                        property: property.clone(),
                        value: value.clone(),
                        holder,
                    });
                }
            }
        }
        None
    }

    /// Points the unique index at `me` for every unique property `changes` touches: the
    /// values it held for them are freed (`fresh`: it holds none yet), the new non-empty ones
    /// taken.
    fn index_unique(
        &mut self,
        me: Holder,
        draft: usize,
        changes: &BTreeMap<String, String>,
        fresh: bool,
    ) {
        let mut seen = HashSet::new();
        for property in &self.ctx.unique_properties {
            if !seen.insert(property.as_str()) {
                continue;
            }
            let Some(value) = changes.get(property) else {
                continue;
            };
            if !fresh {
                self.holders
                    .retain(|(p, _), holder| !(p == property && *holder == me));
            }
            if !value.is_empty() {
                self.holders.insert((property.clone(), value.clone()), me);
            }
            if let Some(d) = self.drafts.get_mut(draft) {
                d.unique.insert(property.clone(), value.clone());
            }
        }
    }

    fn add_history(&mut self, draft: usize, version: i64, changes: &BTreeMap<String, String>) {
        self.history
            .extend(changes.iter().map(|(name, value)| HistoryRow {
                draft,
                version,
                name: name.clone(),
                value: value.clone(),
            }));
    }

    /// A new record, unless one of its unique values is taken or an association target is
    /// not live.
    fn create(
        &mut self,
        properties: BTreeMap<String, String>,
        associations: &[NewAssociation],
    ) -> Decided {
        if let Some(conflict) = self.conflict(&properties, None) {
            return conflict;
        }
        for a in associations {
            if !self.live.contains(&(a.to_id, a.to_type.clone())) {
                return Decided::Failed(ItemFailure::AssociationTarget {
                    object_type: a.to_type.clone(),
                    id: a.to_id,
                });
            }
        }
        let draft = self.drafts.len();
        let now = self.ctx.now;
        self.drafts.push(Draft {
            record: ObjectRecord {
                id: 0,
                properties: BTreeMap::new(),
                created_at: now,
                updated_at: now,
                archived_at: None,
                history: BTreeMap::new(),
            },
            version: 1,
            new: true,
            written: true,
            unique: BTreeMap::new(),
        });
        self.index_unique(Holder::New(draft), draft, &properties, true);
        self.add_history(draft, 1, &properties);
        let record = match self.drafts.get_mut(draft) {
            Some(d) => {
                d.record.properties = properties;
                d.record.clone()
            }
            None => return Decided::Failed(ItemFailure::NotFound),
        };
        Decided::Record(draft, record)
    }

    /// Applies `changes` to a draft, unless one of their unique values is held by another
    /// record. Only real changes make history, but the version and the modification date
    /// move on every write (as in SQLite).
    fn patch(&mut self, draft: usize, changes: BTreeMap<String, String>) -> Decided {
        let me = self.holder_of_draft(draft);
        if let Some(conflict) = self.conflict(&changes, Some(me)) {
            return conflict;
        }
        let now = self.ctx.now;
        let Some(d) = self.drafts.get_mut(draft) else {
            return Decided::Failed(ItemFailure::NotFound);
        };
        let changed = d.record.apply_changes(changes);
        d.version += 1;
        d.record.updated_at = now;
        d.written = true;
        let (version, record) = (d.version, d.record.clone());
        self.index_unique(me, draft, &changed, false);
        self.add_history(draft, version, &changed);
        Decided::Record(draft, record)
    }

    /// The draft a target names: a locked live record, or one created earlier in the batch.
    fn resolve(&self, target: &Target) -> Option<usize> {
        let holder = match target {
            Target::Id(id) => Holder::Stored(*id),
            Target::Unique { property, value } => {
                *self.holders.get(&(property.clone(), value.clone()))?
            }
        };
        match holder {
            Holder::Stored(id) => self.stored.get(&id).copied(),
            Holder::New(draft) => Some(draft),
        }
    }

    /// Holders of `keys` held by records not locked yet, that have not been tried either.
    fn unlocked_holders(&self, keys: &[(&str, &str)], tried: &HashSet<ObjectId>) -> Vec<ObjectId> {
        let mut ids: Vec<ObjectId> = keys
            .iter()
            .filter_map(|(p, v)| self.holders.get(&((*p).to_owned(), (*v).to_owned())))
            .filter_map(|h| match h {
                Holder::Stored(id) if !self.stored.contains_key(id) && !tried.contains(id) => {
                    Some(*id)
                }
                _ => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Reads who holds `keys`, replacing what was known.
    async fn load_holders(
        &mut self,
        tx: &Transaction<'_>,
        keys: &[(&str, &str)],
    ) -> Result<(), Error> {
        self.holders.clear();
        if keys.is_empty() {
            return Ok(());
        }
        let (names, values) = split_keys(keys);
        let sql = format!(
            "SELECT k.property, k.value, {HOLDER} FROM unnest($3::TEXT[], $4::TEXT[]) AS k(property, value)"
        );
        let rows = db::query(
            tx,
            &sql,
            &[&self.ctx.portal.0, &self.ctx.object_type, &names, &values],
        )
        .await?;
        for r in &rows {
            let holder: Option<ObjectId> = r.try_get(2)?;
            if let Some(id) = holder {
                self.holders
                    .insert((r.try_get(0)?, r.try_get(1)?), Holder::Stored(id));
            }
        }
        Ok(())
    }

    /// Locks the records `targets` name (by id, or by unique value) and learns who holds
    /// `keys` (which include the targets' values), so that every target resolves to a locked
    /// record: a unique value can move to another record between the lookup and the lock,
    /// so holders are read again once the records are locked (a locked record's values
    /// cannot change) and any new holder is locked too.
    async fn lock_targets(
        &mut self,
        tx: &Transaction<'_>,
        targets: &[&Target],
        keys: &[(&str, &str)],
    ) -> Result<(), Error> {
        let mut ids: Vec<ObjectId> = Vec::new();
        let mut target_keys: Vec<(&str, &str)> = Vec::new();
        for t in targets {
            match t {
                Target::Id(id) => ids.push(*id),
                Target::Unique { property, value } => {
                    target_keys.push((property.as_str(), value.as_str()))
                }
            }
        }
        let mut tried: HashSet<ObjectId> = ids.iter().copied().collect();
        let mut lock_keys = target_keys.clone();
        for _ in 0..3 {
            for row in lock(tx, self.ctx, &ids, &lock_keys).await? {
                tried.insert(row.record.id);
                self.add_stored(row);
            }
            self.load_holders(tx, keys).await?;
            ids = self.unlocked_holders(&target_keys, &tried);
            if ids.is_empty() {
                return Ok(());
            }
            tried.extend(ids.iter().copied());
            lock_keys.clear();
        }
        Err(Error::Retry(
            "a unique value kept moving while it was looked up",
        ))
    }

    /// The id of a draft's record (once new records have theirs).
    fn draft_id(&self, draft: usize) -> ObjectId {
        self.drafts.get(draft).map_or(0, |d| d.record.id)
    }

    /// The id a holder has once new records have theirs.
    fn id_of(&self, holder: Holder) -> ObjectId {
        match holder {
            Holder::Stored(id) => id,
            Holder::New(draft) => self.draft_id(draft),
        }
    }

    fn outcome(&self, decided: Decided) -> ItemResult<ObjectRecord> {
        match decided {
            Decided::Record(draft, mut record) => {
                record.id = self.draft_id(draft);
                Ok(record)
            }
            Decided::Conflict {
                property,
                value,
                holder,
            } => Err(ItemFailure::Conflict {
                property,
                value,
                existing_id: self.id_of(holder),
            }),
            Decided::Failed(f) => Err(f),
        }
    }

    /// Ends the batch: the new records take their ids (also in an atomic batch that
    /// `stopped`, as inserting them one by one would have), then any batch but that one
    /// writes its final state.
    async fn finish(&mut self, tx: &Transaction<'_>, stopped: bool) -> Result<(), Error> {
        self.take_ids(tx).await?;
        if !stopped {
            self.write(tx).await?;
        }
        Ok(())
    }

    /// Takes ids from the sequence for the new records, ascending in creation order, as
    /// inserting them one by one would. Only records actually created consume one.
    async fn take_ids(&mut self, tx: &Transaction<'_>) -> Result<(), Error> {
        let count = self.drafts.iter().filter(|d| d.new).count();
        if count == 0 {
            return Ok(());
        }
        let mut ids: Vec<ObjectId> = db::query(
            tx,
            "SELECT nextval(pg_get_serial_sequence('objects', 'id'))
             FROM generate_series(1, $1::BIGINT)",
            &[&i64::try_from(count).unwrap_or(i64::MAX)],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
        if ids.len() != count {
            return Err(Error::Data(format!(
                "asked the sequence for {count} ids, got {}",
                ids.len()
            )));
        }
        ids.sort_unstable();
        for (d, id) in self.drafts.iter_mut().filter(|d| d.new).zip(ids) {
            d.record.id = id;
        }
        Ok(())
    }

    /// Writes the batch's final state: what running its items one by one would have left.
    async fn write(&self, tx: &Transaction<'_>) -> Result<(), Error> {
        let ctx = self.ctx;
        let mut changed = Columns3::default();
        let mut created = Columns3::default();
        for d in self.drafts.iter().filter(|d| d.written) {
            let columns = if d.new { &mut created } else { &mut changed };
            columns.ids.push(d.record.id);
            columns.json.push(to_json(&d.record.properties)?);
            columns.versions.push(d.version);
        }
        // A stored record's old values of the unique properties it touched, and the values
        // the drafts hold now.
        let (mut freed_ids, mut freed_names) = (Vec::new(), Vec::new());
        let mut taken = UniqueColumns::default();
        for d in &self.drafts {
            for (property, value) in &d.unique {
                if !d.new {
                    freed_ids.push(d.record.id);
                    freed_names.push(property.as_str());
                }
                if !value.is_empty() {
                    taken.ids.push(d.record.id);
                    taken.names.push(property.as_str());
                    taken.values.push(value.as_str());
                }
            }
        }
        // History of new records, and of stored ones.
        let mut fresh = HistoryColumns::default();
        let mut later = HistoryColumns::default();
        for h in &self.history {
            let Some(d) = self.drafts.get(h.draft) else {
                continue;
            };
            let columns = if d.new { &mut fresh } else { &mut later };
            columns.ids.push(d.record.id);
            columns.names.push(h.name.as_str());
            columns.versions.push(h.version);
            columns.values.push(h.value.as_str());
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
            if taken.ids.is_empty() {
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
                    &taken.ids,
                    &taken.names,
                    &taken.values,
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
        let (a, b, c, d, e) = tokio::join!(biased; insert, update, take, history_of_new, history);
        let mut refused = None;
        for result in [a, b, c, d, e] {
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
}

/// Unique values as columns for `unnest`: the record, property, value.
#[derive(Default)]
struct UniqueColumns<'a> {
    ids: Vec<ObjectId>,
    names: Vec<&'a str>,
    values: Vec<&'a str>,
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

/// A record column triple for `unnest`: ids, properties JSON, versions.
#[derive(Default)]
struct Columns3 {
    ids: Vec<ObjectId>,
    json: Vec<String>,
    versions: Vec<i64>,
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
) -> Result<Vec<Row>, Error> {
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

/// The unique values `props` would take: (property, value) for each unique property it sets
/// to a non-empty value.
fn unique_keys<'a>(
    ctx: &'a WriteContext,
    props: &'a BTreeMap<String, String>,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    ctx.unique_properties.iter().filter_map(|p| {
        props
            .get(p)
            .filter(|v| !v.is_empty())
            .map(|v| (p.as_str(), v.as_str()))
    })
}

type Outcomes<T> = Result<Finish<Vec<ItemResult<T>>>, Error>;

pub(crate) async fn create_batch(
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

    let mut plan = Plan::new(ctx);
    let keys: Vec<(&str, &str)> = items
        .iter()
        .flat_map(|i| unique_keys(ctx, &i.properties))
        .collect();
    let targets: Vec<ObjectId> = items
        .iter()
        .flat_map(|i| i.associations.iter().map(|a| a.to_id))
        .collect();
    let live = async {
        if targets.is_empty() {
            return Ok(HashSet::new());
        }
        crate::associations::live_among(tx, ctx.portal, &targets).await
    };
    let (held, live) = tokio::join!(biased; plan.load_holders(tx, &keys), live);
    held?;
    plan.live = live?;

    let (decided, stopped) = plan.decide_all(items, |plan, item| {
        (plan.create(item.properties.clone(), &item.associations), ())
    });
    plan.finish(tx, stopped).await?;
    let out: Vec<_> = decided.into_iter().map(|(d, ())| plan.outcome(d)).collect();
    if stopped {
        return Ok(Finish::Rollback(out));
    }
    // Links once the records exist, in item order.
    let mut links: Vec<crate::associations::Link> = Vec::new();
    for (item, result) in items.iter().zip(&out) {
        let Ok(record) = result else {
            continue;
        };
        for a in &item.associations {
            for t in &a.types {
                links.push(((&ctx.object_type, record.id), (&a.to_type, a.to_id), t));
            }
        }
    }
    crate::associations::write_links(tx, ctx.portal, &links).await?;
    Ok(Finish::Commit(out))
}

pub(crate) async fn update_batch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    items: &[ObjectPatch],
) -> Outcomes<ObjectRecord> {
    let mut plan = Plan::new(ctx);
    let targets: Vec<&Target> = items.iter().map(|i| &i.target).collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for item in items {
        if let Target::Unique { property, value } = &item.target {
            keys.push((property, value));
        }
        keys.extend(unique_keys(ctx, &item.properties));
    }
    plan.lock_targets(tx, &targets, &keys).await?;

    let (decided, stopped) = plan.decide_all(items, |plan, item| {
        let d = match plan.resolve(&item.target) {
            Some(draft) => plan.patch(draft, item.properties.clone()),
            None => Decided::Failed(ItemFailure::NotFound),
        };
        (d, ())
    });
    plan.finish(tx, stopped).await?;
    let out: Vec<_> = decided.into_iter().map(|(d, ())| plan.outcome(d)).collect();
    if stopped {
        return Ok(Finish::Rollback(out));
    }
    Ok(Finish::Commit(out))
}

pub(crate) async fn upsert_batch(
    tx: &Transaction<'_>,
    ctx: &WriteContext,
    id_property: &str,
    items: &[UpsertItem],
) -> Outcomes<Upserted> {
    let mut plan = Plan::new(ctx);
    let targets: Vec<Target> = items
        .iter()
        .map(|i| Target::Unique {
            property: id_property.to_owned(),
            value: i.value.clone(),
        })
        .collect();
    let target_refs: Vec<&Target> = targets.iter().collect();
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for item in items {
        keys.push((id_property, &item.value));
        keys.extend(unique_keys(ctx, &item.properties));
    }
    plan.lock_targets(tx, &target_refs, &keys).await?;

    let (decided, stopped) = plan.decide_all(items.iter().zip(&targets), |plan, (item, target)| {
        // Update the record holding the value (possibly created by an earlier item), or
        // create it.
        match plan.resolve(target) {
            Some(draft) => (plan.patch(draft, item.properties.clone()), false),
            None => {
                let mut props = item.properties.clone();
                props.retain(|_, v| !v.is_empty());
                props.insert(id_property.to_owned(), item.value.clone());
                (plan.create(props, &[]), true)
            }
        }
    });
    plan.finish(tx, stopped).await?;
    let out: Vec<_> = decided
        .into_iter()
        .map(|(d, created)| plan.outcome(d).map(|record| Upserted { record, created }))
        .collect();
    if stopped {
        return Ok(Finish::Rollback(out));
    }
    Ok(Finish::Commit(out))
}
