//! Shared by the tests that run the real `spoke` binary against PostgreSQL (and SQLite):
//! starting `spoke serve` processes, calling them over HTTP, fresh PostgreSQL schemas.

#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_spoke");
pub const PG_ENV: &str = "SPOKE_TEST_POSTGRES_URL";

/// Runs `spoke` with `args`, without the `SPOKE_*` variables of the test's environment
/// (so `SPOKE_PG_SCHEMA` and friends never leak in).
pub fn spoke(args: &[&str]) -> Output {
    command().args(args).output().expect("run spoke")
}

fn command() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("SPOKE_") {
            c.env_remove(k);
        }
    }
    c.env("SPOKE_LOG", "warn");
    c
}

/// Runs `spoke`, asserts success, returns stdout.
pub fn spoke_ok(args: &[&str]) -> String {
    spoke_ok_with(args, &[])
}

/// [`spoke_ok`] with environment variables set for the process.
pub fn spoke_ok_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = command();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().expect("run spoke");
    assert!(
        out.status.success(),
        "spoke {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `spoke token create` for `portal` with every scope; the token.
pub fn token_create(db: &[&str], portal: i64) -> String {
    let portal = portal.to_string();
    let mut args = vec!["token", "create"];
    args.extend_from_slice(db);
    args.extend_from_slice(&["--portal", &portal, "--scopes", "all"]);
    spoke_ok(&args).trim().to_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The PostgreSQL URL, or `None` after printing why the test is skipped.
pub fn pg_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            println!("skipped: {PG_ENV} is not set");
            None
        }
    }
}

/// A fresh schema of the test database, dropped when this is dropped (also on panic).
pub struct PgSchema {
    pub url: String,
    pub schema: String,
}

impl PgSchema {
    pub fn new(url: &str) -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        Self {
            url: url.to_owned(),
            schema: format!("spoke_cli_{:016x}", h.finish()),
        }
    }

    /// `--database URL --pg-schema S`, for spoke's command line.
    pub fn args(&self) -> [&str; 4] {
        ["--database", &self.url, "--pg-schema", &self.schema]
    }

    /// Runs SQL in this schema (on a thread of its own, so it works from sync code too).
    pub fn sql(&self, sql: &str) -> Result<(), String> {
        let (url, schema, sql) = (self.url.clone(), self.schema.clone(), sql.to_owned());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("SET search_path TO \"{schema}\"; {sql}"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join()
        .map_err(|_| "the SQL thread panicked".to_owned())?
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Err(e) = self.sql(&format!(
            "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
            self.schema
        )) {
            eprintln!("could not drop schema {}: {e}", self.schema);
        }
    }
}

/// A `spoke serve` process, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `spoke serve` with `db` (`--database URL ...`) and waits for /healthz.
    pub async fn start(db: &[&str]) -> Self {
        Self::start_with(db, &[]).await
    }

    /// [`Server::start`] with environment variables set for the process (`SPOKE_DATA_DIR`).
    pub async fn start_with(db: &[&str], env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args = vec!["serve", "--listen", &listen];
        args.extend_from_slice(db);
        let mut command = command();
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .args(&args)
            .stdout(Stdio::null())
            .stderr(if std::env::var_os("SPOKE_TEST_SERVER_LOGS").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawn spoke serve");
        let mut server = Self {
            child,
            base: format!("http://{listen}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", server.base)).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("spoke serve exited early: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "spoke serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub fn api(&self, token: &str) -> Api {
        Api::new(&self.base, token)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, the correlation id header, the JSON body (`Null` if none).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub correlation: Option<String>,
    pub body: Value,
}

/// HTTP calls to one server with one token.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    pub base: String,
    token: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client"),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .expect("client");
        self
    }

    pub async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let correlation = r
            .headers()
            .get("x-hubspot-correlation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = r.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Reply {
            status,
            correlation,
            body,
        })
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Reply {
        self.try_call(method.clone(), path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::POST, path, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::PATCH, path, Some(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(reqwest::Method::PUT, path, Some(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// POST that must answer `status`; the body.
    pub async fn post_ok(&self, path: &str, body: Value, status: u16) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, status, "POST {path}: {}", r.body);
        r.body
    }
}
