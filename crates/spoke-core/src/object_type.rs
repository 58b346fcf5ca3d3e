//! What an object type is (hubspot-behavior.md §4), and how a path segment names one.
//!
//! A type is a value: HubSpot's standard types are built once from the catalogue's
//! descriptors ([`crate::catalog`]), a portal's custom types from their stored schema
//! ([`ObjectType::from_custom`]). Handlers hold them as [`TypeRef`] (an `Arc`), so resolving
//! a standard type costs a reference-count increment, and every per-type rule is a field
//! read here, never a comparison with a type's id or name.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use crate::custom::CustomSchema;
use crate::property::PropertyDefinition;
use crate::record::PortalId;

/// HubSpot's object type id, e.g. `0-1` for contacts or `2-1234567` for a custom type.
/// Stored as text; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectTypeId(Arc<str>);

impl ObjectTypeId {
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectTypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectTypeId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for ObjectTypeId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ObjectTypeId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for ObjectTypeId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

/// A resolved object type, as requests and the CLI hold it.
pub type TypeRef = Arc<ObjectType>;

/// One object type: every fact spoke knows about it.
#[derive(Debug)]
pub struct ObjectType {
    pub id: ObjectTypeId,
    /// The name HubSpot uses for the type where it names one: the plural API name of a
    /// standard type (`contacts`, as used in paths), a custom type's `fullyQualifiedName`
    /// (`p1234_cars`: the key of its `?associations=` results, §40.2).
    pub name: String,
    /// Singular name (`contact`): accepted in paths for standard types, used lowercase in
    /// association messages and v3 association type names (a custom type's bare schema
    /// name, `contact_to_cars`, §40.2).
    pub singular: String,
    /// The word HubSpot uses in "Could not get some CONTACT objects" (hubspot-behavior.md §1.2).
    pub upper: String,
    /// Any one of these scopes grants reading (hubspot-behavior.md §4.2).
    pub read_scopes: Vec<String>,
    /// Any one of these scopes grants writing.
    pub write_scopes: Vec<String>,
    /// The create-date property this type exposes (`createdate` or `hs_createdate`).
    pub createdate_property: String,
    /// The last-modified property (`lastmodifieddate` on contacts, else `hs_lastmodifieddate`).
    pub modified_property: String,
    /// Returned when a read names no `properties` (hubspot-behavior.md §1.4).
    pub default_properties: Vec<String>,
    /// Whether the public API may create, upsert and archive records of this type.
    /// Partner types are created by HubSpot itself (their specs have no create/archive).
    pub public_create: bool,
    /// Properties a create must set (HubSpot's "understanding the CRM" guide; a custom
    /// schema's `requiredProperties`).
    pub required_on_create: Vec<String>,
    /// The properties search's `query` matches (HubSpot's default searchable ones, or a
    /// custom schema's `searchableProperties`; docs/compatibility.md). Empty: `query`
    /// filters nothing.
    pub text_search_properties: Vec<String>,
    /// HubSpot-defined properties whose values are unique in a portal without a
    /// `hasUniqueValue` definition (contacts' `email`): usable as `idProperty`, held in the
    /// unique-value index, with the conflict message HubSpot gives for them.
    pub unique_properties: Vec<UniqueProperty>,
    /// Records are written by HubSpot only (feedback submissions, deal splits through the
    /// objects API): no create, update or archive, and no property definitions either.
    pub read_only: bool,
    /// Any one of these scopes grants reading the type's property definitions and
    /// pipelines: the alternatives HubSpot's properties and pipelines specs list that
    /// stand for this type (docs/compatibility.md, "Scopes of property definitions").
    pub schema_read_scopes: Vec<String>,
    /// Any one of these scopes grants writing them.
    pub schema_write_scopes: Vec<String>,
    /// Whether records of this type move through pipelines, and how (`None`: they do not,
    /// and `/crm/v3/pipelines/{type}` refuses the type).
    pub pipelines: Option<Pipelined>,
    /// Whether every custom object is associated with this type when it is created
    /// (emails, meetings, notes, tasks, calls and communications; §40.3).
    pub associated_with_custom_objects: bool,
    /// The custom schema this type was built from (`None` for HubSpot's own types).
    pub custom: Option<CustomOrigin>,
    /// The HubSpot-defined property definitions, sorted by name.
    properties: Arc<[PropertyDefinition]>,
}

/// Two types are the same type when their ids are: custom type numbers are unique in an
/// installation.
impl PartialEq for ObjectType {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for ObjectType {}

/// A property unique by HubSpot's definition of the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueProperty {
    pub name: String,
    /// What a write that repeats a value is told before `Existing ID: {id}`; `None`: the
    /// generic message of unique-value properties.
    pub conflict: Option<String>,
    /// Its stored values are lowercase (emails), so an EQ/IN search can use the index.
    pub lowercase: bool,
}

/// Where a custom type comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomOrigin {
    pub portal: PortalId,
    /// The number of `2-{number}`.
    pub number: i64,
    /// The schema's name as created (`cars`).
    pub name: String,
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
    /// The pipeline a new portal has for this type.
    pub default: DefaultPipeline,
}

