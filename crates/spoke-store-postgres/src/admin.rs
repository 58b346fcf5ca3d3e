//! The emulator controls' storage (`spoke_store::admin`): statements built from the table
//! declarations, each operation one transaction.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::admin::{self, AdminStore, Reindexed, SnapshotInfo, SnapshotRefusal};
use spoke_store::value_index::{self, IndexKey, IndexRow};
use spoke_store::StoreResult;
use tokio_postgres::types::Type;

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

async fn run<C: GenericClient>(c: &C, statements: Vec<String>) -> Result<(), Error> {
    c.batch_execute(&statements.join(";\n")).await?;
    Ok(())
}

async fn portal_exists<C: GenericClient>(c: &C, portal: PortalId) -> Result<bool, Error> {
    Ok(
        db::query_opt(c, "SELECT 1 FROM portals WHERE id = $1", &[&portal.0])
            .await?
            .is_some(),
    )
}

async fn snapshot_id<C: GenericClient>(
    c: &C,
    portal: PortalId,
    name: &str,
) -> Result<Option<i64>, Error> {
    let row = db::query_opt(
        c,
        "SELECT id FROM portal_snapshots WHERE portal_id = $1 AND name = $2",
        &[&portal.0, &name],
    )
    .await?;
    Ok(match row {
        Some(r) => Some(r.try_get(0)?),
        None => None,
    })
}

async fn seed<C: GenericClient>(c: &C, portal: PortalId, now: Millis) -> Result<(), Error> {
    crate::directory::seed_portal(c, portal, now).await?;
    crate::pipelines::seed_portal(c, portal).await
}

