//! A portal's directory: its users, the owner each user is, its teams and its roles
//! (HubSpot's settings users v3 and owners v3, hubspot-behavior-platform.md §20–§21).
//!
//! Owners are not stored apart: an owner is a column set of its user's row (its own id,
//! from a number space of its own), so creating a user creates its owner and removing a
//! user archives it, in the same row write. A portal's directory is small (HubSpot seats),
//! so a backend reads it whole ([`DirectoryStore::read_directory`]) and every rule —
//! lookups, filters, paging, what a write changes, which ids it takes — is decided here,
//! over what the backend read, inside the backend's one transaction
//! ([`DirectoryWrite::apply`]).

use async_trait::async_trait;
use spoke_core::time::Millis;
use spoke_core::PortalId;

use crate::StoreResult;

/// Ids are the table's largest plus one, from these bases, so user, owner, team and role
/// ids never look alike (HubSpot's owner `41629779` has user id `9586504`).
pub const FIRST_USER_ID: i64 = 1_000_001;
pub const FIRST_OWNER_ID: i64 = 40_000_001;
pub const FIRST_TEAM_ID: i64 = 360_001;
pub const FIRST_ROLE_ID: i64 = 100_001;

/// The teams every new portal starts with (teams are read-only in v3).
pub const DEFAULT_TEAMS: [&str; 2] = ["Sales Team", "Support Team"];
/// The roles every new portal starts with: (name, requiresBillingWrite).
pub const DEFAULT_ROLES: [(&str, bool); 2] = [("Sales User", false), ("Sales Admin", true)];

/// A user and the owner it is. Emails are stored lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub id: i64,
    pub portal: PortalId,
    pub owner_id: i64,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role_id: Option<i64>,
    pub primary_team_id: Option<i64>,
    pub secondary_team_ids: Vec<i64>,
    pub seat_names: Vec<String>,
    pub super_admin: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// When the user was removed: its owner is archived from then on.
    pub removed_at: Option<Millis>,
}

impl DirectoryUser {
    pub fn removed(&self) -> bool {
        self.removed_at.is_some()
    }

    /// `secondary_team_ids` as stored: space-separated ids.
    pub fn secondary_column(&self) -> String {
        let ids: Vec<String> = self.secondary_team_ids.iter().map(i64::to_string).collect();
        ids.join(" ")
    }

    /// `seat_names` as stored: a JSON array of strings.
    pub fn seats_column(&self) -> String {
        serde_json::Value::from(self.seat_names.clone()).to_string()
    }

    /// The two list columns back from their stored form; unreadable text reads as empty.
    pub fn parse_lists(secondary: &str, seats: &str) -> (Vec<i64>, Vec<String>) {
        let ids = secondary
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect();
        let seats = serde_json::from_str(seats).unwrap_or_default();
        (ids, seats)
    }
}

/// `directory_users` columns, as [`user_row`] reads them (and as inserts write them).
pub const USER_COLUMNS: &str = "id, portal_id, owner_id, email, first_name, last_name, role_id, \
     primary_team_id, secondary_team_ids, seat_names, super_admin, created_at, updated_at, \
     removed_at";

/// A user from the [`USER_COLUMNS`] of a row, in either backend.
pub fn user_row<C: crate::columns::Columns>(r: &C) -> Result<DirectoryUser, C::Error> {
    let (secondary_team_ids, seat_names) = DirectoryUser::parse_lists(&r.text(8)?, &r.text(9)?);
    Ok(DirectoryUser {
        id: r.int(0)?,
        portal: PortalId(r.int(1)?),
        owner_id: r.int(2)?,
        email: r.text(3)?,
        first_name: r.text_or_null(4)?,
        last_name: r.text_or_null(5)?,
        role_id: r.int_or_null(6)?,
        primary_team_id: r.int_or_null(7)?,
        secondary_team_ids,
        seat_names,
        super_admin: r.boolean(10)?,
        created_at: r.int(11)?,
        updated_at: r.int(12)?,
        removed_at: r.int_or_null(13)?,
    })
}

/// `directory_teams` columns after the portal, as [`team_row`] reads them.
pub const TEAM_COLUMNS: &str = "id, name";

pub fn team_row<C: crate::columns::Columns>(r: &C) -> Result<DirectoryTeam, C::Error> {
    Ok(DirectoryTeam {
        id: r.int(0)?,
        name: r.text(1)?,
    })
}

/// `directory_roles` columns after the portal, as [`role_row`] reads them.
pub const ROLE_COLUMNS: &str = "id, name, requires_billing_write";

