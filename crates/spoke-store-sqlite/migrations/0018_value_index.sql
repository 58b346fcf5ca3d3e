-- The value index (spoke_store::value_index): every stored property value keyed as search
-- compares it, so a filter on any property probes an index instead of reading every
-- record of the type. Derived from `objects`: written by the record write that changes a
-- value, in its transaction; not a transfer table (copies and snapshots carry the records).
-- Each table is its own key (WITHOUT ROWID): one B-tree per row written.
CREATE TABLE search_text (
    portal_id   INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
) WITHOUT ROWID;
CREATE TABLE search_numbers (
    portal_id   INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         REAL NOT NULL,
    object_id   INTEGER NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
) WITHOUT ROWID;
-- Existing records, with the same rules (spoke_fold and friends are the core's functions).
INSERT INTO search_text (portal_id, object_type, property, key, object_id)
SELECT o.portal_id, o.object_type, j.key, substr(spoke_fold(j.value), 1, 200), o.id
FROM objects o, json_each(o.properties) j WHERE j.type = 'text';
INSERT INTO search_numbers (portal_id, object_type, property, key, object_id)
SELECT portal_id, object_type, property, key, object_id FROM (
    SELECT o.portal_id, o.object_type, j.key AS property, spoke_number(j.value) AS key, o.id AS object_id
    FROM objects o, json_each(o.properties) j WHERE j.type = 'text'
    UNION
    SELECT o.portal_id, o.object_type, j.key, CAST(spoke_date(j.value) AS REAL), o.id
    FROM objects o, json_each(o.properties) j WHERE j.type = 'text'
    UNION
    SELECT o.portal_id, o.object_type, j.key, CAST(spoke_instant(j.value) AS REAL), o.id
    FROM objects o, json_each(o.properties) j WHERE j.type = 'text'
) WHERE key IS NOT NULL AND key <> 0;
