//! Owners v3, settings users v3 (users, teams, roles) and account info v3
//! (hubspot-behavior-platform.md §20–§22), fields in the order HubSpot's docs show them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An owner (spec `PublicOwner`): string `id`, numeric `userId`; `teams` only when the owner
/// has teams; an archived owner has no `userId` but keeps `userIdIncludingInactive`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicOwner {
    pub id: String,
    pub email: String,
    #[serde(rename = "type")]
    pub owner_type: &'static str,
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
    pub user_id_including_inactive: i64,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<PublicOwnerTeam>,
}

/// An owner's team (owners spec `PublicTeam`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicOwnerTeam {
    pub id: String,
    pub name: String,
    pub primary: bool,
}

/// A user (settings spec `PublicUser`): string ids throughout.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicUser {
    pub id: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    pub role_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_team_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secondary_team_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seat_names: Vec<String>,
    pub send_welcome_email: bool,
    pub super_admin: bool,
}

/// `POST /settings/v3/users/` (spec `UserProvisionRequest`) and, without `email` and
/// `sendWelcomeEmail`, `PUT /settings/v3/users/{userId}` (`PublicUserUpdate`). Ids may come
/// as strings or numbers; the handler reads them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProvisionRequest {
    pub email: Option<Value>,
    pub send_welcome_email: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role_id: Option<Value>,
    pub primary_team_id: Option<Value>,
    pub secondary_team_ids: Option<Vec<Value>>,
    pub seat_names: Option<Vec<String>>,
}

/// A team (settings spec `PublicTeam`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicTeam {
    pub id: String,
    pub name: String,
    pub user_ids: Vec<String>,
    pub secondary_user_ids: Vec<String>,
}

/// A role (spec `PublicPermissionSet`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicPermissionSet {
    pub id: String,
    pub name: String,
    pub requires_billing_write: bool,
}

/// `{"results": [...]}` without paging (teams, roles, API usage), as properties lists it.
pub use crate::properties::Results;

/// `GET /account-info/v3/details` (spec `PortalInformationResponse`), in the captured order.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PortalInformationResponse {
    pub portal_id: i64,
    pub account_type: &'static str,
    pub time_zone: &'static str,
    pub company_currency: &'static str,
    pub additional_currencies: Vec<String>,
    pub utc_offset: String,
    pub utc_offset_milliseconds: i64,
    pub ui_domain: &'static str,
    pub data_hosting_location: &'static str,
}

/// One daily API usage counter (spec `ApiUsage`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiUsage {
    pub name: &'static str,
    pub usage_limit: i64,
    pub current_usage: i64,
    pub collected_at: String,
    pub fetch_status: &'static str,
    pub resets_at: String,
}
