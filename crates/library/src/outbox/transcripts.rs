//! Sharing own transcripts: a transcript made here after its message was sent goes to
//! the store as a small sealed blob of its own plus a record about the message, so the
//! message itself never waits for it (and never changes).
//!
//! Exactly once across retries: the blob's id is kept as soon as it exists (a retry
//! resumes it), the record id is chosen and kept before the first commit attempt (the
//! store answers a repeated commit with the record it has). A store that is away leaves
//! the rest for the next call; a store that refuses (an older hub without records)
//! leaves that transcript here, without blocking any message or other transcript.

use pigeon_store::protocol::{
    BlobKind, BlobRef, ErrorCode, NewRecord, NewRecordBody, RecordId, TRANSCRIPT_CONTENT_TYPE,
};
use pigeon_store::BlobUpload;

use super::{refusal_text, Outbox};
use crate::clock::{Clock, SystemClock};
use crate::db::transcripts::Unshared;
use crate::error::{LibraryError, Result};

impl Outbox {
    /// Shares every own transcript that is done for a message already sent and not
    /// shared yet; returns how many were shared now. Called after each delivery and by
    /// every sync loop, so one finished after its message was sent goes at the next
    /// call. Only a failing library database is an error.
    pub async fn share_transcripts(&self) -> Result<usize> {
        let mut shared = 0;
        let unshared = {
            let library = self.library.clone();
            library.blocking(|l| l.unshared_transcripts()).await?
        };
        for transcript in unshared {
            match self.share_transcript(&transcript).await {
                Ok(()) => shared += 1,
                Err(e @ LibraryError::Database(_)) => return Err(e),
                Err(LibraryError::Store(e)) if e.is_retryable() => {
                    tracing::info!(error = %e, "transcripts will be shared at the next sync");
                    break;
                }
                Err(LibraryError::Store(e)) => {
                    let reason = format!(
                        "the store did not take the transcript: {}",
                        refusal_text(&e)
                    );
                    tracing::warn!(message = %transcript.message, reason, "transcript not shared");
                    let draft = transcript.draft.clone();
                    self.library
                        .blocking(move |l| l.set_transcript_not_shared(&draft, &reason))
                        .await?;
                }
                Err(e) => {
                    // A local file problem: the next call writes it again.
                    tracing::warn!(message = %transcript.message, error = %e, "transcript not shared yet");
                }
            }
        }
        Ok(shared)
    }

    async fn share_transcript(&self, t: &Unshared) -> Result<()> {
        let sealed = match &t.sealed {
            Some(sealed) => sealed.clone(),
            None => self.seal_transcript(t).await?,
        };
        let id = match &t.record {
            Some(id) => id.clone(),
            None => {
                let id = RecordId::parse(uuid::Uuid::new_v4().simple().to_string())
                    .map_err(|e| LibraryError::Corrupt(format!("a new record id: {e}")))?;
                let (draft, record) = (t.draft.clone(), id.clone());
                self.library
                    .blocking(move |l| l.set_transcript_record_id(&draft, &record))
                    .await?;
                id
            }
        };
        let record = NewRecord {
            id,
            message: t.message.clone(),
            body: NewRecordBody::Transcript {
                blob: sealed.id,
                language: t.language.clone(),
            },
        };
        self.store.commit_record(&record).await?;
        let (draft, now) = (t.draft.clone(), SystemClock.now());
        self.library
            .blocking(move |l| l.set_transcript_shared(&draft, now))
            .await?;
        tracing::info!(message = %t.message, "transcript shared");
        Ok(())
    }

    /// Uploads the transcript's stored JSON as a transcript blob and seals it.
    async fn seal_transcript(&self, t: &Unshared) -> Result<BlobRef> {
        let dir = self.library.files_dir().join("transcripts");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| LibraryError::io(&dir, e))?;
        // The same bytes on every retry: a resumed blob continues the same file.
        let file = dir.join(format!("{}.json", t.draft));
        tokio::fs::write(&file, t.json.as_bytes())
            .await
            .map_err(|e| LibraryError::io(&file, e))?;
        let resumed = match &t.blob {
            Some(blob) => match BlobUpload::resume(self.store.clone(), blob.clone()).await {
                Ok(upload) => Some(upload),
                Err(e) if e.code() == Some(ErrorCode::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let mut upload = match resumed {
            Some(upload) => upload,
            None => {
                let upload = BlobUpload::start(
                    self.store.clone(),
                    BlobKind::Transcript,
                    TRANSCRIPT_CONTENT_TYPE,
                )
                .await?;
                let (draft, blob) = (t.draft.clone(), upload.id().clone());
                self.library
                    .blocking(move |l| l.set_transcript_blob(&draft, &blob))
                    .await?;
                upload
            }
        };
        let sealed = upload.seal_file(&file).await?;
        let (draft, blob) = (t.draft.clone(), sealed.clone());
        self.library
            .blocking(move |l| l.set_transcript_sealed(&draft, &blob))
            .await?;
        let _ = tokio::fs::remove_file(&file).await;
        Ok(sealed)
    }
}
