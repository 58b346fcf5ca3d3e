//! The object types spoke serves, with HubSpot's ids, names and scopes (hubspot-behavior.md §4).

use std::fmt;

/// HubSpot's object type id, e.g. `0-1` for contacts. Stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjectTypeId(pub &'static str);

impl fmt::Display for ObjectTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// One built-in object type.
#[derive(Debug)]
pub struct ObjectType {
    pub id: ObjectTypeId,
    /// Plural API name (`contacts`), as used in paths.
    pub name: &'static str,
    /// Singular name (`contact`): accepted in paths, used lowercase in association messages.
    pub singular: &'static str,
    /// The word HubSpot uses in "Could not get some CONTACT objects" (hubspot-behavior.md §1.2).
    pub upper: &'static str,
    /// Any one of these scopes grants reading (hubspot-behavior.md §4.2).
    pub read_scopes: &'static [&'static str],
    /// Any one of these scopes grants writing.
    pub write_scopes: &'static [&'static str],
    /// The create-date property this type exposes (`createdate` or `hs_createdate`).
    pub createdate_property: &'static str,
    /// The last-modified property (`lastmodifieddate` on contacts, else `hs_lastmodifieddate`).
    pub modified_property: &'static str,
    /// Returned when a read names no `properties` (hubspot-behavior.md §1.4).
    pub default_properties: &'static [&'static str],
    /// Whether the public API may create, upsert and archive records of this type.
    /// Partner types are created by HubSpot itself (their specs have no create/archive).
    pub public_create: bool,
    /// Properties a create must set (HubSpot's "understanding the CRM" guide).
    pub required_on_create: &'static [&'static str],
    /// The properties search's `query` matches (HubSpot's default searchable ones;
    /// docs/compatibility.md). Empty: `query` filters nothing.
    pub text_search_properties: &'static [&'static str],
    /// Records are written by HubSpot only (feedback submissions, deal splits through the
    /// objects API): no create, update or archive, and no property definitions either.
    pub read_only: bool,
    /// Any one of these scopes grants reading the type's property definitions and
    /// pipelines: the alternatives HubSpot's properties and pipelines specs list that
    /// stand for this type (docs/compatibility.md, "Scopes of property definitions").
    pub schema_read_scopes: &'static [&'static str],
    /// Any one of these scopes grants writing them.
    pub schema_write_scopes: &'static [&'static str],
    /// Whether records of this type move through pipelines, and how (`None`: they do not,
    /// and `/crm/v3/pipelines/{type}` refuses the type).
    pub pipelines: Option<Pipelined>,
}

/// How a pipelined type's records name their pipeline and stage, and what its stages must
/// carry (hubspot-behavior-platform.md §23.4–§23.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pipelined {
    /// The record property holding the pipeline id (`pipeline`, `hs_pipeline`).
    pub pipeline_property: &'static str,
    /// The record property holding the stage id (`dealstage`, `hs_pipeline_stage`).
    pub stage_property: &'static str,
    /// Whether a stage's metadata must carry a `probability` between 0 and 1 (deals).
    pub probability: bool,
    /// Whether a stage's metadata may carry a `ticketState` (`OPEN` or `CLOSED`).
    pub ticket_state: bool,
    /// The most stages one pipeline may have.
    pub max_stages: usize,
}

impl ObjectType {
    /// Resolves a path segment: plural name, singular name or type id, case-insensitively.
    pub fn resolve(segment: &str) -> Option<&'static ObjectType> {
        let s = segment.trim();
        crate::catalog::OBJECT_TYPES.iter().find(|t| {
            t.id.0 == s || t.name.eq_ignore_ascii_case(s) || t.singular.eq_ignore_ascii_case(s)
        })
    }

    /// Looks a type up by its stored id.
    pub fn by_id(id: &str) -> Option<&'static ObjectType> {
        crate::catalog::OBJECT_TYPES.iter().find(|t| t.id.0 == id)
    }

    pub fn all() -> &'static [ObjectType] {
        crate::catalog::OBJECT_TYPES
    }

    /// Whether `name` is a property this type computes from the record itself
    /// (id, create and modified dates) rather than stores.
    pub fn is_record_property(&self, name: &str) -> bool {
        name == "hs_object_id"
            || name == self.createdate_property
            || name == self.modified_property
            || name == "hs_createdate"
            || name == "hs_lastmodifieddate"
            || name == "createdate"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_plural_singular_and_id() {
        assert_eq!(ObjectType::resolve("contacts").map(|t| t.id.0), Some("0-1"));
        assert_eq!(ObjectType::resolve("contact").map(|t| t.id.0), Some("0-1"));
        assert_eq!(
            ObjectType::resolve("0-420").map(|t| t.name),
            Some("listings")
        );
        assert_eq!(ObjectType::resolve("CONTACTS").map(|t| t.id.0), Some("0-1"));
        assert!(ObjectType::resolve("credentialing_2_0").is_none());
    }
}
