//! Pipelines v3 (`/crm/v3/pipelines/{objectType}`, hubspot-behavior-platform.md §23) and
//! the legacy read shapes of the same data: `/crm-pipelines/v1/pipelines/{objectType}`
//! (§23.8) and `/deals/v1/pipelines` (§23.9). The rules of every write are
//! `spoke_store::pipelines`; this module turns HTTP into its changes and its values into
//! HubSpot's shapes.

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use spoke_core::time::{format_iso, now_millis};
use spoke_core::Pipelined;
use spoke_store::pipelines::{
    self, bracketed, AuditKey, Change, Pipeline, PipelineWrite, Refusal, Stage,
};
use spoke_types::pipelines as wire;

use crate::catalogue::{Authorized, Subject, Type};
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::{missing_fields, missing_required};
use crate::wire::{Body, Json, QueryParams};

/// A path type that has pipelines, with its rules.
pub(crate) struct PipelinedType {
    pub ty: Type,
    pub rules: Pipelined,
}

impl PipelinedType {
    /// `ty` with its pipeline rules, or HubSpot's refusal for a type without pipelines.
    pub(crate) fn of(ty: Type) -> ApiResult<Self> {
        let rules = ty.pipelines.ok_or_else(|| {
            ApiError::validation(format!(
                "Object type {} does not have pipelines. Pipelines exist for deals, tickets and other pipelined object types",
                ty.name
            ))
        })?;
        Ok(Self { ty, rules })
    }
}

impl Subject for PipelinedType {
    async fn resolve(auth: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        Self::of(Type::resolve(auth, types).await?)
    }
}

fn stage_wire(s: &Stage) -> wire::PipelineStage {
    wire::PipelineStage {
        label: s.label.clone(),
        display_order: s.display_order,
        metadata: s.metadata.clone(),
        id: s.id.clone(),
        created_at: format_iso(s.created_at),
        updated_at: format_iso(s.updated_at),
        archived_at: s.archived_at.map(format_iso),
        write_permissions: s.write_permissions.clone(),
        archived: s.archived_at.is_some(),
    }
}

fn pipeline_wire(p: &Pipeline) -> wire::Pipeline {
    wire::Pipeline {
        label: p.label.clone(),
        display_order: p.display_order,
        id: p.id.clone(),
        stages: p.live_stages().into_iter().map(stage_wire).collect(),
        created_at: format_iso(p.created_at),
        updated_at: format_iso(p.updated_at),
        archived_at: p.archived_at.map(format_iso),
        archived: p.archived(),
    }
}

fn pipeline_not_found(id: &str) -> ApiError {
    ApiError::object_not_found(format!("Unable to find pipeline with ID {id}"))
        .with_context(ctx(&[("pipelineId", vec![id.to_owned()])]))
}

fn stage_not_found(id: &str) -> ApiError {
    ApiError::object_not_found(format!("Unable to find stage with ID {id}"))
        .with_context(ctx(&[("stageId", vec![id.to_owned()])]))
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::PipelineNotFound(id) => pipeline_not_found(&id),
        Refusal::StageNotFound(id) => stage_not_found(&id),
        Refusal::PipelineIdTaken(_) | Refusal::StageIdTaken(_) => ApiError::conflict(r.to_string()),
        Refusal::StagesInUse { stages, objects } => ApiError::validation(
            Refusal::StagesInUse {
                stages: stages.clone(),
                objects: objects.clone(),
            }
            .to_string(),
        )
        .with_context(ctx(&[
            ("stageIds", vec![bracketed(&stages)]),
            ("objectIds", vec![bracketed(&objects)]),
        ]))
        .with_sub_category("PipelineError.STAGE_ID_IN_USE"),
        other => ApiError::validation(other.to_string()),
    }
}

/// Metadata as stored: every value a string (numbers and booleans as written).
fn metadata(input: Option<&BTreeMap<String, Value>>) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in input.into_iter().flatten() {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(ApiError::validation(format!(
                    "Invalid metadata value for {k}: {other} is not a string"
                )))
            }
        };
        out.insert(k.clone(), text);
    }
    Ok(out)
}

