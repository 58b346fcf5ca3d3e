//! spoke's CRM domain: what HubSpot's CRM *means*, independent of HTTP and SQL.
//!
//! Layout:
//! - [`object_type`]: what an object type is (ids, names, scopes, default properties) and
//!   how a name or id resolves to one.
//! - [`catalog`]: the built-in object types and their HubSpot-defined properties and groups.
//! - [`custom`]: a portal's custom object schema as stored.
//! - [`property`]: property definitions and the value rules that turn what a client sent
//!   into the string spoke stores.
//! - [`record`]: a stored record and how it is projected onto HubSpot's output rules.
//! - [`association`]: HubSpot's built-in association types (ids, inverses, labels) and the
//!   limits on custom labels.
//! - [`search`]: the search AST every backend compiles, and its reference semantics (the
//!   text fold, token matching).
//! - [`time`]: HubSpot's timestamp formats.
//! - [`scope`]: each type's scope alternatives (its lists in [`catalog`]) and how a grant
//!   satisfies them; which list an operation needs is the server's operation catalogue.
//!
//! A type's live property set (built-in plus a portal's custom properties) needs stored
//! state, so it is `spoke_store::schema`; token minting is `spoke_store::tokens`.

pub mod association;
pub mod catalog;
pub mod custom;
pub mod object_type;
pub mod property;
pub mod record;
pub mod scope;
pub mod search;
pub mod time;

pub use custom::CustomSchema;
pub use object_type::{
    CustomOrigin, DefaultPipeline, DefaultStage, ObjectType, ObjectTypeId, Pipelined, Segment,
    TypeRef, UniqueProperty,
};
pub use property::{PropertyDefinition, PropertyError, PropertyType};
pub use record::{
    HistoryEntry, ObjectId, ObjectRecord, PortalId, PropertyMap, PropertyValue, StoredProperties,
    StoredRecord,
};
