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
//! An event is `pending` until an attempt delivers it (then its row is deleted; the
//! attempt's row keeps its id) or the last retry fails (`failed`). A worker claims due
//! events with a lease ([`WebhookStore::claim_events`]), so several processes on one
//! database deliver each event once per attempt; an expired lease (a worker that died)
//! makes the event claimable again, which is why delivery is at-least-once, with `eventId`
//! stable across attempts. Failed events and attempts are kept [`KEEP_FINISHED_MS`] and
//! then pruned.

use async_trait::async_trait;
use spoke_core::time::Millis;
use spoke_core::PortalId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::StoreResult;

/// HubSpot's limit of subscriptions per app.
pub const MAX_SUBSCRIPTIONS: usize = 1000;

/// How long a failed event, and a delivery attempt, is kept (from when it finished), so
/// the tables stay bounded: three days, the retention HubSpot gives its webhooks journal.
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
    /// Idempotent: installing again keeps the first `installed_at`. A new install writes
    /// the app's `APP_INSTALL` journal entry (`journal::Lifecycle`) in its transaction.
    async fn install_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<()>;
    /// Whether the app was installed; if so, its `APP_UNINSTALL` journal entry is written
    /// in the same transaction, at `now`.
    async fn uninstall_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<bool>;
    /// The apps installed in the portal, by id.
    async fn installed_apps(&self, portal: PortalId) -> StoreResult<Vec<i64>>;
    /// Due events (next_attempt_at <= now, not leased by a live lease), at most `limit`,
    /// the earliest due first (then the oldest: the claim's index order), leased to the
    /// caller until `lease_until` and returned oldest first. On PostgreSQL several processes
    /// call this at once: each event goes to one of them (FOR UPDATE SKIP LOCKED). `force`
    /// ignores next_attempt_at (flush).
    async fn claim_events(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        force: bool,
    ) -> StoreResult<Vec<PendingEvent>>;
    /// Records the attempt and, in the same transaction, deletes its events (delivered),
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

// ---------------------------------------------------------------------------------------
// Which events a change produces: the one rule, used inside both backends' transactions.

/// Properties HubSpot refuses subscriptions to (hubspot-behavior-apps.md §42.1, and §42.2
/// for generic subscriptions); the webhooks API refuses them, and no propertyChange event is
/// made for them even if a stored subscription names one.
pub const UNSUBSCRIBABLE_PROPERTIES: &[&str] = &[
    "hs_lastmodifieddate",
    "num_unique_conversion_events",
    "hs_email_html",
    "hs_email_subject",
    "hs_communication_body",
];

/// Who listens to a write in portal `$1`, webhooks and journal in one statement (a write
/// transaction reads both, and a second statement was a second probe of `app_installs` on
/// SQLite and a second round trip on PostgreSQL). The first row (`kind` -1) is the
/// listener generation (`listener_generation`, raised by triggers on every change of the
/// five tables read here, in the changing transaction). The listener rows follow only when
/// that generation is not `$2`, the one the caller's [`ListenerCache`] holds the portal's
/// listeners for: the statement sees one snapshot, so the generation and the rows agree.
/// Webhook rows (`kind` 0) are the active subscriptions of apps installed in the portal that
/// have webhook settings; journal rows (`kind` 1) the journal subscriptions of installed apps
/// that name the portal, one row per filter (NULL conditions when none). Both dialects read
/// `$1` and `$2` as the first and second parameters; rows come ordered by kind, then
/// subscription, then filter ([`WriteListeners::from_rows`] groups them so).
pub const LISTENERS_SQL: &str = "SELECT CAST(-1 AS BIGINT), g.generation, CAST(NULL AS BIGINT),
         CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT),
         CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT)
     FROM listener_generation g
     UNION ALL
     SELECT CAST(0 AS BIGINT), s.id, s.app_id, s.event_type,
         s.object_type_id, s.property_name, CAST(NULL AS TEXT), CAST(NULL AS TEXT),
         CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT)
     FROM app_installs i
     JOIN webhook_settings w ON w.app_id = i.app_id
     JOIN webhook_subscriptions s ON s.app_id = i.app_id
     WHERE i.portal_id = $1 AND s.active
         AND (SELECT generation FROM listener_generation) <> $2
     UNION ALL
     SELECT CAST(1 AS BIGINT), s.id, s.app_id, s.subscription_type, s.object_type_id,
         s.actions, s.properties, s.object_ids, s.associated_object_type_ids, f.conditions, f.id
     FROM app_installs i
     JOIN journal_subscriptions s ON s.app_id = i.app_id AND s.portal_id = i.portal_id
     LEFT JOIN journal_filters f ON f.subscription_id = s.id
     WHERE i.portal_id = $1 AND s.subscription_type IN ('OBJECT', 'ASSOCIATION')
         AND (SELECT generation FROM listener_generation) <> $2
     ORDER BY 1, 2, 11";

