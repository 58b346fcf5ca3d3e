//! The webhooks API of an app (hubspot-behavior-apps.md §42.1-42.2): its settings (target
//! URL, throttling) and event subscriptions under `/webhooks/v3/{appId}/…` and the dated
//! `/webhooks/2026-03/{appId}/…`, `/app-webhooks/2025-09/{appId}/…` and
//! `/app-webhooks/2026-09/{appId}/…`, with the same bodies.
//!
//! HubSpot authenticates these with the app developer's API key as `?hapikey=`, not with a
//! portal's bearer token, so they are routes of their own, like `handlers::oauth`, not
//! catalogue rows (whose every row is checked as a bearer-token API);
//! `scripts/catalogue-elsewhere` leaves them out. A key reaches its own app only: another
//! app's id is answered as an app that does not exist (docs/compatibility.md "Webhooks").

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use spoke_core::time::{format_iso, now_millis};
use spoke_store::oauth::{AppLookup, AppRecord};
use spoke_store::tokens::hash;
use spoke_store::webhooks::{
    CreateSubscription, NewSubscription, Subscription, WebhookSettings, MAX_SUBSCRIPTIONS,
};

use crate::error::{ApiError, ApiResult, Category};
use crate::wire::{self, QueryParams};
use crate::AppState;

/// The path prefixes that serve the v3 webhooks API: the v3 spec, its dated copy, and the
/// dated `app-webhooks` releases of HubSpot's spec collection, which have the same
/// operations, bodies and developer-key authentication (docs/compatibility.md "Webhooks").
pub const PREFIXES: [&str; 4] = [
    "webhooks/v3",
    "webhooks/2026-03",
    "app-webhooks/2025-09",
    "app-webhooks/2026-09",
];

/// HubSpot's default `maxConcurrentRequests` and the smallest it takes (§42.1: "greater
/// than five"; n8n sends 5 and HubSpot takes it, so five is the floor).
pub const DEFAULT_MAX_CONCURRENT: i64 = 10;
pub const MIN_MAX_CONCURRENT: i64 = 5;

/// `eventType`'s enum in HubSpot's spec (§42.2).
pub const EVENT_TYPES: &[&str] = &[
    "company.associationChange",
    "company.creation",
    "company.deletion",
    "company.merge",
    "company.propertyChange",
    "company.restore",
    "contact.associationChange",
    "contact.creation",
    "contact.deletion",
    "contact.merge",
    "contact.privacyDeletion",
    "contact.propertyChange",
    "contact.restore",
    "conversation.creation",
    "conversation.deletion",
    "conversation.newMessage",
    "conversation.privacyDeletion",
    "conversation.propertyChange",
    "deal.associationChange",
    "deal.creation",
    "deal.deletion",
    "deal.merge",
    "deal.propertyChange",
    "deal.restore",
    "event.completed",
    "line_item.associationChange",
    "line_item.creation",
    "line_item.deletion",
    "line_item.merge",
    "line_item.propertyChange",
    "line_item.restore",
    "object.associationChange",
    "object.creation",
    "object.deletion",
    "object.merge",
    "object.propertyChange",
    "object.restore",
    "product.creation",
    "product.deletion",
    "product.merge",
    "product.propertyChange",
    "product.restore",
    "ticket.associationChange",
    "ticket.creation",
    "ticket.deletion",
    "ticket.merge",
    "ticket.propertyChange",
    "ticket.restore",
];

pub(crate) fn router() -> Router<AppState> {
    let mut router = Router::new();
    for v in PREFIXES {
        router = router
            .route(
                &format!("/{v}/{{appId}}/settings"),
                get(get_settings).put(put_settings).delete(delete_settings),
            )
            .route(
                &format!("/{v}/{{appId}}/subscriptions"),
                get(list_subscriptions).post(create_subscription),
            )
            .route(
                &format!("/{v}/{{appId}}/subscriptions/batch/update"),
                post(batch_update),
            )
            .route(
                &format!("/{v}/{{appId}}/subscriptions/{{subscriptionId}}"),
                get(get_subscription)
                    .patch(patch_subscription)
                    .delete(delete_subscription),
            );
    }
    router
}

/// The app whose developer API key came as `?hapikey=`.
pub struct Developer(AppRecord);

