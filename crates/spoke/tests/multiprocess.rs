//! Several `spoke serve` processes on one PostgreSQL database, driven at once by concurrent
//! clients through different processes: what one server guarantees must hold across all.
//!
//! - unique values (contact email, a `hasUniqueValue` property) never end up on two records;
//! - concurrent PATCHes of different properties of one record lose no update;
//! - ids are never handed out twice;
//! - a token made with `spoke token create` works on every process at once (and a revoked
//!   one stops at once);
//! - association paging on one process while others add and remove associations sees no
//!   duplicates and no gaps among the associations that existed throughout.
//!
//! One test runs the phases in turn on one set of servers (each phase in its own portal),
//! so the test never needs more than three pools of connections. Needs
//! `SPOKE_TEST_POSTGRES_URL`; without it, it says it is skipped.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use common::{spoke_ok, token_create, Api, PgSchema, Reply, Server};
use serde_json::{json, Value};

const SERVERS: usize = 3;
const CLIENTS: usize = 16;

struct Cluster {
    schema: PgSchema,
    servers: Vec<Server>,
}

impl Cluster {
    fn db(&self) -> [&str; 4] {
        self.schema.args()
    }

    /// One client per server, with `token`.
    fn apis(&self, token: &str) -> Vec<Api> {
        self.servers.iter().map(|s| s.api(token)).collect()
    }
}

fn id_of(v: &Value) -> i64 {
    v["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no string id in {v}"))
}

fn expect(r: &Reply, statuses: &[u16], what: &str) {
    assert!(
        statuses.contains(&r.status),
        "{what}: status {} (expected one of {statuses:?}): {}",
        r.status,
        r.body
    );
}

/// Every record of a type in the portal, through `api`, with `properties`.
async fn list_all(api: &Api, object_type: &str, properties: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/crm/v3/objects/{object_type}?limit=100&properties={properties}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let r = api.get(&path).await;
        expect(&r, &[200], "list");
        out.extend(r.body["results"].as_array().cloned().unwrap_or_default());
        match r.body["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_servers_share_one_database() {
    let Some(url) = common::pg_url() else {
        return;
    };
    let schema = PgSchema::new(&url);
    // Migrate and make the first portal, then start every server at once.
    token_create(&schema.args(), 1);
    let mut starting = Vec::new();
    for _ in 0..SERVERS {
        let args: Vec<String> = schema.args().iter().map(|s| (*s).to_owned()).collect();
        starting.push(tokio::spawn(async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            Server::start(&refs).await
        }));
    }
    let mut servers = Vec::new();
    for s in starting {
        servers.push(s.await.expect("start a server"));
    }
    let cluster = Cluster { schema, servers };

    for (name, portal) in [
        ("unique values", 101),
        ("patches", 102),
        ("ids", 103),
        ("tokens", 104),
        ("association paging", 105),
    ] {
        let started = Instant::now();
        match name {
            "unique values" => unique_values_stay_unique(&cluster, portal).await,
            "patches" => patches_of_one_record_lose_no_update(&cluster, portal).await,
            "ids" => ids_are_never_handed_out_twice(&cluster, portal).await,
            "tokens" => tokens_work_on_every_process_at_once(&cluster, portal).await,
            _ => association_paging_has_no_duplicates_or_gaps(&cluster, portal).await,
        }
        println!("{name}: ok in {:.1} s", started.elapsed().as_secs_f64());
    }
    drop(cluster);
}

