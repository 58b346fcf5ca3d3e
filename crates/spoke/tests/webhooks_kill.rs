//! `kill -9` under sustained writes with webhook subscriptions active, on SQLite and on
//! PostgreSQL (issue 15, "never lost").
//!
//! An app subscribed to `contact.creation` points at a receiver in this test process, which
//! outlives every server. Writers send batch creates; the real `spoke serve` is SIGKILLed
//! at random moments (between a commit and its delivery, mid-delivery, mid-claim) and
//! restarted on the same database. At the end, after the pending events have gone out:
//!
//! - every contact the database holds had its `contact.creation` delivered at least once
//!   (0 lost), acknowledged or not (a batch whose answer the kill swallowed may have
//!   committed; then its events are owed too);
//! - no event names a contact the database does not hold (nothing delivered for a change
//!   that was not committed);
//! - retries and redeliveries keep their `eventId`.
//!
//! The servers run with a short lease (`--webhook-lease-ms`), so a killed process's
//! claimed events come back within the test's budget.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{spoke_ok_with, PgSchema, Server};
use reqwest::Method;
use serde_json::{json, Value};

const KILLS: usize = 6;
const WRITERS: usize = 3;
const BATCH: usize = 10;
const BUDGET: Duration = Duration::from_secs(90);
const ADMIN: &str = "spoke-admin-webhooks-kill-0123456789";

/// Every event received: eventId → (objectId, attemptNumbers seen).
type Received = Arc<Mutex<BTreeMap<i64, (i64, Vec<i64>)>>>;

async fn receiver() -> (String, Received, Arc<Mutex<usize>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let got: Received = Arc::default();
    let requests: Arc<Mutex<usize>> = Arc::default();
    let (g, r) = (got.clone(), requests.clone());
    let app = axum::Router::new().fallback(axum::routing::post(move |body: String| {
        let (g, r) = (g.clone(), r.clone());
        async move {
            let events: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
            *r.lock().expect("lock") += 1;
            let mut g = g.lock().expect("lock");
            for e in events {
                let id = e["eventId"].as_i64().unwrap_or(-1);
                let object = e["objectId"].as_i64().unwrap_or(-1);
                let attempt = e["attemptNumber"].as_i64().unwrap_or(-1);
                g.entry(id).or_insert((object, Vec::new())).1.push(attempt);
            }
            axum::http::StatusCode::OK
        }
    }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, got, requests)
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n.max(1)
    }
}

/// Batch creates until the server goes away; returns the ids of acknowledged contacts.
async fn writer(base: String, token: String, w: usize, cycle: usize) -> (Vec<i64>, Vec<String>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut acked = Vec::new();
    let mut wrong = Vec::new();
    for n in 0.. {
        let inputs: Vec<Value> = (0..BATCH)
            .map(|i| json!({"properties": {"email": format!("k-{w}-{cycle}-{n}-{i}@hooks.test")}}))
            .collect();
        let r = http
            .request(
                Method::POST,
                format!("{base}/crm/v3/objects/contacts/batch/create"),
            )
            .bearer_auth(&token)
            .json(&json!({ "inputs": inputs }))
            .send()
            .await;
        let Ok(r) = r else { break };
        let status = r.status().as_u16();
        let Ok(body) = r.json::<Value>().await else {
            break;
        };
        if status != 201 {
            wrong.push(format!("{status} {body}"));
            break;
        }
        for rec in body["results"].as_array().into_iter().flatten() {
            if let Some(id) = rec["id"].as_str().and_then(|s| s.parse().ok()) {
                acked.push(id);
            }
        }
    }
    (acked, wrong)
}

