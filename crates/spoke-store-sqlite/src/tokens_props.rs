//! Portals, tokens, custom property definitions and property groups.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::{PortalId, PropertyDefinition};
use spoke_store::columns::{self, Columns, GROUP_COLUMNS, TOKEN_COLUMNS};
use spoke_store::{PropertyGroup, PropertyStore, StoreResult, TokenRecord, TokenStore};

use crate::SqliteStore;

/// A rusqlite row as [`Columns`], for the records `spoke_store::columns` builds.
pub(crate) struct Cols<'a, 'b>(pub(crate) &'a rusqlite::Row<'b>);

impl Columns for Cols<'_, '_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.0.get(i)
    }
    fn int(&self, i: usize) -> rusqlite::Result<i64> {
        self.0.get(i)
    }
    fn int_or_null(&self, i: usize) -> rusqlite::Result<Option<i64>> {
        self.0.get(i)
    }
    fn int32(&self, i: usize) -> rusqlite::Result<i32> {
        self.0.get(i)
    }
    fn boolean(&self, i: usize) -> rusqlite::Result<bool> {
        self.0.get(i)
    }
}

fn def_from_json(s: String) -> rusqlite::Result<PropertyDefinition> {
    columns::definition_from_json(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn def_to_json(d: &PropertyDefinition) -> rusqlite::Result<String> {
    columns::definition_json(d).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Inserts definitions in one transaction: nothing if a name is taken by a live property
/// (per-item `false`), or if the type would then have more than `max_live` live ones (`None`).
fn insert_definitions(
    conn: &mut rusqlite::Connection,
    portal: PortalId,
    object_type: &str,
    defs: &[PropertyDefinition],
    max_live: usize,
) -> rusqlite::Result<Option<Vec<bool>>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut fresh = Vec::with_capacity(defs.len());
    for d in defs {
        let taken: Option<i64> = tx
            .prepare_cached(
                "SELECT 1 FROM properties WHERE portal_id = ?1 AND object_type = ?2
                 AND name = ?3 AND archived = 0",
            )?
            .query_row(params![portal.0, object_type, d.name], |r| r.get(0))
            .optional()?;
        fresh.push(taken.is_none());
    }
    if fresh.iter().any(|f| !f) {
        return Ok(Some(fresh));
    }
    let live: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM properties WHERE portal_id = ?1 AND object_type = ?2
             AND archived = 0",
        )?
        .query_row(params![portal.0, object_type], |r| r.get(0))?;
    if usize::try_from(live)
        .unwrap_or(usize::MAX)
        .saturating_add(defs.len())
        > max_live
    {
        return Ok(None);
    }
    for d in defs {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO properties (portal_id, object_type, name, definition, archived)
             VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![portal.0, object_type, d.name, def_to_json(d)?])?;
    }
    tx.commit()?;
    Ok(Some(fresh))
}

