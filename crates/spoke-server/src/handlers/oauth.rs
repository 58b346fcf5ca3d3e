//! OAuth 2.0 token endpoints (hubspot-behavior-apps.md §41.2-41.4): `POST /oauth/v1/token`
//! and its v3 and dated twins, token metadata (`/oauth/v1/access-tokens/{token}`,
//! `/oauth/v1/refresh-tokens/{token}`), introspection and revocation. The rules are
//! `spoke_store::oauth`; this module reads forms and words answers as HubSpot does.
//!
//! These operations authorize by client credentials or by the token in the path, not by a
//! bearer token, so they are routes of their own rather than catalogue rows (whose every
//! row is checked as a bearer-token API). Their errors use HubSpot's OAuth error body.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use spoke_core::time::{now_millis, Millis};
use spoke_core::PortalId;
use spoke_store::oauth::{self, AppRecord, GrantError, GrantKind, GrantRecord, Issued};
use spoke_store::tokens::hash;
use spoke_types::oauth::{
    AccessTokenInfoResponse, InactiveToken, IntrospectionResponse, RefreshTokenInfoResponse,
    TokenResponse,
};

use crate::error::{ApiError, ApiResult};
use crate::wire::Json;
use crate::AppState;

/// The API versions that have HubSpot's v3 token API (the v3 spec and its dated copies).
const V3_VERSIONS: [&str; 3] = ["v3", "2026-03", "2026-09"];

pub(crate) fn router() -> Router<AppState> {
    let mut router = Router::new()
        .route("/oauth/v1/token", post(token_v1))
        .route("/oauth/v1/access-tokens/{token}", get(access_token_info))
        .route(
            "/oauth/v1/refresh-tokens/{token}",
            get(refresh_token_info).delete(delete_refresh_token),
        );
    for version in V3_VERSIONS {
        router = router
            .route(&format!("/oauth/{version}/token"), post(token_v3))
            .route(
                &format!("/oauth/{version}/token/introspect"),
                post(introspect),
            )
            .route(&format!("/oauth/{version}/token/revoke"), post(revoke));
    }
    router
}

/// The parameters of a form request: the query string's (the v1 spec lists some there, a
/// legacy), then the form body's, which win. Whatever the body is, it is read as a form;
/// a body that is not one simply lacks the parameters, and the request fails on those.
struct Form(HashMap<String, String>);

