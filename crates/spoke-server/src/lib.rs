//! spoke's HTTP layer: HubSpot's routes, bearer-token auth with scopes, and
//! HubSpot-shaped errors. Only this crate knows HTTP.
//!
//! Layout:
//! - [`wire`]: correlation ids, content type, error rendering, body and query parsing.
//! - [`error`]: [`ApiError`], the single way an error reaches the wire.
//! - [`auth`]: the [`auth::Principal`] extractor (token, portal, scopes).
//! - [`schema`]: a type's property definitions as a request sees them.
//! - `handlers/*`: one module per HubSpot API.

pub mod auth;
pub mod error;
mod handlers;
pub mod schema;
pub mod wire;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use spoke_store::Store;
use tokio::net::TcpListener;

pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// The whole application. Tests and the binary both serve exactly this.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(handlers::objects::routes())
        .merge(handlers::properties::routes())
        .merge(handlers::associations::routes())
        .fallback(|| async { ApiError::unknown_route() })
        .layer(axum::middleware::from_fn(wire::middleware))
        .with_state(state)
}

/// Serves the app on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
