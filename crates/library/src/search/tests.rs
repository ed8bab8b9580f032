//! Search over a real library: rows stored by the library's own functions (and a few
//! by SQL where no function exists yet), found through the triggers.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use pigeon_store::protocol::{Attachment, Message, Receipt, Segment, Transcript, UserName, Word};
use rusqlite::{params, Connection};

use super::*;
use crate::db::tests::library;
use crate::db::{NewOutgoing, MIGRATIONS};
use crate::home::PigeonHome;
use crate::test_messages;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).unwrap()
}

/// A received message `id` from `sender`, sent on `day`.
fn receive(
    lib: &Library,
    id: &str,
    sender: &str,
    day: u32,
    edit: impl FnOnce(&mut Message),
) -> Message {
    let mut m = test_messages::message(id, sender, &["bob"], at(day) + chrono::Duration::hours(24));
    edit(&mut m);
    lib.store_received(&m, &Receipt::new(m.recipients[0].clone()), at(day))
        .unwrap();
    m
}

/// A message the user sent from a draft (no clip recorded: the index never reads it).
/// Returns the draft id and the message.
fn send(lib: &Library, subject: &str, day: u32) -> (String, Message) {
    let draft = queue(lib, subject);
    let message = commit(lib, &draft, day);
    (draft, message)
}

fn queue(lib: &Library, subject: &str) -> String {
    let draft = lib.create_draft(at(1)).unwrap().id;
    lib.finish_draft(&draft, Duration::from_secs(3), None, false)
        .unwrap();
    lib.queue(
        &NewOutgoing {
            draft_id: Some(draft.clone()),
            recipients: vec![UserName::parse("carol").unwrap()],
            subject: subject.into(),
            text: None,
            respond_by: at(28),
            respond_by_tz: "UTC".into(),
            in_reply_to: None,
            attachments: vec![],
            at_ms: None,
            chapter: None,
            acknowledge_only: false,
            deadlines: vec![],
            working_hours_each: None,
        },
        at(1),
    )
    .unwrap();
    draft
}

fn commit(lib: &Library, draft: &str, day: u32) -> Message {
    let entry = lib
        .outbox()
        .unwrap()
        .into_iter()
        .find(|e| e.draft_id.as_deref() == Some(draft))
        .unwrap();
    let mut m = test_messages::message(entry.message_id.as_str(), "bob", &["carol"], at(28));
    m.subject = entry.subject.clone();
    m.sent_at = at(day);
    lib.record_sent(&m).unwrap();
    m
}

/// A transcript of `lines` (start ms, text); with `timed`, each word gets its own
/// time, 300 ms apart from the line's start.
fn transcript(lines: &[(u64, &str)], timed: bool) -> Transcript {
    Transcript {
        language: "en".into(),
        model: "tiny.en".into(),
        duration_ms: lines.last().map(|l| l.0 + 3000).unwrap_or(0),
        segments: lines
            .iter()
            .map(|&(start_ms, text)| Segment {
                start_ms,
                end_ms: start_ms + 3000,
                text: text.into(),
                words: if timed {
                    text.split(' ')
                        .enumerate()
                        .map(|(i, w)| Word {
                            start_ms: start_ms + 300 * i as u64,
                            end_ms: start_ms + 300 * i as u64 + 250,
                            text: format!(" {w}"),
                        })
                        .collect()
                } else {
                    vec![]
                },
            })
            .collect(),
    }
}

/// Stores a transcript as the transcription job does: queued, then done (an update).
fn put_transcript(lib: &Library, owner: &str, t: &Transcript) {
    let conn = lib.conn();
    conn.execute(
        "INSERT INTO transcripts (owner, state, origin, queued_at) VALUES (?1, 'queued', 'made_here', 'x')
         ON CONFLICT (owner) DO UPDATE SET state = 'queued'",
        params![owner],
    )
    .unwrap();
    conn.execute(
        "UPDATE transcripts SET state = 'running', progress = 0.5 WHERE owner = ?1",
        params![owner],
    )
    .unwrap();
    conn.execute(
        "UPDATE transcripts SET state = 'done', transcript = ?2 WHERE owner = ?1",
        params![owner, serde_json::to_string(t).unwrap()],
    )
    .unwrap();
}

fn fields(hits: &[SearchHit]) -> Vec<(String, SearchField)> {
    hits.iter()
        .map(|h| (h.message.as_str().to_owned(), h.field))
        .collect()
}

