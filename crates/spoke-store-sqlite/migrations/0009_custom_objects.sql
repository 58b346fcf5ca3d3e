-- Custom object schemas (spoke_store::schemas). A purged schema stays as a tombstone
-- (purged_at), so its number is never handed out again; its name is free once purged.
CREATE TABLE custom_object_schemas (
    number                         INTEGER PRIMARY KEY,
    portal_id                      INTEGER NOT NULL,
    name                           TEXT NOT NULL,
    singular_label                 TEXT NOT NULL,
    plural_label                   TEXT NOT NULL,
    description                    TEXT NOT NULL,
    primary_display_property       TEXT,
    secondary_display_properties   TEXT NOT NULL,
    searchable_properties          TEXT NOT NULL,
    required_properties            TEXT NOT NULL,
    allows_sensitive_properties    INTEGER NOT NULL,
    restorable                     INTEGER NOT NULL,
    created_at                     INTEGER NOT NULL,
    updated_at                     INTEGER NOT NULL,
    created_by_user_id             INTEGER,
    updated_by_user_id             INTEGER,
    archived_at                    INTEGER,
    purged_at                      INTEGER
);

-- One name per portal among schemas not purged, compared case-insensitively (names are
-- ASCII letters, digits and underscores).
CREATE UNIQUE INDEX custom_object_schemas_name
    ON custom_object_schemas (portal_id, lower(name)) WHERE purged_at IS NULL;

-- One direction of an association definition; a type associated with itself has one row
-- whose type id is its own inverse.
CREATE TABLE association_definitions (
    portal_id        INTEGER NOT NULL,
    from_type        TEXT NOT NULL,
    to_type          TEXT NOT NULL,
    type_id          INTEGER NOT NULL,
    inverse_type_id  INTEGER NOT NULL,
    category         TEXT NOT NULL,
    name             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (portal_id, from_type, to_type, type_id)
) WITHOUT ROWID;

-- Type ids are allocated per portal above the largest one in use.
CREATE INDEX association_definitions_type_id ON association_definitions (portal_id, type_id);
