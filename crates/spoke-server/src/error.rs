//! The one error type that reaches the wire. Every rejection (bad JSON, unknown route,
//! missing token, invalid property value, storage failure) and every error of a batch
//! answer's `errors` becomes an [`ApiError`], and only [`crate::wire`] turns it into
//! HubSpot's JSON: a whole answer with the correlation id, or one batch item.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spoke_core::PropertyError;
use spoke_store::schema::UnknownObjectType;
use spoke_store::StoreError;
use spoke_types::error::{ErrorContext, ErrorDetail};

/// HubSpot's error categories with their HTTP status (hubspot-behavior.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    ValidationError,
    ObjectNotFound,
    Conflict,
    InvalidAuthentication,
    ExpiredAuthentication,
    MissingScopes,
    /// The webhooks API's batch update, for ids the app does not have (§42.1).
    SubscriptionIdNotFound,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::ObjectNotFound => "OBJECT_NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::InvalidAuthentication => "INVALID_AUTHENTICATION",
            Self::ExpiredAuthentication => "EXPIRED_AUTHENTICATION",
            Self::MissingScopes => "MISSING_SCOPES",
            Self::SubscriptionIdNotFound => "SUBSCRIPTION_ID_NOT_FOUND",
        }
    }
}

/// An error answer: status plus the parts of HubSpot's `Error` body except the
/// correlation id, which the wire middleware adds.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// `None` for HubSpot's minimal bodies (404 "resource not found", unknown object type).
    pub category: Option<Category>,
    pub sub_category: Option<String>,
    pub context: ErrorContext,
    pub errors: Vec<ErrorDetail>,
    pub links: BTreeMap<String, String>,
    /// Internal cause, logged with the correlation id, never sent.
    pub cause: Option<String>,
    /// Set on 429s only: HubSpot's `policyName` (`TEN_SECONDLY_ROLLING`, `SECONDLY`).
    pub policy_name: Option<&'static str>,
    /// Set on answers of operations spoke knows but does not serve: the operation
    /// (`GET /crm/v3/owners`), sent as `x-spoke-not-emulated` so a test can tell spoke's
    /// gap from a real missing scope.
    pub not_emulated: Option<String>,
    /// Set on errors of the OAuth endpoints, which answer in their own shape
    /// (`spoke_types::oauth::OAuthError`): HubSpot's `status` code and RFC 6749's `error`.
    pub oauth: Option<OAuthCode>,
    /// Headers the answer carries besides the usual ones (an injected 429's rate-limit
    /// headers, `x-spoke-fault`).
    pub headers: Vec<(&'static str, String)>,
    /// Sent instead of HubSpot's error body (a fault rule's `body`), as it is.
    pub body: Option<serde_json::Value>,
}

/// The codes of an OAuth endpoint's error: HubSpot's `status` (`BAD_AUTH_CODE`) and the
/// RFC 6749 `error` (`invalid_grant`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthCode {
    pub status: &'static str,
    pub error: &'static str,
}

pub type ApiResult<T> = Result<T, ApiError>;

const SCOPES_LINK: &str = "https://developers.hubspot.com/scopes";

/// One requirement of a 403 `MISSING_SCOPES`: its alternatives, any one of which suffices.
fn scopes_detail(alternatives: &[String]) -> ErrorDetail {
    ErrorDetail {
        message: "One or more of the following scopes are required.".into(),
        code: None,
        context: ctx(&[("requiredGranularScopes", alternatives.to_vec())]),
        sub_category: None,
    }
}

