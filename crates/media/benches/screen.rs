//! Screen recording benchmark (not a test). Run inside the test environment:
//!
//! ```text
//! scripts/test-env cargo bench -p pigeon-media --bench screen
//! ```
//!
//! 1. Capture cost: 300 grabs of the whole 1920x1080 screen back to back
//!    through the X11 source (MIT-SHM read, cursor drawn, picture copied out
//!    and delivered); prints mean and p99 (goal <= 5 ms).
//! 2. Live: the screen at `PIGEON_BENCH_FPS` (default 30) with a synthetic
//!    camera in a bubble and the microphone (virt_mic of the test
//!    environment), recorded by the Recorder as screen content at 1080p for
//!    `PIGEON_BENCH_SECONDS` (default 60): dropped frames, jitter p99, CPU
//!    seconds, peak RSS. Then, in the same run, `ffmpeg -f x11grab` of the
//!    same display with the same x264 settings and the microphone from
//!    PulseAudio, for the same length: its CPU seconds and peak RSS, and the
//!    ratio (goal: ours <= 1.1x ffmpeg's).
//!
//! `PIGEON_BENCH_PARTS` = `grab` or `live` runs one part. The screen shows a
//! window with text and colour blocks and the pointer moves, so the encoder
//! has some change to code in both runs.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark, not a test: a failed step ends the run with its message"
)]

#[path = "../tests/screen_support/mod.rs"]
mod screen_support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pigeon_media::composite::{BubbleControl, BubbleStyle, ScreenWithBubble};
use pigeon_media::encode::{x264_cli_args_for, X264Settings, AUDIO_BITRATE};
use pigeon_media::microphone::MicrophoneSource;
use pigeon_media::screen::{open_screen, ScreenTarget};
use pigeon_media::synthetic::SyntheticVideo;
use pigeon_media::{ContentKind, Pacing, QualityPreset, Recorder, RecorderConfig};
use screen_support::*;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn usage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        tv(usage.ru_utime) + tv(usage.ru_stime),
        usage.ru_maxrss as f64 / 1024.0,
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    require_display();
    pigeon_media::init();
    let parts = std::env::var("PIGEON_BENCH_PARTS").unwrap_or_default();
    let _shown = ShownPicture::show("Agenda for Friday", 300, 200);
    println!("load average at start: {}", load_average());
    if parts.is_empty() || parts == "grab" {
        grab_cost();
    }
    if parts.is_empty() || parts == "live" {
        live();
    }
    println!("load average at end: {}", load_average());
}

fn grab_cost() {
    let (w, h) = display_size();
    // Far above what a grab can do: each grab starts as soon as the last ended.
    let capture = Capture::start(&ScreenTarget::Screen, 1000);
    let mut notices = Vec::new();
    let mut times = Vec::with_capacity(310);
    for _ in 0..310 {
        times.push(capture.next_frame(&mut notices).captured_at);
    }
    capture.stop();
    let mut costs: Vec<f64> = times[10..]
        .windows(2)
        .map(|p| (p[1] - p[0]).as_secs_f64() * 1000.0)
        .collect();
    costs.sort_by(f64::total_cmp);
    let mean = costs.iter().sum::<f64>() / costs.len() as f64;
    let p99 = costs[(costs.len() * 99 / 100).min(costs.len() - 1)];
    println!("capture of one {w}x{h} frame (300 grabs, SHM read + cursor + copy out + deliver):");
    println!(
        "  mean {mean:.2} ms, p99 {p99:.2} ms, min {:.2} ms (goal <= 5 ms)",
        costs[0]
    );
}

/// Moves the pointer in a circle until stopped, so both recordings see change.
fn wiggle_pointer(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut t = 0f64;
        while !stop.load(Ordering::Relaxed) {
            let (x, y) = (960.0 + 300.0 * t.cos(), 540.0 + 200.0 * t.sin());
            let _ = Command::new("xdotool")
                .args([
                    "mousemove",
                    &format!("{}", x as i32),
                    &format!("{}", y as i32),
                ])
                .status();
            t += 0.2;
            std::thread::sleep(Duration::from_millis(100));
        }
    })
}

