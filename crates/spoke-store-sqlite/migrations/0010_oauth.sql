-- OAuth apps and their grants (spoke_store::oauth). Secrets are never stored in clear:
-- codes and tokens by their SHA-256, client secrets and developer API keys hashed (to
-- check them) and sealed under a key kept outside the database (spoke_store::sealed).
CREATE TABLE oauth_apps (
    id                        INTEGER PRIMARY KEY,
    name                      TEXT NOT NULL,
    client_id                 TEXT NOT NULL UNIQUE,
    client_secret_hash        TEXT NOT NULL,
    client_secret_sealed      TEXT NOT NULL,
    developer_api_key_hash    TEXT NOT NULL UNIQUE,
    developer_api_key_sealed  TEXT NOT NULL,
    redirect_uris             TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    optional_scopes           TEXT NOT NULL,
    created_at                INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash     TEXT PRIMARY KEY,
    app_id        INTEGER NOT NULL,
    portal_id     INTEGER NOT NULL,
    scopes        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    redirect_uri  TEXT NOT NULL,
    used_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX oauth_codes_app ON oauth_codes (app_id);

CREATE TABLE oauth_refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    app_id      INTEGER NOT NULL,
    portal_id   INTEGER NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_refresh_tokens_app ON oauth_refresh_tokens (app_id);

CREATE TABLE oauth_access_tokens (
    token_hash  TEXT PRIMARY KEY,
    app_id      INTEGER NOT NULL,
    portal_id   INTEGER NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX oauth_access_tokens_app ON oauth_access_tokens (app_id);
CREATE INDEX oauth_access_tokens_expiry ON oauth_access_tokens (expires_at);
