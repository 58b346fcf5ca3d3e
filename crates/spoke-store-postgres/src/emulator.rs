//! Fault rules and portal clocks (`spoke_store::emulator`). A rule's firing is one
//! conditional `UPDATE`, so processes sharing the database spend its count exactly; a
//! clock's advance locks the portal's row, so concurrent advances add up.

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::emulator::{Clock, EmulatorStore, FaultRule, FaultSpec};
use spoke_store::{StoreError, StoreResult};
use tokio_postgres::Row;

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

fn rule(r: &Row) -> Result<FaultRule, Error> {
    let id: i64 = r.try_get(0)?;
    let spec: String = r.try_get(1)?;
    let spec: FaultSpec =
        serde_json::from_str(&spec).map_err(|e| Error::Data(format!("fault rule {id}: {e}")))?;
    Ok(FaultRule {
        id,
        spec,
        count: r.try_get(2)?,
        remaining: r.try_get(3)?,
        hits: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

/// Whether the portal exists, holding its row's lock to the end of the transaction.
async fn lock_portal<C: GenericClient>(c: &C, portal: PortalId) -> Result<bool, Error> {
    Ok(db::query_opt(
        c,
        "SELECT 1 FROM portals WHERE id = $1 FOR UPDATE",
        &[&portal.0],
    )
    .await?
    .is_some())
}

async fn clock_of<C: GenericClient>(c: &C, portal: PortalId) -> Result<Clock, Error> {
    let row = db::query_opt(
        c,
        "SELECT mode, frozen_at, offset_ms FROM portal_clocks WHERE portal_id = $1",
        &[&portal.0],
    )
    .await?;
    Ok(match row {
        Some(r) => {
            let mode: String = r.try_get(0)?;
            Clock::from_row(&mode, r.try_get(1)?, r.try_get(2)?)
        }
        None => Clock::Real,
    })
}

async fn put_clock<C: GenericClient>(c: &C, portal: PortalId, clock: Clock) -> Result<(), Error> {
    match clock.row() {
        None => {
            db::execute(
                c,
                "DELETE FROM portal_clocks WHERE portal_id = $1",
                &[&portal.0],
            )
            .await?;
        }
        Some((mode, at, off)) => {
            db::execute(
                c,
                "INSERT INTO portal_clocks (portal_id, mode, frozen_at, offset_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (portal_id) DO UPDATE SET mode = excluded.mode,
                 frozen_at = excluded.frozen_at, offset_ms = excluded.offset_ms",
                &[&portal.0, &mode, &at, &off],
            )
            .await?;
        }
    }
    Ok(())
}

#[async_trait]
impl EmulatorStore for PostgresStore {
    async fn list_fault_rules(&self) -> StoreResult<Vec<FaultRule>> {
        async {
            let client = self.client().await?;
            let rows = db::query(
                &client,
                "SELECT id, spec, count, remaining, hits, created_at FROM fault_rules ORDER BY id",
                &[],
            )
            .await?;
            rows.iter().map(rule).collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
    }

    async fn insert_fault_rule(
        &self,
        spec: &FaultSpec,
        count: Option<i64>,
        now: Millis,
    ) -> StoreResult<FaultRule> {
        let text = serde_json::to_string(spec).map_err(|e| StoreError::Internal(e.to_string()))?;
        let id = async {
            let client = self.client().await?;
            let id: i64 = db::query_one(
                &client,
                "INSERT INTO fault_rules (spec, count, remaining, hits, created_at)
                 VALUES ($1, $2, $2, 0, $3) RETURNING id",
                &[&text, &count, &now],
            )
            .await?
            .try_get(0)?;
            Ok::<_, Error>(id)
        }
        .await
        .map_err(into_store)?;
        Ok(FaultRule {
            id,
            spec: spec.clone(),
            count,
            remaining: count,
            hits: 0,
            created_at: now,
        })
    }

    async fn delete_fault_rule(&self, id: i64) -> StoreResult<bool> {
        async {
            let client = self.client().await?;
            Ok::<_, Error>(
                db::execute(&client, "DELETE FROM fault_rules WHERE id = $1", &[&id]).await? == 1,
            )
        }
        .await
        .map_err(into_store)
    }

    async fn clear_fault_rules(&self) -> StoreResult<u64> {
        async {
            let client = self.client().await?;
            db::execute(&client, "DELETE FROM fault_rules", &[]).await
        }
        .await
        .map_err(into_store)
    }

    async fn fire_fault_rule(&self, id: i64) -> StoreResult<bool> {
        async {
            let client = self.client().await?;
            // One statement: the row lock orders racing firings, and each re-checks
            // `remaining` on the row as the one before it left it.
            Ok::<_, Error>(
                db::execute(
                    &client,
                    "UPDATE fault_rules SET hits = hits + 1, remaining = remaining - 1
                     WHERE id = $1 AND (remaining IS NULL OR remaining > 0)",
                    &[&id],
                )
                .await?
                    == 1,
            )
        }
        .await
        .map_err(into_store)
    }

    async fn list_clocks(&self) -> StoreResult<Vec<(PortalId, Clock)>> {
        async {
            let client = self.client().await?;
            let rows = db::query(
                &client,
                "SELECT portal_id, mode, frozen_at, offset_ms FROM portal_clocks",
                &[],
            )
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mode: String = r.try_get(1)?;
                out.push((
                    PortalId(r.try_get(0)?),
                    Clock::from_row(&mode, r.try_get(2)?, r.try_get(3)?),
                ));
            }
            Ok::<_, Error>(out)
        }
        .await
        .map_err(into_store)
    }

    async fn read_clock(&self, portal: PortalId) -> StoreResult<Option<Clock>> {
        async {
            let client = self.client().await?;
            let exists =
                db::query_opt(&client, "SELECT 1 FROM portals WHERE id = $1", &[&portal.0])
                    .await?
                    .is_some();
            if !exists {
                return Ok(None);
            }
            Ok::<_, Error>(Some(clock_of(&client, portal).await?))
        }
        .await
        .map_err(into_store)
    }

    async fn set_clock(&self, portal: PortalId, clock: Clock) -> StoreResult<Option<Clock>> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                if !lock_portal(tx, portal).await? {
                    return Ok(Finish::Commit(None));
                }
                put_clock(tx, portal, clock).await?;
                Ok(Finish::Commit(Some(clock)))
            })
        })
        .await
    }

    async fn advance_clock(&self, portal: PortalId, ms: i64) -> StoreResult<Option<Clock>> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                if !lock_portal(tx, portal).await? {
                    return Ok(Finish::Commit(None));
                }
                let clock = clock_of(tx, portal).await?.advanced(ms);
                put_clock(tx, portal, clock).await?;
                Ok(Finish::Commit(Some(clock)))
            })
        })
        .await
    }
}
