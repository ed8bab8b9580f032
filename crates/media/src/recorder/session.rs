//! The encode session: the recorder thread. It reads what the sources
//! deliver, fits video into frame slots and lays audio down by the rules of
//! [`super::timeline`], drives the encoder and [`ClipWriter`], and reports
//! progress, fragments and previews to the [`Recorder`](super::Recorder)
//! handle. At the stop it drains what was captured, finishes the clip and
//! writes the player-ready copy.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{never, select, Receiver, Sender};
use ffmpeg::format::Pixel;
use ffmpeg_next as ffmpeg;

use super::capture::{Capture, Item};
use super::preview::PreviewSender;
use super::resample::Resampler;
use super::timeline::{AudioLine, AudioPlacement, FrameJitter, FrameSlots, Timeline};
use super::{
    Control, PreviewFrame, RecorderConfig, RecorderEvent, RecordingOutcome, Shared, StopReason,
};
use crate::encode::{FrameConverter, AUDIO_RATE};
use crate::error::{MediaError, Result};
use crate::mux::{ClipWriter, Fragment, VideoSettings};
use crate::source::{AudioChunk, AudioLevel, LevelMeter, SourceEnd, SourceMessage, VideoFrame};

/// A live source silent this long after its last delivery is taken as lost.
const STALL_LIMIT: Duration = Duration::from_secs(2);
/// Cameras can take a while to deliver their first picture.
const FIRST_ITEM_LIMIT: Duration = Duration::from_secs(5);
/// Audio kept while waiting for the first picture to open the clip.
const AUDIO_WAIT_LIMIT: usize = AUDIO_RATE as usize * 10;
/// How often progress is reported (and a stall or the max length noticed).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// Longest wait for a source while nothing else happens.
const IDLE_WAKE: Duration = Duration::from_millis(50);
/// How long a stop waits for sources to hand over what they captured.
const DRAIN_LIMIT: Duration = Duration::from_secs(3);

/// What the session tells the handle, and what it hears from it.
pub(super) struct Reports {
    pub(super) control: Receiver<Control>,
    pub(super) events: Sender<RecorderEvent>,
    pub(super) fragments: Sender<Fragment>,
    pub(super) level: LevelMeter,
    pub(super) shared: Arc<Shared>,
}

/// Which source a message or a stall is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Video,
    Audio,
}

/// Where each source is.
#[derive(Debug, Default, Clone, Copy)]
struct SourceState {
    /// Delivered everything it had.
    done: bool,
    /// A live source that went quiet: its thread is not waited for.
    stalled: bool,
    /// Clock reading of its last delivery.
    seen: Option<Duration>,
}

/// The recorder thread's state, from the first frame to the outcome.
pub(super) struct Session {
    config: RecorderConfig,
    capture: Capture,
    reports: Reports,
    preview: Option<PreviewSender>,
    timeline: Timeline,
    slots: FrameSlots,
    jitter: FrameJitter,
    sound: AudioLine,
    /// Opened at the first picture, whose real size the encoder follows.
    writer: Option<ClipWriter>,
    converter: Option<FrameConverter>,
    resampler: Option<Resampler>,
    /// Sound that came before the first picture opened the clip.
    audio_waiting: Vec<f32>,
    video_frames: u64,
    /// Media time of the furthest frame seen.
    media_end: Duration,
    fragments: Vec<Fragment>,
    video_state: SourceState,
    audio_state: SourceState,
    /// Why the recording ends, once it does.
    ended: Option<StopReason>,
}

impl Session {
    /// A session that sends previews, when asked for, to `previews`; the
    /// channel hangs up once the session no longer sends any.
    pub(super) fn new(
        config: RecorderConfig,
        capture: Capture,
        reports: Reports,
        previews: Sender<PreviewFrame>,
    ) -> Self {
        let preview = config.preview.map(|p| PreviewSender::start(p, previews));
        let fps = capture.fps;
        let audio_state = SourceState {
            done: capture.audio_rx.is_none(),
            ..SourceState::default()
        };
        Session {
            timeline: Timeline::new(capture.epoch()),
            slots: FrameSlots::new(fps),
            jitter: FrameJitter::new(fps),
            sound: AudioLine::default(),
            config,
            capture,
            reports,
            preview,
            writer: None,
            converter: None,
            resampler: None,
            audio_waiting: Vec::new(),
            video_frames: 0,
            media_end: Duration::ZERO,
            fragments: Vec::new(),
            video_state: SourceState::default(),
            audio_state,
            ended: None,
        }
    }

