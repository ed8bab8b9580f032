//! `pigeon react` and `pigeon thread`, and what a `pigeon reply` is about: the
//! conversation around a clip as the library keeps it (`Library::conversation`,
//! reactions queued and shared by the outbox), named, checked and worded for a
//! terminal. The rules (who may react, which emoji, what a moment may be) are the
//! library's and the protocol's; this module turns what was typed into their terms.

use anyhow::{anyhow, bail, Context as _, Result};
use pigeon_library::conversation::{ConversationEntry, EntryKind};
use pigeon_library::trim::parse_clip_time;
use pigeon_library::{LibraryError, OutboxEntry, OutboxState};
use pigeon_store::protocol::commit::answer_about;
use pigeon_store::protocol::{fields, Chapter, Message, Reactions, RecordId, UserName};
use serde_json::json;

use crate::flags::AnswerAbout;
use crate::output::short;
use crate::App;

/// The reactions by the names a keyboard types easily, in the protocol's order.
const REACTION_NAMES: [(&str, &str); 6] = [
    ("thumbsup", "👍"),
    ("check", "✅"),
    ("question", "❓"),
    ("eyes", "👀"),
    ("party", "🎉"),
    ("heart", "❤️"),
];

/// The emoji a typed reaction names: a name from [`REACTION_NAMES`] (any case), a heart
/// typed without its emoji presentation selector, or the text as given, which the
/// library checks against the set.
pub fn reaction_emoji(typed: &str) -> String {
    let typed = typed.trim();
    if let Some((_, emoji)) = REACTION_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(typed))
    {
        return (*emoji).to_owned();
    }
    match typed {
        "❤" => "❤️".to_owned(),
        other => other.to_owned(),
    }
}

/// A message the user named: one received, or one sent (or being sent) from here.
enum Found {
    Received(Box<Message>),
    Sent(Box<OutboxEntry>),
}

impl App {
    /// The user's own name in the store, as the settings hold it.
    pub fn me(&self) -> Result<UserName> {
        UserName::parse(self.settings.user.clone()).map_err(|e| {
            LibraryError::UnusableUserName {
                name: self.settings.user.clone(),
                reason: e.0,
            }
            .into()
        })
    }

    /// The message `id` (or the start of it) names among those received here and those
    /// sent from here, delivered or not.
    fn find_any(&self, id: &str) -> Result<Found> {
        let received = absent_if_unknown(self.library.received(id))?;
        let sent = absent_if_unknown(self.library.outbox_entry(id))?;
        match (received, sent) {
            // A message to oneself is both.
            (Some(r), Some(s)) if r.message.id != s.message_id => {
                bail!("{id:?} is the start of more than one message: give more of the id")
            }
            (Some(r), _) => Ok(Found::Received(Box::new(r.message))),
            (None, Some(entry)) => Ok(Found::Sent(Box::new(entry))),
            (None, None) => bail!(
                "no message matches {id:?}: `pigeon inbox` lists the messages you received, \
                 `pigeon status` those you sent"
            ),
        }
    }

    /// The message `id` names among those received here and those sent from here and
    /// delivered: what one can answer or react to.
    pub fn find_message(&self, id: &str) -> Result<Message> {
        match self.find_any(id)? {
            Found::Received(message) => Ok(*message),
            Found::Sent(entry) => match self.library.sent_message(&entry.message_id)? {
                Some(sent) => Ok(sent.message),
                None => bail!(
                    "message {} is {}, not delivered yet: `pigeon sync` delivers it; answer \
                     or react to it after that",
                    short(entry.message_id.as_str()),
                    entry.state.as_str()
                ),
            },
        }
    }

