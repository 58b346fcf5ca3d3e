//! The association graph and USER_DEFINED labels.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::association::USER_DEFINED;
use spoke_core::{ObjectId, PortalId};
use spoke_store::columns::{self, LABEL_COLUMNS};
use spoke_store::graph::{
    LabelKey, LabelPair, LabelRename, LinkRow, NewLabel, PageRequest, Prune, Unlink,
};
use spoke_store::webhooks::LinkChange;
use spoke_store::{
    AssociationPage, AssociationRemoval, AssociationStore, AssociationWrite, ItemResult,
    LabelRecord, LinkContext, LinkType, StoreResult,
};

use crate::tokens_props::Cols;
use crate::SqliteStore;

pub(crate) fn is_live(
    conn: &Connection,
    portal: PortalId,
    object_type: &str,
    id: ObjectId,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM objects INDEXED BY objects_live
         WHERE id = ?1 AND portal_id = ?2 AND object_type = ?3 AND archived_at IS NULL",
    )?
    .query_row(params![id, portal.0, object_type], |_| Ok(()))
    .optional()
    .map(|r| r.is_some())
}

const INSERT_ROW: &str = "INSERT OR IGNORE INTO associations
     (portal_id, from_type, from_id, to_type, to_id, category, type_id)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const DELETE_ROW: &str = "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2
     AND from_id = ?3 AND to_type = ?4 AND to_id = ?5 AND category = ?6 AND type_id = ?7";

/// Runs `sql` (one of the statements above) on one row; if it changed the row, notes it in
/// `changes` (for webhook events), as removed when `sql` deletes.
fn on_row(
    conn: &Connection,
    sql: &str,
    portal: PortalId,
    r: &LinkRow<'_>,
    changes: &mut Vec<LinkChange>,
) -> rusqlite::Result<()> {
    let n = conn.prepare_cached(sql)?.execute(params![
        portal.0, r.from.0, r.from.1, r.to.0, r.to.1, r.category, r.type_id
    ])?;
    if n > 0 {
        changes.push(LinkChange::new(r, sql == DELETE_ROW));
    }
    Ok(())
}

fn prune(
    conn: &Connection,
    portal: PortalId,
    p: &Prune<'_>,
    changes: &mut Vec<LinkChange>,
) -> rusqlite::Result<()> {
    let others: Vec<ObjectId> = conn
        .prepare_cached(
            "SELECT to_id FROM associations WHERE portal_id = ?1 AND from_type = ?2 AND from_id = ?3
             AND to_type = ?4 AND category = ?5 AND type_id = ?6 AND to_id <> ?7",
        )?
        .query_map(
            params![portal.0, p.from.0, p.from.1, p.to_type, p.category, p.type_id, p.keep],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    for other in others {
        let rows = LinkType {
            category: p.category.to_owned(),
            type_id: p.type_id,
            inverse_type_id: p.inverse_type_id,
            exclusive: false,
            inverse_exclusive: false,
        };
        for row in rows.rows(p.from, (p.to_type, other)) {
            on_row(conn, DELETE_ROW, portal, &row, changes)?;
        }
    }
    Ok(())
}

/// Writes one link type in both directions, after the prunes its exclusivity asks for;
/// every row added or pruned goes into `changes`.
pub(crate) fn write_link(
    conn: &Connection,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    t: &LinkType,
    changes: &mut Vec<LinkChange>,
) -> rusqlite::Result<()> {
    for p in t.prunes(from, to) {
        prune(conn, portal, &p, changes)?;
    }
    for row in t.rows(from, to) {
        on_row(conn, INSERT_ROW, portal, &row, changes)?;
    }
    Ok(())
}

fn labels_of(
    conn: &Connection,
    portal: PortalId,
    from: &str,
    to: &str,
) -> rusqlite::Result<Vec<LabelRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {LABEL_COLUMNS} FROM association_labels
         WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 ORDER BY type_id"
    ))?
    .query_map(params![portal.0, from, to], |r| columns::label(&Cols(r)))?
    .collect()
}

/// The inverse type id of a label, if the label exists.
fn inverse_of(conn: &Connection, key: &LabelKey) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT inverse_type_id FROM association_labels
         WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
        params![key.portal.0, key.from_type, key.to_type, key.type_id],
        |r| r.get(0),
    )
    .optional()
}

