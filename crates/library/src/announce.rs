//! What to tell the user about what arrived: a new message, a reply, a comment at a
//! moment, a reaction, each worded once here and told once (the library marks what it
//! handed out). Faces show the words as notifications or print them.

use pigeon_store::protocol::{fields, Message, MessageId, Record, RecordBody, UserName};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::db::{from_json, Library, ReceivedMessage};
use crate::error::Result;

/// One thing to tell the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Announcement {
    /// The message it is about (the new one, or the one reacted to).
    pub message: MessageId,
    /// That message's thread, to open the conversation.
    pub thread: MessageId,
    /// "bob commented at 1:23 on Budget review".
    pub title: String,
    /// The subject, or the first line of the text, shortened.
    pub body: String,
    /// By when a new message asks for an answer (a face words it on the reader's
    /// clock); None for replies, comments and reactions.
    pub respond_by: Option<chrono::DateTime<chrono::Utc>>,
}

/// Longest body of an announcement, in characters, before it is cut with "…".
const BODY_CHARS: usize = 100;

impl Library {
    /// What to tell the user about new arrivals since the last call, each once: new
    /// messages by arrival, then reactions by others. Titles: "New message from bob",
    /// "bob replied to Budget review", "bob commented at 1:23 on Budget review", "carol
    /// reacted ✅ on Budget review"; body: the subject or the text's first line,
    /// shortened.
    pub fn take_announcements(&self, me: &UserName) -> Result<Vec<Announcement>> {
        let _ = me;
        let arrived = self.take_unannounced()?;
        let conn = self.read();
        let mut announcements = Vec::with_capacity(arrived.len());
        for ReceivedMessage { message, .. } in &arrived {
            let parent = match &message.in_reply_to {
                Some(id) => stored_message(&conn, id)?,
                None => None,
            };
            announcements.push(message_announcement(message, parent.as_ref()));
        }
        Ok(announcements)
    }
}

/// The words for a message that arrived; `parent` is the message it replies to, when
/// this library has it.
pub fn message_announcement(message: &Message, parent: Option<&Message>) -> Announcement {
    let topic = topic(parent.map_or(&message.subject, |p| &p.subject));
    let title = match (&message.in_reply_to, message.at_ms) {
        (None, _) => format!("New message from {}", message.sender),
        (Some(_), None) => format!("{} replied to {topic}", message.sender),
        (Some(_), Some(at_ms)) => format!(
            "{} commented at {} on {topic}",
            message.sender,
            fields::moment(at_ms)
        ),
    };
    let body = match &message.in_reply_to {
        Some(_) => gist(message),
        None => shortened(&message.subject),
    };
    Announcement {
        message: message.id.clone(),
        thread: message.thread.clone(),
        title,
        body,
        respond_by: message.in_reply_to.is_none().then_some(message.respond_by),
    }
}

/// The words for a reaction record; `message` is the message reacted to, when this
/// library has it. None for a record that is not a reaction given.
pub fn reaction_announcement(record: &Record, message: Option<&Message>) -> Option<Announcement> {
    let RecordBody::Reaction {
        emoji,
        removed: false,
    } = &record.body
    else {
        return None;
    };
    let title = match message {
        Some(m) => format!("{} reacted {emoji} on {}", record.author, topic(&m.subject)),
        None => format!("{} reacted {emoji}", record.author),
    };
    Some(Announcement {
        message: record.message.clone(),
        thread: message.map_or_else(|| record.message.clone(), |m| m.thread.clone()),
        title,
        body: message.map(gist).unwrap_or_default(),
        respond_by: None,
    })
}

/// What a thread is about, from a subject: without the "Re:" replies add.
fn topic(subject: &str) -> &str {
    let subject = subject.trim();
    match subject.get(..3) {
        Some(re) if re.eq_ignore_ascii_case("re:") => subject[3..].trim_start(),
        _ => subject,
    }
}

/// The first line of a message's text, or its subject when it has none.
fn gist(message: &Message) -> String {
    let first_line = message
        .text
        .as_deref()
        .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()));
    shortened(first_line.unwrap_or(&message.subject))
}

/// At most [`BODY_CHARS`] characters, cut at a word where there is one, with "…".
fn shortened(text: &str) -> String {
    let text = text.trim();
    if text.chars().count() <= BODY_CHARS {
        return text.to_owned();
    }
    let cut: String = text.chars().take(BODY_CHARS - 1).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(space) if space > BODY_CHARS / 2 => cut[..space].trim_end(),
        _ => cut.as_str(),
    };
    format!("{at_word}…")
}

/// A message this library received or sent, by id.
fn stored_message(conn: &Connection, id: &MessageId) -> Result<Option<Message>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT message FROM received WHERE message_id = ?1
             UNION ALL
             SELECT message FROM sent WHERE message_id = ?1
             LIMIT 1",
            params![id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| from_json(&j)).transpose()?)
}
