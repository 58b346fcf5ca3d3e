//! Checks of what concurrent calls must not break: unique values, ids, lost updates,
//! exclusive links, label ids, and association pages read while links change.
//!
//! Each check takes handles to one database (`stores`, at least one) and spreads its
//! concurrent calls over them: the suite passes one store, so the calls race inside one
//! backend instance; a backend whose instances share a database (several PostgreSQL
//! processes) passes several, so the same calls race between instances too. The calls run
//! as futures joined on the calling task, so a check needs no `'static` store.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use spoke_core::association::{HUBSPOT_DEFINED, USER_DEFINED};
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::associations::{link, make, page, plain, put, remove, unlabeled};
pub use super::schemas::concurrent_creates_get_distinct_numbers as concurrent_schema_creates_get_distinct_numbers;
use super::{ctx, list_all, new, ok, patch, props, COMPANIES, CONTACTS, LIVE, T0};
use crate::{
    AssociationRemoval, ItemFailure, LinkType, ObjectPatch, ReadKeys, ReadOptions, Store, Target,
    UpsertItem,
};

/// Runs `futures` concurrently on the calling task; their outputs in order.
pub(super) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut running: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        *output = Some(v);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn pick<'a>(stores: &[&'a dyn Store], i: usize) -> &'a dyn Store {
    assert!(!stores.is_empty(), "a concurrency check needs a store");
    stores[i % stores.len()]
}

