//! The request inspector (issue 16, scope 4): every request to HubSpot's surface (catalogue
//! routes, unknown routes, OAuth) as the client sent it and as spoke answered it, kept in a
//! bounded in-memory ring that the admin API lists, filters and streams
//! (`admin::inspector`).
//!
//! - **Where it sits**: [`middleware`] wraps the wire middleware, so what it records is what
//!   the client got (rendered errors, correlation id header); `/_spoke/*`, `/metrics` and
//!   `/healthz` pass by unrecorded.
//! - **Bodies** are captured as they stream: the request body by a wrapper the handler reads
//!   through (so spoke's body limits and timeouts behave as without it), the response body by
//!   a wrapper hyper writes from. Each keeps references to at most `body_cap` bytes of the
//!   frames it passed on (no copy while the request runs) and counts the rest; the kept
//!   prefix is copied once into the entry, which is recorded when the response body has been
//!   handed over whole (before its last bytes reach the client) or is dropped early.
//! - **Secrets** are redacted before anything is stored: `Authorization`, `Cookie`,
//!   `Set-Cookie` headers, `hapikey` and OAuth values in queries and `Location`, tokens in
//!   OAuth paths, and OAuth fields of OAuth bodies (request and response).
//! - **Bounds**: at most `capacity` entries and `max_bytes` bytes (an entry's size counts its
//!   strings, headers and kept bodies); the oldest are evicted first. Nothing goes to disk:
//!   the log is the process's own.
//! - **Who called**: [`Caller`], a slot the middleware puts in the request's extensions and
//!   `auth::Principal` fills when a token is accepted.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderMap, LOCATION};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use prometheus::{IntCounter, IntGauge};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use spoke_core::time::{format_iso, now_millis, Millis};
use tokio::sync::{broadcast, watch};

use crate::wire::CORRELATION_HEADER;

/// What a stored value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Query and OAuth body fields whose values are credentials.
const SECRET_FIELDS: &[&str] = &[
    "hapikey",
    "client_secret",
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "id_token",
    "token",
];

/// Headers whose values are credentials, in either direction.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Path segments followed by a token (`/oauth/v1/access-tokens/{token}`).
const TOKEN_PATH_MARKERS: &[&str] = &["/access-tokens/", "/refresh-tokens/"];

/// An entry's fixed overhead beyond its strings and bodies (the struct, the ring slot, the
/// `Arc`), counted so that many tiny entries cannot exceed the byte budget unseen.
const ENTRY_OVERHEAD: usize = 256;

/// How the log is bounded; `spoke serve --inspector-*` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InspectorConfig {
    /// Recording at start (`--no-inspector` starts with it off; the admin API turns it on).
    pub recording: bool,
    /// Most entries kept.
    pub capacity: usize,
    /// Most bytes kept, over all entries.
    pub max_bytes: usize,
    /// Most bytes of each body kept; the rest is counted, not kept, and the entry says so.
    pub body_cap: usize,
}

impl Default for InspectorConfig {
    fn default() -> Self {
        Self {
            recording: true,
            capacity: 10_000,
            max_bytes: 64 << 20,
            body_cap: 64 << 10,
        }
    }
}

/// The inspector's Prometheus series (registered by `metrics::Metrics`).
#[derive(Clone)]
pub struct InspectorMetrics {
    pub recorded: IntCounter,
    pub evicted: IntCounter,
    pub bytes: IntGauge,
}

/// One recorded request, as stored (secrets already redacted).
#[derive(Debug)]
pub struct Entry {
    pub id: u64,
    pub at: Millis,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub duration_ms: f64,
    pub portal_id: Option<i64>,
    pub token_id: Option<i64>,
    pub app_id: Option<i64>,
    pub correlation_id: String,
    /// Bytes of the request body spoke read (all of them, kept or not).
    pub request_bytes: u64,
    /// Bytes of the response body spoke sent.
    pub response_bytes: u64,
    pub request_headers: Headers,
    pub request_body: Vec<u8>,
    pub request_body_truncated: bool,
    pub response_headers: Headers,
    pub response_body: Vec<u8>,
    pub response_body_truncated: bool,
    size: usize,
}

