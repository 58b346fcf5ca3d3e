//! Portals, tokens, custom property definitions and property groups.
//!
//! Row shapes come from `spoke_store::columns` and the rules of each write from
//! `spoke_store::requests`; this module is their SQL. Definition writes that check before
//! they write run SERIALIZABLE (see the crate docs), so two processes creating the same
//! property at once get the same answers as one writer would.

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use spoke_core::time::Millis;
use spoke_core::{PortalId, PropertyDefinition};
use spoke_store::columns::{self, Columns, GROUP_COLUMNS, TOKEN_COLUMNS};
use spoke_store::requests::{
    DefinitionArchive, DefinitionInsert, DefinitionReplace, GroupPut, NewToken,
};
use spoke_store::{PropertyGroup, PropertyStore, StoreResult, TokenRecord, TokenStore};

use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// A tokio-postgres row as [`Columns`], for the records `spoke_store::columns` builds.
pub(crate) struct Cols<'a>(pub(crate) &'a tokio_postgres::Row);

impl Columns for Cols<'_> {
    type Error = Error;
    fn text(&self, i: usize) -> Result<String, Error> {
        Ok(self.0.try_get(i)?)
    }
    fn text_or_null(&self, i: usize) -> Result<Option<String>, Error> {
        Ok(self.0.try_get(i)?)
    }
    fn int(&self, i: usize) -> Result<i64, Error> {
        Ok(self.0.try_get(i)?)
    }
    fn int_or_null(&self, i: usize) -> Result<Option<i64>, Error> {
        Ok(self.0.try_get(i)?)
    }
    fn int32(&self, i: usize) -> Result<i32, Error> {
        Ok(self.0.try_get(i)?)
    }
    fn boolean(&self, i: usize) -> Result<bool, Error> {
        Ok(self.0.try_get(i)?)
    }
}

fn def_from_json(s: &str) -> Result<PropertyDefinition, Error> {
    columns::definition_from_json(s).map_err(|e| Error::Data(format!("property definition: {e}")))
}

fn def_to_json(d: &PropertyDefinition) -> Result<String, Error> {
    columns::definition_json(d).map_err(|e| Error::Data(e.to_string()))
}

/// Whether a live (not archived) row of `table` (`properties` or `property_groups`) of
/// this type has this name.
async fn live_named(
    tx: &Transaction<'_>,
    table: &str,
    portal: PortalId,
    object_type: &str,
    name: &str,
) -> Result<bool, Error> {
    let sql = format!(
        "SELECT 1 FROM {table} WHERE portal_id = $1 AND object_type = $2
         AND name = $3 AND NOT archived"
    );
    Ok(db::query_opt(tx, &sql, &[&portal.0, &object_type, &name])
        .await?
        .is_some())
}

async fn insert_definitions_tx(
    tx: &Transaction<'_>,
    insert: &DefinitionInsert,
) -> Result<Finish<Option<Vec<bool>>>, Error> {
    let portal = insert.portal;
    let object_type = &insert.object_type;
    let mut fresh = Vec::with_capacity(insert.defs.len());
    for d in &insert.defs {
        fresh.push(!live_named(tx, "properties", portal, object_type, &d.name).await?);
    }
    let live: i64 = db::query_one(
        tx,
        "SELECT COUNT(*) FROM properties WHERE portal_id = $1 AND object_type = $2
         AND NOT archived",
        &[&portal.0, object_type],
    )
    .await?
    .try_get(0)?;
    if let Some(refused) = insert.refusal(&fresh, usize::try_from(live).unwrap_or(usize::MAX)) {
        return Ok(Finish::Rollback(refused));
    }
    for d in &insert.defs {
        db::execute(
            tx,
            "INSERT INTO properties (portal_id, object_type, name, definition, archived)
             VALUES ($1, $2, $3, $4, FALSE)
             ON CONFLICT (portal_id, object_type, name)
             DO UPDATE SET definition = EXCLUDED.definition, archived = EXCLUDED.archived",
            &[&portal.0, object_type, &d.name, &def_to_json(d)?],
        )
        .await?;
    }
    Ok(Finish::Commit(Some(fresh)))
}

