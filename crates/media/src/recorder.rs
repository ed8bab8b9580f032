//! [`Recorder`]: one recording session, from start to a finished clip.
//!
//! Threads: each source captures on its own thread into a bounded channel;
//! one encoder thread converts, encodes and muxes; one preview thread scales
//! the occasional frame for the UI. Live sources never wait for the encoder:
//! when its queue (half a second of video, two of audio) is full, the frame is
//! dropped and counted, so a slow disk can cost frames but never stalls capture.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, never, select, unbounded, Receiver, Sender};
use ffmpeg::format::{sample, Pixel, Sample};
use ffmpeg::software::resampling;
use ffmpeg::util::frame;
use ffmpeg::ChannelLayout;
use ffmpeg_next as ffmpeg;

use crate::encode::{frame_to_packed, FrameConverter, QualityPreset, AUDIO_RATE};
use crate::error::{MediaError, Result};
use crate::mux::{ClipWriter, Fragment, VideoSettings};
use crate::source::{
    AudioChunk, AudioLevel, AudioSource, Clock, LevelMeter, Sink, SourceContext, SourceEnd,
    SourceMessage, VideoFrame, VideoSource,
};

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
            max_length: DEFAULT_MAX_LENGTH,
            preview: Some(PreviewSettings::default()),
        }
    }
}

/// Size and rate of preview frames.
#[derive(Debug, Clone, Copy)]
pub struct PreviewSettings {
    pub width: u32,
    pub fps: u32,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        PreviewSettings { width: 320, fps: 5 }
    }
}

/// A small RGB picture of what is being recorded.
#[derive(Debug, Clone)]
pub struct PreviewFrame {
    pub width: u32,
    pub height: u32,
    /// Packed RGB, 3 bytes a pixel, no padding.
    pub rgb: Vec<u8>,
    pub media_time: Duration,
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

enum Control {
    Pause(Duration),
    Resume(Duration),
    Stop(Duration),
    Cancel,
}

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
        mut video: Box<dyn VideoSource>,
        mut audio: Option<Box<dyn AudioSource>>,
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

        let fps = video.frame_rate().max(1);
        let clock = Clock::new();
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = clock.now();
        let ctx = SourceContext {
            clock,
            epoch,
            stop: stop.clone(),
        };
        let queue = (fps as usize / 2).max(4);
        let (video_tx, video_rx) = bounded(queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let live = video.is_live();
        let start_result = video.start(ctx.clone(), Sink::new(video_tx, live, dropped.clone()));
        if let Err(e) = start_result {
            crate::recovery::clear_unfinished(&config.output);
            let _ = std::fs::remove_file(&config.output);
            return Err(e);
        }
        let audio_rx = match audio.as_mut() {
            Some(source) => {
                let (tx, rx) = bounded(200);
                let sink = Sink::new(tx, source.is_live(), Arc::new(AtomicU64::new(0)));
                if let Err(e) = source.start(ctx.clone(), sink) {
                    stop.store(true, Ordering::Relaxed);
                    video.join();
                    crate::recovery::clear_unfinished(&config.output);
                    let _ = std::fs::remove_file(&config.output);
                    return Err(e);
                }
                Some(rx)
            }
            None => None,
        };
        tracing::info!(output = %config.output.display(), video = %video.name(), audio = ?audio.as_ref().map(|a| a.name()), "recording started");

        let (control_tx, control_rx) = unbounded();
        let (event_tx, event_rx) = bounded(64);
        let (fragment_tx, fragment_rx) = unbounded();
        let (preview_tx, preview_rx) = bounded(2);
        let level = LevelMeter::new();
        let shared = Arc::new(Shared::default());
        let session = Session {
            config: config.clone(),
            fps,
            live,
            clock,
            epoch,
            stop,
            video,
            audio,
            video_rx,
            audio_rx,
            control_rx,
            event_tx,
            fragment_tx,
            preview: config.preview.map(|p| PreviewSender::start(p, preview_tx)),
            level: level.clone(),
            shared: shared.clone(),
            capture_drops: dropped,
            state: EncodeState::default(),
        };
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

/// Frame-interval histogram in 0.1 ms buckets up to 200 ms: constant memory
/// for any length.
struct JitterHistogram {
    buckets: Vec<u32>,
    count: u64,
}

impl JitterHistogram {
    fn new() -> Self {
        JitterHistogram {
            buckets: vec![0; 2001],
            count: 0,
        }
    }

    fn add(&mut self, deviation: Duration) {
        let bucket = ((deviation.as_micros() / 100) as usize).min(2000);
        self.buckets[bucket] += 1;
        self.count += 1;
    }

    fn p99(&self) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let target = (self.count as f64 * 0.99).ceil() as u64;
        let mut seen = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += u64::from(n);
            if seen >= target {
                return Duration::from_micros((i as u64 + 1) * 100);
            }
        }
        Duration::from_millis(200)
    }
}

