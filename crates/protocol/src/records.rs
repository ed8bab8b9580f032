//! Records: what is added about a message after it was committed (its transcript, a
//! participant's reaction; extension requests later), each its own small, idempotent
//! record that names the message. A committed message never changes.
//!
//! The rules of a record's commit, without I/O: the store reads what
//! [`check_new_record`] needs (the record stored under the same id, the message, the
//! blob the body names) into [`RecordFacts`] and the rule decides. The hub and the
//! folder store both drive it. Everyone who can see the message can see its records;
//! for a transcript, readers take the latest ([`latest_transcript`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::commit::{own_sealed_blob, StoredBlob};
use crate::{
    access, fields, ApiError, BlobId, BlobKind, BlobRef, ErrorCode, Message, MessageId, RecordId,
    UserName,
};

/// A record being committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewRecord {
    pub id: RecordId,
    /// The message it is about.
    pub message: MessageId,
    pub body: NewRecordBody,
}

/// What a new record says, before the store resolved its blobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NewRecordBody {
    /// The message's transcript: a sealed [`crate::BlobKind::Transcript`] blob of the
    /// sender's. Only the message's sender may add one; a later one replaces an earlier.
    Transcript { blob: BlobId, language: String },
    /// A participant's reaction, one of [`REACTIONS`]. Each participant has at most one
    /// of each emoji on a message: their latest record for that emoji says whether it
    /// is on (`removed` false) or taken back ([`reactions`]). Nobody can change another's.
    Reaction {
        emoji: String,
        #[serde(default, skip_serializing_if = "crate::messages::is_false")]
        removed: bool,
    },
    /// A recipient asks for more time: their deadline would move to `proposed` if the
    /// sender grants it ([`crate::extensions`] has the rules).
    ExtensionRequest {
        proposed: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// The sender's answer to one extension request: granted moves the asker's deadline.
    ExtensionAnswer {
        request: RecordId,
        granted: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// The sender reminds one pending recipient, once per deadline of theirs.
    Nudge {
        recipient: UserName,
        deadline: DateTime<Utc>,
    },
    /// The sender closes the meeting: no more extensions or nudges.
    Close,
}

/// The reactions a participant can give, in the order they are shown.
pub const REACTIONS: [&str; 6] = ["👍", "✅", "❓", "👀", "🎉", "❤️"];

/// The reaction that answers a message sent "acknowledge only".
pub const ACKNOWLEDGEMENT: &str = "✅";

/// The one of [`REACTIONS`] that `emoji` is, or an error naming the set. Keyboards
/// differ in whether they add the emoji presentation selector (U+FE0F, as in "❤️"):
/// with or without it, it is the same reaction, kept as [`REACTIONS`] spells it.
pub fn reaction_emoji(emoji: &str) -> Result<&'static str, ApiError> {
    let bare = |e: &str| e.replace('\u{FE0F}', "");
    REACTIONS
        .iter()
        .find(|r| bare(r) == bare(emoji))
        .copied()
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "{emoji:?} is not one of the reactions: react with one of {}",
                REACTIONS.join(" ")
            ))
        })
}

impl NewRecordBody {
    /// The blob the store must look up for [`RecordFacts::blob`], if the body names one.
    pub fn blob(&self) -> Option<&BlobId> {
        match self {
            NewRecordBody::Transcript { blob, .. } => Some(blob),
            _ => None,
        }
    }

    /// Whether [`check_new_record`] needs the message's records in
    /// [`RecordFacts::records`] (the kinds about deadlines do), so a store reads them
    /// only then.
    pub fn needs_records(&self) -> bool {
        !matches!(
            self,
            NewRecordBody::Transcript { .. } | NewRecordBody::Reaction { .. }
        )
    }
}

/// A committed record, as everyone who can see the message reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Record {
    pub id: RecordId,
    pub message: MessageId,
    pub author: UserName,
    pub created_at: DateTime<Utc>,
    pub body: RecordBody,
}

