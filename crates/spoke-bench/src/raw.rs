//! The raw storage figure: the same writes and reads straight on the store (`SqliteStore`
//! or `PostgresStore`, opened with spoke's default settings), in this process, without HTTP,
//! JSON or validation. The ratio HTTP/raw is what the server costs.

use std::fmt::Debug;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::{
    AssociationWrite, LinkType, NewObject, ObjectPatch, ReadKeys, ReadOptions, Store, Target,
    UpsertItem, WriteContext, WriteSource,
};

use crate::data;
use crate::driver::{Batch, BoxFuture, Op, Worker};
use crate::http::{Scenario, BATCH};

pub const PORTAL: PortalId = PortalId(42_000_001);
pub const CONTACTS: &str = "0-1";
pub const COMPANIES: &str = "0-2";
pub const DEALS: &str = "0-3";

/// Opens a store as `spoke serve` would, with its default settings.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, String> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(spoke_store_sqlite::SqliteStore::open(url).map_err(|e| e.to_string())?)
    } else {
        Arc::new(
            spoke_store_postgres::PostgresStore::open(url, Default::default())
                .await
                .map_err(|e| e.to_string())?,
        )
    };
    Ok(store)
}

pub async fn prepare(store: &dyn Store) -> Result<(), String> {
    store
        .ensure_portal(PORTAL, now_millis())
        .await
        .map_err(|e| e.to_string())
}

fn context() -> WriteContext {
    context_for(CONTACTS)
}

pub fn context_for(object_type: &str) -> WriteContext {
    WriteContext {
        portal: PORTAL,
        object_type: object_type.to_owned(),
        now: now_millis(),
        source: WriteSource {
            source_type: "API".into(),
            source_id: None,
        },
        unique_properties: if object_type == CONTACTS {
            vec!["email".to_owned()]
        } else {
            Vec::new()
        },
        atomic: true,
    }
}

fn contacts(numbers: impl Iterator<Item = u64>) -> Vec<NewObject> {
    numbers
        .map(|n| NewObject {
            properties: data::to_map(data::contact(n)),
            associations: Vec::new(),
        })
        .collect()
}

async fn create(store: &dyn Store, numbers: Range<u64>) -> Result<Vec<i64>, String> {
    let results = store
        .create_objects(&context(), contacts(numbers))
        .await
        .map_err(|e| e.to_string())?;
    results
        .into_iter()
        .map(|r| {
            r.map(|rec| rec.id)
                .map_err(|f| format!("create failed: {f:?}"))
        })
        .collect()
}

/// Every item of a batch succeeded: how many there were, or the first failure.
fn all_ok<T, E: Debug>(what: &str, outcomes: Vec<Result<T, E>>) -> Result<u64, String> {
    let n = outcomes.len() as u64;
    match outcomes.into_iter().find_map(Result::err) {
        None => Ok(n),
        Some(f) => Err(format!("{what}: {f:?}")),
    }
}

/// The raw load: contact number `i` for item `i`, like the HTTP load.
pub struct RawCreate(pub Arc<dyn Store>);

impl Batch for RawCreate {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(create(self.0.as_ref(), numbers))
    }
}

/// Creates records of a type other than contacts: item `i` is record number `i`, with the
/// values the HTTP load gives it ([`data::company`], [`data::deal`]).
pub struct RawCreateOf(pub Arc<dyn Store>, pub &'static str);

impl RawCreateOf {
    async fn create(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let items = numbers
            .map(|n| NewObject {
                properties: data::to_map(if self.1 == DEALS {
                    data::deal(n)
                } else {
                    data::company(n)
                }),
                associations: Vec::new(),
            })
            .collect();
        let results = self
            .0
            .create_objects(&context_for(self.1), items)
            .await
            .map_err(|e| e.to_string())?;
        results
            .into_iter()
            .map(|r| {
                r.map(|rec| rec.id)
                    .map_err(|f| format!("create failed: {f:?}"))
            })
            .collect()
    }
}

impl Batch for RawCreateOf {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.create(numbers))
    }
}

/// The hub contact and the ten-link contact, as `http::create_special_contacts` makes them.
pub async fn create_special_contacts(store: &dyn Store) -> Result<(i64, i64), String> {
    let items = ["hub", "ten"]
        .map(|n| NewObject {
            properties: [("email", format!("bench-{n}@example.com"))]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            associations: Vec::new(),
        })
        .to_vec();
    let ids: Vec<i64> = store
        .create_objects(&context(), items)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| {
            r.map(|rec| rec.id)
                .map_err(|f| format!("create failed: {f:?}"))
        })
        .collect::<Result<_, _>>()?;
    match ids[..] {
        [hub, ten] => Ok((hub, ten)),
        _ => Err(format!("creating the hub contacts gave {} ids", ids.len())),
    }
}

