//! Associations v4 (hubspot-behavior.md §3): the batch endpoints under
//! `/crm/v4/associations/{from}/{to}/batch/*`, the per-record endpoints under
//! `/crm/v4/objects/{type}/{id}/associations/*`, and labels (associations schema v4).

use std::collections::HashSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use serde_json::Value;
use spoke_core::association::{
    default_type, hubspot_defined, AssociationType, HUBSPOT_DEFINED, MAX_LABELS_PER_PAIR,
    USER_DEFINED,
};
use spoke_core::time::now_millis;
use spoke_core::{scope, ObjectId, ObjectType, PortalId};
use spoke_store::{AssociatedTarget, AssociationRemoval, AssociationWrite, ItemFailure, LinkType};
use spoke_types::associations::{
    AssociationMultiArchive, AssociationMultiPost, AssociationSpec, AssociationSpecWithLabel,
    AssociationsPage, DefaultAssociationPost, FetchRequest, LabelCreate, LabelUpdate,
    LabelsBetweenObjectPair, MultiAssociatedObjectWithLabel, NextPage, Paging,
    PublicAssociationMultiWithLabel, PublicDefaultAssociation, PublicObjectId,
};
use spoke_types::objects::BatchInput;
use spoke_types::properties::Results;

use crate::auth::Principal;
use crate::catalogue::{Authorized, Pair};
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::{check_batch_limit, id_text, path_id};
use crate::schema::object_type;
use crate::wire::{
    batch_response, parse_body, Json, QueryParams, BATCH_ALWAYS_OK, BATCH_CREATED, BATCH_OK,
};
use crate::AppState;

/// HubSpot's batch/read limit (changelog 2025-02, §3.2).
pub const MAX_READ_INPUTS: usize = 1000;
const MAX_WRITE_INPUTS: usize = 100;
/// Targets per from-object page; also the GET default and maximum (`limit`, §3.2).
pub const PAGE_SIZE: usize = 500;

/// Every association type defined from `from` to `to` in this portal: HubSpot's and the
/// portal's labels, plus the reverse direction's, so inverses can be looked up.
pub struct Definitions {
    pub forward: Vec<AssociationType>,
    reverse: Vec<AssociationType>,
}

impl Definitions {
    pub async fn load(
        state: &AppState,
        portal: PortalId,
        from: &ObjectType,
        to: &ObjectType,
    ) -> ApiResult<Self> {
        let load = |a: &ObjectType, b: &ObjectType| {
            let (a, b) = (a.id.0, b.id.0);
            async move {
                let mut out = hubspot_defined(a, b);
                for l in state.store.list_labels(portal, a, b).await? {
                    out.push(AssociationType {
                        from_type: l.from_type,
                        to_type: l.to_type,
                        category: USER_DEFINED.into(),
                        type_id: l.type_id,
                        label: Some(l.label),
                        inverse_type_id: l.inverse_type_id,
                        exclusive: false,
                    });
                }
                Ok::<_, ApiError>(out)
            }
        };
        let (forward, reverse) = tokio::try_join!(load(from, to), load(to, from))?;
        Ok(Self { forward, reverse })
    }

    fn find(&self, category: &str, type_id: i64) -> Option<&AssociationType> {
        self.forward
            .iter()
            .find(|t| t.category == category && t.type_id == type_id)
    }

