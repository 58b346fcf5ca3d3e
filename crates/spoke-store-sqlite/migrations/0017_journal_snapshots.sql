-- The webhooks journal's CRM snapshots (spoke_store::journal::take_snapshots): one status
-- per requested object, read by `GET /webhooks-journal/journal/2026-03/status/{statusId}`.
-- Cleared with the app and with the portal (reset, restore, delete) like journal_entries;
-- an app's statuses older than the journal's retention go when it takes new snapshots.
CREATE TABLE journal_snapshots (
    id            TEXT PRIMARY KEY,
    app_id        INTEGER NOT NULL,
    portal_id     INTEGER NOT NULL,
    status        TEXT NOT NULL,
    error_code    TEXT,
    message       TEXT,
    initiated_at  INTEGER NOT NULL,
    completed_at  INTEGER,
    offset_id     TEXT
);
CREATE INDEX journal_snapshots_app ON journal_snapshots (app_id, initiated_at);
CREATE INDEX journal_snapshots_portal ON journal_snapshots (portal_id);
