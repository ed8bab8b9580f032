//! JSON and query extraction that answers with Pigeon's error body, and ids from paths.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use pigeon_protocol::{ApiError, BlobId, MessageId};
use serde::de::DeserializeOwned;

use crate::{Hub, HubError};

/// JSON body whose rejections use Pigeon's error body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<Hub>> for ApiJson<T> {
    type Rejection = HubError;

    async fn from_request(req: Request, state: &Arc<Hub>) -> Result<Self, HubError> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(
                rejection,
                declared,
                state.config.limits.max_json_bytes,
            )),
        }
    }
}

pub(super) fn json_rejection(
    rejection: JsonRejection,
    declared: Option<u64>,
    max: u64,
) -> HubError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::limit("max_json_bytes", max, declared.unwrap_or(max + 1)).into();
    }
    ApiError::invalid(format!(
        "the request body is not the JSON this call expects ({}): fix the request",
        rejection.body_text()
    ))
    .into()
}

/// Query string whose rejections use Pigeon's error body.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = HubError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HubError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e: QueryRejection| {
                ApiError::invalid(format!(
                    "bad query string ({}): fix the request",
                    e.body_text()
                ))
                .into()
            })
    }
}

pub(super) fn parse_blob_id(text: &str) -> Result<BlobId, HubError> {
    BlobId::parse(text).map_err(|_| HubError::not_found("blob"))
}

pub(super) fn parse_message_id(text: &str) -> Result<MessageId, HubError> {
    MessageId::parse(text).map_err(|_| HubError::not_found("message"))
}