pub fn role_row<C: crate::columns::Columns>(r: &C) -> Result<DirectoryRole, C::Error> {
    Ok(DirectoryRole {
        id: r.int(0)?,
        name: r.text(1)?,
        requires_billing_write: r.boolean(2)?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTeam {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRole {
    pub id: i64,
    pub name: String,
    pub requires_billing_write: bool,
}

/// Everything of one portal's directory, each list by ascending id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Removed users included (their owners are the archived ones).
    pub users: Vec<DirectoryUser>,
    pub teams: Vec<DirectoryTeam>,
    pub roles: Vec<DirectoryRole>,
}

/// How a request names a user (`idProperty=USER_ID|EMAIL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Id(i64),
    Email(String),
}

impl Directory {
    /// A live user by id or by email (case-insensitive).
    pub fn user(&self, key: &UserKey) -> Option<&DirectoryUser> {
        self.users
            .iter()
            .filter(|u| !u.removed())
            .find(|u| match key {
                UserKey::Id(id) => u.id == *id,
                UserKey::Email(e) => u.email == e.to_lowercase(),
            })
    }

    /// Live users with ids above `after`, at most `limit`, and whether more follow.
    pub fn user_page(&self, after: Option<i64>, limit: usize) -> (Vec<&DirectoryUser>, bool) {
        let live = self.users.iter().filter(|u| !u.removed());
        page(live, |u| u.id, after, limit)
    }

    /// Owners (users seen as owners), live or only archived ones, with the given email
    /// (case-insensitive) if any, ids above `after`, at most `limit`; and whether more follow.
    pub fn owner_page(
        &self,
        archived: bool,
        email: Option<&str>,
        after: Option<i64>,
        limit: usize,
    ) -> (Vec<&DirectoryUser>, bool) {
        let email = email.map(str::to_lowercase);
        let mut owners: Vec<&DirectoryUser> = self
            .users
            .iter()
            .filter(|u| u.removed() == archived)
            .filter(|u| email.as_ref().is_none_or(|e| &u.email == e))
            .collect();
        owners.sort_by_key(|u| u.owner_id);
        page(owners.into_iter(), |u| u.owner_id, after, limit)
    }

    /// One owner by its id, or by its user's id (`idProperty=userId`); archived ones only
    /// with `archived`.
    pub fn owner(&self, id: i64, by_user_id: bool, archived: bool) -> Option<&DirectoryUser> {
        self.users.iter().find(|u| {
            u.removed() == archived
                && if by_user_id {
                    u.id == id
                } else {
                    u.owner_id == id
                }
        })
    }

    pub fn team(&self, id: i64) -> Option<&DirectoryTeam> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// A team's live members: (primary member user ids, secondary member user ids).
    pub fn team_members(&self, id: i64) -> (Vec<i64>, Vec<i64>) {
        let live = || self.users.iter().filter(|u| !u.removed());
        let primary = live()
            .filter(|u| u.primary_team_id == Some(id))
            .map(|u| u.id)
            .collect();
        let secondary = live()
            .filter(|u| u.secondary_team_ids.contains(&id))
            .map(|u| u.id)
            .collect();
        (primary, secondary)
    }
}

fn page<'a, T: 'a>(
    items: impl Iterator<Item = &'a T>,
    key: impl Fn(&T) -> i64,
    after: Option<i64>,
    limit: usize,
) -> (Vec<&'a T>, bool) {
    let mut out: Vec<&T> = items
        .filter(|t| after.is_none_or(|a| key(t) > a))
        .take(limit.saturating_add(1))
        .collect();
    let more = out.len() > limit;
    out.truncate(limit);
    (out, more)
}

/// The fields a create or update sets. In an update `None` keeps the stored value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub role_id: Option<i64>,
    pub primary_team_id: Option<i64>,
    pub secondary_team_ids: Option<Vec<i64>>,
    pub seat_names: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    /// A new user (and its owner); the email must be valid already.
    Create {
        email: String,
        fields: UserFields,
    },
    Update {
        key: UserKey,
        fields: UserFields,
    },
    /// Removes the user and archives its owner.
    Remove {
        key: UserKey,
    },
}

/// One directory write, run by a backend in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryWrite {
    pub portal: PortalId,
    pub now: Millis,
    pub change: UserChange,
}

/// Why a directory write was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryRefusal {
    /// No live user has that id or email.
    NotFound,
    /// A live user of the portal already has this email.
    EmailTaken(String),
    UnknownTeam(i64),
    UnknownRole(i64),
}

