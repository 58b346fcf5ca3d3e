//! Prometheus metrics at `/metrics` (issue 16): requests by operation and status, their
//! latency, every store call's duration, and rate-limit rejections.
//!
//! The operation is the route axum matched (`POST /crm/v3/objects/{objectType}/batch/read`),
//! which is the catalogue row's path (or an admin route's); a path no route matches counts
//! as `unmatched`, so a scanner cannot grow the label set. Store calls are timed by
//! [`TimedStore`], which wraps the app's store: every narrow trait method, by name, so a
//! request's database time is visible apart from its HTTP time.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use spoke_core::time::Millis;
use spoke_core::CustomSchema;
use spoke_core::PortalId;
use spoke_core::{PropertyDefinition, StoredRecord};
use spoke_store::admin::{AdminStore, SnapshotInfo, SnapshotRefusal};
use spoke_store::directory::{DirectoryRefusal, DirectoryStore, DirectoryUser, DirectoryWrite};
use spoke_store::emulator::{Clock, EmulatorStore, FaultRule, FaultSpec};
use spoke_store::journal::{
    self, AppToken, JournalEntry, JournalFilter, JournalStore, JournalSubscription,
    NewJournalSubscription,
};
use spoke_store::oauth::{AppLookup, AppRecord, CodeUse, GrantKind, GrantRecord, NewApp};
use spoke_store::pipelines::{Applied, AuditKey, AuditRecord, Pipeline, PipelineWrite, Refusal};
use spoke_store::schemas::{
    AssociationDefinition, CreatedSchema, NewDefinition, NewSchema, SchemaRefusal, SchemaUpdate,
};
use spoke_store::webhooks::{
    AttemptRecord, CreateSubscription, DeliveryAttempt, NewSubscription, PendingEvent,
    Subscription, WebhookSettings, WebhookStore,
};
use spoke_store::{
    graph, requests, AssociationPage, AssociationStore, ItemResult, LabelRecord, ObjectStore,
    PipelineStore, PropertyGroup, PropertyStore, RecordArchive, RecordBatch, RecordRead,
    RecordSearch, RowKey, Rows, SearchPage, Store, StoreResult, Table, TokenRecord, TokenStore,
    TransferStore, Upserted, WriteContext,
};
use spoke_store::{OAuthStore, SchemaKey, SchemaStore};

/// The app's metrics, in their own registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    store_calls: HistogramVec,
    rate_limited: IntCounterVec,
    inspector: crate::inspector::InspectorMetrics,
    faults: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "spoke_http_requests_total",
                "Requests answered, by operation and status",
            ),
            &["operation", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "spoke_http_request_duration_seconds",
                "Time from a request's arrival to its response head, by operation",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["operation"],
        );
        let store_calls = HistogramVec::new(
            HistogramOpts::new(
                "spoke_store_call_duration_seconds",
                "Duration of each storage call (one transaction or read), by trait method",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 5.0,
            ]),
            &["call", "outcome"],
        );
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "spoke_rate_limited_total",
                "Requests refused with 429 by the rate limiter (--rate-limit), by operation",
            ),
            &["operation"],
        );
        let faults = IntCounterVec::new(
            Opts::new(
                "spoke_faults_injected_total",
                "Faults injected by the admin API's fault rules, by action",
            ),
            &["action"],
        );
        // Fixed names and labels: only a programming error fails here, and every test that
        // builds an app would show it. Nothing a request sends reaches these.
        let requests = requests.expect("metric definition");
        let latency = latency.expect("metric definition");
        let store_calls = store_calls.expect("metric definition");
        let rate_limited = rate_limited.expect("metric definition");
        let inspector = crate::inspector::InspectorMetrics {
            recorded: IntCounter::new(
                "spoke_inspector_recorded_total",
                "Requests recorded by the request inspector",
            )
            .expect("metric definition"),
            evicted: IntCounter::new(
                "spoke_inspector_evicted_total",
                "Recorded requests dropped from the inspector's log to keep it within its bounds",
            )
            .expect("metric definition"),
            bytes: IntGauge::new(
                "spoke_inspector_bytes",
                "Bytes the inspector's log holds (entries' strings, headers and kept bodies)",
            )
            .expect("metric definition"),
        };
        let faults = faults.expect("metric definition");
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(store_calls.clone()),
            Box::new(rate_limited.clone()),
            Box::new(inspector.recorded.clone()),
            Box::new(inspector.evicted.clone()),
            Box::new(inspector.bytes.clone()),
            Box::new(faults.clone()),
        ] {
            if let Err(e) = registry.register(c) {
                tracing::warn!(error = %e, "metric not registered");
            }
        }
        Arc::new(Self {
            registry,
            requests,
            latency,
            store_calls,
            rate_limited,
            inspector,
            faults,
        })
    }

    /// The request inspector's series (shared handles, so a replaced log keeps counting).
    pub fn inspector(&self) -> crate::inspector::InspectorMetrics {
        self.inspector.clone()
    }

    /// Counts a fault a rule injected (`error`, `latency`, `disconnect`).
    pub fn fault_injected(&self, action: &str) {
        self.faults.with_label_values(&[action]).inc();
    }

    fn observe_store(&self, call: &str, ok: bool, started: Instant) {
        let outcome = if ok { "ok" } else { "error" };
        self.store_calls
            .with_label_values(&[call, outcome])
            .observe(started.elapsed().as_secs_f64());
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Counts and times every request, after the wire middleware has rendered its answer.
pub async fn middleware(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let operation = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => "unmatched".to_owned(),
    };
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status();
    metrics
        .latency
        .with_label_values(&[&operation])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[&operation, status.as_str()])
        .inc();
    // The rate limiter's 429s; a fault rule's carry its header and are counted as faults.
    if status == axum::http::StatusCode::TOO_MANY_REQUESTS
        && !res.headers().contains_key(crate::faults::FAULT_HEADER)
    {
        metrics.rate_limited.with_label_values(&[&operation]).inc();
    }
    res
}