#[async_trait]
impl AssociationStore for SqliteStore {
    async fn write_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
        ctx: LinkContext,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        let cache = self.inner.listeners.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut changes = Vec::new();
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(m) = item.missing_end(|(t, id)| is_live(&tx, portal, t, id))? {
                    out.push(Err(m));
                    continue;
                }
                let [from, to] = item.ends();
                for t in &item.types {
                    write_link(&tx, portal, from, to, t, &mut changes)?;
                }
                out.push(Ok(()));
            }
            crate::webhooks::link_events(&tx, &cache, portal, &ctx, &changes)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn unlink_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
        ctx: LinkContext,
    ) -> StoreResult<()> {
        let cache = self.inner.listeners.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut changes = Vec::new();
            for item in &items {
                for unlink in item.unlinks() {
                    match unlink {
                        Unlink::Pair { from, to } => {
                            let removed: Vec<(String, i64)> = tx
                                .prepare_cached(
                                    "DELETE FROM associations WHERE portal_id = ?1
                                     AND from_type = ?2 AND from_id = ?3 AND to_type = ?4
                                     AND to_id = ?5 RETURNING category, type_id",
                                )?
                                .query_map(params![portal.0, from.0, from.1, to.0, to.1], |r| {
                                    Ok((r.get(0)?, r.get(1)?))
                                })?
                                .collect::<rusqlite::Result<_>>()?;
                            // RETURNING gives rows in no set order; events follow the key's.
                            let mut removed = removed;
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
                        Unlink::Row(row) => on_row(&tx, DELETE_ROW, portal, &row, &mut changes)?,
                    }
                }
            }
            crate::webhooks::link_events(&tx, &cache, portal, &ctx, &changes)?;
            tx.commit()
        })
        .await
    }

    async fn read_pages(&self, request: PageRequest) -> StoreResult<Vec<AssociationPage>> {
        let portal = request.portal;
        self.read(move |conn| {
            let mut pages = request.empty_pages();
            // Rows come in (to_id, category, type_id) order; stop at the first row of the
            // (limit+1)-th target, which only says that more remain. Both ends of a link row
            // were live records of its types when it was written, and records are never
            // deleted, so an end is live unless it is archived: a question for the small
            // index of archived ids (`0006_archived_ids.sql`), not for the objects
            // themselves. An archived `from` gives an empty page. One statement-cache
            // look-up per read, not per from-id: it hashes the statement's text.
            let mut stmt = conn.prepare_cached(
                "SELECT a.to_id, a.category, a.type_id
                     FROM associations a
                     WHERE a.portal_id = ?1 AND a.from_type = ?2 AND a.from_id = ?3
                         AND a.to_type = ?4 AND a.to_id > ?5
                         AND NOT EXISTS (SELECT 1 FROM objects f INDEXED BY objects_archived
                             WHERE f.id = ?3 AND f.archived_at IS NOT NULL)
                         AND NOT EXISTS (SELECT 1 FROM objects o INDEXED BY objects_archived
                             WHERE o.id = a.to_id AND o.archived_at IS NOT NULL)
                     ORDER BY a.to_id, a.category, a.type_id",
            )?;
            for ((from_id, after), page) in request.starts().zip(&mut pages) {
                let mut rows = stmt.query(params![
                    portal.0,
                    request.from_type,
                    from_id,
                    request.to_type,
                    after
                ])?;
                while let Some(row) = rows.next()? {
                    let category = row.get_ref(1)?.as_str()?;
                    if !page.push(row.get(0)?, category, row.get(2)?, request.limit) {
                        break;
                    }
                }
            }
            Ok(pages)
        })
        .await
    }

    async fn read_labels(&self, pair: LabelPair) -> StoreResult<Vec<LabelRecord>> {
        self.lookup(move |conn| labels_of(conn, pair.portal, &pair.from_type, &pair.to_type))
            .await
    }

    async fn insert_label(&self, new: NewLabel) -> StoreResult<Option<Vec<LabelRecord>>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing = labels_of(&tx, new.portal, &new.from_type, &new.to_type)?;
            // Labels and schema definitions share the portal's type ids.
            let largest = crate::schemas::largest_type_id(&tx, new.portal)?;
            let Some(made) = new.records(&existing, largest) else {
                return Ok(None);
            };
            for l in &made {
                tx.execute(
                    &format!(
                        "INSERT INTO association_labels (portal_id, {LABEL_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        new.portal.0,
                        l.from_type,
                        l.to_type,
                        l.type_id,
                        l.label,
                        l.name,
                        l.inverse_type_id
                    ],
                )?;
            }
            tx.commit()?;
            Ok(Some(made))
        })
        .await
    }

    async fn rename_label(&self, key: LabelKey, rename: LabelRename) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(inverse) = inverse_of(&tx, &key)? else {
                return Ok(false);
            };
            for (k, label) in rename.targets(&key, inverse) {
                tx.execute(
                    "UPDATE association_labels SET label = ?1
                     WHERE portal_id = ?2 AND from_type = ?3 AND to_type = ?4 AND type_id = ?5",
                    params![label, k.portal.0, k.from_type, k.to_type, k.type_id],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn remove_label(&self, key: LabelKey) -> StoreResult<bool> {
        let cache = self.inner.listeners.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(inverse) = inverse_of(&tx, &key)? else {
                return Ok(false);
            };
            let mut changes = Vec::new();
            for k in key.with_inverse(inverse) {
                tx.execute(
                    "DELETE FROM association_labels
                     WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
                    params![k.portal.0, k.from_type, k.to_type, k.type_id],
                )?;
                let mut removed: Vec<(ObjectId, ObjectId)> = tx
                    .prepare_cached(
                        "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2
                         AND to_type = ?3 AND category = ?4 AND type_id = ?5
                         RETURNING from_id, to_id",
                    )?
                    .query_map(
                        params![k.portal.0, k.from_type, k.to_type, USER_DEFINED, k.type_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .collect::<rusqlite::Result<_>>()?;
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
            crate::webhooks::link_events(
                &tx,
                &cache,
                key.portal,
                &LinkContext::api_now(),
                &changes,
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}