#[async_trait]
impl PropertyStore for SqliteStore {
    async fn list_properties(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyDefinition>> {
        let object_type = object_type.to_owned();
        self.lookup(move |conn| {
            conn.prepare_cached(
                "SELECT definition FROM properties WHERE portal_id = ?1 AND object_type = ?2 ORDER BY name",
            )?
            .query_map(params![portal.0, object_type], |r| def_from_json(r.get(0)?))?
            .collect()
        })
        .await
    }

    async fn insert_properties_bounded(
        &self,
        portal: PortalId,
        object_type: &str,
        defs: Vec<PropertyDefinition>,
        max_live: usize,
    ) -> StoreResult<Option<Vec<bool>>> {
        let object_type = object_type.to_owned();
        self.write(move |conn| insert_definitions(conn, portal, &object_type, &defs, max_live))
            .await
    }

    async fn archive_properties(
        &self,
        portal: PortalId,
        object_type: &str,
        names: Vec<String>,
        now: Millis,
        keep_archived: usize,
    ) -> StoreResult<usize> {
        let object_type = object_type.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut archived = 0;
            {
                let mut select = tx.prepare_cached(
                    "SELECT definition FROM properties WHERE portal_id = ?1 AND object_type = ?2
                     AND name = ?3 AND archived = 0",
                )?;
                let mut update = tx.prepare_cached(
                    "UPDATE properties SET definition = ?1, archived = 1
                     WHERE portal_id = ?2 AND object_type = ?3 AND name = ?4",
                )?;
                for name in &names {
                    let Some(json) = select
                        .query_row(params![portal.0, object_type, name], |r| r.get(0))
                        .optional()?
                    else {
                        continue;
                    };
                    let def = columns::archived_definition(def_from_json(json)?, now);
                    update.execute(params![def_to_json(&def)?, portal.0, object_type, name])?;
                    archived += 1;
                }
            }
            tx.prepare_cached(
                "DELETE FROM properties WHERE portal_id = ?1 AND object_type = ?2 AND archived = 1
                 AND name NOT IN (SELECT name FROM properties
                     WHERE portal_id = ?1 AND object_type = ?2 AND archived = 1
                     ORDER BY json_extract(definition, '$.archived_at') DESC, name DESC
                     LIMIT ?3)",
            )?
            .execute(params![
                portal.0,
                object_type,
                i64::try_from(keep_archived).unwrap_or(i64::MAX)
            ])?;
            tx.commit()?;
            Ok(archived)
        })
        .await
    }

    async fn update_property(
        &self,
        portal: PortalId,
        object_type: &str,
        def: PropertyDefinition,
    ) -> StoreResult<bool> {
        let object_type = object_type.to_owned();
        self.write(move |conn| {
            let n = conn
                .prepare_cached(
                    "UPDATE properties SET definition = ?1, archived = ?2
                     WHERE portal_id = ?3 AND object_type = ?4 AND name = ?5",
                )?
                .execute(params![
                    def_to_json(&def)?,
                    def.archived,
                    portal.0,
                    object_type,
                    def.name
                ])?;
            Ok(n > 0)
        })
        .await
    }

    async fn list_groups(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyGroup>> {
        let object_type = object_type.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {GROUP_COLUMNS} FROM property_groups
                 WHERE portal_id = ?1 AND object_type = ?2 ORDER BY name"
            ))?
            .query_map(params![portal.0, object_type], |r| columns::group(&Cols(r)))?
            .collect()
        })
        .await
    }

    async fn put_group(
        &self,
        portal: PortalId,
        object_type: &str,
        group: PropertyGroup,
        only_new: bool,
    ) -> StoreResult<bool> {
        let object_type = object_type.to_owned();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if only_new {
                let taken: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM property_groups WHERE portal_id = ?1 AND object_type = ?2
                         AND name = ?3 AND archived = 0",
                        params![portal.0, object_type, group.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                if taken.is_some() {
                    return Ok(false);
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO property_groups
                 (portal_id, object_type, name, label, display_order, archived)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    portal.0,
                    object_type,
                    group.name,
                    group.label,
                    group.display_order,
                    group.archived
                ],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    columns::token(&Cols(r))
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn ensure_portal(&self, portal: PortalId, now: Millis) -> StoreResult<()> {
        self.write(move |conn| {
            conn.execute(
                "INSERT OR IGNORE INTO portals (id, created_at) VALUES (?1, ?2)",
                params![portal.0, now],
            )
            .map(|_| ())
        })
        .await
    }

    async fn list_portals(&self) -> StoreResult<Vec<PortalId>> {
        self.read(|conn| {
            conn.prepare("SELECT id FROM portals ORDER BY id")?
                .query_map([], |r| Ok(PortalId(r.get(0)?)))?
                .collect()
        })
        .await
    }

    async fn create_token(
        &self,
        portal: PortalId,
        hash: &str,
        prefix: &str,
        scopes: &[String],
        now: Millis,
    ) -> StoreResult<TokenRecord> {
        let (hash, prefix) = (hash.to_owned(), prefix.to_owned());
        let scopes = columns::join_scopes(scopes);
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO tokens (portal_id, token_hash, prefix, scopes, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![portal.0, hash, prefix, scopes, now],
            )?;
            let id = conn.last_insert_rowid();
            conn.query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"),
                params![id],
                token_row,
            )
        })
        .await
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.lookup(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?1 AND revoked_at IS NULL"
            ))?
            .query_row(params![hash], token_row)
            .optional()
        })
        .await
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.read(|conn| {
            conn.prepare(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"))?
                .query_map([], token_row)?
                .collect()
        })
        .await
    }

    async fn revoke_token(&self, id: i64, now: Millis) -> StoreResult<bool> {
        self.write(move |conn| {
            conn.execute(
                "UPDATE tokens SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
                params![now, id],
            )
            .map(|n| n > 0)
        })
        .await
    }
}
