//! HubSpot's webhooks journal API (2026-03, hubspot-behavior-apps.md §43): an app's journal
//! subscriptions and their filters under `/webhooks-journal/subscriptions/2026-03`, and the
//! journal itself under `/webhooks-journal/journal/2026-03` (every portal that installed
//! the app) and `/webhooks-journal/journal-local/2026-03` (one, by `?installPortalId=`).
//!
//! These authorize by an app token from the client-credentials grant (`handlers::oauth`,
//! `spoke_store::journal::AppToken`), which belongs to no portal, so they are routes of
//! their own rather than catalogue rows (`Authorized<S>` turns a bearer token into a
//! portal); `scripts/catalogue-elsewhere` leaves them out. CRM snapshots
//! (`/webhooks-journal/snapshots/2026-03/crm`) write an entry of `SNAPSHOT` events and a
//! status per object, read at `…/status/{statusId}`. An app's subscriptions, their
//! `objectIds` and its filters are bounded (`journal::MAX_SUBSCRIPTIONS`…), answered over
//! the limit as the webhooks API answers its own. An entry's events are served at its
//! pre-signed URL,
//! `/_spoke/journal-files/{offset}?signature=…`, fetched without Authorization.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use spoke_core::time::{format_iso, now_millis, Millis};
use spoke_core::{ObjectType, PortalId};
use spoke_store::journal::{
    self, Condition, JournalEntry, JournalFilter, JournalRead, JournalSubscription, Limit,
    Position, Selector, SnapshotRequest, SnapshotStatus,
};
use spoke_store::tokens::hash;

use crate::error::{ApiError, ApiResult, Category};
use crate::wire::{self, Origin, QueryParams, Started};
use crate::AppState;

const SUBSCRIPTIONS: &str = "/webhooks-journal/subscriptions/2026-03";
const SNAPSHOTS: &str = "/webhooks-journal/snapshots/2026-03/crm";
const JOURNALS: [&str; 2] = [
    "/webhooks-journal/journal/2026-03",
    "/webhooks-journal/journal-local/2026-03",
];
/// Where an entry's file is served.
pub const FILES: &str = "/_spoke/journal-files";

/// The most entries one batch read returns (spoke's bound: the spec gives only a minimum).
pub const MAX_COUNT: usize = 100;

pub(crate) fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route(
            SUBSCRIPTIONS,
            get(list_subscriptions).post(upsert_subscription),
        )
        .route(&format!("{SUBSCRIPTIONS}/filters"), post(create_filter))
        .route(
            &format!("{SUBSCRIPTIONS}/filters/subscription/{{subscriptionId}}"),
            get(filters_of_subscription),
        )
        .route(
            &format!("{SUBSCRIPTIONS}/filters/{{filterId}}"),
            get(get_filter).delete(delete_filter),
        )
        .route(
            &format!("{SUBSCRIPTIONS}/portals/{{portalId}}"),
            delete(delete_portal_subscriptions),
        )
        .route(
            &format!("{SUBSCRIPTIONS}/{{subscriptionId}}"),
            get(get_subscription).delete(delete_subscription),
        )
        .route(SNAPSHOTS, post(take_snapshots))
        .route(&format!("{FILES}/{{offset}}"), get(file));
    for base in JOURNALS {
        for (path, start, batch) in READS {
            router = router.route(
                &format!("{base}/{path}"),
                get(
                    move |caller: AppCaller,
                          state: State<AppState>,
                          origin: Origin,
                          params: Path<ReadParams>,
                          query: RawQuery| {
                        read_route(start, batch, caller, state, origin, params, query)
                    },
                ),
            );
        }
        router = router
            .route(&format!("{base}/batch/read"), post(batch_read))
            .route(&format!("{base}/status/{{statusId}}"), get(snapshot_status));
    }
    router
}

/// The app whose client-credentials token is the bearer, with its scopes. Any other bearer
/// (a private-app token, an OAuth access token of a portal) is not an app token: 401.
pub struct AppCaller {
    app_id: i64,
    scopes: Vec<String>,
}

