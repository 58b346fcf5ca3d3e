//! App webhooks' delivery (issue 15; hubspot-behavior-apps.md §42.3-42.5): the worker that
//! takes the events the store's write transactions recorded (the outbox,
//! `spoke_store::webhooks`) and POSTs them to each app's target URL as HubSpot does.
//!
//! - Events are claimed with a lease (`WebhookStore::claim_events`), so a process that dies
//!   mid-delivery leaves them to whoever claims after the lease; on PostgreSQL several
//!   processes claim at once and each event goes to one of them.
//! - Claimed events are grouped by (app, portal, attempt number) and sent as JSON arrays of
//!   at most [`MAX_BATCH`] events, compact, keys in HubSpot's order ([`payload`]), signed
//!   v1 and v3 ([`signature`]) with the app's client secret, opened from its sealed copy.
//! - At most `maxConcurrentRequests` requests are in flight per (app, portal).
//! - Each request is recorded (`finish_attempt`) with its outcome: a 2xx delivers its
//!   events; anything else (another status, a timeout, a connection error) retries them on
//!   [`RETRY_SCHEDULE`] with jitter, `attemptNumber` + 1, until [`MAX_RETRIES`] retries
//!   have failed.
//! - The worker sleeps until the earliest due event or [`Config::poll`], whichever comes
//!   first, and wakes at once when this process commits a write ([`Webhooks::wake`]); the
//!   poll is how it sees other processes' events (`spoke import`, other servers). While
//!   wakes keep coming, every claim they start also takes what came due meanwhile, so the
//!   worker does not ask for the next due time until a wait ends without one.

pub mod roots;
pub mod signature;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spoke_core::time::{now_millis, Millis};
use spoke_core::PortalId;
use spoke_store::oauth::{self, AppLookup};
use spoke_store::sealed::SecretKey;
use spoke_store::webhooks::{AttemptOutcome, DeliveryAttempt, PendingEvent};
use spoke_store::Store;
use tokio::sync::{Notify, Semaphore};

/// HubSpot's limit of events per request (§42.3).
pub const MAX_BATCH: usize = 100;
/// Retries after the first attempt (§42.5: "up to 10 retries").
pub const MAX_RETRIES: i32 = 10;
/// The delay before retry n+1 after attempt n failed, before jitter: HubSpot spreads ten
/// retries over 24 hours without publishing the schedule; these add up to 23.8 hours.
pub const RETRY_SCHEDULE: [Duration; 10] = [
    Duration::from_secs(60),
    Duration::from_secs(2 * 60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(4 * 3600),
    Duration::from_secs(8 * 3600),
    Duration::from_secs(8 * 3600),
];
/// The shortest wait after a wake (see [`Config::coalesce`]).
const MIN_COALESCE: Duration = Duration::from_millis(5);
/// What deliveries announce in `X-HubSpot-Timeout-Millis` and wait for (§42.5: the header
/// HubSpot sends says 10000 although its guide says five seconds).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// HubSpot's `User-Agent` on deliveries (the 2026 capture, §42.3).
pub const USER_AGENT: &str = "HubSpot Connect 2.0 (http://dev.hubspot.com/) (namespace: webhooks-nio-http-client) - WebhooksExecutorDaemon-executor";

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct Config {
    /// Request timeout (and the `X-HubSpot-Timeout-Millis` header).
    pub timeout: Duration,
    /// The longest the worker sleeps without being woken: how soon it sees events written
    /// by other processes.
    pub poll: Duration,
    /// How long a claim holds its events; longer than any request can take.
    pub lease: Duration,
    /// Events claimed at most per round.
    pub claim_limit: usize,
    /// Requests in flight at most, over every app (each app also has its own limit).
    pub max_in_flight: usize,
    /// After a wake, the longest the worker waits for more commits to claim them together.
    /// It waits about 2 ms per event its last claim took (at least 5 ms), up to this: a
    /// lone write goes out within milliseconds, while under a thousand writes a second the
    /// worker's claims and attempt records (write transactions) stay a few a second
    /// instead of competing with every write.
    pub coalesce: Duration,
    /// The key file that seals app secrets (`spoke_store::sealed`); read when first needed,
    /// since `spoke app create` may make it while the server runs.
    pub secret_key_path: Option<PathBuf>,
    /// PEM files of certificate authorities trusted for `https://` target URLs besides the
    /// system's ([`roots`]): spoke's local CA by default.
    pub trusted_roots: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            timeout: TIMEOUT,
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            claim_limit: 1000,
            max_in_flight: 256,
            coalesce: Duration::from_millis(100),
            secret_key_path: spoke_core::datadir::data_dir()
                .ok()
                .map(|d| d.join(spoke_store::sealed::KEY_FILE)),
            trusted_roots: spoke_core::datadir::ca_dir()
                .ok()
                .map(|d| d.join(crate::tls::CA_CERT_FILE))
                .into_iter()
                .collect(),
        }
    }
}

