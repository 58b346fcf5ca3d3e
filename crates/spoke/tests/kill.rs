//! `kill -9` under sustained writes, on SQLite and on PostgreSQL.
//!
//! Several writers send batch creates (each contact carries its batch's marker in
//! `lastname` and an inline association to the writer's company) and batch updates of
//! their own contacts; the real `spoke serve` is SIGKILLed at a random moment, restarted on
//! the same database, and the writers go on. After the last restart:
//!
//! - every acknowledged write is there with its acknowledged value (an update whose answer
//!   never came may or may not have landed: both values are accepted until a later update
//!   is acknowledged);
//! - every batch is all-or-nothing: 0 or all of its contacts, each with its association;
//! - list, search and batch/read agree on what is stored.
//!
//! The PostgreSQL run uses a schema of its own (dropped at the end), so it is safe beside
//! other tests; it is skipped, saying so, when `SPOKE_TEST_POSTGRES_URL` is unset. The kill
//! moments come from a seed printed at the start (`SPOKE_KILL_SEED` replays one).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{token_create, Api, PgSchema, Server};
use reqwest::Method;
use serde_json::{json, Value};

const KILLS: usize = 8;
const WRITERS: usize = 4;
const BATCH: usize = 10;
/// Whole test, per backend: writes, kills, restarts and the final checks.
const BUDGET: Duration = Duration::from_secs(90);
/// contact → company, unlabeled (hubspot-behavior.md §3.3).
const CONTACT_TO_COMPANY: i64 = 279;

