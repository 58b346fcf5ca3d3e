//! The rules of a batch record write (create, update, upsert), decided once for every
//! backend: which item finds its record, which unique value conflicts, which association
//! target is missing, what a version and a history row are, and where an atomic batch stops.
//!
//! A backend runs a batch in one transaction in three steps, and owns only the SQL (and,
//! with several writers, the locks and retries):
//!
//! 1. **Read.** [`Plan::reads`] says what the decision depends on ([`Reads`]): live records
//!    by id or by a unique value they hold, who holds each unique value an item names or
//!    sets, which association targets are live. The backend reads them and hands them back
//!    ([`Plan::learn`]); it asks again until `reads` returns `None`. A backend with one
//!    writer is answered in one round; one with concurrent writers locks the records it
//!    reads and is asked again while a value it looked up moved to a record it has not
//!    locked yet (a locked record's values cannot change, so the rounds end).
//! 2. **Decide.** [`Plan::decide`] runs the items in order, in memory, each seeing what the
//!    earlier ones did: the values they freed or took, the records they created (an upsert
//!    of the same value twice updates the record the first one created) and the properties
//!    they changed. An atomic batch stops at its first item that conflicts or names a
//!    missing association target, and writes nothing; in a non-atomic one each item stands
//!    alone.
//! 3. **Write.** The backend gives the new records their ids, in creation order
//!    ([`Decided::set_ids`]), then writes the final state the [`Decided`] lists: the new
//!    records, the changed ones with their new version, the unique values freed and taken,
//!    the history rows and, for creates, the association links. Even a stopped batch gets
//!    its ids, since its outcomes name them (a conflict with a record created earlier in the
//!    batch reports that record's id).
//!
//! The decision is exactly what running the items one by one against the database would
//! do; only the number of statements differs.

use std::collections::{BTreeMap, HashMap, HashSet};

use spoke_core::{ObjectId, ObjectRecord};

use crate::{ItemFailure, ItemResult, LinkType, NewObject, RecordBatch, Upserted, WriteContext};

/// A stored record as a write reads it: values decoded, and its version.
#[derive(Debug, Clone)]
pub struct Versioned {
    pub record: ObjectRecord,
    pub version: i64,
}

/// A unique value: (property, value).
pub type Key<'a> = (&'a str, &'a str);

/// One link a create writes, both directions: from (type, id), to (type, id), the type.
pub type Link<'a> = ((&'a str, ObjectId), (&'a str, ObjectId), &'a LinkType);

/// What the decision depends on, for the backend to read in one round.
#[derive(Debug, Default)]
pub struct Reads<'a> {
    /// Live records of the batch's portal and type with these ids...
    pub ids: Vec<ObjectId>,
    /// ...and those holding these unique values (every one is also in `holders`). A
    /// backend with concurrent writers locks these records before it reads `holders`.
    pub held: Vec<Key<'a>>,
    /// Unique values of the batch's portal and type whose holders to read. The answer
    /// replaces what earlier rounds said.
    pub holders: Vec<Key<'a>>,
    /// Association targets, (type, id), to learn which are live records of the portal.
    pub live: Vec<(&'a str, ObjectId)>,
}

impl Reads<'_> {
    /// Whether the round has nothing to read.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
            && self.held.is_empty()
            && self.holders.is_empty()
            && self.live.is_empty()
    }
}

/// What the backend read for one [`Reads`].
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The live records asked for (by id or by a value they hold), as they are now.
    pub records: Vec<Versioned>,
    /// (property, value, holder) for each value asked for that a live record holds.
    pub holders: Vec<(String, String, ObjectId)>,
    /// (id, type) of live records among the targets asked for (more may be listed).
    pub live: HashSet<(ObjectId, String)>,
}

/// The values a batch looked up kept moving to records it had not read (locked) yet: the
/// backend should run the whole transaction again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsettled;

impl std::fmt::Display for Unsettled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a unique value kept moving while it was looked up")
    }
}

impl std::error::Error for Unsettled {}

/// Backends were given a different number of ids than records to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongIdCount {
    pub wanted: usize,
    pub got: usize,
}

impl std::fmt::Display for WrongIdCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} records to create, {} ids", self.wanted, self.got)
    }
}

