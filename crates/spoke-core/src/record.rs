//! A stored record and HubSpot's rules for which of its properties a response shows.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::object_type::ObjectType;
use crate::time::{format_iso, Iso, Millis};

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

/// A record's current values as writes build them: name to non-empty value.
pub type PropertyMap = BTreeMap<String, String>;

/// A record as storage holds it: only non-empty stored values; the id and the
/// create/modified dates are columns, projected into properties on output. Writes work on
/// a [`PropertyMap`]; reads return a [`StoredRecord`], whose values stay the JSON text
/// storage keeps until a response copies them out.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectRecord<P = PropertyMap> {
    pub id: ObjectId,
    pub properties: P,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
    /// Newest first, only for the properties a read asked history for.
    pub history: BTreeMap<String, Vec<HistoryEntry>>,
}

/// A record as a read returns it.
pub type StoredRecord = ObjectRecord<StoredProperties>;

/// A record's values as storage keeps them: one JSON object of non-empty string values,
/// the encoding of a [`PropertyMap`] (so its keys are in name order).
///
/// Reads do not decode it into a map: a response finds the requested names in the text
/// and copies each value's JSON string literal as it is. Decoding every value into its own
/// `String` and escaping it again on output cost a fifth of a batch read's CPU (allocation
/// and copying; BENCHMARKS.md, finding 4), while scanning the text for the value bounds
/// allocates nothing per value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredProperties(String);

impl StoredProperties {
    pub fn encode(values: &PropertyMap) -> Result<Self, serde_json::Error> {
        serde_json::to_string(values).map(Self)
    }

    /// Text a store wrote with [`StoredProperties::encode`]. It is checked when read.
    pub fn from_stored(json: String) -> Self {
        Self(json)
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn decode(&self) -> Result<PropertyMap, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl StoredRecord {
    /// The record with its values decoded into a map.
    pub fn decode(self) -> Result<ObjectRecord, serde_json::Error> {
        Ok(ObjectRecord {
            properties: self.properties.decode()?,
            id: self.id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived_at: self.archived_at,
            history: self.history,
        })
    }
}

/// One property value of a response.
#[derive(Debug, Clone)]
pub enum PropertyValue<'a> {
    /// A value as text: what writes hold, and values computed from the record.
    Text(Cow<'a, str>),
    /// A stored value's JSON string literal, written into the response as it is.
    Json(&'a RawValue),
    /// `hs_object_id`, written as a string without one of its own.
    Id(ObjectId),
    /// The record's create or modified date, written as [`format_iso`] would without a
    /// `String` of its own (three allocations per record of a batch read were these).
    Instant(Millis),
}

impl<'a> PropertyValue<'a> {
    /// The value as text (decoding a stored literal).
    pub fn into_text(self) -> Cow<'a, str> {
        match self {
            Self::Text(text) => text,
            Self::Json(raw) => match serde_json::from_str::<Cow<'a, str>>(raw.get()) {
                Ok(text) => text,
                // Stored literals are checked to be strings when the record is projected.
                Err(_) => Cow::Borrowed(raw.get()),
            },
            Self::Id(id) => Cow::Owned(id.to_string()),
            Self::Instant(ms) => Cow::Owned(format_iso(ms)),
        }
    }
}

impl PartialEq for PropertyValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.clone().into_text() == other.clone().into_text()
    }
}

impl Serialize for PropertyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Text(text) => serializer.serialize_str(text),
            Self::Json(raw) => raw.serialize(serializer),
            Self::Id(id) => serializer.collect_str(id),
            Self::Instant(ms) => serializer.collect_str(&Iso(*ms)),
        }
    }
}

/// Where a projection finds a record's values.
pub trait PropertySource {
    type Error;

    /// The non-empty values, in name order.
    fn values(&self) -> Result<Vec<(&str, PropertyValue<'_>)>, Self::Error>;
}

impl PropertySource for PropertyMap {
    type Error = Infallible;