impl Entry {
    /// What the entry counts against the byte budget.
    pub fn size(&self) -> usize {
        self.size
    }

    fn measure(&mut self) {
        self.size = ENTRY_OVERHEAD
            + self.method.len()
            + self.path.len()
            + self.query.len()
            + self.correlation_id.len()
            + self.request_headers.bytes()
            + self.response_headers.bytes()
            + self.request_body.capacity()
            + self.response_body.capacity();
    }

    /// The list view (`Summary` in the admin API's document).
    pub fn summary(&self) -> Summary<'_> {
        Summary {
            id: self.id.to_string(),
            at: format_iso(self.at),
            method: &self.method,
            path: &self.path,
            query: &self.query,
            status: self.status,
            duration_ms: self.duration_ms,
            portal_id: self.portal_id,
            token_id: self.token_id,
            app_id: self.app_id,
            correlation_id: &self.correlation_id,
            request_bytes: self.request_bytes,
            response_bytes: self.response_bytes,
        }
    }

    /// The full view (`RequestDetail`).
    pub fn detail(&self) -> Detail<'_> {
        Detail {
            summary: self.summary(),
            request_headers: &self.request_headers,
            request_body: String::from_utf8_lossy(&self.request_body).into_owned(),
            request_body_truncated: self.request_body_truncated,
            response_headers: &self.response_headers,
            response_body: String::from_utf8_lossy(&self.response_body).into_owned(),
            response_body_truncated: self.response_body_truncated,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary<'a> {
    pub id: String,
    pub at: String,
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub portal_id: Option<i64>,
    pub token_id: Option<i64>,
    pub app_id: Option<i64>,
    pub correlation_id: &'a str,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Detail<'a> {
    #[serde(flatten)]
    pub summary: Summary<'a>,
    pub request_headers: &'a Headers,
    pub request_body: String,
    pub request_body_truncated: bool,
    pub response_headers: &'a Headers,
    pub response_body: String,
    pub response_body_truncated: bool,
}

/// Header names (lower case, as HTTP/1.1 servers see them) and values in the order they
/// came; a name sent several times holds its values joined by `, `. Serialized as an object.
#[derive(Debug, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    fn capture(map: &HeaderMap) -> Self {
        let mut out: Vec<(String, String)> = Vec::with_capacity(map.keys_len());
        for (name, value) in map {
            let name = name.as_str();
            let value = if SECRET_HEADERS.contains(&name) {
                REDACTED.to_owned()
            } else if name == LOCATION.as_str() {
                redact_location(&String::from_utf8_lossy(value.as_bytes()))
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            // A HeaderMap yields a name's values one after another.
            match out.last_mut() {
                Some((last, joined)) if last == name => {
                    if joined != REDACTED {
                        joined.push_str(", ");
                        joined.push_str(&value);
                    }
                }
                _ => out.push((name.to_owned(), value)),
            }
        }
        Self(out)
    }

    fn bytes(&self) -> usize {
        self.0.iter().map(|(n, v)| n.len() + v.len() + 48).sum()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

/// Which requests a listing or stream wants (the admin API's query parameters, parsed).
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub portal_id: Option<i64>,
    pub method: Option<String>,
    /// A prefix of the recorded path.
    pub path: Option<String>,
    pub status: Option<StatusFilter>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub correlation_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Exact(u16),
    /// `4xx`: the hundreds digit.
    Class(u16),
}

impl Filter {
    pub fn matches(&self, e: &Entry) -> bool {
        self.portal_id.is_none_or(|p| e.portal_id == Some(p))
            && self
                .method
                .as_deref()
                .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self.path.as_deref().is_none_or(|p| e.path.starts_with(p))
            && self.status.is_none_or(|s| match s {
                StatusFilter::Exact(code) => e.status == code,
                StatusFilter::Class(class) => e.status / 100 == class,
            })
            && self.since.is_none_or(|t| e.at >= t)
            && self.until.is_none_or(|t| e.at <= t)
            && self
                .correlation_id
                .as_deref()
                .is_none_or(|c| e.correlation_id == c)
    }
}

/// A page of a listing, newest first; `more` when older matching entries remain.
pub struct Page {
    pub entries: Vec<Arc<Entry>>,
    pub more: bool,
}

/// What the log holds now (`GET /_spoke/inspector`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub recording: bool,
    pub capacity: usize,
    pub max_bytes: usize,
    pub stored: usize,
    pub bytes: usize,
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<Arc<Entry>>,
    bytes: usize,
    /// The last id given.
    next_id: u64,
    /// Body buffers of evicted entries, for new entries to reuse (see [`Inspector::buffer`]).
    spare: Vec<Vec<u8>>,
}

