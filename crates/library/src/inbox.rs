//! Inbox sync: pulls new messages from the store into the library, downloads their
//! posters at once, refreshes the receipts of sent messages, and downloads a message's
//! clip and attachments on demand or, under [`DownloadPolicy::Background`], at sync.
//!
//! The hub's inbox cursor is a position in its arrival order, so a hub is pulled
//! incrementally from the stored cursor. A folder store's cursor is clock-based (every
//! machine writes with its own clock), so a folder inbox is listed from the start on
//! every sync; storing is idempotent, and a folder listing is local disk work.
//!
//! Posters: a message carries a small poster blob from its sender; every sync downloads
//! the posters it does not have yet, so an inbox shows stills before any clip is
//! fetched. A message from an older client has none: fetching its clip makes one
//! locally (`clip::poster_jpeg`). A poster that fails to download is tried again at the
//! next sync and never fails the sync; likewise a background download that fails is
//! tried again at the next sync (and an unreachable store ends this sync's downloads).
//!
//! Transcripts: a page also carries the records added to received messages since the
//! cursor; each message's transcript record is kept with the page, and its small blob
//! downloaded at sync like a poster (see [`crate::transcripts::receive`]).
//!
//! Reactions: the page's reaction records, about messages received and sent alike, are
//! kept with the page ([`Library::store_inbox_page`]) and counted in the report, so a
//! face shows a reaction taken back, which announces nothing, as soon as it arrives.

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
use crate::received_files::{self, ReceivedFiles};
use crate::settings::DownloadPolicy;

const CURSOR_KEY: &str = "inbox_cursor";

/// What one sync found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Messages seen for the first time.
    pub new_messages: Vec<MessageId>,
    /// Sent messages whose receipts changed (and were stored) at this sync.
    pub refreshed_sent: usize,
    /// Messages whose sender's poster was downloaded by this sync.
    pub posters: Vec<MessageId>,
    /// Messages whose clip and attachments were downloaded in the background.
    pub downloaded: Vec<MessageId>,
    /// Received messages whose sender's transcript was stored by this sync.
    pub new_transcripts: Vec<MessageId>,
    /// Reaction records (given, changed or taken back) stored for the first time by
    /// this sync: a reaction taken back announces nothing, yet what shows has changed.
    pub new_reactions: usize,
    /// Why some poster or background download was left for the next sync.
    pub deferred: Option<String>,
}

/// Called with (bytes downloaded, total) while a blob downloads.
pub type DownloadProgress = Arc<dyn Fn(&UploadProgress) + Send + Sync>;

/// A user's inbox over one store.
#[derive(Clone)]
pub struct Inbox {
    pub(crate) library: Arc<Library>,
    store: SharedStore,
    incremental: bool,
    downloads: DownloadPolicy,
    progress: Option<DownloadProgress>,
}

impl Inbox {
    /// `incremental`: whether the store's cursor can be kept between syncs (a hub: yes;
    /// a folder store: no, see the module docs). Downloads are on demand until
    /// [`Inbox::with_downloads`] says otherwise.
    pub fn new(library: Arc<Library>, store: SharedStore, incremental: bool) -> Self {
        Self {
            library,
            store,
            incremental,
            downloads: DownloadPolicy::OnDemand,
            progress: None,
        }
    }

    /// Whether [`Inbox::sync`] also downloads clips and attachments.
    pub fn with_downloads(mut self, policy: DownloadPolicy) -> Self {
        self.downloads = policy;
        self
    }