    fn values(&self) -> Result<Vec<(&str, PropertyValue<'_>)>, Infallible> {
        Ok(self
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), PropertyValue::Text(Cow::Borrowed(v.as_str()))))
            .collect())
    }
}

impl PropertySource for StoredProperties {
    type Error = serde_json::Error;

    fn values(&self) -> Result<Vec<(&str, PropertyValue<'_>)>, serde_json::Error> {
        let StoredEntries(mut entries) = serde_json::from_str(&self.0)?;
        // Keys are in order as encoded; text from elsewhere (an import) is sorted here.
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        Ok(entries)
    }
}

/// The entries of a stored JSON object, borrowing keys and value literals from its text.
struct StoredEntries<'a>(Vec<(&'a str, PropertyValue<'a>)>);

impl<'de> serde::Deserialize<'de> for StoredEntries<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = StoredEntries<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of string values")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                // Property names are plain ASCII (no escapes), so keys borrow from the text.
                while let Some((name, raw)) = map.next_entry::<&'de str, &'de RawValue>()? {
                    let literal = raw.get();
                    if !literal.starts_with('"') {
                        return Err(serde::de::Error::custom(format!(
                            "the value of {name} is not a string"
                        )));
                    }
                    if literal != "\"\"" {
                        out.push((name, PropertyValue::Json(raw)));
                    }
                }
                Ok(StoredEntries(out))
            }
        }
        deserializer.deserialize_map(Entries)
    }
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

/// Where a shown property's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Stored,
    Id,
    Created,
    Modified,
}

fn source_of(ty: &ObjectType, name: &str) -> Source {
    if name == "hs_object_id" {
        Source::Id
    } else if name == ty.createdate_property || name == "hs_createdate" || name == "createdate" {
        Source::Created
    } else if name == ty.modified_property || name == "hs_lastmodifieddate" {
        Source::Modified
    } else {
        Source::Stored
    }
}

/// A [`Projection`] resolved for one type: the names a response shows, sorted, each once,
/// with where each value comes from. A read resolves it once and applies it to each of its
/// up to 100 records (resolving per record was 5% of a batch read's CPU).
#[derive(Debug, Clone)]
pub struct Shown<'a> {
    ty: &'a ObjectType,
    names: Vec<(&'a str, Source)>,
    /// Also every non-empty stored value (`names` then holds the computed ones only).
    all_non_empty: bool,
}

impl<'a> Projection<'a> {
    /// `known` says whether a property name exists for the type; requested names that do
    /// not are silently left out, as HubSpot does.
    pub fn resolve(self, ty: &'a ObjectType, known: impl Fn(&str) -> bool) -> Shown<'a> {
        let always = [
            "hs_object_id",
            ty.createdate_property.as_str(),
            ty.modified_property.as_str(),
        ];
        let mut names: Vec<&'a str> = match self {
            Projection::Defaults => ty.default_properties.iter().map(String::as_str).collect(),
            Projection::Requested(names) => names
                .iter()
                .map(String::as_str)
                .filter(|n| known(n))
                .chain(always)
                .collect(),
            Projection::AllNonEmpty => always.to_vec(),
        };
        names.sort_unstable();
        names.dedup();
        Shown {
            ty,
            names: names.into_iter().map(|n| (n, source_of(ty, n))).collect(),
            all_non_empty: matches!(self, Projection::AllNonEmpty),
        }
    }
}

impl<P> ObjectRecord<P> {
    /// The value of a property the record computes from itself, if `name` is one.
    pub fn record_property(&self, ty: &ObjectType, name: &str) -> Option<String> {
        self.computed(source_of(ty, name))
    }

