//! [`Recorder`]: one recording session, from start to a finished clip. This
//! file is the public face (the handle, its options and events); the work is
//! done in its private modules:
//! - `capture`: both sources started on one [`Clock`], the bounded channels
//!   they deliver into, and their stop;
//! - `session`: the recorder thread. It fits video into frame slots, lays
//!   audio down, drives the encoder and [`ClipWriter`](crate::ClipWriter),
//!   reports progress, fragments and previews back to the handle, and at the
//!   stop finishes the clip and its player-ready copy;
//! - `timeline`: the timing rules the session follows, without I/O (media
//!   time and pauses, frame slots, the audio line, frame jitter);
//! - `resample`: any device rate and channel count to mono 48 kHz, with the
//!   recorder's one `unsafe`;
//! - `preview`: a few small RGB frames a second for the UI ([`PreviewFrame`]),
//!   paced on the source's frame grid and scaled on their own thread.
//!
//! Threads: each source captures on its own thread into a bounded channel;
//! one encoder thread converts, encodes and muxes; one preview thread scales
//! the occasional frame for the UI. Live sources never wait for the encoder:
//! when its queue (half a second of video, two of audio) is full, the frame is
//! dropped and counted, so a slow disk can cost frames but never stalls capture.

mod capture;
mod preview;
pub(crate) mod resample;
mod session;
mod timeline;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use crate::encode::{ContentKind, QualityPreset};
use crate::error::{MediaError, Result};
use crate::mux::Fragment;
use crate::source::{AudioLevel, AudioSource, Clock, LevelMeter, VideoSource};

pub use preview::{PreviewFrame, PreviewSettings};

use capture::Capture;
use session::{Reports, Session};

/// Default longest clip: messages should be short.
pub const DEFAULT_MAX_LENGTH: Duration = Duration::from_secs(5 * 60);

/// How a recording is set up.
#[derive(Debug, Clone)]
pub struct RecorderConfig {
    /// The growing fragmented MP4: what an uploader sends and what crash
    /// recovery finds.
    pub output: PathBuf,
    /// Where a clean stop writes the player-ready copy (faststart MP4 with the
    /// right duration); None to skip it.
    pub playable_output: Option<PathBuf>,
    pub quality: QualityPreset,
    /// Camera (default) or screen: the screen gets encoder settings that keep
    /// text legible ([`crate::encode::X264Settings`]).
    pub content: ContentKind,
    pub max_length: Duration,
    /// Low-rate preview frames for the UI; None for no preview.
    pub preview: Option<PreviewSettings>,
}

impl RecorderConfig {
    /// 720p, 5 minutes at most, a 5 fps 320-wide preview, and the playable
    /// copy next to `output` (see [`crate::clip::playable_path_for`]).
    pub fn new(output: impl Into<PathBuf>) -> Self {
        let output = output.into();
        RecorderConfig {
            playable_output: Some(crate::clip::playable_path_for(&output)),
            output,
            quality: QualityPreset::default(),
            content: ContentKind::default(),
            max_length: DEFAULT_MAX_LENGTH,
            preview: Some(PreviewSettings::default()),
        }
    }
}

/// Why a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// [`Recorder::stop`] was called.
    Requested,
    /// The maximum length was reached.
    MaxLength,
    /// Every source delivered all it had (a file, a finite test pattern).
    SourcesFinished,
    /// A device went away; the clip keeps what came before.
    SourceLost { source: String, reason: String },
    /// The disk filled up; the clip keeps every fragment written before.
    DiskFull,
    /// Encoding or writing failed for another reason.
    Failed(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Requested => write!(f, "stopped"),
            StopReason::MaxLength => write!(f, "the maximum clip length was reached"),
            StopReason::SourcesFinished => write!(f, "the source ended"),
            StopReason::SourceLost { source, reason } => {
                write!(f, "{source} stopped delivering: {reason}")
            }
            StopReason::DiskFull => write!(f, "the disk is full"),
            StopReason::Failed(why) => write!(f, "recording failed: {why}"),
        }
    }
}

/// What the UI hears about while recording. Progress events are dropped when
/// nobody reads them; fragments have their own lossless channel.
#[derive(Debug, Clone)]
pub enum RecorderEvent {
    Progress {
        elapsed: Duration,
        remaining: Duration,
        paused: bool,
        dropped_frames: u64,
        level: AudioLevel,
    },
    /// A source has something to tell while the recording goes on (a window
    /// closed, the screen changed size). Never dropped when the queue has room.
    Notice(String),
    Stopped(StopReason),
}

/// The result of a recording.
#[derive(Debug, Clone)]
pub struct RecordingOutcome {
    /// The fragmented MP4 (complete and valid after a clean stop).
    pub clip: PathBuf,
    /// The player-ready copy, when it was asked for and could be made.
    pub playable: Option<PathBuf>,
    pub stop_reason: StopReason,
    /// Media length of the clip.
    pub duration: Duration,
    pub bytes: u64,
    pub video_frames: u64,
    /// Frames lost: the queue was full, or they came too late for their slot.
    pub dropped_frames: u64,
    /// Frame slots with no new picture (the previous one stays on screen).
    pub repeated_frames: u64,
    /// Silence inserted where the audio had a gap.
    pub audio_gap_filled: Duration,
    /// 99th percentile of |frame interval - 1/fps| between captured frames.
    pub frame_jitter_p99: Duration,
    /// Every byte range of `clip`, in order (also announced while recording).
    pub fragments: Vec<Fragment>,
}

