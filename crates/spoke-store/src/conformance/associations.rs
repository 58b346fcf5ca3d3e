//! Checks of [`crate::AssociationStore`]: links in both directions, exclusive (primary)
//! types, pages by target id, archived and foreign records, and USER_DEFINED labels.

use spoke_core::association::{FIRST_USER_TYPE_ID, HUBSPOT_DEFINED, USER_DEFINED};
use spoke_core::{ObjectId, PortalId};

use super::{ctx, new, ok, Store, COMPANIES, CONTACTS, T0, UNKNOWN_ID};
use crate::graph::End;
use crate::transfer::Value;
use crate::{
    AssociatedTarget, AssociationPage, AssociationRemoval, AssociationWrite, Category, ItemFailure,
    LabelRecord, LinkType, NewAssociation, RowKey, Table,
};

const DEALS: &str = "deals";
const FIRST: i64 = FIRST_USER_TYPE_ID;

/// A link type that is not exclusive on either side.
pub(super) fn plain(category: &str, type_id: i64, inverse_type_id: i64) -> LinkType {
    LinkType {
        category: category.to_owned(),
        type_id,
        inverse_type_id,
        exclusive: false,
        inverse_exclusive: false,
    }
}

/// contact → company, HubSpot's unlabeled default (279, inverse 280).
pub(super) fn unlabeled() -> LinkType {
    plain(HUBSPOT_DEFINED, 279, 280)
}

/// contact → company, primary (1, inverse 2): a contact has at most one primary company.
fn primary() -> LinkType {
    LinkType {
        exclusive: true,
        ..plain(HUBSPOT_DEFINED, 1, 2)
    }
}

/// A USER_DEFINED type; storage does not require a label for it.
fn custom() -> LinkType {
    plain(USER_DEFINED, 10, 11)
}

pub(super) fn link(
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    types: Vec<LinkType>,
) -> AssociationWrite {
    AssociationWrite {
        from_type: from.0.to_owned(),
        from_id: from.1,
        to_type: to.0.to_owned(),
        to_id: to.1,
        types,
    }
}

fn unlink(
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    types: Option<Vec<(&str, i64, i64)>>,
) -> AssociationRemoval {
    AssociationRemoval {
        from_type: from.0.to_owned(),
        from_id: from.1,
        to_type: to.0.to_owned(),
        to_id: to.1,
        types: types.map(|ts| {
            ts.into_iter()
                .map(|(c, t, i)| (c.to_owned(), t, i))
                .collect()
        }),
    }
}

pub(super) async fn make(
    store: &dyn Store,
    portal: PortalId,
    object_type: &str,
    n: usize,
) -> Vec<ObjectId> {
    let out = store
        .create_objects(
            &ctx(portal, object_type, T0),
            (0..n).map(|_| new(&[])).collect(),
        )
        .await
        .expect("create_objects failed");
    out.iter().map(|r| ok(r, "create_objects").id).collect()
}

pub(super) async fn put(store: &dyn Store, portal: PortalId, items: Vec<AssociationWrite>) {
    let n = items.len();
    let out = store
        .put_associations(portal, items)
        .await
        .expect("put_associations failed");
    assert_eq!(out, vec![Ok(()); n], "every link is written");
}

/// One portal's graph, for the checks below.
#[derive(Clone, Copy)]
struct Graph<'a> {
    store: &'a dyn Store,
    portal: PortalId,
}

impl Graph<'_> {
    async fn make(self, object_type: &str, n: usize) -> Vec<ObjectId> {
        make(self.store, self.portal, object_type, n).await
    }
    async fn put(self, items: Vec<AssociationWrite>) {
        put(self.store, self.portal, items).await;
    }
    async fn remove(self, items: Vec<AssociationRemoval>) {
        remove(self.store, self.portal, items).await;
    }
    async fn link(self, from: End<'_>, to: End<'_>, types: Vec<LinkType>) {
        link_one(self.store, self.portal, from, to, types).await;
    }
    async fn unlink(self, from: End<'_>, to: End<'_>, types: Option<Vec<(&str, i64, i64)>>) {
        unlink_one(self.store, self.portal, from, to, types).await;
    }
    async fn page(
        self,
        from: End<'_>,
        to_type: &str,
        after: Option<ObjectId>,
        limit: usize,
    ) -> AssociationPage {
        page(self.store, self.portal, from, to_type, after, limit).await
    }
    async fn targets(self, from: End<'_>, to_type: &str) -> Vec<(ObjectId, Vec<(Category, i64)>)> {
        targets(self.store, self.portal, from, to_type).await
    }
}

/// Writes one link, which must succeed.
async fn link_one(
    store: &dyn Store,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    types: Vec<LinkType>,
) {
    put(store, portal, vec![link(from, to, types)]).await;
}

