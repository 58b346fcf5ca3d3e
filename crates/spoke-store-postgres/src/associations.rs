//! The association graph and USER_DEFINED labels.
//!
//! Mirrors `spoke-store-sqlite/src/associations.rs`. With several writers, "at most one
//! target of this type" (primary) is kept by locking the record whose links are pruned
//! before pruning them, so two processes setting a record's primary company at once run one
//! after the other and the second removes the first's link.

use std::collections::HashSet;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::association::{FIRST_USER_TYPE_ID, USER_DEFINED};
use spoke_core::{ObjectId, PortalId};
use spoke_store::{
    AssociatedTarget, AssociationPage, AssociationRemoval, AssociationStore, AssociationWrite,
    ItemFailure, ItemResult, LabelRecord, LinkType, StoreResult,
};

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// Which of `ids` are live records of the portal, as (id, object type). Only the primary
/// key can serve it, whatever the statistics (see `objects.rs`).
pub(crate) async fn live_among<C: GenericClient>(
    c: &C,
    portal: PortalId,
    ids: &[ObjectId],
) -> Result<HashSet<(ObjectId, String)>, Error> {
    let rows = db::query(
        c,
        "SELECT id, object_type FROM objects WHERE id = ANY($1)
         AND portal_id IS NOT DISTINCT FROM $2::BIGINT AND archived_at IS NULL",
        &[&ids, &portal.0],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

async fn insert_row(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
) -> Result<(), Error> {
    db::execute(
        tx,
        "INSERT INTO associations (portal_id, from_type, from_id, to_type, to_id, category, type_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        &[&portal.0, &from.0, &from.1, &to.0, &to.1, &category, &type_id],
    )
    .await?;
    Ok(())
}

async fn delete_row(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
) -> Result<(), Error> {
    db::execute(
        tx,
        "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2 AND from_id = $3
         AND to_type = $4 AND to_id = $5 AND category = $6 AND type_id = $7",
        &[
            &portal.0, &from.0, &from.1, &to.0, &to.1, &category, &type_id,
        ],
    )
    .await?;
    Ok(())
}

/// Drops `from`'s other links of an exclusive type (and their inverses). `from`'s record
/// is locked first, so concurrent writers of the same rule take turns.
async fn clear_exclusive(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
    inverse_type_id: i64,
) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT 1 FROM objects WHERE id = $1 FOR NO KEY UPDATE",
        &[&from.1],
    )
    .await?;
    let others: Vec<ObjectId> = db::query(
        tx,
        "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2 AND from_id = $3
         AND to_type = $4 AND category = $5 AND type_id = $6 AND to_id <> $7 RETURNING to_id",
        &[
            &portal.0, &from.0, &from.1, &to.0, &category, &type_id, &to.1,
        ],
    )
    .await?
    .iter()
    .map(|r| r.try_get(0))
    .collect::<Result<_, _>>()?;
    if !others.is_empty() {
        db::execute(
            tx,
            "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
             AND from_id = ANY($3) AND to_type = $4 AND to_id = $5 AND category = $6
             AND type_id = $7",
            &[
                &portal.0,
                &to.0,
                &others,
                &from.0,
                &from.1,
                &category,
                &inverse_type_id,
            ],
        )
        .await?;
    }
    Ok(())
}

/// Adds to `ids` the records whose links a write of `t` from `from` to `to` prunes for
/// exclusivity.
pub(crate) fn add_exclusive(ids: &mut Vec<ObjectId>, from: ObjectId, to: ObjectId, t: &LinkType) {
    if t.exclusive {
        ids.push(from);
    }
    if t.inverse_exclusive {
        ids.push(to);
    }
}

/// Locks `ids` (from [`add_exclusive`]) in ascending id order before any link is written,
/// so concurrent batches queue instead of deadlocking (as `batch::lock` does for
/// record writes). Each prune still locks its record itself.
pub(crate) async fn prelock_exclusive(tx: &Transaction<'_>, ids: &[ObjectId]) -> Result<(), Error> {
    if ids.is_empty() {
        return Ok(());
    }
    db::execute(
        tx,
        "SELECT 1 FROM objects WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&ids],
    )
    .await?;
    Ok(())
}

