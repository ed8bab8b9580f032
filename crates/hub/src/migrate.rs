//! Moving a hub onto other engines (`pigeon-hub migrate`): its metadata into another
//! database (PostgreSQL), and optionally its blobs into another store (an S3 bucket).
//! Everything is copied as it is (ids, sequence numbers, token hashes, object keys), so
//! clients keep their tokens and cursors. A migration may run while the source hub
//! serves and may be run again: each run continues where the last stopped and brings
//! over what changed since. The way to move a hub: run it while the hub serves (most of
//! the data moves), stop the hub, run it once more (only the latest changes move), then
//! serve from the new configuration.
//!
//! Every copied part is read back from the new store and compared by sha256 with what
//! was read from the old one, and every sealed blob whose parts were copied is hashed
//! whole from the new store and compared with its seal.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::config::HubConfig;
use crate::db::{self, Db};
use crate::storage::BlobStorage;
use crate::HubError;

/// Parts copied (and blobs verified) at once.
const PARALLEL: usize = 8;

/// What a migration moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// Rows written per table (an unchanged row written again counts).
    pub tables: Vec<(&'static str, u64)>,
    pub parts_copied: u64,
    pub parts_already_there: u64,
    pub bytes_copied: u64,
    /// Sealed blobs hashed whole in the new store and found equal to their seal.
    pub blobs_verified: u64,
}

impl std::fmt::Display for MigrateReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<String> = self
            .tables
            .iter()
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        write!(
            f,
            "copied {}; {} blob parts ({:.1} MB) copied and {} already there; {} sealed blobs verified by sha256",
            rows.join(", "),
            self.parts_copied,
            self.bytes_copied as f64 / 1e6,
            self.parts_already_there,
            self.blobs_verified
        )
    }
}

/// What a migration is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrateProgress {
    Rows { table: String, copied: u64 },
    Parts { done: u64, total: u64, bytes: u64 },
    Verified { done: u64, total: u64 },
}

