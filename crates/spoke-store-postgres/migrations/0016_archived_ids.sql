-- The ids of archived records, as SQLite's `0006_archived_ids.sql`. A link row is written
-- only between two live records of its types and records are never deleted, so a linked
-- record is live unless its id is here. Association pages and v4 batch reads ask that of
-- every link they return (1,000 questions per v4 batch read of 100 ids with 10 links
-- each): asked of the primary key, each question read a random heap page of `objects` to
-- see `archived_at`; this index is as small as the number of archived records and stays
-- in shared buffers.
CREATE INDEX objects_archived ON objects (id) WHERE archived_at IS NOT NULL;
