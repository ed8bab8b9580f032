//! Picture geometry of the composite: its fixed size, where a screen of
//! another size goes inside it (letterboxed), and plane copies of packed
//! YUV 4:2:0 pictures. Scaling itself is swscale's
//! ([`crate::encode::FrameConverter`]); this only moves whole rows.

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::Flags;
use ffmpeg_next as ffmpeg;

use crate::encode::{frame_to_packed, FrameConverter};
use crate::error::Result;
use crate::source::{PixelFormat, VideoFrame};

/// Black in video-range YUV.
const BLACK_LUMA: u8 = 16;
const BLACK_CHROMA: u8 = 128;

/// The composite's size for a screen of `width`x`height`: the screen's
/// aspect, at most `max_height` lines (never scaled up), both sides even.
pub fn composite_size(width: u32, height: u32, max_height: u32) -> (u32, u32) {
    crate::encode::fit_height(width, height, max_height)
}

/// Where a `width`x`height` picture goes inside an `out_w`x`out_h` frame,
/// scaled to fit with its aspect kept: `(x, y, w, h)`, all even. A picture
/// within two pixels of filling the frame fills it (rounding, not bars).
pub(crate) fn fit(width: u32, height: u32, out_w: u32, out_h: u32) -> (u32, u32, u32, u32) {
    let scale = (f64::from(out_w) / f64::from(width.max(1)))
        .min(f64::from(out_h) / f64::from(height.max(1)));
    let w = ((f64::from(width) * scale).round() as u32).min(out_w) & !1;
    let h = ((f64::from(height) * scale).round() as u32).min(out_h) & !1;
    if out_w - w <= 2 && out_h - h <= 2 {
        return (0, 0, out_w, out_h);
    }
    let (w, h) = (w.max(2), h.max(2));
    (((out_w - w) / 2) & !1, ((out_h - h) / 2) & !1, w, h)
}

/// Byte length of a packed YUV 4:2:0 picture with even sides.
pub(crate) fn yuv420_len(width: u32, height: u32) -> usize {
    let (w, h) = (width as usize, height as usize);
    w * h + 2 * (w / 2) * (h / 2)
}

/// A black packed YUV 4:2:0 picture (even sides).
pub(crate) fn black(width: u32, height: u32) -> Vec<u8> {
    let luma = width as usize * height as usize;
    let mut data = vec![BLACK_LUMA; luma];
    data.resize(yuv420_len(width, height), BLACK_CHROMA);
    data
}

/// The three planes of a packed YUV 4:2:0 picture: (offset, bytes per row, rows).
fn planes(width: u32, height: u32) -> [(usize, usize, usize); 3] {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w / 2, h / 2);
    [(0, w, h), (w * h, cw, ch), (w * h + cw * ch, cw, ch)]
}

/// Copies the packed YUV 4:2:0 `src` (`sw`x`sh`) into `dst` (`dw`x`dh`)
/// with its top left at (`x`, `y`); every side and offset even, `src` inside `dst`.
pub(crate) fn paste(
    dst: &mut [u8],
    (dw, dh): (u32, u32),
    src: &[u8],
    (sw, sh): (u32, u32),
    (x, y): (u32, u32),
) {
    if dst.len() < yuv420_len(dw, dh) || src.len() < yuv420_len(sw, sh) {
        return;
    }
    let shift = [1usize, 2, 2];
    for ((d, s), div) in planes(dw, dh).into_iter().zip(planes(sw, sh)).zip(shift) {
        let (x, y) = (x as usize / div, y as usize / div);
        let cols = s.1.min(d.1.saturating_sub(x));
        for row in 0..s.2.min(d.2.saturating_sub(y)) {
            let to = d.0 + (y + row) * d.1 + x;
            let from = s.0 + row * s.1;
            dst[to..to + cols].copy_from_slice(&src[from..from + cols]);
        }
    }
}

