//! Properties v3: property definitions and groups.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OptionInput {
    pub label: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub display_order: Option<i32>,
    #[serde(default)]
    pub hidden: bool,
}

/// Spec `Option` in responses.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOptionOut {
    pub label: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub display_order: i32,
    pub hidden: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyModificationMetadata {
    pub archivable: bool,
    pub read_only_definition: bool,
    pub read_only_value: bool,
}

/// Spec `Property`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub description: String,
    pub group_name: String,
    pub options: Vec<PropertyOptionOut>,
    pub display_order: i32,
    pub calculated: bool,
    pub external_options: bool,
    pub has_unique_value: bool,
    pub hidden: bool,
    pub hubspot_defined: bool,
    pub modification_metadata: PropertyModificationMetadata,
    pub form_field: bool,
    pub archived: bool,
}

/// Spec `PropertyCreate`. Required fields are `Option` so a missing one gets a
/// HubSpot-shaped validation error naming it, not a generic JSON error.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyCreate {
    pub name: Option<String>,
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub field_type: Option<String>,
    pub group_name: Option<String>,
    pub description: Option<String>,
    pub options: Option<Vec<OptionInput>>,
    pub display_order: Option<i32>,
    pub has_unique_value: Option<bool>,
    pub hidden: Option<bool>,
    pub form_field: Option<bool>,
    pub external_options: Option<bool>,
}

/// Spec `PropertyUpdate`: every field optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyUpdate {
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub field_type: Option<String>,
    pub group_name: Option<String>,
    pub description: Option<String>,
    pub options: Option<Vec<OptionInput>>,
    pub display_order: Option<i32>,
    pub hidden: Option<bool>,
    pub form_field: Option<bool>,
}

/// Spec `PropertyName` (batch read / archive input item).
#[derive(Debug, Clone, Deserialize)]
pub struct PropertyName {
    pub name: String,
}

/// Spec `BatchReadInputPropertyName`.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchReadPropertyNames {
    pub inputs: Vec<PropertyName>,
    #[serde(default)]
    pub archived: bool,
}

/// Spec `PropertyGroup`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: i32,
    pub archived: bool,
}

/// Spec `PropertyGroupCreate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroupCreate {
    pub name: Option<String>,
    pub label: Option<String>,
    pub display_order: Option<i32>,
}

/// Spec `PropertyGroupUpdate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyGroupUpdate {
    pub label: Option<String>,
    pub display_order: Option<i32>,
}

/// `{"results": [...]}` without paging (spec `CollectionResponsePropertyNoPaging`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Results<T> {
    pub results: Vec<T>,
}
