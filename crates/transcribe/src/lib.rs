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
