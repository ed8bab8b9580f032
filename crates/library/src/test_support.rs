//! Helpers shared by the library's unit tests: users, a recorded draft, a queued message.

use std::time::Duration;

use chrono::Utc;
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{Pacing, Recorder, RecorderConfig};
use pigeon_store::protocol::{Chapter, MessageId, User, UserName};

use crate::db::{Library, NewOutgoing};
use crate::recording::Recording;

pub fn user(name: &str) -> User {
    User {
        name: UserName::parse(name).unwrap(),
        display_name: name.into(),
        time_zone: "UTC".into(),
    }
}

/// A chapter at `start_ms` of a clip.
pub fn chapter(start_ms: u64, title: &str) -> Chapter {
    Chapter {
        start_ms,
        title: title.into(),
    }
}

/// A ready draft with a 1 s synthetic clip (video only, recorded as fast as possible).
pub fn recorded_draft(library: &Library) -> String {
    let draft = library.create_draft(Utc::now()).unwrap();
    let mut config = RecorderConfig::new(&draft.clip_path);
    config.preview = None;
    let video = SyntheticVideo::new(
        320,
        240,
        30,
        Pacing::AsFastAsPossible,
        Some(Duration::from_secs(1)),
    )
    .unwrap();
    let outcome = Recorder::start(config, Box::new(video), None)
        .unwrap()
        .wait()
        .unwrap();
    library
        .finish_draft(&draft.id, outcome.duration, None, false)
        .unwrap();
    draft.id
}

/// Waits, on the recorder's own clock, until the clip is at least `ms` long.
pub async fn until_recorded(recording: &Recording, ms: u64) {
    let started = std::time::Instant::now();
    while (recording.recorder().elapsed().as_millis() as u64) < ms {
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A text-only message to `to` about `subject`, due in 24 h, that answers nothing: a
/// test sets what else it needs with `NewOutgoing { .., ..text_message(..) }`.
pub fn text_message(to: &[&str], subject: &str, text: &str) -> NewOutgoing {
    NewOutgoing {
        draft_id: None,
        recipients: to.iter().map(|n| UserName::parse(*n).unwrap()).collect(),
        subject: subject.into(),
        text: Some(text.into()),
        respond_by: Utc::now() + chrono::Duration::hours(24),
        respond_by_tz: "UTC".into(),
        in_reply_to: None,
        attachments: vec![],
        at_ms: None,
        chapter: None,
        acknowledge_only: false,
        deadlines: vec![],
        working_hours_each: None,
    }
}

/// Queues `draft` to `recipient`, due in 24 h.
pub fn queue_to(library: &Library, draft: String, recipient: &str) -> MessageId {
    library
        .queue(
            &NewOutgoing {
                draft_id: Some(draft),
                text: None,
                ..text_message(&[recipient], "Plan", "")
            },
            Utc::now(),
        )
        .unwrap()
        .message_id
}

/// A folder store with faults switched on by tests: the answer to a commit lost after
/// the commit happened (the network dropped), or downloads that never answer (a hub
/// stalling mid-request).
pub struct FaultyStore {
    inner: pigeon_store::FolderStore,
    pub lose_next_commit_answer: std::sync::atomic::AtomicBool,
    /// Likewise for the next record commit.
    pub lose_next_record_answer: std::sync::atomic::AtomicBool,
    pub stall_downloads: std::sync::atomic::AtomicBool,
    /// Notified when a download reached the store (and stalled, if told to).
    pub download_reached: tokio::sync::Notify,
}

impl FaultyStore {
    pub fn new(inner: pigeon_store::FolderStore) -> Self {
        Self {
            inner,
            lose_next_commit_answer: false.into(),
            lose_next_record_answer: false.into(),
            stall_downloads: false.into(),
            download_reached: tokio::sync::Notify::new(),
        }
    }
}

mod faulty {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use async_trait::async_trait;
    use bytes::Bytes;
    use pigeon_store::protocol::{
        BlobId, BlobRef, BlobStatus, InboxCursor, InboxPage, InboxQuery, Limits, Message,
        MessageId, MessageStatus, NewBlob, NewMessage, NewRecord, Record, SealBlob, User,
    };
    use pigeon_store::{BlobDownload, ByteRange, Store, StoreError};

    use super::FaultyStore;

    #[async_trait]
    impl Store for FaultyStore {
        async fn me(&self) -> Result<User, StoreError> {
            self.inner.me().await
        }
        async fn users(&self) -> Result<Vec<User>, StoreError> {
            self.inner.users().await
        }
        async fn limits(&self) -> Result<Limits, StoreError> {
            self.inner.limits().await
        }
        async fn create_blob(&self, blob: &NewBlob) -> Result<BlobStatus, StoreError> {
            self.inner.create_blob(blob).await
        }
        async fn blob_status(&self, id: &BlobId) -> Result<BlobStatus, StoreError> {
            self.inner.blob_status(id).await
        }
        async fn append_blob(
            &self,
            id: &BlobId,
            offset: u64,
            bytes: Bytes,
        ) -> Result<BlobStatus, StoreError> {
            self.inner.append_blob(id, offset, bytes).await
        }
        async fn seal_blob(&self, id: &BlobId, seal: &SealBlob) -> Result<BlobRef, StoreError> {
            self.inner.seal_blob(id, seal).await
        }
        async fn commit_message(&self, message: &NewMessage) -> Result<Message, StoreError> {
            let committed = self.inner.commit_message(message).await?;
            if self.lose_next_commit_answer.swap(false, Ordering::SeqCst) {
                return Err(StoreError::Unreachable {
                    url: "test".into(),
                    reason: "the answer was lost".into(),
                });
            }
            Ok(committed)
        }
        async fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
            self.inner.message(id).await
        }
        async fn commit_record(&self, record: &NewRecord) -> Result<Record, StoreError> {
            let committed = self.inner.commit_record(record).await?;
            if self.lose_next_record_answer.swap(false, Ordering::SeqCst) {
                return Err(StoreError::Unreachable {
                    url: "test".into(),
                    reason: "the answer was lost".into(),
                });
            }
            Ok(committed)
        }
        async fn records(&self, message: &MessageId) -> Result<Vec<Record>, StoreError> {
            self.inner.records(message).await
        }
        async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
            self.inner.inbox(query).await
        }
        async fn wait_inbox(
            &self,
            after: Option<&InboxCursor>,
            timeout: Duration,
        ) -> Result<InboxPage, StoreError> {
            self.inner.wait_inbox(after, timeout).await
        }
        async fn mark_viewed(&self, id: &MessageId) -> Result<(), StoreError> {
            self.inner.mark_viewed(id).await
        }
        async fn mark_done(&self, id: &MessageId) -> Result<(), StoreError> {
            self.inner.mark_done(id).await
        }
        async fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError> {
            self.inner.message_status(id).await
        }
        async fn download(
            &self,
            id: &BlobId,
            range: Option<ByteRange>,
        ) -> Result<BlobDownload, StoreError> {
            self.download_reached.notify_one();
            if self.stall_downloads.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            self.inner.download(id, range).await
        }
    }
}
