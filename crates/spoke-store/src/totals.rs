//! Exact search totals, counted once per write generation of their type.
//!
//! Every search page reports an exact `total` (HubSpot does), and counting every match is
//! linear in the matches: with 1M contacts and a filter matching half, the `COUNT(*)` was
//! 92% of the server's CPU in a connector's search walk (BENCHMARKS.md, "Issue 13"), while
//! the page itself is a short index range. A connector asks the same count page after page
//! (Airbyte: the same filters for 50 pages until its id floor moves; MeltanoLabs: the same
//! filter for the whole walk), and between two pages the type's records rarely change. So a
//! count is kept in a [`CountCache`] under the **write generation** of its (portal, type),
//! and served again only while that generation is unchanged.
//!
//! The generation is data in the database, not in a process: `type_generations` holds
//! counters that every transaction changing what a search of the type can answer raises
//! ([`bump_sql`]: record writes and archives, imports; [`bump_portal_sql`]: a portal's reset,
//! restore and deletion, which raise its `*` row; a schema purge raises its type). A search
//! reads the generation ([`generation_sql`]) in the same read transaction (snapshot) as the
//! count or page, so a cached total is served only for a snapshot that has seen exactly the
//! writes the count saw: read-your-writes holds, and it holds across processes sharing one
//! PostgreSQL database by construction, since another process's commit changes the number
//! that this process's next snapshot reads.
//!
//! Why a sum of several counters: a transaction's bump locks its counter row until it
//! commits, so one row per type would queue every concurrent writer of the type behind the
//! previous one's commit on PostgreSQL. A writer raises one of [`SHARDS`] rows chosen at
//! random (and does so after its record writes, to hold the lock briefly), and the generation
//! is the sum of the type's rows, the portal's `*` rows and the installation's `(0, '*')`
//! rows. Each committed bump raises the sum by one, and two snapshots are always ordered
//! (each sees every commit the earlier one saw), so an equal sum means the same set of
//! writes. Counter rows are never deleted (they are not a portal's data, not in
//! [`crate::transfer::Table::ALL`], and survive a portal's deletion), so a sum never
//! comes back to an earlier value after a reset or deletion.
//!
//! Searches with an association filter are not cached: their answer also moves with
//! association writes, which do not bump (they would have to bump both types of every
//! link). Everything else a search compiles from (property kinds, unique-value lookups,
//! searchable properties) is in the compiled SQL and its parameters, which are the key.

use std::collections::HashMap;
use std::sync::Mutex;

use spoke_core::search::{Field, SearchQuery};
use spoke_core::PortalId;

use crate::sql_search::{Dialect, Sql, SqlValue};

/// Counter rows per (portal, type) on which writers spread their bumps. Measured with
/// pgbench on PostgreSQL 15, 16 clients each committing 100-row inserts into one type
/// (2 shared cores, load average 12-15): no bump 575-638 tx/s; one counter row 156 (every
/// writer waits for the previous one's commit); 8 rows 351-455; 32 rows 495; 64 rows 517.
/// A search reads all of them (one index range of at most 64 small rows, microseconds).
pub const SHARDS: i64 = 64;

/// The object type name of a portal's (and, with portal 0, the installation's) counter,
/// raised by whatever replaces all of a portal's records.
pub const ALL_TYPES: &str = "*";

/// How many counts a [`CountCache`] keeps (each a few hundred bytes of key).
pub const CAPACITY: usize = 1024;

/// The longest key kept: a search's IN lists are unbounded, and 1,024 keys of a 2 MB body
/// each would hold gigabytes; a connector's filters are a few hundred bytes.
pub const MAX_KEY_BYTES: usize = 16 * 1024;

/// Raises one counter of (`$1` portal, `$2` type, `$3` shard): bind the portal, the
/// type and [`shard`]. Run it as the transaction's last statement before its commit.
pub fn bump_sql(d: &dyn Dialect) -> String {
    format!(
        "INSERT INTO type_generations (portal_id, object_type, shard, generation)
         VALUES ({}, {}, {}, 1)
         ON CONFLICT (portal_id, object_type, shard)
         DO UPDATE SET generation = type_generations.generation + 1",
        d.placeholder(1),
        d.placeholder(2),
        d.placeholder(3)
    )
}

