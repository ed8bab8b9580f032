//! The outbox: uploads a clip while it is recorded and delivers each queued message
//! exactly once.
//!
//! - While recording, [`Outbox::upload_while_recording`] consumes the recorder's
//!   fragment announcements on its own thread and task: capture never waits for the
//!   network, and a network failure only leaves the rest for later.
//! - [`Outbox::deliver`] resumes every blob from what the store acknowledged, seals it,
//!   then commits with the message id stored when the message was queued; a commit is
//!   idempotent by that id, so a retry after a lost answer never makes a second message.
//! - A retryable failure (offline, hub down) leaves the entry queued with its error; a
//!   refusal (unknown recipient, over a limit) stops that entry with the store's reason
//!   and never blocks the others. So does a local file that is gone or unreadable (a
//!   clip deleted, a disk replaced): retrying can never bring it back, so the message
//!   fails at once with what happened and what to do.
//! - A small poster JPEG made from the clip travels as its own blob, so recipients'
//!   inboxes show a still before anyone downloads the clip. A poster is a nicety: when
//!   it cannot be made, or the store refuses it (an older hub, over its size limit), the
//!   message goes without one, and that choice is stored before the first commit so
//!   every retry commits the same message.
//! - A transcript made here travels after its message, as a blob plus a record
//!   ([`Outbox::share_transcripts`], in the `transcripts` submodule): the message never
//!   waits for it.
//! - Reactions go as records, in the order they were given ([`Outbox::share_records`],
//!   in the `records` submodule), on every delivery run.

use std::path::Path;
use std::sync::Arc;

use pigeon_store::protocol::{Message, MessageId, NewAttachment, NewMessage};
use pigeon_store::{ProgressFn, SharedStore, StoreError};

use crate::db::{Draft, Library, OutboxEntry, OutboxState};
use crate::error::{LibraryError, Result};

mod poster;
mod records;
mod transcripts;
mod upload;

pub use poster::POSTER_MAX_WIDTH;

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent(Box<Message>),
    /// Still queued; it is tried again on the next delivery run.
    Queued {
        error: String,
    },
    /// Stopped for good; the reason says what to change.
    Failed {
        reason: String,
    },
}

/// Delivers queued messages through one store.
#[derive(Clone)]
pub struct Outbox {
    library: Arc<Library>,
    store: SharedStore,
    progress: Option<ProgressFn>,
}

impl Outbox {
    pub fn new(library: Arc<Library>, store: SharedStore) -> Self {
        Self {
            library,
            store,
            progress: None,
        }
    }

    /// Reports upload progress of every blob.
    pub fn with_progress(mut self, progress: ProgressFn) -> Self {
        self.progress = Some(progress);
        self
    }

    /// One delivery attempt of one queued message.
    pub async fn deliver(&self, message: &MessageId) -> Result<Delivery> {
        let entry = self.library.outbox_entry(message.as_str())?;
        match entry.state {
            OutboxState::Sent => {
                let sent = self.library.sent_message(message)?.ok_or_else(|| {
                    LibraryError::Corrupt(format!("sent message {message} is not in the sent list"))
                })?;
                return Ok(Delivery::Sent(Box::new(sent.message)));
            }
            OutboxState::Failed => {
                return Ok(Delivery::Failed {
                    reason: entry.failure.unwrap_or_default(),
                })
            }
            OutboxState::Queued => {}
        }
        let draft = match &entry.draft_id {
            Some(id) => Some(self.library.draft(id)?),
            None => None,
        };
        // Checked before anything is uploaded: no blob is started for a file that is gone.
        if let Some(reason) = missing_local_file(draft.as_ref(), &entry).await {
            return self.fail(message, reason).await;
        }
        match self.try_deliver(&entry, draft.as_ref()).await {
            Ok(sent) => {
                let message = sent.clone();
                self.library
                    .blocking(move |l| l.record_sent(&message))
                    .await?;
                tracing::info!(message = %sent.id, "delivered");
                // Transcripts finished before this delivery (its own, or an earlier
                // message's) go now; one not made yet goes at a later call.
                if let Err(e) = self.share_transcripts().await {
                    tracing::info!(error = %e, "transcripts will be shared later");
                }
                Ok(Delivery::Sent(Box::new(sent)))
            }
            Err(LibraryError::Store(StoreError::LocalFile { path, source })) => {
                // The file went away (or became unreadable) during the upload.
                let path = Path::new(&path);
                let reason = if draft.as_ref().is_some_and(|d| path == d.clip_path) {
                    LocalFile::Recording.reason(path, &source)
                } else {
                    LocalFile::Attachment.reason(path, &source)
                };
                self.fail(message, reason).await
            }
            Err(LibraryError::Store(e)) if e.is_retryable() => {
                let error = e.to_string();
                self.attempt_failed(message, &error).await?;
                Ok(Delivery::Queued { error })
            }
            Err(LibraryError::Store(e)) => self.fail(message, refusal_text(&e)).await,
            Err(LibraryError::Io { path, source }) => {
                self.fail(message, LocalFile::Attachment.reason(&path, &source))
                    .await
            }
            Err(other) => Err(other),
        }
    }