impl Form {
    fn new(query: Option<&str>, body: &[u8]) -> Self {
        let mut params = HashMap::new();
        for source in [query.unwrap_or("").as_bytes(), body] {
            for (k, v) in form_urlencoded::parse(source) {
                params.insert(k.into_owned(), v.into_owned());
            }
        }
        Self(params)
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// HubSpot's OAuth error for each refusal (§41.3; the texts marked [I] there are spoke's
/// choices, docs/compatibility.md "OAuth").
fn grant_error(e: GrantError) -> ApiError {
    let (status, error, message) = match e {
        GrantError::MissingGrantType | GrantError::UnsupportedGrantType => (
            "BAD_GRANT_TYPE",
            "unsupported_grant_type",
            "grant_type must be authorization_code, refresh_token or client_credentials",
        ),
        GrantError::BadClientId => (
            "BAD_CLIENT_ID",
            "invalid_client",
            "missing or unknown client id",
        ),
        GrantError::BadClientSecret => (
            "BAD_CLIENT_SECRET",
            "invalid_client",
            "missing or invalid client secret",
        ),
        GrantError::BadAuthCode => (
            "BAD_AUTH_CODE",
            "invalid_grant",
            "missing or unknown auth code",
        ),
        GrantError::ExpiredAuthCode => {
            ("EXPIRED_AUTH_CODE", "invalid_grant", "auth code is expired")
        }
        GrantError::BadRedirectUri => (
            "BAD_REDIRECT_URI",
            "invalid_grant",
            "redirect_uri does not match the redirect_uri the auth code was issued for",
        ),
        GrantError::BadRefreshToken => (
            "BAD_REFRESH_TOKEN",
            "invalid_grant",
            "refresh token is invalid, expired or revoked",
        ),
        GrantError::RefreshTokenOfAnotherClient => (
            "BAD_REFRESH_TOKEN",
            "invalid_grant",
            "refresh token was not issued to this client",
        ),
    };
    ApiError::oauth(StatusCode::BAD_REQUEST, status, error, message)
}

fn missing_token() -> ApiError {
    ApiError::oauth(
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
        "invalid_request",
        "missing token",
    )
}

fn bad_access_token() -> ApiError {
    ApiError::oauth(
        StatusCode::BAD_REQUEST,
        "BAD_ACCESS_TOKEN",
        "invalid_token",
        "access token is invalid, expired or revoked",
    )
}

async fn token_v1(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    token(&state, &Form::new(query.as_deref(), &body), None).await
}

async fn token_v3(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    token(
        &state,
        &Form::new(query.as_deref(), &body),
        Some("access_token"),
    )
    .await
}

/// `grant_type` first, then the client, then the grant itself.
async fn token(
    state: &AppState,
    form: &Form,
    token_use: Option<&'static str>,
) -> ApiResult<Response> {
    let store = state.store.as_ref();
    let grant_type = match form.get("grant_type") {
        None => return Err(grant_error(GrantError::MissingGrantType)),
        Some(g @ ("authorization_code" | "refresh_token" | "client_credentials")) => g,
        Some(_) => return Err(grant_error(GrantError::UnsupportedGrantType)),
    };
    let app = oauth::authenticate_client(store, form.get("client_id"), form.get("client_secret"))
        .await?
        .map_err(grant_error)?;
    if grant_type == "client_credentials" {
        return client_credentials(state, &app, form, token_use).await;
    }
    let now = grant_now(state, grant_type, form).await?;
    let issued = if grant_type == "authorization_code" {
        oauth::exchange_code(store, &app, form.get("code"), form.get("redirect_uri"), now).await?
    } else {
        oauth::refresh(store, &app, form.get("refresh_token"), now).await?
    };
    let Issued {
        access_token,
        refresh_token,
        portal,
        scopes,
        expires_in,
    } = issued.map_err(grant_error)?;
    let body = TokenResponse {
        token_type: "bearer",
        refresh_token,
        access_token,
        hub_id: portal.0,
        scopes,
        token_use,
        expires_in,
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `grant_type=client_credentials`: a token of the app itself, for the webhooks journal
/// (`spoke_store::journal`); no portal, no refresh token (RFC 6749 §4.4.3).
async fn client_credentials(
    state: &AppState,
    app: &AppRecord,
    form: &Form,
    token_use: Option<&'static str>,
) -> ApiResult<Response> {
    let issued = spoke_store::journal::issue_app_token(
        state.store.as_ref(),
        app.id,
        form.get("scope"),
        now_millis(),
    )
    .await?
    .map_err(|scope| {
        ApiError::oauth(
            StatusCode::BAD_REQUEST,
            "BAD_SCOPES",
            "invalid_scope",
            format!("{scope} is not a scope a client credentials token can have"),
        )
    })?;
    let body = AppTokenResponse {
        token_type: "bearer",
        access_token: issued.access_token,
        expires_in: issued.expires_in,
        scopes: issued.scopes,
        token_use,
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// The client-credentials answer: an access token without refresh token or `hub_id`.
#[derive(serde::Serialize)]
struct AppTokenResponse {
    token_type: &'static str,
    access_token: String,
    expires_in: i64,
    scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_use: Option<&'static str>,
}

/// Now on the clock of the portal the presented code or refresh token belongs to
/// (`crate::clock`): a code's expiry is judged by it and the access token's is stamped
/// from it. Real time when the grant is unknown (the exchange then refuses it anyway).
async fn grant_now(state: &AppState, grant_type: &str, form: &Form) -> ApiResult<Millis> {
    let (kind, secret) = if grant_type == "authorization_code" {
        (GrantKind::Code, form.get("code"))
    } else {
        (GrantKind::Refresh, form.get("refresh_token"))
    };
    let portal = match secret.filter(|s| !s.is_empty()) {
        Some(s) => state
            .store
            .find_grant(kind, &hash(s))
            .await?
            .map(|g| g.portal),
        None => None,
    };
    Ok(portal.map_or_else(now_millis, |p| state.now(p)))
}

/// Who installed an app in a portal, for the metadata answers: the portal's first live
/// super admin (every portal is created with one), its id and email, and the email's
/// domain as the account's domain.
async fn installer(state: &AppState, portal: PortalId) -> ApiResult<(i64, String, String)> {
    let directory = state.store.read_directory(portal).await?;
    let user = directory
        .users
        .iter()
        .filter(|u| u.removed_at.is_none())
        .find(|u| u.super_admin)
        .or_else(|| directory.users.first());
    let (id, email) = user.map_or((0, String::new()), |u| (u.id, u.email.clone()));
    let domain = email
        .split_once('@')
        .map_or_else(String::new, |(_, d)| d.to_owned());
    Ok((id, email, domain))
}

/// The live access token `secret` is, if any.
async fn live_access(state: &AppState, secret: &str) -> ApiResult<Option<GrantRecord>> {
    Ok(oauth::find_access_token(state.store.as_ref(), secret)
        .await?
        .filter(|t| !t.expired(state.now(t.portal))))
}

/// Seconds until the token expires, on its portal's clock.
fn seconds_left(state: &AppState, token: &GrantRecord) -> i64 {
    token
        .expires_at
        .map_or(0, |at| ((at - state.now(token.portal)) / 1000).max(0))
}

/// `GET /oauth/v1/access-tokens/{token}`: no Authorization header, the token is the path.
async fn access_token_info(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let found = live_access(&state, &token)
        .await?
        .ok_or_else(bad_access_token)?;
    let (user_id, user, hub_domain) = installer(&state, found.portal).await?;
    let body = AccessTokenInfoResponse {
        expires_in: seconds_left(&state, &found),
        token,
        user,
        hub_domain,
        scopes: found.scopes,
        hub_id: found.portal.0,
        app_id: found.app_id,
        user_id,
        token_type: "access",
        is_private_distribution: false,
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

async fn find_refresh(state: &AppState, secret: &str) -> ApiResult<Option<GrantRecord>> {
    Ok(state
        .store
        .find_grant(GrantKind::Refresh, &hash(secret))
        .await?)
}

async fn app_of(state: &AppState, id: i64) -> ApiResult<Option<AppRecord>> {
    Ok(state
        .store
        .find_app(spoke_store::oauth::AppLookup::Id(id))
        .await?)
}

/// `GET /oauth/v1/refresh-tokens/{token}`.
async fn refresh_token_info(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let found = find_refresh(&state, &token)
        .await?
        .ok_or_else(|| grant_error(GrantError::BadRefreshToken))?;
    let app = app_of(&state, found.app_id)
        .await?
        .ok_or_else(|| grant_error(GrantError::BadRefreshToken))?;
    let (user_id, user, hub_domain) = installer(&state, found.portal).await?;
    let body = RefreshTokenInfoResponse {
        token,
        user,
        hub_domain,
        scopes: found.scopes,
        hub_id: found.portal.0,
        client_id: app.client_id,
        user_id,
        token_type: "refresh",
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `DELETE /oauth/v1/refresh-tokens/{token}`: 204; the access tokens it made keep working.
async fn delete_refresh_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    if state
        .store
        .delete_grant(GrantKind::Refresh, &hash(&token))
        .await?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(grant_error(GrantError::BadRefreshToken))
    }
}

/// The token an introspection or revocation names: `token` (the spec), or `access_token` /
/// `refresh_token` (the v3 guide's prose).
fn named_token(form: &Form) -> Option<(&str, Option<GrantKind>)> {
    let hint = match form.get("token_type_hint") {
        Some("refresh_token") => Some(GrantKind::Refresh),
        Some("access_token") => Some(GrantKind::Access),
        _ => None,
    };
    form.get("token")
        .map(|t| (t, hint))
        .or_else(|| {
            form.get("access_token")
                .map(|t| (t, Some(GrantKind::Access)))
        })
        .or_else(|| {
            form.get("refresh_token")
                .map(|t| (t, Some(GrantKind::Refresh)))
        })
}

/// The live grant of `app` a token is: access or refresh, the hinted kind first.
async fn find_own(
    state: &AppState,
    app: &AppRecord,
    secret: &str,
    hint: Option<GrantKind>,
) -> ApiResult<Option<(GrantKind, GrantRecord)>> {
    let order = match hint {
        Some(GrantKind::Refresh) => [GrantKind::Refresh, GrantKind::Access],
        _ => [GrantKind::Access, GrantKind::Refresh],
    };
    for kind in order {
        let found = match kind {
            GrantKind::Access => live_access(state, secret).await?,
            _ => find_refresh(state, secret).await?,
        };
        if let Some(grant) = found.filter(|g| g.app_id == app.id) {
            return Ok(Some((kind, grant)));
        }
    }
    Ok(None)
}

/// `POST /oauth/v3/token/introspect`: a token of another app, or no live token, is
/// `{"active":false}` (RFC 7662).
async fn introspect(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let form = Form::new(query.as_deref(), &body);
    let app = oauth::authenticate_client(
        state.store.as_ref(),
        form.get("client_id"),
        form.get("client_secret"),
    )
    .await?
    .map_err(grant_error)?;
    let (secret, hint) = named_token(&form).ok_or_else(missing_token)?;
    let Some((kind, grant)) = find_own(&state, &app, secret, hint).await? else {
        return Ok(Json(StatusCode::OK, InactiveToken { active: false }).into_response());
    };
    let (user_id, user, hub_domain) = installer(&state, grant.portal).await?;
    let access = kind == GrantKind::Access;
    let body = IntrospectionResponse {
        active: true,
        token: secret.to_owned(),
        hub_id: grant.portal.0,
        user_id,
        client_id: app.client_id,
        app_id: app.id,
        user,
        hub_domain,
        expires_in: access.then(|| seconds_left(&state, &grant)),
        scopes: grant.scopes,
        is_private_distribution: access.then_some(false),
        token_use: if access {
            "access_token"
        } else {
            "refresh_token"
        },
        token_type: "Bearer",
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `POST /oauth/v3/token/revoke`: 200 with no body whether or not the token was live
/// (RFC 7009 §2.2), so revocation cannot be used to probe for tokens.
async fn revoke(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let form = Form::new(query.as_deref(), &body);
    let app = oauth::authenticate_client(
        state.store.as_ref(),
        form.get("client_id"),
        form.get("client_secret"),
    )
    .await?
    .map_err(grant_error)?;
    let (secret, hint) = named_token(&form).ok_or_else(missing_token)?;
    if let Some((kind, grant)) = find_own(&state, &app, secret, hint).await? {
        state.store.delete_grant(kind, &grant.hash).await?;
    }
    Ok(StatusCode::OK.into_response())
}
