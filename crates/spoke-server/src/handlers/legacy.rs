//! Legacy and alias read shapes connectors still call (hubspot-behavior-platform.md §25),
//! served from the same records, definitions and associations as v3: the v1/v2 property
//! listings (bare arrays), companies v2 and deals v1 pages (ids as numbers, every property
//! with its `versions` from the stored history, times in epoch ms), and associations v3
//! (one `{id, type}` row per associated record and type).

use std::collections::{BTreeMap, HashSet};

use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use spoke_core::record::Projection;
use spoke_core::time::{parse_iso, parse_ymd, Millis};
use spoke_core::StoredRecord;
use spoke_core::{
    scope, ObjectId, ObjectType, PortalId, PropertyDefinition, PropertyType, TypeRef,
};
use spoke_store::{ReadKeys, ReadOptions};
use spoke_types::associations::{FetchRequest, PublicObjectId};
use spoke_types::legacy::{
    AssociationTypeV3, AssociationsV3Result, CompaniesPage, CompanyV2, DealAssociations, DealV1,
    DealsPage, LegacyProperty, LegacyPropertyOption, LegacyValue, LegacyVersion,
};
use spoke_types::objects::{AssociatedId, CollectionResponse, NextPage, Paging};
use spoke_types::properties::Results;

use crate::catalogue::{Authorized, Pair, Type};
use crate::error::{ctx, ApiError, ApiResult};
use crate::handlers::associations::{decode_after, encode_after, v3_type_name, PairTypes};
use crate::handlers::{id_text, path_id, Batch};
use crate::schema::{resolve_type, TypeSchema};
use crate::wire::{batch_response, next_link, Json, Origin, QueryParams, BATCH_OK};
use crate::AppState;

/// Companies v2 and deals v1 `limit`: documented default 100, maximum 250 (§25.2, §25.3).
const PAGED_DEFAULT: usize = 100;
const PAGED_MAX: usize = 250;
/// Targets per from record in an associations v3 batch read (§25.6); more are paged to the
/// per-record endpoint.
const V3_BATCH_TARGETS: usize = 100;
/// The v3 per-record associations `limit` default and maximum (§25.6).
const V3_LIST_DEFAULT: usize = 500;
/// Inputs per associations v3 batch read (docs: up to 1,000, §25.6).
const V3_MAX_INPUTS: usize = 1000;
/// Associated ids per type on a v1 deal.
const DEAL_ASSOCIATIONS: usize = 500;

// ---- property listings (§25.1) ----

/// The type's live property definitions, built-in and custom (a custom one of a built-in's
/// name wins), by name.
async fn definitions(
    state: &AppState,
    portal: PortalId,
    ty: &TypeRef,
) -> ApiResult<(Vec<PropertyDefinition>, TypeSchema)> {
    let customs = state.store.list_properties(portal, ty.id.as_str()).await?;
    let mut by_name: BTreeMap<&str, &PropertyDefinition> = ty
        .builtin_properties()
        .iter()
        .map(|d| (d.name.as_str(), d))
        .collect();
    for c in customs.iter().filter(|c| !c.archived) {
        by_name.insert(c.name.as_str(), c);
    }
    let mut live: Vec<PropertyDefinition> = by_name.into_values().cloned().collect();
    // A pipelined type's pipeline and stage list the portal's pipelines, as in v3.
    if let Some(rules) = ty.pipelines {
        let (pp, sp) = (rules.pipeline_property, rules.stage_property);
        let wanted = |d: &PropertyDefinition| d.hubspot_defined && (d.name == pp || d.name == sp);
        if live.iter().any(wanted) {
            let all = state.store.read_pipelines(portal, ty.id.as_str()).await?;
            let (pipelines, stages) = spoke_store::pipelines::property_options(&all);
            for d in live.iter_mut().filter(|d| wanted(d)) {
                d.options = if d.name == pp {
                    pipelines.clone()
                } else {
                    stages.clone()
                };
            }
        }
    }
    Ok((live, TypeSchema::new(ty.clone(), portal, customs)))
}