/// `$2` of [`LISTENERS_SQL`] when nothing is cached: generations start at 0.
pub const NOT_CACHED: i64 = -1;

/// One row of [`LISTENERS_SQL`].
pub enum ListenerRow {
    Generation(i64),
    Webhook(Listener),
    Journal(crate::journal::ListenerRow),
}

/// A [`ListenerRow`] from [`LISTENERS_SQL`]'s columns.
pub fn listener_row<C: Columns>(c: &C) -> Result<ListenerRow, C::Error> {
    match c.int(0)? {
        -1 => Ok(ListenerRow::Generation(c.int(1)?)),
        0 => Ok(ListenerRow::Webhook(Listener {
            subscription_id: c.int(1)?,
            app_id: c.int(2)?,
            event_type: c.text(3)?,
            object_type_id: c.text_or_null(4)?,
            property_name: c.text_or_null(5)?,
        })),
        _ => Ok(ListenerRow::Journal(crate::journal::ListenerRow {
            subscription_id: c.int(1)?,
            app_id: c.int(2)?,
            subscription_type: c.text(3)?,
            object_type_id: c.text_or_null(4)?,
            actions: c.text(5)?,
            properties: c.text(6)?,
            object_ids: c.text(7)?,
            associated: c.text(8)?,
            conditions: c.text_or_null(9)?,
        })),
    }
}

/// The listeners of the portals a store handle wrote to, each under the listener generation
/// it was read at. A record write asks [`LISTENERS_SQL`] with the generation cached for its
/// portal: when the database's is still that one, the statement returns its one generation
/// row (no join, no rows to decode) and the cached listeners are used. Valid across
/// processes sharing a database (the generation is the database's, raised by triggers in
/// whatever transaction changes a listener table: API writes, `spoke app` commands, a
/// portal's reset, restore or deletion, an import), and never stale inside a transaction
/// (the generation is read in the write's own snapshot). One generation for every portal:
/// listener changes are rare, and a change then costs each portal one full read.
#[derive(Clone, Default)]
pub struct ListenerCache {
    portals: Arc<Mutex<HashMap<i64, Cached>>>,
}

/// A portal's listeners and the listener generation they were read at.
type Cached = (i64, Arc<WriteListeners>);

/// Portals remembered at most; past it the cache starts over (each portal then costs one
/// full read again).
const CACHED_PORTALS: usize = 10_000;

impl ListenerCache {
    /// `$2` for [`LISTENERS_SQL`] in a write to `portal`.
    pub fn generation(&self, portal: PortalId) -> i64 {
        self.portals
            .lock()
            .ok()
            .and_then(|m| m.get(&portal.0).map(|(g, _)| *g))
            .unwrap_or(NOT_CACHED)
    }

    /// The listeners [`LISTENERS_SQL`] answered with `rows` when asked with `asked`.
    pub fn resolve(
        &self,
        portal: PortalId,
        asked: i64,
        rows: Vec<ListenerRow>,
    ) -> Arc<WriteListeners> {
        let generation = rows.iter().find_map(|r| match r {
            ListenerRow::Generation(g) => Some(*g),
            _ => None,
        });
        let Ok(mut portals) = self.portals.lock() else {
            return Arc::new(WriteListeners::from_rows(rows));
        };
        if let Some(g) = generation.filter(|g| *g == asked && asked != NOT_CACHED) {
            if let Some((cached, listeners)) = portals.get(&portal.0) {
                if *cached == g {
                    return listeners.clone();
                }
            }
        }
        let listeners = Arc::new(WriteListeners::from_rows(rows));
        if let Some(g) = generation {
            if portals.len() >= CACHED_PORTALS {
                portals.clear();
            }
            portals.insert(portal.0, (g, listeners.clone()));
        }
        listeners
    }
}