/// Removes what one removal names.
async fn unlink_one(
    store: &dyn Store,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    types: Option<Vec<(&str, i64, i64)>>,
) {
    remove(store, portal, vec![unlink(from, to, types)]).await;
}

pub(super) async fn remove(store: &dyn Store, portal: PortalId, items: Vec<AssociationRemoval>) {
    store
        .remove_associations(portal, items)
        .await
        .expect("remove_associations failed");
}

/// One page of `from`'s targets of `to_type`.
pub(super) async fn page(
    store: &dyn Store,
    portal: PortalId,
    from: (&str, ObjectId),
    to_type: &str,
    after: Option<ObjectId>,
    limit: usize,
) -> AssociationPage {
    let mut pages = store
        .page_associations(portal, from.0, to_type, vec![(from.1, after)], limit)
        .await
        .expect("page_associations failed");
    assert_eq!(pages.len(), 1, "one page per request");
    pages.remove(0)
}

/// Every target of `from` of `to_type`, as (target id, sorted types).
async fn targets(
    store: &dyn Store,
    portal: PortalId,
    from: (&str, ObjectId),
    to_type: &str,
) -> Vec<(ObjectId, Vec<(Category, i64)>)> {
    let p = page(store, portal, from, to_type, None, 1000).await;
    assert!(!p.more, "fewer than 1000 targets");
    p.targets.into_iter().map(|t| (t.to_id, t.types)).collect()
}

fn ty(category: &str, type_id: i64) -> (Category, i64) {
    (Category::Owned(category.to_owned()), type_id)
}

fn target(to_id: ObjectId, types: &[(&str, i64)]) -> AssociatedTarget {
    AssociatedTarget {
        to_id,
        types: types.iter().map(|(c, t)| ty(c, *t)).collect(),
    }
}

/// Link rows of `portal`, as exported for `spoke copy` (archived ends included), each
/// row's values in column order.
async fn link_rows(store: &dyn Store, portal: PortalId) -> Vec<Vec<Value>> {
    // The smallest key of the portal: every key column after the portal at its minimum.
    let mut after = RowKey(vec![
        Value::Int(portal.0),
        Value::Text(String::new()),
        Value::Int(i64::MIN),
        Value::Text(String::new()),
        Value::Int(i64::MIN),
        Value::Text(String::new()),
        Value::Int(i64::MIN),
    ]);
    let mut out = Vec::new();
    loop {
        let rows = store
            .export_rows(Table::Associations, Some(&after), 500)
            .await
            .expect("export_rows failed");
        let Some(last) = rows.last_key() else { break };
        let mine = |row: &&[Value]| row.first() == Some(&Value::Int(portal.0));
        let done = rows.len() < 500 || !rows.iter().all(|row| mine(&row));
        out.extend(rows.iter().filter(mine).map(<[Value]>::to_vec));
        if done {
            break;
        }
        after = last;
    }
    out
}

