//! The resumable, checked download of one model file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use super::{sha256_of, DownloadProgress, ModelEntry, ModelError};

/// Progress is reported at most once per this many bytes (and at the end), so a UI is not
/// flooded with one event per network packet.
const REPORT_EVERY: u64 = 256 * 1024;
/// A connection that sends nothing for this long is treated as dropped (the part is kept).
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Downloads a catalog model into `dir` (created if needed); returns the model's path.
/// A model already there whole and matching its checksum is not fetched again.
pub async fn download(
    entry: &ModelEntry,
    dir: &Path,
    progress: impl FnMut(DownloadProgress) + Send,
    cancel: &AtomicBool,
) -> Result<PathBuf, ModelError> {
    download_from(
        entry.url,
        entry.bytes,
        entry.sha256,
        &dir.join(entry.file_name),
        progress,
        cancel,
    )
    .await
}

/// Downloads `url` (exactly `bytes` long, with that sha256) to `dest`, through
/// `<dest>.part`: a part left by an earlier try is continued with an HTTP Range request.
/// The file is checked (size, then sha256) before it gets its name; a wrong file is deleted.
/// Cancelling (setting `cancel`) keeps the part for next time.
pub async fn download_from(
    url: &str,
    bytes: u64,
    sha256: &str,
    dest: &Path,
    mut progress: impl FnMut(DownloadProgress) + Send,
    cancel: &AtomicBool,
) -> Result<PathBuf, ModelError> {
    let sha256 = sha256.to_ascii_lowercase();
    if file_len(dest).await == Some(bytes) && hash(dest).await.ok().as_deref() == Some(&sha256) {
        progress(DownloadProgress {
            done: bytes,
            total: bytes,
        });
        return Ok(dest.to_path_buf());
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| disk_error(parent, source, bytes))?;
    }
    let part = part_path(dest);
    let mut have = file_len(&part).await.unwrap_or(0);
    if have > bytes {
        remove(&part).await?;
        have = 0;
    }
    check_free_space(dest, bytes - have)?;

    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build()
        .map_err(|e| ModelError::Offline {
            host: host_of(url),
            reason: e.to_string(),
        })?;

    // One retry from zero when the server will not continue the part we have.
    for _ in 0..2 {
        if have < bytes {
            match fetch(&client, url, bytes, &part, have, &mut progress, cancel).await? {
                Fetched::Done => {}
                Fetched::RangeRefused => {
                    remove(&part).await?;
                    have = 0;
                    continue;
                }
            }
        }
        break;
    }

    let got = file_len(&part).await.unwrap_or(0);
    if got != bytes {
        if got > bytes {
            remove(&part).await?;
            return Err(ModelError::WrongSize {
                expected: bytes,
                got,
            });
        }
        return Err(ModelError::Interrupted {
            reason: format!("{got} of {bytes} bytes arrived"),
        });
    }
    let actual = hash(&part).await.map_err(|source| ModelError::Unreadable {
        path: part.clone(),
        source,
    })?;
    if actual != sha256 {
        remove(&part).await?;
        tracing::warn!(url, expected = %sha256, %actual, "downloaded model has the wrong checksum; deleted");
        return Err(ModelError::ChecksumMismatch);
    }
    tokio::fs::rename(&part, dest)
        .await
        .map_err(|source| disk_error(dest, source, 0))?;
    tracing::info!(url, dest = %dest.display(), bytes, "model downloaded and checked");
    Ok(dest.to_path_buf())
}

