//! Bearer tokens: each belongs to one portal and carries HubSpot scope names.
//! Tokens are stored as SHA-256 hashes; the secret is shown once, when created.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use spoke_core::PortalId;

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

/// The stored form of a token secret.
pub fn hash_token(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new token secret shaped like HubSpot's private-app tokens (`pat-na1-<uuid>`), with
/// 244 random bits from two v4 UUIDs.
pub fn new_token_secret() -> String {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("pat-na1-{a}-{b}")
}

/// What listings show of a token: enough to tell tokens apart, too little to use one.
pub fn token_prefix(secret: &str) -> String {
    secret.chars().take(16).collect()
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
        let token = state
            .store
            .find_token(&hash_token(secret))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Principal {
            portal: token.portal,
            token_id: token.id,
            scopes: token.scopes,
        })
    }
}
