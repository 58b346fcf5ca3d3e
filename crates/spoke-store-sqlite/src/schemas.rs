//! Custom object schemas and association definitions: the SQL of `spoke_store::schemas`.
//! Every write runs in one IMMEDIATE transaction on the one writer, so reading the largest
//! number or type id and inserting above it cannot race.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::{CustomSchema, PortalId};
use spoke_store::columns::{definition_json, GROUP_COLUMNS};
use spoke_store::schemas::{
    self, AssociationDefinition, CreatedSchema, NewDefinition, NewSchema, SchemaKey, SchemaRefusal,
    SchemaStore, SchemaUpdate, DEFINITION_COLUMNS, PURGED_BY_TYPE, SCHEMA_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::SqliteStore;

fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn parse(rows: Vec<schemas::StoredSchema>) -> rusqlite::Result<Vec<CustomSchema>> {
    schemas::into_schemas(rows).map_err(conversion)
}

/// Schemas of the portal not purged: live ones, and archived ones with `archived`.
fn portal_schemas(
    conn: &Connection,
    portal: PortalId,
    archived: bool,
) -> rusqlite::Result<Vec<CustomSchema>> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {SCHEMA_COLUMNS} FROM custom_object_schemas
             WHERE portal_id = ?1 AND purged_at IS NULL AND (?2 OR archived_at IS NULL)
             ORDER BY number"
        ))?
        .query_map(params![portal.0, archived], |r| {
            schemas::schema_row(&Cols(r))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    parse(rows)
}

fn lookup(
    conn: &Connection,
    portal: PortalId,
    key: SchemaKey<'_>,
    include_archived: bool,
) -> rusqlite::Result<Option<CustomSchema>> {
    let (condition, value): (&str, rusqlite::types::Value) = match key {
        SchemaKey::Number(n) => ("number = ?2", n.into()),
        SchemaKey::Name(name) => ("lower(name) = lower(?2)", name.to_owned().into()),
    };
    let row = conn
        .prepare_cached(&format!(
            "SELECT {SCHEMA_COLUMNS} FROM custom_object_schemas
             WHERE portal_id = ?1 AND {condition} AND purged_at IS NULL
             AND (?3 OR archived_at IS NULL)"
        ))?
        .query_row(params![portal.0, value, include_archived], |r| {
            schemas::schema_row(&Cols(r))
        })
        .optional()?;
    Ok(parse(row.into_iter().collect())?.pop())
}

fn insert_schema(conn: &Connection, s: &CustomSchema) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO custom_object_schemas ({SCHEMA_COLUMNS}, purged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, NULL, NULL)"
    ))?
    .execute(params![
        s.number,
        s.portal.0,
        s.name,
        s.singular_label,
        s.plural_label,
        s.description,
        s.primary_display_property,
        schemas::list_json(&s.secondary_display_properties),
        schemas::list_json(&s.searchable_properties),
        schemas::list_json(&s.required_properties),
        s.allows_sensitive_properties,
        s.restorable,
        s.created_at,
        s.updated_at,
        s.created_by_user_id,
        s.updated_by_user_id,
    ])?;
    Ok(())
}

/// The largest association type id any label or definition of the portal uses.
pub(crate) fn largest_type_id(
    conn: &Connection,
    portal: PortalId,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT MAX(m) FROM (
             SELECT MAX(type_id) AS m FROM association_labels WHERE portal_id = ?1
             UNION ALL SELECT MAX(type_id) FROM association_definitions WHERE portal_id = ?1)",
    )?
    .query_row(params![portal.0], |r| r.get(0))
}

