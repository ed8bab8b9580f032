//! Transcripts: one per clip, kept in the library's `transcripts` table.
//!
//! An own clip's transcript belongs to its draft ([`TranscriptOwner::Draft`]): it is
//! queued at Stop, made here by the [`crate::transcription::Transcriber`] in the
//! background, and shared after the message was sent, as a transcript blob plus a record
//! ([`crate::Outbox::share_transcripts`]). A received message's transcript belongs to
//! the message ([`TranscriptOwner::Message`]): it arrives with the inbox sync
//! ([`receive`]), or is made here when the message came without one. A received one
//! replaces one made here for the same message.
//!
//! Every job is durable: a job queued survives a restart, and one left running by a
//! crash is run again by the next Transcriber. Each queuing gives the job a new
//! `queued_at`, and the Transcriber only stores a result for the very job it took, so
//! a clip trimmed (or a transcript asked again) while it ran never gets the old text.

pub(crate) mod receive;
#[cfg(test)]
mod tests;

use std::fmt;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{MessageId, Transcript};
use serde::{Deserialize, Serialize};

use crate::error::{LibraryError, Result};

/// Whose transcript: an own clip's (by its draft) or a received message's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum TranscriptOwner {
    /// The clip of this draft, before and after it was sent.
    Draft(String),
    /// A message received by this user.
    Message(MessageId),
}

impl TranscriptOwner {
    /// The `owner` column's text: `draft:<id>` or `message:<id>`.
    pub fn key(&self) -> String {
        match self {
            TranscriptOwner::Draft(id) => format!("draft:{id}"),
            TranscriptOwner::Message(id) => format!("message:{id}"),
        }
    }

    /// Parses [`Self::key`].
    pub fn from_key(key: &str) -> Result<Self> {
        if let Some(id) = key.strip_prefix("draft:") {
            return Ok(TranscriptOwner::Draft(id.to_owned()));
        }
        if let Some(id) = key.strip_prefix("message:") {
            if let Ok(id) = MessageId::parse(id) {
                return Ok(TranscriptOwner::Message(id));
            }
        }
        Err(LibraryError::Corrupt(format!("transcript owner {key:?}")))
    }
}

impl fmt::Display for TranscriptOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// Where a transcript stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TranscriptState {
    /// Waiting for the Transcriber (or, for a received clip, for its download: see
    /// [`StoredTranscript::waits_for_download`]).
    Queued,
    /// Being made: `progress` from 0 to 1.
    Running {
        progress: f32,
    },
    Done,
    /// It could not be made; `reason` says why and what to do, in one sentence.
    Failed {
        reason: String,
    },
}

impl TranscriptState {
    /// The `state` column's text.
    pub fn as_str(&self) -> &'static str {
        match self {
            TranscriptState::Queued => "queued",
            TranscriptState::Running { .. } => "running",
            TranscriptState::Done => "done",
            TranscriptState::Failed { .. } => "failed",
        }
    }
}

/// Who made a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// On this machine.
    MadeHere,
    /// By the sender, received with the message.
    Received,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::MadeHere => "made_here",
            Origin::Received => "received",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        match text {
            "made_here" => Ok(Origin::MadeHere),
            "received" => Ok(Origin::Received),
            other => Err(LibraryError::Corrupt(format!(
                "transcript origin {other:?}"
            ))),
        }
    }
}

/// A clip's transcript as the library keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTranscript {
    pub owner: TranscriptOwner,
    pub state: TranscriptState,
    /// The transcript itself, once done.
    pub transcript: Option<Transcript>,
    pub origin: Origin,
    /// The spoken language (detected or chosen), once done.
    pub language: Option<String>,
    /// The model that made it, once done.
    pub model: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// Queued for a received message whose clip is not downloaded yet: it is made once
    /// the clip is fetched (then run the Transcriber again).
    pub waits_for_download: bool,
    /// An own transcript: when it was added to the sent message on the store.
    pub shared_at: Option<DateTime<Utc>>,
}
