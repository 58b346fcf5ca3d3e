//! Custom object schemas (hubspot-behavior-apps.md §40) and the association definitions
//! they create: what a schema write decides apart from any SQL (names, limits, numbers,
//! type ids, what a patch changes), the row shapes both backends read, and the
//! [`SchemaStore`] trait.
//!
//! Storage: a schema is one `custom_object_schemas` row; its properties are ordinary
//! `properties` rows of type `2-{number}` in the group `{name}_information`; each
//! association definition is two `association_definitions` rows, one per direction (one
//! row when a type is associated with itself). A purged schema stays as a tombstone row
//! (`purged_at`): the name is free again, the number never comes back, and `spoke copy`
//! carries the tombstone, so a copy never hands the number out either.

use async_trait::async_trait;
use spoke_core::association::{hubspot_defined, FIRST_USER_TYPE_ID, USER_DEFINED};
use spoke_core::time::Millis;
use spoke_core::{CustomSchema, PortalId, PropertyDefinition};

use crate::columns::Columns;
use crate::{PropertyGroup, StoreResult};

/// The first schema number an installation gives out (`2-1000001`). HubSpot's numbers are
/// installation-wide and in the millions (§40.5); spoke starts at a round number of the
/// same width rather than at 1, so that a type id is never mistaken for a small record id
/// or a standard `0-n` number in logs ([I], docs/compatibility.md).
pub const FIRST_SCHEMA_NUMBER: i64 = 1_000_001;

/// Live (not archived, not purged) schemas one portal may hold: HubSpot ties the number to
/// the subscription; third parties quote 10 for Enterprise ([I], docs/compatibility.md).
pub const MAX_SCHEMAS_PER_PORTAL: usize = 10;

/// The types every custom object is associated with on creation (§40.3: emails,
/// meetings, notes, tasks, calls and communications): a field of the catalogue's types.
pub fn engagement_types() -> impl Iterator<Item = &'static str> {
    spoke_core::ObjectType::all()
        .iter()
        .filter(|t| t.associated_with_custom_objects)
        .map(|t| t.id.as_str())
}

/// How a lookup names a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKey<'a> {
    /// The number of `2-{number}`.
    Number(i64),
    /// The schema's `name`, compared case-insensitively (ASCII; names are ASCII).
    Name(&'a str),
}

/// One direction of an association definition of a portal: records of `from_type` link to
/// records of `to_type` with `type_id`; the other direction has `inverse_type_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationDefinition {
    pub from_type: String,
    pub to_type: String,
    pub type_id: i64,
    pub inverse_type_id: i64,
    /// Always [`USER_DEFINED`]: the type ids are the portal's own ([I]).
    pub category: String,
    /// `{from name}_to_{to name}` unless the creator named it.
    pub name: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A definition to create: between the schema being written and `to_type` (`None`: the
/// schema's own type), with the names of both directions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRequest {
    pub to_type: Option<String>,
    pub name: String,
    pub inverse_name: String,
}

/// A schema to create, with everything it creates in the same transaction.
#[derive(Debug, Clone)]
pub struct NewSchema {
    /// `number` is ignored: the store allocates it.
    pub schema: CustomSchema,
    /// Definitions of type `2-{number}` (group [`NewSchema::group`]).
    pub properties: Vec<PropertyDefinition>,
    pub group: PropertyGroup,
    pub associations: Vec<DefinitionRequest>,
    /// How many live schemas the portal may hold, this one included.
    pub max_schemas: usize,
}

/// What a schema write refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaRefusal {
    /// A schema of the portal (live or archived, not purged) has this name.
    NameTaken { existing: i64 },
    /// The portal already holds `max` live schemas.
    Limit { max: usize },
    /// Live records of the type exist (archive, purge).
    LiveRecords { count: i64 },
    /// No such schema (or not in the state the write needs).
    NotFound,
    /// The pair already has a definition of this name.
    DefinitionTaken { type_id: i64 },
    /// No type id or number left (only reachable through copied rows at the i64 limit).
    Exhausted,
}

