-- Lazy value index (spoke_store::value_index), as SQLite's `0020_lazy_value_index.sql`:
-- only properties a search has asked about are indexed, each listed here once its rows
-- are made. Writers lock this table ROW EXCLUSIVE before reading it; making a property's
-- rows locks it SHARE ROW EXCLUSIVE, so the two never interleave.
CREATE TABLE search_indexed (
    portal_id   BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property)
);
TRUNCATE search_text, search_numbers;
-- The words of a value of several (CONTAINS_TOKEN), keyed as search_text.
CREATE TABLE search_words (
    portal_id   BIGINT NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    object_id   BIGINT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
);