fn insert_definitions(
    conn: &Connection,
    portal: PortalId,
    rows: &[AssociationDefinition],
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(&format!(
        "INSERT INTO association_definitions (portal_id, {DEFINITION_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?;
    for d in rows {
        insert.execute(params![
            portal.0,
            d.from_type,
            d.to_type,
            d.type_id,
            d.inverse_type_id,
            d.category,
            d.name,
            d.created_at,
            d.updated_at
        ])?;
    }
    Ok(())
}

fn definitions(
    conn: &Connection,
    portal: PortalId,
    from_type: &str,
    to_type: Option<&str>,
) -> rusqlite::Result<Vec<AssociationDefinition>> {
    conn.prepare_cached(&format!(
        "SELECT {DEFINITION_COLUMNS} FROM association_definitions
         WHERE portal_id = ?1 AND from_type = ?2 AND (?3 IS NULL OR to_type = ?3)
         ORDER BY type_id"
    ))?
    .query_map(params![portal.0, from_type, to_type], |r| {
        schemas::definition_row(&Cols(r))
    })?
    .collect()
}

fn live_records(conn: &Connection, portal: PortalId, object_type: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT COUNT(*) FROM objects WHERE portal_id = ?1 AND object_type = ?2
         AND archived_at IS NULL",
    )?
    .query_row(params![portal.0, object_type], |r| r.get(0))
}

fn create(
    conn: &mut Connection,
    new: &NewSchema,
) -> rusqlite::Result<Result<CreatedSchema, SchemaRefusal>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let portal = new.schema.portal;
    let existing = portal_schemas(&tx, portal, true)?;
    if let Some(refusal) = new.refusal(&existing) {
        return Ok(Err(refusal));
    }
    let largest: Option<i64> = tx.query_row(schemas::LARGEST_NUMBER_SQL, [], |r| r.get(0))?;
    let Some(number) = schemas::next_number(largest) else {
        return Ok(Err(SchemaRefusal::Exhausted));
    };
    let schema = new.numbered(number);
    let object_type = schema.object_type_id();
    insert_schema(&tx, &schema)?;
    let g = &new.group;
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO property_groups (portal_id, object_type, {GROUP_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![
        portal.0,
        object_type,
        g.name,
        g.label,
        g.display_order,
        g.archived
    ])?;
    for d in &new.properties {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO properties (portal_id, object_type, name, definition, archived)
             VALUES (?1, ?2, ?3, ?4, 0)",
        )?
        .execute(params![
            portal.0,
            object_type,
            d.name,
            definition_json(d).map_err(conversion)?
        ])?;
    }
    let largest = largest_type_id(&tx, portal)?;
    let Some(rows) = schemas::allocate(&object_type, &new.associations, largest, schema.created_at)
    else {
        return Ok(Err(SchemaRefusal::Exhausted));
    };
    insert_definitions(&tx, portal, &rows)?;
    tx.commit()?;
    let associations = rows
        .into_iter()
        .filter(|d| d.from_type == object_type)
        .collect();
    Ok(Ok(CreatedSchema {
        schema,
        associations,
    }))
}

fn update(conn: &mut Connection, u: &SchemaUpdate) -> rusqlite::Result<Option<CustomSchema>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(current) = lookup(&tx, u.portal, SchemaKey::Number(u.number), false)? else {
        return Ok(None);
    };
    let s = u.patch.apply(&current, u.now);
    tx.prepare_cached(
        "UPDATE custom_object_schemas SET singular_label = ?1, plural_label = ?2,
             description = ?3, primary_display_property = ?4,
             secondary_display_properties = ?5, searchable_properties = ?6,
             required_properties = ?7, allows_sensitive_properties = ?8, restorable = ?9,
             updated_at = ?10, updated_by_user_id = ?11
         WHERE number = ?12",
    )?
    .execute(params![
        s.singular_label,
        s.plural_label,
        s.description,
        s.primary_display_property,
        schemas::list_json(&s.secondary_display_properties),
        schemas::list_json(&s.searchable_properties),
        schemas::list_json(&s.required_properties),
        s.allows_sensitive_properties,
        s.restorable,
        s.updated_at,
        s.updated_by_user_id,
        s.number
    ])?;
    tx.commit()?;
    Ok(Some(s))
}

fn archive(
    conn: &mut Connection,
    portal: PortalId,
    number: i64,
    now: Millis,
) -> rusqlite::Result<Result<(), SchemaRefusal>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(s) = lookup(&tx, portal, SchemaKey::Number(number), false)? else {
        return Ok(Err(SchemaRefusal::NotFound));
    };
    let count = live_records(&tx, portal, &s.object_type_id())?;
    if count > 0 {
        return Ok(Err(SchemaRefusal::LiveRecords { count }));
    }
    tx.execute(
        "UPDATE custom_object_schemas SET archived_at = ?1, updated_at = ?1 WHERE number = ?2",
        params![now, number],
    )?;
    tx.commit()?;
    Ok(Ok(()))
}

fn purge(
    conn: &mut Connection,
    portal: PortalId,
    number: i64,
    now: Millis,
) -> rusqlite::Result<Result<(), SchemaRefusal>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some(s) = lookup(&tx, portal, SchemaKey::Number(number), true)? else {
        return Ok(Err(SchemaRefusal::NotFound));
    };
    let ty = s.object_type_id();
    let count = live_records(&tx, portal, &ty)?;
    if count > 0 {
        return Ok(Err(SchemaRefusal::LiveRecords { count }));
    }
    let p = portal.0;
    tx.execute(
        "DELETE FROM property_history WHERE object_id IN
             (SELECT id FROM objects WHERE portal_id = ?1 AND object_type = ?2)",
        params![p, ty],
    )?;
    for sql in [
        "DELETE FROM associations WHERE portal_id = ?1 AND (from_type = ?2 OR to_type = ?2)",
        "DELETE FROM association_labels WHERE portal_id = ?1 AND (from_type = ?2 OR to_type = ?2)",
        "DELETE FROM association_definitions WHERE portal_id = ?1 AND (from_type = ?2 OR to_type = ?2)",
        "DELETE FROM objects WHERE portal_id = ?1 AND object_type = ?2",
    ] {
        tx.execute(sql, params![p, ty])?;
    }
    for table in PURGED_BY_TYPE {
        tx.execute(
            &format!("DELETE FROM {table} WHERE portal_id = ?1 AND object_type = ?2"),
            params![p, ty],
        )?;
    }
    tx.execute(
        "UPDATE custom_object_schemas SET purged_at = ?1, archived_at = COALESCE(archived_at, ?1)
         WHERE number = ?2",
        params![now, number],
    )?;
    crate::totals::bump(&tx, portal, &ty)?;
    tx.commit()?;
    Ok(Ok(()))
}

