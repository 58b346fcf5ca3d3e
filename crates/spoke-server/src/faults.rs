//! Fault injection (issue 16 scope 6): the admin API's rules (`admin::faults`) make
//! HubSpot's API answer an error, answer late, or drop the connection mid-answer, so an
//! integration's retry and backoff code can be tested on purpose.
//!
//! A request meets the rules twice. [`middleware`] runs before anything else of the
//! request and applies the rules that name no portal. Rules that name a portal wait until
//! the token says whose request it is: [`Principal`](crate::auth::Principal) extraction
//! calls [`at_principal`] with the request's [`Slot`]. At most one rule fires per request:
//! the oldest that matches, whose probability roll hits and whose count (spent in the
//! database, exact across processes) is not used up.
//!
//! Actions: `error` answers an [`ApiError`] of the rule's status through the one error
//! path (429: HubSpot's rate-limit body and headers; 401: `EXPIRED_AUTHENTICATION`);
//! `latency` sleeps, then the request runs as usual; `disconnect` lets the request run
//! (its writes happen, as when a real connection drops after the server acted) and then
//! sends the head and half the body before aborting the connection.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::emulator::{FaultAction, FaultRule};

use crate::catalogue::{self, RateClass};
use crate::error::{ApiError, ApiResult, Category};
use crate::AppState;

/// The header every injected fault's answer carries: the rule's id.
pub const FAULT_HEADER: &str = "x-spoke-fault";

/// The paths no rule touches: spoke's own API, its metrics and health check.
pub fn is_hubspot_surface(path: &str) -> bool {
    !(path == "/_spoke" || path.starts_with("/_spoke/") || path == "/metrics" || path == "/healthz")
}

/// What a request's rules decided, shared between [`middleware`] and [`at_principal`].
#[derive(Clone, Default)]
pub struct Slot(Arc<Mutex<SlotState>>);

#[derive(Default)]
struct SlotState {
    /// A rule fired for this request already.
    fired: bool,
    /// The answer is to be cut off.
    disconnect: Option<i64>,
}

