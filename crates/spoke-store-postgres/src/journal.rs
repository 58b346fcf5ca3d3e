//! The webhooks journal: the SQL of `spoke_store::journal`, and the entries the record and
//! association writes add to their own transactions.
//!
//! Readers follow an app's entries by `seq`; an identity value is taken at insert, not at
//! commit, so two transactions could commit an app's entries out of order and a reader
//! that had passed the later number would never see the earlier one. Each transaction
//! therefore takes its apps' advisory locks (in app id order) before numbering their
//! entries and holds them to its end: an app's entries are numbered in commit order.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
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
use tokio_postgres::types::ToSql;

use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// The per-app lock that orders an app's entries: "spkj" in ASCII.
const ENTRY_LOCK_CLASS: i32 = 0x7370_6b6a;

async fn insert(
    tx: &Transaction<'_>,
    portal: PortalId,
    now: Millis,
    batch: JournalBatch,
    installed: Installed,
) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    // By app id (JournalBatch::entries' order): two transactions lock in the same order.
    for e in batch.entries(portal, now) {
        insert_entry(tx, &e, now, installed).await?;
    }
    Ok(())
}

/// Whether an entry is written only while its app is installed in its portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Installed {
    /// A record or link change: the listeners were read before the app's lock was taken,
    /// so an uninstall may have committed (with its APP_UNINSTALL entry) in between. Under
    /// READ COMMITTED the statement after the lock sees that uninstall, and writes nothing.
    Required,
    /// A lifecycle entry (written beside the install change itself) or a snapshot's.
    NotChecked,
}

/// Numbers and inserts one entry under its app's lock, pruning the app's expired ones.
async fn insert_entry(
    tx: &Transaction<'_>,
    e: &NewEntry,
    now: Millis,
    installed: Installed,
) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::BIGINT::TEXT))",
        &[&ENTRY_LOCK_CLASS, &e.app_id],
    )
    .await?;
    db::execute(tx, PRUNE_SQL, &[&e.app_id, &now, &e.portal.0]).await?;
    db::execute(
        tx,
        &match installed {
            Installed::Required => format!(
                "INSERT INTO journal_entries ({ENTRY_INSERT_COLUMNS})
                 SELECT $1::TEXT, $2::BIGINT, $3::BIGINT, $4::BIGINT, $5::BIGINT, $6::TEXT, $7::TEXT
                 WHERE EXISTS (SELECT 1 FROM app_installs WHERE app_id = $2 AND portal_id = $3)"
            ),
            Installed::NotChecked => format!(
                "INSERT INTO journal_entries ({ENTRY_INSERT_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ),
        },
        &[
            &e.offset,
            &e.app_id,
            &e.portal.0,
            &e.created_at,
            &e.expires_at,
            &e.file_key,
            &e.events,
        ],
    )
    .await?;
    Ok(())
}

/// The journal entries of a record batch (and of the links its creates wrote), inside its
/// transaction; `listeners` were read in it (`webhooks::record_events`).
pub(crate) async fn record_entries(
    tx: &Transaction<'_>,
    listeners: &JournalListeners,
    ctx: &WriteContext,
    decided: &Decided<'_>,
    links: &[LinkChange],
) -> Result<(), Error> {
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
    insert(tx, ctx.portal, ctx.now, batch, Installed::Required).await
}

/// The DELETE entries of records archived by one transaction.
pub(crate) async fn archive_entries(
    tx: &Transaction<'_>,
    listeners: &JournalListeners,
    portal: PortalId,
    object_type: &str,
    now: Millis,
    source: &WriteSource,
    archived: &[ObjectId],
) -> Result<(), Error> {
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
    insert(tx, portal, now, batch, Installed::Required).await
}

/// The association entries of rows written or removed by one transaction.
pub(crate) async fn link_entries(
    tx: &Transaction<'_>,
    listeners: &JournalListeners,
    portal: PortalId,
    ctx: &LinkContext,
    changes: &[LinkChange],
) -> Result<(), Error> {
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
    insert(tx, portal, ctx.now, batch, Installed::Required).await
}

/// The lifecycle entry of an app's install change, inside its transaction (nothing when
/// the app has no matching `APP_LIFECYCLE_EVENT` subscription).
pub(crate) async fn lifecycle_entries(
    tx: &Transaction<'_>,
    app_id: i64,
    portal: PortalId,
    now: Millis,
    which: Lifecycle,
) -> Result<(), Error> {
    let rows = db::query(
        tx,
        LIFECYCLE_SQL,
        &[&app_id, &which.event_type_id(), &portal.0],
    )
    .await?
    .iter()
    .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)))
    .collect::<Result<Vec<_>, Error>>()?;
    let batch = JournalBatch::lifecycle(&rows, which, app_id, portal, now);
    insert(tx, portal, now, batch, Installed::NotChecked).await
}

