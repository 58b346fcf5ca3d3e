//! HubSpot's webhooks journal (2026-03) as stored: app tokens from the client-credentials
//! grant, an app's journal subscriptions and their filters, and the journal itself.
//!
//! The journal is the pull-based sibling of the webhook outbox: the record and association
//! writes of both backends ask this module ([`JournalListeners`]) which events the change
//! gives each app's journal subscriptions, and insert one entry per app into
//! `journal_entries` inside the change's own transaction, so an entry exists exactly when
//! its change committed. An entry has a random UUID offset, an ordering number (`seq`)
//! readers follow, and the events as one JSON array (the file its pre-signed URL serves).
//! Entries are kept [`RETENTION_MS`] (HubSpot's three days) and pruned when the app's next
//! entries are written.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};

use crate::columns::Columns;
use crate::webhooks::LinkChange;
use crate::{StoreResult, WriteSource};

/// How long an entry is readable (the journal guide: "the past 3 days").
pub const RETENTION_MS: Millis = 3 * 24 * 3600 * 1000;

/// The spec's scope names (webhooks-journal-2026-03.json), which tokens carry.
pub const DATA_ACCESS: &str = "webhooks-journal-data-access";
pub const SUBSCRIPTION_READ: &str = "webhooks-journal-subscription-read";
pub const SUBSCRIPTION_MANAGEMENT: &str = "webhooks-journal-subscription-management";
pub const SNAPSHOT_MANAGEMENT: &str = "webhooks-journal-snapshot-management";

/// Every scope an app token may carry, in the spec's spelling.
pub const SCOPES: [&str; 4] = [
    DATA_ACCESS,
    SUBSCRIPTION_READ,
    SUBSCRIPTION_MANAGEMENT,
    SNAPSHOT_MANAGEMENT,
];

/// A scope a client-credentials request may name, in the spec's spelling or the guide's
/// (`developer.webhooks_journal.read`…, docs/compatibility.md), as the spec's name.
pub fn journal_scope(requested: &str) -> Option<&'static str> {
    Some(match requested {
        DATA_ACCESS | "developer.webhooks_journal.read" => DATA_ACCESS,
        SUBSCRIPTION_READ | "developer.webhooks_journal.subscriptions.read" => SUBSCRIPTION_READ,
        SUBSCRIPTION_MANAGEMENT | "developer.webhooks_journal.subscriptions.write" => {
            SUBSCRIPTION_MANAGEMENT
        }
        SNAPSHOT_MANAGEMENT
        | "developer.webhooks_journal.snapshots.read"
        | "developer.webhooks_journal.snapshots.write" => SNAPSHOT_MANAGEMENT,
        _ => return None,
    })
}

/// A token of an app itself (the client-credentials grant): no portal, journal scopes only.
/// It is not an OAuth access token, so no CRM API accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppToken {
    pub hash: String,
    pub app_id: i64,
    pub scopes: Vec<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// The subscription types HubSpot lists; spoke writes entries for `OBJECT`, `ASSOCIATION`
/// and `APP_LIFECYCLE_EVENT` ones.
pub const SUBSCRIPTION_TYPES: &[&str] = &[
    "OBJECT",
    "ASSOCIATION",
    "APP_LIFECYCLE_EVENT",
    "LIST_MEMBERSHIP",
    "GDPR_PRIVACY_DELETION",
];

/// The actions HubSpot lists.
pub const ACTIONS: &[&str] = &[
    "CREATE",
    "UPDATE",
    "DELETE",
    "MERGE",
    "RESTORE",
    "ASSOCIATION_ADDED",
    "ASSOCIATION_REMOVED",
    "SNAPSHOT",
    "APP_INSTALL",
    "APP_UNINSTALL",
    "ADDED_TO_LIST",
    "REMOVED_FROM_LIST",
    "GDPR_DELETE",
];

/// One journal subscription of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSubscription {
    pub id: i64,
    pub app_id: i64,
    pub subscription_type: String,
    pub portal_id: Option<i64>,
    pub object_type_id: Option<String>,
    pub event_type_id: Option<String>,
    pub actions: Vec<String>,
    pub properties: Vec<String>,
    pub object_ids: Vec<i64>,
    pub associated_object_type_ids: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What an upsert writes. A subscription is the app's one for its (type, portal, object
/// type, event type): upserting it again replaces its lists and keeps its id.
pub type NewJournalSubscription = JournalSubscription;

/// An app's journal subscriptions at most: [I] HubSpot's documented limit of (webhook)
/// subscriptions per app, which the journal guide does not restate. Each subscription that
/// names a portal is a listener every write there reads, so the cap bounds that read.
pub const MAX_SUBSCRIPTIONS: usize = crate::webhooks::MAX_SUBSCRIPTIONS;

/// An app's filters at most, over all its subscriptions ([I] spoke's bound; HubSpot
/// documents none): each is judged on every matching write.
pub const MAX_FILTERS: usize = 1000;

