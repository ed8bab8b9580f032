//! A whole screen recording with the camera in a bubble, end to end: a window
//! with known content on the X display of `scripts/test-env`, the pointer over
//! it, 5 s recorded through the [`Recorder`] with the synthetic camera in the
//! bubble (moved from the bottom right to the top left half way) and the
//! synthetic tone, then the clip decoded back and checked against a
//! screenshot taken while it was recorded.
//!
//! Run with `scripts/test-env cargo nextest run -p pigeon-media --test screen_clip`
//! (the `display` group runs it alone on the display).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod common;
mod screen_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling::{Context as Scaling, Flags};
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::composite::{bubble_rect, BubbleControl, BubbleStyle, Corner, ScreenWithBubble};
use pigeon_media::screen::{open_screen, ScreenTarget};
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo, FLASH_LUMA_THRESHOLD};
use pigeon_media::{ContentKind, Pacing, QualityPreset, Recorder, RecorderConfig, StopReason};
use screen_support::{move_pointer, require_display, screenshot, Rgb, ShownPicture, BLOCKS};

const FPS: u32 = 30;
/// Half the side of the box around the pointer where the cursor is drawn
/// (the cursor image is at most 32 px and its hot spot inside it).
const CURSOR_REACH: i32 = 24;

/// A square part of the picture: (x, y, side).
type Square = (u32, u32, u32);

/// The middle 60 % of the bubble's square: inside the circle whichever shape,
/// away from its ring and anti-aliased edge.
fn inner_square(corner: Corner, width: u32, height: u32) -> Square {
    let style = BubbleStyle {
        corner,
        ..BubbleStyle::default()
    };
    let (x, y, d) = bubble_rect(style, width, height);
    let inner = d * 6 / 10;
    (x + d / 2 - inner / 2, y + d / 2 - inner / 2, inner)
}

/// BT.601 video-range luma, what swscale makes of the screen's RGB.
fn luma_of(rgb: [u8; 3]) -> f64 {
    16.0 + (65.481 * f64::from(rgb[0]) + 128.553 * f64::from(rgb[1]) + 24.966 * f64::from(rgb[2]))
        / 255.0
}

/// What one part of a decoded picture shows.
#[derive(Debug, Clone, Copy)]
struct Region {
    /// Mean luma.
    mean: f64,
    /// Standard deviation of luma.
    spread: f64,
    /// Mean |luma - the screenshot's luma|.
    off_screen: f64,
    /// Shares of chroma samples far (>= 20) from grey in U and in V: the
    /// synthetic pattern's bars are U 90/120/150 and V 160/130/100, the screen
    /// around the bubble is grey.
    coloured_u: f64,
    coloured_v: f64,
}

impl Region {
    fn flash(&self) -> bool {
        self.mean > FLASH_LUMA_THRESHOLD
    }

    /// The synthetic camera's bars, not the screen and not a flash.
    fn pattern(&self) -> bool {
        self.spread > 10.0 && self.coloured_u >= 0.3 && self.coloured_v >= 0.3
    }
}

fn region(frame: &ffmpeg::util::frame::Video, shot_luma: &[f64], width: u32, sq: Square) -> Region {
    let (x0, y0, side) = sq;
    let (ys, data) = (frame.stride(0), frame.data(0));
    let (mut sum, mut sq_sum, mut off) = (0.0, 0.0, 0.0);
    for row in y0..y0 + side {
        for col in x0..x0 + side {
            let v = f64::from(data[row as usize * ys + col as usize]);
            sum += v;
            sq_sum += v * v;
            off += (v - shot_luma[(row * width + col) as usize]).abs();
        }
    }
    let n = f64::from(side * side);
    let mean = sum / n;
    let far = |plane: usize| {
        let (stride, data) = (frame.stride(plane), frame.data(plane));
        let mut count = 0u32;
        for row in y0 / 2..(y0 + side) / 2 {
            for col in x0 / 2..(x0 + side) / 2 {
                count += u32::from(data[row as usize * stride + col as usize].abs_diff(128) >= 20);
            }
        }
        f64::from(count) / f64::from((side / 2) * (side / 2))
    };
    Region {
        mean,
        spread: (sq_sum / n - mean * mean).max(0.0).sqrt(),
        off_screen: off / n,
        coloured_u: far(1),
        coloured_v: far(2),
    }
}

/// One decoded picture, measured: its time (s) and both bubble places.
struct Measured {
    t: f64,
    bottom_right: Region,
    top_left: Region,
}

/// A clip's video read back.
struct Decoded {
    size: (u32, u32),
    frames: Vec<Measured>,
    /// (time in s, picture) of the pictures asked for.
    kept: Vec<(f64, Rgb)>,
}

