//! The speech models a user can download, and the download itself.
//!
//! The catalog is whisper.cpp's official ggml files on Hugging Face, each pinned by its exact
//! size and sha256 (the files' Git LFS object ids, which are their sha256), so a download is
//! checked end to end before it is used. Downloading is resumable: the bytes arrive in
//! `<file>.part`, an interrupted download continues from there with an HTTP Range request,
//! and only a complete file whose checksum matches is renamed to its real name. Nothing here
//! runs unless the user asks for a model.

mod download;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use download::{download, download_from};

/// One downloadable model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelEntry {
    /// The key settings store, e.g. "base.en".
    pub key: &'static str,
    /// What the user reads, e.g. "Base (English)".
    pub label: &'static str,
    pub file_name: &'static str,
    pub url: &'static str,
    /// The exact size of the file.
    pub bytes: u64,
    /// Lowercase hex sha256 of the file.
    pub sha256: &'static str,
    /// Whether it understands languages other than English (and detects which).
    pub multilingual: bool,
}

macro_rules! official {
    ($key:literal, $label:literal, $bytes:expr, $sha256:literal, $multilingual:expr) => {
        ModelEntry {
            key: $key,
            label: $label,
            file_name: concat!("ggml-", $key, ".bin"),
            url: concat!(
                "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-",
                $key,
                ".bin"
            ),
            bytes: $bytes,
            sha256: $sha256,
            multilingual: $multilingual,
        }
    };
}

/// The models offered, smallest first. Sizes and sha256 are Hugging Face's LFS metadata of
/// `ggerganov/whisper.cpp` (the same values several independent projects pin).
pub const CATALOG: &[ModelEntry] = &[
    official!(
        "tiny.en",
        "Tiny (English)",
        77_704_715,
        "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
        false
    ),
    official!(
        "base.en",
        "Base (English)",
        147_964_211,
        "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
        false
    ),
    official!(
        "base",
        "Base (many languages)",
        147_951_465,
        "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe",
        true
    ),
    official!(
        "small",
        "Small (many languages)",
        487_601_967,
        "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b",
        true
    ),
];

/// The model offered first: English, accurate enough, ~148 MB.
pub const DEFAULT_MODEL: &str = "base.en";

/// The catalog entry for a settings key.
pub fn entry(key: &str) -> Option<&'static ModelEntry> {
    CATALOG.iter().find(|e| e.key == key)
}

/// How far a download is, in bytes of the whole file (a resumed download starts above 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadProgress {
    pub done: u64,
    pub total: u64,
}

/// Why a model could not be downloaded or checked; each is one sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model could not be downloaded because {host} cannot be reached ({reason}); check the internet connection and try again")]
    Offline { host: String, reason: String },
    #[error("the model server answered \"{status}\" for {url}; try again later")]
    Http { status: String, url: String },
    #[error("the download stopped before the end ({reason}); try again and it continues where it stopped")]
    Interrupted { reason: String },
    #[error("the download was cancelled; what arrived so far is kept, and the next download continues from it")]
    Cancelled,
    #[error("there is not enough free disk space in {dir} for the model: it needs {needed_mb} MB more; free some space and try again")]
    DiskFull { dir: PathBuf, needed_mb: u64 },
    #[error("the model could not be written to {path} ({source}); check that the folder is writable and has free space")]
    Disk {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the server sent {got} bytes instead of the model's {expected}; the download was deleted, download it again")]
    WrongSize { expected: u64, got: u64 },
    #[error("the downloaded model does not match its checksum; it was deleted, download it again")]
    ChecksumMismatch,
    #[error("{path} is not the expected model file (its checksum differs); download it again or choose another file")]
    NotTheModel { path: PathBuf },
    #[error("the model file {path} cannot be read ({source})")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Checks a file's sha256 (reads the whole file: call it off async threads).
pub fn verify(path: &Path, sha256: &str) -> Result<(), ModelError> {
    let unreadable = |source| ModelError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    if sha256_of(path).map_err(unreadable)? == sha256.to_ascii_lowercase() {
        Ok(())
    } else {
        Err(ModelError::NotTheModel {
            path: path.to_path_buf(),
        })
    }
}

pub(crate) fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The model's file in `dir` when it is there whole (its size matches; a download only
/// ever puts a checked file under that name).
pub fn installed(entry: &ModelEntry, dir: &Path) -> Option<PathBuf> {
    let path = dir.join(entry.file_name);
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.len() == entry.bytes).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_well_formed() {
        assert!(entry(DEFAULT_MODEL).is_some());
        for (i, e) in CATALOG.iter().enumerate() {
            assert_eq!(e.sha256.len(), 64, "{}", e.key);
            assert!(e
                .sha256
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert!(e.url.ends_with(&format!("/{}", e.file_name)));
            assert_eq!(e.multilingual, !e.key.ends_with(".en"));
            assert!(CATALOG[..i]
                .iter()
                .all(|o| o.key != e.key && o.sha256 != e.sha256));
        }
        assert_eq!(entry("tiny.en").map(|e| e.bytes), Some(77_704_715));
        assert!(entry("huge").is_none());
    }

    #[test]
    fn installed_needs_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = ModelEntry {
            bytes: 5,
            ..CATALOG[0]
        };
        assert_eq!(installed(&e, dir.path()), None);
        std::fs::write(dir.path().join(e.file_name), b"1234").unwrap();
        assert_eq!(installed(&e, dir.path()), None);
        std::fs::write(dir.path().join(e.file_name), b"12345").unwrap();
        assert_eq!(
            installed(&e, dir.path()),
            Some(dir.path().join(e.file_name))
        );
    }

    #[test]
    fn verify_compares_the_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        std::fs::write(&path, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        verify(&path, abc).unwrap();
        verify(&path, &abc.to_uppercase()).unwrap();
        let err = verify(&path, &"0".repeat(64)).unwrap_err();
        assert!(matches!(err, ModelError::NotTheModel { .. }), "{err}");
        let err = verify(&dir.path().join("none"), abc).unwrap_err();
        assert!(matches!(err, ModelError::Unreadable { .. }), "{err}");
    }
}
