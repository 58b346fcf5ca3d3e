//! The association graph and USER_DEFINED labels.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::association::USER_DEFINED;
use spoke_core::{ObjectId, PortalId};
use spoke_store::{
    AssociatedTarget, AssociationPage, AssociationRemoval, AssociationStore, AssociationWrite,
    ItemFailure, ItemResult, LabelRecord, LinkType, StoreResult,
};

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

fn insert_row(
    conn: &Connection,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO associations (portal_id, from_type, from_id, to_type, to_id, category, type_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![portal.0, from.0, from.1, to.0, to.1, category, type_id])?;
    Ok(())
}

fn delete_row(
    conn: &Connection,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2 AND from_id = ?3
         AND to_type = ?4 AND to_id = ?5 AND category = ?6 AND type_id = ?7",
    )?
    .execute(params![
        portal.0, from.0, from.1, to.0, to.1, category, type_id
    ])?;
    Ok(())
}

/// Drops `from`'s other links of an exclusive type (and their inverses).
fn clear_exclusive(
    conn: &Connection,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    category: &str,
    type_id: i64,
    inverse_type_id: i64,
) -> rusqlite::Result<()> {
    let others: Vec<ObjectId> = conn
        .prepare_cached(
            "SELECT to_id FROM associations WHERE portal_id = ?1 AND from_type = ?2 AND from_id = ?3
             AND to_type = ?4 AND category = ?5 AND type_id = ?6 AND to_id <> ?7",
        )?
        .query_map(params![portal.0, from.0, from.1, to.0, category, type_id, to.1], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for other in others {
        delete_row(conn, portal, from, (to.0, other), category, type_id)?;
        delete_row(conn, portal, (to.0, other), from, category, inverse_type_id)?;
    }
    Ok(())
}

/// Writes one link type in both directions, honoring exclusivity on either side.
pub(crate) fn write_link(
    conn: &Connection,
    portal: PortalId,
    from: (&str, ObjectId),
    to: (&str, ObjectId),
    t: &LinkType,
) -> rusqlite::Result<()> {
    if t.exclusive {
        clear_exclusive(
            conn,
            portal,
            from,
            to,
            &t.category,
            t.type_id,
            t.inverse_type_id,
        )?;
    }
    if t.inverse_exclusive {
        clear_exclusive(
            conn,
            portal,
            to,
            from,
            &t.category,
            t.inverse_type_id,
            t.type_id,
        )?;
    }
    insert_row(conn, portal, from, to, &t.category, t.type_id)?;
    insert_row(conn, portal, to, from, &t.category, t.inverse_type_id)
}

fn label_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LabelRecord> {
    Ok(LabelRecord {
        from_type: r.get(0)?,
        to_type: r.get(1)?,
        type_id: r.get(2)?,
        label: r.get(3)?,
        name: r.get(4)?,
        inverse_type_id: r.get(5)?,
    })
}

const LABEL_COLUMNS: &str = "from_type, to_type, type_id, label, name, inverse_type_id";

fn labels_of(
    conn: &Connection,
    portal: PortalId,
    from: &str,
    to: &str,
) -> rusqlite::Result<Vec<LabelRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {LABEL_COLUMNS} FROM association_labels WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 ORDER BY type_id"
    ))?
    .query_map(params![portal.0, from, to], label_row)?
    .collect()
}

