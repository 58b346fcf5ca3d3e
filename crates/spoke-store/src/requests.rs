//! What a backend's narrow trait methods receive: one value per call (record reads,
//! searches and archives; definition, group and token writes), carrying the rules that need
//! no SQL (when an insert is refused, what an archived definition looks like, how scopes
//! are kept). Callers use the trait methods with plain arguments
//! ([`crate::PropertyStore::archive_properties`], ...), which build these.

use spoke_core::search::SearchQuery;
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId, PropertyDefinition};

use crate::{PropertyGroup, ReadKeys, ReadOptions};

/// [`crate::ObjectStore::archive_objects`]'s arguments: live records of one portal and type
/// to archive; unknown, foreign and already archived ids are ignored.
#[derive(Debug, Clone)]
pub struct RecordArchive<'a> {
    pub portal: PortalId,
    pub object_type: &'a str,
    pub ids: Vec<ObjectId>,
    pub now: Millis,
    /// Who archives them (the deletion webhook event's `changeSource`).
    pub source: crate::WriteSource,
}

/// Which records a read names.
#[derive(Debug, Clone)]
pub enum Selection {
    /// One answer per key, in key order ([`crate::ObjectStore::read_objects`]).
    Keys(ReadKeys),
    /// The next `limit` records by ascending id after `after`
    /// ([`crate::ObjectStore::list_objects`]).
    Page {
        after: Option<ObjectId>,
        limit: usize,
    },
}

/// [`crate::ObjectStore::read_objects`]' and [`crate::ObjectStore::list_objects`]'
/// arguments: one read of one portal's records of one type.
#[derive(Debug, Clone)]
pub struct RecordRead<'a> {
    pub portal: PortalId,
    pub object_type: &'a str,
    pub selection: Selection,
    pub options: ReadOptions<'a>,
}

/// [`crate::ObjectStore::search_objects`]'s arguments.
#[derive(Debug, Clone, Copy)]
pub struct RecordSearch<'a> {
    pub portal: PortalId,
    pub object_type: &'a str,
    pub query: &'a SearchQuery,
}

/// [`crate::PropertyStore::insert_properties_bounded`]'s arguments.
#[derive(Debug, Clone)]
pub struct DefinitionInsert {
    pub portal: PortalId,
    pub object_type: String,
    pub defs: Vec<PropertyDefinition>,
    pub max_live: usize,
}

impl DefinitionInsert {
    /// The outcome without writing anything, given whether each name is free (no live
    /// property holds it) and how many live properties the type has: the per-item
    /// freshness if a name is taken, else `None` if the insert would pass the bound.
    /// `None` here means: write every definition, and answer `Some(fresh)`.
    #[allow(clippy::option_option)]
    pub fn refusal(&self, fresh: &[bool], live: usize) -> Option<Option<Vec<bool>>> {
        if fresh.iter().any(|f| !f) {
            return Some(Some(fresh.to_vec()));
        }
        if live.saturating_add(self.defs.len()) > self.max_live {
            return Some(None);
        }
        None
    }
}

/// [`crate::PropertyStore::archive_properties`]'s arguments.
#[derive(Debug, Clone)]
pub struct DefinitionArchive {
    pub portal: PortalId,
    pub object_type: String,
    pub names: Vec<String>,
    pub now: Millis,
    pub keep_archived: usize,
}

impl DefinitionArchive {
    /// A live definition as the archive leaves it.
    pub fn archived(&self, mut def: PropertyDefinition) -> PropertyDefinition {
        def.archived = true;
        def.archived_at = Some(self.now);
        def.updated_at = Some(self.now);
        def
    }

    /// How many archived definitions of the type to keep (newest `archived_at` first,
    /// then name, descending), as a SQL `LIMIT`.
    pub fn keep_limit(&self) -> i64 {
        i64::try_from(self.keep_archived).unwrap_or(i64::MAX)
    }
}

/// [`crate::PropertyStore::update_property`]'s arguments.
#[derive(Debug, Clone)]
pub struct DefinitionReplace {
    pub portal: PortalId,
    pub object_type: String,
    pub def: PropertyDefinition,
}

/// [`crate::PropertyStore::put_group`]'s arguments.
#[derive(Debug, Clone)]
pub struct GroupPut {
    pub portal: PortalId,
    pub object_type: String,
    pub group: PropertyGroup,
    /// Refuse if a live group of this name exists.
    pub only_new: bool,
}

/// [`crate::TokenStore::create_token`]'s arguments.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub portal: PortalId,
    pub hash: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub now: Millis,
}

impl NewToken {
    /// The `scopes` column: space-separated, in order (see `columns::token`).
    pub fn scopes_column(&self) -> String {
        crate::columns::join_scopes(&self.scopes)
    }
}
