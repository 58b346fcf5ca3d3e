//! Several spoke processes on one database: two `PostgresStore`s (two pools, standing in
//! for two processes) write the same keys at once from many tasks.
//!
//! Needs `SPOKE_TEST_POSTGRES_URL`; skipped (and passing) without it.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use spoke_core::{ObjectId, PortalId};
use spoke_store::{
    AssociationStore, AssociationWrite, ItemFailure, LinkType, NewObject, ObjectPatch, ObjectStore,
    ReadKeys, ReadOptions, Store, Target, UpsertItem, WriteContext, WriteSource,
};
use spoke_store_postgres::PostgresStore;

const CONTACTS: &str = "0-1";
const COMPANIES: &str = "0-2";
const LIVE: ReadOptions<'static> = ReadOptions {
    archived: false,
    history: &[],
};

fn ctx(portal: PortalId, object_type: &str, now: i64) -> WriteContext {
    WriteContext {
        portal,
        object_type: object_type.to_owned(),
        now,
        source: WriteSource {
            source_type: "INTEGRATION".to_owned(),
            source_id: None,
        },
        unique_properties: vec!["email".to_owned()],
        atomic: false,
    }
}

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn two_stores(db: &common::Db) -> [Arc<PostgresStore>; 2] {
    let mut options = db.options();
    options.pool_size = 6;
    let a = db.open_with(options.clone()).await;
    let b = db.open_with(options).await;
    [Arc::new(a), Arc::new(b)]
}

async fn all_live(store: &dyn Store, portal: PortalId) -> Vec<spoke_core::ObjectRecord> {
    store
        .list_objects(portal, CONTACTS, None, 100_000, LIVE)
        .await
        .expect("list_objects")
        .into_iter()
        .map(|r| r.decode().expect("stored values decode"))
        .collect()
}

