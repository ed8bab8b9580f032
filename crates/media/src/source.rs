//! What every capture source delivers, and the channel ends it delivers into.
//!
//! The recorder does not know whether it talks to a camera, a file or a test
//! pattern: it starts a [`VideoSource`] and an [`AudioSource`] with the same
//! [`Clock`] and epoch, and reads timestamped frames from bounded channels.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, TrySendError};

use crate::error::Result;

/// One monotonic clock shared by every source of a recording, so video and
/// audio timestamps can be compared directly.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    pub fn new() -> Self {
        Clock {
            origin: Instant::now(),
        }
    }

    /// Time since the clock's origin.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// Sleeps until the clock reads `at` (returns at once if that is past).
    pub fn sleep_until(&self, at: Duration) {
        let now = self.now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// How a source delivers: at the pace of real time, or as fast as the
/// consumer takes frames (benchmarks, converting a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    RealTime,
    AsFastAsPossible,
}

/// Pixel layouts the sources deliver. Conversion to the encoder's format is
/// done by swscale (or the MJPEG decoder), never by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// Planar 4:2:0: Y plane, then U, then V (chroma planes half size, rounded up).
    Yuv420p,
    /// Y plane then interleaved UV at half resolution.
    Nv12,
    /// Packed 4:2:2 Y0 U Y1 V.
    Yuyv422,
    Rgb24,
    Bgr24,
    /// Packed 32-bit B G R X (what an X server or PipeWire gives for a screen);
    /// the fourth byte is ignored.
    Bgr0,
    Gray8,
    /// One compressed JPEG picture.
    Mjpeg,
}

/// One picture with the time it was captured.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    /// Tightly packed pixel data (no row padding) in `format`.
    pub data: Vec<u8>,
    /// Capture time on the recording's [`Clock`].
    pub captured_at: Duration,
}

/// Interleaved `f32` samples in -1..=1 with the capture time of the first one.
#[derive(Debug, Clone)]
pub struct AudioChunk {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
    pub captured_at: Duration,
}

impl AudioChunk {
    pub fn frames(&self) -> usize {
        self.samples.len() / usize::from(self.channels.max(1))
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.frames() as f64 / f64::from(self.sample_rate.max(1)))
    }
}

/// Why a source stopped delivering before it was asked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceEnd {
    /// A finite source (file, synthetic with a length) delivered everything.
    Finished,
    /// The device went away or failed; the text says how.
    Lost(String),
}

/// What flows from a source to the recorder.
#[derive(Debug)]
pub enum SourceMessage<T> {
    Item(T),
    /// Something the user should know while the recording goes on (a recorded
    /// window closed, the screen changed size): one sentence, shown as is.
    Notice(String),
    Ended(SourceEnd),
}

/// The sending end a source delivers into. Live sources never wait: when the
/// recorder is behind, the item is dropped and counted. Sources paced as fast
/// as possible wait for room instead, so nothing is lost.
#[derive(Debug, Clone)]
pub struct Sink<T> {
    tx: Sender<SourceMessage<T>>,
    live: bool,
    dropped: Arc<AtomicU64>,
}

/// Returned by [`Sink::deliver`] when the recorder no longer listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecorderGone;

impl<T> Sink<T> {
    pub fn new(tx: Sender<SourceMessage<T>>, live: bool, dropped: Arc<AtomicU64>) -> Self {
        Sink { tx, live, dropped }
    }

    pub fn deliver(&self, item: T) -> Result<(), RecorderGone> {
        if self.live {
            match self.tx.try_send(SourceMessage::Item(item)) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => Err(RecorderGone),
            }
        } else {
            self.tx
                .send(SourceMessage::Item(item))
                .map_err(|_| RecorderGone)
        }
    }

    /// Counts `n` items lost before they reached this sink: a source that
    /// wraps others (the screen-with-bubble composite) reports what its own
    /// inner queues dropped, so the recording's count stays true.
    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Tells the user something while recording goes on. Waits for room: a
    /// notice is rare and must arrive.
    pub fn notice(&self, text: impl Into<String>) -> Result<(), RecorderGone> {
        self.tx
            .send(SourceMessage::Notice(text.into()))
            .map_err(|_| RecorderGone)
    }

    /// Says why the source stops. Waits for room: this message must arrive.
    pub fn end(&self, why: SourceEnd) {
        // The recorder may already be gone; then nobody needs to know.
        let _ = self.tx.send(SourceMessage::Ended(why));
    }
}