/// Writes one link type in both directions, honoring exclusivity on either side.
pub(crate) async fn write_link(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    t: &LinkType,
) -> Result<(), Error> {
    if t.exclusive {
        clear_exclusive(
            tx,
            portal,
            from,
            to,
            &t.category,
            t.type_id,
            t.inverse_type_id,
        )
        .await?;
    }
    if t.inverse_exclusive {
        clear_exclusive(
            tx,
            portal,
            to,
            from,
            &t.category,
            t.inverse_type_id,
            t.type_id,
        )
        .await?;
    }
    insert_row(tx, portal, from, to, &t.category, t.type_id).await?;
    insert_row(tx, portal, to, from, &t.category, t.inverse_type_id).await
}

/// One link to write: from, to, and the type.
pub(crate) type Link<'a> = ((&'a str, ObjectId), (&'a str, ObjectId), &'a LinkType);

/// Writes links in both directions, in order. Without an exclusive type among them the
/// order does not matter, and all rows go in one statement; otherwise each link is written
/// in turn, as SQLite does, since an exclusive type prunes the links written before it.
pub(crate) async fn write_links(
    tx: &Transaction<'_>,
    portal: PortalId,
    links: &[Link<'_>],
) -> Result<(), Error> {
    if links
        .iter()
        .any(|(_, _, t)| t.exclusive || t.inverse_exclusive)
    {
        for (from, to, t) in links {
            write_link(tx, portal, *from, *to, t).await?;
        }
        return Ok(());
    }
    let mut rows = LinkRows::default();
    for (from, to, t) in links {
        rows.push(*from, *to, &t.category, t.type_id);
        rows.push(*to, *from, &t.category, t.inverse_type_id);
    }
    rows.insert(tx, portal).await
}

/// Link rows for one multi-row insert.
#[derive(Default)]
struct LinkRows<'a> {
    from_types: Vec<&'a str>,
    from_ids: Vec<ObjectId>,
    to_types: Vec<&'a str>,
    to_ids: Vec<ObjectId>,
    categories: Vec<&'a str>,
    type_ids: Vec<i64>,
}

