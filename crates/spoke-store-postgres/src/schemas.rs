//! Custom object schemas and association definitions: the SQL of `spoke_store::schemas`.
//!
//! Schema numbers are installation-wide: every schema write first takes the schema lock of
//! the database schema (one advisory lock for every portal), so the largest number read
//! and the row inserted above it come from one writer at a time, whichever process it
//! runs in; the primary key on `number` would turn a missed lock into a retried conflict
//! rather than a duplicate. Definition writes then take their portal's label lock, which
//! label writes take too, so labels and definitions never allocate the same type id.

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Transaction};
use spoke_core::time::Millis;
use spoke_core::{CustomSchema, PortalId};
use spoke_store::columns::{definition_json, GROUP_COLUMNS};
use spoke_store::schemas::{
    self, AssociationDefinition, CreatedSchema, NewDefinition, NewSchema, SchemaKey, SchemaRefusal,
    SchemaStore, SchemaUpdate, DEFINITION_COLUMNS, PURGED_BY_TYPE, SCHEMA_COLUMNS,
};
use spoke_store::StoreResult;

use crate::associations::lock_labels;
use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

/// The schema lock's first key: "spks" in ASCII.
const SCHEMA_LOCK_CLASS: i32 = 0x7370_6b73;

async fn lock_schemas(tx: &Transaction<'_>) -> Result<(), Error> {
    db::execute(
        tx,
        "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
        &[&SCHEMA_LOCK_CLASS],
    )
    .await?;
    Ok(())
}

fn parse(rows: &[tokio_postgres::Row]) -> Result<Vec<CustomSchema>, Error> {
    let stored = rows
        .iter()
        .map(|r| schemas::schema_row(&Cols(r)))
        .collect::<Result<Vec<_>, Error>>()?;
    schemas::into_schemas(stored).map_err(|e| Error::Data(e.to_string()))
}

async fn portal_schemas<C: GenericClient>(
    c: &C,
    portal: PortalId,
    include_archived: bool,
) -> Result<Vec<CustomSchema>, Error> {
    let rows = db::query(
        c,
        &format!(
            "SELECT {SCHEMA_COLUMNS} FROM custom_object_schemas
             WHERE portal_id = $1 AND purged_at IS NULL AND ($2::BOOLEAN OR archived_at IS NULL)
             ORDER BY number"
        ),
        &[&portal.0, &include_archived],
    )
    .await?;
    parse(&rows)
}

async fn lookup<C: GenericClient>(
    c: &C,
    portal: PortalId,
    key: SchemaKey<'_>,
    include_archived: bool,
) -> Result<Option<CustomSchema>, Error> {
    let rows = match key {
        SchemaKey::Number(n) => {
            db::query(
                c,
                &format!(
                    "SELECT {SCHEMA_COLUMNS} FROM custom_object_schemas
                     WHERE number = $2 AND portal_id = $1 AND purged_at IS NULL
                     AND ($3::BOOLEAN OR archived_at IS NULL)"
                ),
                &[&portal.0, &n, &include_archived],
            )
            .await?
        }
        SchemaKey::Name(name) => {
            db::query(
                c,
                &format!(
                    "SELECT {SCHEMA_COLUMNS} FROM custom_object_schemas
                     WHERE portal_id = $1 AND lower(name) = lower($2) AND purged_at IS NULL
                     AND ($3::BOOLEAN OR archived_at IS NULL)"
                ),
                &[&portal.0, &name, &include_archived],
            )
            .await?
        }
    };
    Ok(parse(&rows)?.pop())
}

/// The largest association type id any label or definition of the portal uses.
pub(crate) async fn largest_type_id<C: GenericClient>(
    c: &C,
    portal: PortalId,
) -> Result<Option<i64>, Error> {
    Ok(db::query_one(
        c,
        "SELECT MAX(m) FROM (
             SELECT MAX(type_id) AS m FROM association_labels WHERE portal_id = $1
             UNION ALL SELECT MAX(type_id) FROM association_definitions WHERE portal_id = $1) t",
        &[&portal.0],
    )
    .await?
    .try_get(0)?)
}

