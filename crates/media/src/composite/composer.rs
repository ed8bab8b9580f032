//! One composite picture: the screen frame scaled into the recording's fixed
//! size, with the newest camera picture in the bubble on top. No threads or
//! channels: [`super::compositor`] feeds it.

use super::bubble::{bubble_rect, BubbleMask};
use super::picture::{black, composite_size, crop_square, fit, paste, Scaler};
use super::BubbleControl;
use crate::error::Result;
use crate::source::{PixelFormat, VideoFrame};

/// The camera picture scaled for the bubble.
struct BubblePicture {
    diameter: u32,
    data: Vec<u8>,
}

pub(crate) struct Composer {
    control: BubbleControl,
    max_height: u32,
    /// The composite's size, fixed by the first screen frame.
    out: Option<(u32, u32)>,
    screen_scaler: Scaler,
    /// The newest camera picture not yet made into the bubble, as captured.
    camera_latest: Option<VideoFrame>,
    camera_scaler: Scaler,
    square_scaler: Scaler,
    /// The camera's centred square at its own size, scaled again when the
    /// bubble's size changes.
    last_square: Option<VideoFrame>,
    bubble: Option<BubblePicture>,
    mask: Option<BubbleMask>,
}

impl Composer {
    pub(crate) fn new(control: BubbleControl, max_height: u32) -> Self {
        Composer {
            control,
            max_height,
            out: None,
            screen_scaler: Scaler::default(),
            camera_latest: None,
            camera_scaler: Scaler::default(),
            square_scaler: Scaler::default(),
            last_square: None,
            bubble: None,
            mask: None,
        }
    }

    /// A new camera picture; it is scaled when the next screen frame needs it.
    pub(crate) fn camera_picture(&mut self, frame: VideoFrame) {
        self.camera_latest = Some(frame);
    }

    /// No camera any more: the next pictures have no bubble.
    pub(crate) fn clear_camera(&mut self) {
        self.camera_latest = None;
        self.last_square = None;
        self.bubble = None;
    }

    /// The screen frame scaled into the composite, with the bubble on top.
    pub(crate) fn compose(&mut self, frame: &VideoFrame) -> Result<VideoFrame> {
        let (width, height) = *self.out.get_or_insert_with(|| {
            let size = composite_size(frame.width, frame.height, self.max_height);
            tracing::info!(
                width = size.0,
                height = size.1,
                screen_width = frame.width,
                screen_height = frame.height,
                "composite size fixed"
            );
            size
        });
        let (x, y, w, h) = fit(frame.width, frame.height, width, height);
        let mut data = if (w, h) == (width, height) {
            self.screen_scaler.convert(frame, width, height)?
        } else {
            let fitted = self.screen_scaler.convert(frame, w, h)?;
            let mut canvas = black(width, height);
            paste(&mut canvas, (width, height), &fitted, (w, h), (x, y));
            canvas
        };
        self.draw_bubble(&mut data, width, height)?;
        Ok(VideoFrame {
            width,
            height,
            format: PixelFormat::Yuv420p,
            data,
            captured_at: frame.captured_at,
        })
    }

    fn draw_bubble(&mut self, data: &mut [u8], width: u32, height: u32) -> Result<()> {
        let style = self.control.style();
        let (x, y, diameter) = bubble_rect(style, width, height);
        if diameter < 2 {
            return Ok(());
        }
        let stale = self.bubble.as_ref().is_none_or(|b| b.diameter != diameter);
        if self.camera_latest.is_some() || stale {
            // A new camera picture, or the bubble's size changed: scale again
            // from the newest picture (kept for the next size change).
            if let Some(frame) = self.camera_latest.as_ref() {
                let (cw, ch) = ((frame.width & !1).max(2), (frame.height & !1).max(2));
                let full = self.camera_scaler.convert(frame, cw, ch)?;
                let (square, side) = crop_square(&full, cw, ch);
                let square = VideoFrame {
                    width: side,
                    height: side,
                    format: PixelFormat::Yuv420p,
                    data: square,
                    captured_at: frame.captured_at,
                };
                let scaled = self.square_scaler.convert(&square, diameter, diameter)?;
                self.bubble = Some(BubblePicture {
                    diameter,
                    data: scaled,
                });
                // Keep the square for a later size change, not the full frame.
                self.camera_latest = None;
                self.last_square = Some(square);
            } else if let Some(square) = self.last_square.as_ref() {
                let scaled = self.square_scaler.convert(square, diameter, diameter)?;
                self.bubble = Some(BubblePicture {
                    diameter,
                    data: scaled,
                });
            }
        }
        let Some(bubble) = self.bubble.as_ref() else {
            // No camera picture yet: nothing to show.
            return Ok(());
        };
        if self
            .mask
            .as_ref()
            .is_none_or(|m| m.shape() != style.shape || m.diameter() != diameter)
        {
            self.mask = Some(BubbleMask::new(style.shape, diameter));
        }
        if let Some(mask) = self.mask.as_ref() {
            mask.blend(data, width, height, x, y, Some(&bubble.data));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::composite::{BubbleShape, BubbleStyle, Corner};
    use std::time::{Duration, Instant};

    #[test]
    fn a_1080p_composite_fits_in_a_frame_period() {
        crate::init();
        let control = BubbleControl::new(BubbleStyle {
            shape: BubbleShape::Circle,
            corner: Corner::BottomRight,
            ..BubbleStyle::default()
        });
        let mut composer = Composer::new(control, 1080);
        let screen = VideoFrame {
            width: 1920,
            height: 1080,
            format: PixelFormat::Bgr0,
            data: [60u8, 90, 200, 0].repeat(1920 * 1080),
            captured_at: Duration::ZERO,
        };
        let camera = VideoFrame {
            width: 1280,
            height: 720,
            format: PixelFormat::Yuv420p,
            data: vec![150u8; 1280 * 720 * 3 / 2],
            captured_at: Duration::ZERO,
        };
        let mut times = Vec::new();
        for _ in 0..40 {
            // A new camera picture for every screen frame, as a 30 fps camera gives.
            let started = Instant::now();
            composer.camera_picture(camera.clone());
            let out = composer.compose(&screen).unwrap_or_else(|e| panic!("{e}"));
            times.push(started.elapsed());
            assert_eq!((out.width, out.height), (1920, 1080));
        }
        times.sort();
        let (least, median) = (times[0], times[times.len() / 2]);
        println!(
            "1080p BGRX screen + 720p camera bubble: least {:.2} ms, median {:.2} ms a frame",
            least.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3
        );
        // The least of 40 is what the work costs without other load; a
        // frame period at 30 fps is the bound a live recording needs.
        assert!(least < Duration::from_millis(33), "{least:?}");
    }
}
