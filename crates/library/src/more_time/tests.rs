use chrono::{Duration, TimeZone as _};
use pigeon_store::protocol::{Deadline, Message, Receipt, Record};

use super::*;
use crate::db::as_committed;
use crate::db::tests::library;
use crate::db::NewOutgoing;
use crate::test_support::text_message;

fn name(n: &str) -> UserName {
    UserName::parse(n).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2029, 1, 1, 9, 0, 0).unwrap()
}

/// Alice's message to bob (due in 8 h) and yuki (due in 20 h), as the store
/// committed it.
fn committed(lib: &Library) -> Message {
    let deadlines = vec![
        Deadline {
            recipient: name("bob"),
            respond_by: now() + Duration::hours(8),
        },
        Deadline {
            recipient: name("yuki"),
            respond_by: now() + Duration::hours(20),
        },
    ];
    let entry = lib
        .queue(
            &NewOutgoing {
                respond_by: now() + Duration::hours(20),
                deadlines: deadlines.clone(),
                working_hours_each: Some(8),
                ..text_message(&["bob", "yuki"], "Plan", "Read this")
            },
            now(),
        )
        .unwrap();
    let mut m = crate::test_messages::message(
        entry.message_id.as_str(),
        "alice",
        &["bob", "yuki"],
        now() + Duration::hours(20),
    );
    m.sent_at = now();
    m.deadlines = deadlines;
    lib.record_sent(&m).unwrap();
    m
}

/// What `lib` queued, as the store would commit it.
fn shared(lib: &Library, m: &Message, author: &str, at: DateTime<Utc>) -> Vec<Record> {
    lib.pending_deadline_records(&m.id)
        .unwrap()
        .into_iter()
        .map(|p| {
            let body = as_committed(p.body).expect("a deadline record");
            let record = Record {
                id: p.id,
                message: m.id.clone(),
                author: name(author),
                created_at: at,
                body,
            };
            lib.record_shared(&record).unwrap();
            record
        })
        .collect()
}

#[test]
fn bob_asks_alice_grants_and_both_see_it_and_his_deadline_moves() {
    let (_a, alice) = library();
    let (_b, bob) = library();
    let m = committed(&alice);
    bob.store_received(&m, &Receipt::new(name("bob")), now())
        .unwrap();

    let before = bob.more_time(m.id.as_str(), &name("bob")).unwrap();
    assert!(!before.mine && before.cannot_ask.is_none());
    assert_eq!(before.my_deadline, Some(now() + Duration::hours(8)));

    let proposed = now() + Duration::hours(30);
    bob.ask_more_time(m.id.as_str(), &name("bob"), proposed, " travelling ", now())
        .unwrap();
    let asked = bob.more_time(m.id.as_str(), &name("bob")).unwrap();
    assert_eq!(asked.extensions.len(), 1);
    assert_eq!(asked.extensions[0].note, "travelling");
    assert_eq!(RequestState::of(&asked.extensions[0]), RequestState::Asked);
    assert!(asked.cannot_ask.unwrap().contains("answer is not here yet"));

    // Alice sees the request once it reached her; she grants the only open one.
    let request = shared(&bob, &m, "bob", now() + Duration::minutes(1));
    alice.store_inbox_page(&[], &request, None, now()).unwrap();
    let told = |lib: &Library, me: &str| -> Vec<(String, String)> {
        lib.take_announcements(&name(me))
            .unwrap()
            .into_iter()
            .map(|a| (a.title, a.body))
            .collect()
    };
    assert_eq!(
        told(&alice, "alice"),
        [(
            "bob asks for more time on Plan".to_owned(),
            "travelling".to_owned()
        )]
    );
    assert!(told(&alice, "alice").is_empty(), "told once");
    let seen = alice.more_time(m.id.as_str(), &name("alice")).unwrap();
    assert!(seen.mine);
    assert_eq!(seen.extensions.len(), 1);
    alice
        .answer_more_time(m.id.as_str(), &name("alice"), None, true, "ok", now())
        .unwrap();
    let grant = shared(&alice, &m, "alice", now() + Duration::minutes(2));
    let line = alice.sent_line(&m.id, now()).unwrap().unwrap();
    assert_eq!(
        line.recipients[0].deadline.instant(),
        proposed,
        "Sent shows bob's new deadline"
    );
    assert_eq!(
        line.recipients[1].deadline.instant(),
        now() + Duration::hours(20)
    );

    bob.store_inbox_page(&[], &grant, None, now()).unwrap();
    let bob_told = told(&bob, "bob");
    assert!(
        bob_told.contains(&(
            "alice gave you more time on Plan".to_owned(),
            "ok".to_owned()
        )),
        "{bob_told:?}"
    );
    assert_eq!(bob.received(m.id.as_str()).unwrap().respond_by, proposed);
    let decided = bob.more_time(m.id.as_str(), &name("bob")).unwrap();
    assert_eq!(
        RequestState::of(&decided.extensions[0]),
        RequestState::Granted
    );
    assert_eq!(decided.my_deadline, Some(proposed));
}

