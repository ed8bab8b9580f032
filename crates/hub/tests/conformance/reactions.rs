//! Reactions: records every participant (sender and recipients) may add and see, nobody
//! else; each participant changes or takes back only their own; a recipient's ✅ on an
//! "acknowledge only" message is their response; the sender's sync carries the
//! reactions to what they sent.

use pigeon_store::protocol::{
    reactions, MessageId, NewRecord, NewRecordBody, Reactions, Record, RecordBody, RecordId,
    REACTIONS,
};

use super::conversation::{comment, past_the_millisecond_of, receipt_of, text_answer};
use super::records::page_after;
use super::*;

fn reaction(message: &MessageId, emoji: &str, removed: bool) -> NewRecord {
    NewRecord {
        id: RecordId::parse(uuid::Uuid::new_v4().to_string()).unwrap(),
        message: message.clone(),
        body: NewRecordBody::Reaction {
            emoji: emoji.into(),
            removed,
        },
    }
}

/// Commits a reaction after the author's previous record, so "the latest" is clear.
async fn react(
    store: &Arc<dyn Store>,
    message: &MessageId,
    emoji: &str,
    removed: bool,
    after: Option<&Record>,
) -> Record {
    if let Some(previous) = after {
        past_the_millisecond_of(previous.created_at).await;
    }
    store
        .commit_record(&reaction(message, emoji, removed))
        .await
        .unwrap()
}

fn shown(reactions: &[Reactions]) -> Vec<(String, Vec<String>)> {
    reactions
        .iter()
        .map(|r| {
            (
                r.emoji.clone(),
                r.by.iter().map(|u| u.to_string()).collect(),
            )
        })
        .collect()
}

fn expected(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    list.iter()
        .map(|(e, by)| (e.to_string(), by.iter().map(|b| b.to_string()).collect()))
        .collect()
}

pub(crate) async fn reactions_are_the_participants_own(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let m = message(&clip, &["bob"], "Budget review");
    t.alice.commit_message(&m).await.unwrap();

    let eyes = react(&t.bob, &m.id, "👀", false, None).await;
    assert_eq!(eyes.author, user("bob"));
    assert_eq!(
        eyes.body,
        RecordBody::Reaction {
            emoji: "👀".into(),
            removed: false
        }
    );
    // The sender reacts to her own message too.
    let heart = react(&t.alice, &m.id, "❤️", false, Some(&eyes)).await;
    for store in [&t.alice, &t.bob] {
        let records = store.records(&m.id).await.unwrap();
        assert_eq!(records, vec![eyes.clone(), heart.clone()]);
        assert_eq!(
            shown(&reactions(&m.id, &records)),
            expected(&[("👀", &["bob"]), ("❤️", &["alice"])])
        );
    }
    // A stranger neither sees nor adds one, nor comments: "not found", as for the message.
    assert_eq!(
        code(t.carol.records(&m.id).await.unwrap_err()),
        ErrorCode::NotFound
    );
    let err = t
        .carol
        .commit_record(&reaction(&m.id, "👍", false))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    let err = t
        .carol
        .commit_message(&comment(&m.id, &["alice"], 10, "me too"))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    // A reaction to a message that does not exist, or with an emoji outside the set.
    let err = t
        .bob
        .commit_record(&reaction(&new_id(), "👍", false))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::NotFound);
    for odd in ["💩", "", "👍👍", "thumbsup"] {
        let err = t
            .bob
            .commit_record(&reaction(&m.id, odd, false))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&REACTIONS.join(" ")), "{err}");
        assert_eq!(code(err), ErrorCode::Invalid, "{odd:?}");
    }

    // Nobody can change another's record: alice reusing bob's record id to take his 👀
    // back is refused, and says no more than that the id is taken.
    let mut forged = reaction(&m.id, "👀", true);
    forged.id = eyes.id.clone();
    let err = t.alice.commit_record(&forged).await.unwrap_err();
    assert!(!err.to_string().contains("bob"), "{err}");
    assert_eq!(code(err), ErrorCode::Conflict);
    let err = t.carol.commit_record(&forged).await.unwrap_err();
    assert!(
        matches!(code(err), ErrorCode::Conflict | ErrorCode::NotFound),
        "a stranger learns nothing of the message"
    );
    // Bob's own retry of his record is the same record.
    let mut retry = reaction(&m.id, "👀", false);
    retry.id = eyes.id.clone();
    assert_eq!(t.bob.commit_record(&retry).await.unwrap(), eyes);

    // Bob changes his: takes 👀 back and gives 👍.
    let back = react(&t.bob, &m.id, "👀", true, Some(&heart)).await;
    let thumbs = react(&t.bob, &m.id, "👍", false, Some(&back)).await;
    let records = t.alice.records(&m.id).await.unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(
        shown(&reactions(&m.id, &records)),
        expected(&[("👍", &["bob"]), ("❤️", &["alice"])])
    );
    // And takes 👍 back too; then gives 👀 again.
    let no_thumbs = react(&t.bob, &m.id, "👍", true, Some(&thumbs)).await;
    react(&t.bob, &m.id, "👀", false, Some(&no_thumbs)).await;
    let records = t.bob.records(&m.id).await.unwrap();
    assert_eq!(
        shown(&reactions(&m.id, &records)),
        expected(&[("👀", &["bob"]), ("❤️", &["alice"])])
    );
    // Reactions are not answers.
    assert_eq!(receipt_of(&t.alice, &m.id, "bob").await.response, None);
}

