//! Objects v3: `/crm/v3/objects/{objectType}` and the date-versioned
//! `/crm/objects/2026-03/{objectType}` (hubspot-behavior.md §1).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, RawQuery};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use spoke_core::association::{hubspot_defined, HUBSPOT_DEFINED};
use spoke_core::record::Projection;
use spoke_core::scope;
use spoke_core::search::SearchQuery;
use spoke_core::{ObjectId, ObjectRecord, ObjectType, Pipelined, PropertyError, StoredRecord};
use spoke_store::pipelines::{check_record, Pipeline};
use spoke_store::{
    ItemFailure, ItemResult, NewAssociation, NewObject, ObjectPatch, ReadKeys, ReadOptions, Target,
    UpsertItem, WriteContext, WriteSource,
};
use spoke_types::objects::PublicAssociationsForObject;
use spoke_types::objects::{
    BatchReadInput, CollectionResponse, NextPage, Paging, SimplePublicObject,
    SimplePublicObjectBatchInput, SimplePublicObjectId, SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
};

use crate::catalogue::{Authorized, Subject, Type};
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::{associations, check_batch_limit, id_str, id_text, path_id, Archived, Batch};
use crate::schema::{TypeSchema, WireSchema};
use crate::wire::{batch_response, Body, Json, Origin, QueryParams, BATCH_CREATED, BATCH_OK};

/// HubSpot's batch limits (§1.1).
pub const MAX_BATCH: usize = 100;
pub const MAX_BATCH_WITH_HISTORY: usize = 50;
const LIST_DEFAULT: usize = 10;
const LIST_MAX: usize = 100;

/// The path type's live schema: what every objects handler starts from.
impl Subject for TypeSchema {
    async fn resolve(auth: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        let ty = Type::resolve(auth, types).await?;
        let (store, portal) = (auth.state.store.as_ref(), auth.principal.portal);
        // Writes hold `hubspot_owner_id` to the portal's live owners once their body is
        // read (`TypeSchema::hold_owners`; docs/compatibility.md, "Owners, users, teams,
        // roles and account info").
        Ok(TypeSchema::load(store, portal, ty).await?)
    }
}

/// The path type's live schema, for an operation that creates or removes records
/// (create, upsert, archive, one or a batch). Partner types are created and archived by
/// HubSpot only: their specs have no such operations (hubspot-behavior.md §4.1), so they
/// are refused before the body is read.
pub(crate) struct Creatable(pub TypeSchema);

impl Subject for Creatable {
    async fn resolve(auth: &Authorized<()>, types: &[Type]) -> ApiResult<Self> {
        let schema = TypeSchema::resolve(auth, types).await?;
        // The operation as its catalogue row names it, batch or not: `batch-upsert` is an
        // upsert.
        require_public_create(&schema.ty, auth.op.name.trim_start_matches("batch-"))?;
        Ok(Self(schema))
    }
}

/// [`Creatable`]'s check, worded after the refused operation.
pub(crate) fn require_public_create(ty: &ObjectType, operation: &str) -> ApiResult<()> {
    if ty.public_create {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "The {operation} operation is not supported for {} objects: HubSpot creates and removes them. Use `spoke import` to load them.",
        ty.name
    )))
}

/// A create must set its type's required properties (hubspot-behavior-platform.md §24.3).
pub(crate) fn require_properties(
    schema: &TypeSchema,
    values: &BTreeMap<String, String>,
) -> ApiResult<()> {
    let missing = schema.missing_required(values);
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::required_missing(&schema.ty.upper, missing))
}

fn check_batch_size(len: usize, with_history: bool) -> ApiResult<()> {
    if with_history && len > MAX_BATCH_WITH_HISTORY {
        return Err(ApiError::validation(format!(
            "The maximum number of inputs supported in a batch request for property histories is {MAX_BATCH_WITH_HISTORY}. Please reduce the number of items and try again"
        )));
    }
    check_batch_limit(len, MAX_BATCH)
}

fn write_context<S>(
    auth: &Authorized<S>,
    schema: &TypeSchema,
    source: WriteSource,
    atomic: bool,
) -> WriteContext {
    write_context_at(auth.now(), schema, source, atomic)
}

/// A write at `now` on the portal's clock, for writers without a request (`admin::seed`).
pub(crate) fn write_context_at(
    now: spoke_core::time::Millis,
    schema: &TypeSchema,
    source: WriteSource,
    atomic: bool,
) -> WriteContext {
    schema.write_context(now, source, atomic)
}

pub(crate) fn api_source() -> WriteSource {
    WriteSource {
        source_type: "API".into(),
        source_id: None,
    }
}

pub(crate) fn projection(properties: &Option<Vec<String>>) -> Projection<'_> {
    match properties {
        Some(names) if !names.is_empty() => Projection::Requested(names),
        _ => Projection::Defaults,
    }
}

