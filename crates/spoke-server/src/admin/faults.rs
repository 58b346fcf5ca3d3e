//! `/_spoke/faults`: the fault rules (`crate::faults` applies them). Each write reloads
//! this process's copy of the rules, so the next request meets it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use spoke_core::time::{format_iso, now_millis};
use spoke_store::emulator::{FaultAction, FaultRule, FaultSpec};

use super::{Admin, Results};
use crate::error::{ctx, ApiError, ApiResult};
use crate::{wire, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/_spoke/faults",
            get(list_rules).post(create_rule).delete(clear_rules),
        )
        .route("/_spoke/faults/{id}", get(get_rule).delete(delete_rule))
}

/// The longest delay a latency rule may ask for.
const MAX_LATENCY_MS: u64 = 600_000;

/// A rule as the admin API shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuleOut {
    id: String,
    portal_id: Option<i64>,
    method: Option<String>,
    path: Option<String>,
    probability: f64,
    count: Option<i64>,
    remaining: Option<i64>,
    hits: i64,
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    body: Option<serde_json::Value>,
    created_at: String,
}

impl From<&FaultRule> for RuleOut {
    fn from(r: &FaultRule) -> Self {
        let (status, latency_ms, body) = match &r.spec.action {
            FaultAction::Error { status, body } => (Some(*status), None, body.clone()),
            FaultAction::Latency { latency_ms } => (None, Some(*latency_ms), None),
            FaultAction::Disconnect => (None, None, None),
        };
        RuleOut {
            id: r.id.to_string(),
            portal_id: r.spec.portal_id,
            method: r.spec.method.clone(),
            path: r.spec.path.clone(),
            probability: r.spec.probability,
            count: r.count,
            remaining: r.remaining,
            hits: r.hits,
            action: r.spec.action.name(),
            status,
            latency_ms,
            body,
            created_at: format_iso(r.created_at),
        }
    }
}

/// A rule as a client writes it. The fields a rule shows but a client does not set
/// (`id`, `hits`, `remaining`, `createdAt`) are accepted and ignored, so a rule read back
/// can be posted again.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleIn {
    #[serde(default)]
    portal_id: Option<i64>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    probability: Option<f64>,
    #[serde(default)]
    count: Option<i64>,
    action: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    body: Option<serde_json::Value>,
    #[serde(default, rename = "id")]
    _id: Option<serde_json::Value>,
    #[serde(default, rename = "hits")]
    _hits: Option<serde_json::Value>,
    #[serde(default, rename = "remaining")]
    _remaining: Option<serde_json::Value>,
    #[serde(default, rename = "createdAt")]
    _created_at: Option<serde_json::Value>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(message).with_context(ctx(&[("field", vec![field.to_owned()])]))
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

impl RuleIn {
    /// The rule's spec and count, or the first thing wrong with it.
    fn validate(self) -> ApiResult<(FaultSpec, Option<i64>)> {
        let probability = self.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(invalid(
                "probability",
                format!("probability must be a number from 0 to 1, not {probability}"),
            ));
        }
        if let Some(c) = self.count.filter(|c| *c < 0) {
            return Err(invalid(
                "count",
                format!("count must be 0 or more (or null for no limit), not {c}"),
            ));
        }
        let method = match self.method {
            None => None,
            Some(m) => {
                let upper = m.to_ascii_uppercase();
                if !METHODS.contains(&upper.as_str()) {
                    return Err(invalid(
                        "method",
                        format!(
                            "method must be one of {} (or null for any), not {m:?}",
                            METHODS.join(", ")
                        ),
                    ));
                }
                Some(upper)
            }
        };
        if self.path.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                "path",
                "path must be a non-empty glob such as /crm/v3/objects/contacts* (or null for any)",
            ));
        }
        let stray = |field: &str, action: &str| {
            invalid(field, format!("{field} does not apply to a {action} rule"))
        };
        let action = match self.action.as_str() {
            "error" => {
                let Some(status) = self.status else {
                    return Err(invalid(
                        "status",
                        "an error rule needs a status from 400 to 599",
                    ));
                };
                if !(400..=599).contains(&status) {
                    return Err(invalid(
                        "status",
                        format!("status must be from 400 to 599, not {status}"),
                    ));
                }
                if self.latency_ms.is_some() {
                    return Err(stray("latencyMs", "error"));
                }
                let body = match self.body {
                    None | Some(serde_json::Value::Null) => None,
                    Some(b @ serde_json::Value::Object(_)) => Some(b),
                    Some(_) => return Err(invalid("body", "body must be a JSON object or null")),
                };
                FaultAction::Error { status, body }
            }
            "latency" => {
                let Some(ms) = self.latency_ms else {
                    return Err(invalid("latencyMs", "a latency rule needs latencyMs"));
                };
                if ms > MAX_LATENCY_MS {
                    return Err(invalid(
                        "latencyMs",
                        format!("latencyMs must be at most {MAX_LATENCY_MS}, not {ms}"),
                    ));
                }
                if self.status.is_some() {
                    return Err(stray("status", "latency"));
                }
                if self.body.as_ref().is_some_and(|b| !b.is_null()) {
                    return Err(stray("body", "latency"));
                }
                FaultAction::Latency { latency_ms: ms }
            }
            "disconnect" => {
                for (field, set) in [
                    ("status", self.status.is_some()),
                    ("latencyMs", self.latency_ms.is_some()),
                    ("body", self.body.as_ref().is_some_and(|b| !b.is_null())),
                ] {
                    if set {
                        return Err(stray(field, "disconnect"));
                    }
                }
                FaultAction::Disconnect
            }
            other => {
                return Err(invalid(
                    "action",
                    format!("action must be error, latency or disconnect, not {other:?}"),
                ))
            }
        };
        let spec = FaultSpec {
            portal_id: self.portal_id,
            method,
            path: self.path,
            probability,
            action,
        };
        Ok((spec, self.count))
    }
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::object_not_found(format!("No fault rule with id {id}"))
        .with_context(ctx(&[("id", vec![id.to_owned()])]))
}

async fn find(state: &AppState, raw: &str) -> ApiResult<FaultRule> {
    let id: i64 = raw.parse().map_err(|_| rule_not_found(raw))?;
    state
        .store
        .list_fault_rules()
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| rule_not_found(raw))
}

async fn list_rules(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let rules = state.store.list_fault_rules().await?;
    let results: Vec<RuleOut> = rules.iter().map(RuleOut::from).collect();
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

async fn create_rule(_: Admin, State(state): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let input: RuleIn = wire::parse_body(&body)?;
    let (spec, count) = input.validate()?;
    let rule = state
        .store
        .insert_fault_rule(&spec, count, now_millis())
        .await?;
    state.emulator.reload(state.store.as_ref()).await?;
    Ok(wire::json_response(
        StatusCode::CREATED,
        &RuleOut::from(&rule),
    ))
}

async fn get_rule(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let rule = find(&state, &raw).await?;
    Ok(wire::json_response(StatusCode::OK, &RuleOut::from(&rule)))
}

async fn delete_rule(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let id: i64 = raw.parse().map_err(|_| rule_not_found(&raw))?;
    let deleted = state.store.delete_fault_rule(id).await?;
    state.emulator.reload(state.store.as_ref()).await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(rule_not_found(&raw))
    }
}

async fn clear_rules(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    state.store.clear_fault_rules().await?;
    state.emulator.reload(state.store.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