/// Check 37: while one task adds and removes links of a record (and types of links that
/// stay), pages of that record taken with `after` never repeat a target, never skip one
/// that was linked throughout, and list only targets that were linked at some point.
pub async fn pages_never_repeat_or_skip_under_concurrent_writes(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    let reader = pick(stores, 0);
    let writer = pick(stores, stores.len() - 1);
    let contact = make(reader, portal, CONTACTS, 1).await[0];
    let companies = make(reader, portal, COMPANIES, 150).await;
    // Every third company (from the second) is churned; the rest, including the lowest
    // and the highest id, stay linked throughout.
    let churn: Vec<ObjectId> = companies.iter().skip(1).step_by(3).copied().collect();
    let stable: Vec<ObjectId> = companies
        .iter()
        .filter(|id| !churn.contains(id))
        .copied()
        .collect();
    put(
        reader,
        portal,
        stable
            .iter()
            .map(|to| link((CONTACTS, contact), (COMPANIES, *to), vec![unlabeled()]))
            .collect(),
    )
    .await;

    let stop = AtomicBool::new(false);
    let ops = AtomicUsize::new(0);
    let extra = || plain(USER_DEFINED, 10, 11);
    let unlink = |id: ObjectId, types: Option<Vec<(String, i64, i64)>>| AssociationRemoval {
        from_type: CONTACTS.to_owned(),
        from_id: contact,
        to_type: COMPANIES.to_owned(),
        to_id: id,
        types,
    };
    let writing = async {
        let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            usize::try_from(rng % n as u64).unwrap_or(0)
        };
        let mut linked: VecDeque<ObjectId> = VecDeque::new();
        let mut flicker: Option<ObjectId> = None;
        while !stop.load(Ordering::SeqCst) {
            let id = churn[next(churn.len())];
            if !linked.contains(&id) {
                put(
                    writer,
                    portal,
                    vec![link(
                        (CONTACTS, contact),
                        (COMPANIES, id),
                        vec![unlabeled()],
                    )],
                )
                .await;
                linked.push_back(id);
            }
            if linked.len() > 8 {
                let id = linked.pop_front().unwrap_or(id);
                let types = (next(2) == 0).then(|| vec![(HUBSPOT_DEFINED.to_owned(), 279, 280)]);
                remove(writer, portal, vec![unlink(id, types)]).await;
            }
            // A stable target gains and loses a second type; it stays linked.
            match flicker.take() {
                Some(id) => {
                    let types = Some(vec![(USER_DEFINED.to_owned(), 10, 11)]);
                    remove(writer, portal, vec![unlink(id, types)]).await;
                }
                None => {
                    let id = stable[next(stable.len())];
                    put(
                        writer,
                        portal,
                        vec![link((CONTACTS, contact), (COMPANIES, id), vec![extra()])],
                    )
                    .await;
                    flicker = Some(id);
                }
            }
            ops.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
    };
    let reading = async {
        let mut seen_ops = 0;
        for limit in [7, 20, 100] {
            let mut seen: Vec<ObjectId> = Vec::new();
            let mut after = None;
            loop {
                // Let the writer change something between any two pages.
                let deadline = Instant::now() + Duration::from_secs(20);
                while ops.load(Ordering::SeqCst) <= seen_ops {
                    assert!(Instant::now() < deadline, "the writer made no progress");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                seen_ops = ops.load(Ordering::SeqCst);
                let p = page(reader, portal, (CONTACTS, contact), COMPANIES, after, limit).await;
                assert!(p.targets.len() <= limit, "at most `limit` targets");
                if p.more {
                    assert_eq!(p.targets.len(), limit, "a page with more is full");
                }
                for t in &p.targets {
                    assert!(
                        after.is_none_or(|a| t.to_id > a),
                        "targets ascend across pages: {} after {after:?}",
                        t.to_id
                    );
                    after = Some(t.to_id);
                    if stable.contains(&t.to_id) {
                        assert!(
                            t.types.contains(&(HUBSPOT_DEFINED.into(), 279)),
                            "a stable target keeps its type: {t:?}"
                        );
                    } else {
                        assert!(churn.contains(&t.to_id), "only linked targets: {t:?}");
                    }
                    seen.push(t.to_id);
                }
                if !p.more {
                    break;
                }
            }
            let unique: BTreeSet<ObjectId> = seen.iter().copied().collect();
            assert_eq!(unique.len(), seen.len(), "limit {limit}: no target twice");
            let skipped: Vec<&ObjectId> = stable.iter().filter(|id| !unique.contains(id)).collect();
            assert!(
                skipped.is_empty(),
                "limit {limit}: stable targets skipped: {skipped:?}"
            );
        }
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(writing, reading);
}

/// Check 39: ten concurrent writes each make a different company the contact's primary
/// one: exactly one remains, and its inverse is the only inverse left.
pub async fn concurrent_exclusive_links_leave_exactly_one(stores: &[&dyn Store], portal: PortalId) {
    let first = pick(stores, 0);
    let contact = make(first, portal, CONTACTS, 1).await[0];
    let companies = make(first, portal, COMPANIES, 10).await;
    let primary = LinkType {
        exclusive: true,
        ..plain(HUBSPOT_DEFINED, 1, 2)
    };
    join_all(companies.iter().enumerate().map(|(i, company)| {
        let store = pick(stores, i);
        let primary = primary.clone();
        async move {
            put(
                store,
                portal,
                vec![link(
                    (CONTACTS, contact),
                    (COMPANIES, *company),
                    vec![primary],
                )],
            )
            .await;
        }
    }))
    .await;
    let last = pick(stores, 1);
    let p = page(last, portal, (CONTACTS, contact), COMPANIES, None, 100).await;
    assert_eq!(p.targets.len(), 1, "one primary company: {p:?}");
    let winner = p.targets[0].to_id;
    let inverse = last
        .page_associations(
            portal,
            COMPANIES,
            CONTACTS,
            companies.iter().map(|c| (*c, None)).collect(),
            100,
        )
        .await
        .expect("page_associations failed");
    for (company, p) in companies.iter().zip(inverse) {
        let expected = usize::from(*company == winner);
        assert_eq!(p.targets.len(), expected, "company {company}: {p:?}");
    }
}

/// Check 40: labels created at once on different pairs of one portal: every type id is
/// allocated once, and no pair exceeds its maximum.
pub async fn concurrent_label_creation_allocates_distinct_type_ids(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    let pairs = [
        (CONTACTS, COMPANIES),
        (COMPANIES, "deals"),
        (CONTACTS, "deals"),
    ];
    let made = join_all((0..12usize).map(|task| {
        let store = pick(stores, task);
        let (from, to) = pairs[task % pairs.len()];
        async move {
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
                .expect("create_label failed")
        }
    }))
    .await;
    let made = made.iter().filter(|m| m.is_some()).count();
    let mut ids = Vec::new();
    let first = pick(stores, 0);
    for (from, to) in pairs {
        for (a, b) in [(from, to), (to, from)] {
            let labels = first
                .list_labels(portal, a, b)
                .await
                .expect("list_labels failed");
            assert!(labels.len() <= 3, "at most `max` labels per pair");
            ids.extend(labels.iter().map(|l| l.type_id));
        }
    }
    assert_eq!(made, 9, "three pairs of three labels each");
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "type ids are distinct: {ids:?}");
    assert_eq!(ids.len(), 18, "each label has its inverse");
}

/// Check 71: creates and upserts of the same few emails from 24 concurrent tasks: each
/// email ends up on exactly one record, created exactly once, and no id is handed out
/// twice.
pub async fn concurrent_creates_and_upserts_never_duplicate_a_unique_value(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    let emails: Vec<String> = (0..6).map(|i| format!("racer{i}@example.com")).collect();
    let outcomes = join_all((0..24usize).map(|task| {
        let store = pick(stores, task);
        let emails = &emails;
        async move {
            // (email, created id) for every record this task created.
            let mut created: Vec<(String, ObjectId)> = Vec::new();
            let mut seen: Vec<ObjectId> = Vec::new();
            for round in 0..6usize {
                let c = ctx(portal, CONTACTS, T0 + (task * 100 + round) as i64);
                let name = format!("task{task}");
                // Every task walks the emails in its own order.
                let e = &emails[(task + round * 5) % emails.len()];
                match (task + round) % 3 {
                    0 => {
                        let out = store
                            .create_objects(
                                &c,
                                vec![new(&[("email", e.as_str()), ("firstname", &name)])],
                            )
                            .await
                            .expect("create_objects must not fail under contention");
                        match &out[0] {
                            Ok(r) => {
                                created.push((e.clone(), r.id));
                                seen.push(r.id);
                            }
                            Err(ItemFailure::Conflict {
                                property, value, ..
                            }) => assert_eq!((property.as_str(), value), ("email", e)),
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
                                    properties: props(&[("firstname", &name)]),
                                }],
                            )
                            .await
                            .expect("upsert_objects must not fail under contention");
                        let up = ok(&out[0], "an upsert never conflicts here");
                        assert_eq!(up.record.properties.get("email"), Some(e));
                        if up.created {
                            created.push((e.clone(), up.record.id));
                        }
                        seen.push(up.record.id);
                    }
                    _ => {
                        // Two upserts in task-dependent order: rows get locked in
                        // different orders.
                        let other = &emails[(task + round * 5 + 1) % emails.len()];
                        let mut values = [e.clone(), other.clone()];
                        if task % 2 == 1 {
                            values.reverse();
                        }
                        let items = values
                            .iter()
                            .map(|v| UpsertItem {
                                value: v.clone(),
                                properties: props(&[("lastname", &name)]),
                            })
                            .collect();
                        let out = store
                            .upsert_objects(&c, "email", items)
                            .await
                            .expect("batched upserts must not fail under contention");
                        for (value, r) in values.iter().zip(&out) {
                            let up = ok(r, "an upsert never conflicts here");
                            assert_eq!(up.record.properties.get("email"), Some(value));
                            if up.created {
                                created.push((value.clone(), up.record.id));
                            }
                            seen.push(up.record.id);
                        }
                    }
                }
            }
            (created, seen)
        }
    }))
    .await;
    let mut created: Vec<(String, ObjectId)> = Vec::new();
    let mut seen: BTreeSet<ObjectId> = BTreeSet::new();
    for (c, ids) in outcomes {
        created.extend(c);
        seen.extend(ids);
    }

    let live = list_all(pick(stores, 0), portal, CONTACTS, LIVE).await;
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
    // Every handle reads the same unique index.
    for store in stores {
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
            .expect("read_objects failed");
        for (e, r) in emails.iter().zip(out) {
            let r = r.expect("every email names a record");
            assert_eq!(holders[e.as_str()], [r.id]);
        }
    }
}