/// `idProperty` must name a unique-value property (§1.7). `None` means record ids.
fn id_property(
    schema: &TypeSchema,
    requested: Option<&str>,
    for_write: bool,
) -> ApiResult<Option<String>> {
    match requested.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some("hs_object_id") if !for_write => Ok(None),
        Some(p) if schema.is_unique(p) => Ok(Some(p.to_owned())),
        Some(p) if schema.get(p).is_none() && !for_write => {
            Err(ApiError::property_values(&[PropertyError::doesnt_exist(p)]))
        }
        Some(p) => Err(ApiError::validation(format!(
            "Unable to perform update/upsert by non-unique {} property {p}",
            schema.ty.id
        ))),
    }
}

fn not_found_error(ty: &ObjectType, ids: Vec<String>, traces: Vec<String>) -> ApiError {
    let e = ApiError::object_not_found(format!(
        "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
        ty.upper
    ))
    .with_context(ctx(&[("ids", ids)]));
    if traces.is_empty() {
        return e;
    }
    e.with_context_entry("objectWriteTraceId", traces)
}

fn conflict_message(ty: &ObjectType, property: &str, value: &str, existing_id: ObjectId) -> String {
    if let Some(conflict) = ty
        .unique_property(property)
        .and_then(|u| u.conflict.as_deref())
    {
        format!("{conflict} Existing ID: {existing_id}")
    } else {
        format!(
            "A {} with {property} \"{value}\" already exists; {property} has unique values. Existing ID: {existing_id}",
            ty.singular
        )
    }
}

/// A write failure as the top-level error of an all-or-nothing call.
pub(crate) fn conflict_error(ty: &ObjectType, failure: &ItemFailure) -> ApiError {
    match failure {
        ItemFailure::Conflict {
            property,
            value,
            existing_id,
        } => ApiError::conflict(conflict_message(ty, property, value, *existing_id))
            .with_context(ctx(&[("existingId", vec![existing_id.to_string()])])),
        ItemFailure::NotFound => ApiError::resource_not_found(),
        ItemFailure::AssociationTarget { .. } => associations::failure_error(failure),
    }
}

/// An error of one input of a 207 batch answer, carrying the input's trace id.
fn traced(e: ApiError, trace: Option<&str>) -> ApiError {
    match trace {
        Some(t) => e.with_context_entry("objectWriteTraceId", vec![t.to_owned()]),
        None => e,
    }
}

/// One input's invalid values: the batch's aggregated message, naming its properties.
fn validation_item(errors: &[PropertyError], trace: Option<&str>) -> ApiError {
    let names = errors.iter().map(|e| e.name.clone()).collect();
    let e = ApiError::property_values(errors).with_context(ctx(&[("propertyName", names)]));
    traced(e, trace)
}

/// What every input of a record write carries: its values and its optional trace id.
trait WriteInput {
    fn properties(&self) -> &BTreeMap<String, Value>;
    fn trace(&self) -> Option<&str>;
}

impl WriteInput for SimplePublicObjectInputForCreate {
    fn properties(&self) -> &BTreeMap<String, Value> {
        &self.properties
    }
    fn trace(&self) -> Option<&str> {
        self.object_write_trace_id.as_deref()
    }
}

impl WriteInput for SimplePublicObjectBatchInput {
    fn properties(&self) -> &BTreeMap<String, Value> {
        &self.properties
    }
    fn trace(&self) -> Option<&str> {
        self.object_write_trace_id.as_deref()
    }
}

/// Each input's validated values (`None` where invalid) and the per-input errors.
type Validated = (Vec<Option<BTreeMap<String, String>>>, Vec<ApiError>);

/// What a write's pipeline and stage values are checked against: the type's pipelines,
/// loaded once per request and only when a write touches them, and for updates the
/// pipeline and stage each input's record has (`None` where it has none yet).
pub(crate) struct PipelineCheck {
    rules: Option<Pipelined>,
    pipelines: Vec<Pipeline>,
    stored: Vec<Option<(String, String)>>,
}

