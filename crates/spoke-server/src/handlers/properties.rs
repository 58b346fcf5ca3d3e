//! Properties v3: `/crm/v3/properties/{objectType}` and the date-versioned
//! `/crm/properties/2026-03/{objectType}`. HubSpot-defined properties come from the
//! catalogue and cannot be changed; custom ones live in the store.

use std::collections::HashSet;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use spoke_core::catalog::{builtin_groups, builtin_properties};
use spoke_core::property::{PropertyOption, PropertyType};
use spoke_core::time::{format_iso, now_millis};
use spoke_core::{ObjectType, PropertyDefinition};
use spoke_store::PropertyGroup as StoredGroup;
use spoke_types::properties::{
    BatchReadPropertyNames, OptionInput, Property, PropertyCreate, PropertyGroup,
    PropertyGroupCreate, PropertyGroupUpdate, PropertyModificationMetadata, PropertyName,
    PropertyOptionOut, PropertyUpdate, Results,
};

use crate::catalogue::{Authorized, Type};
use crate::error::{ctx, ApiError, ApiResult, Category};
use crate::handlers::{both, check_batch_limit, missing_fields, missing_required, Archived, Batch};
use crate::wire::{batch_response, Body, Json, BATCH_CREATED, BATCH_OK};

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

fn option_out(o: &PropertyOption) -> PropertyOptionOut {
    PropertyOptionOut {
        label: o.label.clone(),
        value: o.value.clone(),
        description: o.description.clone(),
        display_order: o.display_order,
        hidden: o.hidden,
    }
}

pub(crate) fn to_wire(d: &PropertyDefinition) -> Property {
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
        options: d.options.iter().map(option_out).collect(),
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

/// A pipelined type's pipeline and stage properties list the portal's live pipelines and
/// their live stages as options (in display order), loaded only when a listed property
/// needs them.
async fn pipeline_options(auth: &Authorized<Type>, out: &mut [Property]) -> ApiResult<()> {
    let Some(rules) = auth.subject.pipelines else {
        return Ok(());
    };
    let (pp, sp) = (rules.pipeline_property, rules.stage_property);
    let wanted = |p: &Property| !p.archived && p.hubspot_defined && (p.name == pp || p.name == sp);
    if !out.iter().any(wanted) {
        return Ok(());
    }
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    let all = store
        .read_pipelines(portal, auth.subject.id.as_str())
        .await?;
    let (pipelines, stages) = spoke_store::pipelines::property_options(&all);
    let pipelines: Vec<PropertyOptionOut> = pipelines.iter().map(option_out).collect();
    let stages: Vec<PropertyOptionOut> = stages.iter().map(option_out).collect();
    for p in out.iter_mut().filter(|p| wanted(p)) {
        p.options = if p.name == pp {
            pipelines.clone()
        } else {
            stages.clone()
        };
    }
    Ok(())
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(Category::ObjectNotFound),
        format!("Property {name} does not exist"),
    )
}

fn builtin<'a>(ty: &'a ObjectType, name: &str) -> Option<&'a PropertyDefinition> {
    ty.builtin_properties().iter().find(|p| p.name == name)
}

/// The type's custom definitions, live and archived.
pub(crate) async fn custom(auth: &Authorized<Type>) -> ApiResult<Vec<PropertyDefinition>> {
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    Ok(store
        .list_properties(portal, auth.subject.id.as_str())
        .await?)
}

/// The type's custom groups, live and archived.
async fn custom_groups(auth: &Authorized<Type>) -> ApiResult<Vec<StoredGroup>> {
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    Ok(store.list_groups(portal, auth.subject.id.as_str()).await?)
}

pub(crate) async fn group_names(auth: &Authorized<Type>) -> ApiResult<HashSet<String>> {
    let builtin = builtin_groups(&auth.subject).into_iter().map(|(n, _)| n);
    let mut names: HashSet<String> = builtin.collect();
    for g in custom_groups(auth).await? {
        if !g.archived {
            names.insert(g.name);
        }
    }
    Ok(names)
}

