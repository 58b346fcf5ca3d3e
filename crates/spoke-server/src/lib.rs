//! spoke's HTTP layer: HubSpot's routes, bearer-token auth with scopes, and
//! HubSpot-shaped errors. Only this crate knows HTTP.
//!
//! Layout:
//! - [`wire`]: correlation ids, content type, error rendering, body and query parsing.
//! - [`catalogue`]: every HubSpot operation spoke knows (method, path, spec, scopes, rate
//!   class, handler); the router, the scope check and the rate limiter read it.
//! - [`error`]: [`ApiError`], the single way an error reaches the wire.
//! - [`admin`]: spoke's own API under `/_spoke/` (portals, reset, snapshots, browsing a
//!   portal's data) and the web UI at `/_spoke/ui`, guarded by the admin token (or the UI's
//!   cookie that carries it); not catalogue rows.
//! - [`auth`]: the [`auth::Principal`] extractor (token, portal, scopes); tokens themselves
//!   are minted and hashed by `spoke_store::tokens`.
//! - [`schema`]: a type's records in HubSpot's output shape (the type's live property set
//!   and its rules are `spoke_store::schema`).
//! - `handlers/*`: one module per HubSpot API; `handlers::oauth` (token endpoints) and
//!   `handlers::consent` (the consent page) are OAuth 2.0, routed outside the catalogue.
//! - [`metrics`]: Prometheus metrics at `/metrics` and the store wrapper that times calls.
//! - [`conn`]: the accept loop: connection limits, timeouts, TLS, hyper's own errors in
//!   HubSpot's envelope.
//! - [`inspector`]: the request inspector: every request to HubSpot's surface and its
//!   answer, redacted, in a bounded in-memory log the admin API reads.
//! - [`faults`]: fault injection by the admin API's rules; [`clock`]: the time each portal
//!   sees; [`emulator`]: this process's copy of both.
//! - [`webhooks`]: app webhooks' delivery worker (claims the outbox's events, signs and
//!   POSTs them, retries); `handlers::webhooks` is HubSpot's webhooks API, routed outside
//!   the catalogue because it authorizes by developer API key.
//! - [`tls`]: the local certificate authority and server certificate for
//!   `--https-listen`.

pub mod admin;
pub mod auth;
pub mod catalogue;
pub mod clock;
pub mod conn;
pub mod emulator;
pub mod error;
pub mod faults;
mod handlers;
pub mod inspector;
pub mod metrics;
pub mod ratelimit;
pub mod schema;
pub mod tls;
pub mod webhooks;
pub mod wire;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use spoke_store::Store;
use tokio::net::TcpListener;

pub use conn::{ConnLimits, Listeners};
pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// The app's Prometheus metrics; `store` is already wrapped to time its calls.
    pub metrics: Arc<metrics::Metrics>,
    /// Whether `/metrics` is served (on by default; `spoke serve --no-metrics`).
    pub serve_metrics: bool,
    /// HubSpot-style rate limiting; `None` (the default) serves without limits.
    pub rate_limits: Option<ratelimit::RateLimits>,
    /// Custom types resolved recently (`schema::CustomTypes`).
    pub custom_types: Arc<schema::CustomTypes>,
    /// Held while a portal is seeded (`admin::seed`): a seed replaces the seed snapshot.
    pub seeding: Arc<tokio::sync::Mutex<()>>,
    /// The request log (`inspector`); recording by default.
    pub inspector: Arc<inspector::Inspector>,
    /// The fault rules and portal clocks as this process last read them.
    pub emulator: Arc<emulator::Emulator>,
    /// Webhook delivery: the worker's wake-up and limits; inert until
    /// [`webhooks::Webhooks::spawn`] (`spoke serve` starts it).
    pub webhooks: Arc<webhooks::Webhooks>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        let metrics = metrics::Metrics::new();
        Self {
            store: metrics::TimedStore::wrap(store, metrics.clone()),
            serve_metrics: true,
            rate_limits: None,
            custom_types: Arc::default(),
            seeding: Arc::default(),
            inspector: inspector::Inspector::new(
                inspector::InspectorConfig::default(),
                metrics.inspector(),
            ),
            metrics,
            emulator: Arc::default(),
            webhooks: Arc::default(),
        }
    }

    /// The request log with other bounds (or starting with recording off).
    pub fn with_inspector(mut self, config: inspector::InspectorConfig) -> Self {
        self.inspector = inspector::Inspector::new(config, self.metrics.inspector());
        self
    }

    /// The instant `portal` sees now: what its writes record and its tokens' expiry is
    /// judged by (see [`clock`]).
    pub fn now(&self, portal: spoke_core::PortalId) -> spoke_core::time::Millis {
        self.emulator.now(portal)
    }

    /// Uses `config` for webhook delivery (the worker is started separately).
    pub fn with_webhooks(mut self, config: webhooks::Config) -> Self {
        self.webhooks = Arc::new(webhooks::Webhooks::new(config));
        self
    }

    /// Starts the webhook delivery worker on the current runtime.
    pub fn spawn_webhooks(&self) -> tokio::task::JoinHandle<()> {
        self.webhooks.spawn(self.store.clone())
    }

    pub fn without_metrics_endpoint(mut self) -> Self {
        self.serve_metrics = false;
        self
    }

    pub fn with_rate_limits(mut self, limits: ratelimit::RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }
}

