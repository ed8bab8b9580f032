//! Encoder settings and the conversion of captured pictures into what the
//! encoder takes.

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use crate::error::{MediaError, Result};
use crate::source::{PixelFormat, VideoFrame};

/// Output sizes with bitrates fit for a talking head. The picture is never
/// scaled up: a 640x480 camera stays 640x480 with the 720p preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QualityPreset {
    /// 480 lines, at most 1.2 Mbit/s.
    Low,
    /// 720 lines, at most 2.5 Mbit/s.
    #[default]
    Standard,
    /// 1080 lines, at most 5 Mbit/s.
    High,
}

impl QualityPreset {
    /// Every preset, lowest first.
    pub const ALL: [QualityPreset; 3] = [Self::Low, Self::Standard, Self::High];

    /// "480p", "720p" or "1080p".
    pub fn label(self) -> &'static str {
        match self {
            QualityPreset::Low => "480p",
            QualityPreset::Standard => "720p",
            QualityPreset::High => "1080p",
        }
    }

    /// The preset a [`QualityPreset::label`] names.
    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.label() == label)
    }

    pub fn max_height(self) -> u32 {
        match self {
            QualityPreset::Low => 480,
            QualityPreset::Standard => 720,
            QualityPreset::High => 1080,
        }
    }

    /// Peak video bitrate in bits per second (x264 VBV cap on top of CRF).
    pub fn max_bitrate(self) -> u32 {
        match self {
            QualityPreset::Low => 1_200_000,
            QualityPreset::Standard => 2_500_000,
            QualityPreset::High => 5_000_000,
        }
    }

    /// The encoded size for a source of `width`x`height`: at most the preset's
    /// height, aspect kept, both sides even (4:2:0).
    pub fn output_size(self, width: u32, height: u32) -> (u32, u32) {
        fit_height(width, height, self.max_height())
    }
}

/// `width`x`height` scaled down to at most `max_height` lines (never up),
/// aspect kept, both sides even (4:2:0).
pub fn fit_height(width: u32, height: u32, max_height: u32) -> (u32, u32) {
    let (w, h) = if height > max_height {
        let w = (u64::from(width) * u64::from(max_height) / u64::from(height.max(1))) as u32;
        (w, max_height)
    } else {
        (width, height)
    };
    ((w & !1).max(2), (h & !1).max(2))
}

/// x264 settings shared by the recorder and the benchmark's ffmpeg CLI run,
/// for a camera (a talking head).
pub const X264_PRESET: &str = "veryfast";
pub const X264_TUNE: &str = "zerolatency";
pub const X264_CRF: &str = "23";
/// x264 settings for a recorded screen, chosen so small text stays legible at
/// 1x: `stillimage` spends bits on fine edges rather than on motion (a screen
/// is mostly still), combined with `zerolatency` (no frame lookahead, so the
/// recorder's latency and one-keyframe-a-second fragments stay as they are);
/// CRF 20 instead of 23 keeps glyph edges crisp; and the VBV cap is 1.6x the
/// camera's (8 Mbit/s at 1080p), because scrolling a page of text is a burst
/// a talking head never makes.
pub const X264_SCREEN_TUNE: &str = "stillimage,zerolatency";
pub const X264_SCREEN_CRF: &str = "20";
/// The screen's VBV cap in fifths of the preset's (8/5 = 1.6x).
const SCREEN_BITRATE_FIFTHS: u32 = 8;
/// AAC settings.
pub const AUDIO_RATE: u32 = 48_000;
pub const AUDIO_BITRATE: usize = 96_000;

/// What is being recorded, which decides the encoder's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentKind {
    /// A face: motion matters more than fine detail.
    #[default]
    Camera,
    /// A screen (with or without a bubble): text must stay legible at 1x.
    Screen,
}

/// The x264 settings of one recording: preset, tune, CRF and VBV cap.
/// Keyframes stay one a second whatever the content: fragments, uploads and
/// trim rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct X264Settings {
    pub preset: &'static str,
    pub tune: &'static str,
    pub crf: &'static str,
    /// Peak bitrate in bits per second; the VBV buffer holds two seconds of it.
    pub max_bitrate: u32,
}

impl X264Settings {
    pub fn new(quality: QualityPreset, content: ContentKind) -> Self {
        match content {
            ContentKind::Camera => X264Settings {
                preset: X264_PRESET,
                tune: X264_TUNE,
                crf: X264_CRF,
                max_bitrate: quality.max_bitrate(),
            },
            ContentKind::Screen => X264Settings {
                preset: X264_PRESET,
                tune: X264_SCREEN_TUNE,
                crf: X264_SCREEN_CRF,
                max_bitrate: quality.max_bitrate() / 5 * SCREEN_BITRATE_FIFTHS,
            },
        }
    }