async fn admin(base: &str, method: Method, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("admin call");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn stored_ids(base: &str, token: &str) -> BTreeSet<i64> {
    let http = reqwest::Client::new();
    let mut ids = BTreeSet::new();
    let mut after = String::new();
    loop {
        let r: Value = http
            .get(format!("{base}/crm/v3/objects/contacts?limit=100{after}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        for rec in r["results"].as_array().expect("results") {
            ids.insert(rec["id"].as_str().expect("id").parse().expect("numeric"));
        }
        match r["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => return ids,
        }
    }
}

async fn kill_with_webhooks(backend: &str, db: &[&str]) {
    let started = Instant::now();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    println!("{backend}: seed {seed}");
    let mut rng = Rng(seed);
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().display().to_string();
    let env = [("SPOKE_DATA_DIR", data_dir.as_str())];
    let portal = 19;

    let mut create = vec!["app", "create"];
    create.extend_from_slice(db);
    create.extend_from_slice(&[
        "--name",
        "kill",
        "--redirect-uri",
        "http://localhost/cb",
        "--scopes",
        "crm.objects.contacts.read",
    ]);
    let app: Value = serde_json::from_str(&spoke_ok_with(&create, &env)).expect("app JSON");
    let app_id = app["appId"].as_i64().expect("appId");
    let key = app["developerApiKey"].as_str().expect("key").to_owned();
    let mut token_args = vec!["token", "create"];
    token_args.extend_from_slice(db);
    let portal_arg = portal.to_string();
    token_args.extend_from_slice(&["--portal", &portal_arg, "--scopes", "all"]);
    let token = spoke_ok_with(&token_args, &env).trim().to_owned();

    let mut serve: Vec<&str> = db.to_vec();
    serve.extend_from_slice(&[
        "--admin-token",
        ADMIN,
        "--webhook-poll-ms",
        "100",
        "--webhook-lease-ms",
        "1500",
    ]);
    let (url, received, requests) = receiver().await;
    let mut server = Server::start_with(&serve, &env).await;
    let http = reqwest::Client::new();
    let r = http
        .put(format!(
            "{}/webhooks/v3/{app_id}/settings?hapikey={key}",
            server.base
        ))
        .json(&json!({"targetUrl": url, "throttling": {"maxConcurrentRequests": 10}}))
        .send()
        .await
        .expect("settings");
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!(
            "{}/webhooks/v3/{app_id}/subscriptions?hapikey={key}",
            server.base
        ))
        .json(&json!({"eventType": "contact.creation", "active": true}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(r.status(), 201);
    let (status, _) = admin(
        &server.base,
        Method::POST,
        &format!("/_spoke/portals/{portal}/apps/{app_id}/install"),
    )
    .await;
    assert_eq!(status, 204);

    let mut acked: Vec<i64> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();
    for cycle in 0..KILLS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(server.base.clone(), token.clone(), w, cycle)))
            .collect();
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1200))).await;
        server.stop();
        for w in writers {
            let (a, bad) = w.await.expect("writer");
            acked.extend(a);
            wrong.extend(bad);
        }
        server = Server::start_with(&serve, &env).await;
        assert!(started.elapsed() < BUDGET, "{backend}: over budget");
    }
    assert!(wrong.is_empty(), "{backend}: wrong answers {wrong:?}");

    // Let the leases of the last killed process run out, then deliver what is left.
    let stored = stored_ids(&server.base, &token).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, flushed) = admin(&server.base, Method::POST, "/_spoke/webhooks/flush").await;
        assert_eq!(status, 200, "{flushed}");
        let delivered: BTreeSet<i64> = received
            .lock()
            .expect("lock")
            .values()
            .map(|v| v.0)
            .collect();
        if flushed["pending"] == 0 && stored.is_subset(&delivered) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{backend}: events still owed: pending {}, {} stored contacts without an event",
            flushed["pending"],
            stored.difference(&delivered).count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let got = received.lock().expect("lock").clone();
    let mut per_object: HashMap<i64, usize> = HashMap::new();
    for (object, _) in got.values() {
        *per_object.entry(*object).or_default() += 1;
    }
    let lost: Vec<&i64> = stored
        .iter()
        .filter(|id| !per_object.contains_key(id))
        .collect();
    let phantom: Vec<&i64> = per_object
        .keys()
        .filter(|id| !stored.contains(id))
        .collect();
    let acked_missing: Vec<&i64> = acked.iter().filter(|id| !stored.contains(id)).collect();
    let redelivered = got
        .values()
        .filter(|(_, attempts)| attempts.len() > 1)
        .count();
    let two_events = per_object.values().filter(|n| **n > 1).count();
    println!(
        "{backend}: {KILLS} kills in {:.1?}; {} acknowledged contacts, {} stored, {} events \
         received in {} requests; lost {}, phantom {}, delivered more than once (same eventId) {}, \
         objects with more than one event {}",
        started.elapsed(),
        acked.len(),
        stored.len(),
        got.len(),
        requests.lock().expect("lock"),
        lost.len(),
        phantom.len(),
        redelivered,
        two_events,
    );
    assert!(
        acked_missing.is_empty(),
        "{backend}: acknowledged contacts missing: {acked_missing:?}"
    );
    assert!(
        lost.is_empty(),
        "{backend}: committed changes never delivered: {lost:?}"
    );
    assert!(
        phantom.is_empty(),
        "{backend}: events for changes not committed: {phantom:?}"
    );
    assert_eq!(two_events, 0, "{backend}: one creation, one eventId");
    assert!(
        acked.len() >= KILLS * BATCH,
        "{backend}: too few writes to mean anything"
    );
    assert!(
        started.elapsed() < BUDGET,
        "{backend}: took {:?}",
        started.elapsed()
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_with_webhooks_loses_no_event_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("spoke.db").display());
    kill_with_webhooks("sqlite", &["--database", &url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_with_webhooks_loses_no_event_on_postgres() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    kill_with_webhooks("postgres", &schema.args()).await;
}

/// Two `spoke serve` processes on one PostgreSQL database, both delivering: every event
/// reaches the app once (no kill, so no redelivery is excused).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_on_postgres_deliver_each_event_once() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    let db = schema.args();
    let data = tempfile::tempdir().expect("data dir");
    let data_dir = data.path().display().to_string();
    let env = [("SPOKE_DATA_DIR", data_dir.as_str())];
    let mut create = vec!["app", "create"];
    create.extend_from_slice(&db);
    create.extend_from_slice(&[
        "--name",
        "two",
        "--redirect-uri",
        "http://localhost/cb",
        "--scopes",
        "crm.objects.contacts.read",
    ]);
    let app: Value = serde_json::from_str(&spoke_ok_with(&create, &env)).expect("app JSON");
    let app_id = app["appId"].as_i64().expect("appId");
    let key = app["developerApiKey"].as_str().expect("key").to_owned();
    let mut token_args = vec!["token", "create"];
    token_args.extend_from_slice(&db);
    token_args.extend_from_slice(&["--portal", "21", "--scopes", "all"]);
    let token = spoke_ok_with(&token_args, &env).trim().to_owned();
    let mut install = vec!["app", "install"];
    install.extend_from_slice(&db);
    let id = app_id.to_string();
    install.extend_from_slice(&["--portal", "21", &id]);
    spoke_ok_with(&install, &env);

    let mut serve: Vec<&str> = db.to_vec();
    serve.extend_from_slice(&["--webhook-poll-ms", "50"]);
    let (target, received, requests) = receiver().await;
    let a = Server::start_with(&serve, &env).await;
    let b = Server::start_with(&serve, &env).await;
    let http = reqwest::Client::new();
    let r = http
        .put(format!(
            "{}/webhooks/v3/{app_id}/settings?hapikey={key}",
            a.base
        ))
        .json(&json!({"targetUrl": target, "throttling": {"maxConcurrentRequests": 10}}))
        .send()
        .await
        .expect("settings");
    assert_eq!(r.status(), 200);
    let r = http
        .post(format!(
            "{}/webhooks/v3/{app_id}/subscriptions?hapikey={key}",
            b.base
        ))
        .json(&json!({"eventType": "contact.creation", "active": true}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(r.status(), 201);

    // Each server takes writes; both deliver (each wakes on its own, polls for the other's).
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let base = if w % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let token = token.clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                for n in 0..20 {
                    let inputs: Vec<Value> = (0..BATCH)
                        .map(|i| json!({"properties": {"email": format!("two-{w}-{n}-{i}@hooks.test")}}))
                        .collect();
                    let r = http
                        .post(format!("{base}/crm/v3/objects/contacts/batch/create"))
                        .bearer_auth(&token)
                        .json(&json!({ "inputs": inputs }))
                        .send()
                        .await
                        .expect("create");
                    assert_eq!(r.status(), 201);
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    let stored = stored_ids(&a.base, &token).await;
    assert_eq!(stored.len(), 4 * 20 * BATCH);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered: BTreeSet<i64> = received
            .lock()
            .expect("lock")
            .values()
            .map(|v| v.0)
            .collect();
        if stored.is_subset(&delivered) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} not delivered",
            stored.difference(&delivered).count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = received.lock().expect("lock").clone();
    let twice = got
        .values()
        .filter(|(_, attempts)| attempts.len() > 1)
        .count();
    println!(
        "two servers: {} events in {} requests, {twice} received more than once",
        got.len(),
        requests.lock().expect("lock")
    );
    assert_eq!(got.len(), stored.len());
    assert_eq!(twice, 0, "each event delivered by one process, once");
    a.stop();
    b.stop();
}