/// What a flush did: events delivered, events whose attempt failed, events still pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    pub delivered: u64,
    pub failed: u64,
    pub pending: u64,
}

/// The delivery side of webhooks, one per app state. Inert until [`Webhooks::spawn`].
pub struct Webhooks {
    config: Config,
    wake: Notify,
    /// Signalled each time a request finishes (the worker waits on it when saturated, a
    /// flush when it waits for the worker's requests).
    finished: Notify,
    in_flight: AtomicUsize,
    client: reqwest::Client,
    key: Mutex<Option<Arc<SecretKey>>>,
    /// Per (app, portal): its `maxConcurrentRequests` and the permits for it.
    limits: Mutex<HashMap<(i64, i64), Permits>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

/// An (app, portal)'s `maxConcurrentRequests` and the semaphore that holds to it.
type Permits = (i64, Arc<Semaphore>);

/// One request's worth of events, ready to send.
struct Chunk {
    app_id: i64,
    portal: PortalId,
    attempt_number: i32,
    events: Vec<PendingEvent>,
    target: Result<Target, String>,
    /// Until when this process holds the events: past it, another claim may hold them.
    lease_until: Millis,
}

/// Where and how an app's events go.
#[derive(Clone)]
struct Target {
    url: String,
    secret: String,
    max_concurrent: i64,
}

impl Webhooks {
    pub fn new(config: Config) -> Self {
        // A receiver's redirect is its answer, as HubSpot treats it (a 3xx is not 2xx).
        let base = || {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .user_agent(USER_AGENT)
                .redirect(reqwest::redirect::Policy::none())
        };
        let tls = roots::client_config(&config.trusted_roots)
            .map_err(|e| e.to_string())
            .and_then(|tls| {
                base()
                    .use_preconfigured_tls(tls)
                    .build()
                    .map_err(|e| e.to_string())
            });
        // Without the TLS setup, http targets still get their events with the same
        // timeout and redirect rule; https ones fail and are retried as any failure.
        let client = tls
            .or_else(|e| {
                tracing::warn!(error = %e, "webhooks: no TLS for https target URLs");
                base().build().map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "webhooks: no HTTP client; deliveries will fail");
                reqwest::Client::new()
            });
        Self {
            config,
            wake: Notify::new(),
            finished: Notify::new(),
            in_flight: AtomicUsize::new(0),
            client,
            key: Mutex::new(None),
            limits: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Tells the worker that this process committed something that may have events.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the worker on the current runtime; it runs as long as the runtime does.
    pub fn spawn(self: &Arc<Self>, store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move { this.run(store).await })
    }

