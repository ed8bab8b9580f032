//! `pigeon-hub backup DIR`: a consistent copy of a running single-machine hub (SQLite and
//! local blobs) that is itself a hub's data folder. The database is copied in one read
//! transaction (`VACUUM INTO`), then every part that copy records is copied from the
//! blob folder and compared by sha256; parts written after the snapshot are not in it
//! (the copy does not reference them). Restoring is serving from the folder (see
//! docs/hub.md). A hub on PostgreSQL or a bucket is backed up with those servers' own
//! tools.

use crate::config::{BlobStorageConfig, HubConfig};
use crate::db::{self, Db};
use crate::storage::BlobStorage;
use crate::HubError;

/// What a backup holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackupReport {
    pub messages: i64,
    pub parts: u64,
    pub bytes: u64,
}

impl std::fmt::Display for BackupReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "backed up {} messages and {} blob parts ({:.1} MB), every part verified by sha256",
            self.messages,
            self.parts,
            self.bytes as f64 / 1e6
        )
    }
}

/// Backs the hub of `config` up into the folder `dir` (new or empty); `progress` hears
/// (parts done, parts in all).
pub async fn backup(
    config: &HubConfig,
    dir: &std::path::Path,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<BackupReport, HubError> {
    if config.database.is_some() {
        return Err(HubError::Config(
            "this hub keeps its metadata in PostgreSQL: back it up with pg_dump (see docs/hub.md)"
                .into(),
        ));
    }
    if !matches!(config.blobs, BlobStorageConfig::Local) {
        return Err(HubError::Config(
            "this hub keeps its blobs outside its data folder: back up that store with its own tools, and the database with `VACUUM INTO` (see docs/hub.md)".into(),
        ));
    }
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(HubError::Config(format!(
            "{} is not empty: name a new or empty folder for the backup",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)?;
    let live = Db::open(&config.database_url(), 2).await?;
    let copy_path = dir.join("hub.sqlite3");
    live.snapshot_into(&copy_path).await?;
    live.close().await;

    let copy_config = HubConfig {
        data: dir.to_path_buf(),
        ..config.clone()
    };
    let copy = Db::open(&copy_config.database_url(), 2).await?;
    let mut c = copy.conn().await?;
    let parts = db::all_parts(&mut c).await?;
    let messages = db::latest_seq(&mut c).await?;
    drop(c);
    copy.close().await;
    let from = BlobStorage::open(config)?;
    let to = BlobStorage::open(&copy_config)?;
    let mut report = BackupReport {
        messages,
        ..BackupReport::default()
    };
    let total = parts.len() as u64;
    for (i, (_, part)) in parts.iter().enumerate() {
        crate::migrate::copy_part(&from, &to, part).await?;
        report.parts += 1;
        report.bytes += part.length;
        progress(i as u64 + 1, total);
    }
    Ok(report)
}
