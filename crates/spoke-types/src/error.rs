//! Error bodies: the top-level `Error` envelope and batch `StandardError` items.

use std::collections::BTreeMap;

use serde::Serialize;

/// `context` maps: string to list of strings.
pub type ErrorContext = BTreeMap<String, Vec<String>>;

/// One entry of `errors[]` in a top-level error (spec `ErrorDetail`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "ErrorContext::is_empty")]
    pub context: ErrorContext,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<String>,
}

/// The top-level error body (spec `Error`), in HubSpot's key order:
/// status, message, correlationId, errors, context, links, category. Rate-limit (429)
/// bodies carry `errorType` and `policyName` instead of a category (§6.3).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Error {
    pub status: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    pub correlation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorDetail>,
    #[serde(skip_serializing_if = "ErrorContext::is_empty")]
    pub context: ErrorContext,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<String>,
}

/// One error of a batch response (spec `StandardError`), in HubSpot's key order:
/// status, category, subCategory, message, context.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StandardError {
    pub status: &'static str,
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<String>,
    pub message: String,
    pub context: ErrorContext,
}
