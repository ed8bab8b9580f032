//! Where the bubble sits and how it is blended: a mask computed once per
//! shape and diameter, applied to a YUV 4:2:0 picture (luma per pixel,
//! chroma per 2x2 block). Pure pixel work, no threads and no FFmpeg.

use super::{BubbleShape, BubbleStyle, Corner};

/// Space between the bubble and the picture's edges, as a fraction of the
/// picture's height.
pub const BUBBLE_MARGIN: f32 = 0.03;
/// Width of the white ring around the bubble, as a fraction of its diameter
/// (at least [`RING_MIN_PX`]).
const RING_FRACTION: f32 = 0.02;
const RING_MIN_PX: f32 = 2.0;
/// Corner radius of the rounded square, as a fraction of its side.
const ROUNDED_SQUARE_RADIUS: f32 = 0.22;
/// The ring's colour: video-range white, no colour.
const RING_LUMA: u16 = 235;
const RING_CHROMA: u16 = 128;

/// Where the bubble of `style` sits in a `width`x`height` picture:
/// `(x, y, diameter)` of its square, all even so 4:2:0 chroma lines up.
pub fn bubble_rect(style: BubbleStyle, width: u32, height: u32) -> (u32, u32, u32) {
    let even = |v: f32| (v.round() as u32) & !1;
    let margin = even(height as f32 * BUBBLE_MARGIN);
    let room = width.min(height).saturating_sub(2 * margin) & !1;
    let diameter = even(height as f32 * style.size.fraction_of_height())
        .min(room)
        .max(2.min(room));
    let far_x = width.saturating_sub(margin + diameter) & !1;
    let far_y = height.saturating_sub(margin + diameter) & !1;
    let (x, y) = match style.corner {
        Corner::TopLeft => (margin, margin),
        Corner::TopRight => (far_x, margin),
        Corner::BottomLeft => (margin, far_y),
        Corner::BottomRight => (far_x, far_y),
    };
    (x, y, diameter)
}

/// How much of each pixel of the bubble's square is camera, ring and screen,
/// in 1/255ths, for the luma grid and the half-size chroma grid.
#[derive(Debug, Clone)]
pub struct BubbleMask {
    shape: BubbleShape,
    diameter: usize,
    luma: Vec<Weights>,
    chroma: Vec<Weights>,
}

/// Camera and ring shares of one sample; the screen gets the rest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Weights {
    camera: u8,
    ring: u8,
}

impl BubbleMask {
    /// `diameter` must be even.
    pub fn new(shape: BubbleShape, diameter: u32) -> Self {
        let d = diameter as usize & !1;
        let size = d as f32;
        let ring = (size * RING_FRACTION).max(RING_MIN_PX);
        let half = size / 2.0;
        let radius = match shape {
            BubbleShape::Circle => half,
            BubbleShape::RoundedSquare => size * ROUNDED_SQUARE_RADIUS,
        };
        let mut luma = Vec::with_capacity(d * d);
        for row in 0..d {
            for col in 0..d {
                // Signed distance from the pixel's centre to the outline
                // (negative inside); one pixel of it is the anti-aliased edge.
                let px = (col as f32 + 0.5 - half).abs();
                let py = (row as f32 + 0.5 - half).abs();
                let qx = px - (half - radius);
                let qy = py - (half - radius);
                let outside = (qx.max(0.0).powi(2) + qy.max(0.0).powi(2)).sqrt();
                let distance = outside + qx.max(qy).min(0.0) - radius;
                let covered = (0.5 - distance).clamp(0.0, 1.0);
                let camera = (0.5 - (distance + ring)).clamp(0.0, 1.0);
                let camera_w = (camera * 255.0).round() as u8;
                let covered_w = (covered * 255.0).round() as u8;
                luma.push(Weights {
                    camera: camera_w,
                    ring: covered_w.saturating_sub(camera_w),
                });
            }
        }
        let c = d / 2;
        let mut chroma = Vec::with_capacity(c * c);
        for row in 0..c {
            for col in 0..c {
                let at = |r: usize, k: usize| luma[(2 * row + r) * d + 2 * col + k];
                let four = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
                let camera: u16 = four.iter().map(|w| u16::from(w.camera)).sum();
                let ring: u16 = four.iter().map(|w| u16::from(w.ring)).sum();
                chroma.push(Weights {
                    camera: ((camera + 2) / 4) as u8,
                    ring: ((ring + 2) / 4).min(255 - (camera + 2) / 4) as u8,
                });
            }
        }
        BubbleMask {
            shape,
            diameter: d,
            luma,
            chroma,
        }
    }

    pub fn shape(&self) -> BubbleShape {
        self.shape
    }

    pub fn diameter(&self) -> u32 {
        self.diameter as u32
    }

    /// Share of the camera at luma pixel (`col`, `row`) of the square, 0..=255.
    pub fn camera_weight(&self, col: u32, row: u32) -> u8 {
        self.luma
            .get(row as usize * self.diameter + col as usize)
            .map_or(0, |w| w.camera)
    }

    /// Share of the white ring at luma pixel (`col`, `row`), 0..=255.
    pub fn ring_weight(&self, col: u32, row: u32) -> u8 {
        self.luma
            .get(row as usize * self.diameter + col as usize)
            .map_or(0, |w| w.ring)
    }