/// Bodies at least this big get their buffer from the spares: a full log evicts one entry
/// per request, and handing its buffers straight to the allocator and asking again made the
/// allocator give memory back to the OS and fault it in anew on every request (a 17% cost to
/// batch-read throughput, measured; with reuse, none).
const SPARE_MIN: usize = 16 << 10;
/// Most spare buffers kept (at most this many times the body cap, beyond the byte budget).
const SPARES: usize = 32;

/// The log: a ring of entries bounded by count and bytes, and a channel of new entries for
/// live streams. The lock is taken for a push (and its evictions) or to clone a page of
/// `Arc`s, never across an await.
pub struct Inspector {
    config: InspectorConfig,
    recording: AtomicBool,
    ring: Mutex<Ring>,
    live: broadcast::Sender<Arc<Entry>>,
    closed: watch::Sender<bool>,
    metrics: InspectorMetrics,
}

/// How many new entries a slow stream subscriber may fall behind before it skips some.
const LIVE_BACKLOG: usize = 1024;

impl Inspector {
    pub fn new(config: InspectorConfig, metrics: InspectorMetrics) -> Arc<Self> {
        let (live, _) = broadcast::channel(LIVE_BACKLOG);
        let (closed, _) = watch::channel(false);
        Arc::new(Self {
            config,
            recording: AtomicBool::new(config.recording),
            ring: Mutex::new(Ring::default()),
            live,
            closed,
            metrics,
        })
    }

    pub fn config(&self) -> InspectorConfig {
        self.config
    }

    pub fn recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves the ring consistent (a push or a pop at a
        // time), so a poisoned lock is still a usable one.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn status(&self) -> Status {
        let ring = self.ring();
        Status {
            recording: self.recording(),
            capacity: self.config.capacity,
            max_bytes: self.config.max_bytes,
            stored: ring.entries.len(),
            bytes: ring.bytes,
        }
    }

    /// Stores an entry (giving it its id), evicting the oldest beyond either bound, and
    /// tells the live streams.
    pub fn record(&self, mut entry: Entry) {
        entry.measure();
        // Evicted entries are freed after the lock is released.
        let mut evicted = Vec::new();
        let (entry, bytes) = {
            let mut ring = self.ring();
            // Ids are given under the lock, so they grow along the ring (`get` bisects).
            ring.next_id += 1;
            entry.id = ring.next_id;
            let entry = Arc::new(entry);
            ring.bytes += entry.size;
            ring.entries.push_back(entry.clone());
            while ring.entries.len() > self.config.capacity || ring.bytes > self.config.max_bytes {
                let Some(old) = ring.entries.pop_front() else {
                    break;
                };
                ring.bytes -= old.size;
                evicted.push(old);
            }
            (entry, ring.bytes)
        };
        self.metrics.recorded.inc();
        self.metrics.evicted.inc_by(evicted.len() as u64);
        self.recycle(evicted);
        self.metrics
            .bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        // No subscriber is not an error.
        let _ = self.live.send(entry);
    }

    /// A buffer for `len` bytes of a body: a spare one of the right size if there is one.
    fn buffer(&self, len: usize) -> Vec<u8> {
        if len >= SPARE_MIN {
            let mut ring = self.ring();
            // A buffer that fits without wasting more than half of itself.
            if let Some(at) = ring
                .spare
                .iter()
                .position(|b| b.capacity() >= len && b.capacity() / 2 <= len)
            {
                return ring.spare.swap_remove(at);
            }
        }
        Vec::with_capacity(len)
    }

