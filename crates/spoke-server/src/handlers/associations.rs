//! Associations v4 (hubspot-behavior.md §3): the batch endpoints under
//! `/crm/v4/associations/{from}/{to}/batch/*`, the per-record endpoints under
//! `/crm/v4/objects/{type}/{id}/associations/*`, and labels (associations schema v4).

use std::collections::HashSet;

use axum::extract::{FromRequestParts, Path, RawQuery};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;
use spoke_core::association::{
    AssociationType, HUBSPOT_DEFINED, MAX_LABELS_PER_PAIR, USER_DEFINED,
};
use spoke_core::{scope, ObjectId, ObjectType, PortalId, Segment, TypeRef};
use spoke_store::graph::{default_of, pair_types};
use spoke_store::{
    AssociatedTarget, AssociationPage, AssociationRemoval, AssociationWrite, ItemFailure, LinkType,
};
use spoke_types::associations::{
    AssociationMultiArchive, AssociationMultiPost, AssociationSpec, AssociationSpecWithLabel,
    AssociationsPage, DefaultAssociationPost, FetchRequest, LabelCreate, LabelUpdate,
    LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel, NextPage, Paging,
    PublicAssociationMultiWithLabel, PublicDefaultAssociation, PublicObjectId,
};
use spoke_types::properties::Results;

use crate::auth::Principal;
use crate::catalogue::{Authorized, Pair};
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::{both, id_text, path_id, Batch};
use crate::schema::resolve_type;
use crate::wire::{
    batch_response, Body, Json, QueryParams, BATCH_ALWAYS_OK, BATCH_CREATED, BATCH_OK,
};
use crate::AppState;

/// HubSpot's batch/read limit (changelog 2025-02, §3.2).
pub const MAX_READ_INPUTS: usize = 1000;
const MAX_WRITE_INPUTS: usize = 100;
/// Targets per from-object page; also the GET default and maximum (`limit`, §3.2).
pub const PAGE_SIZE: usize = 500;

/// Every association type defined from `from` to `to` in this portal: HubSpot's, the
/// definitions of its custom object schemas and its labels
/// (`spoke_store::graph::pair_types`). What a read needs to name the links it shows.
pub struct PairTypes(Vec<AssociationType>);

impl PairTypes {
    pub async fn load(
        state: &AppState,
        portal: PortalId,
        from: &ObjectType,
        to: &ObjectType,
    ) -> ApiResult<Self> {
        let (a, b) = (from.id.as_str(), to.id.as_str());
        Ok(Self(pair_types(state.store.as_ref(), portal, a, b).await?))
    }

    /// The types of the path's pair.
    async fn of(auth: &Authorized<Pair>) -> ApiResult<Self> {
        let (a, b) = &auth.subject;
        Self::load(&auth.state, auth.principal.portal, a, b).await
    }

    fn find(&self, category: &str, type_id: i64) -> Option<&AssociationType> {
        self.0
            .iter()
            .find(|t| t.category == category && t.type_id == type_id)
    }

    pub fn label(&self, category: &str, type_id: i64) -> Option<String> {
        self.label_of(category, type_id).map(str::to_owned)
    }

    pub fn label_of(&self, category: &str, type_id: i64) -> Option<&str> {
        self.find(category, type_id)
            .and_then(|t| t.label.as_deref())
    }
}

impl std::ops::Deref for PairTypes {
    type Target = [AssociationType];
    fn deref(&self) -> &[AssociationType] {
        &self.0
    }
}

/// The pair's types for a write: `PairTypes` plus the reverse direction's, so inverses can
/// be looked up. Reads load `PairTypes` alone, half the store reads (a v4 batch read, a
/// list page's `associations=`).
pub struct Definitions {
    pub forward: PairTypes,
    reverse: Vec<AssociationType>,
}

impl std::ops::Deref for Definitions {
    type Target = PairTypes;
    fn deref(&self) -> &PairTypes {
        &self.forward
    }
}

impl Definitions {
    pub async fn load(
        state: &AppState,
        portal: PortalId,
        from: &ObjectType,
        to: &ObjectType,
    ) -> ApiResult<Self> {
        let (forward, reverse) = tokio::try_join!(
            PairTypes::load(state, portal, from, to),
            PairTypes::load(state, portal, to, from)
        )?;
        Ok(Self {
            forward,
            reverse: reverse.0,
        })
    }