#[derive(Default)]
struct EncodeState {
    writer: Option<ClipWriter>,
    converter: Option<FrameConverter>,
    last_slot: Option<i64>,
    last_capture: Option<Duration>,
    video_frames: u64,
    late_frames: u64,
    repeated_frames: u64,
    /// Audio position in 48 kHz samples, including samples waiting for the writer.
    audio_next: i64,
    audio_waiting: Vec<f32>,
    gap_filled: i64,
    resampler: Option<Resampler>,
    pauses: Vec<(Duration, Option<Duration>)>,
    /// Media time of the furthest frame or sample seen.
    media_end: Duration,
    fragments: Vec<Fragment>,
    video_done: bool,
    audio_done: bool,
    stalled_video: bool,
    stalled_audio: bool,
    stop: Option<StopReason>,
    jitter: Option<JitterHistogram>,
}

struct Session {
    config: RecorderConfig,
    fps: u32,
    live: bool,
    clock: Clock,
    epoch: Duration,
    stop: Arc<AtomicBool>,
    video: Box<dyn VideoSource>,
    audio: Option<Box<dyn AudioSource>>,
    video_rx: Receiver<SourceMessage<VideoFrame>>,
    audio_rx: Option<Receiver<SourceMessage<AudioChunk>>>,
    control_rx: Receiver<Control>,
    event_tx: Sender<RecorderEvent>,
    fragment_tx: Sender<Fragment>,
    preview: Option<PreviewSender>,
    level: LevelMeter,
    shared: Arc<Shared>,
    capture_drops: Arc<AtomicU64>,
    state: EncodeState,
}

/// Media-time limit while draining after a stop.
const AUDIO_GAP_TOLERANCE: i64 = (AUDIO_RATE as i64) * 60 / 1000;
const AUDIO_OVERLAP_LIMIT: i64 = (AUDIO_RATE as i64) / 5;
/// A live source silent this long after its last delivery is taken as lost.
const STALL_LIMIT: Duration = Duration::from_secs(2);
/// Cameras can take a while to deliver their first picture.
const FIRST_ITEM_LIMIT: Duration = Duration::from_secs(5);
/// Audio kept while waiting for the first picture to open the clip.
const AUDIO_WAIT_LIMIT: usize = AUDIO_RATE as usize * 10;

