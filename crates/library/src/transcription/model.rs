//! Which speech model the settings name, whether it is usable, and the lock that lets
//! one process at a time make a library's transcripts.

use std::path::{Path, PathBuf};

use pigeon_transcribe::models::{self, ModelEntry};

use crate::error::{LibraryError, Result};
use crate::settings::TranscriptionSettings;

/// Whether transcripts can be made with the model the settings name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// The model file is here and looks whole.
    Ready(PathBuf),
    /// The catalog model chosen is not downloaded (a partial download resumes).
    NotDownloaded(&'static ModelEntry),
    /// Transcription is turned off in the settings.
    Off,
    /// The model cannot be used: one sentence saying why and what to do.
    Broken(String),
}

impl ModelStatus {
    /// Reads the settings and the models folder (the model file's header only: cheap).
    pub fn of(settings: &TranscriptionSettings, models_dir: &Path) -> ModelStatus {
        if !settings.enabled {
            return ModelStatus::Off;
        }
        if let Some(path) = &settings.model_path {
            return checked(path);
        }
        let Some(entry) = models::entry(&settings.model) else {
            let keys: Vec<_> = models::CATALOG.iter().map(|m| m.key).collect();
            return ModelStatus::Broken(format!(
                "{:?} is not a speech model Pigeon knows: choose one of {} in Settings",
                settings.model,
                keys.join(", ")
            ));
        };
        if let Some(path) = models::installed(entry, models_dir) {
            return checked(&path);
        }
        let file = models_dir.join(entry.file_name);
        if file.exists() {
            // A complete download is renamed into place, so a file of the wrong size
            // there was damaged or replaced.
            return ModelStatus::Broken(format!(
                "the speech model file {} is damaged (not the size it should be): download the {} model again in Settings",
                file.display(),
                entry.label
            ));
        }
        ModelStatus::NotDownloaded(entry)
    }

    /// Why a transcript cannot be made now, in one sentence; None when it can.
    pub fn problem(&self) -> Option<String> {
        match self {
            ModelStatus::Ready(_) => None,
            ModelStatus::NotDownloaded(entry) => Some(format!(
                "the {} speech model is not downloaded: download it in Settings ({} MB), then make the transcript again",
                entry.label,
                entry.bytes.div_ceil(1_000_000)
            )),
            ModelStatus::Off => Some(
                "transcription is turned off: turn it on in Settings to make transcripts".into(),
            ),
            ModelStatus::Broken(sentence) => Some(sentence.clone()),
        }
    }
}

fn checked(path: &Path) -> ModelStatus {
    match pigeon_transcribe::check_model_file(path) {
        Ok(_) => ModelStatus::Ready(path.to_path_buf()),
        Err(e) => ModelStatus::Broken(e.to_string()),
    }
}

/// An exclusive advisory lock on the library's transcription lock file, held while a
/// Transcriber works through the queue. Another process (the desktop app and a
/// `pigeon` command on one library) then leaves the queue to it; and a job found
/// `running` while the lock is held was left by a process that died. The operating
/// system releases it when the file is closed, also when the process is killed.
pub(crate) struct QueueLock {
    _file: std::fs::File,
}

impl QueueLock {
    /// The lock, or None while another Transcriber holds it.
    pub(crate) fn try_take(path: &Path) -> Result<Option<QueueLock>> {
        use std::os::fd::AsRawFd as _;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| LibraryError::io(path, e))?;
        // SAFETY: flock(2) on the open descriptor of `file`, which this function owns and
        // keeps open for as long as the lock is held.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(QueueLock { _file: file }));
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(LibraryError::io(path, error))
        }
    }
}