/// `GET /metrics`.
pub async fn render(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        metrics.render(),
    )
        .into_response()
}

/// A store that times every call of the one it wraps.
pub struct TimedStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl TimedStore {
    pub fn wrap(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Arc<dyn Store> {
        Arc::new(Self { inner, metrics })
    }
}

/// Runs a call of the inner store and records its duration under its name.
macro_rules! timed {
    ($self:ident, $name:ident ( $($arg:expr),* )) => {{
        let started = Instant::now();
        let out = $self.inner.$name($($arg),*).await;
        $self.metrics.observe_store(stringify!($name), out.is_ok(), started);
        out
    }};
}

#[async_trait]
impl ObjectStore for TimedStore {
    async fn write_objects(
        &self,
        ctx: &WriteContext,
        batch: RecordBatch,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        timed!(self, write_objects(ctx, batch))
    }
    async fn archive_records(&self, archive: RecordArchive<'_>) -> StoreResult<()> {
        timed!(self, archive_records(archive))
    }
    async fn fetch_records(&self, read: RecordRead<'_>) -> StoreResult<Vec<Option<StoredRecord>>> {
        timed!(self, fetch_records(read))
    }
    async fn search_records(&self, search: RecordSearch<'_>) -> StoreResult<SearchPage> {
        timed!(self, search_records(search))
    }
}

#[async_trait]
impl PropertyStore for TimedStore {
    async fn list_properties(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyDefinition>> {
        timed!(self, list_properties(portal, object_type))
    }
    async fn list_groups(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyGroup>> {
        timed!(self, list_groups(portal, object_type))
    }
    async fn insert_definitions(
        &self,
        insert: requests::DefinitionInsert,
    ) -> StoreResult<Option<Vec<bool>>> {
        timed!(self, insert_definitions(insert))
    }
    async fn archive_definitions(
        &self,
        archive: requests::DefinitionArchive,
    ) -> StoreResult<usize> {
        timed!(self, archive_definitions(archive))
    }
    async fn replace_definition(&self, replace: requests::DefinitionReplace) -> StoreResult<bool> {
        timed!(self, replace_definition(replace))
    }
    async fn write_group(&self, put: requests::GroupPut) -> StoreResult<bool> {
        timed!(self, write_group(put))
    }
}

#[async_trait]
impl TokenStore for TimedStore {
    async fn ensure_portal(&self, portal: PortalId, now: Millis) -> StoreResult<()> {
        timed!(self, ensure_portal(portal, now))
    }
    async fn list_portals(&self) -> StoreResult<Vec<PortalId>> {
        timed!(self, list_portals())
    }
    async fn insert_token(&self, token: requests::NewToken) -> StoreResult<TokenRecord> {
        timed!(self, insert_token(token))
    }
    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        timed!(self, find_token(hash))
    }
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        timed!(self, list_tokens())
    }
    async fn revoke_token(&self, id: i64, now: Millis) -> StoreResult<bool> {
        timed!(self, revoke_token(id, now))
    }
}

#[async_trait]
impl AssociationStore for TimedStore {
    async fn write_associations(
        &self,
        portal: PortalId,
        items: Vec<spoke_store::AssociationWrite>,
        ctx: spoke_store::LinkContext,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        timed!(self, write_associations(portal, items, ctx))
    }
    async fn unlink_associations(
        &self,
        portal: PortalId,
        items: Vec<spoke_store::AssociationRemoval>,
        ctx: spoke_store::LinkContext,
    ) -> StoreResult<()> {
        timed!(self, unlink_associations(portal, items, ctx))
    }
    async fn read_pages(&self, request: graph::PageRequest) -> StoreResult<Vec<AssociationPage>> {
        timed!(self, read_pages(request))
    }
    async fn read_labels(&self, pair: graph::LabelPair) -> StoreResult<Vec<LabelRecord>> {
        timed!(self, read_labels(pair))
    }
    async fn insert_label(&self, new: graph::NewLabel) -> StoreResult<Option<Vec<LabelRecord>>> {
        timed!(self, insert_label(new))
    }
    async fn rename_label(
        &self,
        key: graph::LabelKey,
        rename: graph::LabelRename,
    ) -> StoreResult<bool> {
        timed!(self, rename_label(key, rename))
    }
    async fn remove_label(&self, key: graph::LabelKey) -> StoreResult<bool> {
        timed!(self, remove_label(key))
    }
}

#[async_trait]
impl TransferStore for TimedStore {
    async fn export_rows(
        &self,
        table: Table,
        after: Option<&RowKey>,
        limit: usize,
    ) -> StoreResult<Rows> {
        timed!(self, export_rows(table, after, limit))
    }
    async fn import_rows(&self, rows: Rows) -> StoreResult<u64> {
        timed!(self, import_rows(rows))
    }
    async fn count_rows(&self, table: Table) -> StoreResult<u64> {
        timed!(self, count_rows(table))
    }
    async fn finish_import(&self) -> StoreResult<()> {
        timed!(self, finish_import())
    }
}

#[async_trait]
impl DirectoryStore for TimedStore {
    async fn read_directory(
        &self,
        portal: PortalId,
    ) -> StoreResult<spoke_store::directory::Directory> {
        timed!(self, read_directory(portal))
    }
    async fn write_directory(
        &self,
        write: DirectoryWrite,
    ) -> StoreResult<Result<DirectoryUser, DirectoryRefusal>> {
        timed!(self, write_directory(write))
    }
}

#[async_trait]
impl PipelineStore for TimedStore {
    async fn read_pipelines(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<Pipeline>> {
        timed!(self, read_pipelines(portal, object_type))
    }
    async fn write_pipeline(&self, write: PipelineWrite) -> StoreResult<Result<Applied, Refusal>> {
        timed!(self, write_pipeline(write))
    }
    async fn read_audit(&self, key: AuditKey) -> StoreResult<Vec<AuditRecord>> {
        timed!(self, read_audit(key))
    }
}

#[async_trait]
impl AdminStore for TimedStore {
    async fn admin_token_hash(&self) -> StoreResult<Option<String>> {
        timed!(self, admin_token_hash())
    }
    async fn put_admin_token_hash(
        &self,
        hash: &str,
        replace: bool,
        now: Millis,
    ) -> StoreResult<bool> {
        timed!(self, put_admin_token_hash(hash, replace, now))
    }
    async fn create_portal(&self, now: Millis) -> StoreResult<PortalId> {
        timed!(self, create_portal(now))
    }
    async fn delete_portal(&self, portal: PortalId) -> StoreResult<bool> {
        timed!(self, delete_portal(portal))
    }
    async fn reset_portal(&self, portal: PortalId, now: Millis) -> StoreResult<bool> {
        timed!(self, reset_portal(portal, now))
    }
    async fn create_snapshot(
        &self,
        portal: PortalId,
        name: &str,
        now: Millis,
    ) -> StoreResult<Result<SnapshotInfo, SnapshotRefusal>> {
        timed!(self, create_snapshot(portal, name, now))
    }
    async fn list_snapshots(&self, portal: PortalId) -> StoreResult<Option<Vec<SnapshotInfo>>> {
        timed!(self, list_snapshots(portal))
    }
    async fn restore_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        timed!(self, restore_snapshot(portal, name))
    }
    async fn delete_snapshot(&self, portal: PortalId, name: &str) -> StoreResult<bool> {
        timed!(self, delete_snapshot(portal, name))
    }
    async fn reindex_portal(&self, portal: PortalId) -> StoreResult<spoke_store::admin::Reindexed> {
        timed!(self, reindex_portal(portal))
    }
    async fn index_rows(
        &self,
        portal: PortalId,
    ) -> StoreResult<Vec<spoke_store::value_index::IndexRow>> {
        timed!(self, index_rows(portal))
    }
}

#[async_trait]
impl SchemaStore for TimedStore {
    async fn find_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
    ) -> StoreResult<Option<CustomSchema>> {
        timed!(self, find_schema(portal, key))
    }
    async fn list_schemas(
        &self,
        portal: PortalId,
        archived: bool,
    ) -> StoreResult<Vec<CustomSchema>> {
        timed!(self, list_schemas(portal, archived))
    }
    async fn lookup_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
        include_archived: bool,
    ) -> StoreResult<Option<CustomSchema>> {
        timed!(self, lookup_schema(portal, key, include_archived))
    }
    async fn create_schema(
        &self,
        new: NewSchema,
    ) -> StoreResult<Result<CreatedSchema, SchemaRefusal>> {
        timed!(self, create_schema(new))
    }
    async fn update_schema(&self, update: SchemaUpdate) -> StoreResult<Option<CustomSchema>> {
        timed!(self, update_schema(update))
    }
    async fn archive_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        timed!(self, archive_schema(portal, number, now))
    }
    async fn purge_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        timed!(self, purge_schema(portal, number, now))
    }
    async fn list_definitions(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: Option<&str>,
    ) -> StoreResult<Vec<AssociationDefinition>> {
        timed!(self, list_definitions(portal, from_type, to_type))
    }
    async fn create_definition(
        &self,
        new: NewDefinition,
    ) -> StoreResult<Result<Vec<AssociationDefinition>, SchemaRefusal>> {
        timed!(self, create_definition(new))
    }
    async fn remove_definition(
        &self,
        portal: PortalId,
        from_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        timed!(self, remove_definition(portal, from_type, type_id))
    }
}

