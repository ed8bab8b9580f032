//! The screen with the camera in a bubble: known pictures composited and
//! checked pixel by pixel, the bubble moved, reshaped and lost, the screen
//! resized, and a whole recording decoded back.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver};
use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::composite::{
    bubble_rect, BubbleControl, BubbleShape, BubbleSize, BubbleStyle, Corner, ScreenWithBubble,
};
use pigeon_media::source::{Sink, SourceContext, SourceMessage};
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{
    Clock, Pacing, PixelFormat, Recorder, RecorderConfig, SourceEnd, StopReason, VideoFrame,
    VideoSource,
};

/// A source of given pictures: `count` frames of `pictures` (cycled in
/// runs of `run` frames each), stamped on a `fps` grid, then `end`.
struct Pictures {
    pictures: Vec<VideoFrame>,
    run: u64,
    count: u64,
    fps: u32,
    pacing: Pacing,
    end: SourceEnd,
    thread: Option<JoinHandle<()>>,
}

impl Pictures {
    fn new(pictures: Vec<VideoFrame>, count: u64, fps: u32, pacing: Pacing) -> Self {
        Pictures {
            pictures,
            run: u64::MAX,
            count,
            fps,
            pacing,
            end: SourceEnd::Finished,
            thread: None,
        }
    }
}

impl VideoSource for Pictures {
    fn name(&self) -> String {
        "test pictures".into()
    }

    fn is_live(&self) -> bool {
        self.pacing == Pacing::RealTime
    }

    fn frame_rate(&self) -> u32 {
        self.fps
    }

    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> pigeon_media::Result<()> {
        let (pictures, run, count, fps, pacing, end) = (
            self.pictures.clone(),
            self.run,
            self.count,
            self.fps,
            self.pacing,
            self.end.clone(),
        );
        self.thread = Some(std::thread::spawn(move || {
            for i in 0..count {
                if ctx.should_stop() {
                    return;
                }
                let at = ctx.epoch + Duration::from_secs_f64(i as f64 / f64::from(fps));
                if pacing == Pacing::RealTime {
                    ctx.clock.sleep_until(at);
                }
                let which = ((i / run) as usize).min(pictures.len() - 1);
                let frame = VideoFrame {
                    captured_at: at,
                    ..pictures[which].clone()
                };
                if sink.deliver(frame).is_err() {
                    return;
                }
            }
            sink.end(end);
        }));
        Ok(())
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            t.join().expect("test source thread");
        }
    }
}

/// A solid BGRX picture, as a screen delivers.
fn bgr0(width: u32, height: u32, [b, g, r]: [u8; 3]) -> VideoFrame {
    VideoFrame {
        width,
        height,
        format: PixelFormat::Bgr0,
        data: [b, g, r, 0].repeat((width * height) as usize),
        captured_at: Duration::ZERO,
    }
}

/// A YUV 4:2:0 camera picture: luma `centre` in its centred square, `sides`
/// in the bands left and right of it (which the bubble must crop away).
fn camera_picture(width: u32, height: u32, centre: u8, sides: u8) -> VideoFrame {
    let band = (width - height) / 2;
    let mut data = Vec::new();
    for _ in 0..height {
        for x in 0..width {
            data.push(if x < band || x >= width - band {
                sides
            } else {
                centre
            });
        }
    }
    data.extend(std::iter::repeat_n(128u8, (width * height / 2) as usize));
    VideoFrame {
        width,
        height,
        format: PixelFormat::Yuv420p,
        data,
        captured_at: Duration::ZERO,
    }
}

/// Runs `source` and returns its messages as they come.
struct Running {
    source: ScreenWithBubble,
    rx: Receiver<SourceMessage<VideoFrame>>,
    stop: Arc<AtomicBool>,
}

