//! spoke's CRM domain: what HubSpot's CRM *means*, independent of HTTP and SQL.
//!
//! Layout:
//! - [`object_type`]: the built-in object types (ids, names, scopes, default properties).
//! - [`property`]: property definitions, the built-in catalogue, and value validation.
//! - [`record`]: a stored record and how it is projected onto HubSpot's output rules.
//! - [`time`]: HubSpot's timestamp formats.
//! - [`scope`]: scope names and the checks each operation needs.

pub mod association;
pub mod catalog;
pub mod object_type;
pub mod property;
pub mod record;
pub mod scope;
pub mod search;
pub mod time;

pub use object_type::{ObjectType, ObjectTypeId};
pub use property::{PropertyDefinition, PropertyError, PropertyType};
pub use record::{
    HistoryEntry, ObjectId, ObjectRecord, PortalId, PropertyMap, PropertyValue, StoredProperties,
    StoredRecord,
};