impl Session {
    fn run(mut self) -> RecordingOutcome {
        self.state.jitter = Some(JitterHistogram::new());
        self.state.audio_done = self.audio_rx.is_none();
        let mut video_rx = self.video_rx.clone();
        let mut audio_rx = self.audio_rx.clone().unwrap_or_else(never);
        let mut limit: Option<Duration> = None;
        let mut cancelled = false;
        let tick = Duration::from_millis(250);
        let mut next_progress = self.clock.now() + tick;
        // When each source last delivered: a live device that goes quiet
        // without an error (unplugged on some drivers) is caught here.
        let mut video_seen: Option<Duration> = None;
        let mut audio_seen: Option<Duration> = None;
        let audio_live = self.audio.as_ref().is_some_and(|a| a.is_live());
        while self.state.stop.is_none() {
            select! {
                recv(self.control_rx) -> cmd => match cmd {
                    Ok(Control::Pause(at)) => {
                        if self.state.pauses.last().is_none_or(|p| p.1.is_some()) {
                            self.state.pauses.push((at, None));
                            self.shared.paused.store(true, Ordering::Relaxed);
                        }
                    }
                    Ok(Control::Resume(at)) => {
                        if let Some(p) = self.state.pauses.last_mut().filter(|p| p.1.is_none()) {
                            p.1 = Some(at);
                            self.shared.paused.store(false, Ordering::Relaxed);
                        }
                    }
                    Ok(Control::Stop(at)) => {
                        limit = if self.live { self.media_time(at) } else { None };
                        self.state.stop = Some(StopReason::Requested);
                    }
                    Ok(Control::Cancel) | Err(_) => {
                        cancelled = true;
                        self.state.stop = Some(StopReason::Requested);
                    }
                },
                recv(video_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(frame)) => {
                        video_seen = Some(self.clock.now());
                        self.on_video(frame, None);
                    }
                    Ok(SourceMessage::Ended(end)) => { self.on_source_end(&self.video.name(), end); video_rx = never(); }
                    Err(_) => { self.on_source_end(&self.video.name(), SourceEnd::Finished); video_rx = never(); }
                },
                recv(audio_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(chunk)) => {
                        audio_seen = Some(self.clock.now());
                        self.on_audio(chunk, None);
                    }
                    Ok(SourceMessage::Ended(end)) => {
                        let name = self.audio.as_ref().map(|a| a.name()).unwrap_or_default();
                        self.on_source_end(&name, end);
                        audio_rx = never();
                    }
                    Err(_) => {
                        let name = self.audio.as_ref().map(|a| a.name()).unwrap_or_default();
                        self.on_source_end(&name, SourceEnd::Finished);
                        audio_rx = never();
                    }
                },
                default(Duration::from_millis(50)) => {}
            }
            let now = self.clock.now();
            if self.live && self.state.stop.is_none() {
                if let Some(media) = self.media_time(now) {
                    if media >= self.config.max_length {
                        self.state.stop = Some(StopReason::MaxLength);
                    }
                }
            }
            if self.state.stop.is_none() {
                if self.live && !self.state.video_done {
                    self.check_stall(now, video_seen, true);
                }
                if audio_live && !self.state.audio_done {
                    self.check_stall(now, audio_seen, false);
                }
            }
            if now >= next_progress {
                next_progress = now + tick;
                self.send_progress(now);
            }
        }
        let limit = match (&self.state.stop, limit) {
            (Some(StopReason::MaxLength), _) => Some(self.config.max_length),
            (_, l) => l,
        };
        self.finish(cancelled, limit)
    }

    /// Media time of a clock reading: pauses and time before the start do not count.
    fn media_time(&self, at: Duration) -> Option<Duration> {
        let mut t = at.checked_sub(self.epoch)?;
        for &(start, end) in &self.state.pauses {
            match end {
                _ if at < start => {}
                None => return None,
                Some(end) if at < end => return None,
                Some(end) => t = t.saturating_sub(end - start),
            }
        }
        Some(t)
    }

    /// Ends the recording when a live source has delivered nothing for too long.
    fn check_stall(&mut self, now: Duration, seen: Option<Duration>, video: bool) {
        let (since, allowed) = match seen {
            Some(at) => (at, STALL_LIMIT),
            None => (self.epoch, FIRST_ITEM_LIMIT),
        };
        let quiet = now.saturating_sub(since);
        if quiet > allowed {
            let name = if video {
                self.video.name()
            } else {
                self.audio.as_ref().map(|a| a.name()).unwrap_or_default()
            };
            let what = if video { "picture" } else { "sound" };
            let reason = format!(
                "no {what} for {:.1} s: the device stopped delivering",
                quiet.as_secs_f64()
            );
            if video {
                self.state.stalled_video = true;
            } else {
                self.state.stalled_audio = true;
            }
            self.on_source_end(&name, SourceEnd::Lost(reason));
        }
    }

    fn on_source_end(&mut self, name: &str, end: SourceEnd) {
        let is_video = name == self.video.name();
        match end {
            SourceEnd::Lost(reason) => {
                tracing::warn!(source = name, %reason, "a source was lost; ending the recording");
                if self.state.stop.is_none() {
                    self.state.stop = Some(StopReason::SourceLost {
                        source: name.to_string(),
                        reason,
                    });
                }
            }
            SourceEnd::Finished => {
                if is_video {
                    self.state.video_done = true;
                } else {
                    self.state.audio_done = true;
                }
                if self.state.video_done && self.state.audio_done && self.state.stop.is_none() {
                    self.state.stop = Some(StopReason::SourcesFinished);
                }
            }
        }
    }

    fn on_video(&mut self, frame: VideoFrame, limit: Option<Duration>) {
        if let Some(prev) = self.state.last_capture.replace(frame.captured_at) {
            let nominal = Duration::from_secs_f64(1.0 / f64::from(self.fps));
            let interval = frame.captured_at.saturating_sub(prev);
            let deviation = interval.abs_diff(nominal);
            if let Some(j) = self.state.jitter.as_mut() {
                j.add(deviation);
            }
        }
        let Some(media) = self.media_time(frame.captured_at) else {
            return;
        };
        if media >= self.config.max_length {
            if self.state.stop.is_none() {
                self.state.stop = Some(StopReason::MaxLength);
            }
            return;
        }
        if limit.is_some_and(|l| media >= l) {
            return;
        }
        if let Err(e) = self.encode_video(frame, media) {
            self.fail(e);
        }
    }

    fn encode_video(&mut self, frame: VideoFrame, media: Duration) -> Result<()> {
        if self.state.writer.is_none() {
            // The encoder follows the first frame's real size, not what was requested.
            let (w, h) = self.config.quality.output_size(frame.width, frame.height);
            let settings = VideoSettings {
                width: w,
                height: h,
                fps: self.fps,
                quality: self.config.quality,
            };
            let mut writer =
                ClipWriter::create(&self.config.output, settings, self.audio_rx.is_some())?;
            let waiting = std::mem::take(&mut self.state.audio_waiting);
            writer.write_audio(&waiting)?;
            self.state.writer = Some(writer);
            self.state.converter = Some(FrameConverter::new(Pixel::YUV420P, w, h));
            tracing::info!(
                width = w,
                height = h,
                fps = self.fps,
                source_width = frame.width,
                source_height = frame.height,
                "clip opened"
            );
        }
        let exact = media.as_secs_f64() * f64::from(self.fps);
        let mut slot = exact.round() as i64;
        if let Some(last) = self.state.last_slot {
            if slot <= last {
                // A frame that came late for its slot takes the next one, as long as
                // that shows it less than one frame early; otherwise it is one too many.
                if (last + 1) as f64 - exact > 1.0 {
                    self.state.late_frames += 1;
                    return Ok(());
                }
                slot = last + 1;
            }
            self.state.repeated_frames += (slot - last - 1) as u64;
        }
        let Some(converter) = self.state.converter.as_mut() else {
            return Ok(());
        };
        let mut picture = converter.convert(&frame)?;
        if let Some(preview) = self.preview.as_mut() {
            preview.offer(&picture, media);
        }
        if let Some(writer) = self.state.writer.as_mut() {
            writer.write_video(&mut picture, slot)?;
            self.state.video_frames = writer.video_frames();
        }
        self.state.last_slot = Some(slot);
        self.state.media_end = self
            .state
            .media_end
            .max(media + Duration::from_secs_f64(1.0 / f64::from(self.fps)));
        self.publish_fragments();
        Ok(())
    }

    fn on_audio(&mut self, chunk: AudioChunk, limit: Option<Duration>) {
        let level = AudioLevel::of(&chunk.samples);
        self.level.store(level);
        let Some(media) = self.media_time(chunk.captured_at) else {
            return;
        };
        let result = self.encode_audio(chunk, media, limit);
        if let Err(e) = result {
            self.fail(e);
        }
    }

    fn encode_audio(
        &mut self,
        chunk: AudioChunk,
        media: Duration,
        limit: Option<Duration>,
    ) -> Result<()> {
        let stale = self
            .state
            .resampler
            .as_ref()
            .is_none_or(|r| r.rate != chunk.sample_rate || r.channels != chunk.channels);
        if stale {
            self.state.resampler = Some(Resampler::new(chunk.sample_rate, chunk.channels)?);
        }
        let Some(resampler) = self.state.resampler.as_mut() else {
            return Ok(());
        };
        let mut samples = resampler.run(&chunk)?;
        let position = (media.as_secs_f64() * f64::from(AUDIO_RATE)).round() as i64;
        let gap = position - self.state.audio_next;
        if gap > AUDIO_GAP_TOLERANCE {
            // A hole in the audio (device hiccup, resume): fill it with silence; never stretch.
            self.push_audio(&vec![0.0; gap as usize])?;
            self.state.gap_filled += gap;
        } else if gap < -AUDIO_OVERLAP_LIMIT {
            tracing::debug!(gap, "audio chunk far behind the clock: dropped");
            return Ok(());
        }
        let max = self.config.max_length.min(limit.unwrap_or(Duration::MAX));
        let max_samples = (max.as_secs_f64() * f64::from(AUDIO_RATE)) as i64;
        let room = (max_samples - self.state.audio_next).max(0) as usize;
        samples.truncate(room);
        self.push_audio(&samples)
    }

    fn push_audio(&mut self, samples: &[f32]) -> Result<()> {
        self.state.audio_next += samples.len() as i64;
        match self.state.writer.as_mut() {
            Some(writer) => {
                writer.write_audio(samples)?;
                self.publish_fragments();
            }
            None => {
                let room = AUDIO_WAIT_LIMIT.saturating_sub(self.state.audio_waiting.len());
                self.state
                    .audio_waiting
                    .extend_from_slice(&samples[..samples.len().min(room)]);
            }
        }
        Ok(())
    }

    fn publish_fragments(&mut self) {
        if let Some(writer) = self.state.writer.as_mut() {
            for fragment in writer.take_fragments() {
                let _ = self.fragment_tx.send(fragment);
                self.state.fragments.push(fragment);
            }
        }
    }

    fn fail(&mut self, e: MediaError) {
        tracing::error!(error = %e, "recording stopped by an error");
        let reason = match e {
            MediaError::DiskFull { .. } => StopReason::DiskFull,
            other => StopReason::Failed(other.to_string()),
        };
        // A failed writer must not be used again.
        self.state.writer = None;
        self.state.stop = Some(reason);
    }

    fn send_progress(&mut self, now: Duration) {
        let elapsed = match self.media_time(now) {
            Some(t) => t,
            None => self.state.media_end,
        };
        let elapsed = if self.live {
            elapsed
        } else {
            self.state.media_end
        };
        self.shared
            .elapsed_micros
            .store(elapsed.as_micros() as u64, Ordering::Relaxed);
        let _ = self.event_tx.try_send(RecorderEvent::Progress {
            elapsed,
            remaining: self.config.max_length.saturating_sub(elapsed),
            paused: self.shared.paused.load(Ordering::Relaxed),
            dropped_frames: self.capture_drops.load(Ordering::Relaxed) + self.state.late_frames,
            level: self.level.level(),
        });
    }

    fn finish(mut self, cancelled: bool, limit: Option<Duration>) -> RecordingOutcome {
        self.stop.store(true, Ordering::Relaxed);
        // Drain what the sources captured before the stop; they hang up when their threads end.
        let mut video_rx = self.video_rx.clone();
        let mut audio_rx = self.audio_rx.clone().unwrap_or_else(never);
        let mut video_open = !self.state.stalled_video;
        let mut audio_open = self.audio_rx.is_some() && !self.state.stalled_audio;
        if !video_open {
            video_rx = never();
        }
        if !audio_open {
            audio_rx = never();
        }
        while video_open || audio_open {
            select! {
                recv(video_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(frame)) if !cancelled && self.state.writer_ok() => self.on_video(frame, limit),
                    Ok(_) => {}
                    Err(_) => { video_rx = never(); video_open = false; }
                },
                recv(audio_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(chunk)) if !cancelled && self.state.writer_ok() => self.on_audio(chunk, limit),
                    Ok(_) => {}
                    Err(_) => { audio_rx = never(); audio_open = false; }
                },
                default(Duration::from_secs(3)) => {
                    tracing::warn!("a source did not stop within 3 s");
                    break;
                }
            }
        }
        // A source that still holds its channel is stuck (a hung driver call):
        // it is left behind rather than hanging the recording with it.
        if video_open || self.state.stalled_video {
            tracing::warn!(source = %self.video.name(), "not waiting for a stuck capture thread");
        } else {
            self.video.join();
        }
        if let Some(audio) = self.audio.as_mut() {
            if audio_open || self.state.stalled_audio {
                tracing::warn!(source = %audio.name(), "not waiting for a stuck capture thread");
            } else {
                audio.join();
            }
        }
        self.preview = None;
        let mut reason = self.state.stop.clone().unwrap_or(StopReason::Requested);
        let mut clean = false;
        if !cancelled {
            if let Some(writer) = self.state.writer.as_mut() {
                match writer.finish() {
                    Ok(()) => clean = true,
                    Err(MediaError::DiskFull { .. }) => reason = StopReason::DiskFull,
                    Err(e) => reason = StopReason::Failed(e.to_string()),
                }
            }
            self.publish_fragments();
        }
        let bytes = self.state.writer.as_ref().map_or_else(
            || {
                std::fs::metadata(&self.config.output)
                    .map(|m| m.len())
                    .unwrap_or(0)
            },
            |w| w.bytes_written(),
        );
        let mut duration = self.state.media_end.max(Duration::from_secs_f64(
            self.state.audio_next.max(0) as f64 / f64::from(AUDIO_RATE),
        ));
        let mut playable = None;
        if clean {
            crate::recovery::clear_unfinished(&self.config.output);
            if let Some(path) = &self.config.playable_output {
                match crate::clip::make_playable(&self.config.output, path) {
                    Ok(d) => {
                        duration = d;
                        playable = Some(path.clone());
                    }
                    Err(e) => tracing::error!(error = %e, "could not write the playable copy"),
                }
            }
        } else if !cancelled {
            // What survives is what a player can read from the fragments on disk.
            duration = crate::clip::probe(&self.config.output)
                .map(|i| i.duration)
                .unwrap_or(Duration::ZERO);
        }
        let dropped = self.capture_drops.load(Ordering::Relaxed) + self.state.late_frames;
        self.shared
            .elapsed_micros
            .store(duration.as_micros() as u64, Ordering::Relaxed);
        tracing::info!(%reason, ?duration, dropped, "recording ended");
        let _ = self
            .event_tx
            .try_send(RecorderEvent::Stopped(reason.clone()));
        RecordingOutcome {
            clip: self.config.output.clone(),
            playable,
            stop_reason: reason,
            duration,
            bytes,
            video_frames: self.state.video_frames,
            dropped_frames: dropped,
            repeated_frames: self.state.repeated_frames,
            audio_gap_filled: Duration::from_secs_f64(
                self.state.gap_filled as f64 / f64::from(AUDIO_RATE),
            ),
            frame_jitter_p99: self
                .state
                .jitter
                .as_ref()
                .map_or(Duration::ZERO, |j| j.p99()),
            fragments: std::mem::take(&mut self.state.fragments),
        }
    }
}