impl PipelineCheck {
    /// Loads what the `inputs` need; `targets` (one per input) names the records updates
    /// write, whose stored pipeline and stage are read only then.
    pub(crate) async fn load<'a>(
        auth: &Authorized<impl Sized>,
        schema: &TypeSchema,
        inputs: impl IntoIterator<Item = &'a BTreeMap<String, Value>>,
        targets: Option<&[Option<Target>]>,
    ) -> ApiResult<Self> {
        let none = Self {
            rules: None,
            pipelines: Vec::new(),
            stored: Vec::new(),
        };
        let Some(rules) = schema.ty.pipelines else {
            return Ok(none);
        };
        let inputs: Vec<&BTreeMap<String, Value>> = inputs.into_iter().collect();
        if !schema.touches_pipelines(inputs.iter().copied()) {
            return Ok(none);
        }
        let store = &auth.state.store;
        let pipelines = store
            .read_pipelines(schema.portal, schema.ty.id.as_str())
            .await?;
        // Only inputs that set one of the two need their record's other value; each key
        // kind is read in one store call.
        let targets = targets.unwrap_or_default();
        let needs = |i: usize| {
            inputs.get(i).is_some_and(|v| {
                v.contains_key(rules.pipeline_property) != v.contains_key(rules.stage_property)
            })
        };
        let mut ids = Vec::new();
        let mut unique: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (i, target) in targets.iter().enumerate().filter(|(i, _)| needs(*i)) {
            match target {
                Some(Target::Id(id)) => ids.push((i, *id)),
                Some(Target::Unique { property, value }) => {
                    unique.entry(property).or_default().push(value.clone())
                }
                None => {}
            }
        }
        let mut stored = vec![None; targets.len()];
        let live = ReadOptions {
            archived: false,
            history: &[],
        };
        let pair = |r: &StoredRecord| -> ApiResult<(String, String)> {
            let v = r
                .properties
                .decode()
                .map_err(|e| ApiError::internal(format!("stored values: {e}")))?;
            let get = |k: &str| v.get(k).cloned().unwrap_or_default();
            Ok((get(rules.pipeline_property), get(rules.stage_property)))
        };
        if !ids.is_empty() {
            let keys = ReadKeys::Ids(ids.iter().map(|(_, id)| *id).collect());
            let found = store
                .read_objects(schema.portal, schema.ty.id.as_str(), keys, live)
                .await?;
            for ((i, _), record) in ids.iter().zip(found) {
                stored[*i] = record.as_ref().map(pair).transpose()?;
            }
        }
        for (property, values) in unique {
            let keys = ReadKeys::Unique {
                property: property.to_owned(),
                values: values.clone(),
            };
            let found = store
                .read_objects(schema.portal, schema.ty.id.as_str(), keys, live)
                .await?;
            for (value, record) in values.iter().zip(found) {
                let at = targets.iter().enumerate().position(|(i, t)| {
                    needs(i)
                        && matches!(t, Some(Target::Unique { property: p, value: v }) if p == property && v == value)
                });
                if let Some(i) = at {
                    stored[i] = record.as_ref().map(pair).transpose()?;
                }
            }
        }
        Ok(Self {
            rules: Some(rules),
            pipelines,
            stored,
        })
    }

    /// Checks input `i`'s validated values, filling in the pipeline where a stage came
    /// without one.
    pub(crate) fn check(
        &self,
        i: usize,
        values: &mut BTreeMap<String, String>,
    ) -> Result<(), Vec<PropertyError>> {
        let Some(rules) = &self.rules else {
            return Ok(());
        };
        let stored = self
            .stored
            .get(i)
            .and_then(|s| s.as_ref())
            .map(|(p, s)| (p.as_str(), s.as_str()));
        check_record(rules, &self.pipelines, values, stored)
    }
}

/// Validates a write batch. Inputs without `objectWriteTraceId` make it all-or-nothing
/// (HubSpot's default); returns that mode with the validated inputs.
fn validate_batch(
    schema: &TypeSchema,
    inputs: &[impl WriteInput],
    check: &PipelineCheck,
) -> ApiResult<(bool, Validated)> {
    let atomic = inputs.iter().all(|i| i.trace().is_none());
    Ok((atomic, validate_all(schema, inputs, atomic, check)?))
}

/// Validates every input; in atomic mode any failure rejects the whole batch with one
/// aggregated 400, otherwise failures become per-item errors.
fn validate_all(
    schema: &TypeSchema,
    inputs: &[impl WriteInput],
    atomic: bool,
    check: &PipelineCheck,
) -> ApiResult<Validated> {
    let mut valid = Vec::with_capacity(inputs.len());
    let mut all_errors = Vec::new();
    let mut item_errors = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let checked = schema.validate(input.properties()).and_then(|mut v| {
            check.check(i, &mut v)?;
            Ok(v)
        });
        match checked {
            Ok(v) => valid.push(Some(v)),
            Err(errs) => {
                item_errors.push(validation_item(&errs, input.trace()));
                all_errors.extend(errs);
                valid.push(None);
            }
        }
    }
    if atomic && !all_errors.is_empty() {
        return Err(ApiError::property_values(&all_errors));
    }
    Ok((valid, item_errors))
}