/// What a committed record says. Kinds a client does not know yet read as
/// [`RecordBody::Unknown`] and are ignored, so a store can grow new kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordBody {
    Transcript {
        blob: BlobRef,
        language: String,
    },
    /// See [`NewRecordBody::Reaction`].
    Reaction {
        emoji: String,
        #[serde(default, skip_serializing_if = "crate::messages::is_false")]
        removed: bool,
    },
    /// See [`NewRecordBody::ExtensionRequest`].
    ExtensionRequest {
        proposed: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// See [`NewRecordBody::ExtensionAnswer`].
    ExtensionAnswer {
        request: RecordId,
        granted: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// See [`NewRecordBody::Nudge`].
    Nudge {
        recipient: UserName,
        deadline: DateTime<Utc>,
    },
    /// See [`NewRecordBody::Close`].
    Close,
    #[serde(other)]
    Unknown,
}

impl RecordBody {
    /// The blob the record names, which everyone who can see the message may download.
    pub fn blob(&self) -> Option<&BlobRef> {
        match self {
            RecordBody::Transcript { blob, .. } => Some(blob),
            _ => None,
        }
    }
}

/// The fingerprint of a record as its author committed it: the sha256 of its JSON. A
/// retry with the same fingerprint is the same record.
pub fn record_fingerprint(r: &NewRecord) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(r).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot encode the record: {e}"),
        )
    })?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// A committed record as a store keeps it: with the fingerprint a retry is compared by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub fingerprint: String,
    pub record: Record,
}

/// What the store read for [`check_new_record`].
#[derive(Debug, Clone, Default)]
pub struct RecordFacts {
    /// The record already stored under the new record's id, if any.
    pub existing: Option<StoredRecord>,
    /// The message the new record names, if it exists.
    pub message: Option<Message>,
    /// The blob of [`NewRecordBody::blob`], as stored, if it exists.
    pub blob: Option<StoredBlob>,
    /// The message's records (any order), when [`NewRecordBody::needs_records`].
    pub records: Vec<Record>,
}

/// What [`check_new_record`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// Store this record (with [`record_fingerprint`]) and tell the message's readers.
    New(Record),
    /// The very same record was committed before: answer with it, store nothing.
    Existing(Record),
}

/// Decides the commit of `new` by `author` at `now` from what the store read.
///
/// Idempotent by [`RecordId`]: the same record again is [`RecordOutcome::Existing`]
/// (checked first, so a retry succeeds whatever changed since); a different record under
/// the same id is a conflict. The message must be one the author can see (else "not
/// found", as for strangers everywhere). A transcript may be added only by the
/// message's sender, naming a sealed transcript blob of their own.
pub fn check_new_record(
    new: &NewRecord,
    author: &UserName,
    facts: RecordFacts,
    now: DateTime<Utc>,
) -> Result<RecordOutcome, ApiError> {
    if let Some(stored) = facts.existing {
        let fingerprint = record_fingerprint(new)?;
        return if &stored.record.author == author && stored.fingerprint == fingerprint {
            Ok(RecordOutcome::Existing(stored.record))
        } else {
            Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "the record id {} is already used for a different record: pick a new random id",
                    new.id
                ),
            ))
        };
    }
    let message = facts
        .message
        .filter(|m| m.id == new.message && access::may_read(m, author))
        .ok_or_else(|| ApiError::not_found("message"))?;
    let body = match &new.body {
        NewRecordBody::Transcript { blob, language } => {
            if &message.sender != author {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    format!(
                        "only {}, who sent the message, can add its transcript: make a transcript on this machine instead",
                        message.sender
                    ),
                ));
            }
            fields::language(language)?;
            let blob = own_sealed_blob(
                author,
                blob,
                BlobKind::Transcript,
                "transcript blob",
                facts.blob,
            )?;
            RecordBody::Transcript {
                blob,
                language: language.clone(),
            }
        }
        NewRecordBody::Reaction { emoji, removed } => RecordBody::Reaction {
            emoji: reaction_emoji(emoji)?.to_owned(),
            removed: *removed,
        },
        other => crate::check_deadline_record(other, author, &message, &facts.records, now)?,
    };
    Ok(RecordOutcome::New(Record {
        id: new.id.clone(),
        message: new.message.clone(),
        author: author.clone(),
        created_at: now,
        body,
    }))
}

