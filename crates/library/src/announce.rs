//! What to tell the user about what arrived: a new message, a reply, a comment at a
//! moment, a reaction, each worded once here and told once (the library marks what it
//! handed out). Faces show the words as notifications or print them.

use pigeon_store::protocol::{fields, Message, MessageId, Record, RecordBody, UserName};
use serde::Serialize;

use crate::db::{
    stored_message, take_unannounced_deadline_records_in, take_unannounced_in,
    take_unannounced_reactions_in, Library, ReceivedMessage,
};
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
        // One write transaction: messages and reactions are marked told together, and
        // only once all of it is worded, so a failure anywhere loses nothing.
        let mut conn = self.conn();
        let tx = Library::write_transaction(&mut conn)?;
        let mut arrived = take_unannounced_in(&tx)?;
        // What one sync brought arrived at one instant: then as sent.
        arrived.sort_by_key(|r| (r.arrived_at, r.message.sent_at));
        let reactions = take_unannounced_reactions_in(&tx, me)?;
        let mut announcements = Vec::with_capacity(arrived.len() + reactions.len());
        for ReceivedMessage { message, .. } in &arrived {
            let parent = match &message.in_reply_to {
                Some(id) => stored_message(&tx, id)?,
                None => None,
            };
            announcements.push(message_announcement(message, parent.as_ref()));
        }
        for record in &reactions {
            let message = stored_message(&tx, &record.message)?;
            announcements.extend(reaction_announcement(record, message.as_ref()));
        }
        for (record, all) in take_unannounced_deadline_records_in(&tx, me)? {
            let message = stored_message(&tx, &record.message)?;
            announcements.extend(deadline_announcement(&record, &all, message.as_ref(), me));
        }
        tx.commit()?;
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