/// Everyone listening to one portal's writes: its webhook subscriptions (events into the
/// outbox) and its journal subscriptions (journal entries).
#[derive(Debug, Clone, Default)]
pub struct WriteListeners {
    pub webhooks: Listeners,
    pub journal: crate::journal::JournalListeners,
}

impl WriteListeners {
    /// From [`LISTENERS_SQL`]'s rows, in its order.
    pub fn from_rows(rows: Vec<ListenerRow>) -> Self {
        let mut webhooks = Vec::new();
        let mut journal = Vec::new();
        for r in rows {
            match r {
                ListenerRow::Generation(_) => {}
                ListenerRow::Webhook(l) => webhooks.push(l),
                ListenerRow::Journal(j) => journal.push(j),
            }
        }
        Self {
            webhooks: Listeners::new(webhooks),
            journal: crate::journal::JournalListeners::new(journal),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.webhooks.is_empty() && self.journal.is_empty()
    }
}

/// The columns [`NewEvent`]s are inserted into, in [`EventBatch`]'s order.
pub const EVENT_INSERT_COLUMNS: &str = "app_id, portal_id, subscription_id, subscription_type, \
     occurred_at, fields, attempt_number, next_attempt_at, state";

/// The columns [`PendingEvent`] is read from ([`pending_event`]).
pub const PENDING_COLUMNS: &str = "event_id, app_id, portal_id, subscription_id, \
     subscription_type, occurred_at, attempt_number, fields, next_attempt_at";

/// The columns [`AttemptRecord`] is read from ([`attempt_record`]).
pub const ATTEMPT_COLUMNS: &str = "id, app_id, portal_id, target_url, event_ids, \
     attempt_number, status, error, started_at, duration_ms, outcome, next_attempt_at";

/// The columns [`Subscription`] is read from ([`subscription`]).
pub const SUBSCRIPTION_COLUMNS: &str =
    "id, app_id, event_type, object_type_id, property_name, active, created_at, updated_at";

/// The columns [`WebhookSettings`] is read from ([`settings`]).
pub const SETTINGS_COLUMNS: &str =
    "app_id, target_url, max_concurrent_requests, period, created_at, updated_at";

/// The event states as stored. A delivered event is deleted; the `delivered` rows that
/// processes before issue 15's `whpg` left are pruned with the failed ones (any state but
/// pending, after [`KEEP_FINISHED_MS`]).
pub const PENDING: &str = "pending";
pub const FAILED: &str = "failed";

/// One row of [`LISTENERS_SQL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub subscription_id: i64,
    pub app_id: i64,
    pub event_type: String,
    pub object_type_id: Option<String>,
    pub property_name: Option<String>,
}

/// What kind of change an event reports: the part of `eventType` after the dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Creation,
    Deletion,
    PropertyChange,
    AssociationChange,
}

impl Kind {
    fn suffix(self) -> &'static str {
        match self {
            Self::Creation => "creation",
            Self::Deletion => "deletion",
            Self::PropertyChange => "propertyChange",
            Self::AssociationChange => "associationChange",
        }
    }
}

/// An event to insert: the change's transaction supplies the portal and the times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub app_id: i64,
    pub subscription_id: i64,
    pub subscription_type: String,
    /// As [`PendingEvent::fields`].
    pub fields: String,
}

/// One association row written or deleted by a transaction (one direction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkChange {
    pub from_type: String,
    pub from_id: spoke_core::ObjectId,
    pub to_type: String,
    pub to_id: spoke_core::ObjectId,
    pub category: String,
    pub type_id: i64,
    pub removed: bool,
}

impl LinkChange {
    pub fn new(row: &crate::graph::LinkRow<'_>, removed: bool) -> Self {
        Self {
            from_type: row.from.0.to_owned(),
            from_id: row.from.1,
            to_type: row.to.0.to_owned(),
            to_id: row.to.1,
            category: row.category.to_owned(),
            type_id: row.type_id,
            removed,
        }
    }
}

