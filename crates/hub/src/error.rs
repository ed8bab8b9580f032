//! The hub's error type and how it becomes an HTTP response.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pigeon_protocol::{ApiError, ErrorCode};

/// Everything a hub operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// A client-facing error with its code and advice.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("blob storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("internal: {0}")]
    Internal(String),
}

impl HubError {
    /// Shorthand for the uniform 404.
    pub fn not_found(what: &str) -> Self {
        HubError::Api(ApiError::not_found(what))
    }
}

impl From<tokio::task::JoinError> for HubError {
    fn from(e: tokio::task::JoinError) -> Self {
        HubError::Internal(format!("a blocking task failed: {e}"))
    }
}

impl HubError {
    /// A failure of a server the hub depends on (the database or the blob storage), as
    /// opposed to a fault of the hub itself: the client should wait and try again.
    fn unavailable(&self) -> Option<&'static str> {
        match self {
            HubError::Storage(_) => Some(
                "the hub cannot reach its blob storage right now: nothing was lost; retry in a moment",
            ),
            HubError::Db(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => Some(
                "the hub cannot reach its database right now: nothing was lost; retry in a moment",
            ),
            HubError::Db(sqlx::Error::Database(e))
                // PostgreSQL shutting down or restarting (class 57P: operator intervention).
                if e.code().is_some_and(|c| c.starts_with("57P")) =>
            {
                Some("the hub's database is restarting: nothing was lost; retry in a moment")
            }
            _ => None,
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let mut status = None;
        let body = match self {
            HubError::Api(e) => e,
            other => {
                tracing::error!(error = %other, "request failed inside the hub");
                match other.unavailable() {
                    Some(advice) => {
                        status = Some(StatusCode::SERVICE_UNAVAILABLE);
                        ApiError::new(ErrorCode::Internal, advice)
                    }
                    None => ApiError::new(
                        ErrorCode::Internal,
                        "the hub failed to handle this request: retry later; the hub's log has details",
                    ),
                }
            }
        };
        let status = status.unwrap_or_else(|| {
            StatusCode::from_u16(body.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        response
    }
}
