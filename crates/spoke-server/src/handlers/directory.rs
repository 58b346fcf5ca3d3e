//! Owners v3, settings users v3 (users, teams, roles) and account info v3
//! (hubspot-behavior-platform.md §20–§22; decisions in docs/compatibility.md, "Owners, users,
//! teams, roles and account info"). Owners are users seen from the CRM: each user is one
//! owner, with an owner id of its own; a removed user's owner is archived.

use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use spoke_core::time::{format_iso, now_millis, Millis};
use spoke_store::directory::{
    Directory, DirectoryRefusal, DirectoryUser, DirectoryWrite, UserChange, UserFields, UserKey,
};
use spoke_types::directory::{
    ApiUsage, PortalInformationResponse, PublicOwner, PublicOwnerTeam, PublicPermissionSet,
    PublicTeam, PublicUser, Results, UserProvisionRequest,
};
use spoke_types::objects::{CollectionResponse, NextPage, Paging};
use time::{Date, Month, OffsetDateTime};

use super::missing_required;
use crate::catalogue::Authorized;
use crate::error::{ApiError, ApiResult};
use crate::wire::{next_link, Body, Json, Origin, QueryParams};

/// Owners and users pages: HubSpot's default, and the largest page spoke serves (HubSpot's
/// maximum is undocumented; singer asks for 500). Larger limits are clamped.
const LIST_DEFAULT: usize = 100;
const LIST_MAX: usize = 500;

async fn directory(auth: &Authorized<()>) -> ApiResult<Directory> {
    Ok(auth
        .state
        .store
        .read_directory(auth.principal.portal)
        .await?)
}

/// `limit` (clamped to 1..=500) and `after`, the id of the next item to return (the
/// decimal cursor objects lists use), as the id the page starts after.
fn page_params(q: &QueryParams) -> ApiResult<(usize, Option<i64>)> {
    let limit = q.usize("limit")?.unwrap_or(LIST_DEFAULT).clamp(1, LIST_MAX);
    let after = match q.one("after").filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let n = a.trim().parse::<i64>().map_err(|_| {
                ApiError::validation(format!("Invalid value for query parameter after: {a}"))
            })?;
            Some(n.saturating_sub(1))
        }
    };
    Ok((limit, after))
}

/// The next page's `paging`, when more follow `last` (the page's last id).
fn paging(
    more: bool,
    last: Option<i64>,
    origin: &str,
    uri: &Uri,
    query: Option<&str>,
) -> Option<Paging> {
    let last = last.filter(|_| more)?;
    let after = last.saturating_add(1).to_string();
    Some(Paging {
        next: NextPage {
            link: Some(next_link(origin, uri.path(), query, &after)),
            after,
        },
    })
}

fn owner_view(dir: &Directory, u: &DirectoryUser) -> PublicOwner {
    let mut teams = Vec::new();
    if let Some(t) = u.primary_team_id.and_then(|id| dir.team(id)) {
        teams.push(PublicOwnerTeam {
            id: t.id.to_string(),
            name: t.name.clone(),
            primary: true,
        });
    }
    for t in u.secondary_team_ids.iter().filter_map(|id| dir.team(*id)) {
        if !teams.iter().any(|seen| seen.id == t.id.to_string()) {
            teams.push(PublicOwnerTeam {
                id: t.id.to_string(),
                name: t.name.clone(),
                primary: false,
            });
        }
    }
    PublicOwner {
        id: u.owner_id.to_string(),
        email: u.email.clone(),
        owner_type: "PERSON",
        first_name: u.first_name.clone().unwrap_or_default(),
        last_name: u.last_name.clone().unwrap_or_default(),
        user_id: (!u.removed()).then_some(u.id),
        user_id_including_inactive: u.id,
        created_at: format_iso(u.created_at),
        updated_at: format_iso(u.updated_at),
        archived: u.removed(),
        teams,
    }
}

fn user_view(u: &DirectoryUser, send_welcome_email: bool) -> PublicUser {
    let role_id = u.role_id.map(|r| r.to_string());
    PublicUser {
        id: u.id.to_string(),
        email: u.email.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        role_ids: role_id.iter().cloned().collect(),
        role_id,
        primary_team_id: u.primary_team_id.map(|t| t.to_string()),
        secondary_team_ids: u.secondary_team_ids.iter().map(i64::to_string).collect(),
        seat_names: u.seat_names.clone(),
        send_welcome_email,
        super_admin: u.super_admin,
    }
}

