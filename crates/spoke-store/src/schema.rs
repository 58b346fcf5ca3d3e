//! One object type as a portal sees it: the type and its live property definitions
//! (HubSpot-defined ones from the catalogue plus the portal's custom ones), with the rules
//! that depend on that set: which values a write may set and how they are normalized,
//! which properties are unique, which a response shows and with which history.
//!
//! The API and `spoke import` validate through this one type, so a row the import accepts
//! is exactly a write the API accepts. Turning records into wire types is the server's.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use spoke_core::record::{Projection, Shown};
use spoke_core::time::{format_iso, Millis};
use spoke_core::{
    HistoryEntry, ObjectRecord, ObjectType, PortalId, PropertyDefinition, Segment, TypeRef,
};
use spoke_core::{PropertyError, PropertyMap};

use crate::schemas::{SchemaKey, SchemaStore};
use crate::{PropertyStore, StoreResult, WriteContext, WriteSource};

/// A path segment or command-line argument that names no object type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unable to infer object type from: {0}")]
pub struct UnknownObjectType(pub String);

/// The standard object type a name (plural or singular) or type id stands for.
pub fn object_type(segment: &str) -> Result<TypeRef, UnknownObjectType> {
    ObjectType::standard(segment).ok_or_else(|| UnknownObjectType(segment.to_owned()))
}

/// The object type a path segment (or command-line argument) names for `portal`: a
/// standard type from the catalogue, without reading anything, else one of the portal's
/// live custom types (`2-{number}`, `p{portal}_{name}`, `p_{name}`; §40.2). Another
/// portal's custom type, an archived one and a bare schema name are unknown, as HubSpot
/// answers them.
pub async fn resolve_type<S: SchemaStore + ?Sized>(
    store: &S,
    portal: PortalId,
    segment: &str,
) -> StoreResult<Result<TypeRef, UnknownObjectType>> {
    let unknown = || UnknownObjectType(segment.to_owned());
    let key = match ObjectType::parse_segment(segment, portal) {
        Segment::Standard(ty) => return Ok(Ok(ty)),
        Segment::CustomNumber(n) => SchemaKey::Number(n),
        Segment::CustomName(name) => SchemaKey::Name(name),
        Segment::Unknown => return Ok(Err(unknown())),
    };
    let schema = store.find_schema(portal, key).await?;
    Ok(schema
        .filter(|s| s.portal == portal && !s.archived)
        .map(|s| Arc::new(ObjectType::from_custom(&s)))
        .ok_or_else(unknown))
}

/// The property that names a record's owner by owner id (never a user id).
pub const OWNER_PROPERTY: &str = "hubspot_owner_id";

#[derive(Debug, Clone)]
pub struct TypeSchema {
    pub ty: TypeRef,
    pub portal: PortalId,
    /// The portal's live custom ones, which win over a built-in of the same name.
    custom: HashMap<String, PropertyDefinition>,
    /// The portal's live owner ids, when the request writes values: `hubspot_owner_id`
    /// must name one of them (HubSpot's `INVALID_OWNER_ID`). `None` checks nothing.
    owners: Option<HashSet<String>>,
}

impl TypeSchema {
    /// The type's built-in properties plus the live ones of `custom` (a custom property
    /// of a built-in's name replaces it; archived ones are left out).
    pub fn new(
        ty: TypeRef,
        portal: PortalId,
        custom: impl IntoIterator<Item = PropertyDefinition>,
    ) -> Self {
        // Built from every request: the built-ins are borrowed, not copied.
        let custom = custom
            .into_iter()
            .filter(|p| !p.archived)
            .map(|p| (p.name.clone(), p))
            .collect();
        Self {
            ty,
            portal,
            custom,
            owners: None,
        }
    }

