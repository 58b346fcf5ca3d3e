//! Properties v3: `/crm/v3/properties/{objectType}` and the date-versioned
//! `/crm/properties/2026-03/{objectType}`. HubSpot-defined properties come from the
//! catalogue and cannot be changed; custom ones live in the store.

use std::collections::HashSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use spoke_core::catalog::{builtin_groups, builtin_properties};
use spoke_core::property::{PropertyOption, PropertyType};
use spoke_core::time::{format_iso, now_millis};
use spoke_core::{ObjectType, PropertyDefinition};
use spoke_store::PropertyGroup as StoredGroup;
use spoke_types::objects::BatchInput;
use spoke_types::properties::{
    BatchReadPropertyNames, OptionInput, Property, PropertyCreate, PropertyGroup,
    PropertyGroupCreate, PropertyGroupUpdate, PropertyModificationMetadata, PropertyName,
    PropertyOptionOut, PropertyUpdate, Results,
};

use crate::auth::Principal;
use crate::catalogue::{Authorized, Type};
use crate::error::{ctx, ApiError, ApiResult, Category};
use crate::handlers::check_batch_limit;
use crate::wire::{batch_response, parse_body, Json, QueryParams, BATCH_CREATED, BATCH_OK};
use crate::AppState;

/// Inputs per properties batch call. HubSpot's spec states no maximum; spoke takes the
/// objects API's (§1.1), with its wording, so no one call can be unbounded work.
pub const MAX_BATCH: usize = 100;

/// Live custom properties per portal and object type. HubSpot limits them per type (its
/// limits-tracking API reports the limit and usage); every record request loads the type's
/// definitions, so this also bounds what each request costs.
pub const MAX_CUSTOM_PROPERTIES: usize = 1000;

/// Archived custom properties kept per portal and type; archiving more deletes the oldest
/// (HubSpot deletes archived properties for good after 90 days). With
/// [`MAX_CUSTOM_PROPERTIES`] this bounds the definitions every record request loads, however
/// many create-and-archive rounds a client makes.
pub const MAX_ARCHIVED_PROPERTIES: usize = 1000;

fn too_many_properties(ty: &ObjectType) -> ApiError {
    ApiError::validation(format!(
        "The maximum number of custom properties for {} is {MAX_CUSTOM_PROPERTIES}. Archive unused properties and try again",
        ty.name
    ))
}

fn to_wire(d: &PropertyDefinition) -> Property {
    Property {
        updated_at: d.updated_at.map(format_iso),
        created_at: d.created_at.map(format_iso),
        archived_at: d.archived_at.map(format_iso),
        name: d.name.clone(),
        label: d.label.clone(),
        kind: d.kind.as_str().to_owned(),
        field_type: d.field_type.clone(),
        description: d.description.clone(),
        group_name: d.group_name.clone(),
        options: d
            .options
            .iter()
            .map(|o| PropertyOptionOut {
                label: o.label.clone(),
                value: o.value.clone(),
                description: o.description.clone(),
                display_order: o.display_order,
                hidden: o.hidden,
            })
            .collect(),
        display_order: d.display_order,
        calculated: d.calculated,
        external_options: d.external_options,
        has_unique_value: d.has_unique_value,
        hidden: d.hidden,
        hubspot_defined: d.hubspot_defined,
        modification_metadata: PropertyModificationMetadata {
            archivable: d.archivable,
            read_only_definition: d.read_only_definition,
            read_only_value: d.read_only_value,
        },
        form_field: d.form_field,
        archived: d.archived,
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(Category::ObjectNotFound),
        format!("Property {name} does not exist"),
    )
}

fn builtin(ty: &ObjectType, name: &str) -> Option<&'static PropertyDefinition> {
    builtin_properties(ty).iter().find(|p| p.name == name)
}

async fn custom(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
) -> ApiResult<Vec<PropertyDefinition>> {
    Ok(state
        .store
        .list_properties(principal.portal, ty.id.0)
        .await?)
}

async fn group_names(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
) -> ApiResult<HashSet<String>> {
    let mut names: HashSet<String> = builtin_groups(ty).into_iter().map(|(n, _)| n).collect();
    for g in state.store.list_groups(principal.portal, ty.id.0).await? {
        if !g.archived {
            names.insert(g.name);
        }
    }
    Ok(names)
}

fn options_from(input: Option<&[OptionInput]>) -> Vec<PropertyOption> {
    input
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, o)| PropertyOption {
            label: o.label.clone(),
            value: o.value.clone(),
            description: o.description.clone(),
            display_order: o.display_order.unwrap_or(i as i32),
            hidden: o.hidden,
        })
        .collect()
}

