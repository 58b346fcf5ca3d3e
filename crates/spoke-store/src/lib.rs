//! spoke's storage traits, split by capability; the planner that decides every batch
//! record write for every backend ([`plan`]); the conformance suite every backend must
//! pass ([`conformance`]); and the domain rules that need stored state, shared by the
//! server and the command line: [`schema`] (a type's live property set: validation,
//! unique properties, projection) and [`tokens`] (minting, hashing and finding API tokens).
//!
//! Batch methods take whole batches so each backend runs one transaction per call and
//! reports per-item outcomes (HubSpot's 207 responses); callers never loop over
//! single-item calls. Values reaching storage are already validated and normalized by
//! [`schema::TypeSchema`] with the core's value rules: storage never interprets a property
//! value, except to keep unique values unique and to search values by the core's rules
//! ([`sql_search`]). The other shared rules: [`graph`] (association rows and labels),
//! [`requests`] and [`columns`] (what narrow methods receive and how rows become records),
//! [`transfer`] (every table declared once).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use spoke_core::search::SearchQuery;
use spoke_core::time::Millis;
use spoke_core::{
    HistoryEntry, ObjectId, ObjectRecord, PortalId, PropertyDefinition, StoredRecord,
};

pub mod admin;
pub mod columns;
pub mod conformance;
pub mod directory;
pub mod emulator;
pub mod graph;
pub mod journal;
pub mod oauth;
pub mod pipelines;
pub mod plan;
pub mod requests;
pub mod schema;
pub mod schemas;
pub mod sealed;
pub mod sql_search;
pub mod tokens;
pub mod totals;
pub mod transfer;
pub mod value_index;
pub mod webhooks;

pub use journal::JournalStore;
pub use oauth::OAuthStore;
pub use pipelines::PipelineStore;
pub use requests::{RecordArchive, RecordRead, RecordSearch, Selection};
pub use schemas::{SchemaKey, SchemaStore};
pub use transfer::{RowKey, Rows, Table};
pub use webhooks::WebhookStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached right now; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else that went wrong inside the backend. Logged, never shown to clients.
    #[error("storage failure: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Who made a write, recorded in property history (`sourceType`, `sourceId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSource {
    pub source_type: String,
    pub source_id: Option<String>,
}

impl WriteSource {
    /// A write through HubSpot's API, with no source id.
    pub fn api() -> Self {
        Self {
            source_type: "API".into(),
            source_id: None,
        }
    }
}

/// When and by whom associations are written or removed: what their webhook events say
/// (`occurredAt`, `changeSource`, `sourceId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkContext {
    pub now: Millis,
    pub source: WriteSource,
}

impl LinkContext {
    /// Through the API, now.
    pub fn api_now() -> Self {
        Self {
            now: spoke_core::time::now_millis(),
            source: WriteSource::api(),
        }
    }
}

/// What every object write needs to know besides its items.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub portal: PortalId,
    pub object_type: String,
    pub now: Millis,
    pub source: WriteSource,
    /// Properties of this type whose values must be unique (contact `email`,
    /// `hasUniqueValue` properties). Storage keeps an index of them.
    pub unique_properties: Vec<String>,
    /// If true, the first conflict rolls the whole batch back; otherwise each item
    /// stands alone (HubSpot's `objectWriteTraceId` mode).
    pub atomic: bool,
}

/// How a write item names its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(ObjectId),
    /// A value of a unique property (`idProperty`).
    Unique {
        property: String,
        value: String,
    },
}

/// Why one item of a batch write did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemFailure {
    NotFound,
    /// Another live record already holds this unique value.
    Conflict {
        property: String,
        value: String,
        existing_id: ObjectId,
    },
    /// An association on create points at a record that does not exist (or is archived).
    AssociationTarget {
        object_type: String,
        id: ObjectId,
    },
}

pub type ItemResult<T> = Result<T, ItemFailure>;

/// A record to create: its normalized, non-empty property values, and the associations
/// to write with it in the same transaction.
#[derive(Debug, Clone, Default)]
pub struct NewObject {
    pub properties: BTreeMap<String, String>,
    pub associations: Vec<NewAssociation>,
}

/// An association from a record being created.
#[derive(Debug, Clone)]
pub struct NewAssociation {
    pub to_type: String,
    pub to_id: ObjectId,
    pub types: Vec<LinkType>,
}