impl<'a> LinkRows<'a> {
    fn push(
        &mut self,
        from: (&'a str, ObjectId),
        to: (&'a str, ObjectId),
        category: &'a str,
        type_id: i64,
    ) {
        self.from_types.push(from.0);
        self.from_ids.push(from.1);
        self.to_types.push(to.0);
        self.to_ids.push(to.1);
        self.categories.push(category);
        self.type_ids.push(type_id);
    }

    async fn insert(&self, tx: &Transaction<'_>, portal: PortalId) -> Result<(), Error> {
        if self.from_ids.is_empty() {
            return Ok(());
        }
        db::execute(
            tx,
            "INSERT INTO associations
             (portal_id, from_type, from_id, to_type, to_id, category, type_id)
             SELECT $1::BIGINT, t.* FROM unnest($2::TEXT[], $3::BIGINT[], $4::TEXT[],
                 $5::BIGINT[], $6::TEXT[], $7::BIGINT[])
                 AS t(from_type, from_id, to_type, to_id, category, type_id)
             ON CONFLICT DO NOTHING",
            &[
                &portal.0,
                &self.from_types,
                &self.from_ids,
                &self.to_types,
                &self.to_ids,
                &self.categories,
                &self.type_ids,
            ],
        )
        .await?;
        Ok(())
    }
}

fn label_row(r: &tokio_postgres::Row) -> Result<LabelRecord, Error> {
    Ok(LabelRecord {
        from_type: r.try_get(0)?,
        to_type: r.try_get(1)?,
        type_id: r.try_get(2)?,
        label: r.try_get(3)?,
        name: r.try_get(4)?,
        inverse_type_id: r.try_get(5)?,
    })
}

async fn labels_of<C: GenericClient>(
    c: &C,
    portal: PortalId,
    from: &str,
    to: &str,
) -> Result<Vec<LabelRecord>, Error> {
    db::query(
        c,
        "SELECT from_type, to_type, type_id, label, name, inverse_type_id FROM association_labels
         WHERE portal_id = $1 AND from_type = $2 AND to_type = $3 ORDER BY type_id",
        &[&portal.0, &from, &to],
    )
    .await?
    .iter()
    .map(label_row)
    .collect()
}

async fn put_batch(
    tx: &Transaction<'_>,
    portal: PortalId,
    items: &[AssociationWrite],
) -> Result<Finish<Vec<ItemResult<()>>>, Error> {
    let ids: Vec<ObjectId> = items.iter().flat_map(|i| [i.from_id, i.to_id]).collect();
    let live = if ids.is_empty() {
        HashSet::new()
    } else {
        live_among(tx, portal, &ids).await?
    };
    let mut exclusive = Vec::new();
    for i in items {
        for t in &i.types {
            add_exclusive(&mut exclusive, i.from_id, i.to_id, t);
        }
    }
    prelock_exclusive(tx, &exclusive).await?;
    let mut out = Vec::with_capacity(items.len());
    let mut links: Vec<Link> = Vec::new();
    for item in items {
        // `from` is checked first, as in SQLite.
        let missing = [(&item.from_type, item.from_id), (&item.to_type, item.to_id)]
            .into_iter()
            .find(|(t, id)| !live.contains(&(*id, (*t).clone())));
        if let Some((t, id)) = missing {
            out.push(Err(ItemFailure::AssociationTarget {
                object_type: t.clone(),
                id,
            }));
            continue;
        }
        for t in &item.types {
            links.push((
                (&item.from_type, item.from_id),
                (&item.to_type, item.to_id),
                t,
            ));
        }
        out.push(Ok(()));
    }
    write_links(tx, portal, &links).await?;
    Ok(Finish::Commit(out))
}

async fn remove_batch(
    tx: &Transaction<'_>,
    portal: PortalId,
    items: &[AssociationRemoval],
) -> Result<Finish<()>, Error> {
    for item in items {
        let from = (item.from_type.as_str(), item.from_id);
        let to = (item.to_type.as_str(), item.to_id);
        match &item.types {
            None => {
                for (a, b) in [(from, to), (to, from)] {
                    db::execute(
                        tx,
                        "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
                         AND from_id = $3 AND to_type = $4 AND to_id = $5",
                        &[&portal.0, &a.0, &a.1, &b.0, &b.1],
                    )
                    .await?;
                }
            }
            Some(types) => {
                for (category, type_id, inverse) in types {
                    delete_row(tx, portal, from, to, category, *type_id).await?;
                    delete_row(tx, portal, to, from, category, *inverse).await?;
                }
            }
        }
    }
    Ok(Finish::Commit(()))
}

async fn create_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    (from, to, name, label, inverse_label, max): &(&str, &str, &str, &str, Option<&str>, usize),
) -> Result<Finish<Option<Vec<LabelRecord>>>, Error> {
    let (from, to, name, label) = (*from, *to, *name, *label);
    let existing = labels_of(tx, portal, from, to).await?;
    if existing.len() >= *max || existing.iter().any(|l| l.name == name) {
        return Ok(Finish::Rollback(None));
    }
    let next: i64 = db::query_one(
        tx,
        "SELECT COALESCE(MAX(type_id), $2) + 1 FROM association_labels WHERE portal_id = $1",
        &[&portal.0, &(FIRST_USER_TYPE_ID - 1)],
    )
    .await?
    .try_get(0)?;
    // Same-type pairs without an inverse label use one type id both ways.
    let single = from == to && inverse_label.is_none();
    let inverse_id = if single { next } else { next + 1 };
    let mut made = vec![LabelRecord {
        from_type: from.to_owned(),
        to_type: to.to_owned(),
        type_id: next,
        label: label.to_owned(),
        name: name.to_owned(),
        inverse_type_id: inverse_id,
    }];
    if !single {
        made.push(LabelRecord {
            from_type: to.to_owned(),
            to_type: from.to_owned(),
            type_id: inverse_id,
            label: inverse_label.unwrap_or(label).to_owned(),
            name: format!("{name}_inverse"),
            inverse_type_id: next,
        });
    }
    for l in &made {
        db::execute(
            tx,
            "INSERT INTO association_labels
             (portal_id, from_type, to_type, type_id, label, name, inverse_type_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &portal.0,
                &l.from_type,
                &l.to_type,
                &l.type_id,
                &l.label,
                &l.name,
                &l.inverse_type_id,
            ],
        )
        .await?;
    }
    Ok(Finish::Commit(Some(made)))
}

async fn inverse_of(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: &str,
    to: &str,
    type_id: i64,
) -> Result<Option<i64>, Error> {
    db::query_opt(
        tx,
        "SELECT inverse_type_id FROM association_labels WHERE portal_id = $1 AND from_type = $2
         AND to_type = $3 AND type_id = $4",
        &[&portal.0, &from, &to, &type_id],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(Error::from)
}

const SET_LABEL: &str = "UPDATE association_labels SET label = $1 WHERE portal_id = $2
     AND from_type = $3 AND to_type = $4 AND type_id = $5";

async fn update_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    (from, to, type_id, label, inverse_label): &(&str, &str, i64, &str, Option<&str>),
) -> Result<Finish<bool>, Error> {
    let Some(inverse) = inverse_of(tx, portal, from, to, *type_id).await? else {
        return Ok(Finish::Rollback(false));
    };
    db::execute(tx, SET_LABEL, &[label, &portal.0, from, to, type_id]).await?;
    if let Some(il) = inverse_label.filter(|_| inverse != *type_id) {
        db::execute(tx, SET_LABEL, &[&il, &portal.0, to, from, &inverse]).await?;
    }
    Ok(Finish::Commit(true))
}

async fn delete_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    (from, to, type_id): &(&str, &str, i64),
) -> Result<Finish<bool>, Error> {
    let Some(inverse) = inverse_of(tx, portal, from, to, *type_id).await? else {
        return Ok(Finish::Rollback(false));
    };
    for (a, b, id) in [(from, to, *type_id), (to, from, inverse)] {
        db::execute(
            tx,
            "DELETE FROM association_labels WHERE portal_id = $1 AND from_type = $2
             AND to_type = $3 AND type_id = $4",
            &[&portal.0, a, b, &id],
        )
        .await?;
        db::execute(
            tx,
            "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2 AND to_type = $3
             AND category = $4 AND type_id = $5",
            &[&portal.0, a, b, &USER_DEFINED, &id],
        )
        .await?;
    }
    Ok(Finish::Commit(true))
}

