//! The bearer-token check: each token belongs to one portal and carries HubSpot scope
//! names. A bearer is a private-app token (`spoke_store::tokens`, shared with the command
//! line) or an OAuth access token (`spoke_store::oauth`), which also expires: an expired
//! one gets HubSpot's 401 `EXPIRED_AUTHENTICATION` on every API.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use spoke_core::PortalId;
use spoke_store::{oauth, tokens};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Who is calling: the portal their token belongs to and what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    /// The private-app token's id; 0 for an OAuth access token.
    pub token_id: i64,
    pub scopes: Vec<String>,
    /// The OAuth app whose access token this is; `None` for a private-app token.
    pub app_id: Option<i64>,
}

impl Principal {
    /// Checks a requirement of alternatives: any one granted scope suffices.
    pub fn require(&self, required: &[String]) -> ApiResult<()> {
        if spoke_core::scope::satisfies(&self.scopes, required) {
            Ok(())
        } else {
            Err(ApiError::missing_scopes(required))
        }
    }
}

/// The secret of an `Authorization: Bearer …` header (any case of the scheme); a request
/// without one is unauthenticated. The one reader of that header, for HubSpot's tokens and
/// for the admin token alike.
pub fn bearer(parts: &Parts) -> ApiResult<&str> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|s| !s.is_empty())
        .ok_or_else(ApiError::unauthenticated)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let principal = Self::authenticate(parts, state).await?;
        if let Some(caller) = parts.extensions.get::<crate::inspector::Caller>() {
            caller.set(crate::inspector::CallerInfo {
                portal_id: principal.portal.0,
                token_id: principal.app_id.is_none().then_some(principal.token_id),
                app_id: principal.app_id,
            });
        }
        Ok(principal)
    }
}

impl Principal {
    async fn authenticate(parts: &Parts, state: &AppState) -> ApiResult<Self> {
        let secret = bearer(parts)?;
        if let Some(token) = tokens::authenticate(state.store.as_ref(), secret).await? {
            crate::faults::at_principal(state, parts, token.portal).await?;
            return Ok(Principal {
                portal: token.portal,
                token_id: token.id,
                scopes: token.scopes,
                app_id: None,
            });
        }
        let token = oauth::find_access_token(state.store.as_ref(), secret)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        // Judged by the portal's clock, so advancing it expires the token.
        let now = state.now(token.portal);
        if let Some(at) = token.expires_at.filter(|at| *at <= now) {
            return Err(ApiError::expired(at, now));
        }
        crate::faults::at_principal(state, parts, token.portal).await?;
        Ok(Principal {
            portal: token.portal,
            token_id: 0,
            scopes: token.scopes,
            app_id: Some(token.app_id),
        })
    }
}