/// One directed association type to write, with what storage needs to keep the other
/// direction and "at most one" (primary) rules true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkType {
    pub category: String,
    pub type_id: i64,
    pub inverse_type_id: i64,
    /// At most one target of this type per source record: writing it replaces the others.
    pub exclusive: bool,
    /// The same rule for the inverse direction.
    pub inverse_exclusive: bool,
}

/// Associate `from` with `to` with these types (both directions are written).
#[derive(Debug, Clone)]
pub struct AssociationWrite {
    pub from_type: String,
    pub from_id: ObjectId,
    pub to_type: String,
    pub to_id: ObjectId,
    pub types: Vec<LinkType>,
}

/// Remove types between a pair (both directions); `None` removes every type.
#[derive(Debug, Clone)]
pub struct AssociationRemoval {
    pub from_type: String,
    pub from_id: ObjectId,
    pub to_type: String,
    pub to_id: ObjectId,
    /// (category, type id, inverse type id)
    pub types: Option<Vec<(String, i64, i64)>>,
}

/// A link's category as a page holds it. Every stored link has one of HubSpot's few
/// category names, and a v4 batch read returns a thousand links: each page borrows the
/// static name ([`category`]) instead of allocating a `String` per link.
pub type Category = std::borrow::Cow<'static, str>;

/// `text` as a [`Category`]: HubSpot's names borrowed, any other text owned.
pub fn category(text: &str) -> Category {
    use spoke_core::association::{HUBSPOT_DEFINED, USER_DEFINED};
    match text {
        HUBSPOT_DEFINED => Category::Borrowed(HUBSPOT_DEFINED),
        USER_DEFINED => Category::Borrowed(USER_DEFINED),
        other => Category::Owned(other.to_owned()),
    }
}

/// One associated record and every type linking to it, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociatedTarget {
    pub to_id: ObjectId,
    /// (category, type id)
    pub types: Vec<(Category, i64)>,
}

/// One page of a record's associations to one type, by ascending target id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssociationPage {
    pub targets: Vec<AssociatedTarget>,
    /// Whether targets remain after the last one of this page.
    pub more: bool,
}

/// A USER_DEFINED association label, one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRecord {
    pub from_type: String,
    pub to_type: String,
    pub type_id: i64,
    pub label: String,
    pub name: String,
    pub inverse_type_id: i64,
}

/// Changes to one record. An empty string clears a property.
#[derive(Debug, Clone)]
pub struct ObjectPatch {
    pub target: Target,
    pub properties: BTreeMap<String, String>,
}

/// One upsert: find the record whose `id_property` equals `value`, update it, or create it.
#[derive(Debug, Clone)]
pub struct UpsertItem {
    pub value: String,
    pub properties: BTreeMap<String, String>,
}

/// The result of one upsert item.
#[derive(Debug, Clone)]
pub struct Upserted {
    pub record: ObjectRecord,
    pub created: bool,
}

/// How a read names its records.
#[derive(Debug, Clone)]
pub enum ReadKeys {
    Ids(Vec<ObjectId>),
    Unique {
        property: String,
        values: Vec<String>,
    },
}

/// What a read returns besides current values.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions<'a> {
    /// `false`: live records only; `true`: archived records only (HubSpot's `archived=true`).
    pub archived: bool,
    /// Properties whose history to load.
    pub history: &'a [String],
}

impl ReadOptions<'_> {
    /// The condition on the records table's `archived_at` column (every backend keeps the
    /// same tables, [`transfer`]) that selects the records these options ask for. Written
    /// out rather than compared with a parameter, so that the partial indexes of live
    /// records serve it.
    pub fn archived_condition(&self) -> &'static str {
        if self.archived {
            "archived_at IS NOT NULL"
        } else {
            "archived_at IS NULL"
        }
    }
}

