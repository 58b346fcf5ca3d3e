//! The value index: every stored property value of every record, keyed as search compares
//! it, so that a filter on any property finds its candidates by an index probe instead of
//! reading every record of the type (issue 17 §3).
//!
//! Two tables, the same on every SQL backend, each one B-tree keyed by
//! `(portal_id, object_type, property, key, object_id)`:
//!
//! - `search_text`: one row per set value, `key` the first [`TEXT_KEY_CHARS`] characters of
//!   [`fold`] of the value ([`text_key`]);
//! - `search_numbers`: one row per distinct non-zero reading of the value as a number
//!   ([`number`]), a day ([`date`]) or an instant ([`instant`]), as a double
//!   ([`number_keys`]);
//! - `search_words`: one row per distinct word of the fold (the words `CONTAINS_TOKEN`
//!   matches, [`spoke_core::search::words`]), cut like a text key ([`word_keys`]); none for
//!   a value that is one word, whose text key is that word. Only a token search probes
//!   them, so a property's words are listed apart from its values ([`Part`]).
//!
//! The keys do not depend on the property's type: a search names the kind it compares by
//! (and the conformance suite searches properties nobody defined), and a property's type
//! may change. Each kind's comparison implies a comparison of one of these keys, so the
//! index finds a superset of the records that match; the compiler
//! (`sql_search`) then keeps the exact predicate beside the index probe, so the answer is
//! the scan's by construction. What the index cannot decide falls back to the scan:
//! conditions that match unset values (NEQ, NOT_IN, NOT_HAS_PROPERTY, NOT_CONTAINS_TOKEN),
//! multi-selects, ranges on exact-compared text, tokens that start with `*`, `query`, and
//! numeric conditions a value reading 0 would meet (0 is not indexed: every text reads as
//! 0). A token matches the whole fold or one of its words, so its records are among those
//! whose text key or one of whose word keys is the token (cut to a key's length), or,
//! for `pre*`, starts with `pre`.
//!
//! Why superset holds: truncating folded text to a prefix of characters is monotonic in
//! bytewise order (so `fold(v) >= lo` implies `key >= key(lo)`, `fold(v) <= hi` implies
//! `key <= hi`); an exact value equal to an operand folds to the fold of the operand;
//! rounding an integer to a double is monotonic (so ranges probe with non-strict bounds).
//!
//! **Only the properties a search has asked about are indexed** (lazy indexing). Keeping
//! every value's rows cost a 1M-contact portal two thirds of its batch-create throughput
//! (BENCHMARKS.md, "Issue 17 §3"): a contact writes about 11 rows at random places in
//! B-trees larger than the page cache, and most integrations write far more than they
//! search, on a few properties. So [`STATE_TABLE`] lists the indexed (portal, type,
//! property) triples. The first search that could probe a property not complete lists it,
//! makes its rows from the stored records in steps of a bounded number of records, each its
//! own write transaction ([`Indexing`]), then probes it; until then, and for a search that
//! never comes, the records are read as without the index. The answer is the same either
//! way (the exact predicate is always kept), so lazy indexing changes when work is done,
//! never what a search returns. A complete property stays complete: nothing deletes from
//! [`STATE_TABLE`] (a reset, purge or deletion deletes the rows, and a later write makes
//! them again) and nothing makes a property pending again, so a process may remember what
//! it once read there ([`Known`]).
//!
//! Who keeps the rows: a record write (`write_objects`) deletes and inserts the rows of
//! the values it changed ([`Changes::of_decision`]) of the listed properties (the list
//! read in its own transaction, before any key is computed), in its own
//! transaction; an import of `objects` rows (`spoke copy`) does the same per row; a type
//! purge (`schemas::PURGED_BY_TYPE`) and a portal reset, restore or deletion delete the
//! rows ([`clear_portal_sql`]) and a restore rebuilds them from the restored records in
//! SQL ([`rebuild_sql`], over the backend's `spoke_fold`/`spoke_number`/`spoke_date`/
//! `spoke_instant`, which are these rules), as `spoke reindex` does for a portal whose
//! rows a writer without the index left stale (`AdminStore::reindex_portal`; the
//! conformance suite compares its rows with the write path's). An archive leaves the rows:
//! search's `archived_at IS NULL` drops the record, and the values of an archived record
//! do not change.
//!
//! A write and a step of the making of a property's rows must not interleave: a write that
//! read the list before the property was listed, or changed a record after the step read
//! it, and commits after the step, would leave its record without its rows. Between steps
//! writes run, and keep the rows of the listed property themselves. SQLite has one writer
//! at a time, which is enough. PostgreSQL's writers lock [`STATE_TABLE`] in a mode that
//! lets writers run together while a step waits for them, and a step (with a restore and
//! a reindex, which rebuild from the list) locks it in the mode that excludes them: a
//! write waits for one step at most, not for the whole build.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};
use std::sync::RwLock;

