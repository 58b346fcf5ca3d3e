//! The bearer-token check: each token belongs to one portal and carries HubSpot scope
//! names. Minting and hashing tokens is `spoke_store::tokens`, shared with the command line.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use spoke_core::PortalId;
use spoke_store::tokens;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Who is calling: the portal their token belongs to and what it may do.
#[derive(Debug, Clone)]
pub struct Principal {
    pub portal: PortalId,
    pub token_id: i64,
    pub scopes: Vec<String>,
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

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let secret = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|s| !s.is_empty())
            .ok_or_else(ApiError::unauthenticated)?;
        let token = tokens::authenticate(state.store.as_ref(), secret)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Principal {
            portal: token.portal,
            token_id: token.id,
            scopes: token.scopes,
        })
    }
}
