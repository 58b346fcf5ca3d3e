//! One object type as a request sees it: the type and its live property definitions
//! (HubSpot-defined ones from the catalogue plus the portal's custom ones), with the
//! conversions between wire values and validated domain values.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use spoke_core::catalog::builtin_properties;
use spoke_core::record::{Projection, PropertySource, Shown};
use spoke_core::time::format_iso;
use spoke_core::{
    ObjectRecord, ObjectType, PortalId, PropertyDefinition, PropertyError, PropertyValue,
    StoredRecord,
};
use spoke_types::objects::{PropertyValues, SimplePublicObject, ValueWithTimestamp};

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Resolves an `{objectType}` path segment (plural, singular or type id).
pub fn object_type(segment: &str) -> ApiResult<&'static ObjectType> {
    ObjectType::resolve(segment).ok_or_else(|| ApiError::unknown_object_type(segment))
}

pub struct TypeSchema {
    pub ty: &'static ObjectType,
    pub portal: PortalId,
    props: HashMap<String, PropertyDefinition>,
}

impl TypeSchema {
    pub async fn load(
        state: &AppState,
        portal: PortalId,
        ty: &'static ObjectType,
    ) -> ApiResult<Self> {
        let mut props: HashMap<String, PropertyDefinition> = builtin_properties(ty)
            .iter()
            .map(|p| (p.name.clone(), p.clone()))
            .collect();
        for p in state.store.list_properties(portal, ty.id.0).await? {
            if !p.archived {
                props.insert(p.name.clone(), p);
            }
        }
        Ok(Self { ty, portal, props })
    }

    pub fn get(&self, name: &str) -> Option<&PropertyDefinition> {
        self.props.get(name)
    }

    /// Contact `email` and every `hasUniqueValue` property: usable as `idProperty`.
    pub fn is_unique(&self, name: &str) -> bool {
        (self.ty.id.0 == "0-1" && name == "email")
            || self.props.get(name).is_some_and(|p| p.has_unique_value)
    }

    pub fn unique_properties(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .props
            .keys()
            .filter(|n| self.is_unique(n))
            .cloned()
            .collect();
        out.sort();
        out
    }

    /// Normalizes a unique value the way writes store it (emails are lowercased).
    pub fn normalize_key(&self, property: &str, value: &str) -> String {
        match self.props.get(property) {
            Some(def) => def.normalize(value).unwrap_or_else(|_| value.to_owned()),
            None => value.to_owned(),
        }
    }

    /// Validates a write's property values; all failures of the input are reported.
    pub fn validate(
        &self,
        input: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, String>, Vec<PropertyError>> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, raw) in input {
            let Some(def) = self.props.get(name) else {
                errors.push(PropertyError::doesnt_exist(name));
                continue;
            };
            if let Err(e) = def.check_writable() {
                errors.push(e);
                continue;
            }
            let text = match raw {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                other => {
                    errors.push(PropertyError::new(
                        name,
                        "INVALID_PROPERTY_VALUE",
                        format!("{other} is not a valid value for {name}: values are strings"),
                    ));
                    continue;
                }
            };
            match def.normalize(&text) {
                Ok(v) => {
                    out.insert(name.clone(), v);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// A record in HubSpot's output shape, owning its values (write responses, which the
    /// handlers amend).
    pub fn to_wire(
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

    /// A record a write returned in HubSpot's output shape, borrowing its values.
    pub fn view<'a>(
        &self,
        record: &'a ObjectRecord,
        projection: Projection<'a>,
        history: &[String],
    ) -> SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>> {
        let Ok(view) = self.view_of(record, &self.shown(projection), history);
        view
    }

    /// The projection resolved for this type, once per read for all its records.
    pub fn shown<'a>(&self, projection: Projection<'a>) -> Shown<'a> {
        projection.resolve(self.ty, |n| self.props.contains_key(n))
    }

    /// A record a read returned in HubSpot's output shape: its stored values are copied into
    /// the response as their JSON text. They were written by spoke; text that does not
    /// decode means a damaged database, an internal error.
    pub fn view_stored<'a>(
        &self,
        record: &'a StoredRecord,
        shown: &Shown<'a>,
        history: &[String],
    ) -> ApiResult<SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>> {
        self.view_of(record, shown, history)
            .map_err(|e| ApiError::internal(format!("stored values of record {}: {e}", record.id)))
    }

    fn view_of<'a, P: PropertySource>(
        &self,
        record: &'a ObjectRecord<P>,
        shown: &Shown<'a>,
        history: &[String],
    ) -> Result<SimplePublicObject<PropertyValues<'a, PropertyValue<'a>>>, P::Error> {
        let properties_with_history = (!history.is_empty()).then(|| {
            history
                .iter()
                .filter(|n| self.props.contains_key(n.as_str()))
                .map(|n| (n.clone(), self.history_of(record, n)))
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

    fn history_of<P>(&self, record: &ObjectRecord<P>, name: &str) -> Vec<ValueWithTimestamp> {
        if let Some(entries) = record.history.get(name).filter(|e| !e.is_empty()) {
            return entries
                .iter()
                .map(|h| ValueWithTimestamp {
                    value: h.value.clone(),
                    timestamp: format_iso(h.timestamp),
                    source_type: h.source_type.clone(),
                    source_id: h.source_id.clone(),
                })
                .collect();
        }
        // Properties computed from the record have one value, set when it was created.
        match record.record_property(self.ty, name) {
            Some(value) => vec![ValueWithTimestamp {
                timestamp: format_iso(if value == format_iso(record.updated_at) {
                    record.updated_at
                } else {
                    record.created_at
                }),
                value,
                source_type: "CALCULATED".into(),
                source_id: None,
            }],
            None => Vec::new(),
        }
    }
}
