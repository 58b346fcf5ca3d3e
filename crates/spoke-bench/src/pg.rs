//! PostgreSQL: a fresh database per benchmark run, and its size on disk.

use tokio_postgres::NoTls;

/// `url` with its database name replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> Result<String, String> {
    let scheme_end = url
        .find("://")
        .ok_or_else(|| format!("not a postgres URL: {url}"))?
        + 3;
    let (head, rest) = url.split_at(scheme_end);
    let (rest, query) = match rest.find('?') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    Ok(format!("{head}{authority}/{name}{query}"))
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Runs `ANALYZE` on the database `url` names.
pub async fn analyze(url: &str) -> Result<(), String> {
    connect(url)
        .await?
        .batch_execute("ANALYZE")
        .await
        .map_err(|e| format!("ANALYZE failed: {e}"))
}

/// A database created for one run, on the server `admin_url` points at.
pub struct FreshDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl FreshDatabase {
    /// A new database `spoke_bench_<pid>_<ms><suffix>` on the server `admin_url` names.
    pub async fn create(admin_url: &str, suffix: &str) -> Result<Self, String> {
        let name = format!(
            "spoke_bench_{}_{}{suffix}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or(0)
        );
        let client = connect(admin_url).await?;
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("cannot create database {name}: {e}"))?;
        Ok(Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name)?,
            name,
        })
    }

    /// Another fresh database on the same server.
    pub async fn sibling(&self, suffix: &str) -> Result<Self, String> {
        Self::create(&self.admin_url, suffix).await
    }

    /// Refreshes the planner's statistics (`ANALYZE`).
    pub async fn analyze(&self) -> Result<(), String> {
        analyze(&self.url).await
    }

    pub async fn size_bytes(&self) -> Result<u64, String> {
        let client = connect(&self.url).await?;
        let row = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await
            .map_err(|e| e.to_string())?;
        let size: i64 = row.get(0);
        Ok(size.max(0) as u64)
    }

    pub async fn drop_database(&self) -> Result<(), String> {
        let client = connect(&self.admin_url).await?;
        client
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await
            .map_err(|e| format!("cannot drop database {}: {e}", self.name))
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "b").as_deref(),
            Ok("postgres://postgres@127.0.0.1:5432/b")
        );
        assert_eq!(
            with_database("postgresql://u:p@h/x?sslmode=disable", "b").as_deref(),
            Ok("postgresql://u:p@h/b?sslmode=disable")
        );
        assert_eq!(
            with_database("postgres://h:1", "b").as_deref(),
            Ok("postgres://h:1/b")
        );
    }
}