async fn insert_definitions(
    tx: &Transaction<'_>,
    portal: PortalId,
    rows: &[AssociationDefinition],
) -> Result<(), Error> {
    for d in rows {
        db::execute(
            tx,
            &format!(
                "INSERT INTO association_definitions (portal_id, {DEFINITION_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &portal.0,
                &d.from_type,
                &d.to_type,
                &d.type_id,
                &d.inverse_type_id,
                &d.category,
                &d.name,
                &d.created_at,
                &d.updated_at,
            ],
        )
        .await?;
    }
    Ok(())
}

async fn definitions<C: GenericClient>(
    c: &C,
    portal: PortalId,
    from_type: &str,
    to_type: Option<&str>,
) -> Result<Vec<AssociationDefinition>, Error> {
    db::query(
        c,
        &format!(
            "SELECT {DEFINITION_COLUMNS} FROM association_definitions
             WHERE portal_id = $1 AND from_type = $2 AND ($3::TEXT IS NULL OR to_type = $3)
             ORDER BY type_id"
        ),
        &[&portal.0, &from_type, &to_type],
    )
    .await?
    .iter()
    .map(|r| schemas::definition_row(&Cols(r)))
    .collect()
}

async fn live_records(tx: &Transaction<'_>, portal: PortalId, ty: &str) -> Result<i64, Error> {
    Ok(db::query_one(
        tx,
        "SELECT COUNT(*)::BIGINT FROM objects WHERE portal_id = $1 AND object_type = $2
         AND archived_at IS NULL",
        &[&portal.0, &ty],
    )
    .await?
    .try_get(0)?)
}

async fn create_tx(
    tx: &Transaction<'_>,
    new: &NewSchema,
) -> Result<Finish<Result<CreatedSchema, SchemaRefusal>>, Error> {
    lock_schemas(tx).await?;
    let portal = new.schema.portal;
    lock_labels(tx, portal).await?;
    let existing = portal_schemas(tx, portal, true).await?;
    if let Some(refusal) = new.refusal(&existing) {
        return Ok(Finish::Rollback(Err(refusal)));
    }
    let largest: Option<i64> = db::query_one(tx, schemas::LARGEST_NUMBER_SQL, &[])
        .await?
        .try_get(0)?;
    let Some(number) = schemas::next_number(largest) else {
        return Ok(Finish::Rollback(Err(SchemaRefusal::Exhausted)));
    };
    let s = new.numbered(number);
    let ty = s.object_type_id();
    db::execute(
        tx,
        &format!(
            "INSERT INTO custom_object_schemas ({SCHEMA_COLUMNS}, purged_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, NULL)"
        ),
        &[
            &s.number,
            &s.portal.0,
            &s.name,
            &s.singular_label,
            &s.plural_label,
            &s.description,
            &s.primary_display_property,
            &schemas::list_json(&s.secondary_display_properties),
            &schemas::list_json(&s.searchable_properties),
            &schemas::list_json(&s.required_properties),
            &s.allows_sensitive_properties,
            &s.restorable,
            &s.created_at,
            &s.updated_at,
            &s.created_by_user_id,
            &s.updated_by_user_id,
        ],
    )
    .await?;
    let g = &new.group;
    db::execute(
        tx,
        &format!(
            "INSERT INTO property_groups (portal_id, object_type, {GROUP_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (portal_id, object_type, name) DO UPDATE SET label = excluded.label,
                 display_order = excluded.display_order, archived = excluded.archived"
        ),
        &[
            &portal.0,
            &ty,
            &g.name,
            &g.label,
            &g.display_order,
            &g.archived,
        ],
    )
    .await?;
    for d in &new.properties {
        let json = definition_json(d).map_err(|e| Error::Data(e.to_string()))?;
        db::execute(
            tx,
            "INSERT INTO properties (portal_id, object_type, name, definition, archived)
             VALUES ($1, $2, $3, $4, FALSE)
             ON CONFLICT (portal_id, object_type, name) DO UPDATE
                 SET definition = excluded.definition, archived = FALSE",
            &[&portal.0, &ty, &d.name, &json],
        )
        .await?;
    }
    let largest = largest_type_id(tx, portal).await?;
    let Some(rows) = schemas::allocate(&ty, &new.associations, largest, s.created_at) else {
        return Ok(Finish::Rollback(Err(SchemaRefusal::Exhausted)));
    };
    insert_definitions(tx, portal, &rows).await?;
    let associations = rows.into_iter().filter(|d| d.from_type == ty).collect();
    Ok(Finish::Commit(Ok(CreatedSchema {
        schema: s,
        associations,
    })))
}

