//! Read-only views of a portal's data for the web UI (and anyone holding the admin token):
//! its object types with their record counts, a type's records page by page, and one
//! record with every value's history and its associations. Everything is read through the
//! store traits, as the HubSpot handlers read it; nothing here writes.
//!
//! These are not HubSpot's shapes (HubSpot has no "every type of a portal with counts"
//! call), so they are spoke's own, documented in `openapi.json`; values are the strings
//! HubSpot's API would answer, record properties (id, create and modified dates) included.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;
use spoke_core::search::SearchQuery;
use spoke_core::time::format_iso;
use spoke_core::{HistoryEntry, ObjectId, ObjectType, PortalId, StoredRecord, TypeRef};
use spoke_store::{ReadKeys, ReadOptions};

use super::{portal_id, portal_not_found, Admin};
use crate::error::{ApiError, ApiResult};
use crate::schema::TypeSchema;
use crate::wire::{self, QueryParams};
use crate::AppState;

/// A records page's size when the caller names none, and the most it may ask for.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 100;
/// The most associated records of one type a record's view lists (the rest are counted
/// as `more`); the UI is for looking, not for walking a graph of thousands.
const ASSOCIATIONS_SHOWN: usize = 100;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/_spoke/portals/{portalId}/types", get(types))
        .route(
            "/_spoke/portals/{portalId}/objects/{objectType}",
            get(records),
        )
        .route(
            "/_spoke/portals/{portalId}/objects/{objectType}/{objectId}",
            get(record),
        )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TypeEntry {
    object_type_id: String,
    name: String,
    singular: String,
    custom: bool,
    /// Live records.
    count: usize,
}

