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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::Arc;

    use chrono::Utc;
    use pigeon_store::protocol::{Limits, RecordBody, Transcript};
    use pigeon_store::{FolderStore, Store};

    use super::super::Delivery;
    use super::*;
    use crate::db::Library;
    use crate::home::PigeonHome;
    use crate::test_support::{queue_to, recorded_draft, user, FaultyStore};
    use crate::transcripts::TranscriptOwner;

    /// A transcript made here for `draft` (as the Transcriber stores one).
    fn made(library: &Library, draft: &str, text: &str) -> Transcript {
        let transcript: Transcript = serde_json::from_value(serde_json::json!({
            "language": "en", "model": "tiny.en", "duration_ms": 1000,
            "segments": [{"start_ms": 0, "end_ms": 800, "text": text, "words": []}]
        }))
        .unwrap();
        let owner = TranscriptOwner::Draft(draft.to_owned());
        library.queue_transcription(&owner, Utc::now()).unwrap();
        let job = library.queued_transcriptions().unwrap().remove(0);
        assert!(library.start_transcription(&job).unwrap());
        assert!(library
            .finish_transcription(&job, &transcript, Utc::now())
            .unwrap());
        transcript
    }

    #[tokio::test]
    async fn a_lost_record_answer_is_retried_into_one_record_and_a_new_transcript_adds_the_latest()
    {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        let alice = FolderStore::open_or_create(&shared, &user("alice"), Limits::default())
            .await
            .unwrap();
        let bob = FolderStore::open_or_create(&shared, &user("bob"), Limits::default())
            .await
            .unwrap();
        let library = Arc::new(Library::open(&PigeonHome::at(dir.path().join("alice"))).unwrap());
        let store = Arc::new(FaultyStore::new(alice));
        let outbox = Outbox::new(library.clone(), store.clone());

        let draft = recorded_draft(&library);
        let id = queue_to(&library, draft.clone(), "bob");
        // Not done yet at send: the message goes without waiting.
        library
            .queue_transcription(&TranscriptOwner::Draft(draft.clone()), Utc::now())
            .unwrap();
        assert!(matches!(
            outbox.deliver(&id).await.unwrap(),
            Delivery::Sent(_)
        ));
        assert_eq!(outbox.share_transcripts().await.unwrap(), 0, "not made yet");
        let first = made(&library, &draft, "first words");

        store.lose_next_record_answer.store(true, Ordering::SeqCst);
        assert_eq!(
            outbox.share_transcripts().await.unwrap(),
            0,
            "the answer was lost"
        );
        assert_eq!(outbox.share_transcripts().await.unwrap(), 1);
        assert_eq!(outbox.share_transcripts().await.unwrap(), 0);
        let records = bob.records(&id).await.unwrap();
        assert_eq!(records.len(), 1, "one record across the retry: {records:?}");
        let RecordBody::Transcript { blob, language } = &records[0].body else {
            panic!("a transcript record: {records:?}");
        };
        assert_eq!(language, "en");
        assert_eq!(blob.kind, BlobKind::Transcript);
        assert_eq!(blob.content_type, TRANSCRIPT_CONTENT_TYPE);
        let bytes = bob
            .download(&blob.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            pigeon_store::protocol::check_transcript(&bytes).unwrap(),
            first
        );

        // Made again here: shared again, and readers take the latest.
        let second = made(&library, &draft, "second words");
        assert_eq!(outbox.share_transcripts().await.unwrap(), 1);
        let records = bob.records(&id).await.unwrap();
        assert_eq!(records.len(), 2);
        let latest = pigeon_store::protocol::latest_transcript(&records).unwrap();
        let blob = latest.body.blob().unwrap();
        let bytes = bob
            .download(&blob.id, None)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(
            pigeon_store::protocol::check_transcript(&bytes).unwrap(),
            second
        );
    }
}
