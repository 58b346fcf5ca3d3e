//! Custom object schemas (hubspot-behavior-apps.md §40): `/crm-object-schemas/v3/schemas…`,
//! its dated twins and the older `/crm/v3/schemas…` (with `…/purge`), and the limits
//! tracking API's `custom-object-types`. The store keeps a schema with its properties and
//! association definitions (`spoke_store::schemas`); this module validates what a client
//! sends and answers in HubSpot's shapes. The schemas path names a schema by `2-{number}`,
//! `p{portal}_{name}`, `p_{name}` or the bare name (MeltanoLabs calls it so), each only in
//! the token's portal.

use std::collections::{BTreeSet, HashSet};

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use spoke_core::time::format_iso;
use spoke_core::{CustomSchema, ObjectType, PortalId, PropertyDefinition};
use spoke_store::schemas::engagement_types;
use spoke_store::schemas::{
    AssociationDefinition, DefinitionRequest, NewDefinition, NewSchema, SchemaKey, SchemaPatch,
    SchemaRefusal, SchemaUpdate, MAX_SCHEMAS_PER_PORTAL,
};
use spoke_store::PropertyGroup;
use spoke_types::properties::PropertyCreate;
use spoke_types::schemas as wire;

use crate::catalogue::Authorized;
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::properties::{check_definition, definition_from, to_wire};
use crate::handlers::{missing_fields, missing_required, Archived};
use crate::wire::{Body, Json, QueryParams};

/// HubSpot's `metaType` of every schema a portal creates (§40.4).
const META_TYPE: &str = "PORTAL_SPECIFIC";

/// Longest schema name spoke accepts ([I]: HubSpot states none; property names stop at 100).
const MAX_NAME: usize = 100;

/// What the `include*` flags ask an answer to carry (each true unless turned off).
#[derive(Debug, Clone, Copy)]
struct Include {
    associations: bool,
    audit: bool,
    properties: bool,
}

impl Include {
    fn from_query(raw: Option<&str>) -> ApiResult<Self> {
        let q = QueryParams::parse(raw);
        let flag = |key: &str| -> ApiResult<bool> { Ok(q.one(key).is_none() || q.bool(key)?) };
        Ok(Self {
            associations: flag("includeAssociationDefinitions")?,
            audit: flag("includeAuditMetadata")?,
            properties: flag("includePropertyDefinitions")?,
        })
    }
}

/// A standard type by any name HubSpot accepts for it in `associatedObjects` and
/// association definitions (`0-1`, `contacts`, `contact`, `CONTACT`): its id and the
/// singular name association definitions are named with.
fn standard(segment: &str) -> Option<(String, String)> {
    ObjectType::standard(segment).map(|t| (t.id.as_str().to_owned(), t.singular.clone()))
}

/// The HubSpot-defined properties every custom type has (§40.8: its type's built-in
/// definitions), listed with the schema's own in its `properties` like HubSpot's
/// boilerplate (§40.4; docs/compatibility.md).
fn builtin_properties(schema: &CustomSchema) -> Vec<PropertyDefinition> {
    ObjectType::from_custom(schema)
        .builtin_properties()
        .to_vec()
}

/// How a schemas-path segment names a schema in `portal`; `None`: it names none there.
fn key_of(portal: PortalId, segment: &str) -> Option<SchemaKey<'_>> {
    let s = segment.trim();
    if let Some(number) = s.strip_prefix("2-") {
        return number.parse().ok().map(SchemaKey::Number);
    }
    if let Some((prefix, name)) = s.strip_prefix('p').and_then(|rest| rest.split_once('_')) {
        if prefix.is_empty() || prefix == portal.0.to_string() {
            return Some(SchemaKey::Name(name));
        }
        if prefix.bytes().all(|b| b.is_ascii_digit()) {
            // Another portal's fully qualified name: nothing of this portal.
            return None;
        }
    }
    valid_name(s).then_some(SchemaKey::Name(s))
}

fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_NAME
}

