//! A conversation around a clip, end to end through the `pigeon` CLI, over a hub and
//! over a shared folder: alice records a clip with three chapters (marked while
//! recording) for bob and carol; bob reacts 👀, comments at 0:03 on chapter 2 and
//! answers with text; carol answers with a video on chapter 3. Alice's sync tells her
//! each of it, her `thread` shows it in order and her `status` shows both responded;
//! eve, a fourth user of the same store, sees none of it. Bad answers are refused with
//! their reason and leave nothing behind, and a ✅ answers an "acknowledge only"
//! message. A text answer and a reaction given while the hub is down wait in the thread
//! and go at the next sync.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use pigeon_scenarios::{record_with_marks, signed_in, text, Backend, Hub, User};
use serde_json::Value;

/// alice, bob, carol and eve, signed in to one hub or one shared folder.
fn team(backend: Backend, dir: &Path) -> (Option<Hub>, [User; 4]) {
    signed_in(backend, dir, ["alice", "bob", "carol", "eve"])
}

/// `pigeon ARGS` must fail, saying `why`.
fn refused(user: &User, args: &[&str], why: &str) {
    let out = user.run(args);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{} `pigeon {}` was accepted",
        user.name,
        args.join(" ")
    );
    assert!(
        said.contains(why),
        "{} `pigeon {}` said {said:?}, not {why:?}",
        user.name,
        args.join(" ")
    );
}

/// The recipients' states in `pigeon --json status MESSAGE`, by name.
fn states(user: &User, message: &str) -> Vec<(String, String)> {
    let status = user.json(&["status", message]);
    status["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                text(&r["recipient"]).to_owned(),
                text(&r["state"]).to_owned(),
            )
        })
        .collect()
}

fn titles(synced: &Value) -> Vec<String> {
    synced["announcements"]
        .as_array()
        .unwrap_or_else(|| panic!("no announcements in {synced}"))
        .iter()
        .map(|a| text(&a["title"]).to_owned())
        .collect()
}