    /// The definitions of the path's pair.
    async fn of(auth: &Authorized<Pair>) -> ApiResult<Self> {
        let (a, b) = &auth.subject;
        Self::load(&auth.state, auth.principal.portal, a, b).await
    }

    /// What storage needs to write one requested type. Writing a labelled HUBSPOT_DEFINED
    /// type (Primary) also writes the unlabeled default, as HubSpot shows both (§3.2).
    pub fn link(&self, spec: &AssociationSpec) -> ApiResult<Vec<LinkType>> {
        let t = self
            .find(&spec.association_category, spec.association_type_id)
            .ok_or_else(|| invalid_type(spec))?;
        let inverse_exclusive = self
            .reverse
            .iter()
            .any(|r| r.category == t.category && r.type_id == t.inverse_type_id && r.exclusive);
        let mut out = vec![LinkType {
            category: t.category.clone(),
            type_id: t.type_id,
            inverse_type_id: t.inverse_type_id,
            exclusive: t.exclusive,
            inverse_exclusive,
        }];
        if t.category == HUBSPOT_DEFINED && t.label.is_some() {
            if let Some(d) = self
                .forward
                .iter()
                .find(|d| d.category == HUBSPOT_DEFINED && d.label.is_none())
            {
                out.push(LinkType {
                    category: d.category.clone(),
                    type_id: d.type_id,
                    inverse_type_id: d.inverse_type_id,
                    exclusive: false,
                    inverse_exclusive: false,
                });
            }
        }
        Ok(out)
    }
}

/// The pair's default (unlabeled) type, which HubSpot defines for every pair it links (a
/// pair with a custom type: the definition its schema made).
pub(crate) fn default_link((from, to): &Pair, defs: &PairTypes) -> ApiResult<LinkType> {
    let d = default_of(defs).cloned().ok_or_else(|| {
        ApiError::validation(format!(
            "There is no default association type between {} and {}",
            from.name, to.name
        ))
    })?;
    Ok(LinkType {
        category: d.category,
        type_id: d.type_id,
        inverse_type_id: d.inverse_type_id,
        exclusive: false,
        inverse_exclusive: false,
    })
}

/// §3.6: an association type id that is not defined for the pair.
pub fn invalid_type(spec: &AssociationSpec) -> ApiError {
    let key = format!("{}={}", spec.association_category, spec.association_type_id);
    ApiError::validation("One or more associations are invalid").with_context(ctx(&[
        ("associationSpec", vec![key.clone()]),
        (
            "INVALID_ASSOCIATION_TYPE_ID",
            vec![format!("{key} is not a valid association definition id")],
        ),
    ]))
}

/// §3.8: an association pointing at a record that does not exist. A custom type's word is
/// its id, as in its other messages (`ObjectType::from_custom`).
pub fn invalid_object(object_type: &str, id: ObjectId) -> ApiError {
    let ty = ObjectType::by_id(object_type);
    let custom = matches!(
        ObjectType::parse_segment(object_type, PortalId(0)),
        Segment::CustomNumber(_)
    );
    let upper = match &ty {
        Some(t) => t.upper.as_str(),
        None if custom => object_type,
        None => "OBJECT",
    };
    ApiError::validation("One or more associations are invalid").with_context(ctx(&[
        (
            "INVALID_OBJECT_IDS",
            vec![format!("{upper}={id} is not valid")],
        ),
        ("objectId", vec![id.to_string()]),
        ("objectType", vec![upper.to_owned()]),
    ]))
}

fn parse_id(v: &Value) -> Option<ObjectId> {
    id_text(v).trim().parse().ok()
}

/// `after` tokens look like HubSpot's: URL-encoded base64 of `<toTypeId>-<lastToObjectId>`
/// (`MC0yLTc1MDI%3D` is `0-2-7502`, §3.2). Clients treat them as opaque.
pub fn encode_after(to: &ObjectType, last: ObjectId) -> String {
    let raw = format!("{}-{last}", to.id);
    base64::engine::general_purpose::STANDARD
        .encode(raw)
        .replace('=', "%3D")
        .replace('+', "%2B")
        .replace('/', "%2F")
}

