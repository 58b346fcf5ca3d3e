//! spoke's own API beside HubSpot's, under `/_spoke/`: portals on demand, reset and named
//! snapshots, fault rules ([`faults`]) and portal clocks ([`clock`]) (the emulator controls
//! of issue 16). Not HubSpot's surface, so not catalogue
//! rows: the routes are [`ROUTES`], documented by `openapi.json` (served at
//! `/_spoke/openapi.json`; a test holds every route to it).
//!
//! Every route but the document (and the UI's sign-in and sign-out) needs the database's
//! admin token (`Authorization: Bearer`, or the web UI's cookie, [`ui`]), checked against its
//! stored hash ([`spoke_store::admin`]); HubSpot tokens are refused
//! here and the admin token is no HubSpot token, so each API is closed to the other's
//! credentials. Errors are [`ApiError`]s in HubSpot's envelope, like every other answer.

mod inspector;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::AUTHORIZATION;
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

pub mod clock;
pub mod faults;
pub mod seed;

use crate::error::{ApiError, ApiResult};
use crate::wire;
use crate::AppState;

mod browse;
pub mod ui;
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
    ("POST", "/_spoke/portals/{portalId}/seed"),
    ("GET", "/_spoke/portals/{portalId}/types"),
    ("GET", "/_spoke/portals/{portalId}/objects/{objectType}"),
    (
        "GET",
        "/_spoke/portals/{portalId}/objects/{objectType}/{objectId}",
    ),
    ("GET", "/_spoke/ui"),
    ("POST", "/_spoke/ui/login"),
    ("POST", "/_spoke/ui/logout"),
    ("GET", "/_spoke/ui/{asset}"),
    // The request inspector (`inspector.rs`).
    ("GET", "/_spoke/requests"),
    ("DELETE", "/_spoke/requests"),
    ("GET", "/_spoke/requests/stream"),
    ("GET", "/_spoke/requests/{id}"),
    ("GET", "/_spoke/inspector"),
    ("PUT", "/_spoke/inspector"),
    // Fault rules (`faults`).
    ("GET", "/_spoke/faults"),
    ("POST", "/_spoke/faults"),
    ("DELETE", "/_spoke/faults"),
    ("GET", "/_spoke/faults/{id}"),
    ("DELETE", "/_spoke/faults/{id}"),
    // Portal clocks (`clock`).
    ("GET", "/_spoke/portals/{portalId}/clock"),
    ("PUT", "/_spoke/portals/{portalId}/clock"),
    ("POST", "/_spoke/portals/{portalId}/clock/advance"),
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
        .merge(browse::router())
        .merge(ui::router())
        .merge(inspector::router())
        .merge(faults::router())
        .merge(clock::router())
        .route("/_spoke/portals/{portalId}/seed", post(seed_portal))
        .merge(webhooks::router())
}

/// After a portal's rows were replaced wholesale (reset, restore, seed, delete): this
/// process forgets what it remembered of them, its custom types and its clock (a reset makes
/// the clock real again; a restore brings back the snapshot's). The change is committed by
/// then, so a failed read is logged, not answered: the copy is read again within a second.
pub(crate) async fn forget_portal(state: &AppState, portal: PortalId) {
    state.custom_types.forget(portal);
    if let Err(e) = state.emulator.reload(state.store.as_ref()).await {
        tracing::warn!(error = %e, "reading fault rules and clocks after a portal change");
    }
}

/// A caller holding the admin token: as `Authorization: Bearer`, or as the web UI's cookie
/// ([`ui::COOKIE`]), which a state-changing request must back with the [`ui::CSRF_HEADER`]
/// header (a cross-site form cannot set one; SameSite=Strict is the first guard).
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        // A Bearer header wins over the cookie, so a script's wrong token is never rescued
        // by a browser session.
        let (secret, from_cookie) = if parts.headers.contains_key(AUTHORIZATION) {
            (crate::auth::bearer(parts)?.to_owned(), false)
        } else {
            let secret = ui::cookie_secret(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
            (secret, true)
        };
        if !is_admin_secret(state, &secret).await? {
            return Err(ApiError::unauthenticated());
        }
        if from_cookie && !parts.method.is_safe() && !ui::has_csrf_header(&parts.headers) {
            return Err(ui::csrf_refusal());
        }
        Ok(Admin)
    }
}

