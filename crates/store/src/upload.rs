//! Resumable blob upload over any [`Store`], from memory or from a file that may still
//! be growing.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use pigeon_protocol::{BlobId, BlobKind, BlobRef, ErrorCode, NewBlob, SealBlob};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};

use crate::{BodySource, ByteStream, Store, StoreError};

/// Default bytes per append request. Each request ends with the store making its bytes
/// durable before it answers, a pause in which nothing is sent, so requests are large;
/// the body streams from the file in small pieces, so memory does not grow with it. The
/// price: a connection that breaks mid-request loses up to this many sent bytes.
pub const DEFAULT_CHUNK_BYTES: usize = 64 * 1024 * 1024;
/// Bytes per piece of a streamed append body (see `file_body`).
const PIECE_BYTES: usize = 1024 * 1024;
/// Pieces read and hashed ahead of the socket.
const PIECES_AHEAD: usize = 4;
/// How often an upload re-asks the store before giving up on offset races.
const MAX_RESYNCS: u32 = 20;

/// Progress of one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadProgress {
    pub blob: BlobId,
    /// Bytes the store has acknowledged.
    pub acknowledged: u64,
    /// Total size, when known (the file is complete).
    pub total: Option<u64>,
}

/// Called after every acknowledged chunk.
pub type ProgressFn = Arc<dyn Fn(&UploadProgress) + Send + Sync>;

/// One blob's upload. Keeps a running sha256 of the blob's bytes as they are read for
/// sending, in order, so sealing a just-uploaded file does not read it twice; after a
/// resume it hashes the file.
pub struct BlobUpload {
    store: Arc<dyn Store>,
    id: BlobId,
    acknowledged: u64,
    /// Shared with the threads that read and hash file pieces while they are sent.
    hash: Arc<Mutex<RunningHash>>,
    chunk_bytes: usize,
    progress: Option<ProgressFn>,
}

impl std::fmt::Debug for BlobUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobUpload")
            .field("id", &self.id)
            .field("acknowledged", &self.acknowledged)
            .finish_non_exhaustive()
    }
}

impl BlobUpload {
    /// Creates a new blob on the store.
    pub async fn start(
        store: Arc<dyn Store>,
        kind: BlobKind,
        content_type: &str,
    ) -> Result<Self, StoreError> {
        let status = store
            .create_blob(&NewBlob {
                kind,
                content_type: content_type.to_string(),
            })
            .await?;
        Ok(Self::at(store, status.id, status.acknowledged))
    }

    /// Continues an upload (after a crash or restart): asks the store where it stands.
    pub async fn resume(store: Arc<dyn Store>, id: BlobId) -> Result<Self, StoreError> {
        let status = store.blob_status(&id).await?;
        Ok(Self::at(store, id, status.acknowledged))
    }

    fn at(store: Arc<dyn Store>, id: BlobId, acknowledged: u64) -> Self {
        Self {
            store,
            id,
            acknowledged,
            hash: Arc::new(Mutex::new(RunningHash {
                hashed: 0,
                hasher: Sha256::new(),
            })),
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            progress: None,
        }
    }