/// Gives every record the history of each of `names`: the `rows` (record id, property,
/// entry) of that record and property, in the order given (newest first), or an empty list
/// where the property was never written.
pub fn attach_history<'r, P: 'r>(
    records: impl IntoIterator<Item = &'r mut ObjectRecord<P>>,
    names: &[String],
    rows: impl IntoIterator<Item = (ObjectId, String, HistoryEntry)>,
) {
    let mut by_key: HashMap<(ObjectId, String), Vec<HistoryEntry>> = HashMap::new();
    for (id, name, entry) in rows {
        by_key.entry((id, name)).or_default().push(entry);
    }
    for record in records {
        for name in names {
            // Not taken out: a read may name the same record twice.
            let entries = by_key
                .get(&(record.id, name.clone()))
                .cloned()
                .unwrap_or_default();
            record.history.insert(name.clone(), entries);
        }
    }
}

/// One batch record write. The backend runs it in one transaction, deciding it with a
/// [`plan::Plan`].
#[derive(Debug, Clone)]
pub enum RecordBatch {
    Create(Vec<NewObject>),
    Update(Vec<ObjectPatch>),
    /// Each item updates the record whose `id_property` equals its value, or creates it.
    Upsert {
        id_property: String,
        items: Vec<UpsertItem>,
    },
}

impl RecordBatch {
    pub fn len(&self) -> usize {
        match self {
            RecordBatch::Create(items) => items.len(),
            RecordBatch::Update(items) => items.len(),
            RecordBatch::Upsert { items, .. } => items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Runs a batch in one transaction: reads what its [`plan::Plan`] asks for and writes
    /// the plan's decision. Returns each item's record and whether the item created it.
    async fn write_objects(
        &self,
        ctx: &WriteContext,
        batch: RecordBatch,
    ) -> StoreResult<Vec<ItemResult<Upserted>>>;

    async fn create_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<NewObject>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        let out = self.write_objects(ctx, RecordBatch::Create(items)).await?;
        Ok(plan::records(out))
    }

    async fn update_objects(
        &self,
        ctx: &WriteContext,
        items: Vec<ObjectPatch>,
    ) -> StoreResult<Vec<ItemResult<ObjectRecord>>> {
        let out = self.write_objects(ctx, RecordBatch::Update(items)).await?;
        Ok(plan::records(out))
    }

    async fn upsert_objects(
        &self,
        ctx: &WriteContext,
        id_property: &str,
        items: Vec<UpsertItem>,
    ) -> StoreResult<Vec<ItemResult<Upserted>>> {
        let id_property = id_property.to_owned();
        self.write_objects(ctx, RecordBatch::Upsert { id_property, items })
            .await
    }

    /// Archives live records; unknown or already archived ids are ignored.
    async fn archive_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        ids: Vec<ObjectId>,
        now: Millis,
    ) -> StoreResult<()> {
        let archive = RecordArchive {
            portal,
            object_type,
            ids,
            now,
            source: WriteSource::api(),
        };
        self.archive_records(archive).await
    }

    /// One entry per key, in key order: `None` where no record matches. Reads return values
    /// as stored ([`StoredRecord`]), undecoded.
    async fn read_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        keys: ReadKeys,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<Option<StoredRecord>>> {
        let selection = Selection::Keys(keys);
        self.fetch_records(RecordRead {
            portal,
            object_type,
            selection,
            options,
        })
        .await
    }

