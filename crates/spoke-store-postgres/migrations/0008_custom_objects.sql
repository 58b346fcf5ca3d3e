-- Custom object schemas (spoke_store::schemas). A purged schema stays as a tombstone
-- (purged_at), so its number is never handed out again; its name is free once purged.
CREATE TABLE custom_object_schemas (
    number                         BIGINT PRIMARY KEY,
    portal_id                      BIGINT NOT NULL,
    name                           TEXT COLLATE "C" NOT NULL,
    singular_label                 TEXT COLLATE "C" NOT NULL,
    plural_label                   TEXT COLLATE "C" NOT NULL,
    description                    TEXT COLLATE "C" NOT NULL,
    primary_display_property       TEXT COLLATE "C",
    secondary_display_properties   TEXT NOT NULL,
    searchable_properties          TEXT NOT NULL,
    required_properties            TEXT NOT NULL,
    allows_sensitive_properties    BOOLEAN NOT NULL,
    restorable                     BOOLEAN NOT NULL,
    created_at                     BIGINT NOT NULL,
    updated_at                     BIGINT NOT NULL,
    created_by_user_id             BIGINT,
    updated_by_user_id             BIGINT,
    archived_at                    BIGINT,
    purged_at                      BIGINT
);

-- One name per portal among schemas not purged, compared case-insensitively (names are
-- ASCII letters, digits and underscores).
CREATE UNIQUE INDEX custom_object_schemas_name
    ON custom_object_schemas (portal_id, lower(name)) WHERE purged_at IS NULL;

-- One direction of an association definition; a type associated with itself has one row
-- whose type id is its own inverse.
CREATE TABLE association_definitions (
    portal_id        BIGINT NOT NULL,
    from_type        TEXT COLLATE "C" NOT NULL,
    to_type          TEXT COLLATE "C" NOT NULL,
    type_id          BIGINT NOT NULL,
    inverse_type_id  BIGINT NOT NULL,
    category         TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (portal_id, from_type, to_type, type_id)
);

-- Type ids are allocated per portal above the largest one in use.
CREATE INDEX association_definitions_type_id ON association_definitions (portal_id, type_id);
