//! The association graph and USER_DEFINED labels.
//!
//! What each operation reads and writes is decided by `spoke_store::graph`; this module is
//! its SQL, in batches where the rules allow. With several writers, "at most one
//! target of this type" (primary) is kept by locking the record whose links are pruned
//! before pruning them, so two processes setting a record's primary company at once run one
//! after the other and the second removes the first's link.

use std::collections::HashSet;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::association::USER_DEFINED;
use spoke_core::{ObjectId, PortalId};
use spoke_store::columns::{self, Columns, LABEL_COLUMNS};
use spoke_store::graph::{
    LabelKey, LabelPair, LabelRename, LinkRow, NewLabel, PageRequest, Prune, Unlink,
};
use spoke_store::webhooks::LinkChange;
use spoke_store::{
    AssociationPage, AssociationRemoval, AssociationStore, AssociationWrite, ItemResult,
    LabelRecord, LinkContext, LinkType, StoreResult,
};

use crate::tokens_props::Cols;
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

const INSERT_ROW: &str = "INSERT INTO associations
     (portal_id, from_type, from_id, to_type, to_id, category, type_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";

const DELETE_ROW: &str = "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
     AND from_id = $3 AND to_type = $4 AND to_id = $5 AND category = $6 AND type_id = $7";

/// Runs `sql` (one of the statements above) on one row; if it changed the row, notes it in
/// `changes` (for webhook events), as removed when `sql` deletes.
async fn on_row(
    tx: &Transaction<'_>,
    sql: &str,
    portal: PortalId,
    r: &LinkRow<'_>,
    changes: &mut Vec<LinkChange>,
) -> Result<(), Error> {
    let n = db::execute(
        tx,
        sql,
        &[
            &portal.0,
            &r.from.0,
            &r.from.1,
            &r.to.0,
            &r.to.1,
            &r.category,
            &r.type_id,
        ],
    )
    .await?;
    if n > 0 {
        changes.push(LinkChange::new(r, sql == DELETE_ROW));
    }
    Ok(())
}

/// Carries out one prune. The pruned record is locked first, so concurrent writers of
/// the same rule take turns. Every row it deletes goes into `changes`.
async fn prune(
    tx: &Transaction<'_>,
    portal: PortalId,
    p: &Prune<'_>,
    changes: &mut Vec<LinkChange>,
) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT 1 FROM objects WHERE id = $1 FOR NO KEY UPDATE",
        &[&p.from.1],
    )
    .await?;
    let others = db::query_ids(
        tx,
        "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2 AND from_id = $3
         AND to_type = $4 AND category = $5 AND type_id = $6 AND to_id <> $7 RETURNING to_id",
        &[
            &portal.0,
            &p.from.0,
            &p.from.1,
            &p.to_type,
            &p.category,
            &p.type_id,
            &p.keep,
        ],
    )
    .await?;
    for &other in &others {
        let row = LinkRow {
            from: p.from,
            to: (p.to_type, other),
            category: p.category,
            type_id: p.type_id,
        };
        changes.push(LinkChange::new(&row, true));
    }
    if !others.is_empty() {
        let back = db::query_ids(
            tx,
            "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
             AND from_id = ANY($3) AND to_type = $4 AND to_id = $5 AND category = $6
             AND type_id = $7 RETURNING from_id",
            &[
                &portal.0,
                &p.to_type,
                &others,
                &p.from.0,
                &p.from.1,
                &p.category,
                &p.inverse_type_id,
            ],
        )
        .await?;
        for other in back {
            let row = LinkRow {
                from: (p.to_type, other),
                to: p.from,
                category: p.category,
                type_id: p.inverse_type_id,
            };
            changes.push(LinkChange::new(&row, true));
        }
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

/// Writes one link type in both directions, after the prunes its exclusivity asks for.
async fn write_link(
    tx: &Transaction<'_>,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    t: &LinkType,
    changes: &mut Vec<LinkChange>,
) -> Result<(), Error> {
    for p in t.prunes(from, to) {
        prune(tx, portal, &p, changes).await?;
    }
    for row in t.rows(from, to) {
        on_row(tx, INSERT_ROW, portal, &row, changes).await?;
    }
    Ok(())
}

/// One link to write: from, to, and the type.
pub(crate) type Link<'a> = ((&'a str, ObjectId), (&'a str, ObjectId), &'a LinkType);

