//! Portals, tokens, custom property definitions and property groups.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::{PortalId, PropertyDefinition};
use spoke_store::columns::{self, Columns, GROUP_COLUMNS, TOKEN_COLUMNS};
use spoke_store::requests::{
    DefinitionArchive, DefinitionInsert, DefinitionReplace, GroupPut, NewToken,
};
use spoke_store::{PropertyGroup, PropertyStore, StoreResult, TokenRecord, TokenStore};

use crate::SqliteStore;

/// A rusqlite row as [`Columns`], for the records `spoke_store::columns` builds.
pub(crate) struct Cols<'a, 'b>(pub(crate) &'a rusqlite::Row<'b>);

impl Columns for Cols<'_, '_> {
    type Error = rusqlite::Error;
    fn text(&self, i: usize) -> rusqlite::Result<String> {
        self.0.get(i)
    }
    fn text_or_null(&self, i: usize) -> rusqlite::Result<Option<String>> {
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

/// Inserts definitions in one transaction, unless [`DefinitionInsert::refusal`] says no.
fn insert_definitions(
    conn: &mut rusqlite::Connection,
    portal: PortalId,
    insert: &DefinitionInsert,
) -> rusqlite::Result<Option<Vec<bool>>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let object_type = &insert.object_type;
    let mut fresh = Vec::with_capacity(insert.defs.len());
    for d in &insert.defs {
        let taken: Option<i64> = tx
            .prepare_cached(
                "SELECT 1 FROM properties WHERE portal_id = ?1 AND object_type = ?2
                 AND name = ?3 AND archived = 0",
            )?
            .query_row(params![portal.0, object_type, d.name], |r| r.get(0))
            .optional()?;
        fresh.push(taken.is_none());
    }
    let live: i64 = tx
        .prepare_cached(
            "SELECT COUNT(*) FROM properties WHERE portal_id = ?1 AND object_type = ?2
             AND archived = 0",
        )?
        .query_row(params![portal.0, object_type], |r| r.get(0))?;
    if let Some(refused) = insert.refusal(&fresh, usize::try_from(live).unwrap_or(usize::MAX)) {
        return Ok(refused);
    }
    for d in &insert.defs {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO properties (portal_id, object_type, name, definition, archived)
             VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![portal.0, object_type, d.name, def_to_json(d)?])?;
    }
    tx.commit()?;
    Ok(Some(fresh))
}

/// Archives the named live definitions, then prunes the oldest archived ones.
fn archive_definitions(
    conn: &mut rusqlite::Connection,
    portal: PortalId,
    archive: &DefinitionArchive,
) -> rusqlite::Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let object_type = &archive.object_type;
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
        for name in &archive.names {
            let Some(json) = select
                .query_row(params![portal.0, object_type, name], |r| r.get(0))
                .optional()?
            else {
                continue;
            };
            let def = archive.archived(def_from_json(json)?);
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
    .execute(params![portal.0, object_type, archive.keep_limit()])?;
    tx.commit()?;
    Ok(archived)
}

/// Writes a group unless `only_new` and a live one of its name exists.
fn write_group(
    conn: &mut rusqlite::Connection,
    portal: PortalId,
    put: &GroupPut,
) -> rusqlite::Result<bool> {
    let group = &put.group;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if put.only_new {
        let taken: Option<i64> = tx
            .query_row(
                "SELECT 1 FROM property_groups WHERE portal_id = ?1 AND object_type = ?2
                 AND name = ?3 AND archived = 0",
                params![portal.0, put.object_type, group.name],
                |r| r.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Ok(false);
        }
    }
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO property_groups (portal_id, object_type, {GROUP_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        ),
        params![
            portal.0,
            put.object_type,
            group.name,
            group.label,
            group.display_order,
            group.archived
        ],
    )?;
    tx.commit()?;
    Ok(true)
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

    async fn insert_definitions(&self, insert: DefinitionInsert) -> StoreResult<Option<Vec<bool>>> {
        let portal = insert.portal;
        self.write(move |conn| insert_definitions(conn, portal, &insert))
            .await
    }

    async fn archive_definitions(&self, archive: DefinitionArchive) -> StoreResult<usize> {
        let portal = archive.portal;
        self.write(move |conn| archive_definitions(conn, portal, &archive))
            .await
    }

    async fn replace_definition(&self, replace: DefinitionReplace) -> StoreResult<bool> {
        let portal = replace.portal;
        self.write(move |conn| {
            let def = &replace.def;
            let n = conn
                .prepare_cached(
                    "UPDATE properties SET definition = ?1, archived = ?2
                     WHERE portal_id = ?3 AND object_type = ?4 AND name = ?5",
                )?
                .execute(params![
                    def_to_json(def)?,
                    def.archived,
                    portal.0,
                    replace.object_type,
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
        let (object_type, sql) = (
            object_type.to_owned(),
            format!(
                "SELECT {GROUP_COLUMNS} FROM property_groups
                 WHERE portal_id = ?1 AND object_type = ?2 ORDER BY name"
            ),
        );
        self.read(move |conn| {
            conn.prepare_cached(&sql)?
                .query_map(params![portal.0, object_type], |r| columns::group(&Cols(r)))?
                .collect()
        })
        .await
    }

    async fn write_group(&self, put: GroupPut) -> StoreResult<bool> {
        let portal = put.portal;
        self.write(move |conn| write_group(conn, portal, &put))
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
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let created = tx.execute(
                "INSERT OR IGNORE INTO portals (id, created_at) VALUES (?1, ?2)",
                params![portal.0, now],
            )? == 1;
            // What a new portal starts with is written with it, never after.
            if created {
                crate::directory::seed_portal(&tx, portal, now)?;
                crate::pipelines::seed_portal(&tx, portal)?;
            }
            tx.commit()
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

    async fn insert_token(&self, token: NewToken) -> StoreResult<TokenRecord> {
        let portal = token.portal;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO tokens (portal_id, token_hash, prefix, scopes, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    portal.0,
                    token.hash,
                    token.prefix,
                    token.scopes_column(),
                    token.now
                ],
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