/// An unknown schema ([I]: HubSpot's body for it was not found; its 404 with the
/// `OBJECT_NOT_FOUND` category, docs/compatibility.md).
fn schema_not_found(segment: &str) -> ApiError {
    ApiError::object_not_found(format!("Unable to find object type {segment}"))
        .with_context(ctx(&[("objectType", vec![segment.to_owned()])]))
}

/// The live schema a path segment names (with `include_archived`, an archived one too).
async fn find(
    auth: &Authorized<()>,
    segment: &str,
    include_archived: bool,
) -> ApiResult<CustomSchema> {
    let portal = auth.principal.portal;
    let Some(key) = key_of(portal, segment) else {
        return Err(schema_not_found(segment));
    };
    auth.state
        .store
        .lookup_schema(portal, key, include_archived)
        .await?
        .ok_or_else(|| schema_not_found(segment))
}

fn definition_wire(d: &AssociationDefinition, audit: bool) -> wire::AssociationDefinition {
    wire::AssociationDefinition {
        id: d.type_id.to_string(),
        from_object_type_id: d.from_type.clone(),
        to_object_type_id: d.to_type.clone(),
        name: d.name.clone(),
        created_at: audit.then(|| format_iso(d.created_at)),
        updated_at: audit.then(|| format_iso(d.updated_at)),
    }
}

fn labels(s: &CustomSchema) -> wire::Labels {
    wire::Labels {
        singular: Some(s.singular_label.clone()),
        plural: Some(s.plural_label.clone()),
    }
}

/// The live property definitions of a schema's type: HubSpot's boilerplate, then the
/// portal's, by name.
async fn live_properties(
    auth: &Authorized<()>,
    s: &CustomSchema,
) -> ApiResult<Vec<PropertyDefinition>> {
    let mut out = builtin_properties(s);
    let stored = auth
        .state
        .store
        .list_properties(auth.principal.portal, &s.object_type_id())
        .await?;
    out.extend(stored.into_iter().filter(|d| !d.archived));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn schema_wire(
    auth: &Authorized<()>,
    s: &CustomSchema,
    include: Include,
) -> ApiResult<wire::ObjectSchema> {
    let ty = s.object_type_id();
    let properties = if include.properties {
        live_properties(auth, s)
            .await?
            .iter()
            .map(to_wire)
            .collect()
    } else {
        Vec::new()
    };
    let associations = if include.associations {
        auth.state
            .store
            .list_definitions(auth.principal.portal, &ty, None)
            .await?
            .iter()
            .map(|d| definition_wire(d, include.audit))
            .collect()
    } else {
        Vec::new()
    };
    let audit = include.audit;
    Ok(wire::ObjectSchema {
        labels: labels(s),
        required_properties: s.required_properties.clone(),
        searchable_properties: s.searchable_properties.clone(),
        primary_display_property: s.primary_display_property.clone(),
        secondary_display_properties: s.secondary_display_properties.clone(),
        description: s.description.clone(),
        archived: s.archived,
        restorable: s.restorable,
        allows_sensitive_properties: s.allows_sensitive_properties,
        meta_type: META_TYPE,
        id: s.number.to_string(),
        fully_qualified_name: s.fully_qualified_name(),
        created_at: audit.then(|| format_iso(s.created_at)),
        updated_at: audit.then(|| format_iso(s.updated_at)),
        created_by_user_id: s.created_by_user_id.filter(|_| audit),
        updated_by_user_id: s.updated_by_user_id.filter(|_| audit),
        object_type_id: ty,
        properties,
        associations,
        name: s.name.clone(),
    })
}

fn definition_answer(s: &CustomSchema) -> wire::ObjectTypeDefinition {
    wire::ObjectTypeDefinition {
        id: s.number.to_string(),
        created_at: format_iso(s.created_at),
        updated_at: format_iso(s.updated_at),
        labels: labels(s),
        required_properties: s.required_properties.clone(),
        searchable_properties: s.searchable_properties.clone(),
        primary_display_property: s.primary_display_property.clone(),
        secondary_display_properties: s.secondary_display_properties.clone(),
        portal_id: s.portal.0,
        fully_qualified_name: s.fully_qualified_name(),
        object_type_id: s.object_type_id(),
        archived: s.archived,
        description: s.description.clone(),
        allows_sensitive_properties: s.allows_sensitive_properties,
        name: s.name.clone(),
    }
}

/// A type an association definition may point at: a standard type, or a live custom type
/// of the portal; its id and the name its definitions are named with.
async fn target(auth: &Authorized<()>, segment: &str) -> ApiResult<(String, String)> {
    if let Some(found) = standard(segment) {
        return Ok(found);
    }
    let portal = auth.principal.portal;
    if let Some(key) = key_of(portal, segment) {
        if let Some(s) = auth.state.store.find_schema(portal, key).await? {
            return Ok((s.object_type_id(), s.name));
        }
    }
    Err(ApiError::validation(format!(
        "Unable to infer object type from: {segment}"
    )))
}

/// Every name in `names` must be one of the type's properties (§40.3; [I] wording).
fn check_named(field: &str, names: &[String], known: &HashSet<&str>) -> ApiResult<()> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !known.contains(n.as_str()))
        .cloned()
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "{field} names properties that do not exist on this object type: {}",
        unknown.join(", ")
    ))
    .with_context(ctx(&[("properties", unknown)])))
}

