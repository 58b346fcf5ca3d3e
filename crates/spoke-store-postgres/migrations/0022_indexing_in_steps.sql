-- As SQLite's 0021_indexing_in_steps.sql: a listing names the part of its property it
-- indexes ('values' or 'words', spoke_store::value_index::Part), and its rows are made in
-- steps; the records with ids above pending_after may still lack rows, NULL when none does.
-- A property listed before had both parts, made whole.
ALTER TABLE search_indexed ADD COLUMN part TEXT NOT NULL DEFAULT 'values',
    ADD COLUMN pending_after BIGINT;
ALTER TABLE search_indexed ALTER COLUMN part DROP DEFAULT;
ALTER TABLE search_indexed DROP CONSTRAINT search_indexed_pkey,
    ADD PRIMARY KEY (portal_id, object_type, property, part);
INSERT INTO search_indexed (portal_id, object_type, property, part)
SELECT portal_id, object_type, property, 'words' FROM search_indexed;