impl std::error::Error for WrongIdCount {}

/// How many read rounds a batch may take before it gives up ([`Unsettled`]).
const MAX_ROUNDS: u32 = 3;

/// Who holds a unique value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// A stored record.
    Stored(ObjectId),
    /// The record of `drafts[i]` that this batch creates.
    New(usize),
}

/// A record the batch writes: a stored one or a new one, as the items so far left it.
struct Draft {
    /// Its id is 0 for a new record until ids are set.
    record: ObjectRecord,
    version: i64,
    new: bool,
    /// Changed by an item (a stored record then needs its row rewritten).
    written: bool,
    /// Unique properties the batch wrote, with the value each was left with ("" for none).
    unique: BTreeMap<String, String>,
    /// The outcome (index into `State::outcomes`) that shows this draft as it is now
    /// without a copy of it, and the history group whose changes are all of its values
    /// as they are now (a create's). A later write copies them before it changes the
    /// draft; most drafts are written once, so most never are.
    shown_by: Option<usize>,
    created_history: Option<usize>,
    /// A stored record's values as read, kept when an item first changes it: the value
    /// index (`value_index`) deletes the keys of the values it had.
    before: Option<BTreeMap<String, String>>,
}

/// The real changes of one write of a draft, at the version it made.
struct HistoryGroup {
    draft: usize,
    version: i64,
    /// `None`: every value of the draft as it is at the end (a create no later item
    /// changed; see `Draft::created_history`).
    changes: Option<BTreeMap<String, String>>,
}

/// One item's outcome, before new records have ids.
enum Decision {
    /// The record as this item left it: `None` while it is the draft as it is now (see
    /// `Draft::shown_by`), a copy once a later item changed the draft.
    Record(usize, Option<ObjectRecord>),
    Conflict {
        property: String,
        value: String,
        holder: Holder,
    },
    Failed(ItemFailure),
}

impl Decision {
    /// Whether an atomic batch stops at this item.
    fn stops_atomic(&self) -> bool {
        matches!(
            self,
            Decision::Conflict { .. } | Decision::Failed(ItemFailure::AssociationTarget { .. })
        )
    }
}

/// The records a batch writes and who holds the values it looks at, as its items so far
/// left them.
struct State<'c> {
    ctx: &'c WriteContext,
    drafts: Vec<Draft>,
    /// Stored records read (live, of the batch's portal and type): draft index.
    stored: HashMap<ObjectId, usize>,
    /// Who holds each unique value the batch looked up, by property then value. Absent
    /// means free.
    holders: HashMap<String, HashMap<String, Holder>>,
    /// Live association targets (id, type).
    live: HashSet<(ObjectId, String)>,
    history: Vec<HistoryGroup>,
    /// Each item's outcome so far, and whether it created its record.
    outcomes: Vec<(Decision, bool)>,
}

