-- The listener generation (issue 15): every record write reads who listens to its portal
-- (spoke_store::webhooks::LISTENERS_SQL). A store handle caches each portal's listeners
-- under this number and the write's own statement returns the listener rows only when the
-- number moved, so a write costs one primary-key read instead of the joins. Triggers raise
-- it in the transaction that changes any table the listeners are read from, whichever code
-- path (API, `spoke app`, a portal's reset, restore or deletion, an import) and whichever
-- process made the change.
CREATE TABLE listener_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  BIGINT NOT NULL
);
INSERT INTO listener_generation (id, generation) VALUES (1, 0);
-- Per statement: a statement that changes many rows raises it once. The row stays locked to
-- the changing transaction's end, so listener changes (rare, admin-paced) run one at a time.
CREATE FUNCTION spoke_listeners_changed() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    UPDATE listener_generation SET generation = generation + 1;
    RETURN NULL;
END
$body$;
CREATE TRIGGER app_installs_listeners AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON app_installs
    FOR EACH STATEMENT EXECUTE FUNCTION spoke_listeners_changed();
CREATE TRIGGER webhook_settings_listeners AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhook_settings
    FOR EACH STATEMENT EXECUTE FUNCTION spoke_listeners_changed();
CREATE TRIGGER webhook_subscriptions_listeners AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webhook_subscriptions
    FOR EACH STATEMENT EXECUTE FUNCTION spoke_listeners_changed();
CREATE TRIGGER journal_subscriptions_listeners AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON journal_subscriptions
    FOR EACH STATEMENT EXECUTE FUNCTION spoke_listeners_changed();
CREATE TRIGGER journal_filters_listeners AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON journal_filters
    FOR EACH STATEMENT EXECUTE FUNCTION spoke_listeners_changed();