async fn update_tx(
    tx: &Transaction<'_>,
    u: &SchemaUpdate,
) -> Result<Finish<Option<CustomSchema>>, Error> {
    lock_schemas(tx).await?;
    let Some(current) = lookup(tx, u.portal, SchemaKey::Number(u.number), false).await? else {
        return Ok(Finish::Rollback(None));
    };
    let s = u.patch.apply(&current, u.now);
    db::execute(
        tx,
        "UPDATE custom_object_schemas SET singular_label = $1, plural_label = $2,
             description = $3, primary_display_property = $4,
             secondary_display_properties = $5, searchable_properties = $6,
             required_properties = $7, allows_sensitive_properties = $8, restorable = $9,
             updated_at = $10, updated_by_user_id = $11
         WHERE number = $12",
        &[
            &s.singular_label,
            &s.plural_label,
            &s.description,
            &s.primary_display_property,
            &schemas::list_json(&s.secondary_display_properties),
            &schemas::list_json(&s.searchable_properties),
            &schemas::list_json(&s.required_properties),
            &s.allows_sensitive_properties,
            &s.restorable,
            &s.updated_at,
            &s.updated_by_user_id,
            &s.number,
        ],
    )
    .await?;
    Ok(Finish::Commit(Some(s)))
}

async fn archive_tx(
    tx: &Transaction<'_>,
    (portal, number, now): &(PortalId, i64, Millis),
) -> Result<Finish<Result<(), SchemaRefusal>>, Error> {
    lock_schemas(tx).await?;
    let Some(s) = lookup(tx, *portal, SchemaKey::Number(*number), false).await? else {
        return Ok(Finish::Rollback(Err(SchemaRefusal::NotFound)));
    };
    // A record created meanwhile by a request that resolved the type before this lock
    // commits either before this count (refusing the archive) or after the archive,
    // where it is an archived type's record as after any race with an archive.
    let count = live_records(tx, *portal, &s.object_type_id()).await?;
    if count > 0 {
        return Ok(Finish::Rollback(Err(SchemaRefusal::LiveRecords { count })));
    }
    db::execute(
        tx,
        "UPDATE custom_object_schemas SET archived_at = $1, updated_at = $1 WHERE number = $2",
        &[now, number],
    )
    .await?;
    Ok(Finish::Commit(Ok(())))
}

async fn purge_tx(
    tx: &Transaction<'_>,
    (portal, number, now): &(PortalId, i64, Millis),
) -> Result<Finish<Result<(), SchemaRefusal>>, Error> {
    lock_schemas(tx).await?;
    lock_labels(tx, *portal).await?;
    let Some(s) = lookup(tx, *portal, SchemaKey::Number(*number), true).await? else {
        return Ok(Finish::Rollback(Err(SchemaRefusal::NotFound)));
    };
    let ty = s.object_type_id();
    let count = live_records(tx, *portal, &ty).await?;
    if count > 0 {
        return Ok(Finish::Rollback(Err(SchemaRefusal::LiveRecords { count })));
    }
    let p = portal.0;
    db::execute(
        tx,
        "DELETE FROM property_history WHERE object_id IN
             (SELECT id FROM objects WHERE portal_id = $1 AND object_type = $2)",
        &[&p, &ty],
    )
    .await?;
    for sql in [
        "DELETE FROM associations WHERE portal_id = $1 AND (from_type = $2 OR to_type = $2)",
        "DELETE FROM association_labels WHERE portal_id = $1 AND (from_type = $2 OR to_type = $2)",
        "DELETE FROM association_definitions WHERE portal_id = $1 AND (from_type = $2 OR to_type = $2)",
        "DELETE FROM objects WHERE portal_id = $1 AND object_type = $2",
    ] {
        db::execute(tx, sql, &[&p, &ty]).await?;
    }
    for table in PURGED_BY_TYPE {
        db::execute(
            tx,
            &format!("DELETE FROM {table} WHERE portal_id = $1 AND object_type = $2"),
            &[&p, &ty],
        )
        .await?;
    }
    db::execute(
        tx,
        "UPDATE custom_object_schemas SET purged_at = $1, archived_at = COALESCE(archived_at, $1)
         WHERE number = $2",
        &[now, number],
    )
    .await?;
    crate::totals::bump(tx, *portal, &ty).await?;
    Ok(Finish::Commit(Ok(())))
}