impl Running {
    fn start(mut source: ScreenWithBubble) -> Self {
        pigeon_media::init();
        let clock = Clock::new();
        let stop = Arc::new(AtomicBool::new(false));
        let ctx = SourceContext {
            clock,
            epoch: clock.now(),
            stop: stop.clone(),
        };
        let (tx, rx) = bounded(4);
        let live = source.is_live();
        source
            .start(ctx, Sink::new(tx, live, Arc::new(AtomicU64::new(0))))
            .expect("composite starts");
        Running { source, rx, stop }
    }

    fn next(&self) -> SourceMessage<VideoFrame> {
        self.rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the composite delivers")
    }

    fn next_frame(&self) -> VideoFrame {
        match self.next() {
            SourceMessage::Item(frame) => frame,
            SourceMessage::Notice(text) => panic!("unexpected notice: {text}"),
            SourceMessage::Ended(why) => panic!("ended early: {why:?}"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while self.rx.try_recv().is_ok() {}
        drop(std::mem::replace(&mut self.rx, bounded(1).1));
        self.source.join();
    }
}

fn luma(frame: &VideoFrame, x: u32, y: u32) -> u8 {
    frame.data[(y * frame.width + x) as usize]
}

fn near(a: u8, b: u8, tolerance: u8) -> bool {
    a.abs_diff(b) <= tolerance
}

const SCREEN_BGR: [u8; 3] = [60, 90, 200];
const CAMERA_LUMA: u8 = 200;

fn style(shape: BubbleShape, corner: Corner) -> BubbleStyle {
    BubbleStyle {
        shape,
        size: BubbleSize::Medium,
        corner,
    }
}

fn composite(
    screen: Vec<VideoFrame>,
    camera: Option<Pictures>,
    control: &BubbleControl,
    frames: u64,
) -> Running {
    let screen = Pictures::new(screen, frames, 30, Pacing::AsFastAsPossible);
    Running::start(ScreenWithBubble::new(
        Box::new(screen),
        camera.map(|c| Box::new(c) as Box<dyn VideoSource>),
        control.clone(),
        720,
    ))
}

fn camera(frames: u64) -> Pictures {
    Pictures::new(
        vec![camera_picture(640, 480, CAMERA_LUMA, 30)],
        frames,
        30,
        Pacing::AsFastAsPossible,
    )
}

#[test]
fn the_bubble_shows_the_cropped_camera_inside_its_circle_and_the_desktop_around_it() {
    let control = BubbleControl::new(style(BubbleShape::Circle, Corner::BottomRight));
    let run = composite(
        vec![bgr0(1280, 720, SCREEN_BGR)],
        Some(camera(100)),
        &control,
        10,
    );
    let frame = run.next_frame();
    assert_eq!(
        (frame.width, frame.height, frame.format),
        (1280, 720, PixelFormat::Yuv420p)
    );
    let screen = luma(&frame, 100, 100);
    assert!(
        !near(screen, CAMERA_LUMA, 40),
        "the screen's luma {screen} must differ from the camera's"
    );
    let (x, y, d) = bubble_rect(control.style(), 1280, 720);
    assert_eq!(
        (x + d, y + d),
        (1280 - 22, 720 - 22),
        "medium bubble, 3% margin"
    );
    let (cx, cy, r) = (x + d / 2, y + d / 2, d / 2);
    // Inside the circle, well clear of the ring: the camera's centre square
    // everywhere (its side bands are cropped away).
    let inner = r * 8 / 10;
    for (px, py) in [
        (cx, cy),
        (cx - inner, cy),
        (cx + inner, cy),
        (cx, cy - inner),
        (cx, cy + inner),
    ] {
        let v = luma(&frame, px, py);
        assert!(near(v, CAMERA_LUMA, 3), "camera luma at ({px},{py}): {v}");
    }
    // The corners of the bubble's square lie outside the circle: screen.
    for (px, py) in [(x + 2, y + 2), (x + d - 3, y + 2), (x + 2, y + d - 3)] {
        let v = luma(&frame, px, py);
        assert!(
            near(v, screen, 2),
            "screen luma at ({px},{py}): {v} vs {screen}"
        );
    }
    // The ring: brighter than both, just inside the edge.
    let ring = (0..8).map(|i| luma(&frame, cx, y + i)).max().unwrap();
    assert!(ring > CAMERA_LUMA + 10, "ring luma {ring}");
    // The rest of the picture is the screen.
    assert!(near(luma(&frame, 10, 10), screen, 1));
    assert!(near(luma(&frame, 640, 360), screen, 1));
}

#[test]
fn moving_the_corner_moves_the_bubble() {
    let control = BubbleControl::new(style(BubbleShape::Circle, Corner::TopLeft));
    let run = composite(
        vec![bgr0(1280, 720, SCREEN_BGR)],
        Some(camera(400)),
        &control,
        300,
    );
    let (tl_x, tl_y, d) = bubble_rect(control.style(), 1280, 720);
    let frame = run.next_frame();
    assert!(near(
        luma(&frame, tl_x + d / 2, tl_y + d / 2),
        CAMERA_LUMA,
        3
    ));
    control.set_corner(Corner::BottomRight);
    let (br_x, br_y, _) = bubble_rect(control.style(), 1280, 720);
    // Pictures composited before the move may still be queued (a handful).
    let mut moved = None;
    for _ in 0..20 {
        let frame = run.next_frame();
        if near(luma(&frame, br_x + d / 2, br_y + d / 2), CAMERA_LUMA, 3) {
            moved = Some(frame);
            break;
        }
    }
    let frame = moved.expect("the bubble reached the bottom right within 20 frames");
    let screen = luma(&frame, 640, 360);
    assert!(
        near(luma(&frame, tl_x + d / 2, tl_y + d / 2), screen, 1),
        "the top left is screen again"
    );
}

#[test]
fn rounded_square_and_circle_differ_at_the_corners() {
    let corner_pixel = |shape| {
        let control = BubbleControl::new(style(shape, Corner::BottomLeft));
        let run = composite(
            vec![bgr0(1280, 720, SCREEN_BGR)],
            Some(camera(100)),
            &control,
            5,
        );
        let frame = run.next_frame();
        let (x, y, d) = bubble_rect(control.style(), 1280, 720);
        // On the square's diagonal, 12% in from its corner.
        let at = d * 12 / 100;
        (
            luma(&frame, x + at, y + at),
            luma(&frame, x + d / 2, y + d / 2),
        )
    };
    let (circle_corner, circle_centre) = corner_pixel(BubbleShape::Circle);
    let (square_corner, square_centre) = corner_pixel(BubbleShape::RoundedSquare);
    assert!(near(circle_centre, CAMERA_LUMA, 3) && near(square_centre, CAMERA_LUMA, 3));
    assert!(
        !near(circle_corner, CAMERA_LUMA, 20),
        "outside the circle: {circle_corner}"
    );
    assert!(
        near(square_corner, CAMERA_LUMA, 3),
        "inside the rounded square: {square_corner}"
    );
}

#[test]
fn a_resized_desktop_is_letterboxed_into_the_same_frame() {
    let control = BubbleControl::new(style(BubbleShape::Circle, Corner::BottomRight));
    let mut first = bgr0(1280, 720, SCREEN_BGR);
    first.captured_at = Duration::ZERO;
    let second = bgr0(1024, 768, SCREEN_BGR);
    let mut screen = Pictures::new(vec![first, second], 10, 30, Pacing::AsFastAsPossible);
    screen.run = 3;
    let run = Running::start(ScreenWithBubble::new(Box::new(screen), None, control, 720));
    let frames: Vec<VideoFrame> = (0..10).map(|_| run.next_frame()).collect();
    let screen_luma = luma(&frames[0], 640, 360);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!((frame.width, frame.height), (1280, 720), "frame {i}");
        assert_eq!(frame.data.len(), 1280 * 720 * 3 / 2);
        assert!(
            near(luma(frame, 640, 360), screen_luma, 1),
            "frame {i} centre"
        );
    }
    // 1024x768 into 1280x720 is 960x720 with 160-pixel bars left and right.
    for frame in &frames[3..] {
        assert!(near(luma(frame, 80, 360), 16, 1), "black bar");
        assert!(near(luma(frame, 1200, 360), 16, 1), "black bar");
        assert!(near(luma(frame, 170, 360), screen_luma, 1), "picture");
    }
    assert!(
        near(luma(&frames[0], 80, 360), screen_luma, 1),
        "no bar before"
    );
}

#[test]
fn a_lost_camera_takes_the_bubble_away_and_the_recording_goes_on() {
    let control = BubbleControl::new(style(BubbleShape::Circle, Corner::BottomRight));
    let mut lost = camera(5);
    lost.end = SourceEnd::Lost("the device was disconnected".into());
    let run = composite(vec![bgr0(1280, 720, SCREEN_BGR)], Some(lost), &control, 30);
    let (x, y, d) = bubble_rect(control.style(), 1280, 720);
    let (mut frames, mut notices) = (Vec::new(), Vec::new());
    loop {
        match run.next() {
            SourceMessage::Item(frame) => frames.push(frame),
            SourceMessage::Notice(text) => notices.push(text),
            SourceMessage::Ended(why) => {
                assert_eq!(why, SourceEnd::Finished, "the screen's own end");
                break;
            }
        }
    }
    assert_eq!(frames.len(), 30, "every screen frame is delivered");
    assert_eq!(notices.len(), 1, "one notice: {notices:?}");
    assert!(
        notices[0].contains("disconnected") && notices[0].contains("goes on"),
        "{}",
        notices[0]
    );
    let centre = |f: &VideoFrame| luma(f, x + d / 2, y + d / 2);
    let screen = luma(&frames[0], 640, 360);
    assert!(near(centre(&frames[0]), CAMERA_LUMA, 3), "bubble before");
    assert!(near(centre(&frames[29]), screen, 1), "no bubble after");
}

/// Luma planes (width, height, time in s, data) of every decoded picture.
fn decode_luma(path: &std::path::Path) -> Vec<(u32, u32, f64, Vec<u8>)> {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input.streams().best(media::Type::Video).expect("video");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("decoder");
    let mut out = Vec::new();
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<_>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let (w, h, stride) = (frame.width(), frame.height(), frame.stride(0));
            let mut data = Vec::with_capacity((w * h) as usize);
            for row in 0..h as usize {
                data.extend_from_slice(&frame.data(0)[row * stride..row * stride + w as usize]);
            }
            let pts = frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb;
            out.push((w, h, pts, data));
        }
    };
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("packet");
            collect(&mut decoder, &mut out);
        }
    }
    decoder.send_eof().expect("eof");
    collect(&mut decoder, &mut out);
    out
}