/// Whether `record` is a recipient's response to `message`: a ✅ on a message its sender
/// sent "acknowledge only". Both stores mark the recipient responded (as "done", the
/// first response counting) when they commit such a record.
pub fn acknowledges(message: &Message, record: &Record) -> bool {
    message.acknowledge_only
        && record.message == message.id
        && message.recipients.contains(&record.author)
        && matches!(&record.body, RecordBody::Reaction { emoji, removed: false } if emoji == ACKNOWLEDGEMENT)
}

/// One emoji on a message with who gives it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reactions {
    pub emoji: String,
    /// In the order they reacted.
    pub by: Vec<UserName>,
}

/// The reactions on one message as every reader shows them, from its records (any
/// order; other kinds and other messages' records are ignored): each participant's
/// latest record per emoji decides (by `created_at`, then id), emoji in [`REACTIONS`]
/// order, those nobody gives left out.
pub fn reactions(message: &MessageId, records: &[Record]) -> Vec<Reactions> {
    let mut latest: std::collections::HashMap<(&UserName, &str), &Record> = Default::default();
    for r in records.iter().filter(|r| &r.message == message) {
        if let RecordBody::Reaction { emoji, .. } = &r.body {
            let slot = latest.entry((&r.author, emoji.as_str())).or_insert(r);
            if (r.created_at, &r.id) > (slot.created_at, &slot.id) {
                *slot = r;
            }
        }
    }
    REACTIONS
        .iter()
        .filter_map(|&emoji| {
            let mut on: Vec<&Record> = latest
                .iter()
                .filter(|((_, e), r)| {
                    *e == emoji && matches!(r.body, RecordBody::Reaction { removed: false, .. })
                })
                .map(|(_, r)| *r)
                .collect();
            on.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            (!on.is_empty()).then(|| Reactions {
                emoji: emoji.to_string(),
                by: on.into_iter().map(|r| r.author.clone()).collect(),
            })
        })
        .collect()
}