/// An app's `objectIds` at most, summed over its subscriptions ([I] spoke's bound; HubSpot
/// documents none): each write's listener read parses them.
pub const MAX_OBJECT_IDS: usize = 10_000;

/// Which of an app's limits a write would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_SUBSCRIPTIONS`]
    Subscriptions,
    /// [`MAX_FILTERS`]
    Filters,
    /// [`MAX_OBJECT_IDS`]
    ObjectIds,
}

/// What [`JournalStore::upsert_journal_subscription`] did.
// One is returned per upsert request: boxing the saved subscription would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    Saved(JournalSubscription),
    /// Nothing was written: the app would pass this limit.
    LimitReached(Limit),
}

/// What [`JournalStore::create_journal_filter`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterCreated {
    Created(JournalFilter),
    /// The subscription is not the app's.
    NoSubscription,
    LimitReached(Limit),
}

/// The app's subscriptions as the limits see them (`$1` app): id and `objectIds`.
pub const USAGE_SQL: &str = "SELECT id, object_ids FROM journal_subscriptions WHERE app_id = $1";

/// The app's filters (`$1` app), counted against [`MAX_FILTERS`].
pub const FILTER_COUNT_SQL: &str = "SELECT COUNT(*) FROM journal_filters WHERE app_id = $1";

/// Whether upserting `new` would pass a limit, given [`USAGE_SQL`]'s rows and the id of the
/// subscription it replaces (which then no longer counts).
pub fn upsert_refusal(
    usage: &[(i64, String)],
    replacing: Option<i64>,
    new: &NewJournalSubscription,
) -> Option<Limit> {
    let others = usage.iter().filter(|(id, _)| Some(*id) != replacing);
    if replacing.is_none() && usage.len() >= MAX_SUBSCRIPTIONS {
        return Some(Limit::Subscriptions);
    }
    let kept: usize = others.map(|(_, list)| json_list::<i64>(list).len()).sum();
    let before = kept
        + replacing
            .and_then(|r| usage.iter().find(|(id, _)| *id == r))
            .map_or(0, |(_, list)| json_list::<i64>(list).len());
    let after = kept + new.object_ids.len();
    // An app already over the limit (rows from before it, or copied in by `spoke copy`,
    // which does not check) may still shrink: only growth past the limit is refused.
    (after > MAX_OBJECT_IDS && after > before).then_some(Limit::ObjectIds)
}

/// Which subscriptions [`JournalStore::delete_journal_subscriptions`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    Id(i64),
    Portal(i64),
}

/// One condition of a filter, as HubSpot's body spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    pub filter_type: String,
    pub property: String,
    pub operator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// The filter operators HubSpot lists.
pub const OPERATORS: &[&str] = &[
    "EQ",
    "N_EQ",
    "LT",
    "GT",
    "LTE",
    "GTE",
    "CONTAINS",
    "STARTS_WITH",
    "ENDS_WITH",
    "IN",
    "NOT_IN",
    "IS_EMPTY",
    "IS_NOT_EMPTY",
];

impl Condition {
    /// Whether a record whose values are `values` meets the condition. Numbers compare as
    /// numbers when both sides are ones, text otherwise; a missing value is "".
    pub fn holds(&self, values: &BTreeMap<String, String>) -> bool {
        let v = values.get(&self.property).map_or("", String::as_str);
        let want = self.value.as_deref().unwrap_or("");
        let order = || match (v.parse::<f64>(), want.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b),
            _ => Some(v.cmp(want)),
        };
        let list = || self.values.as_deref().unwrap_or_default();
        match self.operator.as_str() {
            "EQ" => v == want,
            "N_EQ" => v != want,
            "LT" => order() == Some(std::cmp::Ordering::Less),
            "GT" => order() == Some(std::cmp::Ordering::Greater),
            "LTE" => matches!(order(), Some(o) if o.is_le()),
            "GTE" => matches!(order(), Some(o) if o.is_ge()),
            "CONTAINS" => v.contains(want),
            "STARTS_WITH" => v.starts_with(want),
            "ENDS_WITH" => v.ends_with(want),
            "IN" => list().iter().any(|x| x == v),
            "NOT_IN" => !list().iter().any(|x| x == v),
            "IS_EMPTY" => v.is_empty(),
            "IS_NOT_EMPTY" => !v.is_empty(),
            _ => false,
        }
    }
}

/// A stored filter: its conditions as a JSON array of [`Condition`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalFilter {
    pub id: i64,
    pub app_id: i64,
    pub subscription_id: i64,
    pub conditions: String,
    pub created_at: Millis,
}

impl JournalFilter {
    pub fn conditions(&self) -> Vec<Condition> {
        serde_json::from_str(&self.conditions).unwrap_or_default()
    }
}

/// An entry as the journal API answers it (its events are the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    pub seq: i64,
    pub offset: String,
    pub app_id: i64,
    pub portal: PortalId,
    pub created_at: Millis,
    pub expires_at: Millis,
    /// The secret of the entry's pre-signed URL.
    pub file_key: String,
}

