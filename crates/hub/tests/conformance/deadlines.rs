//! Deadlines per recipient and after the send: a message sent "N working hours each"
//! places each recipient by their own deadline; a recipient asks for more time, the
//! sender grants or declines, nudges once per deadline and closes the meeting; a
//! grant moves the asker (and only them) in their respond-by order.

use chrono::{DateTime, Duration};
use pigeon_store::protocol::{
    closed, effective_deadline, extensions, BlobRef, Deadline, MessageId, NewMessage, NewRecord,
    NewRecordBody, RecordId,
};

use super::*;

fn record(message: &MessageId, body: NewRecordBody) -> NewRecord {
    NewRecord {
        id: RecordId::parse(uuid::Uuid::new_v4().to_string()).unwrap(),
        message: message.clone(),
        body,
    }
}

fn ask(message: &MessageId, proposed: DateTime<Utc>) -> NewRecord {
    record(
        message,
        NewRecordBody::ExtensionRequest {
            proposed,
            note: "I am travelling until Thursday".into(),
        },
    )
}

fn answer(message: &MessageId, request: &RecordId, granted: bool) -> NewRecord {
    record(
        message,
        NewRecordBody::ExtensionAnswer {
            request: request.clone(),
            granted,
            note: String::new(),
        },
    )
}

/// A message to bob and carol with a deadline each, `respond_by` the later one.
fn each(clip: &BlobRef, subject: &str, bob: DateTime<Utc>, carol: DateTime<Utc>) -> NewMessage {
    let mut m = message(clip, &["bob", "carol"], subject);
    m.deadlines = vec![
        Deadline {
            recipient: user("bob"),
            respond_by: bob,
        },
        Deadline {
            recipient: user("carol"),
            respond_by: carol,
        },
    ];
    m.respond_by = bob.max(carol);
    m.working_hours_each = Some(8);
    m
}

async fn due_order(store: &Arc<dyn Store>) -> Vec<String> {
    inbox_all(store, InboxOrder::RespondBy)
        .await
        .into_iter()
        .map(|e| e.message.subject)
        .collect()
}

pub(crate) async fn each_recipient_has_their_own_deadline_and_more_time(t: Team) {
    let now = Utc::now();
    let h = |n: i64| now + Duration::hours(n);
    let clip = upload_clip(&t.alice).await;
    let mut same = message(&clip, &["bob", "carol"], "Same for all");
    same.respond_by = h(30);
    t.alice.commit_message(&same).await.unwrap();
    let m = each(&clip, "Own deadlines", h(20), h(40));
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert_eq!(committed.deadlines, m.deadlines);
    assert_eq!(committed.working_hours_each, Some(8));
    assert_eq!(committed.deadline_of(&user("bob")), Some(h(20)));
    // Each recipient's inbox places the message by their own deadline.
    assert_eq!(due_order(&t.bob).await, ["Own deadlines", "Same for all"]);
    assert_eq!(due_order(&t.carol).await, ["Same for all", "Own deadlines"]);

    // Bob asks for more time; only the sender answers, once.
    let request = t.bob.commit_record(&ask(&m.id, h(35))).await.unwrap();
    let err = t.bob.commit_record(&ask(&m.id, h(36))).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict, "one open request each");
    let err = t.alice.commit_record(&ask(&m.id, h(50))).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::Forbidden, "the sender does not ask");
    let err = t
        .carol
        .commit_record(&answer(&m.id, &request.id, true))
        .await
        .unwrap_err();
    assert_eq!(
        code(err),
        ErrorCode::Forbidden,
        "a recipient does not grant"
    );
    let grant = answer(&m.id, &request.id, true);
    t.alice.commit_record(&grant).await.unwrap();
    // A retried grant is the same record; a second answer is refused.
    t.alice.commit_record(&grant).await.unwrap();
    let err = t
        .alice
        .commit_record(&answer(&m.id, &request.id, false))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict);

    // Everyone reads the same moved deadline; only bob moved in his order.
    for store in [&t.alice, &t.bob, &t.carol] {
        let records = store.records(&m.id).await.unwrap();
        assert_eq!(
            effective_deadline(&committed, &records, &user("bob")),
            Some(h(35))
        );
        assert_eq!(
            effective_deadline(&committed, &records, &user("carol")),
            Some(h(40))
        );
        let asked = extensions(&committed, &records);
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].note, "I am travelling until Thursday");
    }
    assert_eq!(due_order(&t.bob).await, ["Same for all", "Own deadlines"]);
    assert_eq!(inbox_all(&t.bob, InboxOrder::Arrival).await.len(), 2);
    assert_eq!(due_order(&t.carol).await, ["Same for all", "Own deadlines"]);

    // A nudge names the deadline it is about, once; after the close nothing moves.
    let nudge = |deadline| {
        record(
            &m.id,
            NewRecordBody::Nudge {
                recipient: user("carol"),
                deadline,
            },
        )
    };
    let err = t.alice.commit_record(&nudge(h(20))).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict, "not carol's deadline");
    t.alice.commit_record(&nudge(h(40))).await.unwrap();
    let err = t.alice.commit_record(&nudge(h(40))).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict, "once per deadline");
    let err = t
        .bob
        .commit_record(&record(&m.id, NewRecordBody::Close))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::Forbidden);
    t.alice
        .commit_record(&record(&m.id, NewRecordBody::Close))
        .await
        .unwrap();
    let err = t.carol.commit_record(&ask(&m.id, h(45))).await.unwrap_err();
    assert_eq!(code(err), ErrorCode::Conflict, "closed");
    let records = t.carol.records(&m.id).await.unwrap();
    assert!(closed(&committed, &records).is_some());
}

pub(crate) async fn deadlines_must_cover_exactly_the_recipients(t: Team) {
    let now = Utc::now();
    let clip = upload_clip(&t.alice).await;
    let mut missing = each(
        &clip,
        "x",
        now + Duration::hours(2),
        now + Duration::hours(3),
    );
    missing.deadlines.pop();
    missing.respond_by = now + Duration::hours(2);
    let mut not_latest = each(
        &clip,
        "x",
        now + Duration::hours(2),
        now + Duration::hours(3),
    );
    not_latest.respond_by = now + Duration::hours(9);
    let mut past = each(
        &clip,
        "x",
        now - Duration::hours(2),
        now + Duration::hours(3),
    );
    past.respond_by = now + Duration::hours(3);
    for (bad, expected) in [
        (missing, ErrorCode::Invalid),
        (not_latest, ErrorCode::Invalid),
        (past, ErrorCode::RespondByInPast),
    ] {
        let err = t.alice.commit_message(&bad).await.unwrap_err();
        assert_eq!(code(err), expected);
    }
    assert!(inbox_all(&t.bob, InboxOrder::Arrival).await.is_empty());
}
