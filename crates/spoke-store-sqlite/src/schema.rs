//! Versioned schema: `PRAGMA user_version` counts the migrations applied.

use rusqlite::Connection;

pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_associations.sql"),
    include_str!("../migrations/0003_search.sql"),
    include_str!("../migrations/0004_live_updated.sql"),
    include_str!("../migrations/0005_live_ids.sql"),
    include_str!("../migrations/0006_archived_ids.sql"),
    include_str!("../migrations/0007_directory.sql"),
    include_str!("../migrations/0008_pipelines.sql"),
    include_str!("../migrations/0009_custom_objects.sql"),
    include_str!("../migrations/0010_oauth.sql"),
    include_str!("../migrations/0011_admin.sql"),
    include_str!("../migrations/0012_webhooks.sql"),
    include_str!("../migrations/0013_emulator.sql"),
    include_str!("../migrations/0014_totals.sql"),
    include_str!("../migrations/0015_journal.sql"),
    include_str!("../migrations/0016_webhook_events_lean.sql"),
    include_str!("../migrations/0017_journal_snapshots.sql"),
    include_str!("../migrations/0018_value_index.sql"),
    include_str!("../migrations/0019_listener_generation.sql"),
    include_str!("../migrations/0020_lazy_value_index.sql"),
    include_str!("../migrations/0021_indexing_in_steps.sql"),
];

pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let sql = spoke_store::pipelines::fill_in_migration(sql);
        tx.execute_batch(&spoke_store::admin::fill_in_migration(&sql))?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database from before the pipelines migration: its portals get the defaults a new
    /// portal gets, from the same definition.
    #[test]
    fn the_pipelines_migration_seeds_every_existing_portal() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::search::register_functions(&conn).expect("functions");
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("{{SEED_DEFAULT_PIPELINES}}"))
            .expect("the pipelines migration");
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql).expect("older migration");
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = {before};
             INSERT INTO portals (id, created_at) VALUES (7, 1), (8, 2);"
        ))
        .expect("old portals");
        migrate(&mut conn).expect("migrate");
        for portal in [7, 8] {
            let count = |table: &str| -> i64 {
                conn.query_row(
                    &format!("SELECT COUNT(*) FROM {table} WHERE portal_id = ?1"),
                    [portal],
                    |r| r.get(0),
                )
                .expect("count")
            };
            assert_eq!(count("pipelines"), 2, "portal {portal}: deals and tickets");
            assert_eq!(
                count("pipeline_stages"),
                11,
                "portal {portal}: 7 + 4 stages"
            );
        }
        let label: String = conn
            .query_row(
                "SELECT label FROM pipeline_stages WHERE portal_id = 7 AND id = 'closedwon'",
                [],
                |r| r.get(0),
            )
            .expect("closedwon");
        assert_eq!(label, "Closed Won");
    }

    /// A database from before the value index: migration 0018 gave its records' values the
    /// rows a write would have given them (`value_index::Changes`). 0020 (lazy indexing)
    /// drops them again, which the end checks.
    #[test]
    fn the_value_index_migration_indexes_every_stored_value() {
        use spoke_store::value_index::{values_of, Changes};
        let mut conn = Connection::open_in_memory().expect("open");
        crate::search::register_functions(&conn).expect("functions");
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE search_text"))
            .expect("the value index migration");
        for sql in &MIGRATIONS[..before] {
            let sql = spoke_store::pipelines::fill_in_migration(sql);
            conn.execute_batch(&spoke_store::admin::fill_in_migration(&sql))
                .expect("older migration");
        }
        let json = r#"{"a":"  Ada ","n":"12.5","d":"2024-01-02","e":"","x":"abc"}"#;
        conn.execute_batch(&format!(
            "PRAGMA user_version = {before};
             INSERT INTO objects (id, portal_id, object_type, properties, version, created_at,
                 updated_at, archived_at) VALUES (5, 7, '0-1', '{json}', 1, 1, 1, NULL);"
        ))
        .expect("an old record");
        conn.execute_batch(MIGRATIONS[before])
            .expect("the value index migration");
        let mut want = Changes::default();
        want.record(5, None, Some(&values_of(json)));
        let rows = |conn: &Connection, sql: &str| -> Vec<(String, String)> {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let mut out: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect();
            out.sort();
            out
        };
        let mut text: Vec<(String, String)> = want
            .insert
            .text
            .iter()
            .map(|(_, p, k)| (p.clone(), k.clone()))
            .collect();
        text.sort();
        assert_eq!(
            rows(
                &conn,
                "SELECT property, key FROM search_text WHERE object_id = 5"
            ),
            text
        );
        let mut numbers: Vec<(String, String)> = want
            .insert
            .numbers
            .iter()
            .map(|(_, p, k)| (p.clone(), format!("{k:?}")))
            .collect();
        numbers.sort();
        let stored: Vec<(String, String)> = rows(
            &conn,
            "SELECT property, CAST(key AS TEXT) FROM search_numbers WHERE object_id = 5",
        )
        .into_iter()
        .map(|(p, k)| (p, format!("{:?}", k.parse::<f64>().unwrap_or(f64::NAN))))
        .collect();
        let mut stored = stored;
        stored.sort();
        assert_eq!(stored, numbers);
        conn.execute_batch(&format!("PRAGMA user_version = {}", before + 1))
            .expect("version");
        migrate(&mut conn).expect("migrate");
        assert_eq!(
            rows(&conn, "SELECT property, key FROM search_text"),
            Vec::new()
        );
        assert_eq!(
            rows(&conn, "SELECT object_type, property FROM search_indexed"),
            Vec::new()
        );
    }

    /// A property listed before the listings named their part had both parts, made whole:
    /// it keeps both, complete, so its word rows stay kept by writes.
    #[test]
    fn listings_from_before_parts_keep_both_complete() {
        let mut conn = Connection::open_in_memory().expect("open");
        crate::search::register_functions(&conn).expect("functions");
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("pending_after"))
            .expect("the migration to parts and steps");
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(&spoke_store::admin::fill_in_migration(
                &spoke_store::pipelines::fill_in_migration(sql),
            ))
            .expect("older migration");
        }
        conn.execute_batch(&format!(
            "PRAGMA user_version = {before};
             INSERT INTO search_indexed (portal_id, object_type, property)
             VALUES (7, '0-1', 'company');"
        ))
        .expect("an old listing");
        migrate(&mut conn).expect("migrate");
        let mut stmt = conn
            .prepare(
                "SELECT property, part, pending_after IS NULL FROM search_indexed
                 ORDER BY part",
            )
            .expect("prepare");
        let listed: Vec<(String, String, bool)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("company".to_owned(), "values".to_owned(), true),
                ("company".to_owned(), "words".to_owned(), true),
            ]
        );
    }
}
