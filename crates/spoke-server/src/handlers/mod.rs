//! One module per HubSpot API, plus the small pieces they share.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub mod associations;
pub mod objects;
pub mod properties;
pub mod search;

/// An input id as the client sent it: a JSON string, or a number some clients send.
pub(crate) fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
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
