//! Recording synthetic and file sources, decoded back and measured. Live
//! recordings wait on what the recorder reports, never on sleeps, and hold
//! tolerant bounds for a loaded machine; the exact numbers are the
//! benchmark's (`benches/encode.rs`).
#![allow(
    clippy::expect_used,
    reason = "test helpers outside #[test] functions: a panic is the test failing"
)]

mod common;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pigeon_media::source::{Sink, SourceContext};
use pigeon_media::synthetic::{PatternPainter, SyntheticAudio, SyntheticVideo, VanishingVideo};
use pigeon_media::{
    AudioSource, Pacing, PixelFormat, Recorder, RecorderConfig, RecordingOutcome, StopReason,
    VideoFrame,
};

fn synthetic(
    w: u32,
    h: u32,
    fps: u32,
    pacing: Pacing,
    length: Option<Duration>,
) -> (Box<SyntheticVideo>, Box<SyntheticAudio>) {
    (
        Box::new(SyntheticVideo::new(w, h, fps, pacing, length).expect("video settings")),
        Box::new(SyntheticAudio::new(48_000, pacing, length).expect("audio settings")),
    )
}

#[test]
fn live_720p30_clip_is_complete_and_in_sync() {
    common::init_logging();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("live.mp4");
    let (video, audio) = synthetic(1280, 720, 30, Pacing::RealTime, None);
    let started = Instant::now();
    let recorder = Recorder::start(RecorderConfig::new(&out), video, Some(audio)).expect("start");
    // What an uploader would send while recording goes on: the init segment
    // and a first fragment, announced while recording.
    let early: Vec<_> = (0..2)
        .map(|_| {
            recorder
                .fragments()
                .recv_timeout(common::PATIENCE)
                .expect("a fragment is announced while recording")
        })
        .collect();
    let early_end = early.last().map_or(0, |f| f.offset + f.length) as usize;
    let early_bytes = std::fs::read(&out).expect("read the growing clip");
    assert!(early_bytes.len() >= early_end);
    let preview = recorder
        .previews()
        .recv_timeout(common::PATIENCE)
        .expect("preview frames arrive while recording");
    assert_eq!((preview.width, preview.height), (320, 180));
    common::record_until(&recorder, Duration::from_secs(4));
    let asked_to_stop = started.elapsed();
    let outcome = recorder.stop().expect("stop");
    println!("{outcome:?}");
    assert_eq!(outcome.stop_reason, StopReason::Requested);
    let slots = outcome.video_frames + outcome.repeated_frames;
    assert!(
        outcome.dropped_frames <= common::tolerated_drops(slots),
        "{} of {slots} frames dropped at 720p30",
        outcome.dropped_frames
    );
    assert!(
        outcome.repeated_frames <= common::tolerated_drops(slots),
        "{} of {slots} frame slots repeated at 720p30",
        outcome.repeated_frames
    );

    // The fragments announced while recording are exactly the final file.
    let bytes = std::fs::read(&out).expect("read clip");
    let mut expected = 0u64;
    for f in &outcome.fragments {
        assert_eq!(f.offset, expected, "fragments are contiguous");
        expected += f.length;
    }
    assert_eq!(
        expected,
        bytes.len() as u64,
        "fragments cover the whole file"
    );
    assert_eq!(
        &bytes[..early_end],
        &early_bytes[..early_end],
        "announced bytes never change, even at stop"
    );
    assert_eq!(&outcome.fragments[..early.len()], &early[..]);
    assert!(outcome.fragments.len() >= 4, "about one fragment a second");

    let playable = outcome.playable.clone().expect("playable copy");
    let info = pigeon_media::probe(&playable).expect("probe");
    let video = info.video().expect("video stream");
    assert_eq!(
        (video.codec.as_str(), video.width, video.height),
        ("h264", 1280, 720)
    );
    let audio = info.audio().expect("audio stream");
    assert_eq!((audio.codec.as_str(), audio.sample_rate), ("aac", 48_000));
    let frame = 1.0 / 30.0;
    let secs = info.duration.as_secs_f64();
    // At least what was reported recorded; never more than the time between
    // the start and the stop, plus the last picture's slot (rounded, or the
    // next one for a late picture) and time on screen, and the last AAC
    // frame's padding.
    assert!(secs >= 4.0 - frame, "4 s recorded, got {secs}");
    let most = asked_to_stop.as_secs_f64() + 2.5 * frame + 0.025;
    assert!(secs <= most, "{secs} s recorded in {most} s");
    assert!((secs - outcome.duration.as_secs_f64()).abs() <= frame + 1e-6);

    let frames = common::decode_video(&playable);
    let last_video = frames.last().expect("frames").0 + frame;
    assert!(
        (last_video - secs).abs() <= frame + 0.03,
        "video ends at {last_video}, clip {secs}"
    );
    assert_eq!(
        frames.len() as u64,
        outcome.video_frames,
        "every encoded frame decodes"
    );
    // Every slot up to the end shows a picture: a new one or the one before.
    let expected_slots = (last_video * 30.0).round() as u64;
    assert!(
        slots + 1 >= expected_slots,
        "{slots} slots for {last_video} s"
    );

    let offsets = common::av_offsets(&playable);
    println!("A/V offsets (s): {offsets:?}");
    assert!(
        offsets.len() >= 3,
        "a flash and a beep every second: {offsets:?}"
    );
    common::assert_in_sync(&offsets, 30);

    // What the desktop player will show as the length.
    if let Some(gst) = common::gstreamer_duration(&playable) {
        assert!(
            (gst - secs).abs() <= 0.1,
            "GStreamer says {gst} s, the clip is {secs} s"
        );
    } else {
        panic!("gst-discoverer-1.0 is missing: run scripts/setup (package gstreamer1.0-plugins-base-apps)");
    }
}