#[async_trait]
impl AssociationStore for SqliteStore {
    async fn put_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let mut missing = None;
                for (t, id) in [(&item.from_type, item.from_id), (&item.to_type, item.to_id)] {
                    if missing.is_none() && !is_live(&tx, portal, t, id)? {
                        missing = Some(ItemFailure::AssociationTarget {
                            object_type: t.clone(),
                            id,
                        });
                    }
                }
                if let Some(m) = missing {
                    out.push(Err(m));
                    continue;
                }
                for t in &item.types {
                    write_link(
                        &tx,
                        portal,
                        (&item.from_type, item.from_id),
                        (&item.to_type, item.to_id),
                        t,
                    )?;
                }
                out.push(Ok(()));
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn remove_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for item in items {
                let from = (item.from_type.as_str(), item.from_id);
                let to = (item.to_type.as_str(), item.to_id);
                match &item.types {
                    None => {
                        for (a, b) in [(from, to), (to, from)] {
                            tx.prepare_cached(
                                "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2
                                 AND from_id = ?3 AND to_type = ?4 AND to_id = ?5",
                            )?
                            .execute(params![portal.0, a.0, a.1, b.0, b.1])?;
                        }
                    }
                    Some(types) => {
                        for (category, type_id, inverse) in types {
                            delete_row(&tx, portal, from, to, category, *type_id)?;
                            delete_row(&tx, portal, to, from, category, *inverse)?;
                        }
                    }
                }
            }
            tx.commit()
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
        let (from_type, to_type) = (from_type.to_owned(), to_type.to_owned());
        self.read(move |conn| {
            let mut pages = Vec::with_capacity(requests.len());
            for (from_id, after) in requests {
                let mut page = AssociationPage::default();
                // Rows come in (to_id, category, type_id) order; stop at the first row of
                // the (limit+1)-th target, which only says that more remain. Both ends of a
                // link row were live records of its types when it was written, and records
                // are never deleted, so an end is live unless it is archived: a question for
                // the small index of archived ids (`0006_archived_ids.sql`), not for the
                // objects themselves. An archived `from` gives an empty page.
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
                let mut rows = stmt.query(params![
                    portal.0,
                    from_type,
                    from_id,
                    to_type,
                    after.unwrap_or(0)
                ])?;
                while let Some(row) = rows.next()? {
                    let to_id: ObjectId = row.get(0)?;
                    let ty = (row.get::<_, String>(1)?, row.get::<_, i64>(2)?);
                    if let Some(last) = page.targets.last_mut().filter(|l| l.to_id == to_id) {
                        last.types.push(ty);
                    } else if page.targets.len() == limit {
                        page.more = true;
                        break;
                    } else {
                        page.targets.push(AssociatedTarget {
                            to_id,
                            types: vec![ty],
                        });
                    }
                }
                pages.push(page);
            }
            Ok(pages)
        })
        .await
    }

    async fn list_labels(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
    ) -> StoreResult<Vec<LabelRecord>> {
        let (from, to) = (from_type.to_owned(), to_type.to_owned());
        self.lookup(move |conn| labels_of(conn, portal, &from, &to))
            .await
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
        let (from, to, name, label) = (
            from_type.to_owned(),
            to_type.to_owned(),
            name.to_owned(),
            label.to_owned(),
        );
        let inverse_label = inverse_label.map(str::to_owned);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing = labels_of(&tx, portal, &from, &to)?;
            if existing.len() >= max || existing.iter().any(|l| l.name == name) {
                return Ok(None);
            }
            let next: i64 = tx.query_row(
                "SELECT COALESCE(MAX(type_id), ?2) + 1 FROM association_labels WHERE portal_id = ?1",
                params![portal.0, spoke_core::association::FIRST_USER_TYPE_ID - 1],
                |r| r.get(0),
            )?;
            // Same-type pairs without an inverse label use one type id both ways.
            let single = from == to && inverse_label.is_none();
            let inverse_id = if single { next } else { next + 1 };
            let mut made = vec![LabelRecord {
                from_type: from.clone(),
                to_type: to.clone(),
                type_id: next,
                label: label.clone(),
                name: name.clone(),
                inverse_type_id: inverse_id,
            }];
            if !single {
                made.push(LabelRecord {
                    from_type: to.clone(),
                    to_type: from.clone(),
                    type_id: inverse_id,
                    label: inverse_label.clone().unwrap_or_else(|| label.clone()),
                    name: format!("{name}_inverse"),
                    inverse_type_id: next,
                });
            }
            for l in &made {
                tx.execute(
                    "INSERT INTO association_labels (portal_id, from_type, to_type, type_id, label, name, inverse_type_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![portal.0, l.from_type, l.to_type, l.type_id, l.label, l.name, l.inverse_type_id],
                )?;
            }
            tx.commit()?;
            Ok(Some(made))
        })
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
        let (from, to, label) = (from_type.to_owned(), to_type.to_owned(), label.to_owned());
        let inverse_label = inverse_label.map(str::to_owned);
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let inverse: Option<i64> = tx
                .query_row(
                    "SELECT inverse_type_id FROM association_labels WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
                    params![portal.0, from, to, type_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(inverse) = inverse else { return Ok(false) };
            tx.execute(
                "UPDATE association_labels SET label = ?1 WHERE portal_id = ?2 AND from_type = ?3 AND to_type = ?4 AND type_id = ?5",
                params![label, portal.0, from, to, type_id],
            )?;
            if let Some(il) = inverse_label.filter(|_| inverse != type_id) {
                tx.execute(
                    "UPDATE association_labels SET label = ?1 WHERE portal_id = ?2 AND from_type = ?3 AND to_type = ?4 AND type_id = ?5",
                    params![il, portal.0, to, from, inverse],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn delete_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        let (from, to) = (from_type.to_owned(), to_type.to_owned());
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let inverse: Option<i64> = tx
                .query_row(
                    "SELECT inverse_type_id FROM association_labels WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
                    params![portal.0, from, to, type_id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(inverse) = inverse else { return Ok(false) };
            for (a, b, id) in [(&from, &to, type_id), (&to, &from, inverse)] {
                tx.execute(
                    "DELETE FROM association_labels WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
                    params![portal.0, a, b, id],
                )?;
                tx.execute(
                    "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND category = ?4 AND type_id = ?5",
                    params![portal.0, a, b, USER_DEFINED, id],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}