/// Check 72: plain creates from 16 concurrent tasks: ids are all distinct, and ascending
/// within each batch.
pub async fn concurrent_creates_get_distinct_ids(stores: &[&dyn Store], portal: PortalId) {
    let batches = join_all((0..16usize).map(|task| {
        let store = pick(stores, task);
        async move {
            let mut ids = Vec::new();
            for round in 0..10 {
                let items = (0..5)
                    .map(|i| new(&[("firstname", &format!("{task}-{round}-{i}"))]))
                    .collect();
                let out = store
                    .create_objects(&ctx(portal, CONTACTS, T0), items)
                    .await
                    .expect("create_objects failed");
                let batch: Vec<ObjectId> = out.iter().map(|r| ok(r, "create").id).collect();
                assert!(
                    batch.windows(2).all(|w| w[0] < w[1]),
                    "ascending in a batch: {batch:?}"
                );
                ids.extend(batch);
            }
            ids
        }
    }))
    .await;
    let all: Vec<ObjectId> = batches.into_iter().flatten().collect();
    let distinct: BTreeSet<ObjectId> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "no id handed out twice");
    assert_eq!(all.len(), 16 * 10 * 5);
    assert_eq!(
        list_all(pick(stores, 1), portal, CONTACTS, LIVE)
            .await
            .len(),
        all.len()
    );
}

