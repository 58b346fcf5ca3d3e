-- Write generations of (portal, object type): the validity of a search's cached total
-- (spoke_store::totals). Derived data, not a portal's: never deleted, never copied.
CREATE TABLE type_generations (
    portal_id    INTEGER NOT NULL,
    object_type  TEXT NOT NULL,
    shard        INTEGER NOT NULL,
    generation   INTEGER NOT NULL,
    PRIMARY KEY (portal_id, object_type, shard)
) WITHOUT ROWID;
-- Live records by id with their modified date: Airbyte's search (`lastmodifieddate` window,
-- `hs_object_id >= floor`, sorted by id) counts and skips its OFFSET from the index alone,
-- starting at the floor, instead of reading every record from the floor on.
CREATE INDEX objects_live_by_id_updated ON objects (portal_id, object_type, id, updated_at)
    WHERE archived_at IS NULL;
