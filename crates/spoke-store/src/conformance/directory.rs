//! Checks of [`crate::directory::DirectoryStore`]: a new portal's seeded directory, user
//! writes and their refusals, owners archived with their users, ids, and portals apart.

use spoke_core::PortalId;

use super::{Store, T0};
use crate::directory::{
    owner_email, DirectoryRefusal, DirectoryUser, DirectoryWrite, UserChange, UserFields, UserKey,
    DEFAULT_ROLES, DEFAULT_TEAMS,
};

async fn write(
    store: &dyn Store,
    portal: PortalId,
    now: i64,
    change: UserChange,
) -> Result<DirectoryUser, DirectoryRefusal> {
    store
        .write_directory(DirectoryWrite {
            portal,
            now,
            change,
        })
        .await
        .expect("write_directory failed")
}

fn create(email: &str, fields: UserFields) -> UserChange {
    UserChange::Create {
        email: email.to_owned(),
        fields,
    }
}

/// Check 101: the portal's creation writes its owner user, teams and roles, once.
pub(super) async fn a_new_portal_has_its_owner_teams_and_roles(
    store: &dyn Store,
    portal: PortalId,
) {
    let before = store.read_directory(portal).await.expect("read_directory");
    assert_eq!(before, Default::default(), "no portal, no directory");
    store
        .ensure_portal(portal, T0)
        .await
        .expect("ensure_portal");
    let dir = store.read_directory(portal).await.expect("read_directory");
    assert_eq!(dir.users.len(), 1, "one user: the account's owner");
    let owner = &dir.users[0];
    assert_eq!(owner.email, owner_email(portal));
    assert!(owner.super_admin && !owner.removed());
    assert_eq!((owner.created_at, owner.updated_at), (T0, T0));
    assert_ne!(owner.id, owner.owner_id, "owner ids are not user ids");
    let teams: Vec<&str> = dir.teams.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(teams, DEFAULT_TEAMS);
    let roles: Vec<(&str, bool)> = dir
        .roles
        .iter()
        .map(|r| (r.name.as_str(), r.requires_billing_write))
        .collect();
    assert_eq!(roles, DEFAULT_ROLES);

    store
        .ensure_portal(portal, T0 + 5)
        .await
        .expect("ensure_portal");
    let again = store.read_directory(portal).await.expect("read_directory");
    assert_eq!(again, dir, "ensuring an existing portal seeds nothing");
}

/// Check 102: users are created, updated and removed; refusals write nothing; another
/// portal neither sees them nor lends them its teams.
pub(super) async fn users_are_written_and_refused_per_portal(
    store: &dyn Store,
    portal: PortalId,
    other: PortalId,
) {
    for p in [portal, other] {
        store.ensure_portal(p, T0).await.expect("ensure_portal");
    }
    let dir = store.read_directory(portal).await.expect("read_directory");
    let theirs = store.read_directory(other).await.expect("read_directory");
    let (team, second) = (dir.teams[0].id, dir.teams[1].id);
    let role = dir.roles[0].id;

    let fields = UserFields {
        first_name: Some("Ada".into()),
        role_id: Some(role),
        primary_team_id: Some(team),
        secondary_team_ids: Some(vec![second]),
        seat_names: Some(vec!["sales".into()]),
        ..UserFields::default()
    };
    let ada = write(store, portal, T0 + 1, create("Ada@Example.com", fields))
        .await
        .expect("a new user");
    assert_eq!(ada.email, "ada@example.com", "emails are stored lowercased");
    assert!(!ada.super_admin);
    assert!(ada.id > dir.users[0].id && ada.owner_id > dir.users[0].owner_id);

    let refusals = [
        (
            create("ADA@example.com", UserFields::default()),
            DirectoryRefusal::EmailTaken("ada@example.com".into()),
        ),
        (
            create(
                "b@example.com",
                UserFields {
                    primary_team_id: Some(theirs.teams[0].id),
                    ..UserFields::default()
                },
            ),
            DirectoryRefusal::UnknownTeam(theirs.teams[0].id),
        ),
        (
            create(
                "b@example.com",
                UserFields {
                    role_id: Some(theirs.roles[0].id),
                    ..UserFields::default()
                },
            ),
            DirectoryRefusal::UnknownRole(theirs.roles[0].id),
        ),
        (
            UserChange::Remove {
                key: UserKey::Id(theirs.users[0].id),
            },
            DirectoryRefusal::NotFound,
        ),
    ];
    for (change, refusal) in refusals {
        assert_eq!(
            write(store, portal, T0 + 2, change.clone()).await,
            Err(refusal),
            "{change:?}"
        );
    }
    let after = store.read_directory(portal).await.expect("read_directory");
    assert_eq!(
        after.users,
        [dir.users[0].clone(), ada.clone()],
        "refusals wrote nothing"
    );

    let renamed = write(
        store,
        portal,
        T0 + 3,
        UserChange::Update {
            key: UserKey::Email("ADA@EXAMPLE.COM".into()),
            fields: UserFields {
                last_name: Some("Lovelace".into()),
                secondary_team_ids: Some(Vec::new()),
                ..UserFields::default()
            },
        },
    )
    .await
    .expect("an update by email");
    assert_eq!(
        renamed.first_name.as_deref(),
        Some("Ada"),
        "unnamed fields stay"
    );
    assert_eq!(renamed.last_name.as_deref(), Some("Lovelace"));
    assert!(renamed.secondary_team_ids.is_empty());
    assert_eq!((renamed.id, renamed.owner_id), (ada.id, ada.owner_id));
    assert_eq!((renamed.created_at, renamed.updated_at), (T0 + 1, T0 + 3));

    let removed = write(
        store,
        portal,
        T0 + 4,
        UserChange::Remove {
            key: UserKey::Id(ada.id),
        },
    )
    .await
    .expect("a removal");
    assert_eq!(removed.removed_at, Some(T0 + 4));
    let dir = store.read_directory(portal).await.expect("read_directory");
    assert_eq!(
        dir.users.len(),
        2,
        "a removed user's row stays: its owner is archived"
    );
    assert!(dir.user(&UserKey::Id(ada.id)).is_none());
    let (archived, _) = dir.owner_page(true, None, None, 10);
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0].owner_id, ada.owner_id);
    assert_eq!(
        write(
            store,
            portal,
            T0 + 5,
            UserChange::Remove {
                key: UserKey::Id(ada.id)
            }
        )
        .await,
        Err(DirectoryRefusal::NotFound),
        "a removed user is gone"
    );

    let again = write(
        store,
        portal,
        T0 + 6,
        create("ada@example.com", UserFields::default()),
    )
    .await
    .expect("a removed user's email is free again");
    assert!(
        again.id > ada.id && again.owner_id > ada.owner_id,
        "ids never repeat"
    );
    let same = write(
        store,
        other,
        T0 + 6,
        create("ada@example.com", UserFields::default()),
    )
    .await
    .expect("another portal may hold the same email");
    assert!(
        same.id > again.id,
        "user ids come from one sequence across portals"
    );
    let theirs = store.read_directory(other).await.expect("read_directory");
    assert_eq!(
        theirs.users.len(),
        2,
        "the other portal sees only its own users"
    );
}
