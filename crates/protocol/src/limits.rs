//! What a store accepts, and the checks of a message that need no stored state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{fields, ApiError, BlobKind, NewMessage};

/// What a store accepts. Every exceeded limit is reported with its field name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub max_clip_bytes: u64,
    pub max_attachment_bytes: u64,
    /// A poster is a small still: a larger one is refused, the message can go without.
    pub max_poster_bytes: u64,
    /// A transcript is text: 8 MiB holds hours of speech with word times.
    pub max_transcript_bytes: u64,
    pub max_attachments: u64,
    pub max_subject_chars: u64,
    pub max_text_chars: u64,
    pub max_recipients: u64,
    pub max_attachment_name_chars: u64,
    /// Largest JSON request body.
    pub max_json_bytes: u64,
    /// Largest single chunk request body.
    pub max_chunk_bytes: u64,
    pub max_inbox_page: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_clip_bytes: 2 * 1024 * 1024 * 1024,
            max_attachment_bytes: 100 * 1024 * 1024,
            max_poster_bytes: 512 * 1024,
            max_transcript_bytes: 8 * 1024 * 1024,
            max_attachments: 20,
            max_subject_chars: 200,
            max_text_chars: 10_000,
            max_recipients: 50,
            max_attachment_name_chars: 255,
            max_json_bytes: 256 * 1024,
            max_chunk_bytes: 1024 * 1024 * 1024,
            max_inbox_page: 200,
        }
    }
}

impl Limits {
    /// The byte limit for a blob of this kind, with its name.
    pub fn blob_limit(&self, kind: BlobKind) -> (&'static str, u64) {
        match kind {
            BlobKind::Clip => ("max_clip_bytes", self.max_clip_bytes),
            BlobKind::Attachment => ("max_attachment_bytes", self.max_attachment_bytes),
            BlobKind::Poster => ("max_poster_bytes", self.max_poster_bytes),
            BlobKind::Transcript => ("max_transcript_bytes", self.max_transcript_bytes),
        }
    }

    /// Page size for a request that asked for `requested` entries (none or 0: the default).
    pub fn page_size(&self, requested: Option<u64>) -> u64 {
        requested
            .filter(|&n| n > 0)
            .unwrap_or(crate::DEFAULT_INBOX_PAGE)
            .clamp(1, self.max_inbox_page.max(1))
    }

    /// Checks every field of a message that needs no stored state, in a fixed order.
    /// `now` is the store's clock, for the respond-by rule.
    pub fn check_message(&self, m: &NewMessage, now: DateTime<Utc>) -> Result<(), ApiError> {
        fields::chars_within("max_subject_chars", self.max_subject_chars, &m.subject)?;
        if m.subject.trim().is_empty() {
            return Err(ApiError::invalid(
                "the subject is empty: give the message a subject",
            ));
        }
        fields::text("the subject", &m.subject)?;
        if let Some(text) = &m.text {
            fields::chars_within("max_text_chars", self.max_text_chars, text)?;
            fields::text("the message text", text)?;
        }
        if m.recipients.is_empty() {
            return Err(ApiError::invalid(
                "the message has no recipients: add at least one",
            ));
        }
        fields::count_within("max_recipients", self.max_recipients, m.recipients.len())?;
        fields::each_once("recipient", m.recipients.iter())?;
        fields::count_within("max_attachments", self.max_attachments, m.attachments.len())?;
        for a in &m.attachments {
            fields::attachment_name(&a.name, self.max_attachment_name_chars)?;
        }
        fields::each_once("attachment blob", m.attachments.iter().map(|a| &a.blob))?;
        fields::time_zone(&m.respond_by_tz).map_err(|e| ApiError::invalid(e.0))?;
        fields::respond_by(m.respond_by, now)?;
        if let Some(ms) = m.duration_ms {
            fields::duration_ms(ms)?;
        }
        if m.in_reply_to.as_ref() == Some(&m.id) {
            return Err(ApiError::invalid(
                "the message answers itself (in_reply_to is its own id): reply to another message",
            ));
        }
        Ok(())
    }
}
