//! The composite over a real screen source: the X display of
//! `scripts/test-env` (Xvfb 1920x1080) with the synthetic camera in the
//! bubble, recorded and decoded back. Needs `scripts/test-env`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use std::time::Duration;

use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::composite::{bubble_rect, BubbleControl, BubbleStyle, Corner, ScreenWithBubble};
use pigeon_media::screen::{open_screen, ScreenTarget};
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{ContentKind, Pacing, QualityPreset, Recorder, RecorderConfig};

/// Luma planes (time in s, data) of every decoded picture, and the size.
fn decode_luma(path: &std::path::Path) -> (u32, u32, Vec<(f64, Vec<u8>)>) {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input.streams().best(media::Type::Video).expect("video");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("decoder");
    let (mut size, mut out) = ((0, 0), Vec::new());
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut collect =
        |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<_>, size: &mut (u32, u32)| {
            while decoder.receive_frame(&mut frame).is_ok() {
                let (w, h, stride) = (frame.width(), frame.height(), frame.stride(0));
                *size = (w, h);
                let mut data = Vec::with_capacity((w * h) as usize);
                for row in 0..h as usize {
                    data.extend_from_slice(&frame.data(0)[row * stride..row * stride + w as usize]);
                }
                let pts = frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb;
                out.push((pts, data));
            }
        };
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("packet");
            collect(&mut decoder, &mut out, &mut size);
        }
    }
    decoder.send_eof().expect("eof");
    collect(&mut decoder, &mut out, &mut size);
    (size.0, size.1, out)
}

#[test]
fn x_display_screen_with_the_synthetic_camera_in_a_bubble() {
    pigeon_media::init();
    let dir = tempfile::tempdir().unwrap();
    let screen = open_screen(&ScreenTarget::Screen, 30).expect("the X display of scripts/test-env");
    let camera = SyntheticVideo::new(640, 480, 30, Pacing::RealTime, None).unwrap();
    let control = BubbleControl::new(BubbleStyle {
        corner: Corner::BottomLeft,
        ..BubbleStyle::default()
    });
    let video = ScreenWithBubble::new(screen, Some(Box::new(camera)), control.clone(), 1080);
    let audio = SyntheticAudio::new(48_000, Pacing::RealTime, None).unwrap();
    let mut config = RecorderConfig::new(dir.path().join("screen.mp4"));
    config.quality = QualityPreset::High;
    config.content = ContentKind::Screen;
    let recorder = Recorder::start(config, Box::new(video), Some(Box::new(audio))).expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while recorder.elapsed() < Duration::from_millis(2500) {
        assert!(
            std::time::Instant::now() < deadline,
            "recording did not progress"
        );
        let _ = recorder.events().recv_timeout(Duration::from_millis(100));
    }
    let outcome = recorder.stop().expect("stop");
    println!(
        "{} frames, {} dropped, {} repeated, jitter p99 {:?}",
        outcome.video_frames,
        outcome.dropped_frames,
        outcome.repeated_frames,
        outcome.frame_jitter_p99
    );
    let (w, h, frames) = decode_luma(&outcome.clip);
    assert_eq!((w, h), (1920, 1080), "the display's size");
    let (x, y, d) = bubble_rect(control.style(), w, h);
    let inner = d * 6 / 10;
    let (bx, by) = (x + d / 2 - inner / 2, y + d / 2 - inner / 2);
    let stats = |data: &[u8], x0: u32, y0: u32| {
        let values: Vec<f64> = (y0..y0 + inner)
            .flat_map(|r| (x0..x0 + inner).map(move |c| (r, c)))
            .map(|(r, c)| f64::from(data[(r * w + c) as usize]))
            .collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        (mean, var.sqrt())
    };
    let calm: Vec<_> = frames
        .iter()
        .filter(|(t, _)| (t.fract() - 0.5).abs() < 0.3 && *t > 0.2)
        .collect();
    assert!(calm.len() >= 20, "{} frames between flashes", calm.len());
    // Each screen frame gets the camera's newest picture: a late one on a
    // loaded machine may meet the camera's next flash, never no camera.
    let mut with_bars = 0;
    for (t, data) in &calm {
        let (mean, spread) = stats(data, bx, by);
        let flash = mean > pigeon_media::synthetic::FLASH_LUMA_THRESHOLD;
        with_bars += usize::from(spread > 10.0);
        assert!(
            spread > 10.0 || flash,
            "the camera in the bubble at {t:.2}s: spread {spread:.1}, mean {mean:.1}"
        );
        // The same place on the other side is the (still) display.
        let mirrored_x = w - bx - inner;
        let first = &calm[0].1;
        let moved: f64 = (by..by + inner)
            .flat_map(|r| (mirrored_x..mirrored_x + inner).map(move |c| (r * w + c) as usize))
            .map(|i| f64::from(data[i].abs_diff(first[i])))
            .sum::<f64>()
            / f64::from(inner * inner);
        assert!(
            moved < 1.0,
            "the display beside it stays still at {t:.2}s: {moved:.2}"
        );
    }
    assert!(
        with_bars * 2 >= calm.len(),
        "the bars in {with_bars} of {} frames",
        calm.len()
    );
}