/// Where a journal read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The oldest live entries, oldest first.
    Earliest,
    /// The newest live entries, oldest first.
    Latest,
    /// The live entries after this offset, oldest first.
    After(String),
    /// These offsets' entries (`batch/read`), in the order asked.
    Offsets(Vec<String>),
}

/// What a journal read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalRead {
    Entries(Vec<JournalEntry>),
    /// [`Position::After`] names no live entry of the app (unknown, another app's or
    /// expired).
    UnknownOffset,
}

#[async_trait]
pub trait JournalStore: Send + Sync {
    /// Writes an app token; removes the app's tokens that expired before `purge_before`.
    async fn insert_app_token(&self, token: AppToken, purge_before: Millis) -> StoreResult<()>;
    async fn find_app_token(&self, hash: &str) -> StoreResult<Option<AppToken>>;
    /// The app's subscriptions, by id.
    async fn journal_subscriptions(&self, app_id: i64) -> StoreResult<Vec<JournalSubscription>>;
    /// Inserts, or replaces the app's subscription of the same (type, portal, object type,
    /// event type), in one transaction that also checks the app's limits
    /// ([`upsert_refusal`]); `id` and `created_at` of the argument are ignored.
    async fn upsert_journal_subscription(
        &self,
        new: NewJournalSubscription,
    ) -> StoreResult<Upserted>;
    /// Deletes the app's subscriptions selected, with their filters; how many went.
    async fn delete_journal_subscriptions(&self, app_id: i64, which: Selector) -> StoreResult<u64>;
    /// The app's filters, by id.
    async fn journal_filters(&self, app_id: i64) -> StoreResult<Vec<JournalFilter>>;
    /// [`MAX_FILTERS`] is checked in the insert's transaction.
    async fn create_journal_filter(
        &self,
        app_id: i64,
        subscription_id: i64,
        conditions: String,
        now: Millis,
    ) -> StoreResult<FilterCreated>;
    async fn delete_journal_filter(&self, app_id: i64, id: i64) -> StoreResult<bool>;
    /// The app's live entries (expiring after `now`), of one portal or all, at most `count`.
    async fn read_journal(
        &self,
        app_id: i64,
        portal: Option<PortalId>,
        at: Position,
        count: usize,
        now: Millis,
    ) -> StoreResult<JournalRead>;
    /// An entry and its events (a JSON array), by offset, expired or not.
    async fn journal_file(&self, offset: &str) -> StoreResult<Option<(JournalEntry, String)>>;
    /// Writes a snapshot batch's entries (pruning each app's expired ones, numbered like
    /// every entry) and its statuses, in one transaction ([`take_snapshots`]).
    async fn insert_snapshots(
        &self,
        entries: Vec<NewEntry>,
        statuses: Vec<SnapshotStatus>,
    ) -> StoreResult<()>;
    /// The app's snapshot status by id (another app's is `None`).
    async fn snapshot_status(&self, app_id: i64, id: &str) -> StoreResult<Option<SnapshotStatus>>;
}

// ---------------------------------------------------------------------------------------
// CRM snapshots (`POST /webhooks-journal/snapshots/2026-03/crm`).

/// One object to snapshot, as the request names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequest {
    pub portal: PortalId,
    pub object_type_id: String,
    pub object_id: ObjectId,
    pub properties: Vec<String>,
}

/// A snapshot's status, as `GET …/status/{statusId}` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotStatus {
    pub id: String,
    pub app_id: i64,
    pub portal: PortalId,
    /// `SUCCESS` or `FAILED` (spoke completes a snapshot before answering).
    pub status: String,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub initiated_at: Millis,
    pub completed_at: Option<Millis>,
    /// The entry holding the snapshot's event, when it succeeded.
    pub offset: Option<String>,
}

/// `journal_snapshots` columns, as [`snapshot_status`] reads them and inserts write them.
pub const SNAPSHOT_COLUMNS: &str = "id, app_id, portal_id, status, error_code, message, \
     initiated_at, completed_at, offset_id";

/// The statement that prunes an app's old snapshot statuses (`$1` app, `$2` the oldest
/// `initiated_at` kept, exclusive).
pub const SNAPSHOT_PRUNE_SQL: &str =
    "DELETE FROM journal_snapshots WHERE app_id = $1 AND initiated_at <= $2";

pub fn snapshot_status<C: Columns>(c: &C) -> Result<SnapshotStatus, C::Error> {
    Ok(SnapshotStatus {
        id: c.text(0)?,
        app_id: c.int(1)?,
        portal: PortalId(c.int(2)?),
        status: c.text(3)?,
        error_code: c.text_or_null(4)?,
        message: c.text_or_null(5)?,
        initiated_at: c.int(6)?,
        completed_at: c.int_or_null(7)?,
        offset: c.text_or_null(8)?,
    })
}

