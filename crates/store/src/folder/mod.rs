//! [`Store`] over a shared directory tree: no server. Safe when several machines write
//! at once because no file is ever rewritten: every file is written under a temporary
//! name and then linked/renamed to its final name, and a name is only ever created once.
//!
//! Layout (every name built from validated ids, never from display text):
//! ```text
//! pigeon-folder.json                         format version and limits
//! users/NAME.json                            User
//! profiles/NAME/MS-ID.json                   ProfileUpdate (the latest is NAME's zone and working hours)
//! blobs/ID/blob.json                         owner, kind, content type
//! blobs/ID/part-START-LENGTH                 bytes START..START+LENGTH
//! blobs/ID/sealed.json                       BlobRef (verified)
//! blobs/ID/refs/MESSAGE                      messages that reference the blob
//! messages/ID.json                           the committed message + its fingerprint
//! inbox/NAME/SENTMS-RESPONDBYMS-ID           one marker per received message
//! receipts/ID/NAME/{delivered,viewed,done,reply-ID}   timestamps (ms)
//! records/ID.json                            a record about a message + its fingerprint
//! records-of/MESSAGE/CREATEDMS-ID            one marker per record about the message
//! record-inbox/NAME/CREATEDMS-ID             one marker per record about a message NAME received or sent
//! ```
//! A folder cannot authenticate: the identity is whatever user the app opens it as, and
//! anyone who can read the directory can read every file. The API still enforces who may
//! see what, so the app behaves the same as with a hub.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use pigeon_protocol::{
    check_user, ApiError, BlobId, BlobRef, BlobStatus, ErrorCode, InboxCursor, InboxOrder,
    InboxPage, InboxQuery, Limits, Message, MessageId, MessageStatus, NewBlob, NewMessage,
    NewRecord, Profile, ProfileUpdate, Record, SealBlob, User, UserName,
};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncSeekExt;
use tokio_util::io::ReaderStream;

use crate::{BlobDownload, ByteRange, Store, StoreError};

mod blobs;
mod files;
mod inbox;
mod messages;
mod profiles;
mod records;

use blobs::DownloadPlan;
use files::*;

const FORMAT_FILE: &str = "pigeon-folder.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct FolderFormat {
    format: u32,
    limits: Limits,
}

/// A shared folder opened as one user.
#[derive(Clone)]
pub struct FolderStore {
    folder: Arc<Folder>,
    poll: Duration,
}

impl std::fmt::Debug for FolderStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderStore")
            .field("root", &self.folder.root)
            .field("user", &self.folder.me.name)
            .finish()
    }
}

struct Folder {
    root: PathBuf,
    me: User,
    limits: Limits,
}

pub(super) fn not_found(what: &str) -> StoreError {
    StoreError::Rejected(ApiError::not_found(what))
}

