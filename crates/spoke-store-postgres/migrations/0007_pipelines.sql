-- Pipelines and their stages (spoke_store::pipelines), and their audit entries. Pipelines
-- and stages are archived, never deleted, so ids are never reused.
CREATE TABLE pipelines (
    portal_id      BIGINT NOT NULL,
    object_type    TEXT COLLATE "C" NOT NULL,
    id             TEXT COLLATE "C" NOT NULL,
    label          TEXT COLLATE "C" NOT NULL,
    display_order  INTEGER NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    archived_at    BIGINT,
    PRIMARY KEY (portal_id, object_type, id)
);

CREATE TABLE pipeline_stages (
    portal_id          BIGINT NOT NULL,
    object_type        TEXT COLLATE "C" NOT NULL,
    pipeline_id        TEXT COLLATE "C" NOT NULL,
    id                 TEXT COLLATE "C" NOT NULL,
    position           BIGINT NOT NULL,
    label              TEXT COLLATE "C" NOT NULL,
    display_order      INTEGER NOT NULL,
    metadata           TEXT NOT NULL,
    write_permissions  TEXT COLLATE "C" NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    archived_at        BIGINT,
    PRIMARY KEY (portal_id, object_type, pipeline_id, id)
);

CREATE TABLE pipeline_audits (
    portal_id    BIGINT NOT NULL,
    object_type  TEXT COLLATE "C" NOT NULL,
    pipeline_id  TEXT COLLATE "C" NOT NULL,
    stage_id     TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    action       TEXT COLLATE "C" NOT NULL,
    timestamp    BIGINT NOT NULL,
    snapshot     TEXT NOT NULL,
    PRIMARY KEY (portal_id, object_type, pipeline_id, stage_id, version)
);

-- Every existing portal gets the defaults a new portal gets (written once, in Rust).
{{SEED_DEFAULT_PIPELINES}}