#[async_trait]
impl OAuthStore for TimedStore {
    async fn insert_app(&self, app: NewApp) -> StoreResult<AppRecord> {
        timed!(self, insert_app(app))
    }
    async fn find_app(&self, lookup: AppLookup) -> StoreResult<Option<AppRecord>> {
        timed!(self, find_app(lookup))
    }
    async fn list_apps(&self) -> StoreResult<Vec<AppRecord>> {
        timed!(self, list_apps())
    }
    async fn delete_app(&self, id: i64) -> StoreResult<bool> {
        timed!(self, delete_app(id))
    }
    async fn insert_grant(
        &self,
        kind: GrantKind,
        grant: GrantRecord,
        purge_before: Millis,
    ) -> StoreResult<()> {
        timed!(self, insert_grant(kind, grant, purge_before))
    }
    async fn find_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<Option<GrantRecord>> {
        timed!(self, find_grant(kind, hash))
    }
    async fn delete_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<bool> {
        timed!(self, delete_grant(kind, hash))
    }
    async fn use_code(&self, hash: &str, now: Millis) -> StoreResult<CodeUse> {
        timed!(self, use_code(hash, now))
    }
}

#[async_trait]
impl EmulatorStore for TimedStore {
    async fn list_fault_rules(&self) -> StoreResult<Vec<FaultRule>> {
        timed!(self, list_fault_rules())
    }
    async fn insert_fault_rule(
        &self,
        spec: &FaultSpec,
        count: Option<i64>,
        now: Millis,
    ) -> StoreResult<FaultRule> {
        timed!(self, insert_fault_rule(spec, count, now))
    }
    async fn delete_fault_rule(&self, id: i64) -> StoreResult<bool> {
        timed!(self, delete_fault_rule(id))
    }
    async fn clear_fault_rules(&self) -> StoreResult<u64> {
        timed!(self, clear_fault_rules())
    }
    async fn fire_fault_rule(&self, id: i64) -> StoreResult<bool> {
        timed!(self, fire_fault_rule(id))
    }
    async fn list_clocks(&self) -> StoreResult<Vec<(PortalId, Clock)>> {
        timed!(self, list_clocks())
    }
    async fn read_clock(&self, portal: PortalId) -> StoreResult<Option<Clock>> {
        timed!(self, read_clock(portal))
    }
    async fn set_clock(&self, portal: PortalId, clock: Clock) -> StoreResult<Option<Clock>> {
        timed!(self, set_clock(portal, clock))
    }
    async fn advance_clock(&self, portal: PortalId, ms: i64) -> StoreResult<Option<Clock>> {
        timed!(self, advance_clock(portal, ms))
    }
}