pub fn decode_after(token: &str) -> ApiResult<ObjectId> {
    let b64 = token
        .replace("%3D", "=")
        .replace("%3d", "=")
        .replace("%2B", "+")
        .replace("%2F", "/");
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.rsplit('-').next().and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::validation(format!("Invalid after token: {token}")))
}

/// The page after `page`, when targets remain past it.
fn next_page(to: &ObjectType, page: &AssociationPage) -> Option<Paging> {
    page.more.then(|| Paging {
        next: NextPage {
            after: encode_after(to, page.targets.last().map_or(0, |t| t.to_id)),
            link: None,
        },
    })
}

/// The page's targets on the wire, borrowing each link's category from the page and its
/// label from `defs`.
fn wire_targets<'a>(
    defs: &'a PairTypes,
    targets: &'a [AssociatedTarget],
) -> Vec<MultiAssociatedObjectWithLabel<&'a str>> {
    targets
        .iter()
        .map(|t| MultiAssociatedObjectWithLabel {
            to_object_id: t.to_id,
            association_types: t
                .types
                .iter()
                .map(|(category, type_id)| AssociationSpecWithLabel {
                    category: category.as_ref(),
                    type_id: *type_id,
                    label: defs.label_of(category, *type_id),
                })
                .collect(),
        })
        .collect()
}

/// Two records' ids: from, to.
type Ids = (ObjectId, ObjectId);

/// What storage needs to know of the path's pair: the portal and the two type ids.
fn keys(auth: &Authorized<Pair>) -> (PortalId, &str, &str) {
    let (a, b) = &auth.subject;
    (auth.principal.portal, a.id.as_str(), b.id.as_str())
}

/// The types to write between two records of the path's pair.
fn write(
    auth: &Authorized<Pair>,
    from_id: ObjectId,
    to_id: ObjectId,
    types: Vec<LinkType>,
) -> AssociationWrite {
    let (_, from, to) = keys(auth);
    AssociationWrite {
        from_type: from.to_owned(),
        from_id,
        to_type: to.to_owned(),
        to_id,
        types,
    }
}

/// The types to remove between two records of the path's pair; `None` removes them all.
fn removal(
    auth: &Authorized<Pair>,
    from_id: ObjectId,
    to_id: ObjectId,
    types: Option<Vec<(String, i64, i64)>>,
) -> AssociationRemoval {
    let (_, from, to) = keys(auth);
    AssociationRemoval {
        from_type: from.to_owned(),
        from_id,
        to_type: to.to_owned(),
        to_id,
        types,
    }
}

/// Writes a batch's associations in one store call. For each write, its (from, to) ids
/// when it was written; `None` when it failed, its error added to `errors`.
async fn put_all(
    auth: &Authorized<Pair>,
    writes: Vec<AssociationWrite>,
    errors: &mut Vec<ApiError>,
) -> ApiResult<Vec<Option<Ids>>> {
    let keys: Vec<Ids> = writes.iter().map(|w| (w.from_id, w.to_id)).collect();
    let portal = auth.principal.portal;
    let outcomes = auth.state.store.put_associations(portal, writes).await?;
    let mut written = Vec::with_capacity(keys.len());
    for (outcome, key) in outcomes.into_iter().zip(keys) {
        match outcome {
            Ok(()) => written.push(Some(key)),
            Err(failure) => {
                errors.push(failure_error(&failure));
                written.push(None);
            }
        }
    }
    Ok(written)
}

/// Writes one pair's types (the per-record endpoints): its failure is the whole answer.
async fn put_one(auth: &Authorized<Pair>, write: AssociationWrite) -> ApiResult<()> {
    let portal = auth.principal.portal;
    let outcome = auth
        .state
        .store
        .put_associations(portal, vec![write])
        .await?;
    match outcome.first() {
        Some(Err(failure)) => Err(failure_error(failure)),
        _ => Ok(()),
    }
}

