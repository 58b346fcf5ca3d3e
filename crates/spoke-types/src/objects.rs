//! Objects v3: records, batch inputs and batch responses.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

pub use crate::associations::AssociationSpec;
use crate::error::StandardError;

/// One past value of a property (spec `ValueWithTimestamp`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ValueWithTimestamp {
    pub value: String,
    pub timestamp: String,
    pub source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
}

/// A record (spec `SimplePublicObject`, `SimplePublicObjectWithAssociations`,
/// `SimplePublicUpsertObject` when `new` is set). `P` is how the properties are held: an
/// owned map, or [`PropertyValues`] borrowed from the stored record for reads.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObject<P = BTreeMap<String, Option<String>>> {
    pub id: String,
    pub properties: P,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties_with_history: Option<BTreeMap<String, Vec<ValueWithTimestamp>>>,
    pub created_at: String,
    pub updated_at: String,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<String>,
    /// v3 association listing, when a read asks for `associations=...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub associations: Option<BTreeMap<String, CollectionResponseAssociatedId>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_write_trace_id: Option<String>,
}

/// A record's property values in name order, borrowed from the stored record where they can
/// be (`V` is the value type: any that serializes as a JSON string). Serializes exactly as the
/// owned map does; reads return up to 100 records of dozens of properties, and copying every
/// value into a fresh map was a fifth of a batch read's CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyValues<'a, V = Cow<'a, str>>(pub Vec<(&'a str, Option<V>)>);

impl<V: Serialize> Serialize for PropertyValues<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// One associated record in v3 shape (spec `AssociatedId`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssociatedId {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// Spec `CollectionResponseAssociatedId`.
pub type CollectionResponseAssociatedId = CollectionResponse<AssociatedId>;

/// Batch response envelope (spec `BatchResponseSimplePublicObject` and its `WithErrors`
/// variant): status, results, numErrors, errors, startedAt, completedAt.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse<T> {
    pub status: &'static str,
    pub results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<StandardError>,
    pub started_at: String,
    pub completed_at: String,
}

/// `paging.next` of a list response.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NextPage {
    pub after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Paging {
    pub next: NextPage,
}

/// A list page (spec `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging`, and
/// every other `CollectionResponse…ForwardPaging`: results, then `paging` when there is more).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CollectionResponse<T> {
    pub results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// `{"id": "..."}` (spec `SimplePublicObjectId`); ids may come as strings or numbers.
#[derive(Debug, Clone, Deserialize)]
pub struct SimplePublicObjectId {
    pub id: Value,
}

/// Spec `BatchReadInputSimplePublicObjectId`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchReadInput {
    pub inputs: Vec<SimplePublicObjectId>,
    pub properties: Option<Vec<String>>,
    pub properties_with_history: Option<Vec<String>>,
    pub id_property: Option<String>,
}

/// An association given on create (spec `PublicAssociationsForObject`).
#[derive(Debug, Clone, Deserialize)]
pub struct PublicAssociationsForObject {
    pub to: SimplePublicObjectId,
    #[serde(default)]
    pub types: Vec<AssociationSpec>,
}

/// Spec `SimplePublicObjectInputForCreate`. Values stay raw JSON: HubSpot coerces numbers
/// and booleans to strings, and rejects other shapes per property.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SimplePublicObjectInputForCreate {
    pub properties: BTreeMap<String, Value>,
    pub associations: Vec<PublicAssociationsForObject>,
    pub object_write_trace_id: Option<String>,
}

/// Spec `SimplePublicObjectBatchInput` (update) and `SimplePublicObjectBatchInputUpsert`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimplePublicObjectBatchInput {
    pub id: Value,
    pub id_property: Option<String>,
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
    pub object_write_trace_id: Option<String>,
}

/// Spec `SimplePublicObjectInput` (single PATCH).
#[derive(Debug, Clone, Deserialize)]
pub struct SimplePublicObjectInput {
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// `{"inputs": [...]}` for every batch endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchInput<T> {
    pub inputs: Vec<T>,
}

/// One filter of a search (spec `Filter`). Everything optional so a missing part gets a
/// HubSpot-shaped error naming it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    pub property_name: Option<String>,
    pub operator: Option<String>,
    pub value: Option<Value>,
    pub high_value: Option<Value>,
    pub values: Option<Vec<Value>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FilterGroup {
    #[serde(default)]
    pub filters: Vec<Filter>,
}

/// A sort: `{"propertyName": "...", "direction": "ASCENDING|DESCENDING"}`, or the string
/// form some clients send (`"createdate"`, `"-createdate"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SortSpec {
    Object {
        #[serde(rename = "propertyName")]
        property_name: String,
        direction: Option<String>,
    },
    Name(String),
}

/// Spec `PublicObjectSearchRequest`. `filters` outside any group is accepted, as HubSpot
/// does, and ANDed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PublicObjectSearchRequest {
    pub filter_groups: Vec<FilterGroup>,
    pub filters: Vec<Filter>,
    pub sorts: Vec<SortSpec>,
    pub query: Option<String>,
    pub properties: Option<Vec<String>>,
    pub limit: Option<Value>,
    pub after: Option<Value>,
}

/// `paging.next` of a search page: the stringified offset, no link (§7.1).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchNext {
    pub after: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchPaging {
    pub next: SearchNext,
}

/// Spec `CollectionResponseWithTotalSimplePublicObjectForwardPaging`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchResponse<T> {
    pub total: usize,
    pub results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<SearchPaging>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The borrowed form must be indistinguishable on the wire from the owned map.
    #[test]
    fn property_values_serialize_like_the_owned_map() {
        let stored = String::from("a \"quoted\" value");
        let borrowed: PropertyValues<'_> = PropertyValues(vec![
            ("email", Some(Cow::Borrowed(stored.as_str()))),
            ("firstname", None),
            ("hs_object_id", Some(Cow::Owned("17".to_owned()))),
        ]);
        let owned: BTreeMap<String, Option<String>> = borrowed
            .0
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_ref().map(|v| v.to_string())))
            .collect();
        assert_eq!(
            serde_json::to_string(&borrowed).unwrap(),
            serde_json::to_string(&owned).unwrap()
        );
    }
}