    async fn fail(&self, message: &MessageId, reason: String) -> Result<Delivery> {
        tracing::warn!(%message, reason, "the message cannot be sent");
        let (id, failure) = (message.clone(), reason.clone());
        self.library
            .blocking(move |l| l.record_failure(&id, &failure))
            .await?;
        Ok(Delivery::Failed { reason })
    }

    async fn attempt_failed(&self, message: &MessageId, error: &str) -> Result<()> {
        let (id, error) = (message.clone(), error.to_owned());
        self.library
            .blocking(move |l| l.record_attempt_error(&id, &error))
            .await
    }

    async fn try_deliver(&self, entry: &OutboxEntry, draft: Option<&Draft>) -> Result<Message> {
        // A text-only message has no draft: no clip, poster, length or chapters.
        let (clip, poster) = match draft {
            Some(d) => (
                Some(self.seal_clip(&d.id).await?),
                self.seal_poster(&d.id).await?,
            ),
            None => (None, None),
        };
        let mut attachments = Vec::with_capacity(entry.attachments.len());
        for a in &entry.attachments {
            let sealed = match &a.sealed {
                Some(s) => s.clone(),
                None => {
                    self.seal_attachment(
                        &entry.message_id,
                        a.position,
                        &a.path,
                        &a.content_type,
                        a.blob.clone(),
                    )
                    .await?
                }
            };
            attachments.push(NewAttachment {
                blob: sealed.id,
                name: a.name.clone(),
            });
        }
        let new = NewMessage {
            id: entry.message_id.clone(),
            recipients: entry.recipients.clone(),
            subject: entry.subject.clone(),
            text: entry.text.clone(),
            clip: clip.map(|c| c.id),
            attachments,
            poster: poster.map(|p| p.id),
            duration_ms: draft.and_then(|d| d.duration).map(|d| d.as_millis() as u64),
            respond_by: entry.respond_by,
            respond_by_tz: entry.respond_by_tz.clone(),
            in_reply_to: entry.in_reply_to.clone(),
            at_ms: entry.at_ms,
            chapter: entry.chapter,
            chapters: draft.map(|d| d.chapters.clone()).unwrap_or_default(),
            acknowledge_only: entry.acknowledge_only,
            deadlines: entry.deadlines.clone(),
            working_hours_each: entry.working_hours_each,
        };
        Ok(self.store.commit_message(&new).await?)
    }

    /// Tries every queued message once, oldest first, then shares queued records; one
    /// failing never stops the rest.
    /// Only a failing library database ends the run early (nothing else would work).
    pub async fn deliver_queued(&self) -> Result<Vec<(MessageId, Delivery)>> {
        let mut results = Vec::new();
        for id in self.library.queued()? {
            let delivery = match self.deliver(&id).await {
                Ok(delivery) => delivery,
                Err(e @ LibraryError::Database(_)) => return Err(e),
                Err(e) => {
                    // Left queued with its error; the next run tries again.
                    let error = e.to_string();
                    tracing::warn!(message = %id, error, "delivery attempt failed");
                    self.attempt_failed(&id, &error).await?;
                    Delivery::Queued { error }
                }
            };
            results.push((id, delivery));
        }
        // After the messages: a reaction may be about an answer just delivered.
        self.share_records().await?;
        Ok(results)
    }
}

