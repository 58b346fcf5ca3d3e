-- Write generations of (portal, object type): the validity of a search's cached total
-- (spoke_store::totals). Derived data, not a portal's: never deleted, never copied.
CREATE TABLE type_generations (
    portal_id    BIGINT NOT NULL,
    object_type  TEXT COLLATE "C" NOT NULL,
    shard        BIGINT NOT NULL,
    generation   BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type, shard)
);
-- Live records with the record columns connectors filter and sort by, so that their
-- searches count and skip their OFFSET from an index alone: Airbyte's (`lastmodifieddate`
-- window, `hs_object_id >= floor`, sorted by id) from the floor on; MeltanoLabs'
-- (`lastmodifieddate >= x`, sorted by it) from x on.
CREATE INDEX objects_live_by_id_updated ON objects (portal_id, object_type, id, updated_at)
    WHERE archived_at IS NULL;
CREATE INDEX objects_live_by_updated_id ON objects (portal_id, object_type, updated_at, id)
    WHERE archived_at IS NULL;