/// The largest ids a table holds (over every portal): the next ones follow them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LargestIds {
    pub user: Option<i64>,
    pub owner: Option<i64>,
    pub team: Option<i64>,
    pub role: Option<i64>,
}

fn next(largest: Option<i64>, first: i64) -> i64 {
    largest.map_or(first, |l| l.max(first - 1).saturating_add(1))
}

impl DirectoryWrite {
    /// Whether the row [`apply`](Self::apply) returns is a new one, to insert (a plain
    /// insert: a concurrent writer that took the same id makes it fail, never overwrites);
    /// otherwise it replaces the stored row of its id.
    pub fn inserts(&self) -> bool {
        matches!(self.change, UserChange::Create { .. })
    }

    /// What the write makes of the portal's directory `dir` (read in the writing
    /// transaction): the user row to store, or why not.
    pub fn apply(
        &self,
        dir: &Directory,
        largest: LargestIds,
    ) -> Result<DirectoryUser, DirectoryRefusal> {
        match &self.change {
            UserChange::Create { email, fields } => {
                let email = email.to_lowercase();
                if dir.user(&UserKey::Email(email.clone())).is_some() {
                    return Err(DirectoryRefusal::EmailTaken(email));
                }
                check_refs(dir, fields)?;
                Ok(DirectoryUser {
                    id: next(largest.user, FIRST_USER_ID),
                    portal: self.portal,
                    owner_id: next(largest.owner, FIRST_OWNER_ID),
                    email,
                    first_name: fields.first_name.clone(),
                    last_name: fields.last_name.clone(),
                    role_id: fields.role_id,
                    primary_team_id: fields.primary_team_id,
                    secondary_team_ids: fields.secondary_team_ids.clone().unwrap_or_default(),
                    seat_names: fields.seat_names.clone().unwrap_or_default(),
                    super_admin: false,
                    created_at: self.now,
                    updated_at: self.now,
                    removed_at: None,
                })
            }
            UserChange::Update { key, fields } => {
                let mut user = dir.user(key).ok_or(DirectoryRefusal::NotFound)?.clone();
                check_refs(dir, fields)?;
                let f = fields.clone();
                user.first_name = f.first_name.or(user.first_name);
                user.last_name = f.last_name.or(user.last_name);
                user.role_id = f.role_id.or(user.role_id);
                user.primary_team_id = f.primary_team_id.or(user.primary_team_id);
                user.secondary_team_ids = f.secondary_team_ids.unwrap_or(user.secondary_team_ids);
                user.seat_names = f.seat_names.unwrap_or(user.seat_names);
                user.updated_at = self.now;
                Ok(user)
            }
            UserChange::Remove { key } => {
                let mut user = dir.user(key).ok_or(DirectoryRefusal::NotFound)?.clone();
                user.removed_at = Some(self.now);
                user.updated_at = self.now;
                Ok(user)
            }
        }
    }
}

/// Teams and the role a write names must exist in the portal.
fn check_refs(dir: &Directory, fields: &UserFields) -> Result<(), DirectoryRefusal> {
    if let Some(role) = fields.role_id {
        if !dir.roles.iter().any(|r| r.id == role) {
            return Err(DirectoryRefusal::UnknownRole(role));
        }
    }
    let teams = fields
        .primary_team_id
        .iter()
        .chain(fields.secondary_team_ids.iter().flatten());
    for &team in teams {
        if dir.team(team).is_none() {
            return Err(DirectoryRefusal::UnknownTeam(team));
        }
    }
    Ok(())
}

/// What a new portal starts with, written in the transaction that creates it: the default
/// teams and roles, and one user, the account's owner (a super admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    pub teams: Vec<DirectoryTeam>,
    pub roles: Vec<DirectoryRole>,
    pub owner: DirectoryUser,
}

/// The email of a portal's seeded owner user.
pub fn owner_email(portal: PortalId) -> String {
    format!("owner@portal{}.spoke.test", portal.0)
}

