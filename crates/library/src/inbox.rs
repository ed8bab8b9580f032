//! Inbox sync: pulls new messages from the store into the library, refreshes the
//! receipts of sent messages, and downloads a message's clip and attachments on demand.
//!
//! The hub's inbox cursor is a position in its arrival order, so a hub is pulled
//! incrementally from the stored cursor. A folder store's cursor is clock-based (every
//! machine writes with its own clock), so a folder inbox is listed from the start on
//! every sync; storing is idempotent, and a folder listing is local disk work.
//!
//! Posters: no poster blob travels with a message. A recipient makes the poster from
//! the clip (`clip::poster_jpeg`) when it fetches the clip; until then a message is
//! listed without one. This keeps a message's upload to its clip and attachments.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use pigeon_store::protocol::{BlobRef, InboxCursor, InboxOrder, InboxQuery, MessageId, Receipt};
use pigeon_store::{SharedStore, UploadProgress};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::db::{Library, ReceivedMessage};
use crate::error::{LibraryError, Result};

const CURSOR_KEY: &str = "inbox_cursor";

/// What one sync found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Messages seen for the first time.
    pub new_messages: Vec<MessageId>,
    /// Sent messages whose receipts were refreshed.
    pub refreshed_sent: usize,
}

/// Called with (bytes downloaded, total) while a blob downloads.
pub type DownloadProgress = Arc<dyn Fn(&UploadProgress) + Send + Sync>;

/// A user's inbox over one store.
#[derive(Clone)]
pub struct Inbox {
    library: Arc<Library>,
    store: SharedStore,
    incremental: bool,
}

impl Inbox {
    /// `incremental`: whether the store's cursor can be kept between syncs (a hub: yes;
    /// a folder store: no, see the module docs).
    pub fn new(library: Arc<Library>, store: SharedStore, incremental: bool) -> Self {
        Self {
            library,
            store,
            incremental,
        }
    }

