//! What [`crate::TransferStore`] moves: every stored row, table by table.
//!
//! Each table is declared once, here: its name, its columns in order with their
//! [`ColumnType`]s, and its primary key ([`Table::columns`], [`Table::key`]). The tables are
//! the same in every backend (the schemas mirror each other), so a row exported by one
//! backend imports into any other unchanged: record ids, versions, timestamps, archived
//! state, history, unique values, token hashes. A row is one [`Value`] per column; a chunk of
//! rows ([`Rows`]) holds them in one flat vector, so a chunk costs its values and little more.
//! Rows come in key order, in chunks; a chunk's [`Rows::last_key`] is where the next chunk
//! starts ([`Chunks`] reads a whole table so).
//!
//! A SQL backend builds its statements from the declaration ([`sql`]) and binds values by
//! column type; only its placeholders, the way it feeds a chunk to `INSERT`, and its
//! column types are its own.

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
    DirectoryTeams,
    DirectoryRoles,
    DirectoryUsers,
    Pipelines,
    PipelineStages,
    PipelineAudits,
    CustomObjectSchemas,
    AssociationDefinitions,
    OAuthApps,
    OAuthCodes,
    OAuthRefreshTokens,
    OAuthAccessTokens,
    PortalClocks,
    WebhookSettings,
    WebhookSubscriptions,
    AppInstalls,
    OAuthAppTokens,
    JournalSubscriptions,
    JournalFilters,
}

/// What a column holds. A backend maps each to its own SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A 64-bit integer: ids, versions, timestamps in milliseconds.
    Int,
    /// An integer that fits 32 bits (a display order).
    Int32,
    Bool,
    Text,
    /// Text holding a JSON document (a record's values, a property definition). It is copied
    /// byte for byte, and looked into only for U+0000 ([`Rows::find_nul`]).
    Json,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Whether the column may hold NULL.
    pub nullable: bool,
}

/// A table's declaration: its primary key is its first `key.len()` columns, in key order
/// (a test holds `key` to that), so a row's key is the head of the row.
struct Def {
    name: &'static str,
    key: &'static [&'static str],
    columns: &'static [Column],
}

/// The declarations, laid out by hand as a table: one line per few columns.
#[rustfmt::skip]
mod defs {
    use super::ColumnType::{Bool, Int, Int32, Json, Text};
    use super::{Column, ColumnType, Def};

    const fn col(name: &'static str, ty: ColumnType) -> Column {
        Column { name, ty, nullable: false }
    }

    const fn nullable(name: &'static str, ty: ColumnType) -> Column {
        Column { name, ty, nullable: true }
    }

    pub(super) const PORTALS: Def = Def { name: "portals", key: &["id"], columns: &[
        col("id", Int), col("created_at", Int),
    ]};

    /// With the hash of the secret (the secret itself is never stored); `scopes` is
    /// space-separated.
    pub(super) const TOKENS: Def = Def { name: "tokens", key: &["id"], columns: &[
        col("id", Int), col("portal_id", Int), col("token_hash", Text), col("prefix", Text),
        col("scopes", Text), col("created_at", Int), nullable("revoked_at", Int),
    ]};

    pub(super) const PROPERTY_GROUPS: Def = Def {
        name: "property_groups", key: &["portal_id", "object_type", "name"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("name", Text),
        col("label", Text), col("display_order", Int32), col("archived", Bool),
    ]};

    /// A custom property definition, as the core's JSON form of `PropertyDefinition`.
    pub(super) const PROPERTIES: Def = Def {
        name: "properties", key: &["portal_id", "object_type", "name"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("name", Text),
        col("definition", Json), col("archived", Bool),
    ]};

    /// A record's current values (one JSON object) and bookkeeping; `version` is the
    /// record's write counter (the version of its newest history entries).
    pub(super) const OBJECTS: Def = Def { name: "objects", key: &["id"], columns: &[
        col("id", Int), col("portal_id", Int), col("object_type", Text), col("properties", Json),
        col("version", Int), col("created_at", Int), col("updated_at", Int),
        nullable("archived_at", Int),
    ]};

    /// One property write.
    pub(super) const PROPERTY_HISTORY: Def = Def {
        name: "property_history", key: &["object_id", "name", "version"], columns: &[
        col("object_id", Int), col("name", Text), col("version", Int),
        col("value", Text), col("timestamp", Int), col("source_type", Text),
        nullable("source_id", Text),
    ]};

