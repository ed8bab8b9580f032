//! A test pattern and a test tone that mark the same instants, so A/V sync can
//! be measured from a recorded file alone.
//!
//! Every whole second of media time the picture turns white for
//! [`FLASH_LENGTH`] and the tone beeps (1 kHz) for the same length. Between
//! markers the picture shows moving bars, a bouncing square, the frame counter
//! and the timestamp, and the sound is silent.

mod picture;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioSource, Pacing, PixelFormat, Sink, SourceContext, SourceEnd,
    VideoFrame, VideoSource,
};
use picture::still_card;
pub use picture::{is_flash_frame, read_frame_index, PatternPainter};

/// How long each flash and each beep lasts.
pub const FLASH_LENGTH: Duration = Duration::from_millis(100);
/// Frequency of the beep.
pub const BEEP_HZ: f32 = 1000.0;
/// Luma of a flash frame; other frames stay well below [`FLASH_LUMA_THRESHOLD`].
pub const FLASH_LUMA: u8 = 235;
/// A decoded frame whose mean luma is above this is a flash.
pub const FLASH_LUMA_THRESHOLD: f64 = 200.0;

/// Moving test pattern with a burnt-in frame counter and timestamp.
pub struct SyntheticVideo {
    width: u32,
    height: u32,
    fps: u32,
    pacing: Pacing,
    length: Option<Duration>,
    sensor_noise: bool,
    still: bool,
    thread: Option<JoinHandle<()>>,
}

impl SyntheticVideo {
    /// A calm, unchanging card instead of the test pattern: the picture of an
    /// audio-only message (a player still needs a video track to show).
    pub fn still(width: u32, height: u32, fps: u32) -> Result<Self> {
        let mut video = Self::new(width, height, fps, Pacing::RealTime, None)?;
        video.still = true;
        Ok(video)
    }

    /// See [`PatternPainter::with_sensor_noise`].
    pub fn with_sensor_noise(mut self, on: bool) -> Self {
        self.sensor_noise = on;
        self
    }

    /// `width` and `height` must be even (4:2:0 chroma); `length` None runs until stopped.
    pub fn new(
        width: u32,
        height: u32,
        fps: u32,
        pacing: Pacing,
        length: Option<Duration>,
    ) -> Result<Self> {
        if width < 64 || height < 64 || width % 2 != 0 || height % 2 != 0 || fps == 0 || fps > 120 {
            return Err(MediaError::InvalidSettings(format!(
                "a synthetic picture of {width}x{height} at {fps} fps: use even sizes of at least 64x64 and 1..=120 fps"
            )));
        }
        Ok(SyntheticVideo {
            width,
            height,
            fps,
            pacing,
            length,
            sensor_noise: false,
            still: false,
            thread: None,
        })
    }
}

