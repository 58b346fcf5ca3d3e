//! `/_spoke/portals/{portalId}/clock`: a portal's clock (`crate::clock`). Each write
//! reloads this process's copy of the clocks, so the portal's next request sees it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use spoke_core::time::{format_iso, now_millis, parse_iso, Millis};
use spoke_core::PortalId;
use spoke_store::emulator::Clock;

use super::{portal_id, portal_not_found, Admin};
use crate::error::{ctx, ApiError, ApiResult};
use crate::{wire, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/_spoke/portals/{portalId}/clock",
            get(read_clock).put(set_clock),
        )
        .route("/_spoke/portals/{portalId}/clock/advance", post(advance))
}

/// Instants a clock may be set to or advanced into: years 1970 to 9999, what HubSpot's
/// ISO dates can carry.
const LATEST: Millis = 253_402_300_799_999;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClockOut {
    portal_id: i64,
    now: String,
    now_ms: Millis,
    mode: &'static str,
    offset_ms: i64,
}

fn out(portal: PortalId, clock: Clock) -> ClockOut {
    let now = clock.now(now_millis());
    ClockOut {
        portal_id: portal.0,
        now: format_iso(now),
        now_ms: now,
        mode: clock.mode(),
        offset_ms: clock.offset_ms(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClockIn {
    mode: String,
    #[serde(default)]
    at: Option<serde_json::Value>,
    #[serde(default)]
    offset_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceIn {
    ms: i64,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(message).with_context(ctx(&[("field", vec![field.to_owned()])]))
}

/// `at` as an ISO-8601 instant or epoch milliseconds (a number or a string of digits).
fn instant(at: &serde_json::Value) -> ApiResult<Millis> {
    let ms = match at {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| parse_iso(s)),
        _ => None,
    };
    ms.filter(|ms| (0..=LATEST).contains(ms)).ok_or_else(|| {
        invalid(
            "at",
            format!(
                "at must be an ISO-8601 instant or epoch milliseconds from 1970 to 9999, not {at}"
            ),
        )
    })
}

impl ClockIn {
    fn clock(self) -> ApiResult<Clock> {
        let stray = |field: &str| {
            invalid(
                field,
                format!("{field} does not apply to mode {:?}", self.mode),
            )
        };
        match self.mode.as_str() {
            "real" => {
                if self.at.is_some() {
                    return Err(stray("at"));
                }
                if self.offset_ms.is_some() {
                    return Err(stray("offsetMs"));
                }
                Ok(Clock::Real)
            }
            "frozen" => {
                if self.offset_ms.is_some() {
                    return Err(stray("offsetMs"));
                }
                let at = self
                    .at
                    .as_ref()
                    .ok_or_else(|| invalid("at", "a frozen clock needs at"))?;
                Ok(Clock::Frozen(instant(at)?))
            }
            "offset" => {
                if self.at.is_some() {
                    return Err(stray("at"));
                }
                let ms = self
                    .offset_ms
                    .ok_or_else(|| invalid("offsetMs", "an offset clock needs offsetMs"))?;
                // The clock must still read a time HubSpot can write.
                if !(0..=LATEST).contains(&now_millis().saturating_add(ms)) {
                    return Err(invalid(
                        "offsetMs",
                        format!("offsetMs {ms} leaves years 1970 to 9999"),
                    ));
                }
                Ok(Clock::Offset(ms))
            }
            other => Err(invalid(
                "mode",
                format!("mode must be real, frozen or offset, not {other:?}"),
            )),
        }
    }
}

async fn read_clock(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    let clock = state
        .store
        .read_clock(portal)
        .await?
        .ok_or_else(|| portal_not_found(&raw))?;
    Ok(wire::json_response(StatusCode::OK, &out(portal, clock)))
}

async fn set_clock(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    // The path before the body (ARCHITECTURE.md invariant 4).
    let portal = portal_id(&raw)?;
    let input: ClockIn = wire::parse_body(&body)?;
    let clock = input.clock()?;
    let clock = state
        .store
        .set_clock(portal, clock)
        .await?
        .ok_or_else(|| portal_not_found(&raw))?;
    state.emulator.reload(state.store.as_ref()).await?;
    Ok(wire::json_response(StatusCode::OK, &out(portal, clock)))
}

async fn advance(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let portal = portal_id(&raw)?;
    let AdvanceIn { ms } = wire::parse_body(&body)?;
    if !(0..=LATEST).contains(&ms) {
        return Err(invalid("ms", format!("ms must be 0 or more, not {ms}")));
    }
    let clock = state
        .store
        .advance_clock(portal, ms)
        .await?
        .ok_or_else(|| portal_not_found(&raw))?;
    state.emulator.reload(state.store.as_ref()).await?;
    Ok(wire::json_response(StatusCode::OK, &out(portal, clock)))
}