/// Check 31.
pub(super) async fn links_are_written_and_removed_in_both_directions(
    store: &dyn Store,
    portal: PortalId,
) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 3).await;
    g.put(vec![
        link((CONTACTS, c[0]), (COMPANIES, x[0]), vec![unlabeled()]),
        link(
            (CONTACTS, c[0]),
            (COMPANIES, x[1]),
            vec![custom(), unlabeled()],
        ),
        // Written from the other side: the inverse types apply.
        link(
            (COMPANIES, x[2]),
            (CONTACTS, c[0]),
            vec![plain(HUBSPOT_DEFINED, 280, 279)],
        ),
        link((COMPANIES, x[0]), (CONTACTS, c[1]), vec![]),
    ])
    .await;
    let forward = vec![
        (x[0], vec![ty(HUBSPOT_DEFINED, 279)]),
        (x[1], vec![ty(HUBSPOT_DEFINED, 279), ty(USER_DEFINED, 10)]),
        (x[2], vec![ty(HUBSPOT_DEFINED, 279)]),
    ];
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        forward,
        "targets by ascending id, each with its types sorted by (category, type id)"
    );
    for (company, types) in [
        (x[0], vec![ty(HUBSPOT_DEFINED, 280)]),
        (x[1], vec![ty(HUBSPOT_DEFINED, 280), ty(USER_DEFINED, 11)]),
        (x[2], vec![ty(HUBSPOT_DEFINED, 280)]),
    ] {
        assert_eq!(
            g.targets((COMPANIES, company), CONTACTS).await,
            vec![(c[0], types)],
            "the inverse direction is written with the inverse type ids"
        );
    }
    assert!(
        g.targets((CONTACTS, c[1]), COMPANIES).await.is_empty(),
        "a write with no types links nothing"
    );
    assert!(
        g.targets((CONTACTS, c[0]), DEALS).await.is_empty(),
        "a page lists only targets of its type"
    );

    // Writing the same links again changes nothing.
    g.put(vec![
        link((CONTACTS, c[0]), (COMPANIES, x[0]), vec![unlabeled()]),
        link(
            (CONTACTS, c[0]),
            (COMPANIES, x[1]),
            vec![unlabeled(), custom()],
        ),
    ])
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        forward,
        "writing a link again is idempotent"
    );

    // Removing named types removes both directions and leaves the other types.
    g.unlink(
        (CONTACTS, c[0]),
        (COMPANIES, x[1]),
        Some(vec![(USER_DEFINED, 10, 11)]),
    )
    .await;
    assert_eq!(
        g.targets((COMPANIES, x[1]), CONTACTS).await,
        vec![(c[0], vec![ty(HUBSPOT_DEFINED, 280)])],
        "removing a type removes its inverse too"
    );
    // Removing from the other side, every type at once.
    g.remove(vec![
        unlink((COMPANIES, x[1]), (CONTACTS, c[0]), None),
        // Removing what is not there is not an error.
        unlink(
            (CONTACTS, c[1]),
            (COMPANIES, x[2]),
            Some(vec![(USER_DEFINED, 10, 11)]),
        ),
        unlink((CONTACTS, UNKNOWN_ID), (COMPANIES, x[2]), None),
    ])
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![
            (x[0], vec![ty(HUBSPOT_DEFINED, 279)]),
            (x[2], vec![ty(HUBSPOT_DEFINED, 279)]),
        ],
        "removing without types removes every type between the pair, both directions"
    );
    assert!(g.targets((COMPANIES, x[1]), CONTACTS).await.is_empty());
    // Removing a type under its inverse id from the other side.
    g.unlink(
        (COMPANIES, x[2]),
        (CONTACTS, c[0]),
        Some(vec![(HUBSPOT_DEFINED, 280, 279)]),
    )
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![(x[0], vec![ty(HUBSPOT_DEFINED, 279)])]
    );
    assert_eq!(
        store
            .remove_associations(portal, Vec::new())
            .await
            .expect("an empty removal succeeds"),
        ()
    );
    assert_eq!(
        store
            .put_associations(portal, Vec::new())
            .await
            .expect("an empty put succeeds"),
        Vec::new()
    );
}

/// Check 32.
pub(super) async fn exclusive_types_replace_the_others(store: &dyn Store, portal: PortalId) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 3).await;
    g.put(vec![
        link(
            (CONTACTS, c[0]),
            (COMPANIES, x[0]),
            vec![primary(), unlabeled()],
        ),
        link((CONTACTS, c[1]), (COMPANIES, x[0]), vec![primary()]),
    ])
    .await;
    // A new primary company: the old one keeps its unlabeled link, loses type 1 and 2.
    g.link(
        (CONTACTS, c[0]),
        (COMPANIES, x[1]),
        vec![primary(), unlabeled()],
    )
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![
            (x[0], vec![ty(HUBSPOT_DEFINED, 279)]),
            (x[1], vec![ty(HUBSPOT_DEFINED, 1), ty(HUBSPOT_DEFINED, 279)]),
        ],
        "an exclusive type moves to the new target"
    );
    assert_eq!(
        g.targets((COMPANIES, x[0]), CONTACTS).await,
        vec![
            (c[0], vec![ty(HUBSPOT_DEFINED, 280)]),
            (c[1], vec![ty(HUBSPOT_DEFINED, 2)]),
        ],
        "the old target loses the inverse; another source's exclusive link stays"
    );
    // Writing the same exclusive link again keeps it.
    g.link((CONTACTS, c[0]), (COMPANIES, x[1]), vec![primary()])
        .await;
    assert_eq!(
        g.targets((COMPANIES, x[1]), CONTACTS).await,
        vec![(c[0], vec![ty(HUBSPOT_DEFINED, 2), ty(HUBSPOT_DEFINED, 280)])]
    );
    // In one batch, the last write of an exclusive type wins.
    g.put(vec![
        link((CONTACTS, c[0]), (COMPANIES, x[2]), vec![primary()]),
        link((CONTACTS, c[0]), (COMPANIES, x[0]), vec![primary()]),
    ])
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![
            (x[0], vec![ty(HUBSPOT_DEFINED, 1), ty(HUBSPOT_DEFINED, 279)]),
            (x[1], vec![ty(HUBSPOT_DEFINED, 279)]),
        ],
        "later items of a batch see the earlier ones"
    );
    assert!(g.targets((COMPANIES, x[2]), CONTACTS).await.is_empty());

    // Exclusive on the inverse side: a company keeps one contact of type 2 (written from
    // the contact's side).
    let inverse_only = LinkType {
        inverse_exclusive: true,
        ..plain(USER_DEFINED, 20, 21)
    };
    g.put(vec![
        link(
            (CONTACTS, c[0]),
            (COMPANIES, x[2]),
            vec![inverse_only.clone()],
        ),
        link(
            (CONTACTS, c[1]),
            (COMPANIES, x[2]),
            vec![inverse_only.clone()],
        ),
    ])
    .await;
    assert_eq!(
        g.targets((COMPANIES, x[2]), CONTACTS).await,
        vec![(c[1], vec![ty(USER_DEFINED, 21)])],
        "an inverse-exclusive type replaces the other source's link"
    );
    assert!(
        !g.targets((CONTACTS, c[0]), COMPANIES)
            .await
            .iter()
            .any(|(id, _)| *id == x[2]),
        "and its forward row"
    );
    // Non-exclusive USER_DEFINED types on the same pair accumulate.
    g.link(
        (CONTACTS, c[1]),
        (COMPANIES, x[2]),
        vec![custom(), plain(USER_DEFINED, 30, 31)],
    )
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[1]), COMPANIES).await,
        vec![
            (x[0], vec![ty(HUBSPOT_DEFINED, 1)]),
            (
                x[2],
                vec![
                    ty(USER_DEFINED, 10),
                    ty(USER_DEFINED, 20),
                    ty(USER_DEFINED, 30)
                ]
            ),
        ]
    );
}

