//! `spoke import`: records from CSV or JSON Lines, any object type (partner types too).
//!
//! Two passes: every row is validated first, exactly as the API validates a write, and any
//! bad row (reported with its line number) stops the import before anything is written.
//! Then rows are written in batches, one transaction each, with `sourceType` IMPORT.
//! The ids created go to stdout, one a line in file order (`IDS=$(spoke import …)`);
//! progress and the summary go to stderr.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use spoke_core::time::now_millis;
use spoke_core::PortalId;
use spoke_store::schema::{resolve_type, TypeSchema};
use spoke_store::{ItemFailure, NewObject, Store, WriteSource};

/// One record of the file with the line it started on.
struct Row {
    line: usize,
    properties: BTreeMap<String, Value>,
}

fn read_rows(file: &Path) -> Result<Vec<Row>, String> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ext == "csv" {
        read_csv(file)
    } else if matches!(ext.as_str(), "jsonl" | "ndjson" | "json") {
        read_jsonl(file)
    } else {
        Err(format!(
            "{}: unknown file type; use .csv or .jsonl",
            file.display()
        ))
    }
}

fn read_csv(file: &Path) -> Result<Vec<Row>, String> {
    let mut reader =
        csv::Reader::from_path(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{}: header row: {e}", file.display()))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("{}: {e}", file.display()))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let properties = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.trim().to_owned(), Value::String(v.to_owned())))
            .collect();
        rows.push(Row { line, properties });
    }
    Ok(rows)
}

fn read_jsonl(file: &Path) -> Result<Vec<Row>, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut rows = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(raw)
            .map_err(|e| format!("{}:{line}: invalid JSON: {e}", file.display()))?;
        let Some(Value::Object(props)) = value.get("properties") else {
            return Err(format!(
                "{}:{line}: expected an object like {{\"properties\": {{...}}}}",
                file.display()
            ));
        };
        rows.push(Row {
            line,
            properties: props.clone().into_iter().collect(),
        });
    }
    Ok(rows)
}

pub async fn run(
    store: Arc<dyn Store>,
    portal: PortalId,
    type_name: &str,
    batch_size: usize,
    file: &Path,
) -> Result<(), String> {
    // A custom type of the portal imports like a standard one (`2-…`, `p_{name}`).
    let ty = resolve_type(store.as_ref(), portal, type_name)
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    store
        .ensure_portal(portal, now_millis())
        .await
        .map_err(|e| e.to_string())?;
    // Records carry the portal's time, as the API's writes do (a frozen or offset clock).
    let clock = store
        .read_clock(portal)
        .await
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    let mut schema = TypeSchema::load(store.as_ref(), portal, ty.clone())
        .await
        .map_err(|e| e.to_string())?;
    let rows = read_rows(file)?;
    // Imported owners are held to the portal's live owners, as the API holds them.
    schema
        .hold_owners(store.as_ref(), rows.iter().map(|r| &r.properties))
        .await
        .map_err(|e| e.to_string())?;

    // Import creates records: pipeline and stage are checked as the API checks a create.
    let pipelines = match ty.pipelines {
        Some(_) if schema.touches_pipelines(rows.iter().map(|r| &r.properties)) => store
            .read_pipelines(portal, ty.id.as_str())
            .await
            .map_err(|e| e.to_string())?,
        _ => Vec::new(),
    };
    let mut valid = Vec::with_capacity(rows.len());
    let mut bad = Vec::new();
    for row in &rows {
        let checked = schema.validate(&row.properties).and_then(|mut v| {
            if let Some(rules) = &ty.pipelines {
                spoke_store::pipelines::check_record(rules, &pipelines, &mut v, None)?;
            }
            Ok(v)
        });
        match checked {
            Ok(mut props) => {
                props.retain(|_, v| !v.is_empty());
                valid.push((row.line, props));
            }
            Err(errors) => {
                for e in errors {
                    bad.push(format!(
                        "{}:{}: {} ({})",
                        file.display(),
                        row.line,
                        e.message,
                        e.code
                    ));
                }
            }
        }
    }
    if !bad.is_empty() {
        return Err(format!(
            "nothing imported; {} invalid value(s):\n{}",
            bad.len(),
            bad.join("\n")
        ));
    }

    let bar = ProgressBar::new(valid.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let source = WriteSource {
        source_type: "IMPORT".into(),
        source_id: file.file_name().and_then(|n| n.to_str()).map(str::to_owned),
    };
    let mut written = 0usize;
    let mut ids_out = Ok(());
    for chunk in valid.chunks(batch_size.max(1)) {
        let ctx = schema.write_context(clock.now(now_millis()), source.clone(), true);
        let items = chunk
            .iter()
            .map(|(_, p)| NewObject {
                properties: p.clone(),
                associations: Vec::new(),
            })
            .collect();
        let outcomes = store
            .create_objects(&ctx, items)
            .await
            .map_err(|e| e.to_string())?;
        let mut ids = Vec::with_capacity(chunk.len());
        for (outcome, (line, _)) in outcomes.iter().zip(chunk) {
            match outcome {
                Ok(record) => ids.push(record.id.to_string()),
                Err(ItemFailure::Conflict {
                    property,
                    value,
                    existing_id,
                }) => {
                    bar.abandon();
                    return Err(format!(
                        "{}:{line}: {property} \"{value}\" already belongs to record {existing_id}; \
                         this batch was not written, {written} record(s) before it were",
                        file.display()
                    ));
                }
                Err(_) => {}
            }
        }
        // Each batch's ids once it is committed, so stdout lists exactly what was written
        // even when a later batch fails. A reader that stops reading (`| head -1`) does not
        // stop the import; a failing stdout (a full disk) fails the command at the end.
        if !ids.is_empty() && ids_out.is_ok() {
            ids_out = bar.suspend(|| crate::out::try_line(format_args!("{}", ids.join("\n"))));
        }
        written += chunk.len();
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    // Ids came from the store's own generator, so only the planner statistics change here.
    store
        .finish_import()
        .await
        .map_err(|e| format!("refreshing the database's statistics: {e}"))?;
    errln!(
        "imported {written} {} record(s) into portal {}",
        ty.name,
        portal.0
    );
    match ids_out {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!(
            "the records were imported, but writing their ids failed: {e}"
        )),
        _ => Ok(()),
    }
}
