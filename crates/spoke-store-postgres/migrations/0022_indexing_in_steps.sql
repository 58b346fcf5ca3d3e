-- As SQLite's 0021_indexing_in_steps.sql: a property's rows are made in steps
-- (spoke_store::value_index::Indexing); the records with ids above pending_after may still
-- lack rows, NULL when none does. Properties listed before were made whole: NULL.
ALTER TABLE search_indexed ADD COLUMN pending_after BIGINT;