    /// A unique property value held by a live record.
    pub(super) const UNIQUE_VALUES: Def = Def {
        name: "unique_values", key: &["portal_id", "object_type", "property", "value"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("property", Text), col("value", Text),
        col("object_id", Int),
    ]};

    /// A USER_DEFINED label, one direction.
    pub(super) const ASSOCIATION_LABELS: Def = Def {
        name: "association_labels", key: &["portal_id", "from_type", "to_type", "type_id"], columns: &[
        col("portal_id", Int), col("from_type", Text), col("to_type", Text), col("type_id", Int),
        col("label", Text), col("name", Text), col("inverse_type_id", Int),
    ]};

    /// One direction of one association type. Every column is the key.
    pub(super) const ASSOCIATIONS: Def = Def {
        name: "associations",
        key: &["portal_id", "from_type", "from_id", "to_type", "to_id", "category", "type_id"],
        columns: &[
        col("portal_id", Int), col("from_type", Text), col("from_id", Int), col("to_type", Text),
        col("to_id", Int), col("category", Text), col("type_id", Int),
    ]};

    /// A team of a portal (settings users v3); read-only over HTTP, seeded per portal.
    pub(super) const DIRECTORY_TEAMS: Def = Def { name: "directory_teams", key: &["id"], columns: &[
        col("id", Int), col("portal_id", Int), col("name", Text),
    ]};

    pub(super) const DIRECTORY_ROLES: Def = Def { name: "directory_roles", key: &["id"], columns: &[
        col("id", Int), col("portal_id", Int), col("name", Text), col("requires_billing_write", Bool),
    ]};

    /// A user and the owner it is (`directory::DirectoryUser`); `secondary_team_ids` is
    /// space-separated, `seat_names` a JSON array; `removed_at` archives the owner.
    pub(super) const DIRECTORY_USERS: Def = Def { name: "directory_users", key: &["id"], columns: &[
        col("id", Int), col("portal_id", Int), col("owner_id", Int), col("email", Text),
        nullable("first_name", Text), nullable("last_name", Text), nullable("role_id", Int),
        nullable("primary_team_id", Int), col("secondary_team_ids", Text), col("seat_names", Json),
        col("super_admin", Bool), col("created_at", Int), col("updated_at", Int),
        nullable("removed_at", Int),
    ]};

    /// A pipeline (`crate::pipelines`); `object_type` is the type id.
    pub(super) const PIPELINES: Def = Def {
        name: "pipelines", key: &["portal_id", "object_type", "id"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("id", Text), col("label", Text),
        col("display_order", Int32), col("created_at", Int), col("updated_at", Int),
        nullable("archived_at", Int),
    ]};

    /// A stage; `position` is its place in its pipeline's storage order.
    pub(super) const PIPELINE_STAGES: Def = Def {
        name: "pipeline_stages", key: &["portal_id", "object_type", "pipeline_id", "id"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("pipeline_id", Text), col("id", Text),
        col("position", Int), col("label", Text), col("display_order", Int32),
        col("metadata", Json), col("write_permissions", Text), col("created_at", Int),
        col("updated_at", Int), nullable("archived_at", Int),
    ]};

    /// One audit entry of a pipeline (`stage_id` empty) or stage; `snapshot` is the
    /// subject after the change.
    pub(super) const PIPELINE_AUDITS: Def = Def {
        name: "pipeline_audits",
        key: &["portal_id", "object_type", "pipeline_id", "stage_id", "version"], columns: &[
        col("portal_id", Int), col("object_type", Text), col("pipeline_id", Text),
        col("stage_id", Text), col("version", Int), col("action", Text), col("timestamp", Int),
        col("snapshot", Json),
    ]};

