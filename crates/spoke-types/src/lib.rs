//! HubSpot's CRM wire types, named as HubSpot's OpenAPI specs name them.
//!
//! Field order is HubSpot's observed key order (hubspot-behavior.md §0, §1.2, §2.1), so
//! spoke's compact JSON reads like HubSpot's. No I/O here; the server converts between
//! these and the domain.
//!
//! Layout: [`objects`] (objects v3), [`properties`] (properties v3), [`error`] (error bodies).

pub mod associations;
pub mod error;
pub mod objects;
pub mod properties;
