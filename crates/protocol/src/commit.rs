//! The rules of a commit, without I/O: the store reads the records a [`Commit`] asks
//! for (the stored message of the same id, the recipients, the blobs, the parent) and
//! the commit decides. The hub and the folder store both drive it.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{
    access, ApiError, Attachment, BlobId, BlobKind, BlobRef, Committed, ErrorCode, Limits, Message,
    MessageId, NewMessage, UserName,
};

/// The fingerprint of a message as its sender committed it: the sha256 of its JSON.
/// A retry with the same fingerprint is the same message. Fields left out of the JSON
/// when absent keep old messages' fingerprints unchanged.
pub fn fingerprint(m: &NewMessage) -> Result<String, ApiError> {
    let bytes = serde_json::to_vec(m).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot encode the message: {e}"),
        )
    })?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// A blob as the store has it, for a commit that references it.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub owner: UserName,
    pub kind: BlobKind,
    /// The sealed reference, once sealed.
    pub sealed: Option<BlobRef>,
}

/// What the store read for a commit, in the order [`Commit`] listed it.
#[derive(Debug, Clone, Default)]
pub struct CommitFacts {
    /// The recipients of [`Commit::recipients`] that are not users of the store.
    pub unknown_recipients: Vec<UserName>,
    /// For each blob of [`Commit::blobs`], in order: the stored blob, if any.
    pub blobs: Vec<Option<StoredBlob>>,
    /// The message [`Commit::parent`] names, if it exists.
    pub parent: Option<Message>,
}

/// One commit of `message` by `sender`.
#[derive(Debug)]
pub struct Commit<'a> {
    message: &'a NewMessage,
    sender: &'a UserName,
    fingerprint: String,
}

impl<'a> Commit<'a> {
    pub fn new(message: &'a NewMessage, sender: &'a UserName) -> Result<Self, ApiError> {
        Ok(Self {
            fingerprint: fingerprint(message)?,
            message,
            sender,
        })
    }

    /// The message's fingerprint, to store beside it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The id is already stored, by `stored_sender` with `stored_fingerprint`: `Ok` when
    /// it is this very message (a retry: answer with the stored one), a conflict
    /// otherwise. Checked before anything else, so a retry succeeds even after, say, its
    /// respond-by has passed.
    pub fn retry_of(&self, stored_sender: &str, stored_fingerprint: &str) -> Result<(), ApiError> {
        if stored_sender == self.sender.as_str() && stored_fingerprint == self.fingerprint {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Conflict,
                "this message id is already used for a different message: pick a new random id",
            ))
        }
    }

    /// Every rule that needs no stored state.
    pub fn check(&self, limits: &Limits, now: DateTime<Utc>) -> Result<(), ApiError> {
        limits.check_message(self.message, now)
    }

    /// The recipients whose existence the store must look up.
    pub fn recipients(&self) -> &[UserName] {
        &self.message.recipients
    }

    /// The blobs the store must look up, in order: the clip (if any), each attachment,
    /// the poster.
    pub fn blobs(&self) -> Vec<&BlobId> {
        self.message
            .clip
            .iter()
            .chain(self.message.attachments.iter().map(|a| &a.blob))
            .chain(self.message.poster.iter())
            .collect()
    }

    /// The message this one answers, for the store to look up.
    pub fn parent(&self) -> Option<&MessageId> {
        self.message.in_reply_to.as_ref()
    }

    /// Decides the commit from what the store read: the message to store, sent `now`.
    pub fn resolve(&self, facts: CommitFacts, now: DateTime<Utc>) -> Result<Message, ApiError> {
        if let Some(r) = facts.unknown_recipients.first() {
            return Err(ApiError::new(
                ErrorCode::UnknownRecipient,
                format!(
                    "{r} is not a user of this store: check the name against the list of people"
                ),
            ));
        }
        let m = self.message;
        let mut blobs = facts.blobs.into_iter();
        let mut next = |id: &BlobId, kind: BlobKind, what: &str| {
            let stored = blobs.next().flatten();
            self.sealed_blob(id, kind, what, stored)
        };
        let clip = match &m.clip {
            Some(id) => Some(next(id, BlobKind::Clip, "clip blob")?),
            None => None,
        };
        let mut attachments = Vec::with_capacity(m.attachments.len());
        for a in &m.attachments {
            attachments.push(Attachment {
                blob: next(&a.blob, BlobKind::Attachment, "attachment blob")?,
                name: a.name.clone(),
            });
        }
        let poster = match &m.poster {
            Some(id) => Some(next(id, BlobKind::Poster, "poster blob")?),
            None => None,
        };
        let thread = match &m.in_reply_to {
            None => m.id.clone(),
            Some(_) => match facts.parent {
                Some(p) if access::may_read(&p, self.sender) => {
                    about_the_parent(m, &p)?;
                    p.thread
                }
                _ => return Err(ApiError::not_found("in_reply_to message")),
            },
        };
        Ok(m.committed(Committed {
            sender: self.sender.clone(),
            clip,
            attachments,
            poster,
            thread,
            sent_at: now,
        }))
    }

    /// A referenced blob must be the sender's own, of the right kind, and sealed.
    fn sealed_blob(
        &self,
        id: &BlobId,
        kind: BlobKind,
        what: &str,
        stored: Option<StoredBlob>,
    ) -> Result<BlobRef, ApiError> {
        own_sealed_blob(self.sender, id, kind, what, stored)
    }
}