/// Associates (contact, `to_type`) pairs with the pair's default type, as the HTTP load's
/// `batch/associate/default` does: item `i` is `pairs[i]`.
pub struct RawLink {
    pub store: Arc<dyn Store>,
    pub to_type: &'static str,
    pub pairs: Vec<(i64, i64)>,
}

impl RawLink {
    async fn link(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let default = spoke_core::association::default_type(CONTACTS, self.to_type)
            .ok_or("no default association type")?;
        let link = LinkType {
            category: default.category,
            type_id: default.type_id,
            inverse_type_id: default.inverse_type_id,
            exclusive: false,
            inverse_exclusive: false,
        };
        let items = self.pairs[numbers.start as usize..numbers.end as usize]
            .iter()
            .map(|(from, to)| AssociationWrite {
                from_type: CONTACTS.to_owned(),
                from_id: *from,
                to_type: self.to_type.to_owned(),
                to_id: *to,
                types: vec![link.clone()],
            })
            .collect();
        let out = self.store.put_associations(PORTAL, items).await;
        all_ok("associate", out.map_err(|e| e.to_string())?)?;
        Ok(Vec::new())
    }
}

impl Batch for RawLink {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.link(numbers))
    }
}

/// The scenarios that have a raw counterpart.
pub fn has_raw(s: Scenario) -> bool {
    matches!(
        s,
        Scenario::BatchCreate | Scenario::BatchRead | Scenario::BatchUpdate | Scenario::BatchUpsert
    )
}

pub struct RawOp {
    pub store: Arc<dyn Store>,
    pub contacts: Arc<Vec<i64>>,
    pub records: u64,
    pub scenario: Scenario,
    pub next_number: Arc<AtomicU64>,
    pub seq: Arc<AtomicU64>,
}

impl RawOp {
    fn random_ids(&self, w: &mut Worker) -> Vec<i64> {
        w.rng
            .distinct(self.contacts.len(), BATCH)
            .into_iter()
            .map(|i| self.contacts[i])
            .collect()
    }

    fn seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    async fn run(&self, w: &mut Worker) -> Result<u64, String> {
        match self.scenario {
            Scenario::BatchCreate => {
                let first = self.next_number.fetch_add(BATCH as u64, Ordering::Relaxed);
                let ids = create(self.store.as_ref(), first..first + BATCH as u64).await?;
                Ok(ids.len() as u64)
            }
            Scenario::BatchRead => {
                let ids = self.random_ids(w);
                let found = self
                    .store
                    .read_objects(
                        PORTAL,
                        CONTACTS,
                        ReadKeys::Ids(ids),
                        ReadOptions {
                            archived: false,
                            history: &[],
                        },
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                let found = found.into_iter().map(|r| r.ok_or("missing record"));
                all_ok("read", found.collect())
            }
            Scenario::BatchUpdate => {
                let patches = self
                    .random_ids(w)
                    .into_iter()
                    .map(|id| ObjectPatch {
                        target: Target::Id(id),
                        properties: data::to_map(data::update(self.seq())),
                    })
                    .collect();
                let out = self.store.update_objects(&context(), patches).await;
                all_ok("update", out.map_err(|e| e.to_string())?)
            }
            Scenario::BatchUpsert => {
                let existing = w.rng.distinct(self.records as usize, BATCH - 10);
                let new_first = self.next_number.fetch_add(10, Ordering::Relaxed);
                let items = existing
                    .into_iter()
                    .map(|n| n as u64)
                    .chain(new_first..new_first + 10)
                    .map(|n| UpsertItem {
                        value: data::email(n),
                        properties: data::to_map(data::upsert(self.seq())),
                    })
                    .collect();
                let out = self.store.upsert_objects(&context(), "email", items).await;
                all_ok("upsert", out.map_err(|e| e.to_string())?)
            }
            other => Err(format!("{} has no raw counterpart", other.name())),
        }
    }
}

impl Op for RawOp {
    fn call<'a>(&'a self, w: &'a mut Worker, _ticket: u64) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(self.run(w))
    }
}
