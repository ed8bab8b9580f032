//! The capture side of a session: both sources started on one clock, the
//! bounded channels they deliver into, and their stop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};

use crate::error::Result;
use crate::source::{
    AudioChunk, AudioSource, Clock, Sink, SourceContext, SourceMessage, VideoFrame, VideoSource,
};

/// Audio queue: two seconds of 10 ms periods.
const AUDIO_QUEUE: usize = 200;

/// The started sources, on one clock, and the channels they deliver into.
pub(super) struct Capture {
    pub(super) ctx: SourceContext,
    pub(super) fps: u32,
    pub(super) live: bool,
    pub(super) video: Box<dyn VideoSource>,
    pub(super) audio: Option<Box<dyn AudioSource>>,
    pub(super) video_rx: Receiver<SourceMessage<VideoFrame>>,
    pub(super) audio_rx: Option<Receiver<SourceMessage<AudioChunk>>>,
    /// Frames live capture dropped because the queue was full.
    pub(super) dropped: Arc<AtomicU64>,
}

impl Capture {
    /// Starts both sources with the same clock and epoch. Errors name the
    /// device that could not start; nothing is left running then.
    pub(super) fn start(
        mut video: Box<dyn VideoSource>,
        mut audio: Option<Box<dyn AudioSource>>,
    ) -> Result<Capture> {
        let fps = video.frame_rate().max(1);
        let clock = Clock::new();
        let ctx = SourceContext {
            clock,
            epoch: clock.now(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        // Half a second of video.
        let (video_tx, video_rx) = bounded((fps as usize / 2).max(4));
        let dropped = Arc::new(AtomicU64::new(0));
        let live = video.is_live();
        video.start(ctx.clone(), Sink::new(video_tx, live, dropped.clone()))?;
        let audio_rx = match audio.as_mut() {
            Some(source) => {
                let (tx, rx) = bounded(AUDIO_QUEUE);
                let sink = Sink::new(tx, source.is_live(), Arc::new(AtomicU64::new(0)));
                if let Err(e) = source.start(ctx.clone(), sink) {
                    ctx.stop.store(true, Ordering::Relaxed);
                    video.join();
                    return Err(e);
                }
                Some(rx)
            }
            None => None,
        };
        Ok(Capture {
            ctx,
            fps,
            live,
            video,
            audio,
            video_rx,
            audio_rx,
            dropped,
        })
    }

    pub(super) fn clock(&self) -> Clock {
        self.ctx.clock
    }

    pub(super) fn video_name(&self) -> String {
        self.video.name()
    }

    pub(super) fn audio_name(&self) -> Option<String> {
        self.audio.as_ref().map(|a| a.name())
    }

    /// Clock reading of media time zero.
    pub(super) fn epoch(&self) -> Duration {
        self.ctx.epoch
    }

    /// Tells both sources to stop; what they captured still arrives.
    pub(super) fn ask_to_stop(&self) {
        self.ctx.stop.store(true, Ordering::Relaxed);
    }

    /// Waits for the capture threads, except a stuck one (a hung driver
    /// call), which is left behind rather than hanging the recording with it.
    pub(super) fn join(&mut self, video_stuck: bool, audio_stuck: bool) {
        if video_stuck {
            tracing::warn!(source = %self.video.name(), "not waiting for a stuck capture thread");
        } else {
            self.video.join();
        }
        if let Some(audio) = self.audio.as_mut() {
            if audio_stuck {
                tracing::warn!(source = %audio.name(), "not waiting for a stuck capture thread");
            } else {
                audio.join();
            }
        }
    }
}

/// What a source delivers, either kind.
pub(super) enum Item {
    Video(VideoFrame),
    Audio(AudioChunk),
}

impl From<VideoFrame> for Item {
    fn from(frame: VideoFrame) -> Self {
        Item::Video(frame)
    }
}

impl From<AudioChunk> for Item {
    fn from(chunk: AudioChunk) -> Self {
        Item::Audio(chunk)
    }
}
