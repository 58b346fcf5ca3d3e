//! What the webhook outbox costs a record write (issue 15): batch creates of 100 contacts
//! in a portal with no app installed, with an installed app subscribed to other types
//! only (the subscriptions are read, no event is written), and with one subscribed to the
//! contacts' creation (100 events per batch; its `email` propertyChange subscription does
//! not fire on creation). The three run
//! interleaved (each round starting with another), on the raw store, in one process, so
//! they share the machine's state.
//!
//! Then single-record creates (the API's one-record POST, the write the outbox costs most),
//! in a portal without and with a `contact.creation` subscription, on two databases of the
//! same backend: as migrated, and with the by-app and by-portal indexes of `webhook_events`
//! put back (as before SQLite 0016 / PostgreSQL 0015 dropped them). The four cases run
//! interleaved, 100 creates at a time.
//!
//! A measurement, not a check: `#[ignore]`d, run with
//! `cargo test --release -p spoke-bench --test outbox_cost -- --ignored --nocapture`
//! (PostgreSQL too when `SPOKE_TEST_POSTGRES_URL` is set, in a fresh schema it drops).

use std::time::{Duration, Instant};

use spoke_core::PortalId;
use spoke_store::oauth::NewApp;
use spoke_store::webhooks::{NewSubscription, WebhookSettings};
use spoke_store::{NewObject, Store, WriteContext, WriteSource};

const BATCHES: usize = 200;
const BATCH: usize = 100;

fn ctx(portal: PortalId) -> WriteContext {
    WriteContext {
        portal,
        object_type: "0-1".into(),
        now: spoke_core::time::now_millis(),
        source: WriteSource {
            source_type: "API".into(),
            source_id: None,
        },
        unique_properties: vec!["email".into()],
        atomic: true,
    }
}

async fn app(
    store: &dyn Store,
    portal: PortalId,
    tag: &str,
    subscriptions: &[(&str, Option<&str>)],
) {
    let app = store
        .insert_app(NewApp {
            name: tag.into(),
            client_id: format!("client-{tag}-{}", portal.0),
            client_secret_hash: format!("s-{tag}-{}", portal.0),
            client_secret_sealed: "x".into(),
            developer_api_key_hash: format!("k-{tag}-{}", portal.0),
            developer_api_key_sealed: "x".into(),
            redirect_uris: vec![],
            scopes: vec![],
            optional_scopes: vec![],
            created_at: 0,
        })
        .await
        .expect("app");
    store
        .put_webhook_settings(WebhookSettings {
            app_id: app.id,
            target_url: "http://127.0.0.1:9/".into(),
            max_concurrent_requests: 10,
            period: None,
            created_at: 0,
            updated_at: 0,
        })
        .await
        .expect("settings");
    store.install_app(app.id, portal, 0).await.expect("install");
    for (event_type, property) in subscriptions {
        store
            .create_subscription(NewSubscription {
                app_id: app.id,
                event_type: (*event_type).into(),
                object_type_id: None,
                property_name: property.map(str::to_owned),
                active: true,
                now: 0,
            })
            .await
            .expect("subscribe");
    }
}