/// Creates and upserts of the same few emails from 24 tasks on two stores: each email ends
/// up on exactly one record, created exactly once, and no id is handed out twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_and_upserts_never_duplicate_a_unique_value() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7001);
        let emails: Vec<String> = (0..6).map(|i| format!("racer{i}@example.com")).collect();
        let mut tasks = Vec::new();
        for task in 0..24usize {
            let store = stores[task % 2].clone();
            let emails = emails.clone();
            tasks.push(tokio::spawn(async move {
                // (email, created id) for every record this task created.
                let mut created: Vec<(String, ObjectId)> = Vec::new();
                let mut seen_ids: Vec<ObjectId> = Vec::new();
                for round in 0..6usize {
                    let now = 1_700_000_000_000 + (task * 100 + round) as i64;
                    let c = ctx(portal, CONTACTS, now);
                    let name = format!("task{task}");
                    // Every task walks the emails in its own order.
                    let e = &emails[(task + round * 5) % emails.len()];
                    match (task + round) % 3 {
                        0 => {
                            let out = store
                                .create_objects(
                                    &c,
                                    vec![NewObject {
                                        properties: props(&[
                                            ("email", e.as_str()),
                                            ("firstname", name.as_str()),
                                        ]),
                                        associations: Vec::new(),
                                    }],
                                )
                                .await
                                .expect("create_objects must not fail under contention");
                            match &out[0] {
                                Ok(r) => {
                                    created.push((e.clone(), r.id));
                                    seen_ids.push(r.id);
                                }
                                Err(ItemFailure::Conflict {
                                    property, value, ..
                                }) => {
                                    assert_eq!((property.as_str(), value), ("email", e));
                                }
                                Err(other) => panic!("unexpected outcome {other:?}"),
                            }
                        }
                        1 => {
                            let out = store
                                .upsert_objects(
                                    &c,
                                    "email",
                                    vec![UpsertItem {
                                        value: e.clone(),
                                        properties: props(&[("firstname", name.as_str())]),
                                    }],
                                )
                                .await
                                .expect("upsert_objects must not fail under contention");
                            let up = out[0].as_ref().expect("an upsert never conflicts here");
                            assert_eq!(up.record.properties.get("email"), Some(e));
                            if up.created {
                                created.push((e.clone(), up.record.id));
                            }
                            seen_ids.push(up.record.id);
                        }
                        _ => {
                            // A batch of two upserts in task-dependent order: rows get
                            // locked in different orders, so deadlocks happen and retry.
                            let other = &emails[(task + round * 5 + 1) % emails.len()];
                            let mut items = vec![
                                UpsertItem {
                                    value: e.clone(),
                                    properties: props(&[("lastname", name.as_str())]),
                                },
                                UpsertItem {
                                    value: other.clone(),
                                    properties: props(&[("lastname", name.as_str())]),
                                },
                            ];
                            if task % 2 == 1 {
                                items.reverse();
                            }
                            let values: Vec<String> =
                                items.iter().map(|i| i.value.clone()).collect();
                            let out = store
                                .upsert_objects(&c, "email", items)
                                .await
                                .expect("batched upserts must not fail under contention");
                            for (value, r) in values.iter().zip(&out) {
                                let up = r.as_ref().expect("an upsert never conflicts here");
                                assert_eq!(up.record.properties.get("email"), Some(value));
                                if up.created {
                                    created.push((value.clone(), up.record.id));
                                }
                                seen_ids.push(up.record.id);
                            }
                        }
                    }
                }
                (created, seen_ids)
            }));
        }
        let mut created: Vec<(String, ObjectId)> = Vec::new();
        let mut seen: BTreeSet<ObjectId> = BTreeSet::new();
        for t in tasks {
            let (c, ids) = t.await.expect("task panicked");
            created.extend(c);
            seen.extend(ids);
        }

        let live = all_live(stores[0].as_ref(), portal).await;
        let mut holders: HashMap<&str, Vec<ObjectId>> = HashMap::new();
        for r in &live {
            let email = r
                .properties
                .get("email")
                .expect("every record has an email");
            holders.entry(email.as_str()).or_default().push(r.id);
        }
        for e in &emails {
            let ids = holders.get(e.as_str()).cloned().unwrap_or_default();
            assert_eq!(ids.len(), 1, "{e} is held by exactly one record: {ids:?}");
            let creations: Vec<ObjectId> = created
                .iter()
                .filter(|(ce, _)| ce == e)
                .map(|(_, id)| *id)
                .collect();
            assert_eq!(
                creations, ids,
                "{e} was created exactly once, as the record that holds it"
            );
        }
        assert_eq!(live.len(), emails.len(), "no stray records");
        let created_ids: BTreeSet<ObjectId> = created.iter().map(|c| c.1).collect();
        assert_eq!(created_ids.len(), created.len(), "no id handed out twice");
        assert_eq!(
            seen,
            live.iter().map(|r| r.id).collect(),
            "every write landed on a live record"
        );

        // Both stores read the same unique index.
        for store in &stores {
            let out = store
                .read_objects(
                    portal,
                    CONTACTS,
                    ReadKeys::Unique {
                        property: "email".to_owned(),
                        values: emails.clone(),
                    },
                    LIVE,
                )
                .await
                .expect("read_objects");
            for (e, r) in emails.iter().zip(out) {
                let r = r.expect("every email names a record");
                assert_eq!(holders[e.as_str()], [r.id]);
            }
        }
    })
    .await;
}

/// Plain creates from both stores at once: ids are all distinct and ascending in each batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_distinct_ids() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7002);
        let mut tasks = Vec::new();
        for task in 0..16usize {
            let store = stores[task % 2].clone();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for round in 0..10 {
                    let items = (0..5)
                        .map(|i| NewObject {
                            properties: props(&[("firstname", &format!("{task}-{round}-{i}"))]),
                            associations: Vec::new(),
                        })
                        .collect();
                    let out = store
                        .create_objects(&ctx(portal, CONTACTS, 1), items)
                        .await
                        .expect("create_objects");
                    let batch: Vec<ObjectId> = out
                        .iter()
                        .map(|r| r.as_ref().expect("created").id)
                        .collect();
                    assert!(
                        batch.windows(2).all(|w| w[0] < w[1]),
                        "ascending in a batch: {batch:?}"
                    );
                    ids.extend(batch);
                }
                ids
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task panicked"));
        }
        let distinct: BTreeSet<ObjectId> = all.iter().copied().collect();
        assert_eq!(distinct.len(), all.len(), "no id handed out twice");
        assert_eq!(all.len(), 16 * 10 * 5);
        assert_eq!(all_live(stores[1].as_ref(), portal).await.len(), all.len());
    })
    .await;
}

