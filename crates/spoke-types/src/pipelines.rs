//! Pipelines v3 (`pipelines-v3.json`) and the legacy read shapes of the same data
//! (`/crm-pipelines/v1`, `/deals/v1/pipelines`), fields in HubSpot's served order
//! (hubspot-behavior-platform.md §23.2, §23.8, §23.9).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Spec `PipelineStage`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStage {
    pub label: String,
    pub display_order: i32,
    pub metadata: BTreeMap<String, String>,
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    pub write_permissions: String,
    pub archived: bool,
}

/// Spec `Pipeline`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Pipeline {
    pub label: String,
    pub display_order: i32,
    pub id: String,
    pub stages: Vec<PipelineStage>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    pub archived: bool,
}

/// Spec `CollectionResponse…NoPaging`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NoPaging<T> {
    pub results: Vec<T>,
}

/// Spec `PublicAuditInfo`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicAuditInfo {
    pub portal_id: i64,
    pub identifier: String,
    pub action: String,
    pub timestamp: String,
    pub raw_object: Value,
}

/// Spec `PipelineStageInput` (also the replace input), every field optional here so that
/// a missing one gets HubSpot's error rather than a parse failure. Metadata values may be
/// any JSON scalar: clients send `"probability": 0.5`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStageInput {
    pub stage_id: Option<String>,
    pub label: Option<String>,
    pub display_order: Option<i32>,
    pub metadata: Option<BTreeMap<String, Value>>,
}

/// Spec `PipelineInput` and `PipelineReplaceInput`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PipelineInput {
    pub pipeline_id: Option<String>,
    pub label: Option<String>,
    pub display_order: Option<i32>,
    pub stages: Option<Vec<PipelineStageInput>>,
}

/// Spec `PipelinePatchInput`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PipelinePatchInput {
    pub label: Option<String>,
    pub display_order: Option<i32>,
    pub archived: Option<bool>,
}

/// Spec `PipelineStagePatchInput`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PipelineStagePatchInput {
    pub label: Option<String>,
    pub display_order: Option<i32>,
    pub archived: Option<bool>,
    pub metadata: Option<BTreeMap<String, Value>>,
}

/// A stage of `GET /crm-pipelines/v1/pipelines/{objectType}`; timestamps are epoch ms.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct V1Stage {
    pub label: String,
    pub display_order: i32,
    pub metadata: BTreeMap<String, String>,
    pub stage_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub active: bool,
}

/// A pipeline of `GET /crm-pipelines/v1/pipelines/{objectType}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct V1Pipeline {
    pub label: String,
    pub display_order: i32,
    pub active: bool,
    pub stages: Vec<V1Stage>,
    pub object_type: String,
    pub object_type_id: String,
    pub pipeline_id: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub default: bool,
}

/// A stage of `GET /deals/v1/pipelines`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DealV1Stage {
    pub stage_id: String,
    pub label: String,
    pub probability: f64,
    pub active: bool,
    pub display_order: i32,
    pub closed_won: bool,
}

/// An item of `GET /deals/v1/pipelines` (a bare array of them).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DealV1Pipeline {
    pub pipeline_id: String,
    pub label: String,
    pub active: bool,
    pub display_order: i32,
    pub static_default: bool,
    pub stages: Vec<DealV1Stage>,
}
