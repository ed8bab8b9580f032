//! What a store accepts, and the checks of a message that need no stored state.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{fields, ApiError, BlobKind, Chapter, NewMessage};

/// What a store accepts. Every exceeded limit is reported with its field name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
    /// Chapters of one clip.
    pub max_chapters: u64,
    pub max_chapter_title_chars: u64,
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
            max_chapters: 50,
            max_chapter_title_chars: 120,
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
            self.check_text(text)?;
        }
        if m.clip.is_none() {
            if m.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                return Err(ApiError::invalid(
                    "the message has neither a clip nor text: record a clip or type an answer",
                ));
            }
            let clip_only = [
                ("a poster", m.poster.is_some()),
                ("a clip length", m.duration_ms.is_some()),
                ("chapters", !m.chapters.is_empty()),
            ];
            if let Some((what, _)) = clip_only.iter().find(|(_, has)| *has) {
                return Err(ApiError::invalid(format!(
                    "the message has {what} but no clip: send the clip with it, or leave {what} out"
                )));
            }
        }
        self.check_chapters(&m.chapters, m.duration_ms)?;
        if m.in_reply_to.is_none() && (m.at_ms.is_some() || m.chapter.is_some()) {
            return Err(ApiError::invalid(
                "a moment or a chapter is given but the message answers nothing: set in_reply_to to the message it is about",
            ));
        }
        if let Some(at) = m.at_ms {
            fields::duration_ms(at)?;
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
        crate::check_deadlines(m, now)?;
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

    /// A message's text: bounded, and no control characters but newlines and tabs.
    /// Also what a client checks before it queues a message with text.
    pub fn check_text(&self, text: &str) -> Result<(), ApiError> {
        fields::chars_within("max_text_chars", self.max_text_chars, text)?;
        fields::text("the message text", text)
    }

    /// A clip's agenda: bounded in count and title, sorted by start, each start within
    /// the clip when its length is known.
    /// Also what a client checks before it queues a message with chapters.
    pub fn check_chapters(
        &self,
        chapters: &[Chapter],
        duration_ms: Option<u64>,
    ) -> Result<(), ApiError> {
        fields::count_within("max_chapters", self.max_chapters, chapters.len())?;
        for c in chapters {
            fields::chars_within(
                "max_chapter_title_chars",
                self.max_chapter_title_chars,
                &c.title,
            )?;
            fields::name("the chapter title", &c.title)?;
            if let Some(length) = duration_ms {
                if c.start_ms >= length {
                    return Err(ApiError::invalid(format!(
                        "the chapter {:?} starts at {}, past the clip's end ({}): start it within the clip",
                        c.title,
                        fields::moment(c.start_ms),
                        fields::moment(length)
                    )));
                }
            }
        }
        if let Some(pair) = chapters.windows(2).find(|w| w[0].start_ms >= w[1].start_ms) {
            return Err(ApiError::invalid(format!(
                "the chapter {:?} at {} does not start after {:?} at {}: sort the chapters by their start, each at its own moment",
                pair[1].title,
                fields::moment(pair[1].start_ms),
                pair[0].title,
                fields::moment(pair[0].start_ms)
            )));
        }
        Ok(())
    }
}