#[async_trait]
impl WebhookStore for TimedStore {
    async fn webhook_settings(&self, app_id: i64) -> StoreResult<Option<WebhookSettings>> {
        timed!(self, webhook_settings(app_id))
    }
    async fn put_webhook_settings(&self, s: WebhookSettings) -> StoreResult<WebhookSettings> {
        timed!(self, put_webhook_settings(s))
    }
    async fn delete_webhook_settings(&self, app_id: i64) -> StoreResult<bool> {
        timed!(self, delete_webhook_settings(app_id))
    }
    async fn list_subscriptions(&self, app_id: i64) -> StoreResult<Vec<Subscription>> {
        timed!(self, list_subscriptions(app_id))
    }
    async fn create_subscription(&self, new: NewSubscription) -> StoreResult<CreateSubscription> {
        timed!(self, create_subscription(new))
    }
    async fn set_subscriptions_active(
        &self,
        app_id: i64,
        changes: Vec<(i64, bool)>,
        now: Millis,
    ) -> StoreResult<Vec<Option<Subscription>>> {
        timed!(self, set_subscriptions_active(app_id, changes, now))
    }
    async fn delete_subscription(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        timed!(self, delete_subscription(app_id, id))
    }
    async fn install_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<()> {
        timed!(self, install_app(app_id, portal, now))
    }
    async fn uninstall_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<bool> {
        timed!(self, uninstall_app(app_id, portal, now))
    }
    async fn installed_apps(&self, portal: PortalId) -> StoreResult<Vec<i64>> {
        timed!(self, installed_apps(portal))
    }
    async fn claim_events(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        force: bool,
    ) -> StoreResult<Vec<PendingEvent>> {
        timed!(self, claim_events(now, lease_until, limit, force))
    }
    async fn finish_attempt(&self, attempt: DeliveryAttempt) -> StoreResult<i64> {
        timed!(self, finish_attempt(attempt))
    }
    async fn list_attempts(
        &self,
        app_id: Option<i64>,
        portal: Option<PortalId>,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AttemptRecord>> {
        timed!(self, list_attempts(app_id, portal, after, limit))
    }
    async fn pending_events(
        &self,
        app_id: Option<i64>,
        limit: usize,
    ) -> StoreResult<(u64, Vec<PendingEvent>)> {
        timed!(self, pending_events(app_id, limit))
    }
    async fn next_due(&self) -> StoreResult<Option<Millis>> {
        timed!(self, next_due())
    }
}

impl Store for TimedStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
}