    /// Keeps the big body buffers of evicted entries no one else holds; frees the rest
    /// (outside the lock).
    fn recycle(&self, evicted: Vec<Arc<Entry>>) {
        let mut buffers = Vec::new();
        for e in evicted {
            if let Ok(e) = Arc::try_unwrap(e) {
                for mut b in [e.request_body, e.response_body] {
                    if b.capacity() >= SPARE_MIN {
                        b.clear();
                        buffers.push(b);
                    }
                }
            }
        }
        if buffers.is_empty() {
            return;
        }
        let mut ring = self.ring();
        while ring.spare.len() < SPARES {
            match buffers.pop() {
                Some(b) => ring.spare.push(b),
                None => break,
            }
        }
    }

    pub fn clear(&self) {
        let entries = {
            let mut ring = self.ring();
            ring.bytes = 0;
            std::mem::take(&mut ring.entries)
        };
        self.metrics.bytes.set(0);
        drop(entries);
    }

    pub fn get(&self, id: u64) -> Option<Arc<Entry>> {
        let ring = self.ring();
        // Ids grow along the ring, so the entry's place is found by bisection.
        let at = ring.entries.partition_point(|e| e.id < id);
        ring.entries.get(at).filter(|e| e.id == id).cloned()
    }

    /// Up to `limit` matching entries older than `before` (an id), newest first.
    pub fn list(&self, filter: &Filter, limit: usize, before: Option<u64>) -> Page {
        let ring = self.ring();
        let end = match before {
            Some(id) => ring.entries.partition_point(|e| e.id < id),
            None => ring.entries.len(),
        };
        let mut entries = Vec::with_capacity(limit.min(end));
        let mut more = false;
        for e in ring.entries.range(..end).rev() {
            if filter.matches(e) {
                if entries.len() == limit {
                    more = true;
                    break;
                }
                entries.push(e.clone());
            }
        }
        Page { entries, more }
    }

    /// New entries from now on, until the server shuts down.
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<Entry>>, watch::Receiver<bool>) {
        (self.live.subscribe(), self.closed.subscribe())
    }

    /// Ends every live stream: the server is shutting down, and an endless response would
    /// keep its connection, and so the graceful shutdown, waiting.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

/// Who made a request, as far as authentication got: filled by `auth::Principal`.
#[derive(Clone, Default)]
pub struct Caller(Arc<OnceLock<CallerInfo>>);

#[derive(Debug, Clone, Copy)]
pub struct CallerInfo {
    pub portal_id: i64,
    /// A private-app token's id; `None` for an OAuth access token (its app is `app_id`).
    pub token_id: Option<i64>,
    pub app_id: Option<i64>,
}

impl Caller {
    pub fn set(&self, info: CallerInfo) {
        let _ = self.0.set(info);
    }
}

