//! The PostgreSQL backend against the storage conformance suite.
//!
//! Needs `SPOKE_TEST_POSTGRES_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`);
//! without it each test prints "skipped: SPOKE_TEST_POSTGRES_URL is not set" and passes.

mod common;

use spoke_store::TokenStore;

#[tokio::test(flavor = "multi_thread")]
async fn postgres_passes_the_conformance_suite() {
    common::with_db(|db| async move {
        let store = db.open().await;
        spoke_store::conformance::run_all(&store).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_passes_again_on_a_reused_and_reopened_database() {
    common::with_db(|db| async move {
        {
            let store = db.open().await;
            spoke_store::conformance::run_all_from(&store, 1000).await;
            spoke_store::conformance::run_all(&store).await;
        }
        // Reopening runs the migrations again (a no-op) and sees what was written before.
        let store = db.open().await;
        let portals = store.list_portals().await.expect("list portals");
        assert!(
            portals.contains(&spoke_core::PortalId(1018)),
            "portals survive a reopen: {portals:?}"
        );
        spoke_store::conformance::run_all(&store).await;

        let admin = db.admin().await;
        let versions: Vec<i32> = admin
            .query(
                "SELECT version FROM spoke_schema_version ORDER BY version",
                &[],
            )
            .await
            .expect("read schema versions")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(
            versions,
            common::all_schema_versions(),
            "each migration applied once"
        );
    })
    .await;
}

fn sqlite(dir: &tempfile::TempDir, name: &str) -> spoke_store_sqlite::SqliteStore {
    spoke_store_sqlite::SqliteStore::open(&format!("sqlite://{}", dir.path().join(name).display()))
        .expect("open the SQLite store")
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_copies_every_row_to_another_postgres_schema() {
    common::with_db(|source| async move {
        common::with_db(|dest| async move {
            let source = source.open().await;
            spoke_store::conformance::run_all(&source).await;
            let dest = dest.open().await;
            spoke_store::conformance::check_transfer(&source, &dest).await;
        })
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_copies_every_row_to_postgres() {
    common::with_db(|db| async move {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let source = sqlite(&dir, "source.db");
        spoke_store::conformance::run_all(&source).await;
        let dest = db.open().await;
        spoke_store::conformance::check_transfer(&source, &dest).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_copies_every_row_to_sqlite() {
    common::with_db(|db| async move {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let source = db.open().await;
        spoke_store::conformance::run_all(&source).await;
        let dest = sqlite(&dir, "dest.db");
        spoke_store::conformance::check_transfer(&source, &dest).await;
    })
    .await;
}
