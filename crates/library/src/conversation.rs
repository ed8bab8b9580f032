//! The conversation around a clip: every message of a thread in order (video and text
//! replies, comments at a moment, my answers still in the outbox), each with the
//! chapter it names and its reactions, and the comments on one clip by moment (the
//! seek bar's markers). Every face shows a thread from here.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{Chapter, Message, MessageId, Reactions, UserName};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::db::{from_json, id_from_sql, Library, OutboxState};
use crate::error::{LibraryError, Result};

/// What a message is to its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Starts the thread (answers nothing).
    Message,
    /// Answers a message of the thread, with a clip, text or both.
    Reply,
    /// Remarks on one moment of the clip it replies to; not an answer.
    Comment,
}

/// The chapter of the answered message a reply or comment names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChapterRef {
    /// 0-based, into the answered message's chapters.
    pub index: u32,
    pub title: String,
}

/// One message of a conversation, sent, received or waiting in my outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationEntry {
    pub id: MessageId,
    pub sender: UserName,
    /// Sent (or being sent) by the library's own user.
    pub mine: bool,
    pub kind: EntryKind,
    pub subject: String,
    pub text: Option<String>,
    /// None while it waits in my outbox.
    pub sent_at: Option<DateTime<Utc>>,
    /// Some for my own answers not delivered yet (queued, or failed for good).
    pub queued: Option<OutboxState>,
    pub in_reply_to: Option<MessageId>,
    /// A comment's moment in the answered message's clip.
    pub at_ms: Option<u64>,
    pub chapter: Option<ChapterRef>,
    /// This message's own agenda.
    pub chapters: Vec<Chapter>,
    pub has_clip: bool,
    pub duration_ms: Option<u64>,
    /// The received poster, or my draft's for what I sent from here.
    pub poster_path: Option<PathBuf>,
    pub reactions: Vec<Reactions>,
}

/// A committed message of the thread with what this library keeps beside it.
pub(crate) struct Stored {
    pub(crate) message: Message,
    pub(crate) poster_path: Option<PathBuf>,
}

/// An answer of mine that has not reached the store.
struct Waiting {
    id: MessageId,
    draft_id: Option<String>,
    subject: String,
    text: Option<String>,
    in_reply_to: Option<MessageId>,
    state: OutboxState,
    at_ms: Option<u64>,
    chapter: Option<u32>,
}

impl Library {
    /// The whole thread, oldest first (sent, received, and my queued answers at the end),
    /// each with its reactions. `thread` is the thread's id or the id of any message in
    /// it; `me` is the user's name (to tell their own messages).
    pub fn conversation(&self, thread: &MessageId, me: &str) -> Result<Vec<ConversationEntry>> {
        let (stored, waiting) = {
            let conn = self.read();
            let thread = thread_of(&conn, thread)?;
            let stored = stored_in_thread(&conn, &thread)?;
            // The thread's id stands for its first message even while that is queued.
            let mut ids: HashSet<MessageId> = stored.iter().map(|s| s.message.id.clone()).collect();
            ids.insert(thread.clone());
            let mut waiting = Vec::new();
            // Oldest first, so an answer to a queued answer follows the one it answers.
            for w in waiting_answers(&conn)? {
                if ids.contains(&w.id) || w.in_reply_to.as_ref().is_some_and(|to| ids.contains(to))
                {
                    ids.insert(w.id.clone());
                    waiting.push(w);
                }
            }
            if stored.is_empty() && waiting.is_empty() {
                return Err(LibraryError::NotFound {
                    what: "message",
                    id: thread.to_string(),
                    list: "inbox",
                });
            }
            (stored, waiting)
        };
        let by_id: HashMap<&MessageId, &Message> =
            stored.iter().map(|s| (&s.message.id, &s.message)).collect();
        let ids: Vec<MessageId> = stored.iter().map(|s| s.message.id.clone()).collect();
        let mut reactions = self.reactions_of_messages(&ids)?;
        let mut entries = Vec::with_capacity(stored.len() + waiting.len());
        for s in &stored {
            let m = &s.message;
            entries.push(ConversationEntry {
                id: m.id.clone(),
                sender: m.sender.clone(),
                mine: m.sender.as_str() == me,
                kind: kind_of(m.in_reply_to.is_some(), m.is_comment()),
                subject: m.subject.clone(),
                text: m.text.clone(),
                sent_at: Some(m.sent_at),
                queued: None,
                in_reply_to: m.in_reply_to.clone(),
                at_ms: m.at_ms,
                chapter: chapter_ref(&by_id, m.in_reply_to.as_ref(), m.chapter),
                chapters: m.chapters.clone(),
                has_clip: m.clip.is_some(),
                duration_ms: m.duration_ms,
                poster_path: s.poster_path.clone(),
                reactions: reactions.remove(&m.id).unwrap_or_default(),
            });
        }
        let mut queued: Vec<ConversationEntry> = Vec::with_capacity(waiting.len());
        for w in waiting {
            let sender = UserName::parse(me).map_err(|e| LibraryError::UnusableUserName {
                name: me.to_owned(),
                reason: e.0,
            })?;
            let draft = w.draft_id.as_deref().map(|d| self.draft(d)).transpose()?;
            queued.push(ConversationEntry {
                sender,
                mine: true,
                kind: kind_of(w.in_reply_to.is_some(), w.at_ms.is_some()),
                subject: w.subject,
                text: w.text,
                sent_at: None,
                queued: Some(w.state),
                chapter: chapter_ref(&by_id, w.in_reply_to.as_ref(), w.chapter),
                in_reply_to: w.in_reply_to,
                at_ms: w.at_ms,
                has_clip: draft.is_some(),
                duration_ms: draft
                    .as_ref()
                    .and_then(|d| d.duration)
                    .map(|d| d.as_millis() as u64),
                poster_path: draft.as_ref().and_then(|d| d.poster_path.clone()),
                chapters: draft.map(|d| d.chapters).unwrap_or_default(),
                // Reactions name committed messages only.
                reactions: Vec::new(),
                id: w.id,
            });
        }
        // Committed ones as the store stamped them; mine still waiting after, oldest first.
        entries.sort_by(|a, b| (a.sent_at, &a.id).cmp(&(b.sent_at, &b.id)));
        entries.extend(queued);
        Ok(entries)
    }