fn one(lib: &Library, words: &str) -> SearchHit {
    let hits = lib.search(words, 10).unwrap();
    assert_eq!(hits.len(), 1, "{words:?} found {hits:?}");
    hits.into_iter().next().unwrap()
}

#[test]
fn a_received_message_is_found_by_subject_note_sender_and_attachment_names() {
    let (_dir, lib) = library();
    let m = receive(&lib, "a000000000000001", "alice", 3, |m| {
        m.subject = "Quarterly budget".into();
        m.text = Some("Numbers for the Zürich office, see the sheet".into());
        m.attachments = vec![
            Attachment {
                blob: m.clip.clone().unwrap(),
                name: "forecast-2027.xlsx".into(),
            },
            Attachment {
                blob: m.clip.clone().unwrap(),
                name: "notes.txt".into(),
            },
        ];
    });
    receive(&lib, "a000000000000002", "dave", 4, |m| {
        m.subject = "Lunch".into()
    });

    let hit = one(&lib, "budget");
    assert_eq!(hit.message, m.id);
    assert!(!hit.sent_by_me);
    assert_eq!(
        (hit.field, hit.snippet.as_str()),
        (SearchField::Subject, "Quarterly [budget]")
    );
    assert_eq!(
        (hit.subject.as_str(), hit.sender.as_str()),
        ("Quarterly budget", "alice")
    );
    assert_eq!((hit.sent_at, hit.at_ms), (m.sent_at, None));

    let hit = one(&lib, "office sheet");
    assert_eq!(hit.field, SearchField::Note);
    assert_eq!(
        hit.snippet,
        "Numbers for the Zürich [office], see the [sheet]"
    );
    assert_eq!(one(&lib, "alice").field, SearchField::Sender);
    let hit = one(&lib, "forecast");
    assert_eq!(
        (hit.field, hit.snippet.as_str()),
        (SearchField::Attachment, "[forecast]-2027.xlsx")
    );
    assert_eq!(one(&lib, "notes.txt").field, SearchField::Attachment);
    assert_eq!(
        fields(&lib.search("lunch", 10).unwrap()),
        vec![("a000000000000002".into(), SearchField::Subject)]
    );
    assert!(lib.search("holiday", 10).unwrap().is_empty());
}

#[test]
fn transcripts_are_found_at_the_moment_the_words_are_spoken() {
    let (_dir, lib) = library();
    let m = receive(&lib, "b000000000000001", "alice", 3, |_| {});
    put_transcript(
        &lib,
        "message:b000000000000001",
        &transcript(
            &[
                (0, "hello team"),
                (4000, "we saw a blue whale today"),
                (9000, "the whale was blue"),
            ],
            true,
        ),
    );
    let hits = lib.search("blue whale", 10).unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert!(hits
        .iter()
        .all(|h| h.message == m.id && h.field == SearchField::Transcript));
    let mut at: Vec<_> = hits.iter().map(|h| h.at_ms).collect();
    at.sort();
    // "blue" is the 4th word of the segment at 4 s; "whale" the 2nd of the one at 9 s.
    assert_eq!(at, vec![Some(4900), Some(9300)]);
    let hit = hits.iter().find(|h| h.at_ms == Some(4900)).unwrap();
    assert_eq!(hit.snippet, "we saw a [blue] [whale] today");

    // Without word times: the segment's start.
    let other = receive(&lib, "b000000000000002", "dave", 4, |_| {});
    put_transcript(
        &lib,
        "message:b000000000000002",
        &transcript(&[(0, "intro"), (7000, "the rocket launched")], false),
    );
    let hit = one(&lib, "rocket");
    assert_eq!((hit.message, hit.at_ms), (other.id, Some(7000)));
}

#[test]
fn a_sent_messages_transcript_is_found_whether_done_before_or_after_it_was_sent() {
    let (_dir, lib) = library();
    // Done after the message was sent (the usual order: sending never waits).
    let (draft, late) = send(&lib, "Roadmap", 5);
    let hit = one(&lib, "roadmap");
    assert!(hit.sent_by_me);
    assert_eq!(
        (hit.message.clone(), hit.field),
        (late.id.clone(), SearchField::Subject)
    );
    assert_eq!(hit.sender.as_str(), "bob");
    put_transcript(
        &lib,
        &format!("draft:{draft}"),
        &transcript(&[(1500, "the migration is finished")], true),
    );
    let hit = one(&lib, "migration");
    assert_eq!(
        (hit.message, hit.field, hit.at_ms),
        (late.id, SearchField::Transcript, Some(1800))
    );

    // Done while the message was still queued: indexed when it is sent.
    let draft = queue(&lib, "Standup");
    put_transcript(
        &lib,
        &format!("draft:{draft}"),
        &transcript(&[(0, "yesterday I fixed the kettle")], false),
    );
    assert!(
        lib.search("kettle", 10).unwrap().is_empty(),
        "a queued message is not searchable"
    );
    let early = commit(&lib, &draft, 6);
    let hit = one(&lib, "kettle");
    assert_eq!(
        (hit.message, hit.sent_by_me, hit.at_ms),
        (early.id, true, Some(0))
    );
}

