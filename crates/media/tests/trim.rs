//! Trim: cut points land on the requested frames (read back from the code
//! strip the synthetic picture carries), only the pictures at the start cut
//! are re-encoded, sound stays with the picture, and the result plays with
//! the right length in FFmpeg and GStreamer.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests: a panic is the test failing"
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use ffmpeg::{codec, media, Packet};
use ffmpeg_next as ffmpeg;
use pigeon_media::encode::{ContentKind, QualityPreset};
use pigeon_media::synthetic::{read_frame_index, SyntheticAudio, SyntheticVideo};
use pigeon_media::trim::{filmstrip, trim, TrimRange};
use pigeon_media::{make_playable, MediaError, Pacing, Recorder, RecorderConfig};

const FPS: u32 = 30;

/// Records `seconds` of synthetic picture and tone as fast as it encodes.
fn record(dir: &Path, name: &str, w: u32, h: u32, seconds: u64, quality: QualityPreset) -> PathBuf {
    record_as(dir, name, (w, h), seconds, quality, ContentKind::Camera)
}

fn record_as(
    dir: &Path,
    name: &str,
    (w, h): (u32, u32),
    seconds: u64,
    quality: QualityPreset,
    content: ContentKind,
) -> PathBuf {
    let out = dir.join(name);
    let length = Some(Duration::from_secs(seconds));
    let video = SyntheticVideo::new(w, h, FPS, Pacing::AsFastAsPossible, length).expect("video");
    let audio = SyntheticAudio::new(48_000, Pacing::AsFastAsPossible, length).expect("audio");
    let mut config = RecorderConfig::new(&out);
    config.quality = quality;
    config.content = content;
    let outcome = Recorder::start(config, Box::new(video), Some(Box::new(audio)))
        .expect("start")
        .wait()
        .expect("finish");
    assert_eq!(outcome.video_frames, seconds * u64::from(FPS));
    out
}

/// The frame index (from the code strip) and time of every decoded picture.
fn decoded_indices(path: &Path) -> Vec<(f64, Option<u64>)> {
    pigeon_media::init();
    let mut input = ffmpeg::format::input(path).expect("open clip");
    let stream = input.streams().best(media::Type::Video).expect("video");
    let (index, tb) = (stream.index(), f64::from(stream.time_base()));
    let mut decoder = codec::context::Context::from_parameters(stream.parameters())
        .and_then(|c| c.decoder().video())
        .expect("decoder");
    let mut out = Vec::new();
    let mut frame = ffmpeg::util::frame::Video::empty();
    let mut collect = |decoder: &mut ffmpeg::decoder::Video, out: &mut Vec<(f64, Option<u64>)>| {
        while decoder.receive_frame(&mut frame).is_ok() {
            let data = luma(&frame);
            let at = frame.timestamp().or(frame.pts()).unwrap_or(0) as f64 * tb;
            out.push((at, read_frame_index(&data, frame.width(), frame.height())));
        }
    };
    let mut packet = Packet::empty();
    while packet.read(&mut input).is_ok() {
        if packet.stream() == index {
            decoder.send_packet(&packet).expect("decodes");
            collect(&mut decoder, &mut out);
        }
    }
    decoder.send_eof().expect("eof");
    collect(&mut decoder, &mut out);
    out
}

/// The Y plane of a decoded picture without row padding (the code strip is
/// read from luma only).
fn luma(frame: &ffmpeg::util::frame::Video) -> Vec<u8> {
    let (w, h, stride) = (
        frame.width() as usize,
        frame.height() as usize,
        frame.stride(0),
    );
    let data = frame.data(0);
    (0..h)
        .flat_map(|r| data[r * stride..r * stride + w].iter().copied())
        .collect()
}

/// Every picture carries the index of the frame it was cut from, in order.
fn assert_frames(path: &Path, first: u64, last: u64) {
    let frames = decoded_indices(path);
    let indices: Vec<Option<u64>> = frames.iter().map(|f| f.1).collect();
    let expected: Vec<Option<u64>> = (first..=last).map(Some).collect();
    assert_eq!(indices, expected, "frames of {}", path.display());
    assert!(
        frames[0].0.abs() < 1e-6,
        "the first picture is at {} s",
        frames[0].0
    );
}

fn ffprobe_duration(path: &Path) -> f64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a duration")
}

fn range(start: f64, end: f64) -> TrimRange {
    TrimRange {
        start: Duration::from_secs_f64(start),
        end: Duration::from_secs_f64(end),
    }
}