fn create_definition(
    conn: &mut Connection,
    new: &NewDefinition,
) -> rusqlite::Result<Result<Vec<AssociationDefinition>, SchemaRefusal>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let existing = definitions(&tx, new.portal, &new.from_type, Some(&new.to_type))?;
    let largest = largest_type_id(&tx, new.portal)?;
    let rows = match new.rows(&existing, largest) {
        Ok(rows) => rows,
        Err(refusal) => return Ok(Err(refusal)),
    };
    insert_definitions(&tx, new.portal, &rows)?;
    tx.commit()?;
    Ok(Ok(rows))
}

fn remove_definition(
    conn: &mut Connection,
    portal: PortalId,
    from_type: &str,
    type_id: i64,
) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: Option<(String, i64, String)> = tx
        .query_row(
            "SELECT to_type, inverse_type_id, category FROM association_definitions
             WHERE portal_id = ?1 AND from_type = ?2 AND type_id = ?3",
            params![portal.0, from_type, type_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((to_type, inverse, category)) = found else {
        return Ok(false);
    };
    for (from, to, id) in [
        (from_type, to_type.as_str(), type_id),
        (&to_type, from_type, inverse),
    ] {
        tx.execute(
            "DELETE FROM association_definitions
             WHERE portal_id = ?1 AND from_type = ?2 AND to_type = ?3 AND type_id = ?4",
            params![portal.0, from, to, id],
        )?;
        tx.execute(
            "DELETE FROM associations WHERE portal_id = ?1 AND from_type = ?2
             AND to_type = ?3 AND category = ?4 AND type_id = ?5",
            params![portal.0, from, to, category, id],
        )?;
    }
    tx.commit()?;
    Ok(true)
}

#[async_trait]
impl SchemaStore for SqliteStore {
    async fn list_schemas(
        &self,
        portal: PortalId,
        archived: bool,
    ) -> StoreResult<Vec<CustomSchema>> {
        self.lookup(move |conn| {
            let all = portal_schemas(conn, portal, true)?;
            Ok(all.into_iter().filter(|s| s.archived == archived).collect())
        })
        .await
    }

    async fn lookup_schema(
        &self,
        portal: PortalId,
        key: SchemaKey<'_>,
        include_archived: bool,
    ) -> StoreResult<Option<CustomSchema>> {
        match key {
            SchemaKey::Number(n) => {
                self.lookup(move |conn| {
                    lookup(conn, portal, SchemaKey::Number(n), include_archived)
                })
                .await
            }
            SchemaKey::Name(name) => {
                let name = name.to_owned();
                self.lookup(move |conn| {
                    lookup(conn, portal, SchemaKey::Name(&name), include_archived)
                })
                .await
            }
        }
    }

    async fn create_schema(
        &self,
        new: NewSchema,
    ) -> StoreResult<Result<CreatedSchema, SchemaRefusal>> {
        self.write(move |conn| create(conn, &new)).await
    }

    async fn update_schema(&self, update: SchemaUpdate) -> StoreResult<Option<CustomSchema>> {
        self.write(move |conn| self::update(conn, &update)).await
    }

    async fn archive_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        self.write(move |conn| archive(conn, portal, number, now))
            .await
    }

    async fn purge_schema(
        &self,
        portal: PortalId,
        number: i64,
        now: Millis,
    ) -> StoreResult<Result<(), SchemaRefusal>> {
        self.write(move |conn| purge(conn, portal, number, now))
            .await
    }

    async fn list_definitions(
        &self,
        portal: PortalId,
        from_type: &str,
        to_type: Option<&str>,
    ) -> StoreResult<Vec<AssociationDefinition>> {
        let from_type = from_type.to_owned();
        let to_type = to_type.map(str::to_owned);
        self.lookup(move |conn| definitions(conn, portal, &from_type, to_type.as_deref()))
            .await
    }

    async fn create_definition(
        &self,
        new: NewDefinition,
    ) -> StoreResult<Result<Vec<AssociationDefinition>, SchemaRefusal>> {
        self.write(move |conn| create_definition(conn, &new)).await
    }

    async fn remove_definition(
        &self,
        portal: PortalId,
        from_type: &str,
        type_id: i64,
    ) -> StoreResult<bool> {
        let from_type = from_type.to_owned();
        self.write(move |conn| remove_definition(conn, portal, &from_type, type_id))
            .await
    }
}