use spoke_core::search::{date, fold, instant, number};
use spoke_core::{ObjectId, PortalId};

use crate::plan::Decided;
use crate::transfer::{Table, Value};

/// How many characters of a folded value its text key keeps: enough to tell values apart,
/// short enough for any B-tree (PostgreSQL refuses index entries over about 2.7 kB).
pub const TEXT_KEY_CHARS: usize = 200;

/// The index's tables, derived from `objects`: not [`crate::transfer::Table`]s (a copy or
/// snapshot carries the records and the index is made again from them).
pub const TABLES: [&str; 3] = ["search_text", "search_numbers", "search_words"];

/// The indexed properties: `(portal_id, object_type, property, part, pending_after)`, one
/// row per [`Part`] listed ([`Indexing`]).
pub const STATE_TABLE: &str = "search_indexed";

/// Properties this process has seen complete in [`STATE_TABLE`]. A complete property stays
/// complete, so what is remembered stays true, and a search of a remembered property needs
/// no read of the list. What is not remembered may still be complete (another process, an
/// earlier run).
#[derive(Debug, Default)]
pub struct Known(RwLock<HashMap<PortalId, HashMap<String, Listed>>>);

impl Known {
    pub fn has(&self, portal: PortalId, object_type: &str, property: &str, part: Part) -> bool {
        // A poisoned lock only means a panic elsewhere while adding: the map is still a
        // subset of the list.
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        map.get(&portal)
            .and_then(|types| types.get(object_type))
            .is_some_and(|listed| listed.has(property, part))
    }

    pub fn add<'n>(
        &self,
        portal: PortalId,
        object_type: &str,
        listings: impl IntoIterator<Item = &'n (String, Part)>,
    ) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        let listed = map
            .entry(portal)
            .or_default()
            .entry(object_type.to_owned())
            .or_default();
        for (property, part) in listings {
            listed.insert(property.clone(), *part);
        }
    }
}

/// What a listing in [`STATE_TABLE`] indexes of its property: its values (the
/// `search_text` and `search_numbers` rows, every condition but tokens), or its words
/// (the `search_words` rows, which only `CONTAINS_TOKEN` probes, with the values). Each is
/// listed and made on the first search that needs it: most properties are only ever
/// compared whole, and their writes then make no word rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Values,
    Words,
}

impl Part {
    /// The name [`STATE_TABLE`]'s `part` column stores.
    pub fn name(self) -> &'static str {
        match self {
            Part::Values => "values",
            Part::Words => "words",
        }
    }

    pub fn from_name(name: &str) -> Option<Part> {
        [Part::Values, Part::Words]
            .into_iter()
            .find(|p| p.name() == name)
    }

    /// The index tables this part's rows are in.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Part::Values => &TABLES[..2],
            Part::Words => &TABLES[2..],
        }
    }
}

/// The listed parts of a type's properties (complete or not), as a write reads them
/// before it computes its rows.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    values: HashSet<String>,
    words: HashSet<String>,
    all: bool,
}

impl Listed {
    /// Every part of every property: the rows a write would make were all listed.
    pub fn everything() -> Listed {
        Listed {
            all: true,
            ..Listed::default()
        }
    }