/// Check 33: a link whose `from` or `to` is not a live record of the portal fails alone,
/// naming the first missing end; inline associations on create check the same.
pub(super) async fn links_need_live_records_of_the_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 2).await;
    let theirs = make(store, other, COMPANIES, 1).await;
    store
        .archive_objects(portal, COMPANIES, vec![x[1]], T0 + 1)
        .await
        .expect("archive_objects failed");
    let missing = |object_type: &str, id| {
        Err(ItemFailure::AssociationTarget {
            object_type: object_type.to_owned(),
            id,
        })
    };
    let out = store
        .put_associations(
            portal,
            vec![
                link((CONTACTS, c[0]), (COMPANIES, UNKNOWN_ID), vec![unlabeled()]),
                link((CONTACTS, c[0]), (COMPANIES, x[0]), vec![unlabeled()]),
                link((CONTACTS, c[0]), (COMPANIES, x[1]), vec![unlabeled()]),
                link((CONTACTS, c[0]), (COMPANIES, theirs[0]), vec![unlabeled()]),
                // A record of another type under this id.
                link((CONTACTS, c[0]), (COMPANIES, c[1]), vec![unlabeled()]),
                // Both ends missing: `from` is named.
                link((CONTACTS, UNKNOWN_ID), (COMPANIES, x[1]), vec![unlabeled()]),
                link((CONTACTS, x[0]), (COMPANIES, c[0]), vec![unlabeled()]),
                link((CONTACTS, c[1]), (COMPANIES, x[0]), vec![unlabeled()]),
            ],
        )
        .await
        .expect("put_associations failed");
    assert_eq!(
        out,
        vec![
            missing(COMPANIES, UNKNOWN_ID),
            Ok(()),
            missing(COMPANIES, x[1]),
            missing(COMPANIES, theirs[0]),
            missing(COMPANIES, c[1]),
            missing(CONTACTS, UNKNOWN_ID),
            missing(CONTACTS, x[0]),
            Ok(()),
        ],
        "each item stands alone; `from` is checked before `to`"
    );
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![(x[0], vec![ty(HUBSPOT_DEFINED, 279)])],
        "failed items write nothing"
    );
    assert!(
        link_rows(store, other).await.is_empty(),
        "nothing is written in the other portal"
    );

    // Inline associations on create: written in both directions with the record.
    let created = store
        .create_objects(
            &ctx(portal, CONTACTS, T0 + 2),
            vec![crate::NewObject {
                properties: super::props(&[("firstname", "Linked")]),
                associations: vec![NewAssociation {
                    to_type: COMPANIES.to_owned(),
                    to_id: x[0],
                    types: vec![primary(), unlabeled()],
                }],
            }],
        )
        .await
        .expect("create_objects failed");
    let linked = ok(&created[0], "create with an association").id;
    assert_eq!(
        g.targets((CONTACTS, linked), COMPANIES).await,
        vec![(x[0], vec![ty(HUBSPOT_DEFINED, 1), ty(HUBSPOT_DEFINED, 279)])]
    );
    assert_eq!(
        g.targets((COMPANIES, x[0]), CONTACTS).await,
        vec![
            (c[0], vec![ty(HUBSPOT_DEFINED, 280)]),
            (c[1], vec![ty(HUBSPOT_DEFINED, 280)]),
            (
                linked,
                vec![ty(HUBSPOT_DEFINED, 2), ty(HUBSPOT_DEFINED, 280)]
            ),
        ]
    );
    // An inline association to a missing, archived or foreign record fails its item.
    for bad in [UNKNOWN_ID, x[1], theirs[0]] {
        let out = store
            .create_objects(
                &ctx(portal, CONTACTS, T0 + 3),
                vec![
                    new(&[("firstname", "Fine")]),
                    crate::NewObject {
                        properties: super::props(&[("firstname", "Dangling")]),
                        associations: vec![
                            NewAssociation {
                                to_type: COMPANIES.to_owned(),
                                to_id: x[0],
                                types: vec![unlabeled()],
                            },
                            NewAssociation {
                                to_type: COMPANIES.to_owned(),
                                to_id: bad,
                                types: vec![unlabeled()],
                            },
                        ],
                    },
                ],
            )
            .await
            .expect("create_objects failed");
        assert!(out[0].is_ok(), "the other item is created: {out:?}");
        assert_eq!(
            out[1].as_ref().err(),
            missing(COMPANIES, bad).err().as_ref(),
            "the item names the missing target"
        );
    }
    assert_eq!(
        g.targets((COMPANIES, x[0]), CONTACTS).await.len(),
        3,
        "a failed create links nothing"
    );
    let atomic = store
        .create_objects(
            &super::atomic(ctx(portal, CONTACTS, T0 + 4)),
            vec![
                new(&[("firstname", "Rolled back")]),
                crate::NewObject {
                    properties: super::props(&[("firstname", "Dangling")]),
                    associations: vec![NewAssociation {
                        to_type: COMPANIES.to_owned(),
                        to_id: UNKNOWN_ID,
                        types: vec![unlabeled()],
                    }],
                },
            ],
        )
        .await
        .expect("create_objects failed");
    assert_eq!(
        atomic[1].as_ref().err(),
        missing(COMPANIES, UNKNOWN_ID).err().as_ref(),
        "an atomic batch names the dangling association: {atomic:?}"
    );
    let firstnames: Vec<String> = super::list_all(store, portal, CONTACTS, super::LIVE)
        .await
        .into_iter()
        .filter_map(|r| r.properties.get("firstname").cloned())
        .collect();
    assert!(
        !firstnames.iter().any(|n| n == "Rolled back"),
        "an atomic batch with a dangling association writes nothing: {firstnames:?}"
    );
}

