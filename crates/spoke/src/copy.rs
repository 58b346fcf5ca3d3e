//! `spoke copy`: every row of one database into another, any backend to any backend.
//!
//! Tables go in dependency order ([`Table::ALL`]), each in chunks of `chunk` rows in key
//! order: one chunk is read from the source while the previous one is written to the
//! destination (one transaction per chunk, upserting), so memory stays flat whatever the
//! size. Ids, versions, timestamps, archived state, history and token hashes are copied as
//! they are; at the end the destination's id generators are moved past the copied ids and
//! the row counts of every table are compared.
//!
//! Text holding U+0000 (which older spoke versions stored on SQLite, and PostgreSQL cannot
//! hold) stops the copy: the rest of the source is still read, nothing more is written, and
//! every such value is listed by table, row key and column. With `strip_nul` the character
//! is removed from each instead, and each is listed as a warning.
//!
//! Running it again is safe: rows already copied and unchanged are left alone (the summary
//! says how many rows were written). Rows that exist only in the destination are kept, so
//! the destination should be empty or an earlier copy of the same source; a table whose
//! counts then differ fails the verification. Copy a database nobody writes to (stop the
//! servers first): a copy taken under writes is not one consistent snapshot.

use std::sync::Arc;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use spoke_store::transfer::Chunks;
use spoke_store::{Rows, Store, Table};

/// Copies, then verifies. `Err` if anything failed or the counts differ.
pub async fn run(
    source: Arc<dyn Store>,
    dest: Arc<dyn Store>,
    chunk: usize,
    labels: (&str, &str),
    strip_nul: bool,
) -> Result<(), String> {
    let chunk = chunk.max(1);
    let started = Instant::now();
    let mut total = 0u64;
    for t in Table::ALL {
        total += count(source.as_ref(), t, "source").await?;
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg:<18} {bar:40} {pos}/{len} rows {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // The reader runs one chunk ahead of the writer.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Rows>(2);
    let reader = {
        let source = source.clone();
        tokio::spawn(async move {
            for table in Table::ALL {
                let mut chunks = Chunks::new(source.as_ref(), table, chunk);
                while let Some(rows) = chunks
                    .next()
                    .await
                    .map_err(|e| format!("reading {table} from the source: {e}"))?
                {
                    if tx.send(rows).await.is_err() {
                        // The writer stopped; it reports why.
                        return Ok(());
                    }
                }
            }
            Ok::<(), String>(())
        })
    };
    let mut written = 0u64;
    let mut copied = 0u64;
    let mut failure = None;
    let mut nul = Vec::new();
    while let Some(mut rows) = rx.recv().await {
        let table = rows.table();
        let n = rows.len() as u64;
        bar.set_message(table.name());
        let found = rows.find_nul(strip_nul);
        if strip_nul {
            for f in &found {
                bar.suspend(|| errln!("spoke copy: removed U+0000 from {f}"));
            }
        }
        nul.extend(found);
        if !strip_nul && !nul.is_empty() {
            // Keep reading, to list every such value at once, but write nothing more.
            copied += n;
            bar.inc(n);
            continue;
        }
        match dest.import_rows(rows).await {
            Ok(w) => written += w,
            Err(e) => {
                failure = Some(format!("writing {table} to the destination: {e}"));
                break;
            }
        }
        copied += n;
        bar.inc(n);
    }
    drop(rx);
    let read = reader
        .await
        .map_err(|e| format!("the reader task failed: {e}"))?;
    bar.finish_and_clear();
    if let Some(e) = failure {
        return Err(e);
    }
    read?;
    if !strip_nul && !nul.is_empty() {
        const SHOWN: usize = 20;
        let mut list: Vec<String> = nul.iter().take(SHOWN).map(|f| format!("  {f}")).collect();
        if nul.len() > SHOWN {
            list.push(format!("  ... and {} more", nul.len() - SHOWN));
        }
        return Err(format!(
            "the source holds the character U+0000 (NUL) in {} text value(s); PostgreSQL cannot \
             store it and spoke no longer accepts it. Nothing from the first such chunk on was \
             written (running again is safe). Remove the character in the source, or run again \
             with --strip-nul to copy these values without it:\n{}",
            nul.len(),
            list.join("\n")
        ));
    }
    dest.finish_import()
        .await
        .map_err(|e| format!("finishing the destination (id sequences, statistics): {e}"))?;

    // Verify: every table's count, source against destination.
    let (from, to) = labels;
    outln!("copied {from} -> {to}");
    outln!();
    outln!("{:<20} {:>12} {:>12}", "table", "source", "destination");
    let mut differ = Vec::new();
    for t in Table::ALL {
        let s = count(source.as_ref(), t, "source").await?;
        let d = count(dest.as_ref(), t, "destination").await?;
        let mark = if s == d { "" } else { "  MISMATCH" };
        outln!("{:<20} {s:>12} {d:>12}{mark}", t.name());
        if s != d {
            differ.push(t.name());
        }
    }
    outln!();
    outln!(
        "{copied} rows read, {written} written (new or changed), {} unchanged, in {:.1} s",
        copied.saturating_sub(written),
        started.elapsed().as_secs_f64()
    );
    if differ.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "row counts differ in {} (was the source written to during the copy, or did the \
             destination hold other data?)",
            differ.join(", ")
        ))
    }
}

async fn count(store: &dyn Store, table: Table, side: &str) -> Result<u64, String> {
    store
        .count_rows(table)
        .await
        .map_err(|e| format!("counting {table} in the {side}: {e}"))
}