/// Check 73: patches of one record from 20 concurrent tasks, each setting its own
/// property, half by id and half by upsert: the record keeps every one of them (no write
/// is lost), each with one history entry.
pub async fn concurrent_patches_of_one_record_lose_no_update(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    let out = pick(stores, 0)
        .create_objects(
            &ctx(portal, CONTACTS, T0),
            vec![new(&[("email", "shared@example.com")])],
        )
        .await
        .expect("create_objects failed");
    let id = ok(&out[0], "create").id;
    join_all((0..20usize).map(|task| {
        let store = pick(stores, task);
        async move {
            let name = format!("p{task}");
            let c = ctx(portal, CONTACTS, T0 + 10 + task as i64);
            let hit = if task % 2 == 0 {
                store
                    .update_objects(
                        &c,
                        vec![ObjectPatch {
                            target: Target::Id(id),
                            properties: props(&[(name.as_str(), "set")]),
                        }],
                    )
                    .await
                    .expect("update_objects failed")
                    .remove(0)
                    .map(|r| r.id)
            } else {
                store
                    .upsert_objects(
                        &c,
                        "email",
                        vec![UpsertItem {
                            value: "shared@example.com".to_owned(),
                            properties: props(&[(name.as_str(), "set")]),
                        }],
                    )
                    .await
                    .expect("upsert_objects failed")
                    .remove(0)
                    .map(|u| u.record.id)
            };
            assert_eq!(hit, Ok(id), "every patch hits the record");
        }
    }))
    .await;
    let names: Vec<String> = (0..20).map(|t| format!("p{t}")).collect();
    let record: ObjectRecord = pick(stores, 1)
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
        .expect("read_objects failed")
        .remove(0)
        .expect("the record exists")
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
    assert_eq!(
        list_all(pick(stores, 0), portal, CONTACTS, LIVE)
            .await
            .len(),
        1
    );
}