/// Takes the snapshots an app asked for: reads each object's current values, then writes
/// one entry per portal named (one entry for the usual one-portal batch) holding a
/// `SNAPSHOT` event per object found, and one status per request, in one transaction.
/// [I] An object that does not exist (or is archived, or of a type the portal lacks) gets
/// no event and a `FAILED` status with `errorCode` `VALIDATION_ERROR`
/// (docs/compatibility.md, "Webhooks journal"). `now` is each portal's clock.
pub async fn take_snapshots<S: crate::Store + ?Sized>(
    store: &S,
    app_id: i64,
    requests: &[SnapshotRequest],
    now: impl Fn(PortalId) -> Millis,
) -> StoreResult<Vec<SnapshotStatus>> {
    let mut events: BTreeMap<PortalId, Vec<serde_json::Value>> = BTreeMap::new();
    let mut statuses = Vec::with_capacity(requests.len());
    let mut offsets: BTreeMap<PortalId, String> = BTreeMap::new();
    for r in requests {
        let at = now(r.portal);
        let id = uuid::Uuid::new_v4().to_string();
        let found = store
            .read_objects(
                r.portal,
                &r.object_type_id,
                crate::ReadKeys::Ids(vec![r.object_id]),
                crate::ReadOptions {
                    archived: false,
                    history: &[],
                },
            )
            .await?
            .into_iter()
            .next()
            .flatten();
        let Some(record) = found else {
            statuses.push(SnapshotStatus {
                id,
                app_id,
                portal: r.portal,
                status: "FAILED".into(),
                error_code: Some("VALIDATION_ERROR".into()),
                message: Some(format!(
                    "No object {} of type {} in portal {}",
                    r.object_id, r.object_type_id, r.portal.0
                )),
                initiated_at: at,
                completed_at: Some(at),
                offset: None,
            });
            continue;
        };
        let values: BTreeMap<String, String> =
            serde_json::from_str(&record.properties.into_string()).unwrap_or_default();
        let properties: serde_json::Map<String, serde_json::Value> = r
            .properties
            .iter()
            .filter_map(|p| values.get(p).map(|v| (p.clone(), v.clone().into())))
            .collect();
        let event = serde_json::json!({
            "portalId": r.portal.0,
            "appId": app_id,
            "occurredAt": at,
            "action": "SNAPSHOT",
            "objectTypeId": r.object_type_id,
            "objectId": r.object_id,
            "snapshotStatusId": id,
            "properties": properties,
        });
        events.entry(r.portal).or_default().push(event);
        let offset = offsets
            .entry(r.portal)
            .or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        statuses.push(SnapshotStatus {
            id,
            app_id,
            portal: r.portal,
            status: "SUCCESS".into(),
            error_code: None,
            message: None,
            initiated_at: at,
            completed_at: Some(at),
            offset: Some(offset),
        });
    }
    let entries = events
        .into_iter()
        .map(|(portal, list)| {
            let at = now(portal);
            NewEntry {
                offset: offsets.remove(&portal).unwrap_or_default(),
                app_id,
                portal,
                created_at: at,
                expires_at: at + RETENTION_MS,
                file_key: uuid::Uuid::new_v4().simple().to_string(),
                events: serde_json::Value::Array(list).to_string(),
            }
        })
        .collect();
    store.insert_snapshots(entries, statuses.clone()).await?;
    Ok(statuses)
}

/// A client-credentials token as issued: the secret, shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedAppToken {
    pub access_token: String,
    pub scopes: Vec<String>,
    pub expires_in: i64,
}

impl std::fmt::Debug for IssuedAppToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedAppToken")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// `grant_type=client_credentials` for an authenticated app: a token of the app with the
/// journal scopes `scope` names (space- or comma-separated, either spelling), or all four
/// when it names none. `Err` carries a requested scope that is no journal scope.
pub async fn issue_app_token<S: JournalStore + ?Sized>(
    store: &S,
    app_id: i64,
    scope: Option<&str>,
    now: Millis,
) -> StoreResult<Result<IssuedAppToken, String>> {
    let mut scopes: Vec<String> = Vec::new();
    for requested in crate::oauth::parse_scopes(scope.unwrap_or("")) {
        match journal_scope(&requested) {
            Some(s) if !scopes.iter().any(|x| x == s) => scopes.push(s.to_owned()),
            Some(_) => {}
            None => return Ok(Err(requested)),
        }
    }
    if scopes.is_empty() {
        scopes = SCOPES.iter().map(|s| (*s).to_owned()).collect();
    }
    let access_token = crate::oauth::access_secret();
    let expires_in = crate::oauth::ACCESS_TOKEN_SECONDS;
    store
        .insert_app_token(
            AppToken {
                hash: crate::tokens::hash(&access_token),
                app_id,
                scopes: scopes.clone(),
                created_at: now,
                expires_at: now + expires_in * 1000,
            },
            now - crate::oauth::EXPIRED_KEPT_SECONDS * 1000,
        )
        .await?;
    Ok(Ok(IssuedAppToken {
        access_token,
        scopes,
        expires_in,
    }))
}

// ---------------------------------------------------------------------------------------
// The SQL both backends run ($n placeholders, each first used in order).