/// Whether `secret` is the database's admin token. Read on every call: `spoke admin-token`
/// replaces the hash while servers run.
pub(crate) async fn is_admin_secret(state: &AppState, secret: &str) -> ApiResult<bool> {
    Ok(matches!(
        state.store.admin_token_hash().await?,
        Some(stored) if admin_matches(secret, &stored)
    ))
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
    /// With a seed: its refs and counts (`seed::Seeded`).
    #[serde(skip_serializing_if = "Option::is_none")]
    refs: Option<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<seed::Counts>,
}

/// `POST /_spoke/portals`'s optional body.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PortalRequest {
    seed: Option<serde_json::Value>,
}

/// `POST …/reset`'s optional body: what to reset to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    to: Option<String>,
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
    body: Bytes,
) -> ApiResult<Response> {
    // No body (or an empty one) is a plain portal, as before seeds.
    let request: PortalRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PortalRequest::default()
    } else {
        wire::parse_body(&body)?
    };
    let now = now_millis();
    let portal = state.store.create_portal(now).await?;
    let seeded = match request.seed.filter(|s| !s.is_null()) {
        None => None,
        Some(fixture) => {
            let seeded = seed::seed(&state, portal, &fixture, seed::Mode::Fresh)
                .await?
                .ok_or_else(|| ApiError::internal("a portal just created was not found"))?;
            Some(seeded)
        }
    };
    let token = tokens::issue(
        state.store.as_ref(),
        portal,
        &spoke_core::scope::all_scopes(),
        now,
    )
    .await?;
    let (refs, counts) = match seeded {
        Some(s) => (Some(s.refs), Some(s.counts)),
        None => (None, None),
    };
    let body = NewPortal {
        portal_id: portal.0,
        token,
        base_url: origin,
        refs,
        counts,
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
        forget_portal(&state, portal).await;
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(portal_not_found(&raw))
    }
}

async fn reset_portal(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    let to_seed = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        let ResetRequest { to } = wire::parse_body(&body)?;
        let to = to.unwrap_or_default();
        match to.as_str() {
            "seed" => true,
            "empty" | "" => false,
            _ => {
                return Err(ApiError::validation(format!(
                    "Cannot reset to {to:?}: use \"seed\" or \"empty\""
                ))
                .with_context(crate::error::ctx(&[("to", vec![to])])))
            }
        }
    };
    if to_seed {
        if state
            .store
            .restore_snapshot(portal, seed::SEED_SNAPSHOT)
            .await?
        {
            forget_portal(&state, portal).await;
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        return match state.store.list_snapshots(portal).await? {
            None => Err(portal_not_found(&raw)),
            Some(_) => Err(ApiError::object_not_found(format!(
                "Portal {} has no seed: seed it with POST /_spoke/portals/{}/seed",
                portal.0, portal.0
            ))),
        };
    }
    if state.store.reset_portal(portal, now_millis()).await? {
        forget_portal(&state, portal).await;
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
    let results: Vec<SnapshotOut> = list
        .into_iter()
        .filter(|s| !seed::reserved_snapshot(&s.name))
        .map(Into::into)
        .collect();
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
    // spoke's own snapshots (the seed) are reached through their own operations.
    if !seed::reserved_snapshot(&name) && state.store.restore_snapshot(portal, &name).await? {
        forget_portal(&state, portal).await;
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
    if !seed::reserved_snapshot(&name) && state.store.delete_snapshot(portal, &name).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(snapshot_not_found(portal, &name))
    }
}

async fn seed_portal(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    let fixture: serde_json::Value = wire::parse_body(&body)?;
    match seed::seed(&state, portal, &fixture, seed::Mode::Add).await? {
        Some(seeded) => Ok(wire::json_response(StatusCode::OK, &seeded)),
        None => Err(portal_not_found(&raw)),
    }
}
