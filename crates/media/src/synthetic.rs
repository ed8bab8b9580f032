//! A test pattern and a test tone that mark the same instants, so A/V sync can
//! be measured from a recorded file alone.
//!
//! Every whole second of media time the picture turns white for
//! [`FLASH_LENGTH`] and the tone beeps (1 kHz) for the same length. Between
//! markers the picture shows moving bars, a bouncing square, the frame counter
//! and the timestamp, and the sound is silent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{MediaError, Result};
use crate::source::{
    join_thread, AudioChunk, AudioSource, Pacing, PixelFormat, Sink, SourceContext, SourceEnd,
    VideoFrame, VideoSource,
};

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

/// A slate-blue YUV 4:2:0 frame with a lighter band across the middle.
fn still_card(width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut data = Vec::with_capacity(w * h + 2 * cw * ch);
    for y in 0..h {
        let band = y > h * 2 / 5 && y < h * 3 / 5;
        data.extend(std::iter::repeat_n(if band { 92 } else { 58 }, w));
    }
    data.extend(std::iter::repeat_n(142u8, cw * ch));
    data.extend(std::iter::repeat_n(118u8, cw * ch));
    data
}

/// True when frame `index` at `fps` shows the white flash.
pub fn is_flash_frame(index: u64, fps: u32) -> bool {
    let t = index as f64 / f64::from(fps);
    let into_second = t - t.floor();
    into_second < FLASH_LENGTH.as_secs_f64() - 1e-9
}

/// Paints frames in YUV 4:2:0.
pub struct PatternPainter {
    width: usize,
    height: usize,
    sensor_noise: bool,
}

impl PatternPainter {
    pub fn new(width: u32, height: u32) -> Self {
        PatternPainter {
            width: width as usize,
            height: height as usize,
            sensor_noise: false,
        }
    }

    /// Adds faint per-pixel noise that changes every frame, like a camera
    /// sensor: flat test patterns are far easier to encode than real video.
    pub fn with_sensor_noise(mut self, on: bool) -> Self {
        self.sensor_noise = on;
        self
    }

    pub fn paint(&self, index: u64, fps: u32) -> Vec<u8> {
        let (w, h) = (self.width, self.height);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut data = vec![0u8; w * h + 2 * cw * ch];
        let (y_plane, chroma) = data.split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
        if is_flash_frame(index, fps) {
            y_plane.fill(FLASH_LUMA);
            u_plane.fill(128);
            v_plane.fill(128);
        } else {
            // Bars that move 4 px a frame, same row pattern for every row.
            let shift = (index as usize * 4) % w;
            let row: Vec<u8> = (0..w)
                .map(|x| 40 + (((x + shift) / 80) % 6) as u8 * 24)
                .collect();
            for line in y_plane.chunks_exact_mut(w) {
                line.copy_from_slice(&row);
            }
            let crow_u: Vec<u8> = (0..cw)
                .map(|x| 90 + (((x * 2 + shift) / 80) % 3) as u8 * 30)
                .collect();
            let crow_v: Vec<u8> = (0..cw)
                .map(|x| 160 - (((x * 2 + shift) / 160) % 3) as u8 * 30)
                .collect();
            for line in u_plane.chunks_exact_mut(cw) {
                line.copy_from_slice(&crow_u);
            }
            for line in v_plane.chunks_exact_mut(cw) {
                line.copy_from_slice(&crow_v);
            }
            // A bouncing square shows motion in both directions.
            let side = (h / 6).max(8);
            let span_x = (w - side).max(1);
            let span_y = (h - side).max(1);
            let bx = bounce(index as usize * 7, span_x);
            let by = bounce(index as usize * 5, span_y);
            for line in y_plane.chunks_exact_mut(w).skip(by).take(side) {
                line[bx..bx + side].fill(190);
            }
        }
        if self.sensor_noise {
            // xorshift: cheap, and deterministic per frame.
            let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ index.wrapping_mul(0x2545_F491_4F6C_DD1D);
            for px in y_plane.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *px = px.saturating_add((state & 7) as u8).saturating_sub(3);
            }
        }
        // Counter and timestamp: black digits on a white box, top left.
        let millis = index * 1000 / u64::from(fps);
        let text = format!(
            "{:06} {:02}:{:02}.{:03}",
            index,
            millis / 60_000,
            (millis / 1000) % 60,
            millis % 1000
        );
        let scale = (h / 120).max(1);
        draw_text(y_plane, w, h, 8, 8, scale, &text);
        data
    }
}

fn bounce(position: usize, span: usize) -> usize {
    let p = position % (2 * span);
    if p < span { p } else { 2 * span - p }.min(span - 1)
}

/// 3x5 digit glyphs, one row per byte (low 3 bits), plus ':' '.' and ' '.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        ':' => [0, 2, 0, 2, 0],
        '.' => [0, 0, 0, 0, 2],
        _ => [0; 5],
    }
}

fn draw_text(
    y_plane: &mut [u8],
    width: usize,
    height: usize,
    x0: usize,
    y0: usize,
    scale: usize,
    text: &str,
) {
    let cell = 4 * scale * 2;
    let box_w = (text.len() * cell + 2 * scale * 2).min(width.saturating_sub(x0));
    let box_h = (7 * scale * 2).min(height.saturating_sub(y0));
    for line in y_plane.chunks_exact_mut(width).skip(y0).take(box_h) {
        line[x0..x0 + box_w].fill(235);
    }
    let px = scale * 2;
    for (i, c) in text.chars().enumerate() {
        let g = glyph(c);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                let x = x0 + px + i * cell + col * px;
                let y = y0 + px + row * px;
                if x + px > width || y + px > height {
                    continue;
                }
                for line in y_plane.chunks_exact_mut(width).skip(y).take(px) {
                    line[x..x + px].fill(16);
                }
            }
        }
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
    fn flash_frames_mark_whole_seconds() {
        let flashes: Vec<u64> = (0..90).filter(|&i| is_flash_frame(i, 30)).collect();
        assert_eq!(flashes, vec![0, 1, 2, 30, 31, 32, 60, 61, 62]);
    }

    #[test]
    fn beep_starts_at_whole_seconds() {
        assert_eq!(tone_sample(0, 48_000), 0.0); // sin(0)
        assert!(tone_sample(12, 48_000).abs() > 0.1);
        assert_eq!(tone_sample(5000, 48_000), 0.0);
        assert!(tone_sample(48_012, 48_000).abs() > 0.1);
    }

    #[test]
    fn painted_frame_has_the_planes_of_yuv420p() {
        let painter = PatternPainter::new(320, 240);
        let frame = painter.paint(5, 30);
        assert_eq!(frame.len(), 320 * 240 * 3 / 2);
        let flash = painter.paint(30, 30);
        let mean: f64 = flash[..320 * 240]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / (320.0 * 240.0);
        assert!(mean > FLASH_LUMA_THRESHOLD, "flash mean luma {mean}");
        let mean: f64 = frame[..320 * 240]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / (320.0 * 240.0);
        assert!(mean < FLASH_LUMA_THRESHOLD, "normal mean luma {mean}");
        let noisy = PatternPainter::new(320, 240).with_sensor_noise(true);
        assert_ne!(noisy.paint(5, 30), frame, "noise changes pixels");
        let flash = noisy.paint(30, 30);
        let mean: f64 = flash[..320 * 240]
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
            / (320.0 * 240.0);
        assert!(mean > FLASH_LUMA_THRESHOLD, "noisy flash mean luma {mean}");
    }
}