/// Check 74: archives racing upserts of one email: the value is never held by two live
/// records, and an archived record never holds it (it is free once its holder is archived).
pub async fn archive_racing_upserts_keeps_one_holder(stores: &[&dyn Store], portal: PortalId) {
    const EMAIL: &str = "phoenix@example.com";
    join_all((0..8usize).map(|task| {
        let store = pick(stores, task);
        async move {
            for round in 0..10i64 {
                let out = store
                    .upsert_objects(
                        &ctx(portal, CONTACTS, T0 + round),
                        "email",
                        vec![UpsertItem {
                            value: EMAIL.to_owned(),
                            properties: props(&[("firstname", "x")]),
                        }],
                    )
                    .await
                    .expect("upsert_objects failed");
                let id = ok(&out[0], "upsert").record.id;
                if (task as i64 + round) % 3 == 0 {
                    store
                        .archive_objects(portal, CONTACTS, vec![id], T0 + round)
                        .await
                        .expect("archive_objects failed");
                }
            }
        }
    }))
    .await;
    let store = pick(stores, 0);
    let live = list_all(store, portal, CONTACTS, LIVE).await;
    assert!(live.len() <= 1, "at most one live holder: {live:?}");
    let holder = live.first().map(|r| r.id);
    let found = store
        .read_objects(
            portal,
            CONTACTS,
            ReadKeys::Unique {
                property: "email".to_owned(),
                values: vec![EMAIL.to_owned()],
            },
            LIVE,
        )
        .await
        .expect("read_objects failed");
    assert_eq!(
        found[0].as_ref().map(|r| r.id),
        holder,
        "the unique index names the live holder, or nothing"
    );
    // A create of the value conflicts exactly when a live record holds it.
    let out = store
        .create_objects(
            &ctx(portal, CONTACTS, T0 + 100),
            vec![new(&[("email", EMAIL)])],
        )
        .await
        .expect("create_objects failed");
    match holder {
        Some(existing_id) => assert_eq!(
            out[0].as_ref().err(),
            Some(&ItemFailure::Conflict {
                property: "email".to_owned(),
                value: EMAIL.to_owned(),
                existing_id,
            })
        ),
        None => {
            ok(&out[0], "archived records hold no unique value");
        }
    }
}

/// Check 103: portals created at once each get their own seeded directory with distinct
/// ids, and concurrent user creates (two per email) leave one user per email, every id
/// handed out once. Uses portals `first` to `first + 7`.
pub async fn concurrent_directory_writes_keep_ids_distinct_and_emails_unique(
    stores: &[&dyn Store],
    first: PortalId,
) {
    use crate::directory::{DirectoryRefusal, DirectoryWrite, UserChange, UserFields};

    let portals: Vec<PortalId> = (0..8).map(|i| PortalId(first.0 + i)).collect();
    join_all(portals.iter().enumerate().map(|(i, p)| async move {
        pick(stores, i)
            .ensure_portal(*p, T0)
            .await
            .expect("ensure_portal failed")
    }))
    .await;
    let mut users = BTreeSet::new();
    let mut owners = BTreeSet::new();
    let mut teams = BTreeSet::new();
    for p in &portals {
        let dir = pick(stores, 0)
            .read_directory(*p)
            .await
            .expect("read_directory failed");
        assert_eq!(
            (dir.users.len(), dir.teams.len(), dir.roles.len()),
            (1, 2, 2)
        );
        assert!(users.insert(dir.users[0].id) && owners.insert(dir.users[0].owner_id));
        for t in &dir.teams {
            assert!(teams.insert(t.id), "team id {} handed out twice", t.id);
        }
    }

    let portal = portals[0];
    let outcomes = join_all((0..16usize).map(|task| async move {
        let write = DirectoryWrite {
            portal,
            now: T0,
            change: UserChange::Create {
                email: format!("racer{}@example.com", task / 2),
                fields: UserFields::default(),
            },
        };
        pick(stores, task)
            .write_directory(write)
            .await
            .expect("write_directory failed")
    }))
    .await;
    let made: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(made.len(), 8, "one user per email: {outcomes:?}");
    for o in &outcomes {
        if let Err(refusal) = o {
            assert!(
                matches!(refusal, DirectoryRefusal::EmailTaken(_)),
                "{refusal:?}"
            );
        }
    }
    for u in &made {
        assert!(
            users.insert(u.id) && owners.insert(u.owner_id),
            "ids handed out once"
        );
    }
    let dir = pick(stores, 1)
        .read_directory(portal)
        .await
        .expect("read_directory failed");
    assert_eq!(
        dir.users.len(),
        9,
        "the account owner and the eight winners"
    );
}