/// `journal_subscriptions` columns, as [`subscription`] reads them.
pub const SUBSCRIPTION_COLUMNS: &str = "id, app_id, subscription_type, portal_id, \
     object_type_id, event_type_id, actions, properties, object_ids, \
     associated_object_type_ids, created_at, updated_at";

/// `journal_filters` columns, as [`filter`] reads them.
pub const FILTER_COLUMNS: &str = "id, app_id, subscription_id, conditions, created_at";

/// `journal_entries` columns, as [`entry`] reads them.
pub const ENTRY_COLUMNS: &str =
    "seq, offset_id, app_id, portal_id, created_at, expires_at, file_key";

/// `oauth_app_tokens` columns, as [`app_token`] reads them.
pub const TOKEN_COLUMNS: &str = "token_hash, app_id, scopes, created_at, expires_at";

/// The columns an entry is inserted with, in [`NewEntry`]'s order.
pub const ENTRY_INSERT_COLUMNS: &str =
    "offset_id, app_id, portal_id, created_at, expires_at, file_key, events";

/// The statement that prunes an app's expired entries (`$1` app, `$2` now).
/// An app's expired entries of one portal: each entry's expiry is on its own portal's clock,
/// so pruning by another portal's now could drop entries that portal still serves.
pub const PRUNE_SQL: &str =
    "DELETE FROM journal_entries WHERE app_id = $1 AND expires_at <= $2 AND portal_id = $3";

/// The SELECT of a journal read, its parameters after `$1` app and `$2` now: `$3` the
/// portal when `portal` (then `$4` is next), an offset for [`Position::After`], the limit.
/// [`Position::Offsets`] is read one offset at a time with [`offset_sql`].
pub fn read_sql(at: &Position, portal: bool) -> String {
    let mut n = 3;
    let mut next = || {
        let p = format!("${n}");
        n += 1;
        p
    };
    let mut cond = "app_id = $1 AND expires_at > $2".to_owned();
    if portal {
        cond.push_str(&format!(" AND portal_id = {}", next()));
    }
    let (after, order) = match at {
        Position::After(_) => (
            format!(
                " AND seq > (SELECT seq FROM journal_entries WHERE offset_id = {})",
                next()
            ),
            "ASC",
        ),
        Position::Latest => (String::new(), "DESC"),
        _ => (String::new(), "ASC"),
    };
    format!(
        "SELECT {ENTRY_COLUMNS} FROM journal_entries WHERE {cond}{after} ORDER BY seq {order} LIMIT {}",
        next()
    )
}

/// One live entry of the app by offset (`$1` app, `$2` now, `$3` offset, `$4` the portal
/// when `portal`).
pub fn offset_sql(portal: bool) -> String {
    format!(
        "SELECT {ENTRY_COLUMNS} FROM journal_entries
         WHERE app_id = $1 AND expires_at > $2 AND offset_id = $3{}",
        if portal { " AND portal_id = $4" } else { "" }
    )
}

// Rows to values.

fn json_list<T: serde::de::DeserializeOwned>(s: &str) -> Vec<T> {
    serde_json::from_str(s).unwrap_or_default()
}

/// A list as stored: a JSON array.
pub fn list_column<T: Serialize>(list: &[T]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

pub fn subscription<C: Columns>(c: &C) -> Result<JournalSubscription, C::Error> {
    Ok(JournalSubscription {
        id: c.int(0)?,
        app_id: c.int(1)?,
        subscription_type: c.text(2)?,
        portal_id: c.int_or_null(3)?,
        object_type_id: c.text_or_null(4)?,
        event_type_id: c.text_or_null(5)?,
        actions: json_list(&c.text(6)?),
        properties: json_list(&c.text(7)?),
        object_ids: json_list(&c.text(8)?),
        associated_object_type_ids: json_list(&c.text(9)?),
        created_at: c.int(10)?,
        updated_at: c.int(11)?,
    })
}

pub fn filter<C: Columns>(c: &C) -> Result<JournalFilter, C::Error> {
    Ok(JournalFilter {
        id: c.int(0)?,
        app_id: c.int(1)?,
        subscription_id: c.int(2)?,
        conditions: c.text(3)?,
        created_at: c.int(4)?,
    })
}

pub fn entry<C: Columns>(c: &C) -> Result<JournalEntry, C::Error> {
    Ok(JournalEntry {
        seq: c.int(0)?,
        offset: c.text(1)?,
        app_id: c.int(2)?,
        portal: PortalId(c.int(3)?),
        created_at: c.int(4)?,
        expires_at: c.int(5)?,
        file_key: c.text(6)?,
    })
}

pub fn app_token<C: Columns>(c: &C) -> Result<AppToken, C::Error> {
    Ok(AppToken {
        hash: c.text(0)?,
        app_id: c.int(1)?,
        scopes: c.text(2)?.split_whitespace().map(str::to_owned).collect(),
        created_at: c.int(3)?,
        expires_at: c.int(4)?,
    })
}

// ---------------------------------------------------------------------------------------
// Which events a change produces for the journal: the one rule, inside both backends'
// transactions.

/// One subscription listening to a portal's writes, with its filters (each a list of
/// conditions that must all hold; a record passes if any filter passes, or if there is none).
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub subscription_id: i64,
    pub app_id: i64,
    pub subscription_type: String,
    pub object_type_id: Option<String>,
    pub actions: BTreeSet<String>,
    pub properties: Vec<String>,
    pub object_ids: BTreeSet<i64>,
    pub associated: BTreeSet<String>,
    pub filters: Vec<Vec<Condition>>,
}