/// Reads every named live definition under a row lock, then writes them back archived with
/// one statement, so a batch of thousands is two round trips.
async fn archive_definitions_tx(
    tx: &Transaction<'_>,
    archive: &DefinitionArchive,
) -> Result<Finish<usize>, Error> {
    let portal = archive.portal;
    let (object_type, names) = (&archive.object_type, &archive.names);
    let rows = db::query(
        tx,
        "SELECT name, definition FROM properties WHERE portal_id = $1 AND object_type = $2
         AND name = ANY($3) AND NOT archived ORDER BY name FOR UPDATE",
        &[&portal.0, object_type, names],
    )
    .await?;
    let mut archived_names = Vec::with_capacity(rows.len());
    let mut definitions = Vec::with_capacity(rows.len());
    for r in &rows {
        let def = archive.archived(def_from_json(r.try_get(1)?)?);
        definitions.push(def_to_json(&def)?);
        archived_names.push(r.try_get::<_, String>(0)?);
    }
    if !archived_names.is_empty() {
        db::execute(
            tx,
            "UPDATE properties SET definition = u.definition, archived = TRUE
         FROM unnest($3::text[], $4::text[]) AS u(name, definition)
         WHERE properties.portal_id = $1 AND properties.object_type = $2
         AND properties.name = u.name",
            &[&portal.0, object_type, &archived_names, &definitions],
        )
        .await?;
    }
    // NULLS LAST and "C" collation: the same order as SQLite's.
    db::execute(
        tx,
        "DELETE FROM properties WHERE portal_id = $1 AND object_type = $2 AND archived
         AND name NOT IN (SELECT name FROM properties
             WHERE portal_id = $1 AND object_type = $2 AND archived
             ORDER BY (definition::json ->> 'archived_at')::bigint DESC NULLS LAST, name DESC
             LIMIT $3)",
        &[&portal.0, object_type, &archive.keep_limit()],
    )
    .await?;
    Ok(Finish::Commit(archived_names.len()))
}

async fn write_group_tx(tx: &Transaction<'_>, put: &GroupPut) -> Result<Finish<bool>, Error> {
    let portal = put.portal;
    let (object_type, group) = (&put.object_type, &put.group);
    if put.only_new && live_named(tx, "property_groups", portal, object_type, &group.name).await? {
        return Ok(Finish::Rollback(false));
    }
    db::execute(
        tx,
        &format!(
            "INSERT INTO property_groups (portal_id, object_type, {GROUP_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (portal_id, object_type, name) DO UPDATE SET label = EXCLUDED.label,
             display_order = EXCLUDED.display_order, archived = EXCLUDED.archived"
        ),
        &[
            &portal.0,
            object_type,
            &group.name,
            &group.label,
            &group.display_order,
            &group.archived,
        ],
    )
    .await?;
    Ok(Finish::Commit(true))
}