/// One page per request, in one statement: for each live `from` record, the link rows of
/// its first `limit + 1` live targets after `after` (the extra target only says that more
/// remain), in (to_id, category, type_id) order.
///
/// The plan must not depend on the record's total number of links, nor on statistics
/// (tables right after a bulk load have none), so the statement leaves the planner no
/// choice that scales with it:
///
/// - Each page is one range scan of the primary key, read in key order and stopped by
///   `dense_rank() <= limit + 1` (a run condition, PostgreSQL 15+: the window stops pulling
///   rows once it is false; older versions read all of the record's links of the type, and
///   probe each target, before filtering). A subquery holding a window function is never
///   flattened into the outer join, so the scan stays per `from` record. (The former
///   shape, a `LIMIT`ed `DISTINCT to_id` subquery and a second LATERAL for the types, was
///   flattened and joined first: every link of the record's type pair times the page,
///   0.5-2 s for a record with 10,000 links.)
/// - Liveness, of the `from` record and of each target, is a scalar subquery on the primary
///   key, which the planner never turns into a join: one probe each. The `from` check
///   filters the `unnest` rows before the scans.
const PAGE_SQL: &str = "
    SELECT r.ord, x.to_id, x.category, x.type_id
    FROM unnest($3::BIGINT[], $4::BIGINT[]) WITH ORDINALITY AS r(from_id, after_id, ord)
    CROSS JOIN LATERAL (
        SELECT w.to_id, w.category, w.type_id FROM (
            SELECT a.to_id, a.category, a.type_id, dense_rank() OVER (ORDER BY a.to_id) AS n
            FROM associations a
            WHERE a.portal_id = $1 AND a.from_type = $2 AND a.from_id = r.from_id
            AND a.to_type = $5 AND a.to_id > r.after_id
            AND (SELECT o.archived_at IS NULL FROM objects o WHERE o.id = a.to_id)
        ) w
        WHERE w.n <= $6
    ) x
    WHERE (SELECT f.portal_id = $1 AND f.object_type = $2 AND f.archived_at IS NULL
           FROM objects f WHERE f.id = r.from_id)
    ORDER BY r.ord, x.to_id, x.category, x.type_id";

