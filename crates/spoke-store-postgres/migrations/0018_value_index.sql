-- The value index (spoke_store::value_index), as SQLite's `0018_value_index.sql`: every
-- stored property value keyed as search compares it. Text keys compare bytewise
-- (COLLATE "C"), as search compares folded text.
CREATE TABLE search_text (
    portal_id   BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    object_id   BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
);
CREATE TABLE search_numbers (
    portal_id   BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         DOUBLE PRECISION NOT NULL,
    object_id   BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
);
INSERT INTO search_text (portal_id, object_type, property, key, object_id)
SELECT o.portal_id, o.object_type, j.key, left(spoke_fold((j.value #>> '{}')), 200), o.id
FROM objects o, json_each(o.properties::json) j WHERE json_typeof(j.value) = 'string';
INSERT INTO search_numbers (portal_id, object_type, property, key, object_id)
SELECT portal_id, object_type, property, key, object_id FROM (
    SELECT o.portal_id, o.object_type, j.key AS property, spoke_number((j.value #>> '{}')) AS key, o.id AS object_id
    FROM objects o, json_each(o.properties::json) j WHERE json_typeof(j.value) = 'string'
    UNION
    SELECT o.portal_id, o.object_type, j.key, spoke_date((j.value #>> '{}'))::DOUBLE PRECISION, o.id
    FROM objects o, json_each(o.properties::json) j WHERE json_typeof(j.value) = 'string'
    UNION
    SELECT o.portal_id, o.object_type, j.key, spoke_instant((j.value #>> '{}'))::DOUBLE PRECISION, o.id
    FROM objects o, json_each(o.properties::json) j WHERE json_typeof(j.value) = 'string'
) r WHERE key IS NOT NULL AND key <> 0;