#[test]
fn fast_synthetic_has_every_frame_and_the_exact_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fast.mp4");

    let (video, audio) = synthetic(
        640,
        360,
        30,
        Pacing::AsFastAsPossible,
        Some(Duration::from_secs(3)),
    );
    let recorder = Recorder::start(RecorderConfig::new(&out), video, Some(audio)).expect("start");
    let outcome = recorder.wait().expect("finish");
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    assert_eq!(outcome.video_frames, 90);
    assert_eq!(outcome.dropped_frames, 0);
    let playable = outcome.playable.expect("playable");
    let frames = common::decode_video(&playable);
    assert_eq!(frames.len(), 90);
    let secs = pigeon_media::probe(&playable)
        .expect("probe")
        .duration
        .as_secs_f64();
    assert!((secs - 3.0).abs() <= 1.0 / 30.0 + 0.025, "duration {secs}");
    for o in common::av_offsets(&playable) {
        assert!(o.abs() <= 0.020, "A/V offset {o}");
    }
    // The fragmented original decodes to the same frames.
    assert_eq!(common::decode_video(&out).len(), 90);

    // Clip tools on a real clip.
    let info = pigeon_media::validate(&playable).expect("a valid clip");
    assert!(info.size_bytes > 10_000);
    let poster = dir.path().join("poster.jpg");
    pigeon_media::poster_jpeg(&playable, Duration::from_millis(1500), 320, &poster)
        .expect("poster");
    let jpeg = std::fs::read(&poster).expect("read poster");
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG");
    let poster_info = pigeon_media::probe(&poster).expect("probe poster");
    assert_eq!(
        poster_info.video().map(|v| (v.width, v.height)),
        Some((320, 180))
    );

    // The clip works as a virtual camera + microphone too.
    let again = dir.path().join("again.mp4");
    let (fv, fa) =
        pigeon_media::file::open_file(&playable, Pacing::AsFastAsPossible).expect("open as source");
    let outcome = Recorder::start(
        RecorderConfig::new(&again),
        Box::new(fv),
        fa.map(|a| Box::new(a) as Box<dyn AudioSource>),
    )
    .expect("start from file")
    .wait()
    .expect("finish");
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    assert_eq!(outcome.video_frames, 90);
    let secs2 = outcome.duration.as_secs_f64();
    assert!(
        (secs2 - secs).abs() <= 1.0 / 30.0 + 0.025,
        "{secs2} vs {secs}"
    );
    for o in common::av_offsets(&outcome.playable.expect("playable")) {
        assert!(o.abs() <= 0.025, "A/V offset after re-recording {o}");
    }
}