/// A journal row of [`crate::webhooks::LISTENERS_SQL`].
pub struct ListenerRow {
    pub subscription_id: i64,
    pub app_id: i64,
    pub subscription_type: String,
    pub object_type_id: Option<String>,
    pub actions: String,
    pub properties: String,
    pub object_ids: String,
    pub associated: String,
    pub conditions: Option<String>,
}

/// The journal subscriptions that listen to one portal's write.
#[derive(Debug, Clone, Default)]
pub struct JournalListeners {
    listeners: Vec<Listener>,
}

/// One entry to insert: an app's events of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub offset: String,
    pub app_id: i64,
    pub portal: PortalId,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub file_key: String,
    /// A JSON array of events.
    pub events: String,
}

/// The events of one transaction, by app.
#[derive(Debug, Clone, Default)]
pub struct JournalBatch {
    events: BTreeMap<i64, Vec<serde_json::Value>>,
}

impl JournalBatch {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The entries to insert, one per app, by app id (the order PostgreSQL locks them in).
    pub fn entries(self, portal: PortalId, now: Millis) -> Vec<NewEntry> {
        self.events
            .into_iter()
            .map(|(app_id, events)| NewEntry {
                offset: uuid::Uuid::new_v4().to_string(),
                app_id,
                portal,
                created_at: now,
                expires_at: now + RETENTION_MS,
                file_key: uuid::Uuid::new_v4().simple().to_string(),
                events: serde_json::Value::Array(events).to_string(),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// App lifecycle events: an app installed in or uninstalled from a portal.

/// HubSpot's event type id of an app install (`APP_LIFECYCLE_EVENT` subscriptions name it
/// as `eventTypeId`; the 2027-03 beta spec lists it).
pub const APP_INSTALL_EVENT_TYPE: &str = "4-1909196";
/// HubSpot's event type id of an app uninstall.
pub const APP_UNINSTALL_EVENT_TYPE: &str = "4-1916193";

/// An install change of an app in a portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Install,
    Uninstall,
}

impl Lifecycle {
    pub fn action(self) -> &'static str {
        match self {
            Self::Install => "APP_INSTALL",
            Self::Uninstall => "APP_UNINSTALL",
        }
    }

    pub fn event_type_id(self) -> &'static str {
        match self {
            Self::Install => APP_INSTALL_EVENT_TYPE,
            Self::Uninstall => APP_UNINSTALL_EVENT_TYPE,
        }
    }
}

/// The app's `APP_LIFECYCLE_EVENT` subscriptions to one lifecycle event type (`$1` app,
/// `$2` event type id) in portal `$3`: app-wide ones (no portal) and the portal's. Read
/// only when an install row is actually added or removed.
pub const LIFECYCLE_SQL: &str = "SELECT id, properties FROM journal_subscriptions
     WHERE app_id = $1 AND subscription_type = 'APP_LIFECYCLE_EVENT' AND event_type_id = $2
       AND (portal_id IS NULL OR portal_id = $3)
     ORDER BY id";

impl JournalBatch {
    /// The events of an app's install change, one per [`LIFECYCLE_SQL`] row (id,
    /// properties): `properties` are the subscribed ones of the install that spoke knows
    /// (`hs_app_id`). Filters are not judged: their conditions are about CRM records.
    pub fn lifecycle(
        rows: &[(i64, String)],
        which: Lifecycle,
        app_id: i64,
        portal: PortalId,
        now: Millis,
    ) -> Self {
        let known: BTreeMap<String, String> = [("hs_app_id".to_owned(), app_id.to_string())].into();
        let mut out = Self::default();
        for (id, properties) in rows {
            let properties: serde_json::Map<String, serde_json::Value> =
                json_list::<String>(properties)
                    .into_iter()
                    .filter_map(|p| known.get(&p).map(|v| (p, v.clone().into())))
                    .collect();
            let event = serde_json::json!({
                "subscriptionId": id,
                "subscriptionType": "APP_LIFECYCLE_EVENT",
                "portalId": portal.0,
                "appId": app_id,
                "occurredAt": now,
                "action": which.action(),
                "eventTypeId": which.event_type_id(),
                "properties": properties,
            });
            out.events.entry(app_id).or_default().push(event);
        }
        out
    }
}

/// What a change's events share.
pub struct Change<'a> {
    pub portal: PortalId,
    pub now: Millis,
    pub source: &'a WriteSource,
}