    /// [`Self::computed`] as a response value, built without allocating.
    fn computed_value(&self, source: Source) -> Option<PropertyValue<'static>> {
        match source {
            Source::Stored => None,
            Source::Id => Some(PropertyValue::Id(self.id)),
            Source::Created => Some(PropertyValue::Instant(self.created_at)),
            Source::Modified => Some(PropertyValue::Instant(self.updated_at)),
        }
    }

    fn computed(&self, source: Source) -> Option<String> {
        match source {
            Source::Stored => None,
            Source::Id => Some(self.id.to_string()),
            Source::Created => Some(format_iso(self.created_at)),
            Source::Modified => Some(format_iso(self.updated_at)),
        }
    }

    /// The (name, value) pairs a response shows, in name order, borrowing stored values
    /// (only computed ones are built).
    #[allow(clippy::type_complexity)]
    pub fn project<'a>(
        &'a self,
        shown: &Shown<'a>,
    ) -> Result<Vec<(&'a str, Option<PropertyValue<'a>>)>, P::Error>
    where
        P: PropertySource,
    {
        let values = self.properties.values()?;
        if !shown.all_non_empty {
            // Both lists are in name order, so one forward walk over the stored values finds
            // every requested name: a full sync asks for ~100 names of records holding ~100
            // values, and a binary search per name spent 13.6% of the server's CPU in
            // `memcmp` alone (BENCHMARKS.md, "Issue 13 ... Where the time goes").
            let mut rest = values.as_slice();
            return Ok(shown
                .names
                .iter()
                .map(|&(name, source)| {
                    if let Some(computed) = self.computed_value(source) {
                        return (name, Some(computed));
                    }
                    while let Some(((key, _), tail)) = rest.split_first() {
                        if *key >= name {
                            break;
                        }
                        rest = tail;
                    }
                    match rest.first() {
                        Some((key, value)) if *key == name => (name, Some(value.clone())),
                        _ => (name, None),
                    }
                })
                .collect());
        }
        let value = |&(name, source): &(&'a str, Source)| {
            let value = match self.computed_value(source) {
                Some(computed) => Some(computed),
                None => values
                    .binary_search_by(|(k, _)| (*k).cmp(name))
                    .ok()
                    .map(|i| values[i].1.clone()),
            };
            (name, value)
        };
        // Every stored value, and the computed ones (which win over a stored value of the
        // same name), merged in name order.
        let mut out: Vec<(&'a str, Option<PropertyValue<'a>>)> = values
            .iter()
            .filter(|(k, _)| shown.names.iter().all(|(n, _)| n != k))
            .map(|&(k, _)| value(&(k, source_of(shown.ty, k))))
            .chain(shown.names.iter().map(value))
            .collect();
        out.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Ok(out)
    }
}