impl EncodeState {
    fn writer_ok(&self) -> bool {
        !matches!(
            self.stop,
            Some(StopReason::DiskFull) | Some(StopReason::Failed(_))
        )
    }
}

/// Any rate and channel count to mono 48 kHz, with swresample.
struct Resampler {
    rate: u32,
    channels: u16,
    context: Option<resampling::Context>,
}

// SAFETY: the swresample context is owned exclusively and only used through
// `&mut self`; FFmpeg allows that from any thread, one at a time.
unsafe impl Send for Resampler {}

impl Resampler {
    fn new(rate: u32, channels: u16) -> Result<Self> {
        let channels = channels.max(1);
        let context = if rate == AUDIO_RATE && channels == 1 {
            None
        } else {
            Some(
                resampling::Context::get(
                    Sample::F32(sample::Type::Packed),
                    ChannelLayout::default(i32::from(channels)),
                    rate,
                    Sample::F32(sample::Type::Planar),
                    ChannelLayout::MONO,
                    AUDIO_RATE,
                )
                .map_err(|e| {
                    MediaError::ffmpeg(
                        format!("setting up a {rate} Hz {channels}-channel resampler"),
                        e,
                    )
                })?,
            )
        };
        Ok(Resampler {
            rate,
            channels,
            context,
        })
    }

