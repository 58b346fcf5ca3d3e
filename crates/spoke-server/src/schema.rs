//! An object type's records on the wire: [`TypeSchema`] (`spoke_store::schema`) decides
//! what a response shows; this module only builds HubSpot's output types from it.

use spoke_core::record::{Projection, PropertySource, Shown};
use spoke_core::time::format_iso;
use spoke_core::{
    HistoryEntry, ObjectRecord, ObjectType, PortalId, PropertyValue, Segment, StoredRecord, TypeRef,
};
use spoke_types::objects::{PropertyValues, SimplePublicObject, ValueWithTimestamp};

pub use spoke_store::schema::TypeSchema;

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use spoke_store::schema::UnknownObjectType;
use spoke_store::StoreResult;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Resolves an `{objectType}` path segment for the request's portal: a standard type
/// (plural, singular or type id) or one of the portal's custom types
/// (`spoke_store::schema::resolve_type`), through the app's [`CustomTypes`].
pub async fn resolve_type(state: &AppState, portal: PortalId, segment: &str) -> ApiResult<TypeRef> {
    Ok(try_resolve_type(state, portal, segment).await??)
}

/// [`resolve_type`], with an unknown type as a value rather than an error.
pub async fn try_resolve_type(
    state: &AppState,
    portal: PortalId,
    segment: &str,
) -> StoreResult<Result<TypeRef, UnknownObjectType>> {
    // Standard types never touch the cache: the catalogue answers them without I/O.
    if let Segment::Standard(ty) = ObjectType::parse_segment(segment, portal) {
        return Ok(Ok(ty));
    }
    let cache = &state.custom_types;
    let generation = match cache.get(portal, segment) {
        Ok(ty) => return Ok(Ok(ty)),
        Err(generation) => generation,
    };
    let resolved = spoke_store::schema::resolve_type(state.store.as_ref(), portal, segment).await?;
    if let Ok(ty) = &resolved {
        cache.put(portal, segment, ty, generation);
    }
    Ok(resolved)
}

/// Custom types this process resolved in the last [`CustomTypes::FRESH`], by portal and
/// path segment. Without it every request naming a custom type pays one more store round
/// trip than a standard type (the catalogue needs none): 13% of a PostgreSQL list page at
/// concurrency 1 (BENCHMARKS.md, issue 12). This process forgets a portal's entries when it
/// changes the portal's schemas (schemas API, admin reset, restore, delete), so its own
/// answers never lag; another process on the same PostgreSQL database may go on serving a
/// schema it archived or changed for up to `FRESH` (docs/compatibility.md). A miss always
/// reads the store, so a new schema is usable everywhere at once.
#[derive(Default)]
pub struct CustomTypes {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    /// By portal, then path segment (looked up by `&str`, without allocating).
    types: HashMap<PortalId, HashMap<Box<str>, (TypeRef, Instant)>>,
    /// Counts [`CustomTypes::forget`]s: a read that began before one must not store what
    /// it read (it may be the schema just changed).
    generation: u64,
}

impl CustomTypes {
    pub const FRESH: Duration = Duration::from_secs(1);
    /// A bound on memory: past it the cache starts over (each entry is refilled by one read).
    const MAX_ENTRIES: usize = 4096;

    /// A fresh entry, or the generation a miss must hand back to [`Self::put`].
    fn get(&self, portal: PortalId, segment: &str) -> Result<TypeRef, u64> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.types.get(&portal).and_then(|t| t.get(segment)) {
            Some((ty, at)) if at.elapsed() < Self::FRESH => Ok(ty.clone()),
            _ => Err(entries.generation),
        }
    }

    fn put(&self, portal: PortalId, segment: &str, ty: &TypeRef, generation: u64) {
        if ty.custom.is_none() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != generation {
            return;
        }
        if entries.types.values().map(HashMap::len).sum::<usize>() >= Self::MAX_ENTRIES {
            entries.types.clear();
        }
        let types = entries.types.entry(portal).or_default();
        types.insert(Box::from(segment), (ty.clone(), Instant::now()));
    }

    /// Forgets every custom type of `portal`: its schemas just changed.
    pub fn forget(&self, portal: PortalId) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.generation += 1;
        entries.types.remove(&portal);
    }
}

/// Records of a [`TypeSchema`] in HubSpot's output shape.
pub trait WireSchema {
    /// A record in HubSpot's output shape, owning its values (write responses, which the
    /// handlers amend).
    fn to_wire(
        &self,
        record: &ObjectRecord,
        projection: Projection<'_>,
        history: &[String],
    ) -> SimplePublicObject;

    /// A record a write returned in HubSpot's output shape, borrowing its values.
    fn view<'a>(
        &'a self,
        record: &'a ObjectRecord,
        projection: Projection<'a>,
        history: &[String],
    ) -> SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>;

    /// A record a read returned in HubSpot's output shape: its stored values are copied
    /// into the response as their JSON text. They were written by spoke; text that does
    /// not decode means a damaged database, an internal error.
    fn view_stored<'a>(
        &self,
        record: &'a StoredRecord,
        shown: &Shown<'a>,
        history: &[String],
    ) -> ApiResult<SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>>;
}

impl WireSchema for TypeSchema {
    fn to_wire(
        &self,
        record: &ObjectRecord,
        projection: Projection<'_>,
        history: &[String],
    ) -> SimplePublicObject {
        let view = self.view(record, projection, history);
        SimplePublicObject {
            id: view.id,
            properties: view
                .properties
                .0
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.map(|v| v.into_text().into_owned())))
                .collect(),
            properties_with_history: view.properties_with_history,
            created_at: view.created_at,
            updated_at: view.updated_at,
            archived: view.archived,
            archived_at: view.archived_at,
            associations: view.associations,
            new: view.new,
            object_write_trace_id: view.object_write_trace_id,
        }
    }

    fn view<'a>(
        &'a self,
        record: &'a ObjectRecord,
        projection: Projection<'a>,
        history: &[String],
    ) -> SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>> {
        let Ok(view) = view_of(self, record, &self.shown(projection), history);
        view
    }

    fn view_stored<'a>(
        &self,
        record: &'a StoredRecord,
        shown: &Shown<'a>,
        history: &[String],
    ) -> ApiResult<SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>> {
        view_of(self, record, shown, history)
            .map_err(|e| ApiError::internal(format!("stored values of record {}: {e}", record.id)))
    }
}

fn view_of<'a, P: PropertySource>(
    schema: &TypeSchema,
    record: &'a ObjectRecord<P>,
    shown: &Shown<'a>,
    history: &[String],
) -> Result<SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>, P::Error> {
    let properties_with_history = schema.histories(record, history).map(|histories| {
        histories
            .into_iter()
            .map(|(name, entries)| (name.to_owned(), entries.iter().map(wire_entry).collect()))
            .collect()
    });
    Ok(SimplePublicObject {
        id: record.id.to_string(),
        properties: PropertyValues(record.project(shown)?),
        properties_with_history,
        created_at: format_iso(record.created_at),
        updated_at: format_iso(record.updated_at),
        archived: record.archived_at.is_some(),
        archived_at: record.archived_at.map(format_iso),
        associations: None,
        new: None,
        object_write_trace_id: None,
    })
}

fn wire_entry(h: &HistoryEntry) -> ValueWithTimestamp {
    ValueWithTimestamp {
        value: h.value.clone(),
        timestamp: format_iso(h.timestamp),
        source_type: h.source_type.clone(),
        source_id: h.source_id.clone(),
    }
}