/// A batch write's answers: each record as written, through `view`, carrying its input's
/// trace id; each failure as its input's error, added to `errors` (in an all-or-nothing
/// batch the first failure is the whole answer instead).
fn answers<'r, 't, R, P>(
    ty: &ObjectType,
    atomic: bool,
    outcomes: impl IntoIterator<Item = (&'r ItemResult<R>, Option<&'t str>)>,
    errors: &mut Vec<ApiError>,
    view: impl Fn(&'r R) -> SimplePublicObject<P>,
) -> ApiResult<Vec<SimplePublicObject<P>>>
where
    R: 'r,
{
    let mut results = Vec::new();
    for (outcome, trace) in outcomes {
        match outcome {
            Ok(record) => results.push(with_trace(view(record), trace)),
            Err(failure) if atomic => return Err(conflict_error(ty, failure)),
            Err(failure) => errors.push(traced(conflict_error(ty, failure), trace)),
        }
    }
    Ok(results)
}

pub(crate) async fn batch_read(
    auth: Authorized<TypeSchema>,
    Archived(archived): Archived,
    Body(input): Body<BatchReadInput>,
) -> ApiResult<Response> {
    let schema = &auth.subject;
    let history = input.properties_with_history.clone().unwrap_or_default();
    check_batch_size(input.inputs.len(), !history.is_empty())?;
    let id_prop = id_property(schema, input.id_property.as_deref(), false)?;

    // Each record once, however often it was asked for. The ids borrow the request's text:
    // copying each of 100 ids three times was a few percent of a batch read.
    let mut seen = HashSet::with_capacity(input.inputs.len());
    let wanted: Vec<Cow<'_, str>> = input
        .inputs
        .iter()
        .map(|i| id_str(&i.id))
        .filter(|id| seen.insert(id.clone()))
        .collect();
    let mut missing = Vec::new();
    let mut asked = Vec::with_capacity(wanted.len());
    let keys = match &id_prop {
        None => {
            let mut ids = Vec::with_capacity(wanted.len());
            for raw in &wanted {
                match raw.trim().parse::<ObjectId>() {
                    Ok(id) => {
                        ids.push(id);
                        asked.push(raw.clone());
                    }
                    Err(_) => missing.push(raw.clone().into_owned()),
                }
            }
            ReadKeys::Ids(ids)
        }
        Some(p) => {
            asked = wanted.clone();
            ReadKeys::Unique {
                property: p.clone(),
                values: wanted.iter().map(|v| schema.normalize_key(p, v)).collect(),
            }
        }
    };
    let found = auth
        .state
        .store
        .read_objects(
            schema.portal,
            schema.ty.id.as_str(),
            keys,
            ReadOptions {
                archived,
                history: &history,
            },
        )
        .await?;
    let shown = schema.shown(projection(&input.properties));
    let mut results = Vec::with_capacity(found.len());
    let mut returned = HashSet::with_capacity(found.len());
    for (raw, record) in asked.into_iter().zip(&found) {
        match record {
            Some(r) if returned.insert(r.id) => {
                results.push(schema.view_stored(r, &shown, &history)?)
            }
            Some(_) => {}
            None => missing.push(raw.into_owned()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![not_found_error(&schema.ty, missing, Vec::new())]
    };
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

fn with_trace<P>(mut o: SimplePublicObject<P>, trace: Option<&str>) -> SimplePublicObject<P> {
    o.object_write_trace_id = trace.map(str::to_owned);
    o
}

pub(crate) async fn batch_create(
    mut auth: Authorized<Creatable>,
    Batch(inputs): Batch<SimplePublicObjectInputForCreate, MAX_BATCH>,
) -> ApiResult<Response> {
    let store = auth.state.store.as_ref();
    let values = inputs.iter().map(|i| &i.properties);
    auth.subject.0.hold_owners(store, values).await?;
    let schema = &auth.subject.0;
    let lists: Vec<_> = inputs.iter().map(|i| i.associations.as_slice()).collect();
    let links = inline_associations(&auth, &lists).await?;
    let check =
        PipelineCheck::load(&auth, schema, inputs.iter().map(|i| &i.properties), None).await?;
    let (atomic, (valid, mut errors)) = validate_batch(schema, &inputs, &check)?;

    let mut traces = Vec::new();
    let mut items = Vec::new();
    for ((props, input), associations) in valid.into_iter().zip(&inputs).zip(links) {
        if let Some(mut properties) = props {
            match require_properties(schema, &properties) {
                Err(e) if atomic => return Err(e),
                Err(e) => {
                    errors.push(traced(e, input.trace()));
                    continue;
                }
                Ok(()) => {}
            }
            properties.retain(|_, v| !v.is_empty());
            traces.push(input.trace());
            items.push(NewObject {
                properties,
                associations,
            });
        }
    }
    let ctx = write_context(&auth, schema, api_source(), atomic);
    let outcomes = auth.state.store.create_objects(&ctx, items).await?;
    let results = answers(
        &schema.ty,
        atomic,
        outcomes.iter().zip(traces),
        &mut errors,
        |r| schema.view(r, Projection::AllNonEmpty, &[]),
    )?;
    Ok(batch_response(BATCH_CREATED, auth.started, results, errors))
}

/// Resolves `associations` given on create (§3.7). The target type is implied by the
/// association type id, so every type pair from this type is consulted; an undefined type
/// rejects the call, a missing target is found by storage inside the create transaction.
/// Writing an association needs the write scope of both types, as v4 does (§4.2); the
/// target's is checked before storage is asked anything about the target, so a token
/// without it cannot learn whether a record of that type exists.
async fn inline_associations(
    auth: &Authorized<Creatable>,
    inputs: &[&[PublicAssociationsForObject]],
) -> ApiResult<Vec<Vec<NewAssociation>>> {
    let schema = &auth.subject.0;
    if inputs.iter().all(|a| a.is_empty()) {
        return Ok(inputs.iter().map(|_| Vec::new()).collect());
    }
    // Only a USER_DEFINED spec can name a label: without one, the pairs HubSpot defines no
    // type for cannot match, and their labels are not read (the catalogue has many types).
    let labels_needed = inputs
        .iter()
        .flat_map(|list| list.iter())
        .flat_map(|a| a.types.iter())
        .any(|spec| spec.association_category != HUBSPOT_DEFINED);
    // USER_DEFINED types also link to the portal's custom types (their schemas'
    // definitions and labels), which only such a spec can name.
    let customs: Vec<spoke_core::TypeRef> = if labels_needed {
        let live = auth.state.store.list_schemas(schema.portal, false).await?;
        live.iter()
            .map(|s| std::sync::Arc::new(ObjectType::from_custom(s)))
            .collect()
    } else {
        Vec::new()
    };
    let mut pairs = Vec::new();
    for to in ObjectType::all().iter().chain(&customs) {
        if !labels_needed && hubspot_defined(schema.ty.id.as_str(), to.id.as_str()).is_empty() {
            continue;
        }
        pairs.push((
            to,
            associations::Definitions::load(&auth.state, schema.portal, &schema.ty, to).await?,
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for list in inputs {
        let mut resolved = Vec::new();
        for assoc in list.iter() {
            let mut target: Option<&ObjectType> = None;
            let mut types = Vec::new();
            for spec in &assoc.types {
                let (to, defs) = pairs
                    .iter()
                    .find(|(to, defs)| {
                        target.is_none_or(|t| t.id == to.id) && defs.link(spec).is_ok()
                    })
                    .ok_or_else(|| associations::invalid_type(spec))?;
                target = Some(to);
                types.extend(defs.link(spec)?);
            }
            let Some(to) = target else { continue };
            auth.principal.require(&scope::object_write(to))?;
            let to_id = id_text(&assoc.to.id)
                .trim()
                .parse::<ObjectId>()
                .map_err(|_| associations::invalid_object(to.id.as_str(), 0))?;
            resolved.push(NewAssociation {
                to_type: to.id.as_str().to_owned(),
                to_id,
                types,
            });
        }
        out.push(resolved);
    }
    Ok(out)
}

/// Where one update or upsert input points.
struct Keyed {
    raw: String,
    target: Option<Target>,
}

fn key_input(
    schema: &TypeSchema,
    input: &SimplePublicObjectBatchInput,
    upsert: bool,
) -> ApiResult<Keyed> {
    let raw = id_text(&input.id);
    let requested = input
        .id_property
        .as_deref()
        .or(upsert.then_some("hs_object_id"));
    let target = match id_property(schema, requested, true)? {
        Some(p) => Some(Target::Unique {
            value: schema.normalize_key(&p, &raw),
            property: p,
        }),
        None => raw.trim().parse::<ObjectId>().ok().map(Target::Id),
    };
    Ok(Keyed { raw, target })
}

/// Where each input of an update or upsert points; the same id twice rejects the batch.
fn key_inputs(
    schema: &TypeSchema,
    inputs: &[SimplePublicObjectBatchInput],
    upsert: bool,
) -> ApiResult<Vec<Keyed>> {
    let keys = inputs
        .iter()
        .map(|i| key_input(schema, i, upsert))
        .collect::<ApiResult<Vec<_>>>()?;
    reject_duplicates(&keys)?;
    Ok(keys)
}

/// Each input of an update or upsert with where it points; the batch's mode and
/// per-input errors come from [`validate_batch`].
type KeyedBatch = (
    bool,
    Vec<(Option<BTreeMap<String, String>>, Keyed)>,
    Vec<ApiError>,
);

/// Checks an update or upsert batch: where each input points, then its values.
async fn keyed_batch(
    auth: &Authorized<impl Sized>,
    schema: &TypeSchema,
    inputs: &[SimplePublicObjectBatchInput],
    upsert: bool,
) -> ApiResult<KeyedBatch> {
    let keys = key_inputs(schema, inputs, upsert)?;
    let targets: Vec<Option<Target>> = keys.iter().map(|k| k.target.clone()).collect();
    let values = inputs.iter().map(|i| &i.properties);
    let check = PipelineCheck::load(auth, schema, values, Some(&targets)).await?;
    let (atomic, (valid, errors)) = validate_batch(schema, inputs, &check)?;
    Ok((atomic, valid.into_iter().zip(keys).collect(), errors))
}

fn reject_duplicates(keys: &[Keyed]) -> ApiResult<()> {
    let mut seen = HashSet::new();
    let mut dups: Vec<String> = Vec::new();
    for k in keys {
        if !seen.insert(&k.raw) && !dups.contains(&k.raw) {
            dups.push(k.raw.clone());
        }
    }
    if dups.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Duplicate IDs found in batch input: [{}]. IDs must be unique",
        dups.join(", ")
    ))
    .with_context(ctx(&[("ids", dups)])))
}

pub(crate) async fn batch_update(
    mut auth: Authorized<TypeSchema>,
    Batch(inputs): Batch<SimplePublicObjectBatchInput, MAX_BATCH>,
) -> ApiResult<Response> {
    let store = auth.state.store.as_ref();
    let values = inputs.iter().map(|i| &i.properties);
    auth.subject.hold_owners(store, values).await?;
    let schema = &auth.subject;
    let (atomic, keyed, mut errors) = keyed_batch(&auth, schema, &inputs, false).await?;

    let mut missing = Vec::new();
    let mut missing_traces = Vec::new();
    let mut patches = Vec::new();
    let mut meta = Vec::new();
    for ((props, key), input) in keyed.into_iter().zip(&inputs) {
        let trace = input.trace();
        let Some(properties) = props else { continue };
        match key.target {
            Some(target) => {
                patches.push(ObjectPatch { target, properties });
                meta.push((key.raw, trace));
            }
            None => {
                missing.push(key.raw);
                missing_traces.extend(trace.map(str::to_owned));
            }
        }
    }
    let ctx = write_context(&auth, schema, api_source(), atomic);
    let outcomes = auth.state.store.update_objects(&ctx, patches).await?;
    // Records that were not found are reported together, like ids that name none.
    let mut found = Vec::new();
    for (outcome, (raw, trace)) in outcomes.iter().zip(meta) {
        match outcome {
            Err(ItemFailure::NotFound) => {
                missing.push(raw);
                missing_traces.extend(trace.map(str::to_owned));
            }
            _ => found.push((outcome, trace)),
        }
    }
    let results = answers(&schema.ty, atomic, found, &mut errors, |r| {
        schema.view(r, Projection::AllNonEmpty, &[])
    })?;
    if !missing.is_empty() {
        errors.insert(0, not_found_error(&schema.ty, missing, missing_traces));
    }
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

pub(crate) async fn batch_upsert(
    mut auth: Authorized<Creatable>,
    Batch(inputs): Batch<SimplePublicObjectBatchInput, MAX_BATCH>,
) -> ApiResult<Response> {
    let store = auth.state.store.as_ref();
    let values = inputs.iter().map(|i| &i.properties);
    auth.subject.0.hold_owners(store, values).await?;
    let schema = &auth.subject.0;
    let (atomic, keyed, mut errors) = keyed_batch(&auth, schema, &inputs, true).await?;

    // Every upsert input names a unique property; HubSpot upserts by one key per call in
    // practice, and spoke requires it (checked below) so the call is one store call.
    let mut groups: BTreeMap<String, Vec<(UpsertItem, Option<&str>)>> = BTreeMap::new();
    for ((props, key), input) in keyed.into_iter().zip(&inputs) {
        let (Some(properties), Some(Target::Unique { property, value })) = (props, key.target)
        else {
            continue;
        };
        groups
            .entry(property)
            .or_default()
            .push((UpsertItem { value, properties }, input.trace()));
    }
    // One store call per request, so the batch is one transaction whatever happens to the
    // request (a client that disconnects cannot leave some groups written).
    if groups.len() > 1 {
        let names: Vec<String> = groups.keys().cloned().collect();
        return Err(ApiError::validation(format!(
            "All inputs of a batch upsert must use the same idProperty; found {}",
            names.join(", ")
        )));
    }
    let ctx = write_context(&auth, schema, api_source(), atomic);
    let results = match groups.pop_first() {
        None => Vec::new(),
        Some((property, items)) => {
            let (items, traces): (Vec<_>, Vec<_>) = items.into_iter().unzip();
            let outcomes = auth
                .state
                .store
                .upsert_objects(&ctx, &property, items)
                .await?;
            answers(
                &schema.ty,
                atomic,
                outcomes.iter().zip(traces),
                &mut errors,
                |u| {
                    let mut o = schema.to_wire(&u.record, Projection::AllNonEmpty, &[]);
                    o.new = Some(u.created);
                    o
                },
            )?
        }
    };
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

pub(crate) async fn batch_archive(
    auth: Authorized<Creatable>,
    Batch(inputs): Batch<SimplePublicObjectId, MAX_BATCH>,
) -> ApiResult<Response> {
    // Unknown, malformed and already archived ids are ignored, as on HubSpot (§1.9).
    let ids = inputs
        .iter()
        .filter_map(|i| id_text(&i.id).trim().parse().ok())
        .collect();
    archive(&auth, ids).await
}

/// Archives records in one store call; ids of no live record are ignored.
async fn archive(auth: &Authorized<Creatable>, ids: Vec<ObjectId>) -> ApiResult<Response> {
    let schema = &auth.subject.0;
    auth.state
        .store
        .archive_objects(schema.portal, schema.ty.id.as_str(), ids, auth.now())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Finds one record by path id (or `idProperty` value) for the single-record endpoints.
async fn find_one(
    auth: &Authorized<TypeSchema>,
    raw_id: &str,
    id_prop: Option<&str>,
    archived: bool,
    history: &[String],
) -> ApiResult<StoredRecord> {
    let schema = &auth.subject;
    let keys = match id_property(schema, id_prop, false)? {
        Some(p) => ReadKeys::Unique {
            values: vec![schema.normalize_key(&p, raw_id)],
            property: p,
        },
        None => ReadKeys::Ids(vec![path_id(raw_id)?]),
    };
    auth.state
        .store
        .read_objects(
            schema.portal,
            schema.ty.id.as_str(),
            keys,
            ReadOptions { archived, history },
        )
        .await?
        .into_iter()
        .next()
        .flatten()
        .ok_or_else(ApiError::resource_not_found)
}

pub(crate) async fn read_one(
    auth: Authorized<TypeSchema>,
    Path((_, raw_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let schema = &auth.subject;
    let q = QueryParams::parse(query.as_deref());
    let properties = q.list("properties");
    let history = q.list("propertiesWithHistory").unwrap_or_default();
    let (id_prop, archived) = (q.one("idProperty"), q.bool("archived")?);
    let record = find_one(&auth, &raw_id, id_prop, archived, &history).await?;
    let mut out = schema.view_stored(&record, &schema.shown(projection(&properties)), &history)?;
    if let Some(names) = q.list("associations").filter(|n| !n.is_empty()) {
        let mut blocks = associations::v3_associations(
            &auth.state,
            &auth.principal,
            &schema.ty,
            &[record.id],
            &names,
        )
        .await?;
        out.associations = blocks.pop().filter(|b| !b.is_empty());
    }
    Ok(Json(StatusCode::OK, out).into_response())
}

pub(crate) async fn create_one(
    mut auth: Authorized<Creatable>,
    Body(input): Body<SimplePublicObjectInputForCreate>,
) -> ApiResult<Response> {
    let store = auth.state.store.as_ref();
    auth.subject
        .0
        .hold_owners(store, [&input.properties])
        .await?;
    let schema = &auth.subject.0;
    let associations = inline_associations(&auth, &[input.associations.as_slice()])
        .await?
        .pop()
        .unwrap_or_default();
    let check = PipelineCheck::load(&auth, schema, [&input.properties], None).await?;
    let mut properties = schema
        .validate(&input.properties)
        .and_then(|mut v| check.check(0, &mut v).map(|()| v))
        .map_err(|e| ApiError::property_values(&e))?;
    require_properties(schema, &properties)?;
    properties.retain(|_, v| !v.is_empty());
    let ctx = write_context(&auth, schema, api_source(), true);
    let outcomes = auth
        .state
        .store
        .create_objects(
            &ctx,
            vec![NewObject {
                properties,
                associations,
            }],
        )
        .await?;
    written(schema, StatusCode::CREATED, outcomes)
}

/// The answer to a single-record write: its one outcome, or that outcome's error.
fn written(
    schema: &TypeSchema,
    status: StatusCode,
    outcomes: Vec<ItemResult<ObjectRecord>>,
) -> ApiResult<Response> {
    let outcome = outcomes
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("a single-record write returned no outcome"))?;
    let record = outcome.map_err(|f| conflict_error(&schema.ty, &f))?;
    let body = schema.to_wire(&record, Projection::AllNonEmpty, &[]);
    Ok(Json(status, body).into_response())
}

pub(crate) async fn update_one(
    mut auth: Authorized<TypeSchema>,
    Path((_, raw_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Body(input): Body<SimplePublicObjectInput>,
) -> ApiResult<Response> {
    let store = auth.state.store.as_ref();
    auth.subject.hold_owners(store, [&input.properties]).await?;
    let schema = &auth.subject;
    let q = QueryParams::parse(query.as_deref());
    let target = match id_property(schema, q.one("idProperty"), true)? {
        Some(p) => Target::Unique {
            value: schema.normalize_key(&p, &raw_id),
            property: p,
        },
        None => Target::Id(path_id(&raw_id)?),
    };
    let targets = [Some(target.clone())];
    let check = PipelineCheck::load(&auth, schema, [&input.properties], Some(&targets)).await?;
    let properties = schema
        .validate(&input.properties)
        .and_then(|mut v| check.check(0, &mut v).map(|()| v))
        .map_err(|e| ApiError::property_values(&e))?;
    let ctx = write_context(&auth, schema, api_source(), true);
    let outcomes = auth
        .state
        .store
        .update_objects(&ctx, vec![ObjectPatch { target, properties }])
        .await?;
    written(schema, StatusCode::OK, outcomes)
}

pub(crate) async fn archive_one(
    auth: Authorized<Creatable>,
    Path((_, raw_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    // DELETE of an unknown record answers 204 on HubSpot too (§1.9).
    match raw_id.trim().parse::<ObjectId>() {
        Ok(id) => archive(&auth, vec![id]).await,
        Err(_) => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

pub(crate) async fn list(
    auth: Authorized<TypeSchema>,
    uri: axum::http::Uri,
    RawQuery(query): RawQuery,
    Origin(origin): Origin,
) -> ApiResult<Response> {
    let schema = &auth.subject;
    let q = QueryParams::parse(query.as_deref());
    let properties = q.list("properties");
    let history = q.list("propertiesWithHistory").unwrap_or_default();
    let max = if history.is_empty() {
        LIST_MAX
    } else {
        MAX_BATCH_WITH_HISTORY
    };
    let limit = q.usize("limit")?.unwrap_or(LIST_DEFAULT).clamp(1, max);
    // `after` is the id of the next record to return (HubSpot's cursors look the same).
    let after = match q.one("after").filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let invalid =
                || ApiError::validation(format!("Invalid value for query parameter after: {a}"));
            let id = a.parse::<ObjectId>().map_err(|_| invalid())?;
            Some(id.checked_sub(1).ok_or_else(invalid)?)
        }
    };
    let options = ReadOptions {
        archived: q.bool("archived")?,
        history: &history,
    };
    // HubSpot documents no `offset` here, but Airbyte 5.7.0 pages products, line items and
    // goals with `offset=100,200,…` instead of `after`: spoke skips that many records in
    // id order (docs/compatibility.md). A `paging.next.link` carries both; its `after` wins.
    let skip = match after {
        Some(_) => 0,
        None => q.usize("offset")?.unwrap_or(0),
    };
    let store = &auth.state.store;
    let (portal, ty) = (schema.portal, schema.ty.id.as_str());
    let mut records = if skip == 0 {
        store
            .list_objects(portal, ty, after, limit + 1, options)
            .await?
    } else if !options.archived && history.is_empty() {
        // Search without filters is the live records in id order, and skips in the database.
        let query = SearchQuery {
            groups: Vec::new(),
            text: None,
            text_properties: Vec::new(),
            sort: None,
            offset: skip,
            limit: limit + 1,
        };
        store.search_objects(portal, ty, &query).await?.records
    } else {
        let mut page = store
            .list_objects(portal, ty, None, skip.saturating_add(limit + 1), options)
            .await?;
        page.drain(..skip.min(page.len()));
        page
    };
    let paging = if records.len() > limit {
        records.truncate(limit);
        records.last().map(|last| {
            let next = (last.id + 1).to_string();
            Paging {
                next: NextPage {
                    link: Some(crate::wire::next_link(
                        &origin,
                        uri.path(),
                        query.as_deref(),
                        &next,
                    )),
                    after: next,
                },
            }
        })
    } else {
        None
    };
    let shown = schema.shown(projection(&properties));
    let mut results = records
        .iter()
        .map(|r| schema.view_stored(r, &shown, &history))
        .collect::<ApiResult<Vec<_>>>()?;
    if let Some(names) = q.list("associations").filter(|n| !n.is_empty()) {
        let ids: Vec<ObjectId> = records.iter().map(|r| r.id).collect();
        let blocks =
            associations::v3_associations(&auth.state, &auth.principal, &schema.ty, &ids, &names)
                .await?;
        for (o, block) in results.iter_mut().zip(blocks) {
            o.associations = (!block.is_empty()).then_some(block);
        }
    }
    // A full sync's page (100 records of ~100 properties, mostly `null`, with association
    // blocks) is about 300 KB: sized up front, not grown by doubling from 1 KB.
    let capacity = 1024
        + results
            .iter()
            .map(|o| 256 + 40 * o.properties.0.len())
            .sum::<usize>();
    let body = CollectionResponse { results, paging };
    Ok(crate::wire::json_response_sized(
        StatusCode::OK,
        &body,
        capacity,
    ))
}
