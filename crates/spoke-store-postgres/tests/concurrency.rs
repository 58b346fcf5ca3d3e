//! Several spoke processes on one database: two `PostgresStore`s (two pools, standing in
//! for two processes) run the conformance suite's concurrency checks
//! (`spoke_store::conformance::concurrency`) between them, plus what only PostgreSQL has:
//! concurrent migrations, and the `unique_values` rows themselves.
//!
//! Needs `SPOKE_TEST_POSTGRES_URL`; skipped (and passing) without it.

mod common;

use std::sync::Arc;

use spoke_core::PortalId;
use spoke_store::conformance::concurrency;
use spoke_store::Store;
use spoke_store_postgres::PostgresStore;

async fn two_stores(db: &common::Db) -> [Arc<PostgresStore>; 2] {
    let mut options = db.options();
    options.pool_size = 6;
    let a = db.open_with(options.clone()).await;
    let b = db.open_with(options).await;
    [Arc::new(a), Arc::new(b)]
}

fn handles(stores: &[Arc<PostgresStore>; 2]) -> [&dyn Store; 2] {
    [stores[0].as_ref(), stores[1].as_ref()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_and_upserts_never_duplicate_a_unique_value() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_creates_and_upserts_never_duplicate_a_unique_value(
            &handles(&stores),
            PortalId(7001),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_distinct_ids() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_creates_get_distinct_ids(&handles(&stores), PortalId(7002)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_patches_of_one_record_lose_no_update() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_patches_of_one_record_lose_no_update(
            &handles(&stores),
            PortalId(7003),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exclusive_links_leave_exactly_one() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_exclusive_links_leave_exactly_one(
            &handles(&stores),
            PortalId(7004),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_label_creation_allocates_distinct_type_ids() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_label_creation_allocates_distinct_type_ids(
            &handles(&stores),
            PortalId(7005),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_never_repeat_or_skip_while_another_process_writes() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::pages_never_repeat_or_skip_under_concurrent_writes(
            &handles(&stores),
            PortalId(7007),
        )
        .await;
    })
    .await;
}

/// Several processes starting at once on an empty schema: one migrates, all open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    common::with_db(|db| async move {
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move { db.open().await }));
        }
        for t in tasks {
            t.await.expect("open task panicked");
        }
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
        assert_eq!(versions, common::all_schema_versions());
    })
    .await;
}

/// Archiving from one store while another upserts the same email: the suite's check,
/// then no `unique_values` row of an archived record is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archive_racing_upserts_keeps_one_holder() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::archive_racing_upserts_keeps_one_holder(&handles(&stores), PortalId(7006))
            .await;
        let admin = db.admin().await;
        let stale: i64 = admin
            .query_one(
                "SELECT COUNT(*) FROM unique_values u JOIN objects o ON o.id = u.object_id
                 WHERE o.archived_at IS NOT NULL",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        assert_eq!(stale, 0, "archived records hold no unique value");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_directory_writes_keep_ids_distinct_and_emails_unique() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_directory_writes_keep_ids_distinct_and_emails_unique(
            &handles(&stores),
            PortalId(7101),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_schema_creates_get_distinct_numbers() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::concurrent_schema_creates_get_distinct_numbers(
            &handles(&stores),
            PortalId(7121),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fault_rules_count_is_spent_exactly_across_processes() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        spoke_store::conformance::a_rules_count_is_spent_exactly_under_racing_firings(
            &handles(&stores),
            PortalId(252),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_claims_never_share_an_event() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        spoke_store::conformance::concurrent_claims_never_share_an_event(
            &handles(&stores),
            PortalId(230),
        )
        .await;
    })
    .await;
}

/// A write through one process is in the other's next search total, whatever that process
/// kept (`spoke_store::totals`: the generation is read in the search's snapshot).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn totals_see_writes_through_another_process() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        spoke_store::conformance::totals::totals_see_writes_through_another_handle(
            &handles(&stores),
            PortalId(325),
        )
        .await;
    })
    .await;
}

/// Each process caches listeners: a listener change through one is seen by the other's next
/// write.
#[tokio::test]
async fn listener_changes_reach_another_process() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        spoke_store::conformance::listener_changes_reach_another_handle(
            &handles(&stores),
            PortalId(373),
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn indexing_racing_writes_misses_no_record() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::indexing_racing_writes_misses_no_record(&handles(&stores), PortalId(7141))
            .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn indexing_in_steps_racing_updates_misses_no_record() {
    common::with_db(|db| async move {
        let stores = two_stores(&db).await;
        concurrency::indexing_in_steps_racing_updates_misses_no_record(
            &handles(&stores),
            PortalId(7142),
        )
        .await;
    })
    .await;
}
