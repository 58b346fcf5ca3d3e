//! Portals, tokens, custom property definitions and property groups.
//!
//! Row shapes and definition rules come from `spoke_store::columns`. Definition writes that check before
//! they write run SERIALIZABLE (see the crate docs), so two processes creating the same
//! property at once get the same answers SQLite's single writer would give.

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

async fn insert_definitions_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    insert: &DefinitionInsert,
) -> Result<Finish<Option<Vec<bool>>>, Error> {
    let object_type = &insert.object_type;
    let mut fresh = Vec::with_capacity(insert.defs.len());
    for d in &insert.defs {
        let taken = db::query_opt(
            tx,
            "SELECT 1 FROM properties WHERE portal_id = $1 AND object_type = $2
             AND name = $3 AND NOT archived",
            &[&portal.0, object_type, &d.name],
        )
        .await?;
        fresh.push(taken.is_none());
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
    portal: PortalId,
    archive: &DefinitionArchive,
) -> Result<Finish<usize>, Error> {
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

async fn write_group_tx(
    tx: &Transaction<'_>,
    portal: PortalId,
    put: &GroupPut,
) -> Result<Finish<bool>, Error> {
    let (object_type, group) = (&put.object_type, &put.group);
    if put.only_new {
        let taken = db::query_opt(
            tx,
            "SELECT 1 FROM property_groups WHERE portal_id = $1 AND object_type = $2
             AND name = $3 AND NOT archived",
            &[&portal.0, object_type, &group.name],
        )
        .await?;
        if taken.is_some() {
            return Ok(Finish::Rollback(false));
        }
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
    /// The rows `sql` selects for one type of one portal (`$1`, `$2`), each read by `read`.
    async fn of_type<T>(
        &self,
        sql: &str,
        portal: PortalId,
        object_type: &str,
        read: fn(&tokio_postgres::Row) -> Result<T, Error>,
    ) -> StoreResult<Vec<T>> {
        async {
            let client = self.client().await?;
            db::query(&client, sql, &[&portal.0, &object_type])
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
        self.of_type(
            "SELECT definition FROM properties WHERE portal_id = $1 AND object_type = $2
             ORDER BY name",
            portal,
            object_type,
            |r| def_from_json(r.try_get(0)?),
        )
        .await
    }

    async fn insert_definitions(&self, insert: DefinitionInsert) -> StoreResult<Option<Vec<bool>>> {
        let portal = insert.portal;
        self.write(TxMode::DEFINITIONS, insert, move |tx, insert| {
            Box::pin(insert_definitions_tx(tx, portal, insert))
        })
        .await
    }

    async fn archive_definitions(&self, archive: DefinitionArchive) -> StoreResult<usize> {
        let portal = archive.portal;
        self.write(TxMode::DEFINITIONS, archive, move |tx, archive| {
            Box::pin(archive_definitions_tx(tx, portal, archive))
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
        self.of_type(&sql, portal, object_type, |r| columns::group(&Cols(r)))
            .await
    }

    async fn write_group(&self, put: GroupPut) -> StoreResult<bool> {
        let portal = put.portal;
        self.write(TxMode::DEFINITIONS, put, move |tx, put| {
            Box::pin(write_group_tx(tx, portal, put))
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
        async {
            let client = self.client().await?;
            db::execute(
                &client,
                "INSERT INTO portals (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&portal.0, &now],
            )
            .await?;
            Ok(())
        }
        .await
        .map_err(into_store)
    }

    async fn list_portals(&self) -> StoreResult<Vec<PortalId>> {
        async {
            let client = self.client().await?;
            db::query(&client, "SELECT id FROM portals ORDER BY id", &[])
                .await?
                .iter()
                .map(|r| Ok(PortalId(r.try_get(0)?)))
                .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
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
        async {
            let client = self.client().await?;
            db::query(
                &client,
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY id"),
                &[],
            )
            .await?
            .iter()
            .map(token_row)
            .collect::<Result<Vec<_>, Error>>()
        }
        .await
        .map_err(into_store)
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