/// A pipeline a new portal starts with (`spoke_store::pipelines` turns it into rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultPipeline {
    pub id: &'static str,
    pub label: &'static str,
    pub stages: &'static [DefaultStage],
}

/// A stage of a [`DefaultPipeline`]: id, label, metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultStage {
    pub id: &'static str,
    pub label: &'static str,
    pub metadata: &'static [(&'static str, &'static str)],
}

/// What a path segment names, before any stored state is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// One of HubSpot's standard types.
    Standard(TypeRef),
    /// `2-{number}`: a custom type, if the portal has a live schema of that number.
    CustomNumber(i64),
    /// `p{portal}_{name}` (with the request's portal) or `p_{name}`: a custom type, if the
    /// portal has a live schema of that name.
    CustomName(&'a str),
    /// Nothing spoke can serve: HubSpot's 400 "Unable to infer object type from: X".
    Unknown,
}

impl ObjectType {
    /// Builds a type from its facts; `properties` are its HubSpot-defined definitions
    /// (sorted here by name).
    pub(crate) fn with_properties(mut self, mut properties: Vec<PropertyDefinition>) -> Self {
        properties.sort_by(|a, b| a.name.cmp(&b.name));
        self.properties = properties.into();
        self
    }

    /// The HubSpot-defined property definitions of the type, sorted by name.
    pub fn builtin_properties(&self) -> &[PropertyDefinition] {
        &self.properties
    }

    /// A standard type by path segment: plural name, singular name or type id,
    /// case-insensitively.
    pub fn standard(segment: &str) -> Option<TypeRef> {
        let s = segment.trim();
        crate::catalog::standard_types()
            .iter()
            .find(|t| {
                t.id.as_str() == s
                    || t.name.eq_ignore_ascii_case(s)
                    || t.singular.eq_ignore_ascii_case(s)
            })
            .cloned()
    }

    /// Alias of [`Self::standard`], the name older code knows.
    pub fn resolve(segment: &str) -> Option<TypeRef> {
        Self::standard(segment)
    }

    /// A standard type by its stored id.
    pub fn by_id(id: &str) -> Option<TypeRef> {
        crate::catalog::standard_types()
            .iter()
            .find(|t| t.id.as_str() == id)
            .cloned()
    }

    /// Every standard type spoke serves.
    pub fn all() -> &'static [TypeRef] {
        crate::catalog::standard_types()
    }

    /// What `segment` names for a request of `portal`: the one place that knows the
    /// spellings of a type in a path (§40.2). A bare name that is not a standard type is
    /// unknown here; only the schemas API looks schemas up by it.
    pub fn parse_segment(segment: &str, portal: PortalId) -> Segment<'_> {
        let s = segment.trim();
        if let Some(ty) = Self::standard(s) {
            return Segment::Standard(ty);
        }
        if let Some(n) = s.strip_prefix("2-") {
            // Canonical digits only: `2-007` would alias `2-7`.
            let canonical =
                !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit());
            return match n.parse::<i64>() {
                Ok(n) if canonical => Segment::CustomNumber(n),
                _ => Segment::Unknown,
            };
        }
        let Some(rest) = s.strip_prefix(['p', 'P']) else {
            return Segment::Unknown;
        };
        let Some((digits, name)) = rest.split_once('_') else {
            return Segment::Unknown;
        };
        let ours = digits.is_empty() || digits.parse::<i64>().is_ok_and(|p| p == portal.0);
        if ours && !name.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Segment::CustomName(name)
        } else {
            Segment::Unknown
        }
    }

    /// The type a portal's custom schema defines (the contract of issue 12): id
    /// `2-{number}`, named by its `fullyQualifiedName`, the custom scopes, HubSpot's three
    /// default properties, and the schema's required and searchable properties.
    pub fn from_custom(schema: &CustomSchema) -> ObjectType {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ty = ObjectType {
            id: ObjectTypeId::new(schema.object_type_id()),
            name: schema.fully_qualified_name(),
            singular: schema.name.clone(),
            // [I] HubSpot's word for a custom type in "Error creating X" and "Could not
            // get some X objects" was not found; spoke uses the type id
            // (docs/compatibility.md, "Custom object types").
            upper: schema.object_type_id(),
            read_scopes: owned(CUSTOM_READ),
            write_scopes: owned(CUSTOM_WRITE),
            createdate_property: "hs_createdate".into(),
            modified_property: "hs_lastmodifieddate".into(),
            default_properties: owned(crate::catalog::CUSTOM_DEFAULTS),
            public_create: true,
            required_on_create: schema.required_properties.clone(),
            text_search_properties: schema.searchable_properties.clone(),
            unique_properties: Vec::new(),
            read_only: false,
            schema_read_scopes: owned(CUSTOM_SCHEMA_READ),
            schema_write_scopes: owned(CUSTOM_SCHEMA_WRITE),
            pipelines: None,
            associated_with_custom_objects: false,
            custom: Some(CustomOrigin {
                portal: schema.portal,
                number: schema.number,
                name: schema.name.clone(),
            }),
            properties: Arc::from(Vec::new()),
        };
        let properties = crate::catalog::system_properties(&ty);
        ty.with_properties(properties)
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

    /// The type's unique property of this name, if HubSpot defines one.
    pub fn unique_property(&self, name: &str) -> Option<&UniqueProperty> {
        self.unique_properties.iter().find(|u| u.name == name)
    }
}