pub(crate) async fn a_check_on_an_acknowledge_only_message_is_a_response(t: Team) {
    let clip = upload_clip(&t.alice).await;
    let mut m = message(&clip, &["bob", "carol"], "Office closed Friday");
    m.acknowledge_only = true;
    let committed = t.alice.commit_message(&m).await.unwrap();
    assert!(committed.acknowledge_only);
    assert!(
        inbox_all(&t.bob, InboxOrder::Arrival).await[0]
            .message
            .acknowledge_only
    );

    // A 👍 is not the acknowledgement; the sender's own ✅ answers nothing.
    let thumbs = react(&t.bob, &m.id, "👍", false, None).await;
    react(&t.alice, &m.id, "✅", false, None).await;
    assert_eq!(receipt_of(&t.alice, &m.id, "bob").await.response, None);
    // Bob's ✅ is his response, stored with the record.
    let check = react(&t.bob, &m.id, "✅", false, Some(&thumbs)).await;
    let receipt = receipt_of(&t.alice, &m.id, "bob").await;
    assert_eq!(receipt.response, Some(Response::Done));
    assert_eq!(receipt.state(), RecipientState::Responded);
    let at = receipt.responded_at.unwrap();
    assert_eq!(at.timestamp_millis(), check.created_at.timestamp_millis());
    // Bob's own inbox shows it answered; taking the ✅ back does not undo a response.
    let bobs = inbox_all(&t.bob, InboxOrder::Arrival).await;
    assert_eq!(bobs[0].receipt.response, Some(Response::Done));
    react(&t.bob, &m.id, "✅", true, Some(&check)).await;
    assert_eq!(
        receipt_of(&t.alice, &m.id, "bob").await.responded_at,
        Some(at)
    );
    // The first response counts: carol answered in words before her ✅.
    let answer = text_answer(&m.id, &["alice"], "noted");
    t.carol.commit_message(&answer).await.unwrap();
    let words = receipt_of(&t.alice, &m.id, "carol").await;
    past_the_millisecond_of(words.responded_at.unwrap()).await;
    react(&t.carol, &m.id, "✅", false, None).await;
    assert_eq!(
        receipt_of(&t.alice, &m.id, "carol").await.response,
        Some(Response::Reply { message: answer.id })
    );

    // On a message not sent "acknowledge only", a ✅ is a reaction and no more.
    let plain = message(&clip, &["bob"], "Please review");
    t.alice.commit_message(&plain).await.unwrap();
    react(&t.bob, &plain.id, "✅", false, None).await;
    assert_eq!(receipt_of(&t.alice, &plain.id, "bob").await.response, None);
}

pub(crate) async fn one_sync_carries_the_reactions_to_what_one_sent(t: Team) {
    let clip = upload_clip(&t.alice).await;
    // Alice received two messages from carol before she sent hers.
    let carols = upload_clip(&t.carol).await;
    let first = message(&carols, &["alice"], "first");
    let first = t.carol.commit_message(&first).await.unwrap();
    past_the_millisecond_of(first.sent_at).await;
    let second = t
        .carol
        .commit_message(&message(&carols, &["alice"], "second"))
        .await
        .unwrap();
    past_the_millisecond_of(second.sent_at).await;
    let m = message(&clip, &["bob"], "Budget review");
    t.alice.commit_message(&m).await.unwrap();
    let eyes = react(&t.bob, &m.id, "👀", false, None).await;

    // A page that reaches only carol's first message already carries bob's reaction to
    // alice's own: she has that message, it need not wait for a page of her inbox.
    let page1 = page_after(&t.alice, None, 1).await;
    assert_eq!(page1.entries.len(), 1);
    assert_eq!(page1.entries[0].message.id, first.id);
    assert_eq!(page1.records, vec![eyes.clone()]);
    assert!(page1.more);
    let page2 = page_after(&t.alice, page1.next.as_ref(), 1).await;
    assert_eq!(page2.entries[0].message.id, second.id);
    assert!(page2.records.is_empty(), "a record came twice");
    let cursor = page2.next.clone().unwrap();
    let page3 = page_after(&t.alice, Some(&cursor), 50).await;
    assert!(page3.entries.is_empty() && page3.records.is_empty() && !page3.more);
    assert_eq!(page3.next.as_ref(), Some(&cursor));
    // Bob's inbox carries it too (the message he received), and carol sees none of it.
    let bobs = page_after(&t.bob, None, 50).await;
    assert_eq!(bobs.records, vec![eyes.clone()]);
    assert!(page_after(&t.carol, None, 50).await.records.is_empty());

    // A waiting sender wakes for the next reaction to what she sent.
    let bob = t.bob.clone();
    let id = m.id.clone();
    let after_eyes = eyes.clone();
    let reacter = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        react(&bob, &id, "🎉", false, Some(&after_eyes)).await
    });
    let started = Instant::now();
    let woke = t
        .alice
        .wait_inbox(Some(&cursor), Duration::from_secs(20))
        .await
        .unwrap();
    let party = reacter.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(woke.entries.is_empty());
    assert_eq!(woke.records, vec![party]);
    let next = woke.next.unwrap();
    assert!(page_after(&t.alice, Some(&next), 50)
        .await
        .records
        .is_empty());
}