    /// Records until a stop, the max length, the sources' end or a failure.
    pub(super) fn run(mut self) -> RecordingOutcome {
        let mut video_rx = self.capture.video_rx.clone();
        let mut audio_rx = self.capture.audio_rx.clone().unwrap_or_else(never);
        let control_rx = self.reports.control.clone();
        let mut limit: Option<Duration> = None;
        let mut cancelled = false;
        let mut next_progress = self.now() + PROGRESS_EVERY;
        let audio_live = self.capture.audio.as_ref().is_some_and(|a| a.is_live());
        while self.ended.is_none() {
            select! {
                recv(control_rx) -> cmd => match cmd {
                    Ok(Control::Pause(at)) => {
                        if self.timeline.pause(at) {
                            self.reports.shared.paused.store(true, Ordering::Relaxed);
                        }
                    }
                    Ok(Control::Resume(at)) => {
                        if self.timeline.resume(at) {
                            self.reports.shared.paused.store(false, Ordering::Relaxed);
                        }
                    }
                    Ok(Control::Stop(at)) => {
                        limit = if self.capture.live { self.timeline.media_time(at) } else { None };
                        self.ended = Some(StopReason::Requested);
                    }
                    // The handle went away without asking for a stop (its Drop does ask).
                    Ok(Control::Cancel) | Err(_) => {
                        cancelled = true;
                        self.ended = Some(StopReason::Requested);
                    }
                },
                recv(video_rx) -> msg => {
                    let delivered = self.on_message(Stream::Video, msg);
                    if !delivered {
                        video_rx = never();
                    }
                },
                recv(audio_rx) -> msg => {
                    let delivered = self.on_message(Stream::Audio, msg);
                    if !delivered {
                        audio_rx = never();
                    }
                },
                default(IDLE_WAKE) => {}
            }
            let now = self.now();
            let past_max = self
                .timeline
                .media_time(now)
                .is_some_and(|media| media >= self.config.max_length);
            if self.capture.live && past_max && self.ended.is_none() {
                self.ended = Some(StopReason::MaxLength);
            }
            if self.ended.is_none() {
                if self.capture.live && !self.video_state.done {
                    self.check_stall(now, Stream::Video);
                }
                if audio_live && !self.audio_state.done {
                    self.check_stall(now, Stream::Audio);
                }
            }
            if now >= next_progress {
                next_progress = now + PROGRESS_EVERY;
                self.send_progress(now);
            }
        }
        if self.ended == Some(StopReason::MaxLength) {
            limit = Some(self.config.max_length);
        }
        self.finish(cancelled, limit)
    }

    fn now(&self) -> Duration {
        self.capture.clock().now()
    }

    fn source_name(&self, stream: Stream) -> String {
        match stream {
            Stream::Video => self.capture.video_name(),
            Stream::Audio => self.capture.audio_name().unwrap_or_default(),
        }
    }

    fn source_state(&mut self, stream: Stream) -> &mut SourceState {
        match stream {
            Stream::Video => &mut self.video_state,
            Stream::Audio => &mut self.audio_state,
        }
    }

    /// Handles one message of a source while recording; false once the
    /// source has nothing more to say.
    fn on_message<T: Into<Item>>(
        &mut self,
        stream: Stream,
        msg: std::result::Result<SourceMessage<T>, crossbeam_channel::RecvError>,
    ) -> bool {
        match msg {
            Ok(SourceMessage::Item(item)) => {
                let now = self.now();
                self.source_state(stream).seen = Some(now);
                self.on_item(item.into(), None);
                true
            }
            Ok(SourceMessage::Notice(text)) => {
                tracing::info!(source = %self.source_name(stream), notice = %text, "source notice");
                let _ = self.reports.events.try_send(RecorderEvent::Notice(text));
                true
            }
            Ok(SourceMessage::Ended(end)) => {
                self.on_source_end(stream, end);
                false
            }
            // The source's thread ended without a word: it has delivered all.
            Err(_) => {
                self.on_source_end(stream, SourceEnd::Finished);
                false
            }
        }
    }

    fn on_item(&mut self, item: Item, limit: Option<Duration>) {
        match item {
            Item::Video(frame) => self.on_video(frame, limit),
            Item::Audio(chunk) => self.on_audio(chunk, limit),
        }
    }

    /// Ends the recording when a live source has delivered nothing for too long.
    fn check_stall(&mut self, now: Duration, stream: Stream) {
        let (since, allowed) = match self.source_state(stream).seen {
            Some(at) => (at, STALL_LIMIT),
            None => (self.timeline.epoch(), FIRST_ITEM_LIMIT),
        };
        let quiet = now.saturating_sub(since);
        if quiet <= allowed {
            return;
        }
        let what = match stream {
            Stream::Video => "picture",
            Stream::Audio => "sound",
        };
        let reason = format!(
            "no {what} for {:.1} s: the device stopped delivering",
            quiet.as_secs_f64()
        );
        self.source_state(stream).stalled = true;
        self.on_source_end(stream, SourceEnd::Lost(reason));
    }