/// The whole application. Tests and the binary both serve exactly this.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new().route("/healthz", get(|| async { "ok" }));
    if state.serve_metrics {
        router = router.route(
            "/metrics",
            get(metrics::render).with_state(state.metrics.clone()),
        );
    }
    let router = router
        .merge(catalogue::router())
        // OAuth authorizes by client credentials and consent, not by bearer token, so its
        // routes are not catalogue rows (see `handlers::oauth`).
        .merge(handlers::oauth::router())
        .merge(handlers::consent::router())
        // The webhooks API authorizes by developer API key (`?hapikey=`), not bearer token.
        .merge(handlers::webhooks::router())
        // The webhooks journal authorizes by an app token, which names no portal.
        .merge(handlers::journal::router())
        .merge(admin::router())
        .fallback(|| async { ApiError::unknown_route() });
    // Layers run outermost-last: the wire middleware wraps everything, so rate-limit
    // rejections get their correlation id and JSON like any other error.
    let router = match state.rate_limits {
        Some(limits) => router.layer(axum::middleware::from_fn_with_state(
            ratelimit::RateLimiter::new(limits),
            ratelimit::middleware,
        )),
        None => router,
    };
    // Outside the rate limiter: an injected fault answers before a request is counted.
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        faults::middleware,
    ));
    let metrics = state.metrics.clone();
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.webhooks.clone(),
        webhooks::wake_after_writes,
    ));
    let inspector = state.inspector.clone();
    router
        // Inside the wire middleware, so a handler bug still answers a 500 in HubSpot's
        // envelope with its correlation id instead of dropping the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        .layer(axum::middleware::from_fn(wire::middleware))
        // Outside it, so the log holds what the client got: rendered errors, correlation id.
        .layer(axum::middleware::from_fn_with_state(
            inspector,
            inspector::middleware,
        ))
        // Outside it, so each request is counted with the status it was answered with.
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::middleware,
        ))
        .with_state(state)
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::internal(format!("handler panicked: {what}")).into_response()
}

/// Serves the app on `listener` with the default [`ConnLimits`] until `shutdown`
/// resolves; in-flight requests finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, ConnLimits::default(), shutdown).await
}

/// [`serve`] with explicit connection limits.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listeners = Listeners {
        http: Some(listener),
        https: None,
    };
    serve_listeners(listeners, state, limits, shutdown).await
}

/// Serves the app on plain HTTP, HTTPS or both listeners, under one set of connection
/// limits, until `shutdown` resolves.
pub async fn serve_listeners(
    listeners: Listeners,
    state: AppState,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Live request streams never end by themselves; they must before the connections
    // they hold can drain.
    let inspector = state.inspector.clone();
    let shutdown = async move {
        shutdown.await;
        inspector.close();
    };
    conn::serve(listeners, app(state), limits, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_for_the_wire_middleware_to_render() {
        let res = panic_response(Box::new("boom"));
        assert_eq!(res.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let err = res
            .extensions()
            .get::<ApiError>()
            .expect("ApiError extension");
        assert_eq!(err.cause.as_deref(), Some("handler panicked: boom"));
    }
}