fn legacy_property(d: &PropertyDefinition) -> LegacyProperty {
    LegacyProperty {
        name: d.name.clone(),
        label: d.label.clone(),
        description: d.description.clone(),
        group_name: d.group_name.clone(),
        kind: d.kind.as_str().to_owned(),
        field_type: d.field_type.clone(),
        hidden: d.hidden,
        options: d
            .options
            .iter()
            .map(|o| LegacyPropertyOption {
                description: o.description.clone(),
                label: o.label.clone(),
                value: o.value.clone(),
                display_order: o.display_order,
                hidden: o.hidden,
                read_only: d.read_only_definition,
                double_data: None,
            })
            .collect(),
        calculated: d.calculated,
        external_options: d.external_options,
        is_customized_default: false,
        deleted: None,
        created_at: d.created_at,
        updated_at: d.updated_at,
        display_order: d.display_order,
        read_only_value: d.read_only_value,
        read_only_definition: d.read_only_definition,
        mutable_definition_not_deletable: !d.archivable,
        favorited: false,
        favorited_order: -1,
        display_mode: "current_value".to_owned(),
        show_currency_symbol: None,
        created_user_id: None,
        text_display_hint: None,
        number_display_hint: None,
        options_are_mutable: None,
        referenced_object_type: None,
        form_field: d.form_field,
        // A captured custom v1 property has `null` here, not `false`.
        hubspot_defined: d.hubspot_defined.then_some(true),
        updated_user_id: None,
        searchable_in_global_search: false,
        has_unique_value: d.has_unique_value,
        currency_property_name: None,
    }
}

async fn property_listing(state: &AppState, portal: PortalId, ty: &TypeRef) -> ApiResult<Response> {
    let (defs, _) = definitions(state, portal, ty).await?;
    let list: Vec<LegacyProperty> = defs.iter().map(legacy_property).collect();
    Ok(Json(StatusCode::OK, list).into_response())
}

/// `GET /properties/v2/{objectType}/properties`: a bare array.
pub(crate) async fn properties_v2(auth: Authorized<Type>) -> ApiResult<Response> {
    property_listing(&auth.state, auth.principal.portal, &auth.subject).await
}

/// `GET /properties/v1/{objectType}/properties`: the same bare array.
pub(crate) async fn properties_v1(auth: Authorized<Type>) -> ApiResult<Response> {
    properties_v2(auth).await
}

/// `GET /properties/v2/form/properties`: the forms object's definitions (the system
/// properties every HubSpot object has), which spoke lists without serving forms.
pub(crate) async fn form_properties(auth: Authorized<()>) -> ApiResult<Response> {
    let forms = spoke_core::catalog::forms();
    property_listing(&auth.state, auth.principal.portal, &forms).await
}

/// `GET /companies/v2/properties` (the catalogue row names the type).
pub(crate) async fn companies_properties(auth: Authorized<Type>) -> ApiResult<Response> {
    property_listing(&auth.state, auth.principal.portal, &auth.subject).await
}

/// `GET /properties/v1/{objectType}/properties/named/{propertyName}`: one definition.
pub(crate) async fn property_v1(
    auth: Authorized<Type>,
    Path((_, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (defs, _) = definitions(&auth.state, auth.principal.portal, &auth.subject).await?;
    let def = defs
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| ApiError::object_not_found(format!("Property {name} does not exist")))?;
    Ok(Json(StatusCode::OK, legacy_property(def)).into_response())
}

// ---- legacy records (§25.2, §25.3) ----

/// A value as the legacy APIs give it: dates and datetimes as epoch-ms strings
/// (`"1457708103847"`), everything else as stored.
fn legacy_text(kind: Option<PropertyType>, text: &str) -> String {
    let ms = match kind {
        Some(PropertyType::Datetime) => parse_iso(text),
        Some(PropertyType::Date) => parse_ymd(text).or_else(|| parse_iso(text)),
        _ => None,
    };
    ms.map_or_else(|| text.to_owned(), |ms| ms.to_string())
}

/// Which properties a legacy record shows, and which of them carry every version (the
/// others carry the current one only).
struct Wanted {
    names: Vec<String>,
    history: HashSet<String>,
    /// `true`: every name gets its whole history.
    all_history: bool,
}

impl Wanted {
    /// `properties` and `propertiesWithHistory`, both repeated or comma-joined.
    fn from_query(q: &QueryParams) -> Self {
        let mut names = q.list("properties").unwrap_or_default();
        let history: Vec<String> = q.list("propertiesWithHistory").unwrap_or_default();
        names.extend(history.iter().cloned());
        Self {
            names,
            history: history.into_iter().collect(),
            all_history: false,
        }
    }

    fn full_history(&self, name: &str) -> bool {
        self.all_history || self.history.contains(name)
    }
}

/// A record's `properties` in the legacy shape: each wanted property that has a value, with
/// its versions newest first (from the stored history; computed ones have one, CALCULATED).
fn legacy_properties(
    schema: &TypeSchema,
    record: &StoredRecord,
    wanted: &Wanted,
) -> ApiResult<BTreeMap<String, LegacyValue>> {
    let mut out = BTreeMap::new();
    if wanted.names.is_empty() {
        return Ok(out);
    }
    let shown = schema.shown(Projection::Requested(&wanted.names));
    let values = record
        .project(&shown)
        .map_err(|e| ApiError::internal(format!("stored values of record {}: {e}", record.id)))?;
    let histories = schema.histories(record, &wanted.names).unwrap_or_default();
    for (name, value) in values {
        let Some(value) = value else { continue };
        if !wanted.names.iter().any(|n| n == name) {
            continue;
        }
        let kind = schema.get(name).map(|d| d.kind);
        let value = legacy_text(kind, &value.into_text());
        let entries = histories
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, e)| e.as_ref());
        let mut versions: Vec<LegacyVersion> = entries
            .iter()
            .map(|h| LegacyVersion {
                name: name.to_owned(),
                value: legacy_text(kind, &h.value),
                timestamp: h.timestamp,
                source: h.source_type.clone(),
                source_id: h.source_id.clone(),
                source_vid: Vec::new(),
            })
            .collect();
        if !wanted.full_history(name) {
            versions.truncate(1);
        }
        // A value stored without a history entry (imported as it was): its one version is
        // the record's last change.
        let newest = versions.first().cloned().unwrap_or_else(|| LegacyVersion {
            name: name.to_owned(),
            value: value.clone(),
            timestamp: record.updated_at,
            source: "API".to_owned(),
            source_id: None,
            source_vid: Vec::new(),
        });
        if versions.is_empty() {
            versions.push(newest.clone());
        }
        out.insert(
            name.to_owned(),
            LegacyValue {
                value,
                timestamp: newest.timestamp,
                source: newest.source,
                source_id: newest.source_id,
                versions,
            },
        );
    }
    Ok(out)
}