#[async_trait]
impl JournalStore for TimedStore {
    async fn insert_app_token(&self, token: AppToken, purge_before: Millis) -> StoreResult<()> {
        timed!(self, insert_app_token(token, purge_before))
    }
    async fn find_app_token(&self, hash: &str) -> StoreResult<Option<AppToken>> {
        timed!(self, find_app_token(hash))
    }
    async fn journal_subscriptions(&self, app_id: i64) -> StoreResult<Vec<JournalSubscription>> {
        timed!(self, journal_subscriptions(app_id))
    }
    async fn upsert_journal_subscription(
        &self,
        new: NewJournalSubscription,
    ) -> StoreResult<journal::Upserted> {
        timed!(self, upsert_journal_subscription(new))
    }
    async fn delete_journal_subscriptions(
        &self,
        app_id: i64,
        which: journal::Selector,
    ) -> StoreResult<u64> {
        timed!(self, delete_journal_subscriptions(app_id, which))
    }
    async fn journal_filters(&self, app_id: i64) -> StoreResult<Vec<JournalFilter>> {
        timed!(self, journal_filters(app_id))
    }
    async fn create_journal_filter(
        &self,
        app_id: i64,
        subscription_id: i64,
        conditions: String,
        now: Millis,
    ) -> StoreResult<journal::FilterCreated> {
        timed!(
            self,
            create_journal_filter(app_id, subscription_id, conditions, now)
        )
    }
    async fn delete_journal_filter(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        timed!(self, delete_journal_filter(app_id, id))
    }
    async fn read_journal(
        &self,
        app_id: i64,
        portal: Option<PortalId>,
        at: journal::Position,
        count: usize,
        now: Millis,
    ) -> StoreResult<journal::JournalRead> {
        timed!(self, read_journal(app_id, portal, at, count, now))
    }
    async fn journal_file(&self, offset: &str) -> StoreResult<Option<(JournalEntry, String)>> {
        timed!(self, journal_file(offset))
    }
    async fn insert_snapshots(
        &self,
        entries: Vec<journal::NewEntry>,
        statuses: Vec<journal::SnapshotStatus>,
    ) -> StoreResult<()> {
        timed!(self, insert_snapshots(entries, statuses))
    }
    async fn snapshot_status(
        &self,
        app_id: i64,
        id: &str,
    ) -> StoreResult<Option<journal::SnapshotStatus>> {
        timed!(self, snapshot_status(app_id, id))
    }
}