/// Check 34.
pub(super) async fn pages_by_ascending_target_id_with_more(store: &dyn Store, portal: PortalId) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 5).await;
    g.put(
        x.iter()
            .rev()
            .map(|to| link((CONTACTS, c[0]), (COMPANIES, *to), vec![unlabeled()]))
            .chain([link(
                (CONTACTS, c[0]),
                (COMPANIES, x[2]),
                vec![custom(), primary()],
            )])
            .collect(),
    )
    .await;
    let all: Vec<AssociatedTarget> = x
        .iter()
        .map(|id| {
            if *id == x[2] {
                target(
                    *id,
                    &[
                        (HUBSPOT_DEFINED, 1),
                        (HUBSPOT_DEFINED, 279),
                        (USER_DEFINED, 10),
                    ],
                )
            } else {
                target(*id, &[(HUBSPOT_DEFINED, 279)])
            }
        })
        .collect();
    let expect = |from: usize, limit: usize| AssociationPage {
        targets: all.iter().skip(from).take(limit).cloned().collect(),
        more: from + limit < all.len(),
    };
    for limit in [1, 2, 3, 5, 10] {
        // Walk every page with `after` = the previous page's last target.
        let mut after = None;
        let mut from = 0;
        loop {
            let p = g.page((CONTACTS, c[0]), COMPANIES, after, limit).await;
            assert_eq!(p, expect(from, limit), "limit {limit}, after {after:?}");
            from += p.targets.len();
            match (p.more, p.targets.last()) {
                (true, Some(last)) => after = Some(last.to_id),
                _ => break,
            }
        }
        assert_eq!(from, all.len(), "limit {limit}: every target once");
    }
    // `after` need not be a target: the page starts above it.
    assert_eq!(
        g.page((CONTACTS, c[0]), COMPANIES, Some(x[2] - 1), 2).await,
        expect(2, 2)
    );
    assert_eq!(
        g.page((CONTACTS, c[0]), COMPANIES, Some(x[4]), 2).await,
        AssociationPage::default(),
        "after the last target: an empty page"
    );
    assert_eq!(
        g.page((CONTACTS, c[0]), COMPANIES, None, 0).await,
        AssociationPage {
            targets: Vec::new(),
            more: true,
        },
        "limit 0: no targets, and more remain"
    );

    // Many requests in one call: one page each, in request order, duplicates included.
    let pages = store
        .page_associations(
            portal,
            CONTACTS,
            COMPANIES,
            vec![
                (c[0], None),
                (c[1], None),
                (UNKNOWN_ID, None),
                (c[0], Some(x[1])),
                (x[0], None),
                (c[0], None),
            ],
            2,
        )
        .await
        .expect("page_associations failed");
    assert_eq!(
        pages,
        vec![
            expect(0, 2),
            AssociationPage::default(),
            AssociationPage::default(),
            expect(2, 2),
            AssociationPage::default(),
            expect(0, 2),
        ],
        "no links, an unknown id, or a record of another type: empty pages"
    );
    assert!(
        store
            .page_associations(portal, CONTACTS, COMPANIES, Vec::new(), 10)
            .await
            .expect("page_associations failed")
            .is_empty(),
        "no requests, no pages"
    );
}

