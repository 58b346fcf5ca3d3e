//! `--snapshots SIZES`: how long the emulator controls (issue 16) take on a portal of each
//! size, straight on the store (the admin API adds one HTTP round trip to each): take a
//! snapshot, restore it over the same data, reset the portal, restore it into the empty
//! portal, delete the portal. Each portal is loaded through the store's batch create
//! (contacts with the bench's data set: every written property also gets a history row),
//! in portals of their own, one database per backend.
//!
//! Then a portal is seeded with the same contacts from a fixture (`admin::seed`: every
//! value through the API's validation, an undo snapshot, the seed snapshot), beside the
//! time the raw batch load of the same contacts took in the same run, and reset to that
//! seed after a change.

use std::sync::Arc;
use std::time::{Duration, Instant};

use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::{NewObject, Store, WriteContext, WriteSource};

use crate::{data, pg, raw};

struct Timing {
    backend: String,
    records: u64,
    load: Duration,
    snapshot: Duration,
    restore_over: Duration,
    reset: Duration,
    restore_empty: Duration,
    delete: Duration,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn load(store: &dyn Store, portal: PortalId, records: u64) -> Result<(), String> {
    let ctx = WriteContext {
        portal,
        object_type: raw::CONTACTS.to_owned(),
        now: now_millis(),
        source: WriteSource {
            source_type: "API".into(),
            source_id: None,
        },
        unique_properties: vec!["email".to_owned()],
        atomic: true,
    };
    let mut n = 0;
    while n < records {
        let end = (n + 100).min(records);
        let items = (n..end)
            .map(|i| NewObject {
                properties: data::to_map(data::contact(i)),
                associations: Vec::new(),
            })
            .collect();
        store
            .create_objects(&ctx, items)
            .await
            .map_err(|e| e.to_string())?;
        n = end;
    }
    Ok(())
}

async fn time<T>(
    what: &str,
    f: impl std::future::Future<Output = spoke_store::StoreResult<T>>,
) -> Result<(Duration, T), String> {
    let started = Instant::now();
    let out = f.await.map_err(|e| format!("{what}: {e}"))?;
    Ok((started.elapsed(), out))
}

async fn measure(store: &dyn Store, backend: &str, records: u64) -> Result<Timing, String> {
    let portal = store
        .create_portal(now_millis())
        .await
        .map_err(|e| e.to_string())?;
    eprintln!(
        "spoke-bench: {backend}: loading {records} contacts into portal {}",
        portal.0
    );
    let started = Instant::now();
    load(store, portal, records).await?;
    let load = started.elapsed();
    let (snapshot, taken) =
        time("snapshot", store.create_snapshot(portal, "s", now_millis())).await?;
    let info = taken.map_err(|e| format!("snapshot refused: {e:?}"))?;
    if info.records != records {
        return Err(format!(
            "snapshot holds {} records, not {records}",
            info.records
        ));
    }
    let (restore_over, ok) = time("restore", store.restore_snapshot(portal, "s")).await?;
    let (reset, ok2) = time("reset", store.reset_portal(portal, now_millis())).await?;
    let (restore_empty, ok3) = time("restore", store.restore_snapshot(portal, "s")).await?;
    let (delete, ok4) = time("delete", store.delete_portal(portal)).await?;
    if !(ok && ok2 && ok3 && ok4) {
        return Err("a call found no portal or snapshot".into());
    }
    Ok(Timing {
        backend: backend.to_owned(),
        records,
        load,
        snapshot,
        restore_over,
        reset,
        restore_empty,
        delete,
    })
}

struct SeedTiming {
    backend: String,
    records: u64,
    /// The raw batch load of the same contacts, from [`Timing`] of the same run.
    load: Duration,
    seed: Duration,
    reset_to_seed: Duration,
}

/// A fixture of `records` contacts with the bench's data, each with a ref.
fn fixture(records: u64) -> serde_json::Value {
    let contacts: Vec<serde_json::Value> = (0..records)
        .map(|i| {
            let properties: serde_json::Map<String, serde_json::Value> = data::contact(i)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
                .collect();
            serde_json::json!({ "ref": format!("c{i}"), "properties": properties })
        })
        .collect();
    serde_json::json!({ "records": { "contacts": contacts } })
}

async fn measure_seed(
    store: &Arc<dyn Store>,
    backend: &str,
    records: u64,
    load: Duration,
) -> Result<SeedTiming, String> {
    use spoke_server::admin::seed::{seed, Mode, SEED_SNAPSHOT};
    let state = spoke_server::AppState::new(store.clone());
    let portal = store
        .create_portal(now_millis())
        .await
        .map_err(|e| e.to_string())?;
    let fixture = fixture(records);
    eprintln!(
        "spoke-bench: {backend}: seeding {records} contacts into portal {}",
        portal.0
    );
    let started = Instant::now();
    let seeded = seed(&state, portal, &fixture, Mode::Add)
        .await
        .map_err(|e| format!("seed: {} {}", e.message, e.cause.unwrap_or_default()))?
        .ok_or("seed: no portal")?;
    let seed_took = started.elapsed();
    if seeded.counts.records as u64 != records {
        return Err(format!(
            "seeded {} records, not {records}",
            seeded.counts.records
        ));
    }
    // A change for the reset to undo: one more contact.
    let ctx = WriteContext {
        portal,
        object_type: raw::CONTACTS.to_owned(),
        now: now_millis(),
        source: WriteSource {
            source_type: "API".into(),
            source_id: None,
        },
        unique_properties: vec!["email".to_owned()],
        atomic: true,
    };
    let extra = NewObject {
        properties: data::to_map(vec![("email", "changed@example.com".to_owned())]),
        associations: Vec::new(),
    };
    let written = store
        .create_objects(&ctx, vec![extra])
        .await
        .map_err(|e| e.to_string())?;
    if !written.iter().all(Result::is_ok) {
        return Err("the change was not written".into());
    }
    let (reset_to_seed, ok) = time(
        "reset to seed",
        store.restore_snapshot(portal, SEED_SNAPSHOT),
    )
    .await?;
    let (_, ok2) = time("delete", store.delete_portal(portal)).await?;
    if !(ok && ok2) {
        return Err("a call found no portal or seed".into());
    }
    Ok(SeedTiming {
        backend: backend.to_owned(),
        records,
        load,
        seed: seed_took,
        reset_to_seed,
    })
}

/// Runs the timings on every database named (`sqlite`, or a PostgreSQL server URL where a
/// database may be created and dropped) and prints a Markdown table.
pub async fn run(databases: &[String], sizes: &[u64]) -> Result<(), String> {
    let mut rows = Vec::new();
    let mut seeds = Vec::new();
    for db in databases {
        if db == "sqlite" {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let url = format!("sqlite://{}", dir.path().join("snapshots.db").display());
            let store = raw::open(&url).await?;
            for &n in sizes {
                let t = measure(store.as_ref(), "SQLite", n).await?;
                seeds.push(measure_seed(&store, "SQLite", n, t.load).await?);
                rows.push(t);
            }
        } else {
            let fresh = pg::FreshDatabase::create(db, "_snapshots").await?;
            let result = async {
                let store = raw::open(&fresh.url).await?;
                let mut out = Vec::new();
                for &n in sizes {
                    let t = measure(store.as_ref(), "PostgreSQL", n).await?;
                    let s = measure_seed(&store, "PostgreSQL", n, t.load).await?;
                    out.push((t, s));
                }
                Ok::<_, String>(out)
            }
            .await;
            fresh.drop_database().await?;
            for (t, s) in result? {
                rows.push(t);
                seeds.push(s);
            }
        }
    }
    println!("| backend | records | snapshot | restore (over the same data) | reset | restore (into the reset portal) | delete portal |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for t in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            t.backend,
            t.records,
            ms(t.snapshot),
            ms(t.restore_over),
            ms(t.reset),
            ms(t.restore_empty),
            ms(t.delete)
        );
    }
    println!();
    println!("| backend | records | raw batch load (same contacts, 100 per call) | seed from a fixture | reset to the seed (after a change) |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for t in seeds {
        println!(
            "| {} | {} | {} | {} | {} |",
            t.backend,
            t.records,
            ms(t.load),
            ms(t.seed),
            ms(t.reset_to_seed)
        );
    }
    Ok(())
}
