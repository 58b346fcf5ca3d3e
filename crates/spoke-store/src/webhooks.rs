//! App webhooks as stored: an app's settings and subscriptions, the portals that installed
//! it, and the outbox.
//!
//! An event is written in the same transaction as the change that causes it: each backend's
//! record and association writes ask this module (`Subscriptions`) over what they decided and
//! insert its rows next to the change, so a change is committed with its events or not at
//! all, and a crash between the commit and the delivery loses nothing (the worker finds the
//! events pending when it starts again). Which events a change produces is decided here,
//! once, for both backends.
//!
//! An event is `pending` until an attempt delivers it (`delivered`) or the last retry fails
//! (`failed`). A worker claims due events with a lease ([`WebhookStore::claim_events`]), so
//! several processes on one database deliver each event once per attempt; an expired lease
//! (a worker that died) makes the event claimable again, which is why delivery is
//! at-least-once, with `eventId` stable across attempts. Finished events and attempts are
//! kept [`KEEP_FINISHED_MS`] and then pruned.

use async_trait::async_trait;
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::StoreResult;

/// HubSpot's limit of subscriptions per app.
pub const MAX_SUBSCRIPTIONS: usize = 1000;

/// How long a delivered or failed event, and a delivery attempt, is kept (from when it
/// finished), so the tables stay bounded: three days, the retention HubSpot gives its
/// webhooks journal.
pub const KEEP_FINISHED_MS: Millis = 3 * 24 * 3600 * 1000;

/// An app's webhook settings (`/webhooks/v3/{appId}/settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub app_id: i64,
    pub target_url: String,
    pub max_concurrent_requests: i64,
    /// `throttling.period` as a client sent it (HubSpot no longer documents it; echoed).
    pub period: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// One subscription of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub app_id: i64,
    /// `contact.propertyChange`, `object.creation`, …
    pub event_type: String,
    /// For `object.*`: the type's id (`0-1`, `2-123`).
    pub object_type_id: Option<String>,
    pub property_name: Option<String>,
    pub active: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What [`WebhookStore::create_subscription`] writes; the store assigns the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    pub app_id: i64,
    pub event_type: String,
    pub object_type_id: Option<String>,
    pub property_name: Option<String>,
    pub active: bool,
    pub now: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateSubscription {
    Created(Subscription),
    /// The app already has [`MAX_SUBSCRIPTIONS`].
    LimitReached,
}

/// One event waiting for or past delivery, as the worker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    pub event_id: i64,
    pub app_id: i64,
    pub portal: PortalId,
    pub subscription_id: i64,
    pub subscription_type: String,
    pub occurred_at: Millis,
    pub attempt_number: i32,
    /// The event's fields after `attemptNumber`, a JSON object text with keys in HubSpot's
    /// order, e.g. `{"objectId":1,"propertyName":"email","propertyValue":"a@b.c","changeSource":"API"}`;
    /// the worker writes `{"eventId":…,"subscriptionId":…,"portalId":…,"appId":…,"occurredAt":…,
    /// "subscriptionType":…,"attemptNumber":…` then these fields.
    pub fields: String,
    pub next_attempt_at: Millis,
}

/// What became of a delivery attempt's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Try again at `next_attempt_at` with `attempt_number + 1`.
    Retry {
        next_attempt_at: Millis,
    },
    /// The last retry failed: the events are `failed`.
    GiveUp,
}

impl AttemptOutcome {
    /// The stored spelling (and the admin API's `outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "retrying",
            Self::GiveUp => "failed",
        }
    }
}

/// One POST to an app's target URL, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub app_id: i64,
    pub portal: PortalId,
    pub target_url: String,
    pub event_ids: Vec<i64>,
    pub attempt_number: i32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// Why it failed without a status (timeout, connection refused), or a note.
    pub error: Option<String>,
    pub started_at: Millis,
    pub duration_ms: i64,
    pub outcome: AttemptOutcome,
}

/// A stored [`DeliveryAttempt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub id: i64,
    pub app_id: i64,
    pub portal: PortalId,
    pub target_url: String,
    pub event_ids: Vec<i64>,
    pub attempt_number: i32,
    pub status: Option<u16>,
    pub error: Option<String>,
    pub started_at: Millis,
    pub duration_ms: i64,
    pub outcome: AttemptOutcome,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn webhook_settings(&self, app_id: i64) -> StoreResult<Option<WebhookSettings>>;
    /// Inserts or replaces; an existing row keeps its `created_at`.
    async fn put_webhook_settings(&self, s: WebhookSettings) -> StoreResult<WebhookSettings>;
    async fn delete_webhook_settings(&self, app_id: i64) -> StoreResult<bool>;
    /// By id.
    async fn list_subscriptions(&self, app_id: i64) -> StoreResult<Vec<Subscription>>;
    /// The [`MAX_SUBSCRIPTIONS`] limit is checked in the insert's transaction.
    async fn create_subscription(&self, new: NewSubscription) -> StoreResult<CreateSubscription>;
    /// Sets each `(id, active)` in one transaction; `None` for an id the app does not have.
    async fn set_subscriptions_active(
        &self,
        app_id: i64,
        changes: Vec<(i64, bool)>,
        now: Millis,
    ) -> StoreResult<Vec<Option<Subscription>>>;
    async fn delete_subscription(&self, app_id: i64, id: i64) -> StoreResult<bool>;
    /// Idempotent: installing again keeps the first `installed_at`.
    async fn install_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<()>;
    async fn uninstall_app(&self, app_id: i64, portal: PortalId) -> StoreResult<bool>;
    /// The apps installed in the portal, by id.
    async fn installed_apps(&self, portal: PortalId) -> StoreResult<Vec<i64>>;
    /// Due events (next_attempt_at <= now, not leased by a live lease), oldest first, at most
    /// `limit`, leased to the caller until `lease_until`. On PostgreSQL several processes
    /// call this at once: each event goes to one of them (FOR UPDATE SKIP LOCKED). `force`
    /// ignores next_attempt_at (flush).
    async fn claim_events(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        force: bool,
    ) -> StoreResult<Vec<PendingEvent>>;
    /// Records the attempt and, in the same transaction, marks its events delivered,
    /// reschedules them (attempt_number + 1, lease cleared) or marks them failed. Only
    /// pending events change. Returns the attempt's id.
    async fn finish_attempt(&self, attempt: DeliveryAttempt) -> StoreResult<i64>;
    /// Newest first; `after` is the last id of the previous page.
    async fn list_attempts(
        &self,
        app_id: Option<i64>,
        portal: Option<PortalId>,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AttemptRecord>>;
    /// How many events are pending, and the first `limit` of them, oldest first.
    async fn pending_events(
        &self,
        app_id: Option<i64>,
        limit: usize,
    ) -> StoreResult<(u64, Vec<PendingEvent>)>;
    /// The earliest next_attempt_at among pending events (the worker's sleep), if any.
    async fn next_due(&self) -> StoreResult<Option<Millis>>;
}