    /// A custom object schema (`crate::schemas`); the three lists are JSON arrays of
    /// property names; `purged_at` makes the row a tombstone that keeps its number taken.
    pub(super) const CUSTOM_OBJECT_SCHEMAS: Def = Def {
        name: "custom_object_schemas", key: &["number"], columns: &[
        col("number", Int), col("portal_id", Int), col("name", Text), col("singular_label", Text),
        col("plural_label", Text), col("description", Text),
        nullable("primary_display_property", Text), col("secondary_display_properties", Json),
        col("searchable_properties", Json), col("required_properties", Json),
        col("allows_sensitive_properties", Bool), col("restorable", Bool),
        col("created_at", Int), col("updated_at", Int), nullable("created_by_user_id", Int),
        nullable("updated_by_user_id", Int), nullable("archived_at", Int),
        nullable("purged_at", Int),
    ]};

    /// One direction of an association definition a schema created.
    pub(super) const ASSOCIATION_DEFINITIONS: Def = Def {
        name: "association_definitions", key: &["portal_id", "from_type", "to_type", "type_id"],
        columns: &[
        col("portal_id", Int), col("from_type", Text), col("to_type", Text), col("type_id", Int),
        col("inverse_type_id", Int), col("category", Text), col("name", Text),
        col("created_at", Int), col("updated_at", Int),
    ]};

    /// An OAuth app (`crate::oauth`): its secrets hashed and sealed, never in clear;
    /// `redirect_uris` a JSON array, scopes space-separated.
    pub(super) const OAUTH_APPS: Def = Def { name: "oauth_apps", key: &["id"], columns: &[
        col("id", Int), col("name", Text), col("client_id", Text), col("client_secret_hash", Text),
        col("client_secret_sealed", Text), col("developer_api_key_hash", Text),
        col("developer_api_key_sealed", Text), col("redirect_uris", Json), col("scopes", Text),
        col("optional_scopes", Text), col("created_at", Int),
    ]};

    /// An authorization code, by its hash.
    pub(super) const OAUTH_CODES: Def = Def { name: "oauth_codes", key: &["code_hash"], columns: &[
        col("code_hash", Text), col("app_id", Int), col("portal_id", Int), col("scopes", Text),
        col("created_at", Int), col("expires_at", Int), col("redirect_uri", Text),
        nullable("used_at", Int),
    ]};

    /// A refresh token, by its hash.
    pub(super) const OAUTH_REFRESH_TOKENS: Def = Def {
        name: "oauth_refresh_tokens", key: &["token_hash"], columns: &[
        col("token_hash", Text), col("app_id", Int), col("portal_id", Int), col("scopes", Text),
        col("created_at", Int),
    ]};

    /// An access token, by its hash.
    pub(super) const OAUTH_ACCESS_TOKENS: Def = Def {
        name: "oauth_access_tokens", key: &["token_hash"], columns: &[
        col("token_hash", Text), col("app_id", Int), col("portal_id", Int), col("scopes", Text),
        col("created_at", Int), col("expires_at", Int),
    ]};

    /// A portal's clock when it is not real time (`spoke_store::emulator::Clock::row`).
    pub(super) const PORTAL_CLOCKS: Def = Def { name: "portal_clocks", key: &["portal_id"], columns: &[
        col("portal_id", Int), col("mode", Text), nullable("frozen_at", Int), col("offset_ms", Int),
    ]};

    /// An app's webhook settings (`spoke_store::webhooks`).
    pub(super) const WEBHOOK_SETTINGS: Def = Def {
        name: "webhook_settings", key: &["app_id"], columns: &[
        col("app_id", Int), col("target_url", Text), col("max_concurrent_requests", Int),
        nullable("period", Text), col("created_at", Int), col("updated_at", Int),
    ]};

    pub(super) const WEBHOOK_SUBSCRIPTIONS: Def = Def {
        name: "webhook_subscriptions", key: &["id"], columns: &[
        col("id", Int), col("app_id", Int), col("event_type", Text),
        nullable("object_type_id", Text), nullable("property_name", Text), col("active", Bool),
        col("created_at", Int), col("updated_at", Int),
    ]};

    /// Which portals installed which app (events go to installed apps only).
    pub(super) const APP_INSTALLS: Def = Def {
        name: "app_installs", key: &["app_id", "portal_id"], columns: &[
        col("app_id", Int), col("portal_id", Int), col("installed_at", Int),
    ]};

    /// A client-credentials token of an app (`spoke_store::journal`), by its hash.
    pub(super) const OAUTH_APP_TOKENS: Def = Def {
        name: "oauth_app_tokens", key: &["token_hash"], columns: &[
        col("token_hash", Text), col("app_id", Int), col("scopes", Text),
        col("created_at", Int), col("expires_at", Int),
    ]};