/// Concurrent creates and upserts of the same emails and the same `hasUniqueValue` values
/// through different processes: every value ends up on exactly one record, and every
/// client that was told an id for a value was told the same one.
async fn unique_values_stay_unique(cluster: &Cluster, portal: i64) {
    let token = token_create(&cluster.db(), portal);
    let apis = cluster.apis(&token);
    let made = apis[0]
        .post(
            "/crm/v3/properties/contacts",
            json!({"name": "member_id", "label": "Member", "type": "string", "fieldType": "text",
                   "groupName": "contactinformation", "hasUniqueValue": true}),
        )
        .await;
    expect(&made, &[201], "create member_id");
    // The definition is visible through every process at once (nothing is cached).
    for api in &apis {
        expect(
            &api.get("/crm/v3/properties/contacts/member_id").await,
            &[200],
            "read member_id",
        );
    }

    const VALUES: usize = 12;
    const ROUNDS: usize = 24;
    let mut tasks = Vec::new();
    for t in 0..CLIENTS {
        let apis = apis.clone();
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<(&'static str, String, i64)> = Vec::new();
            for round in 0..ROUNDS {
                let api = &apis[(t + round) % SERVERS];
                let k = (t * 7 + round) % VALUES;
                let email = format!("u{k}@example.com");
                let key = format!("K-{k}");
                match (t + round) % 4 {
                    0 => {
                        let r = api
                            .post(
                                "/crm/v3/objects/contacts/batch/create",
                                json!({"inputs": [{"properties": {"email": email, "firstname": format!("t{t}")}}]}),
                            )
                            .await;
                        expect(&r, &[201, 409], "batch create by email");
                        if r.status == 201 {
                            seen.push(("email", email, id_of(&r.body["results"][0])));
                        } else {
                            let msg = r.body["message"].as_str().unwrap_or_default();
                            assert!(msg.starts_with("Contact already exists"), "{}", r.body);
                        }
                    }
                    1 => {
                        let r = api
                            .post(
                                "/crm/v3/objects/contacts/batch/upsert",
                                json!({"inputs": [{"id": email, "idProperty": "email",
                                                   "properties": {"lastname": format!("r{round}")}}]}),
                            )
                            .await;
                        expect(&r, &[200], "upsert by email");
                        seen.push(("email", email, id_of(&r.body["results"][0])));
                    }
                    2 => {
                        let r = api
                            .post(
                                "/crm/v3/objects/contacts",
                                json!({"properties": {"member_id": key, "firstname": format!("t{t}")}}),
                            )
                            .await;
                        expect(&r, &[201, 409], "create by member_id");
                        if r.status == 201 {
                            seen.push(("member_id", key, id_of(&r.body)));
                        }
                    }
                    _ => {
                        let r = api
                            .post(
                                "/crm/v3/objects/contacts/batch/upsert",
                                json!({"inputs": [{"id": key, "idProperty": "member_id",
                                                   "properties": {"lastname": format!("r{round}")}}]}),
                            )
                            .await;
                        expect(&r, &[200], "upsert by member_id");
                        seen.push(("member_id", key, id_of(&r.body["results"][0])));
                    }
                }
            }
            seen
        }));
    }
    let mut ids: BTreeMap<(&str, String), BTreeSet<i64>> = BTreeMap::new();
    for t in tasks {
        for (property, value, id) in t.await.expect("client task") {
            ids.entry((property, value)).or_default().insert(id);
        }
    }
    for kind in ["email", "member_id"] {
        assert!(
            ids.keys().any(|(p, _)| *p == kind),
            "{kind} values were written: {ids:?}"
        );
    }
    for (key, set) in &ids {
        assert_eq!(set.len(), 1, "{key:?} was given several records: {set:?}");
    }

    // Every process finds each value on that one record, and no record shares a value.
    for (i, api) in apis.iter().enumerate() {
        for property in ["email", "member_id"] {
            let values: Vec<&String> = ids
                .keys()
                .filter(|(p, _)| *p == property)
                .map(|(_, v)| v)
                .collect();
            let r = api
                .post(
                    "/crm/v3/objects/contacts/batch/read",
                    json!({"idProperty": property, "properties": [property],
                           "inputs": values.iter().map(|v| json!({"id": v})).collect::<Vec<_>>()}),
                )
                .await;
            expect(&r, &[200], "batch read by unique value");
            let results = r.body["results"].as_array().cloned().unwrap_or_default();
            assert_eq!(results.len(), values.len(), "process {i}: {}", r.body);
            for rec in &results {
                let value = rec["properties"][property]
                    .as_str()
                    .expect("the value")
                    .to_owned();
                let expected = ids[&(property, value.clone())].iter().next().copied();
                assert_eq!(
                    Some(id_of(rec)),
                    expected,
                    "process {i}: {property} {value}"
                );
            }
        }
        let all = list_all(api, "contacts", "email,member_id").await;
        for property in ["email", "member_id"] {
            let mut holders: BTreeMap<String, usize> = BTreeMap::new();
            for rec in &all {
                if let Some(v) = rec["properties"][property].as_str() {
                    *holders.entry(v.to_owned()).or_default() += 1;
                }
            }
            for (v, n) in holders {
                assert_eq!(n, 1, "process {i}: {property} {v} is on {n} records");
            }
        }
    }
}