/// Writes links in both directions, in order. Without an exclusive type among them the
/// order does not matter, and all rows go in one statement; otherwise each link is written
/// in turn, since an exclusive type prunes the links written before it. Returns the rows
/// added and pruned.
pub(crate) async fn write_links(
    tx: &Transaction<'_>,
    portal: PortalId,
    links: &[Link<'_>],
) -> Result<Vec<LinkChange>, Error> {
    if links.iter().any(|(_, _, t)| t.prunes_any()) {
        let mut changes = Vec::new();
        for (from, to, t) in links {
            write_link(tx, portal, *from, *to, t, &mut changes).await?;
        }
        return Ok(changes);
    }
    let mut rows = LinkRows::default();
    for (from, to, t) in links {
        for row in t.rows(*from, *to) {
            rows.push(row);
        }
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
    fn push(&mut self, r: LinkRow<'a>) {
        self.from_types.push(r.from.0);
        self.from_ids.push(r.from.1);
        self.to_types.push(r.to.0);
        self.to_ids.push(r.to.1);
        self.categories.push(r.category);
        self.type_ids.push(r.type_id);
    }

    /// Inserts the rows that are not there yet, and returns those.
    async fn insert(
        &self,
        tx: &Transaction<'_>,
        portal: PortalId,
    ) -> Result<Vec<LinkChange>, Error> {
        if self.from_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = db::query(
            tx,
            "INSERT INTO associations
             (portal_id, from_type, from_id, to_type, to_id, category, type_id)
             SELECT $1::BIGINT, t.* FROM unnest($2::TEXT[], $3::BIGINT[], $4::TEXT[],
                 $5::BIGINT[], $6::TEXT[], $7::BIGINT[])
                 AS t(from_type, from_id, to_type, to_id, category, type_id)
             ON CONFLICT DO NOTHING
             RETURNING from_type, from_id, to_type, to_id, category, type_id",
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
        rows.iter()
            .map(|r| {
                Ok(LinkChange {
                    from_type: r.try_get(0)?,
                    from_id: r.try_get(1)?,
                    to_type: r.try_get(2)?,
                    to_id: r.try_get(3)?,
                    category: r.try_get(4)?,
                    type_id: r.try_get(5)?,
                    removed: false,
                })
            })
            .collect()
    }
}

async fn labels_of<C: GenericClient>(
    c: &C,
    portal: PortalId,
    from: &str,
    to: &str,
) -> Result<Vec<LabelRecord>, Error> {
    db::query(
        c,
        &format!(
            "SELECT {LABEL_COLUMNS} FROM association_labels
             WHERE portal_id = $1 AND from_type = $2 AND to_type = $3 ORDER BY type_id"
        ),
        &[&portal.0, &from, &to],
    )
    .await?
    .iter()
    .map(|r| columns::label(&Cols(r)))
    .collect()
}

async fn put_batch(
    tx: &Transaction<'_>,
    portal: PortalId,
    items: &[AssociationWrite],
    ctx: &LinkContext,
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
        let missing =
            item.missing_end(|(t, id)| Ok::<_, Error>(live.contains(&(id, t.to_owned()))))?;
        if let Some(m) = missing {
            out.push(Err(m));
            continue;
        }
        let [from, to] = item.ends();
        for t in &item.types {
            links.push((from, to, t));
        }
        out.push(Ok(()));
    }
    let changes = write_links(tx, portal, &links).await?;
    crate::webhooks::link_events(tx, portal, ctx, &changes).await?;
    Ok(Finish::Commit(out))
}

async fn remove_batch(
    tx: &Transaction<'_>,
    portal: PortalId,
    items: &[AssociationRemoval],
    ctx: &LinkContext,
) -> Result<Finish<()>, Error> {
    let mut changes = Vec::new();
    for item in items {
        for unlink in item.unlinks() {
            match unlink {
                Unlink::Pair { from, to } => {
                    let rows = db::query(
                        tx,
                        "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
                         AND from_id = $3 AND to_type = $4 AND to_id = $5
                         RETURNING category, type_id",
                        &[&portal.0, &from.0, &from.1, &to.0, &to.1],
                    )
                    .await?;
                    let mut removed = rows
                        .iter()
                        .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)))
                        .collect::<Result<Vec<_>, Error>>()?;
                    // RETURNING gives rows in no set order; events follow the key's.
                    removed.sort();
                    for (category, type_id) in removed {
                        let row = LinkRow {
                            from,
                            to,
                            category: &category,
                            type_id,
                        };
                        changes.push(LinkChange::new(&row, true));
                    }
                }
                Unlink::Row(row) => on_row(tx, DELETE_ROW, portal, &row, &mut changes).await?,
            }
        }
    }
    crate::webhooks::link_events(tx, portal, ctx, &changes).await?;
    Ok(Finish::Commit(()))
}