    /// An app's webhooks journal subscription; its lists are JSON arrays.
    pub(super) const JOURNAL_SUBSCRIPTIONS: Def = Def {
        name: "journal_subscriptions", key: &["id"], columns: &[
        col("id", Int), col("app_id", Int), col("subscription_type", Text),
        nullable("portal_id", Int), nullable("object_type_id", Text),
        nullable("event_type_id", Text), col("actions", Json), col("properties", Json),
        col("object_ids", Json), col("associated_object_type_ids", Json),
        col("created_at", Int), col("updated_at", Int),
    ]};

    /// A filter of a journal subscription: its conditions, a JSON array.
    pub(super) const JOURNAL_FILTERS: Def = Def {
        name: "journal_filters", key: &["id"], columns: &[
        col("id", Int), col("app_id", Int), col("subscription_id", Int),
        col("conditions", Json), col("created_at", Int),
    ]};
}

use defs::*;
use ColumnType::{Bool, Int, Int32, Json, Text};

impl Table {
    pub const ALL: [Table; 28] = [
        Table::Portals,
        Table::Tokens,
        Table::PropertyGroups,
        Table::Properties,
        Table::Objects,
        Table::PropertyHistory,
        Table::UniqueValues,
        Table::AssociationLabels,
        Table::Associations,
        Table::DirectoryTeams,
        Table::DirectoryRoles,
        Table::DirectoryUsers,
        Table::Pipelines,
        Table::PipelineStages,
        Table::PipelineAudits,
        Table::CustomObjectSchemas,
        Table::AssociationDefinitions,
        Table::OAuthApps,
        Table::OAuthCodes,
        Table::OAuthRefreshTokens,
        Table::OAuthAccessTokens,
        Table::PortalClocks,
        Table::WebhookSettings,
        Table::WebhookSubscriptions,
        Table::AppInstalls,
        Table::OAuthAppTokens,
        Table::JournalSubscriptions,
        Table::JournalFilters,
    ];

    fn def(self) -> &'static Def {
        match self {
            Table::Portals => &PORTALS,
            Table::Tokens => &TOKENS,
            Table::PropertyGroups => &PROPERTY_GROUPS,
            Table::Properties => &PROPERTIES,
            Table::Objects => &OBJECTS,
            Table::PropertyHistory => &PROPERTY_HISTORY,
            Table::UniqueValues => &UNIQUE_VALUES,
            Table::AssociationLabels => &ASSOCIATION_LABELS,
            Table::Associations => &ASSOCIATIONS,
            Table::DirectoryTeams => &DIRECTORY_TEAMS,
            Table::DirectoryRoles => &DIRECTORY_ROLES,
            Table::DirectoryUsers => &DIRECTORY_USERS,
            Table::Pipelines => &PIPELINES,
            Table::PipelineStages => &PIPELINE_STAGES,
            Table::PipelineAudits => &PIPELINE_AUDITS,
            Table::CustomObjectSchemas => &CUSTOM_OBJECT_SCHEMAS,
            Table::AssociationDefinitions => &ASSOCIATION_DEFINITIONS,
            Table::OAuthApps => &OAUTH_APPS,
            Table::OAuthCodes => &OAUTH_CODES,
            Table::OAuthRefreshTokens => &OAUTH_REFRESH_TOKENS,
            Table::OAuthAccessTokens => &OAUTH_ACCESS_TOKENS,
            Table::PortalClocks => &PORTAL_CLOCKS,
            Table::WebhookSettings => &WEBHOOK_SETTINGS,
            Table::WebhookSubscriptions => &WEBHOOK_SUBSCRIPTIONS,
            Table::AppInstalls => &APP_INSTALLS,
            Table::OAuthAppTokens => &OAUTH_APP_TOKENS,
            Table::JournalSubscriptions => &JOURNAL_SUBSCRIPTIONS,
            Table::JournalFilters => &JOURNAL_FILTERS,
        }
    }

    /// The table's name in every backend's schema.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Every column, in the order rows hold them; the key columns come first.
    pub fn columns(self) -> &'static [Column] {
        self.def().columns
    }

    /// The primary key's columns, in key order: the first `key().len()` of [`Table::columns`].
    pub fn key(self) -> &'static [&'static str] {
        self.def().key
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One stored value. Booleans are their own kind, so a backend that stores them as
/// integers (SQLite) and one with a boolean type (PostgreSQL) exchange them as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// A value that its column cannot hold: of another type, NULL in a column without NULLs,
/// or an integer too large for an [`ColumnType::Int32`] column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub column: &'static str,
    pub value: Value,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column {} cannot hold {}", self.column, self.value)
    }
}