pub fn ctx(pairs: &[(&str, Vec<String>)]) -> ErrorContext {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl ApiError {
    pub fn new(status: StatusCode, category: Option<Category>, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            category,
            sub_category: None,
            context: ErrorContext::new(),
            errors: Vec::new(),
            links: BTreeMap::new(),
            cause: None,
            policy_name: None,
            not_emulated: None,
            oauth: None,
            headers: Vec::new(),
            body: None,
        }
    }

    /// An OAuth endpoint's error (hubspot-behavior-apps.md §41.3).
    pub fn oauth(
        status: StatusCode,
        code: &'static str,
        error: &'static str,
        message: impl Into<String>,
    ) -> Self {
        let mut e = Self::new(status, None, message);
        e.oauth = Some(OAuthCode {
            status: code,
            error,
        });
        e
    }

    /// An expired OAuth access token on any API (§41.5): how long ago, in the largest
    /// whole unit, and the expiry instant in `context`.
    pub fn expired(expired_at: spoke_core::time::Millis, now: spoke_core::time::Millis) -> Self {
        let secs = (now - expired_at).max(0) / 1000;
        let (n, unit) = match secs {
            s if s < 60 => (s, "second"),
            s if s < 3600 => (s / 60, "minute"),
            s if s < 86_400 => (s / 3600, "hour"),
            s => (s / 86_400, "day"),
        };
        Self::new(
            StatusCode::UNAUTHORIZED,
            Some(Category::ExpiredAuthentication),
            format!("The OAuth token used to make this call expired {n} {unit}(s) ago."),
        )
        .with_context(ctx(&[(
            "expire time",
            vec![spoke_core::time::format_iso(expired_at)],
        )]))
    }

    /// HubSpot's 429 (§6.3): `errorType: RATE_LIMIT` and the policy, no category.
    pub fn rate_limited(policy: &'static str) -> Self {
        let message = match policy {
            "SECONDLY" => "You have reached your secondly limit.",
            _ => "You have reached your ten_secondly_rolling limit.",
        };
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, None, message);
        e.policy_name = Some(policy);
        e
    }

    pub fn with_context(mut self, context: ErrorContext) -> Self {
        self.context = context;
        self
    }

    /// Adds one `context` entry, replacing an entry of the same key.
    pub fn with_context_entry(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.insert(key.to_owned(), values);
        self
    }

    pub fn with_sub_category(mut self, sub_category: impl Into<String>) -> Self {
        self.sub_category = Some(sub_category.into());
        self
    }

    /// `OBJECT_NOT_FOUND` with a message: 404 on its own, or one error of a batch answer.
    pub fn object_not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some(Category::ObjectNotFound),
            message,
        )
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            Some(Category::ValidationError),
            message,
        )
    }

    /// A create that leaves some of its type's required properties unset (HubSpot's
    /// message and `context.properties`, hubspot-behavior-platform.md §24.3).
    pub fn required_missing(upper: &str, missing: Vec<String>) -> Self {
        Self::validation(format!(
            "Error creating {upper}. Some required properties were not set."
        ))
        .with_context(ctx(&[("properties", missing)]))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some(Category::Conflict), message)
    }

    /// HubSpot's bare 404 for a numeric id that does not exist.
    pub fn resource_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "resource not found")
    }

    /// A non-numeric record id (hubspot-behavior.md §2.3; two spaces as captured).
    pub fn object_id_not_numeric(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some(Category::ObjectNotFound),
            "Object not found.  objectId are usually numeric.",
        )
        .with_context(ctx(&[("id", vec![id.to_owned()])]))
    }

    /// A path that is no operation HubSpot has (none of the catalogue's rows, written or
    /// generated). HubSpot answers these with HTML pages; spoke keeps to JSON, which every
    /// client parses, in the shape of HubSpot's JSON "resource not found" with the
    /// `OBJECT_NOT_FOUND` category (hubspot-behavior-platform.md §26).
    pub fn unknown_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            Some(Category::ObjectNotFound),
            "resource not found",
        )
    }

    /// An operation HubSpot has and spoke does not implement, asked for by a token with
    /// its scopes: HubSpot's 403 for an API the caller cannot use (hubspot-behavior-platform.md
    /// §26), which connectors treat as "skip this stream" where a 404 would be fatal. It
    /// names the scopes HubSpot requires for the operation (`required`, each a list of
    /// alternatives) as a missing-scope answer does.
    pub fn not_implemented(method: &str, path: &str, required: &[Vec<String>]) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            Some(Category::MissingScopes),
            format!(
                "The scope needed for this API call isn't available for public use. spoke does not implement {method} {path} yet."
            ),
        );
        for alternatives in required.iter().filter(|a| !a.is_empty()) {
            e.errors.push(scopes_detail(alternatives));
        }
        if !e.errors.is_empty() {
            e.links.insert("scopes".into(), SCOPES_LINK.into());
        }
        e.not_emulated = Some(format!("{method} {path}"));
        e
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "HTTP method not allowed for this resource",
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            Some(Category::InvalidAuthentication),
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    /// 403 as HubSpot sends it: `requiredGranularScopes` lists alternatives, any one suffices.
    pub fn missing_scopes(required: &[String]) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            Some(Category::MissingScopes),
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        );
        e.errors.push(scopes_detail(required));
        e.links.insert("scopes".into(), SCOPES_LINK.into());
        e
    }

    /// `Property values were not valid: [...]` with one entry per failing value (§2.2).
    pub fn property_values(errors: &[PropertyError]) -> Self {
        #[derive(Serialize)]
        struct Item<'a> {
            #[serde(rename = "isValid")]
            is_valid: bool,
            message: &'a str,
            error: &'a str,
            name: &'a str,
        }
        let items: Vec<Item<'_>> = errors
            .iter()
            .map(|e| Item {
                is_valid: false,
                message: &e.message,
                error: e.code,
                name: &e.name,
            })
            .collect();
        let list = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into());
        let mut out = Self::validation(format!("Property values were not valid: {list}"));
        out.errors = errors
            .iter()
            .map(|e| ErrorDetail {
                message: e.message.clone(),
                code: Some(e.code.to_owned()),
                context: ctx(&[("propertyName", vec![e.name.clone()])]),
                sub_category: None,
            })
            .collect();
        out
    }

    pub fn internal(cause: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, "internal error");
        e.cause = Some(cause.into());
        e
    }

    pub fn unavailable(cause: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "The service is temporarily unavailable. Please retry.",
        );
        e.cause = Some(cause.into());
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => Self::unavailable(cause),
            StoreError::Internal(cause) => Self::internal(cause),
        }
    }
}

impl From<UnknownObjectType> for ApiError {
    fn from(e: UnknownObjectType) -> Self {
        Self::new(StatusCode::BAD_REQUEST, None, e.to_string())
    }
}

impl IntoResponse for ApiError {
    /// The body is written by [`crate::wire::middleware`], which knows the correlation id.
    fn into_response(self) -> Response {
        let status = self.status;
        let mut res = status.into_response();
        res.extensions_mut().insert(self);
        res
    }
}