#[test]
fn a_recording_of_desktop_and_camera_has_the_bubble_in_its_corner() {
    pigeon_media::init();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bubble.mp4");
    let length = Duration::from_secs(3);
    let control = BubbleControl::new(style(BubbleShape::Circle, Corner::TopRight));
    // A flat screen and the moving synthetic camera: inside the bubble the
    // picture moves and has the camera's bars, outside it is flat.
    let screen = Pictures::new(vec![bgr0(1280, 720, SCREEN_BGR)], 90, 30, Pacing::RealTime);
    let camera = SyntheticVideo::new(640, 480, 30, Pacing::RealTime, None).unwrap();
    let video = ScreenWithBubble::new(
        Box::new(screen),
        Some(Box::new(camera)),
        control.clone(),
        720,
    );
    let audio = SyntheticAudio::new(48_000, Pacing::RealTime, Some(length)).unwrap();
    let recorder = Recorder::start(
        RecorderConfig::new(&out),
        Box::new(video),
        Some(Box::new(audio)),
    )
    .expect("start");
    let outcome = recorder.wait().expect("recording");
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    let frames = decode_luma(&outcome.clip);
    // Completeness is the recorder's tests' business; this one looks at the
    // pictures, and a heavily loaded 2-core machine can cost a sixth of them.
    assert!(frames.len() >= 60, "{} frames", frames.len());
    let (w, h, _, _) = frames[0];
    assert_eq!((w, h), (1280, 720));
    let (x, y, d) = bubble_rect(control.style(), w, h);
    assert_eq!((x + d, y), (1280 - 22, 22), "top right");
    // Frames between the camera's flashes (the first 100 ms of each second).
    let calm: Vec<_> = frames
        .iter()
        .filter(|(_, _, t, _)| (t.fract() - 0.5).abs() < 0.3 && *t > 0.2)
        .collect();
    assert!(calm.len() >= 30, "{} calm frames", calm.len());
    let stats = |data: &[u8], x0: u32, y0: u32, side: u32| {
        let mut values = Vec::new();
        for row in y0..y0 + side {
            for col in x0..x0 + side {
                values.push(f64::from(data[(row * w + col) as usize]));
            }
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        (mean, var.sqrt())
    };
    let inner = d * 6 / 10;
    let (bx, by) = (x + d / 2 - inner / 2, y + d / 2 - inner / 2);
    // A live composite pairs each screen frame with the camera's newest
    // picture; on a loaded machine a late screen frame may meet the camera's
    // next flash, so the bubble shows either the bars or the flash, never
    // the flat screen, and mostly the bars.
    let mut with_bars = 0;
    for (_, _, t, data) in &calm {
        let (mean_bubble, spread_bubble) = stats(data, bx, by, inner);
        let (mean_desk, spread_desk) = stats(data, 22, y, inner);
        let flash = mean_bubble > pigeon_media::synthetic::FLASH_LUMA_THRESHOLD;
        with_bars += usize::from(spread_bubble > 10.0);
        assert!(
            spread_bubble > 10.0 || flash,
            "the camera in the bubble at {t:.2}s: spread {spread_bubble:.1}, mean {mean_bubble:.1} \
             (the screen's is {mean_desk:.1})"
        );
        assert!(
            spread_desk < 2.0,
            "the flat screen beside it at {t:.2}s: {spread_desk:.1}"
        );
    }
    assert!(
        with_bars * 2 >= calm.len(),
        "the bars in {with_bars} of {} frames",
        calm.len()
    );
    // The bubble's picture moves (the camera's bars scroll); the screen does not.
    let (first, last) = (&calm[0].3, &calm[calm.len() - 1].3);
    let diff = |x0: u32, y0: u32| {
        let mut sum = 0f64;
        for row in y0..y0 + inner {
            for col in x0..x0 + inner {
                let i = (row * w + col) as usize;
                sum += f64::from(first[i].abs_diff(last[i]));
            }
        }
        sum / f64::from(inner * inner)
    };
    assert!(diff(bx, by) > 5.0, "bubble changes: {:.1}", diff(bx, by));
    assert!(diff(22, y) < 1.0, "screen stays: {:.1}", diff(22, y));
}

/// Renders `lines` of 12-pixel DejaVu Sans, black on white, into a
/// 1920x1080 picture with the ffmpeg CLI, once as BGRX (what a screen
/// delivers) and once as YUV 4:2:0 (the reference to compare against).
fn text_page(dir: &std::path::Path, lines: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let text = dir.join("page.txt");
    std::fs::write(&text, lines.join("\n")).unwrap();
    let render = |pix_fmt: &str, name: &str| {
        let out = dir.join(name);
        let filter = format!(
            "drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fontsize=12:\
             fontcolor=black:line_spacing=4:x=40:y=40:expansion=none:textfile={}",
            text.display()
        );
        let status = std::process::Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "color=white:s=1920x1080",
            ])
            .args(["-vf", &filter, "-frames:v", "1", "-pix_fmt", pix_fmt])
            .args(["-f", "rawvideo"])
            .arg(&out)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg rendered the text");
        std::fs::read(&out).unwrap()
    };
    (render("bgr0", "page.bgr0"), render("yuv420p", "page.yuv"))
}

