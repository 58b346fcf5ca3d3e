//! The request inspector's admin API: list and filter what was recorded, one request in
//! full, a live stream (server-sent events), clear, and recording on or off. The log itself
//! is `crate::inspector`.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::Admin;
use crate::error::{ApiError, ApiResult};
use crate::inspector::{Entry, Filter, StatusFilter, Summary};
use crate::wire::{self, QueryParams};
use crate::AppState;

/// Entries a listing answers when `limit` is not given, and the most it may ask for.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/_spoke/requests", get(list).delete(clear))
        .route("/_spoke/requests/stream", get(stream))
        .route("/_spoke/requests/{id}", get(one))
        .route("/_spoke/inspector", get(status).put(set_recording))
}

fn invalid(key: &str, value: &str, what: &str) -> ApiError {
    ApiError::validation(format!(
        "Invalid value for query parameter {key}: {value} is not {what}"
    ))
    .with_context(crate::error::ctx(&[(key, vec![value.to_owned()])]))
}

/// An instant as ISO-8601 or epoch milliseconds.
fn instant(params: &QueryParams, key: &str) -> ApiResult<Option<i64>> {
    match params.one(key) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .or_else(|| spoke_core::time::parse_iso(v))
            .map(Some)
            .ok_or_else(|| invalid(key, v, "an ISO-8601 instant or epoch milliseconds")),
    }
}

fn status_filter(v: &str) -> Option<StatusFilter> {
    let class = v
        .strip_suffix("xx")
        .or_else(|| v.strip_suffix("XX"))
        .and_then(|d| d.parse::<u16>().ok())
        .filter(|d| (1..=5).contains(d));
    match class {
        Some(d) => Some(StatusFilter::Class(d)),
        None => v
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=599).contains(s))
            .map(StatusFilter::Exact),
    }
}

fn filter(params: &QueryParams) -> ApiResult<Filter> {
    let text = |key: &str| params.one(key).filter(|v| !v.is_empty()).map(str::to_owned);
    let portal_id = match params.one("portalId") {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| invalid("portalId", v, "a portal id"))?,
        ),
    };
    let status = match params.one("status") {
        None | Some("") => None,
        Some(v) => Some(
            status_filter(v)
                .ok_or_else(|| invalid("status", v, "a status (429) or a class (4xx)"))?,
        ),
    };
    Ok(Filter {
        portal_id,
        method: text("method"),
        path: text("path"),
        status,
        since: instant(params, "since")?,
        until: instant(params, "until")?,
        correlation_id: text("correlationId"),
    })
}

#[derive(Serialize)]
struct Listing<'a> {
    results: Vec<Summary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

#[derive(Serialize)]
struct Paging {
    next: Next,
}

#[derive(Serialize)]
struct Next {
    after: String,
}

async fn list(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = QueryParams::parse(query.as_deref());
    let filter = filter(&params)?;
    let limit = match params.usize("limit")? {
        None => DEFAULT_LIMIT,
        Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(n) => {
            return Err(invalid(
                "limit",
                &n.to_string(),
                &format!("between 1 and {MAX_LIMIT}"),
            ))
        }
    };
    let after = match params.one("after") {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| invalid("after", v, "a request id"))?,
        ),
    };
    let page = state.inspector.list(&filter, limit, after);
    let paging = page
        .more
        .then(|| page.entries.last().map(|e| e.id))
        .flatten()
        .map(|id| Paging {
            next: Next {
                after: id.to_string(),
            },
        });
    let body = Listing {
        results: page.entries.iter().map(|e| e.summary()).collect(),
        paging,
    };
    Ok(wire::json_response(StatusCode::OK, &body))
}

async fn one(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let entry = raw
        .parse::<u64>()
        .ok()
        .and_then(|id| state.inspector.get(id))
        .ok_or_else(|| {
            ApiError::object_not_found(format!(
                "No recorded request with id {raw} (the log keeps the newest only)"
            ))
        })?;
    Ok(wire::json_response(StatusCode::OK, &entry.detail()))
}

async fn clear(_: Admin, State(state): State<AppState>) -> StatusCode {
    state.inspector.clear();
    StatusCode::NO_CONTENT
}

/// `data: <Summary>` for each new matching request, until the client leaves or the server
/// shuts down.
async fn stream(
    _: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let filter = filter(&QueryParams::parse(query.as_deref()))?;
    let (live, closed) = state.inspector.subscribe();
    let events = futures_util::stream::unfold(
        (live, closed, filter),
        |(mut live, mut closed, filter)| async move {
            loop {
                let event = tokio::select! {
                    // Shut down (or the log is gone): the stream ends, the connection drains.
                    _ = closed.wait_for(|c| *c) => return None,
                    r = live.recv() => match r {
                        Ok(e) if filter.matches(&e) => event(&e),
                        Ok(_) => continue,
                        // A subscriber too slow for the traffic is told what it missed.
                        Err(RecvError::Lagged(n)) => {
                            Event::default().comment(format!("{n} requests skipped"))
                        }
                        Err(RecvError::Closed) => return None,
                    },
                };
                return Some((Ok::<_, Infallible>(event), (live, closed, filter)));
            }
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

fn event(e: &Arc<Entry>) -> Event {
    let data = serde_json::to_string(&e.summary()).unwrap_or_default();
    Event::default().id(e.id.to_string()).data(data)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    recording: bool,
    capacity: usize,
    max_bytes: usize,
    max_body_bytes: usize,
    stored: usize,
    bytes: usize,
}

fn status_response(state: &AppState) -> Response {
    let s = state.inspector.status();
    let body = StatusOut {
        recording: s.recording,
        capacity: s.capacity,
        max_bytes: s.max_bytes,
        max_body_bytes: state.inspector.config().body_cap,
        stored: s.stored,
        bytes: s.bytes,
    };
    wire::json_response(StatusCode::OK, &body)
}

async fn status(_: Admin, State(state): State<AppState>) -> Response {
    status_response(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordingRequest {
    recording: bool,
}

async fn set_recording(
    _: Admin,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Response> {
    let RecordingRequest { recording } = wire::parse_body(&body)?;
    state.inspector.set_recording(recording);
    Ok(status_response(&state))
}
