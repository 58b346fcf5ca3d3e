//! Pipelines, stages and their audit entries: the SQL of `spoke_store::pipelines`.
//!
//! A pipeline write reads the type's pipelines, then writes: it takes its portal's
//! pipeline lock first (as label writes do), so the writes of one portal run one at a time
//! from every process and each reads what the previous committed.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::PortalId;
use spoke_store::pipelines::{
    self, Applied, AuditKey, AuditRecord, Pipeline, PipelineStore, PipelineWrite, Refusal,
    MAX_REFERENCING, PIPELINE_COLUMNS, STAGE_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// The pipeline lock's first key: "spkp" in ASCII.
const PIPELINE_LOCK_CLASS: i32 = 0x7370_6b70;

/// Gives a new portal its default pipelines; runs inside the transaction creating it.
pub(crate) async fn seed_portal<C: GenericClient>(c: &C, portal: PortalId) -> Result<(), Error> {
    c.batch_execute(&pipelines::seed_portal_sql(portal)).await?;
    Ok(())
}

async fn read_type<C: GenericClient>(
    c: &C,
    portal: PortalId,
    object_type: &str,
) -> Result<Vec<Pipeline>, Error> {
    let found = db::query(
        c,
        &format!(
            "SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE portal_id = $1 AND object_type = $2 ORDER BY id"
        ),
        &[&portal.0, &object_type],
    )
    .await?
    .iter()
    .map(|r| pipelines::pipeline_row(&Cols(r)))
    .collect::<Result<Vec<_>, Error>>()?;
    let stages = db::query(
        c,
        &format!(
            "SELECT {STAGE_COLUMNS} FROM pipeline_stages WHERE portal_id = $1 AND object_type = $2
             ORDER BY pipeline_id, position"
        ),
        &[&portal.0, &object_type],
    )
    .await?
    .iter()
    .map(|r| pipelines::stage_row(&Cols(r)))
    .collect::<Result<Vec<_>, Error>>()?;
    pipelines::assemble(found, stages).map_err(|e| Error::Data(e.to_string()))
}

async fn write_tx(
    tx: &Transaction<'_>,
    write: &PipelineWrite,
) -> Result<Finish<Result<Applied, Refusal>>, Error> {
    let (portal, ty) = (write.portal.0, &write.object_type);
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::BIGINT::TEXT))",
        &[&PIPELINE_LOCK_CLASS, &portal],
    )
    .await?;
    let current = read_type(tx, write.portal, ty).await?;
    let applied = match write.apply(&current) {
        Ok(a) => a,
        Err(refusal) => return Ok(Finish::Rollback(Err(refusal))),
    };
    if write.validate_references && !applied.removed_stages.is_empty() {
        let limit = MAX_REFERENCING as i64;
        let objects = db::query_ids(
            tx,
            "SELECT id FROM objects WHERE portal_id = $1 AND object_type = $2 AND archived_at IS NULL
             AND (properties::json ->> $3) = ANY($4) ORDER BY id LIMIT $5",
            &[
                &portal,
                ty,
                &write.rules.stage_property,
                &applied.removed_stages,
                &limit,
            ],
        )
        .await?;
        if !objects.is_empty() {
            return Ok(Finish::Rollback(Err(Refusal::StagesInUse {
                stages: applied.removed_stages.clone(),
                objects,
            })));
        }
    }
    let p = &applied.pipeline;
    db::execute(
        tx,
        "DELETE FROM pipeline_stages WHERE portal_id = $1 AND object_type = $2 AND pipeline_id = $3",
        &[&portal, ty, &p.id],
    )
    .await?;
    db::execute(
        tx,
        "INSERT INTO pipelines (portal_id, object_type, id, label, display_order, created_at, updated_at, archived_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (portal_id, object_type, id) DO UPDATE SET label = excluded.label,
             display_order = excluded.display_order, created_at = excluded.created_at,
             updated_at = excluded.updated_at, archived_at = excluded.archived_at",
        &[
            &portal,
            ty,
            &p.id,
            &p.label,
            &p.display_order,
            &p.created_at,
            &p.updated_at,
            &p.archived_at,
        ],
    )
    .await?;
    for (i, s) in p.stages.iter().enumerate() {
        db::execute(
            tx,
            "INSERT INTO pipeline_stages (portal_id, object_type, pipeline_id, id, position, label, display_order, metadata, write_permissions, created_at, updated_at, archived_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                &portal,
                ty,
                &p.id,
                &s.id,
                &(i as i64),
                &s.label,
                &s.display_order,
                &pipelines::metadata_json(s),
                &s.write_permissions,
                &s.created_at,
                &s.updated_at,
                &s.archived_at,
            ],
        )
        .await?;
    }
    let last: i64 = db::query_one(
        tx,
        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM pipeline_audits
         WHERE portal_id = $1 AND object_type = $2 AND pipeline_id = $3",
        &[&portal, ty, &p.id],
    )
    .await?
    .try_get(0)?;
    for (i, e) in applied.audit.iter().enumerate() {
        db::execute(
            tx,
            "INSERT INTO pipeline_audits (portal_id, object_type, pipeline_id, stage_id, version, action, timestamp, snapshot)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &portal,
                ty,
                &p.id,
                &e.stage_id.as_deref().unwrap_or(""),
                &(last + 1 + i as i64),
                &e.action,
                &e.timestamp,
                &e.snapshot,
            ],
        )
        .await?;
    }
    Ok(Finish::Commit(Ok(applied)))
}

#[async_trait]
impl PipelineStore for PostgresStore {
    async fn read_pipelines(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<Pipeline>> {
        async {
            let mut client = self.client().await?;
            // Two statements, one snapshot.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let out = read_type(&tx, portal, object_type).await?;
            tx.commit().await?;
            Ok(out)
        }
        .await
        .map_err(into_store)
    }

    async fn write_pipeline(&self, write: PipelineWrite) -> StoreResult<Result<Applied, Refusal>> {
        self.write(TxMode::RECORDS, write, |tx, write| {
            Box::pin(write_tx(tx, write))
        })
        .await
    }

    async fn read_audit(&self, key: AuditKey) -> StoreResult<Vec<AuditRecord>> {
        let stage = key.stage_id.clone().unwrap_or_default();
        self.read_all(
            "SELECT action, timestamp, snapshot FROM pipeline_audits
             WHERE portal_id = $1 AND object_type = $2 AND pipeline_id = $3 AND stage_id = $4
             ORDER BY version DESC",
            &[&key.portal.0, &key.object_type, &key.pipeline_id, &stage],
            |r| {
                Ok(AuditRecord {
                    action: r.try_get(0)?,
                    timestamp: r.try_get(1)?,
                    snapshot: r.try_get(2)?,
                })
            },
        )
        .await
    }
}