/// `offset`: the last record id of the previous page (a number), absent on the first page.
fn offset_param(q: &QueryParams) -> ApiResult<Option<ObjectId>> {
    match q.one("offset").map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(None),
        Some(o) => o.parse().map(Some).map_err(|_| {
            ApiError::validation(format!(
                "Invalid value for query parameter offset: {o} is not a valid integer"
            ))
        }),
    }
}

/// One page of live records after `offset`, and whether more follow.
async fn page<S>(
    auth: &Authorized<S>,
    ty: &ObjectType,
    q: &QueryParams,
    history: &[String],
) -> ApiResult<(Vec<StoredRecord>, bool, Millis)> {
    let limit = q
        .usize("limit")?
        .unwrap_or(PAGED_DEFAULT)
        .clamp(1, PAGED_MAX);
    let offset = offset_param(q)?;
    let mut records = auth
        .state
        .store
        .list_objects(
            auth.principal.portal,
            ty.id.as_str(),
            offset,
            limit + 1,
            ReadOptions {
                archived: false,
                history,
            },
        )
        .await?;
    let more = records.len() > limit;
    records.truncate(limit);
    // An empty last page gives the offset it was asked with back.
    let next = records.last().map_or(offset.unwrap_or(0), |r| r.id);
    Ok((records, more, next))
}

fn company(
    schema: &TypeSchema,
    record: &StoredRecord,
    wanted: &Wanted,
    single: bool,
) -> ApiResult<CompanyV2> {
    Ok(CompanyV2 {
        portal_id: schema.portal.0,
        company_id: record.id,
        is_deleted: false,
        properties: legacy_properties(schema, record, wanted)?,
        additional_domains: Vec::new(),
        state_changes: single.then(Vec::new),
        merge_audits: single.then(Vec::new),
    })
}

