//! Transcripts: what a clip's speech said and when, as the sender's machine made it.
//!
//! A transcript travels as its own small blob ([`crate::BlobKind::Transcript`], JSON of
//! [`Transcript`]) named by a [`crate::RecordBody::Transcript`] record, so it can follow
//! a message that was sent before transcription finished.

use serde::{Deserialize, Serialize};

/// The MIME type of a transcript blob.
pub const TRANSCRIPT_CONTENT_TYPE: &str = "application/vnd.pigeon.transcript+json";

/// A clip's transcript: timed segments of text, each with its words where the model
/// gave word times. Times are milliseconds from the start of the clip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The spoken language as an ISO 639-1 code (`en`), detected or chosen.
    pub language: String,
    /// Which model made it (`tiny.en`, `base.en`, `base`, ...): display only.
    pub model: String,
    /// The length of the sound that was transcribed.
    pub duration_ms: u64,
    /// In time order, not overlapping.
    pub segments: Vec<Segment>,
}

/// One line of a transcript (a caption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// The segment's words with their own times; empty when the model gave none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One word of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}
