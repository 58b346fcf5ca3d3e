//! How the backend fails: a database that cannot be reached is `Unavailable` (the server
//! answers 503) and never hangs; other failures are `Internal`.
//!
//! The first test needs no database; the others need `SPOKE_TEST_POSTGRES_URL` and are
//! skipped (passing) without it.

mod common;

use std::time::{Duration, Instant};

use spoke_core::PortalId;
use spoke_store::{StoreError, TokenStore};
use spoke_store_postgres::{PgOptions, PostgresStore};

#[tokio::test]
async fn unreachable_database_is_unavailable_quickly() {
    let started = Instant::now();
    // Nothing listens on port 1: the connection is refused.
    let result = PostgresStore::open(
        "postgres://postgres@127.0.0.1:1/test",
        PgOptions {
            connect_timeout: Duration::from_secs(2),
            ..PgOptions::default()
        },
    )
    .await;
    match result {
        Err(StoreError::Unavailable(_)) => {}
        Err(e) => panic!("expected Unavailable, got {e:?}"),
        Ok(_) => panic!("opened a database that does not exist"),
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "failed fast: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_malformed_url_is_internal() {
    match PostgresStore::open("postgres://[::1", PgOptions::default()).await {
        Err(StoreError::Internal(_)) => {}
        Err(e) => panic!("expected Internal, got {e:?}"),
        Ok(_) => panic!("opened a malformed URL"),
    }
}

/// A URL whose connections carry a name of their own, to find them in pg_stat_activity.
fn named(url: &str, name: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}")
}

#[tokio::test(flavor = "multi_thread")]
async fn terminated_connections_are_unavailable_then_replaced() {
    common::with_db(|db| async move {
        let name = db.schema.clone();
        let store = PostgresStore::open(&named(&db.url, &name), db.options())
            .await
            .expect("open");
        store
            .ensure_portal(PortalId(1), 1)
            .await
            .expect("first call");
        let admin = db.admin().await;
        let killed: i64 = admin
            .query_one(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE application_name = $1) t",
                &[&name],
            )
            .await
            .expect("terminate")
            .get(0);
        assert!(killed >= 1, "the store had a connection to terminate");
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Dead connections fail as Unavailable (never Internal) until the pool has
        // replaced them.
        let mut ok = false;
        for _ in 0..20 {
            match store.list_portals().await {
                Ok(portals) => {
                    assert!(portals.contains(&PortalId(1)));
                    ok = true;
                    break;
                }
                Err(StoreError::Unavailable(_)) => {}
                Err(e) => panic!("a terminated connection must be Unavailable, got {e:?}"),
            }
        }
        assert!(ok, "the pool recovered with fresh connections");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_pool_is_unavailable_and_a_stuck_statement_times_out() {
    common::with_db(|db| async move {
        let store = db
            .open_with(PgOptions {
                pool_size: 1,
                pool_timeout: Duration::from_millis(300),
                statement_timeout: Duration::from_secs(2),
                ..db.options()
            })
            .await;
        store.ensure_portal(PortalId(1), 1).await.expect("warm up");

        // Another session holds a lock the store's only connection will wait for.
        let mut admin = db.admin().await;
        let tx = admin.transaction().await.expect("begin");
        tx.batch_execute("LOCK TABLE portals IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");

        let blocked = {
            let store = store.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let result = store.ensure_portal(PortalId(2), 1).await;
                (result, started.elapsed())
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        match store.list_tokens().await {
            Err(StoreError::Unavailable(_)) => {}
            other => panic!("waiting past pool_timeout must be Unavailable, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(2));

        // statement_timeout ends the stuck statement instead of hanging.
        let (result, took) = blocked.await.expect("blocked task");
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "a statement ended by statement_timeout is Unavailable (503), got {result:?}"
        );
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
            "cancelled by statement_timeout: {took:?}"
        );
        tx.rollback().await.expect("release");
        store
            .ensure_portal(PortalId(3), 1)
            .await
            .expect("the pool works again");
    })
    .await;
}
