//! Associations v4 (associations-v4.json, associations-schema-v4.json). Object ids that the
//! specs type as strings are JSON numbers in real responses where noted (§0, §3.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::objects::CollectionResponse;
pub use crate::objects::{NextPage, Paging, SimplePublicObjectId as PublicObjectIdIn};

/// `{"id": "..."}` in responses: always a string.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicObjectId {
    pub id: String,
}

/// Spec `PublicFetchAssociationsBatchRequest`.
#[derive(Debug, Clone, Deserialize)]
pub struct FetchRequest {
    pub id: Value,
    pub after: Option<String>,
}

/// Spec `AssociationSpec` (request and default-association response).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSpec {
    pub association_category: String,
    pub association_type_id: i64,
}

/// Spec `AssociationSpecWithLabel` / `MultiAssociatedObjectWithLabel.associationTypes[]`.
///
/// `S` is the text type: `String` when owned, `&str` when a read's answer borrows each
/// link's category and label from what storage and the pair's definitions hold (a v4 batch
/// read carries up to 1,000 links per 100 from-ids; copying two strings for each was a
/// tenth of its allocations).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssociationSpecWithLabel<S = String> {
    pub category: S,
    pub type_id: i64,
    pub label: Option<S>,
}

/// Spec `MultiAssociatedObjectWithLabel`: `toObjectId` is a number on the wire (§0).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MultiAssociatedObjectWithLabel<S = String> {
    pub to_object_id: i64,
    pub association_types: Vec<AssociationSpecWithLabel<S>>,
}

/// Spec `PublicAssociationMultiWithLabel`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicAssociationMultiWithLabel<S = String> {
    pub from: PublicObjectId,
    pub to: Vec<MultiAssociatedObjectWithLabel<S>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paging: Option<Paging>,
}

/// Spec `CollectionResponseMultiAssociatedObjectWithLabelForwardPaging`.
pub type AssociationsPage<S = String> = CollectionResponse<MultiAssociatedObjectWithLabel<S>>;

/// Spec `PublicAssociationMultiPost` (batch create, labels archive).
#[derive(Debug, Clone, Deserialize)]
pub struct AssociationMultiPost {
    pub from: PublicObjectIdIn,
    pub to: PublicObjectIdIn,
    #[serde(default)]
    pub types: Vec<AssociationSpec>,
}

/// Spec `PublicDefaultAssociationMultiPost`.
#[derive(Debug, Clone, Deserialize)]
pub struct DefaultAssociationPost {
    pub from: PublicObjectIdIn,
    pub to: PublicObjectIdIn,
}

/// Spec `PublicAssociationMultiArchive`.
#[derive(Debug, Clone, Deserialize)]
pub struct AssociationMultiArchive {
    pub from: PublicObjectIdIn,
    pub to: Vec<PublicObjectIdIn>,
}

/// Spec `LabelsBetweenObjectPair`: object ids are numbers, type ids strings (§3.5).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LabelsBetweenObjectPair {
    pub from_object_type_id: String,
    pub from_object_id: i64,
    pub to_object_type_id: String,
    pub to_object_id: i64,
    pub labels: Vec<String>,
}

/// Spec `PublicDefaultAssociation`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublicDefaultAssociation {
    pub from: PublicObjectId,
    pub to: PublicObjectId,
    pub association_spec: AssociationSpec,
}

/// Spec `PublicAssociationDefinitionCreateRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelCreate {
    pub label: Option<String>,
    pub name: Option<String>,
    pub inverse_label: Option<String>,
}

/// Spec `PublicAssociationDefinitionUpdateRequest`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelUpdate {
    pub association_type_id: Option<i64>,
    pub label: Option<String>,
    pub inverse_label: Option<String>,
}