#[test]
fn trim_keeps_exactly_the_requested_frames_and_plays_with_its_length() {
    common::init_logging();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = record(
        dir.path(),
        "clip.mp4",
        320,
        240,
        10,
        QualityPreset::Standard,
    );
    let out = dir.path().join("trimmed.mp4");
    let outcome = trim(&clip, &out, range(3.2, 7.5)).expect("trims");
    // Frames round(3.2 * 30) = 96 up to the one before 7.5 s, 224.
    assert_eq!(outcome.video_frames, 129);
    assert_eq!(
        outcome.full_reencode, None,
        "the recorder's header is matched"
    );
    // Only 96..119 (up to the keyframe at 4 s) are re-encoded.
    assert_eq!(outcome.reencoded_frames, 24);
    assert_eq!(outcome.copied_frames, 105);
    assert_eq!(outcome.duration, Duration::from_secs_f64(129.0 / 30.0));
    assert_eq!(outcome.bytes, std::fs::metadata(&out).unwrap().len());
    assert_frames(&out, 96, 224);

    let playable = dir.path().join("trimmed.playable.mp4");
    make_playable(&out, &playable).expect("playable copy");
    assert_frames(&playable, 96, 224);
    let want = 129.0 / 30.0;
    let probed = ffprobe_duration(&playable);
    assert!(
        (probed - want).abs() <= 0.05,
        "ffprobe says {probed} s, want {want}"
    );
    let gst = common::gstreamer_duration(&playable).expect("gst-discoverer reads it");
    assert!(
        (gst - want).abs() <= 0.05,
        "GStreamer says {gst} s, want {want}"
    );

    // Sound: as long as the picture (within one AAC frame), and in sync.
    let (rate, start, samples) = common::decode_audio(&playable);
    let sound = start + samples.len() as f64 / f64::from(rate);
    assert!(
        (sound - want).abs() <= 0.05,
        "sound ends at {sound} s, picture at {want}"
    );
    let offsets = common::av_offsets(&playable);
    assert_eq!(
        offsets.len(),
        4,
        "flashes at 0.8, 1.8, 2.8 and 3.8 s: {offsets:?}"
    );
    for o in offsets {
        assert!(o.abs() <= 0.025, "A/V offset {o}");
    }

    // A trimmed clip trims again, from its own first frame.
    let again = dir.path().join("again.mp4");
    let outcome = trim(&out, &again, range(0.5, 2.0)).expect("trims the trimmed clip");
    assert_eq!(outcome.video_frames, 45);
    assert_eq!(outcome.full_reencode, None);
    assert_frames(&again, 96 + 15, 96 + 59);
}

#[test]
fn cuts_inside_one_group_of_pictures_and_on_a_keyframe() {
    common::init_logging();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = record(dir.path(), "clip.mp4", 320, 240, 6, QualityPreset::Standard);

    let inside = dir.path().join("inside.mp4");
    let outcome = trim(&clip, &inside, range(3.2, 3.9)).expect("trims inside a GOP");
    assert_eq!((outcome.reencoded_frames, outcome.copied_frames), (21, 0));
    assert_frames(&inside, 96, 116);

    let aligned = dir.path().join("aligned.mp4");
    let outcome = trim(&clip, &aligned, range(2.0, 5.0)).expect("trims on keyframes");
    assert_eq!((outcome.reencoded_frames, outcome.copied_frames), (0, 90));
    assert_frames(&aligned, 60, 149);

    // A screen recording's encoder settings are matched too.
    let screen = record_as(
        dir.path(),
        "screen.mp4",
        (640, 360),
        3,
        QualityPreset::High,
        ContentKind::Screen,
    );
    let cut = dir.path().join("screen-cut.mp4");
    let outcome = trim(&screen, &cut, range(0.5, 2.5)).expect("trims a screen recording");
    assert_eq!(outcome.full_reencode, None, "{outcome:?}");
    assert_eq!(outcome.reencoded_frames, 15);
    assert_frames(&cut, 15, 74);

    // To the end: an end a little past the last picture means "the end".
    let tail = dir.path().join("tail.mp4");
    let outcome = trim(&clip, &tail, range(4.5, 6.1)).expect("trims to the end");
    assert_eq!(outcome.video_frames, 45);
    assert_frames(&tail, 135, 179);
}