async fn create_definition_tx(
    tx: &Transaction<'_>,
    new: &NewDefinition,
) -> Result<Finish<Result<Vec<AssociationDefinition>, SchemaRefusal>>, Error> {
    lock_labels(tx, new.portal).await?;
    let existing = definitions(tx, new.portal, &new.from_type, Some(&new.to_type)).await?;
    let largest = largest_type_id(tx, new.portal).await?;
    let rows = match new.rows(&existing, largest) {
        Ok(rows) => rows,
        Err(refusal) => return Ok(Finish::Rollback(Err(refusal))),
    };
    insert_definitions(tx, new.portal, &rows).await?;
    Ok(Finish::Commit(Ok(rows)))
}

async fn remove_definition_tx(
    tx: &Transaction<'_>,
    (portal, from_type, type_id): &(PortalId, String, i64),
) -> Result<Finish<bool>, Error> {
    lock_labels(tx, *portal).await?;
    let found = db::query_opt(
        tx,
        "SELECT to_type, inverse_type_id, category FROM association_definitions
         WHERE portal_id = $1 AND from_type = $2 AND type_id = $3",
        &[&portal.0, from_type, type_id],
    )
    .await?;
    let Some(row) = found else {
        return Ok(Finish::Rollback(false));
    };
    let (to_type, inverse, category): (String, i64, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    for (from, to, id) in [
        (from_type.as_str(), to_type.as_str(), *type_id),
        (to_type.as_str(), from_type.as_str(), inverse),
    ] {
        db::execute(
            tx,
            "DELETE FROM association_definitions
             WHERE portal_id = $1 AND from_type = $2 AND to_type = $3 AND type_id = $4",
            &[&portal.0, &from, &to, &id],
        )
        .await?;
        db::execute(
            tx,
            "DELETE FROM associations WHERE portal_id = $1 AND from_type = $2
             AND to_type = $3 AND category = $4 AND type_id = $5",
            &[&portal.0, &from, &to, &category, &id],
        )
        .await?;
    }
    Ok(Finish::Commit(true))
}

#[async_trait]
impl SchemaStore for PostgresStore {
    async fn list_schemas(
        &self,
        portal: PortalId,
        archived: bool,
    ) -> StoreResult<Vec<CustomSchema>> {
        async {
            let client = self.client().await?;
            let all = portal_schemas(&client, portal, true).await?;
            Ok(all.into_iter().filter(|s| s.archived == archived).collect())
        }
        .await
        .map_err(into_store)
    }

    async fn lookup_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
        include_archived: bool,
    ) -> StoreResult<Option<CustomSchema>> {
        async {
            let client = self.client().await?;
            lookup(&client, portal, key, include_archived).await
        }
        .await
        .map_err(into_store)
    }

    async fn create_schema(
        &self,
        new: NewSchema,
    ) -> StoreResult<Result<CreatedSchema, SchemaRefusal>> {
        self.write(TxMode::RECORDS, new, |tx, new| Box::pin(create_tx(tx, new)))
            .await
    }

    async fn update_schema(&self, update: SchemaUpdate) -> StoreResult<Option<CustomSchema>> {
        self.write(TxMode::RECORDS, update, |tx, u| Box::pin(update_tx(tx, u)))
            .await
    }

    async fn archive_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        self.write(TxMode::RECORDS, (portal, number, now), |tx, a| {
            Box::pin(archive_tx(tx, a))
        })
        .await
    }

    async fn purge_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        self.write(TxMode::RECORDS, (portal, number, now), |tx, a| {
            Box::pin(purge_tx(tx, a))
        })
        .await
    }

    async fn list_definitions(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: Option<&str>,
    ) -> StoreResult<Vec<AssociationDefinition>> {
        async {
            let client = self.client().await?;
            definitions(&client, portal, from_type, to_type).await
        }
        .await
        .map_err(into_store)
    }

    async fn create_definition(
        &self,
        new: NewDefinition,
    ) -> StoreResult<Result<Vec<AssociationDefinition>, SchemaRefusal>> {
        self.write(TxMode::RECORDS, new, |tx, new| {
            Box::pin(create_definition_tx(tx, new))
        })
        .await
    }

    async fn remove_definition(
        &self,
        portal: PortalId,
        from_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        let key = (portal, from_type.to_owned(), type_id);
        self.write(TxMode::RECORDS, key, |tx, k| {
            Box::pin(remove_definition_tx(tx, k))
        })
        .await
    }
}
