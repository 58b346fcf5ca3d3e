//! Batch rules the planner ([`crate::plan`]) encodes that the object checks do not pin
//! on their own: an item sees what the earlier items of its batch did, history only on
//! change, and which failures stop an atomic batch.

use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{
    atomic, create_one, ctx, new, ok, patch, props, read_one, read_unique, Portals, COMPANIES,
    CONTACTS, LIVE, T0, UNKNOWN_ID,
};
use crate::{
    ItemFailure, ItemResult, LinkType, NewAssociation, ObjectPatch, ReadKeys, ReadOptions, Store,
    Target, UpsertItem, WriteContext,
};

/// Runs the batch checks, in portals `base + 19` to `base + 30` (and `base + 119`...).
pub(super) async fn run_all(store: &dyn Store, p: &Portals) {
    upsert_of_one_value_twice_creates_then_updates(store, p.of(19)).await;
    value_freed_by_an_earlier_item_is_taken_by_a_later_one(store, p.of(20)).await;
    history_only_on_change_within_one_batch(store, p.of(21)).await;
    association_target_failure_atomic_and_not(store, p.of(22)).await;
    freed_value_no_longer_names_its_record(store, p.of(23)).await;
    not_found_does_not_stop_an_atomic_batch(store, p.of(24)).await;
    read_naming_a_record_twice_gives_its_history_once(store, p.of(25)).await;
}

fn upsert(value: &str, pairs: &[(&str, &str)]) -> UpsertItem {
    UpsertItem {
        value: value.to_owned(),
        properties: props(pairs),
    }
}

fn by_email(value: &str, pairs: &[(&str, &str)]) -> ObjectPatch {
    ObjectPatch {
        target: Target::Unique {
            property: "email".to_owned(),
            value: value.to_owned(),
        },
        properties: props(pairs),
    }
}

async fn update(
    store: &dyn Store,
    c: &WriteContext,
    items: Vec<ObjectPatch>,
) -> Vec<ItemResult<ObjectRecord>> {
    let out = store
        .update_objects(c, items)
        .await
        .expect("update_objects failed");
    out
}

/// The values of a property's history, newest first.
fn values<'r>(record: &'r ObjectRecord, name: &str) -> Vec<&'r str> {
    record.history[name]
        .iter()
        .map(|h| h.value.as_str())
        .collect()
}

/// The ids `id` of `from_type` is associated with.
async fn linked(
    store: &dyn Store,
    portal: PortalId,
    from_type: &str,
    id: ObjectId,
) -> Vec<ObjectId> {
    let to_type = if from_type == CONTACTS {
        COMPANIES
    } else {
        CONTACTS
    };
    let pages = store
        .page_associations(portal, from_type, to_type, vec![(id, None)], 10)
        .await
        .expect("page_associations failed");
    pages[0].targets.iter().map(|t| t.to_id).collect()
}

fn link() -> LinkType {
    super::associations::unlabeled()
}

async fn upsert_of_one_value_twice_creates_then_updates(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let out = store
        .upsert_objects(
            &c,
            "email",
            vec![
                upsert("twice@example.com", &[("firstname", "First")]),
                upsert("twice@example.com", &[("firstname", "Second")]),
            ],
        )
        .await
        .expect("upsert_objects failed");
    assert_eq!(out.len(), 2, "one outcome per item");
    let first = ok(&out[0], "first upsert of the value");
    let second = ok(&out[1], "second upsert of the value");
    assert!(first.created, "the first item creates the record");
    assert!(
        !second.created,
        "the second item updates the record the first one created"
    );
    assert_eq!(first.record.id, second.record.id, "one record");
    assert_eq!(
        second.record.properties,
        props(&[("email", "twice@example.com"), ("firstname", "Second")])
    );
    let history = ["firstname".to_owned()];
    let options = ReadOptions {
        archived: false,
        history: &history,
    };
    let stored = read_one(store, portal, CONTACTS, first.record.id, options)
        .await
        .expect("the record exists");
    assert_eq!(stored.properties, second.record.properties);
    assert_eq!(
        values(&stored, "firstname"),
        ["Second", "First"],
        "both writes, newest first"
    );
}

