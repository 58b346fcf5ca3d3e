//! App webhooks: the SQL of `spoke_store::webhooks`, and the events the record and
//! association writes add to their own transactions.
//!
//! Several processes deliver from one database: a claim locks the due rows it takes with
//! `FOR UPDATE SKIP LOCKED` and sets their lease in the same statement, so two claims at
//! once take disjoint events, and a claim that waited behind another sees its lease (READ
//! COMMITTED re-checks a locked row's condition on its newest version).

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::time::Millis;
use spoke_core::{ObjectId, PortalId};
use spoke_store::journal::Lifecycle;
use spoke_store::plan::Decided;
use std::sync::Arc;

use spoke_store::webhooks::ListenerCache;
use spoke_store::webhooks::{
    self, AttemptRecord, CreateSubscription, DeliveryAttempt, EventBatch, LinkChange,
    NewSubscription, PendingEvent, Subscription, WebhookSettings, WebhookStore, WriteListeners,
    ATTEMPT_COLUMNS, EVENT_INSERT_COLUMNS, KEEP_FINISHED_MS, LISTENERS_SQL, MAX_SUBSCRIPTIONS,
    NEXT_DUE_SQL, PENDING, PENDING_COLUMNS, SETTINGS_COLUMNS, SUBSCRIPTION_COLUMNS,
};
use spoke_store::{LinkContext, StoreResult, WriteContext, WriteSource};

use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// The per-app lock of subscription creates (the limit is checked, then a row inserted):
/// "spkw" in ASCII.
const SUBSCRIPTION_LOCK_CLASS: i32 = 0x7370_6b77;