    /// Bytes per append request.
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.chunk_bytes = bytes.max(1);
        self
    }

    /// Calls `f` after every acknowledged chunk.
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The blob's id (persist it to resume later).
    pub fn id(&self) -> &BlobId {
        &self.id
    }

    /// Bytes the store has acknowledged, as last known.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }

    /// Asks the store how much it has acknowledged.
    pub async fn refresh(&mut self) -> Result<u64, StoreError> {
        self.acknowledged = self.store.blob_status(&self.id).await?.acknowledged;
        Ok(self.acknowledged)
    }

    fn report(&self, total: Option<u64>) {
        if let Some(f) = &self.progress {
            f(&UploadProgress {
                blob: self.id.clone(),
                acknowledged: self.acknowledged,
                total,
            });
        }
    }

    /// Appends bytes that start at `offset` of the blob. Bytes the store already has are
    /// skipped, so announcing the same range twice is harmless; a gap is an error.
    pub async fn send_bytes(&mut self, offset: u64, bytes: Bytes) -> Result<u64, StoreError> {
        let end = offset + bytes.len() as u64;
        let mut resyncs = 0;
        while self.acknowledged < end {
            if self.acknowledged < offset {
                return Err(StoreError::Corrupt(format!(
                    "bytes {offset}..{end} leave a gap after the acknowledged {}: send the missing bytes first",
                    self.acknowledged
                )));
            }
            let from = (self.acknowledged - offset) as usize;
            let to = (from + self.chunk_bytes).min(bytes.len());
            let chunk = bytes.slice(from..to);
            self.append(chunk, &mut resyncs, None).await?;
        }
        Ok(self.acknowledged)
    }

    async fn append(
        &mut self,
        chunk: Bytes,
        resyncs: &mut u32,
        total: Option<u64>,
    ) -> Result<(), StoreError> {
        let at = self.acknowledged;
        match self.store.append_blob(&self.id, at, chunk.clone()).await {
            Ok(status) => {
                self.hash.lock().map_err(poisoned)?.extend(at, &chunk);
                self.acknowledged = status.acknowledged;
                self.report(total);
                Ok(())
            }
            Err(e) => self.recover(e, resyncs).await,
        }
    }

    /// Handles the append failures an upload can continue after: an offset race (a lost
    /// response, another writer) and chunks larger than the store accepts.
    async fn recover(&mut self, e: StoreError, resyncs: &mut u32) -> Result<(), StoreError> {
        if *resyncs >= MAX_RESYNCS {
            return Err(e);
        }
        let chunk_limit = e
            .api()
            .and_then(|a| a.limit.as_ref())
            .filter(|l| {
                l.limit == "max_chunk_bytes" && l.max > 0 && (l.max as usize) < self.chunk_bytes
            })
            .map(|l| l.max as usize);
        if let Some(max) = chunk_limit {
            *resyncs += 1;
            tracing::debug!(blob = %self.id, max, "the store takes smaller chunks");
            self.chunk_bytes = max;
            return Ok(());
        }
        if e.code() == Some(ErrorCode::OffsetMismatch) {
            // A response was lost or another writer moved on: ask and continue.
            *resyncs += 1;
            tracing::debug!(blob = %self.id, "offset mismatch: asking the store where the upload stands");
            self.refresh().await?;
            return Ok(());
        }
        Err(e)
    }

    /// Sends bytes `acknowledged..end` of `file` (a growing file: `end` is the end of the
    /// last complete fragment the recorder announced).
    pub async fn send_file_until(&mut self, file: &Path, end: u64) -> Result<u64, StoreError> {
        self.send_file(file, end, None).await
    }

    async fn send_file(
        &mut self,
        file: &Path,
        end: u64,
        total: Option<u64>,
    ) -> Result<u64, StoreError> {
        let mut resyncs = 0;
        while self.acknowledged < end {
            let at = self.acknowledged;
            let len = (end - at).min(self.chunk_bytes as u64);
            let (path, hash) = (file.to_path_buf(), self.hash.clone());
            // Each attempt streams the range from the file afresh; the running hash only
            // takes bytes it has not seen, so a retried range is not hashed twice.
            let source: BodySource =
                Arc::new(move || file_body(path.clone(), at, at + len, hash.clone()));
            match self.store.append_blob_from(&self.id, at, len, source).await {
                Ok(status) => {
                    self.acknowledged = status.acknowledged;
                    self.report(total);
                }
                Err(e) => self.recover(e, &mut resyncs).await?,
            }
        }
        Ok(self.acknowledged)
    }

    /// Sends whatever `file` has beyond the acknowledged bytes, then seals with its size
    /// and sha256. Call when the file is complete (the recorder stopped).
    pub async fn seal_file(&mut self, file: &Path) -> Result<BlobRef, StoreError> {
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| StoreError::local_file(file, e))?
            .len();
        self.send_file(file, size, Some(size)).await?;
        let running = self.hash.lock().map(|h| h.clone()).map_err(poisoned)?;
        if running.hashed > size {
            return Err(StoreError::Corrupt(format!(
                "{} shrank below the bytes already uploaded: upload it as a new blob",
                file.display()
            )));
        }
        // Hash whatever the running hash did not see (all of it after a resume).
        let path = file.to_path_buf();
        let running = tokio::task::spawn_blocking(move || {
            let mut running = running;
            let mut f = std::fs::File::open(&path).map_err(|e| StoreError::local_file(&path, e))?;
            f.seek(SeekFrom::Start(running.hashed))
                .map_err(|e| StoreError::local_file(&path, e))?;
            // Up to `size` only: bytes a still growing file gained are not part of this seal.
            let mut f = f.take(size - running.hashed);
            let mut buf = vec![0u8; PIECE_BYTES];
            loop {
                let n = f
                    .read(&mut buf)
                    .map_err(|e| StoreError::local_file(&path, e))?;
                if n == 0 {
                    return Ok::<_, StoreError>(running);
                }
                running.hasher.update(&buf[..n]);
                running.hashed += n as u64;
            }
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("a hashing task failed: {e}")))??;
        if running.hashed != size {
            return Err(StoreError::Corrupt(format!(
                "{} shrank while it was uploaded: upload it as a new blob",
                file.display()
            )));
        }
        let sha256 = hex::encode(running.hasher.clone().finalize());
        *self.hash.lock().map_err(poisoned)? = running;
        self.seal(size, sha256).await
    }

    /// Seals with a size and sha256 the caller computed.
    pub async fn seal(&mut self, size: u64, sha256: String) -> Result<BlobRef, StoreError> {
        self.store
            .seal_blob(&self.id, &SealBlob { size, sha256 })
            .await
    }
}

/// The bytes a running hash has seen: a prefix of the blob, `0..hashed`.
#[derive(Clone)]
struct RunningHash {
    hashed: u64,
    hasher: Sha256,
}

impl RunningHash {
    /// Takes `bytes` found at `at` of the blob, as far as they continue the prefix.
    fn extend(&mut self, at: u64, bytes: &[u8]) {
        let end = at + bytes.len() as u64;
        if at <= self.hashed && self.hashed < end {
            self.hasher.update(&bytes[(self.hashed - at) as usize..]);
            self.hashed = end;
        }
    }
}

