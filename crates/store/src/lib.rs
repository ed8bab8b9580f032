//! Pigeon's shared store as one async [`Store`] trait with two implementations:
//! [`HubClient`] talks to a `pigeon-hub` server over HTTP(S) (reqwest + rustls, retries
//! with backoff on network errors and 5xx, never on 4xx), and [`FolderStore`] keeps
//! everything in a shared directory (a network or synced drive) with no server at all.
//! [`BlobUpload`] drives a resumable upload over either, including from a file that is
//! still growing (the recorder's fragmented MP4).
//!
//! Both keep the same conversation: messages with a clip or text only (a comment at a
//! moment, chapters), records about a message (its transcript, the participants'
//! reactions), and an inbox whose pages bring the records about what the reader sent
//! as well as received, all checked by `pigeon-protocol`'s rules on either backend.
//!
//! This crate is NOT the outbox, the local library or the inbox sync (they build on this
//! trait), and NOT the server (`pigeon-hub`). It keeps no local state between calls: a
//! caller resumes an upload by asking the store what it has acknowledged.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use pigeon_protocol::{
    ApiError, BlobId, BlobRef, BlobStatus, ErrorCode, InboxCursor, InboxPage, InboxQuery, Limits,
    Message, MessageId, MessageStatus, NewBlob, NewMessage, NewRecord, Profile, ProfileUpdate,
    Record, SealBlob, User, UserName,
};

mod folder;
mod hub_client;
mod upload;

pub use folder::FolderStore;
pub use hub_client::{HubClient, RetryPolicy};
pub use pigeon_protocol as protocol;
pub use upload::{upload_file, BlobUpload, ProgressFn, UploadProgress, DEFAULT_CHUNK_BYTES};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store refused the request; the error says what to change. Sending the same
    /// request again fails the same way.
    #[error("{0}")]
    Rejected(ApiError),
    /// The hub could not be reached or kept failing after every retry. The operation is
    /// safe to retry later (uploads resume, commits are idempotent).
    #[error("cannot reach the hub at {url} ({reason}): check the network and the hub address; the operation can be retried")]
    Unreachable { url: String, reason: String },
    /// A file or directory of the folder store failed (a share not mounted, a full
    /// disk): retrying later may succeed.
    #[error("{path}: {source}: check that the folder is mounted and writable")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The local file being uploaded is missing or unreadable (deleted, disk replaced,
    /// truncated). Retrying never helps: the file has to come back or the upload be
    /// made from another file.
    #[error("the local file {path} is missing or unreadable ({source}): restore the file or record it again")]
    LocalFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The store answered with something unreadable (a broken file in the folder, a
    /// non-Pigeon server at the hub address).
    #[error("the store returned unreadable data ({0}): check the store address or the folder's contents")]
    Corrupt(String),
}

impl StoreError {
    /// The store's error body, when it refused the request.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            StoreError::Rejected(e) => Some(e),
            _ => None,
        }
    }
    /// The refusal's code, when it refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        self.api().map(|e| e.code)
    }
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Rejected(e) => e.code == ErrorCode::Internal,
            StoreError::Unreachable { .. } | StoreError::Io { .. } => true,
            StoreError::LocalFile { .. } | StoreError::Corrupt(_) => false,
        }
    }
    pub(crate) fn local_file(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::LocalFile {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

impl From<ApiError> for StoreError {
    fn from(e: ApiError) -> Self {
        StoreError::Rejected(e)
    }
}

/// A byte range `start..end` (`end` exclusive; `None` = to the end of the blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub end: Option<u64>,
}

/// The byte stream of a download.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, StoreError>> + Send>>;

/// Makes the body of an append, once per attempt (see [`Store::append_blob_from`]).
pub type BodySource = Arc<dyn Fn() -> ByteStream + Send + Sync>;

/// A blob being downloaded: metadata plus its bytes as a stream.
pub struct BlobDownload {
    /// The whole blob's size.
    pub size: u64,
    /// The bytes this download carries: `start..end`.
    pub start: u64,
    pub end: u64,
    pub content_type: String,
    /// The blob's sha256 (hex); also its ETag.
    pub sha256: String,
    /// The attachment name to save as (None for clips).
    pub file_name: Option<String>,
    pub body: ByteStream,
}

impl std::fmt::Debug for BlobDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobDownload")
            .field("size", &self.size)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("content_type", &self.content_type)
            .field("file_name", &self.file_name)
            .finish_non_exhaustive()
    }
}