impl State<'_> {
    fn holder(&self, property: &str, value: &str) -> Option<Holder> {
        self.holders.get(property)?.get(value).copied()
    }

    fn set_holder(&mut self, property: String, value: String, holder: Holder) {
        self.holders
            .entry(property)
            .or_default()
            .insert(value, holder);
    }

    /// Before a draft changes: copies of what still shows it as it is now.
    fn detach(&mut self, draft: usize) {
        let Some(d) = self.drafts.get_mut(draft) else {
            return;
        };
        if let Some(i) = d.shown_by.take() {
            if let Some((Decision::Record(_, shown @ None), _)) = self.outcomes.get_mut(i) {
                *shown = Some(d.record.clone());
            }
        }
        if let Some(i) = d.created_history.take() {
            if let Some(h @ HistoryGroup { changes: None, .. }) = self.history.get_mut(i) {
                h.changes = Some(d.record.properties.clone());
            }
        }
    }

    /// Records an item's outcome; a record outcome shows its draft until it changes.
    fn push(&mut self, decision: Decision, created: bool) {
        if let Decision::Record(draft, None) = decision {
            if let Some(d) = self.drafts.get_mut(draft) {
                d.shown_by = Some(self.outcomes.len());
            }
        }
        self.outcomes.push((decision, created));
    }
    fn add_stored(&mut self, row: Versioned) {
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
            shown_by: None,
            created_history: None,
            before: None,
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
    fn conflict(&self, props: &BTreeMap<String, String>, me: Option<Holder>) -> Option<Decision> {
        for property in &self.ctx.unique_properties {
            let Some(value) = props.get(property).filter(|v| !v.is_empty()) else {
                continue;
            };
            if let Some(holder) = self.holder(property, value) {
                if Some(holder) != me {
                    return Some(Decision::Conflict {
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
                if let Some(held) = self.holders.get_mut(property) {
                    held.retain(|_, holder| *holder != me);
                }
            }
            if !value.is_empty() {
                self.set_holder(property.clone(), value.clone(), me);
            }
            if let Some(d) = self.drafts.get_mut(draft) {
                d.unique.insert(property.clone(), value.clone());
            }
        }
    }

    /// A new record, unless one of its unique values is taken or an association target is
    /// not live.
    fn create(
        &mut self,
        properties: BTreeMap<String, String>,
        item: Option<&NewObject>,
    ) -> Decision {
        if let Some(conflict) = self.conflict(&properties, None) {
            return conflict;
        }
        for a in item.map_or(&[][..], |i| &i.associations) {
            if !self.live.contains(&(a.to_id, a.to_type.clone())) {
                return Decision::Failed(ItemFailure::AssociationTarget {
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
            shown_by: None,
            created_history: Some(self.history.len()),
            before: None,
        });
        self.index_unique(Holder::New(draft), draft, &properties, true);
        self.history.push(HistoryGroup {
            draft,
            version: 1,
            changes: None,
        });
        match self.drafts.get_mut(draft) {
            Some(d) => {
                d.record.properties = properties;
                Decision::Record(draft, None)
            }
            None => Decision::Failed(ItemFailure::NotFound),
        }
    }

    /// Applies `changes` to a draft, unless one of their unique values is held by another
    /// record. Only real changes make history, but the version and the modification date
    /// move on every write.
    fn patch(&mut self, draft: usize, changes: BTreeMap<String, String>) -> Decision {
        let me = self.holder_of_draft(draft);
        if let Some(conflict) = self.conflict(&changes, Some(me)) {
            return conflict;
        }
        let now = self.ctx.now;
        self.detach(draft);
        let Some(d) = self.drafts.get_mut(draft) else {
            return Decision::Failed(ItemFailure::NotFound);
        };
        if !d.new && d.before.is_none() {
            d.before = Some(d.record.properties.clone());
        }
        let changed = d.record.apply_changes(changes);
        d.version += 1;
        d.record.updated_at = now;
        d.written = true;
        let version = d.version;
        self.index_unique(me, draft, &changed, false);
        self.history.push(HistoryGroup {
            draft,
            version,
            changes: Some(changed),
        });
        Decision::Record(draft, None)
    }

    /// The draft a target names: a live stored record read, or one created earlier in the
    /// batch.
    fn resolve(&self, target: Target<'_>) -> Option<usize> {
        let holder = match target {
            Target::Id(id) => Holder::Stored(id),
            Target::Key(property, value) => self.holder(property, value)?,
        };
        match holder {
            Holder::Stored(id) => self.stored.get(&id).copied(),
            Holder::New(draft) => Some(draft),
        }
    }
}

/// A record an item names, borrowed from the item.
#[derive(Clone, Copy)]
enum Target<'a> {
    Id(ObjectId),
    Key(&'a str, &'a str),
}

impl<'a> From<&'a crate::Target> for Target<'a> {
    fn from(t: &'a crate::Target) -> Self {
        match t {
            crate::Target::Id(id) => Target::Id(*id),
            crate::Target::Unique { property, value } => Target::Key(property, value),
        }
    }
}

/// The unique values `props` would take: (property, value) for each unique property it sets
/// to a non-empty value.
fn unique_keys<'a>(
    ctx: &'a WriteContext,
    props: &'a BTreeMap<String, String>,
) -> impl Iterator<Item = Key<'a>> + 'a {
    ctx.unique_properties.iter().filter_map(|p| {
        props
            .get(p)
            .filter(|v| !v.is_empty())
            .map(|v| (p.as_str(), v.as_str()))
    })
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v.dedup();
    v
}

/// A batch before its decision: what it has read so far.
pub struct Plan<'a> {
    batch: &'a RecordBatch,
    /// Every unique value the items name or set.
    keys: Vec<Key<'a>>,
    /// Those naming the record an item writes.
    target_keys: Vec<Key<'a>>,
    rounds: u32,
    /// Records asked for (by id) or read: a holder among them is not asked for again.
    tried: HashSet<ObjectId>,
    state: State<'a>,
}

impl<'a> Plan<'a> {
    /// A batch of the portal and type of `ctx`, with nothing read yet.
    pub fn new(ctx: &'a WriteContext, batch: &'a RecordBatch) -> Self {
        let (keys, target_keys) = match batch {
            RecordBatch::Create(items) => (
                items
                    .iter()
                    .flat_map(|i| unique_keys(ctx, &i.properties))
                    .collect(),
                Vec::new(),
            ),
            RecordBatch::Update(items) => {
                let mut keys = Vec::new();
                let mut target_keys = Vec::new();
                for item in items {
                    if let crate::Target::Unique { property, value } = &item.target {
                        let key = (property.as_str(), value.as_str());
                        keys.push(key);
                        target_keys.push(key);
                    }
                    keys.extend(unique_keys(ctx, &item.properties));
                }
                (keys, target_keys)
            }
            RecordBatch::Upsert { id_property, items } => {
                let mut keys = Vec::new();
                let mut target_keys = Vec::new();
                for item in items {
                    let key = (id_property.as_str(), item.value.as_str());
                    keys.push(key);
                    target_keys.push(key);
                    keys.extend(unique_keys(ctx, &item.properties));
                }
                (keys, target_keys)
            }
        };
        Self {
            batch,
            keys: sorted(keys),
            target_keys: sorted(target_keys),
            rounds: 0,
            tried: HashSet::new(),
            state: State {
                ctx,
                drafts: Vec::new(),
                stored: HashMap::new(),
                holders: HashMap::new(),
                live: HashSet::new(),
                history: Vec::new(),
                outcomes: Vec::new(),
            },
        }
    }

    /// What to read next, or `None` once the plan can decide.
    pub fn reads(&mut self) -> Result<Option<Reads<'a>>, Unsettled> {
        let round = self.rounds;
        self.rounds += 1;
        if round == 0 {
            let mut reads = Reads {
                held: self.target_keys.clone(),
                holders: self.keys.clone(),
                ..Reads::default()
            };
            match self.batch {
                RecordBatch::Create(items) => {
                    reads.live = items
                        .iter()
                        .flat_map(|i| &i.associations)
                        .map(|a| (a.to_type.as_str(), a.to_id))
                        .collect();
                }
                RecordBatch::Update(items) => {
                    reads.ids = sorted(
                        items
                            .iter()
                            .filter_map(|i| match i.target {
                                crate::Target::Id(id) => Some(id),
                                crate::Target::Unique { .. } => None,
                            })
                            .collect(),
                    );
                }
                RecordBatch::Upsert { .. } => {}
            }
            self.tried.extend(reads.ids.iter().copied());
            return Ok((!reads.is_empty()).then_some(reads));
        }
        let ids = self.unread_holders();
        if ids.is_empty() {
            return Ok(None);
        }
        if round >= MAX_ROUNDS {
            return Err(Unsettled);
        }
        self.tried.extend(ids.iter().copied());
        Ok(Some(Reads {
            ids,
            holders: self.keys.clone(),
            ..Reads::default()
        }))
    }

    /// Takes in what the backend read for the last [`reads`](Self::reads).
    pub fn learn(&mut self, snapshot: Snapshot) {
        for row in snapshot.records {
            self.tried.insert(row.record.id);
            self.state.add_stored(row);
        }
        self.state.holders.clear();
        for (property, value, id) in snapshot.holders {
            self.state.set_holder(property, value, Holder::Stored(id));
        }
        self.state.live.extend(snapshot.live);
    }

    /// Stored holders of target values that were neither read nor asked for.
    fn unread_holders(&self) -> Vec<ObjectId> {
        sorted(
            self.target_keys
                .iter()
                .filter_map(|(p, v)| self.state.holder(p, v))
                .filter_map(|h| match h {
                    Holder::Stored(id)
                        if !self.state.stored.contains_key(&id) && !self.tried.contains(&id) =>
                    {
                        Some(id)
                    }
                    _ => None,
                })
                .collect(),
        )
    }

    /// Decides every item in order.
    pub fn decide(self) -> Decided<'a> {
        let mut state = self.state;
        let atomic = state.ctx.atomic;
        let mut stopped = false;
        let mut push = |state: &mut State<'_>, d: Decision, created: bool| {
            let stops = atomic && d.stops_atomic();
            state.push(d, created);
            stopped = stops;
            !stops
        };
        match self.batch {
            RecordBatch::Create(items) => {
                for item in items {
                    let d = state.create(item.properties.clone(), Some(item));
                    if !push(&mut state, d, true) {
                        break;
                    }
                }
            }
            RecordBatch::Update(items) => {
                for item in items {
                    let d = match state.resolve((&item.target).into()) {
                        Some(draft) => state.patch(draft, item.properties.clone()),
                        None => Decision::Failed(ItemFailure::NotFound),
                    };
                    if !push(&mut state, d, false) {
                        break;
                    }
                }
            }
            RecordBatch::Upsert { id_property, items } => {
                for item in items {
                    // The record holding the value (possibly created by an earlier item),
                    // or a new one.
                    let key = Target::Key(id_property, &item.value);
                    let (d, created) = match state.resolve(key) {
                        Some(draft) => (state.patch(draft, item.properties.clone()), false),
                        None => {
                            let mut props = item.properties.clone();
                            props.retain(|_, v| !v.is_empty());
                            props.insert(id_property.clone(), item.value.clone());
                            (state.create(props, None), true)
                        }
                    };
                    if !push(&mut state, d, created) {
                        break;
                    }
                }
            }
        }
        let outcomes = std::mem::take(&mut state.outcomes);
        Decided {
            batch: self.batch,
            state,
            outcomes,
            stopped,
        }
    }
}

