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
//!   and never blocks the others.
//! - A small poster JPEG made from the clip travels as its own blob, so recipients'
//!   inboxes show a still before anyone downloads the clip. A poster is a nicety: when
//!   it cannot be made, or the store refuses it (an older hub, over its size limit), the
//!   message goes without one, and that choice is stored before the first commit so
//!   every retry commits the same message.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use pigeon_media::Fragment;
use pigeon_store::protocol::{
    BlobKind, BlobRef, ErrorCode, Message, MessageId, NewAttachment, NewMessage,
};
use pigeon_store::{upload_file, BlobUpload, ProgressFn, SharedStore, StoreError};
use tokio::sync::mpsc;

use crate::db::{Library, OutboxState};
use crate::error::{LibraryError, Result};

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

    /// Uploads the clip of `draft` as the recorder announces it. `fragments` is the
    /// recorder's lossless announcement channel; it is drained on its own thread, so the
    /// recorder never waits. The returned task ends once the recorder dropped the
    /// channel and every announced byte was sent (or the store became unreachable); give
    /// its result to [`Outbox::finish_clip`] after the stop.
    pub fn upload_while_recording(
        &self,
        draft: &str,
        clip: &Path,
        fragments: impl IntoIterator<Item = Fragment> + Send + 'static,
    ) -> tokio::task::JoinHandle<Option<BlobUpload>> {
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let library = self.library.clone();
        let draft_id = draft.to_owned();
        std::thread::spawn(move || {
            for fragment in fragments {
                let end = fragment.offset + fragment.length;
                // Persisted so a crash recovery knows which prefix is complete.
                if let Err(e) = library.set_clip_announced(&draft_id, end) {
                    tracing::warn!(error = %e, "could not record an announced fragment");
                }
                let _ = tx.send(end);
            }
        });
        let outbox = self.clone();
        let draft_id = draft.to_owned();
        let clip = clip.to_path_buf();
        tokio::spawn(async move {
            let mut upload: Option<BlobUpload> = None;
            let mut failed = false;
            while let Some(mut end) = rx.recv().await {
                // Only the newest end matters: the file grows, sending it covers the rest.
                while let Ok(later) = rx.try_recv() {
                    end = later;
                }
                if failed {
                    continue;
                }
                let result = async {
                    if upload.is_none() {
                        upload = Some(outbox.clip_upload(&draft_id).await?);
                    }
                    match upload.as_mut() {
                        Some(u) => Ok::<_, LibraryError>(u.send_file_until(&clip, end).await?),
                        None => Ok(0),
                    }
                }
                .await;
                match result {
                    Ok(acknowledged) => {
                        let _ = outbox
                            .library
                            .set_clip_acknowledged(&draft_id, acknowledged);
                    }
                    Err(e) => {
                        // The rest is sent by `deliver`, resuming from the store's offset.
                        tracing::info!(error = %e, "upload while recording paused");
                        failed = true;
                    }
                }
            }
            if failed {
                None
            } else {
                upload
            }
        })
    }

    /// After the stop: sends the clip's tail and seals it. With the upload that ran
    /// during the recording, its running sha256 already covers what was sent, so only
    /// the tail is read; without one, it resumes from the store's acknowledged offset.
    ///
    /// The poster is made and uploaded at the same time as the tail, so it adds little
    /// to the time from stop to sent; if it fails here, [`Outbox::deliver`] tries again.
    pub async fn finish_clip(&self, draft: &str, upload: Option<BlobUpload>) -> Result<BlobRef> {
        let clip = async {
            let Some(mut upload) = upload else {
                return self.seal_clip(draft).await;
            };
            let d = self.library.draft(draft)?;
            let sealed = upload.seal_file(&d.clip_path).await?;
            self.library.set_clip_sealed(draft, &sealed)?;
            Ok(sealed)
        };
        let (clip, poster) = tokio::join!(clip, self.seal_poster(draft));
        if let Err(e) = poster {
            tracing::info!(error = %e, "the poster will be uploaded at send");
        }
        clip
    }

    /// The poster that travels with the draft's message: made from the clip, uploaded
    /// and sealed once. `None` when the message goes without one (see the module docs);
    /// an error only when trying again later may succeed (the store is unreachable).
    pub async fn seal_poster(&self, draft: &str) -> Result<Option<BlobRef>> {
        let d = self.library.draft(draft)?;
        if let Some(sealed) = d.poster_sealed {
            return Ok(Some(sealed));
        }
        if d.poster_skipped.is_some() {
            return Ok(None);
        }
        let path = match d.poster_path.clone().filter(|p| p.is_file()) {
            Some(path) => path,
            None => match make_poster(&d).await {
                Ok(path) => {
                    self.library.set_draft_poster(draft, &path)?;
                    path
                }
                Err(e) => {
                    tracing::warn!(draft, error = %e, "no poster could be made: sending without one");
                    self.library
                        .set_poster_skipped(draft, &format!("no poster could be made: {e}"))?;
                    return Ok(None);
                }
            },
        };
        match upload_file(
            self.store.clone(),
            &path,
            BlobKind::Poster,
            "image/jpeg",
            None,
        )
        .await
        {
            Ok(sealed) => {
                self.library.set_poster_sealed(draft, &sealed)?;
                Ok(Some(sealed))
            }
            Err(e) if e.is_retryable() => Err(e.into()),
            Err(e) => {
                let reason = refusal_text(&e);
                tracing::warn!(
                    draft,
                    reason,
                    "the store refused the poster: sending without one"
                );
                self.library
                    .set_poster_skipped(draft, &format!("the store refused it: {reason}"))?;
                Ok(None)
            }
        }
    }

    /// The clip's upload: resumed if the store knows the blob, started otherwise.
    async fn clip_upload(&self, draft: &str) -> Result<BlobUpload, LibraryError> {
        let known = self.library.draft(draft)?.clip_blob;
        let upload = match known {
            Some(blob) => match BlobUpload::resume(self.store.clone(), blob).await {
                Ok(u) => u,
                Err(e) if e.code() == Some(ErrorCode::NotFound) => self.start_clip(draft).await?,
                Err(e) => return Err(e.into()),
            },
            None => self.start_clip(draft).await?,
        };
        Ok(match &self.progress {
            Some(p) => upload.with_progress(p.clone()),
            None => upload,
        })
    }

    async fn start_clip(&self, draft: &str) -> Result<BlobUpload, LibraryError> {
        let upload = BlobUpload::start(self.store.clone(), BlobKind::Clip, "video/mp4").await?;
        self.library.set_clip_blob(draft, upload.id())?;
        Ok(upload)
    }

    /// Sends whatever of the draft's clip the store does not have yet and seals it.
    pub async fn seal_clip(&self, draft: &str) -> Result<BlobRef> {
        let d = self.library.draft(draft)?;
        if let Some(sealed) = d.clip_sealed {
            return Ok(sealed);
        }
        let mut upload = self.clip_upload(draft).await?;
        let sealed = upload.seal_file(&d.clip_path).await?;
        self.library.set_clip_sealed(draft, &sealed)?;
        Ok(sealed)
    }

    async fn seal_attachment(
        &self,
        message: &MessageId,
        position: u32,
        path: &Path,
        content_type: &str,
        known: Option<pigeon_store::protocol::BlobId>,
    ) -> Result<BlobRef> {
        let mut upload = match known {
            Some(blob) => match BlobUpload::resume(self.store.clone(), blob).await {
                Ok(u) => Some(u),
                Err(e) if e.code() == Some(ErrorCode::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        if upload.is_none() {
            let u =
                BlobUpload::start(self.store.clone(), BlobKind::Attachment, content_type).await?;
            self.library
                .set_attachment_blob(message, position, u.id())?;
            upload = Some(u);
        }
        let Some(mut upload) = upload else {
            return Err(LibraryError::Corrupt("an upload vanished".into()));
        };
        if let Some(p) = &self.progress {
            upload = upload.with_progress(p.clone());
        }
        let sealed = upload.seal_file(path).await?;
        self.library
            .set_attachment_sealed(message, position, &sealed)?;
        Ok(sealed)
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
        match self.try_deliver(&entry).await {
            Ok(sent) => {
                self.library.record_sent(&sent)?;
                tracing::info!(message = %sent.id, "delivered");
                Ok(Delivery::Sent(Box::new(sent)))
            }
            Err(LibraryError::Store(e)) if e.is_retryable() => {
                let error = e.to_string();
                self.library.record_attempt_error(message, &error)?;
                Ok(Delivery::Queued { error })
            }
            Err(LibraryError::Store(e)) => {
                let reason = refusal_text(&e);
                self.library.record_failure(message, &reason)?;
                Ok(Delivery::Failed { reason })
            }
            Err(LibraryError::Io { path, source }) => {
                let reason = format!(
                    "{}: {source}; put the file back or send the draft again without it",
                    path.display()
                );
                self.library.record_failure(message, &reason)?;
                Ok(Delivery::Failed { reason })
            }
            Err(other) => Err(other),
        }
    }

    async fn try_deliver(&self, entry: &crate::db::OutboxEntry) -> Result<Message> {
        let clip = self.seal_clip(&entry.draft_id).await?;
        let poster = self.seal_poster(&entry.draft_id).await?;
        let mut attachments = Vec::with_capacity(entry.attachments.len());
        for a in &entry.attachments {
            let sealed = match &a.sealed {
                Some(s) => s.clone(),
                None => {
                    if !a.path.is_file() {
                        return Err(LibraryError::io(
                            &a.path,
                            std::io::Error::new(
                                std::io::ErrorKind::NotFound,
                                "the attachment is gone",
                            ),
                        ));
                    }
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
            clip: clip.id,
            attachments,
            poster: poster.map(|p| p.id),
            duration_ms: self
                .library
                .draft(&entry.draft_id)?
                .duration
                .map(|d| d.as_millis() as u64),
            respond_by: entry.respond_by,
            respond_by_tz: entry.respond_by_tz.clone(),
            in_reply_to: entry.in_reply_to.clone(),
        };
        Ok(self.store.commit_message(&new).await?)
    }

    /// Tries every queued message once, oldest first; one failing never stops the rest.
    pub async fn deliver_queued(&self) -> Result<Vec<(MessageId, Delivery)>> {
        let mut results = Vec::new();
        for id in self.library.queued()? {
            let delivery = self.deliver(&id).await?;
            results.push((id, delivery));
        }
        Ok(results)
    }
}

/// Widest poster, in pixels: an inbox thumbnail, small enough for the store's limit.
pub const POSTER_MAX_WIDTH: u32 = 640;

/// Makes the poster JPEG of a draft next to its clip, from the player-ready copy when
/// there is one. Half a second in rather than the first frame: a camera's first frames
/// are often still adjusting exposure.
async fn make_poster(draft: &crate::db::Draft) -> Result<PathBuf> {
    let source = draft
        .playable_path
        .clone()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| draft.clip_path.clone());
    let out = draft.clip_path.with_extension("poster.jpg");
    let at = match draft.duration {
        Some(d) if d > Duration::from_secs(1) => Duration::from_millis(500),
        _ => Duration::ZERO,
    };
    let path = out.clone();
    tokio::task::spawn_blocking(move || {
        pigeon_media::poster_jpeg(&source, at, POSTER_MAX_WIDTH, &path).or_else(|_| {
            pigeon_media::poster_jpeg(&source, Duration::ZERO, POSTER_MAX_WIDTH, &path)
        })
    })
    .await
    .map_err(|e| LibraryError::Corrupt(format!("a poster task failed: {e}")))??;
    Ok(out)
}

/// The user-facing reason for a refusal: the store's message says what to change.
fn refusal_text(e: &StoreError) -> String {
    match e.api() {
        Some(api) => api.message.clone(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use async_trait::async_trait;
    use bytes::Bytes;
    use pigeon_store::protocol::{
        BlobId, BlobStatus, InboxCursor, InboxPage, InboxQuery, Limits, MessageStatus, NewBlob,
        SealBlob, User,
    };
    use pigeon_store::{BlobDownload, ByteRange, FolderStore, Store};

    use super::*;
    use crate::home::PigeonHome;
    use crate::test_support::{queue_to as to, recorded_draft, user};

    /// A folder store whose next commit succeeds but whose answer is lost, as when the
    /// network drops after the hub committed.
    struct LosesCommitAnswer {
        inner: FolderStore,
        lose_next: AtomicBool,
    }

    #[async_trait]
    impl Store for LosesCommitAnswer {
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
            if self.lose_next.swap(false, Ordering::SeqCst) {
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
            self.inner.download(id, range).await
        }
    }

    /// Alice's library and outbox over a folder store shared with bob; the store loses
    /// the answer to alice's next commit (the commit itself happens).
    async fn alice_to_bob_losing_one_answer(
        dir: &std::path::Path,
    ) -> (Arc<Library>, Outbox, FolderStore) {
        let shared = dir.join("shared");
        let alice = FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap();
        let bob = FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.join("alice"))).unwrap());
        let store = Arc::new(LosesCommitAnswer {
            inner: alice,
            lose_next: AtomicBool::new(true),
        });
        let outbox = Outbox::new(library.clone(), store);
        (library, outbox, bob)
    }

    #[tokio::test]
    async fn a_lost_commit_answer_is_retried_into_one_message_and_a_refusal_blocks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (library, outbox, bob) = alice_to_bob_losing_one_answer(dir.path()).await;

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

        let page = bob
            .inbox(&InboxQuery {
                limit: 50,
                ..InboxQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.entries.len(), 1, "delivered once");
        assert_eq!(page.entries[0].message.id, first);
    }

    #[tokio::test]
    async fn a_poster_travels_as_its_own_sealed_blob_and_is_reused_by_every_retry() {
        let dir = tempfile::tempdir().unwrap();
        let (library, outbox, _bob) = alice_to_bob_losing_one_answer(dir.path()).await;
        let draft = recorded_draft(&library);
        outbox.finish_clip(&draft, None).await.unwrap();
        let d = library.draft(&draft).unwrap();
        let poster = d
            .poster_sealed
            .clone()
            .expect("the poster was sealed with the clip");
        assert_eq!(poster.kind, BlobKind::Poster);
        assert_eq!(poster.content_type, "image/jpeg");
        let jpeg = std::fs::read(d.poster_path.unwrap()).unwrap();
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        assert!(poster.size < Limits::default().max_poster_bytes);

        let id = to(&library, draft.clone(), "bob");
        // The first answer is lost; the retry must commit the very same message.
        assert!(matches!(
            outbox.deliver(&id).await.unwrap(),
            Delivery::Queued { .. }
        ));
        match outbox.deliver(&id).await.unwrap() {
            Delivery::Sent(m) => assert_eq!(m.poster, Some(poster)),
            other => panic!("delivered on retry: {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_refused_poster_sends_the_message_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let tiny = Limits {
            max_poster_bytes: 100,
            ..Limits::default()
        };
        let alice = FolderStore::open_or_create(&shared, &user("alice"), tiny.clone())
            .await
            .unwrap();
        FolderStore::open_or_create(&shared, &user("bob"), tiny)
            .await
            .unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let outbox = Outbox::new(library.clone(), Arc::new(alice));
        let draft = recorded_draft(&library);
        let id = to(&library, draft.clone(), "bob");
        match outbox.deliver(&id).await.unwrap() {
            Delivery::Sent(m) => assert_eq!(m.poster, None),
            other => panic!("a refused poster blocks nothing: {other:?}"),
        }
        let skipped = library.draft(&draft).unwrap().poster_skipped.unwrap();
        assert!(skipped.contains("max_poster_bytes"), "{skipped}");
    }
}