/// Checks the parts of a definition that must agree with each other.
fn check_definition(d: &PropertyDefinition, groups: &HashSet<String>) -> ApiResult<()> {
    if !d
        .kind
        .allowed_field_types()
        .contains(&d.field_type.as_str())
    {
        return Err(ApiError::validation(format!(
            "{} is not a valid fieldType for a property of type {}. Use one of: {}",
            d.field_type,
            d.kind.as_str(),
            d.kind.allowed_field_types().join(", ")
        )));
    }
    if !groups.contains(&d.group_name) {
        return Err(ApiError::validation(format!(
            "Unable to find property group {}. Create it first with POST /crm/v3/properties/{{objectType}}/groups",
            d.group_name
        )));
    }
    if d.has_unique_value && !matches!(d.kind, PropertyType::String | PropertyType::Number) {
        return Err(ApiError::validation(
            "hasUniqueValue is only supported for string and number properties",
        ));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = d.options.iter().find(|o| !seen.insert(o.value.as_str())) {
        return Err(ApiError::validation(format!(
            "Duplicate option value {} for property {}",
            dup.value, d.name
        )));
    }
    Ok(())
}

fn definition_from(input: &PropertyCreate) -> ApiResult<PropertyDefinition> {
    let missing: Vec<&str> = [
        ("name", input.name.is_none()),
        ("label", input.label.is_none()),
        ("type", input.kind.is_none()),
        ("fieldType", input.field_type.is_none()),
        ("groupName", input.group_name.is_none()),
    ]
    .iter()
    .filter(|(_, m)| *m)
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "Missing required field(s): {}",
            missing.join(", ")
        )));
    }
    let name = input.name.clone().unwrap_or_default();
    let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 100;
    if !valid_name {
        return Err(ApiError::validation(format!(
            "Invalid property name {name:?}: names start with a lowercase letter and contain only lowercase letters, digits and underscores (at most 100 characters)"
        )));
    }
    let kind_text = input.kind.clone().unwrap_or_default();
    let kind = PropertyType::parse(&kind_text).ok_or_else(|| {
        ApiError::validation(format!(
            "{kind_text} is not a valid property type. Use one of: string, number, date, datetime, enumeration, bool, phone_number"
        ))
    })?;
    let mut options = options_from(input.options.as_deref());
    if kind == PropertyType::Bool && options.is_empty() {
        options = options_from(Some(&[
            OptionInput {
                label: "Yes".into(),
                value: "true".into(),
                description: None,
                display_order: Some(0),
                hidden: false,
            },
            OptionInput {
                label: "No".into(),
                value: "false".into(),
                description: None,
                display_order: Some(1),
                hidden: false,
            },
        ]));
    }
    let now = now_millis();
    Ok(PropertyDefinition {
        name,
        label: input.label.clone().unwrap_or_default(),
        kind,
        field_type: input.field_type.clone().unwrap_or_default(),
        description: input.description.clone().unwrap_or_default(),
        group_name: input.group_name.clone().unwrap_or_default(),
        options,
        display_order: input.display_order.unwrap_or(-1),
        calculated: false,
        external_options: input.external_options.unwrap_or(false),
        has_unique_value: input.has_unique_value.unwrap_or(false),
        hidden: input.hidden.unwrap_or(false),
        hubspot_defined: false,
        form_field: input.form_field.unwrap_or(true),
        read_only_value: false,
        read_only_definition: false,
        archivable: true,
        created_at: Some(now),
        updated_at: Some(now),
        archived: false,
        archived_at: None,
    })
}

fn exists_error(name: &str) -> ApiError {
    ApiError::conflict(format!("Property named '{name}' already exists."))
}

/// Validates one create input against the type's current definitions.
fn prepare(
    ty: &ObjectType,
    input: &PropertyCreate,
    customs: &[PropertyDefinition],
    groups: &HashSet<String>,
) -> ApiResult<PropertyDefinition> {
    let def = definition_from(input)?;
    if builtin(ty, &def.name).is_some() || customs.iter().any(|c| c.name == def.name && !c.archived)
    {
        return Err(exists_error(&def.name));
    }
    check_definition(&def, groups)?;
    Ok(def)
}

pub(crate) async fn list(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let archived = QueryParams::parse(query.as_deref()).bool("archived")?;
    let customs = custom(&state, principal, ty).await?;
    let mut out: Vec<Property> = Vec::new();
    if !archived {
        out.extend(builtin_properties(ty).iter().map(to_wire));
    }
    out.extend(
        customs
            .iter()
            .filter(|c| c.archived == archived)
            .map(to_wire),
    );
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(StatusCode::OK, Results { results: out }).into_response())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    body: Bytes,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: PropertyCreate = parse_body(&body)?;
    let customs = custom(&state, principal, ty).await?;
    let groups = group_names(&state, principal, ty).await?;
    let def = prepare(ty, &input, &customs, &groups)?;
    let fresh = state
        .store
        .insert_properties_bounded(
            principal.portal,
            ty.id.0,
            vec![def.clone()],
            MAX_CUSTOM_PROPERTIES,
        )
        .await?
        .ok_or_else(|| too_many_properties(ty))?;
    if fresh.iter().any(|f| !f) {
        return Err(exists_error(&def.name));
    }
    Ok(Json(StatusCode::CREATED, to_wire(&def)).into_response())
}

