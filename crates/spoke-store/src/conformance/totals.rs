//! Checks of search totals (`crate::totals`): whatever a backend keeps between searches,
//! every total equals the count of `spoke_core::search::evaluate` over the live records at
//! that moment, after creates, updates that move records in and out of a modified-date
//! window, archives, a portal's reset and restore, and writes made through another handle
//! on the same database (another process, on PostgreSQL). Each search is asked twice, so
//! that the second answer is the one a backend may have kept.
//!
//! Portals 321-330.

use spoke_core::search::{
    evaluate, Condition, Field, Filter, Kind, Operand, SearchQuery, SearchRecord, Sort,
};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, ObjectRecord, PortalId};

use super::{ctx, list_all, new, ok, patch, Store, CONTACTS, LIVE, T0};

/// A live record as the reference reads it (these checks filter on no association).
struct Rec(ObjectRecord);

impl SearchRecord for Rec {
    fn id(&self) -> ObjectId {
        self.0.id
    }
    fn created_at(&self) -> Millis {
        self.0.created_at
    }
    fn updated_at(&self) -> Millis {
        self.0.updated_at
    }
    fn value(&self, property: &str) -> Option<&str> {
        self.0.properties.get(property).map(String::as_str)
    }
    fn associated(&self, _: &str, _: ObjectId) -> bool {
        false
    }
}

/// The connectors' shapes and a property filter, each with the window `[lo, hi]`.
fn queries(lo: Millis, hi: Millis, floor: ObjectId) -> Vec<(&'static str, SearchQuery)> {
    let f = |field: Field, condition: Condition| Filter { field, condition };
    let q = |groups: Vec<Vec<Filter>>, sort: Option<Sort>, limit: usize| SearchQuery {
        groups,
        text: None,
        text_properties: Vec::new(),
        sort,
        offset: 0,
        limit,
    };
    vec![
        (
            "airbyte: modified in the window, id from the floor, by id",
            q(
                vec![vec![
                    f(Field::UpdatedAt, Condition::Gte(Operand::Millis(lo))),
                    f(Field::UpdatedAt, Condition::Lte(Operand::Millis(hi))),
                    f(Field::Id, Condition::Gte(Operand::Id(floor))),
                ]],
                Some(Sort {
                    field: Field::Id,
                    descending: false,
                }),
                3,
            ),
        ),
        (
            "meltano: modified from lo, by modified date",
            q(
                vec![vec![f(
                    Field::UpdatedAt,
                    Condition::Gte(Operand::Millis(lo)),
                )]],
                Some(Sort {
                    field: Field::UpdatedAt,
                    descending: false,
                }),
                2,
            ),
        ),
        (
            "a property filter",
            q(
                vec![vec![f(
                    Field::Property {
                        name: "lastname".into(),
                        kind: Kind::Text,
                        unique_index: false,
                    },
                    Condition::Eq(Operand::Text("even".into())),
                )]],
                None,
                1,
            ),
        ),
        ("everything", q(Vec::new(), None, 0)),
    ]
}

/// Checks 321-330 (`conformance::run_all`'s line).
pub(super) async fn run_all(store: &dyn Store, p: &super::Portals) {
    totals_follow_every_write(store, p.of(321)).await;
    totals_follow_reset_and_restore(store, p.of(322)).await;
    totals_see_writes_through_another_handle(&[store], p.of(323)).await;
}

/// Asks every query twice of each store, page by page, and compares each total and page
/// with the reference's: a page bounded by a kept count's id range
/// (`sql_search::id_bounded`) must not miss a record that a later write brought into it.
async fn totals_match(stores: &[&dyn Store], portal: PortalId, floor: ObjectId, when: &str) {
    let live: Vec<Rec> = list_all(stores[0], portal, CONTACTS, LIVE)
        .await
        .into_iter()
        .map(Rec)
        .collect();
    for (label, q) in queries(T0 + 10, T0 + 100, floor) {
        let want = evaluate(&live, &q)
            .unwrap_or_else(|e| panic!("{label}: refused: {e}"))
            .total;
        let mut offsets = vec![0];
        if q.limit > 0 {
            offsets.extend((q.limit..want).step_by(q.limit));
        }
        for offset in offsets {
            let q = SearchQuery {
                offset,
                ..q.clone()
            };
            let want_ids = evaluate(&live, &q).map(|a| a.ids).unwrap_or_default();
            for (i, store) in stores.iter().enumerate() {
                for ask in ["first", "again"] {
                    let got = store
                        .search_objects(portal, CONTACTS, &q)
                        .await
                        .unwrap_or_else(|e| panic!("{when}, {label}: {e}"));
                    assert_eq!(
                        got.total, want,
                        "{when}, {label}, offset {offset}, handle {i}, asked {ask}: \
                         the total against the core's"
                    );
                    let ids: Vec<ObjectId> = got.records.iter().map(|r| r.id).collect();
                    assert_eq!(
                        ids, want_ids,
                        "{when}, {label}, offset {offset}, handle {i}, asked {ask}: \
                         the page against the core's"
                    );
                }
            }
        }
    }
}

