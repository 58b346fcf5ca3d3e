//! A stored record and HubSpot's rules for which of its properties a response shows.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::object_type::ObjectType;
use crate::time::{format_iso, Millis};

/// A HubSpot account. Every record, property and token belongs to exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortalId(pub i64);

/// A record id. HubSpot ids exceed 32 bits; on the wire they are strings in objects v3.
pub type ObjectId = i64;

/// One past value of a property (`propertiesWithHistory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub value: String,
    pub timestamp: Millis,
    pub source_type: String,
    pub source_id: Option<String>,
}

/// A record as storage holds it: only non-empty stored values; the id and the
/// create/modified dates are columns, projected into properties on output.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord {
    pub id: ObjectId,
    pub properties: BTreeMap<String, String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
    /// Newest first, only for the properties a read asked history for.
    pub history: BTreeMap<String, Vec<HistoryEntry>>,
}

/// Which properties a response shows (hubspot-behavior.md §1.4).
#[derive(Debug, Clone, Copy)]
pub enum Projection<'a> {
    /// No `properties` given: the type's default set, `null` where unset.
    Defaults,
    /// An explicit list: the known ones (value or `null`) plus id and create/modified dates.
    Requested(&'a [String]),
    /// Write responses: every non-empty property, never `null`.
    AllNonEmpty,
}

impl ObjectRecord {
    /// The value of a property the record computes from itself, if `name` is one.
    pub fn record_property(&self, ty: &ObjectType, name: &str) -> Option<String> {
        if name == "hs_object_id" {
            Some(self.id.to_string())
        } else if name == ty.createdate_property || name == "hs_createdate" || name == "createdate"
        {
            ty.is_record_property(name)
                .then(|| format_iso(self.created_at))
        } else if name == ty.modified_property || name == "hs_lastmodifieddate" {
            Some(format_iso(self.updated_at))
        } else {
            None
        }
    }

    /// Writes `changes` into the record's properties (an empty value clears one) and
    /// returns the real changes only: history keeps those, and a repeated value is not a new
    /// version of it. Both stores apply updates through this.
    pub fn apply_changes(&mut self, changes: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut changed = BTreeMap::new();
        for (name, value) in changes {
            let old = self.properties.get(&name).map_or("", String::as_str);
            if old == value {
                continue;
            }
            if value.is_empty() {
                self.properties.remove(&name);
            } else {
                self.properties.insert(name.clone(), value.clone());
            }
            changed.insert(name, value);
        }
        changed
    }

    /// Applies a projection: the (name, value) pairs a response shows, in name order, each
    /// name once, borrowing stored values (only computed ones are built). `known` says
    /// whether a property name exists for the type; requested names that do not are
    /// silently left out, as HubSpot does.
    pub fn project<'a>(
        &'a self,
        ty: &ObjectType,
        projection: Projection<'a>,
        known: impl Fn(&str) -> bool,
    ) -> Vec<(&'a str, Option<Cow<'a, str>>)> {
        let always = ["hs_object_id", ty.createdate_property, ty.modified_property];
        let mut names: Vec<&'a str> = match projection {
            Projection::Defaults => ty.default_properties.to_vec(),
            Projection::Requested(names) => names
                .iter()
                .map(String::as_str)
                .filter(|n| known(n))
                .chain(always)
                .collect(),
            Projection::AllNonEmpty => self
                .properties
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, _)| k.as_str())
                .chain(always)
                .collect(),
        };
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|name| {
                let value = match self.record_property(ty, name) {
                    Some(computed) => Some(Cow::Owned(computed)),
                    None => self
                        .properties
                        .get(name)
                        .filter(|v| !v.is_empty())
                        .map(|v| Cow::Borrowed(v.as_str())),
                };
                (name, value)
            })
            .collect()
    }
}
