-- Every event row is written inside a record write's transaction, so each index on
-- webhook_events is a B-tree page more that every subscribed write dirties (issue 15: the
-- outbox cost single-record creates +24 %). Only the claim is on a hot path, and it has
-- webhook_events_due. The by-app and by-portal lookups (the admin API's pending list of one
-- app, deleting an app, clearing a reset or deleted portal) are rare and read a table that
-- pruning keeps to a few days: they scan it.
DROP INDEX IF EXISTS webhook_events_app;
DROP INDEX IF EXISTS webhook_events_portal;
