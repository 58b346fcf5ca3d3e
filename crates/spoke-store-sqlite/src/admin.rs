//! The emulator controls' storage (`spoke_store::admin`): statements built from the table
//! declarations, run in one writer transaction each.

use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::admin::{self, AdminStore, Reindexed, SnapshotInfo, SnapshotRefusal};
use spoke_store::value_index::{self, IndexKey, IndexRow};
use spoke_store::StoreResult;

use crate::SqliteStore;

fn run(tx: &Transaction<'_>, statements: Vec<String>) -> rusqlite::Result<()> {
    tx.execute_batch(&statements.join(";\n"))
}

fn portal_exists(conn: &Connection, portal: PortalId) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM portals WHERE id = ?1")?
        .query_row([portal.0], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

fn snapshot_id(conn: &Connection, portal: PortalId, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM portal_snapshots WHERE portal_id = ?1 AND name = ?2")?
        .query_row(params![portal.0, name], |r| r.get(0))
        .optional()
}

fn seed(tx: &Transaction<'_>, portal: PortalId, now: Millis) -> rusqlite::Result<()> {
    crate::directory::seed_portal(tx, portal, now)?;
    crate::pipelines::seed_portal(tx, portal)
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT token_hash FROM admin_token WHERE id = 1")?
                .query_row([], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn put_admin_token_hash(
        &self,
        hash: &str,
        replace: bool,
        now: Millis,
    ) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write(move |conn| {
            let sql = if replace {
                "INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash,
                 created_at = excluded.created_at"
            } else {
                "INSERT OR IGNORE INTO admin_token (id, token_hash, created_at) VALUES (1, ?1, ?2)"
            };
            Ok(conn.execute(sql, params![hash, now])? == 1)
        })
        .await
    }

    async fn create_portal(&self, now: Millis) -> StoreResult<PortalId> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // The writer is the only one: the largest id cannot move before the insert.
            let id: i64 =
                tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM portals", [], |r| {
                    r.get(0)
                })?;
            let portal = PortalId(id);
            tx.execute(
                "INSERT INTO portals (id, created_at) VALUES (?1, ?2)",
                params![id, now],
            )?;
            seed(&tx, portal, now)?;
            tx.commit()?;
            Ok(portal)
        })
        .await
    }

    async fn delete_portal(&self, portal: PortalId) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !portal_exists(&tx, portal)? {
                return Ok(false);
            }
            run(&tx, admin::delete_portal_sql(portal))?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn reset_portal(&self, portal: PortalId, now: Millis) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !portal_exists(&tx, portal)? {
                return Ok(false);
            }
            run(&tx, admin::clear_portal_sql(portal))?;
            seed(&tx, portal, now)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn create_snapshot(
        &self,
        portal: PortalId,
        name: &str,
        now: Millis,
    ) -> StoreResult<Result<SnapshotInfo, SnapshotRefusal>> {
        let name = name.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !portal_exists(&tx, portal)? {
                return Ok(Err(SnapshotRefusal::NoSuchPortal));
            }
            if snapshot_id(&tx, portal, &name)?.is_some() {
                return Ok(Err(SnapshotRefusal::Exists));
            }
            let records: i64 = tx
                .prepare_cached("SELECT COUNT(*) FROM objects WHERE portal_id = ?1")?
                .query_row([portal.0], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO portal_snapshots (portal_id, name, created_at, records)
                 VALUES (?1, ?2, ?3, ?4)",
                params![portal.0, name, now, records],
            )?;
            let id = tx.last_insert_rowid();
            run(&tx, admin::take_snapshot_sql(portal, id))?;
            tx.commit()?;
            Ok(Ok(SnapshotInfo {
                name,
                created_at: now,
                records: records.max(0) as u64,
            }))
        })
        .await
    }

    async fn list_snapshots(&self, portal: PortalId) -> StoreResult<Option<Vec<SnapshotInfo>>> {
        self.read(move |conn| {
            if !portal_exists(conn, portal)? {
                return Ok(None);
            }
            let list = conn
                .prepare_cached(
                    "SELECT name, created_at, records FROM portal_snapshots
                     WHERE portal_id = ?1 ORDER BY name",
                )?
                .query_map([portal.0], |r| {
                    Ok(SnapshotInfo {
                        name: r.get(0)?,
                        created_at: r.get(1)?,
                        records: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(Some(list))
        })
        .await
    }

    async fn restore_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(id) = snapshot_id(&tx, portal, &name)? else {
                return Ok(false);
            };
            run(
                &tx,
                admin::restore_snapshot_sql(portal, id, &crate::value_index::VALUES),
            )?;
            crate::value_index::rebuild_words(&tx, portal)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn delete_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(id) = snapshot_id(&tx, portal, &name)? else {
                return Ok(false);
            };
            run(&tx, admin::drop_snapshot_sql(id))?;
            tx.execute("DELETE FROM portal_snapshots WHERE id = ?1", [id])?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn reindex_portal(&self, portal: PortalId) -> StoreResult<Reindexed> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let [clear, rebuild, then] = admin::reindex_sql(portal, &crate::value_index::VALUES);
            let mut done = Reindexed::default();
            for s in &clear {
                done.removed += tx.execute(s, [])? as u64;
            }
            for s in &rebuild {
                done.written += tx.execute(s, [])? as u64;
            }
            done.written += crate::value_index::rebuild_words(&tx, portal)?;
            run(&tx, then)?;
            tx.commit()?;
            Ok(done)
        })
        .await
    }

    async fn index_rows(&self, portal: PortalId) -> StoreResult<Vec<IndexRow>> {
        self.read(move |conn| {
            let mut out = Vec::new();
            for (table, sql) in value_index::portal_rows_sql(portal) {
                let mut stmt = conn.prepare(&sql)?;
                let mut rows = stmt.query([])?;
                while let Some(r) = rows.next()? {
                    let key = match r.get_ref(2)? {
                        ValueRef::Real(f) => IndexKey::Real(f),
                        ValueRef::Integer(i) => IndexKey::Int(i),
                        other => IndexKey::Text(other.as_str()?.to_owned()),
                    };
                    out.push(IndexRow {
                        table,
                        object_type: r.get(0)?,
                        property: r.get(1)?,
                        key,
                        object_id: r.get(3)?,
                    });
                }
            }
            Ok(out)
        })
        .await
    }
}