    /// Holds the `hubspot_owner_id` values of a write to the portal's live owners. The
    /// directory is read only when one of the write's `inputs` names that property, so
    /// writes that leave owners alone (most of them) cost no extra reads.
    pub async fn hold_owners<'a, S, V>(
        &mut self,
        store: &S,
        inputs: impl IntoIterator<Item = &'a BTreeMap<String, V>>,
    ) -> StoreResult<()>
    where
        S: crate::directory::DirectoryStore + ?Sized,
        V: 'a,
    {
        let sets_owner = |v: &BTreeMap<String, V>| v.contains_key(OWNER_PROPERTY);
        if self.get(OWNER_PROPERTY).is_none() || !inputs.into_iter().any(sets_owner) {
            return Ok(());
        }
        let directory = store.read_directory(self.portal).await?;
        let live = directory.users.iter().filter(|u| !u.removed());
        self.owners = Some(live.map(|u| u.owner_id.to_string()).collect());
        Ok(())
    }

    /// The schema as the portal's properties stand now.
    pub async fn load<S: PropertyStore + ?Sized>(
        store: &S,
        portal: PortalId,
        ty: TypeRef,
    ) -> StoreResult<Self> {
        let custom = store.list_properties(portal, ty.id.as_str()).await?;
        Ok(Self::new(ty, portal, custom))
    }

    pub fn get(&self, name: &str) -> Option<&PropertyDefinition> {
        self.custom.get(name).or_else(|| {
            // The type's definitions, shared by every request, sorted by name.
            let builtin = self.ty.builtin_properties();
            let i = builtin
                .binary_search_by(|p| p.name.as_str().cmp(name))
                .ok()?;
            builtin.get(i)
        })
    }

    /// The type's required properties a create's validated `values` leave unset (an
    /// empty value clears, so it does not count), in the catalogue's order.
    pub fn missing_required(&self, values: &PropertyMap) -> Vec<String> {
        self.ty
            .required_on_create
            .iter()
            .filter(|name| values.get(name.as_str()).is_none_or(|v| v.is_empty()))
            .cloned()
            .collect()
    }

    /// Whether `name` is the type's pipeline or stage property.
    pub fn is_pipeline_property(&self, name: &str) -> bool {
        self.ty
            .pipelines
            .is_some_and(|p| p.pipeline_property == name || p.stage_property == name)
    }

    /// Whether a write's values touch the type's pipeline or stage: then the write needs
    /// the portal's pipelines ([`crate::pipelines::check_record`]).
    pub fn touches_pipelines<'a, V: 'a>(
        &self,
        inputs: impl IntoIterator<Item = &'a BTreeMap<String, V>>,
    ) -> bool {
        inputs
            .into_iter()
            .any(|values| values.keys().any(|k| self.is_pipeline_property(k)))
    }

    /// The type's unique properties by HubSpot's definition (contact `email`) and every
    /// `hasUniqueValue` property: usable as `idProperty`.
    pub fn is_unique(&self, name: &str) -> bool {
        self.ty.unique_property(name).is_some()
            || self.get(name).is_some_and(|p| p.has_unique_value)
    }

    pub fn unique_properties(&self) -> Vec<String> {
        let names = self.ty.builtin_properties().iter().map(|p| p.name.as_str());
        let mut out: Vec<String> = names
            .chain(self.custom.keys().map(String::as_str))
            .filter(|n| self.is_unique(n))
            .map(str::to_owned)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What a write of this type tells the store besides its items.
    pub fn write_context(&self, now: Millis, source: WriteSource, atomic: bool) -> WriteContext {
        WriteContext {
            portal: self.portal,
            object_type: self.ty.id.as_str().to_owned(),
            now,
            source,
            unique_properties: self.unique_properties(),
            atomic,
        }
    }

    /// Normalizes a unique value the way writes store it (emails are lowercased).
    pub fn normalize_key(&self, property: &str, value: &str) -> String {
        match self.get(property) {
            Some(def) => def.normalize(value).unwrap_or_else(|_| value.to_owned()),
            None => value.to_owned(),
        }
    }

    /// Validates a write's property values into the strings spoke stores (the empty string
    /// clears a property); every failure of the input is reported. Values may be any JSON
    /// scalar, as HubSpot accepts numbers and booleans; `null` clears.
    pub fn validate(
        &self,
        input: &BTreeMap<String, Value>,
    ) -> Result<PropertyMap, Vec<PropertyError>> {
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, raw) in input {
            let Some(def) = self.get(name) else {
                errors.push(PropertyError::doesnt_exist(name));
                continue;
            };
            if let Err(e) = def.check_writable() {
                errors.push(e);
                continue;
            }
            let text = match raw {
                Value::String(s) => Cow::Borrowed(s.as_str()),
                Value::Number(n) => Cow::Owned(n.to_string()),
                Value::Bool(b) => Cow::Owned(b.to_string()),
                Value::Null => Cow::Borrowed(""),
                other => {
                    errors.push(PropertyError::new(
                        name,
                        "INVALID_PROPERTY_VALUE",
                        format!("{other} is not a valid value for {name}: values are strings"),
                    ));
                    continue;
                }
            };
            // A pipelined type's pipeline and stage are checked against the portal's
            // pipelines (`pipelines::check_record`), not against options.
            if self.is_pipeline_property(name) {
                if text.contains('\0') || text.trim() != text {
                    errors.push(PropertyError::new(
                        name,
                        "INVALID_OPTION",
                        format!("{} was not one of the allowed options", text.escape_debug()),
                    ));
                } else {
                    out.insert(name.clone(), text.into_owned());
                }
                continue;
            }
            match def.normalize(&text) {
                Ok(v) if !v.is_empty() && self.is_unknown_owner(name, &v) => {
                    errors.push(PropertyError::new(
                        name,
                        "INVALID_OWNER_ID",
                        format!("{v} is not a valid owner id"),
                    ));
                }
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

    fn is_unknown_owner(&self, name: &str, value: &str) -> bool {
        name == OWNER_PROPERTY && self.owners.as_ref().is_some_and(|ids| !ids.contains(value))
    }

    /// The projection resolved for this type, once per read for all its records;
    /// requested names the type does not have are left out.
    pub fn shown<'a>(&'a self, projection: Projection<'a>) -> Shown<'a> {
        projection.resolve(&self.ty, |n| self.get(n).is_some())
    }

    /// A record's `propertiesWithHistory`: each of `names` the type has, in the order
    /// asked, with its values newest first; `None` when no history was asked for.
    #[allow(clippy::type_complexity)]
    pub fn histories<'a, 'n, P>(
        &self,
        record: &'a ObjectRecord<P>,
        names: &'n [String],
    ) -> Option<Vec<(&'n str, Cow<'a, [HistoryEntry]>)>> {
        (!names.is_empty()).then(|| {
            names
                .iter()
                .filter(|n| self.get(n).is_some())
                .map(|n| (n.as_str(), self.history(record, n)))
                .collect()
        })
    }

    fn history<'a, P>(&self, record: &'a ObjectRecord<P>, name: &str) -> Cow<'a, [HistoryEntry]> {
        if let Some(entries) = record.history.get(name).filter(|e| !e.is_empty()) {
            return Cow::Borrowed(entries);
        }
        // Properties computed from the record have one value, set when it was created
        // (the modified date: when it was last modified).
        match record.record_property(&self.ty, name) {
            Some(value) => Cow::Owned(vec![HistoryEntry {
                timestamp: if value == format_iso(record.updated_at) {
                    record.updated_at
                } else {
                    record.created_at
                },
                value,
                source_type: "CALCULATED".into(),
                source_id: None,
            }]),
            None => Cow::Borrowed(&[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contacts() -> TypeRef {
        object_type("contacts").expect("contacts")
    }

    #[test]
    fn every_builtin_is_found_by_name_and_a_custom_one_wins() {
        for ty in ObjectType::all() {
            let schema = TypeSchema::new(ty.clone(), PortalId(1), []);
            for p in ty.builtin_properties() {
                assert_eq!(schema.get(&p.name), Some(p), "{} {}", ty.name, p.name);
            }
        }
        let mut own = custom("firstname", true, false);
        own.label = "Mine".into();
        let schema = TypeSchema::new(contacts(), PortalId(1), [own.clone()]);
        assert_eq!(schema.get("firstname"), Some(&own));
        assert_eq!(schema.unique_properties(), ["email", "firstname"]);
    }

    fn custom(name: &str, unique: bool, archived: bool) -> PropertyDefinition {
        let mut def = contacts()
            .builtin_properties()
            .iter()
            .find(|p| p.name == "firstname")
            .expect("firstname")
            .clone();
        def.name = name.to_owned();
        def.has_unique_value = unique;
        def.archived = archived;
        def
    }

    fn schema() -> TypeSchema {
        TypeSchema::new(
            contacts(),
            PortalId(1),
            [
                custom("loyalty_id", true, false),
                custom("old_field", false, true),
            ],
        )
    }

    fn input(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn object_types_resolve_by_name_singular_and_id() {
        for name in ["contacts", "contact", "0-1"] {
            assert_eq!(
                object_type(name).map(|t| t.id.as_str().to_owned()),
                Ok("0-1".into())
            );
        }
        let err = object_type("widgets").expect_err("unknown");
        assert_eq!(err.to_string(), "Unable to infer object type from: widgets");
    }

    #[test]
    fn live_custom_properties_join_the_builtin_ones() {
        let s = schema();
        assert!(s.get("email").is_some());
        assert!(s.get("loyalty_id").is_some());
        assert!(s.get("old_field").is_none(), "archived properties are gone");
    }

    #[test]
    fn unique_properties_are_contact_email_and_has_unique_value_ones() {
        let s = schema();
        assert!(s.is_unique("email"));
        assert!(s.is_unique("loyalty_id"));
        assert!(!s.is_unique("firstname"));
        assert_eq!(s.unique_properties(), ["email", "loyalty_id"]);
        let ctx = s.write_context(
            5,
            WriteSource {
                source_type: "IMPORT".into(),
                source_id: None,
            },
            true,
        );
        assert_eq!(ctx.object_type, "0-1");
        assert_eq!(ctx.unique_properties, ["email", "loyalty_id"]);
        assert_eq!(s.normalize_key("email", "A@Example.COM"), "a@example.com");
        assert_eq!(s.normalize_key("nope", "A"), "A");
    }

    #[test]
    fn validation_normalizes_scalars_and_reports_every_failure() {
        let s = schema();
        let ok = s
            .validate(&input(&[
                ("email", json!("Ann@Example.COM")),
                ("firstname", json!(42)),
                ("lastname", json!(true)),
                ("phone", Value::Null),
            ]))
            .expect("valid");
        assert_eq!(ok["email"], "ann@example.com");
        assert_eq!(ok["firstname"], "42");
        assert_eq!(ok["lastname"], "true");
        assert_eq!(ok["phone"], "", "null clears");

        let errors = s
            .validate(&input(&[
                ("nope", json!("x")),
                ("old_field", json!("x")),
                ("hs_object_id", json!("1")),
                ("firstname", json!({"a": 1})),
                ("email", json!("not an email")),
            ]))
            .expect_err("invalid");
        let codes: Vec<(&str, &str)> = errors.iter().map(|e| (e.name.as_str(), e.code)).collect();
        assert_eq!(
            codes,
            [
                ("email", "INVALID_EMAIL"),
                ("firstname", "INVALID_PROPERTY_VALUE"),
                ("hs_object_id", "READ_ONLY_VALUE"),
                ("nope", "PROPERTY_DOESNT_EXIST"),
                ("old_field", "PROPERTY_DOESNT_EXIST"),
            ]
        );
    }

    #[test]
    fn history_keeps_known_names_and_computes_record_properties() {
        let s = schema();
        let mut record = ObjectRecord {
            id: 7,
            properties: PropertyMap::new(),
            created_at: 1_000,
            updated_at: 2_000,
            archived_at: None,
            history: BTreeMap::new(),
        };
        let entry = HistoryEntry {
            value: "Ann".into(),
            timestamp: 1_500,
            source_type: "API".into(),
            source_id: None,
        };
        record
            .history
            .insert("firstname".into(), vec![entry.clone()]);
        assert!(s.histories(&record, &[]).is_none());
        let names: Vec<String> = ["firstname", "nope", "hs_object_id", "lastmodifieddate"]
            .map(String::from)
            .to_vec();
        let h = s.histories(&record, &names).expect("asked");
        let names: Vec<&str> = h.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["firstname", "hs_object_id", "lastmodifieddate"]);
        assert_eq!(h[0].1.as_ref(), [entry]);
        assert_eq!(h[1].1[0].value, "7");
        assert_eq!(h[1].1[0].timestamp, 1_000);
        assert_eq!(h[1].1[0].source_type, "CALCULATED");
        assert_eq!(
            h[2].1[0].timestamp, 2_000,
            "the modified date is when it changed"
        );
    }
}