enum Fetched {
    /// The response ended (whole or not: the caller checks the size).
    Done,
    /// The server cannot continue from `have` (416, or a wrong Content-Range).
    RangeRefused,
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    bytes: u64,
    part: &Path,
    mut have: u64,
    progress: &mut (impl FnMut(DownloadProgress) + Send),
    cancel: &AtomicBool,
) -> Result<Fetched, ModelError> {
    let mut request = client.get(url);
    if have > 0 {
        request = request.header(RANGE, format!("bytes={have}-"));
    }
    let response = request.send().await.map_err(|e| request_error(url, &e))?;
    let status = response.status();
    let append = match status {
        StatusCode::PARTIAL_CONTENT => {
            // Continue only if the server sends exactly from where the part ends.
            let starts_at = response
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start);
            if starts_at != Some(have) {
                return Ok(Fetched::RangeRefused);
            }
            true
        }
        // A server that ignores Range sends the whole file: start over.
        StatusCode::OK => false,
        StatusCode::RANGE_NOT_SATISFIABLE if have > 0 => return Ok(Fetched::RangeRefused),
        _ => {
            return Err(ModelError::Http {
                status: status.to_string(),
                url: url.to_string(),
            })
        }
    };
    if !append {
        have = 0;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .await
        .map_err(|source| disk_error(part, source, bytes - have))?;

    progress(DownloadProgress {
        done: have,
        total: bytes,
    });
    let mut reported = have;
    let mut stream = response.bytes_stream();
    let outcome = loop {
        if cancel.load(Ordering::Relaxed) {
            break Err(ModelError::Cancelled);
        }
        let Some(chunk) = stream.next().await else {
            break Ok(Fetched::Done);
        };
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                break Err(ModelError::Interrupted {
                    reason: short_reason(&e),
                })
            }
        };
        if have + chunk.len() as u64 > bytes {
            // More than the model's size: not the file we pinned.
            drop(file);
            remove(part).await?;
            return Err(ModelError::WrongSize {
                expected: bytes,
                got: have + chunk.len() as u64,
            });
        }
        if let Err(source) = file.write_all(&chunk).await {
            break Err(disk_error(part, source, bytes - have));
        }
        have += chunk.len() as u64;
        if have - reported >= REPORT_EVERY || have == bytes {
            reported = have;
            progress(DownloadProgress {
                done: have,
                total: bytes,
            });
        }
    };
    // Whatever happened, what arrived is kept on disk for the next try.
    let flushed = async {
        file.flush().await?;
        file.sync_all().await
    }
    .await;
    if let Err(source) = flushed {
        return Err(disk_error(part, source, bytes - have));
    }
    if have != reported {
        progress(DownloadProgress {
            done: have,
            total: bytes,
        });
    }
    outcome
}

/// `bytes 100-199/200` -> 100.
fn range_start(content_range: &str) -> Option<u64> {
    let rest = content_range.trim().strip_prefix("bytes ")?;
    rest.split('-').next()?.trim().parse().ok()
}

fn request_error(url: &str, e: &reqwest::Error) -> ModelError {
    if e.is_connect() || e.is_timeout() || e.is_request() {
        ModelError::Offline {
            host: host_of(url),
            reason: short_reason(e),
        }
    } else {
        ModelError::Interrupted {
            reason: short_reason(e),
        }
    }
}

/// The innermost cause is the readable one ("connection refused"), not reqwest's wrapper.
fn short_reason(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

async fn file_len(path: &Path) -> Option<u64> {
    tokio::fs::metadata(path)
        .await
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

async fn hash(path: &Path) -> std::io::Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || sha256_of(&path))
        .await
        .map_err(std::io::Error::other)?
}

async fn remove(path: &Path) -> Result<(), ModelError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(disk_error(path, source, 0)),
    }
}

fn disk_error(path: &Path, source: std::io::Error, needed: u64) -> ModelError {
    if source.raw_os_error() == Some(libc::ENOSPC) {
        ModelError::DiskFull {
            dir: path.parent().unwrap_or(path).to_path_buf(),
            needed_mb: needed.div_ceil(1_000_000),
        }
    } else {
        ModelError::Disk {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Refuses up front when the disk cannot hold what is still to come, instead of failing
/// after minutes of downloading.
fn check_free_space(dest: &Path, needed: u64) -> Result<(), ModelError> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let Some(free) = free_bytes(dir) else {
        return Ok(());
    };
    if free < needed {
        return Err(ModelError::DiskFull {
            dir: dir.to_path_buf(),
            needed_mb: (needed - free).div_ceil(1_000_000),
        });
    }
    Ok(())
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a NUL-terminated path and stat points to writable memory of the
    // right type; statvfs fills it on success (0), which is the only case it is read.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised the struct.
    let stat = unsafe { stat.assume_init() };
    let (blocks, block_size): (u64, u64) = (stat.f_bavail, stat.f_frsize);
    Some(blocks.saturating_mul(block_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_where_a_content_range_starts() {
        assert_eq!(range_start("bytes 100-199/200"), Some(100));
        assert_eq!(range_start("bytes 0-9/*"), Some(0));
        assert_eq!(range_start("items 1-2/3"), None);
    }

    #[test]
    fn the_part_file_sits_beside_the_model() {
        assert_eq!(
            part_path(Path::new("/m/ggml-base.en.bin")),
            PathBuf::from("/m/ggml-base.en.bin.part")
        );
    }

    #[test]
    fn free_space_is_known_for_a_real_folder() {
        assert!(free_bytes(Path::new("/tmp")).is_some_and(|b| b > 0));
        assert!(check_free_space(Path::new("/tmp/x"), u64::MAX).is_err());
    }
}