impl FromRequestParts<AppState> for AppCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let secret = crate::auth::bearer(parts)?;
        let token = state
            .store
            .find_app_token(&hash(secret))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        // An app token has no portal, so no portal clock: real time.
        let now = now_millis();
        if token.expires_at <= now {
            return Err(ApiError::expired(token.expires_at, now));
        }
        Ok(Self {
            app_id: token.app_id,
            scopes: token.scopes,
        })
    }
}

impl AppCaller {
    fn require(&self, scope: &str) -> ApiResult<()> {
        if self.scopes.iter().any(|s| s == scope) {
            Ok(())
        } else {
            Err(ApiError::missing_scopes(&[scope.to_owned()]))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Subscriptions.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionOut {
    actions: Vec<String>,
    app_id: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    associated_object_type_ids: Vec<String>,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_type_id: Option<String>,
    id: i64,
    object_ids: Vec<i64>,
    object_type_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    portal_id: Option<i64>,
    properties: Vec<String>,
    subscription_type: String,
    updated_at: String,
}

impl From<JournalSubscription> for SubscriptionOut {
    fn from(s: JournalSubscription) -> Self {
        Self {
            actions: s.actions,
            app_id: s.app_id,
            associated_object_type_ids: s.associated_object_type_ids,
            created_at: format_iso(s.created_at),
            event_type_id: s.event_type_id,
            id: s.id,
            object_ids: s.object_ids,
            // Required in the answer; a type-less subscription (app lifecycle) has "".
            object_type_id: s.object_type_id.unwrap_or_default(),
            portal_id: s.portal_id,
            properties: s.properties,
            subscription_type: s.subscription_type,
            updated_at: format_iso(s.updated_at),
        }
    }
}

#[derive(Serialize)]
struct Results<T> {
    results: Vec<T>,
}

async fn list_subscriptions(
    caller: AppCaller,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_READ)?;
    let results: Vec<SubscriptionOut> = state
        .store
        .journal_subscriptions(caller.app_id)
        .await?
        .into_iter()
        .map(SubscriptionOut::from)
        .collect();
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

/// The upsert body: one shape for every `subscriptionType`; which fields each requires is
/// the spec's (`…SubscriptionUpsertRequest`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertIn {
    subscription_type: Option<String>,
    portal_id: Option<i64>,
    object_type_id: Option<String>,
    event_type_id: Option<String>,
    actions: Option<Vec<String>>,
    properties: Option<Vec<String>>,
    object_ids: Option<Vec<i64>>,
    associated_object_type_ids: Option<Vec<String>>,
    list_ids: Option<Vec<i64>>,
}

fn missing(field: &str, kind: &str) -> ApiError {
    ApiError::validation(format!("{field} is required for {kind} subscriptions"))
        .with_context_entry(field, vec![String::new()])
}

/// A type HubSpot names by id: a standard type's (`0-1`) or a custom one's (`2-123`).
fn check_type(id: &str) -> ApiResult<()> {
    let custom = id
        .strip_prefix("2-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if custom || ObjectType::by_id(id).is_some() {
        Ok(())
    } else {
        Err(
            ApiError::validation(format!("{id} is not a valid objectTypeId"))
                .with_context_entry("objectTypeId", vec![id.to_owned()]),
        )
    }
}

async fn upsert_subscription(
    caller: AppCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_MANAGEMENT)?;
    let input: UpsertIn = wire::parse_body(&body)?;
    let kind = input
        .subscription_type
        .ok_or_else(|| missing("subscriptionType", "all"))?;
    if !journal::SUBSCRIPTION_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::validation(format!(
            "subscriptionType must be one of {}, got {kind}",
            journal::SUBSCRIPTION_TYPES.join(", ")
        ))
        .with_context_entry("subscriptionType", vec![kind]));
    }
    let k = kind.as_str();
    let needs_portal = k != "APP_LIFECYCLE_EVENT";
    let needs_type = matches!(k, "OBJECT" | "ASSOCIATION" | "GDPR_PRIVACY_DELETION");
    let portal_id = match input.portal_id {
        Some(p) => Some(p),
        None if needs_portal => return Err(missing("portalId", k)),
        None => None,
    };
    let object_type_id = match input.object_type_id {
        Some(t) => {
            check_type(&t)?;
            Some(t)
        }
        None if needs_type => return Err(missing("objectTypeId", k)),
        None => None,
    };
    let event_type_id = match input.event_type_id {
        None if k == "APP_LIFECYCLE_EVENT" => return Err(missing("eventTypeId", k)),
        other => other,
    };
    let actions = match input.actions {
        Some(a) if !a.is_empty() => a,
        _ if k == "APP_LIFECYCLE_EVENT" => Vec::new(),
        _ => return Err(missing("actions", k)),
    };
    if let Some(bad) = actions
        .iter()
        .find(|a| !journal::ACTIONS.contains(&a.as_str()))
    {
        return Err(ApiError::validation(format!(
            "actions must be among {}, got {bad}",
            journal::ACTIONS.join(", ")
        ))
        .with_context_entry("actions", vec![bad.clone()]));
    }
    let properties = match input.properties {
        Some(p) => p,
        None if matches!(k, "OBJECT" | "APP_LIFECYCLE_EVENT") => {
            return Err(missing("properties", k))
        }
        None => Vec::new(),
    };
    let object_ids = match input.object_ids {
        Some(o) => o,
        None if matches!(k, "OBJECT" | "ASSOCIATION" | "LIST_MEMBERSHIP") => {
            return Err(missing("objectIds", k))
        }
        None => Vec::new(),
    };
    let associated = match input.associated_object_type_ids {
        Some(a) => {
            for t in &a {
                check_type(t)?;
            }
            a
        }
        None if k == "ASSOCIATION" => return Err(missing("associatedObjectTypeIds", k)),
        None => Vec::new(),
    };
    if k == "LIST_MEMBERSHIP" && input.list_ids.is_none() {
        return Err(missing("listIds", k));
    }
    if let Some(p) = portal_id {
        let installed = state.store.installed_apps(PortalId(p)).await?;
        if !installed.contains(&caller.app_id) {
            return Err(ApiError::validation(format!(
                "App {} is not installed in portal {p}",
                caller.app_id
            ))
            .with_context_entry("portalId", vec![p.to_string()]));
        }
    }
    let now = now_millis();
    let upserted = state
        .store
        .upsert_journal_subscription(JournalSubscription {
            id: 0,
            app_id: caller.app_id,
            subscription_type: kind,
            portal_id,
            object_type_id,
            event_type_id,
            actions,
            properties,
            object_ids,
            associated_object_type_ids: associated,
            created_at: now,
            updated_at: now,
        })
        .await?;
    let saved = match upserted {
        journal::Upserted::Saved(s) => s,
        journal::Upserted::LimitReached(limit) => return Err(limit_reached(limit)),
    };
    Ok(wire::json_response(
        StatusCode::OK,
        &SubscriptionOut::from(saved),
    ))
}

