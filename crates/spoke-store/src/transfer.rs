//! What [`crate::TransferStore`] moves: every stored row, table by table, typed.
//!
//! The tables are the same in every backend (the schemas mirror each other), so a row
//! exported by one backend imports into any other unchanged: record ids, versions,
//! timestamps, archived state, history, unique values, token hashes. Rows come in key
//! order, in chunks; a chunk's [`Rows::last_key`] is where the next chunk starts.

use std::collections::BTreeMap;

use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId, PropertyDefinition};

/// A stored table. [`Table::ALL`] is in dependency order: importing in that order never
/// writes a row before one it refers to (tokens refer to portals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Portals,
    Tokens,
    PropertyGroups,
    Properties,
    Objects,
    PropertyHistory,
    UniqueValues,
    AssociationLabels,
    Associations,
}

impl Table {
    pub const ALL: [Table; 9] = [
        Table::Portals,
        Table::Tokens,
        Table::PropertyGroups,
        Table::Properties,
        Table::Objects,
        Table::PropertyHistory,
        Table::UniqueValues,
        Table::AssociationLabels,
        Table::Associations,
    ];

    /// The table's name in both backends' schemas.
    pub fn name(self) -> &'static str {
        match self {
            Table::Portals => "portals",
            Table::Tokens => "tokens",
            Table::PropertyGroups => "property_groups",
            Table::Properties => "properties",
            Table::Objects => "objects",
            Table::PropertyHistory => "property_history",
            Table::UniqueValues => "unique_values",
            Table::AssociationLabels => "association_labels",
            Table::Associations => "associations",
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One column of a row's primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Int(i64),
    Text(String),
}

/// A row's primary key, columns in key order. Backends compare keys as their primary key
/// index orders them (integers numerically, text bytewise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey(pub Vec<KeyPart>);

fn int(v: i64) -> KeyPart {
    KeyPart::Int(v)
}

fn text(v: &str) -> KeyPart {
    KeyPart::Text(v.to_owned())
}

/// `portals`. Key: `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalRow {
    pub id: PortalId,
    pub created_at: Millis,
}

/// `tokens`, with the hash of the secret (the secret itself is never stored). Key: `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: i64,
    pub portal: PortalId,
    pub hash: String,
    pub prefix: String,
    /// Space-separated, as stored.
    pub scopes: String,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// `property_groups`. Key: `(portal, object_type, name)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyGroupRow {
    pub portal: PortalId,
    pub object_type: String,
    pub name: String,
    pub label: String,
    pub display_order: i32,
    pub archived: bool,
}

/// `properties`: a custom property definition. Key: `(portal, object_type, name)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRow {
    pub portal: PortalId,
    pub object_type: String,
    pub name: String,
    pub definition: PropertyDefinition,
    pub archived: bool,
}

/// `objects`: a record's current values and bookkeeping. Key: `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    pub id: ObjectId,
    pub portal: PortalId,
    pub object_type: String,
    pub properties: BTreeMap<String, String>,
    /// The record's write counter (the version of its newest history entries).
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

/// `property_history`: one property write. Key: `(object_id, name, version)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub object_id: ObjectId,
    pub name: String,
    pub version: i64,
    pub value: String,
    pub timestamp: Millis,
    pub source_type: String,
    pub source_id: Option<String>,
}

/// `unique_values`: a unique property value held by a live record.
/// Key: `(portal, object_type, property, value)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueValueRow {
    pub portal: PortalId,
    pub object_type: String,
    pub property: String,
    pub value: String,
    pub object_id: ObjectId,
}

/// `association_labels`: a USER_DEFINED label, one direction.
/// Key: `(portal, from_type, to_type, type_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationLabelRow {
    pub portal: PortalId,
    pub from_type: String,
    pub to_type: String,
    pub type_id: i64,
    pub label: String,
    pub name: String,
    pub inverse_type_id: i64,
}

/// `associations`: one direction of one association type. Every column is the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationRow {
    pub portal: PortalId,
    pub from_type: String,
    pub from_id: ObjectId,
    pub to_type: String,
    pub to_id: ObjectId,
    pub category: String,
    pub type_id: i64,
}

impl PortalRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![int(self.id.0)])
    }
}

impl TokenRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![int(self.id)])
    }
}

impl PropertyGroupRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.portal.0),
            text(&self.object_type),
            text(&self.name),
        ])
    }
}

impl PropertyRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.portal.0),
            text(&self.object_type),
            text(&self.name),
        ])
    }
}

impl ObjectRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![int(self.id)])
    }
}

impl HistoryRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.object_id),
            text(&self.name),
            int(self.version),
        ])
    }
}

impl UniqueValueRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.portal.0),
            text(&self.object_type),
            text(&self.property),
            text(&self.value),
        ])
    }
}