#[async_trait]
impl AssociationStore for PostgresStore {
    async fn put_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        let n = items.len();
        let out = self
            .write(TxMode::RECORDS, items, move |tx, items| {
                Box::pin(put_batch(tx, portal, items))
            })
            .await?;
        self.wrote(n);
        Ok(out)
    }

    async fn remove_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
    ) -> StoreResult<()> {
        self.write(TxMode::RECORDS, items, move |tx, items| {
            Box::pin(remove_batch(tx, portal, items))
        })
        .await
    }

    async fn page_associations(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        requests: Vec<(ObjectId, Option<ObjectId>)>,
        limit: usize,
    ) -> StoreResult<Vec<AssociationPage>> {
        let mut pages = vec![AssociationPage::default(); requests.len()];
        if requests.is_empty() {
            return Ok(pages);
        }
        let from_ids: Vec<ObjectId> = requests.iter().map(|r| r.0).collect();
        let afters: Vec<ObjectId> = requests.iter().map(|r| r.1.unwrap_or(0)).collect();
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let client = self.client().await.map_err(into_store)?;
        let rows = db::query(
            &client,
            PAGE_SQL,
            &[&portal.0, &from_type, &from_ids, &afters, &to_type, &fetch],
        )
        .await
        .map_err(into_store)?;
        for row in &rows {
            let ord: i64 = row.try_get(0).map_err(|e| into_store(e.into()))?;
            let to_id: ObjectId = row.try_get(1).map_err(|e| into_store(e.into()))?;
            let ty = (
                row.try_get::<_, String>(2)
                    .map_err(|e| into_store(e.into()))?,
                row.try_get::<_, i64>(3).map_err(|e| into_store(e.into()))?,
            );
            let Some(page) = usize::try_from(ord - 1).ok().and_then(|i| pages.get_mut(i)) else {
                continue;
            };
            if let Some(last) = page.targets.last_mut().filter(|l| l.to_id == to_id) {
                last.types.push(ty);
            } else if page.targets.len() == limit {
                page.more = true;
            } else {
                page.targets.push(AssociatedTarget {
                    to_id,
                    types: vec![ty],
                });
            }
        }
        Ok(pages)
    }

    async fn list_labels(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
    ) -> StoreResult<Vec<LabelRecord>> {
        let client = self.client().await.map_err(into_store)?;
        labels_of(&client, portal, from_type, to_type)
            .await
            .map_err(into_store)
    }

    async fn create_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        name: &str,
        label: &str,
        inverse_label: Option<&str>,
        max: usize,
    ) -> StoreResult<Option<Vec<LabelRecord>>> {
        self.write(
            TxMode::DEFINITIONS,
            (from_type, to_type, name, label, inverse_label, max),
            move |tx, args| Box::pin(create_label_tx(tx, portal, args)),
        )
        .await
    }

    async fn update_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        type_id: i64,
        label: &str,
        inverse_label: Option<&str>,
    ) -> StoreResult<bool> {
        self.write(
            TxMode::DEFINITIONS,
            (from_type, to_type, type_id, label, inverse_label),
            move |tx, args| Box::pin(update_label_tx(tx, portal, args)),
        )
        .await
    }

    async fn delete_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        self.write(
            TxMode::DEFINITIONS,
            (from_type, to_type, type_id),
            move |tx, args| Box::pin(delete_label_tx(tx, portal, args)),
        )
        .await
    }
}