/// The display and property lists of a create or patch, held to the type's properties.
fn check_lists(
    known: &HashSet<&str>,
    primary: Option<&String>,
    lists: [(&str, Option<&Vec<String>>); 3],
) -> ApiResult<()> {
    if let Some(p) = primary {
        check_named("primaryDisplayProperty", std::slice::from_ref(p), known)?;
    }
    for (field, list) in lists {
        check_named(field, list.map(Vec::as_slice).unwrap_or_default(), known)?;
    }
    Ok(())
}

/// A schema property input with the schema API's defaults (§40.3): `string`/`text`, the
/// schema's group, `displayOrder` -1.
fn property(
    input: &PropertyCreate,
    group: &str,
    now: spoke_core::time::Millis,
) -> ApiResult<PropertyDefinition> {
    let mut input = input.clone();
    input.kind.get_or_insert_with(|| "string".into());
    input.field_type.get_or_insert_with(|| "text".into());
    input.group_name.get_or_insert_with(|| group.to_owned());
    definition_from(&input, now)
}

fn refusal(r: SchemaRefusal, what: &str) -> ApiError {
    match r {
        SchemaRefusal::NameTaken { existing } => ApiError::conflict(format!(
            "An object type named {what} already exists (2-{existing}). Purge it with DELETE /crm-object-schemas/v3/schemas/2-{existing}?archived=true before reusing the name"
        ))
        .with_context(ctx(&[("name", vec![what.to_owned()])])),
        SchemaRefusal::Limit { max } => ApiError::validation(format!(
            "This account has reached its limit of {max} custom object types. Delete one before creating another"
        )),
        SchemaRefusal::LiveRecords { count } => ApiError::conflict(format!(
            "Object type {what} still has {count} record(s). Archive its records before deleting the schema"
        ))
        .with_context(ctx(&[("objectType", vec![what.to_owned()])])),
        SchemaRefusal::NotFound => schema_not_found(what),
        SchemaRefusal::DefinitionTaken { type_id } => ApiError::conflict(format!(
            "An association definition named {what} already exists (id {type_id})"
        )),
        SchemaRefusal::Exhausted => ApiError::internal("no schema number or type id left"),
    }
}

pub(crate) async fn list(auth: Authorized<()>, RawQuery(query): RawQuery) -> ApiResult<Response> {
    let archived = QueryParams::parse(query.as_deref()).bool("archived")?;
    let include = Include::from_query(query.as_deref())?;
    let schemas = auth
        .state
        .store
        .list_schemas(auth.principal.portal, archived)
        .await?;
    let mut results = Vec::with_capacity(schemas.len());
    for s in &schemas {
        results.push(schema_wire(&auth, s, include).await?);
    }
    Ok(Json(StatusCode::OK, wire_results(results)).into_response())
}