impl AssociationLabelRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.portal.0),
            text(&self.from_type),
            text(&self.to_type),
            int(self.type_id),
        ])
    }
}

impl AssociationRow {
    pub fn key(&self) -> RowKey {
        RowKey(vec![
            int(self.portal.0),
            text(&self.from_type),
            int(self.from_id),
            text(&self.to_type),
            int(self.to_id),
            text(&self.category),
            int(self.type_id),
        ])
    }
}

/// A chunk of rows of one table.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    Portals(Vec<PortalRow>),
    Tokens(Vec<TokenRow>),
    PropertyGroups(Vec<PropertyGroupRow>),
    Properties(Vec<PropertyRow>),
    Objects(Vec<ObjectRow>),
    PropertyHistory(Vec<HistoryRow>),
    UniqueValues(Vec<UniqueValueRow>),
    AssociationLabels(Vec<AssociationLabelRow>),
    Associations(Vec<AssociationRow>),
}

impl Rows {
    /// No rows of `table`.
    pub fn empty(table: Table) -> Self {
        match table {
            Table::Portals => Rows::Portals(Vec::new()),
            Table::Tokens => Rows::Tokens(Vec::new()),
            Table::PropertyGroups => Rows::PropertyGroups(Vec::new()),
            Table::Properties => Rows::Properties(Vec::new()),
            Table::Objects => Rows::Objects(Vec::new()),
            Table::PropertyHistory => Rows::PropertyHistory(Vec::new()),
            Table::UniqueValues => Rows::UniqueValues(Vec::new()),
            Table::AssociationLabels => Rows::AssociationLabels(Vec::new()),
            Table::Associations => Rows::Associations(Vec::new()),
        }
    }

    pub fn table(&self) -> Table {
        match self {
            Rows::Portals(_) => Table::Portals,
            Rows::Tokens(_) => Table::Tokens,
            Rows::PropertyGroups(_) => Table::PropertyGroups,
            Rows::Properties(_) => Table::Properties,
            Rows::Objects(_) => Table::Objects,
            Rows::PropertyHistory(_) => Table::PropertyHistory,
            Rows::UniqueValues(_) => Table::UniqueValues,
            Rows::AssociationLabels(_) => Table::AssociationLabels,
            Rows::Associations(_) => Table::Associations,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Rows::Portals(r) => r.len(),
            Rows::Tokens(r) => r.len(),
            Rows::PropertyGroups(r) => r.len(),
            Rows::Properties(r) => r.len(),
            Rows::Objects(r) => r.len(),
            Rows::PropertyHistory(r) => r.len(),
            Rows::UniqueValues(r) => r.len(),
            Rows::AssociationLabels(r) => r.len(),
            Rows::Associations(r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key of the last row: pass it as `after` to export the next chunk.
    pub fn last_key(&self) -> Option<RowKey> {
        match self {
            Rows::Portals(r) => r.last().map(PortalRow::key),
            Rows::Tokens(r) => r.last().map(TokenRow::key),
            Rows::PropertyGroups(r) => r.last().map(PropertyGroupRow::key),
            Rows::Properties(r) => r.last().map(PropertyRow::key),
            Rows::Objects(r) => r.last().map(ObjectRow::key),
            Rows::PropertyHistory(r) => r.last().map(HistoryRow::key),
            Rows::UniqueValues(r) => r.last().map(UniqueValueRow::key),
            Rows::AssociationLabels(r) => r.last().map(AssociationLabelRow::key),
            Rows::Associations(r) => r.last().map(AssociationRow::key),
        }
    }
}

/// A row holding U+0000 in one of its text columns (docs/compatibility.md, "Strings").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NulFound {
    pub table: Table,
    /// The row's key as it was read (before any stripping).
    pub key: RowKey,
    /// The column, and for a record's values the property: `properties.firstname`.
    pub column: String,
}

impl std::fmt::Display for NulFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key: Vec<String> = self
            .key
            .0
            .iter()
            .map(|k| match k {
                KeyPart::Int(i) => i.to_string(),
                KeyPart::Text(t) => format!("{:?}", t),
            })
            .collect();
        write!(
            f,
            "{} row ({}) column {}",
            self.table,
            key.join(", "),
            self.column
        )
    }
}