impl PostgresStore {
    /// Every row `sql` selects, each read by `read`.
    pub(crate) async fn read_all<T>(
        &self,
        sql: &str,
        params: db::Params<'_>,
        read: fn(&tokio_postgres::Row) -> Result<T, Error>,
    ) -> StoreResult<Vec<T>> {
        async {
            let client = self.client().await?;
            db::query(&client, sql, params)
                .await?
                .iter()
                .map(read)
                .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
    }
}

#[async_trait]
impl PropertyStore for PostgresStore {
    async fn list_properties(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyDefinition>> {
        self.read_all(
            "SELECT definition FROM properties WHERE portal_id = $1 AND object_type = $2
             ORDER BY name",
            &[&portal.0, &object_type],
            |r| def_from_json(r.try_get(0)?),
        )
        .await
    }

    async fn insert_definitions(&self, insert: DefinitionInsert) -> StoreResult<Option<Vec<bool>>> {
        self.write(TxMode::DEFINITIONS, insert, |tx, insert| {
            Box::pin(insert_definitions_tx(tx, insert))
        })
        .await
    }

    async fn archive_definitions(&self, archive: DefinitionArchive) -> StoreResult<usize> {
        self.write(TxMode::DEFINITIONS, archive, |tx, archive| {
            Box::pin(archive_definitions_tx(tx, archive))
        })
        .await
    }

    async fn replace_definition(&self, replace: DefinitionReplace) -> StoreResult<bool> {
        let portal = replace.portal;
        let def = &replace.def;
        async {
            let client = self.client().await?;
            let n = db::execute(
                &client,
                "UPDATE properties SET definition = $1, archived = $2
                 WHERE portal_id = $3 AND object_type = $4 AND name = $5",
                &[
                    &def_to_json(def)?,
                    &def.archived,
                    &portal.0,
                    &replace.object_type,
                    &def.name,
                ],
            )
            .await?;
            Ok(n > 0)
        }
        .await
        .map_err(into_store)
    }

    async fn list_groups(
        &self,
        portal: PortalId,
        object_type: &str,
    ) -> StoreResult<Vec<PropertyGroup>> {
        let sql = format!(
            "SELECT {GROUP_COLUMNS} FROM property_groups
             WHERE portal_id = $1 AND object_type = $2 ORDER BY name"
        );
        self.read_all(&sql, &[&portal.0, &object_type], |r| {
            columns::group(&Cols(r))
        })
        .await
    }

    async fn write_group(&self, put: GroupPut) -> StoreResult<bool> {
        self.write(TxMode::DEFINITIONS, put, |tx, put| {
            Box::pin(write_group_tx(tx, put))
        })
        .await
    }
}

fn token_row(r: &tokio_postgres::Row) -> Result<TokenRecord, Error> {
    columns::token(&Cols(r))
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn ensure_portal(&self, portal: PortalId, now: Millis) -> StoreResult<()> {
        self.write(TxMode::RECORDS, (), move |tx, ()| {
            Box::pin(async move {
                let created = db::execute(
                    tx,
                    "INSERT INTO portals (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&portal.0, &now],
                )
                .await?
                    == 1;
                // What a new portal starts with is written with it, never after.
                if created {
                    crate::directory::seed_portal(tx, portal, now).await?;
                    crate::pipelines::seed_portal(tx, portal).await?;
                }
                Ok(Finish::Commit(()))
            })
        })
        .await
    }

    async fn list_portals(&self) -> StoreResult<Vec<PortalId>> {
        self.read_all("SELECT id FROM portals ORDER BY id", &[], |r| {
            Ok(PortalId(r.try_get(0)?))
        })
        .await
    }

    async fn insert_token(&self, token: NewToken) -> StoreResult<TokenRecord> {
        let portal = token.portal;
        async {
            let client = self.client().await?;
            let row = db::query_one(
                &client,
                &format!(
                    "INSERT INTO tokens (portal_id, token_hash, prefix, scopes, created_at)
                     VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
                ),
                &[
                    &portal.0,
                    &token.hash,
                    &token.prefix,
                    &token.scopes_column(),
                    &token.now,
                ],
            )
            .await?;
            token_row(&row)
        }
        .await
        .map_err(into_store)
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        async {
            let client = self.client().await?;
            db::query_opt(
                &client,
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL"
                ),
                &[&hash],
            )
            .await?
            .map(|r| token_row(&r))
            .transpose()
        }
        .await
        .map_err(into_store)
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id");
        self.read_all(&sql, &[], token_row).await
    }

    async fn revoke_token(&self, id: i64, now: Millis) -> StoreResult<bool> {
        async {
            let client = self.client().await?;
            let n = db::execute(
                &client,
                "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                &[&now, &id],
            )
            .await?;
            Ok(n > 0)
        }
        .await
        .map_err(into_store)
    }
}
