//! Pipelines, stages and their audit entries: the SQL of `spoke_store::pipelines`.

use async_trait::async_trait;
use rusqlite::{params, Connection};
use spoke_core::PortalId;
use spoke_store::pipelines::{
    self, Applied, AuditKey, AuditRecord, Pipeline, PipelineStore, PipelineWrite, Refusal,
    MAX_REFERENCING, PIPELINE_COLUMNS, STAGE_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::SqliteStore;

/// Gives a new portal its default pipelines; runs inside the transaction creating it.
pub(crate) fn seed_portal(conn: &Connection, portal: PortalId) -> rusqlite::Result<()> {
    conn.execute_batch(&pipelines::seed_portal_sql(portal))
}

fn read_type(conn: &Connection, portal: PortalId, object_type: &str) -> StoreResult<Vec<Pipeline>> {
    let rows = || -> rusqlite::Result<_> {
        let found: Vec<Pipeline> = conn
            .prepare_cached(&format!(
                "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE portal_id = ?1 AND object_type = ?2 ORDER BY id"
            ))?
            .query_map(params![portal.0, object_type], |r| {
                pipelines::pipeline_row(&Cols(r))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let stages: Vec<_> = conn
            .prepare_cached(&format!(
                "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE portal_id = ?1 AND object_type = ?2
                 ORDER BY pipeline_id, position"
            ))?
            .query_map(params![portal.0, object_type], |r| {
                pipelines::stage_row(&Cols(r))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok((found, stages))
    };
    let (found, stages) = rows().map_err(crate::map_err)?;
    pipelines::assemble(found, stages)
}

/// Live records of the type in any of `stages`.
fn referencing(
    conn: &Connection,
    write: &PipelineWrite,
    stages: &[String],
) -> rusqlite::Result<Vec<i64>> {
    let path = format!("$.\"{}\"", write.rules.stage_property);
    let list = serde_json::to_string(stages).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "SELECT id FROM objects WHERE portal_id = ?1 AND object_type = ?2 AND archived_at IS NULL
         AND json_extract(properties, ?3) IN (SELECT value FROM json_each(?4))
         ORDER BY id LIMIT ?5",
    )?
    .query_map(
        params![
            write.portal.0,
            write.object_type,
            path,
            list,
            MAX_REFERENCING as i64
        ],
        |r| r.get(0),
    )?
    .collect()
}

fn store_pipeline(conn: &Connection, write: &PipelineWrite, p: &Pipeline) -> rusqlite::Result<()> {
    let (portal, ty) = (write.portal.0, &write.object_type);
    conn.prepare_cached(
        "DELETE FROM pipeline_stages WHERE portal_id = ?1 AND object_type = ?2 AND pipeline_id = ?3",
    )?
    .execute(params![portal, ty, p.id])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO pipelines (portal_id, object_type, id, label, display_order, created_at, updated_at, archived_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        portal,
        ty,
        p.id,
        p.label,
        p.display_order,
        p.created_at,
        p.updated_at,
        p.archived_at
    ])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO pipeline_stages (portal_id, object_type, pipeline_id, id, position, label, display_order, metadata, write_permissions, created_at, updated_at, archived_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for (i, s) in p.stages.iter().enumerate() {
        insert.execute(params![
            portal,
            ty,
            p.id,
            s.id,
            i as i64,
            s.label,
            s.display_order,
            pipelines::metadata_json(s),
            s.write_permissions,
            s.created_at,
            s.updated_at,
            s.archived_at
        ])?;
    }
    Ok(())
}

fn store_audit(
    conn: &Connection,
    write: &PipelineWrite,
    applied: &Applied,
) -> rusqlite::Result<()> {
    let (portal, ty, pipeline) = (write.portal.0, &write.object_type, &applied.pipeline.id);
    let last: i64 = conn
        .prepare_cached(
            "SELECT COALESCE(MAX(version), 0) FROM pipeline_audits
             WHERE portal_id = ?1 AND object_type = ?2 AND pipeline_id = ?3",
        )?
        .query_row(params![portal, ty, pipeline], |r| r.get(0))?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO pipeline_audits (portal_id, object_type, pipeline_id, stage_id, version, action, timestamp, snapshot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (i, e) in applied.audit.iter().enumerate() {
        insert.execute(params![
            portal,
            ty,
            pipeline,
            e.stage_id.as_deref().unwrap_or(""),
            last + 1 + i as i64,
            e.action,
            e.timestamp,
            e.snapshot
        ])?;
    }
    Ok(())
}

fn write_pipeline(
    conn: &mut Connection,
    write: &PipelineWrite,
) -> StoreResult<Result<Applied, Refusal>> {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(crate::map_err)?;
    let current = read_type(&tx, write.portal, &write.object_type)?;
    let applied = match write.apply(&current) {
        Ok(a) => a,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let run = || -> rusqlite::Result<Option<Refusal>> {
        if write.validate_references && !applied.removed_stages.is_empty() {
            let objects = referencing(&tx, write, &applied.removed_stages)?;
            if !objects.is_empty() {
                return Ok(Some(Refusal::StagesInUse {
                    stages: applied.removed_stages.clone(),
                    objects,
                }));
            }
        }
        store_pipeline(&tx, write, &applied.pipeline)?;
        store_audit(&tx, write, &applied)?;
        Ok(None)
    };
    if let Some(refusal) = run().map_err(crate::map_err)? {
        return Ok(Err(refusal));
    }
    tx.commit().map_err(crate::map_err)?;
    Ok(Ok(applied))
}

#[async_trait]
impl PipelineStore for SqliteStore {
    async fn read_pipelines(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<Pipeline>> {
        let object_type = object_type.to_owned();
        // Two statements: a read transaction gives them one snapshot.
        let out = self
            .read(move |conn| Ok(read_type(conn, portal, &object_type)))
            .await?;
        out
    }

    async fn write_pipeline(&self, write: PipelineWrite) -> StoreResult<Result<Applied, Refusal>> {
        self.write(move |conn| Ok(write_pipeline(conn, &write)))
            .await?
    }

    async fn read_audit(&self, key: AuditKey) -> StoreResult<Vec<AuditRecord>> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT action, timestamp, snapshot FROM pipeline_audits
                 WHERE portal_id = ?1 AND object_type = ?2 AND pipeline_id = ?3 AND stage_id = ?4
                 ORDER BY version DESC",
            )?
            .query_map(
                params![
                    key.portal.0,
                    key.object_type,
                    key.pipeline_id,
                    key.stage_id.as_deref().unwrap_or("")
                ],
                |r| {
                    Ok(AuditRecord {
                        action: r.get(0)?,
                        timestamp: r.get(1)?,
                        snapshot: r.get(2)?,
                    })
                },
            )?
            .collect()
        })
        .await
    }
}