/// What the handle asks of the recorder thread, each with the clock reading
/// of the call, so the time the message takes to arrive does not count.
enum Control {
    Pause(Duration),
    Resume(Duration),
    Stop(Duration),
    Cancel,
}

/// What the recorder thread publishes for the handle to read without waiting.
#[derive(Default)]
struct Shared {
    paused: AtomicBool,
    elapsed_micros: AtomicU64,
}

/// One recording session. Dropping it without [`Recorder::stop`] stops it too.
pub struct Recorder {
    control: Sender<Control>,
    events: Receiver<RecorderEvent>,
    fragments: Receiver<Fragment>,
    previews: Receiver<PreviewFrame>,
    level: LevelMeter,
    clock: Clock,
    shared: Arc<Shared>,
    max_length: Duration,
    output: PathBuf,
    playable: Option<PathBuf>,
    thread: Option<JoinHandle<RecordingOutcome>>,
}

impl Recorder {
    /// Starts capturing and encoding. Errors when a source cannot start (the
    /// message names the device) or the output cannot be created.
    pub fn start(
        config: RecorderConfig,
        video: Box<dyn VideoSource>,
        audio: Option<Box<dyn AudioSource>>,
    ) -> Result<Recorder> {
        crate::init();
        if config.max_length.is_zero() {
            return Err(MediaError::InvalidSettings(
                "a maximum length of zero".into(),
            ));
        }
        std::fs::File::create(&config.output)
            .map_err(|e| MediaError::io("create", &config.output, e))?;
        crate::recovery::mark_unfinished(&config.output)?;
        let capture = match Capture::start(video, audio) {
            Ok(capture) => capture,
            Err(e) => {
                discard_unfinished(&config.output);
                return Err(e);
            }
        };
        tracing::info!(output = %config.output.display(), video = %capture.video_name(), audio = ?capture.audio_name(), "recording started");

        let clock = capture.clock();
        let (control_tx, control) = unbounded();
        let (events, event_rx) = bounded(64);
        let (fragments, fragment_rx) = unbounded();
        let (preview_tx, preview_rx) = bounded(2);
        let level = LevelMeter::new();
        let shared = Arc::new(Shared::default());
        let reports = Reports {
            control,
            events,
            fragments,
            level: level.clone(),
            shared: shared.clone(),
        };
        let session = Session::new(config.clone(), capture, reports, preview_tx);
        let thread = std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || session.run())
            .map_err(|e| MediaError::io("start the recorder thread for", &config.output, e))?;
        Ok(Recorder {
            control: control_tx,
            events: event_rx,
            fragments: fragment_rx,
            previews: preview_rx,
            level,
            clock,
            shared,
            max_length: config.max_length,
            output: config.output,
            playable: config.playable_output,
            thread: Some(thread),
        })
    }

    pub fn pause(&self) {
        let _ = self.control.send(Control::Pause(self.clock.now()));
    }

    pub fn resume(&self) {
        let _ = self.control.send(Control::Resume(self.clock.now()));
    }

    pub fn is_paused(&self) -> bool {
        self.shared.paused.load(Ordering::Relaxed)
    }

    /// Recorded media time so far (pauses excluded).
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.shared.elapsed_micros.load(Ordering::Relaxed))
    }

    /// Time left before the maximum length stops the recording.
    pub fn remaining(&self) -> Duration {
        self.max_length.saturating_sub(self.elapsed())
    }

    /// Latest microphone level, for a meter.
    pub fn level(&self) -> AudioLevel {
        self.level.level()
    }

    /// Progress and the final stop; lossy when not read.
    pub fn events(&self) -> &Receiver<RecorderEvent> {
        &self.events
    }

    /// Every completed byte range of the clip file, in order, never dropped.
    pub fn fragments(&self) -> &Receiver<Fragment> {
        &self.fragments
    }

    /// Small RGB frames a few times a second; dropped when not read.
    pub fn previews(&self) -> &Receiver<PreviewFrame> {
        &self.previews
    }

    /// True once the recording ended by itself (max length, source, disk).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Stops now and finishes the clip.
    pub fn stop(mut self) -> Result<RecordingOutcome> {
        let _ = self.control.send(Control::Stop(self.clock.now()));
        self.join()
    }

    /// Waits until the recording ends by itself (a finite source or max length).
    pub fn wait(mut self) -> Result<RecordingOutcome> {
        self.join()
    }

    /// Stops and deletes everything written.
    pub fn cancel(mut self) -> Result<()> {
        let _ = self.control.send(Control::Cancel);
        let outcome = self.join();
        for path in std::iter::once(&self.output).chain(self.playable.iter()) {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(MediaError::io("delete", path, e));
                }
                _ => {}
            }
        }
        crate::recovery::clear_unfinished(&self.output);
        outcome.map(|_| ())
    }

    fn join(&mut self) -> Result<RecordingOutcome> {
        let thread = self.thread.take().ok_or_else(|| {
            MediaError::RecorderCrashed("the recording was already stopped".into())
        })?;
        thread
            .join()
            .map_err(|_| MediaError::RecorderCrashed("the recorder thread panicked".into()))
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.control.send(Control::Stop(self.clock.now()));
            let _ = thread.join();
        }
    }
}

/// Removes a clip that never got going, and its marker.
fn discard_unfinished(output: &Path) {
    crate::recovery::clear_unfinished(output);
    if let Err(e) = std::fs::remove_file(output) {
        tracing::warn!(error = %e, clip = %output.display(), "could not remove the clip of a recording that did not start");
    }
}