/// The transcript readers show among a message's records: a later one replaces an
/// earlier (by `created_at`, then id, so every reader picks the same one).
pub fn latest_transcript(records: &[Record]) -> Option<&Record> {
    records
        .iter()
        .filter(|r| matches!(r.body, RecordBody::Transcript { .. }))
        .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn message() -> Message {
        serde_json::from_str(
            r#"{"id":"0123456789abcdef","sender":"ann","recipients":["bob"],"subject":"s",
            "text":null,"clip":{"id":"0123456789abcdef0","kind":"clip","size":1,
            "sha256":"0000000000000000000000000000000000000000000000000000000000000000",
            "content_type":"video/mp4"},"attachments":[],"respond_by":"2030-01-01T00:00:00Z",
            "respond_by_tz":"UTC","in_reply_to":null,"thread":"0123456789abcdef",
            "sent_at":"2029-01-01T00:00:00Z"}"#,
        )
        .unwrap()
    }

    fn blob_id() -> BlobId {
        BlobId::parse("transcriptblob0001").unwrap()
    }

    fn new_record(language: &str) -> NewRecord {
        NewRecord {
            id: RecordId::parse("record-0000000001").unwrap(),
            message: message().id,
            body: NewRecordBody::Transcript {
                blob: blob_id(),
                language: language.into(),
            },
        }
    }

    fn sealed_blob(owner: &str, kind: BlobKind, sealed: bool) -> StoredBlob {
        StoredBlob {
            owner: name(owner),
            kind,
            sealed: sealed.then(|| BlobRef {
                id: blob_id(),
                kind,
                size: 10,
                sha256: "1".repeat(64),
                content_type: crate::TRANSCRIPT_CONTENT_TYPE.into(),
            }),
        }
    }

    fn facts(blob: StoredBlob) -> RecordFacts {
        RecordFacts {
            existing: None,
            message: Some(message()),
            blob: Some(blob),
            records: vec![],
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2029, 1, 1, 0, 5, 0).unwrap()
    }

    fn refused(author: &str, f: RecordFacts) -> ApiError {
        check_new_record(&new_record("en"), &name(author), f, now()).unwrap_err()
    }

    #[test]
    fn the_sender_adds_a_transcript_of_their_own_sealed_blob() {
        let outcome = check_new_record(
            &new_record("en"),
            &name("ann"),
            facts(sealed_blob("ann", BlobKind::Transcript, true)),
            now(),
        )
        .unwrap();
        let RecordOutcome::New(record) = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(record.author, name("ann"));
        assert_eq!(record.created_at, now());
        assert_eq!(record.body.blob().unwrap().id, blob_id());
    }

    #[test]
    fn a_recipient_cannot_add_a_transcript_and_a_stranger_sees_nothing() {
        let bob = refused("bob", facts(sealed_blob("bob", BlobKind::Transcript, true)));
        assert_eq!(bob.code, ErrorCode::Forbidden);
        assert_eq!(bob.http_status(), 403);
        assert!(bob.message.contains("only ann"), "{}", bob.message);
        let eve = refused("eve", facts(sealed_blob("eve", BlobKind::Transcript, true)));
        assert_eq!(eve.code, ErrorCode::NotFound);
        let missing = refused(
            "ann",
            RecordFacts {
                message: None,
                ..facts(sealed_blob("ann", BlobKind::Transcript, true))
            },
        );
        assert_eq!(missing.code, ErrorCode::NotFound);
    }

    #[test]
    fn the_blob_must_be_own_sealed_and_a_transcript() {
        let code = |b| refused("ann", facts(b)).code;
        assert_eq!(
            code(sealed_blob("bob", BlobKind::Transcript, true)),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(sealed_blob("ann", BlobKind::Attachment, true)),
            ErrorCode::Invalid
        );
        assert_eq!(
            code(sealed_blob("ann", BlobKind::Transcript, false)),
            ErrorCode::NotSealed
        );
        let no_blob = RecordFacts {
            blob: None,
            ..facts(sealed_blob("ann", BlobKind::Transcript, true))
        };
        assert_eq!(refused("ann", no_blob).code, ErrorCode::NotFound);
        let bad_language = check_new_record(
            &new_record("English"),
            &name("ann"),
            facts(sealed_blob("ann", BlobKind::Transcript, true)),
            now(),
        )
        .unwrap_err();
        assert_eq!(bad_language.code, ErrorCode::Invalid);
    }

    #[test]
    fn a_retry_returns_the_stored_record_and_another_body_conflicts() {
        let first = match check_new_record(
            &new_record("en"),
            &name("ann"),
            facts(sealed_blob("ann", BlobKind::Transcript, true)),
            now(),
        )
        .unwrap()
        {
            RecordOutcome::New(r) => r,
            other => panic!("{other:?}"),
        };
        let stored = StoredRecord {
            fingerprint: record_fingerprint(&new_record("en")).unwrap(),
            record: first.clone(),
        };
        // A retry is answered from the stored record, even with nothing else read.
        let retry = RecordFacts {
            existing: Some(stored.clone()),
            ..RecordFacts::default()
        };
        let later = now() + chrono::Duration::hours(1);
        assert_eq!(
            check_new_record(&new_record("en"), &name("ann"), retry.clone(), later).unwrap(),
            RecordOutcome::Existing(first)
        );
        let other =
            check_new_record(&new_record("de"), &name("ann"), retry.clone(), later).unwrap_err();
        assert_eq!(other.code, ErrorCode::Conflict);
        assert!(
            other.message.contains("record-0000000001"),
            "{}",
            other.message
        );
        let other_author =
            check_new_record(&new_record("en"), &name("bob"), retry, later).unwrap_err();
        assert_eq!(other_author.code, ErrorCode::Conflict);
    }

    #[test]
    fn readers_take_the_latest_transcript() {
        let at = |minute, id: &str, body| Record {
            id: RecordId::parse(id).unwrap(),
            message: message().id,
            author: name("ann"),
            created_at: Utc.with_ymd_and_hms(2029, 1, 1, 0, minute, 0).unwrap(),
            body,
        };
        let transcript = |language: &str| RecordBody::Transcript {
            blob: sealed_blob("ann", BlobKind::Transcript, true)
                .sealed
                .unwrap(),
            language: language.into(),
        };
        let records = vec![
            at(9, "record-late-unknown", RecordBody::Unknown),
            at(7, "record-second-0001", transcript("de")),
            at(3, "record-first-00001", transcript("en")),
        ];
        assert_eq!(
            latest_transcript(&records).unwrap().id.as_str(),
            "record-second-0001"
        );
        assert!(latest_transcript(&records[..1]).is_none());
    }

    #[test]
    fn an_unknown_record_kind_reads_as_unknown() {
        let r: RecordBody =
            serde_json::from_str(r#"{"kind":"extension","until":"2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(r, RecordBody::Unknown);
    }

    fn reaction(author: &str, second: u32, emoji: &str, removed: bool) -> Record {
        Record {
            id: RecordId::parse(format!("reaction-{author}-{second:04}")).unwrap(),
            message: message().id,
            author: name(author),
            created_at: Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, second).unwrap(),
            body: RecordBody::Reaction {
                emoji: emoji.into(),
                removed,
            },
        }
    }

    #[test]
    fn participants_react_from_the_set_and_strangers_see_nothing() {
        let react = |author: &str, emoji: &str| {
            check_new_record(
                &NewRecord {
                    id: RecordId::parse("reaction-00000001").unwrap(),
                    message: message().id,
                    body: NewRecordBody::Reaction {
                        emoji: emoji.into(),
                        removed: false,
                    },
                },
                &name(author),
                RecordFacts {
                    message: Some(message()),
                    ..RecordFacts::default()
                },
                now(),
            )
        };
        for (who, emoji) in [("bob", "👀"), ("ann", "❤️"), ("bob", "✅")] {
            assert!(
                matches!(react(who, emoji), Ok(RecordOutcome::New(_))),
                "{who} {emoji}"
            );
        }
        // A heart typed without the presentation selector is the set's heart.
        let Ok(RecordOutcome::New(heart)) = react("bob", "\u{2764}") else {
            panic!("a bare heart is refused");
        };
        assert_eq!(
            heart.body,
            RecordBody::Reaction {
                emoji: "❤️".into(),
                removed: false
            }
        );
        let odd = react("bob", "💩").unwrap_err();
        assert_eq!(odd.code, ErrorCode::Invalid);
        assert!(odd.message.contains("👍 ✅ ❓ 👀 🎉 ❤️"), "{}", odd.message);
        assert_eq!(react("eve", "👍").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn each_participants_latest_reaction_per_emoji_counts() {
        let records = vec![
            reaction("bob", 5, "👀", false),
            reaction("carol", 2, "👀", false),
            reaction("bob", 9, "👍", false),
            reaction("bob", 10, "👍", true),
            reaction("carol", 3, "✅", true),
            reaction("carol", 1, "✅", false),
            reaction("ann", 4, "🎉", false),
        ];
        let shown: Vec<(String, Vec<String>)> = reactions(&message().id, &records)
            .into_iter()
            .map(|r| (r.emoji, r.by.iter().map(|u| u.to_string()).collect()))
            .collect();
        let expected = [("👀", vec!["carol", "bob"]), ("🎉", vec!["ann"])]
            .map(|(e, by)| (e.to_string(), by.into_iter().map(String::from).collect()));
        assert_eq!(shown, expected.to_vec());
    }

    #[test]
    fn a_check_from_a_recipient_acknowledges_an_acknowledge_only_message() {
        let mut m = message();
        let check = reaction("bob", 1, "✅", false);
        assert!(!acknowledges(&m, &check));
        m.acknowledge_only = true;
        assert!(acknowledges(&m, &check));
        assert!(!acknowledges(&m, &reaction("bob", 1, "👍", false)));
        assert!(!acknowledges(&m, &reaction("bob", 1, "✅", true)));
        assert!(!acknowledges(&m, &reaction("ann", 1, "✅", false)));
    }
}
