//! One module per HubSpot API, plus the small pieces they share: the batch body and query
//! extractors, and the checks every API words the same.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use spoke_types::objects::BatchInput;

use crate::error::{ApiError, ApiResult};
use crate::wire::{Body, QueryParams};
use crate::AppState;

pub mod associations;
pub mod consent;
pub mod directory;
pub mod journal;
pub mod legacy;
pub mod oauth;
pub mod objects;
pub mod pipelines;
pub mod properties;
pub mod schemas;
pub mod search;
pub mod webhooks;

/// An input id as the client sent it: a JSON string (borrowed from the request), or a
/// number some clients send.
pub(crate) fn id_str(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

/// [`id_str`], owned.
pub(crate) fn id_text(v: &Value) -> String {
    id_str(v).into_owned()
}

/// A record id from the path: numeric, or HubSpot's 404 for a non-numeric id (§2.3).
pub(crate) fn path_id(raw: &str) -> ApiResult<spoke_core::ObjectId> {
    raw.trim()
        .parse()
        .map_err(|_| ApiError::object_id_not_numeric(raw))
}

/// HubSpot's batch-size limit and its exact message (hubspot-behavior.md §1.1).
pub(crate) fn check_batch_limit(len: usize, max: usize) -> ApiResult<()> {
    if len > max {
        return Err(ApiError::validation(format!(
            "The maximum number of inputs supported in a batch is {max}. Please reduce the number of items and try again"
        )));
    }
    Ok(())
}

/// A batch body's inputs (`{"inputs": [...]}`), parsed like any [`Body`] and then held
/// to HubSpot's batch limit `MAX` ([`check_batch_limit`]).
pub(crate) struct Batch<T, const MAX: usize>(pub Vec<T>);

impl<T: DeserializeOwned + Send, const MAX: usize> FromRequest<AppState> for Batch<T, MAX> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let Body(BatchInput { inputs }) = Body::<BatchInput<T>>::from_request(req, state).await?;
        check_batch_limit(inputs.len(), MAX).map_err(IntoResponse::into_response)?;
        Ok(Self(inputs))
    }
}

/// The `archived` query parameter (`false` when absent), checked before the body is read.
pub(crate) struct Archived(pub bool);

impl FromRequestParts<AppState> for Archived {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<Self> {
        QueryParams::parse(parts.uri.query())
            .bool("archived")
            .map(Self)
    }
}

/// HubSpot's answer to an input without the fields it requires (`names`, comma-separated).
pub(crate) fn missing_required(names: &str) -> ApiError {
    ApiError::validation(format!("Missing required field(s): {names}"))
}

/// Two fields an input must have; the answer names both (`names`) when either is missing.
pub(crate) fn both<A, B>(a: Option<A>, b: Option<B>, names: &str) -> ApiResult<(A, B)> {
    match (a, b) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(missing_required(names)),
    }
}

/// The names of the required fields an input lacks, in the order given, comma-separated;
/// `None` when it has them all.
pub(crate) fn missing_fields(fields: &[(&str, bool)]) -> Option<String> {
    let missing: Vec<&str> = fields
        .iter()
        .filter(|(_, present)| !present)
        .map(|(name, _)| *name)
        .collect();
    (!missing.is_empty()).then(|| missing.join(", "))
}
