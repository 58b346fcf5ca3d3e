//! HubSpot's rate limits (hubspot-behavior.md §6), opt-in with `spoke serve --rate-limit N`.
//!
//! Off by default: people run spoke to escape HubSpot's limits, and a bulk load should not be
//! throttled unless asked. When on, every token gets a rolling 10-second window of N
//! requests with HubSpot's `X-HubSpot-RateLimit-*` headers, and search gets its own
//! per-second limit without headers, as on HubSpot. The class is the matched operation's
//! catalogue row's; a path no row matches counts in the 10-second window. Over the limit:
//! 429 with HubSpot's body, which the official Node client's retry logic keys on. Windows
//! live in this process: with several spoke servers on one database each enforces its own.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{HeaderValue, AUTHORIZATION};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::catalogue::{self, RateClass};
use crate::error::ApiError;

const WINDOW: Duration = Duration::from_secs(10);
const SECOND: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Requests per rolling 10 seconds per token (HubSpot: 100 to 190 by plan).
    pub per_ten_seconds: u32,
    /// Search requests per second per token (HubSpot: 5).
    pub search_per_second: u32,
}

#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<(String, bool), VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            windows: Mutex::new(HashMap::new()),
        })
    }

    /// Records a request; returns the requests left in the window, or `None` if over.
    fn admit(&self, key: &str, search: bool) -> Option<u32> {
        let (span, max) = if search {
            (SECOND, self.limits.search_per_second)
        } else {
            (WINDOW, self.limits.per_ten_seconds)
        };
        let now = Instant::now();
        let mut windows = self.windows.lock().ok()?;
        let w = windows.entry((key.to_owned(), search)).or_default();
        while w.front().is_some_and(|t| now.duration_since(*t) >= span) {
            w.pop_front();
        }
        if w.len() as u32 >= max {
            return None;
        }
        w.push_back(now);
        Some(max - w.len() as u32)
    }
}

fn header(v: impl ToString) -> Option<HeaderValue> {
    HeaderValue::from_str(&v.to_string()).ok()
}

pub async fn middleware(
    State(limiter): State<Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(key) = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(spoke_store::tokens::hash)
    else {
        // No token: authentication answers 401 without counting.
        return next.run(req).await;
    };
    let search = catalogue::matched(req.method(), req.extensions().get::<MatchedPath>())
        .is_some_and(|op| op.rate == RateClass::Search);
    let Some(remaining) = limiter.admit(&key, search) else {
        let policy = if search {
            "SECONDLY"
        } else {
            "TEN_SECONDLY_ROLLING"
        };
        return ApiError::rate_limited(policy).into_response();
    };
    let mut res = next.run(req).await;
    if !search {
        let h = res.headers_mut();
        let pairs = [
            (
                "x-hubspot-ratelimit-interval-milliseconds",
                header(WINDOW.as_millis()),
            ),
            (
                "x-hubspot-ratelimit-max",
                header(limiter.limits.per_ten_seconds),
            ),
            ("x-hubspot-ratelimit-remaining", header(remaining)),
        ];
        for (name, value) in pairs {
            if let Some(v) = value {
                h.insert(name, v);
            }
        }
    }
    res
}