/// Label writes check, then write; they take the portal's label lock first, so those of
/// one portal run one at a time (from several processes too) and each reads what the
/// previous committed, at READ COMMITTED and without retries. (SERIALIZABLE made a dozen
/// concurrent creates in one portal fail for want of retries.)
pub(crate) async fn lock_labels(tx: &Transaction<'_>, portal: PortalId) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::BIGINT::TEXT))",
        &[&LABEL_LOCK_CLASS, &portal.0],
    )
    .await?;
    Ok(())
}

/// The label lock's first key: "spkl" in ASCII (the migration lock's is "spok").
const LABEL_LOCK_CLASS: i32 = 0x7370_6b6c;

async fn insert_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    new: &NewLabel,
) -> Result<Finish<Option<Vec<LabelRecord>>>, Error> {
    lock_labels(tx, portal).await?;
    let existing = labels_of(tx, portal, &new.from_type, &new.to_type).await?;
    // Labels and schema definitions share the portal's type ids.
    let largest = crate::schemas::largest_type_id(tx, portal).await?;
    let Some(made) = new.records(&existing, largest) else {
        return Ok(Finish::Rollback(None));
    };
    for l in &made {
        db::execute(
            tx,
            &format!(
                "INSERT INTO association_labels (portal_id, {LABEL_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
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

/// Locks the portal's labels, then finds a label's inverse type id, if the label exists.
async fn locked_inverse_of(tx: &Transaction<'_>, key: &LabelKey) -> Result<Option<i64>, Error> {
    let portal = key.portal;
    lock_labels(tx, portal).await?;
    db::query_opt(
        tx,
        "SELECT inverse_type_id FROM association_labels WHERE portal_id = $1 AND from_type = $2
         AND to_type = $3 AND type_id = $4",
        &[&portal.0, &key.from_type, &key.to_type, &key.type_id],
    )
    .await?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(Error::from)
}

async fn rename_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    (key, rename): &(LabelKey, LabelRename),
) -> Result<Finish<bool>, Error> {
    let Some(inverse) = locked_inverse_of(tx, key).await? else {
        return Ok(Finish::Rollback(false));
    };
    for (k, label) in rename.targets(key, inverse) {
        db::execute(
            tx,
            "UPDATE association_labels SET label = $1 WHERE portal_id = $2
             AND from_type = $3 AND to_type = $4 AND type_id = $5",
            &[&label, &portal.0, &k.from_type, &k.to_type, &k.type_id],
        )
        .await?;
    }
    Ok(Finish::Commit(true))
}

async fn remove_label_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    key: &LabelKey,
) -> Result<Finish<bool>, Error> {
    let Some(inverse) = locked_inverse_of(tx, key).await? else {
        return Ok(Finish::Rollback(false));
    };
    let mut changes = Vec::new();
    for k in key.with_inverse(inverse) {
        db::execute(
            tx,
            "DELETE FROM association_labels WHERE portal_id = $1 AND from_type = $2
             AND to_type = $3 AND type_id = $4",
            &[&portal.0, &k.from_type, &k.to_type, &k.type_id],
        )
        .await?;
        let rows = db::query(
            tx,
            "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2 AND to_type = $3
             AND category = $4 AND type_id = $5 RETURNING from_id, to_id",
            &[
                &portal.0,
                &k.from_type,
                &k.to_type,
                &USER_DEFINED,
                &k.type_id,
            ],
        )
        .await?;
        let mut removed = rows
            .iter()
            .map(|r| Ok((r.try_get::<_, ObjectId>(0)?, r.try_get::<_, ObjectId>(1)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        removed.sort_unstable();
        for (from, to) in removed {
            let row = LinkRow {
                from: (&k.from_type, from),
                to: (&k.to_type, to),
                category: USER_DEFINED,
                type_id: k.type_id,
            };
            changes.push(LinkChange::new(&row, true));
        }
    }
    // The links a label's deletion removes are reported as removed.
    crate::webhooks::link_events(tx, portal, &LinkContext::api_now(), &changes).await?;
    Ok(Finish::Commit(true))
}

/// One page per request, in one statement: for each live `from` record, the link rows of
/// its first `limit + 1` live targets after `after` (the extra target only says that more
/// remain), in (to_id, category, type_id) order. `read_pages` runs the cheaper
/// [`ROWS_SQL`] first, and this only for the records whose rows that one cut short.
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
/// - Liveness, of the `from` record and of each target, is a scalar subquery, which the
///   planner never turns into a join: one probe each. The `from` check (on the primary key:
///   it also checks the portal and type) filters the `unnest` rows before the scans. A
///   target, linked while live and never deleted, is live unless archived: its probe asks
///   the small index of archived ids (`0016_archived_ids.sql`), not the primary key, whose
///   heap page (to see `archived_at`) was a random read per link.
const PAGE_SQL: &str = "
    SELECT r.ord, x.to_id, x.category, x.type_id
    FROM unnest($3::BIGINT[], $4::BIGINT[]) WITH ORDINALITY AS r(from_id, after_id, ord)
    CROSS JOIN LATERAL (
        SELECT w.to_id, w.category, w.type_id FROM (
            SELECT a.to_id, a.category, a.type_id, dense_rank() OVER (ORDER BY a.to_id) AS n
            FROM associations a
            WHERE a.portal_id = $1 AND a.from_type = $2 AND a.from_id = r.from_id
            AND a.to_type = $5 AND a.to_id > r.after_id
            AND (SELECT o.id FROM objects o WHERE o.id = a.to_id AND o.archived_at IS NOT NULL)
                IS NULL
        ) w
        WHERE w.n <= $6
    ) x
    WHERE (SELECT f.portal_id = $1 AND f.object_type = $2 AND f.archived_at IS NULL
           FROM objects f WHERE f.id = r.from_id)
    ORDER BY r.ord, x.to_id, x.category, x.type_id";

/// Each live `from` record's first `limit + 1` link rows of live targets after `after`, in
/// (to_id, category, type_id) order: [`PAGE_SQL`] with the window replaced by a `LIMIT` on
/// rows, which PostgreSQL stops on for each record without ranking. A target usually has one
/// row, so `limit + 1` rows usually hold the page and the first row of the target beyond
/// it; where they do not (a target of several rows among them), [`PAGE_SQL`] reads that
/// record's page again. Under `pgbench` on a 200k-contact data set of 100 records of about
/// seven links each, this statement ran at 1.22x the window's statements per second
/// (BENCHMARKS.md, "PostgreSQL association pages: a row `LIMIT` first"). A page read again
/// comes from that statement's snapshot, not this one's: each page is still one record's
/// links as of one moment, which is all a page promises.
const ROWS_SQL: &str = "
    SELECT r.ord, x.to_id, x.category, x.type_id
    FROM unnest($3::BIGINT[], $4::BIGINT[]) WITH ORDINALITY AS r(from_id, after_id, ord)
    CROSS JOIN LATERAL (
        SELECT a.to_id, a.category, a.type_id
        FROM associations a
        WHERE a.portal_id = $1 AND a.from_type = $2 AND a.from_id = r.from_id
        AND a.to_type = $5 AND a.to_id > r.after_id
        AND (SELECT o.id FROM objects o WHERE o.id = a.to_id AND o.archived_at IS NOT NULL)
            IS NULL
        ORDER BY a.to_id, a.category, a.type_id
        LIMIT $6
    ) x
    WHERE (SELECT f.portal_id = $1 AND f.object_type = $2 AND f.archived_at IS NULL
           FROM objects f WHERE f.id = r.from_id)
    ORDER BY r.ord, x.to_id, x.category, x.type_id";

/// Fills `pages` (one per request, in order) from the rows of [`ROWS_SQL`] or [`PAGE_SQL`],
/// and returns how many rows each page was given.
fn fill(
    pages: &mut [AssociationPage],
    rows: &[tokio_postgres::Row],
    limit: usize,
) -> Result<Vec<usize>, Error> {
    let mut given = vec![0; pages.len()];
    for row in rows {
        let cols = Cols(row);
        let ord = cols.int(0)?;
        let Some(i) = usize::try_from(ord - 1).ok().filter(|i| *i < pages.len()) else {
            continue;
        };
        given[i] += 1;
        // The statements read one target beyond the page; its rows only set `more`.
        let category: &str = row.try_get(2)?;
        pages[i].push(cols.int(1)?, category, cols.int(3)?, limit);
    }
    Ok(given)
}

#[async_trait]
impl AssociationStore for PostgresStore {
    async fn write_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
        ctx: LinkContext,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        let n = items.len();
        let out = self
            .write(TxMode::RECORDS, (items, ctx), move |tx, (items, ctx)| {
                Box::pin(put_batch(tx, portal, items, ctx))
            })
            .await?;
        self.wrote(n);
        Ok(out)
    }

    async fn unlink_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
        ctx: LinkContext,
    ) -> StoreResult<()> {
        self.write(TxMode::RECORDS, (items, ctx), move |tx, (items, ctx)| {
            Box::pin(remove_batch(tx, portal, items, ctx))
        })
        .await
    }

    async fn read_pages(&self, request: PageRequest) -> StoreResult<Vec<AssociationPage>> {
        let portal = request.portal;
        let mut pages = request.empty_pages();
        if pages.is_empty() {
            return Ok(pages);
        }
        let (from_ids, afters): (Vec<ObjectId>, Vec<ObjectId>) = request.starts().unzip();
        let (from_type, to_type, limit) = (&request.from_type, &request.to_type, request.limit);
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let client = self.client().await.map_err(into_store)?;
        let rows = db::query(
            &client,
            ROWS_SQL,
            &[&portal.0, &from_type, &from_ids, &afters, &to_type, &fetch],
        )
        .await
        .map_err(into_store)?;
        let given = fill(&mut pages, &rows, limit).map_err(into_store)?;
        // A page given all `limit + 1` rows without reaching a target beyond the page may
        // have lost the rest of its last target's rows to the limit.
        let cut: Vec<usize> = (0..pages.len())
            .filter(|&i| given[i] as i64 >= fetch && !pages[i].more)
            .collect();
        if cut.is_empty() {
            return Ok(pages);
        }
        let (from_ids, afters): (Vec<ObjectId>, Vec<ObjectId>) =
            cut.iter().map(|&i| (from_ids[i], afters[i])).unzip();
        let rows = db::query(
            &client,
            PAGE_SQL,
            &[&portal.0, &from_type, &from_ids, &afters, &to_type, &fetch],
        )
        .await
        .map_err(into_store)?;
        let mut again = vec![AssociationPage::default(); cut.len()];
        fill(&mut again, &rows, limit).map_err(into_store)?;
        for (i, page) in cut.into_iter().zip(again) {
            pages[i] = page;
        }
        Ok(pages)
    }

    async fn read_labels(&self, pair: LabelPair) -> StoreResult<Vec<LabelRecord>> {
        let client = self.client().await.map_err(into_store)?;
        labels_of(&client, pair.portal, &pair.from_type, &pair.to_type)
            .await
            .map_err(into_store)
    }

    async fn insert_label(&self, new: NewLabel) -> StoreResult<Option<Vec<LabelRecord>>> {
        self.write(TxMode::RECORDS, new, move |tx, new| {
            Box::pin(insert_label_tx(tx, new.portal, new))
        })
        .await
    }

    async fn rename_label(&self, key: LabelKey, rename: LabelRename) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, (key, rename), move |tx, args| {
            Box::pin(rename_label_tx(tx, args.0.portal, args))
        })
        .await
    }

    async fn remove_label(&self, key: LabelKey) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, key, move |tx, key| {
            Box::pin(remove_label_tx(tx, key.portal, key))
        })
        .await
    }
}
