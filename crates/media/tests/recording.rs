//! Recording synthetic and file sources, decoded back and measured.

mod common;

use std::time::Duration;

use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo, VanishingVideo};
use pigeon_media::{Pacing, Recorder, RecorderConfig, RecorderEvent, StopReason};

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
    let recorder = Recorder::start(RecorderConfig::new(&out), video, Some(audio)).expect("start");
    // What an uploader would send while recording goes on.
    std::thread::sleep(Duration::from_millis(2_500));
    let early: Vec<_> = recorder.fragments().try_iter().collect();
    assert!(
        early.len() >= 2,
        "the init segment and a fragment are announced while recording"
    );
    let early_end = early.last().map_or(0, |f| f.offset + f.length) as usize;
    let early_bytes = std::fs::read(&out).expect("read the growing clip");
    assert!(early_bytes.len() >= early_end);
    std::thread::sleep(Duration::from_millis(1_500));
    let mut previews = 0;
    while recorder.previews().try_recv().is_ok() {
        previews += 1;
    }
    let outcome = recorder.stop().expect("stop");
    println!("{outcome:?}");
    assert_eq!(outcome.stop_reason, StopReason::Requested);
    assert_eq!(
        outcome.dropped_frames, 0,
        "no frame may be dropped at 720p30"
    );
    assert!(previews > 0, "preview frames arrive while recording");

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
    assert!((secs - 4.0).abs() < 0.25, "about 4 s recorded, got {secs}");
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
    let expected_frames = (last_video * 30.0).round() as usize;
    assert!(
        frames.len() + 1 >= expected_frames,
        "{} frames for {last_video} s",
        frames.len()
    );

    let offsets = common::av_offsets(&playable);
    println!("A/V offsets (s): {offsets:?}");
    assert!(
        offsets.len() >= 3,
        "a flash and a beep every second: {offsets:?}"
    );
    for o in offsets {
        assert!(o.abs() <= 0.020, "A/V offset {o} s is over 20 ms");
    }

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
        fa.map(|a| Box::new(a) as Box<dyn pigeon_media::AudioSource>),
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
    std::thread::sleep(Duration::from_millis(1000));
    recorder.pause();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(recorder.is_paused());
    let paused_at = recorder.elapsed();
    assert!(
        paused_at < Duration::from_millis(1300),
        "elapsed stops while paused: {paused_at:?}"
    );
    recorder.resume();
    std::thread::sleep(Duration::from_millis(2500));
    assert!(recorder.is_finished(), "max length stops the recording");
    let mut saw_stop = false;
    while let Ok(event) = recorder.events().try_recv() {
        if let RecorderEvent::Stopped(reason) = event {
            assert_eq!(reason, StopReason::MaxLength);
            saw_stop = true;
        }
    }
    assert!(saw_stop);
    assert_eq!(recorder.remaining(), Duration::ZERO);
    let outcome = recorder.wait().expect("finish");
    assert_eq!(outcome.stop_reason, StopReason::MaxLength);
    let secs = outcome.duration.as_secs_f64();
    assert!(
        (secs - 2.5).abs() < 0.1,
        "max length 2.5 s with a pause, got {secs}"
    );
    let frames = common::decode_video(outcome.playable.as_ref().expect("playable"));
    assert!(
        (frames.len() as i64 - 75).abs() <= 2,
        "{} frames",
        frames.len()
    );
}

#[test]
fn a_device_that_disappears_ends_the_recording_with_what_it_has() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("vanished.mp4");
    let inner = SyntheticVideo::new(320, 240, 30, Pacing::RealTime, None).expect("settings");
    let video = Box::new(VanishingVideo::new(inner, Duration::from_millis(1500)));
    let audio = Box::new(SyntheticAudio::new(48_000, Pacing::RealTime, None).expect("settings"));
    let outcome = Recorder::start(RecorderConfig::new(&out), video, Some(audio))
        .expect("start")
        .wait()
        .expect("finish");
    match &outcome.stop_reason {
        StopReason::SourceLost { source, reason } => {
            assert!(source.contains("synthetic"), "{source}");
            assert!(reason.contains("disconnected"), "{reason}");
        }
        other => panic!("expected the source to be lost, got {other:?}"),
    }
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
    std::thread::sleep(Duration::from_millis(500));
    recorder.cancel().expect("cancel");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "no file is left"
    );
}

/// A camera whose driver stops delivering without an error: frames for a
/// while, then nothing, while the stream stays open.
struct SilentlyStalling {
    inner: SyntheticVideo,
    stop_inner: std::sync::Arc<std::sync::atomic::AtomicBool>,
    keep_open: Option<pigeon_media::source::Sink<pigeon_media::VideoFrame>>,
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
    fn start(
        &mut self,
        ctx: pigeon_media::source::SourceContext,
        sink: pigeon_media::source::Sink<pigeon_media::VideoFrame>,
    ) -> pigeon_media::Result<()> {
        let stop_inner = self.stop_inner.clone();
        let inner_ctx = pigeon_media::source::SourceContext {
            stop: stop_inner.clone(),
            ..ctx.clone()
        };
        self.keep_open = Some(sink.clone());
        self.inner.start(inner_ctx, sink)?;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            stop_inner.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        Ok(())
    }
    fn join(&mut self) {
        self.stop_inner
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.inner.join();
        self.keep_open = None;
    }
}

#[test]
fn a_device_that_goes_quiet_ends_the_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("stalled.mp4");
    let video = Box::new(SilentlyStalling {
        inner: SyntheticVideo::new(320, 240, 30, Pacing::RealTime, None).expect("settings"),
        stop_inner: Default::default(),
        keep_open: None,
    });
    let audio = Box::new(SyntheticAudio::new(48_000, Pacing::RealTime, None).expect("settings"));
    let outcome = Recorder::start(RecorderConfig::new(&out), video, Some(audio))
        .expect("start")
        .wait()
        .expect("finish");
    match &outcome.stop_reason {
        StopReason::SourceLost { source, reason } => {
            assert_eq!(source, "stalling camera");
            assert!(reason.contains("no picture"), "{reason}");
        }
        other => panic!("expected a lost source, got {other:?}"),
    }
    assert!(outcome.playable.is_some(), "what was recorded is kept");
    assert!(
        outcome.duration > Duration::from_millis(900),
        "{:?}",
        outcome.duration
    );
}