    pub fn label(&self, category: &str, type_id: i64) -> Option<String> {
        self.find(category, type_id).and_then(|t| t.label.clone())
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

    fn default_link(&self, from: &ObjectType, to: &ObjectType) -> ApiResult<LinkType> {
        let d = default_type(from.id.0, to.id.0).ok_or_else(|| no_default(from, to))?;
        Ok(LinkType {
            category: d.category,
            type_id: d.type_id,
            inverse_type_id: d.inverse_type_id,
            exclusive: false,
            inverse_exclusive: false,
        })
    }
}

fn no_default(from: &ObjectType, to: &ObjectType) -> ApiError {
    ApiError::validation(format!(
        "There is no default association type between {} and {}",
        from.name, to.name
    ))
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

/// §3.8: an association pointing at a record that does not exist.
pub fn invalid_object(object_type: &str, id: ObjectId) -> ApiError {
    let upper = ObjectType::by_id(object_type).map_or("OBJECT", |t| t.upper);
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

fn wire_targets(
    defs: &Definitions,
    targets: &[AssociatedTarget],
) -> Vec<MultiAssociatedObjectWithLabel> {
    targets
        .iter()
        .map(|t| MultiAssociatedObjectWithLabel {
            to_object_id: t.to_id,
            association_types: t
                .types
                .iter()
                .map(|(category, type_id)| AssociationSpecWithLabel {
                    category: category.clone(),
                    type_id: *type_id,
                    label: defs.label(category, *type_id),
                })
                .collect(),
        })
        .collect()
}

pub(crate) async fn batch_read(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let started = now_millis();
    let (a, b) = auth.subject;
    let input: BatchInput<FetchRequest> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_READ_INPUTS)?;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;

    let mut errors = Vec::new();
    let mut requests = Vec::new();
    let mut seen = HashSet::new();
    for i in &input.inputs {
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
    let pages = state
        .store
        .page_associations(
            auth.principal.portal,
            a.id.0,
            b.id.0,
            requests.clone(),
            PAGE_SIZE,
        )
        .await?;
    let mut results = Vec::new();
    for ((id, _), page) in requests.into_iter().zip(pages) {
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
        let paging = page.more.then(|| Paging {
            next: NextPage {
                after: encode_after(b, page.targets.last().map_or(0, |t| t.to_id)),
                link: None,
            },
        });
        results.push(PublicAssociationMultiWithLabel {
            from: PublicObjectId { id: id.to_string() },
            to: wire_targets(&defs, &page.targets),
            paging,
        });
    }
    Ok(batch_response(BATCH_OK, started, results, errors))
}

fn labels_pair(
    a: &ObjectType,
    from_id: ObjectId,
    b: &ObjectType,
    to_id: ObjectId,
    labels: Vec<String>,
) -> LabelsBetweenObjectPair {
    LabelsBetweenObjectPair {
        from_object_type_id: a.id.0.to_owned(),
        from_object_id: from_id,
        to_object_type_id: b.id.0.to_owned(),
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

pub(crate) async fn batch_create(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let started = now_millis();
    let (a, b) = auth.subject;
    let input: BatchInput<AssociationMultiPost> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_WRITE_INPUTS)?;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    // An undefined type rejects the whole batch, as on HubSpot (§3.6).
    let mut writes = Vec::new();
    let mut errors = Vec::new();
    let mut labels = Vec::new();
    for i in &input.inputs {
        let mut types = Vec::new();
        for spec in &i.types {
            types.extend(defs.link(spec)?);
        }
        let (Some(f), Some(t)) = (parse_id(&i.from.id), parse_id(&i.to.id)) else {
            errors.push(missing_pair_ids(&i.from.id, &i.to.id));
            continue;
        };
        labels.push(
            i.types
                .iter()
                .filter_map(|s| defs.label(&s.association_category, s.association_type_id))
                .collect::<Vec<_>>(),
        );
        writes.push(AssociationWrite {
            from_type: a.id.0.to_owned(),
            from_id: f,
            to_type: b.id.0.to_owned(),
            to_id: t,
            types,
        });
    }
    let keys: Vec<(ObjectId, ObjectId)> = writes.iter().map(|w| (w.from_id, w.to_id)).collect();
    let outcomes = state
        .store
        .put_associations(auth.principal.portal, writes)
        .await?;
    let mut results = Vec::new();
    for ((outcome, (f, t)), labels) in outcomes.into_iter().zip(keys).zip(labels) {
        match outcome {
            Ok(()) => results.push(labels_pair(a, f, b, t, labels)),
            Err(failure) => errors.push(failure_error(&failure)),
        }
    }
    Ok(batch_response(BATCH_CREATED, started, results, errors))
}

pub fn failure_error(f: &ItemFailure) -> ApiError {
    match f {
        ItemFailure::AssociationTarget { object_type, id } => invalid_object(object_type, *id),
        _ => ApiError::validation("One or more associations are invalid"),
    }
}

fn default_results(
    a: &ObjectType,
    f: ObjectId,
    b: &ObjectType,
    t: ObjectId,
    link: &LinkType,
) -> [PublicDefaultAssociation; 2] {
    let _ = (a, b);
    [
        PublicDefaultAssociation {
            from: PublicObjectId { id: f.to_string() },
            to: PublicObjectId { id: t.to_string() },
            association_spec: AssociationSpec {
                association_category: link.category.clone(),
                association_type_id: link.type_id,
            },
        },
        PublicDefaultAssociation {
            from: PublicObjectId { id: t.to_string() },
            to: PublicObjectId { id: f.to_string() },
            association_spec: AssociationSpec {
                association_category: link.category.clone(),
                association_type_id: link.inverse_type_id,
            },
        },
    ]
}

pub(crate) async fn batch_default(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let started = now_millis();
    let (a, b) = auth.subject;
    let input: BatchInput<DefaultAssociationPost> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_WRITE_INPUTS)?;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let link = defs.default_link(a, b)?;
    let mut errors = Vec::new();
    let mut writes = Vec::new();
    for i in &input.inputs {
        match (parse_id(&i.from.id), parse_id(&i.to.id)) {
            (Some(f), Some(t)) => writes.push(AssociationWrite {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types: vec![link.clone()],
            }),
            _ => errors.push(missing_pair_ids(&i.from.id, &i.to.id)),
        }
    }
    let keys: Vec<(ObjectId, ObjectId)> = writes.iter().map(|w| (w.from_id, w.to_id)).collect();
    let outcomes = state
        .store
        .put_associations(auth.principal.portal, writes)
        .await?;
    let mut results = Vec::new();
    for (outcome, (f, t)) in outcomes.into_iter().zip(keys) {
        match outcome {
            Ok(()) => results.extend(default_results(a, f, b, t, &link)),
            Err(failure) => errors.push(failure_error(&failure)),
        }
    }
    // The spec defines only 200 for this endpoint; failures ride along in `errors`.
    Ok(batch_response(BATCH_ALWAYS_OK, started, results, errors))
}

pub(crate) async fn batch_archive(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let input: BatchInput<AssociationMultiArchive> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_WRITE_INPUTS)?;
    let mut removals = Vec::new();
    for i in &input.inputs {
        let Some(f) = parse_id(&i.from.id) else {
            continue;
        };
        for t in i.to.iter().filter_map(|t| parse_id(&t.id)) {
            removals.push(AssociationRemoval {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types: None,
            });
        }
    }
    state
        .store
        .remove_associations(auth.principal.portal, removals)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn batch_labels_archive(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let input: BatchInput<AssociationMultiPost> = parse_body(&body)?;
    check_batch_limit(input.inputs.len(), MAX_WRITE_INPUTS)?;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let mut removals = Vec::new();
    for i in &input.inputs {
        let mut types = Vec::new();
        for spec in &i.types {
            let t = defs
                .find(&spec.association_category, spec.association_type_id)
                .ok_or_else(|| invalid_type(spec))?;
            types.push((t.category.clone(), t.type_id, t.inverse_type_id));
        }
        if let (Some(f), Some(t)) = (parse_id(&i.from.id), parse_id(&i.to.id)) {
            removals.push(AssociationRemoval {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types: Some(types),
            });
        }
    }
    state
        .store
        .remove_associations(auth.principal.portal, removals)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn list_for_record(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    Path((_, from_id, _)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let id = path_id(&from_id)?;
    let q = QueryParams::parse(query.as_deref());
    let limit = q.usize("limit")?.unwrap_or(PAGE_SIZE).clamp(1, PAGE_SIZE);
    let after = match q.one("after").filter(|s| !s.is_empty()) {
        Some(t) => Some(decode_after(t)?),
        None => None,
    };
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let page = state
        .store
        .page_associations(
            auth.principal.portal,
            a.id.0,
            b.id.0,
            vec![(id, after)],
            limit,
        )
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let paging = page.more.then(|| Paging {
        next: NextPage {
            after: encode_after(b, page.targets.last().map_or(0, |t| t.to_id)),
            link: None,
        },
    });
    Ok(Json(
        StatusCode::OK,
        AssociationsPage {
            results: wire_targets(&defs, &page.targets),
            paging,
        },
    )
    .into_response())
}

pub(crate) async fn put_labelled(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    Path((_, from_id, _, to_id)): Path<(String, String, String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let (f, t) = (path_id(&from_id)?, path_id(&to_id)?);
    let specs: Vec<AssociationSpec> = parse_body(&body)?;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let mut types = Vec::new();
    for spec in &specs {
        types.extend(defs.link(spec)?);
    }
    let outcome = state
        .store
        .put_associations(
            auth.principal.portal,
            vec![AssociationWrite {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types,
            }],
        )
        .await?;
    if let Some(Err(failure)) = outcome.first() {
        return Err(failure_error(failure));
    }
    let labels = specs
        .iter()
        .filter_map(|s| defs.label(&s.association_category, s.association_type_id))
        .collect();
    Ok(Json(StatusCode::CREATED, labels_pair(a, f, b, t, labels)).into_response())
}

pub(crate) async fn put_default(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    Path((_, from_id, _, to_id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let started = now_millis();
    let (a, b) = auth.subject;
    let (f, t) = (path_id(&from_id)?, path_id(&to_id)?);
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let link = defs.default_link(a, b)?;
    let outcome = state
        .store
        .put_associations(
            auth.principal.portal,
            vec![AssociationWrite {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types: vec![link.clone()],
            }],
        )
        .await?;
    if let Some(Err(failure)) = outcome.first() {
        return Err(failure_error(failure));
    }
    let results: Vec<PublicDefaultAssociation> = default_results(a, f, b, t, &link).into();
    Ok(batch_response(
        BATCH_ALWAYS_OK,
        started,
        results,
        Vec::new(),
    ))
}

pub(crate) async fn delete_pair(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    Path((_, from_id, _, to_id)): Path<(String, String, String, String)>,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let (f, t) = (path_id(&from_id)?, path_id(&to_id)?);
    state
        .store
        .remove_associations(
            auth.principal.portal,
            vec![AssociationRemoval {
                from_type: a.id.0.to_owned(),
                from_id: f,
                to_type: b.id.0.to_owned(),
                to_id: t,
                types: None,
            }],
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn spec_with_label(t: &AssociationType) -> AssociationSpecWithLabel {
    AssociationSpecWithLabel {
        category: t.category.clone(),
        type_id: t.type_id,
        label: t.label.clone(),
    }
}

pub(crate) async fn list_labels(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let defs = Definitions::load(&state, auth.principal.portal, a, b).await?;
    let results = defs.forward.iter().map(spec_with_label).collect();
    Ok(Json(
        StatusCode::OK,
        Results::<AssociationSpecWithLabel> { results },
    )
    .into_response())
}

pub(crate) async fn create_label(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let input: LabelCreate = parse_body(&body)?;
    let (Some(label), Some(name)) = (
        input.label.filter(|l| !l.trim().is_empty()),
        input.name.filter(|n| !n.trim().is_empty()),
    ) else {
        return Err(ApiError::validation(
            "Missing required field(s): label, name",
        ));
    };
    let made = state
        .store
        .create_label(
            auth.principal.portal,
            a.id.0,
            b.id.0,
            &name,
            &label,
            input.inverse_label.as_deref(),
            MAX_LABELS_PER_PAIR,
        )
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
    Ok(Json(
        StatusCode::OK,
        Results::<AssociationSpecWithLabel> { results },
    )
    .into_response())
}

fn unknown_label(type_id: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        Some(crate::error::Category::ObjectNotFound),
        format!("USER_DEFINED={type_id} is not a valid association definition id"),
    )
}

pub(crate) async fn update_label(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    body: Bytes,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let input: LabelUpdate = parse_body(&body)?;
    let (Some(type_id), Some(label)) = (input.association_type_id, input.label) else {
        return Err(ApiError::validation(
            "Missing required field(s): associationTypeId, label",
        ));
    };
    let found = state
        .store
        .update_label(
            auth.principal.portal,
            a.id.0,
            b.id.0,
            type_id,
            &label,
            input.inverse_label.as_deref(),
        )
        .await?;
    if !found {
        return Err(unknown_label(type_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn delete_label(
    State(state): State<AppState>,
    auth: Authorized<Pair>,
    Path((_, _, type_id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (a, b) = auth.subject;
    let type_id: i64 = type_id.parse().map_err(|_| {
        ApiError::validation(format!("{type_id} is not a valid association type id"))
    })?;
    if !state
        .store
        .delete_label(auth.principal.portal, a.id.0, b.id.0, type_id)
        .await?
    {
        return Err(unknown_label(type_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// HubSpot's v3 name for an association type: `contact_to_company` for the primary (or the
/// only) unlabeled type, `contact_to_company_unlabeled` for the unlabeled type of a pair
/// that also has a primary, and the label in snake case for other labels.
fn v3_type_name(
    from: &ObjectType,
    to: &ObjectType,
    defs: &Definitions,
    category: &str,
    type_id: i64,
) -> String {
    let base = format!("{}_to_{}", from.singular, to.singular);
    match defs.label(category, type_id) {
        Some(l) if l == "Primary" => base,
        Some(l) => l.to_lowercase().replace(' ', "_"),
        None if defs
            .forward
            .iter()
            .any(|t| t.label.as_deref() == Some("Primary")) =>
        {
            format!("{base}_unlabeled")
        }
        None => base,
    }
}

/// The v3 `associations` block for records read with `?associations=a,b`: per requested
/// type, the first page of associated ids, keyed by the name as requested.
pub async fn v3_associations(
    state: &AppState,
    principal: &Principal,
    from: &'static ObjectType,
    ids: &[ObjectId],
    names: &[String],
) -> ApiResult<
    Vec<std::collections::BTreeMap<String, spoke_types::objects::CollectionResponseAssociatedId>>,
> {
    use spoke_types::objects::{AssociatedId, CollectionResponseAssociatedId};
    let mut out = vec![std::collections::BTreeMap::new(); ids.len()];
    // One store call per distinct type, however many names (or spellings of one type) the
    // query repeats: the query string must not multiply a read's work.
    let mut by_type: Vec<(&'static ObjectType, Vec<&String>)> = Vec::new();
    for name in names {
        let to = object_type(name)?;
        principal.require(&scope::object_read(to))?;
        match by_type.iter_mut().find(|(t, _)| t.id == to.id) {
            Some((_, spellings)) => spellings.push(name),
            None => by_type.push((to, vec![name])),
        }
    }
    for (to, spellings) in by_type {
        let defs = Definitions::load(state, principal.portal, from, to).await?;
        let pages = state
            .store
            .page_associations(
                principal.portal,
                from.id.0,
                to.id.0,
                ids.iter().map(|id| (*id, None)).collect(),
                PAGE_SIZE,
            )
            .await?;
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
                        kind: v3_type_name(from, to, &defs, category, *type_id),
                    })
                })
                .collect();
            let paging = page.more.then(|| spoke_types::objects::Paging {
                next: spoke_types::objects::NextPage {
                    after: encode_after(to, page.targets.last().map_or(0, |t| t.to_id)),
                    link: None,
                },
            });
            let block = CollectionResponseAssociatedId { results, paging };
            for name in &spellings {
                slot.insert((*name).clone(), block.clone());
            }
        }
    }
    Ok(out)
}
