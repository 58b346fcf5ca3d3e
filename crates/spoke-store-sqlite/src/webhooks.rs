//! App webhooks: the SQL of `spoke_store::webhooks`, and the events the record and
//! association writes add to their own transactions.
//!
//! The writer connection is alone, so claiming events needs no row locks: a claim is one
//! `UPDATE … RETURNING` of the due rows, which sets their lease.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};
use spoke_store::journal::Lifecycle;
use spoke_store::plan::Decided;
use spoke_store::webhooks::ListenerCache;
use spoke_store::webhooks::{
    self, AttemptRecord, CreateSubscription, DeliveryAttempt, EventBatch, LinkChange,
    NewSubscription, PendingEvent, Subscription, WebhookSettings, WebhookStore, WriteListeners,
    ATTEMPT_COLUMNS, EVENT_INSERT_COLUMNS, KEEP_FINISHED_MS, LISTENERS_SQL, MAX_SUBSCRIPTIONS,
    NEXT_DUE_SQL, PENDING, PENDING_COLUMNS, SETTINGS_COLUMNS, SUBSCRIPTION_COLUMNS,
};
use spoke_store::{LinkContext, StoreResult, WriteContext, WriteSource};

use crate::tokens_props::Cols;
use crate::SqliteStore;

/// The webhook and journal subscriptions listening to a write in `portal`, in one
/// statement: from `cache` when the listener generation has not moved since it read them
/// (then the statement is one primary-key read), else read and cached.
fn listeners(
    conn: &Connection,
    cache: &ListenerCache,
    portal: PortalId,
) -> rusqlite::Result<Arc<WriteListeners>> {
    let asked = cache.generation(portal);
    let rows = conn
        .prepare_cached(LISTENERS_SQL)?
        .query_map(params![portal.0, asked], |r| {
            webhooks::listener_row(&Cols(r))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(cache.resolve(portal, asked, rows))
}

fn insert_events(conn: &Connection, batch: &EventBatch) -> rusqlite::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO webhook_events ({EVENT_INSERT_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, '{PENDING}')"
    ))?;
    for e in &batch.events {
        insert.execute(params![
            e.app_id,
            batch.portal.0,
            e.subscription_id,
            e.subscription_type,
            batch.occurred_at,
            e.fields,
            batch.next_attempt_at
        ])?;
    }
    Ok(())
}

/// The events and journal entries of a record batch (and of the links its creates wrote),
/// inside its transaction.
pub(crate) fn record_events(
    conn: &Connection,
    cache: &ListenerCache,
    ctx: &WriteContext,
    decided: &Decided<'_>,
    links: &[LinkChange],
) -> rusqlite::Result<()> {
    let listeners = listeners(conn, cache, ctx.portal)?;
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(ctx.portal, ctx.now);
    listeners.webhooks.record_events(&mut batch, ctx, decided);
    listeners.webhooks.links(&mut batch, links, &ctx.source);
    insert_events(conn, &batch)?;
    crate::journal::record_entries(conn, &listeners.journal, ctx, decided, links)
}

/// The deletion events and journal entries of records archived by one transaction.
pub(crate) fn archive_events(
    conn: &Connection,
    cache: &ListenerCache,
    portal: PortalId,
    object_type: &str,
    now: Millis,
    source: &WriteSource,
    archived: &[ObjectId],
) -> rusqlite::Result<()> {
    if archived.is_empty() {
        return Ok(());
    }
    let listeners = listeners(conn, cache, portal)?;
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(portal, now);
    listeners
        .webhooks
        .archived(&mut batch, object_type, archived, source);
    insert_events(conn, &batch)?;
    crate::journal::archive_entries(
        conn,
        &listeners.journal,
        portal,
        object_type,
        now,
        source,
        archived,
    )
}

/// The associationChange events and journal entries of rows written or removed by one
/// transaction.
pub(crate) fn link_events(
    conn: &Connection,
    cache: &ListenerCache,
    portal: PortalId,
    ctx: &LinkContext,
    changes: &[LinkChange],
) -> rusqlite::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let listeners = listeners(conn, cache, portal)?;
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(portal, ctx.now);
    listeners.webhooks.links(&mut batch, changes, &ctx.source);
    insert_events(conn, &batch)?;
    crate::journal::link_entries(conn, &listeners.journal, portal, ctx, changes)
}

fn subscription_by_id(
    conn: &Connection,
    app_id: i64,
    id: i64,
) -> rusqlite::Result<Option<Subscription>> {
    conn.prepare_cached(&format!(
        "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE app_id = ?1 AND id = ?2"
    ))?
    .query_row(params![app_id, id], |r| webhooks::subscription(&Cols(r)))
    .optional()
}