/// Records the request and its answer; outside the wire middleware (see `app()`).
pub async fn middleware(
    State(inspector): State<Arc<Inspector>>,
    req: Request,
    next: Next,
) -> Response {
    if !inspector.recording() || !crate::faults::is_hubspot_surface(req.uri().path()) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let at = now_millis();
    let (mut parts, body) = req.into_parts();
    let caller = Caller::default();
    parts.extensions.insert(caller.clone());
    let oauth = parts.uri.path().starts_with("/oauth/");
    let head = Head {
        method: parts.method.as_str().to_owned(),
        path: redact_path(parts.uri.path()),
        query: parts.uri.query().map(redact_query).unwrap_or_default(),
        headers: Headers::capture(&parts.headers),
        oauth,
    };
    let request_body = Arc::new(Mutex::new(Captured::default()));
    let body = Body::new(RequestBody {
        inner: body,
        capture: request_body.clone(),
        cap: inspector.config.body_cap,
    });
    let res = next.run(Request::from_parts(parts, body)).await;
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (parts, body) = res.into_parts();
    let pending = Pending {
        inspector,
        head,
        at,
        duration_ms,
        caller,
        request_body,
        status: parts.status.as_u16(),
        correlation_id: parts
            .headers
            .get(CORRELATION_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned(),
        response_headers: Headers::capture(&parts.headers),
    };
    if body.is_end_stream() {
        pending.finish(Captured::default());
        return Response::from_parts(parts, body);
    }
    let cap = pending.inspector.config.body_cap;
    let body = Body::new(ResponseBody {
        inner: body,
        captured: Captured::default(),
        cap,
        pending: Some(pending),
    });
    Response::from_parts(parts, body)
}

struct Head {
    method: String,
    path: String,
    query: String,
    headers: Headers,
    oauth: bool,
}

/// A request answered, waiting for its response body to be sent.
struct Pending {
    inspector: Arc<Inspector>,
    head: Head,
    at: Millis,
    duration_ms: f64,
    caller: Caller,
    request_body: Arc<Mutex<Captured>>,
    status: u16,
    correlation_id: String,
    response_headers: Headers,
}

impl Pending {
    fn finish(self, response: Captured) {
        let request = {
            let mut guard = self.request_body.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *guard)
        };
        let caller = self.caller.0.get().copied();
        let (mut request_body, request_truncated, request_bytes) =
            request.into_parts(&self.inspector);
        let (mut response_body, response_truncated, response_bytes) =
            response.into_parts(&self.inspector);
        if self.head.oauth {
            request_body = redact_body(request_body);
            response_body = redact_body(response_body);
        }
        let Head {
            method,
            path,
            query,
            headers,
            ..
        } = self.head;
        self.inspector.record(Entry {
            id: 0,
            at: self.at,
            method,
            path,
            query,
            status: self.status,
            duration_ms: self.duration_ms,
            portal_id: caller.map(|c| c.portal_id),
            token_id: caller.and_then(|c| c.token_id),
            app_id: caller.and_then(|c| c.app_id),
            correlation_id: self.correlation_id,
            request_bytes,
            response_bytes,
            request_headers: headers,
            request_body,
            request_body_truncated: request_truncated,
            response_headers: self.response_headers,
            response_body,
            response_body_truncated: response_truncated,
            size: 0,
        });
    }
}

/// The first `cap` bytes of a body as the frames that carried them (shared, not copied),
/// and the count of all its bytes.
#[derive(Default)]
struct Captured {
    frames: Vec<Bytes>,
    kept: usize,
    total: u64,
}

impl Captured {
    fn take(&mut self, data: &Bytes, cap: usize) {
        self.total += data.len() as u64;
        let room = cap.saturating_sub(self.kept);
        if room > 0 && !data.is_empty() {
            let n = room.min(data.len());
            self.frames.push(data.slice(..n));
            self.kept += n;
        }
    }

    /// The kept bytes in one compact buffer (the one copy), whether some were left out,
    /// and the total.
    fn into_parts(self, inspector: &Inspector) -> (Vec<u8>, bool, u64) {
        let mut out = inspector.buffer(self.kept);
        for f in &self.frames {
            out.extend_from_slice(f);
        }
        let truncated = self.total > self.kept as u64;
        (out, truncated, self.total)
    }
}