impl std::error::Error for Mismatch {}

impl Column {
    /// `value` if this column can hold it. Backends check a chunk ([`Rows::check`]) before
    /// binding it, so a value of the wrong type is an error rather than whatever the
    /// database would make of it (SQLite would store text in an integer column).
    pub fn check<'v>(&self, value: &'v Value) -> Result<&'v Value, Mismatch> {
        let fits = match (self.ty, value) {
            (_, Value::Null) => self.nullable,
            (Int, Value::Int(_)) | (Bool, Value::Bool(_)) => true,
            (Int32, Value::Int(i)) => i32::try_from(*i).is_ok(),
            (Text | Json, Value::Text(_)) => true,
            _ => false,
        };
        if fits {
            Ok(value)
        } else {
            Err(Mismatch {
                column: self.name,
                value: value.clone(),
            })
        }
    }
}

/// A row's primary key, columns in key order. Backends compare keys as their primary key
/// index orders them (integers numerically, text bytewise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowKey(pub Vec<Value>);

/// A chunk of rows of one table: one [`Value`] per column per row, row after row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    table: Table,
    values: Vec<Value>,
}

impl Rows {
    /// No rows of `table`.
    pub fn empty(table: Table) -> Self {
        Rows {
            table,
            values: Vec::new(),
        }
    }

    /// No rows of `table` yet, with room for `rows` of them.
    pub fn with_capacity(table: Table, rows: usize) -> Self {
        Rows {
            table,
            values: Vec::with_capacity(rows.saturating_mul(table.columns().len())),
        }
    }

    pub fn table(&self) -> Table {
        self.table
    }

    fn width(&self) -> usize {
        self.table.columns().len()
    }

