-- HubSpot's webhooks journal (spoke_store::journal): app tokens of the client-credentials
-- grant, an app's journal subscriptions and filters (the app's data, like its webhook
-- subscriptions), and the journal: one entry per app per write transaction, written in
-- that transaction, kept three days.

CREATE TABLE oauth_app_tokens (
    token_hash  TEXT PRIMARY KEY,
    app_id      INTEGER NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX oauth_app_tokens_app ON oauth_app_tokens (app_id, expires_at);

-- AUTOINCREMENT: a deleted subscription's id is never handed out again.
CREATE TABLE journal_subscriptions (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id                      INTEGER NOT NULL,
    subscription_type           TEXT NOT NULL,
    portal_id                   INTEGER,
    object_type_id              TEXT,
    event_type_id               TEXT,
    actions                     TEXT NOT NULL,
    properties                  TEXT NOT NULL,
    object_ids                  TEXT NOT NULL,
    associated_object_type_ids  TEXT NOT NULL,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL
);
CREATE INDEX journal_subscriptions_app ON journal_subscriptions (app_id, id);
-- Every write transaction looks its portal's journal listeners up through app_installs.
CREATE INDEX journal_subscriptions_portal ON journal_subscriptions (app_id, portal_id);

CREATE TABLE journal_filters (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id           INTEGER NOT NULL,
    subscription_id  INTEGER NOT NULL,
    conditions       TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX journal_filters_subscription ON journal_filters (subscription_id, id);

-- seq: the order readers follow (the single writer numbers entries in commit order).
CREATE TABLE journal_entries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    offset_id   TEXT NOT NULL UNIQUE,
    app_id      INTEGER NOT NULL,
    portal_id   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    file_key    TEXT NOT NULL,
    events      TEXT NOT NULL
);
CREATE INDEX journal_entries_app ON journal_entries (app_id, seq);
CREATE INDEX journal_entries_portal ON journal_entries (portal_id, app_id, seq);
-- Pruning: an app's expired entries of one portal, found without reading its live ones.
CREATE INDEX journal_entries_expiry ON journal_entries (app_id, portal_id, expires_at);