async fn value_freed_by_an_earlier_item_is_taken_by_a_later_one(
    store: &dyn Store,
    portal: PortalId,
) {
    let c = ctx(portal, CONTACTS, T0);
    let a = create_one(store, &c, &[("email", "a@example.com")]).await;
    let b = create_one(store, &c, &[("email", "b@example.com")]).await;
    // The two swap values through a third: each item sees the values the earlier ones freed.
    let c1 = ctx(portal, CONTACTS, T0 + 10);
    let out = update(
        store,
        &c1,
        vec![
            patch(a.id, &[("email", "tmp@example.com")]),
            patch(b.id, &[("email", "a@example.com")]),
            patch(a.id, &[("email", "b@example.com")]),
        ],
    )
    .await;
    for (i, r) in out.iter().enumerate() {
        ok(r, &format!("swap item {i}"));
    }
    let holder = |v: &'static str| read_unique(store, portal, CONTACTS, "email", v, LIVE);
    assert_eq!(holder("a@example.com").await.map(|r| r.id), Some(b.id));
    assert_eq!(holder("b@example.com").await.map(|r| r.id), Some(a.id));
    assert_eq!(
        holder("tmp@example.com").await.map(|r| r.id),
        None,
        "a value taken and freed in one batch is free after it"
    );
    // A new record can take the value the batch left free.
    create_one(store, &c1, &[("email", "tmp@example.com")]).await;
}

async fn history_only_on_change_within_one_batch(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let r = create_one(store, &c, &[("email", "h@example.com"), ("firstname", "A")]).await;
    let c1 = ctx(portal, CONTACTS, T0 + 10);
    let out = update(
        store,
        &c1,
        vec![
            patch(r.id, &[("firstname", "B")]),
            patch(r.id, &[("firstname", "B"), ("lastname", "L")]),
            patch(r.id, &[("email", "h@example.com")]),
        ],
    )
    .await;
    let last = ok(&out[2], "a write of unchanged values");
    assert_eq!(last.updated_at, T0 + 10, "every write moves the date");
    let history = [
        "email".to_owned(),
        "firstname".to_owned(),
        "lastname".to_owned(),
    ];
    let options = ReadOptions {
        archived: false,
        history: &history,
    };
    let stored = read_one(store, portal, CONTACTS, r.id, options)
        .await
        .expect("the record exists");
    let values = |name: &str| -> Vec<String> {
        stored.history[name]
            .iter()
            .map(|h| h.value.clone())
            .collect()
    };
    assert_eq!(
        values("firstname"),
        ["B", "A"],
        "B once, though written twice"
    );
    assert_eq!(values("lastname"), ["L"]);
    assert_eq!(
        values("email"),
        ["h@example.com"],
        "an unchanged value adds none"
    );
}

async fn association_target_failure_atomic_and_not(store: &dyn Store, portal: PortalId) {
    let companies = ctx(portal, COMPANIES, T0);
    let company = create_one(store, &companies, &[("name", "Target")]).await;
    let gone = create_one(store, &companies, &[("name", "Archived")]).await;
    store
        .archive_objects(portal, COMPANIES, vec![gone.id], T0 + 1)
        .await
        .expect("archive_objects failed");
    let item = |email: &str, to: ObjectId| {
        let mut n = new(&[("email", email)]);
        n.associations.push(NewAssociation {
            to_type: COMPANIES.to_owned(),
            to_id: to,
            types: vec![link()],
        });
        n
    };
    let batch = |prefix: &str| {
        vec![
            item(&format!("{prefix}1@example.com"), company.id),
            item(&format!("{prefix}2@example.com"), UNKNOWN_ID),
            item(&format!("{prefix}3@example.com"), gone.id),
            item(&format!("{prefix}4@example.com"), company.id),
        ]
    };
    let missing = |id| ItemFailure::AssociationTarget {
        object_type: COMPANIES.to_owned(),
        id,
    };

    // Non-atomic: the failing items stand alone, the others and their links are written.
    let c = ctx(portal, CONTACTS, T0 + 10);
    let out = store
        .create_objects(&c, batch("loose"))
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 4, "one outcome per item");
    let first = ok(&out[0], "item with a live target");
    assert_eq!(out[1].as_ref().err(), Some(&missing(UNKNOWN_ID)));
    assert_eq!(out[2].as_ref().err(), Some(&missing(gone.id)), "archived");
    let last = ok(&out[3], "item after the failures");
    for id in [first.id, last.id] {
        let targets = linked(store, portal, CONTACTS, id).await;
        assert_eq!(targets, [company.id], "the link of a written item");
    }
    assert!(
        read_unique(store, portal, CONTACTS, "email", "loose2@example.com", LIVE)
            .await
            .is_none(),
        "a failed item writes nothing"
    );

    // Atomic: the batch stops at the first failure and nothing is written.
    let c = atomic(ctx(portal, CONTACTS, T0 + 20));
    let out = store
        .create_objects(&c, batch("tight"))
        .await
        .expect("create_objects failed");
    assert_eq!(out.len(), 2, "outcomes up to the failing item");
    ok(&out[0], "the item before the failure");
    assert_eq!(out[1].as_ref().err(), Some(&missing(UNKNOWN_ID)));
    for email in ["tight1@example.com", "tight4@example.com"] {
        assert!(
            read_unique(store, portal, CONTACTS, "email", email, LIVE)
                .await
                .is_none(),
            "{email}: an atomic batch that failed writes nothing"
        );
    }
    let mut expected = vec![first.id, last.id];
    expected.sort_unstable();
    let targets = linked(store, portal, COMPANIES, company.id).await;
    assert_eq!(targets, expected, "no link of the rolled back batch");
}

