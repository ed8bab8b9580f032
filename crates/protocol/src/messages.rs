//! Messages as committed and as read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{BlobId, BlobRef, MessageId, UserName};

/// An attachment in a message being committed. `name` is display text only; no store
/// ever builds a path from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAttachment {
    pub blob: BlobId,
    pub name: String,
}

/// The commit step of a post: the blobs it references must be sealed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    pub id: MessageId,
    pub recipients: Vec<UserName>,
    pub subject: String,
    #[serde(default)]
    pub text: Option<String>,
    pub clip: BlobId,
    #[serde(default)]
    pub attachments: Vec<NewAttachment>,
    /// A sealed [`BlobKind::Poster`] blob: the still the recipients' inboxes show before
    /// the clip is downloaded. Optional: messages from older clients have none. Left
    /// out of the JSON when absent, so a message without one has the same fingerprint
    /// as before posters existed (a retried commit stays idempotent across an update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<BlobId>,
    /// The clip's length in milliseconds as the sender's recorder measured it, for
    /// inboxes to show before the clip is downloaded (display only: the store does
    /// not decode clips). Left out of the JSON when absent, like `poster`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The instant an answer is expected (the same instant for everyone).
    pub respond_by: DateTime<Utc>,
    /// The sender's IANA zone, to show respond-by as the sender meant it.
    pub respond_by_tz: String,
    #[serde(default)]
    pub in_reply_to: Option<MessageId>,
}

/// A committed attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub blob: BlobRef,
    pub name: String,
}

/// A committed message, as its sender and recipients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub sender: UserName,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    pub clip: BlobRef,
    pub attachments: Vec<Attachment>,
    /// The clip's length as the sender measured it (see [`NewMessage::duration_ms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The clip's still, when the sender uploaded one (see [`NewMessage::poster`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<BlobRef>,
    pub respond_by: DateTime<Utc>,
    pub respond_by_tz: String,
    pub in_reply_to: Option<MessageId>,
    /// The id of the first message of the thread (itself when not a reply).
    pub thread: MessageId,
    pub sent_at: DateTime<Utc>,
}

/// What a store adds to a [`NewMessage`] when it commits it.
#[derive(Debug, Clone)]
pub struct Committed {
    pub sender: UserName,
    pub clip: BlobRef,
    pub attachments: Vec<Attachment>,
    pub poster: Option<BlobRef>,
    pub thread: MessageId,
    pub sent_at: DateTime<Utc>,
}

impl NewMessage {
    /// The message as committed: the sender's fields plus what the store resolved.
    pub fn committed(&self, store_side: Committed) -> Message {
        let Committed {
            sender,
            clip,
            attachments,
            poster,
            thread,
            sent_at,
        } = store_side;
        Message {
            id: self.id.clone(),
            sender,
            recipients: self.recipients.clone(),
            subject: self.subject.clone(),
            text: self.text.clone(),
            clip,
            attachments,
            poster,
            duration_ms: self.duration_ms,
            respond_by: self.respond_by,
            respond_by_tz: self.respond_by_tz.clone(),
            in_reply_to: self.in_reply_to.clone(),
            thread,
            sent_at,
        }
    }
}
