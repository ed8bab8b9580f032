use std::collections::HashMap;

use chrono::{Duration, TimeZone as _};
use pigeon_store::protocol::{
    Chapter, Deadline, RecordBody, RecordId, Response, Segment, Transcript,
};

use super::*;
use crate::conversation::ChapterRef;
use crate::test_messages::message;

fn name(n: &str) -> UserName {
    UserName::parse(n).unwrap()
}

fn due() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 10, 9, 0, 0).unwrap()
}

/// alice asks bob, carol and yuki about two chapters; yuki's deadline is a day later.
fn agenda() -> Message {
    let mut m = message(
        "meeting000000001",
        "alice",
        &["bob", "carol", "yuki"],
        due(),
    );
    m.subject = "Budget review".into();
    m.chapters = vec![
        Chapter {
            start_ms: 0,
            title: "Numbers".into(),
        },
        Chapter {
            start_ms: 10_000,
            title: "Hiring".into(),
        },
    ];
    m.deadlines = ["bob", "carol"]
        .into_iter()
        .map(|n| Deadline {
            recipient: name(n),
            respond_by: due(),
        })
        .chain([Deadline {
            recipient: name("yuki"),
            respond_by: due() + Duration::hours(24),
        }])
        .collect();
    m.respond_by = due() + Duration::hours(24);
    m
}

fn answer(
    id: &str,
    who: &str,
    kind: EntryKind,
    at_ms: Option<u64>,
    chapter: Option<u32>,
) -> ConversationEntry {
    ConversationEntry {
        id: MessageId::parse(id).unwrap(),
        sender: name(who),
        mine: false,
        kind,
        subject: "Re: Budget review".into(),
        text: Some(format!("{who} says so\nmore")),
        sent_at: Some(due() - Duration::hours(2)),
        queued: None,
        in_reply_to: Some(MessageId::parse("meeting000000001").unwrap()),
        at_ms,
        chapter: chapter.map(|index| ChapterRef {
            index,
            title: "Numbers".into(),
        }),
        chapters: vec![],
        has_clip: kind == EntryKind::Reply,
        duration_ms: None,
        poster_path: None,
        reactions: vec![],
    }
}

fn entries() -> Vec<ConversationEntry> {
    vec![
        answer("answerbob0000001", "bob", EntryKind::Reply, None, Some(0)),
        answer(
            "commentcarol0001",
            "carol",
            EntryKind::Comment,
            Some(12_000),
            None,
        ),
    ]
}

fn states(m: &Meeting, who: &str) -> Vec<CellState> {
    let p = m.participants.iter().find(|p| p.name == name(who)).unwrap();
    p.cells.iter().map(|c| c.state).collect()
}

#[test]
fn each_cell_is_answered_commented_pending_or_overdue_by_that_participants_deadline() {
    let m = agenda();
    let before = meeting_of(&m, &[], &entries(), &[], due() - Duration::hours(1));
    assert_eq!(before.items.len(), 2);
    assert_eq!(before.items[1].start_ms, Some(10_000));
    assert_eq!(
        states(&before, "bob"),
        [CellState::Answered, CellState::Pending]
    );
    assert_eq!(
        states(&before, "carol"),
        [CellState::Pending, CellState::Commented]
    );
    assert_eq!(
        states(&before, "yuki"),
        [CellState::Pending, CellState::Pending]
    );
    assert_eq!(before.closed, None);
    assert_eq!(before.to_nudge(), [name("carol"), name("yuki")]);

    // Past bob's and carol's deadline, not yuki's.
    let after = meeting_of(&m, &[], &entries(), &[], due() + Duration::hours(1));
    assert_eq!(
        states(&after, "bob"),
        [CellState::Answered, CellState::Overdue]
    );
    assert_eq!(
        states(&after, "carol"),
        [CellState::Overdue, CellState::Commented]
    );
    assert_eq!(
        states(&after, "yuki"),
        [CellState::Pending, CellState::Pending]
    );
    assert_eq!(after.closed, None);
    // Every deadline passed: closed.
    let late = meeting_of(&m, &[], &entries(), &[], due() + Duration::hours(25));
    assert_eq!(late.closed, Some(Closed::DeadlinePassed));
    let cell = &late.participants[1].cells[1];
    assert_eq!(cell.entries[0].text, "carol says so");
    assert_eq!(cell.entries[0].at_ms, Some(12_000));
}

