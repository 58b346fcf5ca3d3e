-- Issue 15: delivery must not slow the write path. A claim sets an event's lease_until,
-- which no index covers (not even a partial index's predicate), so the update can be HOT
-- (a new version on the same page, no index entries) if the page has room for it. Rows
-- packed at the default fillfactor (100) leave none, so every claim wrote a version
-- elsewhere and an entry in the primary key and in webhook_events_due, for every event.
-- Half a page free holds one lease version per row; a retry or a re-claim after an
-- expired lease finds room again once page pruning has removed the dead versions.
-- Pages already written keep their layout; new ones follow the setting.
ALTER TABLE webhook_events SET (fillfactor = 50);