/// Serializes the app's subscription and filter writes, so that the limits each checks in
/// its transaction hold when several run at once.
async fn lock_subscriptions(tx: &Transaction<'_>, app_id: i64) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::BIGINT::TEXT || 's'))",
        &[&ENTRY_LOCK_CLASS, &app_id],
    )
    .await?;
    Ok(())
}

/// Removes an app's journal rows (with the app, `OAuthStore::delete_app`).
pub(crate) async fn delete_app_rows(tx: &Transaction<'_>, app_id: i64) -> Result<(), Error> {
    for table in [
        "oauth_app_tokens",
        "journal_filters",
        "journal_subscriptions",
        "journal_entries",
        "journal_snapshots",
    ] {
        db::execute(
            tx,
            &format!("DELETE FROM {table} WHERE app_id = $1"),
            &[&app_id],
        )
        .await?;
    }
    Ok(())
}

async fn subscription_by_id<C: GenericClient>(
    c: &C,
    app_id: i64,
    id: i64,
) -> Result<Option<JournalSubscription>, Error> {
    db::query_opt(
        c,
        &format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM journal_subscriptions WHERE app_id = $1 AND id = $2"
        ),
        &[&app_id, &id],
    )
    .await?
    .map(|r| journal::subscription(&Cols(&r)))
    .transpose()
}

async fn entries<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<JournalEntry>, Error> {
    db::query(c, sql, params)
        .await?
        .iter()
        .map(|r| journal::entry(&Cols(r)))
        .collect()
}

/// One live entry of the app by offset.
async fn by_offset<C: GenericClient>(
    c: &C,
    app_id: i64,
    portal: Option<PortalId>,
    offset: &str,
    now: Millis,
) -> Result<Vec<JournalEntry>, Error> {
    let sql = journal::offset_sql(portal.is_some());
    match portal {
        Some(p) => entries(c, &sql, &[&app_id, &now, &offset, &p.0]).await,
        None => entries(c, &sql, &[&app_id, &now, &offset]).await,
    }
}

async fn read_journal<C: GenericClient>(
    c: &C,
    app_id: i64,
    portal: Option<PortalId>,
    at: &Position,
    limit: i64,
    now: Millis,
) -> Result<JournalRead, Error> {
    let sql = journal::read_sql(at, portal.is_some());
    let found = match at {
        Position::Offsets(offsets) => {
            let mut found = Vec::new();
            for o in offsets {
                found.extend(by_offset(c, app_id, portal, o, now).await?);
            }
            return Ok(JournalRead::Entries(found));
        }
        Position::After(offset) => {
            if by_offset(c, app_id, portal, offset, now).await?.is_empty() {
                return Ok(JournalRead::UnknownOffset);
            }
            match portal {
                Some(p) => entries(c, &sql, &[&app_id, &now, &p.0, offset, &limit]).await?,
                None => entries(c, &sql, &[&app_id, &now, offset, &limit]).await?,
            }
        }
        Position::Earliest | Position::Latest => match portal {
            Some(p) => entries(c, &sql, &[&app_id, &now, &p.0, &limit]).await?,
            None => entries(c, &sql, &[&app_id, &now, &limit]).await?,
        },
    };
    let mut found = found;
    found.sort_by_key(|e| e.seq);
    Ok(JournalRead::Entries(found))
}

#[async_trait]
impl JournalStore for PostgresStore {
    async fn insert_app_token(&self, token: AppToken, purge_before: Millis) -> StoreResult<()> {
        self.write(TxMode::RECORDS, token, move |tx, token| {
            Box::pin(async move {
                db::execute(
                    tx,
                    "DELETE FROM oauth_app_tokens WHERE app_id = $1 AND expires_at < $2",
                    &[&token.app_id, &purge_before],
                )
                .await?;
                db::execute(
                    tx,
                    &format!(
                        "INSERT INTO oauth_app_tokens ({TOKEN_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
                    ),
                    &[
                        &token.hash,
                        &token.app_id,
                        &token.scopes.join(" "),
                        &token.created_at,
                        &token.expires_at,
                    ],
                )
                .await?;
                Ok(Finish::Commit(()))
            })
        })
        .await
    }

