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
];

pub(crate) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: usize = tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()
}