/// Decodes the clip's video: every picture measured against the screenshot,
/// and the RGB of the first picture at or after each of `keep_at` (s).
fn decode(path: &Path, shot: &Rgb, keep_at: &[f64]) -> Decoded {
    pigeon_media::init();
    let shot_luma: Vec<f64> = shot
        .rgb
        .chunks_exact(3)
        .map(|p| luma_of([p[0], p[1], p[2]]))
        .collect();
    let mut input = ffmpeg::format::input(path).expect("open the clip");
    let stream = input.streams().best(media::Type::Video).expect("video");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("video decoder");
    let (mut size, mut measured, mut kept) = ((0, 0), Vec::new(), Vec::new());
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video,
                       size: &mut (u32, u32),
                       measured: &mut Vec<Measured>,
                       kept: &mut Vec<(f64, Rgb)>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let (w, h) = (frame.width(), frame.height());
            assert_eq!(frame.format(), Pixel::YUV420P);
            *size = (w, h);
            assert_eq!((w, h), (shot.width, shot.height), "the display's size");
            let t = frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb;
            measured.push(Measured {
                t,
                bottom_right: region(
                    &frame,
                    &shot_luma,
                    w,
                    inner_square(Corner::BottomRight, w, h),
                ),
                top_left: region(&frame, &shot_luma, w, inner_square(Corner::TopLeft, w, h)),
            });
            if keep_at.get(kept.len()).is_some_and(|&at| t >= at) {
                let mut scaler =
                    Scaling::get(Pixel::YUV420P, w, h, Pixel::RGB24, w, h, Flags::BILINEAR)
                        .expect("a YUV to RGB converter");
                let mut rgb = ffmpeg::util::frame::Video::empty();
                scaler.run(&frame, &mut rgb).expect("convert to RGB");
                let stride = rgb.stride(0);
                let mut packed = Vec::with_capacity((w * h * 3) as usize);
                for row in 0..h as usize {
                    packed.extend_from_slice(
                        &rgb.data(0)[row * stride..row * stride + w as usize * 3],
                    );
                }
                kept.push((
                    t,
                    Rgb {
                        width: w,
                        height: h,
                        rgb: packed,
                    },
                ));
            }
        }
    };
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("send a packet");
            collect(&mut decoder, &mut size, &mut measured, &mut kept);
        }
    }
    decoder.send_eof().expect("end the decoder");
    collect(&mut decoder, &mut size, &mut measured, &mut kept);
    Decoded {
        size,
        frames: measured,
        kept,
    }
}

/// PSNR (dB) of two same-sized pictures over the pixels outside `skip`.
fn psnr_outside(a: &Rgb, b: &Rgb, skip: &[(u32, u32, u32, u32)]) -> f64 {
    assert_eq!((a.width, a.height), (b.width, b.height));
    let (mut sum, mut n) = (0.0, 0u64);
    for y in 0..a.height {
        for x in 0..a.width {
            if skip
                .iter()
                .any(|&(sx, sy, sw, sh)| x >= sx && x < sx + sw && y >= sy && y < sy + sh)
            {
                continue;
            }
            let at = ((y * a.width + x) * 3) as usize;
            for c in 0..3 {
                let d = f64::from(a.rgb[at + c]) - f64::from(b.rgb[at + c]);
                sum += d * d;
            }
            n += 3;
        }
    }
    let mse = sum / n as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// Pixels within `reach` of (px, py) whose luma is far (> 40) from the
/// screenshot's: what a drawn cursor changes.
fn changed_near(picture: &Rgb, shot: &Rgb, px: i32, py: i32, reach: i32) -> u32 {
    let mut changed = 0;
    for y in py - reach..=py + reach {
        for x in px - reach..=px + reach {
            let (x, y) = (x as u32, y as u32);
            changed +=
                u32::from((luma_of(picture.pixel(x, y)) - luma_of(shot.pixel(x, y))).abs() > 40.0);
        }
    }
    changed
}

/// The clip's length as the ffprobe command reads it, in seconds.
fn ffprobe_duration(path: &Path) -> f64 {
    let out = screen_support::run(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
            ])
            .arg(path),
    );
    let text = String::from_utf8(out).unwrap();
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("ffprobe said {text:?}: {e}"))
}

