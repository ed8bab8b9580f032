//! Speech to text on the user's own machine, for Pigeon's transcripts, captions and search.
//!
//! It is: the whisper.cpp engine (through `whisper-rs`) turning a clip's sound into a
//! timed [`pigeon_protocol::Transcript`]; the model catalog, its resumable, sha256-checked
//! download and the check of a model file on disk; the converter from a CTranslate2
//! Whisper model to the ggml file whisper.cpp loads; captions (WebVTT, SRT, plain text)
//! and the pauses a player may skip.
//!
//! It is NOT where transcripts are kept, queued or searched (`pigeon-library`), nor how
//! they travel (`pigeon-protocol`, `pigeon-store`). It never sends sound anywhere.
//!
//! The engine's path: [`decode_sound`] (any clip FFmpeg reads, to 16 kHz mono and its
//! level per 100 ms) -> [`Model::load`] (checks the file is a complete ggml Whisper model
//! before whisper.cpp sees it) -> [`transcribe`] (segments and word times, progress,
//! cancel; silence gives no segments) on a thread lowered with
//! [`lower_this_threads_priority`] so it never competes with a recording. Then
//! [`captions`] and [`pauses`] read the transcript; [`word_error_rate`] measures it.

pub mod captions;
mod engine;
mod error;
mod languages;
pub mod pauses;
mod sound;
mod wer;

// Models: the catalog and its download, conversion, and the tests' model.
pub mod convert;
pub mod models;
pub mod testing;

pub use engine::{
    check_model_file, lower_this_threads_priority, transcribe, Model, ModelHeader,
    TranscribeOptions, GGML_MAGIC, SPEECH_FLOOR_DBFS,
};
pub use error::TranscribeError;
pub use languages::language_name;
pub use sound::{decode_sound, levels_of, Sound, LEVEL_WINDOW_MS, SAMPLE_RATE, SILENT_LEVEL_DBFS};
pub use wer::{normalised_words, word_error_rate};