/// Another thread panicked while holding the running hash.
fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Corrupt("the upload's running hash was lost: upload the file again".into())
}

/// A piece's buffer, handed back for the next piece once the socket is done with it:
/// a fresh multi-MiB buffer costs a page fault per 4 KiB.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() <= PIECES_AHEAD {
                pool.push(std::mem::take(&mut self.buf));
            }
        }
    }
}

/// Bytes `start..end` of `path` as a stream of pieces, read and hashed on the blocking
/// pool a few pieces ahead of the socket: the read, the hash and the send of a piece each
/// find it still in the CPU cache, and hashing overlaps with sending instead of
/// alternating with it.
fn file_body(path: PathBuf, start: u64, end: u64, hash: Arc<Mutex<RunningHash>>) -> ByteStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(PIECES_AHEAD);
    let pool: Arc<Mutex<Vec<Vec<u8>>>> = Arc::new(Mutex::new(Vec::new()));
    tokio::task::spawn_blocking(move || {
        let read = || -> Result<(), StoreError> {
            let mut f = std::fs::File::open(&path).map_err(|e| StoreError::local_file(&path, e))?;
            f.seek(SeekFrom::Start(start))
                .map_err(|e| StoreError::local_file(&path, e))?;
            let mut at = start;
            while at < end {
                let len = (end - at).min(PIECE_BYTES as u64);
                // Read without zero-filling first: one pass over the bytes instead of two.
                let mut buf = pool
                    .lock()
                    .ok()
                    .and_then(|mut p| p.pop())
                    .unwrap_or_default();
                buf.clear();
                buf.reserve(len as usize);
                let n = (&mut f)
                    .take(len)
                    .read_to_end(&mut buf)
                    .map_err(|e| StoreError::local_file(&path, e))?;
                if (n as u64) < len {
                    return Err(StoreError::local_file(
                        &path,
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("the file is shorter than the {end} bytes announced"),
                        ),
                    ));
                }
                hash.lock().map_err(poisoned)?.extend(at, &buf);
                let piece = Bytes::from_owner(Pooled {
                    buf,
                    pool: pool.clone(),
                });
                if tx.blocking_send(Ok(piece)).is_err() {
                    // The request is gone (failed or cancelled): stop reading.
                    return Ok(());
                }
                at += len;
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    })
    .boxed()
}

/// Uploads a complete file and seals it.
pub async fn upload_file(
    store: Arc<dyn Store>,
    file: &Path,
    kind: BlobKind,
    content_type: &str,
    progress: Option<ProgressFn>,
) -> Result<BlobRef, StoreError> {
    let mut upload = BlobUpload::start(store, kind, content_type).await?;
    if let Some(p) = progress {
        upload = upload.with_progress(p);
    }
    upload.seal_file(file).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_hash_takes_each_byte_once_and_only_in_order() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut h = RunningHash {
            hashed: 0,
            hasher: Sha256::new(),
        };
        h.extend(0, &data[..40]);
        // A retried range that overlaps what was hashed adds only its new tail.
        h.extend(30, &data[30..60]);
        // A range after a gap is not part of the prefix.
        h.extend(80, &data[80..]);
        assert_eq!(h.hashed, 60);
        h.extend(60, &data[60..]);
        assert_eq!(h.hashed, 100);
        assert_eq!(h.hasher.finalize(), Sha256::digest(&data));
    }

    /// A clip deleted before it was uploaded fails for good: the outbox must not keep
    /// retrying it (and give up on everything else) as if the store were offline.
    #[tokio::test]
    async fn a_missing_local_file_is_not_retryable() {
        let dir = tempfile::tempdir().unwrap();
        let me = pigeon_protocol::User {
            name: pigeon_protocol::UserName::parse("ann").unwrap(),
            display_name: "Ann".into(),
            time_zone: "UTC".into(),
        };
        let store = crate::FolderStore::open_or_create(
            &dir.path().join("share"),
            &me,
            pigeon_protocol::Limits::default(),
        )
        .await
        .unwrap();
        let gone = dir.path().join("deleted.mp4");
        let err = upload_file(
            Arc::new(store),
            &gone,
            BlobKind::Attachment,
            "video/mp4",
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::LocalFile { .. }), "{err}");
        assert!(!err.is_retryable(), "{err}");
        assert!(err.to_string().contains("missing or unreadable"), "{err}");
        assert!(err.to_string().contains("deleted.mp4"), "{err}");

        // A file that ends before the bytes announced: also the local file's fault.
        let short = dir.path().join("short.bin");
        std::fs::write(&short, b"abc").unwrap();
        let store = crate::FolderStore::open(&dir.path().join("share"), &me.name)
            .await
            .unwrap();
        let mut up = BlobUpload::start(
            Arc::new(store),
            BlobKind::Attachment,
            "application/octet-stream",
        )
        .await
        .unwrap();
        let err = up.send_file_until(&short, 10).await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
    }
}
