//! The Player's conversation: the whole thread around a clip (video and text
//! replies, comments at a moment, reactions), the shown message's chapters and
//! comment markers for its seek bar, and answering without recording: a text reply
//! or a comment at a moment, and a reaction.
//!
//! The thread, its order, the reactions and whom a reply goes to come from
//! `pigeon_library`; this module words them (moments as "1:23", marker labels) and
//! wakes the background sync, which delivers what was queued.

use anyhow::{anyhow, Context as _};
use chrono::{DateTime, Utc};
use pigeon_library::conversation::{comments_in, ConversationEntry, EntryKind};
use pigeon_library::people::reply_all;
use pigeon_library::thread::reply_subject;
use pigeon_library::{Library, NewOutgoing, OutboxState, ResponseByPreset};
use pigeon_store::protocol::fields::moment;
use pigeon_store::protocol::{Chapter, Message, MessageId, Reactions, REACTIONS};
use serde::Serialize;
use tauri::{AppHandle, State};

use crate::error::CommandResult;
use crate::messages::{find, poster_url, Found};
use crate::session::{self, Session};
use crate::windows::library_changed;

/// How much of a text a marker's label or a list line shows.
const SHORT_TEXT_CHARS: usize = 80;

/// One chapter of the shown message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChapterView {
    /// 0-based, as a reply names it.
    pub index: u32,
    /// 1-based, as people count.
    pub number: u32,
    pub start_ms: u64,
    pub title: String,
    /// Where it starts, as people write it ("1:23").
    pub at: String,
}

/// The chapter a reply or comment names.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChapterNameView {
    pub index: u32,
    pub number: u32,
    pub title: String,
}

/// One emoji on a message: who gives it and whether I am one of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub emoji: String,
    pub by: Vec<String>,
    pub mine: bool,
}

/// A comment on the shown message: a marker on its seek bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkerView {
    pub id: MessageId,
    pub at_ms: u64,
    /// "Comment by bob at 1:23: which quarter is this?"
    pub label: String,
}

/// One message of the thread, as the conversation lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryView {
    pub id: MessageId,
    pub sender: String,
    pub mine: bool,
    pub kind: EntryKind,
    pub subject: String,
    pub text: Option<String>,
    /// None while it waits in my outbox.
    pub sent_at: Option<DateTime<Utc>>,
    /// Why my answer has not gone yet ("waiting to send", "could not be sent").
    pub pending: Option<String>,
    pub in_reply_to: Option<MessageId>,
    pub at_ms: Option<u64>,
    /// The moment as people write it.
    pub at: Option<String>,
    pub chapter: Option<ChapterNameView>,
    pub has_clip: bool,
    /// The clip's length as people write it.
    pub duration: Option<String>,
    pub poster_url: Option<String>,
    pub reactions: Vec<ReactionView>,
    /// The message the Player shows.
    pub current: bool,
}

/// Everything the Player shows around the clip of one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub message: MessageId,
    pub chapters: Vec<ChapterView>,
    /// The comments on the shown message, by moment.
    pub markers: Vec<MarkerView>,
    /// Every reaction one can give, in order, with who gives it on the shown message.
    pub reaction_bar: Vec<ReactionView>,
    /// The whole thread, oldest first.
    pub entries: Vec<EntryView>,
}