/// A created schema and its association definitions (the new type's direction first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSchema {
    pub schema: CustomSchema,
    pub associations: Vec<AssociationDefinition>,
}

/// What a PATCH changes; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaPatch {
    pub singular_label: Option<String>,
    pub plural_label: Option<String>,
    pub description: Option<String>,
    pub clear_description: bool,
    pub primary_display_property: Option<String>,
    pub secondary_display_properties: Option<Vec<String>>,
    pub searchable_properties: Option<Vec<String>>,
    pub required_properties: Option<Vec<String>>,
    pub allows_sensitive_properties: Option<bool>,
    pub restorable: Option<bool>,
    pub updated_by_user_id: Option<i64>,
}

impl SchemaPatch {
    /// `schema` after the patch, with `updated_at` = `now`.
    pub fn apply(&self, schema: &CustomSchema, now: Millis) -> CustomSchema {
        let mut s = schema.clone();
        if let Some(v) = &self.singular_label {
            s.singular_label = v.clone();
        }
        if let Some(v) = &self.plural_label {
            s.plural_label = v.clone();
        }
        if self.clear_description {
            s.description = String::new();
        } else if let Some(v) = &self.description {
            s.description = v.clone();
        }
        if let Some(v) = &self.primary_display_property {
            s.primary_display_property = Some(v.clone());
        }
        if let Some(v) = &self.secondary_display_properties {
            s.secondary_display_properties = v.clone();
        }
        if let Some(v) = &self.searchable_properties {
            s.searchable_properties = v.clone();
        }
        if let Some(v) = &self.required_properties {
            s.required_properties = v.clone();
        }
        if let Some(v) = self.allows_sensitive_properties {
            s.allows_sensitive_properties = v;
        }
        if let Some(v) = self.restorable {
            s.restorable = v;
        }
        if self.updated_by_user_id.is_some() {
            s.updated_by_user_id = self.updated_by_user_id;
        }
        s.updated_at = now;
        s
    }
}

/// A PATCH of one schema.
#[derive(Debug, Clone)]
pub struct SchemaUpdate {
    pub portal: PortalId,
    pub number: i64,
    pub patch: SchemaPatch,
    pub now: Millis,
}

/// A definition to add between two existing types of a portal.
#[derive(Debug, Clone)]
pub struct NewDefinition {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
    pub name: String,
    pub inverse_name: String,
    pub now: Millis,
}

/// The largest schema number the installation holds: live, archived and purged schemas,
/// and those in portal snapshots (`crate::admin`), which a restore brings back under the
/// same number. Both backends run it.
pub const LARGEST_NUMBER_SQL: &str =
    "SELECT MAX(n) FROM (SELECT MAX(number) AS n FROM custom_object_schemas \
     UNION ALL SELECT MAX(number) FROM snapshot_custom_object_schemas) AS numbers";

/// The schema number after `largest` ([`LARGEST_NUMBER_SQL`]), never below
/// [`FIRST_SCHEMA_NUMBER`].
pub fn next_number(largest: Option<i64>) -> Option<i64> {
    match largest {
        None => Some(FIRST_SCHEMA_NUMBER),
        Some(n) => n.checked_add(1).map(|n| n.max(FIRST_SCHEMA_NUMBER)),
    }
}

impl NewSchema {
    /// Whether the portal's schemas (`existing`: live and archived, not purged) leave room
    /// for this one and its name.
    pub fn refusal(&self, existing: &[CustomSchema]) -> Option<SchemaRefusal> {
        if let Some(s) = existing
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&self.schema.name))
        {
            return Some(SchemaRefusal::NameTaken { existing: s.number });
        }
        if existing.iter().filter(|s| !s.archived).count() >= self.max_schemas {
            return Some(SchemaRefusal::Limit {
                max: self.max_schemas,
            });
        }
        None
    }

    /// The schema as stored, numbered `number`.
    pub fn numbered(&self, number: i64) -> CustomSchema {
        CustomSchema {
            number,
            archived: false,
            ..self.schema.clone()
        }
    }
}