    /// Live records matching a search, with the total number of matches.
    async fn search_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        query: &SearchQuery,
    ) -> StoreResult<SearchPage> {
        let search = RecordSearch {
            portal,
            object_type,
            query,
        };
        self.search_records(search).await
    }

    /// Records by ascending id, starting after `after`.
    async fn list_objects(
        &self,
        portal: PortalId,
        object_type: &str,
        after: Option<ObjectId>,
        limit: usize,
        options: ReadOptions<'_>,
    ) -> StoreResult<Vec<StoredRecord>> {
        let selection = Selection::Page { after, limit };
        let read = RecordRead {
            portal,
            object_type,
            selection,
            options,
        };
        Ok(self
            .fetch_records(read)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// What [`archive_objects`](Self::archive_objects) does, in one transaction.
    async fn archive_records(&self, archive: RecordArchive<'_>) -> StoreResult<()>;

    /// What [`read_objects`](Self::read_objects) and [`list_objects`](Self::list_objects)
    /// read: for a page, only `Some` entries, in ascending id order.
    async fn fetch_records(&self, read: RecordRead<'_>) -> StoreResult<Vec<Option<StoredRecord>>>;

    /// What [`search_objects`](Self::search_objects) answers; an SQL backend compiles the
    /// query with [`sql_search::compile`] and its own dialect.
    async fn search_records(&self, search: RecordSearch<'_>) -> StoreResult<SearchPage>;
}

/// One page of search results.
#[derive(Debug, Clone, Default)]
pub struct SearchPage {
    /// All matches, not only this page's.
    pub total: usize,
    pub records: Vec<StoredRecord>,
}

/// A property group (`/crm/v3/properties/{type}/groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: i32,
    pub archived: bool,
}

/// Custom property definitions. Built-in ones live in `spoke_core::catalog`.
#[async_trait]
pub trait PropertyStore: Send + Sync {
    /// Every custom property of a type, archived ones included.
    async fn list_properties(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyDefinition>>;

    /// Inserts definitions in one transaction. Returns, per item, whether it was new;
    /// if any name is taken by a live property nothing is written. An archived property of
    /// the same name is replaced.
    async fn insert_properties(
        &self,
        portal: PortalId,
        object_type: &str,
        defs: Vec<PropertyDefinition>,
    ) -> StoreResult<Vec<bool>> {
        // Unbounded is the bounded insert whose bound cannot be reached.
        let inserted = self
            .insert_properties_bounded(portal, object_type, defs, usize::MAX)
            .await?;
        Ok(inserted.unwrap_or_default())
    }

    /// As [`insert_properties`](Self::insert_properties), but writes nothing and returns
    /// `None` when the type would then have more than `max_live` live custom properties
    /// (the check and the insert are one transaction, so concurrent creates cannot pass it
    /// together). A taken name is reported as by `insert_properties` first.
    async fn insert_properties_bounded(
        &self,
        portal: PortalId,
        object_type: &str,
        defs: Vec<PropertyDefinition>,
        max_live: usize,
    ) -> StoreResult<Option<Vec<bool>>> {
        let insert = requests::DefinitionInsert {
            portal,
            object_type: object_type.to_owned(),
            defs,
            max_live,
        };
        self.insert_definitions(insert).await
    }

    /// Archives the named live custom properties in one transaction: all of them or, if it
    /// fails, none. Their `archived_at` and `updated_at` become `now`. Unknown and already
    /// archived names are ignored. Then, in the same transaction, deletes the type's oldest
    /// archived definitions (by `archived_at`, then name) beyond the newest `keep_archived`.
    /// Returns how many were archived.
    async fn archive_properties(
        &self,
        portal: PortalId,
        object_type: &str,
        names: Vec<String>,
        now: Millis,
        keep_archived: usize,
    ) -> StoreResult<usize> {
        let archive = requests::DefinitionArchive {
            portal,
            object_type: object_type.to_owned(),
            names,
            now,
            keep_archived,
        };
        self.archive_definitions(archive).await
    }

    /// Replaces a stored definition. Returns false if it does not exist.
    async fn update_property(
        &self,
        portal: PortalId,
        object_type: &str,
        def: PropertyDefinition,
    ) -> StoreResult<bool> {
        let replace = requests::DefinitionReplace {
            portal,
            object_type: object_type.to_owned(),
            def,
        };
        self.replace_definition(replace).await
    }

    async fn list_groups(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyGroup>>;

    /// Inserts or replaces a group. Returns false if `only_new` and it exists (live).
    async fn put_group(
        &self,
        portal: PortalId,
        object_type: &str,
        group: PropertyGroup,
        only_new: bool,
    ) -> StoreResult<bool> {
        let put = requests::GroupPut {
            portal,
            object_type: object_type.to_owned(),
            group,
            only_new,
        };
        self.write_group(put).await
    }

    // What a backend implements: the methods above, with their arguments in one value
    // that carries the rules needing no SQL (`requests`).

    /// [`insert_properties_bounded`](Self::insert_properties_bounded), in one transaction.
    async fn insert_definitions(
        &self,
        insert: requests::DefinitionInsert,
    ) -> StoreResult<Option<Vec<bool>>>;

    /// [`archive_properties`](Self::archive_properties), in one transaction.
    async fn archive_definitions(&self, archive: requests::DefinitionArchive)
        -> StoreResult<usize>;

    /// [`update_property`](Self::update_property).
    async fn replace_definition(&self, replace: requests::DefinitionReplace) -> StoreResult<bool>;

    /// [`put_group`](Self::put_group), in one transaction.
    async fn write_group(&self, put: requests::GroupPut) -> StoreResult<bool>;
}

/// An API token: belongs to one portal, carries HubSpot scope names. Stored hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub portal: PortalId,
    /// The first characters of the token, to tell tokens apart in listings.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: Millis,
    pub revoked_at: Option<Millis>,
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Creates the portal if it does not exist yet.
    async fn ensure_portal(&self, portal: PortalId, now: Millis) -> StoreResult<()>;
    async fn list_portals(&self) -> StoreResult<Vec<PortalId>>;
    async fn create_token(
        &self,
        portal: PortalId,
        hash: &str,
        prefix: &str,
        scopes: &[String],
        now: Millis,
    ) -> StoreResult<TokenRecord> {
        let token = requests::NewToken {
            portal,
            hash: hash.to_owned(),
            prefix: prefix.to_owned(),
            scopes: scopes.to_vec(),
            now,
        };
        self.insert_token(token).await
    }

    /// What a backend implements for [`create_token`](Self::create_token).
    async fn insert_token(&self, token: requests::NewToken) -> StoreResult<TokenRecord>;
    /// A live (not revoked) token by the hash of its secret.
    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>>;
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>>;
    /// Revokes by id. Returns false if no live token has that id.
    async fn revoke_token(&self, id: i64, now: Millis) -> StoreResult<bool>;
}

/// The association graph. Both directions of a link are always written and removed
/// together; archived records keep their links but every read hides them.
#[async_trait]
pub trait AssociationStore: Send + Sync {
    /// Writes each item (idempotently). An item whose `from` or `to` record is not a live
    /// record of the portal fails with `AssociationTarget` naming it; the others are written.
    /// Through the API, now ([`write_associations`](Self::write_associations) says who and
    /// when).
    async fn put_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
    ) -> StoreResult<Vec<ItemResult<()>>> {
        self.write_associations(portal, items, LinkContext::api_now())
            .await
    }

    async fn remove_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
    ) -> StoreResult<()> {
        self.unlink_associations(portal, items, LinkContext::api_now())
            .await
    }

    /// What a backend implements for [`put_associations`](Self::put_associations), in one
    /// transaction that also writes the webhook events of every row it adds or prunes
    /// ([`webhooks::Listeners::links`]).
    async fn write_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationWrite>,
        ctx: LinkContext,
    ) -> StoreResult<Vec<ItemResult<()>>>;

    /// What a backend implements for [`remove_associations`](Self::remove_associations),
    /// with the events of every row it deletes.
    async fn unlink_associations(
        &self,
        portal: PortalId,
        items: Vec<AssociationRemoval>,
        ctx: LinkContext,
    ) -> StoreResult<()>;

    /// For each `(from id, after)`, the next page of at most `limit` live targets with
    /// target id greater than `after`. A missing or archived `from` gets an empty page.
    async fn page_associations(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        requests: Vec<(ObjectId, Option<ObjectId>)>,
        limit: usize,
    ) -> StoreResult<Vec<AssociationPage>> {
        let request = graph::PageRequest {
            portal,
            from_type: from_type.to_owned(),
            to_type: to_type.to_owned(),
            requests,
            limit,
        };
        self.read_pages(request).await
    }

    /// What a backend implements for [`page_associations`](Self::page_associations):
    /// reads each request's link rows in (target id, category, type id) order and builds
    /// the pages with [`AssociationPage::push`].
    async fn read_pages(&self, request: graph::PageRequest) -> StoreResult<Vec<AssociationPage>>;

    /// Both directions' labels are listed under their own (from, to) pair.
    async fn list_labels(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
    ) -> StoreResult<Vec<LabelRecord>> {
        let pair = graph::LabelPair {
            portal,
            from_type: from_type.to_owned(),
            to_type: to_type.to_owned(),
        };
        self.read_labels(pair).await
    }

    /// Creates a label (and its inverse, under the reversed pair), allocating type ids from
    /// `spoke_core::association::FIRST_USER_TYPE_ID` up, per portal.
    /// Returns `None` if the pair already has `max` labels or one with this name.
    #[allow(clippy::too_many_arguments)]
    async fn create_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        name: &str,
        label: &str,
        inverse_label: Option<&str>,
        max: usize,
    ) -> StoreResult<Option<Vec<LabelRecord>>> {
        let new = graph::NewLabel {
            portal,
            from_type: from_type.to_owned(),
            to_type: to_type.to_owned(),
            name: name.to_owned(),
            label: label.to_owned(),
            inverse_label: inverse_label.map(str::to_owned),
            max,
        };
        self.insert_label(new).await
    }

    /// Renames a label (and its inverse when `inverse_label` is given). False if unknown.
    async fn update_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        type_id: i64,
        label: &str,
        inverse_label: Option<&str>,
    ) -> StoreResult<bool> {
        let key = graph::LabelKey {
            portal,
            from_type: from_type.to_owned(),
            to_type: to_type.to_owned(),
            type_id,
        };
        let rename = graph::LabelRename {
            label: label.to_owned(),
            inverse_label: inverse_label.map(str::to_owned),
        };
        self.rename_label(key, rename).await
    }

    /// Deletes a label, its inverse, and every association of either type. False if unknown.
    async fn delete_label(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        let key = graph::LabelKey {
            portal,
            from_type: from_type.to_owned(),
            to_type: to_type.to_owned(),
            type_id,
        };
        self.remove_label(key).await
    }

    /// What a backend implements for [`list_labels`](Self::list_labels).
    async fn read_labels(&self, pair: graph::LabelPair) -> StoreResult<Vec<LabelRecord>>;

    /// What a backend implements for [`create_label`](Self::create_label): in one
    /// transaction, reads the pair's labels and the portal's largest label type id, asks
    /// [`graph::NewLabel::records`] what to insert, and inserts it.
    async fn insert_label(&self, new: graph::NewLabel) -> StoreResult<Option<Vec<LabelRecord>>>;

    /// What a backend implements for [`update_label`](Self::update_label): finds the
    /// label's inverse type id and relabels [`graph::LabelRename::targets`].
    async fn rename_label(
        &self,
        key: graph::LabelKey,
        rename: graph::LabelRename,
    ) -> StoreResult<bool>;

    /// What a backend implements for [`delete_label`](Self::delete_label): finds the
    /// label's inverse type id, then deletes both [`graph::LabelKey::with_inverse`] labels
    /// and every USER_DEFINED link of their types under their pairs.
    async fn remove_label(&self, key: graph::LabelKey) -> StoreResult<bool>;
}