/// Sixteen clients PATCH sixteen different properties of one record, each twenty times,
/// through rotating processes: every last value and every history entry is there.
async fn patches_of_one_record_lose_no_update(cluster: &Cluster, portal: i64) {
    const ROUNDS: usize = 20;
    let token = token_create(&cluster.db(), portal);
    let apis = cluster.apis(&token);
    let inputs: Vec<Value> = (0..CLIENTS)
        .map(|i| {
            json!({"name": format!("f{i}"), "label": format!("F{i}"), "type": "string",
                   "fieldType": "text", "groupName": "contactinformation"})
        })
        .collect();
    let r = apis[0]
        .post(
            "/crm/v3/properties/contacts/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    expect(&r, &[201], "create f0..f15");
    let r = apis[1]
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "patched@example.com"}}),
        )
        .await;
    expect(&r, &[201], "create the record");
    let id = id_of(&r.body);

    let mut tasks = Vec::new();
    for t in 0..CLIENTS {
        let apis = apis.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..ROUNDS {
                let r = apis[(t + round) % SERVERS]
                    .patch(
                        &format!("/crm/v3/objects/contacts/{id}"),
                        json!({"properties": {format!("f{t}"): format!("t{t}-r{round}")}}),
                    )
                    .await;
                expect(&r, &[200], "PATCH");
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let names: Vec<String> = (0..CLIENTS).map(|i| format!("f{i}")).collect();
    let list = names.join(",");
    for (i, api) in apis.iter().enumerate() {
        let r = api
            .get(&format!(
                "/crm/v3/objects/contacts/{id}?properties={list}&propertiesWithHistory={list}"
            ))
            .await;
        expect(&r, &[200], "read the record");
        for (t, name) in names.iter().enumerate() {
            assert_eq!(
                r.body["properties"][name],
                json!(format!("t{t}-r{}", ROUNDS - 1)),
                "process {i}: the last write of {name} is kept"
            );
            let history = r.body["propertiesWithHistory"][name]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let values: Vec<&str> = history.iter().filter_map(|h| h["value"].as_str()).collect();
            let expected: Vec<String> = (0..ROUNDS).rev().map(|r| format!("t{t}-r{r}")).collect();
            assert_eq!(
                values, expected,
                "process {i}: every write of {name} is in its history"
            );
        }
    }
}

/// Sixteen clients create records of two types in batches through rotating processes:
/// no id is given out twice, and every record is there.
async fn ids_are_never_handed_out_twice(cluster: &Cluster, portal: i64) {
    const ROUNDS: usize = 8;
    const BATCH: usize = 10;
    let token = token_create(&cluster.db(), portal);
    let apis = cluster.apis(&token);
    let mut tasks = Vec::new();
    for t in 0..CLIENTS {
        let apis = apis.clone();
        tasks.push(tokio::spawn(async move {
            let object_type = if t % 2 == 0 { "contacts" } else { "companies" };
            let mut ids = Vec::new();
            for round in 0..ROUNDS {
                let inputs: Vec<Value> = (0..BATCH)
                    .map(|i| {
                        json!({"properties": {"firstname": format!("{t}-{round}-{i}"),
                                                   "name": format!("{t}-{round}-{i}")}})
                    })
                    .map(|mut v| {
                        // Each type gets only its own property.
                        let drop = if object_type == "contacts" {
                            "name"
                        } else {
                            "firstname"
                        };
                        if let Some(p) = v["properties"].as_object_mut() {
                            p.remove(drop);
                        }
                        v
                    })
                    .collect();
                let r = apis[(t + round) % SERVERS]
                    .post(
                        &format!("/crm/v3/objects/{object_type}/batch/create"),
                        json!({ "inputs": inputs }),
                    )
                    .await;
                expect(&r, &[201], "batch create");
                let results = r.body["results"].as_array().cloned().unwrap_or_default();
                assert_eq!(results.len(), BATCH);
                ids.extend(results.iter().map(id_of));
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), CLIENTS * ROUNDS * BATCH);
    assert_eq!(distinct.len(), all.len(), "an id was handed out twice");
    for (i, api) in apis.iter().enumerate() {
        let mut listed: HashSet<i64> = HashSet::new();
        for ty in ["contacts", "companies"] {
            listed.extend(list_all(api, ty, "hs_object_id").await.iter().map(id_of));
        }
        assert_eq!(
            listed, distinct,
            "process {i} lists exactly the created records"
        );
    }
}

/// A token created by another process (`spoke token create`) is accepted by every server
/// at once; revoked, it is refused by every server at once.
async fn tokens_work_on_every_process_at_once(cluster: &Cluster, portal: i64) {
    for _ in 0..SERVERS {
        let token = token_create(&cluster.db(), portal);
        for (i, s) in cluster.servers.iter().enumerate() {
            let r = s.api(&token).get("/crm/v3/objects/contacts?limit=1").await;
            expect(&r, &[200], &format!("new token on process {i}"));
        }
        let mut args = vec!["token", "list"];
        args.extend_from_slice(&cluster.db());
        let listing = spoke_ok(&args);
        let id = listing
            .lines()
            .find(|l| {
                l.split_whitespace()
                    .nth(2)
                    .is_some_and(|p| token.starts_with(p.trim_end_matches('…')))
            })
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("the new token is listed: {listing}"))
            .to_owned();
        let mut args = vec!["token", "revoke"];
        args.extend_from_slice(&cluster.db());
        args.push(&id);
        spoke_ok(&args);
        for (i, s) in cluster.servers.iter().enumerate() {
            let r = s.api(&token).get("/crm/v3/objects/contacts?limit=1").await;
            expect(&r, &[401], &format!("revoked token on process {i}"));
        }
    }
}

/// One process pages through a contact's 200 stable company associations, 50 at a time,
/// again and again, while clients on the other processes add and remove associations to
/// other companies whose ids lie between the stable ones: each scan is ascending, without
/// duplicates, and holds every stable association.
async fn association_paging_has_no_duplicates_or_gaps(cluster: &Cluster, portal: i64) {
    const COMPANIES: usize = 400;
    const SCANS: usize = 12;
    let token = token_create(&cluster.db(), portal);
    let apis = cluster.apis(&token);
    let mut companies = Vec::new();
    for chunk in 0..COMPANIES / 100 {
        let inputs: Vec<Value> = (0..100)
            .map(|i| json!({"properties": {"name": format!("Co{}", chunk * 100 + i)}}))
            .collect();
        let r = apis[chunk % SERVERS]
            .post(
                "/crm/v3/objects/companies/batch/create",
                json!({ "inputs": inputs }),
            )
            .await;
        expect(&r, &[201], "create companies");
        companies.extend(
            r.body["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(id_of),
        );
    }
    companies.sort_unstable();
    let stable: Vec<i64> = companies.iter().copied().step_by(2).collect();
    let churn: Vec<i64> = companies.iter().copied().skip(1).step_by(2).collect();
    let r = apis[0]
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "pager@example.com"}}),
        )
        .await;
    expect(&r, &[201], "create the contact");
    let contact = id_of(&r.body);
    let inputs: Vec<Value> = stable
        .iter()
        .chain(churn.iter().step_by(2))
        .map(|co| {
            json!({"from": {"id": contact.to_string()}, "to": {"id": co.to_string()},
                   "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]})
        })
        .collect();
    for chunk in inputs.chunks(100) {
        let r = apis[1]
            .post(
                "/crm/v4/associations/contacts/companies/batch/create",
                json!({ "inputs": chunk }),
            )
            .await;
        expect(&r, &[201], "associate");
    }

    // Writers on processes 1 and 2 flip the churn associations until the reader is done.
    let stop = Arc::new(AtomicBool::new(false));
    let flips = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..8 {
        let api = apis[1 + w % (SERVERS - 1)].clone();
        let (stop, flips, churn) = (stop.clone(), flips.clone(), churn.clone());
        writers.push(tokio::spawn(async move {
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1);
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let co = churn[(x % churn.len() as u64) as usize];
                let path = format!("/crm/v4/objects/contacts/{contact}/associations");
                let r = if x & 1 == 0 {
                    api.call(
                        reqwest::Method::PUT,
                        &format!("{path}/default/companies/{co}"),
                        None,
                    )
                    .await
                } else {
                    api.delete(&format!("{path}/companies/{co}")).await
                };
                expect(&r, &[200, 204], "flip an association");
                flips.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let reader = &apis[0];
    let stable_set: BTreeSet<i64> = stable.iter().copied().collect();
    let mut scan_flips = Vec::new();
    for scan in 0..SCANS {
        let before = flips.load(Ordering::Relaxed);
        let mut seen: Vec<i64> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut path =
                format!("/crm/v4/objects/contacts/{contact}/associations/companies?limit=50");
            if let Some(a) = &after {
                path.push_str(&format!("&after={a}"));
            }
            let r = reader.get(&path).await;
            expect(&r, &[200], "page associations");
            let page = r.body["results"].as_array().cloned().unwrap_or_default();
            assert!(page.len() <= 50, "a page holds at most the limit");
            seen.extend(
                page.iter()
                    .map(|t| t["toObjectId"].as_i64().expect("toObjectId")),
            );
            match r.body["paging"]["next"]["after"].as_str() {
                Some(a) => after = Some(a.to_owned()),
                None => break,
            }
        }
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "scan {scan}: ascending, no duplicates: {seen:?}"
        );
        let got: BTreeSet<i64> = seen.iter().copied().collect();
        let missing: Vec<&i64> = stable_set.difference(&got).collect();
        assert!(
            missing.is_empty(),
            "scan {scan}: stable associations missing: {missing:?}"
        );
        assert!(
            got.iter()
                .all(|id| stable_set.contains(id) || churn.contains(id)),
            "scan {scan}: only associated companies"
        );
        scan_flips.push(flips.load(Ordering::Relaxed) - before);
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer task");
    }
    assert!(
        scan_flips.iter().filter(|n| **n > 0).count() >= SCANS / 2,
        "associations changed during the scans: {scan_flips:?}"
    );
}