    fn on_source_end(&mut self, stream: Stream, end: SourceEnd) {
        match end {
            SourceEnd::Lost(reason) => {
                let source = self.source_name(stream);
                tracing::warn!(%source, %reason, "a source was lost; ending the recording");
                if self.ended.is_none() {
                    self.ended = Some(StopReason::SourceLost { source, reason });
                }
            }
            SourceEnd::Finished => {
                self.source_state(stream).done = true;
                if self.video_state.done && self.audio_state.done && self.ended.is_none() {
                    self.ended = Some(StopReason::SourcesFinished);
                }
            }
        }
    }

    fn on_video(&mut self, frame: VideoFrame, limit: Option<Duration>) {
        self.jitter.captured(frame.captured_at);
        let Some(media) = self.timeline.media_time(frame.captured_at) else {
            return;
        };
        if media >= self.config.max_length {
            if self.ended.is_none() {
                self.ended = Some(StopReason::MaxLength);
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

    /// Opens the clip at the size of the first picture, with the sound that
    /// came before it.
    fn open_clip(&mut self, frame: &VideoFrame) -> Result<()> {
        let (w, h) = self.config.quality.output_size(frame.width, frame.height);
        let settings = VideoSettings {
            width: w,
            height: h,
            fps: self.capture.fps,
            quality: self.config.quality,
            content: self.config.content,
        };
        let with_audio = self.capture.audio_rx.is_some();
        let mut writer = ClipWriter::create(&self.config.output, settings, with_audio)?;
        writer.write_audio(&std::mem::take(&mut self.audio_waiting))?;
        self.writer = Some(writer);
        self.converter = Some(FrameConverter::new(Pixel::YUV420P, w, h));
        tracing::info!(
            width = w,
            height = h,
            fps = self.capture.fps,
            source_width = frame.width,
            source_height = frame.height,
            "clip opened"
        );
        Ok(())
    }

    fn encode_video(&mut self, frame: VideoFrame, media: Duration) -> Result<()> {
        if self.writer.is_none() {
            self.open_clip(&frame)?;
        }
        let Some(slot) = self.slots.place(media) else {
            return Ok(());
        };
        let (Some(converter), Some(writer)) = (self.converter.as_mut(), self.writer.as_mut())
        else {
            return Ok(());
        };
        let mut picture = converter.convert(&frame)?;
        if let Some(preview) = self.preview.as_mut() {
            preview.offer(&picture, media);
        }
        writer.write_video(&mut picture, slot)?;
        self.video_frames = writer.video_frames();
        self.media_end = self.media_end.max(media + self.slots.frame_length());
        self.publish_fragments();
        Ok(())
    }

    fn on_audio(&mut self, chunk: AudioChunk, limit: Option<Duration>) {
        self.reports.level.store(AudioLevel::of(&chunk.samples));
        let Some(media) = self.timeline.media_time(chunk.captured_at) else {
            return;
        };
        if let Err(e) = self.encode_audio(&chunk, media, limit) {
            self.fail(e);
        }
    }

    fn encode_audio(
        &mut self,
        chunk: &AudioChunk,
        media: Duration,
        limit: Option<Duration>,
    ) -> Result<()> {
        let resampler = match self.resampler.as_mut() {
            Some(r) if r.takes(chunk.sample_rate, chunk.channels) => r,
            _ => self
                .resampler
                .insert(Resampler::new(chunk.sample_rate, chunk.channels)?),
        };
        let samples = resampler.run(chunk)?;
        let end = self.config.max_length.min(limit.unwrap_or(Duration::MAX));
        match self.sound.place(media, samples.len(), end) {
            AudioPlacement::Drop => {
                tracing::debug!(?media, "audio chunk far behind the clock: dropped");
                Ok(())
            }
            AudioPlacement::Lay {
                silence,
                samples: n,
            } => {
                if silence > 0 {
                    // A hole in the audio (device hiccup, resume): silence, never stretching.
                    self.push_audio(&vec![0.0; silence])?;
                }
                self.push_audio(&samples[..n.min(samples.len())])
            }
        }
    }

    fn push_audio(&mut self, samples: &[f32]) -> Result<()> {
        if samples.is_empty() {
            return Ok(());
        }
        match self.writer.as_mut() {
            Some(writer) => {
                writer.write_audio(samples)?;
                self.publish_fragments();
            }
            None => {
                let room = AUDIO_WAIT_LIMIT.saturating_sub(self.audio_waiting.len());
                self.audio_waiting
                    .extend_from_slice(&samples[..samples.len().min(room)]);
            }
        }
        Ok(())
    }

    fn publish_fragments(&mut self) {
        if let Some(writer) = self.writer.as_mut() {
            for fragment in writer.take_fragments() {
                // The handle may be gone (dropped); the outcome still lists it.
                let _ = self.reports.fragments.send(fragment);
                self.fragments.push(fragment);
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
        self.writer = None;
        self.ended = Some(reason);
    }

    /// False once the writer failed: nothing more can be written.
    fn writer_ok(&self) -> bool {
        !matches!(
            self.ended,
            Some(StopReason::DiskFull) | Some(StopReason::Failed(_))
        )
    }

    fn dropped_frames(&self) -> u64 {
        self.capture.dropped.load(Ordering::Relaxed) + self.slots.late()
    }

    fn publish_elapsed(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.reports
            .shared
            .elapsed_micros
            .store(micros, Ordering::Relaxed);
    }

    fn send_progress(&mut self, now: Duration) {
        // A live recording runs on the clock; one paced by its consumer has
        // recorded what it encoded.
        let elapsed = match self.timeline.media_time(now) {
            Some(t) if self.capture.live => t,
            _ => self.media_end,
        };
        self.publish_elapsed(elapsed);
        // Lossy: nobody may be reading.
        let _ = self.reports.events.try_send(RecorderEvent::Progress {
            elapsed,
            remaining: self.config.max_length.saturating_sub(elapsed),
            paused: self.reports.shared.paused.load(Ordering::Relaxed),
            dropped_frames: self.dropped_frames(),
            level: self.reports.level.level(),
        });
    }

    /// Takes what the sources captured before the stop (encoded unless the
    /// recording was cancelled or the writer failed) and waits for their
    /// threads; a source stuck in a driver call is left behind.
    fn drain_sources(&mut self, cancelled: bool, limit: Option<Duration>) {
        self.capture.ask_to_stop();
        let mut video_open = !self.video_state.stalled;
        let mut audio_open = self.capture.audio_rx.is_some() && !self.audio_state.stalled;
        let mut video_rx = if video_open {
            self.capture.video_rx.clone()
        } else {
            never()
        };
        let mut audio_rx = match &self.capture.audio_rx {
            Some(rx) if audio_open => rx.clone(),
            _ => never(),
        };
        // Sources hang up when their threads end.
        while video_open || audio_open {
            select! {
                recv(video_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(frame)) if !cancelled && self.writer_ok() => self.on_video(frame, limit),
                    Ok(_) => {}
                    Err(_) => { video_rx = never(); video_open = false; }
                },
                recv(audio_rx) -> msg => match msg {
                    Ok(SourceMessage::Item(chunk)) if !cancelled && self.writer_ok() => self.on_audio(chunk, limit),
                    Ok(_) => {}
                    Err(_) => { audio_rx = never(); audio_open = false; }
                },
                default(DRAIN_LIMIT) => {
                    tracing::warn!("a source did not stop within {} s", DRAIN_LIMIT.as_secs());
                    break;
                }
            }
        }
        self.capture.join(
            video_open || self.video_state.stalled,
            audio_open || self.audio_state.stalled,
        );
    }

    fn finish(mut self, cancelled: bool, limit: Option<Duration>) -> RecordingOutcome {
        self.drain_sources(cancelled, limit);
        self.preview = None;
        let mut reason = self.ended.clone().unwrap_or(StopReason::Requested);
        let mut clean = false;
        if !cancelled {
            if let Some(writer) = self.writer.as_mut() {
                match writer.finish() {
                    Ok(()) => clean = true,
                    Err(MediaError::DiskFull { .. }) => reason = StopReason::DiskFull,
                    Err(e) => reason = StopReason::Failed(e.to_string()),
                }
            }
            self.publish_fragments();
        }
        let bytes = match &self.writer {
            Some(w) => w.bytes_written(),
            None => std::fs::metadata(&self.config.output).map_or(0, |m| m.len()),
        };
        let mut duration = self.media_end.max(self.sound.length());
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
            duration =
                crate::clip::probe(&self.config.output).map_or(Duration::ZERO, |i| i.duration);
        }
        let dropped = self.dropped_frames();
        self.publish_elapsed(duration);
        tracing::info!(%reason, ?duration, dropped, "recording ended");
        let _ = self
            .reports
            .events
            .try_send(RecorderEvent::Stopped(reason.clone()));
        RecordingOutcome {
            clip: self.config.output.clone(),
            playable,
            stop_reason: reason,
            duration,
            bytes,
            video_frames: self.video_frames,
            dropped_frames: dropped,
            repeated_frames: self.slots.repeated(),
            audio_gap_filled: self.sound.gap_filled(),
            frame_jitter_p99: self.jitter.p99(),
            fragments: std::mem::take(&mut self.fragments),
        }
    }
}