    /// The comments at a moment on one message, by moment (then as sent, my queued ones
    /// last): the seek bar's markers.
    pub fn comments_on(&self, message: &MessageId, me: &str) -> Result<Vec<ConversationEntry>> {
        Ok(comments_in(&self.conversation(message, me)?, message))
    }
}

/// The comments at a moment on `message` among a conversation's entries, by moment
/// (equal moments keep the conversation's order): [`Library::comments_on`] for a face
/// that already holds the conversation.
pub fn comments_in(entries: &[ConversationEntry], message: &MessageId) -> Vec<ConversationEntry> {
    let mut comments: Vec<ConversationEntry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Comment && e.in_reply_to.as_ref() == Some(message))
        .cloned()
        .collect();
    comments.sort_by_key(|e| e.at_ms);
    comments
}

fn kind_of(replies: bool, comment: bool) -> EntryKind {
    match (replies, comment) {
        (false, _) => EntryKind::Message,
        (true, false) => EntryKind::Reply,
        (true, true) => EntryKind::Comment,
    }
}

/// The chapter `index` of the message `parent` as this library knows it; a chapter of
/// a message not stored here keeps its number.
fn chapter_ref(
    by_id: &HashMap<&MessageId, &Message>,
    parent: Option<&MessageId>,
    index: Option<u32>,
) -> Option<ChapterRef> {
    let index = index?;
    let title = parent
        .and_then(|p| by_id.get(p))
        .and_then(|p| p.chapters.get(index as usize))
        .map(|c| c.title.clone())
        .unwrap_or_else(|| format!("Chapter {}", index + 1));
    Some(ChapterRef { index, title })
}

/// The thread `id` belongs to: the stored thread id of the message, or of the nearest
/// message it answers when it still waits in my outbox; else the first of those (a
/// thread's id is its first message's). One query.
pub(crate) fn thread_of(conn: &Connection, id: &MessageId) -> Result<MessageId> {
    let found: String = conn.query_row(
        "WITH RECURSIVE up(id, depth) AS (
             SELECT ?1, 0
             UNION ALL
             SELECT o.in_reply_to, up.depth + 1 FROM outbox o JOIN up ON o.message_id = up.id
             WHERE o.in_reply_to IS NOT NULL AND up.depth < 1000
         )
         SELECT COALESCE(
             (SELECT thread FROM (
                  SELECT r.thread, up.depth FROM received r JOIN up ON r.message_id = up.id
                  UNION ALL
                  SELECT s.thread, up.depth FROM sent s JOIN up ON s.message_id = up.id)
              ORDER BY depth LIMIT 1),
             (SELECT id FROM up ORDER BY depth DESC LIMIT 1))",
        params![id.as_str()],
        |r| r.get(0),
    )?;
    Ok(id_from_sql(MessageId::parse, found)?)
}

/// The committed messages of `thread`, received and sent, each once (a message to
/// oneself is both), with the poster kept for it.
pub(crate) fn stored_in_thread(conn: &Connection, thread: &MessageId) -> Result<Vec<Stored>> {
    let mut stmt = conn.prepare(
        "SELECT message, poster_path FROM received WHERE thread = ?1
         UNION ALL
         SELECT s.message, d.poster_path FROM sent s
           LEFT JOIN outbox o ON o.message_id = s.message_id
           LEFT JOIN drafts d ON d.id = o.draft_id
         WHERE s.thread = ?1",
    )?;
    let rows = stmt
        .query_map(params![thread.as_str()], |r| {
            Ok(Stored {
                message: from_json(&r.get::<_, String>(0)?)?,
                poster_path: r.get::<_, Option<String>>(1)?.map(PathBuf::from),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|s| seen.insert(s.message.id.clone()))
        .collect())
}

/// Every message of mine the store does not have yet, oldest first.
fn waiting_answers(conn: &Connection) -> Result<Vec<Waiting>> {
    let mut stmt = conn.prepare(
        "SELECT message_id, draft_id, subject, body, in_reply_to, state, at_ms, chapter
         FROM outbox WHERE state != 'sent' ORDER BY created_at, message_id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                Waiting {
                    id: id_from_sql(MessageId::parse, r.get(0)?)?,
                    draft_id: r.get(1)?,
                    subject: r.get(2)?,
                    text: r.get(3)?,
                    in_reply_to: r
                        .get::<_, Option<String>>(4)?
                        .map(|t| id_from_sql(MessageId::parse, t))
                        .transpose()?,
                    state: OutboxState::Queued,
                    at_ms: r.get::<_, Option<i64>>(6)?.map(|ms| ms as u64),
                    chapter: r.get(7)?,
                },
                r.get::<_, String>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(mut w, state)| {
            w.state = OutboxState::parse(&state)?;
            Ok(w)
        })
        .collect()
}

#[cfg(test)]
mod tests;
