//! OAuth apps and grants: the SQL of `spoke_store::oauth`.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use spoke_core::time::Millis;
use spoke_store::oauth::{
    self, AppLookup, AppRecord, CodeUse, GrantKind, GrantRecord, NewApp, OAuthStore, APP_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::SqliteStore;

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRecord> {
    oauth::app_row(&Cols(r))
}

fn grant_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRecord> {
    oauth::grant_row(&Cols(r))
}

fn find_grant(
    conn: &rusqlite::Connection,
    kind: GrantKind,
    hash: &str,
) -> rusqlite::Result<Option<GrantRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM {} WHERE {} = ?1",
        kind.columns(),
        kind.table(),
        kind.key()
    ))?
    .query_row(params![hash], grant_row)
    .optional()
}

#[async_trait]
impl OAuthStore for SqliteStore {
    async fn insert_app(&self, app: NewApp) -> StoreResult<AppRecord> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO oauth_apps (name, client_id, client_secret_hash, client_secret_sealed,
                     developer_api_key_hash, developer_api_key_sealed, redirect_uris, scopes,
                     optional_scopes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    app.name,
                    app.client_id,
                    app.client_secret_hash,
                    app.client_secret_sealed,
                    app.developer_api_key_hash,
                    app.developer_api_key_sealed,
                    app.redirect_uris_column(),
                    app.scopes_column(),
                    app.optional_scopes_column(),
                    app.created_at
                ],
            )?;
            let id = conn.last_insert_rowid();
            conn.query_row(
                &format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = ?1"),
                params![id],
                app_row,
            )
        })
        .await
    }

    async fn find_app(&self, lookup: AppLookup) -> StoreResult<Option<AppRecord>> {
        self.lookup(move |conn| {
            let (column, value): (&str, rusqlite::types::Value) = match lookup {
                AppLookup::Id(id) => ("id", id.into()),
                AppLookup::ClientId(c) => ("client_id", c.into()),
                AppLookup::ApiKeyHash(h) => ("developer_api_key_hash", h.into()),
            };
            conn.prepare_cached(&format!(
                "SELECT {APP_COLUMNS} FROM oauth_apps WHERE {column} = ?1"
            ))?
            .query_row(params![value], app_row)
            .optional()
        })
        .await
    }

    async fn list_apps(&self) -> StoreResult<Vec<AppRecord>> {
        self.read(|conn| {
            conn.prepare(&format!("SELECT {APP_COLUMNS} FROM oauth_apps ORDER BY id"))?
                .query_map([], app_row)?
                .collect()
        })
        .await
    }

    async fn delete_app(&self, id: i64) -> StoreResult<bool> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for kind in [GrantKind::Code, GrantKind::Refresh, GrantKind::Access] {
                tx.execute(
                    &format!("DELETE FROM {} WHERE app_id = ?1", kind.table()),
                    params![id],
                )?;
            }
            crate::webhooks::delete_app_rows(&tx, id)?;
            crate::journal::delete_app_rows(&tx, id)?;
            let deleted = tx.execute("DELETE FROM oauth_apps WHERE id = ?1", params![id])? > 0;
            tx.commit()?;
            Ok(deleted)
        })
        .await
    }

    async fn insert_grant(
        &self,
        kind: GrantKind,
        grant: GrantRecord,
        purge_before: Millis,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let scopes = grant.scopes_column();
            match kind {
                GrantKind::Code => tx.execute(
                    "INSERT INTO oauth_codes (code_hash, app_id, portal_id, scopes, created_at,
                         expires_at, redirect_uri, used_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        grant.hash,
                        grant.app_id,
                        grant.portal.0,
                        scopes,
                        grant.created_at,
                        grant.expires_at.unwrap_or(grant.created_at),
                        grant.redirect_uri.unwrap_or_default(),
                        grant.used_at
                    ],
                )?,
                GrantKind::Refresh => tx.execute(
                    "INSERT INTO oauth_refresh_tokens (token_hash, app_id, portal_id, scopes,
                         created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        grant.hash,
                        grant.app_id,
                        grant.portal.0,
                        scopes,
                        grant.created_at
                    ],
                )?,
                GrantKind::Access => {
                    tx.execute(
                        "DELETE FROM oauth_access_tokens WHERE portal_id = ?2 AND expires_at < ?1",
                        params![purge_before, grant.portal.0],
                    )?;
                    tx.execute(
                        "INSERT INTO oauth_access_tokens (token_hash, app_id, portal_id, scopes,
                             created_at, expires_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            grant.hash,
                            grant.app_id,
                            grant.portal.0,
                            scopes,
                            grant.created_at,
                            grant.expires_at.unwrap_or(grant.created_at)
                        ],
                    )?
                }
            };
            tx.commit()
        })
        .await
    }

    async fn find_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<Option<GrantRecord>> {
        let hash = hash.to_owned();
        self.lookup(move |conn| find_grant(conn, kind, &hash)).await
    }

    async fn delete_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<bool> {
        let hash = hash.to_owned();
        self.write(move |conn| {
            conn.execute(
                &format!("DELETE FROM {} WHERE {} = ?1", kind.table(), kind.key()),
                params![hash],
            )
            .map(|n| n > 0)
        })
        .await
    }

    async fn use_code(&self, hash: &str, now: Millis) -> StoreResult<CodeUse> {
        let hash = hash.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let outcome = match find_grant(&tx, GrantKind::Code, &hash)? {
                None => CodeUse::Unknown,
                Some(code) if code.used_at.is_some() => CodeUse::AlreadyUsed(code),
                Some(code) => {
                    tx.execute(
                        "UPDATE oauth_codes SET used_at = ?1 WHERE code_hash = ?2",
                        params![now, hash],
                    )?;
                    CodeUse::Fresh(code)
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }
}
