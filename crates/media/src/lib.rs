//! # pigeon-media: Pigeon's recording engine
//!
//! Captures a camera (or a file, or a synthetic test pattern) and a microphone
//! (or a file's sound, or a synthetic tone), keeps them in sync on one
//! monotonic [`Clock`], and encodes them (H.264 + AAC, FFmpeg) into a clip that
//! survives a crash. The desktop app, the CLI and the tests all record through
//! this crate.
//!
//! It is NOT a player, an uploader or a library of messages: it writes and
//! inspects clip files and announces the bytes it wrote; sending them and
//! keeping track of them belongs to the outbox and the library.
//!
//! ## Shape
//! ```text
//! VideoSource (camera | file | synthetic) ─ thread ─ bounded channel ─┐
//! AudioSource (microphone | file | tone) ── thread ─ bounded channel ─┼─ recorder thread:
//!                                                                      │   swscale + libx264, swresample + AAC,
//!                                   preview thread <── 5 fps, lossy ───┘   ClipWriter (fragmented MP4)
//! ```
//! - [`source`]: the [`VideoSource`] / [`AudioSource`] traits, frames with
//!   capture timestamps, [`Clock`], [`LevelMeter`].
//! - [`camera`], [`microphone`], [`file`](mod@file), [`synthetic`]: the sources.
//! - [`encode`]: [`QualityPreset`] (480p / 720p default / 1080p) and picture conversion.
//! - [`mux`]: [`ClipWriter`], the fragmented MP4 writer that reports [`Fragment`]s.
//! - [`recorder`]: [`Recorder`], a session with pause/resume/stop/cancel,
//!   max length, events, previews and fragment announcements.
//! - [`recovery`]: finds clips left by a crash and repairs them.
//! - [`clip`]: probe, poster JPEG, validation, player-ready copy.
//!
//! ## The clip file, uploads and the player-ready copy
//! The recorder writes ONE growing file, a fragmented MP4
//! (`frag_keyframe+empty_moov+default_base_moof`, packets flushed, a keyframe
//! and so a fragment every second). Bytes once written never change, so:
//! - every completed byte range is announced ([`Recorder::fragments`]) and an
//!   uploader can send it while recording goes on; the uploaded object is
//!   byte-for-byte this file, the same after the clean stop (the trailer only
//!   appends);
//! - after a crash the file is readable up to its last fragment (about 1 s of
//!   loss), and [`recovery::recover`] remuxes it into a clean MP4.
//!
//! GStreamer (the desktop player) shows a WRONG duration and seek range for a
//! fragmented MP4 with an empty `moov` (measured: a 3.008 s clip of ours shows
//! as 2.005 s in `gst-discoverer-1.0`; its playable copy as 3.008 s). So a
//! clean stop also writes a
//! player-ready copy, [`clip::make_playable`]: a lossless remux into a normal
//! MP4 with its index up front (`faststart`), 0.07 s for a one-minute clip on
//! the project machine. The copy is a local artefact and is never uploaded: the
//! wire format stays the fragmented file, and whoever plays a clip (the
//! sender after stop, a recipient after download) plays its own
//! `make_playable` copy. Nothing already uploaded has to be rewritten or sent
//! twice. [`RecordingOutcome::duration`] is the true length, to carry in the
//! message's metadata for anyone who shows a clip before remuxing it (for
//! example a MediaSource player fed the fragmented file while it downloads).
//!
//! ## Timing
//! Every source stamps what it captures with the shared [`Clock`]. Video goes
//! into fixed frame slots (`round(t * fps)`): a frame late for its slot is
//! dropped, a missing slot keeps the previous picture on screen; both are
//! counted. Audio is never stretched: it is laid down sample by sample, and a
//! hole longer than 60 ms is filled with silence.
//!
//! ## Sound
//! Clips carry mono AAC at 48 kHz, 96 kbit/s: a voice message gains nothing
//! from stereo. Any device rate, sample format and channel count is mixed down
//! and resampled with swresample. The AAC encoder's priming (1024 samples) is
//! cancelled at the start, because a fragmented MP4 has no edit list to hide it.
//!
//! ## Tests
//! `scripts/test-env cargo nextest run -p pigeon-media` (the microphone test
//! needs the virtual PulseAudio source of `scripts/test-env` and fails outside
//! it; the full-disk test mounts a 1 MB tmpfs and needs root, as CI has).
//!
//! ## Performance
//! Measured numbers and the benchmark command: `docs/performance.md`.
//!
//! ## Threads and memory
//! Capture runs on its own threads and never waits for the encoder, the disk
//! or the UI: queues hold half a second of video and two of audio, and a full
//! queue drops (and counts) instead of blocking. Progress events and preview
//! frames are dropped when nobody reads them. Memory is bounded for any
//! length.

pub mod camera;
pub mod clip;
pub mod composite;
pub mod computer_sound;
pub mod encode;
pub mod error;
pub mod file;
pub mod microphone;
pub mod mix;
pub mod mux;
pub mod recorder;
pub mod recovery;
pub mod screen;
pub mod source;
pub mod synthetic;
pub mod trim;

pub use clip::{make_playable, poster_jpeg, probe, validate, ClipInfo, StreamInfo, StreamKind};
pub use encode::{ContentKind, QualityPreset};
pub use error::{MediaError, Result};
pub use mux::{ClipWriter, Fragment};
pub use recorder::{
    PreviewFrame, PreviewSettings, Recorder, RecorderConfig, RecorderEvent, RecordingOutcome,
    StopReason, DEFAULT_MAX_LENGTH,
};
pub use recovery::{find_unfinished, recover, RecoveredClip};
pub use source::{
    AudioChunk, AudioLevel, AudioSource, Clock, LevelMeter, Pacing, PixelFormat, SourceEnd,
    VideoFrame, VideoSource,
};

/// Initialises FFmpeg once and quiets its logging to errors (it would
/// otherwise write to stderr on its own). Called by every entry point.
pub fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if let Err(e) = ffmpeg_next::init() {
            tracing::error!(error = %e, "FFmpeg failed to initialise");
        }
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
    });
}
