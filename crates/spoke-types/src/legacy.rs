//! The legacy read shapes connectors still call (hubspot-behavior-platform.md §25):
//! property listings v1/v2 (bare arrays), companies v2 and deals v1 records (ids as JSON
//! numbers, each property with its `versions`), and associations v3 (`{id, type}` rows).
//! Times here are epoch milliseconds, as the legacy APIs give them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::associations::PublicObjectId;
use crate::objects::{AssociatedId, Paging};

/// One option of a legacy enumeration property (v1 docs' field set).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LegacyPropertyOption {
    pub description: Option<String>,
    pub label: String,
    pub value: String,
    pub display_order: i32,
    pub hidden: bool,
    pub read_only: bool,
    pub double_data: Option<f64>,
}

/// A property definition as `/properties/v1|v2/{type}/properties` list it: the v2 field set
/// of the captured fixture, plus the v1 fields a captured v1 property also carries.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LegacyProperty {
    pub name: String,
    pub label: String,
    pub description: String,
    pub group_name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field_type: String,
    pub hidden: bool,
    pub options: Vec<LegacyPropertyOption>,
    pub calculated: bool,
    pub external_options: bool,
    pub is_customized_default: bool,
    pub deleted: Option<bool>,
    pub created_at: Option<i64>,
    pub updated_at: Option<i64>,
    pub display_order: i32,
    pub read_only_value: bool,
    pub read_only_definition: bool,
    pub mutable_definition_not_deletable: bool,
    pub favorited: bool,
    pub favorited_order: i32,
    pub display_mode: String,
    pub show_currency_symbol: Option<bool>,
    pub created_user_id: Option<i64>,
    pub text_display_hint: Option<String>,
    pub number_display_hint: Option<String>,
    pub options_are_mutable: Option<bool>,
    pub referenced_object_type: Option<String>,
    pub form_field: bool,
    pub hubspot_defined: Option<bool>,
    pub updated_user_id: Option<i64>,
    pub searchable_in_global_search: bool,
    pub has_unique_value: bool,
    pub currency_property_name: Option<String>,
}

/// One version of a legacy property value, newest first in `versions`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LegacyVersion {
    pub name: String,
    pub value: String,
    pub timestamp: i64,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    pub source_vid: Vec<i64>,
}

/// `properties.{name}` of a legacy record: the current value with its newest version's
/// time and source.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LegacyValue {
    pub value: String,
    pub timestamp: i64,
    pub source: String,
    pub source_id: Option<String>,
    pub versions: Vec<LegacyVersion>,
}

/// A companies v2 record.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CompanyV2 {
    pub portal_id: i64,
    pub company_id: i64,
    pub is_deleted: bool,
    pub properties: BTreeMap<String, LegacyValue>,
    pub additional_domains: Vec<Value>,
    /// Only on the single-company read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_changes: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_audits: Option<Vec<Value>>,
}

/// `GET /companies/v2/companies/paged`: note the hyphen in `has-more`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompaniesPage {
    pub companies: Vec<CompanyV2>,
    #[serde(rename = "has-more")]
    pub has_more: bool,
    pub offset: i64,
}

/// A v1 deal's associated record ids, as numbers.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DealAssociations {
    pub associated_vids: Vec<i64>,
    pub associated_company_ids: Vec<i64>,
    pub associated_deal_ids: Vec<i64>,
    pub associated_ticket_ids: Vec<i64>,
}

/// A deals v1 record.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DealV1 {
    pub portal_id: i64,
    pub deal_id: i64,
    pub is_deleted: bool,
    /// Only with `includeAssociations=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associations: Option<DealAssociations>,
    pub properties: BTreeMap<String, LegacyValue>,
    pub imports: Vec<Value>,
    pub state_changes: Vec<Value>,
}

/// `GET /deals/v1/deal/paged`: camelCase `hasMore`, unlike companies v2.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DealsPage {
    pub deals: Vec<DealV1>,
    pub has_more: bool,
    pub offset: i64,
}

/// One result of the associations v3 batch read: every (id, type) of the from record,
/// with a `paging` to the per-record endpoint when more targets remain.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssociationsV3Result {
    pub from: PublicObjectId,
    pub to: Vec<AssociatedId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// One association type of `GET /crm/v3/associations/{from}/{to}/types` (id as a string).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssociationTypeV3 {
    pub id: String,
    pub name: String,
}
