//! Issue 12's comparison (`--scenarios custom`): the same read and write workload on contacts
//! and on a custom object type, in the same run against the same server, so that the cost of
//! resolving a type at request time (a custom type comes from the store, a standard one from
//! the catalogue) shows as the ratio of the two.
//!
//! The custom type is created through the schemas API with the benchmark contact's ten
//! properties, the same names and types (`email` unique, as it is on contacts), and loaded with
//! as many records as there are contacts, the same values ([`data::contact`]), so both sides
//! store and move the same bytes. Each workload then runs at every concurrency in [`ROUNDS`]
//! rounds of four legs, contacts, custom, custom, contacts: the machine's speed drifts within
//! a run (other processes, the file cache), and short mirrored legs spread that drift over
//! both sides instead of handing it to one.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::data;
use crate::driver::{drive, Batch, BoxFuture, Limit, Load, Measured, Op, Worker};
use crate::http::{id_inputs, parse, result_ids, results_len, Api, BATCH};
use crate::server::{Resources, RssSampler};
use crate::stats::Latency;

/// The `--scenarios` key.
pub const KEY: &str = "custom";

/// The custom type's name: `p{portal}_bench_records`, `2-{n}`.
const NAME: &str = "bench_records";

/// Rounds of legs (contacts, custom, custom, contacts) per workload and concurrency; each
/// leg runs for the scenario's duration / (2 × ROUNDS), so each side gets the full duration.
pub const ROUNDS: u32 = 4;

/// Where new records' numbers start in the create workload (emails are unique per type, and
/// the contacts' own create scenario counts up from the data set's size).
const CREATE_BASE: u64 = 3_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    BatchRead,
    ListPage,
    BatchCreate,
}

impl Workload {
    /// Reads first, on exactly the loaded records; the create last.
    pub const ALL: [Workload; 3] = [
        Workload::BatchRead,
        Workload::ListPage,
        Workload::BatchCreate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::BatchRead => "batch read (100 ids, 10 properties)",
            Workload::ListPage => "list page (limit 100, 10 properties)",
            Workload::BatchCreate => "batch create (100 records, 10 properties)",
        }
    }
}

/// One workload at one concurrency on both types.
pub struct Comparison {
    pub workload: Workload,
    pub concurrency: usize,
    pub contacts: Measured,
    pub custom: Measured,
    pub contacts_resources: Resources,
    pub custom_resources: Resources,
}

impl Comparison {
    /// Custom objects/s over contacts objects/s.
    pub fn ratio(&self) -> Option<f64> {
        let base = self.contacts.objects_per_sec();
        (base > 0.0).then(|| self.custom.objects_per_sec() / base)
    }

    pub fn errors(&self) -> u64 {
        self.contacts.errors + self.custom.errors
    }
}

/// The schema: the contact's ten properties as text, `email` unique and required.
fn schema_body() -> Value {
    let properties: Vec<Value> = data::CONTACT_PROPERTIES
        .iter()
        .map(|name| {
            json!({ "name": name, "label": name, "type": "string", "fieldType": "text",
                    "hasUniqueValue": *name == "email" })
        })
        .collect();
    json!({
        "name": NAME,
        "labels": { "singular": "Bench record", "plural": "Bench records" },
        "primaryDisplayProperty": "email",
        "secondaryDisplayProperties": [],
        "requiredProperties": ["email"],
        "searchableProperties": ["email", "firstname", "lastname"],
        "associatedObjects": [],
        "properties": properties,
    })
}

/// Creates the custom type; returns its `objectTypeId`.
pub async fn create_type(api: &Api) -> Result<String, String> {
    let body = api
        .post("/crm-object-schemas/v3/schemas", &schema_body(), 201)
        .await?;
    let v = parse(&body)?;
    v["objectTypeId"]
        .as_str()
        .filter(|id| id.starts_with("2-"))
        .map(str::to_owned)
        .ok_or_else(|| format!("the schema answer has no objectTypeId: {v}"))
}

/// Loads records `first + i` of the benchmark contact's shape into `object_type`.
pub struct TypedCreate {
    pub api: Arc<Api>,
    pub object_type: String,
    pub first: u64,
}

