//! Preview: a few small RGB frames a second for the UI. The encoder only
//! offers each picture (a reference-counted FFmpeg frame, no copy); a steady
//! pace picks which ones, and a thread of their own scales them, so a slow
//! screen never slows the recording.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender};
use ffmpeg::format::Pixel;
use ffmpeg::util::frame;
use ffmpeg_next as ffmpeg;

use crate::encode::{frame_to_packed, FrameConverter};

/// Size and rate of preview frames.
#[derive(Debug, Clone, Copy)]
pub struct PreviewSettings {
    pub width: u32,
    pub fps: u32,
}

impl Default for PreviewSettings {
    fn default() -> Self {
        PreviewSettings { width: 320, fps: 5 }
    }
}

/// A small RGB picture of what is being recorded.
#[derive(Debug, Clone)]
pub struct PreviewFrame {
    pub width: u32,
    pub height: u32,
    /// Packed RGB, 3 bytes a pixel, no padding.
    pub rgb: Vec<u8>,
    pub media_time: Duration,
}

impl PreviewFrame {
    /// The picture as packed RGBA, opaque: what an HTML canvas takes.
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rgb.len() / 3 * 4);
        for px in self.rgb.chunks_exact(3) {
            out.extend_from_slice(px);
            out.push(255);
        }
        out
    }
}

/// Which pictures become previews: a steady grid of `every`, so 15 fps from a
/// 30 fps source is every other frame (comparing with the last preview's time
/// instead rounds each interval up to the next source frame and loses rate).
#[derive(Debug)]
struct PreviewPace {
    every: Duration,
    next: Option<Duration>,
}

impl PreviewPace {
    /// Source frame times do not land exactly on the grid.
    const SLACK: Duration = Duration::from_millis(2);

    fn new(fps: u32) -> Self {
        PreviewPace {
            every: Duration::from_secs_f64(1.0 / f64::from(fps.max(1))),
            next: None,
        }
    }

    fn admit(&mut self, media: Duration) -> bool {
        let due = match self.next {
            Some(due) if media + Self::SLACK < due => return false,
            Some(due) => due,
            None => media,
        };
        // Far behind (a pause, a gap): start the grid again from this frame.
        self.next = Some(if media > due + self.every {
            media + self.every
        } else {
            due + self.every
        });
        true
    }
}

/// The even height that keeps a `width`x`height` picture's aspect at `to_width`.
fn scaled_height(width: u32, height: u32, to_width: u32) -> u32 {
    let h = u64::from(height) * u64::from(to_width) / u64::from(width.max(1));
    (u32::try_from(h).unwrap_or(u32::MAX) & !1).max(2)
}

/// The encoder's end of the preview: offers pictures, and on drop stops the
/// scaling thread.
pub(super) struct PreviewSender {
    tx: Option<Sender<(frame::Video, Duration)>>,
    pace: PreviewPace,
    thread: Option<JoinHandle<()>>,
}

impl PreviewSender {
    pub(super) fn start(settings: PreviewSettings, out: Sender<PreviewFrame>) -> Self {
        let (tx, rx) = bounded::<(frame::Video, Duration)>(1);
        let width = settings.width.max(16) & !1;
        let spawned = std::thread::Builder::new()
            .name("recorder-preview".into())
            .spawn(move || {
                let mut converter: Option<FrameConverter> = None;
                for (picture, media_time) in rx {
                    let height = scaled_height(picture.width(), picture.height(), width);
                    let conv = converter
                        .get_or_insert_with(|| FrameConverter::new(Pixel::RGB24, width, height));
                    match conv.convert_frame(&picture) {
                        Ok(rgb) => {
                            let frame = PreviewFrame {
                                width,
                                height,
                                rgb: frame_to_packed(&rgb),
                                media_time,
                            };
                            // Nobody watching: the frame is dropped, never queued.
                            let _ = out.try_send(frame);
                        }
                        Err(e) => tracing::debug!(error = %e, "preview frame skipped"),
                    }
                }
            });
        let thread = match spawned {
            Ok(thread) => Some(thread),
            Err(e) => {
                // The recording goes on without a preview.
                tracing::warn!(error = %e, "could not start the preview thread");
                None
            }
        };
        PreviewSender {
            tx: thread.is_some().then_some(tx),
            pace: PreviewPace::new(settings.fps),
            thread,
        }
    }

    /// Hands the picture at media time `media` to the preview thread when it
    /// is due and the thread is free; never waits.
    pub(super) fn offer(&mut self, picture: &frame::Video, media: Duration) {
        if !self.pace.admit(media) {
            return;
        }
        if let Some(tx) = &self.tx {
            let _ = tx.try_send((picture.clone(), media));
        }
    }
}

impl Drop for PreviewSender {
    fn drop(&mut self) {
        // Hanging up ends the thread's loop.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the preview thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn previews_in_a_second(source_fps: u32, preview_fps: u32) -> usize {
        let mut pace = PreviewPace::new(preview_fps);
        (0..source_fps)
            .map(|i| Duration::from_secs_f64(f64::from(i) / f64::from(source_fps)))
            .filter(|t| pace.admit(*t))
            .count()
    }

    #[test]
    fn previews_keep_their_rate_on_a_source_grid() {
        assert_eq!(previews_in_a_second(30, 15), 15);
        assert_eq!(previews_in_a_second(30, 5), 5);
        assert_eq!(previews_in_a_second(30, 30), 30);
        let twenty = previews_in_a_second(30, 20);
        assert!((20..=21).contains(&twenty), "{twenty}");
        // After a pause the grid starts again instead of bursting to catch up.
        let mut pace = PreviewPace::new(15);
        assert!(pace.admit(Duration::ZERO));
        assert!(pace.admit(Duration::from_secs(10)));
        assert!(!pace.admit(Duration::from_millis(10_033)));
        assert!(pace.admit(Duration::from_millis(10_067)));
    }

    #[test]
    fn previews_keep_the_aspect_at_an_even_height() {
        assert_eq!(scaled_height(1280, 720, 320), 180);
        assert_eq!(scaled_height(640, 481, 320), 240);
        assert_eq!(scaled_height(0, 0, 320), 2);
    }

    #[test]
    fn a_preview_becomes_opaque_rgba() {
        let frame = PreviewFrame {
            width: 2,
            height: 1,
            rgb: vec![1, 2, 3, 4, 5, 6],
            media_time: Duration::ZERO,
        };
        assert_eq!(frame.to_rgba(), vec![1, 2, 3, 255, 4, 5, 6, 255]);
    }

    #[test]
    fn offered_pictures_arrive_scaled_and_paced() {
        crate::init();
        let (out_tx, out_rx) = bounded(8);
        let mut sender = PreviewSender::start(PreviewSettings { width: 64, fps: 5 }, out_tx);
        let picture = frame::Video::new(Pixel::YUV420P, 128, 96);
        sender.offer(&picture, Duration::ZERO);
        // Not due yet at 5 fps: never reaches the thread.
        sender.offer(&picture, Duration::from_millis(100));
        let first = out_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a preview");
        assert_eq!((first.width, first.height), (64, 48));
        assert_eq!(first.rgb.len(), 64 * 48 * 3);
        drop(sender);
        // The thread ended and dropped its end: only what was sent is left.
        assert!(out_rx.iter().all(|f| f.media_time == Duration::ZERO));
    }
}