/// Check 35: archived records keep their links, but no read shows them.
pub(super) async fn archived_records_are_hidden_but_keep_their_links(
    store: &dyn Store,
    portal: PortalId,
) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 3).await;
    g.put(
        x.iter()
            .flat_map(|to| {
                c.iter()
                    .map(|from| link((CONTACTS, *from), (COMPANIES, *to), vec![unlabeled()]))
            })
            .collect(),
    )
    .await;
    let rows_before = link_rows(store, portal).await;
    assert_eq!(rows_before.len(), 12, "six links, two rows each");
    store
        .archive_objects(portal, COMPANIES, vec![x[1]], T0 + 1)
        .await
        .expect("archive_objects failed");
    store
        .archive_objects(portal, CONTACTS, vec![c[1]], T0 + 1)
        .await
        .expect("archive_objects failed");
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES)
            .await
            .iter()
            .map(|t| t.0)
            .collect::<Vec<_>>(),
        vec![x[0], x[2]],
        "an archived target is hidden"
    );
    assert_eq!(
        g.page((CONTACTS, c[0]), COMPANIES, None, 1).await,
        AssociationPage {
            targets: vec![target(x[0], &[(HUBSPOT_DEFINED, 279)])],
            more: true,
        },
        "an archived target does not take a place in a page"
    );
    assert_eq!(
        g.page((CONTACTS, c[0]), COMPANIES, Some(x[0]), 1).await,
        AssociationPage {
            targets: vec![target(x[2], &[(HUBSPOT_DEFINED, 279)])],
            more: false,
        },
        "nor counts as more"
    );
    for (from, to_type) in [((CONTACTS, c[1]), COMPANIES), ((COMPANIES, x[1]), CONTACTS)] {
        assert_eq!(
            g.page(from, to_type, None, 10).await,
            AssociationPage::default(),
            "an archived record's page is empty"
        );
    }
    assert_eq!(
        g.targets((COMPANIES, x[0]), CONTACTS).await,
        vec![(c[0], vec![ty(HUBSPOT_DEFINED, 280)])],
        "an archived source is hidden from its targets"
    );
    let rows_after = link_rows(store, portal).await;
    assert_eq!(
        rows_after.len(),
        rows_before.len(),
        "archiving keeps every link row"
    );
    for r in &rows_before {
        assert!(rows_after.contains(r), "link row kept: {r:?}");
    }
}

/// Check 36: another portal sees none of this portal's links or labels, and cannot change
/// them.
pub(super) async fn links_and_labels_are_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    let g = Graph { store, portal };
    let c = g.make(CONTACTS, 1).await;
    let x = g.make(COMPANIES, 1).await;
    g.link((CONTACTS, c[0]), (COMPANIES, x[0]), vec![unlabeled()])
        .await;
    let mine = store
        .create_label(portal, CONTACTS, COMPANIES, "boss", "Boss", None, 10)
        .await
        .expect("create_label failed")
        .expect("label created");
    assert_eq!(
        page(store, other, (CONTACTS, c[0]), COMPANIES, None, 10).await,
        AssociationPage::default(),
        "another portal's record has no page"
    );
    remove(
        store,
        other,
        vec![unlink((CONTACTS, c[0]), (COMPANIES, x[0]), None)],
    )
    .await;
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![(x[0], vec![ty(HUBSPOT_DEFINED, 279)])],
        "another portal cannot remove a link"
    );
    assert!(store
        .list_labels(other, CONTACTS, COMPANIES)
        .await
        .expect("list_labels failed")
        .is_empty());
    assert!(!store
        .update_label(other, CONTACTS, COMPANIES, mine[0].type_id, "Mine", None)
        .await
        .expect("update_label failed"));
    assert!(!store
        .delete_label(other, CONTACTS, COMPANIES, mine[0].type_id)
        .await
        .expect("delete_label failed"));
    // Type ids are allocated per portal.
    let theirs = store
        .create_label(other, CONTACTS, COMPANIES, "boss", "Boss", None, 10)
        .await
        .expect("create_label failed")
        .expect("the same name is free in another portal");
    assert_eq!(
        theirs.iter().map(|l| l.type_id).collect::<Vec<_>>(),
        [FIRST, FIRST + 1]
    );
    assert_eq!(
        store
            .list_labels(portal, CONTACTS, COMPANIES)
            .await
            .expect("list_labels failed"),
        mine[..1],
        "labels are untouched by another portal"
    );
}