#[test]
fn a_screen_clip_with_a_bubble_matches_the_display_moves_its_bubble_draws_the_cursor_and_stays_in_sync(
) {
    require_display();
    common::init_logging();
    pigeon_media::init();
    // Away from both corners the bubble takes.
    let shown = ShownPicture::show("Agenda: Thursday", 600, 300);
    let (bx, by, bw, bh, red) = BLOCKS[0];
    let (px, py) = (
        shown.x + (bx + bw / 2) as i32,
        shown.y + (by + bh / 2) as i32,
    );
    move_pointer(px, py);
    // A place on the same red block, as far from the pointer as it allows.
    let (cx, cy) = (shown.x + bx as i32 + CURSOR_REACH + 2, py);
    assert!(px - cx > 2 * CURSOR_REACH, "the two boxes overlap");

    let dir = tempfile::tempdir().unwrap();
    let control = BubbleControl::new(BubbleStyle {
        corner: Corner::BottomRight,
        ..BubbleStyle::default()
    });
    let screen =
        open_screen(&ScreenTarget::Screen, FPS).expect("the X display of scripts/test-env");
    let camera = SyntheticVideo::new(640, 480, FPS, Pacing::RealTime, None).unwrap();
    let video = ScreenWithBubble::new(screen, Some(Box::new(camera)), control.clone(), 1080);
    let audio = SyntheticAudio::new(48_000, Pacing::RealTime, None).unwrap();
    let mut config = RecorderConfig::new(dir.path().join("screen.mp4"));
    config.quality = QualityPreset::High;
    config.content = ContentKind::Screen;
    let started = std::time::Instant::now();
    let recorder = Recorder::start(config, Box::new(video), Some(Box::new(audio))).expect("start");

    common::record_until(&recorder, Duration::from_secs(1));
    // The display while it is recorded, without the cursor (X leaves it out).
    let shot = screenshot();
    common::record_until(&recorder, Duration::from_millis(2500));
    control.set_corner(Corner::TopLeft);
    let moved_at = recorder.elapsed().as_secs_f64();
    common::record_until(&recorder, Duration::from_secs(5));
    let asked_to_stop = started.elapsed().as_secs_f64();
    let outcome = recorder.stop().expect("stop");
    println!(
        "{} frames, {} dropped, {} repeated, jitter p99 {:?}; bubble moved at {moved_at:.3} s",
        outcome.video_frames,
        outcome.dropped_frames,
        outcome.repeated_frames,
        outcome.frame_jitter_p99
    );
    assert_eq!(outcome.stop_reason, StopReason::Requested);
    let slots = outcome.video_frames + outcome.repeated_frames;
    assert!(
        outcome.dropped_frames <= common::tolerated_drops(slots),
        "{} of {slots} frames dropped",
        outcome.dropped_frames
    );
    // The screenshot is what the clip must show around the bubble: the
    // window, and no bright place a flash could be mistaken for.
    assert!(screen_support::close(
        &shot.pixel(px as u32, py as u32),
        &red,
        0
    ));

    let playable = outcome.playable.clone().expect("a playable copy");
    let (early_at, late_at) = (1.5, moved_at + 1.2);
    let Decoded {
        size: (w, h),
        frames,
        kept,
    } = decode(&playable, &shot, &[early_at, late_at]);
    assert_eq!((w, h), (1920, 1080));
    assert_eq!(
        frames.len() as u64,
        outcome.video_frames,
        "every frame decodes"
    );
    assert_eq!(kept.len(), 2, "pictures at {early_at} s and {late_at} s");
    for corner in [Corner::BottomRight, Corner::TopLeft] {
        let (x, y, side) = inner_square(corner, w, h);
        let mean = (y..y + side)
            .flat_map(|r| (x..x + side).map(move |c| (c, r)))
            .map(|(c, r)| luma_of(shot.pixel(c, r)))
            .sum::<f64>()
            / f64::from(side * side);
        assert!(
            mean < 150.0,
            "the screen at {corner:?} has mean luma {mean:.1}"
        );
    }

    // (1) The screen around the bubble is the display; (3) the cursor is drawn.
    let cursor_box = (
        (px - CURSOR_REACH) as u32,
        (py - CURSOR_REACH) as u32,
        2 * CURSOR_REACH as u32 + 1,
        2 * CURSOR_REACH as u32 + 1,
    );
    for ((t, picture), corner) in kept.iter().zip([Corner::BottomRight, Corner::TopLeft]) {
        let (x, y, d) = bubble_rect(
            BubbleStyle {
                corner,
                ..BubbleStyle::default()
            },
            w,
            h,
        );
        let db = psnr_outside(picture, &shot, &[(x, y, d, d), cursor_box]);
        let whole = screen_support::psnr(picture, &shot);
        println!("frame at {t:.3} s: PSNR outside the {corner:?} bubble {db:.2} dB (whole picture {whole:.2} dB)");
        assert!(
            db >= 30.0,
            "frame at {t:.3} s: PSNR {db:.2} dB is under 30 dB"
        );
        let covered = changed_near(picture, &shot, px, py, CURSOR_REACH);
        let stray = changed_near(picture, &shot, cx, cy, CURSOR_REACH);
        println!("frame at {t:.3} s: cursor pixels at the pointer {covered}, on the same block away from it {stray}");
        assert!(
            covered >= 20,
            "no cursor drawn at the pointer at {t:.3} s ({covered} pixels)"
        );
        assert!(
            stray <= 2,
            "the red block changed away from the pointer at {t:.3} s ({stray} pixels)"
        );
    }

    // (2) The bubble: bottom right before the move, top left after it, the
    // synthetic pattern (or its flash) there and the screen in the other corner.
    let early: Vec<&Measured> = frames.iter().filter(|f| f.t < moved_at - 0.3).collect();
    let late: Vec<&Measured> = frames.iter().filter(|f| f.t > moved_at + 0.5).collect();
    let (mut worst_bubble, mut worst_screen) = (f64::INFINITY, 0.0f64);
    let (mut with_pattern, mut calm) = (0, 0);
    for (set, name) in [(&early, "early"), (&late, "late")] {
        assert!(set.len() >= 30, "{} {name} frames", set.len());
        for f in set.iter() {
            let (bubble, screen) = if name == "early" {
                (f.bottom_right, f.top_left)
            } else {
                (f.top_left, f.bottom_right)
            };
            worst_bubble = worst_bubble.min(bubble.off_screen);
            worst_screen = worst_screen.max(screen.off_screen);
            assert!(
                bubble.off_screen > 20.0,
                "{name} frame at {:.3} s: the bubble is the screen ({bubble:?})",
                f.t
            );
            assert!(
                screen.off_screen < 4.0,
                "{name} frame at {:.3} s: the other corner is not the screen ({screen:?})",
                f.t
            );
            if !bubble.flash() {
                calm += 1;
                with_pattern += usize::from(bubble.pattern());
            }
        }
    }
    println!(
        "bubble: {} early frames bottom right, {} late top left; least difference from the screen in the bubble {worst_bubble:.1}, most in the other corner {worst_screen:.2}; the pattern's bars and colours in {with_pattern} of {calm} frames between flashes",
        early.len(),
        late.len()
    );
    // A late screen frame may meet the camera's flash; it is never the screen.
    assert!(
        with_pattern * 10 >= calm * 9,
        "the pattern in {with_pattern} of {calm} frames"
    );

    // (4) A/V sync: the bubble's flashes against the tone's beeps.
    let bubble_luma: Vec<(f64, f64)> = frames
        .iter()
        .map(|f| (f.t, f.bottom_right.mean.max(f.top_left.mean)))
        .collect();
    let flashes = common::flash_onsets(&bubble_luma);
    let (rate, start, samples) = common::decode_audio(&playable);
    let beeps = common::beep_onsets(rate, start, &samples);
    let audio_end = start + samples.len() as f64 / f64::from(rate.max(1));
    let offsets: Vec<f64> = flashes
        .iter()
        // The AAC priming cuts the first beep; the stop may cut the last.
        .filter(|&&f| f >= 0.5 && f + 0.2 <= audio_end)
        .filter_map(|f| {
            beeps
                .iter()
                .map(|b| b - f)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
        })
        .collect();
    println!("flashes {flashes:?}, beeps {beeps:?}");
    println!("A/V offsets (s, audio minus video): {offsets:?}");
    assert!(
        offsets.len() >= 3,
        "a flash and a beep every second: {offsets:?}"
    );
    common::assert_in_sync(&offsets, FPS);

    // (5) GStreamer plays it with the length ffprobe reads.
    let probed = ffprobe_duration(&playable);
    let gst = common::gstreamer_duration(&playable)
        .expect("gst-discoverer-1.0 reads the clip (scripts/setup installs it)");
    println!(
        "length: ffprobe {probed:.3} s, GStreamer {gst:.3} s, recorder {:.3} s, asked to stop after {asked_to_stop:.3} s",
        outcome.duration.as_secs_f64()
    );
    assert!(
        (gst - probed).abs() <= 0.1,
        "GStreamer {gst} s, ffprobe {probed} s"
    );
    assert!(
        probed >= 5.0 - 1.0 / f64::from(FPS),
        "5 s recorded, the clip is {probed} s"
    );
    assert!(
        probed <= asked_to_stop + 0.2,
        "{probed} s recorded in {asked_to_stop} s"
    );
}