    fn run(&mut self, chunk: &AudioChunk) -> Result<Vec<f32>> {
        let Some(context) = self.context.as_mut() else {
            return Ok(chunk.samples.clone());
        };
        let frames = chunk.frames();
        if frames == 0 {
            return Ok(Vec::new());
        }
        let layout = ChannelLayout::default(i32::from(self.channels));
        let mut input = frame::Audio::new(Sample::F32(sample::Type::Packed), frames, layout);
        input.set_rate(self.rate);
        let bytes = input.data_mut(0);
        for (i, s) in chunk
            .samples
            .iter()
            .take(frames * usize::from(self.channels))
            .enumerate()
        {
            bytes[i * 4..i * 4 + 4].copy_from_slice(&s.to_ne_bytes());
        }
        let capacity = frames * AUDIO_RATE as usize / self.rate as usize + 256;
        let mut output = frame::Audio::new(
            Sample::F32(sample::Type::Planar),
            capacity,
            ChannelLayout::MONO,
        );
        context
            .run(&input, &mut output)
            .map_err(|e| MediaError::ffmpeg("resampling audio", e))?;
        Ok(output.plane::<f32>(0)[..output.samples()].to_vec())
    }
}

/// Scales a few frames a second for the UI on its own thread; the encoder
/// only ever tries to hand over a reference-counted frame and moves on.
struct PreviewSender {
    tx: Option<Sender<(frame::Video, Duration)>>,
    pace: PreviewPace,
    thread: Option<JoinHandle<()>>,
}

