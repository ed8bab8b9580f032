//! The pictures of the synthetic video: the moving test pattern with its
//! flash markers, frame counter and timestamp, and the still card of an
//! audio-only message. Pure pixel work in YUV 4:2:0, no threads.

use super::{FLASH_LENGTH, FLASH_LUMA};

/// A slate-blue YUV 4:2:0 frame with a lighter band across the middle.
pub(super) fn still_card(width: u32, height: u32) -> Vec<u8> {
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
            // The code strip is drawn on a flash too: its black blocks cost a
            // 320x240 flash about 8 of its 235 mean luma, far above the threshold.
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
        draw_index_strip(y_plane, w, h, index);
        data
    }
}

/// Bits of the frame index in the code strip: 2^20 frames is over 9 hours at 30 fps.
const STRIP_BITS: usize = 20;
/// A white block, the index bits (most significant first), a black block:
/// the two fixed ends tell a strip from whatever else is in a picture.
const STRIP_BLOCKS: usize = STRIP_BITS + 2;
const STRIP_WHITE: u8 = 235;
const STRIP_BLACK: u8 = 16;

/// Where the strip sits: (x, y, side of a block). Square blocks of at least
/// 16 px where the picture is wide enough, along the bottom left, below the
/// counter and over the moving bars (drawn last, so the square never hides it).
fn strip_geometry(width: usize, height: usize) -> Option<(usize, usize, usize)> {
    let side = if width >= STRIP_BLOCKS * 16 + 16 {
        (width / (STRIP_BLOCKS + 4)).max(16)
    } else {
        width / (STRIP_BLOCKS + 1)
    };
    let side = side.min(height / 8);
    if side < 4 {
        return None;
    }
    let margin = side / 2;
    Some((margin, height - margin - side, side))
}

/// Draws frame `index` as a row of black (0) and white (1) blocks.
fn draw_index_strip(y_plane: &mut [u8], width: usize, height: usize, index: u64) {
    let Some((x0, y0, side)) = strip_geometry(width, height) else {
        return;
    };
    for block in 0..STRIP_BLOCKS {
        let white = match block {
            0 => true,
            b if b == STRIP_BLOCKS - 1 => false,
            b => (index >> (STRIP_BITS - b)) & 1 == 1,
        };
        let x = x0 + block * side;
        for line in y_plane.chunks_exact_mut(width).skip(y0).take(side) {
            line[x..x + side].fill(if white { STRIP_WHITE } else { STRIP_BLACK });
        }
    }
}

/// The frame index that [`PatternPainter::paint`] drew into a (decoded)
/// YUV 4:2:0 picture of `width`x`height`, or `None` when the picture has no
/// readable strip (a flash frame, the still card, another source). Reads the
/// middle half of each block, so compression and scaling by a few pixels
/// do not matter.
pub fn read_frame_index(yuv420p: &[u8], width: u32, height: u32) -> Option<u64> {
    let (w, h) = (width as usize, height as usize);
    if yuv420p.len() < w * h {
        return None;
    }
    let (x0, y0, side) = strip_geometry(w, h)?;
    let inset = side / 4;
    let mean = |block: usize| -> f64 {
        let x = x0 + block * side + inset;
        let mut sum = 0u64;
        let mut n = 0u64;
        for row in y0 + inset..y0 + side - inset {
            for &v in &yuv420p[row * w + x..row * w + x + side - 2 * inset] {
                sum += u64::from(v);
                n += 1;
            }
        }
        sum as f64 / n.max(1) as f64
    };
    let middle = f64::from(STRIP_WHITE / 2 + STRIP_BLACK / 2);
    let (first, last) = (mean(0), mean(STRIP_BLOCKS - 1));
    // Both ends must be clearly what they are, or this is no strip.
    if first < middle + 40.0 || last > middle - 40.0 {
        return None;
    }
    let mut index = 0u64;
    for block in 1..=STRIP_BITS {
        index = (index << 1) | u64::from(mean(block) > middle);
    }
    Some(index)
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

#[cfg(test)]
mod tests {
    use super::super::FLASH_LUMA_THRESHOLD;
    use super::*;

    #[test]
    fn flash_frames_mark_whole_seconds() {
        let flashes: Vec<u64> = (0..90).filter(|&i| is_flash_frame(i, 30)).collect();
        assert_eq!(flashes, vec![0, 1, 2, 30, 31, 32, 60, 61, 62]);
    }

    /// Mean of the Y plane of a 320x240 picture.
    fn mean_luma(frame: &[u8]) -> f64 {
        let y = &frame[..320 * 240];
        y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64
    }

    #[test]
    fn painted_frame_has_the_planes_of_yuv420p() {
        let painter = PatternPainter::new(320, 240);
        let frame = painter.paint(5, 30);
        assert_eq!(frame.len(), 320 * 240 * 3 / 2);
        let mean = mean_luma(&painter.paint(30, 30));
        assert!(mean > FLASH_LUMA_THRESHOLD, "flash mean luma {mean}");
        let mean = mean_luma(&frame);
        assert!(mean < FLASH_LUMA_THRESHOLD, "normal mean luma {mean}");
        let noisy = PatternPainter::new(320, 240).with_sensor_noise(true);
        assert_ne!(noisy.paint(5, 30), frame, "noise changes pixels");
        let mean = mean_luma(&noisy.paint(30, 30));
        assert!(mean > FLASH_LUMA_THRESHOLD, "noisy flash mean luma {mean}");
    }

    #[test]
    fn the_code_strip_gives_back_the_frame_index() {
        for (w, h) in [(160, 120), (320, 240), (640, 480), (1920, 1080)] {
            let painter = PatternPainter::new(w, h).with_sensor_noise(true);
            for index in [0u64, 1, 96, 224, 1000, 17_999, (1 << 20) - 1] {
                let frame = painter.paint(index, 30);
                assert_eq!(
                    read_frame_index(&frame, w, h),
                    Some(index),
                    "frame {index} at {w}x{h}"
                );
            }
        }
        // The worst case for the flash: every index bit black.
        let mean = mean_luma(&PatternPainter::new(320, 240).paint(0, 30));
        assert!(
            mean > FLASH_LUMA_THRESHOLD,
            "flash with a black strip: {mean}"
        );
        // The worst case for the other frames: every index bit white.
        let mean = mean_luma(&PatternPainter::new(320, 240).paint((1 << 20) - 1, 30));
        assert!(
            mean < FLASH_LUMA_THRESHOLD,
            "frame with a white strip: {mean}"
        );
        assert_eq!(read_frame_index(&still_card(320, 240), 320, 240), None);
        let flat = vec![128u8; 320 * 240 * 3 / 2];
        assert_eq!(read_frame_index(&flat, 320, 240), None);
    }
}
