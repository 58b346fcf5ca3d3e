//! `POST /crm/v3/objects/{objectType}/search` (hubspot-behavior.md §7.1): the request is
//! checked against HubSpot's limits and the type's properties, compiled into the core's
//! search AST, and run by the store in the database.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use spoke_core::property::PropertyType;
use spoke_core::search::{
    fold, Condition, Field, Filter, Kind, Operand, SearchQuery, Sort, DEFAULT_LIMIT, MAX_FILTERS,
    MAX_FILTERS_PER_GROUP, MAX_GROUPS, MAX_LIMIT, MAX_QUERY_CHARS, MAX_RESULTS,
};
use spoke_core::time::{parse_iso, parse_ymd};
use spoke_core::{scope, TypeRef};
use spoke_types::objects::{
    Filter as WireFilter, PublicObjectSearchRequest, SearchNext, SearchPaging, SearchResponse,
    SortSpec,
};

use crate::catalogue::Authorized;
use crate::error::{ApiError, ApiResult};
use crate::handlers::missing_fields;
use crate::handlers::objects::projection;
use crate::schema::{TypeSchema, WireSchema};
use crate::wire::{Body, Json};

pub(crate) async fn search(
    auth: Authorized<TypeSchema>,
    Body(input): Body<PublicObjectSearchRequest>,
) -> ApiResult<Response> {
    let schema = &auth.subject;
    let linked = linked_types(&auth, &input).await?;
    let query = compile(schema, &linked, &input)?;
    // An `associations.{type}` filter tells which records are linked to a record of another
    // type, so it needs that type's read scope too, as every association read does.
    for filter in query.groups.iter().flatten() {
        if let Field::Association { to_type } = &filter.field {
            if let Some(to) = linked.values().find(|t| t.id == to_type.as_str()) {
                auth.principal.require(&scope::object_read(to))?;
            }
        }
    }
    let page = auth
        .state
        .store
        .search_objects(schema.portal, schema.ty.id.as_str(), &query)
        .await?;
    let next = query.offset + query.limit;
    // Past HubSpot's 10,000-result window there is no next page to offer.
    let paging = (next < page.total && next < MAX_RESULTS).then(|| SearchPaging {
        next: SearchNext {
            after: next.to_string(),
        },
    });
    let shown = schema.shown(projection(&input.properties));
    let results = page
        .records
        .iter()
        .map(|r| schema.view_stored(r, &shown, &[]))
        .collect::<ApiResult<_>>()?;
    Ok(Json(
        StatusCode::OK,
        SearchResponse {
            total: page.total,
            results,
            paging,
        },
    )
    .into_response())
}

/// The types the request's `associations.{type}` filters and sort name, by the name as
/// written; a name that names no type of the portal is left out (`field` refuses it).
type Linked = HashMap<String, TypeRef>;

/// Resolves the `associations.{type}` names of a request before it is compiled: a custom
/// type needs the store. At most as many distinct names as a valid request can hold are
/// looked up; a request with more is refused by `compile` anyway.
async fn linked_types(
    auth: &Authorized<TypeSchema>,
    input: &PublicObjectSearchRequest,
) -> ApiResult<Linked> {
    let filters = input
        .filter_groups
        .iter()
        .flat_map(|g| g.filters.iter())
        .chain(&input.filters)
        .filter_map(|f| f.property_name.as_deref());
    let sort = input.sorts.first().map(|spec| match spec {
        SortSpec::Object { property_name, .. } => property_name.as_str(),
        SortSpec::Name(n) => n.strip_prefix('-').unwrap_or(n),
    });
    let mut names: Vec<&str> = filters
        .chain(sort)
        .filter_map(|n| n.strip_prefix("associations."))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Linked::new();
    for name in names.into_iter().take(MAX_FILTERS + 1) {
        let store = auth.state.store.as_ref();
        let portal = auth.principal.portal;
        if let Ok(ty) = spoke_store::schema::resolve_type(store, portal, name).await? {
            out.insert(name.to_owned(), ty);
        }
    }
    Ok(out)
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::validation(message)
}

