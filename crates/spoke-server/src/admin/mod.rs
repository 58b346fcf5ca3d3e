//! spoke's own API beside HubSpot's, under `/_spoke/`: portals on demand, reset and named
//! snapshots (the emulator controls of issue 16). Not HubSpot's surface, so not catalogue
//! rows: the routes are [`ROUTES`], documented by `openapi.json` (served at
//! `/_spoke/openapi.json`; a test holds every route to it).
//!
//! Every route but the document needs the database's admin token (`Authorization: Bearer`),
//! checked against its stored hash ([`spoke_store::admin`]); HubSpot tokens are refused
//! here and the admin token is no HubSpot token, so each API is closed to the other's
//! credentials. Errors are [`ApiError`]s in HubSpot's envelope, like every other answer.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use spoke_core::time::{format_iso, now_millis};
use spoke_core::PortalId;
use spoke_store::admin::{admin_matches, SnapshotInfo, SnapshotRefusal, MAX_SNAPSHOT_NAME};
use spoke_store::tokens;

use crate::error::{ApiError, ApiResult};
use crate::wire;
use crate::AppState;

mod webhooks;

/// The admin API's OpenAPI document, written by hand.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every admin route, (method, path as axum and the document spell it).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/_spoke/openapi.json"),
    ("GET", "/_spoke/portals"),
    ("POST", "/_spoke/portals"),
    ("DELETE", "/_spoke/portals/{portalId}"),
    ("POST", "/_spoke/portals/{portalId}/reset"),
    ("GET", "/_spoke/portals/{portalId}/snapshots"),
    ("POST", "/_spoke/portals/{portalId}/snapshots"),
    (
        "POST",
        "/_spoke/portals/{portalId}/snapshots/{name}/restore",
    ),
    ("DELETE", "/_spoke/portals/{portalId}/snapshots/{name}"),
    // Webhooks (`webhooks.rs`).
    ("GET", "/_spoke/webhooks/deliveries"),
    ("GET", "/_spoke/webhooks/pending"),
    ("POST", "/_spoke/webhooks/flush"),
    ("POST", "/_spoke/portals/{portalId}/apps/{appId}/install"),
    ("DELETE", "/_spoke/portals/{portalId}/apps/{appId}/install"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_spoke/openapi.json", get(openapi))
        .route("/_spoke/portals", get(list_portals).post(create_portal))
        .route("/_spoke/portals/{portalId}", delete(delete_portal))
        .route("/_spoke/portals/{portalId}/reset", post(reset_portal))
        .route(
            "/_spoke/portals/{portalId}/snapshots",
            get(list_snapshots).post(create_snapshot),
        )
        .route(
            "/_spoke/portals/{portalId}/snapshots/{name}/restore",
            post(restore_snapshot),
        )
        .route(
            "/_spoke/portals/{portalId}/snapshots/{name}",
            delete(delete_snapshot),
        )
        .merge(webhooks::router())
}

/// A caller holding the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let secret = crate::auth::bearer(parts)?;
        // Read on every call: `spoke admin-token` replaces the hash while servers run.
        match state.store.admin_token_hash().await? {
            Some(stored) if admin_matches(secret, &stored) => Ok(Admin),
            _ => Err(ApiError::unauthenticated()),
        }
    }
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewPortal {
    portal_id: i64,
    token: String,
    base_url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PortalEntry {
    portal_id: i64,
}

#[derive(Serialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut {
    name: String,
    created_at: String,
    records: u64,
}

impl From<SnapshotInfo> for SnapshotOut {
    fn from(s: SnapshotInfo) -> Self {
        SnapshotOut {
            name: s.name,
            created_at: format_iso(s.created_at),
            records: s.records,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotRequest {
    name: String,
}

fn portal_not_found(id: &str) -> ApiError {
    ApiError::object_not_found(format!("No portal with id {id}"))
        .with_context(crate::error::ctx(&[("portalId", vec![id.to_owned()])]))
}

/// A path's portal id; one that is not a number names no portal.
fn portal_id(raw: &str) -> ApiResult<PortalId> {
    raw.parse::<i64>()
        .map(PortalId)
        .map_err(|_| portal_not_found(raw))
}

fn snapshot_not_found(portal: PortalId, name: &str) -> ApiError {
    ApiError::object_not_found(format!(
        "Portal {} has no snapshot named {name:?}",
        portal.0
    ))
}

async fn list_portals(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let portals = state.store.list_portals().await?;
    let results = portals
        .into_iter()
        .map(|p| PortalEntry { portal_id: p.0 })
        .collect();
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

async fn create_portal(
    _: Admin,
    State(state): State<AppState>,
    wire::Origin(origin): wire::Origin,
) -> ApiResult<Response> {
    let now = now_millis();
    let portal = state.store.create_portal(now).await?;
    let token = tokens::issue(
        state.store.as_ref(),
        portal,
        &spoke_core::scope::all_scopes(),
        now,
    )
    .await?;
    let body = NewPortal {
        portal_id: portal.0,
        token,
        base_url: origin,
    };
    Ok(wire::json_response(StatusCode::CREATED, &body))
}

async fn delete_portal(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    if state.store.delete_portal(portal).await? {
        state.custom_types.forget(portal);
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(portal_not_found(&raw))
    }
}

async fn reset_portal(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    if state.store.reset_portal(portal, now_millis()).await? {
        state.custom_types.forget(portal);
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(portal_not_found(&raw))
    }
}

async fn list_snapshots(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    let list = state
        .store
        .list_snapshots(portal)
        .await?
        .ok_or_else(|| portal_not_found(&raw))?;
    let results: Vec<SnapshotOut> = list.into_iter().map(Into::into).collect();
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

async fn create_snapshot(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    // The path before the body (ARCHITECTURE.md invariant 4).
    let portal = portal_id(&raw)?;
    let SnapshotRequest { name } = wire::parse_body(&body)?;
    // A name must be a path segment a URL can carry: clients normalize `.` and `..` away.
    if name.is_empty()
        || name.chars().count() > MAX_SNAPSHOT_NAME
        || name.contains('/')
        || name == "."
        || name == ".."
    {
        return Err(ApiError::validation(format!(
            "A snapshot name is 1 to {MAX_SNAPSHOT_NAME} characters without '/', and not '.' or '..'"
        ))
        .with_context(crate::error::ctx(&[("name", vec![name])])));
    }
    match state
        .store
        .create_snapshot(portal, &name, now_millis())
        .await?
    {
        Ok(info) => Ok(wire::json_response(
            StatusCode::CREATED,
            &SnapshotOut::from(info),
        )),
        Err(SnapshotRefusal::NoSuchPortal) => Err(portal_not_found(&raw)),
        Err(SnapshotRefusal::Exists) => Err(ApiError::conflict(format!(
            "Portal {} already has a snapshot named {name:?}",
            portal.0
        ))),
    }
}

async fn restore_snapshot(
    _: Admin,
    State(state): State<AppState>,
    Path((raw, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    if state.store.restore_snapshot(portal, &name).await? {
        state.custom_types.forget(portal);
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(snapshot_not_found(portal, &name))
    }
}

async fn delete_snapshot(
    _: Admin,
    State(state): State<AppState>,
    Path((raw, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    if state.store.delete_snapshot(portal, &name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(snapshot_not_found(portal, &name))
    }
}