fn short(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() <= SHORT_TEXT_CHARS {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(SHORT_TEXT_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

fn chapter_views(chapters: &[Chapter]) -> Vec<ChapterView> {
    (0u32..)
        .zip(chapters)
        .map(|(index, c)| ChapterView {
            index,
            number: index + 1,
            start_ms: c.start_ms,
            title: c.title.clone(),
            at: moment(c.start_ms),
        })
        .collect()
}

fn reaction_views(reactions: &[Reactions], me: &str) -> Vec<ReactionView> {
    reactions
        .iter()
        .map(|r| ReactionView {
            emoji: r.emoji.clone(),
            mine: r.by.iter().any(|u| u.as_str() == me),
            by: r.by.iter().map(ToString::to_string).collect(),
        })
        .collect()
}

/// All the reactions one can give, each with who gives it now.
fn reaction_bar(reactions: &[Reactions], me: &str) -> Vec<ReactionView> {
    REACTIONS
        .iter()
        .map(|emoji| {
            let given = reactions.iter().find(|r| r.emoji == *emoji);
            ReactionView {
                emoji: (*emoji).to_owned(),
                by: given.map_or_else(Vec::new, |r| r.by.iter().map(ToString::to_string).collect()),
                mine: given.is_some_and(|r| r.by.iter().any(|u| u.as_str() == me)),
            }
        })
        .collect()
}

fn marker_label(entry: &ConversationEntry, at_ms: u64) -> String {
    let at = moment(at_ms);
    match entry.text.as_deref().map(short).filter(|t| !t.is_empty()) {
        Some(text) => format!("Comment by {} at {at}: {text}", entry.sender),
        None => format!("Comment by {} at {at}", entry.sender),
    }
}

fn pending(state: Option<OutboxState>) -> Option<String> {
    match state? {
        OutboxState::Queued => Some("waiting to send".into()),
        OutboxState::Failed => Some("could not be sent: look in Sent".into()),
        OutboxState::Sent => None,
    }
}

fn entry_view(
    entry: ConversationEntry,
    me: &str,
    current: &MessageId,
    poster: impl Fn(&std::path::Path) -> Option<String>,
) -> EntryView {
    EntryView {
        current: &entry.id == current,
        sender: entry.sender.to_string(),
        mine: entry.mine,
        kind: entry.kind,
        subject: entry.subject,
        text: entry.text,
        sent_at: entry.sent_at,
        pending: pending(entry.queued),
        in_reply_to: entry.in_reply_to,
        at: entry.at_ms.map(moment),
        at_ms: entry.at_ms,
        chapter: entry.chapter.map(|c| ChapterNameView {
            number: c.index + 1,
            index: c.index,
            title: c.title,
        }),
        has_clip: entry.has_clip,
        duration: entry.duration_ms.map(moment),
        poster_url: entry.poster_path.as_deref().and_then(poster),
        reactions: reaction_views(&entry.reactions, me),
        id: entry.id,
    }
}

/// Builds the view from what the library says about the thread and the shown
/// message's comments.
fn conversation_view(
    message: &MessageId,
    entries: Vec<ConversationEntry>,
    comments: &[ConversationEntry],
    me: &str,
    poster: impl Fn(&std::path::Path) -> Option<String>,
) -> ConversationView {
    let shown = entries.iter().find(|e| &e.id == message);
    let chapters = shown.map_or_else(Vec::new, |e| chapter_views(&e.chapters));
    let reactions = shown.map_or_else(|| reaction_bar(&[], me), |e| reaction_bar(&e.reactions, me));
    let markers = comments
        .iter()
        .filter_map(|c| {
            c.at_ms.map(|at_ms| MarkerView {
                id: c.id.clone(),
                at_ms,
                label: marker_label(c, at_ms),
            })
        })
        .collect();
    ConversationView {
        message: message.clone(),
        chapters,
        markers,
        reaction_bar: reactions,
        entries: entries
            .into_iter()
            .map(|e| entry_view(e, me, message, &poster))
            .collect(),
    }
}

/// The message as delivered, which a reply or reaction names.
fn delivered(library: &Library, found: Found) -> anyhow::Result<Message> {
    match found {
        Found::Received(r) => Ok(r.message),
        Found::Sent(entry) => library
            .sent_message(&entry.message_id)?
            .map(|s| s.message)
            .ok_or_else(|| {
                anyhow!(
                    "this message has not been sent yet: answer it once Sent shows it delivered"
                )
            }),
    }
}

/// The thread a message belongs to, also for my message still in the outbox.
fn thread_of(session: &Session, found: &Found) -> anyhow::Result<(MessageId, MessageId)> {
    Ok(match found {
        Found::Received(r) => (r.message.id.clone(), r.message.thread.clone()),
        Found::Sent(entry) => {
            let thread = match session.library.sent_message(&entry.message_id)? {
                Some(sent) => sent.message.thread,
                None => match &entry.in_reply_to {
                    Some(parent) => thread_of(session, &find(session, parent.as_str())?)?.1,
                    None => entry.message_id.clone(),
                },
            };
            (entry.message_id.clone(), thread)
        }
    })
}

/// The conversation around a message: its thread, chapters, comment markers and
/// reactions.
#[tauri::command]
pub async fn conversation(app: AppHandle, id: String) -> CommandResult<ConversationView> {
    Ok(session::blocking(app, move |app, session| {
        let me = session.settings_blocking()?.user;
        let (message, thread) = thread_of(session, &find(session, &id)?)?;
        let entries = session.library.conversation(&thread, &me)?;
        let comments = comments_in(&entries, &message);
        Ok(conversation_view(&message, entries, &comments, &me, |p| {
            poster_url(app, Some(p))
        }))
    })
    .await?)
}

/// What queuing a text answer did.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextReplyView {
    pub message_id: MessageId,
    /// Everyone it goes to.
    pub recipients: Vec<String>,
}

/// Queues a text reply to a message of the thread (received or my own), or a
/// comment when `at_ms` names a moment of its clip; `chapter` (0-based) names the
/// chapter it answers. It goes to everyone in the conversation but me, and the
/// background sync delivers it.
#[tauri::command]
pub async fn send_text_reply(
    app: AppHandle,
    session: State<'_, Session>,
    message: String,
    text: String,
    at_ms: Option<u64>,
    chapter: Option<u32>,
) -> CommandResult<TextReplyView> {
    let now = session.now();
    let zone = session.zone;
    let queued = session::blocking(app.clone(), move |_, session| {
        let me = session.me_blocking()?;
        let original = delivered(&session.library, find(session, &message)?)?;
        let recipients = reply_all(&original, &me);
        if recipients.is_empty() {
            anyhow::bail!("nobody else is in this conversation: there is no one to answer");
        }
        let respond_by = ResponseByPreset::DEFAULT
            .resolve(now, zone)
            .context("could not work out when an answer is due")?;
        // The player's clip can run a few milliseconds past the length the sender
        // measured; a moment at its very end is the end of the clip, not an error.
        let at_ms = at_ms.map(|ms| original.duration_ms.map_or(ms, |length| ms.min(length)));
        let entry = session.library.queue(
            &NewOutgoing {
                draft_id: None,
                recipients,
                subject: reply_subject(&original.subject),
                text: Some(text.trim().to_owned()),
                respond_by: respond_by.instant(),
                respond_by_tz: zone.name().to_owned(),
                in_reply_to: Some(original.id.clone()),
                attachments: Vec::new(),
                at_ms,
                chapter,
                acknowledge_only: false,
                deadlines: vec![],
                working_hours_each: None,
            },
            now,
        )?;
        Ok(entry)
    })
    .await
    .context("the answer was not sent")?;
    tracing::info!(message = %queued.message_id, comment = at_ms.is_some(), "text answer queued");
    library_changed(&app);
    session.wake.notify_one();
    Ok(TextReplyView {
        message_id: queued.message_id,
        recipients: queued.recipients.iter().map(ToString::to_string).collect(),
    })
}

/// Gives (or takes back, with `removed`) my reaction to a message; the background
/// sync shares it. Resolves to the message's reaction bar as it is now.
#[tauri::command]
pub async fn react(
    app: AppHandle,
    session: State<'_, Session>,
    message: String,
    emoji: String,
    removed: bool,
) -> CommandResult<Vec<ReactionView>> {
    let now = session.now();
    let bar = session::blocking(app.clone(), move |_, session| {
        let user = session.me_blocking()?;
        let me = user.to_string();
        let original = delivered(&session.library, find(session, &message)?)?;
        session
            .library
            .queue_reaction(&original.id, &emoji, removed, &user, now)?;
        Ok(reaction_bar(
            &session.library.reactions_of(&original.id)?,
            &me,
        ))
    })
    .await
    .context("the reaction was not saved")?;
    library_changed(&app);
    session.wake.notify_one();
    Ok(bar)
}

#[cfg(test)]
mod tests {
    use pigeon_store::protocol::UserName;

    use super::*;

    fn id(s: &str) -> MessageId {
        MessageId::parse(s).unwrap()
    }

    fn user(s: &str) -> UserName {
        UserName::parse(s).unwrap()
    }

    fn entry(id_: &str, sender: &str, kind: EntryKind) -> ConversationEntry {
        ConversationEntry {
            id: id(id_),
            sender: user(sender),
            mine: sender == "alice",
            kind,
            subject: "Budget review".into(),
            text: None,
            sent_at: Some(Utc::now()),
            queued: None,
            in_reply_to: None,
            at_ms: None,
            chapter: None,
            chapters: Vec::new(),
            has_clip: false,
            duration_ms: None,
            poster_path: None,
            reactions: Vec::new(),
        }
    }

    #[test]
    fn words_chapters_markers_and_reactions_for_the_shown_message() {
        let mut original = entry("original00000001", "alice", EntryKind::Message);
        original.has_clip = true;
        original.duration_ms = Some(83_000);
        original.chapters = vec![
            Chapter {
                start_ms: 0,
                title: "Budget".into(),
            },
            Chapter {
                start_ms: 14_200,
                title: "Hiring".into(),
            },
        ];
        original.reactions = vec![Reactions {
            emoji: "👀".into(),
            by: vec![user("bob"), user("alice")],
        }];
        let mut comment = entry("comment000000001", "bob", EntryKind::Comment);
        comment.in_reply_to = Some(id("original00000001"));
        comment.at_ms = Some(3_000);
        comment.text = Some("which quarter is this?\nthe second line stays out".into());
        comment.chapter = Some(pigeon_library::conversation::ChapterRef {
            index: 1,
            title: "Hiring".into(),
        });
        let mut queued = entry("answer0000000001", "alice", EntryKind::Reply);
        queued.sent_at = None;
        queued.queued = Some(OutboxState::Queued);
        queued.text = Some("thanks".into());

        let entries = vec![original, comment.clone(), queued];
        let view = conversation_view(
            &id("original00000001"),
            entries,
            &[comment],
            "alice",
            |_| None,
        );

        assert_eq!(view.chapters.len(), 2);
        assert_eq!(
            view.chapters[1],
            ChapterView {
                index: 1,
                number: 2,
                start_ms: 14_200,
                title: "Hiring".into(),
                at: "0:14.2".into()
            }
        );
        assert_eq!(view.markers.len(), 1);
        assert_eq!(view.markers[0].at_ms, 3_000);
        assert_eq!(
            view.markers[0].label,
            "Comment by bob at 0:03: which quarter is this?"
        );
        let emoji: Vec<_> = view.reaction_bar.iter().map(|r| r.emoji.as_str()).collect();
        assert_eq!(emoji, REACTIONS);
        let eyes = &view.reaction_bar[3];
        assert_eq!(
            (eyes.by.clone(), eyes.mine),
            (vec!["bob".to_string(), "alice".to_string()], true)
        );
        assert!(view
            .reaction_bar
            .iter()
            .filter(|r| r.emoji != "👀")
            .all(|r| r.by.is_empty() && !r.mine));

        let kinds: Vec<_> = view.entries.iter().map(|e| (e.current, e.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (true, EntryKind::Message),
                (false, EntryKind::Comment),
                (false, EntryKind::Reply)
            ]
        );
        assert_eq!(view.entries[0].duration.as_deref(), Some("1:23"));
        assert_eq!(view.entries[1].at.as_deref(), Some("0:03"));
        assert_eq!(
            view.entries[1].chapter,
            Some(ChapterNameView {
                index: 1,
                number: 2,
                title: "Hiring".into()
            })
        );
        assert_eq!(view.entries[2].pending.as_deref(), Some("waiting to send"));
    }

    #[test]
    fn a_long_comment_is_shortened_on_its_marker() {
        let mut comment = entry("comment000000001", "carol", EntryKind::Comment);
        comment.text = Some("x".repeat(200));
        let label = marker_label(&comment, 61_500);
        assert!(
            label.starts_with("Comment by carol at 1:01.5: xxx"),
            "{label}"
        );
        assert!(
            label.ends_with('…') && label.chars().count() < 120,
            "{label}"
        );
        comment.text = None;
        assert_eq!(marker_label(&comment, 0), "Comment by carol at 0:00");
    }

    #[test]
    fn the_shapes_the_ui_reads() {
        let mut e = entry("comment000000001", "bob", EntryKind::Comment);
        e.at_ms = Some(3_000);
        let json = serde_json::to_value(entry_view(e, "alice", &id("original00000001"), |_| None))
            .unwrap();
        assert_eq!(json["kind"], "comment");
        assert_eq!(json["atMs"], 3000);
        assert_eq!(json["at"], "0:03");
        assert_eq!(json["hasClip"], false);
        assert_eq!(json["current"], false);
    }
}