fn number_or_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn usize_param(v: Option<&Value>, name: &str) -> ApiResult<Option<usize>> {
    match v.map(number_or_string) {
        None => Ok(None),
        Some(Some(s)) if s.is_empty() => Ok(None),
        Some(Some(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| bad(format!("{name} must be a non-negative integer, got {s}"))),
        Some(None) => Err(bad(format!("{name} must be a non-negative integer"))),
    }
}

fn compile(
    schema: &TypeSchema,
    linked: &Linked,
    input: &PublicObjectSearchRequest,
) -> ApiResult<SearchQuery> {
    let limit = usize_param(input.limit.as_ref(), "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    let offset = usize_param(input.after.as_ref(), "after")?.unwrap_or(0);
    if offset >= MAX_RESULTS {
        return Err(bad(format!(
            "Search results are limited to {MAX_RESULTS} records: after must be less than {MAX_RESULTS}"
        )));
    }
    let text = input
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty());
    if text.is_some_and(|q| q.chars().count() > MAX_QUERY_CHARS) {
        return Err(bad(format!(
            "query is longer than the maximum of {MAX_QUERY_CHARS} characters"
        )));
    }

    let mut groups: Vec<&[WireFilter]> = input
        .filter_groups
        .iter()
        .map(|g| g.filters.as_slice())
        .collect();
    if !input.filters.is_empty() {
        groups.push(&input.filters);
    }
    if groups.len() > MAX_GROUPS {
        return Err(bad(format!(
            "Too many filter groups: {} (the maximum is {MAX_GROUPS})",
            groups.len()
        )));
    }
    if let Some(g) = groups.iter().find(|g| g.len() > MAX_FILTERS_PER_GROUP) {
        return Err(bad(format!(
            "Too many filters in a filter group: {} (the maximum is {MAX_FILTERS_PER_GROUP})",
            g.len()
        )));
    }
    let total: usize = groups.iter().map(|g| g.len()).sum();
    if total > MAX_FILTERS {
        return Err(bad(format!(
            "Too many filters: {total} (the maximum is {MAX_FILTERS} across all filter groups)"
        )));
    }
    let groups = groups
        .into_iter()
        .map(|g| {
            g.iter()
                .map(|f| compile_filter(schema, linked, f))
                .collect()
        })
        .collect::<ApiResult<Vec<Vec<Filter>>>>()?;

    let sort = match input.sorts.first() {
        None => None,
        Some(spec) => {
            let (name, descending) = match spec {
                SortSpec::Object {
                    property_name,
                    direction,
                } => (
                    property_name.as_str(),
                    direction
                        .as_deref()
                        .is_some_and(|d| d.eq_ignore_ascii_case("DESCENDING")),
                ),
                SortSpec::Name(n) => match n.strip_prefix('-') {
                    Some(rest) => (rest, true),
                    None => (n.as_str(), false),
                },
            };
            Some(Sort {
                field: field(schema, linked, name)?,
                descending,
            })
        }
    };

    // No page reaches past HubSpot's 10,000-result window.
    let limit = limit.min(MAX_RESULTS - offset);
    Ok(SearchQuery {
        groups,
        text: text.map(fold),
        text_properties: schema
            .ty
            .text_search_properties
            .iter()
            .filter(|p| schema.get(p).is_some())
            .cloned()
            .collect(),
        sort,
        offset,
        limit,
    })
}

/// What a property name means for search: a record column, an association, or a value.
fn field(schema: &TypeSchema, linked: &Linked, name: &str) -> ApiResult<Field> {
    if let Some(to) = name.strip_prefix("associations.") {
        let ty = linked
            .get(to)
            .ok_or_else(|| bad(format!("Unable to infer object type from: {to}")))?;
        return Ok(Field::Association {
            to_type: ty.id.as_str().to_owned(),
        });
    }
    let def = schema
        .get(name)
        .ok_or_else(|| bad(format!("Property \"{name}\" does not exist")))?;
    let ty = &schema.ty;
    if name == "hs_object_id" {
        return Ok(Field::Id);
    }
    if ty.is_record_property(name) {
        if name == ty.modified_property || name == "hs_lastmodifieddate" {
            return Ok(Field::UpdatedAt);
        }
        return Ok(Field::CreatedAt);
    }
    let kind = match def.kind {
        PropertyType::Number => Kind::Number,
        PropertyType::String | PropertyType::PhoneNumber => Kind::Text,
        PropertyType::Bool => Kind::Bool,
        PropertyType::Enumeration if def.field_type == "checkbox" => Kind::Multi,
        PropertyType::Enumeration => Kind::Exact,
        PropertyType::Datetime => Kind::Datetime,
        PropertyType::Date => Kind::Date,
    };
    Ok(Field::Property {
        name: name.to_owned(),
        kind,
        unique_index: ty.unique_property(name).is_some_and(|u| u.lowercase),
    })
}

/// Parses a filter value for the field's type.
fn operand(field: &Field, name: &str, v: &Value) -> ApiResult<Operand> {
    let text = number_or_string(v).ok_or_else(|| bad(format!("Invalid value for {name}: {v}")))?;
    let instant = |s: &str| {
        s.parse::<i64>()
            .ok()
            .or_else(|| parse_iso(s))
            .or_else(|| parse_ymd(s))
            .map(Operand::Millis)
            .ok_or_else(|| {
                bad(format!(
                    "{s} is not a valid date or datetime value for {name}"
                ))
            })
    };
    match field {
        Field::Id | Field::Association { .. } => text
            .parse()
            .map(Operand::Id)
            .map_err(|_| bad(format!("{text} is not a valid object id for {name}"))),
        Field::CreatedAt | Field::UpdatedAt => instant(&text),
        Field::Property { kind, .. } => match kind {
            Kind::Number => text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(Operand::Number)
                .ok_or_else(|| bad(format!("{text} is not a valid number for {name}"))),
            Kind::Datetime | Kind::Date => instant(&text),
            Kind::Text => Ok(Operand::Text(fold(&text))),
            Kind::Bool => Ok(Operand::Text(text.to_lowercase())),
            Kind::Exact | Kind::Multi => Ok(Operand::Text(text)),
        },
    }
}

fn compile_filter(schema: &TypeSchema, linked: &Linked, f: &WireFilter) -> ApiResult<Filter> {
    if let Some(missing) = missing_fields(&[
        ("propertyName", f.property_name.is_some()),
        ("operator", f.operator.is_some()),
    ]) {
        return Err(bad(format!(
            "Cannot build Filter, some of required attributes are not set [{missing}]"
        )));
    }
    let name = f.property_name.as_deref().unwrap_or_default();
    let op = f
        .operator
        .as_deref()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let field = field(schema, linked, name)?;
    let value = || {
        f.value
            .as_ref()
            .filter(|v| !v.is_null())
            .ok_or_else(|| bad(format!("operator {op} requires a value")))
            .and_then(|v| operand(&field, name, v))
    };
    let values = || {
        let list = f
            .values
            .as_ref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("operator {op} requires values")))?;
        list.iter()
            .map(|v| operand(&field, name, v))
            .collect::<ApiResult<Vec<_>>>()
    };
    let token = || {
        f.value
            .as_ref()
            .and_then(number_or_string)
            .map(|s| fold(&s))
            .ok_or_else(|| bad(format!("operator {op} requires a value")))
    };
    let condition = match op.as_str() {
        "EQ" => Condition::Eq(value()?),
        "NEQ" => Condition::Neq(value()?),
        "LT" => Condition::Lt(value()?),
        "LTE" => Condition::Lte(value()?),
        "GT" => Condition::Gt(value()?),
        "GTE" => Condition::Gte(value()?),
        "BETWEEN" => {
            let high = f
                .high_value
                .as_ref()
                .filter(|v| !v.is_null())
                .ok_or_else(|| bad("operator BETWEEN requires a highValue"))?;
            Condition::Between(value()?, operand(&field, name, high)?)
        }
        "IN" => Condition::In(values()?),
        "NOT_IN" => Condition::NotIn(values()?),
        "HAS_PROPERTY" => Condition::HasProperty,
        "NOT_HAS_PROPERTY" => Condition::NotHasProperty,
        "CONTAINS_TOKEN" => Condition::ContainsToken(token()?),
        "NOT_CONTAINS_TOKEN" => Condition::NotContainsToken(token()?),
        other => {
            return Err(bad(format!(
                "Unknown operator {other}. Use one of: EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN"
            )))
        }
    };
    // A record column (id, create and modified dates) is a number, not text with tokens;
    // the core's `search::check` refuses this too, so it must not reach a backend.
    if field.is_column()
        && matches!(
            condition,
            Condition::ContainsToken(_) | Condition::NotContainsToken(_)
        )
    {
        return Err(bad(format!(
            "operator {op} is not supported for property {name}: it applies to text properties only"
        )));
    }
    if matches!(field, Field::Association { .. })
        && !matches!(condition, Condition::Eq(_) | Condition::In(_))
    {
        return Err(bad(format!(
            "Association filters support only EQ and IN, not {op}"
        )));
    }
    Ok(Filter { field, condition })
}