    pub fn insert(&mut self, property: String, part: Part) {
        match part {
            Part::Values => self.values.insert(property),
            Part::Words => self.words.insert(property),
        };
    }

    pub fn has(&self, property: &str, part: Part) -> bool {
        self.all
            || match part {
                Part::Values => self.values.contains(property),
                Part::Words => self.words.contains(property),
            }
    }

    pub fn is_empty(&self) -> bool {
        !self.all && self.values.is_empty() && self.words.is_empty()
    }
}

/// The text key of a stored value (or of a folded operand).
pub fn text_key(value: &str) -> String {
    truncate(fold(value))
}

/// The first [`TEXT_KEY_CHARS`] characters of already folded text.
pub fn truncate(folded: String) -> String {
    match folded.char_indices().nth(TEXT_KEY_CHARS) {
        Some((at, _)) => folded[..at].to_owned(),
        None => folded,
    }
}

/// The word keys of a stored value: its fold's distinct words, each cut to
/// [`TEXT_KEY_CHARS`]; none when the fold is a single word (its text key is that word).
pub fn word_keys(value: &str) -> Vec<String> {
    let folded = fold(value);
    let mut keys: Vec<String> = Vec::new();
    for w in spoke_core::search::words(&folded) {
        if w.len() == folded.len() {
            return Vec::new();
        }
        let key = truncate(w.to_owned());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys
}

/// The number keys of a stored value: its readings as a number, a day and an instant, as
/// doubles, without 0 and without repeats.
pub fn number_keys(value: &str) -> Vec<f64> {
    let mut keys: Vec<f64> = Vec::with_capacity(3);
    // `as` rounds to the nearest double, as SQL's casts do.
    let readings = [
        Some(number(value)),
        Some(date(value) as f64),
        instant(value).map(|m| m as f64),
    ];
    for k in readings.into_iter().flatten() {
        if k != 0.0 && !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// Whether a search of property `name` may probe the index: names whose JSON path reads
/// exactly the stored key of that name on every backend (HubSpot's names are these).
pub fn probes(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// An index row of one portal and type: (record, property, key).
pub type Row<K> = (ObjectId, String, K);

/// Index rows of one portal and type.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rows {
    pub text: Vec<Row<String>>,
    pub numbers: Vec<Row<f64>>,
    pub words: Vec<Row<String>>,
}

impl Rows {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.numbers.is_empty() && self.words.is_empty()
    }

    /// The rows of each text-keyed table ([`TABLES`]' first and third), by table name.
    pub fn text_keyed(&self) -> [(&'static str, &[Row<String>]); 2] {
        [("search_text", &self.text), ("search_words", &self.words)]
    }
}

/// What a write does to the index: rows to delete (first), rows to insert.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Changes {
    pub delete: Rows,
    pub insert: Rows,
}

impl Changes {
    /// Keeps the rows of the listed parts of properties, drops the others.
    pub fn retain(&mut self, listed: &Listed) {
        for rows in [&mut self.delete, &mut self.insert] {
            rows.text
                .retain(|(_, name, _)| listed.has(name, Part::Values));
            rows.numbers
                .retain(|(_, name, _)| listed.has(name, Part::Values));
            rows.words
                .retain(|(_, name, _)| listed.has(name, Part::Words));
        }
    }

    /// The rows a record's values moving from `before` to `after` change (`None`: no
    /// record). A key both had stays; nothing is deleted and inserted again.
    pub fn record(
        &mut self,
        id: ObjectId,
        before: Option<&BTreeMap<String, String>>,
        after: Option<&BTreeMap<String, String>>,
    ) {
        self.record_where(id, before, after, &Listed::everything());
    }

    /// [`record`](Self::record) for the listed parts of properties only: the keys of the
    /// others are not even computed (a write's hot path, when few properties are indexed).
    pub fn record_where(
        &mut self,
        id: ObjectId,
        before: Option<&BTreeMap<String, String>>,
        after: Option<&BTreeMap<String, String>>,
        listed: &Listed,
    ) {
        let empty = BTreeMap::new();
        let before = before.unwrap_or(&empty);
        let after = after.unwrap_or(&empty);
        let parts = |name: &str| Parts {
            values: listed.has(name, Part::Values),
            words: listed.has(name, Part::Words),
        };
        for (name, old) in before {
            match after.get(name) {
                Some(new) if new == old => {}
                new => self.value(id, name, parts(name), Some(old), new.map(String::as_str)),
            }
        }
        for (name, new) in after {
            if !before.contains_key(name) {
                self.value(id, name, parts(name), None, Some(new));
            }
        }
    }

    fn value(
        &mut self,
        id: ObjectId,
        name: &str,
        parts: Parts,
        old: Option<&str>,
        new: Option<&str>,
    ) {
        if parts.words {
            self.words(id, name, old, new);
        }
        if !parts.values {
            return;
        }
        let old_text = old.map(text_key);
        let new_text = new.map(text_key);
        if old_text != new_text {
            if let Some(k) = old_text {
                self.delete.text.push((id, name.to_owned(), k));
            }
            if let Some(k) = new_text {
                self.insert.text.push((id, name.to_owned(), k));
            }
        }
        let old_numbers = old.map(number_keys).unwrap_or_default();
        let new_numbers = new.map(number_keys).unwrap_or_default();
        for k in &old_numbers {
            if !new_numbers.contains(k) {
                self.delete.numbers.push((id, name.to_owned(), *k));
            }
        }
        for k in new_numbers {
            if !old_numbers.contains(&k) {
                self.insert.numbers.push((id, name.to_owned(), k));
            }
        }
    }

    fn words(&mut self, id: ObjectId, name: &str, old: Option<&str>, new: Option<&str>) {
        let old_words = old.map(word_keys).unwrap_or_default();
        let new_words = new.map(word_keys).unwrap_or_default();
        for k in &old_words {
            if !new_words.contains(k) {
                self.delete.words.push((id, name.to_owned(), k.clone()));
            }
        }
        for k in new_words {
            if !old_words.contains(&k) {
                self.insert.words.push((id, name.to_owned(), k));
            }
        }
    }

    /// The rows a batch's decision changes, of the listed parts of properties: every value
    /// of the records it creates, the changed values of the records it updates. Call after
    /// [`Decided::set_ids`].
    pub fn of_decision(decided: &Decided<'_>, listed: &Listed) -> Changes {
        Self::of_records(decided, |_| true, listed)
    }

    /// [`of_decision`](Self::of_decision) for the records it creates only (`new`), or for
    /// the stored records it changes only.
    pub fn of_decision_split(decided: &Decided<'_>, new: bool, listed: &Listed) -> Changes {
        Self::of_records(decided, |created| created == new, listed)
    }

    fn of_records(decided: &Decided<'_>, keep: impl Fn(bool) -> bool, listed: &Listed) -> Changes {
        let mut c = Changes::default();
        for (id, before, after) in decided.value_changes() {
            if keep(before.is_none()) {
                c.record_where(id, before, Some(after), listed);
            }
        }
        c
    }
}

/// Which parts of one property a write keeps rows of.
#[derive(Clone, Copy)]
struct Parts {
    values: bool,
    words: bool,
}

/// An `objects` row of a transfer ([`Table::Objects`]'s columns): its id, portal, type and
/// values; `None` for a row of another shape.
pub fn object_row(row: &[Value]) -> Option<(ObjectId, PortalId, String, BTreeMap<String, String>)> {
    let at = |name: &str| {
        Table::Objects
            .columns()
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| row.get(i))
    };
    let (Some(Value::Int(id)), Some(Value::Int(portal)), Some(Value::Text(ty))) =
        (at("id"), at("portal_id"), at("object_type"))
    else {
        return None;
    };
    let Some(Value::Text(json)) = at("properties") else {
        return None;
    };
    Some((*id, PortalId(*portal), ty.clone(), values_of(json)))
}

/// A record's stored values from its JSON (its string values; spoke stores no others).
pub fn values_of(json: &str) -> BTreeMap<String, String> {
    let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    map.into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect()
}

/// Deletes the portal's index rows (with its reset, restore and deletion).
pub fn clear_portal_sql(portal: PortalId) -> Vec<String> {
    TABLES
        .iter()
        .map(|t| format!("DELETE FROM {t} WHERE portal_id = {}", portal.0))
        .collect()
}

/// One stored index row of a portal, of any of [`TABLES`], as
/// [`AdminStore::index_rows`](crate::admin::AdminStore::index_rows) reads it back.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    pub table: &'static str,
    pub object_type: String,
    pub property: String,
    pub key: IndexKey,
    pub object_id: ObjectId,
}

