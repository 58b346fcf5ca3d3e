//! OAuth apps and grants: the SQL of `spoke_store::oauth`. Using a code is one guarded
//! `UPDATE` (`used_at IS NULL`), so of two processes exchanging one code at once, the row
//! lock lets exactly one of them through.

use async_trait::async_trait;
use spoke_core::time::Millis;
use spoke_store::oauth::{
    self, AppLookup, AppRecord, CodeUse, GrantKind, GrantRecord, NewApp, OAuthStore, APP_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

fn app_row(r: &tokio_postgres::Row) -> Result<AppRecord, Error> {
    oauth::app_row(&Cols(r))
}

fn grant_row(r: &tokio_postgres::Row) -> Result<GrantRecord, Error> {
    oauth::grant_row(&Cols(r))
}

fn select_grant(kind: GrantKind) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} = $1",
        kind.columns(),
        kind.table(),
        kind.key()
    )
}

#[async_trait]
impl OAuthStore for PostgresStore {
    async fn insert_app(&self, app: NewApp) -> StoreResult<AppRecord> {
        async {
            let client = self.client().await?;
            let row = db::query_one(
                &client,
                &format!(
                    "INSERT INTO oauth_apps (name, client_id, client_secret_hash,
                         client_secret_sealed, developer_api_key_hash, developer_api_key_sealed,
                         redirect_uris, scopes, optional_scopes, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {APP_COLUMNS}"
                ),
                &[
                    &app.name,
                    &app.client_id,
                    &app.client_secret_hash,
                    &app.client_secret_sealed,
                    &app.developer_api_key_hash,
                    &app.developer_api_key_sealed,
                    &app.redirect_uris_column(),
                    &app.scopes_column(),
                    &app.optional_scopes_column(),
                    &app.created_at,
                ],
            )
            .await?;
            app_row(&row)
        }
        .await
        .map_err(into_store)
    }

    async fn find_app(&self, lookup: AppLookup) -> StoreResult<Option<AppRecord>> {
        async {
            let client = self.client().await?;
            let row = match &lookup {
                AppLookup::Id(id) => {
                    db::query_opt(
                        &client,
                        &format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = $1"),
                        &[id],
                    )
                    .await?
                }
                AppLookup::ClientId(value) | AppLookup::ApiKeyHash(value) => {
                    let column = match lookup {
                        AppLookup::ClientId(_) => "client_id",
                        _ => "developer_api_key_hash",
                    };
                    db::query_opt(
                        &client,
                        &format!("SELECT {APP_COLUMNS} FROM oauth_apps WHERE {column} = $1"),
                        &[value],
                    )
                    .await?
                }
            };
            row.map(|r| app_row(&r)).transpose()
        }
        .await
        .map_err(into_store)
    }

    async fn list_apps(&self) -> StoreResult<Vec<AppRecord>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM oauth_apps ORDER BY id");
        self.read_all(&sql, &[], app_row).await
    }

    async fn delete_app(&self, id: i64) -> StoreResult<bool> {
        self.write(TxMode::RECORDS, id, |tx, id| {
            Box::pin(async move {
                for kind in [GrantKind::Code, GrantKind::Refresh, GrantKind::Access] {
                    db::execute(
                        tx,
                        &format!("DELETE FROM {} WHERE app_id = $1", kind.table()),
                        &[id],
                    )
                    .await?;
                }
                crate::webhooks::delete_app_rows(tx, *id).await?;
                crate::journal::delete_app_rows(tx, *id).await?;
                let n = db::execute(tx, "DELETE FROM oauth_apps WHERE id = $1", &[id]).await?;
                Ok(Finish::Commit(n > 0))
            })
        })
        .await
    }

    async fn insert_grant(
        &self,
        kind: GrantKind,
        grant: GrantRecord,
        purge_before: Millis,
    ) -> StoreResult<()> {
        self.write(TxMode::RECORDS, (kind, grant, purge_before), |tx, data| {
            Box::pin(async move {
                let (kind, g, purge_before) = data;
                let scopes = g.scopes_column();
                let expires_at = g.expires_at.unwrap_or(g.created_at);
                match kind {
                    GrantKind::Code => {
                        let redirect = g.redirect_uri.clone().unwrap_or_default();
                        db::execute(
                            tx,
                            "INSERT INTO oauth_codes (code_hash, app_id, portal_id, scopes,
                                 created_at, expires_at, redirect_uri, used_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                            &[
                                &g.hash,
                                &g.app_id,
                                &g.portal.0,
                                &scopes,
                                &g.created_at,
                                &expires_at,
                                &redirect,
                                &g.used_at,
                            ],
                        )
                        .await?;
                    }
                    GrantKind::Refresh => {
                        db::execute(
                            tx,
                            "INSERT INTO oauth_refresh_tokens (token_hash, app_id, portal_id,
                                 scopes, created_at)
                             VALUES ($1, $2, $3, $4, $5)",
                            &[&g.hash, &g.app_id, &g.portal.0, &scopes, &g.created_at],
                        )
                        .await?;
                    }
                    GrantKind::Access => {
                        db::execute(
                            tx,
                            "DELETE FROM oauth_access_tokens WHERE portal_id = $2 AND expires_at < $1",
                            &[purge_before, &g.portal.0],
                        )
                        .await?;
                        db::execute(
                            tx,
                            "INSERT INTO oauth_access_tokens (token_hash, app_id, portal_id,
                                 scopes, created_at, expires_at)
                             VALUES ($1, $2, $3, $4, $5, $6)",
                            &[
                                &g.hash,
                                &g.app_id,
                                &g.portal.0,
                                &scopes,
                                &g.created_at,
                                &expires_at,
                            ],
                        )
                        .await?;
                    }
                }
                Ok(Finish::Commit(()))
            })
        })
        .await
    }

    async fn find_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<Option<GrantRecord>> {
        async {
            let client = self.client().await?;
            db::query_opt(&client, &select_grant(kind), &[&hash])
                .await?
                .map(|r| grant_row(&r))
                .transpose()
        }
        .await
        .map_err(into_store)
    }

    async fn delete_grant(&self, kind: GrantKind, hash: &str) -> StoreResult<bool> {
        async {
            let client = self.client().await?;
            let n = db::execute(
                &client,
                &format!("DELETE FROM {} WHERE {} = $1", kind.table(), kind.key()),
                &[&hash],
            )
            .await?;
            Ok(n > 0)
        }
        .await
        .map_err(into_store)
    }

    async fn use_code(&self, hash: &str, now: Millis) -> StoreResult<CodeUse> {
        self.write(TxMode::RECORDS, (hash.to_owned(), now), |tx, data| {
            Box::pin(async move {
                let (hash, now) = data;
                // The old row, as the update found it: `used_at` is still NULL in it.
                let fresh = db::query_opt(
                    tx,
                    &format!(
                        "UPDATE oauth_codes SET used_at = $2 WHERE code_hash = $1
                         AND used_at IS NULL RETURNING {}",
                        GrantKind::Code.columns()
                    ),
                    &[hash, now],
                )
                .await?;
                if let Some(row) = fresh {
                    let mut code = grant_row(&row)?;
                    code.used_at = None;
                    return Ok(Finish::Commit(CodeUse::Fresh(code)));
                }
                let found = db::query_opt(tx, &select_grant(GrantKind::Code), &[hash]).await?;
                Ok(Finish::Commit(match found {
                    Some(row) => CodeUse::AlreadyUsed(grant_row(&row)?),
                    None => CodeUse::Unknown,
                }))
            })
        })
        .await
    }
}
