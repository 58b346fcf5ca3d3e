-- Lazy value index (spoke_store::value_index): only properties a search has asked about
-- are indexed, each listed here once its rows are made. The rows 0018 made for every
-- value are dropped: the first search of a property makes its rows again.
CREATE TABLE search_indexed (
    portal_id   INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    PRIMARY KEY (portal_id, object_type, property)
) WITHOUT ROWID;
DELETE FROM search_text;
DELETE FROM search_numbers;
-- The words of a value of several (CONTAINS_TOKEN), keyed as search_text.
CREATE TABLE search_words (
    portal_id   INTEGER NOT NULL,
    object_type TEXT NOT NULL,
    property    TEXT NOT NULL,
    key         TEXT NOT NULL,
    object_id   INTEGER NOT NULL,
    PRIMARY KEY (portal_id, object_type, property, key, object_id)
) WITHOUT ROWID;
