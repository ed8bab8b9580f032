//! Resumable blob upload over any [`Store`], from memory or from a file that may still
//! be growing.

use std::io::SeekFrom;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use pigeon_protocol::{BlobId, BlobKind, BlobRef, ErrorCode, NewBlob, SealBlob};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};

use crate::{Store, StoreError};

/// Default bytes per append request.
pub const DEFAULT_CHUNK_BYTES: usize = 16 * 1024 * 1024;
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

/// One blob's upload. Keeps a running sha256 of the bytes it sent in order, so sealing
/// a just-uploaded file does not read it twice; after a resume it hashes the file.
pub struct BlobUpload {
    store: Arc<dyn Store>,
    id: BlobId,
    acknowledged: u64,
    hashed: u64,
    hasher: Sha256,
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
            hashed: 0,
            hasher: Sha256::new(),
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
                if self.hashed == at {
                    self.hasher.update(&chunk);
                    self.hashed = at + chunk.len() as u64;
                }
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
        // Pipeline: read and hash the next chunk while the current one is in flight.
        let mut next: Option<(u64, Bytes)> = None;
        // The buffer of the last chunk sent, reused for the next read: fresh multi-MiB
        // buffers cost a page fault per 4 KiB.
        let mut spare: Option<Vec<u8>> = None;
        while self.acknowledged < end {
            let at = self.acknowledged;
            let chunk = match next.take() {
                Some((pos, bytes)) if pos == at => bytes,
                _ => {
                    let len = (end - at).min(self.chunk_bytes as u64);
                    self.read(file, at, len).await?
                }
            };
            let following = at + chunk.len() as u64;
            let len_next = end.saturating_sub(following).min(self.chunk_bytes as u64);
            let store = self.store.clone();
            let id = self.id.clone();
            let sent_chunk = chunk.clone();
            let send = async move { store.append_blob(&id, at, chunk).await };
            let sent = if len_next > 0 {
                let hasher = self.take_hasher_at(following);
                let (sent, read) = tokio::join!(
                    send,
                    read_chunk(
                        file.to_path_buf(),
                        following,
                        len_next,
                        hasher,
                        spare.take()
                    )
                );
                match read {
                    Ok((bytes, hasher)) => {
                        self.put_hasher(following + len_next, hasher);
                        next = Some((following, bytes));
                    }
                    // The running hash went with the failed read: seal re-hashes the file.
                    Err(_) => self.reset_hasher(),
                }
                sent
            } else {
                send.await
            };
            // Unique once the request is done with it.
            spare = sent_chunk.try_into_mut().ok().map(Vec::from);
            match sent {
                Ok(status) => {
                    self.acknowledged = status.acknowledged;
                    self.report(total);
                }
                Err(e) => {
                    next = None;
                    self.recover(e, &mut resyncs).await?;
                }
            }
        }
        Ok(self.acknowledged)
    }

    /// Reads bytes of the file, hashing them when they continue the running hash.
    async fn read(&mut self, file: &Path, offset: u64, len: u64) -> Result<Bytes, StoreError> {
        let hasher = self.take_hasher_at(offset);
        match read_chunk(file.to_path_buf(), offset, len, hasher, None).await {
            Ok((bytes, hasher)) => {
                self.put_hasher(offset + len, hasher);
                Ok(bytes)
            }
            Err(e) => {
                self.reset_hasher();
                Err(e)
            }
        }
    }

    fn take_hasher_at(&mut self, offset: u64) -> Option<Sha256> {
        (self.hashed == offset).then(|| std::mem::take(&mut self.hasher))
    }

    fn put_hasher(&mut self, hashed: u64, hasher: Option<Sha256>) {
        if let Some(h) = hasher {
            self.hasher = h;
            self.hashed = hashed;
        }
    }

    fn reset_hasher(&mut self) {
        self.hasher = Sha256::new();
        self.hashed = 0;
    }

    /// Sends whatever `file` has beyond the acknowledged bytes, then seals with its size
    /// and sha256. Call when the file is complete (the recorder stopped).
    pub async fn seal_file(&mut self, file: &Path) -> Result<BlobRef, StoreError> {
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| StoreError::io(file, e))?
            .len();
        self.send_file(file, size, Some(size)).await?;
        if self.hashed > size {
            return Err(StoreError::Corrupt(format!(
                "{} shrank below the bytes already uploaded: upload it as a new blob",
                file.display()
            )));
        }
        // Hash whatever the running hash did not see (all of it after a resume).
        let path = file.to_path_buf();
        let (from, mut hasher) = (self.hashed, std::mem::take(&mut self.hasher));
        let hasher = tokio::task::spawn_blocking(move || {
            let mut f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
            f.seek(SeekFrom::Start(from))
                .map_err(|e| StoreError::io(&path, e))?;
            let mut buf = vec![0u8; 1024 * 1024];
            loop {
                let n = f.read(&mut buf).map_err(|e| StoreError::io(&path, e))?;
                if n == 0 {
                    return Ok::<_, StoreError>(hasher);
                }
                hasher.update(&buf[..n]);
            }
        })
        .await
        .map_err(|e| StoreError::Corrupt(format!("a hashing task failed: {e}")))??;
        self.hasher = hasher;
        self.hashed = size;
        let sha256 = hex::encode(self.hasher.clone().finalize());
        self.seal(size, sha256).await
    }

    /// Seals with a size and sha256 the caller computed.
    pub async fn seal(&mut self, size: u64, sha256: String) -> Result<BlobRef, StoreError> {
        self.store
            .seal_blob(&self.id, &SealBlob { size, sha256 })
            .await
    }
}

/// Reads `len` bytes at `offset` on the blocking pool (file reads and hashing are
/// blocking work), into `reuse` when given, feeding them to `hasher` when given.
async fn read_chunk(
    path: std::path::PathBuf,
    offset: u64,
    len: u64,
    hasher: Option<Sha256>,
    reuse: Option<Vec<u8>>,
) -> Result<(Bytes, Option<Sha256>), StoreError> {
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::open(&path).map_err(|e| StoreError::io(&path, e))?;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| StoreError::io(&path, e))?;
        // Read without zero-filling first: one pass over the bytes instead of two.
        let mut buf = reuse.unwrap_or_default();
        buf.clear();
        buf.reserve(len as usize);
        let read = (&mut f)
            .take(len)
            .read_to_end(&mut buf)
            .map_err(|e| StoreError::io(&path, e))?;
        if (read as u64) < len {
            return Err(StoreError::io(
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file is shorter than the {} bytes announced",
                        offset + len
                    ),
                ),
            ));
        }
        let hasher = hasher.map(|mut h| {
            h.update(&buf);
            h
        });
        Ok((Bytes::from(buf), hasher))
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("a file read task failed: {e}")))?
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