impl VideoSource for SyntheticVideo {
    fn name(&self) -> String {
        let kind = if self.still {
            "still card"
        } else {
            "synthetic"
        };
        format!("{kind} {}x{}@{}", self.width, self.height, self.fps)
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let (width, height, fps, pacing, length) =
            (self.width, self.height, self.fps, self.pacing, self.length);
        let noise = self.sensor_noise;
        let still = self.still;
        let handle = std::thread::Builder::new()
            .name("synthetic-video".into())
            .spawn(move || {
                let painter = PatternPainter::new(width, height).with_sensor_noise(noise);
                let card = still.then(|| still_card(width, height));
                let total = length.map(|l| (l.as_secs_f64() * f64::from(fps)).round() as u64);
                let mut index: u64 = 0;
                loop {
                    if ctx.should_stop() {
                        return;
                    }
                    if total.is_some_and(|t| index >= t) {
                        sink.end(SourceEnd::Finished);
                        return;
                    }
                    let ideal = ctx.epoch + Duration::from_secs_f64(index as f64 / f64::from(fps));
                    let captured_at = match pacing {
                        Pacing::RealTime => {
                            ctx.clock.sleep_until(ideal);
                            ctx.clock.now()
                        }
                        Pacing::AsFastAsPossible => ideal,
                    };
                    let data = match &card {
                        Some(card) => card.clone(),
                        None => painter.paint(index, fps),
                    };
                    let frame = VideoFrame {
                        width,
                        height,
                        format: PixelFormat::Yuv420p,
                        data,
                        captured_at,
                    };
                    if sink.deliver(frame).is_err() {
                        return;
                    }
                    index += 1;
                }
            })
            .map_err(|e| MediaError::io("start a thread for", "the synthetic video", e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "synthetic video");
    }
}

/// Silence with a 1 kHz beep at every whole second, mono `f32`.
pub struct SyntheticAudio {
    sample_rate: u32,
    pacing: Pacing,
    length: Option<Duration>,
    thread: Option<JoinHandle<()>>,
}

/// Samples delivered per chunk: 10 ms, like a sound card period.
const CHUNK_MILLIS: u32 = 10;

impl SyntheticAudio {
    pub fn new(sample_rate: u32, pacing: Pacing, length: Option<Duration>) -> Result<Self> {
        if !(8000..=192_000).contains(&sample_rate) || sample_rate % 100 != 0 {
            return Err(MediaError::InvalidSettings(format!(
                "a synthetic tone at {sample_rate} Hz: use a rate between 8000 and 192000 Hz that is a multiple of 100"
            )));
        }
        Ok(SyntheticAudio {
            sample_rate,
            pacing,
            length,
            thread: None,
        })
    }
}

/// The synthetic tone's sample at index `n`.
pub fn tone_sample(n: u64, sample_rate: u32) -> f32 {
    let rate = u64::from(sample_rate);
    let into_second = n % rate;
    let beep_len = (FLASH_LENGTH.as_secs_f64() * rate as f64) as u64;
    if into_second < beep_len {
        let t = into_second as f32 / sample_rate as f32;
        0.5 * (2.0 * std::f32::consts::PI * BEEP_HZ * t).sin()
    } else {
        0.0
    }
}

impl AudioSource for SyntheticAudio {
    fn name(&self) -> String {
        format!("synthetic tone {} Hz", self.sample_rate)
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()> {
        let (rate, pacing, length) = (self.sample_rate, self.pacing, self.length);
        let handle = std::thread::Builder::new()
            .name("synthetic-audio".into())
            .spawn(move || {
                let per_chunk = u64::from(rate * CHUNK_MILLIS / 1000);
                let total = length.map(|l| (l.as_secs_f64() * f64::from(rate)).round() as u64);
                let mut next: u64 = 0;
                loop {
                    if ctx.should_stop() {
                        return;
                    }
                    let count = match total {
                        Some(t) if next >= t => {
                            sink.end(SourceEnd::Finished);
                            return;
                        }
                        Some(t) => per_chunk.min(t - next),
                        None => per_chunk,
                    };
                    let start = ctx.epoch + Duration::from_secs_f64(next as f64 / f64::from(rate));
                    if pacing == Pacing::RealTime {
                        // A sound card hands over a period once it has been captured.
                        ctx.clock.sleep_until(
                            start + Duration::from_secs_f64(count as f64 / f64::from(rate)),
                        );
                    }
                    let samples = (next..next + count).map(|n| tone_sample(n, rate)).collect();
                    let chunk = AudioChunk {
                        sample_rate: rate,
                        channels: 1,
                        samples,
                        captured_at: start,
                    };
                    if sink.deliver(chunk).is_err() {
                        return;
                    }
                    next += count;
                }
            })
            .map_err(|e| MediaError::io("start a thread for", "the synthetic audio", e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "synthetic audio");
    }
}

/// A source that delivers a few frames and then reports the device as lost:
/// what an unplugged camera looks like to the recorder.
pub struct VanishingVideo {
    inner: SyntheticVideo,
    after: Duration,
    stop_inner: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VanishingVideo {
    pub fn new(inner: SyntheticVideo, after: Duration) -> Self {
        VanishingVideo {
            inner,
            after,
            stop_inner: Arc::new(AtomicBool::new(false)),
            thread: None,
        }
    }
}

impl VideoSource for VanishingVideo {
    fn name(&self) -> String {
        format!("{} (vanishing)", self.inner.name())
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn frame_rate(&self) -> u32 {
        self.inner.frame_rate()
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()> {
        let inner_ctx = SourceContext {
            stop: self.stop_inner.clone(),
            ..ctx.clone()
        };
        self.inner.start(inner_ctx, sink.clone())?;
        let stop_inner = self.stop_inner.clone();
        let after = self.after;
        let handle = std::thread::Builder::new()
            .name("vanishing-video".into())
            .spawn(move || {
                while ctx.clock.now() < ctx.epoch + after {
                    if ctx.should_stop() {
                        stop_inner.store(true, Ordering::Relaxed);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                stop_inner.store(true, Ordering::Relaxed);
                sink.end(SourceEnd::Lost(
                    "the device was disconnected (No such device)".into(),
                ));
            })
            .map_err(|e| MediaError::io("start a thread for", "the vanishing video", e))?;
        self.thread = Some(handle);
        Ok(())
    }

    fn join(&mut self) {
        join_thread(&mut self.thread, "vanishing video");
        self.inner.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beep_starts_at_whole_seconds() {
        assert_eq!(tone_sample(0, 48_000), 0.0); // sin(0)
        assert!(tone_sample(12, 48_000).abs() > 0.1);
        assert_eq!(tone_sample(5000, 48_000), 0.0);
        assert!(tone_sample(48_012, 48_000).abs() > 0.1);
    }
}