fn settings_of(conn: &Connection, app_id: i64) -> rusqlite::Result<Option<WebhookSettings>> {
    conn.prepare_cached(&format!(
        "SELECT {SETTINGS_COLUMNS} FROM webhook_settings WHERE app_id = ?1"
    ))?
    .query_row(params![app_id], |r| webhooks::settings(&Cols(r)))
    .optional()
}

/// Removes an app's webhook rows (with the app, `OAuthStore::delete_app`).
pub(crate) fn delete_app_rows(conn: &Connection, app_id: i64) -> rusqlite::Result<()> {
    for table in [
        "webhook_settings",
        "webhook_subscriptions",
        "app_installs",
        "webhook_events",
        "webhook_attempts",
    ] {
        conn.execute(
            &format!("DELETE FROM {table} WHERE app_id = ?1"),
            params![app_id],
        )?;
    }
    Ok(())
}

fn pending_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PendingEvent> {
    webhooks::pending_event(&Cols(r))
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn webhook_settings(&self, app_id: i64) -> StoreResult<Option<WebhookSettings>> {
        self.read(move |conn| settings_of(conn, app_id)).await
    }

    async fn put_webhook_settings(&self, s: WebhookSettings) -> StoreResult<WebhookSettings> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                &format!(
                    "INSERT INTO webhook_settings ({SETTINGS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (app_id) DO UPDATE SET target_url = excluded.target_url,
                     max_concurrent_requests = excluded.max_concurrent_requests,
                     period = excluded.period, updated_at = excluded.updated_at"
                ),
                params![
                    s.app_id,
                    s.target_url,
                    s.max_concurrent_requests,
                    s.period,
                    s.created_at,
                    s.updated_at
                ],
            )?;
            let stored = settings_of(&tx, s.app_id)?;
            tx.commit()?;
            stored.ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
        .await
    }

    async fn delete_webhook_settings(&self, app_id: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            Ok(conn.execute(
                "DELETE FROM webhook_settings WHERE app_id = ?1",
                params![app_id],
            )? > 0)
        })
        .await
    }

    async fn list_subscriptions(&self, app_id: i64) -> StoreResult<Vec<Subscription>> {
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions
                 WHERE app_id = ?1 ORDER BY id"
            ))?
            .query_map(params![app_id], |r| webhooks::subscription(&Cols(r)))?
            .collect()
        })
        .await
    }

    async fn create_subscription(&self, new: NewSubscription) -> StoreResult<CreateSubscription> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM webhook_subscriptions WHERE app_id = ?1",
                params![new.app_id],
                |r| r.get(0),
            )?;
            if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_SUBSCRIPTIONS {
                return Ok(CreateSubscription::LimitReached);
            }
            tx.execute(
                "INSERT INTO webhook_subscriptions (app_id, event_type, object_type_id,
                     property_name, active, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![
                    new.app_id,
                    new.event_type,
                    new.object_type_id,
                    new.property_name,
                    new.active,
                    new.now
                ],
            )?;
            let id = tx.last_insert_rowid();
            let created = subscription_by_id(&tx, new.app_id, id)?;
            tx.commit()?;
            created
                .map(CreateSubscription::Created)
                .ok_or(rusqlite::Error::QueryReturnedNoRows)
        })
        .await
    }

    async fn set_subscriptions_active(
        &self,
        app_id: i64,
        changes: Vec<(i64, bool)>,
        now: Millis,
    ) -> StoreResult<Vec<Option<Subscription>>> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut out = Vec::with_capacity(changes.len());
            for (id, active) in changes {
                // `updated_at` moves only when `active` does.
                tx.prepare_cached(
                    "UPDATE webhook_subscriptions SET active = ?3, updated_at = ?4
                     WHERE app_id = ?1 AND id = ?2 AND active <> ?3",
                )?
                .execute(params![app_id, id, active, now])?;
                out.push(subscription_by_id(&tx, app_id, id)?);
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn delete_subscription(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            Ok(conn.execute(
                "DELETE FROM webhook_subscriptions WHERE app_id = ?1 AND id = ?2",
                params![app_id, id],
            )? > 0)
        })
        .await
    }

    async fn install_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<()> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let added = tx.execute(
                "INSERT INTO app_installs (app_id, portal_id, installed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
                params![app_id, portal.0, now],
            )?;
            if added > 0 {
                crate::journal::lifecycle_entries(&tx, app_id, portal, now, Lifecycle::Install)?;
            }
            tx.commit()
        })
        .await
    }

    async fn uninstall_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let removed = tx.execute(
                "DELETE FROM app_installs WHERE app_id = ?1 AND portal_id = ?2",
                params![app_id, portal.0],
            )? > 0;
            if removed {
                crate::journal::lifecycle_entries(&tx, app_id, portal, now, Lifecycle::Uninstall)?;
            }
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    async fn installed_apps(&self, portal: PortalId) -> StoreResult<Vec<i64>> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT app_id FROM app_installs WHERE portal_id = ?1 ORDER BY app_id",
            )?
            .query_map(params![portal.0], |r| r.get(0))?
            .collect()
        })
        .await
    }

    async fn claim_events(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        force: bool,
    ) -> StoreResult<Vec<PendingEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // With `force`, every pending event is due.
        let due_by = if force { Millis::MAX } else { now };
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut claimed = tx
                .prepare_cached(&format!(
                    "UPDATE webhook_events SET lease_until = ?3
                     WHERE event_id IN (
                         SELECT event_id FROM webhook_events INDEXED BY webhook_events_due
                         WHERE state = '{PENDING}' AND next_attempt_at <= ?1
                         AND (lease_until IS NULL OR lease_until <= ?2)
                         ORDER BY next_attempt_at, event_id LIMIT ?4)
                     RETURNING {PENDING_COLUMNS}"
                ))?
                .query_map(params![due_by, now, lease_until, limit], pending_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            tx.commit()?;
            claimed.sort_by_key(|e| e.event_id);
            Ok(claimed)
        })
        .await
    }

    async fn finish_attempt(&self, attempt: DeliveryAttempt) -> StoreResult<i64> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                &format!(
                    "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS})
                     VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ),
                params![
                    attempt.app_id,
                    attempt.portal.0,
                    attempt.target_url,
                    webhooks::event_ids_column(&attempt.event_ids),
                    attempt.attempt_number,
                    attempt.status,
                    attempt.error,
                    attempt.started_at,
                    attempt.duration_ms,
                    attempt.outcome.as_str(),
                    attempt.outcome.next_attempt_at()
                ],
            )?;
            let id = tx.last_insert_rowid();
            let finished = attempt.started_at.saturating_add(attempt.duration_ms);
            let (sql, at) =
                webhooks::finish_event_sql(attempt.outcome, finished, "event_id = ?1", "?2");
            let mut stmt = tx.prepare_cached(&sql)?;
            for event_id in &attempt.event_ids {
                match at {
                    Some(at) => stmt.execute(params![event_id, at])?,
                    None => stmt.execute(params![event_id])?,
                };
            }
            drop(stmt);
            let horizon = finished.saturating_sub(KEEP_FINISHED_MS);
            tx.prepare_cached(&format!(
                "DELETE FROM webhook_events WHERE state <> '{PENDING}' AND finished_at < ?1"
            ))?
            .execute(params![horizon])?;
            tx.prepare_cached("DELETE FROM webhook_attempts WHERE started_at < ?1")?
                .execute(params![horizon])?;
            tx.commit()?;
            Ok(id)
        })
        .await
    }

    async fn list_attempts(
        &self,
        app_id: Option<i64>,
        portal: Option<PortalId>,
        after: Option<i64>,
        limit: usize,
    ) -> StoreResult<Vec<AttemptRecord>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts
                 WHERE (?1 IS NULL OR app_id = ?1) AND (?2 IS NULL OR portal_id = ?2)
                 AND (?3 IS NULL OR id < ?3)
                 ORDER BY id DESC LIMIT ?4"
            ))?
            .query_map(params![app_id, portal.map(|p| p.0), after, limit], |r| {
                webhooks::attempt_record(&Cols(r))
            })?
            .collect()
        })
        .await
    }

    async fn pending_events(
        &self,
        app_id: Option<i64>,
        limit: usize,
    ) -> StoreResult<(u64, Vec<PendingEvent>)> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let count: i64 = conn
                .prepare_cached(&format!(
                    "SELECT COUNT(*) FROM webhook_events
                     WHERE state = '{PENDING}' AND (?1 IS NULL OR app_id = ?1)"
                ))?
                .query_row(params![app_id], |r| r.get(0))?;
            let events = conn
                .prepare_cached(&format!(
                    "SELECT {PENDING_COLUMNS} FROM webhook_events
                     WHERE state = '{PENDING}' AND (?1 IS NULL OR app_id = ?1)
                     ORDER BY event_id LIMIT ?2"
                ))?
                .query_map(params![app_id, limit], pending_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((u64::try_from(count).unwrap_or(0), events))
        })
        .await
    }

    async fn next_due(&self) -> StoreResult<Option<Millis>> {
        self.read(|conn| {
            conn.prepare_cached(NEXT_DUE_SQL)?
                .query_row([], |r| r.get(0))
        })
        .await
    }
}