/// Allocates the rows of `requests` (definitions from `from_type` to each target; a `None`
/// target is `from_type` itself), taking type ids above `largest` (the largest type id any
/// label or definition of the portal uses) from [`FIRST_USER_TYPE_ID`] up, stepping over
/// HUBSPOT_DEFINED ids of the pair. A type associated with itself gets one row whose id is
/// its own inverse. `None` if the ids run out.
pub fn allocate(
    from_type: &str,
    requests: &[DefinitionRequest],
    largest: Option<i64>,
    now: Millis,
) -> Option<Vec<AssociationDefinition>> {
    let mut next = largest.map_or(Some(FIRST_USER_TYPE_ID), |m| m.checked_add(1))?;
    next = next.max(FIRST_USER_TYPE_ID);
    let mut out = Vec::new();
    for r in requests {
        let to_type = r.to_type.as_deref().unwrap_or(from_type);
        let single = to_type == from_type;
        let defined: Vec<i64> = hubspot_defined(from_type, to_type)
            .iter()
            .flat_map(|t| [t.type_id, t.inverse_type_id])
            .collect();
        let mut id = next;
        let mut inverse = if single { id } else { id.checked_add(1)? };
        while defined.contains(&id) || defined.contains(&inverse) {
            id = inverse.checked_add(1)?;
            inverse = if single { id } else { id.checked_add(1)? };
        }
        next = inverse.checked_add(1)?;
        let row =
            |from: &str, to: &str, type_id, inverse_type_id, name: &str| AssociationDefinition {
                from_type: from.to_owned(),
                to_type: to.to_owned(),
                type_id,
                inverse_type_id,
                category: USER_DEFINED.to_owned(),
                name: name.to_owned(),
                created_at: now,
                updated_at: now,
            };
        out.push(row(from_type, to_type, id, inverse, &r.name));
        if !single {
            out.push(row(to_type, from_type, inverse, id, &r.inverse_name));
        }
    }
    Some(out)
}

impl NewDefinition {
    /// The rows to insert, given the pair's definitions now and the portal's largest type
    /// id; refused when the pair already has a definition of this name.
    pub fn rows(
        &self,
        existing: &[AssociationDefinition],
        largest: Option<i64>,
    ) -> Result<Vec<AssociationDefinition>, SchemaRefusal> {
        if let Some(d) = existing.iter().find(|d| {
            d.from_type == self.from_type && d.to_type == self.to_type && d.name == self.name
        }) {
            return Err(SchemaRefusal::DefinitionTaken { type_id: d.type_id });
        }
        let request = DefinitionRequest {
            to_type: Some(self.to_type.clone()),
            name: self.name.clone(),
            inverse_name: self.inverse_name.clone(),
        };
        allocate(&self.from_type, &[request], largest, self.now).ok_or(SchemaRefusal::Exhausted)
    }
}

/// `custom_object_schemas` columns, as [`schema_row`] reads them.
pub const SCHEMA_COLUMNS: &str = "number, portal_id, name, singular_label, plural_label, \
    description, primary_display_property, secondary_display_properties, \
    searchable_properties, required_properties, allows_sensitive_properties, restorable, \
    created_at, updated_at, created_by_user_id, updated_by_user_id, archived_at";

/// A schema from the [`SCHEMA_COLUMNS`]; the three list columns are JSON arrays of names.
pub fn schema_row<C: Columns>(r: &C) -> Result<StoredSchema, C::Error> {
    Ok(StoredSchema {
        number: r.int(0)?,
        portal: r.int(1)?,
        name: r.text(2)?,
        singular_label: r.text(3)?,
        plural_label: r.text(4)?,
        description: r.text(5)?,
        primary_display_property: r.text_or_null(6)?,
        secondary: r.text(7)?,
        searchable: r.text(8)?,
        required: r.text(9)?,
        allows_sensitive_properties: r.boolean(10)?,
        restorable: r.boolean(11)?,
        created_at: r.int(12)?,
        updated_at: r.int(13)?,
        created_by_user_id: r.int_or_null(14)?,
        updated_by_user_id: r.int_or_null(15)?,
        archived_at: r.int_or_null(16)?,
    })
}