fn stage_input(input: &wire::PipelineStageInput) -> ApiResult<pipelines::StageInput> {
    if let Some(missing) = missing_fields(&[
        ("label", input.label.is_some()),
        ("displayOrder", input.display_order.is_some()),
        ("metadata", input.metadata.is_some()),
    ]) {
        return Err(missing_required(&missing));
    }
    Ok(pipelines::StageInput {
        stage_id: input.stage_id.clone(),
        label: input.label.clone().unwrap_or_default(),
        display_order: input.display_order.unwrap_or_default(),
        metadata: metadata(input.metadata.as_ref())?,
    })
}

pub(crate) fn pipeline_input(input: &wire::PipelineInput) -> ApiResult<pipelines::PipelineInput> {
    if let Some(missing) = missing_fields(&[
        ("label", input.label.is_some()),
        ("displayOrder", input.display_order.is_some()),
        ("stages", input.stages.is_some()),
    ]) {
        return Err(missing_required(&missing));
    }
    Ok(pipelines::PipelineInput {
        pipeline_id: input.pipeline_id.clone(),
        label: input.label.clone().unwrap_or_default(),
        display_order: input.display_order.unwrap_or_default(),
        stages: input
            .stages
            .iter()
            .flatten()
            .map(stage_input)
            .collect::<ApiResult<_>>()?,
    })
}

/// `validateReferencesBeforeDelete` or its deal-stage twin.
fn validate_references(query: Option<&str>) -> ApiResult<bool> {
    let q = QueryParams::parse(query);
    Ok(q.bool("validateReferencesBeforeDelete")?
        || q.bool("validateDealStageUsagesBeforeDelete")?)
}

async fn read_all(auth: &Authorized<PipelinedType>) -> ApiResult<Vec<Pipeline>> {
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    Ok(store
        .read_pipelines(portal, auth.subject.ty.id.as_str())
        .await?)
}

async fn read_live(auth: &Authorized<PipelinedType>, id: &str) -> ApiResult<Pipeline> {
    read_all(auth)
        .await?
        .into_iter()
        .find(|p| p.id == id && !p.archived())
        .ok_or_else(|| pipeline_not_found(id))
}

pub(crate) async fn write(
    auth: &Authorized<PipelinedType>,
    change: Change,
    validate_references: bool,
) -> ApiResult<pipelines::Applied> {
    let write = PipelineWrite {
        portal: auth.principal.portal,
        object_type: auth.subject.ty.id.as_str().to_owned(),
        rules: auth.subject.rules,
        change,
        validate_references,
        now: now_millis(),
    };
    auth.state
        .store
        .write_pipeline(write)
        .await?
        .map_err(refusal)
}

fn written_stage(applied: &pipelines::Applied) -> ApiResult<wire::PipelineStage> {
    applied
        .stage_id
        .as_deref()
        .and_then(|id| applied.pipeline.stage(id))
        .map(stage_wire)
        .ok_or_else(|| ApiError::internal("a stage write returned no stage"))
}

pub(crate) async fn list(auth: Authorized<PipelinedType>) -> ApiResult<Response> {
    let all = read_all(&auth).await?;
    let results = pipelines::live(&all)
        .into_iter()
        .map(pipeline_wire)
        .collect();
    Ok(Json(StatusCode::OK, wire::NoPaging { results }).into_response())
}

pub(crate) async fn create(
    auth: Authorized<PipelinedType>,
    Body(input): Body<wire::PipelineInput>,
) -> ApiResult<Response> {
    let input = pipeline_input(&input)?;
    let applied = write(&auth, Change::Create(input), false).await?;
    Ok(Json(StatusCode::CREATED, pipeline_wire(&applied.pipeline)).into_response())
}

pub(crate) async fn read(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let p = read_live(&auth, &id).await?;
    Ok(Json(StatusCode::OK, pipeline_wire(&p)).into_response())
}

pub(crate) async fn replace(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Body(input): Body<wire::PipelineInput>,
) -> ApiResult<Response> {
    let check = validate_references(query.as_deref())?;
    let mut input = pipeline_input(&input)?;
    input.pipeline_id = None;
    let change = Change::Replace {
        pipeline_id: id,
        input,
    };
    let applied = write(&auth, change, check).await?;
    Ok(Json(StatusCode::OK, pipeline_wire(&applied.pipeline)).into_response())
}

