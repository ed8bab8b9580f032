//! What can go wrong while turning a clip's sound into a transcript, each said in one
//! sentence a user can act on.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TranscribeError {
    /// No file where the model should be.
    #[error(
        "the speech model {} is missing: download it again in Settings, or point Settings at a model file that exists",
        path.display()
    )]
    ModelMissing { path: PathBuf },

    /// The file is shorter than its own header says: an interrupted download or copy.
    #[error(
        "the speech model {} is incomplete ({actual} of {expected} bytes): download it again",
        path.display()
    )]
    ModelTruncated {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    /// Not a whisper.cpp (ggml) model at all, or one whisper.cpp refused.
    #[error(
        "{} is not a whisper.cpp speech model ({reason}): choose a ggml model file such as ggml-base.en.bin",
        path.display()
    )]
    NotAModel { path: PathBuf, reason: String },

    /// The clip has no sound track, so there is nothing to transcribe.
    #[error("{} has no sound track, so it has no transcript", clip.display())]
    NoSound { clip: PathBuf },

    /// The clip (or the model file) could not be read or decoded.
    #[error("the sound of {} could not be read ({reason}): check that the clip plays", clip.display())]
    Decode { clip: PathBuf, reason: String },

    /// The caller asked to stop.
    #[error("transcription was cancelled; it can be made again later")]
    Cancelled,

    /// whisper.cpp failed while transcribing.
    #[error("the speech engine failed ({0}): make the transcript again, or try another model")]
    Engine(String),
}