    /// Reports the progress of the downloads a sync makes in the background.
    pub fn with_progress(mut self, progress: DownloadProgress) -> Self {
        self.progress = Some(progress);
        self
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
            // One transaction per page, with the cursor that follows it: a sync cancelled
            // between pages keeps every page it stored, and resumes after the last.
            let entries: Vec<_> = page
                .entries
                .iter()
                .map(|e| (e.message.clone(), e.receipt.clone()))
                .collect();
            let next = page
                .next
                .as_ref()
                .filter(|_| self.incremental)
                .map(|n| n.as_str().to_owned());
            let records = page.records.clone();
            let stored = self
                .library
                .blocking(move |l| {
                    let cursor = next.as_deref().map(|n| (CURSOR_KEY, n));
                    l.store_inbox_page(&entries, &records, cursor, now)
                })
                .await?;
            report.new_messages.extend(stored.new_messages);
            report.new_reactions += stored.new_reactions;
            // A page may carry only records: follow `next` while the store has more.
            if !page.more || (page.entries.is_empty() && page.records.is_empty()) {
                break;
            }
            after = page.next;
        }
        report.refreshed_sent = self.refresh_sent().await?;
        self.download_posters(&mut report).await?;
        self.download_transcripts(&mut report, now).await?;
        if self.downloads == DownloadPolicy::Background {
            self.download_in_background(&mut report, now).await?;
        }
        Ok(report)
    }

    /// Downloads every sender's poster not downloaded yet (small: one request each).
    async fn download_posters(&self, report: &mut SyncReport) -> Result<()> {
        for id in self.library.posters_missing()? {
            let received = self.library.received(id.as_str())?;
            let Some(poster) = &received.message.poster else {
                continue;
            };
            let path = self.message_files(&id).await?.poster(&poster.content_type);
            match self.download(poster, &path, None).await {
                Ok(()) => {
                    let (message, poster) = (id.clone(), path.clone());
                    self.library
                        .blocking(move |l| l.set_received_poster(&message, &poster))
                        .await?;
                    report.posters.push(id);
                }
                Err(e) => {
                    tracing::warn!(message = %id, error = %e, "poster not downloaded; the next sync tries again");
                    report.deferred = Some(format!("poster of {id}: {e}"));
                    if is_retryable(&e) {
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Downloads the clips and attachments of received messages, oldest first. Stops
    /// when the store is unreachable (the next sync continues where this one stopped);
    /// a message that cannot be downloaded for another reason is skipped, so it never
    /// holds up the others.
    async fn download_in_background(
        &self,
        report: &mut SyncReport,
        now: DateTime<Utc>,
    ) -> Result<()> {
        for id in self.library.not_downloaded()? {
            match self.download_message(&id, self.progress.clone(), now).await {
                Ok(_) => report.downloaded.push(id),
                Err(
                    e @ (LibraryError::Store(_)
                    | LibraryError::Io { .. }
                    | LibraryError::Invalid(_)),
                ) => {
                    tracing::warn!(message = %id, error = %e, "not downloaded in the background; the next sync tries again");
                    report.deferred = Some(format!("download of {id}: {e}"));
                    if is_retryable(&e) {
                        break;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn message_files(&self, id: &MessageId) -> Result<ReceivedFiles> {
        let files = ReceivedFiles::of(&self.library, id);
        tokio::fs::create_dir_all(files.dir())
            .await
            .map_err(|e| LibraryError::io(files.dir(), e))?;
        Ok(files)
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
        for sent in self.library.sent_all()? {
            let id = sent.message.id;
            let settled =
                !sent.receipts.is_empty() && sent.receipts.iter().all(|r| r.response.is_some());
            if settled {
                continue;
            }
            let status = self.store.message_status(&id).await?;
            // Only a change is news: an unchanged status neither takes the write lock
            // nor makes every screen fetch again.
            if same_receipts(&sent.receipts, &status.receipts) {
                continue;
            }
            self.library
                .blocking(move |l| l.update_receipts(&id, &status.receipts))
                .await?;
            refreshed += 1;
        }
        Ok(refreshed)
    }

    /// The sender's view of one sent message, fresh from the store when reachable.
    pub async fn status(&self, id: &MessageId) -> Result<Vec<Receipt>> {
        match self.store.message_status(id).await {
            Ok(status) => {
                let (id, receipts) = (id.clone(), status.receipts.clone());
                self.library
                    .blocking(move |l| l.update_receipts(&id, &receipts))
                    .await?;
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

    /// Downloads the clip and attachments of a received message (see
    /// [`Inbox::download_message`]) and marks it viewed.
    pub async fn fetch(
        &self,
        id: &MessageId,
        progress: Option<DownloadProgress>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedMessage> {
        self.download_message(id, progress, now).await?;
        if let Err(e) = self.store.mark_viewed(id).await {
            tracing::info!(error = %e, "could not mark viewed on the store yet");
        }
        let id = id.clone();
        self.library
            .blocking(move |l| {
                l.mark_viewed(&id, now)?;
                l.received(id.as_str())
            })
            .await
    }

    /// Downloads the clip (plus a playable copy, and a poster made from it when the
    /// sender sent none) and every attachment of a received message, verifying each
    /// sha256. Does not mark it viewed: background downloads use it too. What is already
    /// downloaded is kept, so a second call only checks the files are still there.
    pub async fn download_message(
        &self,
        id: &MessageId,
        progress: Option<DownloadProgress>,
        now: DateTime<Utc>,
    ) -> Result<ReceivedMessage> {
        let received = self.library.received(id.as_str())?;
        // A text answer has no clip: only its attachments are downloaded.
        let has_clip = received.message.clip.is_some();
        let all_there = received.downloaded_at.is_some()
            && (!has_clip || received.clip_path.as_deref().is_some_and(Path::is_file))
            && (!has_clip || received.playable_path.as_deref().is_some_and(Path::is_file))
            && received
                .attachment_paths
                .iter()
                .all(|p| p.as_deref().is_some_and(Path::is_file));
        if all_there {
            return Ok(received);
        }
        let files = self.message_files(id).await?;
        let message = &received.message;
        if let Some(clip_ref) = &message.clip {
            let clip = files.clip();
            self.download(clip_ref, &clip, progress.clone()).await?;
            let playable = files.playable();
            let poster = files.poster("image/jpeg");
            let make_poster = received.poster_path.is_none();
            let (c, p, j) = (clip.clone(), playable.clone(), poster.clone());
            let poster_made = tokio::task::spawn_blocking(move || -> Result<bool> {
                // GStreamer misreads a fragmented MP4's length: players get a remuxed copy.
                pigeon_media::make_playable(&c, &p)?;
                Ok(make_poster && pigeon_media::poster_jpeg(&p, Duration::ZERO, 640, &j).is_ok())
            })
            .await
            .map_err(|e| LibraryError::Corrupt(format!("a clip task failed: {e}")))??;
            let message_id = id.clone();
            self.library
                .blocking(move |l| {
                    l.set_received_clip(
                        &message_id,
                        &clip,
                        &playable,
                        poster_made.then_some(poster.as_path()),
                    )
                })
                .await?;
        }
        for (position, attachment) in message.attachments.iter().enumerate() {
            let path = files.attachment(position, &attachment.name);
            self.download(&attachment.blob, &path, progress.clone())
                .await?;
            let message_id = id.clone();
            self.library
                .blocking(move |l| l.set_received_attachment(&message_id, position as u32, &path))
                .await?;
        }
        let id = id.clone();
        self.library
            .blocking(move |l| {
                l.set_received_downloaded(&id, now)?;
                l.received(id.as_str())
            })
            .await
    }

    /// Downloads one blob to `path` (through a temporary file), checking its sha256.
    pub(crate) async fn download(
        &self,
        blob: &BlobRef,
        path: &Path,
        progress: Option<DownloadProgress>,
    ) -> Result<()> {
        let partial = received_files::partial(path);
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
        let id = id.clone();
        self.library
            .blocking(move |l| l.mark_responded(&id, now))
            .await
    }
}

pub use crate::attachment::safe_file_name;

/// Whether a download error may pass by itself (the store is unreachable).
/// Whether two lists of receipts say the same, in whatever order each lists them.
fn same_receipts(a: &[Receipt], b: &[Receipt]) -> bool {
    let sorted = |list: &[Receipt]| {
        let mut list = list.to_vec();
        list.sort_by(|x, y| x.recipient.cmp(&y.recipient));
        list
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}

fn is_retryable(e: &LibraryError) -> bool {
    matches!(e, LibraryError::Store(s) if s.is_retryable())
}

/// Where a message's downloads go (for callers that show paths).
pub fn received_dir(library: &Library, id: &MessageId) -> PathBuf {
    library.files_dir().join("received").join(id.as_str())
}

#[cfg(test)]
mod tests;