/// The request body as the handler reads it, with its first bytes noted on the way.
struct RequestBody {
    inner: Body,
    capture: Arc<Mutex<Captured>>,
    cap: usize,
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                let mut c = this.capture.lock().unwrap_or_else(|p| p.into_inner());
                c.take(data, this.cap);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The response body as hyper sends it; records the entry once it has handed over the
/// last frame (or is dropped before, when the client went away).
struct ResponseBody {
    inner: Body,
    captured: Captured,
    cap: usize,
    pending: Option<Pending>,
}

impl ResponseBody {
    fn finish(&mut self) {
        if let Some(p) = self.pending.take() {
            p.finish(std::mem::take(&mut self.captured));
        }
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.captured.take(data, this.cap);
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(_) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        self.finish();
    }
}

fn is_secret_field(raw_key: &str) -> bool {
    let key = form_urlencoded::parse(raw_key.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    SECRET_FIELDS.iter().any(|s| key.eq_ignore_ascii_case(s))
}

/// A query string (or form body) with the values of secret fields replaced, the rest left
/// exactly as sent.
pub fn redact_query(query: &str) -> String {
    let lower = query.to_ascii_lowercase();
    if !SECRET_FIELDS.iter().any(|s| lower.contains(s)) {
        return query.to_owned();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_field(k) => format!("{k}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn redact_location(location: &str) -> String {
    match location.split_once('?') {
        Some((base, rest)) => {
            let (query, fragment) = match rest.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (rest, None),
            };
            let mut out = format!("{base}?{}", redact_query(query));
            if let Some(f) = fragment {
                out.push('#');
                out.push_str(&redact_query(f));
            }
            out
        }
        None => location.to_owned(),
    }
}

/// A path with the token of an OAuth token-info path replaced.
pub fn redact_path(path: &str) -> String {
    for marker in TOKEN_PATH_MARKERS {
        if let Some(at) = path.find(marker) {
            let start = at + marker.len();
            let rest = &path[start..];
            let end = rest.find('/').map_or(path.len(), |i| start + i);
            return format!("{}{REDACTED}{}", &path[..start], &path[end..]);
        }
    }
    path.to_owned()
}

/// An OAuth body with its credentials replaced: a JSON object's secret fields (at any
/// depth), else form fields. A body that is neither is kept only if it names no secret.
fn redact_body(body: Vec<u8>) -> Vec<u8> {
    if body.is_empty() {
        return body;
    }
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&body) {
        redact_json(&mut value);
        return serde_json::to_vec(&value).unwrap_or_else(|_| REDACTED.as_bytes().to_vec());
    }
    match std::str::from_utf8(&body) {
        Ok(text) if !text.trim_start().starts_with(['{', '[', '<']) => {
            redact_query(text).into_bytes()
        }
        // A truncated or malformed JSON body, or a page: only kept if nothing secret is in it.
        Ok(text) => {
            let lower = text.to_ascii_lowercase();
            if SECRET_FIELDS.iter().any(|s| lower.contains(s)) {
                REDACTED.as_bytes().to_vec()
            } else {
                body
            }
        }
        Err(_) => REDACTED.as_bytes().to_vec(),
    }
}

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                if SECRET_FIELDS.iter().any(|s| k.eq_ignore_ascii_case(s)) {
                    *item = serde_json::Value::String(REDACTED.to_owned());
                } else {
                    redact_json(item);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> InspectorMetrics {
        InspectorMetrics {
            recorded: IntCounter::new("r", "r").expect("counter"),
            evicted: IntCounter::new("e", "e").expect("counter"),
            bytes: IntGauge::new("b", "b").expect("gauge"),
        }
    }

    fn entry(path: &str, body: usize) -> Entry {
        Entry {
            id: 0,
            at: 0,
            method: "GET".into(),
            path: path.into(),
            query: String::new(),
            status: 200,
            duration_ms: 0.0,
            portal_id: None,
            token_id: None,
            app_id: None,
            correlation_id: String::new(),
            request_bytes: 0,
            response_bytes: body as u64,
            request_headers: Headers::default(),
            request_body: Vec::new(),
            request_body_truncated: false,
            response_headers: Headers::default(),
            response_body: vec![b'x'; body],
            response_body_truncated: false,
            size: 0,
        }
    }

    #[test]
    fn the_ring_keeps_within_both_bounds_and_evicts_oldest_first() {
        let config = InspectorConfig {
            capacity: 3,
            max_bytes: 10 * (ENTRY_OVERHEAD + 1000),
            ..Default::default()
        };
        let m = metrics();
        let log = Inspector::new(config, m.clone());
        for i in 0..5 {
            log.record(entry(&format!("/{i}"), 10));
        }
        let page = log.list(&Filter::default(), 10, None);
        let paths: Vec<&str> = page.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/4", "/3", "/2"]);
        assert_eq!(m.evicted.get(), 2);
        // Bytes: three big entries do not fit in the budget of ten small ones.
        for i in 5..8 {
            log.record(entry(&format!("/{i}"), 4 * 1000));
        }
        let status = log.status();
        assert!(status.bytes <= config.max_bytes, "{status:?}");
        assert_eq!(status.stored, 2);
        assert_eq!(m.bytes.get() as usize, status.bytes);
    }

    #[test]
    fn evicted_body_buffers_are_reused_and_the_spares_bounded() {
        let log = Inspector::new(
            InspectorConfig {
                capacity: 2,
                ..Default::default()
            },
            metrics(),
        );
        for i in 0..(SPARES + 10) {
            log.record(entry(&format!("/{i}"), 40 << 10));
        }
        let spares = log.ring().spare.len();
        assert_eq!(spares, SPARES);
        let reused = log.buffer(40 << 10);
        assert!(reused.capacity() >= 40 << 10 && reused.is_empty());
        assert_eq!(log.ring().spare.len(), spares - 1);
        // Too small to be worth a spare twice its size: a new buffer.
        let _ = log.buffer(SPARE_MIN);
        assert_eq!(log.ring().spare.len(), spares - 1);
        // An entry someone still holds (a listing in flight) is not recycled.
        let held = log.list(&Filter::default(), 10, None).entries;
        log.clear();
        assert_eq!(held.len(), 2);
        assert!(held.iter().all(|e| e.response_body.len() == 40 << 10));
    }

    #[test]
    fn paging_walks_back_from_the_newest() {
        let log = Inspector::new(InspectorConfig::default(), metrics());
        for i in 0..5 {
            log.record(entry(&format!("/{i}"), 0));
        }
        let first = log.list(&Filter::default(), 2, None);
        assert!(first.more);
        let last = first.entries.last().map(|e| e.id);
        let second = log.list(&Filter::default(), 2, last);
        let third = log.list(&Filter::default(), 2, second.entries.last().map(|e| e.id));
        let paths: Vec<String> = [first, second, third]
            .iter()
            .flat_map(|p| p.entries.iter().map(|e| e.path.clone()))
            .collect();
        assert_eq!(paths, ["/4", "/3", "/2", "/1", "/0"]);
        assert!(log.get(3).is_some_and(|e| e.path == "/2"));
        assert!(log.get(99).is_none());
    }

    #[test]
    fn concurrent_records_keep_ids_growing_along_the_ring() {
        let log = Inspector::new(
            InspectorConfig {
                capacity: 5_000,
                ..Default::default()
            },
            metrics(),
        );
        std::thread::scope(|s| {
            for t in 0..16 {
                let log = &log;
                s.spawn(move || {
                    for i in 0..500 {
                        log.record(entry(&format!("/{t}/{i}"), 0));
                    }
                });
            }
        });
        let all = log.list(&Filter::default(), 10_000, None).entries;
        assert_eq!(all.len(), 5_000);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id));
        assert!(all
            .iter()
            .all(|e| log.get(e.id).is_some_and(|g| g.id == e.id)));
        assert_eq!(log.status().stored, 5_000);
    }

    #[test]
    fn secrets_are_redacted_and_the_rest_kept_as_sent() {
        assert_eq!(
            redact_query("limit=10&hapikey=abc&HAPIKEY=d&after=x%20y"),
            "limit=10&hapikey=[redacted]&HAPIKEY=[redacted]&after=x%20y"
        );
        assert_eq!(redact_query("properties=email"), "properties=email");
        assert_eq!(
            redact_path("/oauth/v1/access-tokens/CNa123/x"),
            "/oauth/v1/access-tokens/[redacted]/x"
        );
        assert_eq!(
            redact_location("https://app.example/cb?code=abc&state=s"),
            "https://app.example/cb?code=[redacted]&state=s"
        );
        let form =
            redact_body(b"grant_type=refresh_token&refresh_token=r&client_secret=s".to_vec());
        assert_eq!(
            String::from_utf8_lossy(&form),
            "grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]"
        );
        let json = redact_body(br#"{"access_token":"a","expires_in":1800}"#.to_vec());
        let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert_eq!(v["access_token"], REDACTED);
        assert_eq!(v["expires_in"], 1800);
        assert_eq!(
            redact_body(br#"{"access_token":"a"#.to_vec()),
            REDACTED.as_bytes()
        );
    }
}