/// A schema row as read, its lists still JSON ([`StoredSchema::into_schema`] parses them).
#[derive(Debug, Clone)]
pub struct StoredSchema {
    number: i64,
    portal: i64,
    name: String,
    singular_label: String,
    plural_label: String,
    description: String,
    primary_display_property: Option<String>,
    secondary: String,
    searchable: String,
    required: String,
    allows_sensitive_properties: bool,
    restorable: bool,
    created_at: Millis,
    updated_at: Millis,
    created_by_user_id: Option<i64>,
    updated_by_user_id: Option<i64>,
    archived_at: Option<Millis>,
}

impl StoredSchema {
    pub fn into_schema(self) -> StoreResult<CustomSchema> {
        let list = |json: &str| -> StoreResult<Vec<String>> {
            serde_json::from_str(json)
                .map_err(|e| crate::StoreError::Internal(format!("schema {}: {e}", self.number)))
        };
        Ok(CustomSchema {
            portal: PortalId(self.portal),
            number: self.number,
            secondary_display_properties: list(&self.secondary)?,
            searchable_properties: list(&self.searchable)?,
            required_properties: list(&self.required)?,
            name: self.name,
            singular_label: self.singular_label,
            plural_label: self.plural_label,
            description: self.description,
            primary_display_property: self.primary_display_property,
            allows_sensitive_properties: self.allows_sensitive_properties,
            restorable: self.restorable,
            archived: self.archived_at.is_some(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by_user_id: self.created_by_user_id,
            updated_by_user_id: self.updated_by_user_id,
        })
    }
}

/// Rows as read, parsed; a row that does not parse fails the whole read.
pub fn into_schemas(rows: Vec<StoredSchema>) -> StoreResult<Vec<CustomSchema>> {
    rows.into_iter().map(StoredSchema::into_schema).collect()
}

/// A list column's stored JSON.
pub fn list_json(names: &[String]) -> String {
    // A list of strings always serializes.
    serde_json::to_string(names).unwrap_or_else(|_| "[]".into())
}

/// `association_definitions` columns after `portal_id`, as [`definition_row`] reads them.
pub const DEFINITION_COLUMNS: &str =
    "from_type, to_type, type_id, inverse_type_id, category, name, created_at, updated_at";

pub fn definition_row<C: Columns>(r: &C) -> Result<AssociationDefinition, C::Error> {
    Ok(AssociationDefinition {
        from_type: r.text(0)?,
        to_type: r.text(1)?,
        type_id: r.int(2)?,
        inverse_type_id: r.int(3)?,
        category: r.text(4)?,
        name: r.text(5)?,
        created_at: r.int(6)?,
        updated_at: r.int(7)?,
    })
}

/// The tables a purge clears of a type's rows (besides its definitions and labels, by
/// either end, and its records' history and unique values, by record): every row keyed by
/// `(portal_id, object_type)`.
pub const PURGED_BY_TYPE: [&str; 9] = [
    "properties",
    "property_groups",
    "pipelines",
    "pipeline_stages",
    "pipeline_audits",
    "unique_values",
    // The value index (`value_index::TABLES`).
    "search_text",
    "search_numbers",
    "search_words",
];

/// Custom object schemas and the association definitions they create.
#[async_trait]
pub trait SchemaStore: Send + Sync {
    /// The live (not archived) schema of `portal` with this key, if any.
    async fn find_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
    ) -> StoreResult<Option<CustomSchema>> {
        self.lookup_schema(portal, key, false).await
    }

