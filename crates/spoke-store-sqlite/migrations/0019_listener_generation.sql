-- The listener generation (issue 15): every record write reads who listens to its portal
-- (spoke_store::webhooks::LISTENERS_SQL). A store handle caches each portal's listeners
-- under this number and the write's own statement returns the listener rows only when the
-- number moved, so a write costs one primary-key read instead of the joins. Triggers raise
-- it in the transaction that changes any table the listeners are read from, whichever code
-- path (API, `spoke app`, a portal's reset, restore or deletion, an import) and whichever
-- process made the change.
CREATE TABLE listener_generation (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    generation  INTEGER NOT NULL
);
INSERT INTO listener_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER app_installs_listeners_insert AFTER INSERT ON app_installs
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER app_installs_listeners_update AFTER UPDATE ON app_installs
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER app_installs_listeners_delete AFTER DELETE ON app_installs
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_settings_listeners_insert AFTER INSERT ON webhook_settings
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_settings_listeners_update AFTER UPDATE ON webhook_settings
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_settings_listeners_delete AFTER DELETE ON webhook_settings
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_subscriptions_listeners_insert AFTER INSERT ON webhook_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_subscriptions_listeners_update AFTER UPDATE ON webhook_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER webhook_subscriptions_listeners_delete AFTER DELETE ON webhook_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_subscriptions_listeners_insert AFTER INSERT ON journal_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_subscriptions_listeners_update AFTER UPDATE ON journal_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_subscriptions_listeners_delete AFTER DELETE ON journal_subscriptions
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_filters_listeners_insert AFTER INSERT ON journal_filters
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_filters_listeners_update AFTER UPDATE ON journal_filters
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
CREATE TRIGGER journal_filters_listeners_delete AFTER DELETE ON journal_filters
BEGIN UPDATE listener_generation SET generation = generation + 1; END;
