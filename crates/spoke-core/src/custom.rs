//! A portal's custom object type, as the schemas API defines it and the store keeps it
//! (hubspot-behavior-apps.md §40). The object type a request resolves to is built from this
//! value (`ObjectType::from_custom`); its properties are ordinary property definitions of
//! type `2-{number}`, and its association definitions are the graph's.

use crate::record::PortalId;
use crate::time::Millis;

/// One custom object schema of one portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSchema {
    pub portal: PortalId,
    /// The number in the type id `2-{number}` (and the schema's bare `id`): unique across the
    /// installation and never reused, even after a purge (§40.5).
    pub number: i64,
    /// As created (case kept, §40.2); letters, digits and underscores, a letter first.
    pub name: String,
    pub singular_label: String,
    pub plural_label: String,
    pub description: String,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Vec<String>,
    pub searchable_properties: Vec<String>,
    pub required_properties: Vec<String>,
    pub allows_sensitive_properties: bool,
    pub restorable: bool,
    /// Archived schemas keep their number and name until purged.
    pub archived: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub created_by_user_id: Option<i64>,
    pub updated_by_user_id: Option<i64>,
}

impl CustomSchema {
    /// `2-{number}`.
    pub fn object_type_id(&self) -> String {
        format!("2-{}", self.number)
    }

    /// `p{portal}_{name}`.
    pub fn fully_qualified_name(&self) -> String {
        format!("p{}_{}", self.portal.0, self.name)
    }
}
