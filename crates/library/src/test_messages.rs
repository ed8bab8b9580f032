//! Messages as a store commits them, for the unit tests of the views over the library.

use chrono::{DateTime, Duration, Utc};
use pigeon_store::protocol::{BlobId, BlobKind, BlobRef, Message, MessageId, UserName};

/// A message `id` from `sender` to `to`, due at `respond_by`, sent a day before it,
/// starting its own thread.
pub fn message(id: &str, sender: &str, to: &[&str], respond_by: DateTime<Utc>) -> Message {
    let blob = BlobRef {
        id: BlobId::parse("blob0000000000000001").unwrap(),
        kind: BlobKind::Clip,
        size: 1,
        sha256: "00".into(),
        content_type: "video/mp4".into(),
    };
    let id = MessageId::parse(id).unwrap();
    Message {
        thread: id.clone(),
        id,
        sender: UserName::parse(sender).unwrap(),
        recipients: to.iter().map(|n| UserName::parse(*n).unwrap()).collect(),
        subject: "Plan".into(),
        text: None,
        clip: Some(blob),
        attachments: vec![],
        poster: None,
        duration_ms: None,
        respond_by,
        respond_by_tz: "Europe/Berlin".into(),
        in_reply_to: None,
        sent_at: respond_by - Duration::hours(24),
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}