/// Patches of one record from 20 tasks on two stores, each setting its own property: the
/// record keeps every one of them (no write is lost), each with one history entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_record_lose_no_update() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7003);
        let out = stores[0]
            .create_objects(
                &ctx(portal, CONTACTS, 1),
                vec![NewObject {
                    properties: props(&[("email", "shared@example.com")]),
                    associations: Vec::new(),
                }],
            )
            .await
            .expect("create");
        let id = out[0].as_ref().expect("created").id;
        let mut tasks = Vec::new();
        for task in 0..20usize {
            let store = stores[task % 2].clone();
            tasks.push(tokio::spawn(async move {
                let name = format!("p{task}");
                let patch = if task % 2 == 0 {
                    store
                        .update_objects(
                            &ctx(portal, CONTACTS, 10 + task as i64),
                            vec![ObjectPatch {
                                target: Target::Id(id),
                                properties: props(&[(name.as_str(), "set")]),
                            }],
                        )
                        .await
                        .expect("update_objects")
                        .remove(0)
                        .map(|r| r.id)
                } else {
                    store
                        .upsert_objects(
                            &ctx(portal, CONTACTS, 10 + task as i64),
                            "email",
                            vec![UpsertItem {
                                value: "shared@example.com".to_owned(),
                                properties: props(&[(name.as_str(), "set")]),
                            }],
                        )
                        .await
                        .expect("upsert_objects")
                        .remove(0)
                        .map(|u| u.record.id)
                };
                assert_eq!(patch, Ok(id), "every patch hits the record");
            }));
        }
        for t in tasks {
            t.await.expect("task panicked");
        }
        let names: Vec<String> = (0..20).map(|t| format!("p{t}")).collect();
        let record = stores[1]
            .read_objects(
                portal,
                CONTACTS,
                ReadKeys::Ids(vec![id]),
                ReadOptions {
                    archived: false,
                    history: &names,
                },
            )
            .await
            .expect("read")
            .remove(0)
            .expect("record exists")
            .decode()
            .expect("stored values decode");
        for n in &names {
            assert_eq!(
                record.properties.get(n).map(String::as_str),
                Some("set"),
                "{n} survived"
            );
            assert_eq!(record.history[n].len(), 1, "{n} has one history entry");
        }
        assert_eq!(all_live(stores[0].as_ref(), portal).await.len(), 1);
    })
    .await;
}

/// Ten tasks on two stores each make a different company the contact's primary one at
/// once: exactly one primary remains, and its inverse link is the only inverse left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exclusive_links_leave_exactly_one() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7004);
        let contact = stores[0]
            .create_objects(&ctx(portal, CONTACTS, 1), vec![NewObject::default()])
            .await
            .expect("create")[0]
            .as_ref()
            .expect("created")
            .id;
        let companies: Vec<ObjectId> = stores[0]
            .create_objects(
                &ctx(portal, COMPANIES, 1),
                (0..10).map(|_| NewObject::default()).collect(),
            )
            .await
            .expect("create")
            .iter()
            .map(|r| r.as_ref().expect("created").id)
            .collect();
        let primary = LinkType {
            category: "HUBSPOT_DEFINED".to_owned(),
            type_id: 1,
            inverse_type_id: 2,
            exclusive: true,
            inverse_exclusive: false,
        };
        let mut tasks = Vec::new();
        for (i, company) in companies.iter().copied().enumerate() {
            let store = stores[i % 2].clone();
            let primary = primary.clone();
            tasks.push(tokio::spawn(async move {
                let out = store
                    .put_associations(
                        portal,
                        vec![AssociationWrite {
                            from_type: CONTACTS.to_owned(),
                            from_id: contact,
                            to_type: COMPANIES.to_owned(),
                            to_id: company,
                            types: vec![primary],
                        }],
                    )
                    .await
                    .expect("put_associations");
                assert_eq!(out, [Ok(())]);
            }));
        }
        for t in tasks {
            t.await.expect("task panicked");
        }
        let page = stores[1]
            .page_associations(portal, CONTACTS, COMPANIES, vec![(contact, None)], 100)
            .await
            .expect("page")
            .remove(0);
        assert_eq!(page.targets.len(), 1, "one primary company: {page:?}");
        let winner = page.targets[0].to_id;
        let inverse = stores[1]
            .page_associations(
                portal,
                COMPANIES,
                CONTACTS,
                companies.iter().map(|c| (*c, None)).collect(),
                100,
            )
            .await
            .expect("page");
        for (company, p) in companies.iter().zip(inverse) {
            let expected = usize::from(*company == winner);
            assert_eq!(p.targets.len(), expected, "company {company}: {p:?}");
        }
    })
    .await;
}

