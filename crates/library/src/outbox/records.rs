//! Sharing own records (reactions, requests for more time and their answers, nudges,
//! closes): each queued record is committed once, in the order
//! it was given, so the store stamps a change of mind after what it changes.
//!
//! Exactly once across retries: the record id is chosen when the record is queued and
//! the store answers a repeated commit with the record it has. A store that is away
//! leaves this and every later record queued (their order must hold); a store that
//! refuses one (the message is gone, an older hub without reactions) drops that one
//! with the store's reason and goes on with the rest.

use super::{refusal_text, Outbox};
use crate::error::Result;

impl Outbox {
    /// Shares every queued record of mine, oldest first; returns how many were shared
    /// now. A retryable failure keeps it (and the ones after it) queued for the next
    /// call. Only a failing library database is an error.
    pub async fn share_records(&self) -> Result<usize> {
        let queued = {
            let library = self.library.clone();
            library.blocking(|l| l.queued_records()).await?
        };
        let mut shared = 0;
        for queued in queued {
            let id = queued.record.id.clone();
            match self.store.commit_record(&queued.record).await {
                Ok(record) => {
                    self.library
                        .blocking(move |l| l.record_shared(&record))
                        .await?;
                    shared += 1;
                }
                Err(e) if e.is_retryable() => {
                    tracing::info!(record = %id, error = %e, "records will be shared at the next sync");
                    let error = e.to_string();
                    self.library
                        .blocking(move |l| l.record_share_error(&id, &error))
                        .await?;
                    break;
                }
                Err(e) => {
                    let reason = refusal_text(&e);
                    tracing::warn!(record = %id, message = %queued.record.message, reason, "the store refused a record");
                    self.library
                        .blocking(move |l| l.record_share_refused(&id, &reason))
                        .await?;
                }
            }
        }
        Ok(shared)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use chrono::Utc;
    use pigeon_store::protocol::{Limits, MessageId, Reactions, RecordId, UserName};
    use pigeon_store::{FolderStore, Store};

    use super::super::Delivery;
    use super::*;
    use crate::db::{Library, NewOutgoing};
    use crate::error::{LibraryError, Result};
    use crate::home::PigeonHome;
    use crate::inbox::Inbox;
    use crate::test_support::{text_message, user, FaultyStore};

    /// One user on a shared folder: their library, outbox and inbox over a store whose
    /// faults the test switches on.
    pub(crate) struct Person {
        pub name: UserName,
        pub library: Arc<Library>,
        pub outbox: Outbox,
        pub inbox: Inbox,
        pub store: Arc<FaultyStore>,
    }

    pub(crate) async fn person(dir: &Path, name: &str) -> Person {
        let folder =
            FolderStore::open_or_create(&dir.join("shared"), &user(name), Limits::default())
                .await
                .unwrap();
        let store = Arc::new(FaultyStore::new(folder));
        let library = Arc::new(Library::open(&PigeonHome::at(dir.join(name))).unwrap());
        Person {
            name: user(name).name,
            outbox: Outbox::new(library.clone(), store.clone()),
            inbox: Inbox::new(library.clone(), store.clone(), false),
            library,
            store,
        }
    }

    impl Person {
        /// Queues my reaction to `message` (or my taking it back), now.
        pub(crate) fn react(
            &self,
            message: &MessageId,
            emoji: &str,
            removed: bool,
        ) -> Result<RecordId> {
            self.library
                .queue_reaction(message, emoji, removed, &self.name, Utc::now())
        }
    }

    /// Alice and bob on one folder, and alice's "Numbers attached" to bob, which bob
    /// has synced.
    async fn alice_wrote_to_bob(dir: &Path) -> (Person, Person, MessageId) {
        let (alice, bob) = (person(dir, "alice").await, person(dir, "bob").await);
        let id = send_text(&alice, &["bob"], "Numbers attached", None, false).await;
        bob.inbox.sync(Utc::now()).await.unwrap();
        (alice, bob, id)
    }

    /// Sends a text message (an answer to `in_reply_to`, if given) from `from` to `to`
    /// and returns its id once the store has it.
    pub(crate) async fn send_text(
        from: &Person,
        to: &[&str],
        text: &str,
        in_reply_to: Option<&MessageId>,
        acknowledge_only: bool,
    ) -> MessageId {
        let entry = from
            .library
            .queue(
                &NewOutgoing {
                    in_reply_to: in_reply_to.cloned(),
                    acknowledge_only,
                    ..text_message(to, "Budget review", text)
                },
                Utc::now(),
            )
            .unwrap();
        let delivery = from.outbox.deliver(&entry.message_id).await.unwrap();
        assert!(matches!(delivery, Delivery::Sent(_)), "{delivery:?}");
        entry.message_id
    }

    fn shown(reactions: Vec<Reactions>) -> Vec<(String, Vec<String>)> {
        reactions
            .into_iter()
            .map(|r| (r.emoji, r.by.iter().map(|u| u.to_string()).collect()))
            .collect()
    }

    fn given(list: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        list.iter()
            .map(|(e, by)| (e.to_string(), by.iter().map(|b| b.to_string()).collect()))
            .collect()
    }

    #[tokio::test]
    async fn a_reaction_shows_at_once_survives_a_lost_answer_and_every_participant_sees_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob, carol) = (
            person(dir.path(), "alice").await,
            person(dir.path(), "bob").await,
            person(dir.path(), "carol").await,
        );
        let id = send_text(&alice, &["bob", "carol"], "Numbers attached", None, false).await;
        bob.inbox.sync(Utc::now()).await.unwrap();