async fn freed_value_no_longer_names_its_record(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let a = create_one(store, &c, &[("email", "old@example.com")]).await;
    let out = update(
        store,
        &ctx(portal, CONTACTS, T0 + 10),
        vec![
            by_email("old@example.com", &[("email", "new@example.com")]),
            by_email("old@example.com", &[("firstname", "Lost")]),
            by_email("new@example.com", &[("firstname", "Found")]),
        ],
    )
    .await;
    assert_eq!(ok(&out[0], "rename").id, a.id);
    assert_eq!(
        out[1].as_ref().err(),
        Some(&ItemFailure::NotFound),
        "the old value was freed by the first item"
    );
    let found = ok(&out[2], "the new value names the record");
    assert_eq!(found.id, a.id);
    assert_eq!(
        found.properties,
        props(&[("email", "new@example.com"), ("firstname", "Found")])
    );
}

async fn not_found_does_not_stop_an_atomic_batch(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let r = create_one(store, &c, &[("email", "nf@example.com")]).await;
    let c1 = atomic(ctx(portal, CONTACTS, T0 + 10));
    let out = update(
        store,
        &c1,
        vec![
            patch(UNKNOWN_ID, &[("firstname", "Nobody")]),
            patch(r.id, &[("firstname", "Somebody")]),
        ],
    )
    .await;
    assert_eq!(out.len(), 2, "the batch goes on after a missing record");
    assert_eq!(out[0].as_ref().err(), Some(&ItemFailure::NotFound));
    ok(&out[1], "the item after a missing record");
    let stored = read_one(store, portal, CONTACTS, r.id, LIVE)
        .await
        .expect("the record exists");
    let committed = props(&[("email", "nf@example.com"), ("firstname", "Somebody")]);
    assert_eq!(stored.properties, committed, "committed");
}

async fn read_naming_a_record_twice_gives_its_history_once(store: &dyn Store, portal: PortalId) {
    let c = ctx(portal, CONTACTS, T0);
    let pairs = [("email", "dup@example.com"), ("firstname", "A")];
    let r = create_one(store, &c, &pairs).await;
    let c1 = ctx(portal, CONTACTS, T0 + 10);
    let out = update(store, &c1, vec![patch(r.id, &[("firstname", "B")])]).await;
    ok(&out[0], "update");
    let history = ["firstname".to_owned(), "never".to_owned()];
    let options = ReadOptions {
        archived: false,
        history: &history,
    };
    let out = store
        .read_objects(portal, CONTACTS, ReadKeys::Ids(vec![r.id, r.id]), options)
        .await
        .expect("read_objects failed");
    assert_eq!(out.len(), 2, "one entry per key");
    for entry in out {
        let record = super::decoded(entry.expect("the record exists"));
        let firstname = values(&record, "firstname");
        assert_eq!(firstname, ["B", "A"], "each copy has the history once");
        assert_eq!(record.history.get("never").map(Vec::len), Some(0));
    }
}
