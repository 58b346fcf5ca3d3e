//! HubSpot's CRM wire types, named as HubSpot's OpenAPI specs name them.
//!
//! Field order is HubSpot's observed key order (hubspot-behavior.md §0, §1.2, §2.1), so
//! spoke's compact JSON reads like HubSpot's. No I/O here; the server converts between
//! these and the domain.
//!
//! Layout: [`objects`] (objects v3, and the envelopes every API shares: batch responses,
//! `CollectionResponse` pages and their `paging`), [`associations`] (associations v4),
//! [`properties`] (properties v3), [`schemas`] (custom object schemas), [`legacy`] (the v1/v2 reads and associations v3 that
//! connectors still call), [`error`] (error bodies). `tests/wire.rs` pins the exact
//! JSON of each.
//!
//! Request types read a missing or `null` optional field as `None` (serde does so for any
//! `Option` field); `#[serde(default)]` is only on the collections a request may leave out.

pub mod associations;
pub mod directory;
pub mod error;
pub mod legacy;
pub mod objects;
pub mod pipelines;
pub mod properties;
pub mod schemas;