    async fn find_app_token(&self, hash: &str) -> StoreResult<Option<AppToken>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            db::query_opt(
                &client,
                &format!("SELECT {TOKEN_COLUMNS} FROM oauth_app_tokens WHERE token_hash = $1"),
                &[&hash],
            )
            .await?
            .map(|r| journal::app_token(&Cols(&r)))
            .transpose()
        }
        .await
        .map_err(into_store)
    }

    async fn journal_subscriptions(&self, app_id: i64) -> StoreResult<Vec<JournalSubscription>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            db::query(
                &client,
                &format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM journal_subscriptions
                     WHERE app_id = $1 ORDER BY id"
                ),
                &[&app_id],
            )
            .await?
            .iter()
            .map(|r| journal::subscription(&Cols(r)))
            .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
    }

    async fn upsert_journal_subscription(
        &self,
        new: NewJournalSubscription,
    ) -> StoreResult<Upserted> {
        self.write(TxMode::RECORDS, new, move |tx, new| {
            Box::pin(async move {
                // Upserts of one app are serialized, so two at once cannot both insert.
                lock_subscriptions(tx, new.app_id).await?;
                let existing = db::query_opt(
                    tx,
                    "SELECT id FROM journal_subscriptions WHERE app_id = $1
                     AND subscription_type = $2 AND portal_id IS NOT DISTINCT FROM $3
                     AND object_type_id IS NOT DISTINCT FROM $4
                     AND event_type_id IS NOT DISTINCT FROM $5",
                    &[
                        &new.app_id,
                        &new.subscription_type,
                        &new.portal_id,
                        &new.object_type_id,
                        &new.event_type_id,
                    ],
                )
                .await?;
                let existing: Option<i64> = existing.map(|r| r.try_get(0)).transpose()?;
                let usage = db::query(tx, USAGE_SQL, &[&new.app_id])
                    .await?
                    .iter()
                    .map(|r| Ok((r.try_get::<_, i64>(0)?, r.try_get::<_, String>(1)?)))
                    .collect::<Result<Vec<_>, Error>>()?;
                if let Some(limit) = journal::upsert_refusal(&usage, existing, new) {
                    return Ok(Finish::Rollback(Upserted::LimitReached(limit)));
                }
                let (a, p, o, s) = (
                    journal::list_column(&new.actions),
                    journal::list_column(&new.properties),
                    journal::list_column(&new.object_ids),
                    journal::list_column(&new.associated_object_type_ids),
                );
                let id: i64 = if let Some(id) = existing {
                    db::execute(
                        tx,
                        "UPDATE journal_subscriptions SET actions = $2, properties = $3,
                         object_ids = $4, associated_object_type_ids = $5, updated_at = $6
                         WHERE id = $1",
                        &[&id, &a, &p, &o, &s, &new.updated_at],
                    )
                    .await?;
                    id
                } else {
                    db::query_one(
                        tx,
                        "INSERT INTO journal_subscriptions (app_id, subscription_type, portal_id,
                             object_type_id, event_type_id, actions, properties, object_ids,
                             associated_object_type_ids, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                        &[
                            &new.app_id,
                            &new.subscription_type,
                            &new.portal_id,
                            &new.object_type_id,
                            &new.event_type_id,
                            &a,
                            &p,
                            &o,
                            &s,
                            &new.updated_at,
                        ],
                    )
                    .await?
                    .try_get(0)?
                };
                let stored = subscription_by_id(tx, new.app_id, id)
                    .await?
                    .ok_or(Error::Retry("a journal subscription vanished"))?;
                Ok(Finish::Commit(Upserted::Saved(stored)))
            })
        })
        .await
    }

    async fn delete_journal_subscriptions(&self, app_id: i64, which: Selector) -> StoreResult<u64> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let (cond, key) = match which {
                    Selector::Id(id) => ("id = $2", id),
                    Selector::Portal(p) => ("portal_id = $2", p),
                };
                db::execute(
                    tx,
                    &format!(
                        "DELETE FROM journal_filters WHERE subscription_id IN
                         (SELECT id FROM journal_subscriptions WHERE app_id = $1 AND {cond})"
                    ),
                    &[&app_id, &key],
                )
                .await?;
                let n = db::execute(
                    tx,
                    &format!("DELETE FROM journal_subscriptions WHERE app_id = $1 AND {cond}"),
                    &[&app_id, &key],
                )
                .await?;
                Ok(Finish::Commit(n))
            })
        })
        .await
    }

    async fn journal_filters(&self, app_id: i64) -> StoreResult<Vec<JournalFilter>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            db::query(
                &client,
                &format!(
                    "SELECT {FILTER_COLUMNS} FROM journal_filters WHERE app_id = $1 ORDER BY id"
                ),
                &[&app_id],
            )
            .await?
            .iter()
            .map(|r| journal::filter(&Cols(r)))
            .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
    }

    async fn create_journal_filter(
        &self,
        app_id: i64,
        subscription_id: i64,
        conditions: String,
        now: Millis,
    ) -> StoreResult<FilterCreated> {
        self.write(TxMode::RECORDS, conditions, move |tx, conditions| {
            Box::pin(async move {
                lock_subscriptions(tx, app_id).await?;
                // The subscription is locked so that it cannot be deleted under its filter.
                let found = db::query_opt(
                    tx,
                    "SELECT id FROM journal_subscriptions WHERE app_id = $1 AND id = $2 FOR UPDATE",
                    &[&app_id, &subscription_id],
                )
                .await?;
                if found.is_none() {
                    return Ok(Finish::Commit(FilterCreated::NoSubscription));
                }
                let count: i64 = db::query_one(tx, FILTER_COUNT_SQL, &[&app_id])
                    .await?
                    .try_get(0)?;
                if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_FILTERS {
                    return Ok(Finish::Rollback(FilterCreated::LimitReached(Limit::Filters)));
                }
                let row = db::query_one(
                    tx,
                    &format!(
                        "INSERT INTO journal_filters (app_id, subscription_id, conditions, created_at)
                         VALUES ($1, $2, $3, $4) RETURNING {FILTER_COLUMNS}"
                    ),
                    &[&app_id, &subscription_id, conditions, &now],
                )
                .await?;
                Ok(Finish::Commit(FilterCreated::Created(journal::filter(
                    &Cols(&row),
                )?)))
            })
        })
        .await
    }

    async fn delete_journal_filter(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let n = db::execute(
                    tx,
                    "DELETE FROM journal_filters WHERE app_id = $1 AND id = $2",
                    &[&app_id, &id],
                )
                .await?;
                Ok(Finish::Commit(n > 0))
            })
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
        let client = self.client().await.map_err(into_store)?;
        let limit = i64::try_from(count).unwrap_or(i64::MAX);
        read_journal(&client, app_id, portal, &at, limit, now)
            .await
            .map_err(into_store)
    }

    async fn journal_file(&self, offset: &str) -> StoreResult<Option<(JournalEntry, String)>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            let Some(row) = db::query_opt(
                &client,
                &format!(
                    "SELECT {ENTRY_COLUMNS}, events FROM journal_entries WHERE offset_id = $1"
                ),
                &[&offset],
            )
            .await?
            else {
                return Ok(None);
            };
            let events: String = row.try_get(7)?;
            Ok(Some((journal::entry(&Cols(&row))?, events)))
        }
        .await
        .map_err(into_store)
    }

    async fn insert_snapshots(
        &self,
        entries: Vec<NewEntry>,
        statuses: Vec<SnapshotStatus>,
    ) -> StoreResult<()> {
        self.write(
            TxMode::RECORDS,
            (entries, statuses),
            move |tx, (entries, statuses)| {
                Box::pin(async move {
                    // One app per batch: its one lock is all the ordering needs.
                    for e in entries.iter() {
                        insert_entry(tx, e, e.created_at, Installed::NotChecked).await?;
                    }
                    for st in statuses.iter() {
                        let oldest = st.initiated_at - journal::RETENTION_MS;
                        db::execute(tx, SNAPSHOT_PRUNE_SQL, &[&st.app_id, &oldest]).await?;
                        db::execute(
                            tx,
                            &format!(
                                "INSERT INTO journal_snapshots ({SNAPSHOT_COLUMNS})
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                            ),
                            &[
                                &st.id,
                                &st.app_id,
                                &st.portal.0,
                                &st.status,
                                &st.error_code,
                                &st.message,
                                &st.initiated_at,
                                &st.completed_at,
                                &st.offset,
                            ],
                        )
                        .await?;
                    }
                    Ok(Finish::Commit(()))
                })
            },
        )
        .await
    }

    async fn snapshot_status(&self, app_id: i64, id: &str) -> StoreResult<Option<SnapshotStatus>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            let row = db::query_opt(
                &client,
                &format!(
                    "SELECT {SNAPSHOT_COLUMNS} FROM journal_snapshots WHERE id = $1 AND app_id = $2"
                ),
                &[&id, &app_id],
            )
            .await?;
            row.map(|r| journal::snapshot_status(&Cols(&r))).transpose()
        }
        .await
        .map_err(into_store)
    }
}