/// `GET /crm/v3/owners[/]`.
pub(crate) async fn list_owners(
    auth: Authorized<()>,
    uri: Uri,
    RawQuery(query): RawQuery,
    Origin(origin): Origin,
) -> ApiResult<Response> {
    let q = QueryParams::parse(query.as_deref());
    let (limit, after) = page_params(&q)?;
    let archived = q.bool("archived")?;
    let email = q.one("email").filter(|e| !e.is_empty());
    let dir = directory(&auth).await?;
    let (owners, more) = dir.owner_page(archived, email, after, limit);
    let last = owners.last().map(|u| u.owner_id);
    let body = CollectionResponse {
        results: owners.into_iter().map(|u| owner_view(&dir, u)).collect(),
        paging: paging(more, last, &origin, &uri, query.as_deref()),
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `GET /crm/v3/owners/{ownerId}`.
pub(crate) async fn read_owner(
    auth: Authorized<()>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let q = QueryParams::parse(query.as_deref());
    let by_user_id = match q.one("idProperty").unwrap_or("id") {
        "id" | "" => false,
        "userId" => true,
        other => {
            return Err(ApiError::validation(format!(
                "Invalid value for query parameter idProperty: {other} (expected id or userId)"
            )))
        }
    };
    let archived = q.bool("archived")?;
    let not_found = || ApiError::object_not_found(format!("Owner {raw} not found"));
    let id = raw.trim().parse::<i64>().map_err(|_| not_found())?;
    let dir = directory(&auth).await?;
    let owner = dir.owner(id, by_user_id, archived).ok_or_else(not_found)?;
    Ok(Json(StatusCode::OK, owner_view(&dir, owner)).into_response())
}

/// `GET /settings/v3/users[/]` (and `/settings/users/v3`).
pub(crate) async fn list_users(
    auth: Authorized<()>,
    uri: Uri,
    RawQuery(query): RawQuery,
    Origin(origin): Origin,
) -> ApiResult<Response> {
    let q = QueryParams::parse(query.as_deref());
    let (limit, after) = page_params(&q)?;
    let dir = directory(&auth).await?;
    let (users, more) = dir.user_page(after, limit);
    let last = users.last().map(|u| u.id);
    let body = CollectionResponse {
        results: users.into_iter().map(|u| user_view(u, false)).collect(),
        paging: paging(more, last, &origin, &uri, query.as_deref()),
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// How the path names a user (`idProperty=USER_ID|EMAIL`).
fn user_key(raw: &str, query: Option<&str>) -> ApiResult<UserKey> {
    let q = QueryParams::parse(query);
    match q.one("idProperty").unwrap_or("USER_ID") {
        "USER_ID" | "" => raw
            .trim()
            .parse()
            .map(UserKey::Id)
            .map_err(|_| user_not_found(raw)),
        "EMAIL" => Ok(UserKey::Email(raw.trim().to_owned())),
        other => Err(ApiError::validation(format!(
            "Invalid value for query parameter idProperty: {other} (expected USER_ID or EMAIL)"
        ))),
    }
}

fn user_not_found(raw: &str) -> ApiError {
    ApiError::object_not_found(format!("User {raw} not found"))
}

/// An id sent as a string or a number; anything else names no team or role.
fn ref_id(v: &serde_json::Value, what: &str) -> ApiResult<i64> {
    let parsed = match v {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_i64(),
        _ => None,
    };
    parsed
        .ok_or_else(|| ApiError::validation(format!("{what} {} does not exist", super::id_text(v))))
}

fn fields(body: &UserProvisionRequest) -> ApiResult<UserFields> {
    let role_id = body
        .role_id
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| ref_id(v, "Role"))
        .transpose()?;
    let primary_team_id = body
        .primary_team_id
        .as_ref()
        .filter(|v| !v.is_null())
        .map(|v| ref_id(v, "Team"))
        .transpose()?;
    let secondary_team_ids = body
        .secondary_team_ids
        .as_ref()
        .map(|ids| ids.iter().map(|v| ref_id(v, "Team")).collect())
        .transpose()?;
    Ok(UserFields {
        first_name: body.first_name.clone(),
        last_name: body.last_name.clone(),
        role_id,
        primary_team_id,
        secondary_team_ids,
        seat_names: body.seat_names.clone(),
    })
}

fn refused(refusal: DirectoryRefusal, raw: &str) -> ApiError {
    match refusal {
        DirectoryRefusal::NotFound => user_not_found(raw),
        DirectoryRefusal::EmailTaken(email) => {
            ApiError::conflict(format!("A user with email {email} already exists"))
        }
        DirectoryRefusal::UnknownTeam(id) => {
            ApiError::validation(format!("Team {id} does not exist"))
        }
        DirectoryRefusal::UnknownRole(id) => {
            ApiError::validation(format!("Role {id} does not exist"))
        }
    }
}

pub(crate) async fn write(
    auth: &Authorized<()>,
    change: UserChange,
    raw: &str,
) -> ApiResult<DirectoryUser> {
    let write = DirectoryWrite {
        portal: auth.principal.portal,
        now: now_millis(),
        change,
    };
    auth.state
        .store
        .write_directory(write)
        .await?
        .map_err(|r| refused(r, raw))
}

/// A create body as the change it asks for, with the email as sent (for messages).
pub(crate) fn user_create(body: &UserProvisionRequest) -> ApiResult<(UserChange, String)> {
    let raw = match &body.email {
        None | Some(serde_json::Value::Null) => return Err(missing_required("email")),
        Some(v) => super::id_text(v),
    };
    let email = spoke_core::property::normalize_email(&raw)
        .ok_or_else(|| ApiError::validation(format!("Email address {raw} is invalid")))?;
    let change = UserChange::Create {
        email,
        fields: fields(body)?,
    };
    Ok((change, raw))
}

/// `POST /settings/v3/users[/]`: 201 with the new user (its owner is created with it).
pub(crate) async fn create_user(
    auth: Authorized<()>,
    Body(body): Body<UserProvisionRequest>,
) -> ApiResult<Response> {
    let (change, raw) = user_create(&body)?;
    let user = write(&auth, change, &raw).await?;
    let welcome = body.send_welcome_email.unwrap_or(false);
    Ok(Json(StatusCode::CREATED, user_view(&user, welcome)).into_response())
}

/// `GET /settings/v3/users/{userId}`.
pub(crate) async fn read_user(
    auth: Authorized<()>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let key = user_key(&raw, query.as_deref())?;
    let dir = directory(&auth).await?;
    let user = dir.user(&key).ok_or_else(|| user_not_found(&raw))?;
    Ok(Json(StatusCode::OK, user_view(user, false)).into_response())
}

/// `PUT /settings/v3/users/{userId}`: fields left out keep their values; email cannot change.
pub(crate) async fn update_user(
    auth: Authorized<()>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
    Body(body): Body<UserProvisionRequest>,
) -> ApiResult<Response> {
    let key = user_key(&raw, query.as_deref())?;
    let change = UserChange::Update {
        key,
        fields: fields(&body)?,
    };
    let user = write(&auth, change, &raw).await?;
    Ok(Json(StatusCode::OK, user_view(&user, false)).into_response())
}

/// `DELETE /settings/v3/users/{userId}`: 204; the user's owner is archived.
pub(crate) async fn remove_user(
    auth: Authorized<()>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let key = user_key(&raw, query.as_deref())?;
    write(&auth, UserChange::Remove { key }, &raw).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /settings/v3/users/teams`: every team with its live members' user ids.
pub(crate) async fn list_teams(auth: Authorized<()>) -> ApiResult<Response> {
    let dir = directory(&auth).await?;
    let ids = |v: Vec<i64>| v.into_iter().map(|i| i.to_string()).collect();
    let results = dir
        .teams
        .iter()
        .map(|t| {
            let (primary, secondary) = dir.team_members(t.id);
            PublicTeam {
                id: t.id.to_string(),
                name: t.name.clone(),
                user_ids: ids(primary),
                secondary_user_ids: ids(secondary),
            }
        })
        .collect();
    Ok(Json(StatusCode::OK, Results { results }).into_response())
}

/// `GET /settings/v3/users/roles`.
pub(crate) async fn list_roles(auth: Authorized<()>) -> ApiResult<Response> {
    let dir = directory(&auth).await?;
    let results = dir
        .roles
        .iter()
        .map(|r| PublicPermissionSet {
            id: r.id.to_string(),
            name: r.name.clone(),
            requires_billing_write: r.requires_billing_write,
        })
        .collect();
    Ok(Json(StatusCode::OK, Results { results }).into_response())
}

/// Every portal's account settings: a standard North American account keeping US Eastern
/// time and US dollars, as HubSpot's docs example.
const TIME_ZONE: &str = "US/Eastern";

/// US Eastern's offset from UTC at `ms`, in milliseconds: -4 h from the second Sunday of
/// March, 2:00 local (7:00 UTC), to the first Sunday of November, 2:00 local (6:00 UTC);
/// -5 h otherwise (the US rule since 2007).
pub(crate) fn us_eastern_offset(ms: Millis) -> i64 {
    const HOUR: i64 = 3_600_000;
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return -5 * HOUR;
    };
    let sunday = |month: Month, nth: u8| {
        Date::from_calendar_date(at.year(), month, 1)
            .ok()
            .map(|first| {
                let to_sunday = (7 - first.weekday().number_days_from_sunday()) % 7;
                first.midnight().assume_utc().unix_timestamp() * 1000
                    + (i64::from(to_sunday) + 7 * (i64::from(nth) - 1)) * 24 * HOUR
            })
    };
    let (Some(start), Some(end)) = (sunday(Month::March, 2), sunday(Month::November, 1)) else {
        return -5 * HOUR;
    };
    if ms >= start + 7 * HOUR && ms < end + 6 * HOUR {
        -4 * HOUR
    } else {
        -5 * HOUR
    }
}

/// `±HH:MM`.
fn format_offset(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let minutes = ms.abs() / 60_000;
    format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `GET /account-info/v3/details`.
pub(crate) async fn account_details(auth: Authorized<()>) -> ApiResult<Response> {
    let offset = us_eastern_offset(now_millis());
    let body = PortalInformationResponse {
        portal_id: auth.principal.portal.0,
        account_type: "STANDARD",
        time_zone: TIME_ZONE,
        company_currency: "USD",
        additional_currencies: Vec::new(),
        utc_offset: format_offset(offset),
        utc_offset_milliseconds: offset,
        ui_domain: "app.hubspot.com",
        data_hosting_location: "na1",
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

/// `GET /account-info/v3/api-usage/daily/private-apps`: spoke does not count calls, so the
/// counter is always 0; it resets at the next midnight of the account's time zone.
pub(crate) async fn api_usage(_: Authorized<()>) -> ApiResult<Response> {
    const DAY: i64 = 86_400_000;
    let now = now_millis();
    let offset = us_eastern_offset(now);
    let local_midnight = (now + offset).div_euclid(DAY) * DAY + DAY;
    let resets = local_midnight - us_eastern_offset(local_midnight - offset);
    let body = Results {
        results: vec![ApiUsage {
            name: "private-apps-api-calls-daily",
            usage_limit: 1_000_000,
            current_usage: 0,
            collected_at: format_iso(now),
            fetch_status: "SUCCESS",
            resets_at: format_iso(resets),
        }],
    };
    Ok(Json(StatusCode::OK, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_eastern_follows_daylight_saving_time() {
        let at = |s: &str| spoke_core::time::parse_iso(s).expect("an instant");
        let hour = 3_600_000;
        assert_eq!(us_eastern_offset(at("2026-01-15T12:00:00Z")), -5 * hour);
        assert_eq!(us_eastern_offset(at("2026-07-01T12:00:00Z")), -4 * hour);
        // 2026: DST from 8 March 07:00 UTC to 1 November 06:00 UTC.
        assert_eq!(us_eastern_offset(at("2026-03-08T06:59:59Z")), -5 * hour);
        assert_eq!(us_eastern_offset(at("2026-03-08T07:00:00Z")), -4 * hour);
        assert_eq!(us_eastern_offset(at("2026-11-01T05:59:59Z")), -4 * hour);
        assert_eq!(us_eastern_offset(at("2026-11-01T06:00:00Z")), -5 * hour);
        assert_eq!(format_offset(-4 * hour), "-04:00");
        assert_eq!(format_offset(0), "+00:00");
    }
}
