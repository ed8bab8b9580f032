//! Garbage collection: removes uploads never sealed, sealed blobs nothing references,
//! and stored parts no blob records (left by a hub killed while receiving them), each
//! after its configured age ([`GcConfig`]), and reports what it freed. Rows go first,
//! inside a commit transaction (see [`db::remove_garbage`]); objects after, so a crash
//! in between leaves only orphaned parts, which the next collection removes.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use crate::config::GcConfig;
use crate::db::{self, Db, Garbage, GarbageBlob};
use crate::storage::BlobStorage;
use crate::HubError;

/// Blobs looked at per transaction.
const BATCH: i64 = 200;

/// How much of one kind of garbage was found (and, unless a dry run, removed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freed {
    pub count: u64,
    pub bytes: u64,
}

impl Freed {
    fn add(&mut self, bytes: u64) {
        self.count += 1;
        self.bytes += bytes;
    }
}

/// What one collection found and freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    pub unsealed: Freed,
    pub unreferenced: Freed,
    pub orphan_parts: Freed,
}

impl GcReport {
    pub fn total(&self) -> Freed {
        Freed {
            count: self.unsealed.count + self.unreferenced.count + self.orphan_parts.count,
            bytes: self.unsealed.bytes + self.unreferenced.bytes + self.orphan_parts.bytes,
        }
    }
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

impl fmt::Display for GcReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.dry_run { "would free" } else { "freed" };
        write!(
            f,
            "{verb} {} uploads never sealed ({}), {} blobs nothing references ({}), {} orphaned parts ({}): {} in all",
            self.unsealed.count,
            megabytes(self.unsealed.bytes),
            self.unreferenced.count,
            megabytes(self.unreferenced.bytes),
            self.orphan_parts.count,
            megabytes(self.orphan_parts.bytes),
            megabytes(self.total().bytes),
        )
    }
}

fn cutoff(now: DateTime<Utc>, minutes: u64) -> i64 {
    (now - Duration::minutes(minutes as i64)).timestamp_millis()
}

/// Collects once, as of `now`.
pub async fn collect(
    db: &Db,
    storage: &BlobStorage,
    config: &GcConfig,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<GcReport, HubError> {
    let mut report = GcReport {
        dry_run,
        ..GcReport::default()
    };
    for (why, minutes) in [
        (Garbage::Unsealed, config.unsealed_after_minutes),
        (Garbage::Unreferenced, config.unreferenced_after_minutes),
    ] {
        let older_than = cutoff(now, minutes);
        let freed = match why {
            Garbage::Unsealed => &mut report.unsealed,
            Garbage::Unreferenced => &mut report.unreferenced,
        };
        collect_blobs(db, storage, why, older_than, dry_run, freed).await?;
    }
    // Parts: listed after the blobs went, so theirs are gone and not counted twice.
    let older_than = now - Duration::minutes(config.orphan_parts_after_minutes as i64);
    let mut c = db.conn().await?;
    for object in storage.list_parts().await? {
        if object.written >= older_than || db::is_recorded_part(&mut c, &object.key).await? {
            continue;
        }
        if !dry_run {
            storage.remove(&object.key).await?;
        }
        report.orphan_parts.add(object.size);
    }
    Ok(report)
}

async fn collect_blobs(
    db: &Db,
    storage: &BlobStorage,
    why: Garbage,
    older_than: i64,
    dry_run: bool,
    freed: &mut Freed,
) -> Result<(), HubError> {
    if dry_run {
        // Nothing is removed, so one query finds it all.
        let mut c = db.conn().await?;
        for blob in db::find_garbage(&mut c, why, older_than, i64::MAX).await? {
            freed.add(blob.bytes);
        }
        return Ok(());
    }
    loop {
        let found = {
            let mut c = db.conn().await?;
            db::find_garbage(&mut c, why, older_than, BATCH).await?
        };
        if found.is_empty() {
            return Ok(());
        }
        let mut removed_any = false;
        for blob in found {
            if let Some(bytes) = remove_blob(db, storage, &blob, older_than).await? {
                freed.add(bytes);
                removed_any = true;
            }
        }
        if !removed_any {
            // Everything found stopped being garbage meanwhile; the rest is newer.
            return Ok(());
        }
    }
}

/// Removes one blob that is still garbage; its bytes, or `None` when it no longer is.
async fn remove_blob(
    db: &Db,
    storage: &BlobStorage,
    blob: &GarbageBlob,
    older_than: i64,
) -> Result<Option<u64>, HubError> {
    let mut tx = db.begin_commit().await?;
    let Some(parts) = db::remove_garbage(&mut tx, blob, older_than).await? else {
        return Ok(None);
    };
    tx.commit().await?;
    for part in &parts {
        // A part that cannot be deleted now is an orphan the next collection removes.
        if let Err(e) = storage.remove(&part.object_key).await {
            tracing::warn!(key = part.object_key, error = %e, "could not delete a collected part");
        }
    }
    tracing::info!(blob = blob.id, why = ?blob.why, bytes = blob.bytes, "garbage blob removed");
    Ok(Some(parts.iter().map(|p| p.length).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_what_was_freed_in_words() {
        let report = GcReport {
            dry_run: false,
            unsealed: Freed {
                count: 2,
                bytes: 3_000_000,
            },
            unreferenced: Freed::default(),
            orphan_parts: Freed {
                count: 1,
                bytes: 500_000,
            },
        };
        assert_eq!(
            report.to_string(),
            "freed 2 uploads never sealed (3.0 MB), 0 blobs nothing references (0.0 MB), 1 orphaned parts (0.5 MB): 3.5 MB in all"
        );
        let dry = GcReport {
            dry_run: true,
            ..report
        };
        assert!(dry.to_string().starts_with("would free 2 uploads"));
    }
}
