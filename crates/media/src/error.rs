//! The one error type of the recording engine.

use std::path::PathBuf;

/// Everything that can go wrong while listing devices, recording, recovering or
/// inspecting a clip. Each message says what went wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no camera was found: connect a camera, or record from a file instead")]
    NoCamera,
    #[error("camera {device} could not be opened ({reason}): check that it is connected and not in use by another application, or choose another camera")]
    CameraUnavailable { device: String, reason: String },
    #[error("no microphone was found: connect a microphone or check the system's sound settings")]
    NoMicrophone,
    #[error("microphone {device} could not be opened ({reason}): check that it is connected and not muted or in use, or choose another microphone")]
    MicrophoneUnavailable { device: String, reason: String },
    #[error("{path} is not a media file that can be played ({reason}): choose a video file such as MP4, MOV, MKV or WebM")]
    NotMedia { path: PathBuf, reason: String },
    #[error("{path} is not a playable clip: {reason}")]
    NotAClip { path: PathBuf, reason: String },
    #[error("{path} has nothing to recover: {reason}")]
    NothingToRecover { path: PathBuf, reason: String },
    #[error("the disk holding {path} is full: free some space; what was recorded before is kept")]
    DiskFull { path: PathBuf },
    #[error("could not {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{action} failed: {source}; this is a bug or a broken FFmpeg installation if it keeps happening")]
    Ffmpeg {
        action: String,
        #[source]
        source: ffmpeg_next::Error,
    },
    #[error("the encoder {name} is missing from this FFmpeg build: install FFmpeg with {name} (Debian: libavcodec59 with libx264)")]
    MissingEncoder { name: &'static str },
    /// The screen cannot be recorded here; the text says what is missing and what
    /// to choose instead (one sentence).
    #[error("{0}")]
    ScreenUnavailable(String),
    /// Computer sound cannot be recorded here; the text says why and what to do.
    #[error("{0}")]
    ComputerSoundUnavailable(String),
    /// A trim that cannot be done (a range outside the clip, an unreadable clip).
    #[error("{0}")]
    Trim(String),
    #[error("invalid recording settings: {0}")]
    InvalidSettings(String),
    #[error(
        "the recording thread stopped unexpectedly: {0}; the clip written so far can be recovered"
    )]
    RecorderCrashed(String),
}

impl MediaError {
    pub(crate) fn ffmpeg(action: impl Into<String>, source: ffmpeg_next::Error) -> Self {
        MediaError::Ffmpeg {
            action: action.into(),
            source,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        MediaError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// True when an FFmpeg error means "no space left on the device".
pub(crate) fn is_disk_full(err: &ffmpeg_next::Error) -> bool {
    matches!(err, ffmpeg_next::Error::Other { errno } if *errno == libc::ENOSPC || *errno == libc::EDQUOT)
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