    /// Blends `camera` (a packed YUV 4:2:0 square of this mask's diameter, or
    /// None for the ring alone) into `picture` (packed YUV 4:2:0,
    /// `width`x`height`, both even) with the square's top left at (`x`, `y`)
    /// (even). Parts outside the picture are left out.
    pub fn blend(
        &self,
        picture: &mut [u8],
        width: u32,
        height: u32,
        x: u32,
        y: u32,
        camera: Option<&[u8]>,
    ) {
        let (w, h, d) = (width as usize, height as usize, self.diameter);
        let (x, y) = (x as usize & !1, y as usize & !1);
        let (cw, ch, cd) = (w / 2, h / 2, d / 2);
        if picture.len() < w * h + 2 * cw * ch {
            return;
        }
        let camera = camera.filter(|c| c.len() >= d * d + 2 * cd * cd);
        let (y_plane, chroma) = picture.split_at_mut(w * h);
        let (u_plane, v_plane) = chroma.split_at_mut(cw * ch);
        let planes = [
            (y_plane, w, h, x, y, d, &self.luma, 0usize, RING_LUMA),
            (
                u_plane,
                cw,
                ch,
                x / 2,
                y / 2,
                cd,
                &self.chroma,
                d * d,
                RING_CHROMA,
            ),
            (
                v_plane,
                cw,
                ch,
                x / 2,
                y / 2,
                cd,
                &self.chroma,
                d * d + cd * cd,
                RING_CHROMA,
            ),
        ];
        for (plane, pw, ph, px, py, side, weights, offset, ring_value) in planes {
            let cols = side.min(pw.saturating_sub(px));
            for row in 0..side.min(ph.saturating_sub(py)) {
                let out = &mut plane[(py + row) * pw + px..(py + row) * pw + px + cols];
                let mask = &weights[row * side..row * side + cols];
                let cam = camera.map(|c| &c[offset + row * side..offset + row * side + cols]);
                for (col, (o, m)) in out.iter_mut().zip(mask).enumerate() {
                    if m.camera == 0 && m.ring == 0 {
                        continue;
                    }
                    let cam_value = cam.map_or(u16::from(*o), |c| u16::from(c[col]));
                    let screen = 255 - u16::from(m.camera) - u16::from(m.ring);
                    let sum = u16::from(*o) as u32 * u32::from(screen)
                        + u32::from(cam_value) * u32::from(m.camera)
                        + u32::from(ring_value) * u32::from(m.ring);
                    *o = ((sum + 127) / 255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::BubbleSize;

    #[test]
    fn the_bubble_sits_in_its_corner_with_a_margin() {
        let mut style = BubbleStyle {
            size: BubbleSize::Medium,
            ..BubbleStyle::default()
        };
        style.corner = Corner::BottomRight;
        let (x, y, d) = bubble_rect(style, 1920, 1080);
        assert_eq!(d, 302);
        assert_eq!((x + d, y + d), (1920 - 32, 1080 - 32));
        style.corner = Corner::TopLeft;
        assert_eq!(bubble_rect(style, 1920, 1080), (32, 32, 302));
        for corner in Corner::ALL {
            style.corner = *corner;
            let (x, y, d) = bubble_rect(style, 1280, 720);
            assert!(x % 2 == 0 && y % 2 == 0 && d % 2 == 0);
            assert!(x + d <= 1280 && y + d <= 720);
        }
    }

    #[test]
    fn circle_and_rounded_square_differ_at_the_corners_only() {
        let circle = BubbleMask::new(BubbleShape::Circle, 200);
        let square = BubbleMask::new(BubbleShape::RoundedSquare, 200);
        // Near the square's corner: outside a circle, inside a rounded square.
        assert_eq!(circle.camera_weight(24, 24), 0);
        assert_eq!(circle.ring_weight(24, 24), 0);
        assert_eq!(square.camera_weight(24, 24), 255);
        // Both full at the centre, both empty at the very corner pixel.
        assert_eq!(circle.camera_weight(100, 100), 255);
        assert_eq!(square.camera_weight(100, 100), 255);
        assert_eq!(square.camera_weight(0, 0), 0);
        // The edge is anti-aliased and ringed: partial weights exist on it.
        let ring: u32 = (0..200)
            .map(|c| u32::from(circle.ring_weight(c, 100)))
            .sum();
        assert!(ring >= 2 * 255 * 3, "a ring a few pixels wide, got {ring}");
        let partial = (0..200).any(|r| {
            (0..200).any(|c| {
                let w = circle.camera_weight(c, r);
                w > 0 && w < 255
            })
        });
        assert!(partial, "the inner edge blends");
    }

    #[test]
    fn blending_puts_the_camera_inside_and_keeps_the_screen_outside() {
        let (w, h) = (64usize, 48usize);
        let mut picture = vec![50u8; w * h];
        picture.extend(std::iter::repeat_n(100u8, w * h / 2));
        let d = 32usize;
        let mut camera = vec![200u8; d * d];
        camera.extend(std::iter::repeat_n(30u8, d * d / 2));
        let mask = BubbleMask::new(BubbleShape::Circle, d as u32);
        mask.blend(&mut picture, w as u32, h as u32, 10, 8, Some(&camera));
        // Centre of the bubble: camera luma and chroma.
        assert_eq!(picture[(8 + 16) * w + 10 + 16], 200);
        assert_eq!(picture[w * h + (4 + 8) * (w / 2) + 5 + 8], 30);
        // Square corner of the bubble and far away: the screen.
        assert_eq!(picture[8 * w + 10], 50);
        assert_eq!(picture[(h - 1) * w + w - 1], 50);
        // On the ring: whiter than both.
        let top_edge = (8..8 + 6)
            .map(|r| picture[r * w + 10 + 16])
            .max()
            .unwrap_or(0);
        assert!(top_edge > 200, "ring luma {top_edge}");
    }
}