/// What a source gets when it starts.
#[derive(Debug, Clone)]
pub struct SourceContext {
    pub clock: Clock,
    /// Clock time of the recording's start: media time zero.
    pub epoch: Duration,
    /// Set when the recorder wants the source to stop.
    pub stop: Arc<AtomicBool>,
}

impl SourceContext {
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// Anything that delivers pictures: camera, file, synthetic pattern.
pub trait VideoSource: Send {
    /// A human-readable name for logs and errors (e.g. the camera's name).
    fn name(&self) -> String;
    /// True when frames come at the pace of real time.
    fn is_live(&self) -> bool;
    /// Nominal frames per second; the encoder's frame rate.
    fn frame_rate(&self) -> u32;
    /// Starts delivering on the source's own thread. Returns once capture runs,
    /// or with an error that names the device.
    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> Result<()>;
    /// Waits for the capture thread to end after `ctx.stop` was set.
    fn join(&mut self);
}

/// Anything that delivers sound: microphone, file, synthetic tone.
pub trait AudioSource: Send {
    fn name(&self) -> String;
    fn is_live(&self) -> bool;
    fn start(&mut self, ctx: SourceContext, sink: Sink<AudioChunk>) -> Result<()>;
    fn join(&mut self);
}

/// Joins a capture thread, logging instead of propagating a panic.
pub(crate) fn join_thread(handle: &mut Option<std::thread::JoinHandle<()>>, what: &str) {
    if let Some(handle) = handle.take() {
        if handle.join().is_err() {
            tracing::error!("the {what} capture thread panicked");
        }
    }
}

/// Loudness of the latest audio, in dB relative to full scale (0 = loudest,
/// -100 = silence), for a level meter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioLevel {
    pub rms_dbfs: f32,
    pub peak_dbfs: f32,
}

impl AudioLevel {
    pub const SILENT: AudioLevel = AudioLevel {
        rms_dbfs: -100.0,
        peak_dbfs: -100.0,
    };

    pub fn of(samples: &[f32]) -> AudioLevel {
        if samples.is_empty() {
            return AudioLevel::SILENT;
        }
        let mut peak = 0f32;
        let mut sum = 0f64;
        for &s in samples {
            peak = peak.max(s.abs());
            sum += f64::from(s) * f64::from(s);
        }
        let rms = (sum / samples.len() as f64).sqrt() as f32;
        let db = |v: f32| {
            if v <= 1e-5 {
                -100.0
            } else {
                (20.0 * v.log10()).max(-100.0)
            }
        };
        AudioLevel {
            rms_dbfs: db(rms),
            peak_dbfs: db(peak),
        }
    }
}

/// The latest level of a running audio source, readable from any thread
/// without waiting (the capture thread only stores two numbers).
#[derive(Debug, Clone, Default)]
pub struct LevelMeter {
    rms_bits: Arc<std::sync::atomic::AtomicU32>,
    peak_bits: Arc<std::sync::atomic::AtomicU32>,
}

impl LevelMeter {
    pub fn new() -> Self {
        let meter = LevelMeter::default();
        meter.store(AudioLevel::SILENT);
        meter
    }

    pub fn store(&self, level: AudioLevel) {
        self.rms_bits
            .store(level.rms_dbfs.to_bits(), Ordering::Relaxed);
        self.peak_bits
            .store(level.peak_dbfs.to_bits(), Ordering::Relaxed);
    }

    pub fn level(&self) -> AudioLevel {
        AudioLevel {
            rms_dbfs: f32::from_bits(self.rms_bits.load(Ordering::Relaxed)),
            peak_dbfs: f32::from_bits(self.peak_bits.load(Ordering::Relaxed)),
        }
    }
}
