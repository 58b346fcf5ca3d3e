//! Starts spoke on 127.0.0.1:0 over a fresh SQLite file and talks to it over HTTP.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use spoke_core::PortalId;
use spoke_server::AppState;
use spoke_store::Store;
use spoke_store_sqlite::SqliteStore;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub db_url: String,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
    _schema: Arc<SchemaGuard>,
}

/// One answer: status, headers and the parsed body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Which database the suite runs on: SQLite by default; PostgreSQL when
/// `SPOKE_TEST_BACKEND=postgres` and `SPOKE_TEST_POSTGRES_URL` are set (each test then
/// gets a fresh schema, dropped when the test ends).
fn postgres_url() -> Option<String> {
    let wanted = std::env::var("SPOKE_TEST_BACKEND").is_ok_and(|b| b == "postgres");
    let url = std::env::var("SPOKE_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if wanted && url.is_none() {
        panic!("SPOKE_TEST_BACKEND=postgres needs SPOKE_TEST_POSTGRES_URL");
    }
    url.filter(|_| wanted)
}

async fn open(db_url: &str) -> Arc<dyn Store> {
    match db_url.split_once('#') {
        // `postgres://...#schema`: the harness's own notation for a schema-isolated store.
        Some((url, schema)) => {
            let options = spoke_store_postgres::PgOptions {
                schema: Some(schema.to_owned()),
                pool_size: 4,
                ..Default::default()
            };
            Arc::new(
                spoke_store_postgres::PostgresStore::open(url, options)
                    .await
                    .expect("open postgres"),
            )
        }
        None => Arc::new(SqliteStore::open(db_url).expect("open sqlite")),
    }
}

/// Drops a test's Postgres schema from a thread of its own (Drop cannot await).
struct SchemaGuard(Option<(String, String)>);

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let Some((url, schema)) = self.0.take() else {
            return;
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        // The test's own pool may still hold a transaction in the schema (a
                        // delivery worker's, cut off as the test ended). Its connection is
                        // driven by the test's runtime, which this drop blocks: it would never
                        // roll back, and the DROP would wait for its locks forever. The test is
                        // over, so end those sessions first.
                        let _ = client
                            .execute(
                                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l
                                 JOIN pg_class c ON c.oid = l.relation
                                 JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
                                &[&schema],
                            )
                            .await;
                        let _ = client
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|state| state).await
    }

    /// [`spawn`](Self::spawn) with the app's state adjusted first (e.g. other inspector
    /// bounds), on the same backend.
    pub async fn spawn_with(configure: impl FnOnce(AppState) -> AppState) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, guard) = match postgres_url() {
            Some(url) => {
                let schema = format!("spoke_http_{}", uuid::Uuid::new_v4().simple());
                (format!("{url}#{schema}"), SchemaGuard(Some((url, schema))))
            }
            None => (
                format!("sqlite://{}", dir.path().join("spoke.db").display()),
                SchemaGuard(None),
            ),
        };
        let store = open(&db_url).await;
        let state = configure(AppState::new(store.clone()));
        let mut app = Self::serve_state(state, store, db_url, dir).await;
        app._schema = Arc::new(guard);
        app
    }

    /// A server that enforces HubSpot-style rate limits.
    pub async fn spawn_rate_limited(limits: spoke_server::ratelimit::RateLimits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = format!("sqlite://{}", dir.path().join("spoke.db").display());
        let store = open(&db_url).await;
        let state = AppState::new(store.clone()).with_rate_limits(limits);
        Self::serve_state(state, store, db_url, dir).await
    }

    /// A server whose webhook worker runs, polling every 100 ms, with app secrets sealed
    /// under the returned key file (in the test's directory).
    pub async fn spawn_with_webhooks() -> (Self, std::path::PathBuf) {
        Self::spawn_with_webhooks_trusting(Vec::new()).await
    }

    /// [`Self::spawn_with_webhooks`], its delivery client trusting the CAs of these PEM
    /// files besides the system's (not the user's own spoke CA, which a test must not see).
    pub async fn spawn_with_webhooks_trusting(
        trusted_roots: Vec<std::path::PathBuf>,
    ) -> (Self, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join(spoke_store::sealed::KEY_FILE);
        let (db_url, guard) = match postgres_url() {
            Some(url) => {
                let schema = format!("spoke_http_{}", uuid::Uuid::new_v4().simple());
                (format!("{url}#{schema}"), SchemaGuard(Some((url, schema))))
            }
            None => (
                format!("sqlite://{}", dir.path().join("spoke.db").display()),
                SchemaGuard(None),
            ),
        };
        let store = open(&db_url).await;
        let state = AppState::new(store.clone()).with_webhooks(spoke_server::webhooks::Config {
            poll: std::time::Duration::from_millis(100),
            secret_key_path: Some(key_path.clone()),
            trusted_roots,
            ..Default::default()
        });
        state.spawn_webhooks();
        let mut app = Self::serve_state(state, store, db_url, dir).await;
        app._schema = Arc::new(guard);
        (app, key_path)
    }

    /// Serves an already opened store (used to restart over the same file).
    pub async fn serve(store: Arc<dyn Store>, db_url: String, dir: tempfile::TempDir) -> Self {
        Self::serve_state(AppState::new(store.clone()), store, db_url, dir).await
    }

    async fn serve_state(
        state: AppState,
        store: Arc<dyn Store>,
        db_url: String,
        dir: tempfile::TempDir,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = spoke_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            store,
            db_url,
            _dir: dir,
            _stop: tx,
            _schema: Arc::new(SchemaGuard(None)),
        }
    }

    /// Another server on this one's database, with its own store and memory, as a second
    /// spoke process would be.
    pub async fn second_server(&self) -> Self {
        let store = open(&self.db_url).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = Self::serve(store, self.db_url.clone(), dir).await;
        app._schema = self._schema.clone();
        app
    }

    /// Stops this server and serves the same database file from a freshly opened store.
    pub async fn restart(self) -> Self {
        let TestApp {
            db_url,
            _dir,
            _stop,
            store,
            _schema,
            ..
        } = self;
        drop(_stop);
        drop(store);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let store = open(&db_url).await;
        let mut app = Self::serve(store, db_url, _dir).await;
        app._schema = _schema;
        app
    }

    /// A token for `portal` with the given scopes (`&["all"]` for every scope).
    pub async fn token(&self, portal: i64, scopes: &[&str]) -> String {
        let scopes: Vec<String> = if scopes == ["all"] {
            spoke_core::scope::all_scopes()
        } else {
            scopes.iter().map(|s| (*s).to_owned()).collect()
        };
        let now = spoke_core::time::now_millis();
        spoke_store::tokens::issue(self.store.as_ref(), PortalId(portal), &scopes, now)
            .await
            .expect("token")
    }

    pub async fn call(
        &self,
        method: Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, Some(token), path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::POST, Some(token), path, Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, Some(token), path, Some(body))
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.call(Method::DELETE, Some(token), path, None).await
    }

    /// Sends raw bytes (for malformed JSON tests).
    pub async fn post_raw(&self, token: &str, path: &str, body: &'static str) -> Answer {
        self.send_raw(Method::POST, token, path, body).await
    }

    /// Sends raw bytes as a JSON body with any method.
    pub async fn send_raw(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: &'static str,
    ) -> Answer {
        let res = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
            text,
        }
    }
}