/// An index row's key as its column stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexKey {
    Text(String),
    Real(f64),
    Int(i64),
}

impl IndexRow {
    /// A total order (doubles by their bits' order, so -0 and 0 stay apart), to compare
    /// two readings of the rows whatever order each backend returns them in.
    pub fn order(&self, other: &IndexRow) -> std::cmp::Ordering {
        let rank = |k: &IndexKey| match k {
            IndexKey::Text(_) => 0,
            IndexKey::Real(_) => 1,
            IndexKey::Int(_) => 2,
        };
        let key = |a: &IndexKey, b: &IndexKey| match (a, b) {
            (IndexKey::Text(a), IndexKey::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (IndexKey::Real(a), IndexKey::Real(b)) => a.total_cmp(b),
            (IndexKey::Int(a), IndexKey::Int(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        };
        (self.table, &self.object_type, &self.property)
            .cmp(&(other.table, &other.object_type, &other.property))
            .then_with(|| key(&self.key, &other.key))
            .then_with(|| self.object_id.cmp(&other.object_id))
    }
}

/// Reads the portal's rows of each of [`TABLES`]: (table, statement selecting
/// `object_type, property, key, object_id`).
pub fn portal_rows_sql(portal: PortalId) -> Vec<(&'static str, String)> {
    TABLES
        .iter()
        .map(|t| {
            (
                *t,
                format!(
                    "SELECT object_type, property, key, object_id FROM {t} WHERE portal_id = {}",
                    portal.0
                ),
            )
        })
        .collect()
}

/// How a backend lists a record's values in SQL, for [`rebuild_sql`].
#[derive(Debug, Clone, Copy)]
pub struct Values {
    /// A row source of `o`'s values with columns `name` and `value` (text), e.g. SQLite's
    /// `json_each(o.properties) AS v(...)`; written after `FROM objects o,`.
    pub each: &'static str,
    /// A condition on `each` keeping the values that are JSON strings (the only values
    /// spoke stores, and the only ones [`values_of`] reads).
    pub strings: &'static str,
    /// The name and value columns of `each`.
    pub name: &'static str,
    pub value: &'static str,
    /// The first `n` characters of text: `substr(x, 1, n)`, `left(x, n)`.
    pub prefix: fn(&str, usize) -> String,
    /// An integer expression as a double.
    pub real: fn(&str) -> String,
}

/// Makes the text and number rows of every listed property of `portal` again (after a
/// restore puts its records back, or a reindex cleared them), with the backend's SQL
/// functions of the core's rules: the same keys [`text_key`] and [`number_keys`] make. The
/// word rows are made in Rust after these ([`property_rows`]; SQL has no portable split
/// by `char::is_alphanumeric`). Rows go in in key
/// order, so a B-tree fills page after page instead of at random.
pub fn rebuild_sql(v: &Values, portal: PortalId) -> Vec<String> {
    let p = portal.0;
    let (name, value) = (v.name, v.value);
    let from = format!(
        "FROM objects o, {} WHERE o.portal_id = {p} AND {} AND EXISTS (SELECT 1 FROM {STATE_TABLE} s \
         WHERE s.portal_id = o.portal_id AND s.object_type = o.object_type AND s.property = {name} \
         AND s.part = 'values')",
        v.each, v.strings
    );
    let text = format!(
        "INSERT INTO search_text (portal_id, object_type, property, key, object_id)
         SELECT o.portal_id, o.object_type, {name}, {}, o.id {from} ORDER BY 1, 2, 3, 4, 5",
        (v.prefix)(&format!("spoke_fold({value})"), TEXT_KEY_CHARS)
    );
    let reading = |expr: String| {
        format!("SELECT o.portal_id AS portal_id, o.object_type AS object_type, {name} AS property, {expr} AS key, o.id AS object_id {from}")
    };
    let numbers = format!(
        "INSERT INTO search_numbers (portal_id, object_type, property, key, object_id)
         SELECT portal_id, object_type, property, key, object_id FROM ({} UNION {} UNION {}) r
         WHERE key IS NOT NULL AND key <> 0 ORDER BY 1, 2, 3, 4, 5",
        reading(format!("spoke_number({value})")),
        reading((v.real)(&format!("spoke_date({value})"))),
        reading((v.real)(&format!("spoke_instant({value})"))),
    );
    vec![text, numbers]
}

/// A test's chunk for every indexing step of the process; 0: each backend's own.
static CHUNK: AtomicI64 = AtomicI64::new(0);

/// How many records' values one indexing step reads, and inserts the rows of, at a time
/// ([`Indexing`]): the backend's `chunk`, which bounds the step's memory and the time it
/// holds writers off whatever the portal's size, unless a test set another
/// ([`set_indexing_chunk`]).
pub fn indexing_chunk(chunk: i64) -> i64 {
    match CHUNK.load(AtomicOrdering::Relaxed) {
        0 => chunk,
        set => set,
    }
}

/// Sets how many records one indexing step reads, for the whole process (`None`: each
/// backend's own): the conformance suite makes a build of a few records take many steps,
/// to race writes between them. The rows made never depend on it, so tests running
/// meanwhile only take more steps, or fewer.
pub fn set_indexing_chunk(records: Option<i64>) {
    CHUNK.store(records.map_or(0, |n| n.max(1)), AtomicOrdering::Relaxed);
}

/// Indexing one part of a property (lazy indexing, see the module docs), in steps, each
/// its own write transaction that excludes record writes:
///
/// 1. `list` inserts the part's row in [`STATE_TABLE`] with `pending_after` 0, and
///    changes one row when it was not listed yet; then `clear` deletes rows anything before
///    left (an older spoke). From that commit on, every write keeps the part's rows.
/// 2. `pending` reads `pending_after`: the records with greater ids may still lack rows
///    (NULL: none does, the property is complete). The step reads the next
///    [`indexing_chunk`] records with the property after it, inserts their rows (ignoring
///    those a write already made), and [`advance`](Self::advance)s it past them, or to
///    NULL when fewer came.
///
/// Step 1 runs with the first step 2. Each step reads the records as they are when it holds
/// writers off, and every write after the listing keeps its own rows, so when
/// `pending_after` is NULL every record has its rows; a search probes only complete
/// properties. Steps started by several searches or processes share the work, since each
/// reads `pending_after` afresh, and a build a crash cut short resumes where it stopped.
/// The rows are made in Rust, by the functions a write uses ([`property_rows`]), so they
/// are a write's rows by construction.
pub struct Indexing {
    pub list: String,
    pub clear: Vec<String>,
    pub pending: String,
    /// The `WHERE` of the property's [`STATE_TABLE`] row.
    row: String,
}

impl Indexing {
    pub fn new(portal: PortalId, object_type: &str, property: &str, part: Part) -> Indexing {
        let (ty, name, part_name) = (quote(object_type), quote(property), quote(part.name()));
        let rows = format!(
            "portal_id = {} AND object_type = {ty} AND property = {name}",
            portal.0
        );
        Indexing {
            list: format!(
                "INSERT INTO {STATE_TABLE} (portal_id, object_type, property, part, pending_after) \
                 VALUES ({}, {ty}, {name}, {part_name}, 0) ON CONFLICT DO NOTHING",
                portal.0
            ),
            clear: part
                .tables()
                .iter()
                .map(|t| format!("DELETE FROM {t} WHERE {rows}"))
                .collect(),
            pending: format!(
                "SELECT pending_after FROM {STATE_TABLE} WHERE {rows} AND part = {part_name}"
            ),
            row: format!("{rows} AND part = {part_name}"),
        }
    }

    /// Records that the rows of every record up to `last` are made; `None`: of every
    /// record, the property is complete.
    pub fn advance(&self, last: Option<ObjectId>) -> String {
        let to = last.map_or_else(|| "NULL".to_owned(), |id| id.to_string());
        format!(
            "UPDATE {STATE_TABLE} SET pending_after = {to} WHERE {}",
            self.row
        )
    }
}

/// Where a step of [`Indexing`] that read `read` records of at most `chunk`, the last
/// `last`, left its property: pending after `last`, or complete when the chunk was not full.
pub fn step_end(read: usize, chunk: i64, last: ObjectId) -> Option<ObjectId> {
    (i64::try_from(read).unwrap_or(i64::MAX) >= chunk).then_some(last)
}

/// Marks every listing of the portal complete, after a restore or a reindex made all their
/// rows ([`rebuild_sql`], then the words).
pub fn complete_portal_sql(portal: PortalId) -> String {
    format!(
        "UPDATE {STATE_TABLE} SET pending_after = NULL WHERE portal_id = {}",
        portal.0
    )
}

/// The rows of `part` a write of these values of `property` would insert, in key order.
pub fn property_rows(
    property: &str,
    part: Part,
    values: impl IntoIterator<Item = (ObjectId, String)>,
) -> Rows {
    let parts = Parts {
        values: part == Part::Values,
        words: part == Part::Words,
    };
    let mut c = Changes::default();
    for (id, v) in values {
        c.value(id, property, parts, None, Some(&v));
    }
    let mut rows = c.insert;
    rows.text.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    rows.words.sort_by(|a, b| a.2.cmp(&b.2).then(a.0.cmp(&b.0)));
    rows.numbers
        .sort_by(|a, b| a.2.total_cmp(&b.2).then(a.0.cmp(&b.0)));
    rows
}

/// `s` as an SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fold_truncate_and_read_numbers() {
        assert_eq!(text_key("  Ärger "), "ärger");
        let long: String = "É".repeat(TEXT_KEY_CHARS + 5);
        assert_eq!(text_key(&long).chars().count(), TEXT_KEY_CHARS);
        assert_eq!(number_keys("abc"), Vec::<f64>::new());
        assert_eq!(number_keys("12.5"), vec![12.5, 12.0]);
        assert_eq!(number_keys("1700000000000"), vec![1.7e12]);
        assert_eq!(number_keys("2024-01-02"), vec![2024.0, 1_704_153_600_000.0]);
    }

    #[test]
    fn word_keys_are_the_words_of_a_value_of_several() {
        assert_eq!(word_keys("Ada"), Vec::<String>::new());
        assert_eq!(word_keys("  ADA  "), Vec::<String>::new());
        assert_eq!(word_keys("Ada Lovelace, ada"), vec!["ada", "lovelace"]);
        assert_eq!(word_keys("a@b.com"), vec!["a", "b", "com"]);
        assert_eq!(word_keys("x!"), vec!["x"]);
        let long = "w".repeat(TEXT_KEY_CHARS + 3) + " x";
        assert_eq!(word_keys(&long)[0].chars().count(), TEXT_KEY_CHARS);
    }

    #[test]
    fn a_change_touches_only_the_keys_that_moved() {
        let before: BTreeMap<String, String> =
            [("a".into(), "Alice".into()), ("n".into(), "5".into())].into();
        let after: BTreeMap<String, String> =
            [("a".into(), "alice".into()), ("n".into(), "6".into())].into();
        let mut c = Changes::default();
        c.record(9, Some(&before), Some(&after));
        // "Alice" and "alice" fold alike: only `n` moves, as text and as a number.
        assert_eq!(c.delete.text, vec![(9, "n".into(), "5".into())]);
        assert_eq!(c.insert.text, vec![(9, "n".into(), "6".into())]);
        assert_eq!(c.delete.numbers, vec![(9, "n".into(), 5.0)]);
        assert_eq!(c.insert.numbers, vec![(9, "n".into(), 6.0)]);
    }
}