/// A local file a message needs.
#[derive(Debug, Clone, Copy)]
enum LocalFile {
    Recording,
    Attachment,
}

impl LocalFile {
    /// What happened to the file and what to do, in the user's words.
    fn reason(self, path: &Path, error: &std::io::Error) -> String {
        let what = match error.kind() {
            std::io::ErrorKind::NotFound => "is gone (deleted, or its disk removed)".to_owned(),
            _ => format!("cannot be read ({error})"),
        };
        match self {
            LocalFile::Recording => format!(
                "the recording file {} {what}: record the message again",
                path.display()
            ),
            LocalFile::Attachment => format!(
                "the attached file {} {what}: put it back, or send the message again without it",
                path.display()
            ),
        }
    }
}

/// Why the message cannot be sent from this machine, if a file it still has to upload
/// is missing or unreadable. (A poster is made again from the clip when it is gone.)
async fn missing_local_file(draft: Option<&Draft>, entry: &OutboxEntry) -> Option<String> {
    if let Some(draft) = draft.filter(|d| d.clip_sealed.is_none()) {
        if let Err(e) = readable(&draft.clip_path).await {
            return Some(LocalFile::Recording.reason(&draft.clip_path, &e));
        }
    }
    for a in entry.attachments.iter().filter(|a| a.sealed.is_none()) {
        if let Err(e) = readable(&a.path).await {
            return Some(LocalFile::Attachment.reason(&a.path, &e));
        }
    }
    None
}

/// Whether `path` is a file this process can open.
async fn readable(path: &Path) -> std::io::Result<()> {
    let file = tokio::fs::File::open(path).await?;
    if file.metadata().await?.is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not a file",
        ))
    }
}