fn label(from: &str, to: &str, type_id: i64, text: &str, name: &str, inverse: i64) -> LabelRecord {
    LabelRecord {
        from_type: from.to_owned(),
        to_type: to.to_owned(),
        type_id,
        label: text.to_owned(),
        name: name.to_owned(),
        inverse_type_id: inverse,
    }
}

/// Check 38.
pub(super) async fn labels_create_list_update_and_delete(store: &dyn Store, portal: PortalId) {
    let g = Graph { store, portal };
    let create = |from: &'static str,
                  to: &'static str,
                  name: &'static str,
                  label: &'static str,
                  inverse: Option<&'static str>,
                  max: usize| async move {
        store
            .create_label(portal, from, to, name, label, inverse, max)
            .await
            .expect("create_label failed")
    };
    let list = |from: &'static str, to: &'static str| async move {
        store
            .list_labels(portal, from, to)
            .await
            .expect("list_labels failed")
    };
    let manager = label(CONTACTS, COMPANIES, FIRST, "Manager", "manager", FIRST + 1);
    let managed = label(
        COMPANIES,
        CONTACTS,
        FIRST + 1,
        "Managed by",
        "manager_inverse",
        FIRST,
    );
    assert_eq!(
        create(
            CONTACTS,
            COMPANIES,
            "manager",
            "Manager",
            Some("Managed by"),
            3
        )
        .await,
        Some(vec![manager.clone(), managed.clone()]),
        "a label and its inverse, from the first user type id up"
    );
    let billing = label(
        CONTACTS,
        COMPANIES,
        FIRST + 2,
        "Billing",
        "billing",
        FIRST + 3,
    );
    let billing_inverse = label(
        COMPANIES,
        CONTACTS,
        FIRST + 3,
        "Billing",
        "billing_inverse",
        FIRST + 2,
    );
    assert_eq!(
        create(CONTACTS, COMPANIES, "billing", "Billing", None, 3).await,
        Some(vec![billing.clone(), billing_inverse.clone()]),
        "without an inverse label the inverse takes the label"
    );
    assert_eq!(
        create(CONTACTS, COMPANIES, "manager", "Again", None, 3).await,
        None,
        "a name is taken once per pair"
    );
    // Same-type pairs: one type id both ways without an inverse label, two with one.
    let friend = label(CONTACTS, CONTACTS, FIRST + 4, "Friend", "friend", FIRST + 4);
    assert_eq!(
        create(CONTACTS, CONTACTS, "friend", "Friend", None, 3).await,
        Some(vec![friend.clone()])
    );
    let mentor = label(CONTACTS, CONTACTS, FIRST + 5, "Mentor", "mentor", FIRST + 6);
    let mentee = label(
        CONTACTS,
        CONTACTS,
        FIRST + 6,
        "Mentee",
        "mentor_inverse",
        FIRST + 5,
    );
    assert_eq!(
        create(CONTACTS, CONTACTS, "mentor", "Mentor", Some("Mentee"), 3).await,
        Some(vec![mentor.clone(), mentee.clone()])
    );
    let third = label(CONTACTS, COMPANIES, FIRST + 7, "Third", "third", FIRST + 8);
    assert_eq!(
        create(CONTACTS, COMPANIES, "third", "Third", None, 3)
            .await
            .map(|l| l[0].clone()),
        Some(third.clone())
    );
    assert_eq!(
        create(CONTACTS, COMPANIES, "fourth", "Fourth", None, 3).await,
        None,
        "a pair holds at most `max` labels"
    );
    // The reversed pair counts its inverse labels toward its own maximum.
    assert_eq!(
        create(COMPANIES, CONTACTS, "owner", "Owner", None, 3).await,
        None,
        "three inverse labels fill the reversed pair"
    );
    assert_eq!(
        list(CONTACTS, COMPANIES).await,
        vec![manager.clone(), billing.clone(), third.clone()],
        "labels listed by type id under their own pair"
    );
    assert_eq!(
        list(COMPANIES, CONTACTS)
            .await
            .iter()
            .map(|l| l.type_id)
            .collect::<Vec<_>>(),
        vec![FIRST + 1, FIRST + 3, FIRST + 8]
    );
    assert_eq!(
        list(CONTACTS, CONTACTS).await,
        vec![friend.clone(), mentor.clone(), mentee.clone()]
    );
    assert!(list(DEALS, CONTACTS).await.is_empty());

    // Renaming: the inverse too when asked, never a single-id label's "inverse".
    let update = |from: &'static str,
                  to: &'static str,
                  id: i64,
                  text: &'static str,
                  inverse: Option<&'static str>| async move {
        store
            .update_label(portal, from, to, id, text, inverse)
            .await
            .expect("update_label failed")
    };
    assert!(update(CONTACTS, COMPANIES, FIRST, "Boss", Some("Bossed")).await);
    assert!(update(CONTACTS, COMPANIES, FIRST + 2, "Billing!", None).await);
    assert!(update(CONTACTS, CONTACTS, FIRST + 4, "Pal", Some("ignored")).await);
    assert!(
        update(COMPANIES, CONTACTS, FIRST + 8, "Third, back", None).await,
        "an inverse label is renamed under its own pair"
    );
    assert!(
        !update(CONTACTS, COMPANIES, FIRST + 1, "Wrong pair", None).await,
        "a type id is known only under its own pair"
    );
    assert!(!update(CONTACTS, COMPANIES, 99, "x", None).await);
    assert_eq!(
        list(CONTACTS, COMPANIES)
            .await
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>(),
        ["Boss", "Billing!", "Third"]
    );
    assert_eq!(
        list(COMPANIES, CONTACTS)
            .await
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>(),
        ["Bossed", "Billing", "Third, back"],
        "the inverse is renamed only when an inverse label is given"
    );
    assert_eq!(
        list(CONTACTS, CONTACTS)
            .await
            .iter()
            .map(|l| l.label.as_str())
            .collect::<Vec<_>>(),
        ["Pal", "Mentor", "Mentee"]
    );

    // Deleting a label deletes its inverse and every link of either type, nothing else.
    let c = g.make(CONTACTS, 2).await;
    let x = g.make(COMPANIES, 1).await;
    g.put(vec![
        link(
            (CONTACTS, c[0]),
            (COMPANIES, x[0]),
            vec![
                plain(USER_DEFINED, FIRST, FIRST + 1),
                plain(USER_DEFINED, FIRST + 2, FIRST + 3),
                unlabeled(),
            ],
        ),
        link(
            (CONTACTS, c[0]),
            (CONTACTS, c[1]),
            vec![
                plain(USER_DEFINED, FIRST + 4, FIRST + 4),
                plain(USER_DEFINED, FIRST + 5, FIRST + 6),
            ],
        ),
    ])
    .await;
    assert!(
        store
            .delete_label(portal, COMPANIES, CONTACTS, FIRST + 1)
            .await
            .expect("delete_label failed"),
        "a label can be deleted through its inverse"
    );
    assert!(
        !store
            .delete_label(portal, CONTACTS, COMPANIES, FIRST)
            .await
            .expect("delete_label failed"),
        "deleting again: unknown"
    );
    assert!(store
        .delete_label(portal, CONTACTS, CONTACTS, FIRST + 4)
        .await
        .expect("delete_label failed"));
    assert_eq!(
        g.targets((CONTACTS, c[0]), COMPANIES).await,
        vec![(
            x[0],
            vec![ty(HUBSPOT_DEFINED, 279), ty(USER_DEFINED, FIRST + 2)]
        )],
        "links of the deleted label's types are gone, others stay"
    );
    assert_eq!(
        g.targets((COMPANIES, x[0]), CONTACTS).await,
        vec![(
            c[0],
            vec![ty(HUBSPOT_DEFINED, 280), ty(USER_DEFINED, FIRST + 3)]
        )]
    );
    assert_eq!(
        g.targets((CONTACTS, c[1]), CONTACTS).await,
        vec![(c[0], vec![ty(USER_DEFINED, FIRST + 6)])],
        "a single-id label's links are gone both ways"
    );
    assert_eq!(
        list(CONTACTS, COMPANIES)
            .await
            .iter()
            .map(|l| l.type_id)
            .collect::<Vec<_>>(),
        [FIRST + 2, FIRST + 7]
    );
    assert_eq!(
        list(COMPANIES, CONTACTS)
            .await
            .iter()
            .map(|l| l.type_id)
            .collect::<Vec<_>>(),
        [FIRST + 3, FIRST + 8]
    );
    assert_eq!(list(CONTACTS, CONTACTS).await, vec![mentor, mentee]);
    // Room again under the maximum; the next id is one past the portal's largest.
    assert_eq!(
        create(CONTACTS, COMPANIES, "fifth", "Fifth", None, 3)
            .await
            .map(|l| (l[0].type_id, l[1].type_id)),
        Some((FIRST + 9, FIRST + 10))
    );
    assert_eq!(
        create(CONTACTS, COMPANIES, "manager", "Manager", None, 4)
            .await
            .map(|l| l[0].type_id),
        Some(FIRST + 11),
        "a deleted label's name is free again"
    );
}