pub(crate) async fn update(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Body(input): Body<wire::PipelinePatchInput>,
) -> ApiResult<Response> {
    validate_references(query.as_deref())?;
    if input.archived == Some(true) {
        return Err(ApiError::validation(
            "archived may only be set to false, to restore an archived pipeline. Use DELETE to archive a pipeline",
        ));
    }
    let change = Change::Update {
        pipeline_id: id,
        label: input.label,
        display_order: input.display_order,
        restore: input.archived == Some(false),
    };
    let applied = write(&auth, change, false).await?;
    Ok(Json(StatusCode::OK, pipeline_wire(&applied.pipeline)).into_response())
}

pub(crate) async fn archive(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let check = validate_references(query.as_deref())?;
    write(&auth, Change::Archive { pipeline_id: id }, check).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn audit_answer(
    auth: &Authorized<PipelinedType>,
    pipeline_id: String,
    stage_id: Option<String>,
) -> ApiResult<Response> {
    let all = read_all(auth).await?;
    let p = all
        .iter()
        .find(|p| p.id == pipeline_id)
        .ok_or_else(|| pipeline_not_found(&pipeline_id))?;
    if let Some(s) = &stage_id {
        if p.stage(s).is_none() {
            return Err(stage_not_found(s));
        }
    }
    let portal = auth.principal.portal;
    let identifier = format!("{}:{}", portal.0, stage_id.as_deref().unwrap_or(&p.id));
    let key = AuditKey {
        portal,
        object_type: auth.subject.ty.id.as_str().to_owned(),
        pipeline_id,
        stage_id: stage_id.clone(),
    };
    let entries = auth.state.store.read_audit(key).await?;
    let mut results = Vec::with_capacity(entries.len());
    for e in entries {
        let raw = match &stage_id {
            None => pipelines::pipeline_snapshot(&e.snapshot)
                .map(|p| serde_json::to_value(pipeline_wire(&p))),
            Some(_) => {
                pipelines::stage_snapshot(&e.snapshot).map(|s| serde_json::to_value(stage_wire(&s)))
            }
        };
        let raw_object = match raw {
            Some(Ok(v)) => v,
            _ => return Err(ApiError::internal("an audit snapshot does not decode")),
        };
        results.push(wire::PublicAuditInfo {
            portal_id: portal.0,
            identifier: identifier.clone(),
            action: e.action,
            timestamp: format_iso(e.timestamp),
            raw_object,
        });
    }
    Ok(Json(StatusCode::OK, wire::NoPaging { results }).into_response())
}

pub(crate) async fn audit(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    audit_answer(&auth, id, None).await
}

pub(crate) async fn stages_list(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let p = read_live(&auth, &id).await?;
    let results = p.live_stages().into_iter().map(stage_wire).collect();
    Ok(Json(StatusCode::OK, wire::NoPaging { results }).into_response())
}

pub(crate) async fn stages_create(
    auth: Authorized<PipelinedType>,
    Path((_, id)): Path<(String, String)>,
    Body(input): Body<wire::PipelineStageInput>,
) -> ApiResult<Response> {
    let input = stage_input(&input)?;
    let change = Change::CreateStage {
        pipeline_id: id,
        input,
    };
    let applied = write(&auth, change, false).await?;
    Ok(Json(StatusCode::CREATED, written_stage(&applied)?).into_response())
}

pub(crate) async fn stages_read(
    auth: Authorized<PipelinedType>,
    Path((_, id, stage)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let p = read_live(&auth, &id).await?;
    let s = p
        .live_stage(&stage)
        .ok_or_else(|| stage_not_found(&stage))?;
    Ok(Json(StatusCode::OK, stage_wire(s)).into_response())
}

pub(crate) async fn stages_replace(
    auth: Authorized<PipelinedType>,
    Path((_, id, stage)): Path<(String, String, String)>,
    Body(input): Body<wire::PipelineStageInput>,
) -> ApiResult<Response> {
    let mut input = stage_input(&input)?;
    input.stage_id = None;
    let change = Change::ReplaceStage {
        pipeline_id: id,
        stage_id: stage,
        input,
    };
    let applied = write(&auth, change, false).await?;
    Ok(Json(StatusCode::OK, written_stage(&applied)?).into_response())
}

pub(crate) async fn stages_update(
    auth: Authorized<PipelinedType>,
    Path((_, id, stage)): Path<(String, String, String)>,
    Body(input): Body<wire::PipelineStagePatchInput>,
) -> ApiResult<Response> {
    if input.metadata.is_none() {
        return Err(missing_required("metadata"));
    }
    if input.archived == Some(true) {
        return Err(ApiError::validation(
            "archived may only be set to false, to restore an archived stage. Use DELETE to archive a stage",
        ));
    }
    let change = Change::UpdateStage {
        pipeline_id: id,
        stage_id: stage,
        label: input.label,
        display_order: input.display_order,
        metadata: metadata(input.metadata.as_ref())?,
        restore: input.archived == Some(false),
    };
    let applied = write(&auth, change, false).await?;
    Ok(Json(StatusCode::OK, written_stage(&applied)?).into_response())
}

pub(crate) async fn stages_archive(
    auth: Authorized<PipelinedType>,
    Path((_, id, stage)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let check = validate_references(query.as_deref())?;
    let change = Change::ArchiveStage {
        pipeline_id: id,
        stage_id: stage,
    };
    write(&auth, change, check).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn stages_audit(
    auth: Authorized<PipelinedType>,
    Path((_, id, stage)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    audit_answer(&auth, id, Some(stage)).await
}

// ---------------------------------------------------------------------------------------
// Legacy read shapes
// ---------------------------------------------------------------------------------------

/// `GET /crm-pipelines/v1/pipelines/{objectType}`: stages in storage order, epoch-ms
/// timestamps; `includeInactive=INCLUDE_DELETED` adds archived pipelines and stages.
pub(crate) async fn v1_list(
    auth: Authorized<PipelinedType>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let q = QueryParams::parse(query.as_deref());
    let inactive = match q.one("includeInactive").unwrap_or("EXCLUDE_DELETED") {
        "EXCLUDE_DELETED" | "" => false,
        "INCLUDE_DELETED" => true,
        other => {
            return Err(ApiError::validation(format!(
                "Invalid value for query parameter includeInactive: {other}. Use EXCLUDE_DELETED or INCLUDE_DELETED"
            )))
        }
    };
    let all = read_all(&auth).await?;
    let default_id = pipelines::default_pipeline(&all).map(|p| p.id.clone());
    let mut shown: Vec<&Pipeline> = if inactive {
        all.iter().collect()
    } else {
        pipelines::live(&all)
    };
    shown.sort_by_key(|p| (p.display_order, p.label.clone(), p.id.clone()));
    let ty = auth.subject.ty;
    let results: Vec<wire::V1Pipeline> = shown
        .into_iter()
        .map(|p| wire::V1Pipeline {
            label: p.label.clone(),
            display_order: p.display_order,
            active: !p.archived(),
            stages: p
                .stages
                .iter()
                .filter(|s| inactive || s.archived_at.is_none())
                .map(|s| wire::V1Stage {
                    label: s.label.clone(),
                    display_order: s.display_order,
                    metadata: s.metadata.clone(),
                    stage_id: s.id.clone(),
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                    active: s.archived_at.is_none(),
                })
                .collect(),
            object_type: ty.upper.to_owned(),
            object_type_id: ty.id.as_str().to_owned(),
            pipeline_id: p.id.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            default: default_id.as_deref() == Some(p.id.as_str()),
        })
        .collect();
    Ok(Json(StatusCode::OK, wire::NoPaging { results }).into_response())
}

/// `GET /deals/v1/pipelines`: a bare array of the live deal pipelines (the catalogue row
/// names the type).
pub(crate) async fn deals_v1_list(auth: Authorized<Type>) -> ApiResult<Response> {
    let ty = &auth.subject;
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    let all = store.read_pipelines(portal, ty.id.as_str()).await?;
    let default_id = pipelines::default_pipeline(&all).map(|p| p.id.clone());
    let out: Vec<wire::DealV1Pipeline> = pipelines::live(&all)
        .into_iter()
        .map(|p| wire::DealV1Pipeline {
            pipeline_id: p.id.clone(),
            label: p.label.clone(),
            active: true,
            display_order: p.display_order,
            static_default: default_id.as_deref() == Some(p.id.as_str()),
            stages: p
                .live_stages()
                .into_iter()
                .map(|s| {
                    let probability = s
                        .metadata
                        .get("probability")
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(0.0);
                    wire::DealV1Stage {
                        stage_id: s.id.clone(),
                        label: s.label.clone(),
                        probability,
                        active: true,
                        display_order: s.display_order,
                        closed_won: s.metadata.get("isClosed").is_some_and(|c| c == "true")
                            && probability >= 1.0,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Json(StatusCode::OK, out).into_response())
}