    /// With `archived` false, the live schemas of the portal; with true, its archived
    /// (not purged) ones only, as HubSpot's `archived=true` lists. By number.
    async fn list_schemas(
        &self,
        portal: PortalId,
        archived: bool,
    ) -> StoreResult<Vec<CustomSchema>>;

    /// A schema by key: a live one, or with `include_archived` an archived one too (never
    /// a purged one).
    async fn lookup_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
        include_archived: bool,
    ) -> StoreResult<Option<CustomSchema>>;

    /// In one transaction: refuses ([`NewSchema::refusal`]) or allocates the number
    /// ([`next_number`] over every schema row of the installation) and writes the schema,
    /// its group, its property definitions and its association definitions
    /// ([`allocate`] over the portal's largest label or definition type id). Nothing is
    /// half-written.
    async fn create_schema(
        &self,
        new: NewSchema,
    ) -> StoreResult<Result<CreatedSchema, SchemaRefusal>>;

    /// Applies a patch to a live schema; `None` if there is none with that number.
    async fn update_schema(&self, update: SchemaUpdate) -> StoreResult<Option<CustomSchema>>;

    /// Archives a live schema, refused while live records of its type exist.
    async fn archive_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>>;

    /// Hard-deletes a schema (live or archived) and everything of its type: records
    /// (archived ones; live ones refuse the purge), their history, unique values and links,
    /// property definitions and groups, pipelines, labels and association definitions by
    /// either end. The schema row stays as a tombstone: its name is free, its number is not.
    async fn purge_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>>;

    /// Every definition of the portal from `from_type` (to `to_type` only, when given), by
    /// type id.
    async fn list_definitions(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: Option<&str>,
    ) -> StoreResult<Vec<AssociationDefinition>>;

    /// Adds a definition (both directions) in one transaction with the type id allocation.
    async fn create_definition(
        &self,
        new: NewDefinition,
    ) -> StoreResult<Result<Vec<AssociationDefinition>, SchemaRefusal>>;

    /// Removes the definition `type_id` from `from_type` and its inverse, and every link of
    /// either type. False if there is none.
    async fn remove_definition(
        &self,
        portal: PortalId,
        from_type: &str,
        type_id: i64,
    ) -> StoreResult<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(to: Option<&str>) -> DefinitionRequest {
        DefinitionRequest {
            to_type: to.map(str::to_owned),
            name: "a_to_b".into(),
            inverse_name: "b_to_a".into(),
        }
    }

    #[test]
    fn numbers_start_at_the_base_and_never_step_back() {
        assert_eq!(next_number(None), Some(FIRST_SCHEMA_NUMBER));
        assert_eq!(next_number(Some(5)), Some(FIRST_SCHEMA_NUMBER));
        assert_eq!(
            next_number(Some(FIRST_SCHEMA_NUMBER)),
            Some(FIRST_SCHEMA_NUMBER + 1)
        );
        assert_eq!(next_number(Some(i64::MAX)), None);
    }

    #[test]
    fn definitions_take_ids_above_the_portal_largest_with_inverses() {
        let rows = allocate("2-7", &[req(Some("0-1")), req(None)], None, 1).expect("ids");
        let ids: Vec<(&str, &str, i64, i64)> = rows
            .iter()
            .map(|d| {
                (
                    d.from_type.as_str(),
                    d.to_type.as_str(),
                    d.type_id,
                    d.inverse_type_id,
                )
            })
            .collect();
        assert_eq!(
            ids,
            vec![
                ("2-7", "0-1", 1001, 1002),
                ("0-1", "2-7", 1002, 1001),
                ("2-7", "2-7", 1003, 1003),
            ]
        );
        let rows = allocate("2-7", &[req(Some("0-1"))], Some(2000), 1).expect("ids");
        assert_eq!((rows[0].type_id, rows[1].type_id), (2001, 2002));
        assert!(allocate("2-7", &[req(Some("0-1"))], Some(i64::MAX - 1), 1).is_none());
    }
}
