//! The clip and attachment uploads: while recording, at the stop, and resumed at
//! delivery from what the store acknowledged.

use std::path::Path;

use pigeon_media::Fragment;
use pigeon_store::protocol::{BlobId, BlobKind, BlobRef, ErrorCode, MessageId};
use pigeon_store::BlobUpload;
use tokio::sync::mpsc;

use super::Outbox;
use crate::error::{LibraryError, Result};

impl Outbox {
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
                        let id = draft_id.clone();
                        let recorded = outbox
                            .library
                            .blocking(move |l| l.set_clip_acknowledged(&id, acknowledged))
                            .await;
                        if let Err(e) = recorded {
                            // Only a resume hint: the store's own offset is the truth.
                            tracing::info!(error = %e, "could not record the acknowledged bytes");
                        }
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
            self.clip_sealed(draft, &sealed).await?;
            Ok(sealed)
        };
        let (clip, poster) = tokio::join!(clip, self.seal_poster(draft));
        if let Err(e) = poster {
            tracing::info!(error = %e, "the poster will be uploaded at send");
        }
        clip
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
        let (id, blob) = (draft.to_owned(), upload.id().clone());
        self.library
            .blocking(move |l| l.set_clip_blob(&id, &blob))
            .await?;
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
        self.clip_sealed(draft, &sealed).await?;
        Ok(sealed)
    }

    async fn clip_sealed(&self, draft: &str, sealed: &BlobRef) -> Result<()> {
        let (id, sealed) = (draft.to_owned(), sealed.clone());
        self.library
            .blocking(move |l| l.set_clip_sealed(&id, &sealed))
            .await
    }

    pub(super) async fn seal_attachment(
        &self,
        message: &MessageId,
        position: u32,
        path: &Path,
        content_type: &str,
        known: Option<BlobId>,
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
            let (id, blob) = (message.clone(), u.id().clone());
            self.library
                .blocking(move |l| l.set_attachment_blob(&id, position, &blob))
                .await?;
            upload = Some(u);
        }
        let Some(mut upload) = upload else {
            return Err(LibraryError::Corrupt("an upload vanished".into()));
        };
        if let Some(p) = &self.progress {
            upload = upload.with_progress(p.clone());
        }
        let sealed = upload.seal_file(path).await?;
        let (id, attachment) = (message.clone(), sealed.clone());
        self.library
            .blocking(move |l| l.set_attachment_sealed(&id, position, &attachment))
            .await?;
        Ok(sealed)
    }
}