impl BlobDownload {
    /// Collects the whole body into memory (small blobs, tests).
    pub async fn bytes(mut self) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity((self.end - self.start) as usize);
        while let Some(chunk) = self.body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// One shared store: the hub or a shared folder. Every method is safe to retry.
///
/// Posting is two steps: upload each blob ([`Store::create_blob`], then
/// [`Store::append_blob`] as bytes become available, then [`Store::seal_blob`] with the
/// size and sha256), then [`Store::commit_message`] with a client-chosen id. [`BlobUpload`]
/// does the blob part, resumably. What comes after a message (its transcript) is a
/// record about it ([`Store::commit_record`]), which the recipients' inbox pages carry.
#[async_trait]
pub trait Store: Send + Sync {
    /// The user this store acts as.
    async fn me(&self) -> Result<User, StoreError>;
    /// Every active user (recipient completion).
    async fn users(&self) -> Result<Vec<User>, StoreError>;
    /// What this store accepts.
    async fn limits(&self) -> Result<Limits, StoreError>;
    /// Every active user's profile: the [`User`] and, when they set them, their
    /// working hours, so the people one writes to can see when they work. The default
    /// is [`Store::users`] without working hours, for a store that keeps none.
    async fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        Ok(self.users().await?.into_iter().map(Profile::of).collect())
    }
    /// One active user's profile, mine or another's; [`ErrorCode::NotFound`] for a
    /// name that is not an active user of the store.
    async fn profile(&self, name: &UserName) -> Result<Profile, StoreError> {
        self.profiles()
            .await?
            .into_iter()
            .find(|p| &p.user.name == name)
            .ok_or_else(|| {
                StoreError::Rejected(ApiError::new(
                    ErrorCode::NotFound,
                    format!("{name} is not a user of this store: check the name's spelling"),
                ))
            })
    }
    /// Replaces my own time zone and working hours. The change is checked with
    /// [`pigeon_protocol::check_profile_update`] and nothing is stored when it is
    /// refused. It can only ever be mine: no call names another user. Returns my
    /// profile as stored. The default refuses: a store that keeps no profiles says so.
    async fn set_profile(&self, update: &ProfileUpdate) -> Result<Profile, StoreError> {
        let _ = update;
        Err(StoreError::Rejected(ApiError::invalid(
            "this store does not keep working hours: update the store's software",
        )))
    }

    /// Starts a blob upload; the store picks the id.
    async fn create_blob(&self, blob: &NewBlob) -> Result<BlobStatus, StoreError>;
    /// How many bytes the store has durably acknowledged (resume from there), and the
    /// sealed reference once sealed. Only the uploader sees its unsealed blobs.
    async fn blob_status(&self, id: &BlobId) -> Result<BlobStatus, StoreError>;
    /// Appends `bytes` at `offset`, which must equal the acknowledged size
    /// ([`ErrorCode::OffsetMismatch`] otherwise: ask [`Store::blob_status`] and resume).
    async fn append_blob(
        &self,
        id: &BlobId,
        offset: u64,
        bytes: Bytes,
    ) -> Result<BlobStatus, StoreError>;
    /// Appends `len` bytes at `offset` whose body `source` produces as a stream, so a large
    /// append is sent while it is read instead of after. `source` may be called again for
    /// a retry and must then produce the same bytes. The default collects the stream and
    /// calls [`Store::append_blob`].
    async fn append_blob_from(
        &self,
        id: &BlobId,
        offset: u64,
        len: u64,
        source: BodySource,
    ) -> Result<BlobStatus, StoreError> {
        let mut bytes = bytes::BytesMut::with_capacity(len as usize);
        let mut body = source();
        while let Some(piece) = body.next().await {
            bytes.extend_from_slice(&piece?);
        }
        self.append_blob(id, offset, bytes.freeze()).await
    }
    /// Seals the blob; the store verifies size and sha256 (and that a clip is an MP4
    /// with a video track) before anything can reference it. Sealing twice with the same
    /// values returns the same reference.
    async fn seal_blob(&self, id: &BlobId, seal: &SealBlob) -> Result<BlobRef, StoreError>;