fn wire_results<T>(results: Vec<T>) -> spoke_types::properties::Results<T> {
    spoke_types::properties::Results { results }
}

pub(crate) async fn read(
    auth: Authorized<()>,
    Path(segment): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let include = Include::from_query(query.as_deref())?;
    let s = find(&auth, &segment, false).await?;
    Ok(Json(StatusCode::OK, schema_wire(&auth, &s, include).await?).into_response())
}

pub(crate) async fn batch_read(
    auth: Authorized<()>,
    Body(input): Body<wire::ObjectSchemaBatchReadRequest>,
) -> ApiResult<Response> {
    let Some(inputs) = input.inputs else {
        return Err(missing_required("inputs"));
    };
    crate::handlers::check_batch_limit(inputs.len(), crate::handlers::properties::MAX_BATCH)?;
    let include = Include {
        associations: input.include_association_definitions.unwrap_or(true),
        audit: input.include_audit_metadata.unwrap_or(true),
        properties: input.include_property_definitions.unwrap_or(true),
    };
    // Unknown names are left out, as a batch read of records leaves out unknown ids ([I]).
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    for segment in &inputs {
        let Ok(s) = find(&auth, segment, false).await else {
            continue;
        };
        if seen.insert(s.number) {
            results.push(schema_wire(&auth, &s, include).await?);
        }
    }
    Ok(Json(StatusCode::OK, wire_results(results)).into_response())
}

pub(crate) async fn create(
    auth: Authorized<()>,
    Body(input): Body<wire::ObjectSchemaEgg>,
) -> ApiResult<Response> {
    if let Some(missing) = missing_fields(&[
        ("name", input.name.is_some()),
        ("labels", input.labels.is_some()),
        ("properties", input.properties.is_some()),
        ("requiredProperties", input.required_properties.is_some()),
        ("associatedObjects", input.associated_objects.is_some()),
    ]) {
        return Err(missing_required(&missing));
    }
    let name = input.name.clone().unwrap_or_default();
    if !valid_name(&name) {
        return Err(ApiError::validation(format!(
            "Invalid object type name {name:?}: names start with a letter and contain only letters, digits and underscores (at most {MAX_NAME} characters)"
        )));
    }
    if standard(&name).is_some() {
        return Err(ApiError::validation(format!(
            "Invalid object type name {name:?}: it names one of HubSpot's standard object types"
        )));
    }
    let labels = input.labels.clone().unwrap_or_default();
    let (Some(singular), Some(plural)) = (labels.singular, labels.plural) else {
        return Err(missing_required("labels.singular, labels.plural"));
    };

    let now = auth.now();
    let schema = CustomSchema {
        portal: auth.principal.portal,
        number: 0,
        name: name.clone(),
        singular_label: singular.clone(),
        plural_label: plural,
        description: input.description.clone().unwrap_or_default(),
        primary_display_property: input.primary_display_property.clone(),
        secondary_display_properties: input
            .secondary_display_properties
            .clone()
            .unwrap_or_default(),
        searchable_properties: input.searchable_properties.clone().unwrap_or_default(),
        required_properties: input.required_properties.clone().unwrap_or_default(),
        allows_sensitive_properties: input.allows_sensitive_properties.unwrap_or(false),
        restorable: true,
        archived: false,
        created_at: now,
        updated_at: now,
        created_by_user_id: None,
        updated_by_user_id: None,
    };

    let group = format!("{name}_information");
    let groups: HashSet<String> = [group.clone()].into();
    let mut defs = Vec::new();
    let builtin_defs = builtin_properties(&schema);
    let builtin: Vec<&str> = builtin_defs.iter().map(|d| d.name.as_str()).collect();
    for p in input.properties.iter().flatten() {
        let def = property(p, &group, now)?;
        if builtin.contains(&def.name.as_str())
            || defs.iter().any(|d: &PropertyDefinition| d.name == def.name)
        {
            return Err(ApiError::conflict(format!(
                "Property named '{}' already exists.",
                def.name
            )));
        }
        check_definition(&def, &groups)?;
        defs.push(def);
    }
    let mut known: HashSet<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    known.extend(builtin.iter().copied());
    check_lists(
        &known,
        input.primary_display_property.as_ref(),
        [
            ("requiredProperties", input.required_properties.as_ref()),
            ("searchableProperties", input.searchable_properties.as_ref()),
            (
                "secondaryDisplayProperties",
                input.secondary_display_properties.as_ref(),
            ),
        ],
    )?;

    // The associations: those asked for, then the engagement types every custom object
    // gets (§40.3), then the type itself when asked; each target once.
    let mut targets: Vec<(String, String)> = Vec::new();
    for segment in input.associated_objects.iter().flatten() {
        let t = target(&auth, segment).await?;
        if !targets.iter().any(|(id, _)| *id == t.0) {
            targets.push(t);
        }
    }
    for id in engagement_types() {
        if let Some(t) = standard(id) {
            if !targets.iter().any(|(have, _)| *have == t.0) {
                targets.push(t);
            }
        }
    }
    let lower = name.to_ascii_lowercase();
    let mut associations: Vec<DefinitionRequest> = targets
        .iter()
        .map(|(id, to)| DefinitionRequest {
            to_type: Some(id.clone()),
            name: format!("{lower}_to_{}", to.to_ascii_lowercase()),
            inverse_name: format!("{}_to_{lower}", to.to_ascii_lowercase()),
        })
        .collect();
    if input.should_create_same_object_association.unwrap_or(false) {
        associations.push(DefinitionRequest {
            to_type: None,
            name: format!("{lower}_to_{lower}"),
            inverse_name: format!("{lower}_to_{lower}"),
        });
    }

    let new = NewSchema {
        schema,
        properties: defs,
        group: PropertyGroup {
            label: format!("{singular} information"),
            name: group,
            display_order: -1,
            archived: false,
        },
        associations,
        max_schemas: MAX_SCHEMAS_PER_PORTAL,
    };
    let created = auth
        .state
        .store
        .create_schema(new)
        .await?
        .map_err(|r| refusal(r, &name))?;
    auth.state.custom_types.forget(auth.principal.portal);
    let include = Include {
        associations: true,
        audit: true,
        properties: true,
    };
    let answer = schema_wire(&auth, &created.schema, include).await?;
    Ok(Json(StatusCode::CREATED, answer).into_response())
}

