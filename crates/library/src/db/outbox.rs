//! The outbox: queued messages, their attachments' upload state, and how each
//! delivery attempt ended (a queued message moves to [`super::sent`] once committed).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::commit::answer_about;
use pigeon_store::protocol::{
    BlobId, BlobRef, Deadline, Limits, Message, MessageId, Receipt, UserName,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{
    from_json, id_from_sql, json, parse_ts, record_first, stored_message, ts, Library, Milestone,
    OUTBOX,
};
use crate::error::{LibraryError, Result};

/// What the stores would refuse about a message's text and what it answers, refused
/// before it is queued (else it would fail only at delivery): the text's length, and a
/// moment or chapter that is not in the answered message (checked when this library
/// has it; the store checks it anyway).
fn check_answer(conn: &Connection, new: &NewOutgoing) -> Result<()> {
    if let Some(text) = &new.text {
        Limits::default()
            .check_text(text)
            .map_err(LibraryError::refused)?;
    }
    match &new.in_reply_to {
        None if new.at_ms.is_some() || new.chapter.is_some() => Err(LibraryError::Invalid(
            "a moment or a chapter names part of the message answered, and this answers none: reply to the message it is about".into(),
        )),
        None => Ok(()),
        Some(parent) => match stored_message(conn, parent)? {
            Some(parent) => {
                answer_about(new.at_ms, new.chapter, &parent).map_err(LibraryError::refused)
            }
            None => Ok(()),
        },
    }
}

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be delivered (retried on every sync).
    Queued,
    Sent,
    /// Stopped for a reason only the user can fix; never retried on its own.
    Failed,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
        }
    }
    pub(crate) fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "queued" => OutboxState::Queued,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            other => return Err(LibraryError::Corrupt(format!("outbox state {other:?}"))),
        })
    }
}

/// A file to attach, with its upload state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingAttachment {
    pub position: u32,
    pub path: PathBuf,
    pub name: String,
    pub content_type: String,
    pub blob: Option<BlobId>,
    pub sealed: Option<BlobRef>,
}

/// A message on its way out. Its id is chosen and stored before the first commit
/// attempt, so every retry commits the same message and the store keeps one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub message_id: MessageId,
    /// The recorded clip; none for a text-only message.
    pub draft_id: Option<String>,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    pub respond_by: DateTime<Utc>,
    pub respond_by_tz: String,
    pub in_reply_to: Option<MessageId>,
    pub state: OutboxState,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Why it stopped for good (state `Failed`), with what to do.
    pub failure: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<OutgoingAttachment>,
    /// A comment: the moment of `in_reply_to`'s clip it is about.
    pub at_ms: Option<u64>,
    /// The chapter of `in_reply_to` it is about.
    pub chapter: Option<u32>,
    /// Asks the recipients for no more than a ✅.
    pub acknowledge_only: bool,
    /// Each recipient's own respond-by when sent "N working hours each" (`respond_by`
    /// is then the latest), else empty.
    pub deadlines: Vec<Deadline>,
    pub working_hours_each: Option<u32>,
}

/// What to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewOutgoing {
    /// The recorded clip; none for a text-only message (which needs `text`).
    pub draft_id: Option<String>,
    pub recipients: Vec<UserName>,
    pub subject: String,
    pub text: Option<String>,
    pub respond_by: DateTime<Utc>,
    pub respond_by_tz: String,
    pub in_reply_to: Option<MessageId>,
    /// (path, display name, content type)
    pub attachments: Vec<(PathBuf, String, String)>,
    pub at_ms: Option<u64>,
    pub chapter: Option<u32>,
    pub acknowledge_only: bool,
    /// See [`OutboxEntry::deadlines`]; [`crate::fair_deadlines`] makes them.
    pub deadlines: Vec<Deadline>,
    pub working_hours_each: Option<u32>,
}