#[test]
fn pause_resume_and_max_length() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("paused.mp4");
    let (video, audio) = synthetic(320, 240, 30, Pacing::RealTime, None);
    let mut config = RecorderConfig::new(&out);
    config.max_length = Duration::from_millis(2500);
    let recorder = Recorder::start(config, video, Some(audio)).expect("start");
    common::record_until(&recorder, Duration::from_secs(1));
    recorder.pause();
    let paused_at =
        common::wait_for_progress(&recorder, "a report while paused", |_, paused| paused);
    assert!(recorder.is_paused());
    // Four more reports while paused, a second of the clock: elapsed stands
    // still (but for frames captured before the pause, still queued).
    let mut still = paused_at;
    for _ in 0..4 {
        still = common::wait_for_progress(&recorder, "a report while paused", |_, paused| paused);
    }
    assert!(
        still.saturating_sub(paused_at) <= Duration::from_millis(100),
        "elapsed stops while paused: {paused_at:?}, then {still:?}"
    );
    recorder.resume();
    assert_eq!(
        common::wait_for_stop(&recorder),
        StopReason::MaxLength,
        "max length stops the recording"
    );
    common::wait_until("the recorder thread ends", || recorder.is_finished());
    assert_eq!(recorder.remaining(), Duration::ZERO);
    let outcome = recorder.wait().expect("finish");
    assert_eq!(outcome.stop_reason, StopReason::MaxLength);
    let secs = outcome.duration.as_secs_f64();
    assert!(
        (secs - 2.5).abs() < 0.1,
        "max length 2.5 s with a pause, got {secs}"
    );
    let frames = common::decode_video(outcome.playable.as_ref().expect("playable"));
    assert_eq!(frames.len() as u64, outcome.video_frames);
    let slots = outcome.video_frames + outcome.repeated_frames;
    // 2.5 s of slots, less the last few when their pictures came too late.
    assert!(
        slots <= 77 && slots + common::tolerated_drops(75) >= 75,
        "{slots} frame slots"
    );
    assert!(
        outcome.dropped_frames <= common::tolerated_drops(slots),
        "{} of {slots} frames dropped",
        outcome.dropped_frames
    );
}

/// Records `video` with the live test tone until the recording ends by
/// itself, which must be a lost source: the outcome, the source and why.
fn record_until_a_source_is_lost(
    out: &std::path::Path,
    video: Box<dyn pigeon_media::VideoSource>,
) -> (RecordingOutcome, String, String) {
    let audio = Box::new(SyntheticAudio::new(48_000, Pacing::RealTime, None).expect("settings"));
    let outcome = Recorder::start(RecorderConfig::new(out), video, Some(audio))
        .expect("start")
        .wait()
        .expect("finish");
    match outcome.stop_reason.clone() {
        StopReason::SourceLost { source, reason } => (outcome, source, reason),
        other => panic!("expected a lost source, got {other:?}"),
    }
}

#[test]
fn a_device_that_disappears_ends_the_recording_with_what_it_has() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("vanished.mp4");
    let inner = SyntheticVideo::new(320, 240, 30, Pacing::RealTime, None).expect("settings");
    let video = Box::new(VanishingVideo::new(inner, Duration::from_millis(1500)));
    let (outcome, source, reason) = record_until_a_source_is_lost(&out, video);
    assert!(source.contains("synthetic"), "{source}");
    assert!(reason.contains("disconnected"), "{reason}");
    assert!(outcome
        .stop_reason
        .to_string()
        .contains("stopped delivering"));
    let secs = pigeon_media::probe(outcome.playable.as_ref().expect("the clip is kept"))
        .expect("probe")
        .duration
        .as_secs_f64();
    assert!((secs - 1.5).abs() < 0.2, "kept what was captured: {secs}");
}

