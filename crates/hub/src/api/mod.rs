//! The HTTP API, one module per resource. The router is built from the protocol's route
//! table ([`routes::TABLE`]): every route under `/v1` sits behind the one authentication
//! layer ([`auth`]), so a new route cannot forget it; each route has a time bound
//! (long-polls and streamed chunk uploads have their own) and all share a concurrency
//! limit.

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{any, get, patch, post, put, MethodRouter};
use axum::BoxError;
use axum::{Json, Router};
use pigeon_protocol::{routes, ApiError, ErrorCode};
use tokio::sync::Semaphore;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use tower::ServiceBuilder;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::{Hub, HubError};

mod auth;
mod blobs;
pub mod contract;
mod downloads;
mod extract;
mod inbox;
mod messages;
mod ops;
mod records;
mod users;

pub use auth::AuthUser;
pub use extract::{ApiJson, ApiQuery};

use auth::{authenticate, speaks_our_protocol};
use blobs::*;
use downloads::*;
use extract::*;
use inbox::*;
use messages::*;
use ops::{healthz, livez, metrics, openapi, version};
use records::*;
use users::*;

/// How long a route may take, by what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Answer within the request timeout.
    Answer(Duration),
    /// A streamed upload: no total bound (its size is bounded), but the body must keep
    /// arriving: a pause longer than this ends it.
    BodyIdle(Duration),
}

/// The time bound of a route.
fn bound(hub: &Hub, path: &str) -> Bound {
    let c = &hub.config;
    match path {
        routes::BLOB_CHUNKS => Bound::BodyIdle(Duration::from_secs(c.upload_idle_secs)),
        // A long-poll waits up to its own maximum, plus the time to answer.
        routes::INBOX_WAIT => Bound::Answer(
            Duration::from_secs(c.long_poll_max_secs) + Duration::from_secs(c.request_timeout_secs),
        ),
        // A seal may hash a whole clip again (after a restart).
        routes::BLOB_SEAL => Bound::Answer(Duration::from_secs(c.seal_timeout_secs)),
        _ => Bound::Answer(Duration::from_secs(c.request_timeout_secs)),
    }
}

/// The handler of a route of the table.
fn endpoint(route: &routes::Route) -> MethodRouter<Arc<Hub>> {
    use routes::Method::{Get, Patch, Post, Put};
    match (route.method, route.path) {
        (Get, routes::HEALTHZ) => get(healthz),
        (Get, routes::LIVEZ) => get(livez),
        (Get, routes::METRICS) => get(metrics),
        (Get, routes::OPENAPI) => get(openapi),
        (Get, routes::VERSION) => get(version),
        (Get, routes::ME) => get(me),
        (Patch, routes::ME) => patch(set_me),
        (Get, routes::USERS) => get(users),
        (Get, routes::LIMITS) => get(limits),
        (Post, routes::BLOBS) => post(create_blob),
        (Get, routes::BLOB) => get(download),
        (Get, routes::BLOB_STATUS) => get(blob_status),
        (Put, routes::BLOB_CHUNKS) => put(put_chunk),
        (Post, routes::BLOB_SEAL) => post(seal),
        (Post, routes::MESSAGES) => post(commit),
        (Get, routes::MESSAGE) => get(message),
        (Get, routes::MESSAGE_STATUS) => get(message_status),
        (Post, routes::MESSAGE_VIEWED) => post(mark_viewed),
        (Post, routes::MESSAGE_DONE) => post(mark_done),
        (Get, routes::MESSAGE_RECORDS) => get(message_records),
        (Put, routes::RECORD) => put(put_record),
        (Get, routes::INBOX) => get(inbox),
        (Get, routes::INBOX_WAIT) => get(wait_inbox),
        (method, path) => {
            tracing::error!(
                method = method.as_str(),
                path,
                "a route of the table has no handler"
            );
            any(|| async { HubError::not_found("route") })
        }
    }
}

/// The answer when a route took longer than its bound.
fn timed_out(bound: Duration) -> Response {
    let body = ApiError::new(
        ErrorCode::Internal,
        format!(
            "the hub did not answer within {} s: try again later",
            bound.as_secs()
        ),
    );
    (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
}

/// Builds the router.
pub fn router(hub: Arc<Hub>) -> Router {
    let json_limit = hub.config.limits.max_json_bytes as usize;
    // One limit shared by every route but the long-poll, which waits by design and has
    // its own, so idle waiters never crowd out work.
    let working = Arc::new(Semaphore::new(hub.config.max_concurrent_requests.max(1)));
    let waiting = Arc::new(Semaphore::new(hub.config.max_waiting_polls.max(1)));
    let mut open = Router::new();
    let mut authenticated = Router::new();
    for route in routes::TABLE {
        let limit = if route.path == routes::INBOX_WAIT {
            waiting.clone()
        } else {
            working.clone()
        };
        let handler = match bound(&hub, route.path) {
            Bound::Answer(d) => endpoint(route).layer(
                ServiceBuilder::new()
                    .layer(GlobalConcurrencyLimitLayer::with_semaphore(limit))
                    .layer(HandleErrorLayer::new(move |_: BoxError| async move {
                        timed_out(d)
                    }))
                    .layer(TimeoutLayer::new(d)),
            ),
            Bound::BodyIdle(d) => endpoint(route).layer(
                ServiceBuilder::new()
                    .layer(GlobalConcurrencyLimitLayer::with_semaphore(limit))
                    .layer(RequestBodyTimeoutLayer::new(d)),
            ),
        };
        if route.needs_token() {
            authenticated = authenticated.route(route.path, handler);
        } else {
            open = open.route(route.path, handler);
        }
    }
    // Outermost runs first: an outdated client hears that before anything about its token.
    let authenticated = authenticated
        .route_layer(middleware::from_fn_with_state(hub.clone(), authenticate))
        .route_layer(middleware::from_fn(speaks_our_protocol));
    open.merge(authenticated)
        .route_layer(middleware::from_fn_with_state(hub.clone(), ops::count))
        .fallback(|| async { HubError::not_found("route") })
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(hub)
}