#[derive(Serialize)]
struct Results<T> {
    results: Vec<T>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordEntry {
    id: String,
    created_at: String,
    updated_at: String,
    /// Set on an archived record's view.
    #[serde(skip_serializing_if = "Option::is_none")]
    archived_at: Option<String>,
    properties: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Next {
    after: String,
}

#[derive(Serialize)]
struct Paging {
    next: Next,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordsPage {
    object_type_id: String,
    name: String,
    /// The type's default properties, which the UI shows as its first columns.
    default_properties: Vec<String>,
    /// Live records of the type, not only this page's.
    total: usize,
    results: Vec<RecordEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryOut {
    value: String,
    timestamp: String,
    source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_id: Option<String>,
}

impl From<&HistoryEntry> for HistoryOut {
    fn from(e: &HistoryEntry) -> Self {
        HistoryOut {
            value: e.value.clone(),
            timestamp: format_iso(e.timestamp),
            source_type: e.source_type.clone(),
            source_id: e.source_id.clone(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkType {
    category: String,
    type_id: i64,
}

#[derive(Serialize)]
struct Linked {
    id: String,
    types: Vec<LinkType>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssociationGroup {
    to_object_type_id: String,
    to_name: String,
    results: Vec<Linked>,
    /// More associated records of this type than `results` lists.
    more: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordView {
    object_type_id: String,
    name: String,
    #[serde(flatten)]
    record: RecordEntry,
    archived: bool,
    properties_with_history: BTreeMap<String, Vec<HistoryOut>>,
    associations: Vec<AssociationGroup>,
}

/// The portal a path names, if it exists.
async fn existing_portal(state: &AppState, raw: &str) -> ApiResult<PortalId> {
    let portal = portal_id(raw)?;
    if state.store.list_portals().await?.contains(&portal) {
        Ok(portal)
    } else {
        Err(portal_not_found(raw))
    }
}

/// The portal's types: HubSpot's standard ones, then its live custom ones by number.
async fn portal_types(state: &AppState, portal: PortalId) -> ApiResult<Vec<TypeRef>> {
    let mut types: Vec<TypeRef> = spoke_core::catalog::standard_types().to_vec();
    let custom = state.store.list_schemas(portal, false).await?;
    types.extend(custom.iter().map(|s| Arc::new(ObjectType::from_custom(s))));
    Ok(types)
}

async fn count(state: &AppState, portal: PortalId, ty: &ObjectType) -> ApiResult<usize> {
    // A search without filters counts the live records; a page of none reads no rows.
    let query = SearchQuery {
        groups: Vec::new(),
        text: None,
        text_properties: Vec::new(),
        sort: None,
        offset: 0,
        limit: 0,
    };
    let page = state
        .store
        .search_objects(portal, ty.id.as_str(), &query)
        .await?;
    Ok(page.total)
}

async fn types(
    _: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let portal = existing_portal(&state, &raw).await?;
    let mut results = Vec::new();
    for ty in portal_types(&state, portal).await? {
        results.push(TypeEntry {
            object_type_id: ty.id.as_str().to_owned(),
            name: ty.name.clone(),
            singular: ty.singular.clone(),
            custom: ty.custom.is_some(),
            count: count(&state, portal, &ty).await?,
        });
    }
    Ok(wire::json_response(StatusCode::OK, &Results { results }))
}

/// A record's values as HubSpot's API answers them: the stored ones plus those the record
/// computes from itself (id, create and modified dates).
fn entry(ty: &ObjectType, record: &StoredRecord) -> ApiResult<RecordEntry> {
    let mut properties = record
        .properties
        .decode()
        .map_err(|e| ApiError::internal(format!("record {}: {e}", record.id)))?;
    for name in computed_names(ty) {
        if let Some(value) = record.record_property(ty, name) {
            properties.insert(name.to_owned(), value);
        }
    }
    Ok(RecordEntry {
        id: record.id.to_string(),
        created_at: format_iso(record.created_at),
        updated_at: format_iso(record.updated_at),
        archived_at: record.archived_at.map(format_iso),
        properties,
    })
}

fn computed_names(ty: &ObjectType) -> [&str; 3] {
    [
        "hs_object_id",
        ty.createdate_property.as_str(),
        ty.modified_property.as_str(),
    ]
}

async fn records(
    _: Admin,
    State(state): State<AppState>,
    Path((raw, segment)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let portal = existing_portal(&state, &raw).await?;
    let ty = crate::schema::resolve_type(&state, portal, &segment).await?;
    let q = QueryParams::parse(query.as_deref());
    let limit = q
        .usize("limit")?
        .unwrap_or(DEFAULT_LIMIT)
        .clamp(1, MAX_LIMIT);
    let after = match q.one("after").filter(|s| !s.is_empty()) {
        Some(a) => Some(a.parse::<ObjectId>().map_err(|_| {
            ApiError::validation(format!("after must be a record id, not {a:?}"))
                .with_context(crate::error::ctx(&[("after", vec![a.to_owned()])]))
        })?),
        None => None,
    };
    let options = ReadOptions {
        archived: false,
        history: &[],
    };
    let mut page = state
        .store
        .list_objects(portal, ty.id.as_str(), after, limit + 1, options)
        .await?;
    let paging = (page.len() > limit).then(|| {
        page.truncate(limit);
        Paging {
            next: Next {
                after: page.last().map(|r| r.id.to_string()).unwrap_or_default(),
            },
        }
    });
    let results = page
        .iter()
        .map(|r| entry(&ty, r))
        .collect::<ApiResult<Vec<_>>>()?;
    let body = RecordsPage {
        object_type_id: ty.id.as_str().to_owned(),
        name: ty.name.clone(),
        default_properties: ty.default_properties.clone(),
        total: count(&state, portal, &ty).await?,
        results,
        paging,
    };
    Ok(wire::json_response(StatusCode::OK, &body))
}

async fn read_one(
    state: &AppState,
    portal: PortalId,
    ty: &ObjectType,
    id: ObjectId,
    history: &[String],
) -> ApiResult<Option<StoredRecord>> {
    // Live first; an archived record is still worth looking at (HubSpot's `archived=true`).
    for archived in [false, true] {
        let found = state
            .store
            .read_objects(
                portal,
                ty.id.as_str(),
                ReadKeys::Ids(vec![id]),
                ReadOptions { archived, history },
            )
            .await?
            .into_iter()
            .next()
            .flatten();
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

async fn record(
    _: Admin,
    State(state): State<AppState>,
    Path((raw, segment, raw_id)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let portal = existing_portal(&state, &raw).await?;
    let ty = crate::schema::resolve_type(&state, portal, &segment).await?;
    let not_found = || ApiError::object_not_found(format!("No {} with id {raw_id}", ty.singular));
    let id = raw_id.parse::<ObjectId>().map_err(|_| not_found())?;
    let first = read_one(&state, portal, &ty, id, &[])
        .await?
        .ok_or_else(not_found)?;
    // The second read asks history for exactly the names the record has values of.
    let shown = entry(&ty, &first)?;
    let names: Vec<String> = shown.properties.keys().cloned().collect();
    let with_history = read_one(&state, portal, &ty, id, &names)
        .await?
        .ok_or_else(not_found)?;
    let schema = TypeSchema::load(state.store.as_ref(), portal, ty.clone()).await?;
    let histories = schema
        .histories(&with_history, &names)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, entries)| {
            let out = entries.iter().map(HistoryOut::from).collect();
            (name.to_owned(), out)
        })
        .collect();
    let mut associations = Vec::new();
    for to in portal_types(&state, portal).await? {
        let page = state
            .store
            .page_associations(
                portal,
                ty.id.as_str(),
                to.id.as_str(),
                vec![(id, None)],
                ASSOCIATIONS_SHOWN,
            )
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        if page.targets.is_empty() {
            continue;
        }
        let results = page
            .targets
            .into_iter()
            .map(|t| Linked {
                id: t.to_id.to_string(),
                types: t
                    .types
                    .into_iter()
                    .map(|(category, type_id)| LinkType {
                        category: category.into_owned(),
                        type_id,
                    })
                    .collect(),
            })
            .collect();
        associations.push(AssociationGroup {
            to_object_type_id: to.id.as_str().to_owned(),
            to_name: to.name.clone(),
            results,
            more: page.more,
        });
    }
    let view = RecordView {
        object_type_id: ty.id.as_str().to_owned(),
        name: ty.name.clone(),
        archived: with_history.archived_at.is_some(),
        record: entry(&ty, &with_history)?,
        properties_with_history: histories,
        associations,
    };
    Ok(wire::json_response(StatusCode::OK, &view))
}