impl Library {
    /// Queues a draft as a message. The message id is chosen and stored here, before
    /// anything is committed, so every later attempt commits the same message.
    pub fn queue(&self, new: &NewOutgoing, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let id = MessageId::parse(uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| LibraryError::Corrupt(e.0))?;
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        match &new.draft_id {
            Some(draft_id) => check_draft_queueable(&tx, draft_id)?,
            None if new.text.as_deref().is_none_or(|t| t.trim().is_empty()) => {
                return Err(LibraryError::Invalid(
                    "a message without a recording needs text: type the answer".into(),
                ))
            }
            None => {}
        }
        check_answer(&tx, new)?;
        tx.execute(
            "INSERT INTO outbox (message_id, draft_id, recipients, subject, body, respond_by,
                                 respond_by_tz, in_reply_to, state, created_at, at_ms, chapter,
                                 acknowledge_only, deadlines, working_hours_each)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                id.as_str(),
                new.draft_id,
                json(&new.recipients)?,
                new.subject,
                new.text,
                ts(new.respond_by),
                new.respond_by_tz,
                new.in_reply_to.as_ref().map(|m| m.as_str().to_owned()),
                ts(now),
                new.at_ms.map(|ms| ms as i64),
                new.chapter,
                new.acknowledge_only,
                (!new.deadlines.is_empty())
                    .then(|| json(&new.deadlines))
                    .transpose()?,
                new.working_hours_each
            ],
        )?;
        for (position, (path, name, content_type)) in new.attachments.iter().enumerate() {
            tx.execute(
                "INSERT INTO outbox_attachments (message_id, position, path, name, content_type)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.as_str(),
                    position as i64,
                    path.to_string_lossy(),
                    name,
                    content_type
                ],
            )?;
        }
        if let Some(draft_id) = &new.draft_id {
            tx.execute(
                "UPDATE drafts SET state = 'queued' WHERE id = ?1",
                params![draft_id],
            )?;
        }
        tx.commit()?;
        drop(conn);
        self.outbox_entry(id.as_str())
    }

    /// An outbox entry by message id or a unique prefix of it.
    pub fn outbox_entry(&self, id_or_prefix: &str) -> Result<OutboxEntry> {
        let id = self.resolve_id(&OUTBOX, id_or_prefix)?;
        self.load_outbox_entry(&id)
    }

    /// A message sent (or being sent) from this library, by id or a unique prefix. When
    /// none matches, the error says whether the id is a message the user received or
    /// one this library does not know, and what to do.
    pub fn sent_from_here(&self, id_or_prefix: &str) -> Result<OutboxEntry> {
        match self.outbox_entry(id_or_prefix) {
            Err(LibraryError::NotFound { .. }) => {}
            found => return found,
        }
        if let Ok(received) = self.received(id_or_prefix) {
            return Err(LibraryError::ReceivedNotSent {
                id: received.message.id,
                sender: received.message.sender,
            });
        }
        Err(LibraryError::UnknownSent {
            id: id_or_prefix.to_owned(),
        })
    }

    fn load_outbox_entry(&self, id: &str) -> Result<OutboxEntry> {
        load_outbox(&self.read(), Some(id))?
            .pop()
            .ok_or(rusqlite::Error::QueryReturnedNoRows.into())
    }

    /// Message ids of every entry still waiting to be delivered, oldest first.
    pub fn queued(&self) -> Result<Vec<MessageId>> {
        let conn = self.read();
        let mut stmt = conn
            .prepare("SELECT message_id FROM outbox WHERE state = 'queued' ORDER BY created_at")?;
        let ids = stmt
            .query_map([], |r| id_from_sql(MessageId::parse, r.get(0)?))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    /// Every outbox entry, newest first (two queries, however many there are).
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        load_outbox(&self.read(), None)
    }

    pub fn set_attachment_blob(
        &self,
        message: &MessageId,
        position: u32,
        blob: &BlobId,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox_attachments SET blob = ?3 WHERE message_id = ?1 AND position = ?2",
            params![message.as_str(), position, blob.as_str()],
        )?;
        Ok(())
    }

    pub fn set_attachment_sealed(
        &self,
        message: &MessageId,
        position: u32,
        sealed: &BlobRef,
    ) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox_attachments SET sealed = ?3 WHERE message_id = ?1 AND position = ?2",
            params![message.as_str(), position, json(sealed)?],
        )?;
        Ok(())
    }

    /// A delivery attempt failed in a way that may pass (offline, hub down).
    pub fn record_attempt_error(&self, message: &MessageId, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?2 WHERE message_id = ?1",
            params![message.as_str(), error],
        )?;
        Ok(())
    }

    /// The store refused the message for a reason the user must fix.
    pub fn record_failure(&self, message: &MessageId, reason: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, state = 'failed', failure = ?2, last_error = ?2
             WHERE message_id = ?1",
            params![message.as_str(), reason],
        )?;
        Ok(())
    }

    /// The store committed the message: it moves from the outbox to the sent list.
    pub fn record_sent(&self, message: &Message) -> Result<()> {
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let draft: Option<String> = tx.query_row(
            "SELECT draft_id FROM outbox WHERE message_id = ?1",
            params![message.id.as_str()],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL
             WHERE message_id = ?1",
            params![message.id.as_str()],
        )?;
        if let Some(draft) = draft {
            tx.execute(
                "UPDATE drafts SET state = 'sent' WHERE id = ?1",
                params![draft],
            )?;
        }
        tx.execute(
            "INSERT OR IGNORE INTO sent (message_id, message, thread, sent_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                message.id.as_str(),
                json(message)?,
                message.thread.as_str(),
                ts(message.sent_at)
            ],
        )?;
        for recipient in &message.recipients {
            tx.execute(
                "INSERT OR IGNORE INTO sent_recipients (message_id, recipient, receipt) VALUES (?1, ?2, ?3)",
                params![
                    message.id.as_str(),
                    recipient.as_str(),
                    json(&Receipt::new(recipient.clone()))?
                ],
            )?;
        }
        if let Some(original) = message.answers() {
            // Answering a received message responds to it (a comment at a moment does not).
            record_first(&tx, original, Milestone::Responded, message.sent_at)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// A draft can be queued once, after its recording stopped.
fn check_draft_queueable(tx: &Connection, draft_id: &str) -> Result<()> {
    let state: Option<String> = tx
        .query_row(
            "SELECT state FROM drafts WHERE id = ?1",
            params![draft_id],
            |r| r.get(0),
        )
        .optional()?;
    match state.as_deref() {
        Some("ready") => Ok(()),
        Some("recording") => Err(LibraryError::Invalid(format!(
            "draft {draft_id} is still being recorded: stop the recording first"
        ))),
        Some(_) => Err(LibraryError::AlreadyQueued {
            draft: draft_id.to_owned(),
        }),
        None => Err(LibraryError::NotFound {
            what: "draft",
            id: draft_id.to_owned(),
            list: "drafts",
        }),
    }
}

/// Outbox entries with their attachments, newest first: `only` one, or all of them.
/// Two queries whatever the count.
fn load_outbox(conn: &Connection, only: Option<&str>) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare(
        "SELECT message_id, draft_id, recipients, subject, body, respond_by, respond_by_tz,
                in_reply_to, state, attempts, last_error, failure, created_at, at_ms, chapter,
                acknowledge_only, deadlines, working_hours_each
         FROM outbox WHERE ?1 IS NULL OR message_id = ?1
         ORDER BY created_at DESC, message_id",
    )?;
    let rows = stmt
        .query_map(params![only], |r| {
            Ok((
                OutboxEntry {
                    message_id: id_from_sql(MessageId::parse, r.get(0)?)?,
                    draft_id: r.get(1)?,
                    recipients: from_json(&r.get::<_, String>(2)?)?,
                    subject: r.get(3)?,
                    text: r.get(4)?,
                    respond_by: parse_ts(&r.get::<_, String>(5)?)?,
                    respond_by_tz: r.get(6)?,
                    in_reply_to: r
                        .get::<_, Option<String>>(7)?
                        .map(|t| id_from_sql(MessageId::parse, t))
                        .transpose()?,
                    state: OutboxState::Queued,
                    attempts: r.get(9)?,
                    last_error: r.get(10)?,
                    failure: r.get(11)?,
                    created_at: parse_ts(&r.get::<_, String>(12)?)?,
                    attachments: Vec::new(),
                    at_ms: r.get::<_, Option<i64>>(13)?.map(|ms| ms as u64),
                    chapter: r.get(14)?,
                    acknowledge_only: r.get(15)?,
                    deadlines: r
                        .get::<_, Option<String>>(16)?
                        .map(|t| from_json(&t))
                        .transpose()?
                        .unwrap_or_default(),
                    working_hours_each: r.get(17)?,
                },
                r.get::<_, String>(8)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut stmt = conn.prepare(
        "SELECT message_id, position, path, name, content_type, blob, sealed
         FROM outbox_attachments WHERE ?1 IS NULL OR message_id = ?1
         ORDER BY message_id, position",
    )?;
    let mut attachments: HashMap<String, Vec<OutgoingAttachment>> = HashMap::new();
    for row in stmt.query_map(params![only], |r| {
        Ok((
            r.get::<_, String>(0)?,
            OutgoingAttachment {
                position: r.get(1)?,
                path: PathBuf::from(r.get::<_, String>(2)?),
                name: r.get(3)?,
                content_type: r.get(4)?,
                blob: r
                    .get::<_, Option<String>>(5)?
                    .map(|t| id_from_sql(BlobId::parse, t))
                    .transpose()?,
                sealed: r
                    .get::<_, Option<String>>(6)?
                    .map(|t| from_json(&t))
                    .transpose()?,
            },
        ))
    })? {
        let (id, attachment) = row?;
        attachments.entry(id).or_default().push(attachment);
    }
    rows.into_iter()
        .map(|(mut entry, state)| {
            entry.state = OutboxState::parse(&state)?;
            entry.attachments = attachments
                .remove(entry.message_id.as_str())
                .unwrap_or_default();
            Ok(entry)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::library;
    use super::*;
    use crate::test_support::text_message;

    #[test]
    fn queueing_persists_a_message_id_and_refuses_a_second_send() {
        let (_dir, lib) = library();
        let draft = lib.create_draft(Utc::now()).unwrap();
        let new = NewOutgoing {
            draft_id: Some(draft.id.clone()),
            text: None,
            ..text_message(&["bob"], "plan", "")
        };
        let error = lib.queue(&new, Utc::now()).unwrap_err();
        assert!(
            error.to_string().contains("still being recorded"),
            "{error}"
        );
        lib.finish_draft(&draft.id, Duration::from_secs(3), None, false)
            .unwrap();
        let entry = lib.queue(&new, Utc::now()).unwrap();
        assert_eq!(lib.queued().unwrap(), vec![entry.message_id.clone()]);
        assert_eq!(lib.outbox_entry(entry.message_id.as_str()).unwrap(), entry);
        assert!(lib.queue(&new, Utc::now()).is_err());
        assert_eq!(lib.queued().unwrap().len(), 1);
    }

    #[test]
    fn a_bad_answer_is_refused_before_it_is_queued() {
        let (_dir, lib) = library();
        let mut clip =
            crate::test_messages::message("budget0000000001", "alice", &["bob"], Utc::now());
        clip.duration_ms = Some(9_000);
        clip.chapters = ["Budget", "Hiring"]
            .iter()
            .enumerate()
            .map(|(i, title)| pigeon_store::protocol::Chapter {
                start_ms: i as u64 * 4_000,
                title: (*title).into(),
            })
            .collect();
        let mut textual =
            crate::test_messages::message("textual000000002", "alice", &["bob"], Utc::now());
        textual.clip = None;
        textual.text = Some("see page 3".into());
        for m in [&clip, &textual] {
            lib.store_received(
                m,
                &Receipt::new(UserName::parse("bob").unwrap()),
                Utc::now(),
            )
            .unwrap();
        }
        let answer = |to: &Message, f: &dyn Fn(&mut NewOutgoing)| {
            let mut new = NewOutgoing {
                in_reply_to: Some(to.id.clone()),
                ..text_message(&[to.sender.as_str()], "Re: Plan", "which quarter is this?")
            };
            f(&mut new);
            new
        };
        let cases = [
            (answer(&clip, &|a| a.text = Some("x".repeat(10_001))), "at most 10000 characters and this one has 10001: shorten it"),
            (answer(&clip, &|a| a.text = Some("bell\u{7}".into())), "control character"),
            (answer(&clip, &|a| a.at_ms = Some(9_500)), "0:09.5 is past the end of the clip it answers (0:09): pick a moment within the clip"),
            (answer(&clip, &|a| a.chapter = Some(2)), "has 2 chapter(s): name one from 0 to 1"),
            (answer(&textual, &|a| a.at_ms = Some(1)), "has no clip: reply without a moment"),
            (answer(&textual, &|a| a.chapter = Some(0)), "has none: leave the chapter out"),
            (answer(&clip, &|a| { a.in_reply_to = None; a.at_ms = Some(10); }), "reply to the message it is about"),
            (answer(&clip, &|a| { a.in_reply_to = None; a.chapter = Some(0); }), "reply to the message it is about"),
        ];
        for (new, says) in &cases {
            let error = lib.queue(new, Utc::now()).unwrap_err().to_string();
            assert!(error.contains(says), "{says:?}: {error}");
        }
        assert!(lib.queued().unwrap().is_empty(), "nothing was queued");
        // Within the clip, on one of its chapters: queued.
        lib.queue(
            &answer(&clip, &|a| {
                a.at_ms = Some(9_000);
                a.chapter = Some(1);
            }),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(lib.queued().unwrap().len(), 1);
    }

    #[test]
    fn status_of_a_message_not_sent_from_here_says_what_to_do() {
        let (_dir, lib) = library();
        let error = lib.sent_from_here("0123").unwrap_err();
        assert!(
            matches!(&error, LibraryError::UnknownSent { id } if id == "0123"),
            "{error}"
        );
        assert!(error.is_not_sent_here());
        let text = error.to_string();
        assert!(text.contains("no message sent from this library"), "{text}");
        assert!(!text.contains("pigeon "), "names no command: {text}");
    }
}