impl FromRequestParts<AppState> for Developer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let query = QueryParams::parse(parts.uri.query());
        let key = query
            .one("hapikey")
            .filter(|k| !k.is_empty())
            .ok_or_else(ApiError::unauthenticated)?;
        match state
            .store
            .find_app(AppLookup::ApiKeyHash(hash(key)))
            .await?
        {
            Some(app) => Ok(Developer(app)),
            None => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                Some(Category::InvalidAuthentication),
                "The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/",
            )),
        }
    }
}

impl Developer {
    /// The path's app, which must be the key's own.
    fn app(&self, raw: &str) -> ApiResult<i64> {
        match raw.trim().parse::<i64>() {
            Ok(id) if id == self.0.id => Ok(id),
            _ => Err(ApiError::object_not_found(format!(
                "No app with id {raw} for this developer API key"
            ))
            .with_context(crate::error::ctx(&[("appId", vec![raw.to_owned()])]))),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Throttling {
    max_concurrent_requests: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SettingsOut {
    created_at: String,
    target_url: String,
    throttling: Throttling,
    updated_at: String,
}

impl From<WebhookSettings> for SettingsOut {
    fn from(s: WebhookSettings) -> Self {
        Self {
            created_at: format_iso(s.created_at),
            target_url: s.target_url,
            throttling: Throttling {
                max_concurrent_requests: s.max_concurrent_requests,
                period: s.period,
            },
            updated_at: format_iso(s.updated_at),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionOut {
    active: bool,
    created_at: String,
    event_type: String,
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_type_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    property_name: Option<String>,
    updated_at: String,
}

impl From<Subscription> for SubscriptionOut {
    fn from(s: Subscription) -> Self {
        Self {
            active: s.active,
            created_at: format_iso(s.created_at),
            event_type: s.event_type,
            id: s.id.to_string(),
            object_type_id: s.object_type_id,
            property_name: s.property_name,
            updated_at: format_iso(s.updated_at),
        }
    }
}

#[derive(Serialize)]
struct Results<T> {
    results: Vec<T>,
}

fn settings_not_found(app: i64) -> ApiError {
    ApiError::object_not_found(format!("No webhook settings found for app {app}"))
}

async fn get_settings(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let settings = state
        .store
        .webhook_settings(app)
        .await?
        .ok_or_else(|| settings_not_found(app))?;
    Ok(wire::json_response(
        StatusCode::OK,
        &SettingsOut::from(settings),
    ))
}

/// `PUT …/settings`: HubSpot's `{"targetUrl","throttling":{"maxConcurrentRequests","period"}}`
/// or the flat form n8n sends (`{"targetUrl","maxConcurrentRequests"}`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsIn {
    target_url: Option<String>,
    throttling: Option<ThrottlingIn>,
    max_concurrent_requests: Option<Value>,
    period: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ThrottlingIn {
    max_concurrent_requests: Option<Value>,
    period: Option<Value>,
}

async fn put_settings(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let input: SettingsIn = wire::parse_body(&body)?;
    let target_url = input
        .target_url
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            ApiError::validation("targetUrl is required")
                .with_context_entry("targetUrl", vec![String::new()])
        })?;
    check_target_url(&target_url)?;
    let (max, period) = match input.throttling {
        Some(t) => (
            t.max_concurrent_requests.or(input.max_concurrent_requests),
            t.period.or(input.period),
        ),
        None => (input.max_concurrent_requests, input.period),
    };
    let max_concurrent_requests = match max {
        None | Some(Value::Null) => DEFAULT_MAX_CONCURRENT,
        Some(v) => match v.as_i64() {
            Some(n) if (MIN_MAX_CONCURRENT..=i64::from(i32::MAX)).contains(&n) => n,
            _ => {
                return Err(ApiError::validation(format!(
                "maxConcurrentRequests must be a number of at least {MIN_MAX_CONCURRENT}, got {v}"
            ))
                .with_context_entry("maxConcurrentRequests", vec![v.to_string()]))
            }
        },
    };
    let period = match period {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p == "SECONDLY" || p == "ROLLING_MINUTE" => Some(p),
        Some(v) => {
            return Err(ApiError::validation(format!(
                "throttling.period must be SECONDLY or ROLLING_MINUTE, got {v}"
            )))
        }
    };
    let now = now_millis();
    let saved = state
        .store
        .put_webhook_settings(WebhookSettings {
            app_id: app,
            target_url,
            max_concurrent_requests,
            period,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok(wire::json_response(
        StatusCode::OK,
        &SettingsOut::from(saved),
    ))
}

/// An absolute `http`/`https` URL (HubSpot wants `https`; a local receiver is `http`).
fn check_target_url(url: &str) -> ApiResult<()> {
    let ok = match url.split_once("://") {
        Some((scheme, rest)) => {
            (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
                && !rest.is_empty()
                && !rest.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
                && url.len() <= 2048
        }
        None => false,
    };
    if ok && reqwest::Url::parse(url).is_ok() {
        Ok(())
    } else {
        Err(
            ApiError::validation(format!("targetUrl {url:?} is not an absolute http(s) URL"))
                .with_context_entry("targetUrl", vec![url.to_owned()]),
        )
    }
}

async fn delete_settings(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    state.store.delete_webhook_settings(app).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_subscriptions(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let results = state
        .store
        .list_subscriptions(app)
        .await?
        .into_iter()
        .map(SubscriptionOut::from)
        .collect();
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateIn {
    event_type: Option<String>,
    property_name: Option<String>,
    object_type_id: Option<String>,
    active: Option<bool>,
    #[allow(dead_code)]
    event_type_name: Option<String>,
}

async fn create_subscription(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let input: CreateIn = wire::parse_body(&body)?;
    let new = check_subscription(app, input)?;
    match state.store.create_subscription(new).await? {
        CreateSubscription::Created(s) => Ok(wire::json_response(
            StatusCode::CREATED,
            &SubscriptionOut::from(s),
        )),
        CreateSubscription::LimitReached => Err(subscription_limit(MAX_SUBSCRIPTIONS)),
    }
}

/// HubSpot's answer to an app at its limit of `max` subscriptions (the webhooks guide's
/// body); the webhooks journal's subscriptions answer the same.
pub(crate) fn subscription_limit(max: usize) -> ApiError {
    per_app_limit(format!(
        "Couldn't create another subscription. You've reached the maximum number allowed per application ({max})."
    ))
}

/// An app at one of its limits: 400 with a message and no category, as HubSpot answers
/// the subscription limit.
pub(crate) fn per_app_limit(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, None, message)
}

/// A create body's rules (§42.1-42.2, docs/compatibility.md "Webhooks").
fn check_subscription(app: i64, input: CreateIn) -> ApiResult<NewSubscription> {
    let event_type = input
        .event_type
        .ok_or_else(|| ApiError::validation("eventType is required"))?;
    if !EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(ApiError::validation(format!(
            "Invalid input JSON: eventType {event_type:?} is not one of the accepted values: [{}]",
            EVENT_TYPES.join(", ")
        ))
        .with_context_entry("eventType", vec![event_type]));
    }
    let kind = event_type.split_once('.').map_or("", |(_, k)| k);
    let generic = event_type.starts_with("object.");
    let property_name = input.property_name.filter(|p| !p.is_empty());
    match (&property_name, kind == "propertyChange") {
        (None, true) => {
            return Err(ApiError::validation(format!(
                "propertyName is required for {event_type} subscriptions"
            )))
        }
        (Some(p), false) => {
            return Err(ApiError::validation(format!(
                "propertyName ({p}) only applies to propertyChange subscriptions"
            )))
        }
        (Some(p), true)
            if spoke_store::webhooks::UNSUBSCRIBABLE_PROPERTIES.contains(&p.as_str()) =>
        {
            return Err(
                ApiError::validation(format!("Property {p} cannot be subscribed to"))
                    .with_context_entry("propertyName", vec![p.clone()]),
            )
        }
        (Some(p), true) if p.len() > 256 || p.contains('\0') => {
            return Err(ApiError::validation("propertyName is not a property name")
                .with_context_entry("propertyName", vec![p.replace('\0', "")]))
        }
        _ => {}
    }
    let object_type_id = input.object_type_id.filter(|t| !t.is_empty());
    match (&object_type_id, generic) {
        (None, true) => {
            return Err(ApiError::validation(format!(
                "objectTypeId is required for {event_type} subscriptions"
            )))
        }
        (Some(t), false) => {
            return Err(ApiError::validation(format!(
                "objectTypeId ({t}) only applies to object.* subscriptions"
            )))
        }
        (Some(t), true) if !is_type_id(t) => {
            return Err(ApiError::validation(format!(
                "objectTypeId {t:?} is not an object type id such as 0-1 or 2-123"
            ))
            .with_context_entry("objectTypeId", vec![t.replace('\0', "")]))
        }
        _ => {}
    }
    Ok(NewSubscription {
        app_id: app,
        event_type,
        object_type_id,
        property_name,
        active: input.active.unwrap_or(false),
        now: now_millis(),
    })
}

/// `{n}-{m}`, both numbers: how HubSpot names an object type by id.
fn is_type_id(t: &str) -> bool {
    t.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.len() <= 9
            && b.len() <= 12
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// A path's subscription id: an int32, or it names no subscription.
fn subscription_id(raw: &str) -> ApiResult<i64> {
    raw.trim()
        .parse::<i32>()
        .map(i64::from)
        .map_err(|_| subscription_not_found(raw))
}

fn subscription_not_found(raw: &str) -> ApiError {
    ApiError::object_not_found(format!(
        "Failed to find subscription by id `{raw}`. Try again using a different subscriptionId."
    ))
    .with_context_entry("subscriptionId", vec![raw.to_owned()])
}

async fn find_subscription(state: &AppState, app: i64, id: i64) -> ApiResult<Option<Subscription>> {
    Ok(state
        .store
        .list_subscriptions(app)
        .await?
        .into_iter()
        .find(|s| s.id == id))
}

async fn get_subscription(
    dev: Developer,
    State(state): State<AppState>,
    Path((raw, sub)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let id = subscription_id(&sub)?;
    let found = find_subscription(&state, app, id)
        .await?
        .ok_or_else(|| subscription_not_found(&sub))?;
    Ok(wire::json_response(
        StatusCode::OK,
        &SubscriptionOut::from(found),
    ))
}

#[derive(Deserialize)]
struct PatchIn {
    active: Option<bool>,
}

async fn patch_subscription(
    dev: Developer,
    State(state): State<AppState>,
    Path((raw, sub)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let id = subscription_id(&sub)?;
    let input: PatchIn = wire::parse_body(&body)?;
    let found = match input.active {
        Some(active) => state
            .store
            .set_subscriptions_active(app, vec![(id, active)], now_millis())
            .await?
            .into_iter()
            .next()
            .flatten(),
        None => find_subscription(&state, app, id).await?,
    };
    let found = found.ok_or_else(|| subscription_not_found(&sub))?;
    Ok(wire::json_response(
        StatusCode::OK,
        &SubscriptionOut::from(found),
    ))
}

async fn delete_subscription(
    dev: Developer,
    State(state): State<AppState>,
    Path((raw, sub)): Path<(String, String)>,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let id = subscription_id(&sub)?;
    if state.store.delete_subscription(app, id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(subscription_not_found(&sub))
    }
}

#[derive(Deserialize)]
struct BatchIn {
    inputs: Vec<BatchItem>,
}

#[derive(Deserialize)]
struct BatchItem {
    id: i32,
    active: bool,
}

/// `POST …/subscriptions/batch/update`: 200, or 207 with one `SUBSCRIPTION_ID_NOT_FOUND`
/// error naming every id the app does not have (the spec's example, §42.1).
async fn batch_update(
    dev: Developer,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let app = dev.app(&raw)?;
    let started = wire::Started::new(now_millis());
    let BatchIn { inputs } = wire::parse_body(&body)?;
    if inputs.len() > MAX_SUBSCRIPTIONS {
        return Err(ApiError::validation(format!(
            "A batch update takes at most {MAX_SUBSCRIPTIONS} inputs"
        )));
    }
    let changes: Vec<(i64, bool)> = inputs.iter().map(|i| (i64::from(i.id), i.active)).collect();
    let done = state
        .store
        .set_subscriptions_active(app, changes.clone(), now_millis())
        .await?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for ((id, _), found) in changes.iter().zip(done) {
        match found {
            Some(s) => results.push(SubscriptionOut::from(s)),
            None => {
                let id = id.to_string();
                if !missing.contains(&id) {
                    missing.push(id);
                }
            }
        }
    }
    let mut errors = Vec::new();
    if !missing.is_empty() {
        errors.push(
            ApiError::new(
                StatusCode::NOT_FOUND,
                Some(Category::SubscriptionIdNotFound),
                format!(
                    "Failed to find subscriptions by id `{}`. Try again using a different subscriptionId.",
                    missing.join(", ")
                ),
            )
            .with_sub_category("SubscriptionErrors.SUBSCRIPTION_IDS_NOT_FOUND")
            .with_context_entry("subscriptionIds", missing),
        );
    }
    Ok(wire::batch_response(
        wire::BATCH_OK,
        started,
        results,
        errors,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_ids_are_two_numbers() {
        assert!(is_type_id("0-1"));
        assert!(is_type_id("2-123456"));
        for bad in ["", "0", "-1", "0-", "a-1", "0-1-2", "p_cars"] {
            assert!(!is_type_id(bad), "{bad}");
        }
    }
}
