//! Fault rules and portal clocks (`spoke_store::emulator`).

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::emulator::{Clock, EmulatorStore, FaultRule, FaultSpec};
use spoke_store::{StoreError, StoreResult};

use crate::SqliteStore;

/// A rule's row before its spec is parsed (outside the connection's thread).
type RuleRow = (i64, String, Option<i64>, Option<i64>, i64, Millis);

const RULE_COLUMNS: &str = "id, spec, count, remaining, hits, created_at";

fn rule_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RuleRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn parse_rule((id, spec, count, remaining, hits, created_at): RuleRow) -> StoreResult<FaultRule> {
    let spec: FaultSpec = serde_json::from_str(&spec)
        .map_err(|e| StoreError::Internal(format!("fault rule {id}: {e}")))?;
    Ok(FaultRule {
        id,
        spec,
        count,
        remaining,
        hits,
        created_at,
    })
}

fn portal_exists(conn: &Connection, portal: PortalId) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM portals WHERE id = ?1")?
        .query_row([portal.0], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

fn clock_of(conn: &Connection, portal: PortalId) -> rusqlite::Result<Clock> {
    let row = conn
        .prepare_cached(
            "SELECT mode, frozen_at, offset_ms FROM portal_clocks WHERE portal_id = ?1",
        )?
        .query_row([portal.0], |r| {
            Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    Ok(row.map_or(Clock::Real, |(mode, at, off)| {
        Clock::from_row(&mode, at, off)
    }))
}

fn put_clock(conn: &Connection, portal: PortalId, clock: Clock) -> rusqlite::Result<()> {
    match clock.row() {
        None => {
            conn.execute("DELETE FROM portal_clocks WHERE portal_id = ?1", [portal.0])?;
        }
        Some((mode, at, off)) => {
            conn.execute(
                "INSERT INTO portal_clocks (portal_id, mode, frozen_at, offset_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (portal_id) DO UPDATE SET mode = excluded.mode,
                 frozen_at = excluded.frozen_at, offset_ms = excluded.offset_ms",
                params![portal.0, mode, at, off],
            )?;
        }
    }
    Ok(())
}

#[async_trait]
impl EmulatorStore for SqliteStore {
    async fn list_fault_rules(&self) -> StoreResult<Vec<FaultRule>> {
        let rows = self
            .read(|conn| {
                conn.prepare_cached(&format!(
                    "SELECT {RULE_COLUMNS} FROM fault_rules ORDER BY id"
                ))?
                .query_map([], rule_row)?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter().map(parse_rule).collect()
    }

    async fn insert_fault_rule(
        &self,
        spec: &FaultSpec,
        count: Option<i64>,
        now: Millis,
    ) -> StoreResult<FaultRule> {
        let text = serde_json::to_string(spec).map_err(|e| StoreError::Internal(e.to_string()))?;
        let id = self
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO fault_rules (spec, count, remaining, hits, created_at)
                     VALUES (?1, ?2, ?2, 0, ?3)",
                    params![text, count, now],
                )?;
                Ok(conn.last_insert_rowid())
            })
            .await?;
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
        self.write(
            move |conn| Ok(conn.execute("DELETE FROM fault_rules WHERE id = ?1", [id])? == 1),
        )
        .await
    }

    async fn clear_fault_rules(&self) -> StoreResult<u64> {
        self.write(|conn| Ok(conn.execute("DELETE FROM fault_rules", [])? as u64))
            .await
    }

    async fn fire_fault_rule(&self, id: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            Ok(conn.execute(
                "UPDATE fault_rules SET hits = hits + 1, remaining = remaining - 1
                 WHERE id = ?1 AND (remaining IS NULL OR remaining > 0)",
                [id],
            )? == 1)
        })
        .await
    }

    async fn list_clocks(&self) -> StoreResult<Vec<(PortalId, Clock)>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT portal_id, mode, frozen_at, offset_ms FROM portal_clocks")?
                .query_map([], |r| {
                    let mode: String = r.get(1)?;
                    Ok((
                        PortalId(r.get(0)?),
                        Clock::from_row(&mode, r.get(2)?, r.get(3)?),
                    ))
                })?
                .collect()
        })
        .await
    }

    async fn read_clock(&self, portal: PortalId) -> StoreResult<Option<Clock>> {
        self.read(move |conn| {
            if !portal_exists(conn, portal)? {
                return Ok(None);
            }
            clock_of(conn, portal).map(Some)
        })
        .await
    }

    async fn set_clock(&self, portal: PortalId, clock: Clock) -> StoreResult<Option<Clock>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !portal_exists(&tx, portal)? {
                return Ok(None);
            }
            put_clock(&tx, portal, clock)?;
            tx.commit()?;
            Ok(Some(clock))
        })
        .await
    }

    async fn advance_clock(&self, portal: PortalId, ms: i64) -> StoreResult<Option<Clock>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if !portal_exists(&tx, portal)? {
                return Ok(None);
            }
            let clock = clock_of(&tx, portal)?.advanced(ms);
            put_clock(&tx, portal, clock)?;
            tx.commit()?;
            Ok(Some(clock))
        })
        .await
    }
}