    async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        let mut coalesce = MIN_COALESCE;
        // Whether the last wait ended with a wake rather than its timeout.
        let mut woken = false;
        loop {
            while self.in_flight.load(Ordering::Acquire) >= self.config.max_in_flight {
                let finished = self.finished.notified();
                if self.in_flight.load(Ordering::Acquire) < self.config.max_in_flight {
                    break;
                }
                let _ = tokio::time::timeout(self.config.poll, finished).await;
            }
            let now = now_millis();
            let lease = now + millis(self.config.lease);
            match store
                .claim_events(now, lease, self.config.claim_limit, false)
                .await
            {
                Ok(events) if !events.is_empty() => {
                    // A full claim means more are due now; a partial one took everything
                    // that was, so the worker waits for the next wake instead of spending
                    // a write transaction on an empty claim.
                    let full = events.len() >= self.config.claim_limit;
                    coalesce = (MIN_COALESCE.max(Duration::from_millis(2) * events.len() as u32))
                        .min(self.config.coalesce.max(MIN_COALESCE));
                    let chunks = self.prepare(store.as_ref(), events, lease).await;
                    for chunk in chunks {
                        let this = self.clone();
                        let store = store.clone();
                        self.in_flight.fetch_add(1, Ordering::AcqRel);
                        tokio::spawn(async move {
                            this.send(store.as_ref(), chunk).await;
                        });
                    }
                    if full {
                        continue;
                    }
                }
                Ok(_) => coalesce = MIN_COALESCE,
                Err(e) => tracing::warn!(error = %e, "webhooks: claiming events failed"),
            }
            // While this process's writes keep waking the worker, each wake is followed by a
            // claim, which takes whatever else has come due (a retry, an expired lease), so
            // asking the database when the next event is due would be a statement per
            // round for nothing; it is asked once the wakes stop, as before.
            let sleep = if woken {
                self.config.poll
            } else {
                match store.next_due().await {
                    Ok(Some(due)) if due > now => {
                        Duration::from_millis((due - now) as u64).min(self.config.poll)
                    }
                    _ => self.config.poll,
                }
            };
            woken = tokio::time::timeout(sleep, self.wake.notified())
                .await
                .is_ok();
            if woken {
                tokio::time::sleep(coalesce).await;
            }
        }
    }

