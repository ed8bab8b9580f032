//! File primitives of the folder store: files are created once, under a temporary name
//! first, and never rewritten.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::StoreError;

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Corrupt(format!("a folder task failed: {e}")))?
}

pub(super) fn now() -> DateTime<Utc> {
    Utc::now()
}

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// Creates `path` with `bytes` unless it exists; true when this call created it.
/// Temp file + fsync + hard link (atomic, never clobbers); rename where links are
/// unsupported (some network/synced drives).
pub(super) fn write_new(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
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

pub(super) fn write_json_new<T: Serialize>(path: &Path, value: &T) -> Result<bool, StoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    write_new(path, &bytes)
}

pub(super) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

pub(super) fn list_names(dir: &Path) -> Result<Vec<String>, StoreError> {
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