impl TypedCreate {
    async fn create(&self, numbers: Range<u64>) -> Result<Vec<i64>, String> {
        let want = numbers.end - numbers.start;
        let body = data::create_body(numbers.map(|i| data::contact(self.first + i)));
        let path = format!("/crm/v3/objects/{}/batch/create", self.object_type);
        let ids = result_ids(&self.api.post_bytes(&path, body, 201).await?)?;
        if ids.len() as u64 != want {
            return Err(format!("{path}: {} results for {want} inputs", ids.len()));
        }
        Ok(ids)
    }
}

impl Batch for TypedCreate {
    fn write(&self, numbers: Range<u64>) -> BoxFuture<'_, Result<Vec<i64>, String>> {
        Box::pin(self.create(numbers))
    }
}

/// One workload on one type. The requests differ between the types only in the path segment
/// that names the type.
struct TypedOp {
    api: Arc<Api>,
    object_type: String,
    ids: Arc<Vec<i64>>,
    workload: Workload,
    next_number: Arc<AtomicU64>,
}

const LIST_PROPERTIES: &str =
    "email,firstname,lastname,phone,company,website,jobtitle,city,state,country";

impl TypedOp {
    async fn run(&self, w: &mut Worker) -> Result<u64, String> {
        let t = &self.object_type;
        match self.workload {
            Workload::BatchRead => {
                let ids: Vec<i64> = w
                    .rng
                    .distinct(self.ids.len(), BATCH)
                    .into_iter()
                    .map(|i| self.ids[i])
                    .collect();
                let body =
                    json!({ "inputs": id_inputs(ids), "properties": data::CONTACT_PROPERTIES });
                let answer = self
                    .api
                    .post(&format!("/crm/v3/objects/{t}/batch/read"), &body, 200)
                    .await?;
                let n = results_len(&parse(&answer)?);
                if n != BATCH as u64 {
                    return Err(format!("batch read of {t}: {n} results for {BATCH} ids"));
                }
                Ok(n)
            }
            Workload::ListPage => {
                // From a random record, following `paging.next.after`, as a sync would.
                let after = match w.cursor.take() {
                    Some(a) => a,
                    None => self.ids[w.rng.below(self.ids.len())].to_string(),
                };
                let path = format!(
                    "/crm/v3/objects/{t}?limit=100&properties={LIST_PROPERTIES}&after={after}"
                );
                let v = parse(&self.api.get(&path, 200).await?)?;
                w.cursor = v["paging"]["next"]["after"].as_str().map(str::to_owned);
                Ok(results_len(&v))
            }
            Workload::BatchCreate => {
                let first = self.next_number.fetch_add(BATCH as u64, Ordering::Relaxed);
                let body = data::create_body((first..first + BATCH as u64).map(data::contact));
                self.api
                    .post_bytes(&format!("/crm/v3/objects/{t}/batch/create"), body, 201)
                    .await?;
                Ok(BATCH as u64)
            }
        }
    }
}

impl Op for TypedOp {
    fn call<'a>(&'a self, w: &'a mut Worker, _ticket: u64) -> BoxFuture<'a, Result<u64, String>> {
        Box::pin(self.run(w))
    }
}

/// The legs of one side as one figure: counts and time add up; p50 and p99 are the legs'
/// request-weighted means (the legs keep only their percentiles), max the largest.
pub(crate) fn merge_all(legs: Vec<Measured>) -> Measured {
    legs.into_iter().reduce(merge).unwrap_or_default()
}

fn merge(a: Measured, b: Measured) -> Measured {
    let (na, nb) = (a.requests as f64, b.requests as f64);
    let total = (na + nb).max(1.0);
    let mean = |x: Duration, y: Duration| {
        Duration::from_secs_f64((x.as_secs_f64() * na + y.as_secs_f64() * nb) / total)
    };
    let mut error_samples = a.error_samples;
    error_samples.extend(b.error_samples);
    error_samples.truncate(5);
    Measured {
        requests: a.requests + b.requests,
        errors: a.errors + b.errors,
        objects: a.objects + b.objects,
        elapsed: a.elapsed + b.elapsed,
        latency: Latency {
            p50: mean(a.latency.p50, b.latency.p50),
            p99: mean(a.latency.p99, b.latency.p99),
            max: a.latency.max.max(b.latency.max),
        },
        longest_gap: a.longest_gap.max(b.longest_gap),
        error_samples,
    }
}