/// `GET /companies/v2/companies/paged` (the catalogue row names the type).
pub(crate) async fn companies_paged(
    auth: Authorized<Type>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let ty = &auth.subject;
    let q = QueryParams::parse(query.as_deref());
    let wanted = Wanted::from_query(&q);
    let (_, schema) = definitions(&auth.state, auth.principal.portal, ty).await?;
    let (records, has_more, offset) = page(&auth, ty, &q, &wanted.names).await?;
    let companies = records
        .iter()
        .map(|r| company(&schema, r, &wanted, false))
        .collect::<ApiResult<_>>()?;
    let body = CompaniesPage {
        companies,
        has_more,
        offset,
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `GET /companies/v2/companies/{companyId}`: every property that has a value, each with
/// its whole history.
pub(crate) async fn company_read(
    auth: Authorized<Type>,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let ty = &auth.subject;
    // The legacy API's 404 for an id it does not have, numeric or not.
    let id: ObjectId = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::resource_not_found())?;
    let (defs, schema) = definitions(&auth.state, auth.principal.portal, ty).await?;
    let wanted = Wanted {
        names: defs.into_iter().map(|d| d.name).collect(),
        history: HashSet::new(),
        all_history: true,
    };
    let found = auth
        .state
        .store
        .read_objects(
            auth.principal.portal,
            ty.id.as_str(),
            ReadKeys::Ids(vec![id]),
            ReadOptions {
                archived: false,
                history: &wanted.names,
            },
        )
        .await?;
    let record = found
        .into_iter()
        .flatten()
        .next()
        .ok_or_else(ApiError::resource_not_found)?;
    let body = company(&schema, &record, &wanted, true)?;
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `GET /deals/v1/deal/paged` (the catalogue row names the type).
pub(crate) async fn deals_paged(
    auth: Authorized<Type>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let ty = &auth.subject;
    let q = QueryParams::parse(query.as_deref());
    let mut wanted = Wanted::from_query(&q);
    let (defs, schema) = definitions(&auth.state, auth.principal.portal, ty).await?;
    if q.bool("includeAllProperties")? {
        wanted.names = defs.into_iter().map(|d| d.name).collect();
        wanted.all_history = q
            .one("allPropertiesFetchMode")
            .is_none_or(|m| !m.eq_ignore_ascii_case("latest_version"));
    }
    let with_associations = q.bool("includeAssociations")?;
    let (records, has_more, offset) = page(&auth, ty, &q, &wanted.names).await?;
    let associations = if with_associations {
        let ids: Vec<ObjectId> = records.iter().map(|r| r.id).collect();
        Some(deal_associations(&auth, ty, &ids).await?)
    } else {
        None
    };
    let mut deals = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        deals.push(DealV1 {
            portal_id: schema.portal.0,
            deal_id: r.id,
            is_deleted: false,
            associations: associations
                .as_ref()
                .map(|a| a.get(i).cloned().unwrap_or_default()),
            properties: legacy_properties(&schema, r, &wanted)?,
            imports: Vec::new(),
            state_changes: Vec::new(),
        });
    }
    let body = DealsPage {
        deals,
        has_more,
        offset,
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// Where one associated type's ids go in a v1 deal's `associations`.
type Slot = fn(&mut DealAssociations) -> &mut Vec<i64>;

/// Each deal's associated contact, company, deal and ticket ids. A type the token cannot
/// read stays an empty list rather than refusing the page.
async fn deal_associations(
    auth: &Authorized<Type>,
    deals: &ObjectType,
    ids: &[ObjectId],
) -> ApiResult<Vec<DealAssociations>> {
    let mut out = vec![DealAssociations::default(); ids.len()];
    let slots: [(&str, Slot); 4] = [
        ("contacts", |a| &mut a.associated_vids),
        ("companies", |a| &mut a.associated_company_ids),
        ("deals", |a| &mut a.associated_deal_ids),
        ("tickets", |a| &mut a.associated_ticket_ids),
    ];
    for (name, slot) in slots {
        let to = ObjectType::standard(name)
            .ok_or_else(|| ApiError::internal(format!("no standard type {name}")))?;
        if auth.principal.require(&scope::object_read(&to)).is_err() || ids.is_empty() {
            continue;
        }
        let pages = auth
            .state
            .store
            .page_associations(
                auth.principal.portal,
                deals.id.as_str(),
                to.id.as_str(),
                ids.iter().map(|id| (*id, None)).collect(),
                DEAL_ASSOCIATIONS,
            )
            .await?;
        for (a, page) in out.iter_mut().zip(pages) {
            slot(a).extend(page.targets.iter().map(|t| t.to_id));
        }
    }
    Ok(out)
}

// ---- associations v3 (§25.6) ----

/// One `{id, type}` row per associated record and association type.
fn v3_rows(
    from: &ObjectType,
    to: &ObjectType,
    defs: &PairTypes,
    targets: &[spoke_store::AssociatedTarget],
) -> Vec<AssociatedId> {
    targets
        .iter()
        .flat_map(|t| {
            t.types.iter().map(|(category, type_id)| AssociatedId {
                id: t.to_id.to_string(),
                kind: v3_type_name(from, to, defs, category, *type_id),
            })
        })
        .collect()
}

/// `POST /crm/v3/associations/{fromObjectType}/{toObjectType}/batch/read`.
pub(crate) async fn associations_v3_batch_read(
    auth: Authorized<Pair>,
    Origin(origin): Origin,
    Batch(inputs): Batch<FetchRequest, V3_MAX_INPUTS>,
) -> ApiResult<Response> {
    let (a, b) = &auth.subject;
    let portal = auth.principal.portal;
    let defs = PairTypes::load(&auth.state, portal, a, b).await?;
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    let mut seen = HashSet::new();
    // `after` in an input is ignored (§25.6): the per-record endpoint pages on.
    for i in &inputs {
        let raw = id_text(&i.id);
        match raw.trim().parse::<ObjectId>() {
            Ok(id) => {
                if seen.insert(id) {
                    ids.push(id);
                }
            }
            Err(_) => errors.push(
                ApiError::validation(format!("{raw} is not a valid object identifier."))
                    .with_context(ctx(&[("fromObjectId", vec![raw])])),
            ),
        }
    }
    let pages = auth
        .state
        .store
        .page_associations(
            portal,
            a.id.as_str(),
            b.id.as_str(),
            ids.iter().map(|id| (*id, None)).collect(),
            V3_BATCH_TARGETS,
        )
        .await?;
    let mut results = Vec::new();
    for (id, page) in ids.into_iter().zip(pages) {
        if page.targets.is_empty() {
            errors.push(
                ApiError::object_not_found(format!(
                    "No {} is associated with {} {id}.",
                    b.singular, a.singular
                ))
                .with_context(ctx(&[
                    ("fromObjectId", vec![id.to_string()]),
                    ("fromObjectType", vec![a.singular.to_owned()]),
                    ("toObjectType", vec![b.singular.to_owned()]),
                ])),
            );
            continue;
        }
        let paging = page.more.then(|| {
            let after = encode_after(b, page.targets.last().map_or(0, |t| t.to_id));
            let link = format!(
                "{}/crm/v3/objects/{}/{id}/associations/{}?after={after}",
                origin, a.id, b.id
            );
            Paging {
                next: NextPage {
                    after,
                    link: Some(link),
                },
            }
        });
        results.push(AssociationsV3Result {
            from: PublicObjectId { id: id.to_string() },
            to: v3_rows(a, b, &defs, &page.targets),
            paging,
        });
    }
    Ok(batch_response(BATCH_OK, auth.started, results, errors))
}

/// `GET /crm/v3/objects/{objectType}/{objectId}/associations/{toObjectType}`.
pub(crate) async fn associations_v3_list(
    auth: Authorized<Type>,
    Path((_, raw_id, to)): Path<(String, String, String)>,
    uri: Uri,
    RawQuery(query): RawQuery,
    Origin(origin): Origin,
) -> ApiResult<Response> {
    let from = &auth.subject;
    let to = &resolve_type(&auth.state, auth.principal.portal, &to).await?;
    // The catalogue checks the record's type; listing another type's records needs its
    // read scope too, as inline `associations` do.
    auth.principal.require(&scope::object_read(to))?;
    let id = path_id(&raw_id)?;
    let q = QueryParams::parse(query.as_deref());
    let limit = q
        .usize("limit")?
        .unwrap_or(V3_LIST_DEFAULT)
        .clamp(1, V3_LIST_DEFAULT);
    let after = match q.one("after").filter(|s| !s.is_empty()) {
        Some(t) => Some(decode_after(t)?),
        None => None,
    };
    let portal = auth.principal.portal;
    let defs = PairTypes::load(&auth.state, portal, from, to).await?;
    let page = auth
        .state
        .store
        .page_associations(
            portal,
            from.id.as_str(),
            to.id.as_str(),
            vec![(id, after)],
            limit,
        )
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let paging = page.more.then(|| {
        let after = encode_after(to, page.targets.last().map_or(0, |t| t.to_id));
        Paging {
            next: NextPage {
                link: Some(next_link(&origin, uri.path(), query.as_deref(), &after)),
                after,
            },
        }
    });
    let results = v3_rows(from, to, &defs, &page.targets);
    Ok(Json(StatusCode::OK, CollectionResponse { results, paging }).into_response())
}

/// `GET /crm/v3/associations/{fromObjectType}/{toObjectType}/types`: HubSpot's types and the
/// portal's labels for the pair, ids as strings, names as v3 writes them.
pub(crate) async fn associations_v3_types(auth: Authorized<Pair>) -> ApiResult<Response> {
    let (a, b) = &auth.subject;
    let defs = PairTypes::load(&auth.state, auth.principal.portal, a, b).await?;
    let results = defs
        .iter()
        .map(|t| AssociationTypeV3 {
            id: t.type_id.to_string(),
            name: v3_type_name(a, b, &defs, &t.category, t.type_id),
        })
        .collect();
    Ok(Json(StatusCode::OK, Results { results }).into_response())
}