/// Check 433: the first search of a property makes its rows from the stored records while
/// other calls create records with it. Every record must be found by the index afterwards:
/// a write that read the list of indexed properties before the property was listed must
/// commit before the indexing reads the records, or its record would have no row. Five
/// properties are indexed one after another, each while the writers run.
pub async fn indexing_racing_writes_misses_no_record(stores: &[&dyn Store], portal: PortalId) {
    use spoke_core::search::{Condition, Field, Filter, Kind, Operand, SearchQuery};
    const NAMES: [&str; 5] = ["race0", "race1", "race2", "race3", "race4"];
    let values = |i: usize| -> Vec<(String, String)> {
        NAMES
            .iter()
            .map(|n| ((*n).to_owned(), format!("v{}", i % 7)))
            .collect()
    };
    let batch = |from: usize| -> Vec<crate::NewObject> {
        (from..from + 10)
            .map(|i| crate::NewObject {
                properties: values(i).into_iter().collect(),
                associations: Vec::new(),
            })
            .collect()
    };
    let query = |name: &str, value: &str| SearchQuery {
        groups: vec![vec![Filter {
            field: Field::Property {
                name: name.to_owned(),
                kind: Kind::Text,
                unique_index: false,
            },
            condition: Condition::Eq(Operand::Text(value.to_owned())),
        }]],
        text: None,
        text_properties: Vec::new(),
        sort: None,
        offset: 0,
        limit: 10,
    };
    let created = AtomicUsize::new(0);
    let create = |store, from| create_counted(store, portal, batch(from), &created);
    for b in 0..10 {
        create(pick(stores, 0), b * 10).await;
    }
    let stop = AtomicBool::new(false);
    let writers = join_all((0..4usize).map(|w| {
        let (stop, create) = (&stop, &create);
        async move {
            let mut b = 0;
            while !stop.load(Ordering::SeqCst) || b < 3 {
                create(pick(stores, w), 1_000 + (w * 1_000 + b) * 10).await;
                b += 1;
            }
        }
    }));
    let indexing = async {
        for (i, name) in NAMES.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(15)).await;
            pick(stores, i + 1)
                .search_objects(portal, CONTACTS, &query(name, "v0"))
                .await
                .expect("search");
        }
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(writers, indexing);
    let total = created.load(Ordering::SeqCst);
    for (i, name) in NAMES.iter().enumerate() {
        let mut found = 0;
        for v in 0..7 {
            found += pick(stores, i)
                .search_objects(portal, CONTACTS, &query(name, &format!("v{v}")))
                .await
                .expect("search")
                .total;
        }
        assert_eq!(
            found, total,
            "{name}: every record created is found through the index"
        );
    }
}