/// The webhook and journal subscriptions listening to a write in `portal`, in one
/// statement: from `cache` when the listener generation has not moved since it read them
/// (then the statement is one primary-key read), else read and cached. Without a cache
/// (`None`: writes other than record batches, rarer) the rows are always read.
pub(crate) async fn listeners<C: GenericClient>(
    c: &C,
    cache: Option<&ListenerCache>,
    portal: PortalId,
) -> Result<Arc<WriteListeners>, Error> {
    let asked = cache.map_or(webhooks::NOT_CACHED, |c| c.generation(portal));
    let rows = db::query(c, LISTENERS_SQL, &[&portal.0, &asked]).await?;
    let rows = rows
        .iter()
        .map(|r| webhooks::listener_row(&Cols(r)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(match cache {
        Some(cache) => cache.resolve(portal, asked, rows),
        None => Arc::new(WriteListeners::from_rows(rows)),
    })
}

/// Inserts a transaction's events in one statement.
async fn insert_events(tx: &Transaction<'_>, batch: &EventBatch) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut apps = Vec::with_capacity(batch.events.len());
    let mut subscriptions = Vec::with_capacity(batch.events.len());
    let mut types = Vec::with_capacity(batch.events.len());
    let mut fields = Vec::with_capacity(batch.events.len());
    for e in &batch.events {
        apps.push(e.app_id);
        subscriptions.push(e.subscription_id);
        types.push(e.subscription_type.as_str());
        fields.push(e.fields.as_str());
    }
    // WITH ORDINALITY: event ids ascend in the order the rule made the events.
    db::execute(
        tx,
        &format!(
            "INSERT INTO webhook_events ({EVENT_INSERT_COLUMNS})
             SELECT t.app_id, $1::BIGINT, t.subscription_id, t.subscription_type, $2::BIGINT,
                 t.fields, 0, $3::BIGINT, '{PENDING}'
             FROM unnest($4::BIGINT[], $5::BIGINT[], $6::TEXT[], $7::TEXT[]) WITH ORDINALITY
                 AS t(app_id, subscription_id, subscription_type, fields, n)
             ORDER BY t.n"
        ),
        &[
            &batch.portal.0,
            &batch.occurred_at,
            &batch.next_attempt_at,
            &apps,
            &subscriptions,
            &types,
            &fields,
        ],
    )
    .await?;
    Ok(())
}

/// The events and journal entries of a record batch (and of the links its creates wrote),
/// inside its transaction; `listeners` were read in it.
pub(crate) async fn record_events(
    tx: &Transaction<'_>,
    listeners: &WriteListeners,
    ctx: &WriteContext,
    decided: &Decided<'_>,
    links: &[LinkChange],
) -> Result<(), Error> {
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(ctx.portal, ctx.now);
    listeners.webhooks.record_events(&mut batch, ctx, decided);
    listeners.webhooks.links(&mut batch, links, &ctx.source);
    insert_events(tx, &batch).await?;
    crate::journal::record_entries(tx, &listeners.journal, ctx, decided, links).await
}

/// The deletion events and journal entries of records archived by one transaction.
pub(crate) async fn archive_events(
    tx: &Transaction<'_>,
    portal: PortalId,
    object_type: &str,
    now: Millis,
    source: &WriteSource,
    archived: &[ObjectId],
) -> Result<(), Error> {
    let listeners = listeners(tx, None, portal).await?;
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(portal, now);
    listeners
        .webhooks
        .archived(&mut batch, object_type, archived, source);
    insert_events(tx, &batch).await?;
    crate::journal::archive_entries(
        tx,
        &listeners.journal,
        portal,
        object_type,
        now,
        source,
        archived,
    )
    .await
}

/// The associationChange events and journal entries of rows written or removed by one
/// transaction.
pub(crate) async fn link_events(
    tx: &Transaction<'_>,
    portal: PortalId,
    ctx: &LinkContext,
    changes: &[LinkChange],
) -> Result<(), Error> {
    if changes.is_empty() {
        return Ok(());
    }
    let listeners = listeners(tx, None, portal).await?;
    if listeners.is_empty() {
        return Ok(());
    }
    let mut batch = EventBatch::new(portal, ctx.now);
    listeners.webhooks.links(&mut batch, changes, &ctx.source);
    insert_events(tx, &batch).await?;
    crate::journal::link_entries(tx, &listeners.journal, portal, ctx, changes).await
}

/// Removes an app's webhook rows (with the app, `OAuthStore::delete_app`).
pub(crate) async fn delete_app_rows(tx: &Transaction<'_>, app_id: i64) -> Result<(), Error> {
    for table in [
        "webhook_settings",
        "webhook_subscriptions",
        "app_installs",
        "webhook_events",
        "webhook_attempts",
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

fn subscription_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<Subscription>, Error> {
    rows.iter()
        .map(|r| webhooks::subscription(&Cols(r)))
        .collect()
}

fn pending_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<PendingEvent>, Error> {
    rows.iter()
        .map(|r| webhooks::pending_event(&Cols(r)))
        .collect()
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

async fn create_subscription_tx(
    tx: &Transaction<'_>,
    new: &NewSubscription,
) -> Result<Finish<CreateSubscription>, Error> {
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema() || ':' || $2::BIGINT::TEXT))",
        &[&SUBSCRIPTION_LOCK_CLASS, &new.app_id],
    )
    .await?;
    let count: i64 = db::query_one(
        tx,
        "SELECT COUNT(*) FROM webhook_subscriptions WHERE app_id = $1",
        &[&new.app_id],
    )
    .await?
    .try_get(0)?;
    if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_SUBSCRIPTIONS {
        return Ok(Finish::Rollback(CreateSubscription::LimitReached));
    }
    let row = db::query_one(
        tx,
        &format!(
            "INSERT INTO webhook_subscriptions (app_id, event_type, object_type_id,
                 property_name, active, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {SUBSCRIPTION_COLUMNS}"
        ),
        &[
            &new.app_id,
            &new.event_type,
            &new.object_type_id,
            &new.property_name,
            &new.active,
            &new.now,
        ],
    )
    .await?;
    Ok(Finish::Commit(CreateSubscription::Created(
        webhooks::subscription(&Cols(&row))?,
    )))
}

async fn finish_attempt_tx(
    tx: &Transaction<'_>,
    attempt: &DeliveryAttempt,
) -> Result<Finish<i64>, Error> {
    let status = attempt.status.map(i64::from);
    let event_ids = webhooks::event_ids_column(&attempt.event_ids);
    let outcome = attempt.outcome.as_str();
    let next_attempt_at = attempt.outcome.next_attempt_at();
    let insert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 11] = [
        &attempt.app_id,
        &attempt.portal.0,
        &attempt.target_url,
        &event_ids,
        &attempt.attempt_number,
        &status,
        &attempt.error,
        &attempt.started_at,
        &attempt.duration_ms,
        &outcome,
        &next_attempt_at,
    ];
    let finished = attempt.started_at.saturating_add(attempt.duration_ms);
    let (sql, at) = webhooks::finish_event_sql(
        attempt.outcome,
        finished,
        "event_id = ANY($1::BIGINT[])",
        "$2::BIGINT",
    );
    let horizon = finished.saturating_sub(KEEP_FINISHED_MS);
    let prune_events =
        format!("DELETE FROM webhook_events WHERE state <> '{PENDING}' AND finished_at < $1");
    let prune_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&horizon];
    // The four statements depend on none of the others' results, so they go out pipelined:
    // one round trip per finished attempt instead of four, on the worker's path that
    // competes with the API's writers for the database.
    let (row, ..) = tokio::try_join!(
        db::query_one(
            tx,
            "INSERT INTO webhook_attempts (app_id, portal_id, target_url, event_ids,
                 attempt_number, status, error, started_at, duration_ms, outcome,
                 next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &insert_params,
        ),
        async {
            match at {
                Some(at) => db::execute(tx, &sql, &[&attempt.event_ids, &at]).await,
                None => db::execute(tx, &sql, &[&attempt.event_ids]).await,
            }
        },
        db::execute(tx, &prune_events, &prune_params),
        db::execute(
            tx,
            "DELETE FROM webhook_attempts WHERE started_at < $1",
            &prune_params,
        ),
    )?;
    let id: i64 = row.try_get(0)?;
    Ok(Finish::Commit(id))
}

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn webhook_settings(&self, app_id: i64) -> StoreResult<Option<WebhookSettings>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            db::query_opt(
                &client,
                &format!("SELECT {SETTINGS_COLUMNS} FROM webhook_settings WHERE app_id = $1"),
                &[&app_id],
            )
            .await?
            .map(|r| webhooks::settings(&Cols(&r)))
            .transpose()
        }
        .await
        .map_err(into_store)
    }

    async fn put_webhook_settings(&self, s: WebhookSettings) -> StoreResult<WebhookSettings> {
        self.write(TxMode::RECORDS, s, |tx, s| {
            Box::pin(async move {
                let row = db::query_one(
                    tx,
                    &format!(
                        "INSERT INTO webhook_settings ({SETTINGS_COLUMNS})
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (app_id) DO UPDATE SET target_url = EXCLUDED.target_url,
                         max_concurrent_requests = EXCLUDED.max_concurrent_requests,
                         period = EXCLUDED.period, updated_at = EXCLUDED.updated_at
                         RETURNING {SETTINGS_COLUMNS}"
                    ),
                    &[
                        &s.app_id,
                        &s.target_url,
                        &s.max_concurrent_requests,
                        &s.period,
                        &s.created_at,
                        &s.updated_at,
                    ],
                )
                .await?;
                Ok(Finish::Commit(webhooks::settings(&Cols(&row))?))
            })
        })
        .await
    }

    async fn delete_webhook_settings(&self, app_id: i64) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, app_id, |tx, app_id| {
            Box::pin(async move {
                let n = db::execute(
                    tx,
                    "DELETE FROM webhook_settings WHERE app_id = $1",
                    &[app_id],
                )
                .await?;
                Ok(Finish::Commit(n > 0))
            })
        })
        .await
    }

    async fn list_subscriptions(&self, app_id: i64) -> StoreResult<Vec<Subscription>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            let rows = db::query(
                &client,
                &format!(
                    "SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions
                     WHERE app_id = $1 ORDER BY id"
                ),
                &[&app_id],
            )
            .await?;
            subscription_rows(&rows)
        }
        .await
        .map_err(into_store)
    }

    async fn create_subscription(&self, new: NewSubscription) -> StoreResult<CreateSubscription> {
        self.write(TxMode::RECORDS, new, |tx, new| {
            Box::pin(create_subscription_tx(tx, new))
        })
        .await
    }

    async fn set_subscriptions_active(
        &self,
        app_id: i64,
        changes: Vec<(i64, bool)>,
        now: Millis,
    ) -> StoreResult<Vec<Option<Subscription>>> {
        self.write(TxMode::RECORDS, changes, move |tx, changes| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(changes.len());
                for (id, active) in changes {
                    // `updated_at` moves only when `active` does.
                    let row = db::query_opt(
                        tx,
                        &format!(
                            "UPDATE webhook_subscriptions SET active = $3,
                             updated_at = CASE WHEN active <> $3 THEN $4 ELSE updated_at END
                             WHERE app_id = $1 AND id = $2 RETURNING {SUBSCRIPTION_COLUMNS}"
                        ),
                        &[&app_id, id, active, &now],
                    )
                    .await?;
                    out.push(row.map(|r| webhooks::subscription(&Cols(&r))).transpose()?);
                }
                Ok(Finish::Commit(out))
            })
        })
        .await
    }

    async fn delete_subscription(&self, app_id: i64, id: i64) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let n = db::execute(
                    tx,
                    "DELETE FROM webhook_subscriptions WHERE app_id = $1 AND id = $2",
                    &[&app_id, &id],
                )
                .await?;
                Ok(Finish::Commit(n > 0))
            })
        })
        .await
    }

    async fn install_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<()> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let added = db::execute(
                    tx,
                    "INSERT INTO app_installs (app_id, portal_id, installed_at)
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                    &[&app_id, &portal.0, &now],
                )
                .await?;
                if added > 0 {
                    crate::journal::lifecycle_entries(tx, app_id, portal, now, Lifecycle::Install)
                        .await?;
                }
                Ok(Finish::Commit(()))
            })
        })
        .await
    }

    async fn uninstall_app(&self, app_id: i64, portal: PortalId, now: Millis) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let n = db::execute(
                    tx,
                    "DELETE FROM app_installs WHERE app_id = $1 AND portal_id = $2",
                    &[&app_id, &portal.0],
                )
                .await?;
                if n > 0 {
                    crate::journal::lifecycle_entries(
                        tx,
                        app_id,
                        portal,
                        now,
                        Lifecycle::Uninstall,
                    )
                    .await?;
                }
                Ok(Finish::Commit(n > 0))
            })
        })
        .await
    }

    async fn installed_apps(&self, portal: PortalId) -> StoreResult<Vec<i64>> {
        let client = self.client().await.map_err(into_store)?;
        db::query_ids(
            &client,
            "SELECT app_id FROM app_installs WHERE portal_id = $1 ORDER BY app_id",
            &[&portal.0],
        )
        .await
        .map_err(into_store)
    }

    async fn claim_events(
        &self,
        now: Millis,
        lease_until: Millis,
        limit: usize,
        force: bool,
    ) -> StoreResult<Vec<PendingEvent>> {
        // With `force`, every pending event is due.
        let due_by = if force { Millis::MAX } else { now };
        let limit = limit_of(limit);
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                // The claim walks webhook_events_due in its order and stops at the limit.
                // Without statistics (a new table; autovacuum off) the planner guesses few
                // pending rows and reads every entry of the index with a bitmap scan, then
                // sorts: the entries of every event delivered since the last vacuum (whose
                // rows are gone, but not their index entries), a heap page each, on every
                // claim. The ordered scan reads them once, marks them dead in the index,
                // and later claims step over them. Sequential scans are off too: the
                // connection keeps this statement prepared, and a generic plan made while
                // the table was small would read the whole table for the update's ids on
                // every claim from then on. Sent pipelined with the claim. The subselect
                // locked its rows after checking them on their newest version, so the
                // update names them by key alone: a `state` condition there would let the
                // planner look the ids up in webhook_events_due, every entry of it.
                let claim = format!(
                    "UPDATE webhook_events SET lease_until = $3
                     WHERE event_id = ANY(ARRAY(
                         SELECT event_id FROM webhook_events
                         WHERE state = '{PENDING}' AND next_attempt_at <= $1
                         AND (lease_until IS NULL OR lease_until <= $2)
                         ORDER BY next_attempt_at, event_id LIMIT $4
                         FOR UPDATE SKIP LOCKED))
                     RETURNING {PENDING_COLUMNS}"
                );
                let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                    [&due_by, &now, &lease_until, &limit];
                let (plan, rows) = tokio::join!(
                    biased;
                    db::execute(
                        tx,
                        "SELECT set_config('enable_bitmapscan', 'off', true),
                             set_config('enable_seqscan', 'off', true)",
                        &[]
                    ),
                    db::query(tx, &claim, &params)
                );
                plan?;
                let mut claimed = pending_rows(&rows?)?;
                claimed.sort_by_key(|e| e.event_id);
                Ok(Finish::Commit(claimed))
            })
        })
        .await
    }

    async fn finish_attempt(&self, attempt: DeliveryAttempt) -> StoreResult<i64> {
        self.write(TxMode::RECORDS, attempt, |tx, attempt| {
            Box::pin(finish_attempt_tx(tx, attempt))
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
        let client = self.client().await.map_err(into_store)?;
        let portal = portal.map(|p| p.0);
        async {
            let rows = db::query(
                &client,
                &format!(
                    "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts
                     WHERE ($1::BIGINT IS NULL OR app_id = $1)
                     AND ($2::BIGINT IS NULL OR portal_id = $2)
                     AND ($3::BIGINT IS NULL OR id < $3)
                     ORDER BY id DESC LIMIT $4"
                ),
                &[&app_id, &portal, &after, &limit_of(limit)],
            )
            .await?;
            rows.iter()
                .map(|r| webhooks::attempt_record(&Cols(r)))
                .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
    }

    async fn pending_events(
        &self,
        app_id: Option<i64>,
        limit: usize,
    ) -> StoreResult<(u64, Vec<PendingEvent>)> {
        let mut client = self.client().await.map_err(into_store)?;
        async {
            // The count and the page from one snapshot.
            let tx = client
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            let count: i64 = db::query_one(
                &tx,
                &format!(
                    "SELECT COUNT(*) FROM webhook_events
                     WHERE state = '{PENDING}' AND ($1::BIGINT IS NULL OR app_id = $1)"
                ),
                &[&app_id],
            )
            .await?
            .try_get(0)?;
            let rows = db::query(
                &tx,
                &format!(
                    "SELECT {PENDING_COLUMNS} FROM webhook_events
                     WHERE state = '{PENDING}' AND ($1::BIGINT IS NULL OR app_id = $1)
                     ORDER BY event_id LIMIT $2"
                ),
                &[&app_id, &limit_of(limit)],
            )
            .await?;
            tx.commit().await?;
            Ok::<_, Error>((u64::try_from(count).unwrap_or(0), pending_rows(&rows)?))
        }
        .await
        .map_err(into_store)
    }

    async fn next_due(&self) -> StoreResult<Option<Millis>> {
        let client = self.client().await.map_err(into_store)?;
        async {
            let row = db::query_one(&client, NEXT_DUE_SQL, &[]).await?;
            Ok::<_, Error>(row.try_get(0)?)
        }
        .await
        .map_err(into_store)
    }
}
