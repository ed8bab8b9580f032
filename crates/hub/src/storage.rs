//! Blob bytes through `object_store`. A blob is a list of parts, one object per accepted
//! chunk, because object stores (S3 included) cannot append; downloads stitch the parts
//! back together. Object keys are built only from server-generated ids and offsets.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use pigeon_protocol::BlobId;

use crate::config::{BlobStorageConfig, HubConfig};
use crate::db::Part;
use crate::HubError;

/// Bytes buffered before a part of a multipart write is handed to the store.
const WRITE_CHUNK: usize = 8 * 1024 * 1024;

/// Where blob parts are kept.
#[derive(Clone, Debug)]
pub struct BlobStorage {
    store: Arc<dyn ObjectStore>,
    kind: &'static str,
}

impl BlobStorage {
    /// Opens the storage the configuration names.
    pub fn open(config: &HubConfig) -> Result<Self, HubError> {
        let store: Arc<dyn ObjectStore> = match &config.blobs {
            BlobStorageConfig::Local => Arc::new(local(&config.data.join("blobs"))?),
            BlobStorageConfig::LocalPath { path } => Arc::new(local(path)?),
            BlobStorageConfig::S3 {
                bucket,
                endpoint,
                region,
                allow_http,
                prefix,
                access_key_id,
                secret_access_key,
            } => {
                let mut b = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(*allow_http);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                if let Some(r) = region {
                    b = b.with_region(r);
                }
                if let Some(k) = access_key_id {
                    b = b.with_access_key_id(k);
                }
                if let Some(s) = secret_access_key {
                    b = b.with_secret_access_key(s);
                }
                let s3 = b.build()?;
                match prefix {
                    Some(p) => Arc::new(PrefixStore::new(s3, p.as_str())),
                    None => Arc::new(s3),
                }
            }
        };
        let kind = match &config.blobs {
            BlobStorageConfig::Local | BlobStorageConfig::LocalPath { .. } => "local",
            BlobStorageConfig::S3 { .. } => "s3",
        };
        Ok(Self { store, kind })
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Asks the store about an object that does not exist: is it there?
    pub async fn ping(&self) -> Result<(), HubError> {
        match self.store.head(&ObjectPath::from("healthz")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// A fresh, unique key for a part of `blob` starting at `start`.
    pub fn part_key(blob: &BlobId, start: u64) -> String {
        format!("blobs/{blob}/{start:020}-{}", uuid::Uuid::new_v4().simple())
    }

    /// Starts a streaming write of one part.
    pub async fn start_part(&self, key: &str) -> Result<PartWriter, HubError> {
        let upload = self.store.put_multipart(&ObjectPath::from(key)).await?;
        Ok(PartWriter {
            writer: WriteMultipart::new_with_chunk_size(upload, WRITE_CHUNK),
        })
    }

    /// The stored parts (every object under `blobs/`): key, size and when it was
    /// written.
    pub async fn list_parts(&self) -> Result<Vec<StoredObject>, HubError> {
        let mut out = Vec::new();
        let mut listing = self.store.list(Some(&ObjectPath::from("blobs")));
        while let Some(meta) = listing.next().await {
            let meta = meta?;
            out.push(StoredObject {
                key: meta.location.to_string(),
                size: meta.size,
                written: meta.last_modified,
            });
        }
        Ok(out)
    }

    /// Stores a small object with one request.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), HubError> {
        self.store.put(&ObjectPath::from(key), bytes.into()).await?;
        Ok(())
    }

    /// Deletes an object; one already gone is not an error.
    pub async fn remove(&self, key: &str) -> Result<(), HubError> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a part that was written but not recorded.
    pub async fn delete(&self, key: &str) {
        if let Err(e) = self.store.delete(&ObjectPath::from(key)).await {
            tracing::warn!(key, error = %e, "could not delete an orphaned blob part");
        }
    }

    /// Streams bytes `start..end` of a blob made of `parts`.
    pub fn read(
        &self,
        parts: Vec<Part>,
        start: u64,
        end: u64,
    ) -> BoxStream<'static, Result<Bytes, HubError>> {
        let store = self.store.clone();
        let pieces: Vec<(String, u64, u64)> = parts
            .into_iter()
            .filter_map(|p| {
                let p_end = p.start + p.length;
                let a = start.max(p.start);
                let b = end.min(p_end);
                (a < b).then(|| (p.object_key, a - p.start, b - p.start))
            })
            .collect();
        stream::iter(pieces)
            .then(move |(key, a, b)| {
                let store = store.clone();
                async move {
                    let opts = GetOptions {
                        range: Some(GetRange::Bounded(a..b)),
                        ..Default::default()
                    };
                    let result = store.get_opts(&ObjectPath::from(key), opts).await?;
                    Ok::<_, HubError>(result.into_stream().map_err(HubError::from))
                }
            })
            .try_flatten()
            .boxed()
    }

    /// Reads bytes `start..end` into memory (small reads: the video probe).
    pub async fn read_to_vec(
        &self,
        parts: Vec<Part>,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, HubError> {
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut s = self.read(parts, start, end);
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }
}

/// An object in the blob storage.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub key: String,
    pub size: u64,
    pub written: chrono::DateTime<chrono::Utc>,
}

fn local(dir: &std::path::Path) -> Result<LocalFileSystem, HubError> {
    std::fs::create_dir_all(dir)?;
    Ok(LocalFileSystem::new_with_prefix(dir)?)
}

/// One part being written.
pub struct PartWriter {
    writer: WriteMultipart,
}

impl PartWriter {
    /// Appends bytes, waiting when too many uploads are in flight.
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), HubError> {
        self.writer.wait_for_capacity(4).await?;
        self.writer.put(bytes);
        Ok(())
    }
    /// Completes the part; only now does it exist under its key.
    pub async fn finish(self) -> Result<(), HubError> {
        self.writer.finish().await?;
        Ok(())
    }
    /// Drops the partial part.
    pub async fn abort(self) {
        if let Err(e) = self.writer.abort().await {
            tracing::warn!(error = %e, "could not abort a partial blob part");
        }
    }
}
