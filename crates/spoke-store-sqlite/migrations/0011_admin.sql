-- Emulator controls (spoke_store::admin): the admin token's hash, and named snapshots of a
-- portal with one mirror table per portal table.

CREATE TABLE admin_token (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE portal_snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id   INTEGER NOT NULL,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    records     INTEGER NOT NULL,
    UNIQUE (portal_id, name)
);

{{SNAPSHOT_TABLES}}
