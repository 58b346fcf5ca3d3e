//! Users, owners, teams and roles: the SQL of `spoke_store::directory`, whose rules decide
//! every write. Ids are the table's largest plus one, taken by one writer at a time
//! (`lock_new_ids`); a create that lost a race for an email to the partial unique index
//! runs again (`PostgresStore::write` retries unique violations).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use spoke_core::time::Millis;
use spoke_core::PortalId;
use spoke_store::directory::{
    role_row, team_row, user_row, Directory, DirectoryRefusal, DirectoryStore, DirectoryUser,
    DirectoryWrite, LargestIds, Seed, ROLE_COLUMNS, TEAM_COLUMNS, USER_COLUMNS,
};
use spoke_store::StoreResult;

use crate::tokens_props::Cols;
use crate::{db, into_store, Error, Finish, PostgresStore, TxMode};

async fn read<C: GenericClient>(c: &C, portal: PortalId) -> Result<Directory, Error> {
    let users = db::query(
        c,
        &format!("SELECT {USER_COLUMNS} FROM directory_users WHERE portal_id = $1 ORDER BY id"),
        &[&portal.0],
    )
    .await?
    .iter()
    .map(|r| user_row(&Cols(r)))
    .collect::<Result<_, _>>()?;
    let teams = db::query(
        c,
        &format!("SELECT {TEAM_COLUMNS} FROM directory_teams WHERE portal_id = $1 ORDER BY id"),
        &[&portal.0],
    )
    .await?
    .iter()
    .map(|r| team_row(&Cols(r)))
    .collect::<Result<_, Error>>()?;
    let roles = db::query(
        c,
        &format!("SELECT {ROLE_COLUMNS} FROM directory_roles WHERE portal_id = $1 ORDER BY id"),
        &[&portal.0],
    )
    .await?
    .iter()
    .map(|r| role_row(&Cols(r)))
    .collect::<Result<_, Error>>()?;
    Ok(Directory {
        users,
        teams,
        roles,
    })
}

async fn largest<C: GenericClient>(c: &C) -> Result<LargestIds, Error> {
    let row = db::query_one(
        c,
        // Snapshots hold ids too: a restore puts them back, so none is handed out again.
        "SELECT GREATEST((SELECT MAX(id) FROM directory_users), (SELECT MAX(id) FROM snapshot_directory_users)),
                GREATEST((SELECT MAX(owner_id) FROM directory_users), (SELECT MAX(owner_id) FROM snapshot_directory_users)),
                GREATEST((SELECT MAX(id) FROM directory_teams), (SELECT MAX(id) FROM snapshot_directory_teams)),
                GREATEST((SELECT MAX(id) FROM directory_roles), (SELECT MAX(id) FROM snapshot_directory_roles))",
        &[],
    )
    .await?;
    Ok(LargestIds {
        user: row.try_get(0)?,
        owner: row.try_get(1)?,
        team: row.try_get(2)?,
        role: row.try_get(3)?,
    })
}

/// Inserts a new user row (a concurrent writer that took its id or email first makes this
/// fail with a unique violation, and the transaction runs again), or (`insert` false)
/// updates the row of its id: its email, owner id, portal and creation date never change.
async fn put_user<C: GenericClient>(c: &C, u: &DirectoryUser, insert: bool) -> Result<(), Error> {
    let sql = if insert {
        format!(
            "INSERT INTO directory_users ({USER_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
    } else {
        "UPDATE directory_users SET first_name = $5, last_name = $6, role_id = $7,
             primary_team_id = $8, secondary_team_ids = $9, seat_names = $10,
             super_admin = $11, updated_at = $13, removed_at = $14
         WHERE id = $1 AND portal_id = $2 AND owner_id = $3 AND email = $4 AND created_at = $12"
            .to_owned()
    };
    db::execute(
        c,
        &sql,
        &[
            &u.id,
            &u.portal.0,
            &u.owner_id,
            &u.email,
            &u.first_name,
            &u.last_name,
            &u.role_id,
            &u.primary_team_id,
            &u.secondary_column(),
            &u.seats_column(),
            &u.super_admin,
            &u.created_at,
            &u.updated_at,
            &u.removed_at,
        ],
    )
    .await?;
    Ok(())
}

/// Directory ids are the largest of their table plus one, across portals: writers that
/// take new ids (a new portal's seed, a new user) take them one at a time, until their
/// transaction ends, so that they never meet on a primary key. Retrying on such a collision
/// instead gives up under a burst of new portals (16 at once in the conformance suite).
/// Read committed: the largest ids read after the lock include the last holder's.
async fn lock_new_ids<C: GenericClient>(c: &C) -> Result<(), Error> {
    db::execute(
        c,
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.spoke_directory_ids'))",
        &[],
    )
    .await?;
    Ok(())
}

/// Writes a new portal's [`Seed`]; called by `ensure_portal` in the transaction that
/// inserted the portal row.
pub(crate) async fn seed_portal<C: GenericClient>(
    c: &C,
    portal: PortalId,
    now: Millis,
) -> Result<(), Error> {
    lock_new_ids(c).await?;
    let seed = Seed::new(portal, now, largest(c).await?);
    for t in &seed.teams {
        db::execute(
            c,
            "INSERT INTO directory_teams (id, portal_id, name) VALUES ($1, $2, $3)",
            &[&t.id, &portal.0, &t.name],
        )
        .await?;
    }
    for r in &seed.roles {
        db::execute(
            c,
            "INSERT INTO directory_roles (id, portal_id, name, requires_billing_write)
             VALUES ($1, $2, $3, $4)",
            &[&r.id, &portal.0, &r.name, &r.requires_billing_write],
        )
        .await?;
    }
    put_user(c, &seed.owner, true).await
}

async fn write_tx<C: GenericClient>(
    c: &C,
    w: &DirectoryWrite,
) -> Result<Finish<Result<DirectoryUser, DirectoryRefusal>>, Error> {
    // One directory write per portal at a time, so each reads what the last one wrote
    // (two PUTs of one user lose neither's fields). `NO KEY UPDATE` leaves the row to the
    // key-share locks that token inserts take on it.
    db::query_opt(
        c,
        "SELECT 1 FROM portals WHERE id = $1 FOR NO KEY UPDATE",
        &[&w.portal.0],
    )
    .await?;
    // Only a create takes new ids.
    let largest = if w.inserts() {
        lock_new_ids(c).await?;
        largest(c).await?
    } else {
        LargestIds::default()
    };
    let dir = read(c, w.portal).await?;
    let outcome = w.apply(&dir, largest);
    match &outcome {
        Ok(u) => {
            put_user(c, u, w.inserts()).await?;
            Ok(Finish::Commit(outcome))
        }
        Err(_) => Ok(Finish::Rollback(outcome)),
    }
}

#[async_trait]
impl DirectoryStore for PostgresStore {
    async fn read_directory(&self, portal: PortalId) -> StoreResult<Directory> {
        async {
            let client = self.client().await?;
            read(&client, portal).await
        }
        .await
        .map_err(into_store)
    }

    async fn write_directory(
        &self,
        w: DirectoryWrite,
    ) -> StoreResult<Result<DirectoryUser, DirectoryRefusal>> {
        self.write(TxMode::RECORDS, w, |tx, w| Box::pin(write_tx(tx, w)))
            .await
    }
}