async fn find(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
    name: &str,
    archived: bool,
) -> ApiResult<PropertyDefinition> {
    if !archived {
        if let Some(b) = builtin(ty, name) {
            return Ok(b.clone());
        }
    }
    custom(state, principal, ty)
        .await?
        .into_iter()
        .find(|c| c.name == name && c.archived == archived)
        .ok_or_else(|| not_found(name))
}

pub(crate) async fn read(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let archived = QueryParams::parse(query.as_deref()).bool("archived")?;
    let def = find(&state, principal, ty, &name, archived).await?;
    Ok(Json(StatusCode::OK, to_wire(&def)).into_response())
}

fn read_only_definition(name: &str) -> ApiError {
    ApiError::validation(format!(
        "{name} is a HubSpot-defined property; its definition cannot be changed or archived."
    ))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: PropertyUpdate = parse_body(&body)?;
    if builtin(ty, &name).is_some() {
        return Err(read_only_definition(&name));
    }
    let mut def = find(&state, principal, ty, &name, false).await?;
    if let Some(v) = &input.label {
        def.label = v.clone();
    }
    if let Some(v) = &input.kind {
        def.kind = PropertyType::parse(v)
            .ok_or_else(|| ApiError::validation(format!("{v} is not a valid property type")))?;
    }
    if let Some(v) = &input.field_type {
        def.field_type = v.clone();
    }
    if let Some(v) = &input.group_name {
        def.group_name = v.clone();
    }
    if let Some(v) = &input.description {
        def.description = v.clone();
    }
    if let Some(v) = &input.options {
        def.options = options_from(Some(v));
    }
    if let Some(v) = input.display_order {
        def.display_order = v;
    }
    if let Some(v) = input.hidden {
        def.hidden = v;
    }
    if let Some(v) = input.form_field {
        def.form_field = v;
    }
    def.updated_at = Some(now_millis());
    check_definition(&def, &group_names(&state, principal, ty).await?)?;
    if !state
        .store
        .update_property(principal.portal, ty.id.0, def.clone())
        .await?
    {
        return Err(not_found(&name));
    }
    Ok(Json(StatusCode::OK, to_wire(&def)).into_response())
}

/// Archives custom properties in one store call: all or none, whatever happens to the
/// request. A HubSpot-defined name refuses the whole call before anything is written;
/// unknown and already archived names are ignored. Returns how many were archived.
async fn archive_named(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
    names: Vec<String>,
) -> ApiResult<usize> {
    if let Some(name) = names.iter().find(|n| builtin(ty, n).is_some()) {
        return Err(read_only_definition(name));
    }
    Ok(state
        .store
        .archive_properties(
            principal.portal,
            ty.id.0,
            names,
            now_millis(),
            MAX_ARCHIVED_PROPERTIES,
        )
        .await?)
}