    /// Runs every pending event now, due or not, after the requests in flight have
    /// finished, and waits for the answers (`POST /_spoke/webhooks/flush`). Each event is
    /// tried once per flush.
    pub async fn flush(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
    ) -> spoke_store::StoreResult<FlushReport> {
        let deadline = tokio::time::Instant::now() + self.config.timeout * 3;
        while self.in_flight.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
            let finished = self.finished.notified();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                break;
            }
            let _ = tokio::time::timeout(Duration::from_millis(50), finished).await;
        }
        let now = now_millis();
        let lease = now + millis(self.config.lease);
        let events = store
            .claim_events(now, lease, usize::MAX >> 1, true)
            .await?;
        let chunks = self.prepare(store.as_ref(), events, lease).await;
        let mut report = FlushReport::default();
        let mut sends = tokio::task::JoinSet::new();
        for chunk in chunks {
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            let this = self.clone();
            let store = store.clone();
            sends.spawn(async move { this.send(store.as_ref(), chunk).await });
        }
        while let Some(done) = sends.join_next().await {
            match done {
                Ok((n, true)) => report.delivered += n,
                Ok((n, false)) => report.failed += n,
                Err(e) => tracing::warn!(error = %e, "webhooks: a delivery task failed"),
            }
        }
        report.pending = store.pending_events(None, 0).await?.0;
        Ok(report)
    }

    /// Groups claimed events into requests and finds each app's target and secret.
    async fn prepare(
        &self,
        store: &dyn Store,
        events: Vec<PendingEvent>,
        lease_until: Millis,
    ) -> Vec<Chunk> {
        let mut targets: HashMap<i64, Result<Target, String>> = HashMap::new();
        let mut groups: Vec<((i64, i64, i32), Vec<PendingEvent>)> = Vec::new();
        for event in events {
            let key = (event.app_id, event.portal.0, event.attempt_number);
            match groups
                .iter_mut()
                .find(|(k, g)| *k == key && g.len() < MAX_BATCH)
            {
                Some((_, group)) => group.push(event),
                None => groups.push((key, vec![event])),
            }
        }
        let mut chunks = Vec::with_capacity(groups.len());
        for ((app_id, portal, attempt_number), events) in groups {
            let target = match targets.get(&app_id) {
                Some(known) => known.clone(),
                None => {
                    let found = self.target(store, app_id).await;
                    targets.insert(app_id, found.clone());
                    found
                }
            };
            chunks.push(Chunk {
                app_id,
                portal: PortalId(portal),
                attempt_number,
                events,
                target,
                lease_until,
            });
        }
        chunks
    }

    async fn target(&self, store: &dyn Store, app_id: i64) -> Result<Target, String> {
        let settings = store
            .webhook_settings(app_id)
            .await
            .map_err(|e| format!("reading the app's webhook settings: {e}"))?
            .ok_or_else(|| "the app has no webhook settings (no target URL)".to_owned())?;
        let app = store
            .find_app(AppLookup::Id(app_id))
            .await
            .map_err(|e| format!("reading the app: {e}"))?
            .ok_or_else(|| "the app no longer exists".to_owned())?;
        let key = self.secret_key()?;
        let secrets = oauth::open_secrets(&key, &app)
            .map_err(|e| format!("opening the app's client secret: {e}"))?;
        Ok(Target {
            url: settings.target_url,
            secret: secrets.client_secret,
            max_concurrent: settings.max_concurrent_requests,
        })
    }

    fn secret_key(&self) -> Result<Arc<SecretKey>, String> {
        let mut slot = self.key.lock().map_err(|_| "secret key lock poisoned")?;
        if let Some(key) = slot.as_ref() {
            return Ok(key.clone());
        }
        let path = self
            .config
            .secret_key_path
            .as_ref()
            .ok_or("spoke's data directory (and so its key file) is unknown")?;
        let key = Arc::new(SecretKey::load(path).map_err(|e| e.to_string())?);
        *slot = Some(key.clone());
        Ok(key)
    }

    fn permits(&self, app_id: i64, portal: PortalId, limit: i64) -> Arc<Semaphore> {
        let limit = limit.clamp(1, 1000);
        let Ok(mut map) = self.limits.lock() else {
            return Arc::new(Semaphore::new(limit as usize));
        };
        let entry = map
            .entry((app_id, portal.0))
            .or_insert_with(|| (limit, Arc::new(Semaphore::new(limit as usize))));
        if entry.0 != limit {
            // A changed setting applies to the requests started from now on.
            *entry = (limit, Arc::new(Semaphore::new(limit as usize)));
        }
        entry.1.clone()
    }

    /// Sends one request, records it, and answers (events, delivered?). The caller counted
    /// it in `in_flight`.
    async fn send(&self, store: &dyn Store, chunk: Chunk) -> (u64, bool) {
        let n = chunk.events.len() as u64;
        let delivered = self.attempt(store, chunk).await;
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.finished.notify_waiters();
        (n, delivered)
    }

    async fn attempt(&self, store: &dyn Store, chunk: Chunk) -> bool {
        let event_ids: Vec<i64> = chunk.events.iter().map(|e| e.event_id).collect();
        let (url, status, error, started_at, duration_ms) = match &chunk.target {
            Err(why) => (String::new(), None, Some(why.clone()), now_millis(), 0),
            Ok(target) => {
                let permits = self.permits(chunk.app_id, chunk.portal, target.max_concurrent);
                let _permit = permits.acquire_owned().await.ok();
                // A request that waited for its turn until the lease ran out could overlap a new
                // claim of the same events (a duplicate send, an attempt counted twice): leave
                // them to that claim instead.
                if now_millis() >= chunk.lease_until {
                    tracing::debug!(app = chunk.app_id, "webhooks: lease ran out before sending");
                    return false;
                }
                let body = payload(&chunk.events);
                let started_at = now_millis();
                let clock = std::time::Instant::now();
                let result = self.post(target, body, started_at).await;
                let duration_ms = clock.elapsed().as_millis() as i64;
                let (status, error) = match result {
                    Ok(status) => (Some(status), None),
                    Err(e) => (None, Some(e)),
                };
                (target.url.clone(), status, error, started_at, duration_ms)
            }
        };
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let outcome = if ok {
            AttemptOutcome::Delivered
        } else if chunk.attempt_number >= MAX_RETRIES {
            AttemptOutcome::GiveUp
        } else {
            AttemptOutcome::Retry {
                next_attempt_at: now_millis() + retry_delay(chunk.attempt_number),
            }
        };
        let attempt = DeliveryAttempt {
            app_id: chunk.app_id,
            portal: chunk.portal,
            target_url: url,
            event_ids,
            attempt_number: chunk.attempt_number,
            status,
            error,
            started_at,
            duration_ms,
            outcome,
        };
        if let Err(e) = store.finish_attempt(attempt).await {
            // The lease runs out and the events are claimed again: at least once.
            tracing::warn!(error = %e, app = chunk.app_id, "webhooks: recording an attempt failed");
        }
        ok
    }

    async fn post(&self, target: &Target, body: String, timestamp: Millis) -> Result<u16, String> {
        let v1 = signature::v1(&target.secret, body.as_bytes());
        let v3 = signature::v3(
            &target.secret,
            "POST",
            &target.url,
            body.as_bytes(),
            timestamp,
        );
        let res = self
            .client
            .post(&target.url)
            .header("content-type", "application/json")
            .header("accept", "*/*")
            .header("x-hubspot-signature", v1)
            .header("x-hubspot-signature-version", "v1")
            .header("x-hubspot-signature-v3", v3)
            .header("x-hubspot-request-timestamp", timestamp.to_string())
            .header(
                "x-hubspot-timeout-millis",
                self.config.timeout.as_millis().to_string(),
            )
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let status = res.status().as_u16();
        // The answer's body is read (bounded by the timeout) so the connection can be
        // reused; its content does not matter.
        let _ = res.bytes().await;
        Ok(status)
    }
}