/// Which frames become previews: a steady grid of `every`, so 15 fps from a 30 fps
/// source is every other frame (comparing with the last frame's time instead rounds
/// each interval up to the next source frame and loses rate).
#[derive(Debug)]
struct PreviewPace {
    every: Duration,
    next: Option<Duration>,
}

impl PreviewPace {
    /// Source frame times do not land exactly on the grid.
    const SLACK: Duration = Duration::from_millis(2);

    fn new(fps: u32) -> Self {
        PreviewPace {
            every: Duration::from_secs_f64(1.0 / f64::from(fps.max(1))),
            next: None,
        }
    }

    fn admit(&mut self, media: Duration) -> bool {
        let due = match self.next {
            Some(due) if media + Self::SLACK < due => return false,
            Some(due) => due,
            None => media,
        };
        // Far behind (a pause, a gap): start the grid again from this frame.
        self.next = Some(if media > due + self.every {
            media + self.every
        } else {
            due + self.every
        });
        true
    }
}

impl PreviewSender {
    fn start(settings: PreviewSettings, out: Sender<PreviewFrame>) -> Self {
        let (tx, rx) = bounded::<(frame::Video, Duration)>(1);
        let width = settings.width.max(16) & !1;
        let thread = std::thread::Builder::new()
            .name("recorder-preview".into())
            .spawn(move || {
                let mut converter: Option<FrameConverter> = None;
                for (picture, media_time) in rx {
                    let height = ((u64::from(picture.height()) * u64::from(width)
                        / u64::from(picture.width().max(1)))
                        as u32
                        & !1)
                        .max(2);
                    let conv = converter
                        .get_or_insert_with(|| FrameConverter::new(Pixel::RGB24, width, height));
                    match conv.convert_frame(&picture) {
                        Ok(rgb) => {
                            let frame = PreviewFrame {
                                width,
                                height,
                                rgb: frame_to_packed(&rgb),
                                media_time,
                            };
                            let _ = out.try_send(frame);
                        }
                        Err(e) => tracing::debug!(error = %e, "preview frame skipped"),
                    }
                }
            })
            .ok();
        PreviewSender {
            tx: Some(tx),
            pace: PreviewPace::new(settings.fps),
            thread,
        }
    }