#[test]
fn case_diacritics_and_prefixes_do_not_matter() {
    let (_dir, lib) = library();
    let m = receive(&lib, "c000000000000001", "alice", 3, |m| {
        m.subject = "Crème BRÛLÉE for Łukasz".into();
        m.text = Some("naive plan".into());
    });
    for words in ["creme brulee", "CRÈME", "Brûl", "cre", "łukasz", "NAÏVE"] {
        assert_eq!(lib.search(words, 10).unwrap().len(), 1, "{words:?}");
    }
    assert_eq!(one(&lib, "CREME").message, m.id);
    // A word followed by a space is finished: no prefix.
    assert!(lib.search("cre ", 10).unwrap().is_empty());
    assert!(lib.search("cremes", 10).unwrap().is_empty());
}

#[test]
fn punctuation_and_search_syntax_typed_by_a_user_are_just_words() {
    let (_dir, lib) = library();
    receive(&lib, "d000000000000001", "alice", 3, |m| {
        m.subject = "Meet near the station".into();
        m.text = Some("e-mail me or call, don't wait: NOT later".into());
    });
    for typed in [
        "\"",
        "*",
        "-",
        "^",
        ":",
        "(",
        ")",
        "\"unclosed",
        "NEAR(",
        "a AND",
        "OR",
        "NOT x",
        "text:station",
        "{x}",
        "'",
        "%",
        "_",
        "\\",
        "***",
        "NEAR(station, 2)",
        "…",
    ] {
        lib.search(typed, 10)
            .unwrap_or_else(|e| panic!("{typed:?}: {e}"));
    }
    for (typed, found) in [
        ("near", 1),
        ("NEAR station", 1),
        ("station*", 1),
        ("-station", 1),
        ("\"station\"", 1),
        ("station -", 1),
        ("e-mail", 1),
        ("don't", 1),
        ("NOT later", 1),
        ("or", 1),
        ("text:station", 0),
        ("station OR holiday", 0),
        ("*", 0),
        ("", 0),
        ("   ", 0),
    ] {
        assert_eq!(lib.search(typed, 10).unwrap().len(), found, "{typed:?}");
    }
}

