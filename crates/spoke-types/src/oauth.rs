//! OAuth 2.0 bodies (oauth-v1.json, oauth-v3.json; hubspot-behavior-apps.md §41), in the
//! key order of HubSpot's docs and captures.

use serde::Serialize;

/// `POST /oauth/v1/token` (and v3): the v3 guide's order, `token_type` first. `token_use`
/// only on the v3 and dated paths.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenResponse {
    pub token_type: &'static str,
    pub refresh_token: String,
    pub access_token: String,
    pub hub_id: i64,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_use: Option<&'static str>,
    pub expires_in: i64,
}

/// `GET /oauth/v1/access-tokens/{token}` (spec `AccessTokenInfoResponse`), in the order of
/// the captured answer; `expires_in` is what is left of the token's life.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccessTokenInfoResponse {
    pub token: String,
    pub user: String,
    pub hub_domain: String,
    pub scopes: Vec<String>,
    pub hub_id: i64,
    pub app_id: i64,
    pub expires_in: i64,
    pub user_id: i64,
    pub token_type: &'static str,
    pub is_private_distribution: bool,
}

/// `GET /oauth/v1/refresh-tokens/{token}` (spec `RefreshTokenInfoResponse`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RefreshTokenInfoResponse {
    pub token: String,
    pub user: String,
    pub hub_domain: String,
    pub scopes: Vec<String>,
    pub hub_id: i64,
    pub client_id: String,
    pub user_id: i64,
    pub token_type: &'static str,
}

/// `POST /oauth/v3/token/introspect` for a live token (spec `PublicAccessTokenInfoResponse`
/// / `PublicRefreshTokenInfoResponse`), in the v3 guide's order. Access-token-only fields
/// are absent for a refresh token.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntrospectionResponse {
    pub active: bool,
    pub token: String,
    pub hub_id: i64,
    pub user_id: i64,
    pub client_id: String,
    pub app_id: i64,
    pub user: String,
    pub hub_domain: String,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_private_distribution: Option<bool>,
    pub token_use: &'static str,
    pub token_type: &'static str,
}

/// Introspection of a token that is not live (RFC 7662 §2.2: only `active`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InactiveToken {
    pub active: bool,
}

/// An OAuth endpoint's error (§41.3): RFC 6749's `error` and `error_description` beside
/// HubSpot's own `status` code and `message`, and the correlation id.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OAuthError {
    pub error: &'static str,
    pub error_description: String,
    pub status: &'static str,
    pub message: String,
    #[serde(rename = "correlationId")]
    pub correlation_id: String,
}
