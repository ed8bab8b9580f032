//! Blobs: what they are for, how an upload starts, stands and is sealed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiError, BlobId, ErrorCode, Invalid, TRANSCRIPT_CONTENT_TYPE};

/// What a blob is for; decides its size limit and whether it must be video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlobKind {
    /// The message's video clip (must be an MP4 with a video track).
    Clip,
    /// An agenda document.
    Attachment,
    /// A small still image of the clip (JPEG or PNG) that the recipient's inbox shows
    /// before anyone downloads the clip.
    Poster,
    /// A message's transcript (JSON of [`crate::Transcript`]), named by a transcript
    /// record after the message was committed.
    Transcript,
}

impl BlobKind {
    /// The stable text form used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            BlobKind::Clip => "clip",
            BlobKind::Attachment => "attachment",
            BlobKind::Poster => "poster",
            BlobKind::Transcript => "transcript",
        }
    }
    /// Parses [`Self::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "clip" => Some(BlobKind::Clip),
            "attachment" => Some(BlobKind::Attachment),
            "poster" => Some(BlobKind::Poster),
            "transcript" => Some(BlobKind::Transcript),
            _ => None,
        }
    }
}

/// Starts a blob upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"kind": "attachment", "content_type": "application/pdf"}))]
pub struct NewBlob {
    pub kind: BlobKind,
    /// MIME type served on download, e.g. `video/mp4`, `application/pdf`.
    #[schema(pattern = "^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")]
    pub content_type: String,
}

/// The image types a poster may have: the recipient's app shows it as is.
pub const POSTER_CONTENT_TYPES: [&str; 2] = ["image/jpeg", "image/png"];

/// Checks a new blob's content type, that a poster declares an image type and that a
/// transcript declares [`TRANSCRIPT_CONTENT_TYPE`].
pub fn check_new_blob(blob: &NewBlob) -> Result<(), ApiError> {
    validate_content_type(&blob.content_type).map_err(|e| ApiError::invalid(e.0))?;
    if blob.kind == BlobKind::Transcript && blob.content_type != TRANSCRIPT_CONTENT_TYPE {
        return Err(ApiError::invalid(format!(
            "a transcript must have the content type {TRANSCRIPT_CONTENT_TYPE} (got {:?}): upload the transcript's JSON with that type",
            blob.content_type
        )));
    }
    if blob.kind == BlobKind::Poster && !POSTER_CONTENT_TYPES.contains(&blob.content_type.as_str())
    {
        return Err(ApiError::new(
            ErrorCode::NotImage,
            format!(
                "a poster must be image/jpeg or image/png (got {:?}): save the poster as JPEG",
                blob.content_type
            ),
        ));
    }
    Ok(())
}

/// How many leading bytes [`check_poster_bytes`] looks at.
pub const POSTER_MAGIC_LEN: u64 = 8;

/// Checks, at seal, that a poster's first bytes are the signature of the image type it
/// declared, so a recipient's app never gets anything but an image from a poster.
pub fn check_poster_bytes(content_type: &str, head: &[u8]) -> Result<(), ApiError> {
    let ok = match content_type {
        "image/jpeg" => head.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => head.starts_with(b"\x89PNG\r\n\x1a\n"),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::NotImage,
            format!("the poster is not a {content_type} image: upload a JPEG still of the clip as a new blob"),
        ))
    }
}

/// Checks that a content type is a plain `type/subtype` token (it ends up in a header).
pub fn validate_content_type(ct: &str) -> Result<(), Invalid> {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    match ct.split_once('/') {
        Some((a, b)) if token(a) && token(b) => Ok(()),
        _ => Err(Invalid(format!(
            "the content type must look like type/subtype, e.g. application/pdf (got {ct:?})"
        ))),
    }
}

/// Where an upload stands: how many bytes the store has durably acknowledged, and the
/// sealed reference once sealed. Resume an upload from `acknowledged`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlobStatus {
    pub id: BlobId,
    pub kind: BlobKind,
    pub content_type: String,
    pub acknowledged: u64,
    pub sealed: Option<BlobRef>,
}

/// Seals a blob: the store verifies both before anything can reference it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SealBlob {
    pub size: u64,
    /// Lowercase hex sha256 of the whole blob.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

/// A sealed, verified blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlobRef {
    pub id: BlobId,
    pub kind: BlobKind,
    pub size: u64,
    pub sha256: String,
    pub content_type: String,
}

/// Hex sha256 must be 64 lowercase hex digits.
pub fn validate_sha256(hex: &str) -> Result<(), ApiError> {
    if hex.len() == 64
        && hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "sha256 must be 64 lowercase hex digits of the whole blob",
        ))
    }
}

/// The refusal of a download of a blob whose upload is not finished.
pub fn not_sealed_yet() -> ApiError {
    ApiError::new(
        ErrorCode::NotSealed,
        "the blob is not sealed yet: finish the upload first",
    )
}