    fn offer(&mut self, picture: &frame::Video, media: Duration) {
        if !self.pace.admit(media) {
            return;
        }
        if let Some(tx) = &self.tx {
            let _ = tx.try_send((picture.clone(), media));
        }
    }
}

impl Drop for PreviewSender {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previews_in_a_second(source_fps: u32, preview_fps: u32) -> usize {
        let mut pace = PreviewPace::new(preview_fps);
        (0..source_fps)
            .map(|i| Duration::from_secs_f64(f64::from(i) / f64::from(source_fps)))
            .filter(|t| pace.admit(*t))
            .count()
    }

    #[test]
    fn previews_keep_their_rate_on_a_source_grid() {
        assert_eq!(previews_in_a_second(30, 15), 15);
        assert_eq!(previews_in_a_second(30, 5), 5);
        assert_eq!(previews_in_a_second(30, 30), 30);
        let twenty = previews_in_a_second(30, 20);
        assert!((20..=21).contains(&twenty), "{twenty}");
        // After a pause the grid starts again instead of bursting to catch up.
        let mut pace = PreviewPace::new(15);
        assert!(pace.admit(Duration::ZERO));
        assert!(pace.admit(Duration::from_secs(10)));
        assert!(!pace.admit(Duration::from_millis(10_033)));
        assert!(pace.admit(Duration::from_millis(10_067)));
    }