    pub fn len(&self) -> usize {
        self.values.len() / self.width()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Appends one row: `value(i, column)` gives the value of each column in turn, which
    /// must be one the column can hold ([`Column::check`]). On an error nothing is appended.
    pub fn push_row<E>(
        &mut self,
        mut value: impl FnMut(usize, &Column) -> Result<Value, E>,
    ) -> Result<(), E> {
        let start = self.values.len();
        for (i, column) in self.table.columns().iter().enumerate() {
            match value(i, column) {
                Ok(v) => self.values.push(v),
                Err(e) => {
                    self.values.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Appends the rows of `other`, which must be of the same table; if it is not, it comes
    /// back unchanged.
    pub fn append(&mut self, other: Rows) -> Result<(), Rows> {
        if other.table != self.table {
            return Err(other);
        }
        self.values.extend(other.values);
        Ok(())
    }

    /// Whether every value fits its column ([`Column::check`]); the first that does not.
    pub fn check(&self) -> Result<(), Mismatch> {
        let columns = self.table.columns();
        for row in self.iter() {
            for (c, v) in columns.iter().zip(row) {
                c.check(v)?;
            }
        }
        Ok(())
    }

    /// Each row: its values in [`Table::columns`] order.
    pub fn iter(&self) -> impl Iterator<Item = &[Value]> {
        self.values.chunks_exact(self.width())
    }

    /// Column `i` of every row, in row order.
    pub fn column(&self, i: usize) -> impl Iterator<Item = &Value> {
        self.values.iter().skip(i).step_by(self.width())
    }

    /// The key of the last row: pass it as `after` to export the next chunk.
    pub fn last_key(&self) -> Option<RowKey> {
        let key = self.table.key().len();
        self.iter().last().map(|row| RowKey(row[..key].to_vec()))
    }

    /// Every text value holding U+0000, which older spoke versions stored on SQLite but
    /// PostgreSQL cannot hold; in a JSON column, every string or name inside it that holds
    /// the character. With `strip`, the character is also removed from each.
    pub fn find_nul(&mut self, strip: bool) -> Vec<NulFound> {
        let table = self.table;
        let columns = table.columns();
        let key = table.key().len();
        let width = columns.len();
        let mut found = Vec::new();
        for row in self.values.chunks_exact_mut(width) {
            if !columns
                .iter()
                .zip(row.iter())
                .any(|(c, v)| may_hold_nul(c, v))
            {
                continue;
            }
            let row_key = RowKey(row[..key].to_vec());
            let mut report = |column: String| {
                found.push(NulFound {
                    table,
                    key: row_key.clone(),
                    column,
                })
            };
            for (c, v) in columns.iter().zip(row.iter_mut()) {
                let Value::Text(text) = v else { continue };
                if c.ty == Json {
                    json_nul(text, c.name, strip, &mut report);
                } else if text.contains('\0') {
                    report(c.name.to_owned());
                    if strip {
                        text.retain(|ch| ch != '\0');
                    }
                }
            }
        }
        found
    }
}

/// JSON text spells U+0000 as the escape `\u0000`; a raw one makes the text invalid JSON.
fn may_hold_nul(column: &Column, value: &Value) -> bool {
    match value {
        Value::Text(t) => t.contains('\0') || (column.ty == Json && t.contains("\\u0000")),
        _ => false,
    }
}

/// Finds U+0000 in the strings and names of the JSON document `text` (of column `name`),
/// reporting each as `name.path.to.it` (array positions left out) or, for a name, `... (a
/// name)`; with `strip` the document is written again without them. Text that is not JSON is
/// treated as plain text.
fn json_nul(text: &mut String, name: &str, strip: bool, report: &mut dyn FnMut(String)) {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(text) else {
        if text.contains('\0') {
            report(name.to_owned());
            if strip {
                text.retain(|ch| ch != '\0');
            }
        }
        return;
    };
    let mut any = false;
    walk_json(&mut doc, name, strip, &mut |path| {
        any = true;
        report(path);
    });
    if strip && any {
        if let Ok(clean) = serde_json::to_string(&doc) {
            *text = clean;
        }
    }
}

fn walk_json(v: &mut serde_json::Value, path: &str, strip: bool, report: &mut dyn FnMut(String)) {
    use serde_json::Value as J;
    match v {
        J::String(s) if s.contains('\0') => {
            report(path.to_owned());
            if strip {
                s.retain(|ch| ch != '\0');
            }
        }
        J::Array(items) => {
            for item in items {
                walk_json(item, path, strip, report);
            }
        }
        J::Object(map) => {
            for (k, item) in map.iter_mut() {
                walk_json(item, &format!("{path}.{k}"), strip, report);
            }
            if map.keys().any(|k| k.contains('\0')) {
                let mut renamed = serde_json::Map::new();
                for (mut k, item) in std::mem::take(map) {
                    if k.contains('\0') {
                        report(format!("{path} (a name)"));
                        if strip {
                            k.retain(|ch| ch != '\0');
                        }
                    }
                    renamed.insert(k, item);
                }
                *map = renamed;
            }
        }
        _ => {}
    }
}

/// A whole table read chunk by chunk in key order, each chunk starting after the last
/// one's [`Rows::last_key`].
pub struct Chunks<'a, S: ?Sized> {
    store: &'a S,
    table: Table,
    size: usize,
    after: Option<RowKey>,
    done: bool,
}

impl<'a, S: crate::TransferStore + ?Sized> Chunks<'a, S> {
    /// Chunks of at most `size` rows (at least 1).
    pub fn new(store: &'a S, table: Table, size: usize) -> Self {
        Chunks {
            store,
            table,
            size: size.max(1),
            after: None,
            done: false,
        }
    }

    /// The next chunk, or `None` once the table is done: after a chunk shorter than the
    /// size (which is returned unless it is empty).
    pub async fn next(&mut self) -> crate::StoreResult<Option<Rows>> {
        if self.done {
            return Ok(None);
        }
        let rows = self
            .store
            .export_rows(self.table, self.after.as_ref(), self.size)
            .await?;
        self.done = rows.len() < self.size;
        self.after = rows.last_key();
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }
}

/// A row holding U+0000 in one of its text values (docs/compatibility.md, "Strings").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NulFound {
    pub table: Table,
    /// The row's key as it was read (before any stripping).
    pub key: RowKey,
    /// The column, and inside a JSON column the path to the string: `properties.firstname`.
    pub column: String,
}

impl std::fmt::Display for NulFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key: Vec<String> = self.key.0.iter().map(Value::to_string).collect();
        write!(
            f,
            "{} row ({}) column {}",
            self.table,
            key.join(", "),
            self.column
        )
    }
}

/// The statements every SQL backend runs, built from the declaration. Row values, `ON
/// CONFLICT ... DO UPDATE ... WHERE` and `IS DISTINCT FROM` are spelt alike in SQLite and
/// PostgreSQL; a backend passes in only its own parts.
pub mod sql {
    use super::Table;

