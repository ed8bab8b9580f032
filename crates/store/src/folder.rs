//! [`Store`] over a shared directory tree: no server. Safe when several machines write
//! at once because no file is ever rewritten: every file is written under a temporary
//! name and then linked/renamed to its final name, and a name is only ever created once.
//!
//! Layout (every name built from validated ids, never from display text):
//! ```text
//! pigeon-folder.json                         format version and limits
//! users/NAME.json                            User
//! blobs/ID/blob.json                         owner, kind, content type
//! blobs/ID/part-START-LENGTH                 bytes START..START+LENGTH
//! blobs/ID/sealed.json                       BlobRef (verified)
//! blobs/ID/refs/MESSAGE                      messages that reference the blob
//! messages/ID.json                           the committed message + its fingerprint
//! inbox/NAME/SENTMS-RESPONDBYMS-ID           one marker per received message
//! receipts/ID/NAME/{delivered,viewed,done,reply-ID}   timestamps (ms)
//! ```
//! A folder cannot authenticate: the identity is whatever user the app opens it as, and
//! anyone who can read the directory can read every file. The API still enforces who may
//! see what, so the app behaves the same as with a hub.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use pigeon_protocol::commit::{Commit, CommitFacts, StoredBlob};
use pigeon_protocol::seal::{Seal, SealStep};
use pigeon_protocol::{
    access, append, bad_cursor, check_new_blob, check_user, not_sealed_yet, range, ApiError,
    BlobId, BlobKind, BlobRef, BlobStatus, ErrorCode, InboxCursor, InboxEntry, InboxOrder,
    InboxPage, InboxQuery, Limits, Message, MessageId, MessageStatus, NewBlob, NewMessage, Receipt,
    SealBlob, User, UserName,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncSeekExt;
use tokio_util::io::ReaderStream;

use crate::{BlobDownload, ByteRange, Store, StoreError};

const FORMAT_FILE: &str = "pigeon-folder.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct FolderFormat {
    format: u32,
    limits: Limits,
}

#[derive(Debug, Serialize, Deserialize)]
struct BlobMeta {
    owner: UserName,
    kind: BlobKind,
    content_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredMessage {
    fingerprint: String,
    message: Message,
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

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Corrupt(format!("a folder task failed: {e}")))?
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// Creates `path` with `bytes` unless it exists; true when this call created it.
/// Temp file + fsync + hard link (atomic, never clobbers); rename where links are
/// unsupported (some network/synced drives).
fn write_new(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Corrupt(format!("{} has no parent", path.display())))?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if path.exists() {
        return Ok(false);
    }
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    let created = match std::fs::hard_link(&tmp, path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(_) => {
            if path.exists() {
                false
            } else {
                std::fs::rename(&tmp, path).map_err(io(path))?;
                return Ok(true);
            }
        }
    };
    let _ = std::fs::remove_file(&tmp);
    Ok(created)
}