impl Folder {
    fn users_dir(&self) -> PathBuf {
        self.root.join("users")
    }
    fn user_path(&self, name: &UserName) -> PathBuf {
        self.users_dir().join(format!("{name}.json"))
    }
    fn blob_dir(&self, id: &BlobId) -> PathBuf {
        self.root.join("blobs").join(id.as_str())
    }
    fn message_path(&self, id: &MessageId) -> PathBuf {
        self.root.join("messages").join(format!("{id}.json"))
    }
    fn inbox_dir(&self, user: &UserName) -> PathBuf {
        self.root.join("inbox").join(user.as_str())
    }
    fn receipt_dir(&self, id: &MessageId, user: &UserName) -> PathBuf {
        self.root
            .join("receipts")
            .join(id.as_str())
            .join(user.as_str())
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let dir = self.users_dir();
        let mut out = Vec::new();
        for name in list_names(&dir)? {
            if name.ends_with(".json") {
                if let Some(u) = read_json::<User>(&dir.join(&name))? {
                    out.push(u);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl FolderStore {
    /// Prepares `root` as a shared folder (idempotent; keeps existing limits).
    pub async fn init(root: &Path, limits: Limits) -> Result<(), StoreError> {
        let root = root.to_path_buf();
        blocking(move || {
            for dir in ["users", "blobs", "messages", "inbox", "receipts"] {
                let d = root.join(dir);
                std::fs::create_dir_all(&d).map_err(io(&d))?;
            }
            write_json_new(
                &root.join(FORMAT_FILE),
                &FolderFormat {
                    format: FORMAT_VERSION,
                    limits,
                },
            )?;
            Ok(())
        })
        .await
    }

    /// Adds a user to the folder (fails with [`ErrorCode::Conflict`] if the name is taken).
    pub async fn add_user(root: &Path, user: &User) -> Result<(), StoreError> {
        check_user(user)?;
        let path = root.join("users").join(format!("{}.json", user.name));
        let user = user.clone();
        blocking(move || {
            if write_json_new(&path, &user)? {
                Ok(())
            } else {
                Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("user {} already exists in this folder", user.name),
                )
                .into())
            }
        })
        .await
    }

    /// Opens a prepared folder as `user`.
    pub async fn open(root: &Path, user: &UserName) -> Result<Self, StoreError> {
        let root = root.to_path_buf();
        let name = user.clone();
        let folder = blocking(move || {
            let format: FolderFormat = read_json(&root.join(FORMAT_FILE))?.ok_or_else(|| {
                StoreError::io(
                    root.join(FORMAT_FILE),
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "not a Pigeon shared folder (run init first)",
                    ),
                )
            })?;
            if format.format != FORMAT_VERSION {
                return Err(StoreError::Corrupt(format!(
                    "the folder uses format {}, this app knows {FORMAT_VERSION}: update Pigeon",
                    format.format
                )));
            }
            let me: User = read_json(&root.join("users").join(format!("{name}.json")))?
                .ok_or_else(|| not_found("user"))?;
            Ok(Folder {
                root,
                me,
                limits: format.limits,
            })
        })
        .await?;
        Ok(Self {
            folder: Arc::new(folder),
            poll: Duration::from_secs(1),
        })
    }

    /// Zero-setup: prepares `root` if needed, adds `user` unless a user of that name exists,
    /// and opens the folder as them. What a new installation calls for its default store.
    pub async fn open_or_create(
        root: &Path,
        user: &User,
        limits: Limits,
    ) -> Result<Self, StoreError> {
        Self::init(root, limits).await?;
        match Self::add_user(root, user).await {
            Ok(()) => {}
            Err(e) if e.code() == Some(ErrorCode::Conflict) => {}
            Err(e) => return Err(e),
        }
        Self::open(root, &user.name).await
    }

    /// How often [`Store::wait_inbox`] looks at the folder (it cannot be notified:
    /// network and synced drives do not deliver file events reliably).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Folder) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let folder = self.folder.clone();
        blocking(move || f(&folder)).await
    }
}

#[async_trait]
impl Store for FolderStore {
    async fn me(&self) -> Result<User, StoreError> {
        // The zone may have changed since the folder was opened (a profile change).
        self.run(|f| f.profile_of(f.me.clone()).map(|p| p.user))
            .await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|f| Ok(f.profiles()?.into_iter().map(|p| p.user).collect()))
            .await
    }

    async fn profiles(&self) -> Result<Vec<Profile>, StoreError> {
        self.run(|f| f.profiles()).await
    }

    async fn set_profile(&self, update: &ProfileUpdate) -> Result<Profile, StoreError> {
        let update = update.clone();
        self.run(move |f| f.set_profile(&update)).await
    }

    async fn limits(&self) -> Result<Limits, StoreError> {
        Ok(self.folder.limits.clone())
    }

    async fn create_blob(&self, blob: &NewBlob) -> Result<BlobStatus, StoreError> {
        let blob = blob.clone();
        self.run(move |f| f.create_blob(&blob)).await
    }

    async fn blob_status(&self, id: &BlobId) -> Result<BlobStatus, StoreError> {
        let id = id.clone();
        self.run(move |f| {
            let meta = f.owned_blob(&id)?;
            f.status(&id, &meta)
        })
        .await
    }

    async fn append_blob(
        &self,
        id: &BlobId,
        offset: u64,
        bytes: Bytes,
    ) -> Result<BlobStatus, StoreError> {
        let id = id.clone();
        self.run(move |f| f.append(&id, offset, &bytes)).await
    }

    async fn seal_blob(&self, id: &BlobId, seal: &SealBlob) -> Result<BlobRef, StoreError> {
        let (id, seal) = (id.clone(), seal.clone());
        self.run(move |f| f.seal(&id, &seal)).await
    }