/// The words for a record about deadlines that concerns `me`: a request for more time
/// (to the sender), the answer to my request, a nudge of me; `None` for the rest (a
/// close, an answer to someone else's request). `all` are the message's records.
pub fn deadline_announcement(
    record: &Record,
    all: &[Record],
    message: Option<&Message>,
    me: &UserName,
) -> Option<Announcement> {
    let about = message.map_or("a message", |m| topic(&m.subject));
    let (title, note) = match &record.body {
        RecordBody::ExtensionRequest { note, .. } => (
            format!("{} asks for more time on {about}", record.author),
            note.clone(),
        ),
        RecordBody::ExtensionAnswer {
            request,
            granted,
            note,
        } => {
            let mine = all.iter().any(|r| &r.id == request && &r.author == me);
            if !mine {
                return None;
            }
            let title = if *granted {
                format!("{} gave you more time on {about}", record.author)
            } else {
                format!("{} declined more time on {about}", record.author)
            };
            (title, note.clone())
        }
        RecordBody::Nudge { recipient, .. } if recipient == me => (
            format!("{} nudged you about {about}", record.author),
            String::new(),
        ),
        _ => return None,
    };
    Some(Announcement {
        message: record.message.clone(),
        thread: message.map_or_else(|| record.message.clone(), |m| m.thread.clone()),
        title,
        body: if note.is_empty() {
            message.map(gist).unwrap_or_default()
        } else {
            shortened(&note)
        },
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

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone as _, Utc};
    use pigeon_store::protocol::{Receipt, RecordId};

    use super::*;
    use crate::test_messages::message;
    use crate::test_support::text_message;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    fn reaction(id: &str, author: &str, message: &MessageId, emoji: &str, removed: bool) -> Record {
        Record {
            id: RecordId::parse(id).unwrap(),
            message: message.clone(),
            author: name(author),
            created_at: start(),
            body: RecordBody::Reaction {
                emoji: emoji.into(),
                removed,
            },
        }
    }

    /// Alice sent "Budget review" from this library.
    fn alice_sent(library: &Library) -> Message {
        let queued = library
            .queue(
                &text_message(&["bob", "carol"], "Budget review", "numbers attached"),
                start(),
            )
            .unwrap();
        let mut sent = message(
            queued.message_id.as_str(),
            "alice",
            &["bob", "carol"],
            start() + Duration::hours(48),
        );
        sent.subject = "Budget review".into();
        sent.text = Some("numbers attached".into());
        library.record_sent(&sent).unwrap();
        sent
    }

    #[test]
    fn arrivals_and_reactions_are_worded_and_told_once() {
        let (_dir, library) = crate::db::tests::library();
        let budget = alice_sent(&library);
        let reply_to = |id: &str, sender: &str| {
            let mut m = message(id, sender, &["alice"], start() + Duration::hours(48));
            m.thread = budget.thread.clone();
            m.in_reply_to = Some(budget.id.clone());
            m.subject = "Re: Budget review".into();
            m
        };
        let mut comment = reply_to("comment000000001", "bob");
        comment.clip = None;
        comment.at_ms = Some(83_000);
        comment.text = Some("\n  which quarter is this?\nand the next one".into());
        let mut video = reply_to("videoreply000002", "carol");
        video.sent_at += Duration::minutes(1);
        let mut new = message("newmessage000003", "bob", &["alice"], start());
        new.subject = "Hiring plan".into();
        new.sent_at = budget.sent_at + Duration::minutes(2);
        for m in [&comment, &video, &new] {
            library
                .store_received(m, &Receipt::new(name("alice")), start())
                .unwrap();
        }
        library
            .store_reaction_records(&[
                reaction("reaction-carol-ok", "carol", &budget.id, "✅", false),
                reaction("reaction-alice-ok", "alice", &new.id, "👍", false),
            ])
            .unwrap();

        let told: Vec<(String, String)> = library
            .take_announcements(&name("alice"))
            .unwrap()
            .into_iter()
            .map(|a| (a.title, a.body))
            .collect();
        let expected = [
            (
                "bob commented at 1:23 on Budget review",
                "which quarter is this?",
            ),
            ("carol replied to Budget review", "Re: Budget review"),
            ("New message from bob", "Hiring plan"),
            ("carol reacted ✅ on Budget review", "numbers attached"),
        ]
        .map(|(t, b)| (t.to_owned(), b.to_owned()));
        assert_eq!(told, expected, "my own reaction is no news");
        assert!(library
            .take_announcements(&name("alice"))
            .unwrap()
            .is_empty());

        // A reaction taken back is no news either.
        library
            .store_reaction_records(&[reaction("reaction-bob-gone", "bob", &budget.id, "👀", true)])
            .unwrap();
        assert!(library
            .take_announcements(&name("alice"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_failure_while_taking_reactions_leaves_the_messages_to_be_told() {
        let (_dir, library) = crate::db::tests::library();
        let budget = alice_sent(&library);
        let mut new = message("newmessage000003", "bob", &["alice"], start());
        new.subject = "Hiring plan".into();
        library
            .store_received(&new, &Receipt::new(name("alice")), start())
            .unwrap();
        // A reaction row this library cannot read: taking the reactions fails.
        library
            .conn()
            .execute(
                "INSERT INTO reactions (record_id, message_id, record, created_at, announced)
                 VALUES ('unreadable-record', ?1, 'not json', '2026-11-24T09:00:00Z', 0)",
                [budget.id.as_str()],
            )
            .unwrap();
        assert!(library.take_announcements(&name("alice")).is_err());

        library
            .conn()
            .execute(
                "DELETE FROM reactions WHERE record_id = 'unreadable-record'",
                [],
            )
            .unwrap();
        let told: Vec<String> = library
            .take_announcements(&name("alice"))
            .unwrap()
            .into_iter()
            .map(|a| a.title)
            .collect();
        assert_eq!(told, ["New message from bob"], "not lost by the failure");
    }

    #[test]
    fn an_announcement_names_its_message_and_thread() {
        let root = message("rootmessage00001", "alice", &["bob"], start());
        let mut reply = message("replymessage0002", "bob", &["alice"], start());
        reply.thread = root.id.clone();
        reply.in_reply_to = Some(root.id.clone());
        reply.subject = "RE: Plan".into();
        // The parent is not in this library: the reply's own subject says what it is about.
        let told = message_announcement(&reply, None);
        assert_eq!(told.title, "bob replied to Plan");
        assert_eq!(told.respond_by, None, "only a new message asks by when");
        assert_eq!(
            message_announcement(&root, None).respond_by,
            Some(root.respond_by)
        );
        assert_eq!(
            (told.message, told.thread),
            (reply.id.clone(), root.id.clone())
        );
        let record = reaction("reaction-0000001", "carol", &reply.id, "🎉", false);
        let told = reaction_announcement(&record, Some(&reply)).unwrap();
        assert_eq!(told.title, "carol reacted 🎉 on Plan");
        assert_eq!(told.thread, root.id);
        assert_eq!(
            reaction_announcement(&record, None).unwrap().title,
            "carol reacted 🎉"
        );
    }

    #[test]
    fn a_long_body_is_cut_at_a_word() {
        let long = format!("{} tail", "word ".repeat(30));
        let cut = shortened(&long);
        assert!(cut.ends_with("word…"), "{cut}");
        assert!(cut.chars().count() <= BODY_CHARS, "{cut}");
        let unbroken = "x".repeat(300);
        assert_eq!(shortened(&unbroken).chars().count(), BODY_CHARS);
        assert_eq!(shortened("  short  "), "short");
        assert_eq!(topic("Re:  Budget"), "Budget");
        assert_eq!(topic("Rebase"), "Rebase");
    }
}