/// The events of one transaction, with what every row of them shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBatch {
    pub portal: PortalId,
    /// The write's `now` (the portal's clock): `occurredAt`.
    pub occurred_at: Millis,
    /// When the first attempt is due: `occurred_at`, but never later than the real time
    /// of the write, so a portal clock set ahead does not hold delivery back.
    pub next_attempt_at: Millis,
    pub events: Vec<NewEvent>,
}

impl EventBatch {
    pub fn new(portal: PortalId, occurred_at: Millis) -> Self {
        Self {
            portal,
            occurred_at,
            next_attempt_at: occurred_at.min(spoke_core::time::now_millis()),
            events: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

/// The subscriptions that listen to one portal's write, and the rule of which events each
/// change gives them.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    listeners: Vec<Listener>,
}

impl Listeners {
    pub fn new(listeners: Vec<Listener>) -> Self {
        Self { listeners }
    }

    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    /// The listeners of `kind` events about records of `type_id`, each with whether it
    /// listens as `object.*` (whose events name the type).
    fn of(&self, type_id: &str, kind: Kind) -> impl Iterator<Item = (&Listener, bool)> + '_ {
        let named = spoke_core::catalog::webhook_name(type_id)
            .filter(|w| kind != Kind::AssociationChange || w.association_events);
        let type_id = type_id.to_owned();
        self.listeners.iter().filter_map(move |l| {
            let (prefix, suffix) = l.event_type.split_once('.')?;
            if suffix != kind.suffix() {
                return None;
            }
            if prefix == "object" {
                return (l.object_type_id.as_deref() == Some(type_id.as_str()))
                    .then_some((l, true));
            }
            named.filter(|w| w.name == prefix).map(|_| (l, false))
        })
    }

    fn push(out: &mut EventBatch, l: &Listener, fields: String) {
        out.events.push(NewEvent {
            app_id: l.app_id,
            subscription_id: l.subscription_id,
            subscription_type: l.event_type.clone(),
            fields,
        });
    }

    /// Creation events for records of `type_id` created with these ids.
    pub fn created(
        &self,
        out: &mut EventBatch,
        type_id: &str,
        ids: &[spoke_core::ObjectId],
        source: &crate::WriteSource,
    ) {
        self.flagged(out, type_id, ids, source, Kind::Creation, "CREATED");
    }

    /// Deletion events for records of `type_id` archived by the write.
    pub fn archived(
        &self,
        out: &mut EventBatch,
        type_id: &str,
        ids: &[spoke_core::ObjectId],
        source: &crate::WriteSource,
    ) {
        self.flagged(out, type_id, ids, source, Kind::Deletion, "DELETED");
    }

    fn flagged(
        &self,
        out: &mut EventBatch,
        type_id: &str,
        ids: &[spoke_core::ObjectId],
        source: &crate::WriteSource,
        kind: Kind,
        flag: &str,
    ) {
        if self.is_empty() {
            return;
        }
        for &id in ids {
            for (l, generic) in self.of(type_id, kind) {
                let mut f = Fields::default();
                f.num("objectId", id);
                f.text("changeFlag", flag);
                f.source(source);
                if generic {
                    f.text("objectTypeId", type_id);
                }
                Self::push(out, l, f.finish());
            }
        }
    }

    /// propertyChange events for one write of a stored record: `changes` maps each
    /// property whose value changed to its new value ("" when cleared).
    pub fn changed<'c>(
        &self,
        out: &mut EventBatch,
        type_id: &str,
        id: spoke_core::ObjectId,
        changes: impl IntoIterator<Item = (&'c String, &'c String)>,
        source: &crate::WriteSource,
    ) {
        if self.is_empty() {
            return;
        }
        for (name, value) in changes {
            if UNSUBSCRIBABLE_PROPERTIES.contains(&name.as_str()) {
                continue;
            }
            for (l, generic) in self.of(type_id, Kind::PropertyChange) {
                if l.property_name.as_deref() != Some(name.as_str()) {
                    continue;
                }
                let mut f = Fields::default();
                f.num("objectId", id);
                f.text("propertyName", name);
                f.text("propertyValue", value);
                f.source(source);
                if generic {
                    f.text("objectTypeId", type_id);
                }
                Self::push(out, l, f.finish());
            }
        }
    }

