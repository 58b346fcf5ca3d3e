-- Emulator controls (spoke_store::emulator): fault rules, and each portal's clock when it is
-- not real time. A rule's matcher and action are one JSON document (`spec`); its count is
-- spent here, by one conditional UPDATE per firing.

CREATE TABLE fault_rules (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    spec        TEXT NOT NULL,
    count       INTEGER,
    remaining   INTEGER,
    hits        INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

CREATE TABLE portal_clocks (
    portal_id   INTEGER PRIMARY KEY,
    mode        TEXT NOT NULL,
    frozen_at   INTEGER,
    offset_ms   INTEGER NOT NULL
);

{{SNAPSHOT_TABLE portal_clocks}}