impl Slot {
    fn with<T>(&self, f: impl FnOnce(&mut SlotState) -> T) -> T {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

/// What the request's matched operation is, for a 429's policy.
struct Request429 {
    search: bool,
}

/// Picks the rule that fires for this request, if any: `portal` `None` considers the rules
/// without a portal, `Some` those of that portal.
async fn pick(
    state: &AppState,
    portal: Option<PortalId>,
    method: &str,
    path: &str,
) -> ApiResult<Option<FaultRule>> {
    let rules = state.emulator.rules();
    for rule in rules.iter() {
        let spec = &rule.spec;
        let scoped = spec.portal_id.is_some();
        if scoped != portal.is_some()
            || !spec.portal_matches(portal)
            || !spec.request_matches(method, path)
            || !state.emulator.roll(spec.probability)
        {
            continue;
        }
        // Another process may have spent its count since this one read it.
        if state.store.fire_fault_rule(rule.id).await? {
            state.metrics.fault_injected(rule.spec.action.name());
            return Ok(Some(rule.clone()));
        }
    }
    Ok(None)
}

/// The error a rule answers with.
fn error_for(
    rule: &FaultRule,
    status: u16,
    body: Option<&serde_json::Value>,
    r: Request429,
) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut e = match status {
        StatusCode::TOO_MANY_REQUESTS if r.search => ApiError::rate_limited("SECONDLY"),
        StatusCode::TOO_MANY_REQUESTS => {
            let mut e = ApiError::rate_limited("TEN_SECONDLY_ROLLING");
            // As HubSpot's burst limit answers (hubspot-behavior.md §6.2); search has none.
            e.headers = vec![
                ("x-hubspot-ratelimit-interval-milliseconds", "10000".into()),
                ("x-hubspot-ratelimit-max", "100".into()),
                ("x-hubspot-ratelimit-remaining", "0".into()),
            ];
            e
        }
        StatusCode::UNAUTHORIZED => {
            let now = now_millis();
            ApiError::expired(now - 1000, now)
        }
        s => {
            let category = match s {
                StatusCode::BAD_REQUEST => Some(Category::ValidationError),
                StatusCode::FORBIDDEN => Some(Category::MissingScopes),
                StatusCode::NOT_FOUND => Some(Category::ObjectNotFound),
                StatusCode::CONFLICT => Some(Category::Conflict),
                _ => None,
            };
            let reason = s.canonical_reason().unwrap_or("Error");
            ApiError::new(
                s,
                category,
                format!("{reason} (injected by spoke fault rule {})", rule.id),
            )
        }
    };
    e.headers.push((FAULT_HEADER, rule.id.to_string()));
    e.body = body.cloned();
    e
}

/// Applies a fired rule before the request runs: `Err` to answer with, `Ok` to go on.
async fn apply(rule: &FaultRule, slot: &Slot, r: Request429) -> ApiResult<()> {
    match &rule.spec.action {
        FaultAction::Error { status, body } => Err(error_for(rule, *status, body.as_ref(), r)),
        FaultAction::Latency { latency_ms } => {
            tokio::time::sleep(Duration::from_millis(*latency_ms)).await;
            Ok(())
        }
        FaultAction::Disconnect => {
            slot.with(|s| s.disconnect = Some(rule.id));
            Ok(())
        }
    }
}

/// The rules of a portal, once the request's token named it. Called by `Principal`
/// extraction; does nothing outside [`middleware`] (no slot) or once a rule fired.
pub async fn at_principal(
    state: &AppState,
    parts: &axum::http::request::Parts,
    portal: PortalId,
) -> ApiResult<()> {
    let Some(slot) = parts.extensions.get::<Slot>().cloned() else {
        return Ok(());
    };
    if slot.with(|s| s.fired) {
        return Ok(());
    }
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let Some(rule) = pick(state, Some(portal), method, path).await? else {
        return Ok(());
    };
    slot.with(|s| s.fired = true);
    let search = is_search(&parts.method, parts.extensions.get::<MatchedPath>());
    apply(&rule, &slot, Request429 { search }).await
}

fn is_search(method: &axum::http::Method, path: Option<&MatchedPath>) -> bool {
    catalogue::matched(method, path).is_some_and(|op| op.rate == RateClass::Search)
}

/// Applies the rules without a portal, hands the request a [`Slot`] for the portal's
/// rules, and cuts the answer off when a `disconnect` rule fired.
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if !is_hubspot_surface(req.uri().path()) {
        return next.run(req).await;
    }
    state.emulator.refresh_if_stale(state.store.as_ref()).await;
    let slot = Slot::default();
    if !state.emulator.rules().is_empty() {
        let method = req.method().as_str().to_owned();
        let path = req.uri().path().to_owned();
        match pick(&state, None, &method, &path).await {
            Err(e) => return e.into_response(),
            Ok(Some(rule)) => {
                slot.with(|s| s.fired = true);
                let search = is_search(req.method(), req.extensions().get::<MatchedPath>());
                if let Err(e) = apply(&rule, &slot, Request429 { search }).await {
                    return e.into_response();
                }
            }
            Ok(None) => {}
        }
        req.extensions_mut().insert(slot.clone());
    }
    let res = next.run(req).await;
    match slot.with(|s| s.disconnect) {
        Some(rule) => cut_off(res, rule).await,
        None => res,
    }
}

/// The answer's head and the first half of its body, then an error that makes hyper
/// abort the connection. The head keeps the whole body's `Content-Length`, so a client
/// knows the body it got is short.
async fn cut_off(res: Response, rule: i64) -> Response {
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(CONTENT_LENGTH, v);
    }
    if let Ok(v) = HeaderValue::from_str(&rule.to_string()) {
        parts.headers.insert(FAULT_HEADER, v);
    }
    let half = bytes.slice(..bytes.len() / 2);
    Response::from_parts(parts, Body::new(CutBody::new(half)))
}

/// A body that yields its bytes, then fails. The failure waits a moment: hyper writes the
/// head with the first bytes, and an error it sees before it flushes would drop the head too.
struct CutBody {
    first: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl CutBody {
    fn new(first: Bytes) -> Self {
        Self {
            first: Some(first),
            pause: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
        }
    }
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(b) = self.first.take().filter(|b| !b.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "connection dropped by a spoke fault rule",
            )))),
        }
    }
}
