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

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        let body = match self {
            HubError::Api(e) => e,
            other => {
                tracing::error!(error = %other, "request failed inside the hub");
                ApiError::new(
                    ErrorCode::Internal,
                    "the hub failed to handle this request: retry later; the hub's log has details",
                )
            }
        };
        let status =
            StatusCode::from_u16(body.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