    /// Commits a message referencing sealed blobs. Idempotent by `message.id`: the same
    /// message committed again returns the stored one, never a duplicate.
    async fn commit_message(&self, message: &NewMessage) -> Result<Message, StoreError>;
    /// A message the caller sent or received (fetching marks it delivered).
    async fn message(&self, id: &MessageId) -> Result<Message, StoreError>;
    /// Commits a record about a committed message (a transcript: only its sender may
    /// add one, naming their own sealed [`pigeon_protocol::BlobKind::Transcript`] blob;
    /// a reaction: any participant, one of [`pigeon_protocol::REACTIONS`]; a
    /// recipient's ✅ on an "acknowledge only" message also marks them responded).
    /// Idempotent by `record.id`: the same record again returns the stored one; a
    /// different record under the same id is [`ErrorCode::Conflict`]. The default
    /// refuses: a store that does not implement records says so.
    async fn commit_record(&self, record: &NewRecord) -> Result<Record, StoreError> {
        let _ = record;
        Err(records_unsupported())
    }
    /// The records about a message the caller sent or received, oldest first (a later
    /// transcript replaces an earlier: see [`pigeon_protocol::latest_transcript`]).
    /// Anyone else gets [`ErrorCode::NotFound`]. The default refuses, as
    /// [`Store::commit_record`] does.
    async fn records(&self, message: &MessageId) -> Result<Vec<Record>, StoreError> {
        let _ = message;
        Err(records_unsupported())
    }

    /// A page of the caller's inbox. Arrival-order pages also carry the records new
    /// since the cursor about messages the caller received or sent
    /// ([`InboxPage::records`]: one sync brings the reactions to what they sent too);
    /// `more` is true while either messages or records remain. A record about a
    /// received message comes no earlier than the page that carries its message.
    async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError>;
    /// Waits up to `timeout` for messages that arrived, or records that were added
    /// about received or sent messages, after `after` (an
    /// [`pigeon_protocol::InboxOrder::Arrival`] cursor; `None` = from the start).
    /// Returns at once if there are some; an empty page on timeout.
    async fn wait_inbox(
        &self,
        after: Option<&InboxCursor>,
        timeout: Duration,
    ) -> Result<InboxPage, StoreError>;
    /// Marks a received message viewed.
    async fn mark_viewed(&self, id: &MessageId) -> Result<(), StoreError>;
    /// Marks a received message done (responded without a reply).
    async fn mark_done(&self, id: &MessageId) -> Result<(), StoreError>;
    /// The sender's view: each recipient's receipt.
    async fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError>;

    /// Downloads a sealed blob the caller may read, optionally a byte range of it.
    async fn download(
        &self,
        id: &BlobId,
        range: Option<ByteRange>,
    ) -> Result<BlobDownload, StoreError>;
}

/// The refusal of a store that does not implement records.
fn records_unsupported() -> StoreError {
    StoreError::Rejected(ApiError::invalid(
        "this store does not support records (transcripts): update the store's software",
    ))
}

/// A store shared between tasks.
pub type SharedStore = Arc<dyn Store>;