    /// Shares what the outbox holds now; `None` when `record` reached the store, else
    /// why it waits (it stays queued: the next sync tries again). A refusal by the store
    /// is an error naming `what`.
    pub async fn share_now(&self, record: &RecordId, what: &str) -> Result<Option<String>> {
        let shared = match self.outbox().await {
            Ok(outbox) => outbox
                .share_records()
                .await
                .map(|_| ())
                .map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        // Whether this one reached the store: a failure to share others says nothing.
        Ok(match self.library.outgoing_record(record)? {
            Some(r) if r.state == OutboxState::Sent => None,
            Some(r) if r.state == OutboxState::Failed => bail!(
                "the store refused the {what}: {}",
                r.last_error.as_deref().unwrap_or("no reason given")
            ),
            waiting => Some(match (&shared, waiting.and_then(|r| r.last_error)) {
                (Err(e), _) => format!("{e:#}"),
                (Ok(()), Some(error)) => error,
                (Ok(()), None) => "not tried yet".to_owned(),
            }),
        })
    }

    /// `pigeon react MESSAGE EMOJI [--remove]`: shown here at once, shared now when the
    /// store answers, else at the next `pigeon sync`.
    pub async fn react(&self, message: &str, typed: &str, remove: bool) -> Result<()> {
        let message = self.find_message(message)?;
        let emoji = reaction_emoji(typed);
        let me = self.me()?;
        let record = self
            .library
            .queue_reaction(&message.id, &emoji, remove, &me, self.now())
            .map_err(|e| match e {
                // The library names the emoji; a terminal can type the names too.
                LibraryError::Invalid(why) => anyhow!(
                    "{why}, or by name: {}",
                    REACTION_NAMES.map(|(name, _)| name).join(", ")
                ),
                other => other.into(),
            })?;
        let error = self.share_now(&record, "reaction").await?;
        let reactions = self.library.reactions_of(&message.id)?;
        let done = if remove { "took back" } else { "reacted" };
        let state = match &error {
            None => "shared".to_owned(),
            Some(error) => format!("queued: not shared yet ({error}); `pigeon sync` tries again"),
        };
        self.out.say(
            json!({
                "message": message.id,
                "emoji": emoji,
                "removed": remove,
                "record": record,
                "state": if error.is_none() { "shared" } else { "queued" },
                "error": error,
                "reactions": reactions,
            }),
            format!(
                "{done} {emoji} on {} {:?}, {state}\n{}",
                short(message.id.as_str()),
                message.subject,
                reactions_text(&reactions).unwrap_or_else(|| "no reactions now".to_owned())
            ),
        );
        Ok(())
    }

    /// `pigeon thread MESSAGE`: the conversation in order, with times.
    pub fn thread(&self, message: &str) -> Result<()> {
        // Any message of the thread names it, one still in my outbox too.
        let (id, thread) = match self.find_any(message)? {
            Found::Received(message) => (message.id, Some(message.thread)),
            Found::Sent(entry) => {
                let sent = self.library.sent_message(&entry.message_id)?;
                (entry.message_id, sent.map(|s| s.message.thread))
            }
        };
        let me = self.me()?;
        let entries = self.library.conversation(&id, me.as_str())?;
        // Not delivered yet, it has no thread id of its own: its first message's.
        let thread = thread.or_else(|| entries.first().map(|first| first.id.clone()));
        if self.out.json {
            let list: Vec<_> = entries
                .iter()
                .map(|e| {
                    let mut shown = serde_json::to_value(e)?;
                    if let (Some(fields), Some(at)) = (shown.as_object_mut(), e.at_ms) {
                        fields.insert("at".into(), fields::moment(at).into());
                    }
                    Ok(shown)
                })
                .collect::<Result<_>>()?;
            println!("{}", json!({"thread": thread, "entries": list}));
            return Ok(());
        }
        for entry in &entries {
            println!("{}", entry_text(entry, self.zone()));
        }
        Ok(())
    }
}

/// `--at` and `--chapter` of a reply to `original`, in the wire's terms (ms, a
/// 0-based chapter), checked by the protocol's rule before anything is recorded.
pub fn typed_answer_about(
    original: &Message,
    about: &AnswerAbout,
) -> Result<(Option<u64>, Option<u32>)> {
    let at_ms = about
        .at
        .as_deref()
        .map(|typed| parse_clip_time(typed).map(|t| t.as_millis() as u64))
        .transpose()
        .context("--at")?;
    let chapter = match about.chapter {
        None => None,
        // Numbered from 1 here as `pigeon show` lists them; the wire counts from 0.
        Some(n) => match original.chapters.len() {
            0 => bail!(
                "--chapter {n}: message {} has no chapters; leave --chapter out",
                short(original.id.as_str())
            ),
            count if n as usize > count => bail!(
                "--chapter {n}: message {} has {count} chapter(s); give one from 1 to \
                 {count} (`pigeon show` lists them)",
                short(original.id.as_str())
            ),
            _ => Some(n - 1),
        },
    };
    answer_about(at_ms, chapter, original).map_err(|e| anyhow!(e.message))?;
    Ok((at_ms, chapter))
}

/// One entry of `pigeon thread`: when, who, what, then its text and reactions.
fn entry_text(e: &ConversationEntry, zone: chrono_tz::Tz) -> String {
    let when = match (&e.sent_at, &e.queued) {
        (Some(at), _) => at.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
        (None, Some(state)) => format!("({})", state.as_str()),
        (None, None) => String::new(),
    };
    let mut what = match e.kind {
        EntryKind::Message => e.subject.clone(),
        EntryKind::Reply => "replied".to_owned(),
        EntryKind::Comment => "commented".to_owned(),
    };
    if let Some(at) = e.at_ms {
        what.push_str(&format!(" at {}", fields::moment(at)));
    }
    if let Some(chapter) = &e.chapter {
        what.push_str(&format!(
            " on chapter {} {:?}",
            chapter.index + 1,
            chapter.title
        ));
    }
    if e.has_clip {
        what.push_str(&match e.duration_ms {
            Some(ms) => format!(" [clip {}]", fields::moment(ms)),
            None => " [clip]".to_owned(),
        });
    }
    let mut text = format!(
        "{when:<16}  {}  {:<12} {what}",
        short(e.id.as_str()),
        e.sender.as_str()
    );
    for (n, chapter) in e.chapters.iter().enumerate() {
        text.push_str(&format!("\n{:30}{}", "", chapter_line(n, chapter)));
    }
    if let Some(body) = &e.text {
        for line in body.lines() {
            text.push_str(&format!("\n{:30}{line}", ""));
        }
    }
    if let Some(reactions) = reactions_text(&e.reactions) {
        text.push_str(&format!("\n{:30}{reactions}", ""));
    }
    text
}

/// A chapter as `pigeon show` and `pigeon thread` list it: numbered from 1, its start.
pub fn chapter_line(index: usize, chapter: &Chapter) -> String {
    format!(
        "{:>2}  {:>7}  {}",
        index + 1,
        fields::moment(chapter.start_ms),
        chapter.title
    )
}

/// "👀 bob   ✅ bob, carol", or none when nobody reacted.
fn reactions_text(reactions: &[Reactions]) -> Option<String> {
    (!reactions.is_empty()).then(|| {
        reactions
            .iter()
            .map(|r| {
                let by: Vec<_> = r.by.iter().map(UserName::as_str).collect();
                format!("{} {}", r.emoji, by.join(", "))
            })
            .collect::<Vec<_>>()
            .join("   ")
    })
}

/// Not found is an answer here (the id may name the other kind of message); anything
/// else (an ambiguous prefix, the database) is an error.
fn absent_if_unknown<T>(found: pigeon_library::error::Result<T>) -> Result<Option<T>> {
    match found {
        Ok(found) => Ok(Some(found)),
        Err(LibraryError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use pigeon_library::conversation::ChapterRef;
    use pigeon_store::protocol::{MessageId, REACTIONS};

    use super::*;

    #[test]
    fn reactions_are_typed_by_emoji_or_by_name() {
        let named: Vec<_> = REACTION_NAMES.iter().map(|(_, e)| *e).collect();
        assert_eq!(named, REACTIONS, "one name for each reaction, in order");
        assert_eq!(reaction_emoji("check"), "✅");
        assert_eq!(reaction_emoji(" Eyes "), "👀");
        assert_eq!(reaction_emoji("THUMBSUP"), "👍");
        assert_eq!(reaction_emoji("❤"), "❤️");
        assert_eq!(reaction_emoji("🎉"), "🎉");
        // Not a reaction: left for the library to refuse, naming the set.
        assert_eq!(reaction_emoji("🙂"), "🙂");
    }

    /// A message with a 10 s clip and the agenda Budget, Hiring, Q3.
    fn budget_review() -> Message {
        serde_json::from_value(json!({
            "id": "budget0000000001", "sender": "alice", "recipients": ["bob", "carol"],
            "subject": "Budget review", "text": null,
            "clip": {"id": "0123456789abcdef0", "kind": "clip", "size": 1,
                     "sha256": "0".repeat(64), "content_type": "video/mp4"},
            "attachments": [], "duration_ms": 10_000,
            "respond_by": "2030-01-01T00:00:00Z", "respond_by_tz": "UTC",
            "in_reply_to": null, "thread": "budget0000000001",
            "sent_at": "2029-01-01T00:00:00Z",
            "chapters": [{"start_ms": 0, "title": "Budget"}, {"start_ms": 2_000, "title": "Hiring"},
                         {"start_ms": 6_000, "title": "Q3"}],
        }))
        .unwrap()
    }

    fn about(at: Option<&str>, chapter: Option<u32>) -> AnswerAbout {
        AnswerAbout {
            at: at.map(str::to_owned),
            chapter,
        }
    }

    #[test]
    fn a_moment_and_a_chapter_are_typed_as_shown_and_sent_as_on_the_wire() {
        let m = budget_review();
        let typed = |at, chapter| typed_answer_about(&m, &about(at, chapter));
        assert_eq!(typed(None, None).unwrap(), (None, None));
        assert_eq!(
            typed(Some("0:03.2"), Some(2)).unwrap(),
            (Some(3_200), Some(1)),
            "chapters are numbered from 1 on the command line"
        );
        assert_eq!(typed(Some("10"), Some(3)).unwrap(), (Some(10_000), Some(2)));
        let error = |at, chapter| format!("{:#}", typed(at, chapter).unwrap_err());
        assert!(error(Some("0:11"), None).contains("past the end of the clip"));
        assert!(error(Some("soon"), None).starts_with("--at: \"soon\" is not a time"));
        assert!(error(None, Some(4)).contains("give one from 1 to 3"));
        let mut plain = m.clone();
        plain.chapters.clear();
        let none = typed_answer_about(&plain, &about(None, Some(1))).unwrap_err();
        assert!(none.to_string().contains("has no chapters"), "{none}");
    }

    #[test]
    fn a_thread_entry_says_when_who_what_and_who_reacted() {
        let m = budget_review();
        let entry = ConversationEntry {
            id: MessageId::parse("comment000000001").unwrap(),
            sender: UserName::parse("bob").unwrap(),
            mine: false,
            kind: EntryKind::Comment,
            subject: "Re: Budget review".into(),
            text: Some("Which quarter\nis this?".into()),
            sent_at: Some(m.sent_at),
            queued: None,
            in_reply_to: Some(m.id.clone()),
            at_ms: Some(3_000),
            chapter: Some(ChapterRef {
                index: 1,
                title: "Hiring".into(),
            }),
            chapters: vec![],
            has_clip: false,
            duration_ms: None,
            poster_path: None,
            reactions: vec![Reactions {
                emoji: "👍".into(),
                by: vec![UserName::parse("alice").unwrap()],
            }],
        };
        let zone: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            entry_text(&entry, zone),
            [
                "2029-01-01 01:00  comment0  bob          commented at 0:03 on chapter 2 \"Hiring\"",
                "                              Which quarter",
                "                              is this?",
                "                              👍 alice",
            ]
            .join("\n")
        );
        let queued = ConversationEntry {
            sent_at: None,
            queued: Some(OutboxState::Queued),
            kind: EntryKind::Reply,
            at_ms: None,
            chapter: None,
            text: None,
            reactions: vec![],
            has_clip: true,
            duration_ms: Some(2_000),
            ..entry
        };
        assert_eq!(
            entry_text(&queued, zone),
            "(queued)          comment0  bob          replied [clip 0:02]"
        );
    }

    #[test]
    fn chapters_and_reactions_read_as_listed() {
        let chapter = Chapter {
            start_ms: 83_000,
            title: "Hiring".into(),
        };
        assert_eq!(chapter_line(1, &chapter), " 2     1:23  Hiring");
        let by = |names: &[&str]| names.iter().map(|n| UserName::parse(*n).unwrap()).collect();
        let reactions = [
            Reactions {
                emoji: "✅".into(),
                by: by(&["bob", "carol"]),
            },
            Reactions {
                emoji: "👀".into(),
                by: by(&["bob"]),
            },
        ];
        assert_eq!(
            reactions_text(&reactions).unwrap(),
            "✅ bob, carol   👀 bob"
        );
        assert_eq!(reactions_text(&[]), None);
    }
}