    /// Pulls everything new and refreshes sent messages' receipts.
    pub async fn sync(&self, now: DateTime<Utc>) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut after = if self.incremental {
            self.library.sync_value(CURSOR_KEY)?.map(InboxCursor)
        } else {
            None
        };
        loop {
            let page = self
                .store
                .inbox(&InboxQuery {
                    order: InboxOrder::Arrival,
                    after: after.clone(),
                    limit: 100,
                })
                .await?;
            for entry in &page.entries {
                if self
                    .library
                    .store_received(&entry.message, &entry.receipt, now)?
                {
                    report.new_messages.push(entry.message.id.clone());
                }
            }
            if let (true, Some(next)) = (self.incremental, &page.next) {
                self.library.set_sync_value(CURSOR_KEY, next.as_str())?;
            }
            if !page.more || page.entries.is_empty() {
                break;
            }
            after = page.next;
        }
        report.refreshed_sent = self.refresh_sent().await?;
        Ok(report)
    }

    /// Waits up to `timeout` for new messages (a long-poll on a hub), then syncs.
    pub async fn wait_and_sync(&self, timeout: Duration, now: DateTime<Utc>) -> Result<SyncReport> {
        let after = self.library.sync_value(CURSOR_KEY)?.map(InboxCursor);
        self.store.wait_inbox(after.as_ref(), timeout).await?;
        self.sync(now).await
    }

    /// Refreshes the receipts of sent messages that still wait for someone.
    async fn refresh_sent(&self) -> Result<usize> {
        let mut refreshed = 0;
        for id in self.library.sent_ids()? {
            let Some(sent) = self.library.sent_message(&id)? else {
                continue;
            };
            let settled =
                !sent.receipts.is_empty() && sent.receipts.iter().all(|r| r.response.is_some());
            if settled {
                continue;
            }
            let status = self.store.message_status(&id).await?;
            self.library.update_receipts(&id, &status.receipts)?;
            refreshed += 1;
        }
        Ok(refreshed)
    }

    /// The sender's view of one sent message, fresh from the store when reachable.
    pub async fn status(&self, id: &MessageId) -> Result<Vec<Receipt>> {
        match self.store.message_status(id).await {
            Ok(status) => {
                self.library.update_receipts(id, &status.receipts)?;
                Ok(status.receipts)
            }
            Err(e) if e.is_retryable() => {
                tracing::info!(error = %e, "showing the last synced receipts");
                Ok(self
                    .library
                    .sent_message(id)?
                    .map(|s| s.receipts)
                    .unwrap_or_default())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Downloads the clip (plus a playable copy and a poster) and every attachment of a
    /// received message, verifying each sha256, and marks it viewed.
    pub async fn fetch(
        &self,
        id: &MessageId,
        progress: Option<DownloadProgress>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedMessage> {
        let received = self.library.received(id.as_str())?;
        let dir = self.library.files_dir().join("received").join(id.as_str());
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| LibraryError::io(&dir, e))?;
        let message = &received.message;
        let clip = dir.join("clip.mp4");
        self.download(&message.clip, &clip, progress.clone())
            .await?;
        let playable = dir.join("clip.playable.mp4");
        let poster = dir.join("poster.jpg");
        let (c, p, j) = (clip.clone(), playable.clone(), poster.clone());
        let poster_made = tokio::task::spawn_blocking(move || -> Result<bool> {
            // GStreamer misreads a fragmented MP4's length: players get a remuxed copy.
            pigeon_media::make_playable(&c, &p)?;
            Ok(pigeon_media::poster_jpeg(&p, Duration::ZERO, 640, &j).is_ok())
        })
        .await
        .map_err(|e| LibraryError::Corrupt(format!("a clip task failed: {e}")))??;
        self.library.set_received_clip(
            id,
            &clip,
            &playable,
            poster_made.then_some(poster.as_path()),
        )?;
        for (position, attachment) in message.attachments.iter().enumerate() {
            let path = dir.join(format!("{position}-{}", safe_file_name(&attachment.name)));
            self.download(&attachment.blob, &path, progress.clone())
                .await?;
            self.library
                .set_received_attachment(id, position as u32, &path)?;
        }
        if let Err(e) = self.store.mark_viewed(id).await {
            tracing::info!(error = %e, "could not mark viewed on the store yet");
        }
        self.library.mark_viewed(id, now)?;
        self.library.received(id.as_str())
    }

    /// Downloads one blob to `path` (through a temporary file), checking its sha256.
    async fn download(
        &self,
        blob: &BlobRef,
        path: &Path,
        progress: Option<DownloadProgress>,
    ) -> Result<()> {
        let partial = path.with_extension("part");
        let mut download = self.store.download(&blob.id, None).await?;
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| LibraryError::io(&partial, e))?;
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        while let Some(chunk) = download.body.next().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| LibraryError::io(&partial, e))?;
            done += chunk.len() as u64;
            if let Some(p) = &progress {
                p(&UploadProgress {
                    blob: blob.id.clone(),
                    acknowledged: done,
                    total: Some(blob.size),
                });
            }
        }
        file.flush()
            .await
            .map_err(|e| LibraryError::io(&partial, e))?;
        let sha = hex::encode(hasher.finalize());
        if sha != blob.sha256 || done != blob.size {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(LibraryError::Invalid(format!(
                "the downloaded blob {} does not match its sha256: fetch it again",
                blob.id
            )));
        }
        tokio::fs::rename(&partial, path)
            .await
            .map_err(|e| LibraryError::io(path, e))?;
        Ok(())
    }

    /// Marks a received message done (responded without a reply).
    pub async fn done(&self, id: &MessageId, now: DateTime<Utc>) -> Result<()> {
        self.store.mark_done(id).await?;
        self.library.mark_responded(id, now)
    }
}

/// An attachment's display name made safe as a file name (names are display text only).
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "._- ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "attachment".to_owned()
    } else {
        trimmed.chars().take(100).collect()
    }
}

/// Where a message's downloads go (for callers that show paths).
pub fn received_dir(library: &Library, id: &MessageId) -> PathBuf {
    library.files_dir().join("received").join(id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_cannot_escape_the_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name("agenda.pdf"), "agenda.pdf");
        assert_eq!(safe_file_name(".."), "attachment");
    }
}
