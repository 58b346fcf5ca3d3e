//! Custom object schemas (`/crm-object-schemas/v3/schemas`, spec schemas-v3;
//! hubspot-behavior-apps.md §40).

use serde::{Deserialize, Serialize};

use crate::properties::{Property, PropertyCreate};

/// Spec `ObjectTypeDefinitionLabels`. Both optional on input so a missing one gets a
/// HubSpot-shaped validation error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Labels {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub singular: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plural: Option<String>,
}

/// Spec `AssociationDefinition`, in the guide's key order (`id` first), then the spec's
/// timestamps.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssociationDefinition {
    pub id: String,
    pub from_object_type_id: String,
    pub to_object_type_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// Spec `ObjectSchema`, in the key order of a captured `GET /crm/v3/schemas` element
/// (§40.4), with `restorable` and `metaType` as real answers carry them;
/// `allowsSensitiveProperties` (spec only) follows `restorable`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchema {
    pub labels: Labels,
    pub required_properties: Vec<String>,
    pub searchable_properties: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Vec<String>,
    pub description: String,
    pub archived: bool,
    pub restorable: bool,
    pub allows_sensitive_properties: bool,
    pub meta_type: &'static str,
    pub id: String,
    pub fully_qualified_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by_user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by_user_id: Option<i64>,
    pub object_type_id: String,
    pub properties: Vec<Property>,
    pub associations: Vec<AssociationDefinition>,
    pub name: String,
}

/// Spec `ObjectTypeDefinition` (the PATCH answer), in the guide example's key order
/// (`id`, timestamps, labels and property lists, `name` last) with the spec's other
/// fields before `name`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeDefinition {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub labels: Labels,
    pub required_properties: Vec<String>,
    pub searchable_properties: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Vec<String>,
    pub portal_id: i64,
    pub fully_qualified_name: String,
    pub object_type_id: String,
    pub archived: bool,
    pub description: String,
    pub allows_sensitive_properties: bool,
    pub name: String,
}

/// Spec `ObjectSchemaEgg`. Required fields are `Option` so a missing one is named in the
/// answer; `metaType` and a property's `isPrimaryDisplayLabel` (in the docs' examples, not
/// the spec) are accepted and ignored like any unknown field.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchemaEgg {
    pub name: Option<String>,
    pub labels: Option<Labels>,
    pub description: Option<String>,
    /// Spec `ObjectTypePropertyCreate`: the properties API's create input, whose `type`,
    /// `fieldType` and `groupName` default here (§40.3).
    pub properties: Option<Vec<PropertyCreate>>,
    pub required_properties: Option<Vec<String>>,
    pub searchable_properties: Option<Vec<String>>,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Option<Vec<String>>,
    pub associated_objects: Option<Vec<String>>,
    /// The guide's field table spells it `allowSensitiveProperties` (§40.3).
    #[serde(alias = "allowSensitiveProperties")]
    pub allows_sensitive_properties: Option<bool>,
    pub should_create_same_object_association: Option<bool>,
}

/// Spec `ObjectTypeDefinitionPatch`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ObjectTypeDefinitionPatch {
    pub labels: Option<Labels>,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Option<Vec<String>>,
    pub searchable_properties: Option<Vec<String>>,
    pub required_properties: Option<Vec<String>>,
    pub description: Option<String>,
    pub clear_description: Option<bool>,
    #[serde(alias = "allowSensitiveProperties")]
    pub allows_sensitive_properties: Option<bool>,
    pub restorable: Option<bool>,
}

/// Spec `AssociationDefinitionEgg`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationDefinitionEgg {
    pub from_object_type_id: Option<String>,
    pub to_object_type_id: Option<String>,
    pub name: Option<String>,
}

/// Spec `ObjectSchemaBatchReadRequest`; the three flags default to true like the GET's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchemaBatchReadRequest {
    pub inputs: Option<Vec<String>>,
    pub include_association_definitions: Option<bool>,
    pub include_audit_metadata: Option<bool>,
    pub include_property_definitions: Option<bool>,
}

/// `GET /crm/v3/limits/custom-object-types` (limits tracking API).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomObjectTypeLimit {
    pub limit: usize,
    pub percentage: f64,
    pub usage: usize,
}
