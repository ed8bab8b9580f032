//! What operators and balancers ask: `/healthz` (which engines answered, and how fast)
//! and `/metrics` (Prometheus text), and the layer that counts every answer.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::Hub;

/// 200 when the database and the blob storage both answer, 503 otherwise; the body
/// says, one line each, which engine was checked and how it went.
pub(super) async fn healthz(State(hub): State<Arc<Hub>>) -> Response {
    let started = Instant::now();
    let db = hub.db.ping().await;
    let db_ms = started.elapsed().as_millis();
    let started = Instant::now();
    let blobs = hub.storage.ping().await;
    let blobs_ms = started.elapsed().as_millis();
    let line =
        |what: &str, engine: &str, result: &Result<(), crate::HubError>, ms: u128| match result {
            Ok(()) => format!("{what}: {engine} answered in {ms} ms"),
            Err(e) => format!("{what}: {engine} FAILED after {ms} ms: {e}"),
        };
    let healthy = db.is_ok() && blobs.is_ok();
    let body = format!(
        "{}\n{}\n{}\n",
        if healthy { "ok" } else { "unhealthy" },
        line("database", hub.db.engine().name(), &db, db_ms),
        line("blobs", hub.storage.kind(), &blobs, blobs_ms),
    );
    if !healthy {
        tracing::warn!(%body, "health check failed");
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

pub(super) async fn livez() -> &'static str {
    "ok: serving (the engines are not checked here; /healthz checks them)\n"
}

pub(super) async fn metrics(State(hub): State<Arc<Hub>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        hub.metrics.render(&hub.db.pool_state()),
    )
        .into_response()
}

/// The hub's release and the protocols it serves.
pub(super) async fn version() -> axum::Json<pigeon_protocol::HubVersion> {
    axum::Json(pigeon_protocol::HubVersion::current(env!(
        "CARGO_PKG_VERSION"
    )))
}

/// The API's OpenAPI document, built once.
pub(super) async fn openapi() -> Response {
    static DOCUMENT: OnceLock<Vec<u8>> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        serde_json::to_vec(&super::contract::document_json()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot encode the API document");
            b"{}".to_vec()
        })
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.as_slice(),
    )
        .into_response()
}

/// Counts each answer by method, route pattern (never the ids in the path) and status
/// class, with the time it took.
pub(super) async fn count(State(hub): State<Arc<Hub>>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = Instant::now();
    let response = next.run(req).await;
    hub.metrics.answered(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
