-- Search counts live records only (`archived_at IS NULL`); a partial index on the modified
-- date lets `lastmodifieddate GT x` count from the index alone, without visiting each row
-- to check it is not archived (profiled: 78 ms -> 23 ms for 500k matches).
CREATE INDEX objects_live_by_updated ON objects (portal_id, object_type, updated_at)
    WHERE archived_at IS NULL;
