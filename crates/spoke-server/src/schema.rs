//! An object type's records on the wire: [`TypeSchema`] (`spoke_store::schema`) decides
//! what a response shows; this module only builds HubSpot's output types from it.

use spoke_core::record::{Projection, PropertySource, Shown};
use spoke_core::time::format_iso;
use spoke_core::{HistoryEntry, ObjectRecord, PortalId, PropertyValue, StoredRecord, TypeRef};
use spoke_types::objects::{PropertyValues, SimplePublicObject, ValueWithTimestamp};

pub use spoke_store::schema::TypeSchema;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Resolves an `{objectType}` path segment for the request's portal: a standard type
/// (plural, singular or type id) or one of the portal's custom types
/// (`spoke_store::schema::resolve_type`).
pub async fn resolve_type(state: &AppState, portal: PortalId, segment: &str) -> ApiResult<TypeRef> {
    let store = state.store.as_ref();
    Ok(spoke_store::schema::resolve_type(store, portal, segment).await??)
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