#[async_trait]
impl AdminStore for PostgresStore {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        async {
            let client = self.client().await?;
            let row = db::query_opt(
                &client,
                "SELECT token_hash FROM admin_token WHERE id = 1",
                &[],
            )
            .await?;
            Ok::<_, Error>(match row {
                Some(r) => Some(r.try_get(0)?),
                None => None,
            })
        }
        .await
        .map_err(into_store)
    }

    async fn put_admin_token_hash(
        &self,
        hash: &str,
        replace: bool,
        now: Millis,
    ) -> StoreResult<bool> {
        async {
            let client = self.client().await?;
            let sql = if replace {
                "INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET token_hash = excluded.token_hash,
                 created_at = excluded.created_at"
            } else {
                "INSERT INTO admin_token (id, token_hash, created_at) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING"
            };
            Ok::<_, Error>(db::execute(&client, sql, &[&hash, &now]).await? == 1)
        }
        .await
        .map_err(into_store)
    }

    async fn create_portal(&self, now: Millis) -> StoreResult<PortalId> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                // Processes sharing the database take new portal ids one at a time; a
                // portal another path inserts with this id meanwhile (`spoke token create
                // --portal`) makes the insert fail and the transaction run again.
                tx.batch_execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.spoke_new_portal'))",
                )
                .await?;
                let id: i64 = db::query_one(tx, "SELECT COALESCE(MAX(id), 0) + 1 FROM portals", &[])
                    .await?
                    .try_get(0)?;
                db::execute(
                    tx,
                    "INSERT INTO portals (id, created_at) VALUES ($1, $2)",
                    &[&id, &now],
                )
                .await?;
                seed(tx, PortalId(id), now).await?;
                Ok(Finish::Commit(PortalId(id)))
            })
        })
        .await
    }

    async fn delete_portal(&self, portal: PortalId) -> StoreResult<bool> {
        self.write(TxMode::PORTAL, (), move |tx, ()| {
            Box::pin(async move {
                if !portal_exists(tx, portal).await? {
                    return Ok(Finish::Commit(false));
                }
                run(tx, admin::delete_portal_sql(portal)).await?;
                Ok(Finish::Commit(true))
            })
        })
        .await
    }

    async fn reset_portal(&self, portal: PortalId, now: Millis) -> StoreResult<bool> {
        self.write(TxMode::PORTAL, (), move |tx, ()| {
            Box::pin(async move {
                if !portal_exists(tx, portal).await? {
                    return Ok(Finish::Commit(false));
                }
                run(tx, admin::clear_portal_sql(portal)).await?;
                seed(tx, portal, now).await?;
                Ok(Finish::Commit(true))
            })
        })
        .await
    }

    async fn create_snapshot(
        &self,
        portal: PortalId,
        name: &str,
        now: Millis,
    ) -> StoreResult<Result<SnapshotInfo, SnapshotRefusal>> {
        self.write(TxMode::PORTAL, name, move |tx, name| {
            Box::pin(async move {
                if !portal_exists(tx, portal).await? {
                    return Ok(Finish::Commit(Err(SnapshotRefusal::NoSuchPortal)));
                }
                let records: i64 = db::query_one(
                    tx,
                    "SELECT COUNT(*) FROM objects WHERE portal_id = $1",
                    &[&portal.0],
                )
                .await?
                .try_get(0)?;
                // The unique key arbitrates between two takers of one name.
                let row = db::query_opt(
                    tx,
                    "INSERT INTO portal_snapshots (portal_id, name, created_at, records)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (portal_id, name) DO NOTHING RETURNING id",
                    &[&portal.0, name, &now, &records],
                )
                .await?;
                let Some(row) = row else {
                    return Ok(Finish::Commit(Err(SnapshotRefusal::Exists)));
                };
                let id: i64 = row.try_get(0)?;
                run(tx, admin::take_snapshot_sql(portal, id)).await?;
                Ok(Finish::Commit(Ok(SnapshotInfo {
                    name: (*name).to_owned(),
                    created_at: now,
                    records: records.max(0) as u64,
                })))
            })
        })
        .await
    }

    async fn list_snapshots(&self, portal: PortalId) -> StoreResult<Option<Vec<SnapshotInfo>>> {
        async {
            let client = self.client().await?;
            if !portal_exists(&client, portal).await? {
                return Ok(None);
            }
            let rows = db::query(
                &client,
                "SELECT name, created_at, records FROM portal_snapshots
                 WHERE portal_id = $1 ORDER BY name COLLATE \"C\"",
                &[&portal.0],
            )
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(SnapshotInfo {
                    name: r.try_get(0)?,
                    created_at: r.try_get(1)?,
                    records: r.try_get::<_, i64>(2)?.max(0) as u64,
                });
            }
            Ok::<_, Error>(Some(out))
        }
        .await
        .map_err(into_store)
    }

    async fn restore_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        self.write(TxMode::PORTAL, name, move |tx, name| {
            Box::pin(async move {
                // It rebuilds the index of the listed properties.
                crate::value_index::exclude_writers(tx).await?;
                let Some(id) = snapshot_id(tx, portal, name).await? else {
                    return Ok(Finish::Commit(false));
                };
                run(
                    tx,
                    admin::restore_snapshot_sql(portal, id, &crate::value_index::VALUES),
                )
                .await?;
                crate::value_index::rebuild_words(tx, portal).await?;
                Ok(Finish::Commit(true))
            })
        })
        .await
    }

    async fn delete_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, name, move |tx, name| {
            Box::pin(async move {
                let Some(id) = snapshot_id(tx, portal, name).await? else {
                    return Ok(Finish::Commit(false));
                };
                run(tx, admin::drop_snapshot_sql(id)).await?;
                db::execute(tx, "DELETE FROM portal_snapshots WHERE id = $1", &[&id]).await?;
                Ok(Finish::Commit(true))
            })
        })
        .await
    }

    async fn reindex_portal(&self, portal: PortalId) -> StoreResult<Reindexed> {
        // One snapshot of the portal for the whole rebuild, taken after the list of indexed
        // properties is locked against writers (`value_index::exclude_writers`): record
        // writes wait for the rebuild instead of racing it.
        self.write(TxMode::PORTAL, (), move |tx, ()| {
            Box::pin(async move {
                crate::value_index::exclude_writers(tx).await?;
                let [clear, rebuild, then] =
                    admin::reindex_sql(portal, &crate::value_index::VALUES);
                let mut done = Reindexed::default();
                // Not `prepare_cached`: each statement names its portal.
                for s in &clear {
                    done.removed += tx.execute(s.as_str(), &[]).await?;
                }
                for s in &rebuild {
                    done.written += tx.execute(s.as_str(), &[]).await?;
                }
                done.written += crate::value_index::rebuild_words(tx, portal).await?;
                run(tx, then).await?;
                Ok(Finish::Commit(done))
            })
        })
        .await
    }

    async fn index_rows(&self, portal: PortalId) -> StoreResult<Vec<IndexRow>> {
        async {
            let client = self.client().await?;
            let mut out = Vec::new();
            for (table, sql) in value_index::portal_rows_sql(portal) {
                for r in client.query(sql.as_str(), &[]).await? {
                    let ty = r.columns().get(2).map(|c| c.type_().clone());
                    let key = match ty {
                        Some(Type::FLOAT8) => IndexKey::Real(r.try_get(2)?),
                        Some(Type::INT8) => IndexKey::Int(r.try_get(2)?),
                        _ => IndexKey::Text(r.try_get(2)?),
                    };
                    out.push(IndexRow {
                        table,
                        object_type: r.try_get(0)?,
                        property: r.try_get(1)?,
                        key,
                        object_id: r.try_get(3)?,
                    });
                }
            }
            Ok::<_, Error>(out)
        }
        .await
        .map_err(into_store)
    }
}