#[test]
fn cancel_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("cancelled.mp4");
    let (video, audio) = synthetic(320, 240, 30, Pacing::RealTime, None);
    let recorder = Recorder::start(RecorderConfig::new(&out), video, Some(audio)).expect("start");
    // Cancelled once there is something on disk: the init segment and a fragment.
    for _ in 0..2 {
        recorder
            .fragments()
            .recv_timeout(common::PATIENCE)
            .expect("a fragment is written");
    }
    recorder.cancel().expect("cancel");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "no file is left"
    );
}

/// A camera whose driver stops delivering without an error: a second of
/// frames, then nothing, while the stream stays open.
struct SilentlyStalling {
    keep_open: Option<Sink<VideoFrame>>,
    thread: Option<JoinHandle<()>>,
}

impl pigeon_media::VideoSource for SilentlyStalling {
    fn name(&self) -> String {
        "stalling camera".into()
    }
    fn is_live(&self) -> bool {
        true
    }
    fn frame_rate(&self) -> u32 {
        30
    }
    fn start(&mut self, ctx: SourceContext, sink: Sink<VideoFrame>) -> pigeon_media::Result<()> {
        self.keep_open = Some(sink.clone());
        self.thread = Some(std::thread::spawn(move || {
            let painter = PatternPainter::new(320, 240);
            for index in 0..30u32 {
                let at = ctx.epoch + Duration::from_secs_f64(f64::from(index) / 30.0);
                ctx.clock.sleep_until(at);
                let frame = VideoFrame {
                    width: 320,
                    height: 240,
                    format: PixelFormat::Yuv420p,
                    data: painter.paint(u64::from(index), 30),
                    captured_at: ctx.clock.now(),
                };
                if sink.deliver(frame).is_err() || ctx.should_stop() {
                    return;
                }
            }
        }));
        Ok(())
    }
    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the stalling camera's thread");
        }
        self.keep_open = None;
    }
}

#[test]
fn a_device_that_goes_quiet_ends_the_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("stalled.mp4");
    let video = Box::new(SilentlyStalling {
        keep_open: None,
        thread: None,
    });
    let (outcome, source, reason) = record_until_a_source_is_lost(&out, video);
    assert_eq!(source, "stalling camera");
    assert!(reason.contains("no picture"), "{reason}");
    assert!(outcome.playable.is_some(), "what was recorded is kept");
    assert!(
        outcome.duration > Duration::from_millis(900),
        "{:?}",
        outcome.duration
    );
}

#[test]
fn sound_after_a_hole_past_the_max_length_does_not_lengthen_the_clip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("hole.mp4");
    let video = Box::new(
        SyntheticVideo::new(
            320,
            240,
            30,
            Pacing::AsFastAsPossible,
            Some(Duration::from_secs(1)),
        )
        .expect("settings"),
    );
    // Half a second of sound, then a chunk at 5 s: the hole before it is
    // filled with silence, but only up to the max length.
    let audio = Box::new(common::ScriptedSound::new(vec![
        (Duration::ZERO, vec![0.25; 24_000]),
        (Duration::from_secs(5), vec![0.25; 480]),
    ]));
    let mut config = RecorderConfig::new(&out);
    config.max_length = Duration::from_secs(2);
    let outcome = Recorder::start(config, video, Some(audio))
        .expect("start")
        .wait()
        .expect("finish");
    println!("{outcome:?}");
    assert_eq!(outcome.stop_reason, StopReason::SourcesFinished);
    let most = Duration::from_millis(2_025);
    assert!(
        outcome.duration <= most,
        "a 2 s max length, a {:?} clip",
        outcome.duration
    );
    assert!(
        outcome.audio_gap_filled <= Duration::from_millis(1_500),
        "silence only up to the max length: {:?}",
        outcome.audio_gap_filled
    );
    let playable = outcome.playable.expect("playable");
    let (rate, _, samples) = common::decode_audio(&playable);
    let secs = samples.len() as f64 / f64::from(rate);
    assert!(secs <= most.as_secs_f64(), "{secs} s of sound");
}