        bob.react(&id, "👀", false).unwrap();
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("👀", &["bob"])]),
            "shown before it is shared"
        );
        // The store takes it but the answer is lost: it stays queued and shown.
        bob.store
            .lose_next_record_answer
            .store(true, Ordering::SeqCst);
        assert!(bob.outbox.deliver_queued().await.unwrap().is_empty());
        let queued = bob.library.queued_records().unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].attempts, 1);
        assert!(queued[0].last_error.is_some());
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("👀", &["bob"])])
        );
        // The retry commits the same record: the store keeps one.
        assert_eq!(bob.outbox.share_records().await.unwrap(), 1);
        assert!(bob.library.queued_records().unwrap().is_empty());
        assert_eq!(bob.outbox.share_records().await.unwrap(), 0);
        let records = bob.store.records(&id).await.unwrap();
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("👀", &["bob"])])
        );

        // The sender and the other recipient see it at their next sync.
        alice.inbox.sync(Utc::now()).await.unwrap();
        carol.inbox.sync(Utc::now()).await.unwrap();
        for who in [&alice, &carol] {
            assert_eq!(
                shown(who.library.reactions_of(&id).unwrap()),
                given(&[("👀", &["bob"])]),
                "{}",
                who.name
            );
            let news = who.library.take_unannounced_reactions(&who.name).unwrap();
            assert_eq!(news, records, "{}", who.name);
            assert!(who
                .library
                .take_unannounced_reactions(&who.name)
                .unwrap()
                .is_empty());
        }
        // Storing is idempotent; my own reaction is no news to me.
        assert_eq!(alice.library.store_reaction_records(&records).unwrap(), 0);
        assert!(bob
            .library
            .take_unannounced_reactions(&bob.name)
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn a_reaction_can_be_changed_and_taken_back_and_only_what_still_holds_is_news() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob, id) = alice_wrote_to_bob(dir.path()).await;
        let react = |emoji: &str, removed: bool| bob.react(&id, emoji, removed).unwrap();
        // Alice reacts too, on her own message.
        alice.react(&id, "🎉", false).unwrap();
        assert_eq!(alice.outbox.share_records().await.unwrap(), 1);
        bob.inbox.sync(Utc::now()).await.unwrap();

        // Changed before it is shared: shown as it ends, and the 👍 taken back replaces
        // the 👍 given (the store never sees that one).
        let ids = [react("👍", false), react("✅", false), react("👍", true)];
        assert!(ids.is_sorted(), "ids sort in the order given: {ids:?}");
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("✅", &["bob"]), ("🎉", &["alice"])])
        );
        let queued: Vec<_> = bob
            .library
            .queued_records()
            .unwrap()
            .into_iter()
            .map(|q| q.record.id)
            .collect();
        assert_eq!(queued, ids[1..]);
        assert_eq!(bob.outbox.share_records().await.unwrap(), 2);
        alice.inbox.sync(Utc::now()).await.unwrap();
        assert_eq!(
            shown(alice.library.reactions_of(&id).unwrap()),
            given(&[("✅", &["bob"]), ("🎉", &["alice"])])
        );
        let news: Vec<String> = alice
            .library
            .take_unannounced_reactions(&alice.name)
            .unwrap()
            .into_iter()
            .map(|r| match r.body {
                pigeon_store::protocol::RecordBody::Reaction { emoji, .. } => emoji,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(news, ["✅"], "only what still holds");

        // Taken back after it was shared: gone everywhere, shown gone at once here.
        react("✅", true);
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("🎉", &["alice"])])
        );
        assert_eq!(bob.outbox.share_records().await.unwrap(), 1);
        alice.inbox.sync(Utc::now()).await.unwrap();
        assert_eq!(
            shown(alice.library.reactions_of(&id).unwrap()),
            given(&[("🎉", &["alice"])])
        );
        assert!(alice
            .library
            .take_unannounced_reactions(&alice.name)
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn a_check_answers_an_acknowledge_only_message_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let (alice, bob) = (
            person(dir.path(), "alice").await,
            person(dir.path(), "bob").await,
        );
        let ack = send_text(&alice, &["bob"], "Office closed Friday", None, true).await;
        let plain = send_text(&alice, &["bob"], "Numbers attached", None, false).await;
        bob.inbox.sync(Utc::now()).await.unwrap();
        let responded = |id: &MessageId| {
            bob.library
                .received(id.as_str())
                .unwrap()
                .responded_at
                .is_some()
        };
        for id in [&ack, &plain] {
            bob.react(id, "👀", false).unwrap();
        }
        assert!(!responded(&ack), "only a ✅ acknowledges");
        for id in [&ack, &plain] {
            bob.react(id, "✅", false).unwrap();
        }
        assert!(responded(&ack), "marked at once, before it is shared");
        assert!(!responded(&plain), "a reaction is not an answer");

        assert_eq!(bob.outbox.share_records().await.unwrap(), 4);
        alice.inbox.sync(Utc::now()).await.unwrap();
        let answered = |id: &MessageId| {
            alice.library.sent_message(id).unwrap().unwrap().receipts[0]
                .response
                .is_some()
        };
        assert!(answered(&ack), "the sender sees bob responded");
        assert!(!answered(&plain));
    }

    #[tokio::test]
    async fn bad_reactions_are_refused_before_anything_is_queued() {
        let dir = tempfile::tempdir().unwrap();
        let (_alice, bob, id) = alice_wrote_to_bob(dir.path()).await;
        let error = bob.react(&id, "💩", false).unwrap_err();
        assert!(matches!(error, LibraryError::Invalid(_)), "{error}");
        assert!(
            error
                .to_string()
                .contains("react with one of 👍 ✅ ❓ 👀 🎉 ❤️"),
            "{error}"
        );
        let unknown = MessageId::parse("0000000000000000").unwrap();
        let error = bob.react(&unknown, "👍", false).unwrap_err();
        assert!(
            matches!(
                &error,
                LibraryError::NotFound {
                    what: "message",
                    ..
                }
            ),
            "{error}"
        );
        assert!(bob.library.queued_records().unwrap().is_empty());
        assert!(bob.library.reactions_of(&id).unwrap().is_empty());

        // A heart typed without the emoji presentation selector is the same heart.
        bob.react(&id, "\u{2764}", false).unwrap();
        assert_eq!(
            shown(bob.library.reactions_of(&id).unwrap()),
            given(&[("❤️", &["bob"])])
        );
    }

    #[tokio::test]
    async fn a_record_the_store_refuses_is_dropped_and_the_rest_still_go() {
        let dir = tempfile::tempdir().unwrap();
        let (_alice, bob, id) = alice_wrote_to_bob(dir.path()).await;
        // A message this library holds but the store does not know (any more).
        let gone = crate::test_messages::message("90ne000000000000", "alice", &["bob"], Utc::now());
        bob.library
            .store_received(
                &gone,
                &pigeon_store::protocol::Receipt::new(bob.name.clone()),
                Utc::now(),
            )
            .unwrap();
        let refused = bob.react(&gone.id, "👍", false).unwrap();
        let heart = bob.react(&id, "❤️", false).unwrap();
        assert_eq!(bob.outbox.share_records().await.unwrap(), 1);
        assert!(bob.library.queued_records().unwrap().is_empty());
        let failed = bob.library.outgoing_record(&refused).unwrap().unwrap();
        assert_eq!(failed.state, crate::db::OutboxState::Failed);
        assert!(failed.last_error.is_some_and(|e| !e.is_empty()));
        let sent = bob.library.outgoing_record(&heart).unwrap().unwrap();
        assert_eq!(
            (sent.state, sent.last_error),
            (crate::db::OutboxState::Sent, None)
        );
        assert!(
            bob.library.reactions_of(&gone.id).unwrap().is_empty(),
            "a refused reaction is not shown: {refused}"
        );
        assert_eq!(bob.store.records(&id).await.unwrap().len(), 1);
    }
}
