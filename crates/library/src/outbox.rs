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

use std::path::Path;
use std::sync::Arc;

use pigeon_media::Fragment;
use pigeon_store::protocol::{
    BlobKind, BlobRef, ErrorCode, Message, MessageId, NewAttachment, NewMessage,
};
use pigeon_store::{BlobUpload, ProgressFn, SharedStore, StoreError};
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
    pub async fn finish_clip(&self, draft: &str, upload: Option<BlobUpload>) -> Result<BlobRef> {
        let Some(mut upload) = upload else {
            return self.seal_clip(draft).await;
        };
        let d = self.library.draft(draft)?;
        let sealed = upload.seal_file(&d.clip_path).await?;
        self.library.set_clip_sealed(draft, &sealed)?;
        Ok(sealed)
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

/// The user-facing reason for a refusal: the store's message says what to change.
fn refusal_text(e: &StoreError) -> String {
    match e.api() {
        Some(api) => api.message.clone(),
        None => e.to_string(),
    }
}
