-- App webhooks (spoke_store::webhooks): an app's settings and subscriptions, the portals
-- that installed it, and the outbox: events written in the same transaction as the change
-- that causes them, then delivered (and retried) by the server's worker.

CREATE TABLE webhook_settings (
    app_id                   INTEGER PRIMARY KEY,
    target_url               TEXT NOT NULL,
    max_concurrent_requests  INTEGER NOT NULL,
    period                   TEXT,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

-- AUTOINCREMENT: a deleted subscription's id is never handed out again, so an event of
-- the old one cannot be mistaken for the new one's.
CREATE TABLE webhook_subscriptions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          INTEGER NOT NULL,
    event_type      TEXT NOT NULL,
    object_type_id  TEXT,
    property_name   TEXT,
    active          INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX webhook_subscriptions_app ON webhook_subscriptions (app_id, id);

CREATE TABLE app_installs (
    app_id        INTEGER NOT NULL,
    portal_id     INTEGER NOT NULL,
    installed_at  INTEGER NOT NULL,
    PRIMARY KEY (app_id, portal_id)
) WITHOUT ROWID;
-- Every write transaction looks up its portal's installs: with none, one index probe.
CREATE INDEX app_installs_portal ON app_installs (portal_id, app_id);

-- state: 'pending', 'delivered' or 'failed'. finished_at: when it left 'pending' (pruning).
CREATE TABLE webhook_events (
    event_id           INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id             INTEGER NOT NULL,
    portal_id          INTEGER NOT NULL,
    subscription_id    INTEGER NOT NULL,
    subscription_type  TEXT NOT NULL,
    occurred_at        INTEGER NOT NULL,
    fields             TEXT NOT NULL,
    attempt_number     INTEGER NOT NULL,
    next_attempt_at    INTEGER NOT NULL,
    state              TEXT NOT NULL,
    lease_until        INTEGER,
    finished_at        INTEGER
);
CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at, event_id)
    WHERE state = 'pending';
CREATE INDEX webhook_events_app ON webhook_events (app_id, event_id);
CREATE INDEX webhook_events_portal ON webhook_events (portal_id);
CREATE INDEX webhook_events_finished ON webhook_events (finished_at)
    WHERE state <> 'pending';

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id          INTEGER NOT NULL,
    portal_id       INTEGER NOT NULL,
    target_url      TEXT NOT NULL,
    event_ids       TEXT NOT NULL,
    attempt_number  INTEGER NOT NULL,
    status          INTEGER,
    error           TEXT,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    next_attempt_at INTEGER
);
CREATE INDEX webhook_attempts_app ON webhook_attempts (app_id, id);
CREATE INDEX webhook_attempts_portal ON webhook_attempts (portal_id, id);
CREATE INDEX webhook_attempts_started ON webhook_attempts (started_at);
