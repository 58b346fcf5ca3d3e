-- spoke schema v1. Every row belongs to a portal; a token never sees another portal's rows.

CREATE TABLE portals (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id   INTEGER NOT NULL REFERENCES portals(id),
    token_hash  TEXT NOT NULL UNIQUE,
    prefix      TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

-- Custom property definitions, stored as the core's JSON form of PropertyDefinition.
CREATE TABLE properties (
    portal_id    INTEGER NOT NULL,
    object_type  TEXT NOT NULL,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    archived     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (portal_id, object_type, name)
) WITHOUT ROWID;

CREATE TABLE property_groups (
    portal_id      INTEGER NOT NULL,
    object_type    TEXT NOT NULL,
    name           TEXT NOT NULL,
    label          TEXT NOT NULL,
    display_order  INTEGER NOT NULL,
    archived       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (portal_id, object_type, name)
) WITHOUT ROWID;

-- Current values as one JSON object per record; ids are global so they never repeat.
CREATE TABLE objects (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    portal_id    INTEGER NOT NULL,
    object_type  TEXT NOT NULL,
    properties   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    archived_at  INTEGER
);
CREATE INDEX objects_by_type ON objects (portal_id, object_type, id);

-- One row per property write; `version` is the record's write counter, so newest first
-- is a descending key scan. Clustered on its key (WITHOUT ROWID): no separate index.
CREATE TABLE property_history (
    object_id    INTEGER NOT NULL,
    name         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    value        TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    source_type  TEXT NOT NULL,
    source_id    TEXT,
    PRIMARY KEY (object_id, name, version)
) WITHOUT ROWID;

-- Values of unique properties of live records; the primary key is the uniqueness guarantee.
CREATE TABLE unique_values (
    portal_id    INTEGER NOT NULL,
    object_type  TEXT NOT NULL,
    property     TEXT NOT NULL,
    value        TEXT NOT NULL,
    object_id    INTEGER NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, value)
) WITHOUT ROWID;
CREATE INDEX unique_values_by_object ON unique_values (object_id, property);