impl Rows {
    /// Every text column holding U+0000, which older spoke versions stored on SQLite but
    /// PostgreSQL cannot hold. With `strip`, the character is also removed from each.
    pub fn find_nul(&mut self, strip: bool) -> Vec<NulFound> {
        let table = self.table();
        let mut found = Vec::new();
        let mut check = |key: &dyn Fn() -> RowKey, column: &str, s: &mut String| {
            if s.contains('\0') {
                found.push(NulFound {
                    table,
                    key: key(),
                    column: column.to_owned(),
                });
                if strip {
                    s.retain(|c| c != '\0');
                }
            }
        };
        match self {
            Rows::Portals(_) | Rows::Associations(_) => {}
            Rows::Tokens(rows) => {
                for r in rows {
                    let k = r.key();
                    check(&|| k.clone(), "prefix", &mut r.prefix);
                    check(&|| k.clone(), "scopes", &mut r.scopes);
                }
            }
            Rows::PropertyGroups(rows) => {
                for r in rows {
                    let k = r.key();
                    check(&|| k.clone(), "name", &mut r.name);
                    check(&|| k.clone(), "label", &mut r.label);
                }
            }
            Rows::Properties(rows) => {
                for r in rows {
                    let k = r.key();
                    let d = &mut r.definition;
                    check(&|| k.clone(), "name", &mut r.name);
                    check(&|| k.clone(), "definition.name", &mut d.name);
                    check(&|| k.clone(), "definition.label", &mut d.label);
                    check(&|| k.clone(), "definition.description", &mut d.description);
                    check(&|| k.clone(), "definition.groupName", &mut d.group_name);
                    check(&|| k.clone(), "definition.fieldType", &mut d.field_type);
                    for o in &mut d.options {
                        check(&|| k.clone(), "definition.options.label", &mut o.label);
                        check(&|| k.clone(), "definition.options.value", &mut o.value);
                        if let Some(text) = &mut o.description {
                            check(&|| k.clone(), "definition.options.description", text);
                        }
                    }
                }
            }
            Rows::Objects(rows) => {
                for r in rows {
                    let k = r.key();
                    let had_nul_names = r.properties.keys().any(|n| n.contains('\0'));
                    for (name, v) in r.properties.iter_mut() {
                        check(&|| k.clone(), &format!("properties.{name}"), v);
                    }
                    if had_nul_names {
                        let mut renamed = BTreeMap::new();
                        for (mut name, v) in std::mem::take(&mut r.properties) {
                            check(&|| k.clone(), "properties (a name)", &mut name);
                            renamed.insert(name, v);
                        }
                        r.properties = renamed;
                    }
                }
            }
            Rows::PropertyHistory(rows) => {
                for r in rows {
                    let k = r.key();
                    check(&|| k.clone(), "name", &mut r.name);
                    check(&|| k.clone(), "value", &mut r.value);
                    if let Some(id) = &mut r.source_id {
                        check(&|| k.clone(), "source_id", id);
                    }
                }
            }
            Rows::UniqueValues(rows) => {
                for r in rows {
                    let k = r.key();
                    check(&|| k.clone(), "property", &mut r.property);
                    check(&|| k.clone(), "value", &mut r.value);
                }
            }
            Rows::AssociationLabels(rows) => {
                for r in rows {
                    let k = r.key();
                    check(&|| k.clone(), "label", &mut r.label);
                    check(&|| k.clone(), "name", &mut r.name);
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_and_stripped_where_it_is() {
        let row = |value: &str| HistoryRow {
            object_id: 7,
            name: "firstname".into(),
            version: 1,
            value: value.into(),
            timestamp: 0,
            source_type: "API".into(),
            source_id: None,
        };
        let mut rows = Rows::PropertyHistory(vec![row("ok"), row("a\0b")]);
        let found = rows.find_nul(false);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "property_history row (7, \"firstname\", 1) column value"
        );
        assert_eq!(rows.find_nul(true).len(), 1);
        assert_eq!(rows, Rows::PropertyHistory(vec![row("ok"), row("ab")]));
        assert!(rows.find_nul(false).is_empty());
    }

    #[test]
    fn every_table_has_its_own_name_and_empty_chunk() {
        let names: std::collections::HashSet<_> = Table::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Table::ALL.len());
        for t in Table::ALL {
            let rows = Rows::empty(t);
            assert_eq!(rows.table(), t);
            assert!(rows.is_empty());
            assert_eq!(rows.last_key(), None);
        }
    }

    #[test]
    fn last_key_is_the_last_rows_primary_key() {
        let rows = Rows::PropertyHistory(vec![
            HistoryRow {
                object_id: 1,
                name: "a".into(),
                version: 1,
                value: "x".into(),
                timestamp: 0,
                source_type: "API".into(),
                source_id: None,
            },
            HistoryRow {
                object_id: 2,
                name: "b".into(),
                version: 3,
                value: "y".into(),
                timestamp: 0,
                source_type: "API".into(),
                source_id: None,
            },
        ]);
        assert_eq!(
            rows.last_key(),
            Some(RowKey(vec![
                KeyPart::Int(2),
                KeyPart::Text("b".into()),
                KeyPart::Int(3)
            ]))
        );
    }
}