impl ObjectRecord {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> &'static ObjectType {
        ObjectType::all()
            .iter()
            .find(|t| t.name == "contacts")
            .expect("contacts is built in")
    }

    fn record<P>(properties: P) -> ObjectRecord<P> {
        ObjectRecord {
            id: 17,
            properties,
            created_at: 1_700_000_000_000,
            updated_at: 1_700_000_000_123,
            archived_at: None,
            history: BTreeMap::new(),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> PropertyMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// The response a projection gives, as JSON text.
    fn shown<P: PropertySource>(record: &ObjectRecord<P>, projection: Projection<'_>) -> String
    where
        P::Error: std::fmt::Debug,
    {
        let pairs = record
            .project(&projection.resolve(contacts(), |_| true))
            .expect("projects");
        let map: BTreeMap<&str, Option<PropertyValue<'_>>> = pairs.into_iter().collect();
        serde_json::to_string(&map).expect("serializes")
    }

    /// Copying stored literals must give exactly the bytes decoding and re-encoding gives,
    /// whatever the values hold.
    #[test]
    fn stored_values_show_as_decoded_ones_would() {
        let values = map(&[
            ("city", "Zürich \u{1F600}"),
            ("company", "a \"quoted\" \\ back\\slash\nnew line\t\u{1}"),
            ("email", "a@example.com"),
            ("firstname", ""),
            ("phone", "</script>"),
        ]);
        let stored = StoredProperties::encode(&values).expect("encodes");
        let wanted: Vec<String> = ["city", "company", "email", "firstname", "lastname", "phone"]
            .map(String::from)
            .into();
        for projection in [
            Projection::Requested(&wanted),
            Projection::Defaults,
            Projection::AllNonEmpty,
        ] {
            assert_eq!(
                shown(&record(stored.clone()), projection),
                shown(&record(values.clone()), projection)
            );
        }
        let json = shown(&record(stored), Projection::Requested(&wanted));
        assert!(
            json.contains(r#""firstname":null"#),
            "empty is null: {json}"
        );
        assert!(json.contains(r#""lastname":null"#), "unset is null: {json}");
        assert!(json.contains(r#""hs_object_id":"17""#), "{json}");
        assert!(
            json.contains(r#""createdate":"2023-11-14T22:13:20Z""#),
            "{json}"
        );
        assert!(
            json.contains(r#""lastmodifieddate":"2023-11-14T22:13:20.123Z""#),
            "{json}"
        );
    }

    /// The one-pass walk of the projection must find every requested name wherever it falls
    /// among the stored ones: before the first, between, past the last, computed ones
    /// interleaved, and names not stored at all.
    #[test]
    fn many_requested_names_find_their_stored_values() {
        let stored: Vec<(String, String)> = (0..120)
            .filter(|i| i % 3 != 0)
            .map(|i| (format!("p{i:03}"), format!("v{i}")))
            .chain([("createdate".to_owned(), "stored, not shown".to_owned())])
            .collect();
        let values: PropertyMap = stored.into_iter().collect();
        let mut wanted: Vec<String> = (0..130).rev().map(|i| format!("p{i:03}")).collect();
        wanted.extend(["a0", "hs_object_id", "createdate", "zz", "p050"].map(String::from));
        let record = record(StoredProperties::encode(&values).expect("encodes"));
        let shown = Projection::Requested(&wanted).resolve(contacts(), |_| true);
        let pairs = record.project(&shown).expect("projects");
        let mut expected: Vec<&str> = wanted.iter().map(String::as_str).collect();
        expected.extend(["lastmodifieddate"]);
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(pairs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), expected);
        for (name, value) in pairs {
            let value = value.map(|v| v.into_text().into_owned());
            let want = match name {
                "hs_object_id" => Some("17".to_owned()),
                "createdate" => Some(format_iso(record.created_at)),
                "lastmodifieddate" => Some(format_iso(record.updated_at)),
                _ => values.get(name).cloned(),
            };
            assert_eq!(value, want, "{name}");
        }
    }

    #[test]
    fn stored_text_in_any_key_order_is_found() {
        let stored = StoredProperties::from_stored(r#"{"lastname":"B","email":"a@b.c"}"#.into());
        let wanted = vec!["email".to_owned(), "lastname".to_owned()];
        let json = shown(&record(stored), Projection::Requested(&wanted));
        assert!(json.contains(r#""email":"a@b.c""#), "{json}");
        assert!(json.contains(r#""lastname":"B""#), "{json}");
    }

    #[test]
    fn stored_text_that_is_not_an_object_of_strings_is_an_error() {
        for bad in [
            r#"{"email":1}"#,
            r#"{"email":null}"#,
            r#"["a"]"#,
            r#"{"em\"ail":"x"}"#,
            "{",
        ] {
            let stored = StoredProperties::from_stored(bad.to_owned());
            assert!(
                record(stored)
                    .project(&Projection::Defaults.resolve(contacts(), |_| true))
                    .is_err(),
                "{bad} must not project"
            );
        }
    }

    #[test]
    fn stored_records_decode_to_the_written_map() {
        let values = map(&[("email", "a@example.com"), ("city", "Z\u{fc}rich")]);
        let stored = record(StoredProperties::encode(&values).expect("encodes"));
        assert_eq!(stored.decode().expect("decodes"), record(values));
    }
}
