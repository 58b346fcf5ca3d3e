//! The SQLite backend against the storage conformance suite.

use spoke_store::TokenStore;
use spoke_store_sqlite::SqliteStore;

fn open(path: &std::path::Path) -> SqliteStore {
    SqliteStore::open(&format!("sqlite://{}", path.display())).expect("open the SQLite store")
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = open(&dir.path().join("spoke.db"));
    spoke_store::conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_passes_again_on_a_reused_and_reopened_database() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("spoke.db");
    {
        let store = open(&path);
        spoke_store::conformance::run_all_from(&store, 1000).await;
        spoke_store::conformance::run_all(&store).await;
    }
    // Reopening runs the migrations again (a no-op) and sees what was written before.
    let store = open(&path);
    let portals = store.list_portals().await.expect("list portals");
    assert!(
        portals.contains(&spoke_core::PortalId(1018)),
        "portals survive a reopen: {portals:?}"
    );
    spoke_store::conformance::run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_copies_every_row_to_another_sqlite_database() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let source = open(&dir.path().join("source.db"));
    // The source holds other data too: everything is copied.
    spoke_store::conformance::run_all(&source).await;
    let dest = open(&dir.path().join("dest.db"));
    spoke_store::conformance::check_transfer(&source, &dest).await;
}

/// Two stores on one file stand in for two processes: each keeps its own search totals,
/// and a write through one is in the other's next total.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_totals_see_writes_through_another_handle() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("spoke.db");
    let (a, b) = (open(&path), open(&path));
    spoke_store::conformance::totals::totals_see_writes_through_another_handle(
        &[&a, &b],
        spoke_core::PortalId(324),
    )
    .await;
}

/// Each handle caches listeners: a listener change through one is seen by the other's next
/// write.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_listener_changes_reach_another_handle() {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("spoke.db");
    let (a, b) = (open(&path), open(&path));
    spoke_store::conformance::listener_changes_reach_another_handle(
        &[&a, &b],
        spoke_core::PortalId(373),
    )
    .await;
}