fn batch(tag: &str, round: usize) -> Vec<NewObject> {
    (0..BATCH)
        .map(|i| NewObject {
            properties: [
                ("email", format!("{tag}-{round}-{i}@example.com")),
                ("firstname", format!("First {i}")),
                ("lastname", format!("Last {round}")),
                ("company", "Example".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            associations: Vec::new(),
        })
        .collect()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn measure(backend: &str, store: &dyn Store) {
    let base = spoke_core::time::now_millis() % 1_000_000 * 10;
    let (none, other, subscribed) = (PortalId(base + 1), PortalId(base + 2), PortalId(base + 3));
    for p in [none, other, subscribed] {
        store.ensure_portal(p, 0).await.expect("portal");
    }
    app(
        store,
        other,
        "other",
        &[
            ("company.creation", None),
            ("deal.propertyChange", Some("amount")),
        ],
    )
    .await;
    app(
        store,
        subscribed,
        "subscribed",
        &[
            ("contact.creation", None),
            ("contact.propertyChange", Some("email")),
            ("company.creation", None),
        ],
    )
    .await;
    let cases = [
        ("no app installed", none),
        ("other types only", other),
        ("contact.creation", subscribed),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    for round in 0..BATCHES {
        // Each round starts with another case, so none always runs first.
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let portal = &cases[i].1;
            let items = batch(&format!("{backend}{i}"), round);
            let started = Instant::now();
            let out = store
                .create_objects(&ctx(*portal), items)
                .await
                .expect("create");
            times[i].push(started.elapsed());
            assert!(out.iter().all(Result::is_ok));
        }
    }
    let base_median = median(times[0].clone());
    for ((name, portal), t) in cases.iter().zip(times) {
        let total: Duration = t.iter().sum();
        let m = median(t);
        let events = store.pending_events(None, 0).await.expect("pending").0;
        println!(
            "{backend}: {name:<18} median {:>7.2} ms per batch of {BATCH} ({:+.1} % vs no app), {:.0} records/s; portal {} ; pending events now {events}",
            m.as_secs_f64() * 1000.0,
            (m.as_secs_f64() / base_median.as_secs_f64() - 1.0) * 100.0,
            (BATCHES * BATCH) as f64 / total.as_secs_f64(),
            portal.0
        );
    }
}

/// The indexes SQLite 0016 / PostgreSQL 0015 dropped, put back for the "before" database.
const DROPPED_INDEXES: &str =
    "CREATE INDEX webhook_events_app ON webhook_events (app_id, event_id);
     CREATE INDEX webhook_events_portal ON webhook_events (portal_id);";

const SINGLE_ROUNDS: usize = 30;
const SINGLES_PER_ROUND: usize = 100;

async fn single_creates(backend: &str, stores: [(&str, &dyn Store); 2]) {
    let base = spoke_core::time::now_millis() % 1_000_000 * 10 + 5;
    let mut cases: Vec<(String, &dyn Store, PortalId)> = Vec::new();
    for (k, (name, store)) in stores.iter().enumerate() {
        let none = PortalId(base + 2 * k as i64);
        let subscribed = PortalId(base + 2 * k as i64 + 1);
        for p in [none, subscribed] {
            store.ensure_portal(p, 0).await.expect("portal");
        }
        app(
            *store,
            subscribed,
            &format!("single{k}"),
            &[("contact.creation", None)],
        )
        .await;
        cases.push((format!("{name}, no app"), *store, none));
        cases.push((format!("{name}, contact.creation"), *store, subscribed));
    }
    let mut times: Vec<Duration> = vec![Duration::ZERO; cases.len()];
    for round in 0..SINGLE_ROUNDS {
        for k in 0..cases.len() {
            let i = (round + k) % cases.len();
            let (_, store, portal) = &cases[i];
            let started = Instant::now();
            for n in 0..SINGLES_PER_ROUND {
                let item = NewObject {
                    properties: [(
                        "email".to_owned(),
                        format!("s{backend}{i}-{round}-{n}@example.com"),
                    )]
                    .into_iter()
                    .collect(),
                    associations: Vec::new(),
                };
                let out = store
                    .create_objects(&ctx(*portal), vec![item])
                    .await
                    .expect("create");
                assert!(out.iter().all(Result::is_ok));
            }
            times[i] += started.elapsed();
        }
    }
    let total = (SINGLE_ROUNDS * SINGLES_PER_ROUND) as f64;
    for (i, (name, _, _)) in cases.iter().enumerate() {
        let rate = total / times[i].as_secs_f64();
        // Against the same database's no-app case.
        let base_rate = total / times[i & !1].as_secs_f64();
        println!(
            "{backend}: single creates, {name:<44} {rate:>7.0} records/s ({:+.1} % time per create vs no app)",
            (base_rate / rate - 1.0) * 100.0
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn outbox_cost_on_single_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let open = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let lean = spoke_store_sqlite::SqliteStore::open(&open("lean.db")).expect("sqlite");
    let indexed = spoke_store_sqlite::SqliteStore::open(&open("indexed.db")).expect("sqlite");
    rusqlite::Connection::open(dir.path().join("indexed.db"))
        .and_then(|c| c.execute_batch(DROPPED_INDEXES))
        .expect("indexes back");
    single_creates(
        "sqlite",
        [
            ("as migrated", &lean),
            ("with the dropped indexes", &indexed),
        ],
    )
    .await;
    if let Ok(url) = std::env::var("SPOKE_TEST_POSTGRES_URL") {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let mut schemas = Vec::new();
        let mut stores = Vec::new();
        for tag in ["lean", "indexed"] {
            let schema = format!("outbox_cost_{tag}_{}", std::process::id());
            let options = spoke_store_postgres::PgOptions {
                schema: Some(schema.clone()),
                ..Default::default()
            };
            stores.push(
                spoke_store_postgres::PostgresStore::open(&url, options)
                    .await
                    .expect("postgres"),
            );
            schemas.push(schema);
        }
        client
            .batch_execute(&format!(
                "SET search_path = \"{}\"; {DROPPED_INDEXES}",
                schemas[1]
            ))
            .await
            .expect("indexes back");
        single_creates(
            "postgres",
            [
                ("as migrated", &stores[0]),
                ("with the dropped indexes", &stores[1]),
            ],
        )
        .await;
        drop(stores);
        for schema in schemas {
            client
                .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
                .await
                .expect("drop schema");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn outbox_cost_on_batch_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("cost.db").display());
    let sqlite = spoke_store_sqlite::SqliteStore::open(&url).expect("sqlite");
    measure("sqlite", &sqlite).await;
    if let Ok(url) = std::env::var("SPOKE_TEST_POSTGRES_URL") {
        let schema = format!("outbox_cost_{}", std::process::id());
        let options = spoke_store_postgres::PgOptions {
            schema: Some(schema.clone()),
            ..Default::default()
        };
        let pg = spoke_store_postgres::PostgresStore::open(&url, options)
            .await
            .expect("postgres");
        measure("postgres", &pg).await;
        drop(pg);
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .await
            .expect("drop schema");
    }
}