    /// The column names, comma-separated, in row order.
    pub fn columns(table: Table) -> String {
        let names: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
        names.join(", ")
    }

    /// Up to a limit of rows in key order, after a key or from the start. `mark(i)` is the
    /// dialect's placeholder for parameter `i` (1-based): the key's values come first (when
    /// `after`), then the limit.
    pub fn select(table: Table, after: bool, mark: impl Fn(usize) -> String) -> String {
        let key = table.key().join(", ");
        let (filter, limit) = if after {
            let marks: Vec<String> = (1..=table.key().len()).map(&mark).collect();
            (
                format!(" WHERE ({key}) > ({})", marks.join(", ")),
                table.key().len() + 1,
            )
        } else {
            (String::new(), 1)
        };
        format!(
            "SELECT {} FROM {}{filter} ORDER BY {key} LIMIT {}",
            columns(table),
            table.name(),
            mark(limit)
        )
    }

    /// `INSERT INTO table (columns) <rows> ON CONFLICT (key) DO UPDATE SET ... WHERE
    /// (...) IS DISTINCT FROM (...)`, so an identical row is neither rewritten nor counted as
    /// a change. `rows` is the dialect's source of rows, in [`columns`] order (`VALUES (...)`,
    /// `SELECT * FROM unnest(...)`).
    pub fn upsert(table: Table, rows: &str) -> String {
        let name = table.name();
        let rest: Vec<&str> = table.columns()[table.key().len()..]
            .iter()
            .map(|c| c.name)
            .collect();
        let action = if rest.is_empty() {
            "NOTHING".to_owned()
        } else {
            let set: Vec<String> = rest.iter().map(|c| format!("{c} = excluded.{c}")).collect();
            let mine: Vec<String> = rest.iter().map(|c| format!("{name}.{c}")).collect();
            let theirs: Vec<String> = rest.iter().map(|c| format!("excluded.{c}")).collect();
            format!(
                "UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})",
                set.join(", "),
                mine.join(", "),
                theirs.join(", ")
            )
        };
        format!(
            "INSERT INTO {name} ({}) {rows} ON CONFLICT ({}) DO {action}",
            columns(table),
            table.key().join(", ")
        )
    }

    pub fn count(table: Table) -> String {
        format!("SELECT COUNT(*) FROM {}", table.name())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn properties_json(p: &BTreeMap<String, String>) -> String {
        serde_json::to_string(p).expect("a map of strings is JSON")
    }

    fn history(rows: &[(i64, &str, i64, &str)]) -> Rows {
        let mut out = Rows::empty(Table::PropertyHistory);
        for &(id, name, version, value) in rows {
            let row = [
                Value::Int(id),
                Value::Text(name.into()),
                Value::Int(version),
                Value::Text(value.into()),
                Value::Int(0),
                Value::Text("API".into()),
                Value::Null,
            ];
            out.push_row(|i, _| Ok::<_, ()>(row[i].clone()))
                .expect("a whole row");
        }
        out
    }

    #[test]
    fn every_key_is_the_head_of_its_columns() {
        for t in Table::ALL {
            let names: Vec<&str> = t.columns().iter().map(|c| c.name).collect();
            assert!(!t.key().is_empty(), "{t} has a key");
            assert_eq!(&names[..t.key().len()], t.key(), "{t}: key columns first");
            assert!(
                t.columns()[..t.key().len()]
                    .iter()
                    .all(|c| !c.nullable && matches!(c.ty, Int | Text)),
                "{t}: key columns are integers or text, never NULL"
            );
        }
    }

    #[test]
    fn nul_is_found_and_stripped_where_it_is() {
        let mut rows = history(&[(7, "firstname", 1, "ok"), (7, "firstname", 2, "a\0b")]);
        let found = rows.find_nul(false);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "property_history row (7, \"firstname\", 2) column value"
        );
        assert_eq!(rows.find_nul(true).len(), 1);
        assert_eq!(
            rows,
            history(&[(7, "firstname", 1, "ok"), (7, "firstname", 2, "ab")])
        );
        assert!(rows.find_nul(false).is_empty());
    }