#[test]
fn a_range_outside_the_clip_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = record(dir.path(), "clip.mp4", 320, 240, 3, QualityPreset::Standard);
    let out = dir.path().join("out.mp4");
    for (r, says) in [
        (range(5.0, 8.0), "only 3.000 s long"),
        (range(1.0, 9.0), "end it at 3.000 s or earlier"),
        (range(2.0, 1.0), "before the end"),
        (range(1.0, 1.2), "keep at least"),
    ] {
        match trim(&clip, &out, r) {
            Err(MediaError::Trim(text)) => assert!(text.contains(says), "{r:?}: {text}"),
            other => panic!("{r:?}: {other:?}"),
        }
        assert!(!out.exists(), "nothing is left behind");
        let part = dir.path().join("out.mp4.part");
        assert!(!part.exists(), "no half-written file is left behind");
    }
}

#[test]
fn a_long_1080p_clip_re_encodes_only_the_start_cut() {
    common::init_logging();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = record(dir.path(), "long.mp4", 1920, 1080, 20, QualityPreset::High);
    let out = dir.path().join("middle.mp4");
    let outcome = trim(&clip, &out, range(5.5, 16.3)).expect("trims");
    assert_eq!(outcome.full_reencode, None, "the 1080p header is matched");
    assert_eq!(outcome.video_frames, 489 - 165);
    assert_eq!(outcome.reencoded_frames, 15);
    assert_frames(&out, 165, 488);
}

#[test]
fn filmstrip_spreads_pictures_over_the_clip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = record(
        dir.path(),
        "clip.mp4",
        640,
        360,
        10,
        QualityPreset::Standard,
    );
    let strip = filmstrip(&clip, 8, 160).expect("filmstrip");
    assert_eq!(strip.len(), 8);
    for pair in strip.windows(2) {
        assert!(
            pair[0].0 < pair[1].0,
            "times increase: {:?} {:?}",
            pair[0].0,
            pair[1].0
        );
    }
    assert!(strip[0].0 < Duration::from_secs(2) && strip[7].0 > Duration::from_secs(8));
    for (at, jpeg) in &strip {
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG at {at:?}");
        let file = dir.path().join("frame.jpg");
        std::fs::write(&file, jpeg).unwrap();
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=width,height",
                "-of",
                "csv=p=0",
            ])
            .arg(&file)
            .output()
            .expect("ffprobe");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "160,90");
    }
    // More pictures than keyframes: every frame is a candidate.
    let dense = filmstrip(&clip, 20, 160).expect("filmstrip");
    assert_eq!(dense.len(), 20);
}

/// A clip made elsewhere (the ffmpeg CLI, other x264 settings): its header cannot
/// be reproduced, so every kept frame is re-encoded, and the outcome says so.
#[test]
fn a_clip_from_other_settings_is_re_encoded_whole_and_still_exact() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("elsewhere.mp4");
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p"])
        .args(["-s", "320x240", "-r", "30", "-i", "-"])
        .args(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000"])
        .args(["-c:v", "libx264", "-crf", "30", "-g", "30", "-bf", "0"])
        .args(["-c:a", "aac", "-ac", "1", "-shortest"])
        .args(["-movflags", "frag_keyframe+empty_moov+default_base_moof"])
        .arg(&clip)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("ffmpeg runs");
    {
        let painter = pigeon_media::synthetic::PatternPainter::new(320, 240);
        let mut stdin = ffmpeg.stdin.take().expect("stdin");
        for index in 0..90 {
            stdin.write_all(&painter.paint(index, FPS)).expect("frame");
        }
    }
    assert!(ffmpeg.wait().expect("ffmpeg ends").success());
    let out = dir.path().join("trimmed.mp4");
    let outcome = trim(&clip, &out, range(1.2, 2.5)).expect("trims");
    assert!(outcome.full_reencode.is_some(), "{outcome:?}");
    assert_eq!((outcome.reencoded_frames, outcome.copied_frames), (39, 0));
    // The ffmpeg CLI's first picture lasts longer (its timestamps run 0, 840,
    // 1352, ... in 1/15360 s), so the pictures in slots 36..=74 are found by
    // their time in the source, as a player shows them.
    let wanted: Vec<Option<u64>> = decoded_indices(&clip)
        .into_iter()
        .filter(|(t, _)| (36..=74).contains(&((t * 30.0).round() as i64)))
        .map(|(_, index)| index)
        .collect();
    assert_eq!(wanted.len(), 39);
    let got: Vec<Option<u64>> = decoded_indices(&out).into_iter().map(|f| f.1).collect();
    assert_eq!(got, wanted);
    let playable = dir.path().join("trimmed.playable.mp4");
    make_playable(&out, &playable).expect("playable copy");
    let probed = ffprobe_duration(&playable);
    assert!((probed - 1.3).abs() <= 0.05, "ffprobe says {probed} s");
}