#[test]
fn refusals_are_sentences_and_nothing_is_queued() {
    let (_a, alice) = library();
    let (_b, bob) = library();
    let m = committed(&alice);
    bob.store_received(&m, &Receipt::new(name("bob")), now())
        .unwrap();
    let pending = |lib: &Library| lib.pending_deadline_records(&m.id).unwrap().len();

    // The sender does not ask; a recipient does not answer, nudge or close.
    let own = alice
        .ask_more_time(
            m.id.as_str(),
            &name("alice"),
            now() + Duration::days(2),
            "",
            now(),
        )
        .unwrap_err();
    assert!(own.to_string().contains("only a recipient"), "{own}");
    let close = bob
        .close_meeting(m.id.as_str(), &name("bob"), now())
        .unwrap_err();
    assert!(close.to_string().contains("only alice"), "{close}");
    // Nothing to answer yet.
    let none = alice
        .answer_more_time(
            m.id.as_str(),
            &name("alice"),
            Some(&name("yuki")),
            true,
            "",
            now(),
        )
        .unwrap_err();
    assert_eq!(
        none.to_string(),
        "yuki has no request for more time waiting for an answer"
    );
    // Earlier than the deadline.
    let early = bob
        .ask_more_time(
            m.id.as_str(),
            &name("bob"),
            now() + Duration::hours(1),
            "",
            now(),
        )
        .unwrap_err();
    assert!(
        early.to_string().contains("propose a later time"),
        "{early}"
    );
    assert_eq!(pending(&alice) + pending(&bob), 0);

    // Closed by alice: bob can no longer ask.
    alice
        .close_meeting(m.id.as_str(), &name("alice"), now())
        .unwrap();
    let closed = shared(&alice, &m, "alice", now() + Duration::minutes(1));
    bob.store_inbox_page(&[], &closed, None, now()).unwrap();
    let view = bob.more_time(m.id.as_str(), &name("bob")).unwrap();
    assert_eq!(
        view.cannot_ask.as_deref(),
        Some("alice closed this meeting.")
    );
    let late = bob
        .ask_more_time(
            m.id.as_str(),
            &name("bob"),
            now() + Duration::days(2),
            "",
            now(),
        )
        .unwrap_err();
    assert!(late.to_string().contains("closed this meeting"), "{late}");
    assert_eq!(pending(&bob), 0);
    let nudged = alice
        .nudge_pending(m.id.as_str(), &name("alice"), now())
        .unwrap();
    assert!(nudged.is_empty(), "no nudges once closed");
}

#[test]
fn a_nudge_reaches_each_pending_recipient_once_per_deadline() {
    let (_a, alice) = library();
    let m = committed(&alice);
    let first = alice
        .nudge_pending(m.id.as_str(), &name("alice"), now())
        .unwrap();
    assert_eq!(first, [name("bob"), name("yuki")]);
    let again = alice
        .nudge_pending(m.id.as_str(), &name("alice"), now())
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(alice.pending_deadline_records(&m.id).unwrap().len(), 2);
    // Bob hears of his nudge, once; yuki's is not his news.
    let (_b, bob) = library();
    bob.store_received(&m, &Receipt::new(name("bob")), now())
        .unwrap();
    let nudges = shared(&alice, &m, "alice", now() + Duration::minutes(1));
    bob.store_inbox_page(&[], &nudges, None, now()).unwrap();
    let titles: Vec<String> = bob
        .take_announcements(&name("bob"))
        .unwrap()
        .into_iter()
        .map(|a| a.title)
        .collect();
    assert_eq!(
        titles,
        ["New message from alice", "alice nudged you about Plan"]
    );
}
