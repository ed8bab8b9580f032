//! The one error body every failed call returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Machine-readable error kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No or bad token (401).
    Unauthorized,
    /// Does not exist, or the caller may not see it (404).
    NotFound,
    /// A size or count limit (413 for bytes, 422 otherwise); see `limit`.
    LimitExceeded,
    /// A field failed validation (422), or malformed JSON/query (400).
    Invalid,
    /// The id is taken by different content (409).
    Conflict,
    /// The caller may see the thing but not do this to it (403), e.g. a recipient
    /// adding a transcript to a message only its sender may add one to.
    Forbidden,
    /// A chunk did not start at the acknowledged offset (409): ask for the status and resume.
    OffsetMismatch,
    /// Size or sha256 at seal did not match the uploaded bytes (422).
    ChecksumMismatch,
    /// A clip that is not an MP4 with a video track (422).
    NotVideo,
    /// A poster that is not the JPEG or PNG image it says it is (422).
    NotImage,
    /// A referenced blob is not sealed yet (409).
    NotSealed,
    /// Respond-by is not in the future (422).
    RespondByInPast,
    /// A recipient is not a user of this store (422).
    UnknownRecipient,
    /// The requested byte range is outside the blob (416).
    RangeNotSatisfiable,
    /// The store failed; retrying later may help (500/503).
    Internal,
    /// The client speaks a protocol older than the hub serves (426): update the app.
    ClientTooOld,
    /// A code this build does not know (from a newer store): read the message.
    #[serde(other)]
    Other,
}

/// Which limit was exceeded and by what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LimitExceeded {
    /// The [`crate::Limits`] field name, e.g. `max_clip_bytes`.
    pub limit: String,
    pub max: u64,
    pub actual: u64,
}

/// The body of every failed API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    /// What went wrong and what to do about it.
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<LimitExceeded>,
}

impl ApiError {
    /// An error without limit details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            limit: None,
        }
    }
    /// A validation error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }
    /// The uniform "not found" (also for things the caller may not see).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            ErrorCode::NotFound,
            format!("{what} not found: check the id, or ask the sender to share it with you"),
        )
    }
    /// A limit error naming the limit and the offending value.
    pub fn limit(limit: &str, max: u64, actual: u64) -> Self {
        Self {
            code: ErrorCode::LimitExceeded,
            message: format!(
                "{limit} is {max} but this request has {actual}: make it smaller or split it"
            ),
            limit: Some(LimitExceeded {
                limit: limit.to_string(),
                max,
                actual,
            }),
        }
    }
    /// The HTTP status the hub answers with.
    pub fn http_status(&self) -> u16 {
        match self.code {
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::LimitExceeded => match &self.limit {
                Some(l) if l.limit.ends_with("_bytes") => 413,
                _ => 422,
            },
            ErrorCode::Invalid => 422,
            ErrorCode::Conflict | ErrorCode::OffsetMismatch | ErrorCode::NotSealed => 409,
            ErrorCode::ChecksumMismatch
            | ErrorCode::NotVideo
            | ErrorCode::NotImage
            | ErrorCode::RespondByInPast
            | ErrorCode::UnknownRecipient => 422,
            ErrorCode::RangeNotSatisfiable => 416,
            ErrorCode::Internal | ErrorCode::Other => 500,
            ErrorCode::ClientTooOld => 426,
        }
    }
}
