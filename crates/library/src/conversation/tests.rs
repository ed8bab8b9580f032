//! The conversation as every face reads it, from rows as the stores and the outbox leave them.

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
        text: text.map(str::to_owned),
        respond_by: start() + Duration::hours(48),
        ..crate::test_support::text_message(&["bob", "carol"], "Budget review", "")
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

    // Any message of the thread opens the same conversation, my queued answer too;
    // bob sees his as his.
    assert_eq!(library.conversation(&ids[2], "alice").unwrap(), entries);
    assert_eq!(library.conversation(&ids[4], "alice").unwrap(), entries);
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
    // The answer still queued opens the same conversation.
    assert_eq!(
        library.conversation(&entries[1].id, "alice").unwrap(),
        entries
    );
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

/// The conversation and its announcements from what a real sync stores: alice, bob
/// and carol on one shared folder.
mod through_a_shared_folder {
    use std::sync::Arc;

    use pigeon_store::protocol::Limits;
    use pigeon_store::{FolderStore, SharedStore};

    use super::*;
    use crate::home::PigeonHome;
    use crate::inbox::Inbox;
    use crate::outbox::{Delivery, Outbox};
    use crate::test_support::{recorded_draft, user};

    struct Person {
        name: UserName,
        library: Arc<Library>,
        outbox: Outbox,
        inbox: Inbox,
    }

    async fn person(dir: &Path, who: &str) -> Person {
        let store: SharedStore = Arc::new(
            FolderStore::open_or_create(&dir.join("shared"), &user(who), Limits::default())
                .await
                .unwrap(),
        );
        let library = Arc::new(Library::open(&PigeonHome::at(dir.join(who))).unwrap());
        Person {
            name: user(who).name,
            outbox: Outbox::new(library.clone(), store.clone()),
            inbox: Inbox::new(library.clone(), store, false),
            library,
        }
    }

    impl Person {
        /// Queues `new` and delivers everything queued (records too).
        async fn send(&self, new: NewOutgoing) -> MessageId {
            let id = self.library.queue(&new, Utc::now()).unwrap().message_id;
            let delivered = self.outbox.deliver_queued().await.unwrap();
            assert!(
                delivered
                    .iter()
                    .any(|(m, d)| m == &id && matches!(d, Delivery::Sent(_))),
                "{delivered:?}"
            );
            id
        }

        async fn sync(&self) {
            self.inbox.sync(Utc::now()).await.unwrap();
        }

        fn answer(&self, to: &MessageId, text: Option<&str>) -> NewOutgoing {
            let original = self.library.received(to.as_str()).unwrap().message;
            NewOutgoing {
                recipients: crate::people::reply_all(&original, &self.name),
                subject: crate::thread::reply_subject(&original.subject),
                in_reply_to: Some(to.clone()),
                respond_by: Utc::now() + Duration::hours(24),
                ..outgoing(None, text)
            }
        }
    }

    #[tokio::test]
    async fn alice_sees_the_whole_thread_and_hears_of_each_answer_once() {
        let dir = tempfile::tempdir().unwrap();
        let alice = person(dir.path(), "alice").await;
        let bob = person(dir.path(), "bob").await;
        let carol = person(dir.path(), "carol").await;

        let draft = recorded_draft(&alice.library);
        let agenda: Vec<Chapter> = chapters()
            .into_iter()
            .map(|c| Chapter {
                start_ms: c.start_ms / 20,
                ..c
            })
            .collect();
        alice.library.set_draft_chapters(&draft, &agenda).unwrap();
        let root = alice
            .send(NewOutgoing {
                respond_by: Utc::now() + Duration::hours(24),
                ..outgoing(Some(draft), None)
            })
            .await;
        alice.take_all_told();

        bob.sync().await;
        bob.library
            .queue_reaction(&root, "👀", false, &bob.name, Utc::now())
            .unwrap();
        let comment = bob
            .send(NewOutgoing {
                at_ms: Some(500),
                chapter: Some(1),
                ..bob.answer(&root, Some("which quarter is this?"))
            })
            .await;
        let text = bob.send(bob.answer(&root, Some("agreed"))).await;
        carol.sync().await;
        let video = carol
            .send(NewOutgoing {
                chapter: Some(2),
                draft_id: Some(recorded_draft(&carol.library)),
                ..carol.answer(&root, None)
            })
            .await;

        alice.sync().await;
        let entries = alice.library.conversation(&root, "alice").unwrap();
        let shown: Vec<_> = entries
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    e.sender.to_string(),
                    e.kind,
                    e.chapter.as_ref().map(|c| c.title.clone()),
                    e.has_clip,
                )
            })
            .collect();
        use EntryKind::*;
        assert_eq!(
            shown,
            [
                (root.clone(), "alice".into(), Message, None, true),
                (
                    comment.clone(),
                    "bob".into(),
                    Comment,
                    Some("Hiring".into()),
                    false
                ),
                (text.clone(), "bob".into(), Reply, None, false),
                (
                    video.clone(),
                    "carol".into(),
                    Reply,
                    Some("Q3".into()),
                    true
                ),
            ]
        );
        assert_eq!(entries[0].chapters, agenda);
        assert_eq!(entries[0].reactions.len(), 1);
        assert_eq!(entries[0].reactions[0].by, std::slice::from_ref(&bob.name));
        let markers: Vec<_> = alice
            .library
            .comments_on(&root, "alice")
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c.at_ms))
            .collect();
        assert_eq!(markers, [(comment, Some(500))]);

        let told: Vec<String> = alice
            .library
            .take_announcements(&alice.name)
            .unwrap()
            .into_iter()
            .map(|a| a.title)
            .collect();
        assert_eq!(
            told,
            [
                "bob commented at 0:00.5 on Budget review",
                "bob replied to Budget review",
                "carol replied to Budget review",
                "bob reacted 👀 on Budget review",
            ]
        );
        alice.sync().await;
        alice.take_all_told();

        // Carol answered everyone: bob's library holds the same thread, as his.
        bob.sync().await;
        let as_bob: Vec<_> = bob
            .library
            .conversation(&root, "bob")
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.mine))
            .collect();
        assert_eq!(
            as_bob,
            [
                (root, false),
                (entries[1].id.clone(), true),
                (text, true),
                (video, false)
            ]
        );
    }

    impl Person {
        /// Takes what is to be told and checks nothing is left after.
        fn take_all_told(&self) {
            self.library.take_announcements(&self.name).unwrap();
            assert!(self
                .library
                .take_announcements(&self.name)
                .unwrap()
                .is_empty());
        }
    }
}