/// Wakes the worker after every request that may have written ([`may_write`]) and
/// succeeded, so this process's events go out without waiting for the poll.
pub async fn wake_after_writes(
    axum::extract::State(webhooks): axum::extract::State<Arc<Webhooks>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let op = crate::catalogue::matched(
        req.method(),
        req.extensions().get::<axum::extract::MatchedPath>(),
    );
    let writes = may_write(req.method(), op);
    let res = next.run(req).await;
    if writes && (res.status().is_success()) {
        webhooks.wake();
    }
    res
}

/// Whether a request may have recorded events: not a GET, HEAD or OPTIONS, and not a
/// catalogue operation that only reads ([`ScopeRule::reads`](crate::catalogue::ScopeRule::reads)),
/// such as HubSpot's searches and batch reads, which are POSTs. A sync sends those by the
/// thousand, and each wake costs a claim: on SQLite a write transaction on the one writer,
/// on PostgreSQL four statements.
pub fn may_write(method: &axum::http::Method, op: Option<&crate::catalogue::Operation>) -> bool {
    use axum::http::Method;
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !op.is_some_and(|op| op.scope.reads())
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".to_owned()
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        e.to_string()
    }
}

fn millis(d: Duration) -> Millis {
    d.as_millis() as Millis
}

/// The delay before the retry after attempt `attempt_number` failed: the schedule's entry
/// with ±20 % jitter, so events that failed together do not all come back together.
pub fn retry_delay(attempt_number: i32) -> Millis {
    let i = attempt_number.clamp(0, RETRY_SCHEDULE.len() as i32 - 1) as usize;
    let base = millis(RETRY_SCHEDULE[i]);
    // A v4 UUID is 122 random bits from the OS; two of its bytes are plenty here.
    let r = uuid::Uuid::new_v4().as_u128() as u16;
    let spread = i64::from(r) % 401 - 200;
    base + base * spread / 1000
}

/// A request's body: a compact JSON array of events, each
/// `{"eventId","subscriptionId","portalId","appId","occurredAt","subscriptionType","attemptNumber"`
/// then the event's own fields as the store recorded them (HubSpot's key order, §42.3).
pub fn payload(events: &[PendingEvent]) -> String {
    let mut out = String::with_capacity(64 + events.len() * 256);
    out.push('[');
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_event(&mut out, e);
    }
    out.push(']');
    out
}