/// Removes pairs' types in one store call.
async fn remove_all(
    auth: &Authorized<Pair>,
    removals: Vec<AssociationRemoval>,
) -> ApiResult<Response> {
    let portal = auth.principal.portal;
    auth.state
        .store
        .remove_associations(portal, removals)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The two record ids of a per-record path (`{objectId}`/`{fromObjectId}`, then
/// `{toObjectId}`), each numeric or HubSpot's 404 (§2.3), checked before the body is read.
pub(crate) struct RecordPair(ObjectId, ObjectId);

impl FromRequestParts<AppState> for RecordPair {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Path((_, from, _, to)) =
            Path::<(String, String, String, String)>::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
        let ids = path_id(&from).and_then(|f| path_id(&to).map(|t| Self(f, t)));
        ids.map_err(IntoResponse::into_response)
    }
}

pub(crate) async fn batch_read(
    auth: Authorized<Pair>,
    Batch(inputs): Batch<FetchRequest, MAX_READ_INPUTS>,
) -> ApiResult<Response> {
    let (a, b) = &auth.subject;
    let defs = PairTypes::of(&auth).await?;

    let mut errors = Vec::new();
    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    for i in &inputs {
        let raw = id_text(&i.id);
        let Some(id) = parse_id(&i.id) else {
            let message = format!("{raw} is not a valid object identifier.");
            errors.push(
                ApiError::validation(message)
                    .with_sub_category("crm.associations.INVALID_IDENTIFIER")
                    .with_context(ctx(&[("fromObjectId", vec![raw])])),
            );
            continue;
        };
        let after = match i.after.as_deref().filter(|s| !s.is_empty()) {
            Some(t) => Some(decode_after(t)?),
            None => None,
        };
        if seen.insert((id, after)) {
            requests.push((id, after));
        }
    }
    let (portal, from, to) = keys(&auth);
    let pages = auth
        .state
        .store
        .page_associations(portal, from, to, requests.clone(), PAGE_SIZE)
        .await?;
    let mut results = Vec::new();
    for ((id, _), page) in requests.into_iter().zip(&pages) {
        if page.targets.is_empty() {
            let message = format!("No {} is associated with {} {id}.", b.singular, a.singular);
            errors.push(
                ApiError::object_not_found(message)
                    .with_sub_category("crm.associations.NO_ASSOCIATIONS_FOUND")
                    .with_context(ctx(&[
                        ("fromObjectId", vec![id.to_string()]),
                        ("fromObjectType", vec![a.singular.to_owned()]),
                        ("toObjectType", vec![b.singular.to_owned()]),
                    ])),
            );
            continue;
        }
        results.push(PublicAssociationMultiWithLabel {
            from: PublicObjectId { id: id.to_string() },
            to: wire_targets(&defs, &page.targets),
            paging: next_page(b, page),
        });
    }
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

fn labels_pair(
    (a, b): &Pair,
    from_id: ObjectId,
    to_id: ObjectId,
    labels: Vec<String>,
) -> LabelsBetweenObjectPair {
    LabelsBetweenObjectPair {
        from_object_type_id: a.id.as_str().to_owned(),
        from_object_id: from_id,
        to_object_type_id: b.id.as_str().to_owned(),
        to_object_id: to_id,
        labels,
    }
}

fn missing_pair_ids(from: &Value, to: &Value) -> ApiError {
    ApiError::validation("One or more associations are invalid").with_context(ctx(&[(
        "INVALID_OBJECT_IDS",
        vec![format!(
            "{} and {} must be numeric object ids",
            id_text(from),
            id_text(to)
        )],
    )]))
}

/// The labels of the requested types that have one, in the order requested.
fn labels_of(defs: &Definitions, specs: &[AssociationSpec]) -> Vec<String> {
    specs
        .iter()
        .filter_map(|s| defs.label(&s.association_category, s.association_type_id))
        .collect()
}

/// Each input's types resolved by `resolve` (an undefined type rejects the whole batch, as
/// on HubSpot, §3.6), with the input's record ids when both are numeric.
fn resolved<T>(
    inputs: &[AssociationMultiPost],
    resolve: impl Fn(&AssociationSpec) -> ApiResult<Vec<T>>,
) -> ApiResult<Vec<(Option<Ids>, Vec<T>)>> {
    let mut out = Vec::with_capacity(inputs.len());
    for i in inputs {
        let mut types = Vec::new();
        for spec in &i.types {
            types.extend(resolve(spec)?);
        }
        let ids = parse_id(&i.from.id).zip(parse_id(&i.to.id));
        out.push((ids, types));
    }
    Ok(out)
}

pub(crate) async fn batch_create(
    auth: Authorized<Pair>,
    Batch(inputs): Batch<AssociationMultiPost, MAX_WRITE_INPUTS>,
) -> ApiResult<Response> {
    let defs = Definitions::of(&auth).await?;
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    let mut labels = Vec::new();
    for (i, (ids, types)) in inputs.iter().zip(resolved(&inputs, |s| defs.link(s))?) {
        let Some((f, t)) = ids else {
            errors.push(missing_pair_ids(&i.from.id, &i.to.id));
            continue;
        };
        labels.push(labels_of(&defs, &i.types));
        writes.push(write(&auth, f, t, types));
    }
    let written = put_all(&auth, writes, &mut errors).await?;
    let mut results = Vec::new();
    for (written, labels) in written.into_iter().zip(labels) {
        if let Some((f, t)) = written {
            results.push(labels_pair(&auth.subject, f, t, labels));
        }
    }
    Ok(batch_response(BATCH_CREATED, auth.started, results, errors))
}

pub fn failure_error(f: &ItemFailure) -> ApiError {
    match f {
        ItemFailure::AssociationTarget { object_type, id } => invalid_object(object_type, *id),
        _ => ApiError::validation("One or more associations are invalid"),
    }
}

/// A default association as HubSpot answers it: both directions, each with its type id.
fn default_results(f: ObjectId, t: ObjectId, link: &LinkType) -> [PublicDefaultAssociation; 2] {
    let one_way = |from: ObjectId, to: ObjectId, type_id| PublicDefaultAssociation {
        from: PublicObjectId {
            id: from.to_string(),
        },
        to: PublicObjectId { id: to.to_string() },
        association_spec: AssociationSpec {
            association_category: link.category.clone(),
            association_type_id: type_id,
        },
    };
    [
        one_way(f, t, link.type_id),
        one_way(t, f, link.inverse_type_id),
    ]
}

pub(crate) async fn batch_default(
    auth: Authorized<Pair>,
    Batch(inputs): Batch<DefaultAssociationPost, MAX_WRITE_INPUTS>,
) -> ApiResult<Response> {
    let defs = PairTypes::of(&auth).await?;
    let link = default_link(&auth.subject, &defs)?;
    let mut errors = Vec::new();
    let mut writes = Vec::new();
    for i in &inputs {
        match (parse_id(&i.from.id), parse_id(&i.to.id)) {
            (Some(f), Some(t)) => writes.push(write(&auth, f, t, vec![link.clone()])),
            _ => errors.push(missing_pair_ids(&i.from.id, &i.to.id)),
        }
    }
    let written = put_all(&auth, writes, &mut errors).await?;
    let results: Vec<PublicDefaultAssociation> = written
        .into_iter()
        .flatten()
        .flat_map(|(f, t)| default_results(f, t, &link))
        .collect();
    // The spec defines only 200 for this endpoint; failures ride along in `errors`.
    Ok(batch_response(
        BATCH_ALWAYS_OK,
        auth.started,
        results,
        errors,
    ))
}

pub(crate) async fn batch_archive(
    auth: Authorized<Pair>,
    Batch(inputs): Batch<AssociationMultiArchive, MAX_WRITE_INPUTS>,
) -> ApiResult<Response> {
    let mut removals = Vec::new();
    for i in &inputs {
        let Some(f) = parse_id(&i.from.id) else {
            continue;
        };
        for t in i.to.iter().filter_map(|t| parse_id(&t.id)) {
            removals.push(removal(&auth, f, t, None));
        }
    }
    remove_all(&auth, removals).await
}

pub(crate) async fn batch_labels_archive(
    auth: Authorized<Pair>,
    Batch(inputs): Batch<AssociationMultiPost, MAX_WRITE_INPUTS>,
) -> ApiResult<Response> {
    let defs = PairTypes::of(&auth).await?;
    let unlink = |spec: &AssociationSpec| {
        let t = defs
            .find(&spec.association_category, spec.association_type_id)
            .ok_or_else(|| invalid_type(spec))?;
        Ok(vec![(t.category.clone(), t.type_id, t.inverse_type_id)])
    };
    // Inputs whose ids are not numeric name no association: nothing to remove.
    let removals = resolved(&inputs, unlink)?
        .into_iter()
        .filter_map(|(ids, types)| ids.map(|(f, t)| removal(&auth, f, t, Some(types))))
        .collect();
    remove_all(&auth, removals).await
}

pub(crate) async fn list_for_record(
    auth: Authorized<Pair>,
    Path((_, from_id, _)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let id = path_id(&from_id)?;
    let q = QueryParams::parse(query.as_deref());
    let limit = q.usize("limit")?.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE);
    let after = match q.one("after").filter(|s| !s.is_empty()) {
        Some(t) => Some(decode_after(t)?),
        None => None,
    };
    let defs = PairTypes::of(&auth).await?;
    let (portal, from, to) = keys(&auth);
    let page = auth
        .state
        .store
        .page_associations(portal, from, to, vec![(id, after)], limit)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let results = wire_targets(&defs, &page.targets);
    let paging = next_page(&auth.subject.1, &page);
    Ok(Json(StatusCode::OK, AssociationsPage { results, paging }).into_response())
}

pub(crate) async fn put_labelled(
    auth: Authorized<Pair>,
    RecordPair(f, t): RecordPair,
    Body(specs): Body<Vec<AssociationSpec>>,
) -> ApiResult<Response> {
    let defs = Definitions::of(&auth).await?;
    let mut types = Vec::new();
    for spec in &specs {
        types.extend(defs.link(spec)?);
    }
    put_one(&auth, write(&auth, f, t, types)).await?;
    let labels = labels_of(&defs, &specs);
    Ok(Json(
        StatusCode::CREATED,
        labels_pair(&auth.subject, f, t, labels),
    )
    .into_response())
}

pub(crate) async fn put_default(
    auth: Authorized<Pair>,
    RecordPair(f, t): RecordPair,
) -> ApiResult<Response> {
    let defs = PairTypes::of(&auth).await?;
    let link = default_link(&auth.subject, &defs)?;
    put_one(&auth, write(&auth, f, t, vec![link.clone()])).await?;
    let results = default_results(f, t, &link).to_vec();
    Ok(batch_response(
        BATCH_ALWAYS_OK,
        auth.started,
        results,
        Vec::new(),
    ))
}

pub(crate) async fn delete_pair(
    auth: Authorized<Pair>,
    RecordPair(f, t): RecordPair,
) -> ApiResult<Response> {
    remove_all(&auth, vec![removal(&auth, f, t, None)]).await
}

fn spec_with_label(t: &AssociationType) -> AssociationSpecWithLabel {
    AssociationSpecWithLabel {
        category: t.category.clone(),
        type_id: t.type_id,
        label: t.label.clone(),
    }
}

/// Labels in HubSpot's list envelope.
fn labels_response(results: Vec<AssociationSpecWithLabel>) -> Response {
    Json(StatusCode::OK, Results { results }).into_response()
}

pub(crate) async fn list_labels(auth: Authorized<Pair>) -> ApiResult<Response> {
    let defs = PairTypes::of(&auth).await?;
    Ok(labels_response(defs.iter().map(spec_with_label).collect()))
}

pub(crate) async fn create_label(
    auth: Authorized<Pair>,
    Body(input): Body<LabelCreate>,
) -> ApiResult<Response> {
    let (label, name) = both(
        input.label.filter(|l| !l.trim().is_empty()),
        input.name.filter(|n| !n.trim().is_empty()),
        "label, name",
    )?;
    let (portal, from, to) = keys(&auth);
    let inverse = input.inverse_label.as_deref();
    let made = auth
        .state
        .store
        .create_label(portal, from, to, &name, &label, inverse, MAX_LABELS_PER_PAIR)
        .await?
        .ok_or_else(|| {
            ApiError::validation(format!(
                "Cannot create label {name}: the name is taken or the pair already has {MAX_LABELS_PER_PAIR} labels"
            ))
        })?;
    let results = made
        .iter()
        .map(|l| AssociationSpecWithLabel {
            category: USER_DEFINED.into(),
            type_id: l.type_id,
            label: Some(l.label.clone()),
        })
        .collect();
    Ok(labels_response(results))
}

fn unknown_label(type_id: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(crate::error::Category::ObjectNotFound),
        format!("USER_DEFINED={type_id} is not a valid association definition id"),
    )
}

pub(crate) async fn update_label(
    auth: Authorized<Pair>,
    Body(input): Body<LabelUpdate>,
) -> ApiResult<Response> {
    let (type_id, label) = both(
        input.association_type_id,
        input.label,
        "associationTypeId, label",
    )?;
    let (portal, from, to) = keys(&auth);
    let inverse = input.inverse_label.as_deref();
    let store = &auth.state.store;
    if !store
        .update_label(portal, from, to, type_id, &label, inverse)
        .await?
    {
        return Err(unknown_label(type_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_label(
    auth: Authorized<Pair>,
    Path((_, _, type_id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let type_id: i64 = type_id.parse().map_err(|_| {
        ApiError::validation(format!("{type_id} is not a valid association type id"))
    })?;
    let (portal, from, to) = keys(&auth);
    if !auth
        .state
        .store
        .delete_label(portal, from, to, type_id)
        .await?
    {
        return Err(unknown_label(type_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// HubSpot's v3 name for an association type: `contact_to_company` for the primary (or the
/// only) unlabeled type, `contact_to_company_unlabeled` for the unlabeled type of a pair
/// that also has a primary, and the label in snake case for other labels.
pub(crate) fn v3_type_name(
    from: &ObjectType,
    to: &ObjectType,
    defs: &PairTypes,
    category: &str,
    type_id: i64,
) -> String {
    let base = format!("{}_to_{}", from.singular, to.singular);
    match defs.label(category, type_id) {
        Some(l) if l == "Primary" => base,
        Some(l) => l.to_lowercase().replace(' ', "_"),
        None if defs.iter().any(|t| t.label.as_deref() == Some("Primary")) => {
            format!("{base}_unlabeled")
        }
        None => base,
    }
}

/// The v3 `associations` block for records read with `?associations=a,b`: per requested
/// type, the first page of associated ids, keyed by the name as requested, or for a custom
/// type by its `fullyQualifiedName` however it was requested (§40.2).
pub async fn v3_associations(
    state: &AppState,
    principal: &Principal,
    from: &ObjectType,
    ids: &[ObjectId],
    names: &[String],
) -> ApiResult<
    Vec<std::collections::BTreeMap<String, spoke_types::objects::CollectionResponseAssociatedId>>,
> {
    use spoke_types::objects::{AssociatedId, CollectionResponseAssociatedId};
    let mut out = vec![std::collections::BTreeMap::new(); ids.len()];
    // One store call per distinct type, however many names (or spellings of one type) the
    // query repeats: the query string must not multiply a read's work.
    let mut by_type: Vec<(TypeRef, Vec<&String>)> = Vec::new();
    for name in names {
        let to = resolve_type(state, principal.portal, name).await?;
        principal.require(&scope::object_read(&to))?;
        match by_type.iter_mut().find(|(t, _)| t.id == to.id) {
            Some((_, spellings)) => spellings.push(name),
            None => by_type.push((to, vec![name])),
        }
    }
    // The types' reads run at once: each page read is a hand-off to the store's blocking
    // pool, and a list page's client waits for all of them in turn otherwise (a full sync
    // asks `associations=companies,deals` on every page).
    let reads = by_type.iter().map(|(to, _)| async move {
        let (defs, pages) =
            tokio::try_join!(PairTypes::load(state, principal.portal, from, to), async {
                Ok::<_, ApiError>(
                    state
                        .store
                        .page_associations(
                            principal.portal,
                            from.id.as_str(),
                            to.id.as_str(),
                            ids.iter().map(|id| (*id, None)).collect(),
                            PAGE_SIZE,
                        )
                        .await?,
                )
            })?;
        Ok::<_, ApiError>((defs, pages))
    });
    let read = futures_util::future::try_join_all(reads).await?;
    for ((to, spellings), (defs, pages)) in by_type.into_iter().zip(read) {
        for (slot, page) in out.iter_mut().zip(pages) {
            if page.targets.is_empty() {
                continue;
            }
            let results = page
                .targets
                .iter()
                .flat_map(|t| {
                    t.types.iter().map(|(category, type_id)| AssociatedId {
                        id: t.to_id.to_string(),
                        kind: v3_type_name(from, &to, &defs, category, *type_id),
                    })
                })
                .collect();
            let paging = next_page(&to, &page);
            let block = CollectionResponseAssociatedId { results, paging };
            if to.custom.is_some() {
                slot.insert(to.name.clone(), block);
                continue;
            }
            for name in &spellings {
                slot.insert((*name).clone(), block.clone());
            }
        }
    }
    Ok(out)
}