fn live() {
    let seconds = env_u64("PIGEON_BENCH_SECONDS", 60);
    let fps = env_u64("PIGEON_BENCH_FPS", 30) as u32;
    let (w, h) = display_size();
    let dir = tempfile::tempdir().unwrap();
    let quality = QualityPreset::High;

    let stop = Arc::new(AtomicBool::new(false));
    let wiggler = wiggle_pointer(stop.clone());

    // Ours.
    let (cpu_before, _) = usage(libc::RUSAGE_SELF);
    let screen = open_screen(&ScreenTarget::Screen, fps).expect("open the screen");
    let camera = SyntheticVideo::new(640, 480, fps, Pacing::RealTime, None).expect("camera");
    let video = Box::new(ScreenWithBubble::new(
        screen,
        Some(Box::new(camera)),
        BubbleControl::new(BubbleStyle::default()),
        quality.max_height(),
    ));
    let audio = Box::new(MicrophoneSource::open(None).expect("the test environment's microphone"));
    let out = dir.path().join("ours.mp4");
    let mut config = RecorderConfig::new(&out);
    config.quality = quality;
    config.content = ContentKind::Screen;
    config.playable_output = None;
    let recorder = Recorder::start(config, video, Some(audio)).expect("start recording");
    std::thread::sleep(Duration::from_secs(seconds));
    let outcome = recorder.stop().expect("stop");
    let (cpu_after, rss) = usage(libc::RUSAGE_SELF);
    let ours = cpu_after - cpu_before;
    println!("live {w}x{h} screen at {fps} fps + synthetic camera bubble + microphone, {seconds} s, 1080p screen settings:");
    println!("  frames encoded        {}", outcome.video_frames);
    println!(
        "  dropped frames        {} (goal 0)",
        outcome.dropped_frames
    );
    println!("  repeated frame slots  {}", outcome.repeated_frames);
    println!(
        "  frame jitter p99      {:.1} ms (goal <= 5 ms)",
        outcome.frame_jitter_p99.as_secs_f64() * 1000.0
    );
    println!(
        "  audio gap filled      {:.3} s",
        outcome.audio_gap_filled.as_secs_f64()
    );
    println!(
        "  CPU                   {ours:.1} s ({:.0}% of one core)",
        ours / seconds as f64 * 100.0
    );
    println!("  peak RSS              {rss:.0} MB");
    println!(
        "  clip                  {:.2} s, {:.1} MB",
        outcome.duration.as_secs_f64(),
        outcome.bytes as f64 / 1e6
    );

    // The reference: ffmpeg's own X11 grabber, same encoder settings.
    let display = std::env::var("DISPLAY").unwrap();
    let (out_w, out_h) = quality.output_size(w, h);
    let settings = X264Settings::new(quality, ContentKind::Screen);
    let (cli_before, _) = usage(libc::RUSAGE_CHILDREN);
    let started = Instant::now();
    let mut child = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-thread_queue_size",
            "64",
            "-f",
            "x11grab",
        ])
        .args([
            "-framerate",
            &fps.to_string(),
            "-video_size",
            &format!("{w}x{h}"),
        ])
        .args(["-draw_mouse", "1", "-i", &display])
        .args(["-thread_queue_size", "64", "-f", "pulse", "-i", "default"])
        .args(["-t", &seconds.to_string()])
        .args(["-vf", &format!("scale={out_w}:{out_h}")])
        .args(x264_cli_args_for(settings, fps))
        .args([
            "-c:a",
            "aac",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-b:a",
            &AUDIO_BITRATE.to_string(),
        ])
        .args([
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "-flush_packets",
            "1",
        ])
        .arg(dir.path().join("ffmpeg.mp4"))
        .stdin(Stdio::null())
        .spawn()
        .expect("run ffmpeg");
    // The children's ru_maxrss is no use here: Linux charges a child started
    // with vfork/posix_spawn with the parent's peak at exec. Read ffmpeg's own
    // VmHWM while it runs instead.
    let mut cli_rss = 0f64;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for ffmpeg") {
            break status;
        }
        if let Some(kb) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<f64>().ok())
                })
            })
        {
            cli_rss = cli_rss.max(kb / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(status.success(), "ffmpeg -f x11grab failed");
    let wall = started.elapsed().as_secs_f64();
    let (cli_after, _) = usage(libc::RUSAGE_CHILDREN);
    let cli = cli_after - cli_before;
    stop.store(true, Ordering::Relaxed);
    wiggler.join().unwrap();
    println!("ffmpeg -f x11grab + pulse, same x264 settings, {seconds} s ({wall:.1} s wall):");
    println!(
        "  CPU                   {cli:.1} s ({:.0}% of one core)",
        cli / seconds as f64 * 100.0
    );
    println!("  peak RSS              {cli_rss:.0} MB (ffmpeg's VmHWM)");
    println!("  ratio ours/ffmpeg CPU {:.2} (goal <= 1.10)", ours / cli);
}