#[test]
fn changed_and_deleted_rows_leave_the_index() {
    let (_dir, lib) = library();
    let mut m = receive(&lib, "e000000000000001", "alice", 3, |m| {
        m.subject = "Alpha".into()
    });
    put_transcript(
        &lib,
        "message:e000000000000001",
        &transcript(&[(0, "first take")], false),
    );
    assert_eq!(lib.search("first", 10).unwrap().len(), 1);

    // Made again: the old words go, the new ones come.
    put_transcript(
        &lib,
        "message:e000000000000001",
        &transcript(&[(0, "second take")], false),
    );
    assert!(lib.search("first", 10).unwrap().is_empty());
    assert_eq!(lib.search("second", 10).unwrap().len(), 1);
    // Sharing it touches other columns: the index is left alone.
    let newest = |lib: &Library| -> i64 {
        lib.read()
            .query_row("SELECT MAX(id) FROM search_rows", [], |r| r.get(0))
            .unwrap()
    };
    let before = newest(&lib);
    lib.conn()
        .execute(
            "UPDATE transcripts SET blob = 'b', record_id = 'r', shared_at = 'x'",
            [],
        )
        .unwrap();
    assert_eq!(newest(&lib), before);
    // Queued again ("make it again"): not searchable until done.
    lib.conn()
        .execute(
            "UPDATE transcripts SET state = 'queued' WHERE owner = 'message:e000000000000001'",
            [],
        )
        .unwrap();
    assert!(lib.search("second", 10).unwrap().is_empty());
    lib.conn()
        .execute(
            "UPDATE transcripts SET state = 'done' WHERE owner = 'message:e000000000000001'",
            [],
        )
        .unwrap();
    assert_eq!(lib.search("take", 10).unwrap().len(), 1);

    // The message itself rewritten.
    m.subject = "Beta".into();
    lib.conn()
        .execute(
            "UPDATE received SET message = ?2 WHERE message_id = ?1",
            params![m.id.as_str(), serde_json::to_string(&m).unwrap()],
        )
        .unwrap();
    assert!(lib.search("alpha", 10).unwrap().is_empty());
    assert_eq!(
        fields(&lib.search("beta", 10).unwrap()),
        vec![(m.id.as_str().into(), SearchField::Subject)]
    );
    assert_eq!(
        lib.search("take", 10).unwrap().len(),
        1,
        "its transcript stays"
    );
    // Viewing it (an update of other columns) changes nothing.
    lib.mark_viewed(&m.id, at(4)).unwrap();
    assert_eq!(lib.search("beta", 10).unwrap().len(), 1);

    // Deleted: the transcript first, then the message.
    lib.conn()
        .execute(
            "DELETE FROM transcripts WHERE owner = 'message:e000000000000001'",
            [],
        )
        .unwrap();
    assert!(lib.search("take", 10).unwrap().is_empty());
    lib.conn()
        .execute(
            "DELETE FROM received WHERE message_id = ?1",
            params![m.id.as_str()],
        )
        .unwrap();
    assert!(lib.search("beta", 10).unwrap().is_empty());
    assert!(lib.search("alice", 10).unwrap().is_empty());
    let left: i64 = lib
        .read()
        .query_row("SELECT COUNT(*) FROM search_rows", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
}

#[test]
fn a_transcript_that_is_not_done_or_not_readable_is_not_searched_and_breaks_nothing() {
    let (_dir, lib) = library();
    receive(&lib, "f000000000000001", "alice", 3, |_| {});
    let conn = lib.conn();
    conn.execute(
        "INSERT INTO transcripts (owner, state, origin, transcript, queued_at)
         VALUES ('message:f000000000000001', 'failed', 'made_here', '{\"segments\":[{\"text\":\"ghost\"}]}', 'x')",
        [],
    )
    .unwrap();
    conn.execute(
        "UPDATE transcripts SET state = 'done', transcript = 'not json' WHERE owner = 'message:f000000000000001'",
        [],
    )
    .unwrap();
    drop(conn);
    assert!(lib.search("ghost", 10).unwrap().is_empty());
    assert_eq!(lib.search("alice", 10).unwrap().len(), 1);
}

#[test]
fn hits_rank_by_relevance_then_newest_and_respect_the_limit() {
    let (_dir, lib) = library();
    for (id, day) in [
        ("0100000000000001", 3),
        ("0100000000000002", 9),
        ("0100000000000003", 6),
    ] {
        receive(&lib, id, "alice", day, |m| m.subject = "Launch plan".into());
    }
    receive(&lib, "0100000000000004", "alice", 12, |m| {
        m.subject = "Other".into();
        m.text = Some(
            "the launch is one item in a long list of things we talked about this week".into(),
        );
    });
    let hits = lib.search("launch", 10).unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.message.as_str()).collect();
    assert_eq!(
        ids,
        [
            "0100000000000002",
            "0100000000000003",
            "0100000000000001",
            "0100000000000004"
        ]
    );
    assert_eq!(lib.search("launch", 2).unwrap().len(), 2);
    assert!(lib.search("launch", 0).unwrap().is_empty());
}