/// A new or changed record to write: its final values and version.
#[derive(Debug, Clone, Copy)]
pub struct RecordWrite<'d> {
    /// 0 for a new record until [`Decided::set_ids`].
    pub id: ObjectId,
    pub properties: &'d BTreeMap<String, String>,
    pub version: i64,
}

/// The history rows of one write of a record: one per changed property, all at `version`.
#[derive(Debug, Clone, Copy)]
pub struct HistoryWrite<'d> {
    pub id: ObjectId,
    pub version: i64,
    /// The record is created by this batch (so it has no history rows yet).
    pub new: bool,
    /// Property name to the value written ("" for cleared).
    pub changes: &'d BTreeMap<String, String>,
}

/// A batch's decision: every item's outcome, and the final state to write.
pub struct Decided<'a> {
    batch: &'a RecordBatch,
    state: State<'a>,
    /// In item order, up to the item an atomic batch stopped at: the decision, and whether
    /// the item creates its record.
    outcomes: Vec<(Decision, bool)>,
    stopped: bool,
}

impl<'a> Decided<'a> {
    /// An atomic batch stopped at a failed item: the backend writes nothing (beyond taking
    /// ids) and rolls back.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The records to create, in creation order (the order their ids must ascend in).
    pub fn created(&self) -> impl Iterator<Item = RecordWrite<'_>> {
        self.written(true)
    }

    /// Stored records an item changed, with their new version.
    pub fn changed(&self) -> impl Iterator<Item = RecordWrite<'_>> {
        self.written(false)
    }

    fn written(&self, new: bool) -> impl Iterator<Item = RecordWrite<'_>> {
        self.state
            .drafts
            .iter()
            .filter(move |d| d.written && d.new == new)
            .map(|d| RecordWrite {
                id: d.record.id,
                properties: &d.record.properties,
                version: d.version,
            })
    }

    /// Each record written, with its values before the batch (`None` for a new record) and
    /// after it.
    pub fn value_changes(
        &self,
    ) -> impl Iterator<
        Item = (
            ObjectId,
            Option<&BTreeMap<String, String>>,
            &BTreeMap<String, String>,
        ),
    > {
        self.state
            .drafts
            .iter()
            .filter(|d| d.written)
            .map(|d| (d.record.id, d.before.as_ref(), &d.record.properties))
    }

    /// Gives the new records their ids, ascending in creation order.
    pub fn set_ids(&mut self, ids: &[ObjectId]) -> Result<(), WrongIdCount> {
        let wanted = self.created().count();
        if ids.len() != wanted {
            return Err(WrongIdCount {
                wanted,
                got: ids.len(),
            });
        }
        for (d, id) in self.state.drafts.iter_mut().filter(|d| d.new).zip(ids) {
            d.record.id = *id;
        }
        Ok(())
    }

    /// (record, property) whose stored value a stored record gives up: its row in the unique
    /// index goes before [`taken`](Self::taken) rows go in (a value may move between two
    /// records of the batch).
    pub fn freed(&self) -> impl Iterator<Item = (ObjectId, &str)> {
        self.state
            .drafts
            .iter()
            .filter(|d| !d.new)
            .flat_map(|d| d.unique.keys().map(|p| (d.record.id, p.as_str())))
    }

    /// (record, property, value) the unique index gets.
    pub fn taken(&self) -> impl Iterator<Item = (ObjectId, &str, &str)> {
        self.state.drafts.iter().flat_map(|d| {
            d.unique
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(p, v)| (d.record.id, p.as_str(), v.as_str()))
        })
    }

    /// The history rows, per write. A write that changed nothing has none.
    pub fn history(&self) -> impl Iterator<Item = HistoryWrite<'_>> {
        self.state.history.iter().filter_map(|h| {
            let d = self.state.drafts.get(h.draft)?;
            let changes = h.changes.as_ref().unwrap_or(&d.record.properties);
            (!changes.is_empty()).then_some(HistoryWrite {
                id: d.record.id,
                version: h.version,
                new: d.new,
                changes,
            })
        })
    }

    /// The links of the records created, in item order.
    pub fn links(&self) -> Vec<Link<'_>> {
        let RecordBatch::Create(items) = self.batch else {
            return Vec::new();
        };
        let from = self.state.ctx.object_type.as_str();
        let mut links = Vec::new();
        for (item, (decision, _)) in items.iter().zip(&self.outcomes) {
            let Decision::Record(draft, _) = decision else {
                continue;
            };
            let id = self.draft_id(*draft);
            for a in &item.associations {
                for t in &a.types {
                    links.push(((from, id), (a.to_type.as_str(), a.to_id), t));
                }
            }
        }
        links
    }

    fn draft_id(&self, draft: usize) -> ObjectId {
        self.state.drafts.get(draft).map_or(0, |d| d.record.id)
    }

    /// Each item's outcome, with whether it created its record, in item order.
    pub fn outcomes(self) -> Vec<ItemResult<Upserted>> {
        let Self {
            state, outcomes, ..
        } = self;
        let ids: Vec<ObjectId> = state.drafts.iter().map(|d| d.record.id).collect();
        let draft_id = |draft: usize| ids.get(draft).copied().unwrap_or(0);
        let id_of = |holder: Holder| match holder {
            Holder::Stored(id) => id,
            Holder::New(draft) => draft_id(draft),
        };
        // An outcome that still shows its draft is the draft's last: it takes the record.
        let mut finals: Vec<Option<ObjectRecord>> =
            state.drafts.into_iter().map(|d| Some(d.record)).collect();
        outcomes
            .into_iter()
            .map(|(decision, created)| match decision {
                Decision::Record(draft, shown) => {
                    let taken = || finals.get_mut(draft).and_then(Option::take);
                    let Some(mut record) = shown.or_else(taken) else {
                        return Err(ItemFailure::NotFound);
                    };
                    record.id = draft_id(draft);
                    Ok(Upserted { record, created })
                }
                Decision::Conflict {
                    property,
                    value,
                    holder,
                } => Err(ItemFailure::Conflict {
                    property,
                    value,
                    existing_id: id_of(holder),
                }),
                Decision::Failed(f) => Err(f),
            })
            .collect()
    }
}

/// Outcomes without whether each item created its record.
pub fn records(outcomes: Vec<ItemResult<Upserted>>) -> Vec<ItemResult<ObjectRecord>> {
    outcomes.into_iter().map(|r| r.map(|u| u.record)).collect()
}
