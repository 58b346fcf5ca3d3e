//! The webhooks journal: the SQL of `spoke_store::journal`, and the entries the record and
//! association writes add to their own transactions. The writer is alone, so entries are
//! numbered in commit order without locks.

use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};
use spoke_store::journal::{
    self, AppToken, Change, FilterCreated, JournalBatch, JournalEntry, JournalFilter,
    JournalListeners, JournalRead, JournalStore, JournalSubscription, Lifecycle, Limit, NewEntry,
    NewJournalSubscription, Position, Selector, SnapshotStatus, Upserted, ENTRY_COLUMNS,
    ENTRY_INSERT_COLUMNS, FILTER_COLUMNS, FILTER_COUNT_SQL, LIFECYCLE_SQL, MAX_FILTERS, PRUNE_SQL,
    SNAPSHOT_COLUMNS, SNAPSHOT_PRUNE_SQL, SUBSCRIPTION_COLUMNS, TOKEN_COLUMNS, USAGE_SQL,
};
use spoke_store::plan::Decided;
use spoke_store::webhooks::LinkChange;
use spoke_store::{LinkContext, StoreResult, WriteContext, WriteSource};

use crate::tokens_props::Cols;
use crate::SqliteStore;

fn insert(
    conn: &Connection,
    portal: PortalId,
    now: Millis,
    batch: JournalBatch,
) -> rusqlite::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut prune = conn.prepare_cached(PRUNE_SQL)?;
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO journal_entries ({ENTRY_INSERT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?;
    for e in batch.entries(portal, now) {
        prune.execute(params![e.app_id, now, e.portal.0])?;
        insert.execute(params![
            e.offset,
            e.app_id,
            e.portal.0,
            e.created_at,
            e.expires_at,
            e.file_key,
            e.events
        ])?;
    }
    Ok(())
}

/// The journal entries of a record batch (and of the links its creates wrote), inside its
/// transaction; `listeners` were read in it (`webhooks::record_events`).
pub(crate) fn record_entries(
    conn: &Connection,
    listeners: &JournalListeners,
    ctx: &WriteContext,
    decided: &Decided<'_>,
    links: &[LinkChange],
) -> rusqlite::Result<()> {
    if listeners.is_empty() {
        return Ok(());
    }
    let change = Change {
        portal: ctx.portal,
        now: ctx.now,
        source: &ctx.source,
    };
    let mut batch = JournalBatch::default();
    listeners.record_events(&mut batch, &change, &ctx.object_type, decided);
    listeners.links(&mut batch, &change, links);
    insert(conn, ctx.portal, ctx.now, batch)
}

/// The DELETE entries of records archived by one transaction.
pub(crate) fn archive_entries(
    conn: &Connection,
    listeners: &JournalListeners,
    portal: PortalId,
    object_type: &str,
    now: Millis,
    source: &WriteSource,
    archived: &[ObjectId],
) -> rusqlite::Result<()> {
    if archived.is_empty() || listeners.is_empty() {
        return Ok(());
    }
    let change = Change {
        portal,
        now,
        source,
    };
    let mut batch = JournalBatch::default();
    listeners.archived(&mut batch, &change, object_type, archived);
    insert(conn, portal, now, batch)
}

/// The association entries of rows written or removed by one transaction.
pub(crate) fn link_entries(
    conn: &Connection,
    listeners: &JournalListeners,
    portal: PortalId,
    ctx: &LinkContext,
    changes: &[LinkChange],
) -> rusqlite::Result<()> {
    if changes.is_empty() || listeners.is_empty() {
        return Ok(());
    }
    let change = Change {
        portal,
        now: ctx.now,
        source: &ctx.source,
    };
    let mut batch = JournalBatch::default();
    listeners.links(&mut batch, &change, changes);
    insert(conn, portal, ctx.now, batch)
}

/// The lifecycle entry of an app's install change, inside its transaction (nothing when
/// the app has no matching `APP_LIFECYCLE_EVENT` subscription).
pub(crate) fn lifecycle_entries(
    conn: &Connection,
    app_id: i64,
    portal: PortalId,
    now: Millis,
    which: Lifecycle,
) -> rusqlite::Result<()> {
    let rows = conn
        .prepare_cached(LIFECYCLE_SQL)?
        .query_map(params![app_id, which.event_type_id(), portal.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let batch = JournalBatch::lifecycle(&rows, which, app_id, portal, now);
    insert(conn, portal, now, batch)
}

/// The app's subscriptions as the limits see them.
fn usage(conn: &Connection, app_id: i64) -> rusqlite::Result<Vec<(i64, String)>> {
    conn.prepare_cached(USAGE_SQL)?
        .query_map(params![app_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Removes an app's journal rows (with the app, `OAuthStore::delete_app`).
pub(crate) fn delete_app_rows(conn: &Connection, app_id: i64) -> rusqlite::Result<()> {
    for table in [
        "oauth_app_tokens",
        "journal_filters",
        "journal_subscriptions",
        "journal_entries",
        "journal_snapshots",
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE app_id = ?1"),
            params![app_id],
        )?;
    }
    Ok(())
}

fn subscription_by_id(
    conn: &Connection,
    app_id: i64,
    id: i64,
) -> rusqlite::Result<Option<JournalSubscription>> {
    conn.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM journal_subscriptions WHERE app_id = ?1 AND id = ?2"
    ))?
    .query_row(params![app_id, id], |r| journal::subscription(&Cols(r)))
    .optional()
}

fn entries(
    conn: &Connection,
    sql: &str,
    values: Vec<Value>,
) -> rusqlite::Result<Vec<JournalEntry>> {
    conn.prepare_cached(sql)?
        .query_map(params_from_iter(values), |r| journal::entry(&Cols(r)))?
        .collect()
}

#[async_trait]
impl JournalStore for SqliteStore {
    async fn insert_app_token(&self, token: AppToken, purge_before: Millis) -> StoreResult<()> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM oauth_app_tokens WHERE app_id = ?1 AND expires_at < ?2",
                params![token.app_id, purge_before],
            )?;
            tx.execute(
                &format!(
                    "INSERT INTO oauth_app_tokens ({TOKEN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
                ),
                params![
                    token.hash,
                    token.app_id,
                    token.scopes.join(" "),
                    token.created_at,
                    token.expires_at
                ],
            )?;
            tx.commit()
        })
        .await
    }

    async fn find_app_token(&self, hash: &str) -> StoreResult<Option<AppToken>> {
        let hash = hash.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM oauth_app_tokens WHERE token_hash = ?1"
            ))?
            .query_row(params![hash], |r| journal::app_token(&Cols(r)))
            .optional()
        })
        .await
    }

    async fn journal_subscriptions(&self, app_id: i64) -> StoreResult<Vec<JournalSubscription>> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM journal_subscriptions WHERE app_id = ?1 ORDER BY id"
            ))?
            .query_map(params![app_id], |r| journal::subscription(&Cols(r)))?
            .collect()
        })
        .await
    }

    async fn upsert_journal_subscription(
        &self,
        new: NewJournalSubscription,
    ) -> StoreResult<Upserted> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM journal_subscriptions WHERE app_id = ?1
                     AND subscription_type = ?2 AND portal_id IS ?3 AND object_type_id IS ?4
                     AND event_type_id IS ?5",
                    params![
                        new.app_id,
                        new.subscription_type,
                        new.portal_id,
                        new.object_type_id,
                        new.event_type_id
                    ],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(limit) = journal::upsert_refusal(&usage(&tx, new.app_id)?, existing, &new) {
                return Ok(Upserted::LimitReached(limit));
            }
            let lists = (
                journal::list_column(&new.actions),
                journal::list_column(&new.properties),
                journal::list_column(&new.object_ids),
                journal::list_column(&new.associated_object_type_ids),
            );
            let id = if let Some(id) = existing {
                tx.execute(
                    "UPDATE journal_subscriptions SET actions = ?2, properties = ?3,
                     object_ids = ?4, associated_object_type_ids = ?5, updated_at = ?6
                     WHERE id = ?1",
                    params![id, lists.0, lists.1, lists.2, lists.3, new.updated_at],
                )?;
                id
            } else {
                tx.execute(
                    "INSERT INTO journal_subscriptions (app_id, subscription_type, portal_id,
                         object_type_id, event_type_id, actions, properties, object_ids,
                         associated_object_type_ids, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
                    params![
                        new.app_id,
                        new.subscription_type,
                        new.portal_id,
                        new.object_type_id,
                        new.event_type_id,
                        lists.0,
                        lists.1,
                        lists.2,
                        lists.3,
                        new.updated_at
                    ],
                )?;
                tx.last_insert_rowid()
            };
            let stored = subscription_by_id(&tx, new.app_id, id)?;
            tx.commit()?;
            stored
                .map(Upserted::Saved)
                .ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
        .await
    }

    async fn delete_journal_subscriptions(&self, app_id: i64, which: Selector) -> StoreResult<u64> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let (cond, key) = match which {
                Selector::Id(id) => ("id = ?2", id),
                Selector::Portal(p) => ("portal_id = ?2", p),
            };
            tx.execute(
                &format!(
                    "DELETE FROM journal_filters WHERE subscription_id IN
                     (SELECT id FROM journal_subscriptions WHERE app_id = ?1 AND {cond})"
                ),
                params![app_id, key],
            )?;
            let n = tx.execute(
                &format!("DELETE FROM journal_subscriptions WHERE app_id = ?1 AND {cond}"),
                params![app_id, key],
            )?;
            tx.commit()?;
            Ok(n as u64)
        })
        .await
    }

    async fn journal_filters(&self, app_id: i64) -> StoreResult<Vec<JournalFilter>> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {FILTER_COLUMNS} FROM journal_filters WHERE app_id = ?1 ORDER BY id"
            ))?
            .query_map(params![app_id], |r| journal::filter(&Cols(r)))?
            .collect()
        })
        .await
    }

    async fn create_journal_filter(
        &self,
        app_id: i64,
        subscription_id: i64,
        conditions: String,
        now: Millis,
    ) -> StoreResult<FilterCreated> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if subscription_by_id(&tx, app_id, subscription_id)?.is_none() {
                return Ok(FilterCreated::NoSubscription);
            }
            let count: i64 = tx.query_row(FILTER_COUNT_SQL, params![app_id], |r| r.get(0))?;
            if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_FILTERS {
                return Ok(FilterCreated::LimitReached(Limit::Filters));
            }
            tx.execute(
                "INSERT INTO journal_filters (app_id, subscription_id, conditions, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![app_id, subscription_id, conditions, now],
            )?;
            let id = tx.last_insert_rowid();
            let stored = tx
                .prepare_cached(&format!(
                    "SELECT {FILTER_COLUMNS} FROM journal_filters WHERE id = ?1"
                ))?
                .query_row(params![id], |r| journal::filter(&Cols(r)))?;
            tx.commit()?;
            Ok(FilterCreated::Created(stored))
        })
        .await
    }

    async fn delete_journal_filter(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            Ok(conn.execute(
                "DELETE FROM journal_filters WHERE app_id = ?1 AND id = ?2",
                params![app_id, id],
            )? > 0)
        })
        .await
    }

    async fn read_journal(
        &self,
        app_id: i64,
        portal: Option<PortalId>,
        at: Position,
        count: usize,
        now: Millis,
    ) -> StoreResult<JournalRead> {
        self.read(move |conn| {
            let base = |extra: Option<&str>| {
                let mut v = vec![Value::Integer(app_id), Value::Integer(now)];
                if let Some(p) = portal {
                    v.push(Value::Integer(p.0));
                }
                if let Some(x) = extra {
                    v.push(Value::Text(x.to_owned()));
                }
                v
            };
            let limit = Value::Integer(i64::try_from(count).unwrap_or(i64::MAX));
            match &at {
                Position::Offsets(offsets) => {
                    let sql = journal::offset_sql(portal.is_some());
                    let mut found = Vec::new();
                    for o in offsets {
                        let mut v = vec![
                            Value::Integer(app_id),
                            Value::Integer(now),
                            Value::Text(o.clone()),
                        ];
                        if let Some(p) = portal {
                            v.push(Value::Integer(p.0));
                        }
                        found.extend(entries(conn, &sql, v)?);
                    }
                    Ok(JournalRead::Entries(found))
                }
                Position::After(offset) => {
                    let mut v = vec![
                        Value::Integer(app_id),
                        Value::Integer(now),
                        Value::Text(offset.clone()),
                    ];
                    if let Some(p) = portal {
                        v.push(Value::Integer(p.0));
                    }
                    if entries(conn, &journal::offset_sql(portal.is_some()), v)?.is_empty() {
                        return Ok(JournalRead::UnknownOffset);
                    }
                    let mut v = base(Some(offset));
                    v.push(limit);
                    Ok(JournalRead::Entries(entries(
                        conn,
                        &journal::read_sql(&at, portal.is_some()),
                        v,
                    )?))
                }
                Position::Earliest | Position::Latest => {
                    let mut v = base(None);
                    v.push(limit);
                    let mut found = entries(conn, &journal::read_sql(&at, portal.is_some()), v)?;
                    found.sort_by_key(|e| e.seq);
                    Ok(JournalRead::Entries(found))
                }
            }
        })
        .await
    }

    async fn journal_file(&self, offset: &str) -> StoreResult<Option<(JournalEntry, String)>> {
        let offset = offset.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS}, events FROM journal_entries WHERE offset_id = ?1"
            ))?
            .query_row(params![offset], |r| {
                Ok((journal::entry(&Cols(r))?, r.get::<_, String>(7)?))
            })
            .optional()
        })
        .await
    }

    async fn insert_snapshots(
        &self,
        entries: Vec<NewEntry>,
        statuses: Vec<SnapshotStatus>,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for e in &entries {
                tx.execute(PRUNE_SQL, params![e.app_id, e.created_at, e.portal.0])?;
                tx.execute(
                    &format!(
                        "INSERT INTO journal_entries ({ENTRY_INSERT_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        e.offset,
                        e.app_id,
                        e.portal.0,
                        e.created_at,
                        e.expires_at,
                        e.file_key,
                        e.events
                    ],
                )?;
            }
            for st in &statuses {
                tx.execute(
                    SNAPSHOT_PRUNE_SQL,
                    params![st.app_id, st.initiated_at - journal::RETENTION_MS],
                )?;
                tx.execute(
                    &format!(
                        "INSERT INTO journal_snapshots ({SNAPSHOT_COLUMNS})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    ),
                    params![
                        st.id,
                        st.app_id,
                        st.portal.0,
                        st.status,
                        st.error_code,
                        st.message,
                        st.initiated_at,
                        st.completed_at,
                        st.offset
                    ],
                )?;
            }
            tx.commit()
        })
        .await
    }

    async fn snapshot_status(&self, app_id: i64, id: &str) -> StoreResult<Option<SnapshotStatus>> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM journal_snapshots WHERE id = ?1 AND app_id = ?2"
            ))?
            .query_row(params![id, app_id], |r| journal::snapshot_status(&Cols(r)))
            .optional()
        })
        .await
    }
}