    #[test]
    fn nul_inside_json_is_found_by_path_and_stripped() {
        let props: BTreeMap<String, String> = [
            ("email".to_owned(), "a\0@x.test".to_owned()),
            ("first\0name".to_owned(), "ok".to_owned()),
            ("lastname".to_owned(), "clean".to_owned()),
        ]
        .into();
        let row = [
            Value::Int(9),
            Value::Int(1),
            Value::Text("0-1".into()),
            Value::Text(properties_json(&props)),
            Value::Int(1),
            Value::Int(0),
            Value::Int(0),
            Value::Null,
        ];
        let mut rows = Rows::empty(Table::Objects);
        rows.push_row(|i, _| Ok::<_, ()>(row[i].clone()))
            .expect("a whole row");
        let found: Vec<String> = rows.find_nul(true).iter().map(|f| f.to_string()).collect();
        assert_eq!(
            found,
            [
                "objects row (9) column properties.email",
                "objects row (9) column properties (a name)"
            ]
        );
        let clean: BTreeMap<String, String> = [
            ("email".to_owned(), "a@x.test".to_owned()),
            ("firstname".to_owned(), "ok".to_owned()),
            ("lastname".to_owned(), "clean".to_owned()),
        ]
        .into();
        assert_eq!(
            rows.column(3).next(),
            Some(&Value::Text(properties_json(&clean)))
        );
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
        let rows = history(&[(1, "a", 1, "x"), (2, "b", 3, "y")]);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows.last_key(),
            Some(RowKey(vec![
                Value::Int(2),
                Value::Text("b".into()),
                Value::Int(3)
            ]))
        );
    }

    #[test]
    fn a_failed_row_is_not_appended() {
        let mut rows = history(&[(1, "a", 1, "x")]);
        let failed = rows.push_row(|i, _| if i < 3 { Ok(Value::Int(1)) } else { Err(i) });
        assert_eq!(failed, Err(3));
        assert_eq!(rows, history(&[(1, "a", 1, "x")]));
        assert!(rows.append(Rows::empty(Table::Portals)).is_err());
    }

    #[test]
    fn columns_check_their_values() {
        let [_, display_order, archived] = &PROPERTY_GROUPS.columns[3..] else {
            panic!("property_groups has label, display_order, archived last");
        };
        assert!(display_order
            .check(&Value::Int(i64::from(i32::MAX)))
            .is_ok());
        assert!(display_order
            .check(&Value::Int(i64::from(i32::MAX) + 1))
            .is_err());
        assert!(display_order.check(&Value::Null).is_err());
        assert!(archived.check(&Value::Bool(true)).is_ok());
        assert!(archived.check(&Value::Int(1)).is_err());
        assert!(TOKENS.columns[6].check(&Value::Null).is_ok());
    }

    #[test]
    fn sql_for_a_composite_key() {
        assert_eq!(
            sql::select(Table::PropertyHistory, true, |i| format!("${i}")),
            "SELECT object_id, name, version, value, timestamp, source_type, source_id \
             FROM property_history WHERE (object_id, name, version) > ($1, $2, $3) \
             ORDER BY object_id, name, version LIMIT $4"
        );
        assert_eq!(
            sql::select(Table::Portals, false, |_| "?".into()),
            "SELECT id, created_at FROM portals ORDER BY id LIMIT ?"
        );
        assert_eq!(
            sql::upsert(Table::Portals, "VALUES (?1, ?2)"),
            "INSERT INTO portals (id, created_at) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE \
             SET created_at = excluded.created_at \
             WHERE (portals.created_at) IS DISTINCT FROM (excluded.created_at)"
        );
        assert!(sql::upsert(Table::Associations, "VALUES ()").ends_with("DO NOTHING"));
    }
}