#[test]
fn done_answers_everything_and_everyone_answering_closes_it() {
    let m = agenda();
    let mut all = entries();
    all.push(answer(
        "answercarol00001",
        "carol",
        EntryKind::Reply,
        None,
        None,
    ));
    let mut done = Receipt::new(name("yuki"));
    done.response = Some(Response::Done);
    let g = meeting_of(&m, &[], &all, &[done], due() - Duration::hours(1));
    assert_eq!(
        states(&g, "carol"),
        [CellState::Answered, CellState::Answered]
    );
    assert_eq!(
        states(&g, "yuki"),
        [CellState::Answered, CellState::Answered]
    );
    assert_eq!(g.closed, Some(Closed::EveryoneAnswered));
    assert!(g.to_nudge().is_empty());
}

#[test]
fn a_close_and_a_nudge_are_read_from_the_records() {
    let m = agenda();
    let record = |n: u32, body: RecordBody| Record {
        id: RecordId::parse(format!("record-{n:010}")).unwrap(),
        message: m.id.clone(),
        author: name("alice"),
        created_at: due() - Duration::hours(3) + Duration::minutes(i64::from(n)),
        body,
    };
    let nudge = record(
        1,
        RecordBody::Nudge {
            recipient: name("yuki"),
            deadline: due() + Duration::hours(24),
        },
    );
    let g = meeting_of(
        &m,
        std::slice::from_ref(&nudge),
        &entries(),
        &[],
        due() - Duration::hours(1),
    );
    assert_eq!(g.to_nudge(), [name("carol")]);
    let closed = meeting_of(
        &m,
        &[nudge, record(2, RecordBody::Close)],
        &entries(),
        &[],
        due() - Duration::hours(1),
    );
    assert_eq!(closed.closed, Some(Closed::ClosedBySender));
    assert!(closed.to_nudge().is_empty());
    assert_eq!(
        Closed::ClosedBySender.text(&name("alice")),
        "Closed by alice."
    );
}

#[test]
fn the_markdown_lists_items_answers_with_links_transcript_lines_and_what_is_open() {
    let m = agenda();
    let g = meeting_of(&m, &[], &entries(), &[], due() - Duration::hours(1));
    let transcript = Transcript {
        language: "en".into(),
        model: "tiny.en".into(),
        duration_ms: 20_000,
        segments: vec![
            Segment {
                start_ms: 1_000,
                end_ms: 4_000,
                text: " The numbers are up.".into(),
                words: vec![],
            },
            Segment {
                start_ms: 11_000,
                end_ms: 14_000,
                text: " We hire two people.".into(),
                words: vec![],
            },
        ],
    };
    let ctx = MarkdownContext {
        zone: chrono_tz::Europe::Berlin,
        transcripts: HashMap::from([(m.id.clone(), transcript)]),
    };
    let md = markdown(&g, &ctx);
    println!("{md}");
    assert!(md.starts_with("# Budget review\n"), "{md}");
    assert!(
        md.contains("Sent by alice to bob, carol, yuki on Wed 9 Dec 2026, 10:00 CET."),
        "{md}"
    );
    assert!(
        md.contains("Last deadline Fri 11 Dec 2026, 10:00 CET. Open."),
        "{md}"
    );
    let numbers = md.find("## 1. Numbers (0:00)").unwrap();
    let hiring = md.find("## 2. Hiring (0:10)").unwrap();
    let open = md.find("## Still open").unwrap();
    assert!(numbers < hiring && hiring < open);
    let part = |a: usize, b: usize| &md[a..b];
    assert!(part(numbers, hiring)
        .contains("> [0:01](pigeon://message/meeting000000001?at_ms=1000) The numbers are up."));
    assert!(part(numbers, hiring).contains(
        "- **bob** answered on video: \u{201c}bob says so\u{201d} ([open](pigeon://message/answerbob0000001))"
    ));
    assert!(part(numbers, hiring).contains("- **carol**: pending"));
    assert!(part(hiring, open)
        .contains("> [0:11](pigeon://message/meeting000000001?at_ms=11000) We hire two people."));
    assert!(part(hiring, open).contains(
        "- **carol** commented at [0:12](pigeon://message/meeting000000001?at_ms=12000): \u{201c}carol says so\u{201d}"
    ));
    assert!(
        part(open, md.len()).contains("- **yuki**: no answer yet, due Fri 11 Dec 2026, 10:00 CET")
    );
    assert!(
        part(open, md.len()).contains("- **carol**: no answer yet, due Thu 10 Dec 2026, 10:00 CET")
    );
    assert!(!part(open, md.len()).contains("bob"));
}

#[test]
fn markdown_text_cannot_start_headings_or_break_links() {
    assert_eq!(markdown::plain("# [x](y)\n*"), "\\# \\[x\\](y) \\*");
}