    async fn commit_message(&self, message: &NewMessage) -> Result<Message, StoreError> {
        let message = message.clone();
        self.run(move |f| f.commit(&message)).await
    }

    async fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
        let id = id.clone();
        self.run(move |f| f.message(&id)).await
    }

    async fn commit_record(&self, record: &NewRecord) -> Result<Record, StoreError> {
        let record = record.clone();
        self.run(move |f| f.commit_record(&record)).await
    }

    async fn records(&self, message: &MessageId) -> Result<Vec<Record>, StoreError> {
        let message = message.clone();
        self.run(move |f| f.records(&message)).await
    }

    async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let query = query.clone();
        self.run(move |f| f.inbox(&query)).await
    }

    async fn wait_inbox(
        &self,
        after: Option<&InboxCursor>,
        timeout: Duration,
    ) -> Result<InboxPage, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let query = InboxQuery {
            order: InboxOrder::Arrival,
            after: after.cloned(),
            limit: 50,
        };
        loop {
            let page = self.inbox(&query).await?;
            let now = tokio::time::Instant::now();
            if !page.entries.is_empty() || !page.records.is_empty() || now >= deadline {
                return Ok(page);
            }
            tokio::time::sleep(self.poll.min(deadline - now)).await;
        }
    }

    async fn mark_viewed(&self, id: &MessageId) -> Result<(), StoreError> {
        let id = id.clone();
        self.run(move |f| f.mark(&id, "viewed")).await
    }

    async fn mark_done(&self, id: &MessageId) -> Result<(), StoreError> {
        let id = id.clone();
        self.run(move |f| f.mark(&id, "done")).await
    }

    async fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError> {
        let id = id.clone();
        self.run(move |f| f.message_status(&id)).await
    }

    async fn download(
        &self,
        id: &BlobId,
        range: Option<ByteRange>,
    ) -> Result<BlobDownload, StoreError> {
        let id = id.clone();
        let DownloadPlan {
            sealed,
            file_name,
            start,
            end,
            parts,
        } = self.run(move |f| f.download_plan(&id, range)).await?;
        let pieces: Vec<(PathBuf, u64, u64)> = parts
            .into_iter()
            .filter_map(|p| {
                let (a, b) = (start.max(p.start), end.min(p.start + p.len));
                (a < b).then(|| (p.path, a - p.start, b - a))
            })
            .collect();
        let body = stream::iter(pieces)
            .then(|(path, skip, len)| async move {
                let mut f = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| StoreError::io(&path, e))?;
                f.seek(SeekFrom::Start(skip))
                    .await
                    .map_err(|e| StoreError::io(&path, e))?;
                let reader = tokio::io::AsyncReadExt::take(f, len);
                Ok::<_, StoreError>(
                    ReaderStream::new(reader).map_err(move |e| StoreError::io(&path, e)),
                )
            })
            .try_flatten()
            .boxed();
        Ok(BlobDownload {
            size: sealed.size,
            start,
            end,
            content_type: sealed.content_type,
            sha256: sealed.sha256,
            file_name,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> User {
        User {
            name: UserName::parse(name).unwrap(),
            display_name: name.to_string(),
            time_zone: "UTC".into(),
        }
    }

    #[tokio::test]
    async fn open_or_create_is_idempotent_and_never_rewrites() {
        let dir = tempfile::tempdir().unwrap();
        let a = FolderStore::open_or_create(dir.path(), &user("ann"), Limits::default())
            .await
            .unwrap();
        let format = std::fs::read(dir.path().join(FORMAT_FILE)).unwrap();
        // A second machine joining with other limits keeps the folder's own.
        let other = Limits {
            max_recipients: 1,
            ..Limits::default()
        };
        let b = FolderStore::open_or_create(dir.path(), &user("ann"), other)
            .await
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join(FORMAT_FILE)).unwrap(), format);
        assert_eq!(a.limits().await.unwrap(), b.limits().await.unwrap());
        assert_eq!(b.users().await.unwrap().len(), 1);
    }

    #[test]
    fn write_new_creates_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        assert!(write_new(&p, b"first").unwrap());
        assert!(!write_new(&p, b"second").unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
