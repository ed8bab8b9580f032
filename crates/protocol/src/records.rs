//! Records: what is added about a message after it was committed (a transcript today;
//! reactions, comments and extension requests later), each its own small, idempotent
//! record that names the message. A committed message never changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{BlobId, BlobRef, MessageId, RecordId, UserName};

/// A record being committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecord {
    pub id: RecordId,
    /// The message it is about.
    pub message: MessageId,
    pub body: NewRecordBody,
}

/// What a new record says, before the store resolved its blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewRecordBody {
    /// The message's transcript: a sealed [`crate::BlobKind::Transcript`] blob of the
    /// sender's. Only the message's sender may add one; a later one replaces an earlier.
    Transcript { blob: BlobId, language: String },
}

/// A committed record, as everyone who can see the message reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: RecordId,
    pub message: MessageId,
    pub author: UserName,
    pub created_at: DateTime<Utc>,
    pub body: RecordBody,
}

/// What a committed record says. Kinds a client does not know yet read as
/// [`RecordBody::Unknown`] and are ignored, so a store can grow new kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordBody {
    Transcript {
        blob: BlobRef,
        language: String,
    },
    #[serde(other)]
    Unknown,
}