pub(crate) async fn update(
    auth: Authorized<()>,
    Path(segment): Path<String>,
    Body(input): Body<wire::ObjectTypeDefinitionPatch>,
) -> ApiResult<Response> {
    let s = find(&auth, &segment, false).await?;
    let props = live_properties(&auth, &s).await?;
    let known: HashSet<&str> = props.iter().map(|p| p.name.as_str()).collect();
    check_lists(
        &known,
        input.primary_display_property.as_ref(),
        [
            ("requiredProperties", input.required_properties.as_ref()),
            ("searchableProperties", input.searchable_properties.as_ref()),
            (
                "secondaryDisplayProperties",
                input.secondary_display_properties.as_ref(),
            ),
        ],
    )?;
    let labels = input.labels.clone().unwrap_or_default();
    let patch = SchemaPatch {
        singular_label: labels.singular,
        plural_label: labels.plural,
        description: input.description.clone(),
        clear_description: input.clear_description.unwrap_or(false),
        primary_display_property: input.primary_display_property.clone(),
        secondary_display_properties: input.secondary_display_properties.clone(),
        searchable_properties: input.searchable_properties.clone(),
        required_properties: input.required_properties.clone(),
        allows_sensitive_properties: input.allows_sensitive_properties,
        restorable: input.restorable,
        updated_by_user_id: None,
    };
    let update = SchemaUpdate {
        portal: auth.principal.portal,
        number: s.number,
        patch,
        now: auth.now(),
    };
    let updated = auth
        .state
        .store
        .update_schema(update)
        .await?
        .ok_or_else(|| schema_not_found(&segment))?;
    auth.state.custom_types.forget(auth.principal.portal);
    Ok(Json(StatusCode::OK, definition_answer(&updated)).into_response())
}

