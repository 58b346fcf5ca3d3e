-- The ids of archived records. A link row is written only between two live records of its
-- types and records are never deleted, so a linked record is live unless its id is here.
-- Association pages and v4 batch reads ask that of every link they return: asked of
-- `objects_live` (every live record) each question read a random leaf of a large index,
-- mostly not in the page cache; this index is as small as the number of archived records.
CREATE INDEX objects_archived ON objects (id) WHERE archived_at IS NOT NULL;