/// A comment's moment lies within the answered clip, and a named chapter is one of its
/// chapters.
fn about_the_parent(m: &NewMessage, parent: &Message) -> Result<(), ApiError> {
    answer_about(m.at_ms, m.chapter, parent)
}

/// The rule of [`Commit::resolve`] for what an answer is about (`at_ms`, `chapter`, as on
/// the wire), for a client to check before it queues the answer to `parent`.
pub fn answer_about(
    at_ms: Option<u64>,
    chapter: Option<u32>,
    parent: &Message,
) -> Result<(), ApiError> {
    if let Some(at) = at_ms {
        let Some(_) = &parent.clip else {
            return Err(ApiError::invalid(
                "the comment names a moment, but the message it answers has no clip: reply without a moment",
            ));
        };
        if let Some(length) = parent.duration_ms.filter(|&length| at > length) {
            let (mut at_shown, mut length_shown) =
                (crate::fields::moment(at), crate::fields::moment(length));
            // Within a tenth of the end both read alike: say it in milliseconds.
            if at_shown == length_shown {
                (at_shown, length_shown) = (format!("{at} ms"), format!("{length} ms"));
            }
            return Err(ApiError::invalid(format!(
                "the moment {at_shown} is past the end of the clip it answers ({length_shown}): pick a moment within the clip"
            )));
        }
    }
    if let Some(chapter) = chapter {
        if chapter as usize >= parent.chapters.len() {
            return Err(ApiError::invalid(match parent.chapters.len() {
                0 => "the reply names a chapter, but the message it answers has none: leave the chapter out".to_string(),
                n => format!(
                    "the reply names chapter index {chapter}, but the message it answers has {n} chapter(s): name one from 0 to {} (numbered from 0 on the wire)",
                    n - 1
                ),
            }));
        }
    }
    Ok(())
}

