//! Migration 0006 on a database from before the directory: every existing portal gets what a
//! new one is seeded with (its owner user, two teams, two roles), and portals created later
//! take the ids after them.

mod common;

use spoke_core::PortalId;
use spoke_store::directory::{owner_email, DirectoryStore, FIRST_OWNER_ID, FIRST_USER_ID};
use spoke_store::TokenStore;

#[tokio::test]
async fn the_directory_migration_seeds_every_existing_portal() {
    common::with_db(|db| async move {
        drop(db.open().await);
        // Back to version 5: no directory tables (nor the pipelines of version 7 and the
        // custom object schemas of version 8 and the OAuth tables of version 9, which come after), two portals.
        let admin = db.admin().await;
        // And none of the admin and webhooks migrations' tables, which come later still.
        let mirrors: Vec<String> = spoke_store::admin::portal_tables()
            .map(spoke_store::admin::snapshot_table)
            .collect();
        admin
            .batch_execute(&format!(
                "DROP TABLE directory_users, directory_teams, directory_roles;
                 DROP TABLE pipeline_audits, pipeline_stages, pipelines;
                 DROP TABLE association_definitions, custom_object_schemas;
                 DROP TABLE oauth_access_tokens, oauth_refresh_tokens, oauth_codes, oauth_apps;
                 DROP TABLE admin_token, portal_snapshots, {};
                 DROP TABLE fault_rules, portal_clocks;
                 DROP TABLE webhook_attempts, webhook_events, app_installs,
                     webhook_subscriptions, webhook_settings;
                 DROP TABLE journal_entries, journal_filters, journal_subscriptions,
                     oauth_app_tokens;
                 DROP TABLE journal_snapshots, type_generations;
                 DROP TABLE search_text, search_numbers, search_indexed, search_words;
                 DROP TABLE listener_generation;
                 DROP FUNCTION spoke_listeners_changed();
                 DROP INDEX objects_live_by_id_updated, objects_live_by_updated_id,
                     objects_archived;
                 DELETE FROM spoke_schema_version WHERE version >= 6;
                 INSERT INTO portals (id, created_at) VALUES (7, 1000), (3, 2000);",
                mirrors.join(", ")
            ))
            .await
            .expect("an older database");
        let store = db.open().await;
        let three = store.read_directory(PortalId(3)).await.expect("read");
        let seven = store.read_directory(PortalId(7)).await.expect("read");
        let owner = &three.users[0];
        assert_eq!(three.users.len(), 1);
        assert_eq!((owner.id, owner.owner_id), (FIRST_USER_ID, FIRST_OWNER_ID));
        assert_eq!(owner.email, owner_email(PortalId(3)));
        assert!(owner.super_admin);
        assert_eq!(owner.created_at, 2000);
        assert_eq!(seven.users[0].id, FIRST_USER_ID + 1);
        assert_eq!((seven.teams.len(), seven.roles.len()), (2, 2));

        store
            .ensure_portal(PortalId(9), 3000)
            .await
            .expect("ensure");
        let nine = store.read_directory(PortalId(9)).await.expect("read");
        assert_eq!(nine.users[0].owner_id, FIRST_OWNER_ID + 2);
        assert!(nine.teams[0].id > seven.teams[1].id);
    })
    .await;
}