impl JournalListeners {
    /// Groups the journal rows of [`crate::webhooks::LISTENERS_SQL`] (ordered by
    /// subscription) into listeners.
    pub fn new(rows: Vec<ListenerRow>) -> Self {
        let mut listeners: Vec<Listener> = Vec::new();
        for r in rows {
            let conditions: Option<Vec<Condition>> = r
                .conditions
                .as_deref()
                .map(|c| serde_json::from_str(c).unwrap_or_default());
            if let Some(last) = listeners
                .last_mut()
                .filter(|l| l.subscription_id == r.subscription_id)
            {
                last.filters.extend(conditions);
                continue;
            }
            listeners.push(Listener {
                subscription_id: r.subscription_id,
                app_id: r.app_id,
                subscription_type: r.subscription_type,
                object_type_id: r.object_type_id,
                actions: json_list::<String>(&r.actions).into_iter().collect(),
                properties: json_list(&r.properties),
                object_ids: json_list::<i64>(&r.object_ids).into_iter().collect(),
                associated: json_list::<String>(&r.associated).into_iter().collect(),
                filters: conditions.into_iter().collect(),
            });
        }
        Self { listeners }
    }

    pub fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    fn objects<'s>(
        &'s self,
        type_id: &'s str,
        action: &'s str,
        id: ObjectId,
    ) -> impl Iterator<Item = &'s Listener> + 's {
        self.listeners.iter().filter(move |l| {
            l.subscription_type == "OBJECT"
                && l.object_type_id.as_deref() == Some(type_id)
                && l.actions.contains(action)
                && (l.object_ids.is_empty() || l.object_ids.contains(&id))
        })
    }

    fn event(
        l: &Listener,
        c: &Change<'_>,
        action: &str,
        type_id: &str,
        id: ObjectId,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut e = serde_json::Map::new();
        e.insert("subscriptionId".into(), l.subscription_id.into());
        e.insert(
            "subscriptionType".into(),
            l.subscription_type.clone().into(),
        );
        e.insert("portalId".into(), c.portal.0.into());
        e.insert("appId".into(), l.app_id.into());
        e.insert("occurredAt".into(), c.now.into());
        e.insert("action".into(), action.into());
        e.insert("objectTypeId".into(), type_id.into());
        e.insert("objectId".into(), id.into());
        e.insert("changeSource".into(), c.source.source_type.clone().into());
        if let Some(s) = &c.source.source_id {
            e.insert("sourceId".into(), s.clone().into());
        }
        e
    }

    fn passes(l: &Listener, values: &BTreeMap<String, String>) -> bool {
        l.filters.is_empty()
            || l.filters
                .iter()
                .any(|f| f.iter().all(|cond| cond.holds(values)))
    }

    /// The subscribed properties of `values`, as the event's `properties`.
    fn properties(l: &Listener, values: &BTreeMap<String, String>) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = l
            .properties
            .iter()
            .filter_map(|p| values.get(p).map(|v| (p.clone(), v.clone().into())))
            .collect();
        serde_json::Value::Object(map)
    }

    /// CREATE and UPDATE events of a record batch's decision, after its new records have
    /// their ids. An UPDATE is for a change of a subscribed property (of any, when the
    /// subscription names none); filters are judged on the record's values after the write.
    pub fn record_events(
        &self,
        out: &mut JournalBatch,
        c: &Change<'_>,
        type_id: &str,
        decided: &crate::plan::Decided<'_>,
    ) {
        if self.is_empty() || decided.stopped() {
            return;
        }
        for r in decided.created() {
            for l in self.objects(type_id, "CREATE", r.id) {
                if !Self::passes(l, r.properties) {
                    continue;
                }
                let mut e = Self::event(l, c, "CREATE", type_id, r.id);
                e.insert("properties".into(), Self::properties(l, r.properties));
                out.events.entry(l.app_id).or_default().push(e.into());
            }
        }
        let after: BTreeMap<ObjectId, &BTreeMap<String, String>> =
            decided.changed().map(|r| (r.id, r.properties)).collect();
        for h in decided.history().filter(|h| !h.new) {
            for l in self.objects(type_id, "UPDATE", h.id) {
                let changed: BTreeMap<String, String> = h
                    .changes
                    .iter()
                    .filter(|(k, _)| l.properties.is_empty() || l.properties.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if changed.is_empty() {
                    continue;
                }
                if let Some(values) = after.get(&h.id) {
                    if !Self::passes(l, values) {
                        continue;
                    }
                }
                let mut e = Self::event(l, c, "UPDATE", type_id, h.id);
                let props: serde_json::Map<String, serde_json::Value> =
                    changed.into_iter().map(|(k, v)| (k, v.into())).collect();
                e.insert("properties".into(), props.into());
                out.events.entry(l.app_id).or_default().push(e.into());
            }
        }
    }

    /// DELETE events of archived records (filters cannot be judged: no values are read).
    pub fn archived(
        &self,
        out: &mut JournalBatch,
        c: &Change<'_>,
        type_id: &str,
        ids: &[ObjectId],
    ) {
        for &id in ids {
            for l in self.objects(type_id, "DELETE", id) {
                let e = Self::event(l, c, "DELETE", type_id, id);
                out.events.entry(l.app_id).or_default().push(e.into());
            }
        }
    }

    /// ASSOCIATION_ADDED / ASSOCIATION_REMOVED events, one per association row written or
    /// deleted, to the subscriptions of the row's `from` type.
    pub fn links(&self, out: &mut JournalBatch, c: &Change<'_>, changes: &[LinkChange]) {
        for ch in changes {
            let action = if ch.removed {
                "ASSOCIATION_REMOVED"
            } else {
                "ASSOCIATION_ADDED"
            };
            for l in self.listeners.iter().filter(|l| {
                l.subscription_type == "ASSOCIATION"
                    && l.object_type_id.as_deref() == Some(ch.from_type.as_str())
                    && l.actions.contains(action)
                    && (l.object_ids.is_empty() || l.object_ids.contains(&ch.from_id))
                    && (l.associated.is_empty() || l.associated.contains(&ch.to_type))
            }) {
                let mut e = Self::event(l, c, action, &ch.from_type, ch.from_id);
                e.insert("associatedObjectTypeId".into(), ch.to_type.clone().into());
                e.insert("associatedObjectId".into(), ch.to_id.into());
                e.insert("associationCategory".into(), ch.category.clone().into());
                e.insert("associationTypeId".into(), ch.type_id.into());
                out.events.entry(l.app_id).or_default().push(e.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(op: &str, value: Option<&str>, values: Option<&[&str]>) -> Condition {
        Condition {
            filter_type: "CRM_OBJECT_PROPERTY".into(),
            property: "n".into(),
            operator: op.into(),
            value: value.map(str::to_owned),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn with_ids(n: usize) -> JournalSubscription {
        JournalSubscription {
            id: 0,
            app_id: 1,
            subscription_type: "OBJECT".into(),
            portal_id: None,
            object_type_id: Some("0-1".into()),
            event_type_id: None,
            actions: Vec::new(),
            properties: Vec::new(),
            object_ids: (0..i64::try_from(n).unwrap_or(0)).collect(),
            associated_object_type_ids: Vec::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    fn usage(lists: &[(i64, usize)]) -> Vec<(i64, String)> {
        lists
            .iter()
            .map(|&(id, n)| {
                let ids: Vec<usize> = (0..n).collect();
                (id, serde_json::to_string(&ids).unwrap_or_default())
            })
            .collect()
    }

    #[test]
    fn object_ids_may_not_grow_past_the_limit_but_may_shrink_above_it() {
        let at = usage(&[(1, MAX_OBJECT_IDS - 10), (2, 10)]);
        assert_eq!(upsert_refusal(&at, Some(2), &with_ids(10)), None);
        assert_eq!(
            upsert_refusal(&at, Some(2), &with_ids(11)),
            Some(Limit::ObjectIds)
        );
        assert_eq!(
            upsert_refusal(&at, None, &with_ids(1)),
            Some(Limit::ObjectIds)
        );
        // Over the limit already (copied in): shrinking passes, growing does not.
        let over = usage(&[(1, MAX_OBJECT_IDS), (2, 50)]);
        assert_eq!(upsert_refusal(&over, Some(2), &with_ids(20)), None);
        assert_eq!(
            upsert_refusal(&over, Some(2), &with_ids(51)),
            Some(Limit::ObjectIds)
        );
    }

    #[test]
    fn conditions_compare_numbers_as_numbers_and_text_as_text() {
        let values: BTreeMap<String, String> = [("n".to_owned(), "10".to_owned())].into();
        assert!(cond("GT", Some("9"), None).holds(&values));
        assert!(!cond("LT", Some("9"), None).holds(&values));
        assert!(cond("IN", None, Some(&["1", "10"])).holds(&values));
        assert!(cond("STARTS_WITH", Some("1"), None).holds(&values));
        assert!(cond("IS_EMPTY", None, None).holds(&BTreeMap::new()));
        assert!(!cond("IS_NOT_EMPTY", None, None).holds(&BTreeMap::new()));
    }

    #[test]
    fn guide_and_spec_scope_names_map_to_the_spec() {
        assert_eq!(
            journal_scope("developer.webhooks_journal.read"),
            Some(DATA_ACCESS)
        );
        assert_eq!(journal_scope(SUBSCRIPTION_READ), Some(SUBSCRIPTION_READ));
        assert_eq!(journal_scope("crm.objects.contacts.read"), None);
    }

    #[test]
    fn read_sql_numbers_its_parameters_in_order() {
        let sql = read_sql(&Position::After("x".into()), true);
        assert!(sql.contains("portal_id = $3"), "{sql}");
        assert!(sql.contains("offset_id = $4"), "{sql}");
        assert!(sql.ends_with("LIMIT $5"), "{sql}");
    }
}
