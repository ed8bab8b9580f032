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

impl ConversationEntry {
    /// When it was sent, or for an answer still queued, after every sent one.
    fn order_key(&self) -> (bool, Option<DateTime<Utc>>) {
        (self.sent_at.is_none(), self.sent_at)
    }
}

/// A committed message of the thread with what this library keeps beside it.
struct Stored {
    message: Message,
    poster_path: Option<PathBuf>,
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
        let mut entries = Vec::with_capacity(stored.len() + waiting.len());
        for s in &stored {
            let m = &s.message;
            entries.push(ConversationEntry {
                id: m.id.clone(),
                sender: m.sender.clone(),
                mine: m.sender.as_str() == me,
                kind: kind_of(m.in_reply_to.is_some(), m.at_ms.is_some()),
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
                reactions: self.reactions_of(&m.id)?,
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
        entries.sort_by(|a, b| {
            a.order_key()
                .cmp(&b.order_key())
                .then_with(|| a.id.cmp(&b.id))
        });
        entries.extend(queued);
        Ok(entries)
    }

    /// The comments at a moment on one message, by moment (then as sent, my queued ones
    /// last): the seek bar's markers.
    pub fn comments_on(&self, message: &MessageId, me: &str) -> Result<Vec<ConversationEntry>> {
        let mut comments: Vec<ConversationEntry> = self
            .conversation(message, me)?
            .into_iter()
            .filter(|e| e.kind == EntryKind::Comment && e.in_reply_to.as_ref() == Some(message))
            .collect();
        // Stable: equal moments keep the conversation's order.
        comments.sort_by_key(|e| e.at_ms);
        Ok(comments)
    }
}

fn kind_of(replies: bool, at_a_moment: bool) -> EntryKind {
    match (replies, at_a_moment) {
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

/// The thread `id` belongs to: its stored thread id when it is a message of this
/// library, else `id` itself (a thread's id is its first message's).
pub(crate) fn thread_of(conn: &Connection, id: &MessageId) -> Result<MessageId> {
    let mut stmt = conn.prepare(
        "SELECT thread FROM received WHERE message_id = ?1
         UNION ALL
         SELECT thread FROM sent WHERE message_id = ?1
         LIMIT 1",
    )?;
    let mut rows = stmt.query_map(params![id.as_str()], |r| {
        id_from_sql(MessageId::parse, r.get(0)?)
    })?;
    Ok(rows.next().transpose()?.unwrap_or_else(|| id.clone()))
}

/// The committed messages of `thread`, received and sent, each once (a message to
/// oneself is both), with the poster kept for it.
fn stored_in_thread(conn: &Connection, thread: &MessageId) -> Result<Vec<Stored>> {
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
mod tests {
    use std::path::Path;

    use chrono::{Duration, TimeZone as _};
    use pigeon_store::protocol::{Receipt, Record, RecordBody, RecordId};

    use super::*;
    use crate::db::NewOutgoing;
    use crate::test_messages::message;

    fn name(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    fn chapters() -> Vec<Chapter> {
        ["Budget", "Hiring", "Q3"]
            .iter()
            .enumerate()
            .map(|(i, title)| Chapter {
                start_ms: i as u64 * 4_000,
                title: (*title).into(),
            })
            .collect()
    }

    fn outgoing(draft_id: Option<String>, text: Option<&str>) -> NewOutgoing {
        NewOutgoing {
            draft_id,
            recipients: vec![name("bob"), name("carol")],
            subject: "Budget review".into(),
            text: text.map(str::to_owned),
            respond_by: start() + Duration::hours(48),
            respond_by_tz: "UTC".into(),
            in_reply_to: None,
            attachments: vec![],
            at_ms: None,
            chapter: None,
            acknowledge_only: false,
        }
    }

    /// A reply from `sender` in `root`'s thread, `minutes` after it.
    fn reply(id: &str, sender: &str, root: &Message, minutes: i64) -> Message {
        let mut m = message(id, sender, &["alice"], root.respond_by);
        m.thread = root.thread.clone();
        m.in_reply_to = Some(root.id.clone());
        m.subject = "Re: Budget review".into();
        m.sent_at = root.sent_at + Duration::minutes(minutes);
        m
    }

    fn reaction(id: &str, author: &str, message: &MessageId, emoji: &str) -> Record {
        Record {
            id: RecordId::parse(id).unwrap(),
            message: message.clone(),
            author: name(author),
            created_at: start(),
            body: RecordBody::Reaction {
                emoji: emoji.into(),
                removed: false,
            },
        }
    }

    /// Alice's library: her clip with three chapters to bob and carol; bob's comment at
    /// 0:03 on chapter 2 and his text reply; carol's video reply on chapter 3; alice's
    /// own text answer to bob still queued; a message of another thread.
    fn alices_thread() -> (tempfile::TempDir, Library, Message, Vec<MessageId>) {
        let (dir, library) = crate::db::tests::library();
        let draft = library.create_draft(start()).unwrap();
        library
            .finish_draft(&draft.id, std::time::Duration::from_secs(12), None, false)
            .unwrap();
        library
            .set_draft_poster(&draft.id, Path::new("/posters/alice.jpg"))
            .unwrap();
        let queued = library
            .queue(&outgoing(Some(draft.id), None), start())
            .unwrap();
        let mut root = message(
            queued.message_id.as_str(),
            "alice",
            &["bob", "carol"],
            start() + Duration::hours(48),
        );
        root.subject = "Budget review".into();
        root.sent_at = start();
        root.duration_ms = Some(12_000);
        root.chapters = chapters();
        library.record_sent(&root).unwrap();

        let mut comment = reply("comment000000001", "bob", &root, 10);
        comment.clip = None;
        comment.text = Some("which quarter is this?".into());
        comment.at_ms = Some(3_000);
        comment.chapter = Some(1);
        let mut text = reply("textreply0000002", "bob", &root, 20);
        text.clip = None;
        text.text = Some("agreed".into());
        let mut video = reply("videoreply000003", "carol", &root, 15);
        video.chapter = Some(2);
        video.duration_ms = Some(5_000);
        let mut elsewhere = message("elsewhere0000004", "bob", &["alice"], start());
        elsewhere.sent_at = start() + Duration::minutes(12);
        for m in [&text, &comment, &video, &elsewhere] {
            library
                .store_received(m, &Receipt::new(name("alice")), start())
                .unwrap();
        }
        library
            .set_received_poster(&video.id, Path::new("/posters/carol.jpg"))
            .unwrap();
        let waiting = library
            .queue(
                &NewOutgoing {
                    recipients: vec![name("bob")],
                    subject: "Re: Budget review".into(),
                    in_reply_to: Some(text.id.clone()),
                    ..outgoing(None, Some("see page 3"))
                },
                start() + Duration::minutes(30),
            )
            .unwrap();
        let ids = vec![
            root.id.clone(),
            comment.id,
            video.id,
            text.id,
            waiting.message_id,
        ];
        (dir, library, root, ids)
    }

    #[test]
    fn a_thread_comes_out_in_order_with_kinds_chapters_and_reactions() {
        let (_dir, library, root, ids) = alices_thread();
        library
            .store_reaction_records(&[
                reaction("reaction-bob-eyes", "bob", &root.id, "👀"),
                reaction("reaction-carol-ok", "carol", &ids[3], "✅"),
            ])
            .unwrap();

        let entries = library.conversation(&root.id, "alice").unwrap();
        let shown: Vec<_> = entries
            .iter()
            .map(|e| (e.id.clone(), e.sender.as_str(), e.kind, e.mine))
            .collect();
        use EntryKind::*;
        assert_eq!(
            shown,
            [
                (ids[0].clone(), "alice", Message, true),
                (ids[1].clone(), "bob", Comment, false),
                (ids[2].clone(), "carol", Reply, false),
                (ids[3].clone(), "bob", Reply, false),
                (ids[4].clone(), "alice", Reply, true),
            ],
            "by sent_at, the queued answer last, without the other thread"
        );
        let [mine, comment, video, text, waiting] = &entries[..] else {
            panic!("{entries:?}")
        };
        assert_eq!(mine.chapters, chapters());
        assert!(mine.has_clip);
        assert_eq!(
            mine.poster_path.as_deref(),
            Some(Path::new("/posters/alice.jpg"))
        );
        assert_eq!(mine.reactions.len(), 1);
        assert_eq!(
            (mine.reactions[0].emoji.as_str(), &mine.reactions[0].by[..]),
            ("👀", &[name("bob")][..])
        );

        assert_eq!(comment.at_ms, Some(3_000));
        assert_eq!(
            comment.chapter,
            Some(ChapterRef {
                index: 1,
                title: "Hiring".into()
            })
        );
        assert!(!comment.has_clip);
        assert_eq!(comment.text.as_deref(), Some("which quarter is this?"));

        assert_eq!(video.chapter.as_ref().map(|c| c.title.as_str()), Some("Q3"));
        assert!(video.has_clip);
        assert_eq!(video.duration_ms, Some(5_000));
        assert_eq!(
            video.poster_path.as_deref(),
            Some(Path::new("/posters/carol.jpg"))
        );

        assert_eq!(text.text.as_deref(), Some("agreed"));
        assert_eq!(text.chapter, None);
        assert_eq!(text.reactions[0].emoji, "✅");
        assert!(text.sent_at.is_some() && text.queued.is_none());

        assert_eq!(waiting.sent_at, None);
        assert_eq!(waiting.queued, Some(OutboxState::Queued));
        assert_eq!(waiting.in_reply_to.as_ref(), Some(&ids[3]));
        assert_eq!(waiting.text.as_deref(), Some("see page 3"));
        assert!(!waiting.has_clip && waiting.poster_path.is_none());

        // Any message of the thread opens the same conversation; bob sees his as his.
        assert_eq!(library.conversation(&ids[2], "alice").unwrap(), entries);
        let as_bob = library.conversation(&ids[3], "bob").unwrap();
        assert!(as_bob[3].mine && !as_bob[0].mine);
    }

    #[test]
    fn an_unknown_thread_is_not_found() {
        let (_dir, library, _root, _ids) = alices_thread();
        let error = library
            .conversation(&MessageId::parse("nothread00000000").unwrap(), "alice")
            .unwrap_err();
        assert!(
            matches!(&error, LibraryError::NotFound { id, .. } if id == "nothread00000000"),
            "{error}"
        );
    }

    #[test]
    fn a_message_still_queued_opens_its_conversation_with_what_answers_it() {
        let (_dir, library) = crate::db::tests::library();
        let first = library
            .queue(&outgoing(None, Some("agenda first")), start())
            .unwrap();
        let follow_up = library
            .queue(
                &NewOutgoing {
                    in_reply_to: Some(first.message_id.clone()),
                    ..outgoing(None, Some("and one more thing"))
                },
                start() + Duration::minutes(1),
            )
            .unwrap();
        library
            .record_failure(&first.message_id, "refused")
            .unwrap();
        let entries = library.conversation(&first.message_id, "alice").unwrap();
        let shown: Vec<_> = entries
            .iter()
            .map(|e| (e.id.clone(), e.kind, e.queued, e.sent_at))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    first.message_id,
                    EntryKind::Message,
                    Some(OutboxState::Failed),
                    None
                ),
                (
                    follow_up.message_id,
                    EntryKind::Reply,
                    Some(OutboxState::Queued),
                    None
                ),
            ]
        );
        assert!(entries.iter().all(|e| e.mine && e.sender == name("alice")));
    }

    #[test]
    fn a_message_to_oneself_is_listed_once() {
        let (_dir, library, root, _ids) = alices_thread();
        library
            .store_received(&root, &Receipt::new(name("alice")), start())
            .unwrap();
        let entries = library.conversation(&root.id, "alice").unwrap();
        assert_eq!(entries.iter().filter(|e| e.id == root.id).count(), 1);
        assert_eq!(entries.len(), 5);
    }

    #[test]
    fn a_chapter_of_a_message_not_here_keeps_its_number() {
        let (_dir, library, root, _ids) = alices_thread();
        let mut late = reply("latecomment00005", "carol", &root, 40);
        late.in_reply_to = Some(MessageId::parse("notstoredhere0006").unwrap());
        late.chapter = Some(4);
        library
            .store_received(&late, &Receipt::new(name("alice")), start())
            .unwrap();
        let entries = library.conversation(&root.id, "alice").unwrap();
        let late = entries.iter().find(|e| e.id == late.id).unwrap();
        assert_eq!(
            late.chapter.as_ref().map(|c| c.title.as_str()),
            Some("Chapter 5")
        );
    }

    #[test]
    fn the_comments_on_a_clip_come_by_moment_with_a_queued_one() {
        let (_dir, library, root, ids) = alices_thread();
        let mut earlier = reply("comment000000007", "carol", &root, 50);
        earlier.at_ms = Some(1_500);
        let mut on_a_reply = reply("comment000000008", "carol", &root, 55);
        on_a_reply.in_reply_to = Some(ids[2].clone());
        on_a_reply.at_ms = Some(100);
        for m in [&earlier, &on_a_reply] {
            library
                .store_received(m, &Receipt::new(name("alice")), start())
                .unwrap();
        }
        let mine = library
            .queue(
                &NewOutgoing {
                    in_reply_to: Some(root.id.clone()),
                    at_ms: Some(9_000),
                    ..outgoing(None, Some("the last slide"))
                },
                start() + Duration::hours(1),
            )
            .unwrap();
        let markers: Vec<_> = library
            .comments_on(&root.id, "alice")
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.at_ms))
            .collect();
        assert_eq!(
            markers,
            [
                (earlier.id, Some(1_500)),
                (ids[1].clone(), Some(3_000)),
                (mine.message_id, Some(9_000)),
            ]
        );
        let on_video: Vec<_> = library
            .comments_on(&ids[2], "alice")
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(on_video, [on_a_reply.id]);
    }
}