/// A blob someone references (in a message or a record) must be their own, of the
/// right kind, and sealed; another user's blob is "not found".
pub(crate) fn own_sealed_blob(
    owner: &UserName,
    id: &BlobId,
    kind: BlobKind,
    what: &str,
    stored: Option<StoredBlob>,
) -> Result<BlobRef, ApiError> {
    let stored = stored
        .filter(|b| &b.owner == owner)
        .ok_or_else(|| ApiError::not_found(what))?;
    if stored.kind != kind {
        return Err(ApiError::invalid(format!(
            "blob {id} was uploaded as {}, not as {}",
            stored.kind.as_str(),
            kind.as_str()
        )));
    }
    stored.sealed.ok_or_else(|| {
        ApiError::new(
            ErrorCode::NotSealed,
            format!("{what} {id} is not sealed: finish its upload and seal it first"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_message() -> NewMessage {
        serde_json::from_str(
            r#"{"id":"0123456789abcdef","recipients":["bob"],"subject":"s","text":null,
            "clip":"0123456789abcdef0","attachments":[],"respond_by":"2030-01-01T00:00:00Z",
            "respond_by_tz":"UTC","in_reply_to":null}"#,
        )
        .unwrap()
    }

    #[test]
    fn an_old_message_keeps_its_fingerprint() {
        // The fingerprint of this JSON as stored before posters and lengths existed.
        let m = new_message();
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(fingerprint(&m).unwrap(), hex::encode(Sha256::digest(json)));
        assert!(!String::from_utf8(serde_json::to_vec(&m).unwrap())
            .unwrap()
            .contains("duration_ms"));
    }

    #[test]
    fn a_retry_is_the_same_sender_and_fingerprint() {
        let m = new_message();
        let ann = UserName::parse("ann").unwrap();
        let c = Commit::new(&m, &ann).unwrap();
        assert!(c.retry_of("ann", c.fingerprint()).is_ok());
        assert_eq!(
            c.retry_of("eve", c.fingerprint()).unwrap_err().code,
            ErrorCode::Conflict
        );
        assert_eq!(
            c.retry_of("ann", "other").unwrap_err().code,
            ErrorCode::Conflict
        );
    }

    #[test]
    fn blobs_must_be_own_sealed_and_of_their_kind() {
        let m = new_message();
        let ann = UserName::parse("ann").unwrap();
        let c = Commit::new(&m, &ann).unwrap();
        let sealed = BlobRef {
            id: m.clip.clone().unwrap(),
            kind: BlobKind::Clip,
            size: 1,
            sha256: "0".repeat(64),
            content_type: "video/mp4".into(),
        };
        let blob = |owner: &str, kind, sealed: Option<BlobRef>| CommitFacts {
            blobs: vec![Some(StoredBlob {
                owner: UserName::parse(owner).unwrap(),
                kind,
                sealed,
            })],
            ..CommitFacts::default()
        };
        let now = Utc::now();
        let code = |f| c.resolve(f, now).unwrap_err().code;
        assert_eq!(
            code(blob("eve", BlobKind::Clip, Some(sealed.clone()))),
            ErrorCode::NotFound
        );
        assert_eq!(
            code(blob("ann", BlobKind::Poster, Some(sealed.clone()))),
            ErrorCode::Invalid
        );
        assert_eq!(
            code(blob("ann", BlobKind::Clip, None)),
            ErrorCode::NotSealed
        );
        assert_eq!(code(CommitFacts::default()), ErrorCode::NotFound);
        let ok = c
            .resolve(blob("ann", BlobKind::Clip, Some(sealed)), now)
            .unwrap();
        assert_eq!(ok.thread, m.id);
        assert_eq!(ok.sender, ann);
    }

    fn parent(duration_ms: Option<u64>, chapters: usize) -> Message {
        let mut p: Message = serde_json::from_str(
            r#"{"id":"parent0000000001","sender":"bob","recipients":["ann"],"subject":"s",
            "text":null,"clip":{"id":"0123456789abcdef0","kind":"clip","size":1,
            "sha256":"0000000000000000000000000000000000000000000000000000000000000000",
            "content_type":"video/mp4"},"attachments":[],"respond_by":"2030-01-01T00:00:00Z",
            "respond_by_tz":"UTC","in_reply_to":null,"thread":"parent0000000001",
            "sent_at":"2029-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        p.duration_ms = duration_ms;
        p.chapters = (0..chapters)
            .map(|i| crate::Chapter {
                start_ms: i as u64 * 1000,
                title: format!("item {i}"),
            })
            .collect();
        p
    }

    fn text_reply(at_ms: Option<u64>, chapter: Option<u32>) -> NewMessage {
        let mut m = new_message();
        m.clip = None;
        m.text = Some("which quarter is this?".into());
        m.in_reply_to = Some(MessageId::parse("parent0000000001").unwrap());
        m.at_ms = at_ms;
        m.chapter = chapter;
        m
    }

    fn resolve_reply(m: &NewMessage, parent: Message) -> Result<Message, ApiError> {
        let ann = UserName::parse("ann").unwrap();
        let c = Commit::new(m, &ann).unwrap();
        c.resolve(
            CommitFacts {
                parent: Some(parent),
                ..CommitFacts::default()
            },
            Utc::now(),
        )
    }

    #[test]
    fn a_text_reply_needs_no_clip_and_a_comment_is_not_an_answer() {
        let m = text_reply(Some(3000), Some(1));
        assert!(Limits::default().check_message(&m, Utc::now()).is_ok());
        let ann = UserName::parse("ann").unwrap();
        assert!(Commit::new(&m, &ann).unwrap().blobs().is_empty());
        let comment = resolve_reply(&m, parent(Some(10_000), 3)).unwrap();
        assert!(comment.clip.is_none());
        assert_eq!(comment.thread.as_str(), "parent0000000001");
        assert!(comment.is_comment());
        assert_eq!(comment.answers(), None);
        let answer = resolve_reply(&text_reply(None, Some(2)), parent(Some(10_000), 3)).unwrap();
        assert_eq!(
            answer.answers().map(|m| m.as_str()),
            Some("parent0000000001")
        );
        // A text answer's JSON has no clip, and an old message's JSON no new field.
        let json = serde_json::to_string(&answer).unwrap();
        assert!(
            !json.contains("\"clip\"") && !json.contains("at_ms"),
            "{json}"
        );
        let old = serde_json::to_string(&new_message()).unwrap();
        for field in ["at_ms", "chapter", "acknowledge_only"] {
            assert!(!old.contains(field), "{old}");
        }
    }

    #[test]
    fn a_moment_and_a_chapter_must_lie_in_the_answered_clip() {
        let message = |m: NewMessage, p| resolve_reply(&m, p).unwrap_err().message;
        let past = message(text_reply(Some(10_500), None), parent(Some(10_000), 0));
        assert!(
            past.contains("0:10.5 is past the end of the clip it answers (0:10)"),
            "{past}"
        );
        let just_past = message(text_reply(Some(10_050), None), parent(Some(10_000), 0));
        assert!(
            just_past.contains("10050 ms is past the end of the clip it answers (10000 ms)"),
            "{just_past}"
        );
        assert!(resolve_reply(&text_reply(Some(10_000), None), parent(Some(10_000), 0)).is_ok());
        let mut textual = parent(None, 0);
        textual.clip = None;
        let no_clip = message(text_reply(Some(1), None), textual);
        assert!(no_clip.contains("has no clip"), "{no_clip}");
        let chapter = message(text_reply(None, Some(3)), parent(Some(10_000), 3));
        assert!(
            chapter.contains(
                "index 3, but the message it answers has 3 chapter(s): name one from 0 to 2"
            ),
            "{chapter}"
        );
        let none = message(text_reply(None, Some(0)), parent(Some(10_000), 0));
        assert!(none.contains("has none"), "{none}");
    }

    #[test]
    fn bad_messages_are_refused_before_anything_is_read() {
        let limits = Limits::default();
        let refuse = |m: &NewMessage| limits.check_message(m, Utc::now()).unwrap_err();
        let mut empty = text_reply(None, None);
        empty.text = Some("  ".into());
        assert!(refuse(&empty).message.contains("neither a clip nor text"));
        let mut long = text_reply(None, None);
        long.text = Some("x".repeat(10_001));
        assert_eq!(refuse(&long).limit.unwrap().limit, "max_text_chars");
        let mut stray = new_message();
        stray.at_ms = Some(5);
        assert!(refuse(&stray).message.contains("answers nothing"));
        let mut chapters_without_clip = text_reply(None, None);
        chapters_without_clip.chapters = vec![crate::Chapter {
            start_ms: 0,
            title: "a".into(),
        }];
        assert!(refuse(&chapters_without_clip).message.contains("no clip"));
        let chapter = |start_ms, title: &str| crate::Chapter {
            start_ms,
            title: title.into(),
        };
        let mut m = new_message();
        m.duration_ms = Some(9_000);
        m.chapters = vec![
            chapter(0, "Budget"),
            chapter(4_000, "Hiring"),
            chapter(8_000, "Q3"),
        ];
        assert!(limits.check_message(&m, Utc::now()).is_ok());
        m.chapters.swap(1, 2);
        let unsorted = refuse(&m).message;
        assert!(unsorted.contains("sort the chapters"), "{unsorted}");
        m.chapters = vec![chapter(0, "Budget"), chapter(0, "Hiring")];
        assert!(refuse(&m).message.contains("sort the chapters"));
        m.chapters = vec![chapter(9_000, "after")];
        assert!(refuse(&m).message.contains("past the clip's end"));
        m.chapters = vec![chapter(0, " ")];
        assert_eq!(refuse(&m).code, ErrorCode::Invalid);
        m.chapters = vec![chapter(0, &"t".repeat(121))];
        assert_eq!(refuse(&m).limit.unwrap().limit, "max_chapter_title_chars");
        m.duration_ms = None;
        m.chapters = (0..51).map(|i| chapter(i, "item")).collect();
        assert_eq!(refuse(&m).limit.unwrap().limit, "max_chapters");
    }
}