/// An app at one of its journal limits: 400 in the shape HubSpot answers an app at its
/// webhook subscription limit (the same words for subscriptions; [I] the others'
/// messages are spoke's, docs/compatibility.md).
fn limit_reached(limit: Limit) -> ApiError {
    match limit {
        Limit::Subscriptions => super::webhooks::subscription_limit(journal::MAX_SUBSCRIPTIONS),
        Limit::Filters => super::webhooks::per_app_limit(format!(
            "Couldn't create another filter. You've reached the maximum number allowed per application ({}).",
            journal::MAX_FILTERS
        )),
        Limit::ObjectIds => super::webhooks::per_app_limit(format!(
            "Couldn't save the subscription. You've reached the maximum number of objectIds allowed per application ({}).",
            journal::MAX_OBJECT_IDS
        )),
    }
}

fn parse_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.trim().parse::<i64>().map_err(|_| {
        ApiError::validation(format!("{what} must be an integer, got {raw}"))
            .with_context_entry(what, vec![raw.to_owned()])
    })
}

fn subscription_not_found(id: i64) -> ApiError {
    ApiError::object_not_found(format!("No journal subscription with id {id}"))
}

async fn find_subscription(
    state: &AppState,
    app_id: i64,
    id: i64,
) -> ApiResult<JournalSubscription> {
    state
        .store
        .journal_subscriptions(app_id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| subscription_not_found(id))
}