/// Writes a custom group; `create` refuses a name that is taken. `false` when refused.
async fn put_group(auth: &Authorized<Type>, group: StoredGroup, create: bool) -> ApiResult<bool> {
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    Ok(store
        .put_group(portal, auth.subject.id.as_str(), group, create)
        .await?)
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
pub(crate) fn check_definition(d: &PropertyDefinition, groups: &HashSet<String>) -> ApiResult<()> {
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

pub(crate) fn definition_from(input: &PropertyCreate) -> ApiResult<PropertyDefinition> {
    if let Some(missing) = missing_fields(&[
        ("name", input.name.is_some()),
        ("label", input.label.is_some()),
        ("type", input.kind.is_some()),
        ("fieldType", input.field_type.is_some()),
        ("groupName", input.group_name.is_some()),
    ]) {
        return Err(missing_required(&missing));
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

pub(crate) fn exists_error(name: &str) -> ApiError {
    ApiError::conflict(format!("Property named '{name}' already exists."))
}

/// Validates one create input against the type's current definitions.
pub(crate) fn prepare(
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

/// Inserts new custom definitions in one store call, within the type's limit. `false`
/// when another writer took one of their names first.
pub(crate) async fn insert(
    auth: &Authorized<Type>,
    defs: Vec<PropertyDefinition>,
) -> ApiResult<bool> {
    let (ty, portal) = (&auth.subject, auth.principal.portal);
    let fresh = auth
        .state
        .store
        .insert_properties_bounded(portal, ty.id.as_str(), defs, MAX_CUSTOM_PROPERTIES)
        .await?
        .ok_or_else(|| too_many_properties(ty))?;
    Ok(fresh.iter().all(|f| *f))
}

pub(crate) async fn list(
    auth: Authorized<Type>,
    Archived(archived): Archived,
) -> ApiResult<Response> {
    let customs = custom(&auth).await?;
    let mut out: Vec<Property> = Vec::new();
    if !archived {
        out.extend(builtin_properties(&auth.subject).iter().map(to_wire));
    }
    out.extend(
        customs
            .iter()
            .filter(|c| c.archived == archived)
            .map(to_wire),
    );
    out.sort_by(|a, b| a.name.cmp(&b.name));
    pipeline_options(&auth, &mut out).await?;
    Ok(Json(StatusCode::OK, Results { results: out }).into_response())
}

pub(crate) async fn create(
    auth: Authorized<Type>,
    Body(input): Body<PropertyCreate>,
) -> ApiResult<Response> {
    let customs = custom(&auth).await?;
    let groups = group_names(&auth).await?;
    let def = prepare(&auth.subject, &input, &customs, &groups)?;
    if !insert(&auth, vec![def.clone()]).await? {
        return Err(exists_error(&def.name));
    }
    Ok(Json(StatusCode::CREATED, to_wire(&def)).into_response())
}

async fn find(
    auth: &Authorized<Type>,
    name: &str,
    archived: bool,
) -> ApiResult<PropertyDefinition> {
    if !archived {
        if let Some(b) = builtin(&auth.subject, name) {
            return Ok(b.clone());
        }
    }
    custom(auth)
        .await?
        .into_iter()
        .find(|c| c.name == name && c.archived == archived)
        .ok_or_else(|| not_found(name))
}

pub(crate) async fn read(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    Archived(archived): Archived,
) -> ApiResult<Response> {
    let def = find(&auth, &name, archived).await?;
    let mut out = [to_wire(&def)];
    pipeline_options(&auth, &mut out).await?;
    let [out] = out;
    Ok(Json(StatusCode::OK, out).into_response())
}

fn read_only_definition(name: &str) -> ApiError {
    ApiError::validation(format!(
        "{name} is a HubSpot-defined property; its definition cannot be changed or archived."
    ))
}

pub(crate) async fn update(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    Body(input): Body<PropertyUpdate>,
) -> ApiResult<Response> {
    if builtin(&auth.subject, &name).is_some() {
        return Err(read_only_definition(&name));
    }
    let mut def = find(&auth, &name, false).await?;
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
    check_definition(&def, &group_names(&auth).await?)?;
    let (store, portal) = (&auth.state.store, auth.principal.portal);
    if !store
        .update_property(portal, auth.subject.id.as_str(), def.clone())
        .await?
    {
        return Err(not_found(&name));
    }
    Ok(Json(StatusCode::OK, to_wire(&def)).into_response())
}

/// Archives custom properties in one store call: all or none, whatever happens to the
/// request. A HubSpot-defined name refuses the whole call before anything is written;
/// unknown and already archived names are ignored. Returns how many were archived.
async fn archive_named(auth: &Authorized<Type>, names: Vec<String>) -> ApiResult<usize> {
    let ty = &auth.subject;
    if let Some(name) = names.iter().find(|n| builtin(ty, n).is_some()) {
        return Err(read_only_definition(name));
    }
    Ok(auth
        .state
        .store
        .archive_properties(
            auth.principal.portal,
            ty.id.as_str(),
            names,
            now_millis(),
            MAX_ARCHIVED_PROPERTIES,
        )
        .await?)
}

pub(crate) async fn archive(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    if archive_named(&auth, vec![name.clone()]).await? == 0 {
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
    auth: Authorized<Type>,
    Batch(inputs): Batch<PropertyCreate, MAX_BATCH>,
) -> ApiResult<Response> {
    let mut customs = custom(&auth).await?;
    let groups = group_names(&auth).await?;
    let mut defs = Vec::new();
    let mut errors = Vec::new();
    for item in &inputs {
        match prepare(&auth.subject, item, &customs, &groups) {
            Ok(def) => {
                // A name twice in one batch: the second is a conflict with the first.
                customs.push(def.clone());
                defs.push(def);
            }
            Err(e) => errors.push(item_error(e, item.name.as_deref())),
        }
    }
    if !defs.is_empty() && !insert(&auth, defs.clone()).await? {
        // Lost a race with another writer: report every input as conflicting.
        for d in defs.drain(..) {
            errors.push(item_error(exists_error(&d.name), Some(&d.name)));
        }
    }
    let results: Vec<Property> = defs.iter().map(to_wire).collect();
    Ok(batch_response(BATCH_CREATED, auth.started, results, errors))
}

pub(crate) async fn batch_read(
    auth: Authorized<Type>,
    Body(input): Body<BatchReadPropertyNames>,
) -> ApiResult<Response> {
    check_batch_limit(input.inputs.len(), MAX_BATCH)?;
    let customs = custom(&auth).await?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for PropertyName { name } in &input.inputs {
        let found = (!input.archived)
            .then(|| builtin(&auth.subject, name).cloned())
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
    pipeline_options(&auth, &mut results).await?;
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

pub(crate) async fn batch_archive(
    auth: Authorized<Type>,
    Batch(inputs): Batch<PropertyName, MAX_BATCH>,
) -> ApiResult<Response> {
    archive_named(&auth, inputs.into_iter().map(|p| p.name).collect()).await?;
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

async fn all_groups(auth: &Authorized<Type>) -> ApiResult<Vec<StoredGroup>> {
    let mut out: Vec<StoredGroup> = builtin_groups(&auth.subject)
        .into_iter()
        .map(|(name, label)| StoredGroup {
            name,
            label,
            display_order: -1,
            archived: false,
        })
        .collect();
    for g in custom_groups(auth).await? {
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

pub(crate) async fn list_groups(auth: Authorized<Type>) -> ApiResult<Response> {
    let results = all_groups(&auth).await?.iter().map(group_wire).collect();
    Ok(Json(StatusCode::OK, Results::<PropertyGroup> { results }).into_response())
}

pub(crate) async fn create_group(
    auth: Authorized<Type>,
    Body(input): Body<PropertyGroupCreate>,
) -> ApiResult<Response> {
    let (name, label) = both(input.name, input.label, "name, label")?;
    let group = StoredGroup {
        name,
        label,
        display_order: input.display_order.unwrap_or(-1),
        archived: false,
    };
    let builtin_taken = builtin_groups(&auth.subject)
        .iter()
        .any(|(n, _)| *n == group.name);
    if builtin_taken || !put_group(&auth, group.clone(), true).await? {
        return Err(ApiError::conflict(format!(
            "Property group named '{}' already exists.",
            group.name
        )));
    }
    Ok(Json(StatusCode::CREATED, group_wire(&group)).into_response())
}

pub(crate) async fn read_group(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let group = all_groups(&auth)
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .ok_or_else(|| group_not_found(&name))?;
    Ok(Json(StatusCode::OK, group_wire(&group)).into_response())
}

/// A live custom group, to change or archive; HubSpot's groups cannot be.
async fn custom_group(auth: &Authorized<Type>, name: &str) -> ApiResult<StoredGroup> {
    if builtin_groups(&auth.subject).iter().any(|(n, _)| n == name) {
        return Err(ApiError::validation(format!(
            "{name} is a HubSpot-defined property group; it cannot be changed or archived."
        )));
    }
    custom_groups(auth)
        .await?
        .into_iter()
        .find(|g| g.name == name && !g.archived)
        .ok_or_else(|| group_not_found(name))
}

pub(crate) async fn update_group(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
    Body(input): Body<PropertyGroupUpdate>,
) -> ApiResult<Response> {
    let mut group = custom_group(&auth, &name).await?;
    if let Some(l) = input.label {
        group.label = l;
    }
    if let Some(o) = input.display_order {
        group.display_order = o;
    }
    put_group(&auth, group.clone(), false).await?;
    Ok(Json(StatusCode::OK, group_wire(&group)).into_response())
}

pub(crate) async fn archive_group(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let mut group = custom_group(&auth, &name).await?;
    group.archived = true;
    put_group(&auth, group, false).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