async fn create(store: &dyn Store, portal: PortalId, now: Millis, n: usize) -> Vec<ObjectId> {
    store
        .create_objects(
            &ctx(portal, CONTACTS, now),
            (0..n)
                .map(|i| new(&[("lastname", if i % 2 == 0 { "even" } else { "odd" })]))
                .collect(),
        )
        .await
        .expect("create contacts")
        .iter()
        .map(|r| ok(r, "create").id)
        .collect()
}

async fn update(store: &dyn Store, portal: PortalId, now: Millis, ids: &[ObjectId], last: &str) {
    for r in store
        .update_objects(
            &ctx(portal, CONTACTS, now),
            ids.iter()
                .map(|id| patch(*id, &[("lastname", last)]))
                .collect(),
        )
        .await
        .expect("update contacts")
    {
        ok(&r, "update");
    }
}

/// Check 321: totals follow creates, updates into and out of the window, and archives.
async fn totals_follow_every_write(store: &dyn Store, portal: PortalId) {
    let s = [store];
    totals_match(&s, portal, 0, "before any record").await;
    let before = create(store, portal, T0, 6).await;
    let inside = create(store, portal, T0 + 20, 6).await;
    let floor = inside[2];
    totals_match(&s, portal, floor, "after creates").await;
    // Into the window (modified at T0 + 50), and a property change.
    update(store, portal, T0 + 50, &before[..3], "even").await;
    totals_match(&s, portal, floor, "after updates into the window").await;
    // Out of the window (modified after it).
    update(store, portal, T0 + 500, &inside[3..], "odd").await;
    totals_match(&s, portal, floor, "after updates out of the window").await;
    store
        .archive_objects(
            portal,
            CONTACTS,
            vec![inside[0], inside[4], before[1]],
            T0 + 60,
        )
        .await
        .expect("archive");
    totals_match(&s, portal, floor, "after archives").await;
    // Archiving what is already archived changes nothing.
    store
        .archive_objects(portal, CONTACTS, vec![inside[0]], T0 + 70)
        .await
        .expect("archive again");
    totals_match(&s, portal, floor, "after a repeated archive").await;
    let more = create(store, portal, T0 + 30, 3).await;
    totals_match(&s, portal, floor, "after more creates").await;
    // The matches now start at `more[0]`; a record below that, above the floor, comes
    // into the window: a page bounded by the range kept from before must not miss it.
    store
        .archive_objects(portal, CONTACTS, vec![inside[2]], T0 + 80)
        .await
        .expect("archive the least match");
    totals_match(&s, portal, floor, "after the least match is archived").await;
    assert!(inside[3] < more[0]);
    update(store, portal, T0 + 40, &inside[3..4], "even").await;
    totals_match(&s, portal, floor, "after a record below the range comes in").await;
    update(store, portal, T0 + 45, &more[2..], "odd").await;
    totals_match(&s, portal, floor, "after the greatest match is updated").await;
}

/// Check 322: a reset empties the totals, a restore brings back the snapshot's.
async fn totals_follow_reset_and_restore(store: &dyn Store, portal: PortalId) {
    let s = [store];
    store.ensure_portal(portal, T0).await.expect("portal");
    let ids = create(store, portal, T0 + 20, 5).await;
    totals_match(&s, portal, ids[1], "before the snapshot").await;
    store
        .create_snapshot(portal, "totals", T0 + 25)
        .await
        .expect("snapshot")
        .expect("snapshot taken");
    create(store, portal, T0 + 30, 4).await;
    totals_match(&s, portal, ids[1], "after the snapshot").await;
    assert!(store
        .restore_snapshot(portal, "totals")
        .await
        .expect("restore"));
    totals_match(&s, portal, ids[1], "after the restore").await;
    assert!(store.reset_portal(portal, T0 + 40).await.expect("reset"));
    totals_match(&s, portal, ids[1], "after the reset").await;
    create(store, portal, T0 + 20, 2).await;
    totals_match(&s, portal, ids[1], "after creates following the reset").await;
}

/// Check 323 (and a backend's multi-handle test): writes through one handle are in the next
/// total of every other handle on the same database, whatever each handle kept.
pub async fn totals_see_writes_through_another_handle(stores: &[&dyn Store], portal: PortalId) {
    let (a, b) = (stores[0], stores[stores.len() - 1]);
    let ids = create(a, portal, T0 + 20, 4).await;
    let floor = ids[1];
    totals_match(
        stores,
        portal,
        floor,
        "after creates through the first handle",
    )
    .await;
    for round in 0..3 {
        let more = create(b, portal, T0 + 20 + round, 2).await;
        totals_match(
            stores,
            portal,
            floor,
            "after creates through the last handle",
        )
        .await;
        update(a, portal, T0 + 400, &more[..1], "odd").await;
        totals_match(
            stores,
            portal,
            floor,
            "after an update through the first handle",
        )
        .await;
        b.archive_objects(portal, CONTACTS, vec![more[1]], T0 + 50)
            .await
            .expect("archive");
        totals_match(
            stores,
            portal,
            floor,
            "after an archive through the last handle",
        )
        .await;
    }
}
