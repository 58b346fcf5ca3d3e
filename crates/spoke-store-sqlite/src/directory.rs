//! Users, owners, teams and roles: the SQL of `spoke_store::directory`, whose rules decide
//! every write.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::directory::{
    role_row, team_row, user_row, Directory, DirectoryRefusal, DirectoryStore, DirectoryUser,
    DirectoryWrite, LargestIds, Seed, ROLE_COLUMNS, TEAM_COLUMNS, USER_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::SqliteStore;

fn read(conn: &Connection, portal: PortalId) -> rusqlite::Result<Directory> {
    let users = conn
        .prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM directory_users WHERE portal_id = ?1 ORDER BY id"
        ))?
        .query_map([portal.0], |r| user_row(&Cols(r)))?
        .collect::<rusqlite::Result<_>>()?;
    let teams = conn
        .prepare_cached(&format!(
            "SELECT {TEAM_COLUMNS} FROM directory_teams WHERE portal_id = ?1 ORDER BY id"
        ))?
        .query_map([portal.0], |r| team_row(&Cols(r)))?
        .collect::<rusqlite::Result<_>>()?;
    let roles = conn
        .prepare_cached(&format!(
            "SELECT {ROLE_COLUMNS} FROM directory_roles WHERE portal_id = ?1 ORDER BY id"
        ))?
        .query_map([portal.0], |r| role_row(&Cols(r)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Directory {
        users,
        teams,
        roles,
    })
}

fn largest(conn: &Connection) -> rusqlite::Result<LargestIds> {
    let max = |sql: &str| -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached(sql)?.query_row([], |r| r.get(0))
    };
    // Snapshots hold ids too: a restore puts them back, so none is handed out again.
    Ok(LargestIds {
        user: max(
            "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM directory_users
                   UNION ALL SELECT MAX(id) FROM snapshot_directory_users)",
        )?,
        owner: max(
            "SELECT MAX(m) FROM (SELECT MAX(owner_id) AS m FROM directory_users
                    UNION ALL SELECT MAX(owner_id) FROM snapshot_directory_users)",
        )?,
        team: max(
            "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM directory_teams
                   UNION ALL SELECT MAX(id) FROM snapshot_directory_teams)",
        )?,
        role: max(
            "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM directory_roles
                   UNION ALL SELECT MAX(id) FROM snapshot_directory_roles)",
        )?,
    })
}

/// Inserts a new user row, or (`insert` false) updates the row of its id: its email, owner
/// id, portal and creation date never change.
fn put_user(conn: &Connection, u: &DirectoryUser, insert: bool) -> rusqlite::Result<()> {
    let sql = if insert {
        format!(
            "INSERT INTO directory_users ({USER_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        )
    } else {
        "UPDATE directory_users SET first_name = ?5, last_name = ?6, role_id = ?7,
             primary_team_id = ?8, secondary_team_ids = ?9, seat_names = ?10,
             super_admin = ?11, updated_at = ?13, removed_at = ?14
         WHERE id = ?1 AND portal_id = ?2 AND owner_id = ?3 AND email = ?4 AND created_at = ?12"
            .to_owned()
    };
    conn.prepare_cached(&sql)?.execute(params![
        u.id,
        u.portal.0,
        u.owner_id,
        u.email,
        u.first_name,
        u.last_name,
        u.role_id,
        u.primary_team_id,
        u.secondary_column(),
        u.seats_column(),
        u.super_admin,
        u.created_at,
        u.updated_at,
        u.removed_at,
    ])?;
    Ok(())
}

/// Writes a new portal's [`Seed`]; called by `ensure_portal` in the transaction that
/// inserted the portal row.
pub(crate) fn seed_portal(
    conn: &Connection,
    portal: PortalId,
    now: Millis,
) -> rusqlite::Result<()> {
    let seed = Seed::new(portal, now, largest(conn)?);
    for t in &seed.teams {
        conn.prepare_cached(
            "INSERT INTO directory_teams (id, portal_id, name) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![t.id, portal.0, t.name])?;
    }
    for r in &seed.roles {
        conn.prepare_cached(
            "INSERT INTO directory_roles (id, portal_id, name, requires_billing_write)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![r.id, portal.0, r.name, r.requires_billing_write])?;
    }
    put_user(conn, &seed.owner, true)
}

fn write(
    conn: &mut Connection,
    w: &DirectoryWrite,
) -> rusqlite::Result<Result<DirectoryUser, DirectoryRefusal>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let exists: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM portals WHERE id = ?1")?
        .query_row([w.portal.0], |r| r.get(0))
        .optional()?;
    let dir = if exists.is_some() {
        read(&tx, w.portal)?
    } else {
        Directory::default()
    };
    // Only a create takes new ids.
    let largest = if w.inserts() {
        largest(&tx)?
    } else {
        LargestIds::default()
    };
    let outcome = w.apply(&dir, largest);
    if let Ok(u) = &outcome {
        put_user(&tx, u, w.inserts())?;
        tx.commit()?;
    }
    Ok(outcome)
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn read_directory(&self, portal: PortalId) -> StoreResult<Directory> {
        self.read(move |conn| read(conn, portal)).await
    }

    async fn write_directory(
        &self,
        w: DirectoryWrite,
    ) -> StoreResult<Result<DirectoryUser, DirectoryRefusal>> {
        self.write(move |conn| write(conn, &w)).await
    }
}

#[cfg(test)]
mod tests {
    use spoke_store::directory::{owner_email, DEFAULT_TEAMS, FIRST_OWNER_ID, FIRST_USER_ID};

    use super::*;

    /// A database from before the directory: its migration gives every portal what a new
    /// one is seeded with, and new portals then take the ids after them.
    #[tokio::test]
    async fn the_migration_seeds_every_existing_portal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).expect("open");
            let before = crate::schema::MIGRATIONS
                .iter()
                .position(|m| m.contains("CREATE TABLE directory_users"))
                .expect("the directory migration");
            for sql in &crate::schema::MIGRATIONS[..before] {
                conn.execute_batch(sql).expect("an older migration");
            }
            conn.execute_batch(&format!(
                "PRAGMA user_version = {before};
                 INSERT INTO portals (id, created_at) VALUES (7, 1000), (3, 2000);"
            ))
            .expect("old portals");
        }
        let store = SqliteStore::open(&format!("sqlite://{}", path.display())).expect("migrate");
        let three = store.read_directory(PortalId(3)).await.expect("read");
        let seven = store.read_directory(PortalId(7)).await.expect("read");
        assert_eq!(three.users.len(), 1);
        let owner = &three.users[0];
        assert_eq!((owner.id, owner.owner_id), (FIRST_USER_ID, FIRST_OWNER_ID));
        assert_eq!(owner.email, owner_email(PortalId(3)));
        assert!(owner.super_admin);
        assert_eq!(owner.created_at, 2000);
        assert_eq!(seven.users[0].id, FIRST_USER_ID + 1);
        let names: Vec<&str> = seven.teams.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, DEFAULT_TEAMS);
        assert_eq!(seven.roles.len(), 2);

        use spoke_store::TokenStore;
        store
            .ensure_portal(PortalId(9), 3000)
            .await
            .expect("ensure");
        let nine = store.read_directory(PortalId(9)).await.expect("read");
        assert_eq!(nine.users[0].id, FIRST_USER_ID + 2);
        assert_eq!(nine.users[0].owner_id, FIRST_OWNER_ID + 2);
        assert!(nine.teams[0].id > seven.teams[1].id);
    }
}
