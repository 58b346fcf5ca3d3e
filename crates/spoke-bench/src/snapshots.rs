//! `--snapshots SIZES`: how long the emulator controls (issue 16) take on a portal of each
//! size, straight on the store (the admin API adds one HTTP round trip to each): take a
//! snapshot, restore it over the same data, reset the portal, restore it into the empty
//! portal, delete the portal. Each portal is loaded through the store's batch create
//! (contacts with the bench's data set: every written property also gets a history row),
//! in portals of their own, one database per backend.

use std::time::{Duration, Instant};

use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::{NewObject, Store, WriteContext, WriteSource};

use crate::{data, pg, raw};

struct Timing {
    backend: String,
    records: u64,
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
    load(store, portal, records).await?;
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
        snapshot,
        restore_over,
        reset,
        restore_empty,
        delete,
    })
}

/// Runs the timings on every database named (`sqlite`, or a PostgreSQL server URL where a
/// database may be created and dropped) and prints a Markdown table.
pub async fn run(databases: &[String], sizes: &[u64]) -> Result<(), String> {
    let mut rows = Vec::new();
    for db in databases {
        if db == "sqlite" {
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let url = format!("sqlite://{}", dir.path().join("snapshots.db").display());
            let store = raw::open(&url).await?;
            for &n in sizes {
                rows.push(measure(store.as_ref(), "SQLite", n).await?);
            }
        } else {
            let fresh = pg::FreshDatabase::create(db, "_snapshots").await?;
            let result = async {
                let store = raw::open(&fresh.url).await?;
                let mut out = Vec::new();
                for &n in sizes {
                    out.push(measure(store.as_ref(), "PostgreSQL", n).await?);
                }
                Ok::<_, String>(out)
            }
            .await;
            fresh.drop_database().await?;
            rows.extend(result?);
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
    Ok(())
}