#[test]
fn a_library_from_before_search_is_indexed_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let home = PigeonHome::at(dir.path());
    home.create().unwrap();
    let received = test_messages::message("0123456789abcdef", "alice", &["bob"], at(20));
    let mut sent = test_messages::message("fedcba9876543210", "bob", &["alice"], at(20));
    sent.subject = "Invoice".into();
    {
        let conn = Connection::open(home.database_file()).unwrap();
        for sql in &MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute(
            "INSERT INTO received (message_id, message, thread, respond_by, arrived_at)
             VALUES (?1, ?2, ?1, 'x', 'x')",
            params![
                received.id.as_str(),
                serde_json::to_string(&received).unwrap()
            ],
        )
        .unwrap();
        conn.execute_batch(
            "INSERT INTO drafts (id, created_at, clip_path, state) VALUES ('d1', 'x', '/c.mp4', 'sent');
             INSERT INTO outbox (message_id, draft_id, recipients, subject, respond_by, respond_by_tz, state, created_at)
             VALUES ('fedcba9876543210', 'd1', '[\"alice\"]', 'Invoice', 'x', 'UTC', 'sent', 'x');",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO sent (message_id, message, thread, sent_at) VALUES (?1, ?2, ?1, 'x')",
            params![sent.id.as_str(), serde_json::to_string(&sent).unwrap()],
        )
        .unwrap();
        for (owner, text) in [
            ("message:0123456789abcdef", "the garden party"),
            ("draft:d1", "pay the invoice soon"),
        ] {
            conn.execute(
                "INSERT INTO transcripts (owner, state, origin, transcript, queued_at) VALUES (?1, 'done', 'made_here', ?2, 'x')",
                params![owner, serde_json::to_string(&transcript(&[(2000, text)], false)).unwrap()],
            )
            .unwrap();
        }
    }
    let lib = Library::open(&home).unwrap();
    let hit = one(&lib, "garden");
    assert_eq!(
        (hit.message, hit.sent_by_me, hit.at_ms),
        (received.id, false, Some(2000))
    );
    let hits = lib.search("invoice", 10).unwrap();
    assert_eq!(
        fields(&hits)
            .into_iter()
            .collect::<std::collections::HashSet<_>>(),
        [
            ("fedcba9876543210".to_owned(), SearchField::Subject),
            ("fedcba9876543210".to_owned(), SearchField::Transcript)
        ]
        .into_iter()
        .collect()
    );
    assert!(hits.iter().all(|h| h.sent_by_me));
}

#[test]
fn the_players_search_matches_lines_by_the_same_rules() {
    let t = transcript(
        &[
            (0, "Welcome to the Café"),
            (3000, "send me an e-mail"),
            (6000, "the cafe opens at nine"),
            (9000, "emails later"),
        ],
        false,
    );
    assert_eq!(transcript_lines_matching(&t, "cafe"), vec![0, 2]);
    assert_eq!(transcript_lines_matching(&t, "CAFÉ"), vec![0, 2]);
    assert_eq!(transcript_lines_matching(&t, "the caf"), vec![0, 2]);
    assert_eq!(transcript_lines_matching(&t, "cafe opens"), vec![2]);
    assert_eq!(transcript_lines_matching(&t, "e-mail"), vec![1]);
    assert_eq!(transcript_lines_matching(&t, "mail"), vec![1]);
    assert_eq!(transcript_lines_matching(&t, "email"), vec![3]);
    assert_eq!(transcript_lines_matching(&t, "nine "), vec![2]);
    assert_eq!(transcript_lines_matching(&t, "nin "), Vec::<usize>::new());
    assert_eq!(
        transcript_lines_matching(&t, "\"*-NEAR"),
        Vec::<usize>::new()
    );
    assert_eq!(transcript_lines_matching(&t, ""), Vec::<usize>::new());
    // The index agrees, line for line.
    let (_dir, lib) = library();
    receive(&lib, "0200000000000001", "alice", 3, |_| {});
    put_transcript(&lib, "message:0200000000000001", &t);
    for words in [
        "cafe",
        "CAFÉ",
        "the caf",
        "cafe opens",
        "e-mail",
        "mail",
        "email",
        "nine ",
        "nin ",
    ] {
        let mut at: Vec<_> = lib
            .search(words, 10)
            .unwrap()
            .iter()
            .map(|h| h.at_ms.unwrap())
            .collect();
        at.sort();
        let lines: Vec<_> = transcript_lines_matching(&t, words)
            .iter()
            .map(|&i| t.segments[i].start_ms)
            .collect();
        assert_eq!(at, lines, "{words:?}");
    }
}

#[test]
fn words_found_everywhere_are_ranked_among_their_newest_matches() {
    let (_dir, lib) = library();
    // Stored oldest first, as they arrive; the best match (the shortest text) is the
    // oldest.
    receive(&lib, "0400000000000001", "alice", 3, |m| {
        m.subject = "Kiwi".into()
    });
    receive(&lib, "0400000000000002", "alice", 4, |m| {
        m.subject = "kiwi and more words here".into()
    });
    receive(&lib, "0400000000000003", "alice", 5, |m| {
        m.subject = "kiwi and other words".into()
    });
    let ids = |hits: Vec<SearchHit>| -> Vec<String> {
        hits.into_iter()
            .map(|h| h.message.as_str().to_owned())
            .collect()
    };
    assert_eq!(
        ids(lib.search_ranking("kiwi", 10, 3).unwrap()),
        ["0400000000000001", "0400000000000003", "0400000000000002"]
    );
    assert_eq!(
        ids(lib.search_ranking("kiwi", 10, 2).unwrap()),
        ["0400000000000003", "0400000000000002"]
    );
}