/// Copies the hub of `from` onto the engines of `to` (see the module doc).
pub async fn migrate(
    from: &HubConfig,
    to: &HubConfig,
    progress: &(dyn Fn(MigrateProgress) + Sync),
) -> Result<MigrateReport, HubError> {
    if from.database_url() == to.database_url() {
        return Err(HubError::Config(
            "the hub already keeps its metadata there: name another database with --to".into(),
        ));
    }
    let source = Db::open(&from.database_url(), 4).await?;
    let target = Db::open(&to.database_url(), PARALLEL as u32 + 1).await?;
    let source_blobs = BlobStorage::open(from)?;
    let moving_blobs = from.blobs != to.blobs;
    let target_blobs = BlobStorage::open(to)?;

    // The parts as they are now: any added later belong to blobs the table copy may not
    // have seen yet, and come over with the next run.
    let parts = db::all_parts(&mut *source.conn().await?).await?;
    let copied = db::copy_tables(&source, &target, &|table, copied| {
        progress(MigrateProgress::Rows {
            table: table.to_string(),
            copied,
        })
    })
    .await?;
    let mut report = MigrateReport {
        tables: copied.tables,
        ..MigrateReport::default()
    };

    let total = parts.len() as u64;
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    // Parts a few at a time: each is a few round trips to the stores.
    let outcomes: Vec<Result<Option<String>, HubError>> = futures_util::stream::iter(&parts)
        .map(|(blob, part)| {
            let (target, source_blobs, target_blobs) = (&target, &source_blobs, &target_blobs);
            let (done, bytes) = (&done, &bytes);
            async move {
                let mut dst = target.conn().await?;
                let copied = if db::has_part(&mut dst, blob, part.start).await? {
                    None
                } else {
                    if moving_blobs {
                        copy_part(source_blobs, target_blobs, part).await?;
                        bytes.fetch_add(part.length, Ordering::Relaxed);
                    }
                    db::put_part(&mut dst, blob, part).await?;
                    Some(blob.clone())
                };
                progress(MigrateProgress::Parts {
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                    bytes: bytes.load(Ordering::Relaxed),
                });
                Ok(copied)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await;
    let mut touched = BTreeSet::new();
    for outcome in outcomes {
        match outcome? {
            Some(blob) => {
                report.parts_copied += 1;
                touched.insert(blob);
            }
            None => report.parts_already_there += 1,
        }
    }
    report.bytes_copied = bytes.load(Ordering::Relaxed);

    if moving_blobs {
        let sealed: Vec<_> = db::sealed_blobs(&mut *source.conn().await?)
            .await?
            .into_iter()
            .filter(|(id, _, _)| touched.contains(id))
            .collect();
        let total = sealed.len() as u64;
        let done = AtomicU64::new(0);
        let checks: Vec<Result<(), HubError>> = futures_util::stream::iter(sealed)
            .map(|(id, size, sha)| {
                let (target, target_blobs, done) = (&target, &target_blobs, &done);
                async move {
                    let blob_id = pigeon_protocol::BlobId::parse(id.as_str())
                        .map_err(|e| HubError::Internal(e.0))?;
                    let parts = db::parts(&mut *target.conn().await?, &blob_id).await?;
                    let actual = hash(target_blobs.read(parts, 0, size)).await?;
                    if actual != sha {
                        return Err(HubError::Internal(format!(
                            "blob {id} in the new store hashes to {actual}, not to its seal {sha}: nothing was deleted from the old store; run the migration again"
                        )));
                    }
                    progress(MigrateProgress::Verified {
                        done: done.fetch_add(1, Ordering::Relaxed) + 1,
                        total,
                    });
                    Ok(())
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        for check in checks {
            check?;
            report.blobs_verified += 1;
        }
    }
    // Closing waits for every connection to come back (all are, by now).
    source.close().await;
    target.close().await;
    Ok(report)
}

async fn hash(
    mut stream: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, HubError>>,
) -> Result<String, HubError> {
    let mut h = Sha256::new();
    while let Some(piece) = stream.next().await {
        h.update(&piece?);
    }
    Ok(hex::encode(h.finalize()))
}

/// Copies one part's object under the same key, then reads it back and compares.
pub(crate) async fn copy_part(
    from: &BlobStorage,
    to: &BlobStorage,
    part: &db::Part,
) -> Result<(), HubError> {
    let end = part.start + part.length;
    if part.length <= SMALL_PART {
        // One request instead of a multipart upload's three.
        let bytes = from
            .read_to_vec(vec![part.clone()], part.start, end)
            .await?;
        let read = hex::encode(Sha256::digest(&bytes));
        to.put(&part.object_key, bytes.into()).await?;
        return check_copy(to, part, &read).await;
    }
    let mut reading = from.read(vec![part.clone()], part.start, end);
    let mut writer = to.start_part(&part.object_key).await?;
    let mut h = Sha256::new();
    while let Some(piece) = reading.next().await {
        let piece = match piece {
            Ok(p) => p,
            Err(e) => {
                writer.abort().await;
                return Err(e);
            }
        };
        h.update(&piece);
        writer.write(piece).await?;
    }
    writer.finish().await?;
    check_copy(to, part, &hex::encode(h.finalize())).await
}

/// Parts up to this size are copied in memory with one request.
const SMALL_PART: u64 = 8 * 1024 * 1024;

/// Reads a copied part back and compares it with the sha256 of what was read.
async fn check_copy(to: &BlobStorage, part: &db::Part, read: &str) -> Result<(), HubError> {
    let written = hash(to.read(vec![part.clone()], part.start, part.start + part.length)).await?;
    if read != written {
        return Err(HubError::Internal(format!(
            "the copy of {} reads back as {written}, not {read}: run the migration again",
            part.object_key
        )));
    }
    Ok(())
}
