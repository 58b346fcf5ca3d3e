//! Test harness: every test works in a fresh schema of the database named by
//! `SPOKE_TEST_POSTGRES_URL`, dropped at the end (also when the test fails). Without the
//! variable a test prints that it is skipped and passes.

#![allow(dead_code)]

use std::future::Future;

use spoke_store_postgres::{PgOptions, PostgresStore};

pub const ENV: &str = "SPOKE_TEST_POSTGRES_URL";

#[derive(Clone)]
pub struct Db {
    pub url: String,
    pub schema: String,
}

impl Db {
    pub fn options(&self) -> PgOptions {
        PgOptions {
            schema: Some(self.schema.clone()),
            ..PgOptions::default()
        }
    }

    pub async fn open(&self) -> PostgresStore {
        self.open_with(self.options()).await
    }

    pub async fn open_with(&self, options: PgOptions) -> PostgresStore {
        PostgresStore::open(&self.url, options)
            .await
            .expect("open the PostgreSQL store")
    }

    /// A plain connection for checks the store does not offer.
    pub async fn admin(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.schema))
            .await
            .expect("set search_path");
        client
    }
}

/// The database URL, or `None` after printing why the test is skipped.
pub fn url() -> Option<String> {
    match std::env::var(ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("skipped: {ENV} is not set");
            None
        }
    }
}

/// A schema name no other run uses.
pub fn fresh_schema() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("spoke_test_{:016x}", h.finish())
}

/// Runs `body` against a fresh schema, then drops the schema, whether `body` passed or not.
pub async fn with_db<F, Fut>(body: F)
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(url) = url() else {
        return;
    };
    let db = Db {
        url,
        schema: fresh_schema(),
    };
    let outcome = tokio::spawn(body(db.clone())).await;
    drop_schema(&db).await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

async fn drop_schema(db: &Db) {
    match tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            if let Err(e) = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", db.schema))
                .await
            {
                eprintln!("could not drop schema {}: {e}", db.schema);
            }
        }
        Err(e) => eprintln!("could not drop schema {}: {e}", db.schema),
    }
}

/// The schema versions a fully migrated database records: one per file in `migrations/`,
/// so adding a migration does not mean editing every test that checks them.
pub fn all_schema_versions() -> Vec<i32> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let count = std::fs::read_dir(dir)
        .expect("read migrations/")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "sql"))
        })
        .count();
    (1..=count as i32).collect()
}
