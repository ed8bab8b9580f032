//! Messages as committed and as read: a clip, text, or both; a reply can answer one
//! moment of the clip it replies to (a comment) and name one of its chapters.
//!
//! Every field added after the first release is left out of the JSON when absent, so
//! older messages keep their fingerprints and older clients read what they know.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{BlobId, BlobRef, Deadline, MessageId, UserName};

/// One item of a clip's agenda: from `start_ms` (in the clip) to the next chapter's
/// start, or to the clip's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Chapter {
    pub start_ms: u64,
    pub title: String,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// An attachment in a message being committed. `name` is display text only; no store
/// ever builds a path from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewAttachment {
    pub blob: BlobId,
    pub name: String,
}

/// The commit step of a post: the blobs it references must be sealed first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "5f0c3b8e-6f5a-4c53-9d0a-1c2b3d4e5f60",
    "recipients": ["bob"],
    "subject": "Agenda for Thursday",
    "text": "Two points before the call: see the slides.",
    "respond_by": "2035-06-01T09:00:00Z",
    "respond_by_tz": "Europe/Berlin"
}))]
pub struct NewMessage {
    pub id: MessageId,
    pub recipients: Vec<UserName>,
    pub subject: String,
    #[serde(default)]
    pub text: Option<String>,
    /// The sealed clip. A message without one is a text answer and must have text.
    /// Left out of the JSON when absent (a message with a clip keeps its fingerprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<BlobId>,
    #[serde(default)]
    pub attachments: Vec<NewAttachment>,
    /// A sealed [`crate::BlobKind::Poster`] blob: the still the recipients' inboxes show before
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
    /// The instant an answer is expected: the same for everyone, or the latest of
    /// `deadlines` when each recipient has their own.
    pub respond_by: DateTime<Utc>,
    /// The sender's IANA zone, to show respond-by as the sender meant it.
    pub respond_by_tz: String,
    #[serde(default)]
    pub in_reply_to: Option<MessageId>,
    /// A comment: the moment (ms into the answered message's clip) this reply is about.
    /// Needs `in_reply_to`; a comment is not an answer (see [`Message::answers`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// The chapter of the answered message this reply is about: an index into its
    /// `chapters`. Needs `in_reply_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapter: Option<u32>,
    /// The clip's agenda, sorted by start. Needs a clip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
    /// The sender asks for no more than a 👍 or ✅: a recipient's ✅ reaction counts as
    /// their response.
    #[serde(default, skip_serializing_if = "is_false")]
    pub acknowledge_only: bool,
    /// Each recipient's own respond-by, for a message sent "N working hours each"
    /// ([`crate::check_deadlines`]); `respond_by` is then the latest of them. Left out
    /// of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Deadline>,
    /// The N of "N working hours each" the deadlines were computed from (display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours_each: Option<u32>,
}

/// A committed attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub blob: BlobRef,
    pub name: String,
}

/// A committed message, as its sender and recipients see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub sender: UserName,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    /// None for a text answer (see [`NewMessage::clip`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<BlobRef>,
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
    /// See [`NewMessage::at_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<u64>,
    /// See [`NewMessage::chapter`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chapter: Option<u32>,
    /// See [`NewMessage::chapters`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
    /// See [`NewMessage::acknowledge_only`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub acknowledge_only: bool,
    /// See [`NewMessage::deadlines`]; a reader's own one is [`Message::deadline_of`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Deadline>,
    /// See [`NewMessage::working_hours_each`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours_each: Option<u32>,
}

impl Message {
    /// A comment at a moment of the message it replies to.
    pub fn is_comment(&self) -> bool {
        self.in_reply_to.is_some() && self.at_ms.is_some()
    }

    /// Whether this message, from its sender, answers the message it replies to (and so
    /// marks its sender "responded" there): every reply, text or video, except a
    /// comment at a moment, which asks or remarks and leaves the answer open.
    pub fn answers(&self) -> Option<&MessageId> {
        self.in_reply_to.as_ref().filter(|_| self.at_ms.is_none())
    }

    /// The chapter a moment of this message's clip falls in: the last one starting at
    /// or before it.
    pub fn chapter_at(&self, at_ms: u64) -> Option<usize> {
        self.chapters.iter().rposition(|c| c.start_ms <= at_ms)
    }
}

/// What a store adds to a [`NewMessage`] when it commits it.
#[derive(Debug, Clone)]
pub struct Committed {
    pub sender: UserName,
    pub clip: Option<BlobRef>,
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
            at_ms: self.at_ms,
            chapter: self.chapter,
            chapters: self.chapters.clone(),
            acknowledge_only: self.acknowledge_only,
            deadlines: self.deadlines.clone(),
            working_hours_each: self.working_hours_each,
        }
    }
}
