//! Bad input gets a clear error, and what was recorded is kept.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pigeon_media::camera::CameraSource;
use pigeon_media::synthetic::{SyntheticAudio, SyntheticVideo};
use pigeon_media::{MediaError, Pacing, Recorder, RecorderConfig, StopReason};

#[test]
fn no_camera_gives_an_error_that_names_the_device() {
    assert!(
        pigeon_media::camera::list_cameras()
            .map(|c| c.is_empty())
            .unwrap_or(true),
        "this machine has no camera"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("camera.mp4");
    let camera = Box::new(CameraSource::new("0", 1280, 720, 30));
    let err = Recorder::start(RecorderConfig::new(&out), camera, None)
        .err()
        .expect("no camera here");
    let text = err.to_string();
    println!("{text}");
    assert!(matches!(err, MediaError::CameraUnavailable { ref device, .. } if device == "0"));
    assert!(text.starts_with("camera 0 could not be opened"), "{text}");
    assert!(text.contains("connected"), "says what to do: {text}");
    assert!(!out.exists(), "no empty clip is left behind");
}

#[test]
fn a_file_that_is_not_media_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notes = dir.path().join("notes.mp4");
    std::fs::write(&notes, "these are meeting notes, not a video\n".repeat(100)).expect("write");
    let err = pigeon_media::file::open_file(&notes, Pacing::AsFastAsPossible)
        .err()
        .expect("not media");
    assert!(matches!(err, MediaError::NotMedia { .. }), "{err}");
    assert!(err.to_string().contains("choose a video file"), "{err}");
    let err = pigeon_media::validate(&notes).expect_err("not a clip");
    assert!(matches!(err, MediaError::NotAClip { .. }), "{err}");
    let err = pigeon_media::validate(&dir.path().join("missing.mp4")).expect_err("missing");
    assert!(err.to_string().contains("missing.mp4"), "{err}");

    // Sound only is media, but not a clip.
    let wav = dir.path().join("tone.wav");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-y"])
        .arg(&wav)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    let err = pigeon_media::validate(&wav).expect_err("no video");
    assert!(err.to_string().contains("no video stream"), "{err}");
}

struct Tmpfs<'a>(&'a Path);

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_recording_and_keeps_what_was_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let small = dir.path().join("small");
    std::fs::create_dir(&small).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        mounted,
        "this test mounts a 1 MB tmpfs to fill a real disk: run it as root (as CI does)"
    );
    let _unmount = Tmpfs(&small);
    let out = small.join("full.mp4");
    let video = Box::new(
        SyntheticVideo::new(
            1280,
            720,
            30,
            Pacing::AsFastAsPossible,
            Some(Duration::from_secs(60)),
        )
        .expect("settings"),
    );
    let audio = Box::new(
        SyntheticAudio::new(
            48_000,
            Pacing::AsFastAsPossible,
            Some(Duration::from_secs(60)),
        )
        .expect("settings"),
    );
    let mut config = RecorderConfig::new(&out);
    config.playable_output = Some(dir.path().join("full.playable.mp4"));
    let outcome = Recorder::start(config, video, Some(audio))
        .expect("start")
        .wait()
        .expect("finish");
    println!("{outcome:?}");
    assert_eq!(outcome.stop_reason, StopReason::DiskFull);
    assert!(outcome.stop_reason.to_string().contains("disk is full"));
    assert!(outcome.playable.is_none());
    assert!(
        outcome.video_frames > 30,
        "frames were encoded before the disk filled"
    );
    assert!(
        outcome.duration > Duration::from_secs(1),
        "kept what fit: {:?}",
        outcome.duration
    );
    assert!(
        pigeon_media::recovery::is_unfinished(&out)
            || pigeon_media::recovery::marker_path(&out).exists()
    );
    let recovered =
        pigeon_media::recover(&out, &dir.path().join("recovered.mp4")).expect("recover");
    assert!((recovered.duration.as_secs_f64() - outcome.duration.as_secs_f64()).abs() < 1.1);
    assert!(!common::decode_video(&recovered.playable).is_empty());
}
