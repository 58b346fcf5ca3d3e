-- A listing names the part of its property it indexes (spoke_store::value_index::Part):
-- 'values' (search_text, search_numbers) or 'words' (search_words), each made on the first
-- search that needs it. Their rows are made in steps (value_index::Indexing): the records
-- with ids above pending_after may still lack rows; NULL when none does. A property listed
-- before this migration had both parts, made whole in one transaction.
CREATE TABLE search_indexed_parts (
    portal_id     INTEGER NOT NULL,
    object_type   TEXT NOT NULL,
    property      TEXT NOT NULL,
    part          TEXT NOT NULL,
    pending_after INTEGER,
    PRIMARY KEY (portal_id, object_type, property, part)
) WITHOUT ROWID;
INSERT INTO search_indexed_parts (portal_id, object_type, property, part)
SELECT portal_id, object_type, property, p.part FROM search_indexed,
    (SELECT 'values' AS part UNION ALL SELECT 'words') p;
DROP TABLE search_indexed;
ALTER TABLE search_indexed_parts RENAME TO search_indexed;