impl Seed {
    pub fn new(portal: PortalId, now: Millis, largest: LargestIds) -> Self {
        let first_team = next(largest.team, FIRST_TEAM_ID);
        let first_role = next(largest.role, FIRST_ROLE_ID);
        let teams = (0i64..)
            .zip(DEFAULT_TEAMS)
            .map(|(i, name)| DirectoryTeam {
                id: first_team.saturating_add(i),
                name: name.to_owned(),
            })
            .collect();
        let roles = (0i64..)
            .zip(DEFAULT_ROLES)
            .map(|(i, (name, billing))| DirectoryRole {
                id: first_role.saturating_add(i),
                name: name.to_owned(),
                requires_billing_write: billing,
            })
            .collect();
        let owner = DirectoryUser {
            id: next(largest.user, FIRST_USER_ID),
            portal,
            owner_id: next(largest.owner, FIRST_OWNER_ID),
            email: owner_email(portal),
            first_name: Some("Portal".to_owned()),
            last_name: Some("Owner".to_owned()),
            role_id: None,
            primary_team_id: None,
            secondary_team_ids: Vec::new(),
            seat_names: Vec::new(),
            super_admin: true,
            created_at: now,
            updated_at: now,
            removed_at: None,
        };
        Seed {
            teams,
            roles,
            owner,
        }
    }
}

/// Users, the owners they are, teams and roles. Every portal has a directory from the
/// transaction that creates it ([`crate::TokenStore::ensure_portal`] writes a [`Seed`]).
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// The portal's whole directory; empty for a portal that does not exist.
    async fn read_directory(&self, portal: PortalId) -> StoreResult<Directory>;

    /// In one transaction: reads the portal's directory and the largest ids, asks
    /// [`DirectoryWrite::apply`], and stores the user row it returns: inserted when
    /// [`DirectoryWrite::inserts`], else updating the row of its id.
    async fn write_directory(
        &self,
        write: DirectoryWrite,
    ) -> StoreResult<Result<DirectoryUser, DirectoryRefusal>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> Directory {
        let seed = Seed::new(PortalId(7), 1, LargestIds::default());
        Directory {
            users: vec![seed.owner],
            teams: seed.teams,
            roles: seed.roles,
        }
    }

    #[test]
    fn ids_start_at_their_bases_and_follow_the_largest() {
        let seed = Seed::new(PortalId(7), 1, LargestIds::default());
        assert_eq!(seed.owner.id, FIRST_USER_ID);
        assert_eq!(seed.owner.owner_id, FIRST_OWNER_ID);
        assert_eq!(seed.teams[1].id, FIRST_TEAM_ID + 1);
        let largest = LargestIds {
            user: Some(5),
            owner: Some(FIRST_OWNER_ID + 9),
            team: None,
            role: Some(FIRST_ROLE_ID + 4),
        };
        let seed = Seed::new(PortalId(7), 1, largest);
        assert_eq!(seed.owner.id, FIRST_USER_ID);
        assert_eq!(seed.owner.owner_id, FIRST_OWNER_ID + 10);
        assert_eq!(seed.roles[0].id, FIRST_ROLE_ID + 5);
    }

    #[test]
    fn create_refuses_a_taken_email_and_unknown_references() {
        let dir = seeded();
        let write = |email: &str, fields: UserFields| DirectoryWrite {
            portal: PortalId(7),
            now: 2,
            change: UserChange::Create {
                email: email.into(),
                fields,
            },
        };
        let taken = write(
            &owner_email(PortalId(7)).to_uppercase(),
            UserFields::default(),
        );
        assert!(matches!(
            taken.apply(&dir, LargestIds::default()),
            Err(DirectoryRefusal::EmailTaken(_))
        ));
        let team = UserFields {
            secondary_team_ids: Some(vec![1]),
            ..UserFields::default()
        };
        assert_eq!(
            write("a@b.test", team).apply(&dir, LargestIds::default()),
            Err(DirectoryRefusal::UnknownTeam(1))
        );
        let made = write("A@b.test", UserFields::default())
            .apply(&dir, LargestIds::default())
            .expect("a new email");
        assert_eq!(made.email, "a@b.test");
    }

    #[test]
    fn pages_follow_ids_and_say_whether_more_follow() {
        let mut dir = seeded();
        for i in 1..=3 {
            let mut u = dir.users[0].clone();
            u.id += i;
            u.owner_id += i;
            u.email = format!("{i}@x.test");
            u.removed_at = (i == 3).then_some(9);
            dir.users.push(u);
        }
        let (page, more) = dir.user_page(None, 2);
        assert_eq!(page.len(), 2);
        assert!(more);
        let (page, more) = dir.user_page(Some(page[1].id), 2);
        assert_eq!(page.len(), 1);
        assert!(!more);
        let (archived, _) = dir.owner_page(true, None, None, 10);
        assert_eq!(archived.len(), 1);
        let (found, _) = dir.owner_page(false, Some("2@X.TEST"), None, 10);
        assert_eq!(found.len(), 1);
    }
}
