-- Search filters and sorts on the record columns (incremental sync by
-- hs_lastmodifieddate, oldest-first by createdate) run on these indexes.
CREATE INDEX objects_by_updated ON objects (portal_id, object_type, updated_at);
CREATE INDEX objects_by_created ON objects (portal_id, object_type, created_at);