    /// The events of a record batch's decision, after its new records have their ids:
    /// creations, then property changes of the stored records it changed. (HubSpot sends
    /// no propertyChange for the values a record is created with; a record created and
    /// then changed by the same batch counts as created.)
    pub fn record_events(
        &self,
        out: &mut EventBatch,
        ctx: &crate::WriteContext,
        decided: &crate::plan::Decided<'_>,
    ) {
        if self.is_empty() || decided.stopped() {
            return;
        }
        let created: Vec<spoke_core::ObjectId> = decided.created().map(|r| r.id).collect();
        self.created(out, &ctx.object_type, &created, &ctx.source);
        for h in decided.history().filter(|h| !h.new) {
            self.changed(out, &ctx.object_type, h.id, h.changes, &ctx.source);
        }
    }

    /// associationChange events for association rows written or deleted: one per row, to
    /// the listeners of the row's `from` type (a link's two rows reach both sides).
    pub fn links(&self, out: &mut EventBatch, changes: &[LinkChange], source: &crate::WriteSource) {
        if self.is_empty() {
            return;
        }
        for c in changes {
            for (l, generic) in self.of(&c.from_type, Kind::AssociationChange) {
                let mut f = Fields::default();
                f.text("changeSource", &source.source_type);
                f.text(
                    "associationType",
                    &format!("{}_TO_{}", type_word(&c.from_type), type_word(&c.to_type)),
                );
                f.num("fromObjectId", c.from_id);
                f.num("toObjectId", c.to_id);
                f.bool("associationRemoved", c.removed);
                f.bool(
                    "isPrimaryAssociation",
                    spoke_core::association::is_primary(&c.category, c.type_id),
                );
                if let Some(id) = &source.source_id {
                    f.text("sourceId", id);
                }
                f.text("associationCategory", &c.category);
                f.num("associationTypeId", c.type_id);
                if generic {
                    f.text("objectTypeId", &c.from_type);
                    f.text("toObjectTypeId", &c.to_type);
                }
                Self::push(out, l, f.finish());
            }
        }
    }
}

/// A type in `associationType` (`CONTACT_TO_COMPANY`): a standard type's upper-case name;
/// a custom type (which has none) by its id (`CONTACT_TO_2-123`, docs/compatibility.md).
fn type_word(type_id: &str) -> String {
    spoke_core::ObjectType::by_id(type_id).map_or_else(|| type_id.to_owned(), |t| t.upper.clone())
}

/// A JSON object written key by key, in the order HubSpot sends them, without the braces
/// closed until [`finish`](Self::finish).
#[derive(Default)]
struct Fields(String);

impl Fields {
    fn key(&mut self, key: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn num(&mut self, key: &str, n: i64) {
        self.key(key);
        self.0.push_str(&n.to_string());
    }

    fn bool(&mut self, key: &str, b: bool) {
        self.key(key);
        self.0.push_str(if b { "true" } else { "false" });
    }

    fn text(&mut self, key: &str, s: &str) {
        self.key(key);
        // Serializing a str cannot fail; the fallback keeps the object well-formed anyway.
        self.0
            .push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned()));
    }

    fn source(&mut self, source: &crate::WriteSource) {
        self.text("changeSource", &source.source_type);
        if let Some(id) = &source.source_id {
            self.text("sourceId", id);
        }
    }

    fn finish(mut self) -> String {
        if self.0.is_empty() {
            self.0.push('{');
        }
        self.0.push('}');
        self.0
    }
}

// Rows to values: both backends read the same columns in the same order.

use crate::columns::Columns;

/// A [`Subscription`] from [`SUBSCRIPTION_COLUMNS`].
pub fn subscription<C: Columns>(c: &C) -> Result<Subscription, C::Error> {
    Ok(Subscription {
        id: c.int(0)?,
        app_id: c.int(1)?,
        event_type: c.text(2)?,
        object_type_id: c.text_or_null(3)?,
        property_name: c.text_or_null(4)?,
        active: c.boolean(5)?,
        created_at: c.int(6)?,
        updated_at: c.int(7)?,
    })
}

