//! Receiving transcripts: a sync keeps each received message's latest transcript record
//! ([`Library::store_inbox_page`], in the page's transaction), then downloads
//! the small blobs it names, checks their sha256 and their content
//! ([`pigeon_protocol::check_transcript`]) and stores them as the message's transcript,
//! replacing one made here. Like posters: a download that fails is tried again at the
//! next sync and never fails the sync; a transcript that is not well formed is never
//! tried again.

use chrono::{DateTime, Utc};
use pigeon_store::protocol::{check_transcript, Limits, Record};

use crate::error::{LibraryError, Result};
use crate::inbox::{Inbox, SyncReport};

impl Inbox {
    /// Downloads every received transcript whose record came and whose text is not here.
    pub(crate) async fn download_transcripts(
        &self,
        report: &mut SyncReport,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let records = self
            .library
            .blocking(|l| l.transcript_records_to_download())
            .await?;
        for record in records {
            match self.receive_transcript(&record, now).await {
                Ok(()) => report.new_transcripts.push(record.message.clone()),
                Err(Refused(reason)) => {
                    tracing::warn!(message = %record.message, reason, "a received transcript cannot be used");
                    let rejected = record.clone();
                    self.library
                        .blocking(move |l| l.reject_received_transcript(&rejected, &reason))
                        .await?;
                }
                Err(Later(e @ LibraryError::Database(_))) => return Err(e),
                Err(Later(e)) => {
                    tracing::warn!(message = %record.message, error = %e, "transcript not downloaded; the next sync tries again");
                    report.deferred = Some(format!("transcript of {}: {e}", record.message));
                    if matches!(&e, LibraryError::Store(s) if s.is_retryable()) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    async fn receive_transcript(&self, record: &Record, now: DateTime<Utc>) -> Result<(), Why> {
        let Some(blob) = record.body.blob() else {
            return Ok(());
        };
        let limit = Limits::default().max_transcript_bytes;
        if blob.size > limit {
            return Err(Refused(format!(
                "the sender's transcript is {} bytes, more than the {limit} a transcript may have",
                blob.size
            )));
        }
        let dir = crate::inbox::received_dir(&self.library, &record.message);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Later(LibraryError::io(&dir, e)))?;
        let path = dir.join(format!("transcript-{}.json", record.id));
        match self.download(blob, &path, None).await {
            Ok(()) => {}
            Err(LibraryError::Store(e)) if !e.is_retryable() => {
                return Err(Refused(format!(
                    "the sender's transcript could not be downloaded: {e}"
                )))
            }
            Err(e) => return Err(Later(e)),
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| Later(LibraryError::io(&path, e)));
        let _ = tokio::fs::remove_file(&path).await;
        let transcript = check_transcript(&bytes?).map_err(|e| {
            Refused(format!(
                "the sender's transcript is not well formed ({}): ask them to make it again",
                e.message
            ))
        })?;
        let record = record.clone();
        self.library
            .blocking(move |l| l.store_received_transcript(&record, &transcript, now))
            .await
            .map_err(Later)
    }
}

/// Why a received transcript is not stored yet.
enum Why {
    /// It never can be: remembered, not tried again.
    Refused(String),
    /// Maybe at the next sync.
    Later(LibraryError),
}
use Why::{Later, Refused};