/// One event object (also what `GET /_spoke/webhooks/pending` lists).
pub fn write_event(out: &mut String, e: &PendingEvent) {
    use std::fmt::Write;
    let kind = serde_json::to_string(&e.subscription_type).unwrap_or_else(|_| "\"\"".into());
    let _ = write!(
        out,
        "{{\"eventId\":{},\"subscriptionId\":{},\"portalId\":{},\"appId\":{},\"occurredAt\":{},\"subscriptionType\":{},\"attemptNumber\":{}",
        e.event_id, e.subscription_id, e.portal.0, e.app_id, e.occurred_at, kind, e.attempt_number
    );
    let fields = e.fields.trim();
    let inner = fields
        .strip_prefix('{')
        .and_then(|f| f.strip_suffix('}'))
        .unwrap_or("")
        .trim();
    if !inner.is_empty() {
        out.push(',');
        out.push_str(inner);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, fields: &str) -> PendingEvent {
        PendingEvent {
            event_id: id,
            app_id: 19635961,
            portal: PortalId(242711451),
            subscription_id: 4578255,
            subscription_type: "deal.creation".into(),
            occurred_at: 1769081993375,
            attempt_number: 0,
            fields: fields.into(),
            next_attempt_at: 0,
        }
    }

    #[test]
    fn the_payload_is_hubspots_capture_byte_for_byte() {
        let e = event(
            1030198139,
            r#"{"objectId":267448862446,"changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:52530071"}"#,
        );
        let body = payload(&[e]);
        assert_eq!(
            body,
            r#"[{"eventId":1030198139,"subscriptionId":4578255,"portalId":242711451,"appId":19635961,"occurredAt":1769081993375,"subscriptionType":"deal.creation","attemptNumber":0,"objectId":267448862446,"changeFlag":"CREATED","changeSource":"CRM_UI","sourceId":"userId:52530071"}]"#
        );
        assert_eq!(body.len(), 267, "the capture's content-length");
    }

    #[test]
    fn events_without_fields_and_several_events_stay_valid_json() {
        let body = payload(&[event(1, "{}"), event(2, r#"{"objectId":3}"#)]);
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(parsed.as_array().map(Vec::len), Some(2));
        assert_eq!(parsed[1]["objectId"], 3);
    }

    #[test]
    fn searches_and_batch_reads_do_not_wake_the_worker() {
        use crate::catalogue::operations;
        use axum::http::Method;
        let op = |id: &str| {
            operations()
                .iter()
                .find(|op| op.id() == id)
                .unwrap_or_else(|| panic!("no operation {id}"))
        };
        for id in [
            "objects-v3.search",
            "objects-v3.batch-read",
            "associations-v4.batch-read",
            "associations-v3.batch-read",
        ] {
            assert!(!may_write(&Method::POST, Some(op(id))), "{id}");
        }
        for id in [
            "objects-v3.create",
            "objects-v3.batch-create",
            "objects-v3.batch-archive",
            "objects-v3.update",
        ] {
            let op = op(id);
            let method = Method::from_bytes(op.verb.as_str().as_bytes()).expect("a method");
            assert!(may_write(&method, Some(op)), "{id}");
        }
        // Outside the catalogue (the admin API, the webhooks API, OAuth): by method.
        assert!(may_write(&Method::POST, None));
        assert!(!may_write(&Method::GET, None));
    }

    #[test]
    fn retries_follow_the_schedule_with_bounded_jitter() {
        for (n, base) in RETRY_SCHEDULE.iter().enumerate() {
            let base = millis(*base);
            for _ in 0..50 {
                let d = retry_delay(n as i32);
                assert!(d >= base * 8 / 10 && d <= base * 12 / 10, "{n}: {d}");
            }
        }
        let total: Duration = RETRY_SCHEDULE.iter().sum();
        assert!(total <= Duration::from_secs(24 * 3600));
    }
}