/// Raises the portal's `*` counter: for statements that replace all of its records
/// (`admin::clear_portal_sql`), the same text on every backend.
pub fn bump_portal_sql(portal: PortalId) -> String {
    format!(
        "INSERT INTO type_generations (portal_id, object_type, shard, generation)
         VALUES ({}, '{ALL_TYPES}', 0, 1)
         ON CONFLICT (portal_id, object_type, shard)
         DO UPDATE SET generation = type_generations.generation + 1",
        portal.0
    )
}

/// The generation of (`$1` portal, `$2` type): one 64-bit integer.
pub fn generation_sql(d: &dyn Dialect) -> String {
    format!(
        "SELECT CAST(COALESCE(SUM(generation), 0) AS BIGINT) FROM type_generations
         WHERE portal_id IN (0, {}) AND object_type IN ('{ALL_TYPES}', {})",
        d.placeholder(1),
        d.placeholder(2)
    )
}

/// The counter row a writer raises: any, so that concurrent writers rarely meet.
pub fn shard() -> i64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    (h.finish() % SHARDS as u64) as i64
}

/// Whether a search's total may be served from the cache (see the module doc).
pub fn cacheable(q: &SearchQuery) -> bool {
    !q.groups
        .iter()
        .flatten()
        .any(|f| matches!(f.field, Field::Association { .. }))
}

/// What a count is kept under: its portal and type and its exact SQL and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CountKey(String);

impl CountKey {
    pub fn new(portal: PortalId, object_type: &str, count: &Sql) -> Self {
        use std::fmt::Write;
        let mut key = format!("{}\u{0}{object_type}\u{0}{}", portal.0, count.text);
        for p in &count.params {
            // `{:?}` of a double is exact (the shortest text that reads back the same).
            let _ = match p {
                SqlValue::Int(i) => write!(key, "\u{0}i{i}"),
                SqlValue::Real(r) => write!(key, "\u{0}r{r:?}"),
                // Length-prefixed: a text may itself hold the separator.
                SqlValue::Text(t) => write!(key, "\u{0}t{}:{t}", t.len()),
            };
        }
        Self(key)
    }
}

struct Entry {
    generation: i64,
    counted: Counted,
    used: u64,
}

/// What a count found: the total, and for a page bounded by its matches' ids
/// ([`crate::sql_search::id_bounded`]) their least and greatest id (`None` without
/// matches, or when the count did not ask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub total: u64,
    pub ids: Option<(i64, i64)>,
}

impl Counted {
    /// A total alone.
    pub fn total(total: u64) -> Self {
        Self { total, ids: None }
    }

    /// From a count's columns as SQL answers them: `COUNT(*)`, then, when the count asked
    /// for them, `MIN(o.id)` and `MAX(o.id)` (NULL without matches).
    pub fn of_columns(count: i64, ids: Option<(Option<i64>, Option<i64>)>) -> Self {
        Self {
            total: count.max(0) as u64,
            ids: ids.and_then(|(lo, hi)| lo.zip(hi)),
        }
    }
}

/// Counts by [`CountKey`], each valid for one generation; at most [`CAPACITY`] of them,
/// the least recently used dropped first. One per store handle (a server has one), so
/// that two databases opened in one process never share a count.
pub struct CountCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<CountKey, Entry>,
    tick: u64,
}

impl Default for CountCache {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
        }
    }
}

impl CountCache {
    /// What the count kept for `key` found, if it was counted under `generation`.
    pub fn get(&self, key: &CountKey, generation: i64) -> Option<Counted> {
        self.latest(key)
            .filter(|(g, _)| *g == generation)
            .map(|(_, c)| c)
    }

    /// The latest count kept for `key`, whatever its generation, with that generation: for
    /// a backend that reads the generation together with the page, and so must choose the
    /// page's bounds before it knows whether they hold.
    pub fn latest(&self, key: &CountKey) -> Option<(i64, Counted)> {
        let mut inner = self.inner.lock().ok()?;
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.entries.get_mut(key)?;
        e.used = tick;
        Some((e.generation, e.counted))
    }