/// Check 434: a property's rows are made in steps of a few records (the chunk lowered to
/// 3), while other calls update the records on both sides of the step's position, clear
/// some values and create records. Afterwards every record is found under its last value
/// and under no other, and the rows are exactly those a reindex makes: a step must read
/// each record as it is when it holds writers off, and every write after the listing must
/// keep its own rows.
pub async fn indexing_in_steps_racing_updates_misses_no_record(
    stores: &[&dyn Store],
    portal: PortalId,
) {
    use spoke_core::search::{Condition, Field, Filter, Kind, Operand, SearchQuery};
    const RECORDS: usize = 60;
    const VALUES: usize = 5;
    struct Chunk;
    impl Drop for Chunk {
        fn drop(&mut self) {
            crate::value_index::set_indexing_chunk(None);
        }
    }
    let value = |i: usize| format!("step v{}", i % VALUES);
    let query = |v: &str| SearchQuery {
        groups: vec![vec![Filter {
            field: Field::Property {
                name: "stepped".to_owned(),
                kind: Kind::Text,
                unique_index: false,
            },
            condition: Condition::Eq(Operand::Text(v.to_owned())),
        }]],
        text: None,
        text_properties: Vec::new(),
        sort: None,
        offset: 0,
        limit: 10,
    };
    let out = pick(stores, 0)
        .create_objects(
            &ctx(portal, CONTACTS, T0),
            (0..RECORDS)
                .map(|i| new(&[("stepped", value(i).as_str())]))
                .collect(),
        )
        .await
        .expect("create");
    let ids: Vec<ObjectId> = out.iter().map(|r| ok(r, "create").id).collect();
    // The last value the check gave each record ("" clears it).
    let last: std::sync::Mutex<HashMap<ObjectId, String>> = std::sync::Mutex::new(
        ids.iter()
            .enumerate()
            .map(|(i, id)| (*id, value(i)))
            .collect(),
    );
    let _chunk = Chunk;
    crate::value_index::set_indexing_chunk(Some(3));
    let stop = AtomicBool::new(false);
    let writers = join_all((0..3usize).map(|w| {
        let (stop, last, ids) = (&stop, &last, &ids);
        async move {
            let store = pick(stores, w);
            let mut round = 0;
            while !stop.load(Ordering::SeqCst) || round < 3 {
                round += 1;
                let c = ctx(portal, CONTACTS, T0 + 10 + round as i64);
                // Every third record is this writer's, from both ends of the id range.
                let mine: Vec<usize> = (w..RECORDS).step_by(3).collect();
                let at = mine[round % mine.len()];
                let far = mine[mine.len() - 1 - round % mine.len()];
                for i in [at, far] {
                    let v = if (round + i) % 7 == 0 {
                        String::new()
                    } else {
                        value(round + i)
                    };
                    let out = store
                        .update_objects(&c, vec![patch(ids[i], &[("stepped", v.as_str())])])
                        .await
                        .expect("update");
                    ok(&out[0], "update");
                    last.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(ids[i], v);
                }
                let v = value(round + w);
                let out = store
                    .create_objects(&c, vec![new(&[("stepped", v.as_str())])])
                    .await
                    .expect("create");
                let id = ok(&out[0], "create").id;
                last.lock().unwrap_or_else(|e| e.into_inner()).insert(id, v);
            }
        }
    }));
    let indexing = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        pick(stores, 1)
            .search_objects(portal, CONTACTS, &query("step v0"))
            .await
            .expect("search");
        stop.store(true, Ordering::SeqCst);
    };
    tokio::join!(writers, indexing);
    let last = last.into_inner().unwrap_or_else(|e| e.into_inner());
    for v in 0..VALUES {
        let v = value(v);
        let expected = last.values().filter(|x| **x == v).count();
        let found = pick(stores, v.len())
            .search_objects(portal, CONTACTS, &query(&v))
            .await
            .expect("search")
            .total;
        assert_eq!(
            found, expected,
            "{v}: every record found under its last value"
        );
    }
    super::value_index::reindex_agrees(pick(stores, 0), portal, "built in steps").await;
}

/// Creates `items` (each must be created) and counts them into `created`.
async fn create_counted(
    store: &dyn Store,
    portal: PortalId,
    items: Vec<crate::NewObject>,
    created: &AtomicUsize,
) {
    let out = store
        .create_objects(&super::ctx(portal, CONTACTS, T0), items)
        .await
        .expect("create");
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    created.fetch_add(out.len(), Ordering::SeqCst);
}
