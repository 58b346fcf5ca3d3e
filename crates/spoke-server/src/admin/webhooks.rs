//! The admin API's webhook controls (issue 15, "for tests"): the delivery attempts with
//! their answers, the events still pending, a flush that runs every pending delivery now,
//! and installing an app in a portal without the OAuth dance.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::value::RawValue;
use spoke_core::time::format_iso;
use spoke_core::PortalId;
use spoke_store::oauth::AppLookup;
use spoke_store::webhooks::AttemptRecord;

use super::{portal_id, portal_not_found, Admin};
use crate::error::{ApiError, ApiResult};
use crate::wire::{self, QueryParams};
use crate::AppState;

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_spoke/webhooks/deliveries", get(deliveries))
        .route("/_spoke/webhooks/pending", get(pending))
        .route("/_spoke/webhooks/flush", post(flush))
        .route(
            "/_spoke/portals/{portalId}/apps/{appId}/install",
            post(install).delete(uninstall),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    id: String,
    app_id: i64,
    portal_id: i64,
    target_url: String,
    attempt_number: i32,
    event_ids: Vec<i64>,
    event_count: usize,
    status: Option<u16>,
    error: Option<String>,
    started_at: String,
    duration_ms: i64,
    outcome: &'static str,
}

impl From<AttemptRecord> for Delivery {
    fn from(a: AttemptRecord) -> Self {
        Self {
            id: a.id.to_string(),
            app_id: a.app_id,
            portal_id: a.portal.0,
            target_url: a.target_url,
            attempt_number: a.attempt_number,
            event_count: a.event_ids.len(),
            event_ids: a.event_ids,
            status: a.status,
            error: a.error,
            started_at: format_iso(a.started_at),
            duration_ms: a.duration_ms,
            outcome: a.outcome.as_str(),
        }
    }
}

#[derive(Serialize)]
struct After {
    after: String,
}

#[derive(Serialize)]
struct Next {
    next: After,
}

#[derive(Serialize)]
struct Page<T> {
    results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Next>,
}

fn int_param(q: &QueryParams, key: &str) -> ApiResult<Option<i64>> {
    match q.one(key).map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::validation(format!(
                "Invalid value for query parameter {key}: {v} is not a valid integer"
            ))
        }),
    }
}

fn limit(q: &QueryParams) -> ApiResult<usize> {
    match q.usize("limit")? {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {n}"
        ))),
    }
}

/// `GET /_spoke/webhooks/deliveries?appId=&portalId=&limit=&after=`: attempts, newest first.
async fn deliveries(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = QueryParams::parse(raw.as_deref());
    let app = int_param(&q, "appId")?;
    let portal = int_param(&q, "portalId")?.map(PortalId);
    let after = int_param(&q, "after")?;
    let limit = limit(&q)?;
    let list = state
        .store
        .list_attempts(app, portal, after, limit + 1)
        .await?;
    let more = list.len() > limit;
    let results: Vec<Delivery> = list.into_iter().take(limit).map(Delivery::from).collect();
    let paging = match (more, results.last()) {
        (true, Some(last)) => Some(Next {
            next: After {
                after: last.id.clone(),
            },
        }),
        _ => None,
    };
    Ok(wire::json_response(
        StatusCode::OK,
        &Page { results, paging },
    ))
}

#[derive(Serialize)]
struct Pending {
    pending: u64,
    results: Vec<Box<RawValue>>,
}

/// `GET /_spoke/webhooks/pending?appId=`: how many events wait, and the oldest of them as
/// they will be delivered.
async fn pending(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q = QueryParams::parse(raw.as_deref());
    let app = int_param(&q, "appId")?;
    let limit = limit(&q)?;
    let (count, events) = state.store.pending_events(app, limit).await?;
    let mut results = Vec::with_capacity(events.len());
    for e in &events {
        let mut text = String::new();
        crate::webhooks::write_event(&mut text, e);
        let value = RawValue::from_string(text)
            .map_err(|err| ApiError::internal(format!("event {}: {err}", e.event_id)))?;
        results.push(value);
    }
    Ok(wire::json_response(
        StatusCode::OK,
        &Pending {
            pending: count,
            results,
        },
    ))
}

/// `POST /_spoke/webhooks/flush`: every pending delivery now, answered when done.
async fn flush(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let report = state.webhooks.flush(state.store.clone()).await?;
    Ok(wire::json_response(StatusCode::OK, &report))
}

async fn app_id(state: &AppState, raw: &str) -> ApiResult<i64> {
    let not_found = || {
        ApiError::object_not_found(format!("No app with id {raw}"))
            .with_context(crate::error::ctx(&[("appId", vec![raw.to_owned()])]))
    };
    let id: i64 = raw.trim().parse().map_err(|_| not_found())?;
    match state.store.find_app(AppLookup::Id(id)).await? {
        Some(app) => Ok(app.id),
        None => Err(not_found()),
    }
}

async fn install(
    _: Admin,
    State(state): State<AppState>,
    Path((portal_raw, app_raw)): Path<(String, String)>,
) -> ApiResult<Response> {
    let portal = portal_id(&portal_raw)?;
    if !state.store.list_portals().await?.contains(&portal) {
        return Err(portal_not_found(&portal_raw));
    }
    let app = app_id(&state, &app_raw).await?;
    state
        .store
        .install_app(app, portal, state.now(portal))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn uninstall(
    _: Admin,
    State(state): State<AppState>,
    Path((portal_raw, app_raw)): Path<(String, String)>,
) -> ApiResult<Response> {
    let portal = portal_id(&portal_raw)?;
    let app = app_id(&state, &app_raw).await?;
    if state
        .store
        .uninstall_app(app, portal, state.now(portal))
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::object_not_found(format!(
            "App {app} is not installed in portal {}",
            portal.0
        )))
    }
}
