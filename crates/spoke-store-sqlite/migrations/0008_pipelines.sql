-- Pipelines and their stages (spoke_store::pipelines), and their audit entries. Pipelines
-- and stages are archived, never deleted, so ids are never reused.
CREATE TABLE pipelines (
    portal_id      INTEGER NOT NULL,
    object_type    TEXT NOT NULL,
    id             TEXT NOT NULL,
    label          TEXT NOT NULL,
    display_order  INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    archived_at    INTEGER,
    PRIMARY KEY (portal_id, object_type, id)
) WITHOUT ROWID;

CREATE TABLE pipeline_stages (
    portal_id          INTEGER NOT NULL,
    object_type        TEXT NOT NULL,
    pipeline_id        TEXT NOT NULL,
    id                 TEXT NOT NULL,
    position           INTEGER NOT NULL,
    label              TEXT NOT NULL,
    display_order      INTEGER NOT NULL,
    metadata           TEXT NOT NULL,
    write_permissions  TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    archived_at        INTEGER,
    PRIMARY KEY (portal_id, object_type, pipeline_id, id)
) WITHOUT ROWID;

CREATE TABLE pipeline_audits (
    portal_id    INTEGER NOT NULL,
    object_type  TEXT NOT NULL,
    pipeline_id  TEXT NOT NULL,
    stage_id     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    action       TEXT NOT NULL,
    timestamp    INTEGER NOT NULL,
    snapshot     TEXT NOT NULL,
    PRIMARY KEY (portal_id, object_type, pipeline_id, stage_id, version)
) WITHOUT ROWID;

-- Every existing portal gets the defaults a new portal gets (written once, in Rust).
{{SEED_DEFAULT_PIPELINES}}
