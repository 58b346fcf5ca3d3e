//! A store call whose future is dropped part-way (the server drops a request's future when
//! its client disconnects) leaves all of its batch written or none of it, and never leaves
//! a pooled connection inside a transaction: tokio-postgres sends `ROLLBACK` when an
//! unfinished transaction is dropped, ahead of anything the connection's next user sends.
//!
//! Needs `SPOKE_TEST_POSTGRES_URL`; skipped (and passing) without it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use spoke_core::PortalId;
use spoke_store::conformance::prop_def;
use spoke_store::{NewObject, ObjectStore, PropertyStore, ReadOptions, WriteContext, WriteSource};
use spoke_store_postgres::PgOptions;

const CONTACTS: &str = "0-1";
const APP: &str = "spoke_cancel_test";

/// Connections of this test's stores that sit inside a transaction.
async fn idle_in_transaction(admin: &tokio_postgres::Client) -> i64 {
    admin
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE application_name = $1 AND state LIKE 'idle in transaction%'",
            &[&APP],
        )
        .await
        .expect("pg_stat_activity")
        .get(0)
}

/// Waits (briefly) until no connection of this test is inside a transaction: the rollback
/// of a dropped transaction is sent without waiting for its answer.
async fn assert_no_open_transaction(admin: &tokio_postgres::Client) {
    for _ in 0..100 {
        if idle_in_transaction(admin).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("a pooled connection was left inside a transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_store_calls_leave_nothing_half_applied() {
    common::with_db(|db| async move {
        // One connection: every call after a dropped one reuses the very connection the
        // dropped transaction ran on.
        let url = format!("{}?application_name={APP}", db.url);
        let options = PgOptions {
            pool_size: 1,
            ..db.options()
        };
        let store = spoke_store_postgres::PostgresStore::open(&url, options)
            .await
            .expect("open");
        let admin = db.admin().await;
        let portal = PortalId(7);
        let names: Vec<String> = (0..3000).map(|i| format!("p_{i:04}")).collect();
        let all = || names.iter().map(|n| prop_def(n, n)).collect::<Vec<_>>();
        store
            .insert_properties(portal, CONTACTS, all())
            .await
            .expect("insert");

        // How long one whole call takes here, to drop the others all along its way.
        let started = std::time::Instant::now();
        store
            .archive_properties(portal, CONTACTS, names.clone(), 2, 5000)
            .await
            .expect("archive");
        let full = started.elapsed().as_micros() as u64;
        store
            .insert_properties(portal, CONTACTS, all())
            .await
            .expect("re-create");
        let (mut cut, mut whole) = (0, 0);
        for micros in (0..40).map(|i| full * i / 32) {
            let call = store.archive_properties(portal, CONTACTS, names.clone(), 2, 5000);
            let finished = tokio::time::timeout(Duration::from_micros(micros), call)
                .await
                .is_ok();
            assert_no_open_transaction(&admin).await;
            let defs = store.list_properties(portal, CONTACTS).await.expect("list");
            let archived = defs.iter().filter(|d| d.archived).count();
            assert!(
                archived == 0 || archived == 3000,
                "dropped after {micros} µs: {archived} of 3000 archived"
            );
            if finished {
                whole += 1;
            } else {
                cut += 1;
            }
            if archived == 3000 {
                // Re-creating archived names makes them live again.
                store
                    .insert_properties(portal, CONTACTS, all())
                    .await
                    .expect("re-create");
            }
        }
        println!("archive_properties ({full} µs): {cut} calls dropped part-way, {whole} finished");
        assert!(
            cut > 0,
            "no call was dropped part-way: the test proves nothing"
        );

        let ctx = WriteContext {
            portal,
            object_type: CONTACTS.to_owned(),
            now: 3,
            source: WriteSource {
                source_type: "INTEGRATION".to_owned(),
                source_id: None,
            },
            unique_properties: vec!["email".to_owned()],
            atomic: true,
        };
        let mut before = 0;
        for (round, micros) in (0..30).map(|i| 300 + i * 500).enumerate() {
            let items = (0..100)
                .map(|i| NewObject {
                    properties: BTreeMap::from([(
                        "email".to_owned(),
                        format!("r{round}-{i}@example.com"),
                    )]),
                    associations: Vec::new(),
                })
                .collect();
            let _ = tokio::time::timeout(
                Duration::from_micros(micros),
                store.create_objects(&ctx, items),
            )
            .await;
            assert_no_open_transaction(&admin).await;
            let live = store
                .list_objects(
                    portal,
                    CONTACTS,
                    None,
                    100_000,
                    ReadOptions {
                        archived: false,
                        history: &[],
                    },
                )
                .await
                .expect("list")
                .len();
            assert!(
                live == before || live == before + 100,
                "dropped after {micros} µs: {} of 100 records written",
                live - before
            );
            before = live;
        }
    })
    .await;
}
