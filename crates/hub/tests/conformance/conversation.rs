//! A thread as a conversation around a clip: text answers without a clip, comments at a
//! moment (not an answer), chapters, and every bad input of them refused with nothing
//! stored. Reactions are in `reactions.rs`.

use pigeon_store::protocol::commit::fingerprint;
use pigeon_store::protocol::{BlobRef, Chapter, Message, MessageId, NewMessage, Receipt};

use super::*;

/// The test clip's length as a recorder would report it.
pub(crate) const CLIP_MS: u64 = 1_000;

/// Returns once the clock has passed `t`'s millisecond, so the next thing a store stamps
/// sorts after it (the folder store orders by milliseconds).
pub(crate) async fn past_the_millisecond_of(t: chrono::DateTime<Utc>) {
    while Utc::now().timestamp_millis() <= t.timestamp_millis() {
        tokio::task::yield_now().await;
    }
}

pub(crate) fn chapters(titles: &[&str]) -> Vec<Chapter> {
    titles
        .iter()
        .enumerate()
        .map(|(i, title)| Chapter {
            start_ms: i as u64 * 300,
            title: title.to_string(),
        })
        .collect()
}

/// A clip message with its length and three chapters.
pub(crate) fn agenda_message(clip: &BlobRef, to: &[&str], subject: &str) -> NewMessage {
    let mut m = message(clip, to, subject);
    m.duration_ms = Some(CLIP_MS);
    m.chapters = chapters(&["Budget", "Hiring", "Q3"]);
    m
}