/// `DELETE …/schemas/{objectType}`: archives; with `?archived=true`, purges (§40.1).
pub(crate) async fn archive(
    auth: Authorized<()>,
    Path(segment): Path<String>,
    Archived(hard): Archived,
) -> ApiResult<Response> {
    if hard {
        return purge_schema(auth, &segment).await;
    }
    let s = find(&auth, &segment, false).await?;
    auth.state
        .store
        .archive_schema(auth.principal.portal, s.number, auth.now())
        .await?
        .map_err(|r| refusal(r, &segment))?;
    auth.state.custom_types.forget(auth.principal.portal);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /crm/v3/schemas/{objectType}/purge` (the older hard delete, §40.1).
pub(crate) async fn purge(
    auth: Authorized<()>,
    Path(segment): Path<String>,
) -> ApiResult<Response> {
    purge_schema(auth, &segment).await
}

async fn purge_schema(auth: Authorized<()>, segment: &str) -> ApiResult<Response> {
    let s = find(&auth, segment, true).await?;
    auth.state
        .store
        .purge_schema(auth.principal.portal, s.number, auth.now())
        .await?
        .map_err(|r| refusal(r, segment))?;
    auth.state.custom_types.forget(auth.principal.portal);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn create_association(
    auth: Authorized<()>,
    Path(segment): Path<String>,
    Body(input): Body<wire::AssociationDefinitionEgg>,
) -> ApiResult<Response> {
    let s = find(&auth, &segment, false).await?;
    let (Some(from), Some(to)) = (
        input.from_object_type_id.as_deref(),
        input.to_object_type_id.as_deref(),
    ) else {
        return Err(missing_required("fromObjectTypeId, toObjectTypeId"));
    };
    let ty = s.object_type_id();
    let (from_id, from_name) = target(&auth, from).await?;
    if from_id != ty {
        return Err(ApiError::validation(format!(
            "fromObjectTypeId {from} is not the object type of this schema ({ty})"
        )));
    }
    let (to_id, to_name) = target(&auth, to).await?;
    let (from_lower, to_lower) = (from_name.to_ascii_lowercase(), to_name.to_ascii_lowercase());
    let name = input
        .name
        .clone()
        .unwrap_or_else(|| format!("{from_lower}_to_{to_lower}"));
    let new = NewDefinition {
        portal: auth.principal.portal,
        from_type: ty,
        to_type: to_id,
        inverse_name: format!("{to_lower}_to_{from_lower}"),
        name: name.clone(),
        now: auth.now(),
    };
    let rows = auth
        .state
        .store
        .create_definition(new)
        .await?
        .map_err(|r| refusal(r, &name))?;
    let first = rows
        .first()
        .ok_or_else(|| ApiError::internal("a definition without rows"))?;
    Ok(Json(StatusCode::CREATED, definition_wire(first, true)).into_response())
}

pub(crate) async fn delete_association(
    auth: Authorized<()>,
    Path((segment, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let s = find(&auth, &segment, false).await?;
    let not_found = || {
        ApiError::object_not_found(format!(
            "Unable to find association definition {id} of {segment}"
        ))
    };
    let type_id: i64 = id.trim().parse().map_err(|_| not_found())?;
    let removed = auth
        .state
        .store
        .remove_definition(auth.principal.portal, &s.object_type_id(), type_id)
        .await?;
    if !removed {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v3/limits/custom-object-types`: the portal's live schemas against the limit.
pub(crate) async fn limits(auth: Authorized<()>) -> ApiResult<Response> {
    let usage = auth
        .state
        .store
        .list_schemas(auth.principal.portal, false)
        .await?
        .len();
    let limit = MAX_SCHEMAS_PER_PORTAL;
    let percentage = usage as f64 * 100.0 / limit as f64;
    let answer = wire::CustomObjectTypeLimit {
        limit,
        percentage,
        usage,
    };
    Ok(Json(StatusCode::OK, answer).into_response())
}