/// The two types' record ids and names, once loaded.
pub struct Sides {
    pub contacts: Arc<Vec<i64>>,
    pub custom_type: String,
    pub custom: Arc<Vec<i64>>,
}

/// Runs every workload at every concurrency on both types ([`ROUNDS`] rounds of legs
/// contacts, custom, custom, contacts).
pub async fn compare(
    api: &Arc<Api>,
    sides: &Sides,
    concurrency: &[usize],
    duration: Duration,
    budget: Option<u64>,
    rss: &RssSampler,
    mut progress: impl FnMut(&str),
) -> Vec<Comparison> {
    let contacts_next = Arc::new(AtomicU64::new(CREATE_BASE));
    let custom_next = Arc::new(AtomicU64::new(CREATE_BASE));
    let legs_per_side = 2 * ROUNDS;
    let limit = Limit {
        duration: Some(duration / legs_per_side),
        budget: budget.map(|b| b.div_ceil(u64::from(legs_per_side))),
    };
    let mut out = Vec::new();
    for workload in Workload::ALL {
        for &c in concurrency {
            let op = |custom: bool| -> Arc<dyn Op> {
                Arc::new(TypedOp {
                    api: api.clone(),
                    object_type: if custom {
                        sides.custom_type.clone()
                    } else {
                        "contacts".to_owned()
                    },
                    ids: if custom {
                        sides.custom.clone()
                    } else {
                        sides.contacts.clone()
                    },
                    workload,
                    next_number: if custom {
                        custom_next.clone()
                    } else {
                        contacts_next.clone()
                    },
                })
            };
            let mut contacts_legs = Vec::new();
            let mut custom_legs = Vec::new();
            let mut contacts_resources: Option<(Resources, Duration)> = None;
            let mut custom_resources: Option<(Resources, Duration)> = None;
            let order = [false, true, true, false];
            for (i, custom) in (0..ROUNDS).flat_map(|_| order).enumerate() {
                let stretch = rss.begin();
                // Both sides' legs get the same seeds (the same random ids' positions, the
                // same starting points of the list walks), in mirrored order.
                let leg = i as u64 % 4;
                let seed = 12_000 + c as u64 * 10 + (i as u64 / 4) * 2 + leg % 2;
                let m = drive(op(custom), c, limit, seed).await;
                let spent = (rss.end(stretch), m.elapsed);
                let (legs, resources) = if custom {
                    (&mut custom_legs, &mut custom_resources)
                } else {
                    (&mut contacts_legs, &mut contacts_resources)
                };
                *resources = Some(match resources.take() {
                    None => spent,
                    Some(before) => (crate::combined(before, spent), before.1 + spent.1),
                });
                legs.push(m);
            }
            let row = Comparison {
                workload,
                concurrency: c,
                contacts: merge_all(contacts_legs),
                custom: merge_all(custom_legs),
                contacts_resources: contacts_resources.map(|r| r.0).unwrap_or_default(),
                custom_resources: custom_resources.map(|r| r.0).unwrap_or_default(),
            };
            progress(&format!(
                "custom vs contacts, {} c={c}: contacts {:.0} objects/s, custom {:.0} objects/s, ratio {}{}",
                workload.name(),
                row.contacts.objects_per_sec(),
                row.custom.objects_per_sec(),
                row.ratio().map_or("—".to_owned(), |r| format!("{r:.3}")),
                if row.errors() > 0 {
                    format!(
                        ", {} ERRORS: {}",
                        row.errors(),
                        row.contacts
                            .error_samples
                            .iter()
                            .chain(&row.custom.error_samples)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(" | ")
                    )
                } else {
                    String::new()
                }
            ));
            out.push(row);
        }
    }
    out
}

/// Creates the type and loads `count` records into it through `batch/create`.
pub async fn load(
    api: &Arc<Api>,
    count: u64,
    concurrency: usize,
) -> Result<(String, Vec<i64>, Measured), String> {
    let object_type = create_type(api).await?;
    let loader = Load::new(
        TypedCreate {
            api: api.clone(),
            object_type: object_type.clone(),
            first: 0,
        },
        count,
    );
    let m = loader.run(concurrency, 11).await;
    if m.errors > 0 {
        return Err(format!(
            "loading {count} records of {object_type} failed: {}",
            m.error_samples.join(" | ")
        ));
    }
    let ids = loader.ids()?;
    Ok((object_type, ids, m))
}