async fn get_subscription(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_READ)?;
    let id = parse_id(&raw, "subscriptionId")?;
    let found = find_subscription(&state, caller.app_id, id).await?;
    Ok(wire::json_response(
        StatusCode::OK,
        &SubscriptionOut::from(found),
    ))
}

async fn delete_subscription(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_MANAGEMENT)?;
    let id = parse_id(&raw, "subscriptionId")?;
    let n = state
        .store
        .delete_journal_subscriptions(caller.app_id, Selector::Id(id))
        .await?;
    if n == 0 {
        return Err(subscription_not_found(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_portal_subscriptions(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_MANAGEMENT)?;
    let portal = parse_id(&raw, "portalId")?;
    state
        .store
        .delete_journal_subscriptions(caller.app_id, Selector::Portal(portal))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------
// Filters.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterCreateIn {
    subscription_id: Option<i64>,
    filter: Option<FilterIn>,
}

#[derive(Deserialize)]
struct FilterIn {
    conditions: Option<Vec<Condition>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterOut {
    created_at: Millis,
    filter: FilterBody,
    id: i64,
}

#[derive(Serialize)]
struct FilterBody {
    conditions: Vec<Condition>,
}

impl From<JournalFilter> for FilterOut {
    fn from(f: JournalFilter) -> Self {
        Self {
            created_at: f.created_at,
            filter: FilterBody {
                conditions: f.conditions(),
            },
            id: f.id,
        }
    }
}

fn check_condition(c: &Condition) -> ApiResult<()> {
    if c.filter_type != "CRM_OBJECT_PROPERTY" {
        return Err(ApiError::validation(format!(
            "filterType must be CRM_OBJECT_PROPERTY, got {}",
            c.filter_type
        ))
        .with_context_entry("filterType", vec![c.filter_type.clone()]));
    }
    if !journal::OPERATORS.contains(&c.operator.as_str()) {
        return Err(ApiError::validation(format!(
            "operator must be one of {}, got {}",
            journal::OPERATORS.join(", "),
            c.operator
        ))
        .with_context_entry("operator", vec![c.operator.clone()]));
    }
    if c.property.trim().is_empty() {
        return Err(
            ApiError::validation("property is required in every condition")
                .with_context_entry("property", vec![String::new()]),
        );
    }
    let needs = match c.operator.as_str() {
        "IS_EMPTY" | "IS_NOT_EMPTY" => None,
        "IN" | "NOT_IN" => c.values.is_none().then_some("values"),
        _ => c.value.is_none().then_some("value"),
    };
    if let Some(field) = needs {
        return Err(ApiError::validation(format!(
            "{field} is required with operator {}",
            c.operator
        ))
        .with_context_entry(field, vec![String::new()]));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterCreated {
    filter_id: i64,
}

async fn create_filter(
    caller: AppCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_MANAGEMENT)?;
    let input: FilterCreateIn = wire::parse_body(&body)?;
    let subscription_id = input.subscription_id.ok_or_else(|| {
        ApiError::validation("subscriptionId is required")
            .with_context_entry("subscriptionId", vec![String::new()])
    })?;
    let conditions = input
        .filter
        .and_then(|f| f.conditions)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::validation("filter.conditions must list at least one condition")
                .with_context_entry("filter.conditions", vec![String::new()])
        })?;
    for c in &conditions {
        check_condition(c)?;
    }
    let stored = serde_json::to_string(&conditions)
        .map_err(|e| ApiError::internal(format!("serializing filter: {e}")))?;
    let created = match state
        .store
        .create_journal_filter(caller.app_id, subscription_id, stored, now_millis())
        .await?
    {
        journal::FilterCreated::Created(f) => f,
        journal::FilterCreated::NoSubscription => {
            return Err(subscription_not_found(subscription_id))
        }
        journal::FilterCreated::LimitReached(limit) => return Err(limit_reached(limit)),
    };
    Ok(wire::json_response(
        StatusCode::OK,
        &FilterCreated {
            filter_id: created.id,
        },
    ))
}

fn filter_not_found(id: i64) -> ApiError {
    ApiError::object_not_found(format!("No journal filter with id {id}"))
}

async fn get_filter(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_READ)?;
    let id = parse_id(&raw, "filterId")?;
    let found = state
        .store
        .journal_filters(caller.app_id)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or_else(|| filter_not_found(id))?;
    Ok(wire::json_response(StatusCode::OK, &FilterOut::from(found)))
}

async fn delete_filter(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_MANAGEMENT)?;
    let id = parse_id(&raw, "filterId")?;
    if !state.store.delete_journal_filter(caller.app_id, id).await? {
        return Err(filter_not_found(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn filters_of_subscription(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    caller.require(journal::SUBSCRIPTION_READ)?;
    let id = parse_id(&raw, "subscriptionId")?;
    find_subscription(&state, caller.app_id, id).await?;
    let filters: Vec<FilterOut> = state
        .store
        .journal_filters(caller.app_id)
        .await?
        .into_iter()
        .filter(|f| f.subscription_id == id)
        .map(FilterOut::from)
        .collect();
    Ok(wire::json_response(StatusCode::OK, &filters))
}

// ---------------------------------------------------------------------------------------
// The journal.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryOut {
    current_offset: String,
    expires_at: String,
    url: String,
}

fn entry_out(origin: &str, e: &JournalEntry) -> EntryOut {
    EntryOut {
        current_offset: e.offset.clone(),
        expires_at: format_iso(e.expires_at),
        url: format!("{origin}{FILES}/{}?signature={}", e.offset, e.file_key),
    }
}

/// `?installPortalId=`, and the time retention is judged by: the portal's clock when the
/// read names one, real time otherwise (an app's journal spans portals).
fn scope_of(state: &AppState, query: Option<&str>) -> ApiResult<(Option<PortalId>, Millis)> {
    let q = QueryParams::parse(query);
    match q.one("installPortalId") {
        None | Some("") => Ok((None, now_millis())),
        Some(raw) => {
            let p = PortalId(parse_id(raw, "installPortalId")?);
            Ok((Some(p), state.now(p)))
        }
    }
}

fn parse_count(raw: &str) -> ApiResult<usize> {
    match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(ApiError::validation(format!(
            "count must be an integer from 1 to {MAX_COUNT}, got {raw}"
        ))
        .with_context_entry("count", vec![raw.to_owned()])),
    }
}

fn unknown_offset(offset: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(Category::ObjectNotFound),
        format!("No journal entry with offset {offset}: it does not exist or has expired"),
    )
    .with_context_entry("offset", vec![offset.to_owned()])
}

async fn read(
    caller: &AppCaller,
    state: &AppState,
    query: Option<&str>,
    at: Position,
    count: usize,
) -> ApiResult<Vec<JournalEntry>> {
    caller.require(journal::DATA_ACCESS)?;
    let (portal, now) = scope_of(state, query)?;
    let after = match &at {
        Position::After(o) => Some(o.clone()),
        _ => None,
    };
    match state
        .store
        .read_journal(caller.app_id, portal, at, count, now)
        .await?
    {
        JournalRead::Entries(e) => Ok(e),
        JournalRead::UnknownOffset => Err(unknown_offset(after.as_deref().unwrap_or_default())),
    }
}

/// One entry, or 204 No Content when there is none (yet).
fn single(origin: &str, entries: &[JournalEntry]) -> Response {
    match entries.first() {
        Some(e) => wire::json_response(StatusCode::OK, &entry_out(origin, e)),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Where a GET read of the journal starts.
#[derive(Clone, Copy)]
enum Start {
    Earliest,
    Latest,
    /// After the path's `{offset}`.
    After,
}

/// The GET reads under each journal base: where each starts, and whether it answers a
/// batch of `{count}` entries or one entry (204 when there is none). They differ in
/// nothing else, so one handler serves them all.
const READS: [(&str, Start, bool); 6] = [
    ("earliest", Start::Earliest, false),
    ("latest", Start::Latest, false),
    ("offset/{offset}/next", Start::After, false),
    ("batch/earliest/{count}", Start::Earliest, true),
    ("batch/latest/{count}", Start::Latest, true),
    ("batch/{offset}/next/{count}", Start::After, true),
];

/// A read's path parameters: those its route has.
#[derive(Deserialize)]
struct ReadParams {
    offset: Option<String>,
    count: Option<String>,
}

async fn read_route(
    start: Start,
    batched: bool,
    caller: AppCaller,
    State(state): State<AppState>,
    Origin(origin): Origin,
    Path(params): Path<ReadParams>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let started = Started::new(now_millis());
    let count = match &params.count {
        Some(raw) => parse_count(raw)?,
        None => 1,
    };
    let at = match start {
        Start::Earliest => Position::Earliest,
        Start::Latest => Position::Latest,
        Start::After => Position::After(params.offset.unwrap_or_default()),
    };
    let e = read(&caller, &state, q.as_deref(), at, count).await?;
    Ok(if batched {
        batch(&origin, started, &e, Vec::new())
    } else {
        single(&origin, &e)
    })
}

fn batch(
    origin: &str,
    started: Started,
    entries: &[JournalEntry],
    errors: Vec<ApiError>,
) -> Response {
    let results: Vec<EntryOut> = entries.iter().map(|e| entry_out(origin, e)).collect();
    wire::batch_response(wire::BATCH_OK, started, results, errors)
}

#[derive(Deserialize)]
struct BatchReadIn {
    inputs: Option<Vec<String>>,
}

async fn batch_read(
    caller: AppCaller,
    State(state): State<AppState>,
    Origin(origin): Origin,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let started = Started::new(now_millis());
    caller.require(journal::DATA_ACCESS)?;
    let input: BatchReadIn = wire::parse_body(&body)?;
    let inputs = input.inputs.ok_or_else(|| {
        ApiError::validation("inputs is required").with_context_entry("inputs", vec![])
    })?;
    if inputs.len() > MAX_COUNT {
        return Err(ApiError::validation(format!(
            "at most {MAX_COUNT} inputs, got {}",
            inputs.len()
        )));
    }
    let count = inputs.len();
    let found = read(
        &caller,
        &state,
        q.as_deref(),
        Position::Offsets(inputs.clone()),
        count,
    )
    .await?;
    let errors: Vec<ApiError> = inputs
        .iter()
        .filter(|o| !found.iter().any(|e| &e.offset == *o))
        .map(|o| unknown_offset(o))
        .collect();
    Ok(batch(&origin, started, &found, errors))
}

/// An entry's file: its events as a JSON array, for whoever holds its URL until it expires
/// (on the entry's portal's clock).
async fn file(
    State(state): State<AppState>,
    Path(offset): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = QueryParams::parse(q.as_deref());
    let Some((entry, events)) = state.store.journal_file(&offset).await? else {
        return Err(ApiError::resource_not_found());
    };
    let signed = q.one("signature").is_some_and(|s| same(s, &entry.file_key));
    if !signed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            None,
            "The journal file's signature is missing or invalid",
        ));
    }
    if entry.expires_at <= state.now(entry.portal) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            None,
            "The journal file's URL has expired",
        ));
    }
    let mut res = Response::new(axum::body::Body::from(events));
    res.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json;charset=utf-8"),
    );
    Ok(res)
}