/// Luma PSNR (dB) of `decoded` against `reference` inside a rectangle.
fn psnr(
    reference: &[u8],
    decoded: &[u8],
    width: u32,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
) -> f64 {
    let mut sum = 0f64;
    for row in y0..y1 {
        for col in x0..x1 {
            let i = (row * width + col) as usize;
            sum += (f64::from(reference[i]) - f64::from(decoded[i])).powi(2);
        }
    }
    let mse = sum / f64::from((x1 - x0) * (y1 - y0));
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

#[test]
fn small_text_stays_legible_with_the_desktop_encoder_settings() {
    pigeon_media::init();
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "Agenda for Thursday: 1. Budget review (Q3 actuals vs. plan, +4.2% travel, -1.1% tools)",
        "2. Hiring: two backend roles, one designer; interviews start 14 Oct, panel: AK, JS, MR",
        "3. Release 2.4.1 - blockers: #4411 crash on resume, #4420 tray icon on KDE, #4432 i18n",
        "4. Office move: boxes by Friday 17:00, desks 3.12-3.18, parking permits from reception",
        "The quick brown fox jumps over the lazy dog 0123456789 ()[]{}<>=+-*/%&|^~!?.,;:'\"",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz ilI1|O0o rn/m cl/d vv/w",
    ];
    let (bgr0_page, reference) = text_page(dir.path(), &lines);
    let (w, h) = (1920u32, 1080u32);
    // The text's bounding box in the reference, with a few pixels around it.
    let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
    for row in 0..h {
        for col in 0..w {
            if reference[(row * w + col) as usize] < 200 {
                (x0, y0, x1, y1) = (x0.min(col), y0.min(row), x1.max(col), y1.max(row));
            }
        }
    }
    assert!(
        x1 > x0 + 400 && y1 > y0 + 60,
        "text rendered: {x0},{y0}-{x1},{y1}"
    );
    let region = (x0 - 4, y0 - 4, x1 + 5, y1 + 5);
    let page = VideoFrame {
        width: w,
        height: h,
        format: PixelFormat::Bgr0,
        data: bgr0_page,
        captured_at: Duration::ZERO,
    };
    let mut measured = Vec::new();
    for content in [
        pigeon_media::ContentKind::Camera,
        pigeon_media::ContentKind::Screen,
    ] {
        let out = dir.path().join(format!("{content:?}.mp4"));
        let source = Pictures::new(vec![page.clone()], 60, 30, Pacing::AsFastAsPossible);
        let video = ScreenWithBubble::new(Box::new(source), None, BubbleControl::default(), 1080);
        let mut config = RecorderConfig::new(&out);
        config.quality = pigeon_media::QualityPreset::High;
        config.content = content;
        config.preview = None;
        let outcome = Recorder::start(config, Box::new(video), None)
            .expect("start")
            .wait()
            .expect("recording");
        let frames = decode_luma(&outcome.clip);
        assert_eq!(frames.len(), 60);
        let worst = frames
            .iter()
            .map(|(fw, fh, _, data)| {
                assert_eq!((*fw, *fh), (w, h));
                psnr(&reference, data, w, region)
            })
            .fold(f64::INFINITY, f64::min);
        println!(
            "{content:?}: worst text PSNR {worst:.2} dB over {} frames, {} bytes",
            frames.len(),
            outcome.bytes
        );
        measured.push(worst);
    }
    assert!(
        measured[1] >= 30.0,
        "screen settings: text PSNR {:.2} dB",
        measured[1]
    );
    assert!(
        measured[1] > measured[0],
        "the screen settings keep text better than the camera's: {measured:?}"
    );
}