fn a_conversation_around_a_clip(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (hub, [alice, bob, carol, eve]) = team(backend, dir.path());

    // Two fragments between the marks and after the last: the clip lasts past 0:03.
    let (draft, chapters) = record_with_marks(&alice, "Budget, Hiring, Q3", 2, 2);
    let starts: Vec<u64> = chapters
        .iter()
        .map(|c| c["start_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(starts[0], 0, "{chapters:?}");
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
    let names: Vec<_> = chapters.iter().map(|c| text(&c["title"])).collect();
    assert_eq!(names, ["Budget", "Hiring", "Q3"]);
    // Bob comments at 0:03, and a comment at 0:30 is refused as past the end.
    let seconds = draft["duration_seconds"].as_f64().unwrap();
    assert!(
        (3.2..30.0).contains(&seconds),
        "recorded {seconds} s: {draft}"
    );
    let sent = alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob,carol",
        "--subject",
        "Budget review",
    ]);
    assert_eq!(sent["state"], "sent", "{sent}");
    let message = text(&sent["message"]).to_owned();

    let synced = bob.json(&["sync"]);
    assert_eq!(
        titles(&synced),
        ["New message from alice"],
        "told once, as the desktop words it"
    );
    let shown = bob.json(&["show", &message]);
    assert_eq!(shown["message"]["chapters"].as_array().unwrap().len(), 3);
    let listed = bob.run(&["show", &message]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("chapters") && listed.contains(" 2  ") && listed.contains("Hiring"),
        "{listed}"
    );

    // Bad answers: each refused with its reason, nothing queued or shared.
    refused(
        &bob,
        &["reply", &message, "--text", "late", "--at", "0:30"],
        "past the end of the clip",
    );
    refused(
        &bob,
        &["reply", &message, "--text", "which?", "--chapter", "4"],
        "has 3 chapter(s)",
    );
    refused(&bob, &["reply", &message, "--text", "  "], "needs text");
    refused(&bob, &["react", &message, "🙂"], "👍");
    assert!(
        bob.json(&["drafts"])["outbox"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing left queued"
    );

    let reacted = bob.json(&["react", &message, "eyes"]);
    assert_eq!(
        (reacted["emoji"].as_str(), reacted["state"].as_str()),
        (Some("👀"), Some("shared")),
        "{reacted}"
    );
    let comment = bob.json(&[
        "reply",
        &message,
        "--text",
        "Which quarter is this?",
        "--at",
        "0:03",
        "--chapter",
        "2",
    ]);
    assert_eq!(comment["state"], "sent", "{comment}");
    let inbox = bob.json(&["inbox"]);
    assert_eq!(inbox[0]["responded"], false, "a comment is no answer");
    let answer = bob.json(&["reply", &message, "--text", "Agreed, see page 3"]);
    assert_eq!(answer["state"], "sent", "{answer}");
    let inbox = bob.json(&["inbox"]);
    assert_eq!(inbox[0]["responded"], true, "a text answer responds");

    carol.json(&["sync"]);
    let video = carol.json(&[
        "reply",
        &message,
        "--source",
        "synthetic",
        "--seconds",
        "2",
        "--chapter",
        "3",
    ]);
    assert_eq!(video["state"], "sent", "{video}");

    let synced = alice.json(&["sync"]);
    let told = titles(&synced);
    for expected in [
        "bob commented at 0:03 on Budget review",
        "bob replied to Budget review",
        "carol replied to Budget review",
        "bob reacted 👀 on Budget review",
    ] {
        assert!(
            told.iter().any(|t| t == expected),
            "{expected:?} not in {told:?}"
        );
    }
    assert!(titles(&alice.json(&["sync"])).is_empty(), "each told once");

    let thread = alice.json(&["thread", &message]);
    let entries = thread["entries"].as_array().unwrap();
    let order: Vec<_> = entries
        .iter()
        .map(|e| (text(&e["sender"]), text(&e["kind"])))
        .collect();
    assert_eq!(
        order,
        [
            ("alice", "message"),
            ("bob", "comment"),
            ("bob", "reply"),
            ("carol", "reply")
        ],
        "{thread}"
    );
    assert_eq!(entries[0]["reactions"][0]["emoji"], "👀", "{thread}");
    assert_eq!(entries[0]["reactions"][0]["by"][0], "bob");
    assert_eq!(entries[0]["chapters"].as_array().unwrap().len(), 3);
    assert_eq!(entries[1]["at"], "0:03");
    assert_eq!(entries[1]["chapter"]["title"], "Hiring");
    assert_eq!(entries[1]["text"], "Which quarter is this?");
    assert_eq!(entries[2]["has_clip"], false);
    assert_eq!(entries[3]["has_clip"], true);
    assert_eq!(entries[3]["chapter"]["title"], "Q3");
    let words = alice.run(&["thread", &message]);
    let words = String::from_utf8_lossy(&words.stdout);
    assert!(
        words.contains("commented at 0:03 on chapter 2 \"Hiring\"") && words.contains("👀 bob"),
        "{words}"
    );
    assert_eq!(
        states(&alice, &message),
        [
            ("bob".to_owned(), "responded".to_owned()),
            ("carol".to_owned(), "responded".to_owned())
        ]
    );

    // Alice answers in her own thread: to both, and bob hears of it.
    let thanks = alice.json(&["reply", &message, "--text", "Thanks, both"]);
    assert_eq!(thanks["state"], "sent", "{thanks}");
    let synced = bob.json(&["sync"]);
    assert!(
        titles(&synced)
            .iter()
            .any(|t| t == "alice replied to Budget review"),
        "{synced}"
    );
    assert_eq!(
        bob.json(&["thread", &message])["entries"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Bob changes his mind: 👀 taken back, ✅ given; alice sees only the ✅.
    let taken_back = bob.json(&["react", &message, "👀", "--remove"]);
    assert_eq!(taken_back["state"], "shared", "{taken_back}");
    assert_eq!(taken_back["reactions"], serde_json::json!([]));
    bob.json(&["react", &message, "check"]);
    let synced = alice.json(&["sync"]);
    assert_eq!(titles(&synced), ["bob reacted ✅ on Budget review"]);
    let thread = alice.json(&["thread", &message]);
    assert_eq!(
        thread["entries"][0]["reactions"],
        serde_json::json!([{"emoji": "✅", "by": ["bob"]}])
    );

    // Eve is in the same store and sees nothing of it.
    let synced = eve.json(&["sync"]);
    assert!(
        synced["new_messages"].as_array().unwrap().is_empty(),
        "{synced}"
    );
    assert!(eve.json(&["inbox"]).as_array().unwrap().is_empty());
    refused(&eve, &["thread", &message], "no message matches");
    refused(&eve, &["show", &message], "no received message matches");
    refused(&eve, &["react", &message, "check"], "no message matches");

    // A message that asks only for a ✅: carol's check answers it.
    let quick = alice.json(&["record", "--source", "synthetic", "--seconds", "1"]);
    let ask = alice.json(&[
        "send",
        text(&quick["draft"]),
        "--to",
        "carol",
        "--subject",
        "Slides are up",
        "--acknowledge-only",
    ]);
    let ask = text(&ask["message"]).to_owned();
    carol.json(&["sync"]);
    assert_eq!(carol.json(&["react", &ask, "check"])["state"], "shared");
    let inbox = carol.json(&["inbox"]);
    let asked = inbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == ask.as_str())
        .unwrap();
    assert_eq!(asked["responded"], true, "{inbox}");
    assert_eq!(
        states(&alice, &ask),
        [("carol".to_owned(), "responded".to_owned())]
    );
    drop(hub);
}

#[test]
fn a_conversation_around_a_clip_through_a_hub() {
    a_conversation_around_a_clip(Backend::Hub);
}

#[test]
fn a_conversation_around_a_clip_through_a_shared_folder() {
    a_conversation_around_a_clip(Backend::Folder);
}

#[test]
fn a_text_answer_and_a_reaction_given_while_the_hub_is_down_wait_and_go_at_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (hub, [alice, bob, _, _]) = team(Backend::Hub, dir.path());
    let mut hub = hub.unwrap();
    let port = hub.port;
    let draft = alice.json(&["record", "--source", "synthetic", "--seconds", "1"]);
    let sent = alice.json(&[
        "send",
        text(&draft["draft"]),
        "--to",
        "bob",
        "--subject",
        "Offsite dates",
    ]);
    let message = text(&sent["message"]).to_owned();
    bob.json(&["sync"]);
    hub.kill();

    let answer = bob.json(&["reply", &message, "--text", "The second week works"]);
    assert_eq!(answer["state"], "queued", "{answer}");
    let reacted = bob.json(&["react", &message, "party"]);
    assert_eq!(reacted["state"], "queued", "{reacted}");
    assert_eq!(reacted["reactions"][0]["emoji"], "🎉", "shown here at once");
    let thread = bob.json(&["thread", &message]);
    let waiting = &thread["entries"][1];
    assert_eq!(
        (&waiting["queued"], &waiting["sent_at"], &waiting["kind"]),
        (&Value::from("queued"), &Value::Null, &Value::from("reply")),
        "{thread}"
    );
    // The answer still in the outbox names its thread too.
    let by_answer = bob.json(&["thread", text(&answer["message"])]);
    assert_eq!(by_answer["thread"], message.as_str(), "{by_answer}");
    assert_eq!(by_answer["entries"], thread["entries"]);

    let _hub = Hub::start(&dir.path().join("hub"), port);
    let synced = bob.json(&["sync"]);
    assert_eq!(synced["outbox"][0]["state"], "sent", "{synced}");
    let synced = alice.json(&["sync"]);
    let mut told = titles(&synced);
    told.sort();
    assert_eq!(
        told,
        [
            "bob reacted 🎉 on Offsite dates",
            "bob replied to Offsite dates"
        ],
        "{synced}"
    );
    assert_eq!(
        states(&alice, &message),
        [("bob".to_owned(), "responded".to_owned())]
    );
    let thread = bob.json(&["thread", &message]);
    assert_eq!(thread["entries"][1]["queued"], Value::Null, "{thread}");
}