fn write_json_new<T: Serialize>(path: &Path, value: &T) -> Result<bool, StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_new(path, &bytes)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn list_names(dir: &Path) -> Result<Vec<String>, StoreError> {
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut out = Vec::new();
            for entry in rd {
                let entry = entry.map_err(io(dir))?;
                if let Some(name) = entry.file_name().to_str() {
                    if !name.starts_with('.') {
                        out.push(name.to_string());
                    }
                }
            }
            Ok(out)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

fn not_found(what: &str) -> StoreError {
    StoreError::Rejected(ApiError::not_found(what))
}

/// One stored part of a blob.
#[derive(Debug, Clone)]
struct PartFile {
    start: u64,
    len: u64,
    path: PathBuf,
}

/// What a download reads: bytes `start..end` of a sealed blob made of `parts`.
struct DownloadPlan {
    sealed: BlobRef,
    file_name: Option<String>,
    start: u64,
    end: u64,
    parts: Vec<PartFile>,
}

/// One inbox marker's parsed name.
#[derive(Debug, Clone)]
struct Marker {
    sent_ms: i64,
    respond_ms: i64,
    id: MessageId,
}

impl Marker {
    fn parse(name: &str) -> Option<Self> {
        let mut it = name.splitn(3, '-');
        let sent_ms = it.next()?.parse().ok()?;
        let respond_ms = it.next()?.parse().ok()?;
        let id = MessageId::parse(it.next()?).ok()?;
        Some(Self {
            sent_ms,
            respond_ms,
            id,
        })
    }
    fn name(m: &Message) -> String {
        format!(
            "{:016}-{:016}-{}",
            m.sent_at.timestamp_millis(),
            m.respond_by.timestamp_millis(),
            m.id
        )
    }
    /// The sortable key of this marker in `order`, also the cursor text after its prefix.
    fn key(&self, order: InboxOrder) -> String {
        match order {
            InboxOrder::Arrival | InboxOrder::Newest => format!("{:016}-{}", self.sent_ms, self.id),
            InboxOrder::RespondBy => {
                format!("{:016}-{:016}-{}", self.respond_ms, self.sent_ms, self.id)
            }
        }
    }
}

fn cursor_prefix(order: InboxOrder) -> char {
    match order {
        InboxOrder::Arrival => 'a',
        InboxOrder::Newest => 'n',
        InboxOrder::RespondBy => 'r',
    }
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

    // ---- blobs ----

    fn blob_meta(&self, id: &BlobId) -> Result<Option<BlobMeta>, StoreError> {
        read_json(&self.blob_dir(id).join("blob.json"))
    }

    fn owned_blob(&self, id: &BlobId) -> Result<BlobMeta, StoreError> {
        match self.blob_meta(id)? {
            Some(m) if m.owner == self.me.name => Ok(m),
            _ => Err(not_found("blob")),
        }
    }

    fn sealed(&self, id: &BlobId) -> Result<Option<BlobRef>, StoreError> {
        read_json(&self.blob_dir(id).join("sealed.json"))
    }

    /// The contiguous parts from byte 0 and where they end.
    fn parts(&self, id: &BlobId) -> Result<(u64, Vec<PartFile>), StoreError> {
        let dir = self.blob_dir(id);
        let mut all: Vec<PartFile> = list_names(&dir)?
            .into_iter()
            .filter_map(|name| {
                let rest = name.strip_prefix("part-")?;
                let (s, l) = rest.split_once('-')?;
                Some(PartFile {
                    start: s.parse().ok()?,
                    len: l.parse().ok()?,
                    path: dir.join(&name),
                })
            })
            .collect();
        // Two writers may both have stored a part at one offset: the longest wins.
        all.sort_by(|a, b| a.start.cmp(&b.start).then(b.len.cmp(&a.len)));
        let mut pos = 0;
        let mut chain = Vec::new();
        for p in all {
            if p.start == pos && p.len > 0 {
                pos += p.len;
                chain.push(p);
            }
        }
        Ok((pos, chain))
    }

    fn status(&self, id: &BlobId, meta: &BlobMeta) -> Result<BlobStatus, StoreError> {
        let (acknowledged, _) = self.parts(id)?;
        Ok(BlobStatus {
            id: id.clone(),
            kind: meta.kind,
            content_type: meta.content_type.clone(),
            acknowledged,
            sealed: self.sealed(id)?,
        })
    }

    fn create_blob(&self, req: &NewBlob) -> Result<BlobStatus, StoreError> {
        check_new_blob(req)?;
        let id = BlobId::parse(uuid::Uuid::new_v4().simple().to_string())
            .map_err(|e| StoreError::Corrupt(e.0))?;
        let meta = BlobMeta {
            owner: self.me.name.clone(),
            kind: req.kind,
            content_type: req.content_type.clone(),
        };
        write_json_new(&self.blob_dir(&id).join("blob.json"), &meta)?;
        self.status(&id, &meta)
    }

    fn append(&self, id: &BlobId, offset: u64, bytes: &[u8]) -> Result<BlobStatus, StoreError> {
        let meta = self.owned_blob(id)?;
        let (ack, _) = self.parts(id)?;
        append::check_start(self.sealed(id)?.is_some(), ack, offset)?;
        let len = bytes.len() as u64;
        append::check_len(&self.limits, meta.kind, offset, len)?;
        if len > 0 {
            let path = self
                .blob_dir(id)
                .join(format!("part-{offset:020}-{len:020}"));
            write_new(&path, bytes)?;
        }
        self.status(id, &meta)
    }

    fn read_range(parts: &[PartFile], start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
        let mut out = Vec::with_capacity((end - start) as usize);
        for p in parts {
            let (a, b) = (start.max(p.start), end.min(p.start + p.len));
            if a >= b {
                continue;
            }
            let mut f = std::fs::File::open(&p.path).map_err(io(&p.path))?;
            f.seek(SeekFrom::Start(a - p.start)).map_err(io(&p.path))?;
            let mut buf = vec![0u8; (b - a) as usize];
            f.read_exact(&mut buf).map_err(io(&p.path))?;
            out.extend_from_slice(&buf);
        }
        Ok(out)
    }

    /// The sha256 (hex) of the first `size` bytes of `parts`.
    fn hash_parts(parts: &[PartFile], size: u64) -> Result<String, StoreError> {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1024 * 1024];
        let mut left_total = size;
        for p in parts {
            let mut f = std::fs::File::open(&p.path).map_err(io(&p.path))?;
            let mut left = p.len.min(left_total);
            left_total -= left;
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                let n = f.read(&mut buf[..want]).map_err(io(&p.path))?;
                if n == 0 {
                    return Err(StoreError::Corrupt(format!(
                        "{} is shorter than its name says",
                        p.path.display()
                    )));
                }
                h.update(&buf[..n]);
                left -= n as u64;
            }
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Drives the protocol's seal over the blob's part files.
    fn seal(&self, id: &BlobId, req: &SealBlob) -> Result<BlobRef, StoreError> {
        let meta = self.owned_blob(id)?;
        let (ack, parts) = self.parts(id)?;
        let mut seal = Seal::begin(
            id,
            meta.kind,
            &meta.content_type,
            ack,
            self.sealed(id)?,
            req,
        );
        loop {
            match seal.next_step() {
                SealStep::Hash { size } => seal.hashed(&Self::hash_parts(&parts, size)?),
                SealStep::Read { offset, len } => {
                    let end = offset.saturating_add(len).min(ack);
                    seal.feed(&Self::read_range(&parts, offset.min(end), end)?)
                }
                SealStep::AlreadySealed(sealed) => return Ok(sealed),
                SealStep::Refused(e) => return Err(e.into()),
                SealStep::Seal(sealed) => {
                    write_json_new(&self.blob_dir(id).join("sealed.json"), &sealed)?;
                    // Another writer may have sealed first: report what is stored.
                    return self
                        .sealed(id)?
                        .ok_or_else(|| StoreError::Corrupt("the seal did not persist".into()));
                }
            }
        }
    }

    // ---- messages ----

    fn stored(&self, id: &MessageId) -> Result<Option<StoredMessage>, StoreError> {
        read_json(&self.message_path(id))
    }

    fn visible(&self, id: &MessageId) -> Result<Message, StoreError> {
        let m = self
            .stored(id)?
            .ok_or_else(|| not_found("message"))?
            .message;
        if access::may_read(&m, &self.me.name) {
            Ok(m)
        } else {
            Err(not_found("message"))
        }
    }

    /// A blob as a commit needs to know it.
    fn stored_blob(&self, id: &BlobId) -> Result<Option<StoredBlob>, StoreError> {
        Ok(match self.blob_meta(id)? {
            Some(meta) => Some(StoredBlob {
                owner: meta.owner,
                kind: meta.kind,
                sealed: self.sealed(id)?,
            }),
            None => None,
        })
    }

    /// Creates the inbox markers and reply receipt of a committed message; repeating it
    /// repairs a commit that was interrupted after the message file was written.
    fn deliver(&self, m: &Message) -> Result<(), StoreError> {
        let marker = Marker::name(m);
        for r in &m.recipients {
            write_new(&self.inbox_dir(r).join(&marker), b"")?;
        }
        if let Some(parent) = &m.in_reply_to {
            if let Some(p) = self.stored(parent)? {
                if p.message.recipients.contains(&m.sender) {
                    let path = self
                        .receipt_dir(parent, &m.sender)
                        .join(format!("reply-{}", m.id));
                    write_new(&path, m.sent_at.timestamp_millis().to_string().as_bytes())?;
                }
            }
        }
        Ok(())
    }

    /// Drives the protocol's commit over the folder's files.
    fn commit(&self, req: &NewMessage) -> Result<Message, StoreError> {
        let commit = Commit::new(req, &self.me.name)?;
        let existing = |stored: StoredMessage| -> Result<Message, StoreError> {
            commit.retry_of(stored.message.sender.as_str(), &stored.fingerprint)?;
            self.deliver(&stored.message)?;
            Ok(stored.message)
        };
        if let Some(stored) = self.stored(&req.id)? {
            return existing(stored);
        }
        let at = now();
        commit.check(&self.limits, at)?;
        let facts = CommitFacts {
            unknown_recipients: commit
                .recipients()
                .iter()
                .filter(|r| !self.user_path(r).exists())
                .cloned()
                .collect(),
            blobs: commit
                .blobs()
                .into_iter()
                .map(|id| self.stored_blob(id))
                .collect::<Result<_, _>>()?,
            parent: match commit.parent() {
                Some(parent) => self.stored(parent)?.map(|p| p.message),
                None => None,
            },
        };
        let message = commit.resolve(facts, at)?;
        // Blob references first, so recipients can download as soon as they see it.
        for blob in std::iter::once(&message.clip.id)
            .chain(message.attachments.iter().map(|a| &a.blob.id))
            .chain(message.poster.iter().map(|p| &p.id))
        {
            write_new(
                &self.blob_dir(blob).join("refs").join(message.id.as_str()),
                b"",
            )?;
        }
        let stored = StoredMessage {
            fingerprint: commit.fingerprint().to_string(),
            message,
        };
        if !write_json_new(&self.message_path(&req.id), &stored)? {
            // Another machine committed this id between our check and our write.
            let other = self
                .stored(&req.id)?
                .ok_or_else(|| StoreError::Corrupt("message vanished".into()))?;
            return existing(other);
        }
        self.deliver(&stored.message)?;
        Ok(stored.message)
    }

    fn receipt(&self, id: &MessageId, user: &UserName) -> Result<Receipt, StoreError> {
        let dir = self.receipt_dir(id, user);
        let read_ms = |name: &str| -> Option<DateTime<Utc>> {
            let text = std::fs::read_to_string(dir.join(name)).ok()?;
            DateTime::from_timestamp_millis(text.trim().parse().ok()?)
        };
        let (mut delivered, mut viewed, mut done) = (None, None, None);
        let mut first_reply: Option<(DateTime<Utc>, MessageId)> = None;
        for name in list_names(&dir)? {
            match name.as_str() {
                "delivered" => delivered = read_ms(&name),
                "viewed" => viewed = read_ms(&name),
                "done" => done = read_ms(&name),
                other => {
                    let reply = other
                        .strip_prefix("reply-")
                        .and_then(|r| MessageId::parse(r).ok());
                    if let (Some(reply), Some(t)) = (reply, read_ms(&name)) {
                        if first_reply
                            .as_ref()
                            .is_none_or(|first| (t, &reply) < (first.0, &first.1))
                        {
                            first_reply = Some((t, reply));
                        }
                    }
                }
            }
        }
        Ok(Receipt::assemble(
            user.clone(),
            delivered,
            viewed,
            done,
            first_reply,
        ))
    }

    fn mark_receipt(&self, id: &MessageId, user: &UserName, name: &str) -> Result<(), StoreError> {
        let stamp = now().timestamp_millis().to_string();
        write_new(&self.receipt_dir(id, user).join(name), stamp.as_bytes())?;
        Ok(())
    }

    fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
        let m = self.visible(id)?;
        if access::may_mark(&m, &self.me.name) {
            self.mark_receipt(id, &self.me.name, "delivered")?;
        }
        Ok(m)
    }

    fn mark(&self, id: &MessageId, what: &str) -> Result<(), StoreError> {
        let m = self.visible(id)?;
        if !access::may_mark(&m, &self.me.name) {
            return Err(not_found("message"));
        }
        self.mark_receipt(id, &self.me.name, "delivered")?;
        self.mark_receipt(id, &self.me.name, what)
    }

    fn message_status(&self, id: &MessageId) -> Result<MessageStatus, StoreError> {
        let m = self.visible(id)?;
        if !access::may_see_status(&m, &self.me.name) {
            return Err(not_found("message"));
        }
        let mut receipts = Vec::new();
        for r in &m.recipients {
            receipts.push(self.receipt(id, r)?);
        }
        receipts.sort_by(|a, b| a.recipient.cmp(&b.recipient));
        Ok(MessageStatus {
            message: id.clone(),
            receipts,
        })
    }

    fn inbox(&self, q: &InboxQuery) -> Result<InboxPage, StoreError> {
        let order = q.order;
        let prefix = cursor_prefix(order);
        let after = match &q.after {
            None => None,
            Some(c) => {
                c.check()?;
                Some(c.0.strip_prefix(prefix).ok_or_else(bad_cursor)?.to_string())
            }
        };
        let mut markers: Vec<(String, Marker)> = list_names(&self.inbox_dir(&self.me.name))?
            .iter()
            .filter_map(|n| Marker::parse(n))
            .map(|m| (m.key(order), m))
            .filter(|(k, _)| match (&after, order) {
                (None, _) => true,
                (Some(a), InboxOrder::Newest) => k < a,
                (Some(a), _) => k > a,
            })
            .collect();
        markers.sort_by(|a, b| a.0.cmp(&b.0));
        if order == InboxOrder::Newest {
            markers.reverse();
        }
        let limit = self.limits.page_size(Some(u64::from(q.limit))) as usize;
        let more = markers.len() > limit;
        markers.truncate(limit);
        let mut entries = Vec::new();
        for (_, marker) in &markers {
            let Some(stored) = self.stored(&marker.id)? else {
                // The message file has not synced to this machine yet.
                continue;
            };
            let mut receipt = self.receipt(&marker.id, &self.me.name)?;
            if receipt.delivered_at.is_none() {
                self.mark_receipt(&marker.id, &self.me.name, "delivered")?;
                receipt.delivered_at = Some(now());
            }
            entries.push(InboxEntry {
                message: stored.message,
                receipt,
            });
        }
        let next = markers
            .last()
            .map(|(k, _)| InboxCursor(format!("{prefix}{k}")))
            .or_else(|| q.after.clone());
        Ok(InboxPage {
            entries,
            next,
            more,
        })
    }

    fn download_plan(
        &self,
        id: &BlobId,
        range: Option<ByteRange>,
    ) -> Result<DownloadPlan, StoreError> {
        let meta = self.blob_meta(id)?.ok_or_else(|| not_found("blob"))?;
        let mut name = None;
        let mut referenced_visibly = false;
        for mid in list_names(&self.blob_dir(id).join("refs"))? {
            let Ok(mid) = MessageId::parse(mid) else {
                continue;
            };
            if let Ok(m) = self.visible(&mid) {
                referenced_visibly = true;
                if let Some(a) = m.attachments.iter().find(|a| &a.blob.id == id) {
                    name = Some(a.name.clone());
                    break;
                }
            }
        }
        if !access::may_read_blob(&meta.owner, &self.me.name, referenced_visibly) {
            return Err(not_found("blob"));
        }
        let sealed = self.sealed(id)?.ok_or_else(not_sealed_yet)?;
        let (start, end) = match range {
            None => (0, sealed.size),
            Some(r) => range::check_bounds(r.start, r.end, sealed.size)?,
        };
        let (_, parts) = self.parts(id)?;
        Ok(DownloadPlan {
            file_name: access::download_name(sealed.kind, name),
            sealed,
            start,
            end,
            parts,
        })
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
        Ok(self.folder.me.clone())
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        self.run(|f| f.users()).await
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
            if !page.entries.is_empty() || now >= deadline {
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

    #[test]
    fn markers_sort_by_arrival_and_respond_by() {
        let m = Marker::parse("0000001700000000-0000001800000000-0123456789abcdef").unwrap();
        assert_eq!(
            m.key(InboxOrder::Arrival),
            "0000001700000000-0123456789abcdef"
        );
        assert!(m
            .key(InboxOrder::RespondBy)
            .starts_with("0000001800000000-"));
        assert!(Marker::parse("../../x").is_none());
    }
}