    pub fn buffer_size(self) -> u32 {
        self.max_bitrate * 2
    }
}

/// The ffmpeg CLI arguments equivalent to the recorder's video encoder for a
/// camera, for comparing speed in the benchmark.
pub fn x264_cli_args(quality: QualityPreset, fps: u32) -> Vec<String> {
    x264_cli_args_for(X264Settings::new(quality, ContentKind::Camera), fps)
}

/// The ffmpeg CLI arguments equivalent to the recorder's video encoder with
/// `settings` (see [`X264Settings::new`]).
pub fn x264_cli_args_for(settings: X264Settings, fps: u32) -> Vec<String> {
    [
        "-c:v",
        "libx264",
        "-preset",
        settings.preset,
        "-tune",
        settings.tune,
        "-crf",
        settings.crf,
        "-maxrate",
        &settings.max_bitrate.to_string(),
        "-bufsize",
        &settings.buffer_size().to_string(),
        "-g",
        &fps.to_string(),
        "-keyint_min",
        &fps.to_string(),
        "-bf",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn ffmpeg_pixel(format: PixelFormat) -> Option<Pixel> {
    Some(match format {
        PixelFormat::Yuv420p => Pixel::YUV420P,
        PixelFormat::Nv12 => Pixel::NV12,
        PixelFormat::Yuyv422 => Pixel::YUYV422,
        PixelFormat::Rgb24 => Pixel::RGB24,
        PixelFormat::Bgr24 => Pixel::BGR24,
        PixelFormat::Bgr0 => Pixel::BGRZ,
        PixelFormat::Gray8 => Pixel::GRAY8,
        PixelFormat::Mjpeg => return None,
    })
}

/// Bytes per row and rows of each plane of a tightly packed picture.
fn plane_layout(format: Pixel, width: usize, height: usize) -> Vec<(usize, usize)> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    match format {
        Pixel::YUV420P => vec![(width, height), (cw, ch), (cw, ch)],
        Pixel::NV12 => vec![(width, height), (cw * 2, ch)],
        Pixel::YUYV422 => vec![(cw * 4, height)],
        Pixel::RGB24 | Pixel::BGR24 => vec![(width * 3, height)],
        Pixel::BGRZ | Pixel::BGRA | Pixel::RGBA | Pixel::RGBZ => vec![(width * 4, height)],
        _ => vec![(width, height)],
    }
}

/// Copies a tightly packed picture into an FFmpeg frame (which pads rows).
pub(crate) fn packed_to_frame(
    format: Pixel,
    width: u32,
    height: u32,
    data: &[u8],
) -> Option<frame::Video> {
    let layout = plane_layout(format, width as usize, height as usize);
    let needed: usize = layout.iter().map(|(row, rows)| row * rows).sum();
    if data.len() < needed {
        return None;
    }
    let mut out = frame::Video::new(format, width, height);
    let mut offset = 0;
    for (plane, (row, rows)) in layout.into_iter().enumerate() {
        let stride = out.stride(plane);
        let dst = out.data_mut(plane);
        for r in 0..rows {
            dst[r * stride..r * stride + row]
                .copy_from_slice(&data[offset + r * row..offset + (r + 1) * row]);
        }
        offset += row * rows;
    }
    Some(out)
}

/// Copies an FFmpeg frame into a tightly packed buffer.
pub(crate) fn frame_to_packed(frame: &frame::Video) -> Vec<u8> {
    let layout = plane_layout(
        frame.format(),
        frame.width() as usize,
        frame.height() as usize,
    );
    let mut out = Vec::with_capacity(layout.iter().map(|(a, b)| a * b).sum());
    for (plane, (row, rows)) in layout.into_iter().enumerate() {
        let stride = frame.stride(plane);
        let src = frame.data(plane);
        for r in 0..rows {
            out.extend_from_slice(&src[r * stride..r * stride + row]);
        }
    }
    out
}

/// Turns captured pictures of any supported format and size into frames of one
/// target format and size, keeping the swscale context between frames.
pub struct FrameConverter {
    target: Pixel,
    width: u32,
    height: u32,
    flags: scaling::Flags,
    scaler: Option<(Pixel, u32, u32, scaling::Context)>,
    jpeg: Option<ffmpeg::decoder::Video>,
}

// SAFETY: the swscale and decoder contexts are owned exclusively by this value
// and only used through `&mut self`; FFmpeg allows using them from any thread,
// one thread at a time.
unsafe impl Send for FrameConverter {}

impl FrameConverter {
    pub fn new(target: Pixel, width: u32, height: u32) -> Self {
        Self::with_flags(target, width, height, scaling::Flags::BILINEAR)
    }

    /// A converter with other swscale `flags` than bilinear (the screen
    /// composite uses area averaging to shrink text, and point sampling
    /// where only the pixel format changes: 2.5x faster than bilinear for a
    /// 1080p BGRX screen, measured).
    pub fn with_flags(target: Pixel, width: u32, height: u32, flags: scaling::Flags) -> Self {
        FrameConverter {
            target,
            width,
            height,
            flags,
            scaler: None,
            jpeg: None,
        }
    }

    pub fn convert(&mut self, input: &VideoFrame) -> Result<frame::Video> {
        let source = match ffmpeg_pixel(input.format) {
            Some(pixel) => packed_to_frame(pixel, input.width, input.height, &input.data)
                .ok_or_else(|| {
                    MediaError::InvalidSettings(format!(
                        "a {:?} picture of {}x{} with only {} bytes",
                        input.format,
                        input.width,
                        input.height,
                        input.data.len()
                    ))
                })?,
            None => self.decode_jpeg(&input.data)?,
        };
        self.convert_frame(&source)
    }

    pub fn convert_frame(&mut self, source: &frame::Video) -> Result<frame::Video> {
        let (format, w, h) = (source.format(), source.width(), source.height());
        if format == self.target && w == self.width && h == self.height {
            return Ok(source.clone());
        }
        let stale =
            !matches!(&self.scaler, Some((f, sw, sh, _)) if *f == format && *sw == w && *sh == h);
        if stale {
            let ctx = scaling::Context::get(
                format,
                w,
                h,
                self.target,
                self.width,
                self.height,
                self.flags,
            )
            .map_err(|e| {
                MediaError::ffmpeg(format!("setting up a {format:?} {w}x{h} converter"), e)
            })?;
            self.scaler = Some((format, w, h, ctx));
        }
        let mut out = frame::Video::new(self.target, self.width, self.height);
        if let Some((_, _, _, ctx)) = self.scaler.as_mut() {
            ctx.run(source, &mut out)
                .map_err(|e| MediaError::ffmpeg("converting a picture", e))?;
        }
        Ok(out)
    }

    fn decode_jpeg(&mut self, data: &[u8]) -> Result<frame::Video> {
        if self.jpeg.is_none() {
            let codec = ffmpeg::decoder::find(ffmpeg::codec::Id::MJPEG)
                .ok_or(MediaError::MissingEncoder { name: "mjpeg" })?;
            let decoder = ffmpeg::codec::context::Context::new_with_codec(codec)
                .decoder()
                .video()
                .map_err(|e| MediaError::ffmpeg("opening the MJPEG decoder", e))?;
            self.jpeg = Some(decoder);
        }
        let decoder = self
            .jpeg
            .as_mut()
            .ok_or(MediaError::MissingEncoder { name: "mjpeg" })?;
        let packet = ffmpeg::Packet::copy(data);
        decoder
            .send_packet(&packet)
            .map_err(|e| MediaError::ffmpeg("decoding a camera JPEG", e))?;
        let mut out = frame::Video::empty();
        decoder
            .receive_frame(&mut out)
            .map_err(|e| MediaError::ffmpeg("decoding a camera JPEG", e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_never_scale_up_and_keep_aspect() {
        assert_eq!(QualityPreset::Standard.output_size(1920, 1080), (1280, 720));
        assert_eq!(QualityPreset::Standard.output_size(640, 480), (640, 480));
        assert_eq!(QualityPreset::Low.output_size(1280, 720), (852, 480));
        assert_eq!(QualityPreset::High.output_size(1921, 1081), (1918, 1080));
    }

    #[test]
    fn packed_pictures_survive_the_round_trip() {
        crate::init();
        let data: Vec<u8> = (0..(66 * 40 * 3 / 2)).map(|i| (i % 251) as u8).collect();
        let frame = packed_to_frame(Pixel::YUV420P, 66, 40, &data).expect("enough data");
        assert_eq!(frame_to_packed(&frame), data);
    }

    #[test]
    fn yuyv_is_converted_by_swscale() {
        crate::init();
        let input = VideoFrame {
            width: 64,
            height: 48,
            format: PixelFormat::Yuyv422,
            data: [200u8, 128, 200, 128].repeat(32 * 48),
            captured_at: std::time::Duration::ZERO,
        };
        let mut converter = FrameConverter::new(Pixel::YUV420P, 32, 24);
        let out = converter.convert(&input).expect("converts");
        assert_eq!((out.width(), out.height()), (32, 24));
        let y = frame_to_packed(&out);
        assert!((y[0] as i32 - 200).abs() <= 2, "luma {}", y[0]);
    }
}