/// A text-only answer to `parent`, to `to`.
pub(crate) fn text_answer(parent: &MessageId, to: &[&str], text: &str) -> NewMessage {
    NewMessage {
        id: new_id(),
        recipients: to.iter().map(|n| user(n)).collect(),
        subject: "Re: the clip".into(),
        text: Some(text.into()),
        clip: None,
        attachments: vec![],
        poster: None,
        duration_ms: None,
        respond_by: Utc::now() + chrono::Duration::hours(24),
        respond_by_tz: "Europe/Berlin".into(),
        in_reply_to: Some(parent.clone()),
        at_ms: None,
        chapter: None,
        chapters: vec![],
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

/// A comment on `parent` at `at_ms`.
pub(crate) fn comment(parent: &MessageId, to: &[&str], at_ms: u64, text: &str) -> NewMessage {
    NewMessage {
        at_ms: Some(at_ms),
        ..text_answer(parent, to, text)
    }
}

pub(crate) async fn receipt_of(store: &Arc<dyn Store>, m: &MessageId, who: &str) -> Receipt {
    store
        .message_status(m)
        .await
        .unwrap()
        .receipts
        .into_iter()
        .find(|r| r.recipient.as_str() == who)
        .unwrap_or_else(|| panic!("no receipt of {who}"))
}

pub(crate) async fn a_text_answer_needs_no_clip_and_responds(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = agenda_message(&clip, &["bob"], "Budget review");
    t.alice.commit_message(&m).await.unwrap();

    let answer = text_answer(&m.id, &["alice"], "agreed, see page 3");
    // Its JSON has no clip (and none of the fields it does not use), so its fingerprint
    // is the one an older client computes for the same JSON.
    let json = serde_json::to_string(&answer).unwrap();
    for field in [
        "\"clip\"",
        "at_ms",
        "chapters",
        "acknowledge_only",
        "poster",
    ] {
        assert!(!json.contains(field), "{field} in {json}");
    }
    let committed = t.bob.commit_message(&answer).await.unwrap();
    assert!(committed.clip.is_none());
    assert_eq!(committed.text.as_deref(), Some("agreed, see page 3"));
    assert_eq!(committed.thread, m.id);
    assert_eq!(committed.answers(), Some(&m.id));
    // A retry (the answer to the commit was lost) is the same message, never a second.
    assert_eq!(
        fingerprint(&answer).unwrap(),
        fingerprint(&answer.clone()).unwrap()
    );
    assert_eq!(t.bob.commit_message(&answer).await.unwrap(), committed);
    let got = inbox_all(&t.alice, InboxOrder::Arrival).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message, committed);
    assert_eq!(t.alice.message(&answer.id).await.unwrap(), committed);
    // The text answer is bob's response.
    let receipt = receipt_of(&t.alice, &m.id, "bob").await;
    assert_eq!(
        receipt.response,
        Some(Response::Reply {
            message: answer.id.clone()
        })
    );
    // A text answer has no moments to comment on; answering it in words is fine.
    let err = t
        .alice
        .commit_message(&comment(&answer.id, &["bob"], 10, "here?"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("has no clip"), "{err}");
    assert_eq!(code(err), ErrorCode::Invalid);
    assert_eq!(inbox_all(&t.bob, InboxOrder::Arrival).await.len(), 1);
    let thanks = text_answer(&answer.id, &["bob"], "thanks");
    assert_eq!(t.alice.commit_message(&thanks).await.unwrap().thread, m.id);
}

pub(crate) async fn a_comment_at_a_moment_is_not_an_answer(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = agenda_message(&clip, &["bob", "carol"], "Budget review");
    t.alice.commit_message(&m).await.unwrap();

    let mut at = comment(&m.id, &["alice"], 300, "which quarter is this?");
    at.chapter = Some(1);
    let committed = t.bob.commit_message(&at).await.unwrap();
    assert_eq!((committed.at_ms, committed.chapter), (Some(300), Some(1)));
    assert!(committed.is_comment());
    assert_eq!(committed.answers(), None);
    assert_eq!(committed.thread, m.id);
    // A moment at the very end of the clip is still in it.
    let end = comment(&m.id, &["alice"], CLIP_MS, "the last frame");
    t.bob.commit_message(&end).await.unwrap();
    let got: Vec<Message> = inbox_all(&t.alice, InboxOrder::Arrival)
        .await
        .into_iter()
        .map(|e| e.message)
        .collect();
    // (The folder store orders two commits of one millisecond by id.)
    assert_eq!(got.iter().find(|g| g.id == committed.id), Some(&committed));
    assert_eq!(got.len(), 2);
    // Comments do not answer: bob has not responded yet.
    assert_eq!(receipt_of(&t.alice, &m.id, "bob").await.response, None);
    // Nor does a comment made as a short clip.
    let mut clip_comment = message(
        &upload_clip(&t.carol).await,
        &["alice"],
        "Re: Budget review",
    );
    clip_comment.in_reply_to = Some(m.id.clone());
    clip_comment.at_ms = Some(650);
    let clip_comment = t.carol.commit_message(&clip_comment).await.unwrap();
    assert!(clip_comment.clip.is_some() && clip_comment.is_comment());
    assert_eq!(receipt_of(&t.alice, &m.id, "carol").await.response, None);

    // A text answer naming a chapter does.
    let mut answer = text_answer(&m.id, &["alice", "carol"], "Q3 is fine");
    answer.chapter = Some(2);
    let answered = t.bob.commit_message(&answer).await.unwrap();
    assert_eq!(answered.chapter, Some(2));
    assert_eq!(
        receipt_of(&t.alice, &m.id, "bob").await.response,
        Some(Response::Reply {
            message: answer.id.clone()
        })
    );
    // A later comment does not replace the first response; carol has not answered.
    t.bob
        .commit_message(&comment(&m.id, &["alice"], 10, "one more"))
        .await
        .unwrap();
    assert_eq!(
        receipt_of(&t.alice, &m.id, "bob").await.response,
        Some(Response::Reply { message: answer.id })
    );
    assert_eq!(receipt_of(&t.alice, &m.id, "carol").await.response, None);
}

pub(crate) async fn chapters_round_trip(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = agenda_message(&clip, &["bob"], "Agenda");
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(committed.chapters, m.chapters);
    let got = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(got[0].message.chapters, m.chapters);
    assert_eq!(got[0].message.duration_ms, Some(CLIP_MS));
    assert_eq!(got[0].message.chapter_at(650), Some(2));
    assert_eq!(t.bob.message(&m.id).await.unwrap().chapters, m.chapters);
    // Idempotent with its chapters: a retry is the same message, other chapters conflict.
    assert_eq!(t.alice.commit_message(&m).await.unwrap(), committed);
    let mut other = m.clone();
    other.chapters[2].title = "Q4".into();
    assert_eq!(
        code(t.alice.commit_message(&other).await.unwrap_err()),
        ErrorCode::Conflict
    );
    // A video answer names a chapter and has chapters of its own.
    let reply_clip = upload_clip(&t.bob).await;
    let mut reply = agenda_message(&reply_clip, &["alice"], "Re: Agenda");
    reply.in_reply_to = Some(m.id.clone());
    reply.chapter = Some(0);
    reply.chapters = chapters(&["Answer"]);
    let reply = t.bob.commit_message(&reply).await.unwrap();
    assert_eq!(reply.chapter, Some(0));
    assert_eq!(
        inbox_all(&t.alice, InboxOrder::Arrival).await[0].message,
        reply
    );
}

pub(crate) async fn an_older_message_keeps_its_fingerprint(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let respond_by = (Utc::now() + chrono::Duration::hours(24))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // A message as clients sent it before text answers, comments and chapters.
    let old = format!(
        r#"{{"id":"{}","recipients":["bob"],"subject":"old","text":"hi","clip":"{}","attachments":[],"respond_by":"{respond_by}","respond_by_tz":"Europe/Berlin","in_reply_to":null}}"#,
        new_id(),
        clip.id
    );
    let m: NewMessage = serde_json::from_str(&old).unwrap();
    assert_eq!(serde_json::to_string(&m).unwrap(), old);
    assert_eq!(fingerprint(&m).unwrap(), sha256_hex(old.as_bytes()));
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(t.alice.commit_message(&m).await.unwrap(), committed);
    let json = serde_json::to_string(&committed).unwrap();
    for field in ["at_ms", "chapter", "acknowledge_only"] {
        assert!(!json.contains(field), "{field} in {json}");
    }
    // An older reply keeps answering as it did.
    let reply = format!(
        r#"{{"id":"{}","recipients":["alice"],"subject":"Re: old","text":"ok","clip":"{}","attachments":[],"respond_by":"{respond_by}","respond_by_tz":"Europe/Berlin","in_reply_to":"{}"}}"#,
        new_id(),
        upload_clip(&t.bob).await.id,
        m.id
    );
    let reply: NewMessage = serde_json::from_str(&reply).unwrap();
    t.bob.commit_message(&reply).await.unwrap();
    assert_eq!(
        receipt_of(&t.alice, &m.id, "bob").await.response,
        Some(Response::Reply { message: reply.id })
    );
}

/// One bad answer, what it is refused with, and a word the refusal says.
struct Bad {
    what: &'static str,
    message: NewMessage,
    code: ErrorCode,
    says: &'static str,
}

pub(crate) async fn bad_answers_are_refused_and_nothing_is_stored(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = agenda_message(&clip, &["bob"], "Budget review");
    t.alice.commit_message(&m).await.unwrap();
    let bobs_clip = upload_clip(&t.bob).await;
    let answer = |text: &str| text_answer(&m.id, &["alice"], text);
    let with = |f: &dyn Fn(&mut NewMessage)| {
        let mut a = answer("fine");
        f(&mut a);
        a
    };
    let video = |f: &dyn Fn(&mut NewMessage)| {
        let mut v = agenda_message(&bobs_clip, &["alice"], "Re: Budget review");
        v.in_reply_to = Some(m.id.clone());
        f(&mut v);
        v
    };
    let many: Vec<Chapter> = (0..51)
        .map(|i| Chapter {
            start_ms: i,
            title: format!("item {i}"),
        })
        .collect();
    let cases = vec![
        Bad {
            what: "no clip and no text",
            message: with(&|a| a.text = None),
            code: ErrorCode::Invalid,
            says: "neither a clip nor text",
        },
        Bad {
            what: "no clip and blank text",
            message: answer(" \n\t "),
            code: ErrorCode::Invalid,
            says: "neither a clip nor text",
        },
        Bad {
            what: "a moment past the clip",
            message: with(&|a| a.at_ms = Some(CLIP_MS + 1)),
            code: ErrorCode::Invalid,
            says: "past the end",
        },
        Bad {
            what: "a moment answering nothing",
            message: with(&|a| {
                a.in_reply_to = None;
                a.at_ms = Some(10);
            }),
            code: ErrorCode::Invalid,
            says: "answers nothing",
        },
        Bad {
            what: "a chapter answering nothing",
            message: with(&|a| {
                a.in_reply_to = None;
                a.chapter = Some(0);
            }),
            code: ErrorCode::Invalid,
            says: "answers nothing",
        },
        Bad {
            what: "a chapter past the parent's",
            message: with(&|a| a.chapter = Some(3)),
            code: ErrorCode::Invalid,
            says: "has 3 chapter(s): name one from 0 to 2",
        },
        Bad {
            what: "chapters without a clip",
            message: with(&|a| a.chapters = chapters(&["one"])),
            code: ErrorCode::Invalid,
            says: "no clip",
        },
        Bad {
            what: "unsorted chapters",
            message: video(&|v| v.chapters.swap(0, 1)),
            code: ErrorCode::Invalid,
            says: "sort the chapters",
        },
        Bad {
            what: "two chapters at one moment",
            message: video(&|v| v.chapters[1].start_ms = v.chapters[0].start_ms),
            code: ErrorCode::Invalid,
            says: "sort the chapters",
        },
        Bad {
            what: "too many chapters",
            message: video(&|v| v.chapters = many.clone()),
            code: ErrorCode::LimitExceeded,
            says: "max_chapters",
        },
        Bad {
            what: "a chapter title too long",
            message: video(&|v| v.chapters[0].title = "x".repeat(121)),
            code: ErrorCode::LimitExceeded,
            says: "max_chapter_title_chars",
        },
        Bad {
            what: "a blank chapter title",
            message: video(&|v| v.chapters[0].title = " ".into()),
            code: ErrorCode::Invalid,
            says: "chapter title",
        },
        Bad {
            what: "a chapter starting past the clip",
            message: video(&|v| v.chapters[2].start_ms = CLIP_MS),
            code: ErrorCode::Invalid,
            says: "past the clip's end",
        },
        Bad {
            what: "text past the limit",
            message: answer(&"x".repeat(10_001)),
            code: ErrorCode::LimitExceeded,
            says: "max_text_chars",
        },
        Bad {
            what: "an answer to a message that does not exist",
            message: with(&|a| a.in_reply_to = Some(new_id())),
            code: ErrorCode::NotFound,
            says: "in_reply_to",
        },
    ];
    for case in cases {
        let err = t.bob.commit_message(&case.message).await.unwrap_err();
        let shown = format!("{err} {:?}", err.api().and_then(|a| a.limit.as_ref()));
        assert_eq!(code(err), case.code, "{}: {shown}", case.what);
        assert!(shown.contains(case.says), "{}: {shown}", case.what);
        // Refused for good: the id stays free, nothing under it can be read.
        assert_eq!(
            code(t.alice.message(&case.message.id).await.unwrap_err()),
            ErrorCode::NotFound,
            "{}",
            case.what
        );
    }
    // A stranger can neither answer nor comment: the message is "not found" to them.
    for stranger in [
        text_answer(&m.id, &["alice"], "me too"),
        comment(&m.id, &["alice"], 100, "at this moment"),
    ] {
        let err = t.carol.commit_message(&stranger).await.unwrap_err();
        assert_eq!(code(err), ErrorCode::NotFound);
    }
    // Nothing was stored: alice received nothing, bob has the message only, nobody
    // responded, no record appeared.
    assert!(inbox_all(&t.alice, InboxOrder::Arrival).await.is_empty());
    let bobs = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].message.id, m.id);
    assert_eq!(receipt_of(&t.alice, &m.id, "bob").await.response, None);
    assert!(t.alice.records(&m.id).await.unwrap().is_empty());
    for store in [&t.alice, &t.bob, &t.carol] {
        let page = store
            .inbox(&InboxQuery {
                order: InboxOrder::Arrival,
                after: None,
                limit: 50,
            })
            .await
            .unwrap();
        assert!(page.records.is_empty());
    }
    assert!(inbox_all(&t.carol, InboxOrder::Arrival).await.is_empty());
}