/// The user-facing reason for a refusal: the store's message says what to change.
fn refusal_text(e: &StoreError) -> String {
    match e.api() {
        Some(api) => api.message.clone(),
        None => e.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;

    use pigeon_store::protocol::{InboxQuery, Limits};
    use pigeon_store::{FolderStore, Store};

    use super::*;
    use crate::home::PigeonHome;
    use crate::test_support::{queue_to as to, recorded_draft, user, FaultyStore};

    /// Alice's library and outbox over a folder store shared with bob; the store loses
    /// the answer to alice's next commit (the commit itself happens) if `lose_one`.
    pub(crate) async fn alice_to_bob(
        dir: &Path,
        lose_one: bool,
    ) -> (Arc<Library>, Outbox, FolderStore) {
        let shared = dir.join("shared");
        let alice = FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap();
        let bob = FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.join("alice"))).unwrap());
        let store = FaultyStore::new(alice);
        store
            .lose_next_commit_answer
            .store(lose_one, Ordering::SeqCst);
        let outbox = Outbox::new(library.clone(), Arc::new(store));
        (library, outbox, bob)
    }

    async fn bobs_inbox(bob: &FolderStore) -> Vec<MessageId> {
        let page = bob
            .inbox(&InboxQuery {
                limit: 50,
                ..InboxQuery::default()
            })
            .await
            .unwrap();
        page.entries.into_iter().map(|e| e.message.id).collect()
    }

    #[tokio::test]
    async fn a_lost_commit_answer_is_retried_into_one_message_and_a_refusal_blocks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (library, outbox, bob) = alice_to_bob(dir.path(), true).await;

        let refused = to(&library, recorded_draft(&library), "nobody");
        let first = to(&library, recorded_draft(&library), "bob");
        let results = outbox.deliver_queued().await.unwrap();
        match &results[0].1 {
            Delivery::Failed { reason } => assert!(reason.contains("nobody"), "{reason}"),
            other => panic!("a refusal stops the message: {other:?}"),
        }
        // The refusal was not retried; the lost answer was (and the store commits
        // only once per id).
        assert!(
            matches!(results[1].1, Delivery::Queued { .. }),
            "{results:?}"
        );
        let results = outbox.deliver_queued().await.unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].0, first);
        assert!(matches!(results[0].1, Delivery::Sent(_)), "{results:?}");
        assert!(library.queued().unwrap().is_empty());
        let entry = library.outbox_entry(refused.as_str()).unwrap();
        assert_eq!(entry.state, OutboxState::Failed);

        assert_eq!(bobs_inbox(&bob).await, vec![first], "delivered once");
    }

    #[tokio::test]
    async fn a_text_answer_goes_without_a_clip_and_answers_the_message() {
        use futures_util::FutureExt;

        let dir = tempfile::tempdir().unwrap();
        let alice = records::tests::person(dir.path(), "alice").await;
        let bob = records::tests::person(dir.path(), "bob").await;
        let original = to(&alice.library, recorded_draft(&alice.library), "bob");
        assert!(matches!(
            alice.outbox.deliver(&original).await.unwrap(),
            Delivery::Sent(_)
        ));
        bob.inbox.sync(chrono::Utc::now()).await.unwrap();
        let received = bob.library.received(original.as_str()).unwrap();
        let answer = |text: &str| crate::db::NewOutgoing {
            recipients: crate::people::reply_all(&received.message, &bob.name),
            respond_by: received.message.respond_by,
            respond_by_tz: received.message.respond_by_tz.clone(),
            in_reply_to: Some(original.clone()),
            ..crate::test_support::text_message(&[], "Re: Plan", text)
        };
        let blank = bob
            .library
            .queue(&answer("  "), chrono::Utc::now())
            .unwrap_err();
        assert!(blank.to_string().contains("needs text"), "{blank}");
        let queued = bob
            .library
            .queue(&answer("Agreed, see page 3"), chrono::Utc::now())
            .unwrap();
        assert_eq!(queued.draft_id, None);
        assert_eq!(queued.recipients, vec![alice.name.clone()]);

        let results = bob.outbox.deliver_queued().await.unwrap();
        assert_eq!(results.len(), 1, "the blank one was never queued");
        let Delivery::Sent(sent) = &results[0].1 else {
            panic!("{results:?}");
        };
        assert_eq!(sent.clip, None);
        assert_eq!((sent.poster.as_ref(), sent.duration_ms), (None, None));
        assert_eq!(sent.thread, received.message.thread);
        assert!(
            bob.library
                .received(original.as_str())
                .unwrap()
                .responded_at
                .is_some(),
            "a text answer responds"
        );

        // Alice's sync stores it and downloads nothing (no clip, no poster).
        let report = alice.inbox.sync(chrono::Utc::now()).await.unwrap();
        assert_eq!(report.new_messages, vec![queued.message_id.clone()]);
        let got = alice
            .inbox
            .fetch(&queued.message_id, None, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(got.message.text.as_deref(), Some("Agreed, see page 3"));
        assert_eq!(got.message.in_reply_to, Some(original.clone()));
        assert_eq!((got.clip_path, got.playable_path), (None, None));
        assert!(got.downloaded_at.is_some(), "nothing left to download");
        assert!(
            alice
                .store
                .download_reached
                .notified()
                .now_or_never()
                .is_none(),
            "no blob was downloaded"
        );
        let receipts = alice
            .library
            .sent_message(&original)
            .unwrap()
            .unwrap()
            .receipts;
        assert!(receipts[0].response.is_some(), "{receipts:?}");
    }

    #[tokio::test]
    async fn a_draft_whose_clip_is_gone_fails_for_good_and_the_others_still_go() {
        let dir = tempfile::tempdir().unwrap();
        let (library, outbox, bob) = alice_to_bob(dir.path(), false).await;
        let gone = recorded_draft(&library);
        std::fs::remove_file(library.draft(&gone).unwrap().clip_path).unwrap();
        let gone = to(&library, gone, "bob");
        let fine = to(&library, recorded_draft(&library), "bob");
        let results = outbox.deliver_queued().await.unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].0, gone);
        match &results[0].1 {
            Delivery::Failed { reason } => {
                assert!(reason.contains("is gone"), "{reason}");
                assert!(reason.contains("record the message again"), "{reason}");
            }
            other => panic!("a missing clip stops its message for good: {other:?}"),
        }
        assert_eq!(results[1].0, fine);
        assert!(matches!(results[1].1, Delivery::Sent(_)), "{results:?}");
        assert_eq!(
            library.outbox_entry(gone.as_str()).unwrap().state,
            OutboxState::Failed
        );
        assert!(library.queued().unwrap().is_empty(), "never retried");
        assert_eq!(bobs_inbox(&bob).await, vec![fine]);
    }
}