/// [`WebhookSettings`] from [`SETTINGS_COLUMNS`].
pub fn settings<C: Columns>(c: &C) -> Result<WebhookSettings, C::Error> {
    Ok(WebhookSettings {
        app_id: c.int(0)?,
        target_url: c.text(1)?,
        max_concurrent_requests: c.int(2)?,
        period: c.text_or_null(3)?,
        created_at: c.int(4)?,
        updated_at: c.int(5)?,
    })
}

/// A [`PendingEvent`] from [`PENDING_COLUMNS`].
pub fn pending_event<C: Columns>(c: &C) -> Result<PendingEvent, C::Error> {
    Ok(PendingEvent {
        event_id: c.int(0)?,
        app_id: c.int(1)?,
        portal: PortalId(c.int(2)?),
        subscription_id: c.int(3)?,
        subscription_type: c.text(4)?,
        occurred_at: c.int(5)?,
        attempt_number: c.int32(6)?,
        fields: c.text(7)?,
        next_attempt_at: c.int(8)?,
    })
}

/// An [`AttemptRecord`] from [`ATTEMPT_COLUMNS`].
pub fn attempt_record<C: Columns>(c: &C) -> Result<AttemptRecord, C::Error> {
    let outcome = match c.text(10)?.as_str() {
        "delivered" => AttemptOutcome::Delivered,
        "retrying" => AttemptOutcome::Retry {
            next_attempt_at: c.int_or_null(11)?.unwrap_or(0),
        },
        _ => AttemptOutcome::GiveUp,
    };
    Ok(AttemptRecord {
        id: c.int(0)?,
        app_id: c.int(1)?,
        portal: PortalId(c.int(2)?),
        target_url: c.text(3)?,
        event_ids: event_ids_from_column(&c.text(4)?),
        attempt_number: c.int32(5)?,
        status: c.int_or_null(6)?.and_then(|s| u16::try_from(s).ok()),
        error: c.text_or_null(7)?,
        started_at: c.int(8)?,
        duration_ms: c.int(9)?,
        outcome,
    })
}

/// An attempt's event ids as stored: a JSON array.
pub fn event_ids_column(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

fn event_ids_from_column(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

impl AttemptOutcome {
    /// The stored `next_attempt_at` of a retry.
    pub fn next_attempt_at(self) -> Option<Millis> {
        match self {
            Self::Retry { next_attempt_at } => Some(next_attempt_at),
            _ => None,
        }
    }
}

/// When the worker must look again: the earliest moment a pending event is due and not
/// leased (a leased event is due again when its lease runs out).
pub const NEXT_DUE_SQL: &str = "SELECT MIN(CASE WHEN lease_until > next_attempt_at
         THEN lease_until ELSE next_attempt_at END)
     FROM webhook_events WHERE state = 'pending'";

/// The statement that moves an attempt's pending events on, and the value of its
/// `at_param` if it has one: delivered (deleted: the attempt's row keeps their ids; no
/// `at_param`), failed (`finished_at`, `finished`), or rescheduled one attempt later
/// (`next_attempt_at`). `ids` is the condition naming the events (`event_id = ?1`,
/// `event_id = ANY($1)`). Events no longer pending (another worker finished them after a
/// lease ran out) are left as they are.
///
/// A delivered event is deleted rather than marked: nothing reads a delivered event's row
/// (the pending view and the claim read pending ones, the attempts view its attempt's
/// row), and on PostgreSQL a mark is a new row version with an entry in every index,
/// where a delete only stamps the row (issue 15: delivery's cost to the write path).
pub fn finish_event_sql(
    outcome: AttemptOutcome,
    finished: Millis,
    ids: &str,
    at_param: &str,
) -> (String, Option<Millis>) {
    let (set, at) = match outcome {
        AttemptOutcome::Delivered => {
            return (
                format!("DELETE FROM webhook_events WHERE {ids} AND state = '{PENDING}'"),
                None,
            )
        }
        AttemptOutcome::GiveUp => (
            format!("state = '{FAILED}', finished_at = {at_param}"),
            finished,
        ),
        AttemptOutcome::Retry { next_attempt_at } => (
            format!("attempt_number = attempt_number + 1, next_attempt_at = {at_param}"),
            next_attempt_at,
        ),
    };
    (
        format!(
            "UPDATE webhook_events SET {set}, lease_until = NULL
             WHERE {ids} AND state = '{PENDING}'"
        ),
        Some(at),
    )
}