/// splitmix64: enough randomness for kill moments and update picks, and replayable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn seed() -> u64 {
    if let Some(s) = std::env::var("SPOKE_KILL_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return s;
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// One contact a writer knows the id of: its batch, and the `firstname` values it may
/// have (the acknowledged one, plus any sent later whose answer never came).
struct Contact {
    id: String,
    email: String,
    batch: String,
    allowed: Vec<String>,
}

/// Everything the writers learned, shared across kills.
#[derive(Default)]
struct Ledger {
    contacts: Vec<Contact>,
    /// batch marker → whether its create was acknowledged.
    batches: BTreeMap<String, bool>,
    /// writer → its company's id.
    companies: HashMap<usize, String>,
    acked_updates: usize,
    unacked_updates: usize,
    /// Answers that are wrong whatever a kill did (a 5xx, a 4xx to a valid write).
    wrong: Vec<String>,
}

/// Writes until the server goes away (the first transport error).
async fn writer(api: Api, w: usize, cycle: usize, seed: u64, ledger: Arc<Mutex<Ledger>>) {
    let mut rng = Rng(seed ^ ((w as u64) << 32) ^ cycle as u64);
    let company = ledger.lock().expect("ledger").companies[&w].clone();
    for n in 0.. {
        let mine: Vec<usize> = {
            let l = ledger.lock().expect("ledger");
            l.contacts
                .iter()
                .enumerate()
                .filter(|(_, c)| c.batch.starts_with(&format!("b-{w}-")))
                .map(|(i, _)| i)
                .collect()
        };
        if mine.is_empty() || rng.below(10) < 6 {
            let marker = format!("b-{w}-{cycle}-{n}");
            let inputs: Vec<Value> = (0..BATCH)
                .map(|i| {
                    json!({
                        "properties": {
                            "email": format!("{marker}-{i}@kill.test"),
                            "firstname": format!("c-{marker}"),
                            "lastname": marker,
                        },
                        "associations": [{
                            "to": {"id": company},
                            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": CONTACT_TO_COMPANY}],
                        }],
                    })
                })
                .collect();
            ledger
                .lock()
                .expect("ledger")
                .batches
                .insert(marker.clone(), false);
            let r = api
                .try_call(
                    Method::POST,
                    "/crm/v3/objects/contacts/batch/create",
                    Some(&json!({ "inputs": inputs })),
                )
                .await;
            let mut l = ledger.lock().expect("ledger");
            match r {
                Err(_) => return,
                Ok(r) if r.status == 201 => {
                    l.batches.insert(marker.clone(), true);
                    for rec in r.body["results"].as_array().into_iter().flatten() {
                        l.contacts.push(Contact {
                            id: rec["id"].as_str().unwrap_or_default().to_owned(),
                            email: rec["properties"]["email"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            batch: marker.clone(),
                            allowed: vec![format!("c-{marker}")],
                        });
                    }
                }
                Ok(r) => {
                    l.wrong
                        .push(format!("batch/create {marker}: {} {}", r.status, r.body));
                    return;
                }
            }
        } else {
            let value = format!("u-{w}-{cycle}-{n}");
            let mut picked: Vec<usize> = (0..BATCH)
                .map(|_| mine[rng.below(mine.len() as u64) as usize])
                .collect();
            picked.sort_unstable();
            picked.dedup();
            let inputs: Vec<Value> = {
                let mut l = ledger.lock().expect("ledger");
                picked
                    .iter()
                    .map(|&i| {
                        l.contacts[i].allowed.push(value.clone());
                        json!({"id": l.contacts[i].id, "properties": {"firstname": value}})
                    })
                    .collect()
            };
            let r = api
                .try_call(
                    Method::POST,
                    "/crm/v3/objects/contacts/batch/update",
                    Some(&json!({ "inputs": inputs })),
                )
                .await;
            let mut l = ledger.lock().expect("ledger");
            match r {
                Err(_) => {
                    l.unacked_updates += 1;
                    return;
                }
                Ok(r) if r.status == 200 => {
                    l.acked_updates += 1;
                    for &i in &picked {
                        l.contacts[i].allowed = vec![value.clone()];
                    }
                }
                Ok(r) => {
                    l.wrong
                        .push(format!("batch/update {value}: {} {}", r.status, r.body));
                    return;
                }
            }
        }
    }
}

/// What the store holds for one contact.
struct Stored {
    email: String,
    firstname: String,
    batch: String,
    companies: Vec<String>,
}

async fn list_everything(api: &Api) -> HashMap<String, Stored> {
    let mut all = HashMap::new();
    let mut after = String::new();
    loop {
        let r = api
            .get(&format!(
                "/crm/v3/objects/contacts?limit=100&properties=email,firstname,lastname&associations=companies{after}"
            ))
            .await;
        assert_eq!(r.status, 200, "list: {}", r.body);
        for rec in r.body["results"].as_array().expect("results") {
            let text = |k: &str| rec["properties"][k].as_str().unwrap_or_default().to_owned();
            let companies = rec["associations"]["companies"]["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["id"].as_str().map(str::to_owned))
                .collect();
            all.insert(
                rec["id"].as_str().expect("id").to_owned(),
                Stored {
                    email: text("email"),
                    firstname: text("firstname"),
                    batch: text("lastname"),
                    companies,
                },
            );
        }
        match r.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = format!("&after={a}"),
            None => return all,
        }
    }
}

async fn search_total(api: &Api, filter: Value) -> u64 {
    let r = api
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"filterGroups": [{"filters": [filter]}], "limit": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "search: {}", r.body);
    r.body["total"].as_u64().expect("total")
}

/// Runs the whole scenario on `db` (spoke's `--database …` arguments).
async fn kill_under_writes(backend: &str, db: &[&str]) {
    let started = Instant::now();
    let seed = seed();
    println!("{backend}: kill seed {seed} (replay with SPOKE_KILL_SEED={seed})");
    let mut rng = Rng(seed);
    let token = token_create(db, 18);
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    let mut server = Server::start(db).await;
    for w in 0..WRITERS {
        let r = server
            .api(&token)
            .post_ok(
                "/crm/v3/objects/companies",
                json!({"properties": {"name": format!("writer {w}")}}),
                201,
            )
            .await;
        let id = r["id"].as_str().expect("company id").to_owned();
        ledger.lock().expect("ledger").companies.insert(w, id);
    }

    for cycle in 0..KILLS {
        // Short timeouts: a writer blocked on a dead server must notice it.
        let api = server.api(&token).with_timeout(Duration::from_secs(20));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(writer(api.clone(), w, cycle, seed, ledger.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(300 + rng.below(1200))).await;
        // SIGKILL: no shutdown hook runs; only what was committed remains.
        server.stop();
        for w in writers {
            w.await.expect("writer");
        }
        server = Server::start(db).await;
        assert!(
            started.elapsed() < BUDGET,
            "{backend}: over the {BUDGET:?} budget after {} kills",
            cycle + 1
        );
    }

    let api = server.api(&token);
    let stored = list_everything(&api).await;
    // The writers are done: take what they learned, so no lock is held while checking.
    let l = std::mem::take(&mut *ledger.lock().expect("ledger"));
    assert!(
        l.wrong.is_empty(),
        "{backend}: wrong answers: {:#?}",
        l.wrong
    );
    let companies: Vec<&String> = l.companies.values().collect();

    // Acknowledged writes: present, with an acknowledged (or later, unanswered) value.
    let mut lost = Vec::new();
    for c in &l.contacts {
        let writer_company = c
            .batch
            .split('-')
            .nth(1)
            .and_then(|w| w.parse::<usize>().ok())
            .and_then(|w| l.companies.get(&w));
        match stored.get(&c.id) {
            None => lost.push(format!("{} ({}) is gone", c.id, c.email)),
            Some(s) if s.email != c.email || s.batch != c.batch => {
                lost.push(format!("{} is {} / {}", c.id, s.email, s.batch))
            }
            Some(s) if !c.allowed.contains(&s.firstname) => lost.push(format!(
                "{} firstname {:?}, acknowledged {:?}",
                c.id, s.firstname, c.allowed
            )),
            Some(s) if writer_company.is_none_or(|co| !s.companies.contains(co)) => {
                lost.push(format!("{} lost its company association", c.id))
            }
            Some(_) => {}
        }
    }

    // All-or-nothing: group what is stored by batch marker.
    let mut by_batch: BTreeMap<&str, Vec<&Stored>> = BTreeMap::new();
    for s in stored.values() {
        by_batch.entry(s.batch.as_str()).or_default().push(s);
    }
    let mut partial = Vec::new();
    let (mut unacked_landed, mut unacked_absent) = (0, 0);
    for (marker, acked) in &l.batches {
        let got = by_batch.get(marker.as_str()).map_or(0, Vec::len);
        let associated = by_batch.get(marker.as_str()).map_or(0, |v| {
            v.iter()
                .filter(|s| s.companies.len() == 1 && companies.contains(&&s.companies[0]))
                .count()
        });
        if (got != 0 && got != BATCH) || associated != got || (*acked && got != BATCH) {
            partial.push(format!(
                "{marker} (acknowledged: {acked}): {got} of {BATCH} stored, {associated} associated"
            ));
        }
        if !acked {
            if got == 0 {
                unacked_absent += 1;
            } else {
                unacked_landed += 1;
            }
        }
    }
    let strays: Vec<&&str> = by_batch
        .keys()
        .filter(|m| !l.batches.contains_key(**m))
        .collect();

    // List, search and batch/read agree.
    let mut disagree = Vec::new();
    let total = search_total(
        &api,
        json!({"propertyName": "lastname", "operator": "HAS_PROPERTY"}),
    )
    .await;
    if total as usize != stored.len() {
        disagree.push(format!("search total {total}, list {}", stored.len()));
    }
    for (marker, recs) in by_batch.iter().take(40) {
        let t = search_total(
            &api,
            json!({"propertyName": "lastname", "operator": "EQ", "value": marker}),
        )
        .await;
        if t as usize != recs.len() {
            disagree.push(format!("{marker}: search {t}, list {}", recs.len()));
        }
    }
    for chunk in l.contacts.chunks(100) {
        let inputs: Vec<Value> = chunk.iter().map(|c| json!({"id": c.id})).collect();
        let r = api
            .post(
                "/crm/v3/objects/contacts/batch/read",
                json!({"inputs": inputs, "properties": ["firstname"]}),
            )
            .await;
        let read = r.body["results"].as_array().map_or(0, Vec::len);
        if r.status != 200 || read != chunk.len() {
            disagree.push(format!(
                "batch/read of {} acknowledged ids: {} with {read}",
                chunk.len(),
                r.status
            ));
        }
    }

    let acked_batches = l.batches.values().filter(|a| **a).count();
    println!(
        "{backend}: {KILLS} kills in {:.1?}; {acked_batches} acknowledged batches ({} contacts), \
         {} acknowledged and {} unanswered batch updates; unanswered batches: {unacked_landed} \
         landed whole, {unacked_absent} absent; stored {}; lost {}, partial batches {}, \
         strays {}, disagreements {}",
        started.elapsed(),
        l.contacts.len(),
        l.acked_updates,
        l.unacked_updates,
        stored.len(),
        lost.len(),
        partial.len(),
        strays.len(),
        disagree.len(),
    );
    assert!(
        lost.is_empty(),
        "{backend}: acknowledged writes lost: {lost:#?}"
    );
    assert!(
        partial.is_empty(),
        "{backend}: partial batches: {partial:#?}"
    );
    assert!(strays.is_empty(), "{backend}: unknown batches: {strays:?}");
    assert!(
        disagree.is_empty(),
        "{backend}: store inconsistent: {disagree:#?}"
    );
    assert!(
        acked_batches >= KILLS,
        "{backend}: too few writes got through to mean anything"
    );
    assert!(
        started.elapsed() < BUDGET,
        "{backend}: took {:?}",
        started.elapsed()
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_sustained_writes_loses_nothing_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("spoke.db").display());
    kill_under_writes("sqlite", &["--database", &url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_under_sustained_writes_loses_nothing_on_postgres() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    kill_under_writes("postgres", &schema.args()).await;
}