/// Moving a whole database between backends (`spoke copy`): every table's rows, typed
/// ([`transfer`]), in key order and in chunks, so memory stays flat whatever the size.
/// Ids, versions, timestamps, archived state, history and token hashes travel unchanged.
#[async_trait]
pub trait TransferStore: Send + Sync {
    /// Up to `limit` rows of `table` in primary key order, starting after `after` (the
    /// [`Rows::last_key`] of the previous chunk; `None` for the first). Fewer than `limit`
    /// rows means the table is done.
    async fn export_rows(
        &self,
        table: Table,
        after: Option<&RowKey>,
        limit: usize,
    ) -> StoreResult<Rows>;

    /// Writes rows in one transaction, inserting new keys and overwriting rows with the same
    /// key whose values differ; identical rows are left alone. Returns how many rows were
    /// inserted or changed, so importing the same rows again returns 0.
    async fn import_rows(&self, rows: Rows) -> StoreResult<u64>;

    async fn count_rows(&self, table: Table) -> StoreResult<u64>;

    /// After an import (`spoke copy`, `spoke import`): moves the id generators of records
    /// and tokens past the largest id present (never back), so new records and tokens never
    /// reuse a copied id, and refreshes whatever the backend's query planner knows about the
    /// tables' contents (PostgreSQL's statistics), so the first requests on the loaded
    /// data get good plans.
    async fn finish_import(&self) -> StoreResult<()>;
}

/// Everything a spoke server needs from its database.
pub trait Store:
    ObjectStore
    + PropertyStore
    + TokenStore
    + AssociationStore
    + TransferStore
    + directory::DirectoryStore
    + PipelineStore
    + SchemaStore
    + OAuthStore
    + admin::AdminStore
    + emulator::EmulatorStore
    + webhooks::WebhookStore
    + journal::JournalStore
{
    /// The backend's name for logs (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;
}