    #[test]
    fn a_44k_stereo_device_becomes_48k_mono_at_the_same_pitch() {
        crate::init();
        let mut resampler = Resampler::new(44_100, 2).expect("resampler");
        let mut out = Vec::new();
        for chunk in 0..100 {
            let samples: Vec<f32> = (0..441)
                .flat_map(|i| {
                    let t = (chunk * 441 + i) as f32 / 44_100.0;
                    let v = 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
                    [v, v]
                })
                .collect();
            let chunk = AudioChunk {
                sample_rate: 44_100,
                channels: 2,
                samples,
                captured_at: Duration::ZERO,
            };
            out.extend(resampler.run(&chunk).expect("resample"));
        }
        // One second in, one second out (less the resampler's few samples of delay).
        assert!(
            (47_800..=48_000).contains(&out.len()),
            "{} samples",
            out.len()
        );
        // 1 kHz stays 1 kHz: about 2000 zero crossings in a second.
        let crossings = out
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        assert!(
            (1990..=2010).contains(&crossings),
            "{crossings} zero crossings"
        );
    }

    #[test]
    fn jitter_histogram_reports_the_99th_percentile() {
        let mut h = JitterHistogram::new();
        for _ in 0..99 {
            h.add(Duration::from_micros(250));
        }
        h.add(Duration::from_millis(40));
        assert_eq!(h.p99(), Duration::from_micros(300));
        h.add(Duration::from_millis(40));
        assert_eq!(h.p99(), Duration::from_micros(40_100));
    }
}
