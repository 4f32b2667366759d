//! Whether the relay is up, and what it counts.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cairn_protocol::PROTOCOL_VERSION;
use cairn_protocol::api::Health;

use crate::http::{ApiError, Cbor};
use crate::relay::AppState;

/// `GET /v1/health`.
pub(crate) async fn health() -> Cbor<Health> {
    Cbor(Health {
        status: "ok".into(),
        protocol: PROTOCOL_VERSION,
    })
}

/// `GET /metrics`: Prometheus text.
pub(crate) async fn metrics(State(relay): State<AppState>) -> Result<Response, ApiError> {
    let stats = relay.storage.stats(relay.now()).await?;
    let mut response = relay.metrics.render(&stats).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