/// Compares a presented signature with the entry's in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

// ---------------------------------------------------------------------------------------
// CRM snapshots.

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotBatchIn {
    snapshot_requests: Option<Vec<SnapshotIn>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotIn {
    portal_id: Option<i64>,
    object_type_id: Option<String>,
    object_id: Option<i64>,
    properties: Option<Vec<String>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotsOut {
    snapshot_responses: Vec<SnapshotOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotOut {
    object_id: i64,
    object_type_id: String,
    portal_id: i64,
    snapshot_status_id: String,
}

fn required(i: usize, field: &str) -> ApiError {
    let path = format!("snapshotRequests[{i}].{field}");
    ApiError::validation(format!("{path} is required")).with_context_entry(&path, vec![])
}

async fn take_snapshots(
    caller: AppCaller,
    State(state): State<AppState>,
    body: Bytes,
) -> ApiResult<Response> {
    caller.require(journal::SNAPSHOT_MANAGEMENT)?;
    let input: SnapshotBatchIn = wire::parse_body(&body)?;
    let list = input
        .snapshot_requests
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            ApiError::validation("snapshotRequests must list at least one request")
                .with_context_entry("snapshotRequests", vec![])
        })?;
    // [I] spoke's bound, like the journal's batch reads (docs/compatibility.md).
    if list.len() > MAX_COUNT {
        return Err(ApiError::validation(format!(
            "at most {MAX_COUNT} snapshotRequests, got {}",
            list.len()
        ))
        .with_context_entry("snapshotRequests", vec![list.len().to_string()]));
    }
    let mut requests = Vec::with_capacity(list.len());
    for (i, r) in list.into_iter().enumerate() {
        let portal = r.portal_id.ok_or_else(|| required(i, "portalId"))?;
        let object_type_id = r
            .object_type_id
            .ok_or_else(|| required(i, "objectTypeId"))?;
        check_type(&object_type_id)?;
        let object_id = r.object_id.ok_or_else(|| required(i, "objectId"))?;
        let properties = r.properties.ok_or_else(|| required(i, "properties"))?;
        requests.push(SnapshotRequest {
            portal: PortalId(portal),
            object_type_id,
            object_id,
            properties,
        });
    }
    let mut portals: Vec<PortalId> = requests.iter().map(|r| r.portal).collect();
    portals.sort_unstable_by_key(|p| p.0);
    portals.dedup();
    for p in portals {
        if !state
            .store
            .installed_apps(p)
            .await?
            .contains(&caller.app_id)
        {
            return Err(ApiError::validation(format!(
                "App {} is not installed in portal {}",
                caller.app_id, p.0
            ))
            .with_context_entry("portalId", vec![p.0.to_string()]));
        }
    }
    let statuses =
        journal::take_snapshots(&*state.store, caller.app_id, &requests, |p| state.now(p)).await?;
    let snapshot_responses = requests
        .into_iter()
        .zip(statuses)
        .map(|(r, st)| SnapshotOut {
            object_id: r.object_id,
            object_type_id: r.object_type_id,
            portal_id: r.portal.0,
            snapshot_status_id: st.id,
        })
        .collect();
    Ok(wire::json_response(
        StatusCode::OK,
        &SnapshotsOut { snapshot_responses },
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    id: String,
    status: String,
    initiated_at: Millis,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<Millis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

impl From<SnapshotStatus> for StatusOut {
    fn from(s: SnapshotStatus) -> Self {
        Self {
            id: s.id,
            status: s.status,
            initiated_at: s.initiated_at,
            completed_at: s.completed_at,
            error_code: s.error_code,
            message: s.message,
        }
    }
}

/// A snapshot's status, on both journal paths; `journal-local`'s `?installPortalId=`, when
/// given, must be the snapshot's portal. Another app's, a pruned or an unknown id is 404.
async fn snapshot_status(
    caller: AppCaller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    caller.require(journal::SNAPSHOT_MANAGEMENT)?;
    let (portal, _) = scope_of(&state, q.as_deref())?;
    let found = state
        .store
        .snapshot_status(caller.app_id, &id)
        .await?
        .filter(|s| portal.is_none_or(|p| p == s.portal))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                Some(Category::ObjectNotFound),
                format!("No snapshot status with id {id}"),
            )
            .with_context_entry("statusId", vec![id.clone()])
        })?;
    Ok(wire::json_response(StatusCode::OK, &StatusOut::from(found)))
}