/// Labels created at once on two stores, on different pairs of one portal: every type id
/// is allocated once, and no pair exceeds its maximum.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_label_creation_allocates_distinct_type_ids() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7005);
        let pairs = [("0-1", "0-2"), ("0-2", "0-3"), ("0-1", "0-3")];
        let mut tasks = Vec::new();
        for task in 0..12usize {
            let store = stores[task % 2].clone();
            let (from, to) = pairs[task % pairs.len()];
            tasks.push(tokio::spawn(async move {
                store
                    .create_label(
                        portal,
                        from,
                        to,
                        &format!("label_{task}"),
                        &format!("Label {task}"),
                        None,
                        3,
                    )
                    .await
                    .expect("create_label")
            }));
        }
        let mut made = 0;
        for t in tasks {
            if t.await.expect("task panicked").is_some() {
                made += 1;
            }
        }
        let mut ids = Vec::new();
        for (from, to) in pairs {
            let labels = stores[0]
                .list_labels(portal, from, to)
                .await
                .expect("list_labels");
            assert!(labels.len() <= 3, "at most `max` labels per pair");
            ids.extend(labels.iter().map(|l| l.type_id));
            let back = stores[0]
                .list_labels(portal, to, from)
                .await
                .expect("list_labels");
            ids.extend(back.iter().map(|l| l.type_id));
        }
        assert_eq!(made, 9, "three pairs of three labels each");
        let distinct: BTreeSet<i64> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "type ids are distinct: {ids:?}");
        assert_eq!(ids.len(), 18, "each label has its inverse");
    })
    .await;
}

/// Several processes starting at once on an empty schema: one migrates, all open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    common::with_db(|db| async move {
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.open().await }));
        }
        for t in tasks {
            t.await.expect("open task panicked");
        }
        let admin = db.admin().await;
        let versions: Vec<i32> = admin
            .query(
                "SELECT version FROM spoke_schema_version ORDER BY version",
                &[],
            )
            .await
            .expect("read schema versions")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(versions, common::all_schema_versions());
    })
    .await;
}

/// Archiving from one store while another upserts the same email: the value is never held
/// by two live records, and an archived record never holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archive_racing_upserts_keeps_one_holder() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        let portal = PortalId(7006);
        let mut tasks = Vec::new();
        for task in 0..8usize {
            let store = stores[task % 2].clone();
            tasks.push(tokio::spawn(async move {
                for round in 0..10i64 {
                    let c = ctx(portal, CONTACTS, round);
                    let out = store
                        .upsert_objects(
                            &c,
                            "email",
                            vec![UpsertItem {
                                value: "phoenix@example.com".to_owned(),
                                properties: props(&[("firstname", "x")]),
                            }],
                        )
                        .await
                        .expect("upsert");
                    let id = out[0].as_ref().expect("upserted").record.id;
                    if (task as i64 + round) % 3 == 0 {
                        store
                            .archive_objects(portal, CONTACTS, vec![id], round)
                            .await
                            .expect("archive");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("task panicked");
        }
        let live = all_live(stores[0].as_ref(), portal).await;
        assert!(live.len() <= 1, "at most one live holder: {live:?}");
        let admin = db.admin().await;
        let stale: i64 = admin
            .query_one(
                "SELECT COUNT(*) FROM unique_values u JOIN objects o ON o.id = u.object_id
                 WHERE o.archived_at IS NOT NULL",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(stale, 0, "archived records hold no unique value");
    })
    .await;
}