/// The centred square of the packed YUV 4:2:0 `src` (`width`x`height`,
/// even): its data and side.
pub(crate) fn crop_square(src: &[u8], width: u32, height: u32) -> (Vec<u8>, u32) {
    let side = width.min(height) & !1;
    let x = ((width - side) / 2) & !1;
    let y = ((height - side) / 2) & !1;
    let mut out = Vec::with_capacity(yuv420_len(side, side));
    if src.len() < yuv420_len(width, height) {
        return (black(side, side), side);
    }
    let shift = [1usize, 2, 2];
    for ((s, o), div) in planes(width, height)
        .into_iter()
        .zip(planes(side, side))
        .zip(shift)
    {
        let (x, y) = (x as usize / div, y as usize / div);
        for row in 0..o.2 {
            let from = s.0 + (y + row) * s.1 + x;
            out.extend_from_slice(&src[from..from + o.1]);
        }
    }
    (out, side)
}

/// Converts pictures of any format and size to packed YUV 4:2:0 of a size
/// that may change between calls, keeping the swscale context while neither
/// size changes. Shrinking averages areas (small text stays readable rather
/// than aliased); a picture of the same size only changes format, with point
/// sampling (luma is copied exactly, and it is the cheapest path).
#[derive(Default)]
pub(crate) struct Scaler {
    converter: Option<((u32, u32, u32, u32), FrameConverter)>,
}

impl Scaler {
    pub(crate) fn convert(
        &mut self,
        frame: &VideoFrame,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>> {
        if frame.format == PixelFormat::Yuv420p && frame.width == width && frame.height == height {
            return Ok(frame.data.clone());
        }
        let key = (frame.width, frame.height, width, height);
        let converter = match &mut self.converter {
            Some((k, c)) if *k == key => c,
            slot => {
                let flags = if (frame.width, frame.height) == (width, height) {
                    Flags::POINT
                } else {
                    Flags::AREA
                };
                let converter = FrameConverter::with_flags(Pixel::YUV420P, width, height, flags);
                &mut slot.insert((key, converter)).1
            }
        };
        let out = converter.convert(frame)?;
        Ok(frame_to_packed(&out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_keeps_aspect_and_never_grows() {
        assert_eq!(composite_size(2560, 1440, 1080), (1920, 1080));
        assert_eq!(composite_size(1280, 720, 1080), (1280, 720));
        assert_eq!(composite_size(3440, 1440, 1080), (2580, 1080));
        assert_eq!(composite_size(1366, 768, 720), (1280, 720));
    }

    #[test]
    fn other_sizes_are_letterboxed_on_even_lines() {
        assert_eq!(fit(1920, 1080, 1920, 1080), (0, 0, 1920, 1080));
        assert_eq!(fit(1921, 1081, 1918, 1080), (0, 0, 1918, 1080));
        // 4:3 into 16:9: bars left and right.
        assert_eq!(fit(1024, 768, 1280, 720), (160, 0, 960, 720));
        // Wider than the frame: bars above and below.
        assert_eq!(fit(2560, 720, 1280, 720), (0, 180, 1280, 360));
    }

    #[test]
    fn a_square_is_cut_from_the_middle() {
        let (w, h) = (8u32, 4u32);
        let mut src: Vec<u8> = (0..32).map(|i| (i % 8) as u8).collect();
        src.extend(std::iter::repeat_n(7u8, 8));
        src.extend(std::iter::repeat_n(9u8, 8));
        let (square, side) = crop_square(&src, w, h);
        assert_eq!(side, 4);
        assert_eq!(&square[..4], &[2, 3, 4, 5]);
        assert_eq!(square.len(), 16 + 8);
        let mut dst = black(8, 8);
        paste(&mut dst, (8, 8), &square, (4, 4), (4, 2));
        assert_eq!(&dst[2 * 8..3 * 8], &[16, 16, 16, 16, 2, 3, 4, 5]);
        assert_eq!(dst[8 * 8 + 4 + 2], 7);
    }
}