pub(crate) async fn archive(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    if archive_named(&state, principal, ty, vec![name.clone()]).await? == 0 {
        return Err(not_found(&name));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One input's error in a batch answer, naming the input.
fn item_error(e: ApiError, name: Option<&str>) -> ApiError {
    let context = name.map(|n| ctx(&[("name", vec![n.to_owned()])]));
    e.with_context(context.unwrap_or_default())
}

pub(crate) async fn batch_create(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    body: Bytes,
) -> ApiResult<Response> {
    let started = now_millis();
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: BatchInput<PropertyCreate> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_BATCH)?;
    let mut customs = custom(&state, principal, ty).await?;
    let groups = group_names(&state, principal, ty).await?;
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    for item in &input.inputs {
        match prepare(ty, item, &customs, &groups) {
            Ok(def) => {
                // A name twice in one batch: the second is a conflict with the first.
                customs.push(def.clone());
                defs.push(def);
            }
            Err(e) => errors.push(item_error(e, item.name.as_deref())),
        }
    }
    if !defs.is_empty() {
        let fresh = state
            .store
            .insert_properties_bounded(
                principal.portal,
                ty.id.0,
                defs.clone(),
                MAX_CUSTOM_PROPERTIES,
            )
            .await?
            .ok_or_else(|| too_many_properties(ty))?;
        if fresh.iter().any(|f| !f) {
            // Lost a race with another writer: report every input as conflicting.
            for d in defs.drain(..) {
                errors.push(item_error(exists_error(&d.name), Some(&d.name)));
            }
        }
    }
    let results: Vec<Property> = defs.iter().map(to_wire).collect();
    Ok(batch_response(BATCH_CREATED, started, results, errors))
}

pub(crate) async fn batch_read(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    body: Bytes,
) -> ApiResult<Response> {
    let started = now_millis();
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: BatchReadPropertyNames = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_BATCH)?;
    let customs = custom(&state, principal, ty).await?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for PropertyName { name } in &input.inputs {
        let found = (!input.archived)
            .then(|| builtin(ty, name).cloned())
            .flatten()
            .or_else(|| {
                customs
                    .iter()
                    .find(|c| &c.name == name && c.archived == input.archived)
                    .cloned()
            });
        match found {
            Some(d) => results.push(to_wire(&d)),
            None => missing.push(name.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        let message = format!("Could not find some properties: {}", missing.join(", "));
        vec![ApiError::object_not_found(message).with_context(ctx(&[("names", missing)]))]
    };
    Ok(batch_response(BATCH_OK, started, results, errors))
}

pub(crate) async fn batch_archive(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    body: Bytes,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: BatchInput<PropertyName> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_BATCH)?;
    let names = input.inputs.into_iter().map(|p| p.name).collect();
    archive_named(&state, principal, ty, names).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn group_wire(g: &StoredGroup) -> PropertyGroup {
    PropertyGroup {
        name: g.name.clone(),
        label: g.label.clone(),
        display_order: g.display_order,
        archived: g.archived,
    }
}

async fn all_groups(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
) -> ApiResult<Vec<StoredGroup>> {
    let mut out: Vec<StoredGroup> = builtin_groups(ty)
        .into_iter()
        .map(|(name, label)| StoredGroup {
            name,
            label,
            display_order: -1,
            archived: false,
        })
        .collect();
    for g in state.store.list_groups(principal.portal, ty.id.0).await? {
        if !g.archived && !out.iter().any(|b| b.name == g.name) {
            out.push(g);
        }
    }
    Ok(out)
}

fn group_not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(Category::ObjectNotFound),
        format!("Property group {name} does not exist"),
    )
}

pub(crate) async fn list_groups(
    State(state): State<AppState>,
    auth: Authorized<Type>,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let results = all_groups(&state, principal, ty)
        .await?
        .iter()
        .map(group_wire)
        .collect();
    Ok(Json(StatusCode::OK, Results::<PropertyGroup> { results }).into_response())
}

pub(crate) async fn create_group(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    body: Bytes,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: PropertyGroupCreate = parse_body(&body)?;
    let (Some(name), Some(label)) = (input.name, input.label) else {
        return Err(ApiError::validation(
            "Missing required field(s): name, label",
        ));
    };
    let group = StoredGroup {
        name,
        label,
        display_order: input.display_order.unwrap_or(-1),
        archived: false,
    };
    let builtin_taken = builtin_groups(ty).iter().any(|(n, _)| *n == group.name);
    if builtin_taken
        || !state
            .store
            .put_group(principal.portal, ty.id.0, group.clone(), true)
            .await?
    {
        return Err(ApiError::conflict(format!(
            "Property group named '{}' already exists.",
            group.name
        )));
    }
    Ok(Json(StatusCode::CREATED, group_wire(&group)).into_response())
}

pub(crate) async fn read_group(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let group = all_groups(&state, principal, ty)
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| group_not_found(&name))?;
    Ok(Json(StatusCode::OK, group_wire(&group)).into_response())
}

async fn custom_group(
    state: &AppState,
    principal: &Principal,
    ty: &ObjectType,
    name: &str,
) -> ApiResult<StoredGroup> {
    if builtin_groups(ty).iter().any(|(n, _)| n == name) {
        return Err(ApiError::validation(format!(
            "{name} is a HubSpot-defined property group; it cannot be changed or archived."
        )));
    }
    state
        .store
        .list_groups(principal.portal, ty.id.0)
        .await?
        .into_iter()
        .find(|g| g.name == name && !g.archived)
        .ok_or_else(|| group_not_found(name))
}

pub(crate) async fn update_group(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let input: PropertyGroupUpdate = parse_body(&body)?;
    let mut group = custom_group(&state, principal, ty, &name).await?;
    if let Some(l) = input.label {
        group.label = l;
    }
    if let Some(o) = input.display_order {
        group.display_order = o;
    }
    state
        .store
        .put_group(principal.portal, ty.id.0, group.clone(), false)
        .await?;
    Ok(Json(StatusCode::OK, group_wire(&group)).into_response())
}

pub(crate) async fn archive_group(
    State(state): State<AppState>,
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (ty, principal) = (auth.subject, &auth.principal);
    let mut group = custom_group(&state, principal, ty, &name).await?;
    group.archived = true;
    state
        .store
        .put_group(principal.portal, ty.id.0, group, false)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
