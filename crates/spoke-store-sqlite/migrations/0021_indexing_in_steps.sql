-- A property's rows are made in steps (spoke_store::value_index::Indexing): the records
-- with ids above pending_after may still lack rows; NULL when none does. A property listed
-- before this migration was made whole in one transaction, so it stays NULL.
ALTER TABLE search_indexed ADD COLUMN pending_after INTEGER;