    /// Keeps what a count under `generation` found, unless a count of a later generation
    /// is already kept (generations only grow).
    pub fn put(&self, key: CountKey, generation: i64, counted: Counted) {
        if key.0.len() > MAX_KEY_BYTES {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.tick += 1;
        let used = inner.tick;
        if let Some(e) = inner.entries.get_mut(&key) {
            if e.generation <= generation {
                *e = Entry {
                    generation,
                    counted,
                    used,
                };
            }
            return;
        }
        if inner.entries.len() >= CAPACITY {
            // A linear scan, on a miss only: a miss has just counted thousands of rows, so
            // a thousand comparisons are nothing beside it, and no list is kept in order on
            // every hit.
            if let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                generation,
                counted,
                used,
            },
        );
    }

    /// How many counts are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: i64) -> CountKey {
        CountKey::new(
            PortalId(1),
            "0-1",
            &Sql {
                text: "SELECT COUNT(*)".into(),
                params: vec![SqlValue::Int(n)],
            },
        )
    }

    fn texts(ts: &[&str]) -> CountKey {
        CountKey::new(
            PortalId(1),
            "0-1",
            &Sql {
                text: "SELECT COUNT(*)".into(),
                params: ts.iter().map(|t| SqlValue::Text((*t).into())).collect(),
            },
        )
    }

    #[test]
    fn texts_holding_the_separator_make_different_keys() {
        assert_ne!(texts(&["a\u{0}tb", "c"]), texts(&["a", "b\u{0}tc"]));
    }

    #[test]
    fn a_huge_key_is_not_kept() {
        let c = CountCache::default();
        let big = texts(&[&"x".repeat(MAX_KEY_BYTES)]);
        c.put(big.clone(), 1, Counted::total(3));
        assert_eq!(c.get(&big, 1).map(|c| c.total), None);
        c.put(key(1), 1, Counted::total(3));
        assert_eq!(c.get(&key(1), 1).map(|c| c.total), Some(3));
    }

    #[test]
    fn a_count_is_served_only_under_its_generation() {
        let c = CountCache::default();
        c.put(key(1), 5, Counted::total(42));
        assert_eq!(c.get(&key(1), 5).map(|c| c.total), Some(42));
        assert_eq!(c.get(&key(1), 6).map(|c| c.total), None);
        assert_eq!(c.get(&key(2), 5).map(|c| c.total), None);
        // An older count does not replace a newer one.
        c.put(key(1), 7, Counted::total(43));
        c.put(key(1), 6, Counted::total(41));
        assert_eq!(c.get(&key(1), 7).map(|c| c.total), Some(43));
        assert_eq!(c.get(&key(1), 6).map(|c| c.total), None);
    }

    #[test]
    fn the_least_recently_used_count_goes_first() {
        let c = CountCache::default();
        for n in 0..CAPACITY as i64 {
            c.put(key(n), 1, Counted::total(n as u64));
        }
        assert_eq!(c.get(&key(0), 1).map(|c| c.total), Some(0));
        c.put(key(-1), 1, Counted::total(9));
        assert_eq!(c.len(), CAPACITY);
        assert_eq!(
            c.get(&key(0), 1).map(|c| c.total),
            Some(0),
            "used recently: kept"
        );
        assert_eq!(
            c.get(&key(1), 1).map(|c| c.total),
            None,
            "least recently used: dropped"
        );
        assert_eq!(c.get(&key(-1), 1).map(|c| c.total), Some(9));
    }

    #[test]
    fn doubles_and_texts_make_distinct_keys() {
        let k = |v: SqlValue| {
            CountKey::new(
                PortalId(1),
                "0-1",
                &Sql {
                    text: "x".into(),
                    params: vec![v],
                },
            )
        };
        assert_ne!(k(SqlValue::Real(0.3)), k(SqlValue::Real(0.1 + 0.2)));
        assert_ne!(k(SqlValue::Text("1".into())), k(SqlValue::Int(1)));
        assert_ne!(
            CountKey::new(
                PortalId(1),
                "0-1",
                &Sql {
                    text: "x".into(),
                    params: vec![]
                }
            ),
            CountKey::new(
                PortalId(2),
                "0-1",
                &Sql {
                    text: "x".into(),
                    params: vec![]
                }
            )
        );
    }
}
