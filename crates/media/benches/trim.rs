//! Trim benchmark (not a test). Run:
//!
//! ```text
//! cargo bench -p pigeon-media --bench trim
//! ```
//!
//! Makes a 10-minute 1920x1080@30 synthetic clip with the recorder once (with
//! faint sensor noise, so it has a camera's bitrate) and keeps it under
//! `target/bench-cache/`; then trims a middle range with [`pigeon_media::trim::trim`]
//! and re-encodes the same range with the ffmpeg CLI (same x264 settings as the
//! recorder, fragmented MP4) in the same run, and prints both times and their
//! ratio. Goal: the trim within 2 s and far below the re-encode.
//!
//! `PIGEON_BENCH_MINUTES` changes the clip's length (default 10; the cache file
//! is per length).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a benchmark, not a test: a failed step ends the run with its message"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pigeon_media::encode::x264_cli_args;
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::trim::{trim, TrimRange};
use pigeon_media::{Pacing, QualityPreset, Recorder, RecorderConfig};

const FPS: u32 = 30;

fn cache_dir() -> PathBuf {
    // target/<profile>/deps/<bench> -> target/bench-cache
    let exe = std::env::current_exe().expect("the benchmark's path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the benchmark lives in target/<profile>/deps");
    let dir = target.join("bench-cache");
    std::fs::create_dir_all(&dir).expect("cache directory");
    dir
}

/// The cached clip, recorded if it is not there yet.
fn long_clip(minutes: u64) -> PathBuf {
    let clip = cache_dir().join(format!("trim-{minutes}min-1080p30.mp4"));
    if clip.is_file() {
        println!("clip: {} (cached)", clip.display());
        return clip;
    }
    let partial = clip.with_extension("recording.mp4");
    let length = Some(Duration::from_secs(minutes * 60));
    let video = SyntheticVideo::new(1920, 1080, FPS, Pacing::AsFastAsPossible, length)
        .expect("video")
        .with_sensor_noise(true);
    let audio = SyntheticAudio::new(48_000, Pacing::AsFastAsPossible, length).expect("audio");
    let mut config = RecorderConfig::new(&partial);
    config.quality = QualityPreset::High;
    config.max_length = Duration::from_secs(minutes * 60 + 10);
    config.preview = None;
    let started = Instant::now();
    let outcome = Recorder::start(config, Box::new(video), Some(Box::new(audio)))
        .expect("start")
        .wait()
        .expect("record");
    std::fs::rename(&partial, &clip).expect("cache the clip");
    println!(
        "clip: {} recorded in {:.1} s ({} frames)",
        clip.display(),
        started.elapsed().as_secs_f64(),
        outcome.video_frames
    );
    clip
}

fn ffmpeg_reencode(clip: &Path, out: &Path, range: TrimRange) -> f64 {
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-ss", &format!("{:.3}", range.start.as_secs_f64())])
        .args(["-to", &format!("{:.3}", range.end.as_secs_f64())])
        .args(x264_cli_args(QualityPreset::High, FPS))
        .args(["-c:a", "copy"])
        .args(["-movflags", "frag_keyframe+empty_moov+default_base_moof"])
        .arg(out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed");
    started.elapsed().as_secs_f64()
}

fn main() {
    let minutes: u64 = std::env::var("PIGEON_BENCH_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10);
    let clip = long_clip(minutes);
    let size = std::fs::metadata(&clip).expect("clip").len();
    println!("clip size: {:.1} MB", size as f64 / 1e6);
    let dir = tempfile::tempdir().expect("tempdir");
    // A middle range with both cuts off the keyframes: 1/10 to 9/10 of the clip.
    let total = minutes as f64 * 60.0;
    let range = TrimRange {
        start: Duration::from_secs_f64((total * 0.1).floor() + 0.5),
        end: Duration::from_secs_f64((total * 0.9).floor() + 0.3),
    };
    println!(
        "range: {:.1} s .. {:.1} s ({:.1} s kept)",
        range.start.as_secs_f64(),
        range.end.as_secs_f64(),
        (range.end - range.start).as_secs_f64()
    );

    let ours = dir.path().join("ours.mp4");
    let started = Instant::now();
    let outcome = trim(&clip, &ours, range).expect("trim");
    let trim_secs = started.elapsed().as_secs_f64();
    println!(
        "pigeon trim: {trim_secs:.2} s (goal <= 2 s); {} frames, {} re-encoded, {} copied, {:.1} MB{}",
        outcome.video_frames,
        outcome.reencoded_frames,
        outcome.copied_frames,
        outcome.bytes as f64 / 1e6,
        outcome
            .full_reencode
            .as_ref()
            .map(|why| format!(", FULL RE-ENCODE: {why}"))
            .unwrap_or_default()
    );

    let reference = dir.path().join("ffmpeg.mp4");
    let ffmpeg_secs = ffmpeg_reencode(&clip, &reference, range);
    println!("ffmpeg CLI full re-encode of the same range: {ffmpeg_secs:.2} s");
    println!(
        "ratio: {:.4} (pigeon trim / ffmpeg re-encode), {:.0}x faster",
        trim_secs / ffmpeg_secs,
        ffmpeg_secs / trim_secs
    );
}