/// A custom type's record scopes (hubspot-behavior.md §4.2, objects-v3 spec).
const CUSTOM_READ: &[&str] = &["crm.objects.custom.read"];
const CUSTOM_WRITE: &[&str] = &["crm.objects.custom.write"];
/// A custom type's property-definition scopes: the custom alternatives the properties
/// and pipelines specs list (hubspot-behavior-apps.md §40.7).
const CUSTOM_SCHEMA_READ: &[&str] = &["crm.schemas.custom.read", "crm.objects.custom.read"];
const CUSTOM_SCHEMA_WRITE: &[&str] = &["crm.schemas.custom.write"];

/// Builds a standard type from a catalogue descriptor (with no properties yet).
pub(crate) fn from_parts(parts: &Parts) -> ObjectType {
    ObjectType {
        id: ObjectTypeId::new(parts.id),
        name: parts.name.into(),
        singular: parts.singular.into(),
        upper: parts.upper.into(),
        read_scopes: parts.read_scopes.iter().map(|s| (*s).to_owned()).collect(),
        write_scopes: parts.write_scopes.iter().map(|s| (*s).to_owned()).collect(),
        createdate_property: parts.createdate_property.into(),
        modified_property: parts.modified_property.into(),
        default_properties: parts
            .default_properties
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        public_create: parts.public_create,
        required_on_create: parts
            .required_on_create
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        text_search_properties: parts
            .text_search_properties
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        unique_properties: parts
            .unique_properties
            .iter()
            .map(|u| UniqueProperty {
                name: u.0.into(),
                conflict: u.1.map(str::to_owned),
                lowercase: u.2,
            })
            .collect(),
        read_only: parts.read_only,
        schema_read_scopes: parts
            .schema_read_scopes
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        schema_write_scopes: parts
            .schema_write_scopes
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        pipelines: parts.pipelines,
        associated_with_custom_objects: parts.associated_with_custom_objects,
        custom: None,
        properties: Arc::from(Vec::new()),
    }
}

/// A standard type as the catalogue writes it: static data, built into an [`ObjectType`]
/// once.
pub(crate) struct Parts {
    pub id: &'static str,
    pub name: &'static str,
    pub singular: &'static str,
    pub upper: &'static str,
    pub read_scopes: &'static [&'static str],
    pub write_scopes: &'static [&'static str],
    pub createdate_property: &'static str,
    pub modified_property: &'static str,
    pub default_properties: &'static [&'static str],
    pub public_create: bool,
    pub required_on_create: &'static [&'static str],
    pub text_search_properties: &'static [&'static str],
    /// (name, conflict message, lowercase values).
    pub unique_properties: &'static [(&'static str, Option<&'static str>, bool)],
    pub read_only: bool,
    pub schema_read_scopes: &'static [&'static str],
    pub schema_write_scopes: &'static [&'static str],
    pub pipelines: Option<Pipelined>,
    pub associated_with_custom_objects: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_plural_singular_and_id() {
        let id = |s: &str| ObjectType::standard(s).map(|t| t.id.as_str().to_owned());
        assert_eq!(id("contacts").as_deref(), Some("0-1"));
        assert_eq!(id("contact").as_deref(), Some("0-1"));
        assert_eq!(
            ObjectType::standard("0-420")
                .map(|t| t.name.clone())
                .as_deref(),
            Some("listings")
        );
        assert_eq!(id("CONTACTS").as_deref(), Some("0-1"));
        assert!(ObjectType::standard("credentialing_2_0").is_none());
    }

    #[test]
    fn segments_name_standard_and_custom_types() {
        let portal = PortalId(1234);
        let parse = |s| ObjectType::parse_segment(s, portal);
        assert!(matches!(parse("contacts"), Segment::Standard(t) if t.id == "0-1"));
        assert_eq!(parse("2-77"), Segment::CustomNumber(77));
        assert_eq!(parse("p1234_cars"), Segment::CustomName("cars"));
        assert_eq!(parse("P1234_cars"), Segment::CustomName("cars"));
        assert_eq!(parse("p_cars"), Segment::CustomName("cars"));
        assert_eq!(parse("p_my_cars"), Segment::CustomName("my_cars"));
        // Another portal's fully qualified name, a bare name, malformed ids.
        for s in [
            "p99_cars", "cars", "2-", "2-x", "2--1", "2-0", "p_", "px_cars", "3-1",
        ] {
            assert_eq!(parse(s), Segment::Unknown, "{s}");
        }
    }
}
